"""Total cost of ownership: US dollars per GPU-hour, with a breakdown that sums to the total.

Method (full text, formulas and every default with its citation: docs/tco.md; figures: data/systems.yaml for the
system bills of materials, data/tco_presets.yaml for everything else):

- Capex per GPU: the system's bill of materials (data/systems.yaml: accelerators, host CPUs and memory, NICs/DPUs,
  scale-up and scale-out switches, storage, rack/power/cooling, installation, spares; each line cited), divided by
  its GPUs. Hardware without a system there: catalog system or chip price x (1 + networking + installation
  fractions) + fixed adders.
- IT power per GPU: the system's published maximum power / its GPUs (else the catalog's rack or node power, else an
  estimate from the TDP, said so).
- Capital per year = (capex - residual / (1 + r)^n) x CRF(r, n), CRF = r(1+r)^n / ((1+r)^n - 1), r = WACC,
  n = life in years (CRF = 1/n at r = 0). Split into straight-line depreciation (capex - residual) / n and
  cost of capital (the rest).
- Energy per wall-clock hour = IT kW x (u + (1 - u) x idle fraction) x PUE x $/kWh, u = utilization.
- Hosting per hour = colocation $/kW-month x provisioned IT kW / hours per month
  + facility capex $/kW x IT kW x CRF(r, facility life) / hours per year (owned building).
- Maintenance per hour = fraction per year x capex / hours per year; software is $ per wall-clock GPU-hour.
- ``usd_per_gpu_hour_wallclock`` = sum of the above (what a GPU costs per hour of the calendar).
  ``usd_per_gpu_hour`` = wallclock / utilization: cost per hour of *useful* (busy) GPU time. Cost per token
  divides this by the busy throughput, so idle time is paid for by the tokens that are served.
- A plain price (``price_usd_per_gpu_hour``: a rental preset, ``--usd-per-gpu-hour``, or an InferenceX tier) replaces
  the owned model; it is a price per wall-clock hour, divided by the same utilization (a rented GPU costs the same
  idle or busy). Only the inferencex-* presets use utilization 1, InferenceX's convention, to reproduce its numbers.
- Utilization: one named default, :data:`DEFAULT_UTILIZATION` (data/tco_presets.yaml ``defaults.utilization``,
  cited), for every preset and every command; a result always states the utilization it assumes.

An hour here is a wall-clock hour; a year is 8766 h (units.HOURS_PER_YEAR); power is kW of IT load unless the
name says ``all_in`` (IT x PUE, or InferenceX's provisioned all-in figure).
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, cast

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tokenfab.catalog.hardware import HardwareSpec, get_hardware
from tokenfab.core import units
from tokenfab.core.data import data_path, read_yaml
from tokenfab.core.errors import TokenfabError, UnknownKeyError, is_number

DEFAULT_PRESET = "owned-neocloud"
DEFAULT_PRESET_NOTE = f"no preset given: default preset {DEFAULT_PRESET!r}"  # the first note then
PRESET_KINDS = ("owned", "rented", "inferencex")
MIN_UTILIZATION = 1e-3  # the smallest busy share a TCO takes (TcoInputs.utilization)
# breakdown components of the owned model, in display order; a plain price is one component of its own
COMPONENTS = ("capital", "energy", "hosting", "maintenance", "software")
PRICE_COMPONENT = "gpu_hour_price"
COMPONENT_DESCRIPTIONS = {
    "capital": "depreciation + cost of capital (capital recovery factor on capex net of discounted residual)",
    "energy": "IT kW at the utilization (idle fraction when not busy) x PUE x $/kWh",
    "hosting": "colocation $/kW-month on provisioned IT kW, or the owned building's capex annualised",
    "maintenance": "hardware maintenance, % of capex per year",
    "software": "software licences, $ per GPU-hour",
    PRICE_COMPONENT: "a plain all-in price per GPU-hour (rental or InferenceX tier), used as is",
}
CAPEX_BASIS_UNITS = ("USD per system", "USD per GPU", "fraction of IT capex")
# rule of thumb to check against (the Tensordyne/Recogni tokenomics note)
RULE_OF_THUMB = "capital 50-80% of 5-year spend, energy about 10%, hosting the rest (Tensordyne tokenomics note)"


class TcoInputs(BaseModel):
    """Every input of the TCO model for one GPU, units in the names. ``sources`` maps a field to its citation.
    Defaults are the named defaults of data/tco_presets.yaml ``defaults`` (each with its source), not constants in
    code: an input built without a preset gets the same figures a preset starts from."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    hardware_key: str
    preset: str | None = None
    # a plain price per wall-clock GPU-hour (rental / InferenceX tier); when set it replaces the owned model
    price_usd_per_gpu_hour: float | None = Field(default=None, ge=0, le=1e4)
    # busy fraction of wall-clock hours, at least MIN_UTILIZATION: below it a $ per busy GPU-hour means nothing (a
    # GPU busy 9 hours a year) and grows without bound (1e-300 printed a 300-digit price)
    utilization: float = Field(ge=MIN_UTILIZATION, le=1)
    # capex: server (chip + its share of the system) per GPU, then adders
    capex_usd_per_gpu: float | None = Field(default=None, ge=0, le=1e9)
    networking_capex_fraction: float = Field(
        default_factory=lambda: _default_value("networking_capex_fraction"), ge=0, le=100
    )
    networking_capex_usd_per_gpu: float = Field(
        default_factory=lambda: _default_value("networking_capex_usd_per_gpu"), ge=0, le=1e9
    )
    installation_capex_fraction: float = Field(
        default_factory=lambda: _default_value("installation_capex_fraction"), ge=0, le=100
    )
    installation_capex_usd_per_gpu: float = Field(
        default_factory=lambda: _default_value("installation_capex_usd_per_gpu"), ge=0, le=1e9
    )
    life_years: float = Field(default_factory=lambda: _default_value("life_years"), gt=0, le=100)
    residual_value_fraction: float = Field(
        default_factory=lambda: _default_value("residual_value_fraction"), ge=0, le=1
    )  # of all-in capex, at end of life
    wacc: float = Field(default_factory=lambda: _default_value("wacc"), ge=0, lt=1)  # per year
    # power
    it_kw_per_gpu: float | None = Field(default=None, gt=0, le=1e4)  # provisioned IT power per GPU (incl. host)
    idle_power_fraction: float = Field(
        default_factory=lambda: _default_value("idle_power_fraction"), ge=0, le=1
    )  # of IT power, drawn when not busy
    pue: float = Field(default_factory=lambda: _default_value("pue"), ge=1, le=10)
    all_in_kw_per_gpu: float | None = Field(default=None, gt=0, le=1e4)  # overrides IT x PUE (InferenceX)
    usd_per_kwh: float = Field(default_factory=lambda: _default_value("usd_per_kwh"), ge=0, le=100)
    # facility
    colocation_usd_per_kw_month: float = Field(
        default_factory=lambda: _default_value("colocation_usd_per_kw_month"), ge=0, le=1e6
    )  # on provisioned IT kW
    facility_capex_usd_per_kw: float = Field(
        default_factory=lambda: _default_value("facility_capex_usd_per_kw"), ge=0, le=1e9
    )  # owned building, per kW of IT
    facility_life_years: float = Field(default_factory=lambda: _default_value("facility_life_years"), gt=0, le=200)
    # opex
    maintenance_fraction_per_year: float = Field(
        default_factory=lambda: _default_value("maintenance_fraction_per_year"), ge=0, le=10
    )  # of all-in capex
    software_usd_per_gpu_hour: float = Field(
        default_factory=lambda: _default_value("software_usd_per_gpu_hour"), ge=0, le=1e4
    )  # per wall-clock hour
    # the system bill of materials the capex comes from (data/systems.yaml), line -> USD per GPU (sums to capex)
    system: str | None = None
    capex_lines_usd_per_gpu: dict[str, float] = Field(default_factory=dict)
    sources: dict[str, str] = Field(default_factory=dict)

    def __init__(self, **data):
        try:
            super().__init__(**data)
        except ValidationError as e:
            raise _validation_error(e) from None

    @property
    def is_price(self) -> bool:
        return self.price_usd_per_gpu_hour is not None


