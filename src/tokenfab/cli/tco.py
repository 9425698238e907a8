"""``tokenfab tco``: $ per GPU-hour with its breakdown and sources (a thin layer over tokenfab.economics.tco).

The option types are shared with ``tokenfab cost`` (cli/cost.py), which takes every TCO flag too.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Annotated, Any, cast

import typer

from tokenfab import api
from tokenfab.api import explain as X
from tokenfab.cli.common import Table, console, emit, lit, print_header
from tokenfab.economics import tco as tco_mod
from tokenfab.economics.tco import COMPONENT_DESCRIPTIONS, DEFAULT_PRESET, FIELD_UNITS
from tokenfab.render import format as F

_P = "TCO inputs"  # help panel

HardwareOpt = Annotated[str, typer.Option("--hardware", "-H", help="Hardware key (see `tokenfab catalog`).")]
PresetOpt = Annotated[
    str | None,
    typer.Option(
        "--preset",
        help=f"TCO preset: owned (owned-hyperscaler, owned-neocloud, owned-enterprise, stress), rented "
        f"(rent-on-demand, rent-reserved-1y, rent-reserved-3y, rent-spot) or inferencex-* (default {DEFAULT_PRESET}).",
    ),
]
PriceOpt = Annotated[
    float | None,
    typer.Option(
        "--usd-per-gpu-hour",
        help="Plain price per wall-clock GPU-hour (a rental quote); replaces the owned-cost model.",
    ),
]
UtilOpt = Annotated[
    float | None,
    typer.Option(
        "--utilization",
        help=f"Busy fraction of wall-clock hours, in [{tco_mod.MIN_UTILIZATION:g}, 1] "
        f"(default {tco_mod.default_utilization():g}, the one named default; inferencex-* presets use 1).",
        rich_help_panel=_P,
    ),
]
PueOpt = Annotated[float | None, typer.Option("--pue", help="Power usage effectiveness (>= 1).", rich_help_panel=_P)]
KwhOpt = Annotated[float | None, typer.Option("--usd-per-kwh", help="Electricity price, USD/kWh.", rich_help_panel=_P)]
LifeOpt = Annotated[float | None, typer.Option("--life-years", help="Depreciation life, years.", rich_help_panel=_P)]
WaccOpt = Annotated[
    float | None, typer.Option("--wacc", help="Cost of capital per year, a fraction in [0, 1).", rich_help_panel=_P)
]
CapexOpt = Annotated[
    float | None,
    typer.Option(
        "--capex-usd-per-gpu",
        help="Server capex per GPU in USD, before networking/installation adders.",
        rich_help_panel=_P,
    ),
]
ResidualOpt = Annotated[
    float | None,
    typer.Option(
        "--residual-value-fraction", help="Resale value at end of life, fraction of capex.", rich_help_panel=_P
    ),
]
ColoOpt = Annotated[
    float | None,
    typer.Option(
        "--colocation-usd-per-kw-month", help="Colocation rent, USD per kW of IT per month.", rich_help_panel=_P
    ),
]
ItKwOpt = Annotated[
    float | None,
    typer.Option(
        "--it-kw-per-gpu",
        help="Provisioned IT power per GPU, kW (incl. its share of host and network).",
        rich_help_panel=_P,
    ),
]
IdleOpt = Annotated[
    float | None,
    typer.Option("--idle-power-fraction", help="Fraction of IT power drawn when idle, in [0, 1].", rich_help_panel=_P),
]
MaintOpt = Annotated[
    float | None,
    typer.Option(
        "--maintenance-fraction-per-year", help="Maintenance, fraction of capex per year.", rich_help_panel=_P
    ),
]
SoftwareOpt = Annotated[
    float | None,
    typer.Option(
        "--software-usd-per-gpu-hour", help="Software licences, USD per wall-clock GPU-hour.", rich_help_panel=_P
    ),
]
HwFileOpt = Annotated[
    list[str] | None, typer.Option("--hardware-file", help="Extra hardware YAML/TOML (repeatable; later files win).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]


NetFracOpt = Annotated[
    float | None,
    typer.Option("--networking-capex-fraction", help="Networking capex, fraction of server capex.", rich_help_panel=_P),
]
NetUsdOpt = Annotated[
    float | None,
    typer.Option("--networking-capex-usd-per-gpu", help="Networking capex adder, USD per GPU.", rich_help_panel=_P),
]
InstFracOpt = Annotated[
    float | None,
    typer.Option(
        "--installation-capex-fraction", help="Installation capex, fraction of server capex.", rich_help_panel=_P
    ),
]
InstUsdOpt = Annotated[
    float | None,
    typer.Option("--installation-capex-usd-per-gpu", help="Installation capex adder, USD per GPU.", rich_help_panel=_P),
]
AllInKwOpt = Annotated[
    float | None,
    typer.Option("--all-in-kw-per-gpu", help="All-in facility kW per GPU (replaces IT kW x PUE).", rich_help_panel=_P),
]
FacilityCapexOpt = Annotated[
    float | None,
    typer.Option(
        "--facility-capex-usd-per-kw", help="Facility capex (owned building), USD per kW of IT.", rich_help_panel=_P
    ),
]
FacilityLifeOpt = Annotated[
    float | None,
    typer.Option("--facility-life-years", help="Facility depreciation life, years.", rich_help_panel=_P),
]

# every TCO input as a flag of the same name (tco.INPUT_FIELDS; the wall-clock price is --usd-per-gpu-hour), on
# every command that prices a GPU-hour (tco_flags below adds them)
TCO_OPTION_TYPES: dict[str, Any] = {
    "utilization": UtilOpt,
    "capex_usd_per_gpu": CapexOpt,
    "networking_capex_fraction": NetFracOpt,
    "networking_capex_usd_per_gpu": NetUsdOpt,
    "installation_capex_fraction": InstFracOpt,
    "installation_capex_usd_per_gpu": InstUsdOpt,
    "life_years": LifeOpt,
    "residual_value_fraction": ResidualOpt,
    "wacc": WaccOpt,
    "it_kw_per_gpu": ItKwOpt,
    "idle_power_fraction": IdleOpt,
    "pue": PueOpt,
    "all_in_kw_per_gpu": AllInKwOpt,
    "usd_per_kwh": KwhOpt,
    "colocation_usd_per_kw_month": ColoOpt,
    "facility_capex_usd_per_kw": FacilityCapexOpt,
    "facility_life_years": FacilityLifeOpt,
    "maintenance_fraction_per_year": MaintOpt,
    "software_usd_per_gpu_hour": SoftwareOpt,
}
TCO_FLAGS = tuple(TCO_OPTION_TYPES)


def tco_flags(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Give a command every TCO input as a flag (TCO_OPTION_TYPES, in the "TCO inputs" help panel): the command
    function takes ``tco_inputs`` (the flags given, by TcoInputs field name) instead of one parameter per input, so
    every command that prices takes the same TCO flags."""
    sig = inspect.signature(fn, eval_str=True)  # typer reads a given __signature__ as it is: resolved types
    own = [p for p in sig.parameters.values() if p.name != "tco_inputs"]
    extra = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=TCO_OPTION_TYPES[name])
        for name in TCO_FLAGS
    ]

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        given = {k: v for k in TCO_FLAGS if (v := kwargs.pop(k, None)) is not None}
        return fn(*args, tco_inputs=given, **kwargs)

    wrapper.__signature__ = sig.replace(parameters=own + extra)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {
        **{k: v for k, v in fn.__annotations__.items() if k != "tco_inputs"},
        **TCO_OPTION_TYPES,
    }
    return wrapper


