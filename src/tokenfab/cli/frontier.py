"""``tokenfab frontier``: the Pareto frontier of a model over hardware types (a thin layer over tokenfab.search)."""

from __future__ import annotations

import typer

from tokenfab import api
from tokenfab.api import explain as X
from tokenfab.cli import _search_opts as O
from tokenfab.cli._search_opts import (
    CalibrationOpt,
    E2elOpt,
    GpusOpt,
    HardwareFileOpt,
    HardwareOpt,
    IslOpt,
    JsonOpt,
    ModelOpt,
    ModeOpt,
    NoMtpOpt,
    OslOpt,
    PercentileOpt,
    PresetOpt,
    TpotOpt,
    TtftOpt,
    UsdPerGpuHourOpt,
    WeightsOpt,
    mtp_text,
)
from tokenfab.cli._search_opts import fmt as _f
from tokenfab.cli.common import console, err_console, lit, print_header, print_json, working
from tokenfab.cli.tco import tco_flags
from tokenfab.perf.queueing import DEFAULT_PERCENTILE
from tokenfab.render import format as F
from tokenfab.search import layout_text

SHORT = {
    "tok/s/user": "tok/s\n/user",
    "tok/s/GPU": "tok/s\n/GPU",
    "TPOT ms": "TPOT\nms",
    "$/M total": "$/M\ntotal",
    "$/M in": "$/M\nin",
    "$/M out": "$/M\nout",
    "tok/s per MW": "tok/s\nper MW",
    "out tok/s/GPU": "out tok\n/s/GPU",
}
# columns dropped, in this order, while a table is wider than the terminal (named under the table; --wide, --json)
POINT_DROP = ("out tok/s/GPU", "$/M out", "weights/KV", "tok/s per MW", O.SHORT_HEADERS, "mode", "MTP")
TIER_DROP = ("$/M in", "$/M out", O.SHORT_HEADERS, "mode")
TARGET_DROP = ("$/M in", "$/M out", "tok/s per MW", O.SHORT_HEADERS, "note", "$/M p10-p90")


def _point_row(p: dict) -> list[str]:
    cfg = p["config"]
    return [
        p["mode"],
        str(cfg["gpus"]),
        layout_text(cfg),
        f"{cfg['weights']}/{cfg['kv']}",
        f"{cfg['concurrency']:,}",
        mtp_text(cfg),
        _f(p["tokens_per_s_per_user"]),
        _f(p["total_tokens_per_s_per_gpu"], ",.0f"),
        _f(p["output_tokens_per_s_per_gpu"], ",.0f"),
        _f(p["ttft_ms"]),
        _f(p["tpot_ms"]),
        _f(p["usd_per_mtok_total"]),
        _f(p["usd_per_mtok_output"]),
        F.si(p["tokens_per_s_per_mw"], none="-"),
    ]