# fields a caller may override (tco_inputs(**overrides), CLI flags)
INPUT_FIELDS = tuple(
    f
    for f in TcoInputs.model_fields
    if f not in ("hardware_key", "preset", "sources", "system", "capex_lines_usd_per_gpu")
)

# unit of each input, for display (the name already says it; this spells it out)
FIELD_UNITS: dict[str, str] = {
    "price_usd_per_gpu_hour": "USD per wall-clock GPU-hour",
    "utilization": "fraction of wall-clock hours busy",
    "capex_usd_per_gpu": "USD per GPU (the system bill of materials; or server share before adders)",
    "networking_capex_fraction": "fraction of server capex",
    "networking_capex_usd_per_gpu": "USD per GPU",
    "installation_capex_fraction": "fraction of server capex",
    "installation_capex_usd_per_gpu": "USD per GPU",
    "life_years": "years",
    "residual_value_fraction": "fraction of all-in capex at end of life",
    "wacc": "fraction per year",
    "it_kw_per_gpu": "kW of IT load per GPU (provisioned)",
    "idle_power_fraction": "fraction of IT power drawn when idle",
    "pue": "facility kW / IT kW",
    "all_in_kw_per_gpu": "kW per GPU, all-in (facility)",
    "usd_per_kwh": "USD per kWh",
    "colocation_usd_per_kw_month": "USD per kW of IT per month",
    "facility_capex_usd_per_kw": "USD per kW of IT",
    "facility_life_years": "years",
    "maintenance_fraction_per_year": "fraction of all-in capex per year",
    "software_usd_per_gpu_hour": "USD per wall-clock GPU-hour",
}

PRICE_MODE_FIELDS = ("price_usd_per_gpu_hour", "utilization", "it_kw_per_gpu", "pue", "all_in_kw_per_gpu")
OWNED_MODE_FIELDS = tuple(f for f in INPUT_FIELDS if f not in ("price_usd_per_gpu_hour",))


def _validation_error(e: ValidationError) -> TokenfabError:
    err = e.errors()[0]
    loc = ".".join(str(x) for x in err.get("loc", ())) or "tco input"
    bounds = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}
    finfo = TcoInputs.model_fields.get(str(err.get("loc", ("",))[0]))
    limits = []  # every bound of the field, not only the one violated
    for m in finfo.metadata if finfo else ():
        for k, op in bounds.items():
            if getattr(m, k, None) is not None:
                limits.append(f"{op} {getattr(m, k):g}")
    expected = " and ".join(limits) or None
    if err.get("type") == "extra_forbidden":
        return UnknownKeyError("TCO input", loc, INPUT_FIELDS, field=loc)
    bound_violated = err.get("type") in ("greater_than", "greater_than_equal", "less_than", "less_than_equal")
    msg = (
        "out of range"
        if bound_violated
        else "must be a finite number"
        if err.get("type") == "finite_number"
        else f"invalid value ({err.get('msg', 'not valid')})"
    )
    return TokenfabError(
        msg, field=loc, expected=("a number " + expected) if expected else "a valid value", got=err.get("input")
    )


# ---------------------------------------------------------------------------------------------------------------
# formulas (pure, vectorized)
# ---------------------------------------------------------------------------------------------------------------
def capital_recovery_factor(rate, years):
    """CRF = r(1+r)^n / ((1+r)^n - 1): the level yearly payment that repays 1 $ over n years at rate r (1/n at r=0)."""
    r, n = np.broadcast_arrays(np.asarray(rate, dtype=float), np.asarray(years, dtype=float))
    growth_minus_1 = np.expm1(n * np.log1p(r))  # (1+r)^n - 1, accurate for small r
    with np.errstate(divide="ignore", invalid="ignore"):
        # below 1e-9 per year the rate is zero for money, and the formula loses precision in subnormal floats
        crf = np.where(r > 1e-9, r * (growth_minus_1 + 1.0) / growth_minus_1, 1.0 / n)
    return crf if crf.ndim else float(crf)


