"""One self-contained HTML report of a plan (tokenfab.planning.plan.PlanResult) for a non-engineer: the settings it
rests on in one line, an executive summary (tiles that each name their period and scope, then plain sentences), how
to read the report, the charts (fleet and cost over time, tokens by feature, cost per million tokens, the Pareto
curve with the operating points, the cost breakdown, the tornado), aligned tables, and what the numbers rest on
(the performance model's calibration per hardware, the price snapshot, the key assumptions).

Every number is the library's, formatted by tokenfab.render.format; the charts follow tokenfab.render.plots.
plotly.js is inlined from the installed ``plotly`` package (``plotly.offline.get_plotlyjs()``): the file opens
offline, with no CDN. Every piece of user text (scenario names, descriptions, feature names) is HTML-escaped; the
chart data are embedded as JSON with ``<``, ``>`` and ``&`` written as JSON unicode escapes
(tokenfab.core.files.json_for_html: no value can close the script element, open a ``<!--`` comment or a nested
``<script``).
"""

from __future__ import annotations

import datetime as _dt
import html
import re
from pathlib import Path
from typing import Any

from tokenfab import __version__ as _version
from tokenfab.core import files
from tokenfab.core.errors import TokenfabError, install_hint
from tokenfab.core.inputs import check_input
from tokenfab.economics.sensitivity import DEFAULT_SWING_PCT
from tokenfab.economics.tco import DEFAULT_PRESET
from tokenfab.planning.plan import PlanResult, fleet_operating_point
from tokenfab.render import format as F
from tokenfab.render import plots

COLORS = plots.COLORS
CHART_IDS = (
    "chart-fleet",
    "chart-cost",
    "chart-tokens",
    "chart-unit-cost",
    "chart-pareto",
    "chart-breakdown",
    "chart-tornado",
)
CHART_WIDE = ("chart-pareto",)  # drawn across the page; the others two to a row on a wide screen


def esc(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _jsonable(obj):
    from tokenfab.core.jsonable import to_jsonable  # the one JSON conversion (NumPy, NaN -> null)

    return to_jsonable(obj)


_layout = plots.layout
MONEY_AXIS = {"tickprefix": "$", "exponentformat": "B", "rangemode": "tozero"}
COUNT_AXIS = {"exponentformat": "B", "rangemode": "tozero"}


# ---------------------------------------------------------------------------------------------------------------
# figures (plotly figure dicts; pure functions of the plan's to_dict())
# ---------------------------------------------------------------------------------------------------------------
def _feasible(d: dict) -> list[dict]:
    return [h for h in d["hardware"] if h["feasible"]]


def _colors(d: dict) -> dict:
    return plots.color_of(h["hardware"] for h in d["hardware"])


def fleet_figure(d: dict) -> dict:
    """GPUs each feasible hardware needs at each month's peak (steps: a fleet changes month by month) and the
    cheapest one's all-in MW on the right axis; p10-p90 bands where the plan carries ``gpus_p10`` / ``gpus_p90``."""
    colors = _colors(d)
    data = []
    for h in _feasible(d):
        data += plots.line_with_band(
            f"{h['hardware']} GPUs", d["labels"], h["monthly"], "gpus", colors[h["hardware"]], line={"shape": "hv"}
        )
    best = _best(d)
    if best:
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": f"{best['hardware']} MW (right axis)",
                "x": d["labels"],
                "y": best["monthly"]["mw"],
                "yaxis": "y2",
                "line": {"color": "#344054", "dash": "dot", "shape": "hv"},
                "hovertemplate": "%{x}: %{y:.3f} MW<extra></extra>",
            }
        )
    return {
        "data": data,
        "layout": _layout(
            "Fleet needed at each month's peak hour",
            "month",
            "GPUs",
            yaxis={"rangemode": "tozero", "tickformat": ",d"},
            yaxis2={
                "title": {"text": "MW (all-in facility power)", "standoff": 10},
                "overlaying": "y",
                "side": "right",
                "rangemode": "tozero",
                "dtick": plots.nice_dtick(max((v for v in best["monthly"]["mw"] if v), default=1)) if best else None,
                "tickformat": ",~g",
                "showgrid": False,
                "automargin": True,
            },
            margin={"r": 80},
        ),
    }