def render(d: dict, *, given: dict | None = None, wide: bool = False) -> None:
    """The frontier as tables: the header line (every setting, defaults marked), one Pareto table per hardware, the
    token tiers, the cost at the target interactivity, the best point, then the notes."""
    given = given or {}
    pct = d["sla"]["percentile"]
    hw_costs = d.get("hardware") or {}
    print_header(X.frontier_header(d, given=given))
    short = {**SHORT, f"TTFT {pct} ms": f"TTFT\n{pct} ms", f"TPOT {pct} ms": f"TPOT\n{pct} ms"}
    cols = [
        "mode",
        "GPUs",
        "layout",
        "weights/KV",
        "conc",
        "MTP",
        "tok/s/user",
        "tok/s/GPU",
        "out tok/s/GPU",
        f"TTFT {pct} ms",
        f"TPOT {pct} ms",
        "$/M total",
        "$/M out",
        "tok/s per MW",
    ]
    # one weight precision: the header names it, so its column goes first on a narrow terminal
    drop = POINT_DROP if len(d["weights"]) == 1 else tuple(c for c in POINT_DROP if c != "weights/KV")
    # each mode has its own frontier (an agg point may be dominated by a disagg one): with several modes the mode
    # column stays, or the table would read as one frontier with dominated points in it
    several_modes = len({p["mode"] for p in d["points"]}) > 1
    if several_modes:
        drop = tuple(c for c in drop if c != "mode")
    by_hw: dict[str, list[dict]] = {}
    for p in d["points"]:
        by_hw.setdefault(p["hardware"], []).append(p)
    for hw, pts in by_hw.items():
        cost = (hw_costs.get(hw) or {}).get("cost") or {}
        usd = cost.get("usd_per_gpu_hour")
        rows = [_point_row(p) for p in sorted(pts, key=lambda p: (p["mode"], p["tokens_per_s_per_user"]))]
        O.show(
            console,
            O.fitted_table(
                console,
                f"{O.hardware_cell(hw, bool((d.get('calibration') or {}).get(hw, {}).get('prior')))}: "
                + ("Pareto frontier of each mode " if several_modes else "Pareto frontier ")
                + f"({F.count(len(pts), 'point')}; "
                f"{F.usd(usd) + ' per busy GPU-hour' if usd is not None else 'no cost'})",
                cols,
                rows,
                left=("mode", "layout", "weights/KV"),
                drop=drop,
                short=short,
                wide=wide,
            ),
        )
    tiers = d["tiers"]
    rows = []
    for name in ("bulk", "goldilocks", "premium", "fastest"):
        p = tiers.get(name)
        if not p:
            rows.append([name, tiers.get(f"{name}_note", "none"), "", "", "", "", "", "", "", "", ""])
            continue
        rows.append(
            [
                name,
                O.hardware_cell(p["hardware"], bool(p.get("prior"))),  # a prior chip says so in every table
                p["mode"],
                str(p["config"]["gpus"]),
                layout_text(p["config"]),
                _f(p["tokens_per_s_per_user"]),
                _f(p["total_tokens_per_s_per_gpu"], ",.0f"),
                _f(p["usd_per_mtok_total"]),
                O.band_text((p.get("uncertainty") or {}).get("usd_per_mtok_total"), ",.3f"),
                _f(p["usd_per_mtok_input"]),
                _f(p["usd_per_mtok_output"]),
            ]
        )
    O.show(
        console,
        O.fitted_table(
            console,
            "token tiers: the cheapest point per speed band (goldilocks >= "
            f"{F.num(tiers['goldilocks_interactivity'])}, "
            f"premium >= {F.num(tiers.get('premium_interactivity', 0))} tok/s/user at the TPOT {pct}; fastest = one "
            "request at a time; $/M in and out split by GPU time)",
            (
                "tier",
                "hardware",
                "mode",
                "GPUs",
                "layout",
                "tok/s/user",
                "tok/s/GPU",
                "$/M total",
                "$/M p10-p90",
                "$/M in",
                "$/M out",
            ),
            rows,
            left=("tier", "hardware", "mode", "layout"),
            drop=TIER_DROP,
            short=short,
            wide=wide,
        ),
    )
    at = d["at_target"]
    rows = []
    for r in at["results"]:
        rows.append(
            [
                r["hardware"],
                r["mode"],
                _f(r.get("total_tokens_per_s_per_gpu"), ",.0f"),
                _f(r.get("usd_per_mtok_total")),
                O.band_text((r.get("uncertainty") or {}).get("usd_per_mtok_total"), ",.3f"),
                _f(r.get("usd_per_mtok_input")),
                _f(r.get("usd_per_mtok_output")),
                F.si(r.get("tokens_per_s_per_mw"), none="-"),
                r.get("note", ""),
            ]
        )
    O.show(
        console,
        O.fitted_table(
            console,
            f"at {F.num(at['target_interactivity'])} tokens/s per user (read off each frontier: {at['method']})",
            ("hardware", "mode", "tok/s/GPU", "$/M total", "$/M p10-p90", "$/M in", "$/M out", "tok/s per MW", "note"),
            rows,
            left=("hardware", "mode", "note"),
            drop=TARGET_DROP,
            short=short,
            wrap=("note", "hardware"),
            wide=wide,
        ),
    )
    b = d.get("best")
    if b:
        console.print(
            lit("best", "bold")
            + lit(
                f" ({F.humanize(b['criterion'])}): {b['hardware']} {b['mode']} {F.count(b['config']['gpus'], 'GPU')} "
                f"{layout_text(b['config'])}, {_f(b['tokens_per_s_per_user'])} tok/s/user, "
                f"{_f(b['total_tokens_per_s_per_gpu'], ',.0f')} tok/s/GPU, "
                f"{F.usd(b['usd_per_mtok_total'])} per M tokens"
                f" (p10-p90 {O.band_text((b.get('uncertainty') or {}).get('usd_per_mtok_total'), ',.3f')})"
            ),
            highlight=False,
        )
    O.print_footer(console, d)
    O.print_caveats(
        console,
        {**d, "tie": (b or {}).get("tie")},
        f"the best point ({b['hardware']} {b['mode']})" if b else "the best point",
    )
    console.print(
        lit(
            f"TTFT at {pct} under Poisson arrivals at each point's load (M/D/c prefill queue); tok/s/GPU "
            "counts input + output tokens over all GPUs (prefill + decode when disaggregated); $/M = $ per busy "
            "GPU-hour (TCO: wall-clock / utilization) / tokens per GPU-hour, a capacity price at the TCO's "
            "utilization (recommend bills a fleet for a demand instead); $/M in / out: the prefill share of the GPU "
            "time charged to input tokens, the rest to output tokens (they add up to $/M total; InferenceX's "
            "whole-GPU-hour values are in --json); tok/s per MW: all-in facility power.",
            "dim",
        ),
        highlight=False,
    )
    console.print(lit(O.terms_note("layouts", "MTP"), "dim"), highlight=False)