def annualized_capital_usd_per_year(capex_usd, residual_usd, rate, years):
    """Level yearly capital charge: (capex - residual / (1+r)^n) x CRF(r, n)."""
    capex_usd, residual_usd, rate, years = (np.asarray(x, dtype=float) for x in (capex_usd, residual_usd, rate, years))
    out = (capex_usd - residual_usd / (1.0 + rate) ** years) * capital_recovery_factor(rate, years)
    return out if np.ndim(out) else float(out)


def depreciation_usd_per_year(capex_usd, residual_usd, years):
    """Straight-line depreciation: (capex - residual) / n."""
    out = (np.asarray(capex_usd, dtype=float) - np.asarray(residual_usd, dtype=float)) / np.asarray(years, dtype=float)
    return out if np.ndim(out) else float(out)


def average_it_kw(it_kw, utilization, idle_power_fraction):
    """Average IT power over wall-clock time: full power while busy, the idle fraction of it otherwise."""
    u = np.asarray(utilization, dtype=float)
    out = np.asarray(it_kw, dtype=float) * (u + (1.0 - u) * np.asarray(idle_power_fraction, dtype=float))
    return out if np.ndim(out) else float(out)


def energy_usd_per_hour(avg_it_kw, pue, usd_per_kwh):
    """Electricity per wall-clock hour: average IT kW x PUE x $/kWh."""
    out = np.asarray(avg_it_kw, dtype=float) * np.asarray(pue, dtype=float) * np.asarray(usd_per_kwh, dtype=float)
    return out if np.ndim(out) else float(out)


def colocation_usd_per_hour(colocation_usd_per_kw_month, it_kw):
    """Colocation rent on provisioned IT kW, per wall-clock hour (a month is 8766/12 h)."""
    out = np.asarray(colocation_usd_per_kw_month, dtype=float) * np.asarray(it_kw, dtype=float) / units.HOURS_PER_MONTH
    return out if np.ndim(out) else float(out)


def facility_usd_per_hour(facility_capex_usd_per_kw, it_kw, rate, facility_life_years):
    """An owned building: capex per kW of IT x IT kW, annualised by CRF(r, facility life), per wall-clock hour."""
    out = (
        np.asarray(facility_capex_usd_per_kw, dtype=float)
        * np.asarray(it_kw, dtype=float)
        * capital_recovery_factor(rate, facility_life_years)
        / units.HOURS_PER_YEAR
    )
    return out if np.ndim(out) else float(out)


def all_in_capex_usd_per_gpu(
    capex_usd_per_gpu, networking_fraction=0.0, installation_fraction=0.0, networking_usd=0.0, installation_usd=0.0
):
    """Server capex x (1 + networking + installation fractions) + fixed adders."""
    out = (
        np.asarray(capex_usd_per_gpu, dtype=float)
        * (1.0 + np.asarray(networking_fraction, dtype=float) + np.asarray(installation_fraction, dtype=float))
        + np.asarray(networking_usd, dtype=float)
        + np.asarray(installation_usd, dtype=float)
    )
    return out if np.ndim(out) else float(out)


# ---------------------------------------------------------------------------------------------------------------
# data: presets, capex table, hardware-derived defaults
# ---------------------------------------------------------------------------------------------------------------
def owned_wallclock_usd_per_hour(
    *,
    capex_all_in_usd,
    residual_value_fraction,
    wacc,
    life_years,
    it_kw,
    utilization,
    idle_power_fraction,
    pue,
    usd_per_kwh,
    colocation_usd_per_kw_month,
    facility_capex_usd_per_kw,
    facility_life_years,
    maintenance_fraction_per_year,
    software_usd_per_gpu_hour,
) -> dict:
    """Owned hardware: $ per wall-clock GPU-hour by component (capital, energy, hosting, maintenance, software).

    Element-wise over NumPy arrays (sensitivity and Monte Carlo pass arrays); divide the sum by utilization for $
    per busy GPU-hour."""
    h = units.HOURS_PER_YEAR
    capex = np.asarray(capex_all_in_usd, dtype=float)
    capital_year = annualized_capital_usd_per_year(capex, np.asarray(residual_value_fraction) * capex, wacc, life_years)
    return {
        "capital": np.asarray(capital_year) / h,
        "energy": energy_usd_per_hour(average_it_kw(it_kw, utilization, idle_power_fraction), pue, usd_per_kwh),
        "hosting": colocation_usd_per_hour(colocation_usd_per_kw_month, it_kw)
        + facility_usd_per_hour(facility_capex_usd_per_kw, it_kw, wacc, facility_life_years),
        "maintenance": np.asarray(maintenance_fraction_per_year) * capex / h,
        "software": np.asarray(software_usd_per_gpu_hour, dtype=float),
    }


def _data_mapping(name: str, keys: tuple[str, ...], what: str) -> dict:
    """A bundled data file that must be a mapping with ``keys`` (an error names the file otherwise)."""
    raw = read_yaml(data_path(name))
    if not isinstance(raw, dict) or any(k not in raw for k in keys):
        raise TokenfabError(f"malformed {what} file (needs {' and '.join(map(repr, keys))})", field=name)
    return raw


@lru_cache(maxsize=1)
def _presets_raw() -> dict:
    return _data_mapping("tco_presets.yaml", ("defaults", "presets"), "TCO presets")


def _default_value(name: str) -> float:
    """The named default of a TCO input (data/tco_presets.yaml ``defaults``)."""
    return float(_presets_raw()["defaults"][name]["value"])


def load_presets() -> dict:
    """The parsed data/tco_presets.yaml: ``defaults``, ``presets``, ``rentals``, ``inferencex``,
    ``host_overhead_factor`` (a copy; every figure is {value, source, as_of})."""
    return copy.deepcopy(_presets_raw())


