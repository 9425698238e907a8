"""``tokenfab recommend``: the cheapest fleet per hardware for a load and an SLA, or the most tokens/s within a power
or rack budget (a thin layer over tokenfab.planning.fleet)."""

from __future__ import annotations

from collections.abc import Callable

import typer

from tokenfab import api
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
from tokenfab.cli.common import console, lit, print_header, print_json, working
from tokenfab.cli.tco import tco_flags
from tokenfab.economics.tco import DEFAULT_PRESET
from tokenfab.perf.queueing import DEFAULT_PERCENTILE
from tokenfab.render import format as F
from tokenfab.search import layout_text

SHORT = {
    "$/month": "$/\nmonth",
    "tok/s per MW": "tok/s\nper MW",
    "$/M total": "$/M\ntotal",
    "$/M in": "$/M\nin",
    "$/M out": "$/M\nout",
    "tok/s/user": "tok/s\n/user",
    "TPOT ms": "TPOT\nms",
    "replicas x GPUs": "repl x\nGPUs",
    "GPUs p10-p90": "GPUs\np10-p90",
    "$/M p10-p90": "$/M total\np10-p90",
    "tokens/s p10-p90": "tokens/s\np10-p90",
}
# columns dropped, in this order, while a table is wider than the terminal (the JSON has them all)
FLEET_DROP = (
    "MTP",
    "$/M in",
    "$/M out",
    "replicas x GPUs",
    O.SHORT_HEADERS,
    "#",
    "mode",
    "util avg",
    "GPUs p10-p90",
    "nodes",
    "racks",
    "MW",
)
BUDGET_DROP = (
    "tokens/day",
    "racks",
    "replicas x GPUs",
    "MW",
    "requests/s",
    O.SHORT_HEADERS,
    "#",
    "mode",
    "$/month",
)


def _weights_cols(d: dict) -> tuple[tuple[str, ...], Callable[[dict], list[str]]]:
    """A weights/KV column when more than one weight precision was swept (else the header says it)."""
    if len(d.get("weights") or ()) > 1:
        return ("weights/KV",), lambda cfg: [f"{cfg['weights']}/{cfg['kv']}"]
    return (), lambda cfg: []


def _replicated(o: dict, layout: str) -> str:
    """The layout of one replica (or disaggregated unit), prefixed with how many of them the fleet has."""
    n = int(o.get("replicas") or 1)
    return f"{n} x ({layout})" if n > 1 and "+" in layout else (f"{n} x {layout}" if n > 1 else layout)


def _header(d: dict, given: dict, extra: str) -> None:
    """The first line: model, hardware, workload, precision, engines, the demand or budget, SLA, TCO basis."""
    hws = given.get("hardware") or list(dict.fromkeys([o["hardware"] for o in d["options"]]))
    engines = {o["hardware"]: (o.get("config") or {}).get("engine") for o in d["options"]}
    engines = {k: v for k, v in engines.items() if v}
    print_header(
        O.search_header(
            d,
            hws,
            engines,
            given=given,
            preset=given.get("preset") or DEFAULT_PRESET,
            extra=(extra,),
        )
        + O.SEP
        + (
            "at full load (priced at utilization 1)"
            if d.get("budget")
            else "billed around the clock (utilization = demand / capacity)"
        )
    )