def cost_figure(d: dict) -> dict:
    """The cheapest hardware's monthly cost (capital and operating stacked) against revenue, and the other
    hardware's cost as dashed lines; a p10-p90 band on the cost where the plan carries ``cost_usd_p10/_p90``."""
    best = _best(d)
    if not best:
        return {"data": [], "layout": _layout("Monthly cost and revenue", "month", "$ per month", yaxis=MONEY_AXIS)}
    m = best["monthly"]
    colors = _colors(d)
    lo, hi = plots.series_bands(m, "cost_usd")
    data = [
        {"type": "bar", "name": "capital", "x": d["labels"], "y": m["capital_usd"], "marker": {"color": "#2f6fde"}},
        {"type": "bar", "name": "operating", "x": d["labels"], "y": m["operating_usd"], "marker": {"color": "#9bbcf2"}},
    ]
    if lo is not None:
        data += plots.band_traces(d["labels"], lo, hi, "#2f6fde", "cost p10 - p90")
    data.append(
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": "revenue",
            "x": d["labels"],
            "y": m["revenue_usd"],
            "line": {"color": "#12b76a", "width": 3},
        }
    )
    for h in _feasible(d):
        if h["hardware"] != best["hardware"]:
            data.append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "name": f"cost on {h['hardware']}" + (" (prior)" if h.get("prior") else ""),
                    "x": d["labels"],
                    "y": h["monthly"]["cost_usd"],
                    "line": {"dash": "dash", "color": colors[h["hardware"]]},
                }
            )
    return {
        "data": data,
        "layout": _layout(
            f"Monthly cost on {best['hardware']}" + (" (prior)" if best.get("prior") else "") + " (bars) and revenue",
            "month",
            "$ per month",
            barmode="stack",
            yaxis=MONEY_AXIS,
        ),
    }


def tokens_figure(d: dict) -> dict:
    """Tokens per day by feature, stacked (input + output)."""
    data = []
    for k, (name, v) in enumerate(d["demand"]["by_feature"].items()):
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "stackgroup": "one",
                "name": name,
                "x": d["labels"],
                "y": v["total_tokens_per_day"],
                "line": {"color": COLORS[k % len(COLORS)]},
            }
        )
    return {
        "data": data,
        "layout": _layout("Tokens per day by feature (input + output)", "month", "tokens per day", yaxis=COUNT_AXIS),
    }


def unit_cost_figure(d: dict) -> dict:
    """Cost per million tokens on the cheapest hardware (input, cached input, output split by GPU time; blended),
    with the scenario's list prices; a log axis with labelled major ticks; a band on the blended cost where the plan
    carries ``usd_per_mtok_blended_p10/_p90``."""
    best = _best(d)
    if not best:
        return {"data": [], "layout": _layout("Cost per million tokens", "month", "$ per million tokens")}
    m = best["monthly"]
    data: list[dict] = []
    for k, (name, key) in enumerate(
        (
            ("input", "usd_per_mtok_input"),
            ("cached input", "usd_per_mtok_cached_input"),
            ("output", "usd_per_mtok_output"),
            ("blended (all tokens)", "usd_per_mtok_blended"),
        )
    ):
        data += plots.line_with_band(name, d["labels"], m, key, COLORS[k])
    p = d["pricing"]
    values = [v for t in data for v in (t.get("y") or []) if isinstance(v, int | float)]
    if p["usd_per_mtok_input"] or p["usd_per_mtok_output"]:
        for k, (name, key) in enumerate(
            (("price: input", "usd_per_mtok_input"), ("price: output", "usd_per_mtok_output"))
        ):
            if p[key]:
                values.append(p[key])
                data.append(
                    {
                        "type": "scatter",
                        "mode": "lines",
                        "name": name,
                        "x": d["labels"],
                        "y": [p[key]] * len(d["labels"]),
                        "line": {"dash": "dot", "color": COLORS[k * 2]},
                    }
                )
    return {
        "data": data,
        "layout": _layout(
            f"Cost per million tokens on {best['hardware']} (fleet + fixed costs)",
            "month",
            "$ per million tokens (log scale)",
            yaxis={**plots.log_axis(values, "$ per million tokens (log scale)", F.usd_tick)},
        ),
    }


def pareto_figure(d: dict) -> dict:
    """Per feasible hardware, the frontier of its largest workload (points joined by lines) and the operating point
    of the last month (a star; its p10-p90 error bars where the plan carries them)."""
    colors = _colors(d)
    wl_key = _largest_workload(d)
    series, ops, xs = [], [], []
    for h in _feasible(d):
        w = next((w for w in h["workloads"] if w["workload"] == wl_key), None)
        if not w:
            continue
        for mode in ("agg", "disagg"):
            pts = sorted((p for p in w["frontier"] if p["mode"] == mode), key=lambda p: p["tokens_per_s_per_user"])
            if pts:
                series.append(
                    {
                        "hardware": h["hardware"],
                        "mode": mode,
                        "x": [p["tokens_per_s_per_user"] for p in pts],
                        "y": [p["total_tokens_per_s_per_gpu"] for p in pts],
                        "text": [f"{F.usd(p.get('usd_per_mtok_total'))} per M tokens" for p in pts],
                        "lo": None,
                        "hi": None,
                    }
                )
                xs += series[-1]["x"]
        op = w["operating_point"]
        u = op.get("uncertainty") or {}
        err = {
            "x": ((u.get("tokens_per_s_per_user") or {}).get("p10"), (u.get("tokens_per_s_per_user") or {}).get("p90")),
            "y": (
                (u.get("total_tokens_per_s_per_gpu") or {}).get("p10"),
                (u.get("total_tokens_per_s_per_gpu") or {}).get("p90"),
            ),
        }
        ops.append(
            plots.operating_point_trace(
                f"{h['hardware']} operating point",
                op["tokens_per_s_per_user"],
                op["total_tokens_per_s_per_gpu"],
                colors[h["hardware"]],
                err=err,
            )
        )
        xs += [op["tokens_per_s_per_user"], *(v for v in err["x"] if v)]  # the axis covers the error bars
    return {
        "data": plots.pareto_traces(series, colors) + ops,
        "layout": _layout(
            f"Pareto frontier meeting the SLA, largest workload: {wl_key}",
            "interactivity (tokens/s per user, log scale)",
            plots.Y_LABEL,
            xaxis=plots.log_axis(xs, "interactivity (tokens/s per user, log scale)"),
            yaxis={"rangemode": "tozero"},
            height=500,
        ),
    }