def register(app: typer.Typer) -> None:
    @app.command("frontier")
    @tco_flags
    def frontier_cmd(
        model: ModelOpt,
        hardware: HardwareOpt,
        isl: IslOpt = 1024,
        osl: OslOpt = 1024,
        weights: WeightsOpt = None,
        gpus: GpusOpt = None,
        mode: ModeOpt = "both",
        ttft_max_ms: TtftOpt = None,
        tpot_max_ms: TpotOpt = None,
        e2el_max_ms: E2elOpt = None,
        percentile: PercentileOpt = DEFAULT_PERCENTILE,
        min_interactivity: float | None = typer.Option(
            None, "--min-interactivity", help="keep points with at least this many tok/s/user"
        ),
        target_interactivity: float | None = typer.Option(
            None,
            "--target-interactivity",
            help="read cost and throughput off the frontier here (tok/s/user; default 50)",
        ),
        preset: PresetOpt = None,
        usd_per_gpu_hour: UsdPerGpuHourOpt = None,
        calibration: CalibrationOpt = None,
        hardware_file: HardwareFileOpt = None,
        no_mtp: NoMtpOpt = False,
        engine: O.EngineOpt = None,
        spec: O.SpecOpt = None,
        prefill_hardware: O.PrefillHardwareOpt = None,
        wide: O.WideOpt = False,
        plot: str | None = typer.Option(
            None, "--plot", help="write a chart: out.png/.svg/.pdf (matplotlib) or out.html (plotly, self-contained)"
        ),
        as_json: JsonOpt = False,
        tco_inputs: dict | None = None,
    ):
        """Pareto frontier (tokens/s per GPU vs tokens/s per user) of a model on each hardware, aggregated and
        disaggregated, with cost per token, token tiers and SLA filtering."""
        with working(f"sweeping {model} on {hardware}", enabled=not as_json):
            res = api.frontier(
                api.FrontierRequest.build(
                    model=model,
                    hardware=hardware,
                    min_interactivity=min_interactivity,
                    target_interactivity=target_interactivity,
                    prefill_hardware=prefill_hardware,
                    **O.sweep_fields(locals()),
                )
            )
        d = res.to_dict()
        given = {
            "weights": weights is not None,
            "engine": engine is not None,
            "percentile": percentile != DEFAULT_PERCENTILE,
            "preset": preset is not None,
        }
        if plot:
            from tokenfab.render.plots import plot_frontier

            path = plot_frontier(d, plot)
            (err_console if as_json else console).print(lit(f"wrote chart to {path}"), highlight=False)
        if as_json:
            print_json(d)
        else:
            render(d, given=given, wide=wide)