def tco_fields(params: dict) -> dict:
    """The TcoRequest fields of a command's parameters (``locals()`` of a :func:`tco_flags` command; None = flag not
    given): ``--usd-per-gpu-hour`` is the wall-clock price ``price_usd_per_gpu_hour``, the TCO flags are the fields
    of the same names."""
    return {
        "hardware": params["hardware"],
        "preset": params["preset"],
        "hardware_files": params["hardware_file"] or None,
        "price_usd_per_gpu_hour": params["usd_per_gpu_hour"],
        **params["tco_inputs"],
    }


def run_tco(params: dict) -> api.TcoResult:
    """``tokenfab.api.tco`` of a command's parameters (``locals()``; None = flag not given)."""
    return api.tco(api.TcoRequest.build(**tco_fields(params)))


def _money(x: float | None) -> str:
    """A $ per GPU-hour cell: three decimals below $100 (``4.700``), whole dollars above."""
    return "-" if x is None else F.num(x, 3) if abs(x) < 100 else F.num(x, 0)


def _value(x) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return F.num(x, 0) if abs(x) >= 1e5 else F.num(x, 6).rstrip("0").rstrip(".")
    return str(x)


def tco_header(r: api.TcoResult) -> str:
    """The first line of tco and cost (tokenfab.api.explain.tco_header)."""
    return X.tco_header(r.to_dict())