def breakdown_figure(d: dict) -> dict:
    """The whole plan's cost per feasible hardware, stacked by component (capital, energy, hosting, ...)."""
    feas = _feasible(d)
    comps: list[str] = []
    for h in feas:
        for c in h["monthly"]["cost_breakdown_usd"]:
            if c not in comps:
                comps.append(c)
    data = []
    for k, c in enumerate(comps):
        vals = [sum(v or 0 for v in h["monthly"]["cost_breakdown_usd"].get(c, [])) for h in feas]
        if any(vals):
            data.append(
                {
                    "type": "bar",
                    "name": F.label(c),
                    "x": [h["hardware"] for h in feas],
                    "y": vals,
                    "marker": {"color": COLORS[k % len(COLORS)]},
                }
            )
    return {
        "data": data,
        "layout": _layout(
            f"Cost breakdown over the whole plan ({F.count(len(d['labels']), 'month')})",
            "hardware",
            "$ over the plan",
            barmode="stack",
            yaxis=MONEY_AXIS,
        ),
    }


def tornado_data(res: PlanResult, d: dict, swing_pct: float = DEFAULT_SWING_PCT) -> dict | None:
    """tokenfab.economics.sensitivity.tornado on the best hardware in the last month, at the fleet's own operating
    point (planning.plan.fleet_operating_point: the month's tokens/s over all its GPUs at the plan's TCO utilization),
    so the base is the month's fleet-only $/M tokens (no fixed costs), the summary's figure. None when the
    sensitivity module is missing or cannot price the hardware."""
    best = _best(d)
    if not best or "->" in best["hardware"]:
        return None
    try:
        from tokenfab.economics import sensitivity
    except ImportError:
        return None
    i = len(d["labels"]) - 1
    op = fleet_operating_point(res, best["hardware"], i)
    if op is None:
        return None
    sc = res.scenario
    over = dict(sc.tco.overrides)
    if sc.tco.usd_per_gpu_hour is not None:
        over["price_usd_per_gpu_hour"] = sc.tco.usd_per_gpu_hour
    over["utilization"] = op["utilization"]  # the plan's TCO basis, in (0, 1]
    try:
        r = sensitivity.tornado(
            best["hardware"],
            tokens_per_s_per_gpu=op["tokens_per_s_per_gpu"],
            preset=sc.tco.preset,
            tco_overrides=over or None,
            swing_pct=swing_pct,
            hardware_files=list(res.hardware_files) or None,
        )
        out = _jsonable(r.to_dict())
    except (TokenfabError, TypeError, AttributeError, KeyError):
        return None
    fig = plots.tornado_figure(
        out,
        title=f"What moves the cost: fleet-only $ per M tokens on {best['hardware']} in {d['labels'][i]}, each input "
        f"-/+{F.num(swing_pct)}% (base {F.usd(out['base_usd_per_mtok'])})",
    )
    return {
        "result": out,
        "figure": fig,
        "tokens_per_s_per_gpu": op["tokens_per_s_per_gpu"],
        "utilization": op["utilization"],
        "month_label": d["labels"][i],
    }


def _price_data_text() -> str:
    """When the provider list prices tokenfab compares with are from (genai-prices snapshot), for the report."""
    try:
        from tokenfab.market.pricing import genai_prices_snapshot

        snap = genai_prices_snapshot()
    except Exception:  # noqa: BLE001 - the report still renders without the optional price package
        return "provider list prices (tokenfab prices): genai-prices not available"
    stale = " - stale: older than {:g} days".format(snap["stale_after_days"]) if snap["stale"] else ""
    return (
        f"the scenario's prices are its own (pricing:); tokenfab prices compares with provider list prices from "
        f"genai-prices {snap['version']}, bundled data as of {snap['snapshot_date']}{stale}"
    )


def _best(d: dict) -> dict | None:
    b = d.get("best_hardware")
    return next((h for h in d["hardware"] if h["hardware"] == b), None) if b else None