def _render_fleet(d: dict, given: dict | None = None, wide: bool = False) -> None:
    given = given or {}
    dem = d["demand"]
    pct = d["sla"]["percentile"]
    _header(
        d,
        given,
        f"demand {F.num(dem['requests_per_s'])} requests/s ({F.si(dem['tokens_per_s'])} tokens/s, "
        f"{F.si(dem['tokens_per_day'])} tokens/day)",
    )
    wcols, wcell = _weights_cols(d)
    cols = (
        "#",
        "hardware",
        "mode",
        "replicas x GPUs",
        "layout",
        *wcols,
        "MTP",
        "GPUs",
        "GPUs p10-p90",
        "nodes",
        "racks",
        "MW",
        "$/month",
        "$/M total",
        "$/M p10-p90",
        "$/M in",
        "$/M out",
        "tok/s/user",
        f"TTFT {pct} ms",
        f"TPOT {pct} ms",
        "util avg",
        "util peak",
    )
    rows = []
    for n, o in enumerate(d["options"], 1):
        cfg = o["config"]
        u = o.get("uncertainty") or {}
        rows.append(
            [
                str(n),
                O.hardware_cell(o["hardware"], o.get("prior", False)),
                o["mode"],
                f"{o['replicas']:,} x {o['gpus_per_replica']}",
                _replicated(o, layout_text(cfg)),
                *wcell(cfg),
                mtp_text(cfg),
                f"{o['gpus']:,}",
                O.band_text(u.get("gpus")),
                f"{o['nodes']:,}",
                f"{o['racks']:,}",
                _f(o["mw"], ",.3f"),
                _f(o["usd_per_month"], ",.0f"),
                _f(o["usd_per_mtok_total"]),
                O.band_text(u.get("usd_per_mtok_total"), ",.3f"),
                _f(o["usd_per_mtok_input"]),
                _f(o["usd_per_mtok_output"]),
                _f(o["tokens_per_s_per_user"]),
                _f(o["ttft_ms"]),
                _f(o["tpot_ms"]),
                F.pct(o["utilization_avg"]),
                F.pct(o["utilization_peak"]),
            ]
        )
    O.show(
        console,
        O.fitted_table(
            console,
            "cheapest fleet per hardware (ranked by $/month)",
            cols,
            rows,
            left=("hardware", "mode", "layout", "weights/KV"),
            drop=FLEET_DROP,
            short={
                **SHORT,
                f"TTFT {pct} ms": f"TTFT\n{pct} ms",
                f"TPOT {pct} ms": f"TPOT\n{pct} ms",
                "util avg": "util\navg",
                "util peak": "util\npeak",
            },
            wide=wide,
        ),
    )
    _footer(d)
    O.print_caveats(console, d)
    h = d.get("headroom") or {}
    if h:
        bf = h.get("burst_factor_at_peak")
        spare = h.get("spare_replicas_per_group")
        console.print(
            f"headroom: peak {F.num(dem['requests_per_s'] * d.get('peak_to_average', 1.0))} requests/s "
            f"(peak-to-average {F.num(d.get('peak_to_average', 1.0))}) x burst {bf:.3f} "
            f"({h.get('burst_factor_rule')}) / target peak utilization {F.pct(h.get('target_peak_utilization'))} = "
            f"sized for {F.num(h.get('sizing_requests_per_s'))} requests/s, + {F.count(spare, 'spare replica')} "
            "per replica group (N+1). Defaults and sources: data/assumptions.yaml",
            style="dim",
            highlight=False,
            markup=False,
        )
    console.print(
        "[dim]$/month = wall-clock $/GPU-hour x GPUs x 730.5 h (the fleet is paid for around the clock, "
        "whatever its utilization: util = average or peak demand / fleet capacity); $/M tokens = $/month / the "
        "tokens the demand sends per month; $/M in and out split the bill by GPU time (prefill to input tokens, "
        "decode to output tokens: they add up to $/M total at the ISL:OSL mix); MW = GPUs x all-in kW per GPU; "
        "nodes and racks = ceil(GPUs / chips per node or rack); p10-p90: the same configuration re-sized at the ends "
        "of the performance model's throughput band (out of sample; (prior): the hardware has no measurements).[/]",
        highlight=False,
    )


def _render_budget(d: dict, given: dict | None = None, wide: bool = False) -> None:
    given = given or {}
    b = d["budget"]
    btxt = f"{F.num(b['power_mw'])} MW all-in" if "power_mw" in b else F.count(b["racks"], "rack")
    _header(d, given, f"budget {btxt}")
    wcols, wcell = _weights_cols(d)
    cols = (
        "#",
        "hardware",
        "mode",
        "replicas x GPUs",
        "layout",
        *wcols,
        "GPUs (max)",
        "racks",
        "MW",
        "tokens/s",
        "tokens/s p10-p90",
        "tokens/day",
        "requests/s",
        "tok/s/user",
        "$/month",
        "$/M total",
    )
    rows = []
    for n, o in enumerate(d["options"], 1):
        rows.append(
            [
                str(n),
                O.hardware_cell(o["hardware"], o.get("prior", False)),
                o["mode"],
                f"{o['replicas']:,} x {o['gpus_per_replica']}",
                _replicated(o, layout_text(o["config"])),
                *wcell(o["config"]),
                f"{o['gpus']:,} ({o['max_gpus']:,})",
                f"{o['racks']:,}",
                _f(o["mw"], ",.3f"),
                _f(o["tokens_per_s"], ",.0f"),
                O.band_text((o.get("uncertainty") or {}).get("tokens_per_s")),
                F.si(o["tokens_per_day"], none="-"),
                _f(o["requests_per_s"]),
                _f(o["tokens_per_s_per_user"]),
                _f(o["usd_per_month"], ",.0f"),
                _f(o["usd_per_mtok_total"]),
            ]
        )
    O.show(
        console,
        O.fitted_table(
            console,
            "most tokens/s within the budget (ranked by tokens/s)",
            cols,
            rows,
            left=("hardware", "mode", "layout", "weights/KV"),
            drop=BUDGET_DROP,
            short={**SHORT, "GPUs (max)": "GPUs\n(max)", "requests/s": "req/s"},
            wide=wide,
        ),
    )
    _footer(d)
    O.print_caveats(console, d, "the option with the most tokens/s")
    console.print(
        "[dim]$/month = wall-clock $/GPU-hour x GPUs x 730.5 h; $/M total = $/month / the tokens the fleet "
        "serves per month at full load.[/]",
        highlight=False,
    )


