"""``tokenfab frontier``: the Pareto frontier of a model over hardware types (a thin layer over tokenfab.search)."""
from __future__ import annotations

from typing import List, Optional

import typer
from rich.table import Table

from ..search import frontier as frontier_fn
from ..search import layout_text
from .common import console, err_console, print_json


def _f(x, fmt=",.1f", none="-") -> str:
    return none if x is None else format(x, fmt)


def mtp_text(cfg: dict) -> str:
    m = cfg.get("mtp")
    return f"{m['draft_tokens']} ({m['acceptance_length']:.2f})" if m else "-"


def _point_row(p: dict) -> list[str]:
    cfg = p["config"]
    return [p["mode"], str(cfg["gpus"]), layout_text(cfg), cfg["weights"], f"{cfg['concurrency']:,}", mtp_text(cfg),
            _f(p["tokens_per_s_per_user"]), _f(p["total_tokens_per_s_per_gpu"], ",.0f"),
            _f(p["output_tokens_per_s_per_gpu"], ",.0f"), _f(p["ttft_ms"], ",.0f"), _f(p["tpot_ms"], ",.2f"),
            _f(p["usd_per_mtok_total"], ",.3f"), _f(p["usd_per_mtok_output"], ",.3f"),
            _f(p["tokens_per_s_per_mw"] / 1e3 if p["tokens_per_s_per_mw"] is not None else None, ",.0f")]


def render(d: dict) -> None:
    sla = d["sla"]
    pct = sla["percentile"]
    limits = [f"{k.replace('_max_ms', '').upper()} {pct} <= {v:g} ms" if k != "tpot_max_ms" else f"TPOT <= {v:g} ms"
              for k, v in sla.items() if k.endswith("_max_ms") and v is not None]
    if sla.get("min_interactivity"):
        limits.append(f"interactivity >= {sla['min_interactivity']:g} tok/s/user")
    console.print(f"[bold]{d['model']}[/] - ISL {d['isl']} / OSL {d['osl']} - weights {', '.join(d['weights'])} - "
                  f"modes {', '.join(d['modes'])} - SLA: {', '.join(limits) or 'none'} - cost: "
                  + (f"${d['usd_per_gpu_hour_override']:g}/GPU-hour" if d.get("usd_per_gpu_hour_override") else
                     f"preset {d['preset']}"), highlight=False)
    cols = ["mode", "GPUs", "layout", "weights", "conc", "MTP", "tok/s/user", "tok/s/GPU", "out tok/s/GPU",
            f"TTFT {pct} ms", "TPOT ms", "$/M total", "$/M out", "k tok/s/MW"]
    by_hw: dict[str, list[dict]] = {}
    for p in d["points"]:
        by_hw.setdefault(p["hardware"], []).append(p)
    for hw, pts in by_hw.items():
        cost = (d["hardware"].get(hw) or {}).get("cost") or {}
        usd = cost.get("usd_per_gpu_hour")
        t = Table(title=f"{hw}: Pareto frontier ({len(pts)} points; "
                        f"{'$' + format(usd, '.3f') + ' per busy GPU-hour' if usd is not None else 'no cost'})",
                  title_justify="left")
        for c in cols:
            t.add_column(c, justify="left" if c in ("mode", "layout", "weights") else "right")
        for p in sorted(pts, key=lambda p: (p["mode"], p["tokens_per_s_per_user"])):
            t.add_row(*_point_row(p))
        console.print(t)
    tiers = d["tiers"]
    tt = Table(title=f"token tiers (goldilocks: >= {tiers['goldilocks_interactivity']:g} tok/s/user)", title_justify="left")
    for c in ("tier", "hardware", "mode", "GPUs", "layout", "tok/s/user", "tok/s/GPU", "$/M total", "$/M in", "$/M out"):
        tt.add_column(c, justify="left" if c in ("tier", "hardware", "mode", "layout") else "right")
    for name in ("bulk", "goldilocks", "premium"):
        p = tiers.get(name)
        if not p:
            tt.add_row(name, tiers.get(f"{name}_note", "none"), "", "", "", "", "", "", "", "")
            continue
        tt.add_row(name, p["hardware"], p["mode"], str(p["config"]["gpus"]), layout_text(p["config"]),
                   _f(p["tokens_per_s_per_user"]), _f(p["total_tokens_per_s_per_gpu"], ",.0f"),
                   _f(p["usd_per_mtok_total"], ",.3f"), _f(p["usd_per_mtok_input"], ",.3f"),
                   _f(p["usd_per_mtok_output"], ",.3f"))
    console.print(tt)
    at = d["at_target"]
    ta = Table(title=f"at {at['target_interactivity']:g} tokens/s per user ({at['method']})", title_justify="left")
    for c in ("hardware", "mode", "tok/s/GPU", "$/M total", "$/M in", "$/M out", "k tok/s/MW", "note"):
        ta.add_column(c, justify="left" if c in ("hardware", "mode", "note") else "right")
    for r in at["results"]:
        mw = r.get("tokens_per_s_per_mw")
        ta.add_row(r["hardware"], r["mode"], _f(r.get("total_tokens_per_s_per_gpu"), ",.0f"),
                   _f(r.get("usd_per_mtok_total"), ",.3f"), _f(r.get("usd_per_mtok_input"), ",.3f"),
                   _f(r.get("usd_per_mtok_output"), ",.3f"), _f(mw / 1e3 if mw else None, ",.0f"), r.get("note", ""))
    console.print(ta)
    b = d.get("best")
    if b:
        console.print(f"[bold]best[/] ({b['criterion']}): {b['hardware']} {b['mode']} {b['config']['gpus']} GPUs "
                      f"{layout_text(b['config'])}, {_f(b['tokens_per_s_per_user'])} tok/s/user, "
                      f"{_f(b['total_tokens_per_s_per_gpu'], ',.0f')} tok/s/GPU, "
                      f"${_f(b['usd_per_mtok_total'], ',.3f')}/M tokens", highlight=False)
    for w in d.get("warnings", []):
        console.print(f"[yellow]warning:[/] {w}", highlight=False)
    rate = d.get("configurations_per_s")
    console.print(f"evaluated {d['evaluated']:,} configurations in {d['elapsed_s']:.2f} s"
                  + (f" ({rate:,.0f} per second)" if rate else ""), highlight=False)
    console.print(f"[dim]TTFT at {pct} under Poisson arrivals at each point's load (M/D/c prefill queue); tok/s/GPU "
                  "counts input + output tokens over all GPUs (prefill + decode when disaggregated); $ per busy "
                  "GPU-hour from the TCO model; MW = all-in facility power.[/]", highlight=False)