def _largest_workload(d: dict) -> str | None:
    load = d["demand"]["load"]
    if not load:
        return None
    return max(load, key=lambda k: (load[k]["total_tokens_per_day"] or [0])[-1] or 0)


# ---------------------------------------------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------------------------------------------
_NUMERIC = re.compile(r"^[-+]?\$?[-+]?[\d,]*\.?\d+\s?(%|[kMBT]|GiB|MW|ms)?( / [-+]?\$?[\d,]*\.?\d+%?)?$")


def _ends(lo, hi, fmt) -> tuple[str, str]:
    """Both ends of a range in one style: dollars compact at both ends when either is ($6.2M to $11.2M, not
    $6,173,052-$11.2M)."""
    if fmt is F.usd:
        big = max(abs(float(lo)), abs(float(hi))) >= 1e7
        return (F.usd(lo, compact_from=1e3), F.usd(hi, compact_from=1e3)) if big else (F.usd(lo), F.usd(hi))
    return fmt(lo), fmt(hi)


def _band_note(band: dict | None, fmt, suffix: str = "") -> str:
    """``; p10-p90 54 to 75 GPUs``: a figure's band from the performance model's error ('' without one); ``fmt``
    formats each end (tokenfab.render.format). "to", not a dash: a negative end read as "-2,992%--2,434%"."""
    if not band or band.get("p10") is None or band.get("p90") is None:
        return ""
    a, b = _ends(band["p10"], band["p90"], fmt)
    return f"; p10-p90 {a} to {b}{suffix}"


def _range_cell(lo, hi, fmt=F.si) -> str:
    """`` (a to b)``: the p10-p90 after a table cell's figure ('' without a band)."""
    if lo is None or hi is None:
        return ""
    a, b = _ends(lo, hi, fmt)
    return f" ({a} to {b})"


def _month_band(m: dict, key: str, i: int) -> tuple[Any, Any]:
    lo, hi = m.get(f"{key}_p10"), m.get(f"{key}_p90")
    return (lo[i] if lo else None), (hi[i] if hi else None)


def _card(label: str, value: str, period: str = "", note: str = "") -> str:
    """A tile: what it is, the figure, the period and scope it covers, and a note."""
    return (
        f'<div class="card"><div class="label">{esc(label)}</div><div class="value">{esc(value)}</div>'
        f'<div class="period">{esc(period)}</div><div class="note">{esc(note)}</div></div>'
    )


def _table(headers: list[str], rows: list[list[Any]], cls: str = "") -> str:
    """An HTML table: a column whose cells are all numbers (or empty) is right-aligned, text columns left-aligned."""
    n = len(headers)
    numeric = [
        all(_NUMERIC.match(str(r[j]).strip()) or str(r[j]).strip() in ("", F.DASH) for r in rows if j < len(r))
        and any(str(r[j]).strip() not in ("", F.DASH) for r in rows if j < len(r))
        for j in range(n)
    ]
    align = ["num" if numeric[j] else "txt" for j in range(n)]
    h = "".join(f'<th class="{align[j]}">{esc(x)}</th>' for j, x in enumerate(headers))
    body = "".join(
        "<tr>" + "".join(f'<td class="{align[j]}">{esc(c)}</td>' for j, c in enumerate(r)) + "</tr>" for r in rows
    )
    return (
        f'<div class="table-wrap"><table class="{cls}"><thead><tr>{h}</tr></thead><tbody>{body}</tbody></table></div>'
    )


def _prose(text: str) -> str:
    """Library text as HTML: escaped; ``code`` spans (reST double backticks or Markdown ones), references to the code
    (``tokenfab.x.y``, ``CONSTANT_NAMES``) and file paths set as code."""
    t = esc(text)
    t = re.sub(r"``?([^`]+?)``?", r"<code>\1</code>", t)
    return re.sub(
        r"(?<![\w>])((?:tokenfab\.[\w.]+)|(?:[A-Z][A-Z0-9]*_[A-Z0-9_]+)|(?:[\w./-]+\.(?:yaml|json|md|py)))",
        r"<code>\1</code>",
        t,
    )


def _value_text(v) -> str:
    """An assumption's value in words: numbers formatted, a mapping as "key value; ...", lists joined."""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int | float):
        return F.num(v)
    if isinstance(v, dict):
        return "; ".join(f"{F.words(k)} {_value_text(x)}" for k, x in v.items() if k != "sources" and x is not None)
    if isinstance(v, list | tuple):
        return ", ".join(_value_text(x) for x in v)
    return str(v)