def _footer(d: dict) -> None:
    O.print_footer(console, d)
    console.print(lit(O.terms_note("layouts"), "dim"), highlight=False)


def register(app: typer.Typer) -> None:
    @app.command("recommend")
    @tco_flags
    def recommend_cmd(
        model: ModelOpt,
        hardware: HardwareOpt,
        rate: float | None = typer.Option(None, "--rate", help="demand in requests/s"),
        tokens_per_day: float | None = typer.Option(
            None, "--tokens-per-day", help="demand in (input + output) tokens per day"
        ),
        isl: IslOpt = 1024,
        osl: OslOpt = 1024,
        ttft_max_ms: TtftOpt = None,
        tpot_max_ms: TpotOpt = None,
        e2el_max_ms: E2elOpt = None,
        percentile: PercentileOpt = DEFAULT_PERCENTILE,
        weights: WeightsOpt = None,
        gpus: GpusOpt = None,
        mode: ModeOpt = "both",
        preset: PresetOpt = None,
        usd_per_gpu_hour: UsdPerGpuHourOpt = None,
        power_mw: float | None = typer.Option(
            None, "--power-mw", help="inverse: the most tokens/s within this all-in MW"
        ),
        racks: int | None = typer.Option(None, "--racks", help="inverse: the most tokens/s within this many racks"),
        peak_to_average: float = typer.Option(
            1.0, "--peak-to-average", help="busiest hour / average demand (the fleet is sized for the busiest hour)"
        ),
        target_peak_utilization: float | None = typer.Option(
            None,
            "--target-peak-utilization",
            help="share of the fleet's capacity used in the busiest hour, in (0, 1] "
            "(default 0.8, data/assumptions.yaml)",
        ),
        burst_factor: float | None = typer.Option(
            None,
            "--burst-factor",
            help="sub-hour burst over the peak-hour rate, >= 1 (default: from Poisson arrivals, p99 minute)",
        ),
        spare_replicas: int | None = typer.Option(
            None, "--spare-replicas", help="spare replicas per replica group (default 1: N+1; 0 for none)"
        ),
        calibration: CalibrationOpt = None,
        hardware_file: HardwareFileOpt = None,
        no_mtp: NoMtpOpt = False,
        engine: O.EngineOpt = None,
        spec: O.SpecOpt = None,
        wide: O.WideOpt = False,
        as_json: JsonOpt = False,
        tco_inputs: dict | None = None,
    ):
        """Size the cheapest fleet per hardware that serves a load within an SLA (replicas, GPUs, nodes, racks, MW,
        $/month, $/M tokens), or with --power-mw / --racks the most tokens/s a budget buys."""
        fields = O.sweep_fields(locals())
        req = api.RecommendRequest.build(
            model=model,
            hardware=hardware,
            rate_rps=rate,
            tokens_per_day=tokens_per_day,
            peak_to_average=peak_to_average,
            target_peak_utilization=target_peak_utilization,
            burst_factor=burst_factor,
            spare_replicas=spare_replicas,
            power_mw=power_mw,
            racks=racks,
            **fields,
        )
        inverse = power_mw is not None or racks is not None
        what = "for the budget" if inverse else "for the demand"
        with working(f"sizing fleets of {model} on {hardware} {what}", enabled=not as_json):
            res = api.recommend(req)
        render: Callable[[dict, dict | None, bool], None] = (
            _render_budget if res.operation == "budget" else _render_fleet
        )
        d = res.to_dict()
        given = {
            "weights": weights is not None,
            "engine": engine is not None,
            "percentile": percentile != DEFAULT_PERCENTILE,
            "preset": preset is not None,
            "usd_per_gpu_hour": usd_per_gpu_hour,
            "hardware": [h.strip() for h in hardware.split(",") if h.strip()],
        }
        if as_json:
            print_json(d)
        else:
            render(d, given, wide)
