"""One self-contained HTML report of a plan (tokenfab.planning.plan.PlanResult) for a non-engineer: an executive summary
in plain language, then charts (fleet and cost over time, tokens by feature, cost per million tokens, the Pareto curve
with the operating points, cost breakdown, tornado) and tables.

plotly.js is inlined from the installed ``plotly`` package (``plotly.offline.get_plotlyjs()``): the file opens
offline, with no CDN. Every piece of user text (scenario names, descriptions, feature names) is HTML-escaped; the
chart data are embedded as JSON with ``<``, ``>`` and ``&`` written as JSON unicode escapes (tokenfab.core.files.json_for_html:
no value can close the script element, open a ``<!--`` comment or a nested ``<script``).
"""

from __future__ import annotations

import datetime as _dt
import html
import json
from pathlib import Path
from typing import Any

from tokenfab import __version__ as _version
from tokenfab.core import files
from tokenfab.core.errors import TokenfabError, install_hint
from tokenfab.core.files import json_for_html
from tokenfab.core.inputs import check_input
from tokenfab.planning.plan import PlanResult

COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
CHART_IDS = (
    "chart-fleet",
    "chart-cost",
    "chart-tokens",
    "chart-unit-cost",
    "chart-pareto",
    "chart-breakdown",
    "chart-tornado",
)


def esc(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _jsonable(obj):
    from tokenfab.core.jsonable import to_jsonable  # the one JSON conversion (NumPy, NaN -> null)

    return to_jsonable(obj)


def _layout(title: str, xt: str, yt: str, **kw) -> dict:
    lay = {
        "title": {"text": title},
        "xaxis": {"title": {"text": xt}},
        "yaxis": {"title": {"text": yt}},
        "margin": {"l": 70, "r": 30, "t": 50, "b": 60},
        "legend": {"orientation": "h", "y": -0.2},
        "template": "plotly_white",
        "height": 420,
    }
    lay.update(kw)
    return lay


# ---------------------------------------------------------------------------------------------------------------
# figures (plotly figure dicts; pure functions of the plan's to_dict())
# ---------------------------------------------------------------------------------------------------------------
def fleet_figure(d: dict) -> dict:
    data = []
    for k, h in enumerate(h for h in d["hardware"] if h["feasible"]):
        data.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": f"{h['hardware']} GPUs",
                "x": d["labels"],
                "y": h["monthly"]["gpus"],
                "line": {"color": COLORS[k % 10], "shape": "hv"},
            }
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
                "line": {"color": "#444", "dash": "dot", "shape": "hv"},
            }
        )
    return {
        "data": data,
        "layout": _layout(
            "Fleet needed at each month's peak",
            "month",
            "GPUs",
            yaxis2={"title": {"text": "MW (all-in)"}, "overlaying": "y", "side": "right", "rangemode": "tozero"},
        ),
    }


def cost_figure(d: dict) -> dict:
    best = _best(d)
    if not best:
        return {"data": [], "layout": _layout("Monthly cost and revenue", "month", "USD per month")}
    m = best["monthly"]
    data = [
        {"type": "bar", "name": "capital", "x": d["labels"], "y": m["capital_usd"], "marker": {"color": "#1f77b4"}},
        {"type": "bar", "name": "operating", "x": d["labels"], "y": m["operating_usd"], "marker": {"color": "#aec7e8"}},
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": "revenue",
            "x": d["labels"],
            "y": m["revenue_usd"],
            "line": {"color": "#2ca02c", "width": 3},
        },
    ]
    for k, h in enumerate(h for h in d["hardware"] if h["feasible"] and h["hardware"] != best["hardware"]):
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": f"cost on {h['hardware']}",
                "x": d["labels"],
                "y": h["monthly"]["cost_usd"],
                "line": {"dash": "dash", "color": COLORS[(k + 3) % 10]},
            }
        )
    return {
        "data": data,
        "layout": _layout(f"Monthly cost ({best['hardware']}) and revenue", "month", "USD per month", barmode="stack"),
    }


