"""``tokenfab recommend``: the cheapest fleet per hardware for a load and an SLA, or the most tokens/s within a power
or rack budget (a thin layer over tokenfab.fleet)."""
from __future__ import annotations

from typing import List, Optional

import typer
from rich.table import Table

from .. import fleet
from ..errors import TokenfabError
from .common import console, print_json
from .frontier import layout_text, mtp_text


def _f(x, fmt=",.1f", none="-") -> str:
    return none if x is None else format(x, fmt)


def _sla_text(sla: dict) -> str:
    pct = sla["percentile"]
    parts = []
    if sla.get("ttft_max_ms") is not None:
        parts.append(f"TTFT {pct} <= {sla['ttft_max_ms']:g} ms")
    if sla.get("tpot_max_ms") is not None:
        parts.append(f"TPOT <= {sla['tpot_max_ms']:g} ms")
    if sla.get("e2el_max_ms") is not None:
        parts.append(f"E2E {pct} <= {sla['e2el_max_ms']:g} ms")
    return ", ".join(parts) or "none"


def _render_fleet(d: dict) -> None:
    dem = d["demand"]
    console.print(f"[bold]{d['model']}[/] - ISL {d['isl']} / OSL {d['osl']} - demand {dem['requests_per_s']:,.3f} "
                  f"requests/s ({dem['tokens_per_s']:,.0f} tokens/s, {dem['tokens_per_day']:,.3g} tokens/day) - SLA: "
                  f"{_sla_text(d['sla'])}", highlight=False)
    t = Table(title="cheapest fleet per hardware (ranked by $/month)", title_justify="left")
    for c in ("#", "hardware", "mode", "replicas x GPUs", "layout", "MTP", "GPUs", "nodes", "racks", "MW", "$/month",
              "$/M total", "$/M in", "$/M out", "tok/s/user", f"TTFT {d['sla']['percentile']} ms", "TPOT ms", "util"):
        t.add_column(c, justify="left" if c in ("hardware", "mode", "layout") else "right")
    for n, o in enumerate(d["options"], 1):
        cfg = o["config"]
        t.add_row(str(n), o["hardware"], o["mode"], f"{o['replicas']:,} x {o['gpus_per_replica']}", layout_text(cfg),
                  mtp_text(cfg), f"{o['gpus']:,}", f"{o['nodes']:,}", f"{o['racks']:,}", _f(o["mw"], ",.3f"),
                  _f(o["usd_per_month"], ",.0f"), _f(o["usd_per_mtok_total"], ",.3f"),
                  _f(o["usd_per_mtok_input"], ",.3f"), _f(o["usd_per_mtok_output"], ",.3f"),
                  _f(o["tokens_per_s_per_user"]), _f(o["ttft_ms"], ",.0f"), _f(o["tpot_ms"], ",.2f"),
                  f"{o['utilization']:.0%}")
    console.print(t)
    _footer(d)
    console.print("[dim]$/month = $ per busy GPU-hour (TCO: wall-clock cost / utilization) x GPUs x 730.5 h; "
                  "$/M tokens on the demand served; MW = GPUs x all-in kW per GPU; nodes and racks = ceil(GPUs / "
                  "chips per node or rack).[/]", highlight=False)


def _render_budget(d: dict) -> None:
    b = d["budget"]
    btxt = f"{b['power_mw']:g} MW all-in" if "power_mw" in b else f"{b['racks']} racks"
    console.print(f"[bold]{d['model']}[/] - ISL {d['isl']} / OSL {d['osl']} - budget {btxt} - SLA: "
                  f"{_sla_text(d['sla'])}", highlight=False)
    t = Table(title="most tokens/s within the budget (ranked by tokens/s)", title_justify="left")
    for c in ("#", "hardware", "mode", "replicas x GPUs", "layout", "GPUs (max)", "racks", "MW", "tokens/s",
              "tokens/day", "requests/s", "tok/s/user", "$/month", "$/M total"):
        t.add_column(c, justify="left" if c in ("hardware", "mode", "layout") else "right")
    for n, o in enumerate(d["options"], 1):
        t.add_row(str(n), o["hardware"], o["mode"], f"{o['replicas']:,} x {o['gpus_per_replica']}",
                  layout_text(o["config"]), f"{o['gpus']:,} ({o['max_gpus']:,})", f"{o['racks']:,}",
                  _f(o["mw"], ",.3f"), _f(o["tokens_per_s"], ",.0f"), _f(o["tokens_per_day"], ",.3g"),
                  _f(o["requests_per_s"], ",.2f"), _f(o["tokens_per_s_per_user"]), _f(o["usd_per_month"], ",.0f"),
                  _f(o["usd_per_mtok_total"], ",.3f"))
    console.print(t)
    _footer(d)