def render_capex_lines(r: api.TcoResult) -> None:
    """The system bill of materials behind an owned TCO (``tokenfab tco --breakdown``)."""
    if not r.capex_lines:
        why = (
            "a plain price per GPU-hour: no capex"
            if r.method == "price"
            else "no system bill of materials for this hardware (data/systems.yaml); capex from "
            + r.sources.get("capex_usd_per_gpu", "the user")
        )
        console.print(f"capex lines: {why}", style="dim", highlight=False, markup=False)
        return
    sc = tco_mod.system_capex(cast(str, r.system))  # capex lines come from a system's bill of materials
    t = Table(
        title=f"Bill of materials {r.system}: {sc.name}, {F.count(sc.gpus, 'GPU')} per system ($ per GPU; capital and "
        f"maintenance per busy GPU-hour at utilization {F.pct(r.utilization)})"
    )
    for col in ("line", "$ per GPU", "share", "capital $/GPU-h", "maint. $/GPU-h", "as of", "source"):
        t.add_column(col, overflow="fold", justify="left" if col in ("line", "source", "as of") else "right")
    for row in r.capex_lines:
        info = sc.lines.get(row["line"], {})
        src = info.get("source", "")
        if info.get("note"):
            src += f" (note: {info['note']})"
        t.add_row(
            F.words(row["line"]),
            F.num(row["usd_per_gpu"], 0),
            F.pct(row["share_of_capex"], 1),
            _money(row["capital_usd_per_gpu_hour"]),
            _money(row["maintenance_usd_per_gpu_hour"]),
            str(info.get("as_of", "")),
            src,
        )
    t.add_row(
        lit("total", "bold"),
        lit(F.num(r.capex_usd_per_gpu_all_in, 0), "bold"),
        "100%",
        _money(r.breakdown["capital"]),
        _money(r.breakdown["maintenance"]),
        "",
        "",
    )
    console.print(t)
    cc = (tco_mod.load_systems()["systems"][r.system].get("cross_check")) or {}
    if r.preset in cc:
        fig = cc[r.preset]
        console.print(
            f"published cross-check for {r.preset}: {F.usd(fig['value'])} per wall-clock GPU-hour ({fig['source']}); "
            f"this model: {F.usd(r.usd_per_gpu_hour_wallclock)}",
            style="dim",
            highlight=False,
            markup=False,
        )


