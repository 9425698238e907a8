"""Frontier charts: one Pareto curve per hardware (and serving mode) of total tokens/s per GPU against tokens/s per
user, and a second panel of $ per million tokens at a target interactivity per hardware.

``.png``, ``.svg``, ``.pdf``, ``.jpg`` are drawn with matplotlib (Agg backend, no display needed); ``.html`` with
Plotly, plotly.js inlined so the file opens offline. Both libraries are the optional ``tokenfab[plot]`` extra.
"""

from __future__ import annotations

from pathlib import Path

from tokenfab.core.errors import TokenfabError, install_hint
from tokenfab.core.files import check_output_path

STATIC_EXTENSIONS = (".png", ".svg", ".pdf", ".jpg", ".jpeg")
HTML_EXTENSIONS = (".html", ".htm")
X_LABEL = "interactivity (tokens/s per user)"
Y_LABEL = "total tokens/s per GPU (input + output)"
COST_LABEL = "$ per million tokens (input + output)"


def chart_data(result) -> dict:
    """What the charts draw, from a FrontierResult or its ``to_dict()``: one series per (hardware, mode) and one bar
    per hardware (its cheapest mode at the target interactivity)."""
    d = result.to_dict() if hasattr(result, "to_dict") else dict(result)
    series: dict[tuple[str, str], dict] = {}
    for p in d["points"]:
        key = (p["hardware"], p["mode"])
        s = series.setdefault(key, {"hardware": p["hardware"], "mode": p["mode"], "x": [], "y": []})
        s["x"].append(p["tokens_per_s_per_user"])
        s["y"].append(p["total_tokens_per_s_per_gpu"])
    for s in series.values():
        order = sorted(range(len(s["x"])), key=lambda i: s["x"][i])
        s["x"] = [s["x"][i] for i in order]
        s["y"] = [s["y"][i] for i in order]
    at = d.get("at_target") or {}
    target = at.get("target_interactivity")
    bars: dict[str, dict] = {}
    for row in at.get("results", []):
        hw = row["hardware"]
        v = row.get("usd_per_mtok_total")
        cur = bars.get(hw)
        if cur is None or (v is not None and (cur["usd_per_mtok_total"] is None or v < cur["usd_per_mtok_total"])):
            bars[hw] = {"hardware": hw, "mode": row["mode"], "usd_per_mtok_total": v}
    title = (
        f"{d.get('model')} - ISL {d.get('isl')} / OSL {d.get('osl')} - weights {', '.join(d.get('weights', []))}"
        + (f" - SLA {d['sla']['percentile']}" if d.get("sla") else "")
    )
    return {
        "series": list(series.values()),
        "bars": list(bars.values()),
        "target_interactivity": target,
        "title": title,
    }


def _check_path(path) -> Path:
    return check_output_path(path, field="plot", suffixes=STATIC_EXTENSIONS + HTML_EXTENSIONS, kind="a chart file path")


def plot_frontier(result, path) -> Path:
    """Write the two-panel frontier chart to ``path`` (format from the extension). Returns the path."""
    p = _check_path(path)
    data = chart_data(result)
    if not data["series"]:
        raise TokenfabError("nothing to plot: the frontier is empty", field="plot")
    if p.suffix.lower() in HTML_EXTENSIONS:
        _plotly(data, p)
    else:
        _matplotlib(data, p)
    return p