CSS = """
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;margin:0;color:#1d2430;
background:#f6f7f9;font-size:15px;line-height:1.45}
main{max-width:1280px;margin:auto;padding:24px}
h1{margin:0 0 4px;font-size:26px} h2{border-bottom:2px solid #e3e6eb;padding-bottom:4px;margin-top:36px;font-size:20px}
h3{font-size:16px;margin:20px 0 6px}
.sub{color:#475467;margin:0 0 6px} .settings{font-size:13px;color:#475467;margin:0}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(230px,1fr));gap:12px;margin:16px 0}
.card{background:#fff;border:1px solid #e3e6eb;border-radius:10px;padding:12px 16px}
.card .label{font-size:12px;color:#475467;text-transform:uppercase;letter-spacing:.04em;font-weight:600}
.card .value{font-size:26px;font-weight:650;margin:4px 0;font-variant-numeric:tabular-nums}
.card .period{font-size:12px;color:#1d2430} .card .note{font-size:12px;color:#667085;margin-top:2px}
.summary{background:#fff;border-left:4px solid #2f6fde;padding:8px 20px;font-size:16px;line-height:1.55}
.summary p{margin:8px 0}
.guide{background:#fff;border:1px solid #e3e6eb;border-radius:10px;padding:8px 20px}
.guide li{margin:4px 0}
.charts{display:grid;grid-template-columns:repeat(2,minmax(0,1fr));gap:12px}
.chart{background:#fff;border:1px solid #e3e6eb;border-radius:10px;padding:0;min-width:0;overflow:hidden}
.chart.wide{grid-column:1/-1}
@media (max-width:1000px){.charts{grid-template-columns:minmax(0,1fr)}}
.table-wrap{overflow-x:auto;margin:12px 0}
table{border-collapse:collapse;background:#fff;font-size:13px;width:100%}
th,td{border-bottom:1px solid #e3e6eb;padding:6px 10px;vertical-align:top}
th{background:#f2f4f7;font-weight:600}
th.num,td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap} th.txt,td.txt{text-align:left}
.small{font-size:13px;color:#475467} code{font-size:12px;background:#f2f4f7;padding:1px 4px;border-radius:4px}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600}
.badge.fitted{background:#ecfdf3;color:#067647} .badge.prior{background:#fffaeb;color:#b54708}
"""


def plan_header(d: dict) -> str:
    """The settings a plan rests on, in one line (``tokenfab plan``'s first line and the report's): scenario, model
    and precision, TCO, horizon, the latency percentile and the peak-to-average ratio."""
    sc = d["scenario"]
    tco = next((h.get("tco") or {} for h in d["hardware"] if h.get("tco")), {})
    return F.header_line(
        f"{sc['name']} ({sc['source']})",
        f"model {sc['model']}, {sc['precision']['text']}" + ("" if sc.get("weights") else " (the checkpoint's)"),
        F.tco_setting(tco.get("preset") or DEFAULT_PRESET, None, preset_given=True, utilization_given=True)
        + " (the scenario's)",
        f"{F.count(sc['months_planned'], 'month')}"
        + (f" from {sc['start_month']}" if sc.get("start_month") else " (months M0, M1, ...: no start_month)"),
        f"latency limits at {_sla_percentile(d)}",
        f"peak-to-average {F.num(d['demand']['peak_to_average'], 2)}",
        "fleets billed around the clock",
    )


def _sla_percentile(d: dict) -> str:
    for h in _feasible(d):
        for w in h.get("workloads") or []:
            pct = (w.get("operating_point") or {}).get("percentile")
            if pct:
                return pct
    return "p90"


def _cards(d: dict, sm: dict) -> str:
    """The executive summary's tiles: each names its period (a month or the whole plan) and its scope."""
    if not sm.get("hardware"):
        return ""
    mon = sm["month_label"]
    be = sm.get("breakeven_usd_per_mtok")
    u = sm.get("uncertainty") or {}
    last = f"{mon} (last planned month)"
    return "".join(
        [
            _card(
                "cost per million tokens",
                F.usd(sm["usd_per_mtok_blended"]),
                f"{last}; fleet + fixed costs, all tokens",
                f"the GPU fleet alone {F.usd(sm.get('usd_per_mtok_fleet_only'))}; by the GPU time each kind uses: "
                f"input {F.usd(sm['usd_per_mtok_input'])}, output {F.usd(sm['usd_per_mtok_output'])}",
            ),
            _card(
                "price per million tokens",
                F.usd(sm["price_usd_per_mtok_blended"]),
                f"{last}; revenue / all tokens",
                "subscriptions included",
            ),
            _card(
                "gross margin",
                F.pct_value(sm["gross_margin_pct"]),
                f"{last}; fleet + fixed costs",
                f"{F.usd(sm['revenue_usd_per_month'])} revenue a month"
                + _band_note(u.get("gross_margin_pct"), F.pct_value),
            ),
            _card(
                "breakeven price",
                f"{F.usd(be)} per M" if be is not None else F.DASH,
                f"{last}; per billed token, after subscriptions"
                if be is not None
                else f"{last}; no persona pays per token",
                (
                    f"{F.num(sm.get('target_gross_margin_pct', 0))}% margin needs "
                    f"{F.usd(sm.get('price_at_target_margin_usd_per_mtok'))}; "
                    if be is not None
                    else ""
                )
                + f"or {F.num(sm['breakeven_users'])} users at today's prices",
            ),
            _card(
                "fleet",
                F.count(sm["gpus"], "GPU"),
                f"{last}; cheapest hardware {sm['hardware']}{' (prior)' if sm.get('prior') else ''}",
                f"{F.num(sm['mw'], 2)} MW all-in; utilization {F.pct(sm.get('fleet_utilization') or 0)} average, "
                f"{F.pct(sm.get('fleet_utilization_peak') or 0)} in the busiest hour"
                + _band_note(u.get("gpus"), lambda x: F.num(x, 0), " GPUs"),
            ),
            _card(
                "monthly cost",
                F.usd(sm["cost_usd_per_month"]),
                f"{last}; fleet + fixed costs",
                _band_note(u.get("cost_usd_per_month"), F.usd).removeprefix("; "),
            ),
            _card(
                "whole plan",
                F.usd(sm.get("horizon_cost_usd")),
                f"{F.count(len(d['labels']), 'month')}, {d['labels'][0]} to {mon}; total cost",
                f"{F.usd(sm.get('horizon_usd_per_mtok_blended'))} per M tokens over the plan, fleet + fixed costs",
            ),
        ]
    )