def render_tco(r: api.TcoResult, breakdown: bool = False) -> None:
    print_header(tco_header(r))
    console.print(f"price basis: {r.utilization_basis}", style="dim", highlight=False, markup=False)
    t = Table(
        title=f"TCO per GPU ({r.method} model), $ per GPU-hour; busy = per hour of useful work at "
        f"utilization {F.pct(r.utilization)}"
    )
    for col in ("component", "$/GPU-h busy", "$/GPU-h wall-clock", "share of life spend"):
        t.add_column(col, justify="left" if col == "component" else "right", overflow="fold")
    shown = [k for k, v in r.breakdown.items() if not (r.method == "price" and v == 0)]
    for k in shown:
        t.add_row(F.label(k), _money(r.breakdown[k]), _money(r.breakdown_wallclock[k]), F.pct(r.shares[k], 1))
    if r.method == "owned":
        for k, v in r.capital_split.items():
            t.add_row(f"  of capital: {F.label(k)}", _money(v), _money(v * r.utilization), "")
    t.add_row(
        lit("total", "bold"), lit(_money(r.usd_per_gpu_hour), "bold"), _money(r.usd_per_gpu_hour_wallclock), "100%"
    )
    console.print(t)
    if breakdown:
        render_capex_lines(r)
    console.print(
        (
            f"life spend {F.usd(r.life_spend_usd_per_gpu)} per GPU over {F.num(r.life_years)} years "
            "(wall-clock cost x 8,766 h/year x life)"
            if r.method == "owned"
            else f"spend {F.usd(r.life_spend_usd_per_gpu)} per GPU over {F.num(r.life_years)} "
            f"{'year' if r.life_years == 1 else 'years'} (wall-clock price x 8,766 h/year; the reservation's term, "
            "else one year: a rental has no asset life)"
        ),
        highlight=False,
    )
    for k in shown:
        console.print(
            f"  {F.label(k)}: {COMPONENT_DESCRIPTIONS.get(k, '')}", style="dim", highlight=False, markup=False
        )

    p = Table(title="Power per GPU")
    for col in ("quantity", "kW", "how"):
        p.add_column(col, overflow="fold")
    p.add_row("IT (provisioned)", _value(r.it_kw_per_gpu), r.sources.get("it_kw_per_gpu", "-").strip())
    p.add_row(
        "all-in (facility)",
        _value(r.all_in_kw_per_gpu),
        r.sources.get("all_in_kw_per_gpu") or f"IT kW x PUE {F.num(r.inputs['pue'])}",
    )
    if r.avg_it_kw_per_gpu is not None:
        p.add_row("IT average at utilization", _value(r.avg_it_kw_per_gpu), "IT kW x (u + (1 - u) x idle fraction)")
    console.print(p)

    i = Table(title="Inputs (sources below)")
    for col in ("input", "value", "unit", "source"):
        i.add_column(col, overflow="fold", justify="right" if col in ("value", "source") else "left")
    refs: list[str] = []
    if r.capex_usd_per_gpu_all_in is not None:
        i.add_row(
            "capex all-in (derived)",
            _value(r.capex_usd_per_gpu_all_in),
            "$ per GPU",
            "capex x (1 + fractions) + adders",
        )
    for name, src in r.sources.items():
        src = src.strip()
        if src not in refs:
            refs.append(src)
        i.add_row(F.label(name), _value(r.inputs.get(name)), FIELD_UNITS.get(name, ""), f"[{refs.index(src) + 1}]")
    console.print(i)
    for n, src in enumerate(refs, 1):
        console.print(f"[{n}] {F.humanize(src)}", highlight=False, markup=False, soft_wrap=False)
    for note in r.notes:
        if note != tco_mod.DEFAULT_PRESET_NOTE:  # the header says the preset is the default
            console.print(f"- {note}", style="dim", highlight=False, markup=False)
    console.print("- method and every default with its citation: docs/tco.md", style="dim")


def register(app: typer.Typer) -> None:
    @app.command("tco")
    @tco_flags
    def tco_cmd(
        hardware: HardwareOpt,
        preset: PresetOpt = None,
        usd_per_gpu_hour: PriceOpt = None,
        hardware_file: HwFileOpt = None,
        breakdown: Annotated[
            bool,
            typer.Option(
                "--breakdown",
                help="Also show the system bill of materials line by line (accelerators, host, NICs, switches, "
                "storage, rack/power/cooling, installation, spares) with sources.",
            ),
        ] = False,
        json_out: JsonOpt = False,
        tco_inputs: dict | None = None,
    ) -> None:
        """Total cost of ownership: $ per GPU-hour (per busy hour and per wall-clock hour) with a sourced breakdown."""
        r = run_tco(locals())
        emit(r, json_out, lambda x: render_tco(x, breakdown=breakdown))