def tokens_figure(d: dict) -> dict:
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
                "line": {"color": COLORS[k % 10]},
            }
        )
    return {"data": data, "layout": _layout("Tokens per day by feature (input + output)", "month", "tokens per day")}


def unit_cost_figure(d: dict) -> dict:
    best = _best(d)
    if not best:
        return {"data": [], "layout": _layout("Cost per million tokens", "month", "USD per million tokens")}
    m = best["monthly"]
    data = [
        {"type": "scatter", "mode": "lines", "name": name, "x": d["labels"], "y": m[key]}
        for name, key in (
            ("input", "usd_per_mtok_input"),
            ("cached input", "usd_per_mtok_cached_input"),
            ("output", "usd_per_mtok_output"),
            ("blended (all tokens)", "usd_per_mtok_blended"),
        )
    ]
    p = d["pricing"]
    if p["usd_per_mtok_input"] or p["usd_per_mtok_output"]:
        for name, key in (("price: input", "usd_per_mtok_input"), ("price: output", "usd_per_mtok_output")):
            data.append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "name": name,
                    "x": d["labels"],
                    "y": [p[key]] * len(d["labels"]),
                    "line": {"dash": "dot"},
                }
            )
    return {
        "data": data,
        "layout": _layout(
            f"Cost per million tokens on {best['hardware']}",
            "month",
            "USD per million tokens",
            yaxis={"type": "log", "title": {"text": "USD per M tokens"}},
        ),
    }


def pareto_figure(d: dict) -> dict:
    """Per feasible hardware, the frontier of its largest workload, and the operating point of the last month."""
    data = []
    wl_key = _largest_workload(d)
    for k, h in enumerate(h for h in d["hardware"] if h["feasible"]):
        w = next((w for w in h["workloads"] if w["workload"] == wl_key), None)
        if not w:
            continue
        c = COLORS[k % 10]
        for mode in ("agg", "disagg"):
            pts = [p for p in w["frontier"] if p["mode"] == mode]
            if pts:
                data.append(
                    {
                        "type": "scatter",
                        "mode": "lines+markers",
                        "name": f"{h['hardware']} {mode}",
                        "x": [p["tokens_per_s_per_user"] for p in pts],
                        "y": [p["total_tokens_per_s_per_gpu"] for p in pts],
                        "line": {"color": c, "dash": "solid" if mode == "agg" else "dash"},
                    }
                )
        op = w["operating_point"]
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": f"{h['hardware']} operating point",
                "x": [op["tokens_per_s_per_user"]],
                "y": [op["total_tokens_per_s_per_gpu"]],
                "marker": {"color": c, "size": 16, "symbol": "star", "line": {"color": "#000", "width": 1}},
            }
        )
    return {
        "data": data,
        "layout": _layout(
            f"Pareto frontier (meeting the SLA): {wl_key}",
            "interactivity (tokens/s per user)",
            "total tokens/s per GPU (input + output)",
        ),
    }


def breakdown_figure(d: dict) -> dict:
    feas = [h for h in d["hardware"] if h["feasible"]]
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
                    "name": c,
                    "x": [h["hardware"] for h in feas],
                    "y": vals,
                    "marker": {"color": COLORS[k % 10]},
                }
            )
    return {
        "data": data,
        "layout": _layout(f"Cost breakdown over {len(d['labels'])} months", "hardware", "USD", barmode="stack"),
    }