def register(app: typer.Typer) -> None:
    @app.command("frontier")
    def frontier_cmd(
        model: str = typer.Option(..., "--model", "-m", help="model key or path to a config.json"),
        hardware: str = typer.Option(..., "--hardware", help="comma-separated hardware keys"),
        isl: int = typer.Option(1024, "--isl", help="input tokens per request"),
        osl: int = typer.Option(1024, "--osl", help="output tokens per request"),
        weights: Optional[str] = typer.Option(None, "--weights", help="comma-separated precisions (default: the checkpoint's)"),
        gpus: Optional[int] = typer.Option(None, "--gpus", help="fix the GPUs per replica (per pool when disaggregated)"),
        mode: str = typer.Option("both", "--mode", help="agg | disagg | both"),
        ttft_max_ms: Optional[float] = typer.Option(None, "--ttft-max-ms", help="TTFT limit at the percentile (ms)"),
        tpot_max_ms: Optional[float] = typer.Option(None, "--tpot-max-ms", help="TPOT limit (ms)"),
        e2el_max_ms: Optional[float] = typer.Option(None, "--e2el-max-ms", help="end-to-end latency limit at the percentile (ms)"),
        percentile: str = typer.Option("p90", "--percentile", help="SLA percentile: p50, p90, p99 (pNN) or mean"),
        min_interactivity: Optional[float] = typer.Option(None, "--min-interactivity", help="keep points with at least this many tok/s/user"),
        target_interactivity: Optional[float] = typer.Option(None, "--target-interactivity", help="read values off the frontier here (tok/s/user; default 50)"),
        preset: Optional[str] = typer.Option(None, "--preset", help="TCO preset (default owned-neocloud)"),
        usd_per_gpu_hour: Optional[float] = typer.Option(None, "--usd-per-gpu-hour", help="a plain $/GPU-hour instead of the TCO model"),
        calibration: Optional[str] = typer.Option(None, "--calibration", help="calibration profile JSON"),
        hardware_file: Optional[List[str]] = typer.Option(None, "--hardware-file"),
        no_mtp: bool = typer.Option(False, "--no-mtp", help="do not sweep MTP draft tokens"),
        plot: Optional[str] = typer.Option(None, "--plot", help="write a chart: out.png (matplotlib) or out.html (plotly)"),
        as_json: bool = typer.Option(False, "--json"),
    ):
        """Pareto frontier (tokens/s per GPU vs tokens/s per user) of a model on each hardware, with cost per token,
        token tiers and SLA filtering."""
        res = frontier_fn(model, hardware, isl=isl, osl=osl, weights=weights, gpus=gpus, mode=mode,
                          ttft_max_ms=ttft_max_ms, tpot_max_ms=tpot_max_ms, e2el_max_ms=e2el_max_ms,
                          percentile=percentile, min_interactivity=min_interactivity,
                          target_interactivity=target_interactivity, preset=preset, usd_per_gpu_hour=usd_per_gpu_hour,
                          calibration=calibration, hardware_files=hardware_file, mtp=not no_mtp)
        d = res.to_dict()
        if plot:
            from ..plotting import plot_frontier

            path = plot_frontier(d, plot)
            (err_console if as_json else console).print(f"wrote chart to {path}", highlight=False)
        if as_json:
            print_json(d)
        else:
            render(d)