GUIDE = [
    "The <b>tiles</b> give the last planned month (or the whole plan where they say so) on the cheapest hardware "
    "that meets every feature's latency limits. Each tile names its period and what it covers.",
    "<b>Cost per million tokens</b> divides the month's whole bill (GPU fleet + fixed costs) by every token served, "
    "input and output together; the fleet is paid for around the clock, busy or idle.",
    "The <b>fleet</b> is sized for the busiest hour with headroom (bursts, 80% target peak utilization, one spare "
    "replica), so its average utilization is well below 100%: that idle capacity is part of the cost.",
    "The <b>Pareto chart</b> shows, per hardware, the best throughput per GPU at each speed a user sees "
    "(tokens/s per user); the star is where the plan operates. Lines to the upper right are better.",
    "<b>Shaded bands and error bars</b> are p10 - p90 ranges: what a measurement would show 8 times out of 10, "
    "from the performance model's out-of-sample errors. A hardware whose model rests on a prior has wide ranges.",
    "The <b>tornado</b> shows which input moves the cost most when it alone changes by the stated percentage.",
]


def _rests_on(d: dict) -> str:
    """What the numbers rest on: the performance model's basis per hardware, the price data, key assumptions."""
    wl_key = _largest_workload(d)
    rows = []
    for h in d["hardware"]:
        if not h["feasible"]:
            rows.append([h["hardware"], "-", "-", "-", f"cannot serve the plan: {h['reason']}"])
            continue
        w = next((w for w in h["workloads"] if w["workload"] == wl_key), None) or (h["workloads"] or [None])[0]
        op = (w or {}).get("operating_point") or {}
        cal = op.get("calibration") or {}
        band = (op.get("uncertainty") or {}).get("total_tokens_per_s_per_gpu") or {}
        est = op.get("total_tokens_per_s_per_gpu")
        rng = (
            f"{F.num(band['p10'])} - {F.num(band['p90'])} tokens/s per GPU (estimate {F.num(est)})"
            if band.get("p10") is not None and band.get("p90") is not None
            else "-"
        )
        status = cal.get("hardware_profile") or "-"
        basis = (
            f"{cal.get('hardware_family', '?')} family {status}"
            + (f" ({cal['hardware_rule']})" if cal.get("hardware_rule") else "")
            + f"; engine {cal.get('engine', '?')} {cal.get('engine_profile', '?')}"
        )
        rows.append([h["hardware"], status, basis, F.num(cal.get("rows")) if cal.get("rows") else "-", rng])
    cal_table = _table(
        ["hardware", "calibration", "performance model basis", "measurement rows", "throughput p10 - p90"], rows
    )
    a = d["assumptions"]
    keys = (
        "precision",
        "fleet",
        "headroom",
        "per_token_kind",
        "output_cost_weight",
        "cached_input_cost_weight",
        "price_decline",
        "tco",
    )
    a_rows = [[F.words(k), _value_text(a[k])] for k in keys if k in a]
    a_rows += [[k2, v] for k2, v in ((F.words(k), _value_text(v)) for k, v in a.items() if k not in keys + ("tiers",))]
    a_rows += [
        [f"{t} tier", f"TTFT <= {F.num(v['ttft_ms'])} ms, TPOT <= {F.num(v['tpot_ms'])} ms ({v['source']})"]
        for t, v in a.get("tiers", {}).items()
    ]
    a_rows.append(["list-price data", _price_data_text()])
    body = "".join(f"<tr><td class='txt'>{esc(k)}</td><td class='txt'>{_prose(v)}</td></tr>" for k, v in a_rows)
    assumptions = (
        "<div class='table-wrap'><table class='assumptions'><thead><tr><th class='txt'>assumption</th>"
        f"<th class='txt'>value and source</th></tr></thead><tbody>{body}</tbody></table></div>"
    )
    return (
        "<h3>The performance model, per hardware</h3>"
        "<p class='small'><span class='badge fitted'>fitted</span> the model's parameters for this hardware family "
        "were fitted on published measurements; <span class='badge prior'>prior</span> no measurements of the family: "
        "its parameters come from a stated rule and its ranges are wider. The range is the operating point's "
        "throughput per GPU, p10 - p90.</p>" + cal_table + "<h3>Key assumptions</h3>" + assumptions
    )