def _matplotlib(data: dict, path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover - optional dependency
        raise TokenfabError("matplotlib is needed for static charts", field="plot", hint=install_hint("plot")) from None
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(15, 6), gridspec_kw={"width_ratios": [3, 2]})
    hws = sorted({s["hardware"] for s in data["series"]})
    cmap = plt.get_cmap("tab10" if len(hws) <= 10 else "tab20")
    color = {h: cmap(i % cmap.N) for i, h in enumerate(hws)}
    for s in data["series"]:
        style = "-" if s["mode"] == "agg" else "--"
        marker = "o" if s["mode"] == "agg" else "s"
        ax.plot(
            s["x"],
            s["y"],
            style,
            marker=marker,
            markersize=4,
            color=color[s["hardware"]],
            label=f"{s['hardware']} ({s['mode']})",
        )
    U = data["target_interactivity"]
    if U:
        ax.axvline(U, color="grey", linestyle=":", linewidth=1)
        ax.annotate(
            f"target {U:g} tok/s/user",
            (U, ax.get_ylim()[1]),
            textcoords="offset points",
            xytext=(4, -12),
            fontsize=8,
            color="grey",
        )
    ax.set_xlabel(X_LABEL)
    ax.set_ylabel(Y_LABEL)
    ax.set_title("Pareto frontier per hardware (solid: aggregated, dashed: disaggregated)", fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="upper right")
    bars = [b for b in data["bars"]]
    names = [b["hardware"] for b in bars]
    vals = [b["usd_per_mtok_total"] if b["usd_per_mtok_total"] is not None else 0.0 for b in bars]
    rects = bx.bar(names, vals, color=[color.get(n, "grey") for n in names])
    for r, b in zip(rects, bars):
        txt = f"${b['usd_per_mtok_total']:.3g} ({b['mode']})" if b["usd_per_mtok_total"] is not None else "n/a"
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
    bx.set_title(f"cost at {U:g} tokens/s per user (n/a: not reachable or not priced)" if U else "cost", fontsize=10)
    bx.tick_params(axis="x", rotation=45)
    bx.grid(True, axis="y", alpha=0.3)
    fig.suptitle(data["title"], fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _plotly(data: dict, path: Path) -> None:
    try:
        import plotly.graph_objects as go
        from plotly.colors import qualitative
        from plotly.subplots import make_subplots
    except ImportError:  # pragma: no cover - optional dependency
        raise TokenfabError("plotly is needed for HTML charts", field="plot", hint=install_hint("plot")) from None
    U = data["target_interactivity"]
    fig = make_subplots(
        rows=1,
        cols=2,
        column_widths=[0.6, 0.4],
        subplot_titles=(
            "Pareto frontier per hardware (solid: aggregated, dashed: disaggregated)",
            f"$ per million tokens at {U:g} tokens/s per user" if U else "$ per million tokens",
        ),
    )
    hws = sorted({s["hardware"] for s in data["series"]})
    palette = qualitative.Plotly + qualitative.D3
    color = {h: palette[i % len(palette)] for i, h in enumerate(hws)}
    for s in data["series"]:
        fig.add_trace(
            go.Scatter(
                x=s["x"],
                y=s["y"],
                mode="lines+markers",
                name=f"{s['hardware']} ({s['mode']})",
                line={"color": color[s["hardware"]], "dash": "solid" if s["mode"] == "agg" else "dash"},
                hovertemplate="%{x:.1f} tok/s/user<br>%{y:,.0f} tok/s/GPU<extra>"
                + f"{s['hardware']} {s['mode']}</extra>",
            ),
            row=1,
            col=1,
        )
    if U:
        fig.add_vline(x=U, line_dash="dot", line_color="grey", row=1, col=1)
    bars = data["bars"]
    fig.add_trace(
        go.Bar(
            x=[b["hardware"] for b in bars],
            y=[b["usd_per_mtok_total"] or 0.0 for b in bars],
            showlegend=False,
            marker_color=[color.get(b["hardware"], "grey") for b in bars],
            text=[
                f"${b['usd_per_mtok_total']:.3g} ({b['mode']})" if b["usd_per_mtok_total"] is not None else "n/a"
                for b in bars
            ],
            textposition="outside",
        ),
        row=1,
        col=2,
    )
    fig.update_xaxes(title_text=X_LABEL, row=1, col=1)
    fig.update_yaxes(title_text=Y_LABEL, row=1, col=1)
    fig.update_xaxes(title_text="hardware", row=1, col=2)
    fig.update_yaxes(title_text=COST_LABEL, row=1, col=2)
    fig.update_layout(title=data["title"], width=1400, height=600, template="plotly_white")
    fig.write_html(str(path), include_plotlyjs=True, full_html=True)


__all__ = ["HTML_EXTENSIONS", "STATIC_EXTENSIONS", "chart_data", "plot_frontier"]