def tornado_data(res: PlanResult, d: dict, swing_pct: float = 20.0) -> dict | None:
    """tokenfab.economics.sensitivity.tornado on the best hardware in the last month, at the fleet's own operating
    point: its capacity tokens/s per serving GPU and its average utilization, so the base is the month's fleet-only
    $/M tokens (no fixed costs). None when the sensitivity module is missing or cannot price the hardware."""
    best = _best(d)
    if not best or "->" in best["hardware"]:
        return None
    try:
        from tokenfab.economics import sensitivity
    except ImportError:
        return None
    i = len(d["labels"]) - 1
    mo = best["monthly"]
    gpus = (mo.get("serving_gpus") or mo["gpus"])[i]
    isl_osl = {w["key"]: w["isl"] + w["osl"] for w in d["demand"]["workloads"]}
    cap_tps = sum(
        (w["capacity_requests_per_s"][i] or 0) * isl_osl.get(w["workload"], 0) for w in best.get("workloads", [])
    )
    util = mo.get("fleet_utilization", [None] * (i + 1))[i]
    if not gpus or not cap_tps or not util:
        return None
    sc = res.scenario
    over = dict(sc.tco.overrides)
    if sc.tco.usd_per_gpu_hour is not None:
        over["price_usd_per_gpu_hour"] = sc.tco.usd_per_gpu_hour
    over["utilization"] = float(min(1.0, util))
    try:
        r = sensitivity.tornado(
            best["hardware"],
            tokens_per_s_per_gpu=cap_tps / gpus,
            preset=sc.tco.preset,
            tco_overrides=over or None,
            swing_pct=swing_pct,
        )
        fig = sensitivity.tornado_figure(r) if hasattr(sensitivity, "tornado_figure") else None
        out = _jsonable(r.to_dict())
    except (TokenfabError, TypeError, AttributeError, KeyError):
        return None
    if fig is None:
        bars = list(reversed(out["bars"]))
        base = out["base_usd_per_mtok"]
        names = [b["input"] for b in bars]
        fig = {
            "data": [
                {
                    "type": "bar",
                    "orientation": "h",
                    "name": f"-{swing_pct:g}%",
                    "y": names,
                    "x": [b["usd_per_mtok_low"] - base for b in bars],
                    "base": [base] * len(bars),
                },
                {
                    "type": "bar",
                    "orientation": "h",
                    "name": f"+{swing_pct:g}%",
                    "y": names,
                    "x": [b["usd_per_mtok_high"] - base for b in bars],
                    "base": [base] * len(bars),
                },
            ],
            "layout": {},
        }
    fig = _jsonable(fig)
    fig["layout"] = {
        **fig.get("layout", {}),
        **_layout(
            f"Tornado: fleet-only $ per M tokens on {best['hardware']} in {d['labels'][i]} with each input "
            f"±{swing_pct:g}%",
            "USD per million tokens",
            "",
            barmode="overlay",
            height=max(360, 40 * len(out["bars"]) + 120),
            margin={"l": 260, "r": 30, "t": 50, "b": 60},
        ),
    }
    return {
        "result": out,
        "figure": fig,
        "tokens_per_s_per_gpu": cap_tps / gpus,
        "utilization": float(util),
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
def _fmt(x, spec=",.0f", none="n/a") -> str:
    if x is None:
        return none
    try:
        return format(x, spec)
    except (TypeError, ValueError):
        return esc(x)


def _band_note(band: dict | None, spec: str, suffix: str = "", prefix: str = "") -> str:
    """``; p10-p90 54-75 GPUs``: a figure's band from the performance model's error ('' without one)."""
    if not band or band.get("p10") is None or band.get("p90") is None:
        return ""
    return f"; p10-p90 {prefix}{_fmt(band['p10'], spec)}-{prefix}{_fmt(band['p90'], spec)}{suffix}"


def _range_cell(lo, hi, spec=",.0f") -> str:
    """`` (a-b)``: the p10-p90 after a table cell's figure ('' without a band)."""
    return "" if lo is None or hi is None else f" ({_fmt(lo, spec)}-{_fmt(hi, spec)})"


def _month_band(m: dict, key: str, i: int) -> tuple:
    lo, hi = m.get(f"{key}_p10"), m.get(f"{key}_p90")
    return (lo[i] if lo else None), (hi[i] if hi else None)


def _card(label: str, value: str, note: str = "") -> str:
    return (
        f'<div class="card"><div class="label">{esc(label)}</div><div class="value">{esc(value)}</div>'
        f'<div class="note">{esc(note)}</div></div>'
    )


def _table(headers: list[str], rows: list[list[Any]], cls: str = "") -> str:
    h = "".join(f"<th>{esc(x)}</th>" for x in headers)
    body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f'<table class="{cls}"><thead><tr>{h}</tr></thead><tbody>{body}</tbody></table>'


CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:0;color:#222;background:#fafafa}
main{max-width:1200px;margin:auto;padding:24px}
h1{margin-bottom:4px} h2{border-bottom:2px solid #ddd;padding-bottom:4px;margin-top:36px}
.sub{color:#666;margin-top:0} .cards{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}
.card{background:#fff;border:1px solid #ddd;border-radius:8px;padding:12px 16px;min-width:170px;flex:1}
.card .label{font-size:12px;color:#666;text-transform:uppercase;letter-spacing:.04em}
.card .value{font-size:24px;font-weight:600;margin:4px 0} .card .note{font-size:12px;color:#888}
.summary{background:#fff;border-left:4px solid #1f77b4;padding:12px 20px;font-size:16px;line-height:1.5}
.chart{background:#fff;border:1px solid #ddd;border-radius:8px;margin:16px 0;padding:4px}
table{border-collapse:collapse;background:#fff;margin:12px 0;font-size:13px;width:100%}
th,td{border:1px solid #ddd;padding:4px 8px;text-align:right} th{background:#f0f0f0}
td:first-child,th:first-child{text-align:left} .small{font-size:12px;color:#666}
"""


def render_html(res: PlanResult, *, title: str | None = None, swing_pct: float = 20.0) -> str:
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
    cards = ""
    if sm.get("hardware"):
        mon = sm["month_label"]
        be = sm.get("breakeven_usd_per_mtok")
        u = sm.get("uncertainty") or {}
        cards = "".join(
            [
                _card(
                    f"cost per million tokens ({mon}, fleet + fixed costs)",
                    f"${_fmt(sm['usd_per_mtok_blended'], ',.3f')}",
                    f"fleet only ${_fmt(sm.get('usd_per_mtok_fleet_only'), ',.3f')}; by GPU time: input "
                    f"${_fmt(sm['usd_per_mtok_input'], ',.3f')} / output ${_fmt(sm['usd_per_mtok_output'], ',.3f')}",
                ),
                _card(
                    f"price per million tokens ({mon})",
                    f"${_fmt(sm['price_usd_per_mtok_blended'], ',.3f')}",
                    "revenue / all tokens (subscriptions included)",
                ),
                _card(
                    f"gross margin ({mon})",
                    f"{_fmt(sm['gross_margin_pct'], ',.0f')}%",
                    f"${_fmt(sm['revenue_usd_per_month'])} revenue / month, fleet + fixed costs"
                    + _band_note(u.get("gross_margin_pct"), ",.0f", "%"),
                ),
                _card(
                    f"breakeven price ({mon}, per billed token)",
                    f"${_fmt(be, ',.3f')} per M" if be is not None else "no per-token billing",
                    (
                        f"after subscriptions; {sm.get('target_gross_margin_pct', 0):g}% margin needs "
                        f"${_fmt(sm.get('price_at_target_margin_usd_per_mtok'), ',.3f')}; "
                        if be is not None
                        else ""
                    )
                    + f"or {_fmt(sm['breakeven_users'])} users at today's prices",
                ),
                _card(
                    f"fleet ({mon})",
                    f"{_fmt(sm['gpus'])} GPUs",
                    f"{sm['hardware']}{' (prior)' if sm.get('prior') else ''}, {_fmt(sm['mw'], ',.2f')} MW; "
                    f"utilization {_fmt((sm.get('fleet_utilization') or 0) * 100, ',.0f')}% average, "
                    f"{_fmt((sm.get('fleet_utilization_peak') or 0) * 100, ',.0f')}% at peak"
                    + _band_note(u.get("gpus"), ",.0f", " GPUs"),
                ),
                _card(
                    f"monthly cost ({mon})",
                    f"${_fmt(sm['cost_usd_per_month'])}",
                    "fleet + fixed costs" + _band_note(u.get("cost_usd_per_month"), ",.0f", prefix="$"),
                ),
                _card(
                    f"whole plan ({len(d['labels'])} months)",
                    f"${_fmt(sm.get('horizon_cost_usd'))}",
                    f"cost; ${_fmt(sm.get('horizon_usd_per_mtok_blended'), ',.3f')} per M tokens over the plan",
                ),
            ]
        )
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
                _fmt(t["peak_gpus"]),
                _fmt(t["peak_mw"], ",.2f"),
                _fmt(t["cost_usd"]) + _range_cell(t.get("cost_usd_p10"), t.get("cost_usd_p90")),
                _fmt(t["capital_usd"]),
                _fmt(t["operating_usd"]),
                _fmt(t["usd_per_mtok_blended"], ",.3f"),
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
                f"{w['isl']} / {w['osl']}",
                f"{w['ttft_max_ms']:g} ms / {w['tpot_max_ms']:g} ms",
                f"{w['prefix_hit_rate']:.0%}",
                f"{c['prefill_flops_saved_share']:.0%}",
                _fmt(c["kv_hbm_gib"][-1], ",.1f"),
                _fmt(c["kv_dram_gib"][-1], ",.1f"),
            ]
        )
    persona_rows = [
        [
            p.name,
            _fmt(p.count),
            f"{p.active_share:.0%}",
            f"{p.sessions_per_day:g}",
            f"{p.requests_per_session:g}",
            ", ".join(f"{k} {v:g}" for k, v in p.features.items()),
            f"${p.subscription_usd_per_month:g}",
            "yes" if p.billed_per_token else "no",
        ]
        for p in res.scenario.personas
    ]
    idx = list(range(len(d["labels"])))
    best = _best(d)
    month_rows = []
    if best:
        m = best["monthly"]
        for i in idx:
            month_rows.append(
                [
                    d["labels"][i],
                    _fmt(d["demand"]["total_users"][i]),
                    _fmt(d["demand"]["totals"]["total_tokens_per_day"][i], ",.3g"),
                    _fmt(d["demand"]["totals"]["peak_requests_per_s"][i], ",.1f"),
                    _fmt(m["gpus"][i]) + _range_cell(*_month_band(m, "gpus", i)),
                    _fmt(m["mw"][i], ",.2f"),
                    _fmt(m["cost_usd"][i]) + _range_cell(*_month_band(m, "cost_usd", i)),
                    _fmt(m["revenue_usd"][i]),
                    _fmt(m["gross_margin_pct"][i], ",.1f")
                    + _range_cell(*_month_band(m, "gross_margin_pct", i), ",.1f"),
                    _fmt(m["usd_per_mtok_blended"][i], ",.3f"),
                    (
                        f"{_fmt((m['fleet_utilization'][i] or 0) * 100, ',.0f')}% / "
                        f"{_fmt((m['fleet_utilization_peak'][i] or 0) * 100, ',.0f')}%"
                    ),
                ]
            )
    chart_divs = "".join(f'<div class="chart" id="{cid}"></div>' for cid in CHART_IDS if cid in figs)
    tornado_note = (
        ""
        if tor
        else "<p class='small'>Tornado chart not available (tokenfab.economics.sensitivity missing or "
        "the hardware's TCO could not be varied).</p>"
    )
    if tor:
        tornado_note = (
            f"<p class='small'>Tornado (fleet only, no fixed costs, {esc(tor['month_label'])}): $ per million "
            f"tokens at the fleet's capacity of {tor['tokens_per_s_per_gpu']:,.0f} tokens/s per GPU and its average "
            f"utilization of {tor['utilization']:.0%}, each input moved ±{swing_pct:g}% alone "
            f"(tokenfab.economics.sensitivity).</p>"
        )
    fig_json = json_for_html(figs)  # <, > and & as \u escapes: no value can end the script or open a comment
    assumptions = d["assumptions"]
    a_rows = [[k, v if isinstance(v, str) else json.dumps(v)] for k, v in assumptions.items() if k != "tiers"]
    a_rows += [
        [f"tier {t}", f"TTFT <= {v['ttft_ms']:g} ms, TPOT <= {v['tpot_ms']:g} ms ({v['source']})"]
        for t, v in assumptions["tiers"].items()
    ]
    a_rows.append(["list-price data", _price_data_text()])
    warn = "".join(f"<li>{esc(w)}</li>" for w in d["warnings"])
    notes = "".join(f"<li>{esc(w)}</li>" for w in d["notes"])
    now = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{esc(title)}</title><style>{CSS}</style>
<script type="text/javascript">{get_plotlyjs()}</script></head>
<body><main>
<h1>{esc(title)}</h1>
<p class="sub">{esc(sc["description"])}</p>
<p class="small">Scenario {esc(sc["source"])} - model {esc(sc["model"])} ({esc(sc["precision"]["text"])}) -
{sc["months_planned"]} months planned -
generated by tokenfab {esc(_version)} on {esc(now)}</p>
<h2 id="summary">Executive summary</h2>
<div class="cards">{cards}</div>
<div class="summary">{sentences}</div>
<h2>Charts</h2>
{chart_divs}
{tornado_note}
<h2>Hardware comparison</h2>
{
        _table(
            [
                "hardware",
                "feasible",
                "peak GPUs",
                "peak MW",
                "total cost $ (whole plan; p10-p90)",
                "capital $",
                "operating $",
                "$/M tokens (whole plan, fleet + fixed)",
            ],
            hw_rows,
        )
    }
<h2>Month by month ({esc(best["hardware"]) if best else "no feasible hardware"})</h2>
{
        _table(
            [
                "month",
                "users",
                "tokens/day",
                "peak calls/s",
                "GPUs (p10-p90)",
                "MW",
                "cost $ (p10-p90)",
                "revenue $",
                "margin % (p10-p90)",
                "$/M tokens (fleet + fixed)",
                "utilization avg / peak",
            ],
            month_rows,
        )
    }
<h2>Workloads and prompt caching</h2>
{
        _table(
            [
                "features",
                "model",
                "weights / KV",
                "tier",
                "ISL / OSL tokens",
                "SLA TTFT / TPOT",
                "prefix hit",
                "prefill saved",
                "KV in HBM GiB",
                "KV in DRAM GiB",
            ],
            wl_rows,
        )
    }
<h2>Personas</h2>
{
        _table(
            [
                "persona",
                "users at month 0",
                "active share",
                "sessions/day",
                "requests/session",
                "features",
                "subscription/month",
                "pays per token",
            ],
            persona_rows,
        )
    }
<h2>Assumptions and notes</h2>
{_table(["assumption", "value and source"], a_rows)}
<ul>{notes}</ul>
{("<h3>Warnings</h3><ul>" + warn + "</ul>") if warn else ""}
<p class="small">How the numbers are made: docs/demand.md in the tokenfab repository. Costs are model estimates
(roofline performance model calibrated on measurements, TCO from cited inputs), not quotes.</p>
</main>
<script type="text/javascript">
const FIGS = {fig_json};
for (const [id, fig] of Object.entries(FIGS)) {{
  const el = document.getElementById(id);
  if (el) Plotly.newPlot(el, fig.data, fig.layout, {{responsive: true, displaylogo: false}});
}}
</script>
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