def spend_years(preset: str | None, method: str, life_years: float) -> float:
    """The horizon of a TCO's life spend: an owned GPU's life; a reservation's term (tco_presets.yaml preset
    ``term_years``: a 1-year contract is not paid for 5 years); one year for on-demand, spot or a quoted price (a
    rental has no asset life)."""
    if method == "owned":
        return life_years
    p = _presets_raw()["presets"].get(preset or "") or {}
    return float(p.get("term_years", 1.0))


def preset_names() -> list[str]:
    return list(_presets_raw()["presets"])


def _cite(fig: dict) -> str:
    src = fig.get("source", "")
    as_of = fig.get("as_of")
    return f"{src} (as of {as_of})" if as_of else src


def inferencex_covered_keys() -> list[str]:
    return list(_presets_raw()["inferencex"]["usd_per_gpu_hour"])


@lru_cache(maxsize=1)
def _utilization_default() -> tuple[float, str]:
    fig = _presets_raw()["defaults"]["utilization"]
    return float(fig["value"]), _cite(fig)


def default_utilization() -> float:
    """The one utilization default (busy share of wall-clock hours) every preset and command uses."""
    return _utilization_default()[0]


def rental_terms() -> list[str]:
    return list(_presets_raw().get("rentals", {}))


def rental_covered_keys(term: str) -> list[str]:
    return list((_presets_raw().get("rentals", {}).get(term)) or {})


def rental_price(term: str, hardware_key: str) -> dict | None:
    """The cited rental figure {value, low, high, source, as_of} of ``hardware_key`` for ``term`` (None if none)."""
    fig = (_presets_raw().get("rentals", {}).get(term) or {}).get(hardware_key)
    return dict(fig) if fig else None


# ---------------------------------------------------------------------------------------------------------------
# system bills of materials (data/systems.yaml)
# ---------------------------------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _systems_raw() -> dict:
    return _data_mapping("systems.yaml", ("lines", "systems"), "systems")


def load_systems() -> dict:
    """A copy of data/systems.yaml: ``lines`` (name -> meaning) and ``systems`` (key -> system)."""
    return copy.deepcopy(_systems_raw())


def system_keys() -> list[str]:
    return list(_systems_raw()["systems"])


CAPEX_LINES = tuple(_systems_raw()["lines"])
CAPEX_LINE_DESCRIPTIONS = dict(_systems_raw()["lines"])


def system_for(hardware_key: str) -> tuple[str, dict] | None:
    """(system key, system) of the bundled system built from ``hardware_key``, or None."""
    for k, s in _systems_raw()["systems"].items():
        if s.get("hardware") == hardware_key:
            return k, s
    return None


@dataclass(frozen=True)
class SystemCapex:
    """A system's capex per GPU from its bill of materials: ``usd_per_gpu`` is None when a line has no public
    figure (``missing`` names it and why)."""

    system: str
    name: str
    gpus: int
    usd_per_gpu: float | None
    lines: dict  # line -> {usd_per_gpu, value, unit, source, as_of, note}
    missing: list  # "line: why"

    def citation(self) -> str:
        return (
            f"system bill of materials {self.system} ({self.name}; data/systems.yaml, lines in tokenfab tco "
            "--breakdown)"
        )


def system_capex_lines(usd_lines: dict, fraction_lines: dict, gpus: int) -> tuple[float, dict]:
    """Capex per GPU of a bill of materials (pure): USD lines per GPU (per-system lines / ``gpus``), then each
    fraction line x their subtotal. Returns (total per GPU, line -> USD per GPU); the lines sum to the total."""
    per_gpu = {k: float(v) for k, v in usd_lines.items()}
    sub = float(sum(per_gpu.values()))
    for k, f in fraction_lines.items():
        per_gpu[k] = float(f) * sub
    return float(sum(per_gpu.values())), per_gpu


def system_capex(system_key: str) -> SystemCapex:
    """The capex per GPU of a bundled system (data/systems.yaml), line by line."""
    systems = _systems_raw()["systems"]
    if system_key not in systems:
        raise UnknownKeyError("system", system_key, systems.keys(), field="system")
    s = systems[system_key]
    gpus = int(s["gpus"])
    usd, frac, info, missing = {}, {}, {}, []
    unitemized = []
    for line in CAPEX_LINES:
        fig = (s.get("capex") or {}).get(line)
        if fig is None:
            unitemized.append(line)
            continue
        unit = fig.get("unit")
        if unit not in CAPEX_BASIS_UNITS:
            raise TokenfabError(
                "unknown capex unit",
                field=f"systems.yaml {system_key}.capex.{line}.unit",
                expected=str(CAPEX_BASIS_UNITS),
            )
        if fig.get("value") is None:
            missing.append(f"{line}: {fig.get('source', 'no public figure')}")
            continue
        v = float(fig["value"])
        if unit == "fraction of IT capex":
            frac[line] = v
        else:
            usd[line] = v / gpus if unit == "USD per system" else v
        info[line] = {k: fig.get(k) for k in ("value", "unit", "source", "as_of", "note") if fig.get(k) is not None}
    if unitemized:
        missing.append(f"{len(unitemized)} more lines not itemized ({', '.join(unitemized)})")
    total, per_gpu = system_capex_lines(usd, frac, gpus)
    for k, v in per_gpu.items():
        info[k]["usd_per_gpu"] = v
    return SystemCapex(system_key, s.get("name", system_key), gpus, None if missing else total, info, missing)


def system_it_kw_per_gpu(system_key: str) -> tuple[float | None, str | None]:
    """Published maximum IT power of a bundled system / its GPUs: (kW, citation), or (None, why)."""
    s = _systems_raw()["systems"][system_key]
    fig = s.get("power_kw_per_system") or {}
    if fig.get("value") is None:
        return None, fig.get("source")
    gpus = int(s["gpus"])
    return float(fig["value"]) / gpus, f"system {system_key} {float(fig['value']):g} kW / {gpus} GPUs: {_cite(fig)}"