def _month_rows(d: dict, best: dict | None) -> list[list[str]]:
    if not best:
        return []
    m = best["monthly"]
    dem = d["demand"]
    return [
        [
            d["labels"][i],
            F.si(dem["total_users"][i]),
            F.si(dem["totals"]["total_tokens_per_day"][i]),
            F.num(dem["totals"]["peak_requests_per_s"][i], 1),
            F.num(m["gpus"][i], 0) + _range_cell(*_month_band(m, "gpus", i), lambda x: F.num(x, 0)),
            F.num(m["mw"][i], 2),
            F.usd(m["cost_usd"][i]) + _range_cell(*_month_band(m, "cost_usd", i), F.usd),
            F.usd(m["revenue_usd"][i]),
            F.pct_value(m["gross_margin_pct"][i], 1)
            + _range_cell(*_month_band(m, "gross_margin_pct", i), lambda x: F.pct_value(x, 1)),
            F.usd(m["usd_per_mtok_blended"][i]),
            f"{F.pct(m['fleet_utilization'][i] or 0)} / {F.pct(m['fleet_utilization_peak'][i] or 0)}",
        ]
        for i in range(len(d["labels"]))
    ]


def render_html(res: PlanResult, *, title: str | None = None, swing_pct: float = DEFAULT_SWING_PCT) -> str:
    """The report as one HTML string (plotly.js inlined)."""
    try:
        from plotly.offline import get_plotlyjs
    except ImportError:  # pragma: no cover - plotly is a dependency of the [plot] extra
        raise TokenfabError("the HTML report needs plotly", field="report", hint=install_hint("plot")) from None
    check_input("swing_pct", swing_pct)
    d = _jsonable(res.to_dict())
    sm = d["summary"]
    sc = d["scenario"]
    title = title or f"{sc['name']}: inference business plan"
    figs = {
        "chart-fleet": fleet_figure(d),
        "chart-cost": cost_figure(d),
        "chart-tokens": tokens_figure(d),
        "chart-unit-cost": unit_cost_figure(d),
        "chart-pareto": pareto_figure(d),
        "chart-breakdown": breakdown_figure(d),
    }
    tor = tornado_data(res, d, swing_pct)
    if tor:
        figs["chart-tornado"] = tor["figure"]
    cards = _cards(d, sm)
    sentences = "".join(f"<p>{esc(s)}</p>" for s in sm.get("sentences", []))
    caveats = "".join(f"<li>{esc(n)}</li>" for n in sm.get("calibration_notes") or [])
    if caveats:
        sentences += f'<p class="small">Performance model calibration:</p><ul class="small">{caveats}</ul>'
    hw_rows = []
    for h in d["hardware"]:
        if not h["feasible"]:
            hw_rows.append([h["hardware"], "cannot serve: " + str(h["reason"]), "", "", "", "", "", ""])
            continue
        t = h["totals"]
        hw_rows.append(
            [
                h["hardware"] + (" (prior)" if h.get("prior") else ""),
                "yes",
                F.num(t["peak_gpus"], 0),
                F.num(t["peak_mw"], 2),
                F.usd(t["cost_usd"]) + _range_cell(t.get("cost_usd_p10"), t.get("cost_usd_p90"), F.usd),
                F.usd(t["capital_usd"]),
                F.usd(t["operating_usd"]),
                F.usd(t["usd_per_mtok_blended"]),
            ]
        )
    wl_rows = []
    for w in d["demand"]["workloads"]:
        c = d["caching"][w["key"]]
        wl_rows.append(
            [
                ", ".join(w["features"]),
                w["model"],
                f"{w['weights']} / {w['kv']}",
                w["tier"],
                f"{F.num(w['isl'])} / {F.num(w['osl'])}",
                f"{F.num(w['ttft_max_ms'])} ms / {F.num(w['tpot_max_ms'])} ms",
                F.pct(w["prefix_hit_rate"]),
                F.pct(c["prefill_flops_saved_share"]),
                F.num(c["kv_hbm_gib"][-1], 1),
                F.num(c["kv_dram_gib"][-1], 1),
            ]
        )
    persona_rows = [
        [
            p.name,
            F.num(p.count),
            F.pct(p.active_share),
            F.num(p.sessions_per_day),
            F.num(p.requests_per_session),
            ", ".join(f"{k} {F.num(v)}" for k, v in p.features.items()),
            F.usd(p.subscription_usd_per_month),
            "yes" if p.billed_per_token else "no",
        ]
        for p in res.scenario.personas
    ]
    best = _best(d)
    month_rows = _month_rows(d, best)
    chart_divs = "".join(
        f'<div class="chart{" wide" if cid in CHART_WIDE else ""}" id="{cid}"></div>'
        for cid in CHART_IDS
        if cid in figs
    )
    if tor:
        tornado_note = (
            f"<p class='small'>Tornado (the GPU fleet only, no fixed costs, {esc(tor['month_label'])}): $ per million "
            f"tokens at {F.num(tor['tokens_per_s_per_gpu'], 0)} tokens/s per busy GPU: the fleet's tokens over its "
            f"GPU-hours at the cost's utilization basis of {F.pct(tor['utilization'])} (the TCO input that turns a "
            "wall-clock GPU-hour into a busy one, not the fleet's load, which the summary gives); each input moved "
            f"-/+{F.num(swing_pct)}% alone (tokenfab.economics.sensitivity).</p>"
        )
    else:
        tornado_note = (
            "<p class='small'>Tornado chart not available (tokenfab.economics.sensitivity missing or "
            "the hardware's TCO could not be varied).</p>"
        )
    warn = "".join(f"<li>{_prose(w)}</li>" for w in d["warnings"])
    notes = "".join(f"<li>{_prose(w)}</li>" for w in d["notes"])
    guide = "".join(f"<li>{g}</li>" for g in GUIDE)
    now = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{esc(title)}</title><style>{CSS}</style>
