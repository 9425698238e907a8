"""Charts: the one place that decides how tokenfab draws (the report, ``frontier --plot``, ``sensitivity --plot``; the
dashboard follows the same rules in app.js).

Rules: a title (left-aligned, wrapped short enough to stay clear of the Plotly toolbar at the top right), axis titles
with units, legends below the plot area (they wrap instead of being cut), log axes with labelled major ticks only
(:func:`tokenfab.render.format.log_ticks`), Pareto frontiers as points joined by straight lines (as InferenceX draws
them) with the operating point marked, responsive width (no fixed pixel width), and p10-p90 error bands shaded where
the results carry them (a point's ``uncertainty`` {field: {p10, p90}}, or ``<field>_p10`` / ``<field>_p90`` series).

``.png``, ``.svg``, ``.pdf``, ``.jpg`` are drawn with matplotlib (Agg backend, no display needed); ``.html`` with
Plotly, plotly.js inlined so the file opens offline. Both libraries are the optional ``tokenfab[plot]`` extra.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from tokenfab.core.errors import TokenfabError, install_hint
from tokenfab.core.files import check_output_path, json_for_html
from tokenfab.render import format as F

STATIC_EXTENSIONS = (".png", ".svg", ".pdf", ".jpg", ".jpeg")
HTML_EXTENSIONS = (".html", ".htm")
X_LABEL = "interactivity (tokens/s per user)"
Y_LABEL = "total tokens/s per GPU (input + output)"
COST_LABEL = "$ per million tokens (input + output)"
COLORS = ["#2f6fde", "#f79009", "#12b76a", "#9e77ed", "#f04438", "#0ba5ec", "#667085", "#ee46bc", "#84cc16", "#0e9384"]
TITLE_CHARS = 64  # a title line longer than this wraps (it would reach the toolbar on a narrow screen)
# a short toolbar (save, zoom, pan, reset) leaves room for the title at its left
PLOT_CONFIG = {
    "displaylogo": False,
    "responsive": True,
    "modeBarButtonsToRemove": [
        "select2d",
        "lasso2d",
        "zoomIn2d",
        "zoomOut2d",
        "autoScale2d",
        "toggleSpikelines",
        "hoverClosestCartesian",
        "hoverCompareCartesian",
        "hoverClosestPie",
    ],
}
# the title wrapped to each chart's own width on load and on resize (the dashboard's app.js does the same)
FIT_TITLES_JS = """
function tfWrap(text, width) {
  const lines = [];
  for (const w of String(text).split(/\\s+/)) {
    if (lines.length && lines[lines.length - 1].length + 1 + w.length <= width) lines[lines.length - 1] += " " + w;
    else lines.push(w);
  }
  return lines.join("<br>");
}
function tfFitTitle(gd) {
  if (!gd.layout || !gd.layout.title) return;
  if (!gd.dataset.rawTitle) gd.dataset.rawTitle = String(gd.layout.title.text || "").replace(/<br>/g, " ");
  const chars = Math.max(20, Math.min(TITLE_CHARS, Math.floor(((gd.clientWidth || 600) - 170) / 7.4)));
  const t = tfWrap(gd.dataset.rawTitle, chars);
  if (t !== gd.layout.title.text) Plotly.relayout(gd, {"title.text": t, "margin.t": 40 + 22 * t.split("<br>").length});
}
window.addEventListener("resize", () => document.querySelectorAll(".js-plotly-plot").forEach(tfFitTitle));
""".replace("TITLE_CHARS", str(TITLE_CHARS))


def color_of(keys) -> dict:
    """A stable color per key (hardware), in the order given."""
    return {k: COLORS[i % len(COLORS)] for i, k in enumerate(dict.fromkeys(keys))}


def rgba(hex_color: str, alpha: float) -> str:
    h = hex_color.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def wrap_title(text: str, width: int = TITLE_CHARS) -> str:
    """A chart title broken at spaces into lines of at most ``width`` characters (``<br>`` between them)."""
    lines: list[str] = []
    for w in str(text).split():
        if lines and len(lines[-1]) + 1 + len(w) <= width:
            lines[-1] += " " + w
        else:
            lines.append(w)
    return "<br>".join(lines)


def layout(title: str, x_title: str, y_title: str, **kw) -> dict:
    """The base layout of every chart: the title top left (clear of the toolbar), axis titles, the legend under the
    plot area, no fixed width (the chart follows its container)."""
    lines = wrap_title(title).count("<br>") + 1
    lay: dict[str, Any] = {
        "title": {
            "text": wrap_title(title),
            "x": 0.015,
            "xref": "container",
            "xanchor": "left",
            "y": 1,
            "yref": "container",
            "yanchor": "top",
            "pad": {"t": 12},
            "font": {"size": 15},
        },
        "xaxis": {"title": {"text": x_title}, "automargin": True},
        "yaxis": {"title": {"text": y_title}, "automargin": True},
        "margin": {"l": 70, "r": 30, "t": 40 + 22 * lines, "b": 60},
        "legend": {"orientation": "h", "x": 0, "xanchor": "left", "y": -0.18, "yanchor": "top"},
        "template": "plotly_white",
        "height": 440,
        "autosize": True,
        "separators": ".,",
        "hoverlabel": {"namelength": -1},
    }
    for k, v in kw.items():
        if isinstance(v, dict) and isinstance(lay.get(k), dict):
            lay[k] = {**lay[k], **v}
        else:
            lay[k] = v
    return lay


def nice_dtick(top: float, ticks: int = 5) -> float:
    """A tick step of 1, 2 or 5 x 10^k that puts about ``ticks`` ticks between 0 and ``top`` (0.16 MW -> 0.05)."""
    import math

    if not top or top <= 0:
        return 1.0
    raw = top / ticks
    e = 10.0 ** math.floor(math.log10(raw))
    return next(m * e for m in (1, 2, 5, 10) if m * e >= raw)


def log_axis(values, title: str, fn=None) -> dict:
    """A log axis over ``values`` with labelled major ticks only (powers of ten, or 1-2-5 on a short range)."""
    vals = [v for v in values if isinstance(v, int | float) and v > 0]
    if not vals:
        return {"type": "log", "title": {"text": title}}
    ticks, text = F.log_ticks(min(vals), max(vals), fn)
    return {"type": "log", "title": {"text": title}, "tickvals": ticks, "ticktext": text, "automargin": True}


def band_traces(x, lo, hi, color: str, group: str, **axes) -> list[dict]:
    """A shaded p10-p90 band (two traces: the upper edge, then the lower one filled up to it); ``[]`` when a value
    of either edge is missing."""
    if not x or any(v is None for v in list(lo) + list(hi)):
        return []
    edge = {
        "type": "scatter",
        "mode": "lines",
        "line": {"width": 0, "color": color},
        "hoverinfo": "skip",
        "showlegend": False,
        "legendgroup": group,
        **axes,
    }
    return [
        {**edge, "x": list(x), "y": list(hi), "name": f"{group} p90"},
        {
            **edge,
            "x": list(x),
            "y": list(lo),
            "name": f"{group} p10",
            "fill": "tonexty",
            "fillcolor": rgba(color, 0.15),
        },
    ]


def series_bands(monthly: dict, field: str) -> tuple[list | None, list | None]:
    """The p10 and p90 series of ``field`` in a month-by-month dict (``<field>_p10`` / ``<field>_p90``, or an
    ``uncertainty`` {field: {p10: [...], p90: [...]}}), None when the result has none."""
    lo, hi = monthly.get(f"{field}_p10"), monthly.get(f"{field}_p90")
    if lo is None or hi is None:
        u = (monthly.get("uncertainty") or {}).get(field) or {}
        lo, hi = u.get("p10"), u.get("p90")
    if not isinstance(lo, list) or not isinstance(hi, list):
        return None, None
    return lo, hi


def line_with_band(name: str, x, monthly: dict, field: str, color: str, **extra) -> list[dict]:
    """A month-by-month line of ``monthly[field]`` and, when the result carries them, its p10-p90 band."""
    lo, hi = series_bands(monthly, field)
    axes = {k: extra[k] for k in ("xaxis", "yaxis") if k in extra}
    line = {
        "type": "scatter",
        "mode": "lines+markers",
        "name": name,
        "x": list(x),
        "y": monthly[field],
        "line": {"color": color, **extra.pop("line", {})},
        "marker": {"size": 5, "color": color},
        "legendgroup": name,
        **extra,
    }
    return (band_traces(x, lo, hi, color, name, **axes) if lo is not None else []) + [line]


# ---------------------------------------------------------------------------------------------------------------
# the frontier
# ---------------------------------------------------------------------------------------------------------------
def _band_of(p: dict, key: str) -> tuple:
    b = (p.get("uncertainty") or {}).get(key) or {}
    return b.get("p10"), b.get("p90")


def chart_data(result) -> dict:
    """What the frontier charts draw, from a FrontierResult or its ``to_dict()``: one series per (hardware, mode)
    (sorted by interactivity, with the p10/p90 of throughput where the points carry them), one bar per hardware (its
    cheapest mode at the target interactivity, with its p10/p90), the best point and the title."""
    d = result.to_dict() if hasattr(result, "to_dict") else dict(result)
    cal = d.get("calibration") or {}

    def label(hw: str) -> str:  # a chip whose figures rest on a prior says so on the chart too
        return f"{hw} (prior)" if (cal.get(hw) or {}).get("prior") else hw

    series: dict[tuple[str, str], dict] = {}
    for p in d["points"]:
        key = (p["hardware"], p["mode"])
        s = series.setdefault(
            key,
            {
                "hardware": p["hardware"],
                "label": label(p["hardware"]),
                "mode": p["mode"],
                "x": [],
                "y": [],
                "lo": [],
                "hi": [],
                "text": [],
            },
        )
        lo, hi = _band_of(p, "total_tokens_per_s_per_gpu")
        s["x"].append(p["tokens_per_s_per_user"])
        s["y"].append(p["total_tokens_per_s_per_gpu"])
        s["lo"].append(lo)
        s["hi"].append(hi)
        cfg = p.get("config") or {}
        s["text"].append(f"{F.count(cfg.get('gpus'), 'GPU')}, {F.usd(p.get('usd_per_mtok_total'))} per M tokens")
    for s in series.values():
        order = sorted(range(len(s["x"])), key=lambda i: s["x"][i])
        for k in ("x", "y", "lo", "hi", "text"):
            s[k] = [s[k][i] for i in order]
        if any(v is None for v in s["lo"] + s["hi"]):
            s["lo"] = s["hi"] = None
    at = d.get("at_target") or {}
    target = at.get("target_interactivity")
    bars: dict[str, dict] = {}
    for row in at.get("results", []):
        hw = row["hardware"]
        v = row.get("usd_per_mtok_total")
        cur = bars.get(hw)
        if cur is None or (v is not None and (cur["usd_per_mtok_total"] is None or v < cur["usd_per_mtok_total"])):
            lo, hi = _band_of(row, "usd_per_mtok_total")
            bars[hw] = {
                "hardware": hw,
                "label": label(hw),
                "mode": row["mode"],
                "usd_per_mtok_total": v,
                "p10": lo,
                "p90": hi,
            }
    weights = ", ".join(d.get("weights", []))
    title = f"{d.get('model')}: ISL {F.num(d.get('isl'))} / OSL {F.num(d.get('osl'))} tokens, weights {weights}"
    if d.get("sla"):
        title += f", latency at {d['sla']['percentile']}"
    best = d.get("best")
    return {
        "series": list(series.values()),
        "bars": list(bars.values()),
        "target_interactivity": target,
        "title": title,
        "best": {
            "hardware": best["hardware"],
            "mode": best["mode"],
            "x": best["tokens_per_s_per_user"],
            "y": best["total_tokens_per_s_per_gpu"],
        }
        if best
        else None,
        "preset": d.get("preset"),
    }


def pareto_traces(series: list[dict], colors: dict, *, bands: bool = True, **axes) -> list[dict]:
    """One trace per frontier (points joined by straight lines; solid aggregated, dashed disaggregated), each
    preceded by its shaded p10-p90 band when the points carry one."""
    out: list[dict] = []
    for s in series:
        c = colors.get(s["hardware"], "#667085")
        name = f"{s.get('label', s['hardware'])} ({'aggregated' if s['mode'] == 'agg' else 'disaggregated'})"
        if bands and s.get("lo") is not None:
            out += band_traces(s["x"], s["lo"], s["hi"], c, name, **axes)
        out.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": name,
                "legendgroup": name,
                "x": s["x"],
                "y": s["y"],
                "line": {"color": c, "dash": "solid" if s["mode"] == "agg" else "dash", "shape": "linear"},
                "marker": {"size": 6, "color": c},
                "text": s.get("text"),
                "hovertemplate": "%{x:,.1f} tokens/s per user<br>%{y:,.0f} tokens/s per GPU<br>%{text}<extra>"
                + html.escape(name)
                + "</extra>",
                **axes,
            }
        )
    return out


def operating_point_trace(name: str, x: float, y: float, color: str, *, err: dict | None = None, **axes) -> dict:
    """The operating point: a star with a black edge (and p10-p90 error bars when given: {x: (lo, hi), y: (lo, hi)})."""
    t = {
        "type": "scatter",
        "mode": "markers",
        "name": name,
        "x": [x],
        "y": [y],
        "marker": {"color": color, "size": 15, "symbol": "star", "line": {"color": "#101828", "width": 1}},
        "hovertemplate": "%{x:,.1f} tokens/s per user<br>%{y:,.0f} tokens/s per GPU<extra>"
        + html.escape(name)
        + "</extra>",
        **axes,
    }
    for ax in ("x", "y"):
        lo, hi = (err or {}).get(ax, (None, None))
        if lo is not None and hi is not None:
            t[f"error_{ax}"] = {
                "type": "data",
                "symmetric": False,
                "array": [max(0.0, hi - (x if ax == "x" else y))],
                "arrayminus": [max(0.0, (x if ax == "x" else y) - lo)],
                "color": color,
                "thickness": 1,
            }
    return t


def frontier_figures(data: dict) -> dict[str, dict]:
    """The two frontier charts (Plotly figure dicts): the Pareto curves with their bands and the best point, and the
    cost at the target interactivity per hardware with its p10-p90 range."""
    colors = color_of(s["hardware"] for s in data["series"])
    traces = pareto_traces(data["series"], colors)
    xs = [v for s in data["series"] for v in s["x"]]
    b = data.get("best")
    if b:
        traces.append(
            operating_point_trace(
                f"best: {b['hardware']} ({b['mode']})", b["x"], b["y"], colors.get(b["hardware"], "#667085")
            )
        )
    U = data.get("target_interactivity")
    shapes, notes = [], []
    if U:
        shapes.append(
            {
                "type": "line",
                "xref": "x",
                "yref": "paper",
                "x0": U,
                "x1": U,
                "y0": 0,
                "y1": 1,
                "line": {"color": "#b42318", "dash": "dot", "width": 1.5},
            }
        )
        notes.append(
            {
                "xref": "x",
                "yref": "paper",
                "x": _log10(U),
                "y": 1,
                "yanchor": "bottom",
                "showarrow": False,
                "text": f"target {F.num(U)} tokens/s per user",
                "font": {"color": "#b42318", "size": 11},
            }
        )
    pareto = {
        "data": traces,
        "layout": layout(
            f"Pareto frontier per hardware: {data['title']}",
            "interactivity (tokens/s per user, log scale)",
            Y_LABEL,
            xaxis=log_axis(xs, "interactivity (tokens/s per user, log scale)"),
            yaxis={"rangemode": "tozero"},
            shapes=shapes,
            annotations=notes,
            height=500,
        ),
    }
    bars = data["bars"]
    err = [(b["p10"], b["p90"], b["usd_per_mtok_total"]) for b in bars]
    has_err = bars and all(lo is not None and hi is not None and v is not None for lo, hi, v in err)
    bar = {
        "type": "bar",
        "x": [b.get("label", b["hardware"]) for b in bars],
        "y": [b["usd_per_mtok_total"] or 0.0 for b in bars],
        "marker": {"color": [colors.get(b["hardware"], "#667085") for b in bars]},
        "showlegend": False,
        "text": [
            f"{F.usd(b['usd_per_mtok_total'])} ({b['mode']})" if b["usd_per_mtok_total"] is not None else "not reached"
            for b in bars
        ],
        "textposition": "outside",
        "cliponaxis": False,
        "hovertemplate": "%{x}: $%{y:.3f} per M tokens<extra></extra>",
    }
    if has_err:
        bar["error_y"] = {
            "type": "data",
            "symmetric": False,
            "array": [max(0.0, hi - v) for lo, hi, v in err],
            "arrayminus": [max(0.0, v - lo) for lo, hi, v in err],
            "color": "#344054",
            "thickness": 1.2,
        }
    cost = {
        "data": [bar],
        "layout": layout(
            (f"Cost at {F.num(U)} tokens/s per user" if U else "Cost per million tokens")
            + (" (bars: p10 - p90)" if has_err else "")
            + (f", TCO {data['preset']}" if data.get("preset") else ""),
            "hardware",
            COST_LABEL,
            yaxis={"rangemode": "tozero"},
            height=420,
        ),
    }
    return {"chart-frontier": pareto, "chart-frontier-cost": cost}


def _log10(v: float) -> float:
    import math

    return math.log10(v) if v and v > 0 else 0.0


def _check_path(path) -> Path:
    return check_output_path(path, field="plot", suffixes=STATIC_EXTENSIONS + HTML_EXTENSIONS, kind="a chart file path")


def plot_frontier(result, path) -> Path:
    """Write the frontier charts to ``path`` (format from the extension). Returns the path."""
    p = _check_path(path)
    data = chart_data(result)
    if not data["series"]:
        raise TokenfabError("nothing to plot: the frontier is empty", field="plot")
    if p.suffix.lower() in HTML_EXTENSIONS:
        write_html_page(p, f"tokenfab frontier: {data['title']}", frontier_figures(data))
    else:
        _matplotlib(data, p)
    return p


# ---------------------------------------------------------------------------------------------------------------
# the tornado
# ---------------------------------------------------------------------------------------------------------------
def tornado_figure(t: dict, *, title: str | None = None) -> dict:
    """One horizontal bar per input from its low-input cost to its high-input cost around the base (largest swing
    at the top), each named in words with its low and high values (tokenfab.economics.sensitivity's bars)."""
    bars = list(reversed(t["bars"]))  # Plotly draws the first category at the bottom
    base = t["base_usd_per_mtok"]
    sw = t["swing_pct"]

    def name(b):
        return f"{b.get('label') or F.label(b['input'])} ({_val(b['low_value'])} to {_val(b['high_value'])})"

    def trace(key, label, color):
        vals = [b[key] for b in bars]
        return {
            "type": "bar",
            "orientation": "h",
            "name": label,
            "y": [name(b) for b in bars],
            "x": [v - base for v in vals],
            "base": [base] * len(vals),
            "marker": {"color": color},
            "customdata": [F.usd(v) for v in vals],
            "hovertemplate": "%{y}<br>%{customdata} per M tokens<extra>" + label + "</extra>",
        }

    return {
        "data": [
            trace("usd_per_mtok_low", f"input -{F.num(sw)}%", "#2f6fde"),
            trace("usd_per_mtok_high", f"input +{F.num(sw)}%", "#f04438"),
        ],
        "layout": layout(
            title
            or f"What moves the cost: $ per M tokens on {t['hardware']} with each input -/+{F.num(sw)}% "
            f"(base {F.usd(base)})",
            COST_LABEL,
            "input (each moved alone)",
            barmode="overlay",
            yaxis={"automargin": True, "title": {"text": "input (each moved alone)"}},
            shapes=[
                {
                    "type": "line",
                    "x0": base,
                    "x1": base,
                    "yref": "paper",
                    "y0": 0,
                    "y1": 1,
                    "line": {"color": "#101828", "dash": "dot"},
                }
            ],
            height=max(360, 34 * len(bars) + 160),
        ),
    }


def _val(x) -> str:
    if x is None:
        return F.DASH
    return F.num(x) if abs(x) >= 1 or x == 0 else f"{x:.4f}".rstrip("0").rstrip(".")


def monte_carlo_figure(mc: dict) -> dict:
    """The histogram of $ per M tokens over the Monte Carlo draws, p5 / p50 / p95 (and the price) marked."""
    h = mc["histogram"]
    edges = h["edges_usd_per_mtok"]
    mids = [(a + b) / 2 for a, b in zip(edges[:-1], edges[1:], strict=True)]
    widths = [b - a for a, b in zip(edges[:-1], edges[1:], strict=True)]
    shapes, notes = [], []
    marks = dict(mc["percentiles_usd_per_mtok"])
    if mc.get("price_usd_per_mtok") is not None:
        marks["price"] = mc["price_usd_per_mtok"]
    for k, v in marks.items():
        c = "#f04438" if k == "price" else "#667085"
        shapes.append(
            {
                "type": "line",
                "x0": v,
                "x1": v,
                "yref": "paper",
                "y0": 0,
                "y1": 1,
                "line": {"color": c, "dash": "dash" if k == "price" else "dot"},
            }
        )
        notes.append(
            {
                "x": v,
                "yref": "paper",
                "y": 1,
                "yanchor": "bottom",
                "showarrow": False,
                "text": f"{k} {F.usd(v)}",
                "font": {"size": 11, "color": c},
            }
        )
    return {
        "data": [
            {
                "type": "bar",
                "x": mids,
                "y": h["counts"],
                "width": widths,
                "marker": {"color": "#2f6fde"},
                "name": "draws",
                "showlegend": False,
                "hovertemplate": "$%{x:.3f} per M tokens: %{y:,} draws<extra></extra>",
            }
        ],
        "layout": layout(
            f"Monte Carlo: {F.num(mc['n'])} draws (seed {mc['seed']})",
            COST_LABEL,
            "draws",
            shapes=shapes,
            annotations=notes,
            bargap=0.02,
        ),
    }


# ---------------------------------------------------------------------------------------------------------------
# files
# ---------------------------------------------------------------------------------------------------------------
PAGE_CSS = (
    "body{font-family:system-ui,-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;margin:0;background:#f6f7f9;"
    "color:#1d2430}main{max-width:1400px;margin:auto;padding:16px}h1{font-size:18px;margin:4px 0 12px}"
    ".chart{background:#fff;border:1px solid #e3e6eb;border-radius:10px;margin:12px 0;padding:0;min-width:0;"
    "overflow:hidden}"
)


def plot_script(figs: dict[str, dict]) -> str:
    """The script that draws ``figs`` ({element id: figure}) with Plotly (the figures as escaped JSON)."""
    return (
        f"const FIGS = {json_for_html(figs)};\n"
        "for (const [id, fig] of Object.entries(FIGS)) {\n"
        "  const el = document.getElementById(id);\n"
        # the box keeps the chart's height: a responsive (autosize) redraw takes the height from the box, and an
        # empty grid cell would collapse it to a sliver
        "  if (el && fig.layout && fig.layout.height) el.style.height = fig.layout.height + 'px';\n"
        f"  if (el) Plotly.newPlot(el, fig.data, fig.layout, {json_for_html(PLOT_CONFIG)}).then(tfFitTitle);\n"
        "}\n" + FIT_TITLES_JS
    )


def write_html_page(path: Path, title: str, figs: dict[str, dict]) -> None:
    """One self-contained HTML page of charts, one under the other at the page's width (plotly.js inlined)."""
    try:
        from plotly.offline import get_plotlyjs
    except ImportError:  # pragma: no cover - optional dependency
        raise TokenfabError("plotly is needed for HTML charts", field="plot", hint=install_hint("plot")) from None
    divs = "".join(f'<div class="chart" id="{html.escape(k)}"></div>' for k in figs)
    path.write_text(
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{html.escape(title)}</title><style>{PAGE_CSS}</style>"
        f"<script>{get_plotlyjs()}</script></head><body><main><h1>{html.escape(title)}</h1>{divs}</main>"
        f"<script>{plot_script(figs)}</script></body></html>",
        encoding="utf-8",
    )


def _matplotlib(data: dict, path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import FixedLocator, NullFormatter, NullLocator
    except ImportError:  # pragma: no cover - optional dependency
        raise TokenfabError("matplotlib is needed for static charts", field="plot", hint=install_hint("plot")) from None
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(15, 6.5), gridspec_kw={"width_ratios": [3, 2]})
    color = color_of(s["hardware"] for s in data["series"])
    for s in data["series"]:
        c = color[s["hardware"]]
        if s.get("lo") is not None:
            ax.fill_between(s["x"], s["lo"], s["hi"], color=c, alpha=0.15, linewidth=0)
        ax.plot(
            s["x"],
            s["y"],
            "-" if s["mode"] == "agg" else "--",
            marker="o" if s["mode"] == "agg" else "s",
            markersize=4,
            color=c,
            label=f"{s['hardware']} ({'aggregated' if s['mode'] == 'agg' else 'disaggregated'})",
        )
    b = data.get("best")
    if b:
        ax.plot(
            [b["x"]],
            [b["y"]],
            marker="*",
            markersize=16,
            color=color.get(b["hardware"], "grey"),
            markeredgecolor="black",
            linestyle="none",
            label=f"best: {b['hardware']} ({b['mode']})",
        )
    ax.set_xscale("log")
    xs = [v for s in data["series"] for v in s["x"]]
    ticks, labels = F.log_ticks(min(xs), max(xs))
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.set_xticks(ticks, labels)
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: F.tick(v)))
    U = data["target_interactivity"]
    if U:
        ax.axvline(U, color="#b42318", linestyle=":", linewidth=1)
        ax.annotate(
            f"target {F.num(U)} tokens/s per user",
            (U, 1),
            xycoords=("data", "axes fraction"),
            textcoords="offset points",
            xytext=(4, -12),
            fontsize=8,
            color="#b42318",
        )
    ax.set_xlabel("interactivity (tokens/s per user, log scale)")
    ax.set_ylabel(Y_LABEL)
    ax.set_ylim(bottom=0)
    ax.set_title(
        wrap_title(f"Pareto frontier per hardware: {data['title']}", 80).replace("<br>", "\n"), fontsize=10, loc="left"
    )
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=3, frameon=False)
    bars = data["bars"]
    names = [b["hardware"] for b in bars]
    vals = [b["usd_per_mtok_total"] if b["usd_per_mtok_total"] is not None else 0.0 for b in bars]
    errs = None
    if bars and all(b["p10"] is not None and b["p90"] is not None and b["usd_per_mtok_total"] for b in bars):
        errs = [
            [v - b["p10"] for v, b in zip(vals, bars, strict=True)],
            [b["p90"] - v for v, b in zip(vals, bars, strict=True)],
        ]
    rects = bx.bar(names, vals, color=[color.get(n, "grey") for n in names], yerr=errs, capsize=4)
    for r, b in zip(rects, bars, strict=True):
        txt = f"{F.usd(b['usd_per_mtok_total'])} ({b['mode']})" if b["usd_per_mtok_total"] is not None else "n/a"
        bx.annotate(
            txt,
            (r.get_x() + r.get_width() / 2, r.get_height()),
            ha="center",
            va="bottom",
            fontsize=8,
            xytext=(0, 2),
            textcoords="offset points",
        )
    bx.set_ylabel(COST_LABEL)
    bx.set_xlabel("hardware")
    bx.set_title(
        (f"Cost at {F.num(U)} tokens/s per user" if U else "Cost") + (" (p10 - p90)" if errs else ""),
        fontsize=10,
        loc="left",
    )
    bx.tick_params(axis="x", rotation=30)
    bx.grid(True, axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


__all__ = [
    "COLORS",
    "HTML_EXTENSIONS",
    "PLOT_CONFIG",
    "STATIC_EXTENSIONS",
    "band_traces",
    "chart_data",
    "color_of",
    "frontier_figures",
    "layout",
    "line_with_band",
    "log_axis",
    "monte_carlo_figure",
    "operating_point_trace",
    "pareto_traces",
    "plot_frontier",
    "plot_script",
    "series_bands",
    "tornado_figure",
    "wrap_title",
    "write_html_page",
]