def capex_usd_per_gpu_for(hw: HardwareSpec) -> tuple[float | None, str | None]:
    """Capex per GPU: the bundled system's bill of materials (complete, all lines included), else the catalog's system
    price / chips per system, else the catalog chip price x chip_to_server_capex_factor (a bare chip has no server
    around it). Returns (usd, citation) or (None, None)."""
    sysk = system_for(hw.key)
    if sysk is not None:
        sc = system_capex(sysk[0])
        if sc.usd_per_gpu is not None:
            return sc.usd_per_gpu, sc.citation()
        return None, None
    if hw.price_usd_per_system and hw.chips_per_system:
        src = hw.source_of("price_usd_per_system")
        cite = f"catalog price_usd_per_system {hw.price_usd_per_system:,.0f} / chips_per_system {hw.chips_per_system}"
        if src:
            cite += f": {src.source} (as of {src.as_of})"
        return hw.price_usd_per_system / hw.chips_per_system, cite
    if hw.price_usd_per_chip:
        src = hw.source_of("price_usd_per_chip")
        fig = _presets_raw()["chip_to_server_capex_factor"]
        factor = float(fig["value"])
        cite = (
            f"catalog price_usd_per_chip {hw.price_usd_per_chip:,.0f}"
            + (f" ({src.source}, as of {src.as_of})" if src else "")
            + f" x chip_to_server_capex_factor {factor:g}: {_cite(fig)}"
        )
        return float(hw.price_usd_per_chip) * factor, cite
    return None, None


def it_kw_per_gpu_for(hw: HardwareSpec) -> tuple[float | None, str | None]:
    """Provisioned IT kW per GPU: the bundled system's published power / its GPUs, else the catalog's rack IT kW /
    chips per rack (includes rack switches and power shelves), else node IT kW / chips per node, else an estimate,
    TDP x host_overhead_factor (the citation says so). Returns (kW, citation) or (None, None)."""

    def _src(f):
        s = hw.source_of(f)
        return f": {s.source} (as of {s.as_of})" if s else ""

    sysk = system_for(hw.key)
    if sysk is not None:
        kw, cite = system_it_kw_per_gpu(sysk[0])
        if kw is not None:
            return kw, cite
    if hw.rack_it_power_kw:
        return hw.rack_it_power_kw / hw.chips_per_rack, (
            f"catalog rack_it_power_kw {hw.rack_it_power_kw:g} / chips_per_rack {hw.chips_per_rack}"
            f"{_src('rack_it_power_kw')}"
        )
    if hw.node_it_power_kw:
        return hw.node_it_power_kw / hw.chips_per_node, (
            f"catalog node_it_power_kw {hw.node_it_power_kw:g} / chips_per_node {hw.chips_per_node}"
            f"{_src('node_it_power_kw')}"
        )
    if hw.tdp_w:
        fig = _presets_raw()["host_overhead_factor"]
        factor = float(fig["value"])
        return hw.tdp_w / units.KW * factor, (
            f"[estimate from the TDP, no published system power] catalog tdp_w {hw.tdp_w:g}{_src('tdp_w')} x "
            f"host_overhead_factor {factor:g}: {_cite(fig)}"
        )
    return None, None


# ---------------------------------------------------------------------------------------------------------------
# building inputs from a preset
# ---------------------------------------------------------------------------------------------------------------
def _check_preset(preset: str) -> dict:
    presets = _presets_raw()["presets"]
    key = str(preset).strip().lower()
    if key not in presets:
        raise UnknownKeyError("preset", str(preset), presets.keys(), field="preset")
    return presets[key]


def check_price_and_preset(preset: str | None, usd_per_gpu_hour=None, overrides: dict | None = None) -> None:
    """Contradictions are errors, not silent choices: a plain price per GPU-hour with an owned-cost preset (whose
    cost model the price replaces), or a price (given, or a rented or InferenceX preset's) with an owned-cost input
    the price makes irrelevant (capex, life, WACC, ...). A price with a rented or InferenceX preset replaces the
    preset's cited price (the quote you have; the preset's other conventions, e.g. InferenceX's utilization 1 and
    all-in kW, still apply)."""
    overrides = dict(overrides or {})
    if usd_per_gpu_hour is not None:
        overrides["price_usd_per_gpu_hour"] = usd_per_gpu_hour
    kind = _check_preset(preset).get("kind") if preset is not None else None
    price = "price_usd_per_gpu_hour" in overrides
    if price and kind == "owned":
        raise TokenfabError(
            f"a plain price per GPU-hour and the owned-cost preset {str(preset)!r} contradict each other (the price "
            "replaces the preset's cost model)",
            field="price_usd_per_gpu_hour",
            expected="a price or an owned-* preset, not both",
            got=overrides["price_usd_per_gpu_hour"],
        )
    if price or kind in ("rented", "inferencex"):
        unused = [k for k in overrides if k not in PRICE_MODE_FIELDS]
        if unused:
            what = (
                f"the price of the {kind} preset {str(preset)!r}"
                if kind and not price
                else "a plain price per GPU-hour"
            )
            raise TokenfabError(
                f"has no effect with {what} (a price per GPU-hour already includes capital, power and hosting)",
                field=unused[0],
                expected="owned-cost inputs only without a price per GPU-hour (an owned-* preset)",
                got=overrides[unused[0]],
            )