def _footer(d: dict) -> None:
    for hw, why in d.get("skipped", {}).items():
        console.print(f"[yellow]skipped {hw}:[/] {why}", highlight=False)
    for w in d.get("warnings", []):
        console.print(f"[yellow]warning:[/] {w}", highlight=False)
    console.print(f"evaluated {d['evaluated']:,} configurations in {d['elapsed_s']:.2f} s", highlight=False)


def register(app: typer.Typer) -> None:
    @app.command("recommend")
    def recommend_cmd(
        model: str = typer.Option(..., "--model", "-m", help="model key or path to a config.json"),
        hardware: str = typer.Option(..., "--hardware", help="comma-separated hardware keys"),
        rate: Optional[float] = typer.Option(None, "--rate", help="demand in requests/s"),
        tokens_per_day: Optional[float] = typer.Option(None, "--tokens-per-day", help="demand in (input + output) tokens per day"),
        isl: int = typer.Option(1024, "--isl", help="input tokens per request"),
        osl: int = typer.Option(1024, "--osl", help="output tokens per request"),
        ttft_max_ms: Optional[float] = typer.Option(None, "--ttft-max-ms", help="TTFT limit at the percentile (ms)"),
        tpot_max_ms: Optional[float] = typer.Option(None, "--tpot-max-ms", help="TPOT limit (ms)"),
        e2el_max_ms: Optional[float] = typer.Option(None, "--e2el-max-ms", help="end-to-end latency limit at the percentile (ms)"),
        percentile: str = typer.Option("p90", "--percentile", help="SLA percentile: p50, p90, p99 (pNN) or mean"),
        weights: Optional[str] = typer.Option(None, "--weights", help="comma-separated precisions (default: the checkpoint's)"),
        gpus: Optional[int] = typer.Option(None, "--gpus", help="fix the GPUs per replica"),
        mode: str = typer.Option("both", "--mode", help="agg | disagg | both"),
        preset: Optional[str] = typer.Option(None, "--preset", help="TCO preset (default owned-neocloud)"),
        usd_per_gpu_hour: Optional[float] = typer.Option(None, "--usd-per-gpu-hour", help="a plain $/GPU-hour instead of the TCO model"),
        power_mw: Optional[float] = typer.Option(None, "--power-mw", help="inverse: the most tokens/s within this all-in MW"),
        racks: Optional[int] = typer.Option(None, "--racks", help="inverse: the most tokens/s within this many racks"),
        calibration: Optional[str] = typer.Option(None, "--calibration", help="calibration profile JSON"),
        hardware_file: Optional[List[str]] = typer.Option(None, "--hardware-file"),
        as_json: bool = typer.Option(False, "--json"),
    ):
        """Size the cheapest fleet per hardware that serves a load within an SLA (replicas, GPUs, nodes, racks, MW,
        $/month, $/M tokens), or with --power-mw / --racks the most tokens/s a budget buys."""
        common = dict(isl=isl, osl=osl, ttft_max_ms=ttft_max_ms, tpot_max_ms=tpot_max_ms, e2el_max_ms=e2el_max_ms,
                      weights=weights, preset=preset, usd_per_gpu_hour=usd_per_gpu_hour, percentile=percentile,
                      calibration=calibration, gpus=gpus, mode=mode, hardware_files=hardware_file)
        from ..models import get_model

        mkey = get_model(model).key
        if power_mw is not None or racks is not None:
            if rate is not None or tokens_per_day is not None:
                raise TokenfabError("a budget (--power-mw / --racks) and a demand (--rate / --tokens-per-day) "
                                    "ask different questions", field="budget", expected="one of the two")
            rep = fleet.budget_report(model, hardware, power_mw=power_mw, racks=racks, **common)
            d = {"model": mkey, "isl": isl, "osl": osl,
                 "budget": {"power_mw": power_mw} if power_mw is not None else {"racks": racks}, **rep.to_dict()}
            if as_json:
                print_json(d)
            else:
                _render_budget(d)
            return
        rep = fleet.recommend_report(model, hardware, rate_rps=rate, tokens_per_day=tokens_per_day, **common)
        rps = rep.demand_requests_per_s
        tok_s = rps * (isl + osl)
        d = {"model": mkey, "isl": isl, "osl": osl,
             "demand": {"requests_per_s": rps, "tokens_per_s": tok_s, "tokens_per_day": tok_s * 86400.0,
                        "given": {"rate_rps": rate} if rate is not None else {"tokens_per_day": tokens_per_day}},
             **rep.to_dict()}
        if as_json:
            print_json(d)
        else:
            _render_fleet(d)