<script type="text/javascript">{get_plotlyjs()}</script></head>
<body><main>
<h1>{esc(title)}</h1>
<p class="sub">{esc(sc["description"])}</p>
<p class="settings">{esc(plan_header(d))} · generated by tokenfab {esc(_version)} on {esc(now)}</p>
<h2 id="summary">Executive summary</h2>
<div class="cards">{cards}</div>
<div class="summary">{sentences}</div>
<h2 id="how-to-read">How to read this report</h2>
<ul class="guide">{guide}</ul>
<h2 id="charts">Charts</h2>
<div class="charts">{chart_divs}</div>
{tornado_note}
<h2 id="hardware">Hardware comparison <span class="small">(the whole plan)</span></h2>
{
        _table(
            [
                "hardware",
                "feasible",
                "peak GPUs",
                "peak MW",
                "total cost (p10-p90)",
                "capital",
                "operating",
                "$ per M tokens (fleet + fixed)",
            ],
            hw_rows,
        )
    }
<h2 id="months">Month by month <span class="small">({
        esc(best["hardware"]) if best else "no feasible hardware"
    })</span></h2>
{
        _table(
            [
                "month",
                "users",
                "tokens per day",
                "peak calls/s",
                "GPUs (p10-p90)",
                "MW",
                "cost (p10-p90)",
                "revenue",
                "margin (p10-p90)",
                "$ per M tokens (fleet + fixed)",
                "utilization average / peak",
            ],
            month_rows,
        )
    }
<h2 id="workloads">Workloads and prompt caching</h2>
{
        _table(
            [
                "features",
                "model",
                "weights / KV",
                "tier",
                "input / output tokens",
                "limits TTFT / TPOT",
                "prefix hit",
                "prefill saved",
                "KV in HBM (GiB)",
                "KV in DRAM (GiB)",
            ],
            wl_rows,
        )
    }
<h2 id="personas">Personas</h2>
{
        _table(
            [
                "persona",
                "users at month 0",
                "active share",
                "sessions per day",
                "requests per session",
                "features (weights)",
                "subscription per month",
                "pays per token",
            ],
            persona_rows,
        )
    }
<h2 id="rests-on">What this rests on</h2>
{_rests_on(d)}
<h3>Notes</h3>
<ul>{notes}</ul>
{("<h3>Warnings</h3><ul>" + warn + "</ul>") if warn else ""}
<p class="small">How the numbers are made: docs/demand.md in the tokenfab repository. Costs are model estimates (a
roofline performance model calibrated on published measurements where the table above says "fitted", a stated prior
where it says "prior"; TCO from cited inputs), not quotes.</p>
</main>
<script type="text/javascript">
{plots.plot_script(figs)}</script>
</body></html>
"""


def check_output_path(path) -> Path:
    """The report's path, checked before any work (tokenfab.core.files.check_output_path): an .html file in an
    existing, writable folder."""
    return files.check_output_path(path, field="output", suffixes=(".html", ".htm"), kind="an HTML file path")


def write_report(res: PlanResult, path, **kw) -> Path:
    p = check_output_path(path)
    p.write_text(render_html(res, **kw), encoding="utf-8")
    return p


__all__ = [
    "CHART_IDS",
    "breakdown_figure",
    "check_output_path",
    "cost_figure",
    "esc",
    "fleet_figure",
    "pareto_figure",
    "render_html",
    "tokens_figure",
    "tornado_data",
    "unit_cost_figure",
    "write_report",
]