def tco_inputs(hardware, preset: str | None = None, *, hardware_files=None, **overrides) -> TcoInputs:
    """TcoInputs for one GPU of ``hardware`` (a key or a HardwareSpec) from ``preset`` (default ``owned-neocloud``),
    with ``overrides`` (TcoInputs field names; None values are ignored) taking precedence. Every value keeps its
    citation in ``sources``."""
    hw = get_hardware(hardware, hardware_files)
    preset_name = str(preset).strip().lower() if preset is not None else DEFAULT_PRESET
    p = _check_preset(preset_name)
    overrides = {k: v for k, v in overrides.items() if v is not None}
    for k, v in overrides.items():
        if k not in INPUT_FIELDS:
            raise UnknownKeyError("TCO input", k, INPUT_FIELDS, field=k)
        if not is_number(v):  # text, a bool, a list: not a number (NaN and inf are refused by TcoInputs)
            raise TokenfabError("not a number", field=k, expected="a number", got=v)
    check_price_and_preset(preset, overrides=overrides)

    raw = _presets_raw()
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for name, fig in raw["defaults"].items():
        values[name] = fig["value"]
        sources[name] = "default: " + _cite(fig)
    for name, fig in (p.get("values") or {}).items():
        values[name] = fig["value"]
        sources[name] = f"{preset_name}: " + _cite(fig)

    it_kw, it_src = it_kw_per_gpu_for(hw)
    if it_kw is not None:
        values["it_kw_per_gpu"] = it_kw
        sources["it_kw_per_gpu"] = cast(str, it_src)  # a figure always comes with its citation

    kind = p.get("kind")
    if kind == "inferencex":
        ix = raw["inferencex"]
        tier = p["tier"]
        if hw.key not in ix["usd_per_gpu_hour"] and "price_usd_per_gpu_hour" not in overrides:
            raise TokenfabError(
                f"preset {preset_name!r} has no price for hardware {hw.key!r}",
                field="preset",
                expected="hardware covered by InferenceX: " + ", ".join(ix["usd_per_gpu_hour"]),
                got=hw.key,
                hint="use an owned-* or rent-* preset or give --usd-per-gpu-hour",
            )
        ix_cite = _cite(ix)
        if hw.key in ix["usd_per_gpu_hour"]:
            values["price_usd_per_gpu_hour"] = float(ix["usd_per_gpu_hour"][hw.key][tier])
            sources["price_usd_per_gpu_hour"] = f"InferenceX tier {tier!r}: {ix_cite}"
        if hw.key in ix["all_in_kw_per_gpu"]:
            values["all_in_kw_per_gpu"] = float(ix["all_in_kw_per_gpu"][hw.key])
            sources["all_in_kw_per_gpu"] = f"InferenceX all-in kW per GPU: {ix_cite}"
        values["utilization"] = 1.0
        sources["utilization"] = (
            "InferenceX convention (inferencex-* presets only, to reproduce its numbers): $/GPU-hour divided by the "
            "benchmark throughput, i.e. the GPU-hour is fully used"
        )
    elif kind == "rented":
        term = p["term"]
        fig = rental_price(term, hw.key)
        if fig is None and "price_usd_per_gpu_hour" not in overrides:
            raise TokenfabError(
                f"preset {preset_name!r} has no cited {term} price for hardware {hw.key!r}",
                field="preset",
                expected=f"hardware with a cited {term} price: " + ", ".join(rental_covered_keys(term)),
                got=hw.key,
                hint="give the price you are quoted with --usd-per-gpu-hour, or another preset",
            )
        if fig is not None:
            values["price_usd_per_gpu_hour"] = float(fig["value"])
            rng = f"range {fig['low']:g}-{fig['high']:g} $/GPU-h; " if "low" in fig and "high" in fig else ""
            sources["price_usd_per_gpu_hour"] = f"{preset_name} ({term}): {rng}{_cite(fig)}"
    else:
        sysk = system_for(hw.key)
        if sysk is not None:
            sc = system_capex(sysk[0])
            values["system"] = sc.system
            if sc.usd_per_gpu is not None and "capex_usd_per_gpu" not in overrides:
                values["capex_usd_per_gpu"] = sc.usd_per_gpu
                values["capex_lines_usd_per_gpu"] = {k: v["usd_per_gpu"] for k, v in sc.lines.items()}
                sources["capex_usd_per_gpu"] = sc.citation()
            for f in ("networking_capex_fraction", "installation_capex_fraction"):
                values[f] = 0.0
                sources[f] = f"0: the system bill of materials {sc.system} has its own lines (data/systems.yaml)"
        else:
            capex, capex_src = capex_usd_per_gpu_for(hw)
            if capex is not None:
                values["capex_usd_per_gpu"] = capex
                sources["capex_usd_per_gpu"] = cast(str, capex_src)  # a figure always comes with its citation

    for k, v in overrides.items():
        values[k] = v
        sources[k] = "user"
    return TcoInputs(hardware_key=hw.key, preset=preset_name, sources=sources, **values)


