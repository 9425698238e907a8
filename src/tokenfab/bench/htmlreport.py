"""``tokenfab bench-report --html FILE``: one self-contained HTML page (Plotly, works offline).

Charts: TTFT and TPOT distributions per level (histograms of the successful requests), throughput per GPU against
interactivity per level, latency percentiles per level, and measured against the performance model when a
comparison was made. Plotly's JavaScript is embedded once, so the file opens without a network. Needs the optional
``plotly`` package (``pip install 'tokenfab[plot]'``).
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tokenfab.bench.records import group_by_level
from tokenfab.core.errors import TokenfabError

MAX_POINTS_PER_HISTOGRAM = 200_000


def _plotly() -> tuple[Any, Any]:  # (plotly.graph_objects, plotly.io): plotly ships no types
    try:
        import plotly.graph_objects as go
        import plotly.io as pio
    except ImportError:
        raise TokenfabError(
            "needs the optional 'plotly' package", field="--html", hint="pip install 'tokenfab[plot]'"
        ) from None
    return go, pio


def _label(run: Mapping) -> str:
    return str(run.get("level") or run.get("concurrency") or run.get("rate"))


def figures(records: Sequence[Mapping], doc: Mapping) -> list:
    """The report's Plotly figures, from the records and the bench-report document (runs, points, comparison)."""
    go, _ = _plotly()
    runs, points = doc.get("runs") or [], doc.get("points") or []
    groups = list(group_by_level(records).values())
    figs = []
    for key, title in (
        ("ttft_ms", "TTFT distribution per level (ms)"),
        ("tpot_ms", "TPOT distribution per level (ms)"),
    ):
        f = go.Figure()
        for run, recs in zip(runs, groups, strict=True):  # report.build_runs: one run per level group, same order
            vals = [r[key] for r in recs if r.get("status") == "ok" and r.get(key) is not None]
            f.add_trace(go.Histogram(x=vals[:MAX_POINTS_PER_HISTOGRAM], name=_label(run), opacity=0.6))
        f.update_layout(title=title, barmode="overlay", xaxis_title=key, yaxis_title="requests")
        figs.append(f)
    f = go.Figure()
    for key in ("ttft_ms_p50", "ttft_ms_p99", "e2el_ms_p50"):
        f.add_trace(
            go.Scatter(x=[_label(r) for r in runs], y=[r.get(key) for r in runs], mode="lines+markers", name=key)
        )
    f.update_layout(title="Latency percentiles per level (ms)", xaxis_title="level", yaxis_title="ms")
    figs.append(f)
    if points:
        f = go.Figure(
            go.Scatter(
                x=[p.get("tokens_per_s_per_user") for p in points],
                y=[p.get("total_tokens_per_s_per_gpu") for p in points],
                mode="lines+markers+text",
                text=[_label(p) for p in points],
                textposition="top center",
                name="measured",
            )
        )
        f.update_layout(
            title="Throughput per GPU against interactivity (measured)",
            xaxis_title="tokens/s per user (1000 / median TPOT)",
            yaxis_title="total tokens/s per GPU",
        )
        figs.append(f)
    comparison = doc.get("comparison") or []
    if comparison:
        metrics = sorted({k for row in comparison for k, v in row.items() if isinstance(v, dict)})
        for m in metrics:
            xs = [_label(p) for p in points]
            meas = [(row.get(m) or {}).get("measured") for row in comparison]
            pred = [(row.get(m) or {}).get("predicted") for row in comparison]
            f = go.Figure([go.Bar(x=xs, y=meas, name="measured"), go.Bar(x=xs, y=pred, name="model")])
            f.update_layout(title=f"Measured vs model: {m}", barmode="group", xaxis_title="level", yaxis_title=m)
            figs.append(f)
    return figs


def write_html(path: str | Path, records: Sequence[Mapping], doc: Mapping, title: str) -> Path:
    """Write the report page; returns its path."""
    _, pio = _plotly()
    figs = figures(records, doc)
    parts = [pio.to_html(fig, include_plotlyjs=(i == 0), full_html=False) for i, fig in enumerate(figs)]
    runs = doc.get("runs") or []
    rows = "".join(
        "<tr>"
        + "".join(
            f"<td>{html.escape(str(v))}</td>"
            for v in (
                _label(r),
                r.get("requests_ok"),
                r.get("requests_failed"),
                _f(r.get("ttft_ms_p50")),
                _f(r.get("ttft_ms_p99")),
                _f(r.get("tpot_ms_p50")),
                _f(r.get("output_tokens_per_s")),
            )
        )
        + "</tr>"
        for r in runs
    )
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><table><tr><th>level</th><th>ok</th><th>failed</th><th>TTFT p50 ms</th>"
        f"<th>TTFT p99 ms</th><th>TPOT p50 ms</th><th>output tok/s</th></tr>{rows}</table>"
        + "".join(f"<div>{p}</div>" for p in parts)
        + "<p>Definitions: docs/metrics.md (vLLM's benchmark definitions). Generated by tokenfab bench-report."
        "</p></body></html>"
    )
    p = Path(path)
    p.write_text(page, encoding="utf-8")
    return p


def _f(v: float | None) -> str:
    return "-" if v is None else f"{v:,.2f}"