# ---------------------------------------------------------------------------------------------------------------
# result
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TcoResult:
    """$ per GPU-hour with its breakdown. ``usd_per_gpu_hour`` is per busy (useful) GPU-hour at the utilization;
    ``usd_per_gpu_hour_wallclock`` per calendar hour. ``breakdown`` (component -> $ per busy GPU-hour) sums to
    ``usd_per_gpu_hour``; ``shares`` are each component's share of life spend (sum to 1)."""

    hardware_key: str
    preset: str | None
    method: str  # "owned" or "price"
    usd_per_gpu_hour: float
    usd_per_gpu_hour_wallclock: float
    utilization: float
    breakdown: dict[str, float]
    breakdown_wallclock: dict[str, float]
    capital_split: dict[str, float]  # depreciation / cost_of_capital, $ per busy GPU-hour; sums to breakdown capital
    shares: dict[str, float]
    life_years: float
    life_spend_usd_per_gpu: float
    capex_usd_per_gpu_all_in: float | None
    it_kw_per_gpu: float | None
    all_in_kw_per_gpu: float | None
    avg_it_kw_per_gpu: float | None
    inputs: TcoInputs
    sources: dict[str, str]
    notes: list[str] = field(default_factory=list)
    system: str | None = None  # the bill of materials in data/systems.yaml the capex comes from
    capex_lines: list = field(default_factory=list)  # capex_line_breakdown rows (owned, with a bill of materials)
    preset_defaulted: bool = False  # no preset was given: the default one (DEFAULT_PRESET) priced it

    @property
    def utilization_basis(self) -> str:
        """The utilization this price assumes, in words (every capacity price states it)."""
        src = self.inputs.sources.get("utilization", "")
        if src.startswith("default"):
            why = "the named default, defaults.utilization in data/tco_presets.yaml (source in `sources`)"
        elif src == "user":
            why = "given"
        elif "InferenceX" in src:
            why = "InferenceX's convention, inferencex-* presets only"
        else:
            why = src.split(":")[0]
        return f"per busy GPU-hour at utilization {self.utilization:g} ({why})"

    def to_dict(self) -> dict:
        return {
            "hardware": self.hardware_key,
            "preset": self.preset,
            "preset_defaulted": self.preset_defaulted,
            "method": self.method,
            "usd_per_gpu_hour": self.usd_per_gpu_hour,
            "usd_per_gpu_hour_wallclock": self.usd_per_gpu_hour_wallclock,
            "usd_per_gpu_hour_definition": "USD per busy (useful) GPU-hour = wall-clock cost per hour / utilization",
            "utilization": self.utilization,
            "utilization_basis": self.utilization_basis,
            "system": self.system,
            "capex_lines": [dict(x) for x in self.capex_lines],
            "breakdown": dict(self.breakdown),
            "breakdown_wallclock": dict(self.breakdown_wallclock),
            "capital_split": dict(self.capital_split),
            "shares": dict(self.shares),
            "life_years": self.life_years,
            "life_spend_usd_per_gpu": self.life_spend_usd_per_gpu,
            "capex_usd_per_gpu_all_in": self.capex_usd_per_gpu_all_in,
            "it_kw_per_gpu": self.it_kw_per_gpu,
            "all_in_kw_per_gpu": self.all_in_kw_per_gpu,
            "avg_it_kw_per_gpu": self.avg_it_kw_per_gpu,
            "inputs": {k: v for k, v in self.inputs.model_dump().items() if k != "sources"},
            "units": dict(FIELD_UNITS),
            "sources": dict(self.sources),
            "rule_of_thumb": RULE_OF_THUMB,
            "notes": list(self.notes),
        }


def capex_line_breakdown(
    lines_usd_per_gpu: dict, capex_all_in_usd, capital_wallclock, maintenance_wallclock, u
) -> list:
    """Each capex line's USD per GPU, share of capex and the capital + maintenance $ per busy GPU-hour it carries
    (both are proportional to capex). Lines are rescaled to the capex actually used (a varied capex keeps its mix);
    the rows sum to the capex and to the capital and maintenance components."""
    tot = float(sum(lines_usd_per_gpu.values()))
    if tot <= 0 or not capex_all_in_usd:
        return []
    k = float(capex_all_in_usd) / tot
    out = []
    for name, usd in lines_usd_per_gpu.items():
        share = float(usd) / tot
        out.append(
            {
                "line": name,
                "description": CAPEX_LINE_DESCRIPTIONS.get(name, ""),
                "usd_per_gpu": float(usd) * k,
                "share_of_capex": share,
                "capital_usd_per_gpu_hour": share * float(capital_wallclock) / u,
                "maintenance_usd_per_gpu_hour": share * float(maintenance_wallclock) / u,
            }
        )
    return out


def _no_capex_hint(inputs: TcoInputs) -> str:
    base = (
        "give a capex (--capex-usd-per-gpu, or capex_usd_per_gpu= in Python), a rented preset (--preset "
        "rent-on-demand, rent-reserved-1y, rent-reserved-3y, rent-spot) or a price (--usd-per-gpu-hour)"
    )
    if inputs.system:
        sc = system_capex(inputs.system)
        return (
            f"the bill of materials of {sc.system} ({sc.name}, data/systems.yaml) has no public figure for "
            + "; ".join(sc.missing)
            + ": tokenfab does not invent one; "
            + base
            + " (all-in USD per GPU)"
        )
    return (
        base + "; for a --hardware-file chip, price_usd_per_chip or price_usd_per_system (docs/hardware.md). Bundled "
        "systems with a complete bill of materials: "
        + ", ".join(s for s in system_keys() if system_capex(s).usd_per_gpu is not None)
    )


def _kw(inputs: TcoInputs, notes: list[str]) -> tuple[float | None, float | None]:
    kw_it = inputs.it_kw_per_gpu
    kw_all_in = inputs.all_in_kw_per_gpu
    if kw_all_in is None and kw_it is not None:
        kw_all_in = kw_it * inputs.pue
    elif kw_all_in is not None:
        if kw_it is None:
            kw_it = kw_all_in / inputs.pue
            notes.append(f"IT kW per GPU not known: taken as all-in kW / PUE = {kw_all_in:g} / {inputs.pue:g}")
        notes.append("all-in kW per GPU is the given figure (not IT kW x PUE)")
    return kw_it, kw_all_in


def compute_tco(inputs: TcoInputs) -> TcoResult:
    """$ per GPU-hour from TcoInputs (pure: every number comes from ``inputs``)."""
    notes: list[str] = []
    u = inputs.utilization
    kw_it, kw_all_in = _kw(inputs, notes)
    capital_split = {"depreciation": 0.0, "cost_of_capital": 0.0}

    if inputs.is_price:
        method = "price"
        wall = {c: 0.0 for c in COMPONENTS}
        wall[PRICE_COMPONENT] = float(cast(float, inputs.price_usd_per_gpu_hour))  # is_price: not None
        capex_all_in = None
        avg_kw = average_it_kw(kw_it, u, inputs.idle_power_fraction) if kw_it is not None else None
        notes.append("plain price per wall-clock GPU-hour used as is (all-in: capital, power, hosting inside it)")
    else:
        method = "owned"
        if inputs.capex_usd_per_gpu is None:
            raise TokenfabError(
                f"no capex per GPU for hardware {inputs.hardware_key!r}",
                field="capex_usd_per_gpu",
                hint=_no_capex_hint(inputs),
            )
        if kw_it is None:
            raise TokenfabError(
                f"no IT power per GPU for hardware {inputs.hardware_key!r} (no published system power, no rack/node "
                "power or TDP in the catalog)",
                field="it_kw_per_gpu",
                hint="give --it-kw-per-gpu (provisioned kW of IT load per GPU)",
            )
        capex_all_in = all_in_capex_usd_per_gpu(
            inputs.capex_usd_per_gpu,
            inputs.networking_capex_fraction,
            inputs.installation_capex_fraction,
            inputs.networking_capex_usd_per_gpu,
            inputs.installation_capex_usd_per_gpu,
        )
        residual = inputs.residual_value_fraction * capex_all_in
        h = units.HOURS_PER_YEAR
        capital_year = annualized_capital_usd_per_year(capex_all_in, residual, inputs.wacc, inputs.life_years)
        depreciation_year = depreciation_usd_per_year(capex_all_in, residual, inputs.life_years)
        avg_kw = average_it_kw(kw_it, u, inputs.idle_power_fraction)
        wall = owned_wallclock_usd_per_hour(
            capex_all_in_usd=capex_all_in,
            residual_value_fraction=inputs.residual_value_fraction,
            wacc=inputs.wacc,
            life_years=inputs.life_years,
            it_kw=kw_it,
            utilization=u,
            idle_power_fraction=inputs.idle_power_fraction,
            pue=inputs.pue,
            usd_per_kwh=inputs.usd_per_kwh,
            colocation_usd_per_kw_month=inputs.colocation_usd_per_kw_month,
            facility_capex_usd_per_kw=inputs.facility_capex_usd_per_kw,
            facility_life_years=inputs.facility_life_years,
            maintenance_fraction_per_year=inputs.maintenance_fraction_per_year,
            software_usd_per_gpu_hour=inputs.software_usd_per_gpu_hour,
        )
        capital_split = {
            "depreciation": depreciation_year / h / u,
            "cost_of_capital": (capital_year - depreciation_year) / h / u,
        }
        if inputs.all_in_kw_per_gpu is not None:
            notes.append("energy uses IT kW x PUE; the given all-in kW is reported for tokens per MW only")

    total_wall = float(sum(wall.values()))
    if method == "owned" and inputs.system and not inputs.capex_lines_usd_per_gpu:
        notes.append(
            f"capex is the given all-in USD per GPU; the bill of materials of {inputs.system} (data/systems.yaml) "
            "is not used"
        )
    lines = (
        capex_line_breakdown(inputs.capex_lines_usd_per_gpu, capex_all_in, wall["capital"], wall["maintenance"], u)
        if method == "owned" and inputs.capex_lines_usd_per_gpu
        else []
    )
    breakdown = {k: float(v) / u for k, v in wall.items()}
    shares = {k: (float(v) / total_wall if total_wall > 0 else 0.0) for k, v in wall.items()}
    notes.append(f"usd_per_gpu_hour is per busy GPU-hour: wall-clock {total_wall:.4f} / utilization {u:g}")
    if method == "owned" and total_wall > 0:
        notes.append(
            f"capital is {shares['capital']:.0%} and energy {shares['energy']:.0%} of life spend "
            f"(rule of thumb: {RULE_OF_THUMB})"
        )
    horizon_years = spend_years(inputs.preset, method, inputs.life_years)
    used = set(PRICE_MODE_FIELDS if method == "price" else OWNED_MODE_FIELDS)
    sources = {k: v for k, v in inputs.sources.items() if k in used}
    return TcoResult(
        hardware_key=inputs.hardware_key,
        preset=inputs.preset,
        method=method,
        usd_per_gpu_hour=total_wall / u,
        usd_per_gpu_hour_wallclock=total_wall,
        utilization=u,
        breakdown=breakdown,
        breakdown_wallclock={k: float(v) for k, v in wall.items()},
        capital_split=capital_split,
        shares=shares,
        life_years=horizon_years,
        life_spend_usd_per_gpu=total_wall * units.HOURS_PER_YEAR * horizon_years,
        capex_usd_per_gpu_all_in=capex_all_in,
        it_kw_per_gpu=kw_it,
        all_in_kw_per_gpu=kw_all_in,
        avg_it_kw_per_gpu=avg_kw,
        inputs=inputs,
        sources=sources,
        system=inputs.system,
        capex_lines=lines,
        notes=notes,
    )


def power_kw_per_gpu(
    hardware, preset: str | None = None, usd_per_gpu_hour: float | None = None, *, hardware_files=None, **overrides
) -> tuple[float | None, float | None]:
    """(IT kW, all-in kW) per GPU of the TCO inputs ``tco`` would use, without pricing them: the power is known where
    the capex is not (an MI355X has a cited system power and no public price), and a power budget or tokens/s per MW
    needs only it. (None, None) where the inputs themselves cannot be built."""
    if usd_per_gpu_hour is not None:
        overrides["price_usd_per_gpu_hour"] = usd_per_gpu_hour
    try:
        inputs = tco_inputs(hardware, preset, hardware_files=hardware_files, **overrides)
    except TokenfabError:
        return None, None
    return _kw(inputs, [])


def tco(
    hardware, preset: str | None = None, usd_per_gpu_hour: float | None = None, *, hardware_files=None, **overrides
) -> TcoResult:
    """Convenience: ``compute_tco(tco_inputs(...))``. ``usd_per_gpu_hour`` is a plain price per wall-clock GPU-hour
    that replaces the owned model (utilization 1 unless given)."""
    if usd_per_gpu_hour is not None:
        overrides["price_usd_per_gpu_hour"] = usd_per_gpu_hour
    result = compute_tco(tco_inputs(hardware, preset, hardware_files=hardware_files, **overrides))
    if preset is None:
        result.notes.insert(0, DEFAULT_PRESET_NOTE)
        result = dataclasses.replace(result, preset_defaulted=True)
    return result
