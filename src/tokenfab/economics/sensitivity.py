"""Sensitivity of the cost per token to its inputs: a tornado (one input at a time, +/- X %) and a Monte Carlo
(every input drawn from a named distribution at once). Pure functions; the cost comes from tokenfab.economics.tco and
tokenfab.economics.cost, never from a formula of its own.

- $ per M tokens = cost.usd_per_mtok(tco $ per busy GPU-hour, total tokens/s per GPU) (InferenceX definition).
- Tornado: each input of :class:`tco.TcoInputs` that is not zero, plus the throughput, is set to base x (1 - s) and
  base x (1 + s) (s = swing_pct / 100) with every other input at its base; the cost is recomputed with
  ``tco.compute_tco`` + ``cost.usd_per_mtok``. Values are clipped to the input's bounds (utilization <= 1, PUE >= 1,
  fractions <= 1, WACC < 1) and the bar says so. Bars are sorted by swing (|high - low| in $/M), largest first.
- Monte Carlo: n draws of every input from its distribution (:data:`DEFAULT_DISTRIBUTIONS`, relative to the base value
  unless ``relative=False``), seeded (``numpy.random.default_rng(seed)``), vectorized: the $ per GPU-hour of all
  draws at once through the same pure functions of tco.py that compute_tco composes (see
  :func:`usd_per_gpu_hour_vectorized`; a test checks it equals compute_tco). Percentiles p5/p50/p95 of $/M tokens; with
  a price, of the gross margin (price - cost, $ per M tokens and % of price) and the probability of a loss.
- Performance model error: the throughput is a model's figure with an out-of-sample error band (perf/uncertainty.py:
  the p10-p90 of ln(measured / predicted) of the nearest data bucket, widened where data are thin or the profile is a
  prior). The tornado shows it as one bar, "performance model error (p10-p90)": the cost at the band's two ends. The
  Monte Carlo draws the throughput multiplier from a lognormal matched to the band (median exp((ln lo + ln hi) / 2),
  sigma ln(hi / lo) / (2 x 1.2816), so its p10 and p90 are the band's factors): one draw per sample, applied to the
  whole sample (a cost over months would use the same draw in every month: the model's error does not change from
  month to month), so P(loss) and the cost percentiles include the model's own uncertainty. The band is the operating
  point's (``throughput_band``) or, without one, the hardware's with its default engine (:func:`model_error_band`);
  ``model_error=False`` leaves it out (the throughput then stays at its modelled value unless a distribution is
  given for it).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, cast

import numpy as np

from tokenfab.core import assumptions
from tokenfab.core.data import data_path, read_yaml
from tokenfab.core.errors import TokenfabError, UnknownKeyError
from tokenfab.core.inputs import check_inputs
from tokenfab.economics import cost as costmod
from tokenfab.economics import tco as tcomod

THROUGHPUT = "tokens_per_s_per_gpu"
THROUGHPUT_UNIT = "total (input + output) tokens/s per GPU, busy"
MODEL_ERROR = "performance_model_error"
MODEL_ERROR_LABEL = "performance model error (p10-p90)"
MODEL_ERROR_UNIT = "x the modelled throughput"
DEFAULT_SWING_PCT = assumptions.value("sensitivity", "swing_pct")  # data/assumptions.yaml, cited there
DEFAULT_N = 10_000
PERCENTILES = (5, 50, 95)

# inputs the tornado and Monte Carlo vary, owned-cost model (TcoInputs field names); zero-valued ones are skipped
OWNED_INPUTS = (
    "utilization",
    "usd_per_kwh",
    "pue",
    "capex_usd_per_gpu",
    "life_years",
    "wacc",
    "colocation_usd_per_kw_month",
    "residual_value_fraction",
    "maintenance_fraction_per_year",
    "idle_power_fraction",
    "it_kw_per_gpu",
    "networking_capex_fraction",
    "installation_capex_fraction",
    "networking_capex_usd_per_gpu",
    "installation_capex_usd_per_gpu",
    "facility_capex_usd_per_kw",
    "facility_life_years",
    "software_usd_per_gpu_hour",
)
# a plain price per GPU-hour (rental, InferenceX tier): only the price and the utilization act on the cost
PRICE_INPUTS = ("price_usd_per_gpu_hour", "utilization")

# bounds of each input (inclusive unless named in OPEN_UPPER); the tornado and Monte Carlo clip to them
UPPER_BOUNDS = {"utilization": 1.0, "residual_value_fraction": 1.0, "idle_power_fraction": 1.0, "wacc": 0.999}
LOWER_BOUNDS = {"pue": 1.0}
# strictly positive inputs (TcoInputs gt=0): the tornado never swings them to or below zero (swing < 100 %)
POSITIVE_INPUTS = ("utilization", "life_years", "it_kw_per_gpu", "facility_life_years", THROUGHPUT)

# plain-language label of each input (the field name keeps the unit)
LABELS = {
    "utilization": "utilization",
    "usd_per_kwh": "electricity price",
    "pue": "PUE",
    "capex_usd_per_gpu": "capex",
    "life_years": "depreciation life",
    "wacc": "cost of capital (WACC)",
    "colocation_usd_per_kw_month": "colocation rent",
    "residual_value_fraction": "residual value",
    "maintenance_fraction_per_year": "maintenance",
    "idle_power_fraction": "idle power",
    "it_kw_per_gpu": "IT power per GPU",
    "networking_capex_fraction": "networking capex",
    "installation_capex_fraction": "installation capex",
    "networking_capex_usd_per_gpu": "networking adder",
    "installation_capex_usd_per_gpu": "installation adder",
    "facility_capex_usd_per_kw": "facility capex",
    "facility_life_years": "facility life",
    "software_usd_per_gpu_hour": "software licences",
    "price_usd_per_gpu_hour": "GPU-hour price",
    THROUGHPUT: "throughput",
    MODEL_ERROR: MODEL_ERROR_LABEL,
}


def unit_of(name: str) -> str:
    if name == MODEL_ERROR:
        return MODEL_ERROR_UNIT
    return THROUGHPUT_UNIT if name == THROUGHPUT else tcomod.FIELD_UNITS.get(name, "")


# ---------------------------------------------------------------------------------------------------------------
# the performance model's error band (perf/uncertainty.py)
# ---------------------------------------------------------------------------------------------------------------
def model_error_band(hardware, *, engine=None, model=None, hardware_files=None, calibration=None) -> dict | None:
    """The throughput band of ``hardware`` served by ``engine`` (default: the hardware's) for ``model`` (a key or
    None: any model class), from the calibration profile's cross-validation table: {lo, hi, bucket, rows, rule,
    prior, note, source}; None without a table."""
    from tokenfab.catalog.calibration import load_profile
    from tokenfab.catalog.engines import resolve_engine
    from tokenfab.catalog.hardware import get_hardware
    from tokenfab.catalog.models import get_model
    from tokenfab.perf import uncertainty as unc

    hw = get_hardware(hardware, hardware_files)
    eng = resolve_engine(engine, hw)
    prof = load_profile(calibration)
    st = prof.status_for(hw, eng.key).to_dict()
    mclass = unc.model_class(get_model(model)) if model is not None else "*"
    b = unc.band_factors(
        prof.uncertainty or {},
        "throughput",
        st["hardware_family"],
        eng.key,
        mclass,
        "*",
        unc.rests_on_prior(st, "throughput", mclass),
    )
    if b is None:
        return None
    unc.annotate_status(hw.key, st, prof.uncertainty or {}, mclass)
    return {
        "lo": b["lo"],
        "hi": b["hi"],
        "bucket": b["bucket"],
        "rows": b["n"],
        "rule": b["rule"],
        "prior": st["prior"],
        "note": st["note"],
        "source": f"{hw.key} with the {eng.key} engine"
        + (f", {model}" if model is not None else ", any model class")
        + f" (calibration bucket {b['bucket']}, {b['n']} rows)",
    }


def check_band(band, field_name: str = "throughput_band") -> dict:
    """A throughput band given as (lo, hi) or {lo, hi, ...}: finite factors with 0 < lo <= hi."""
    lo: Any  # the caller's values, checked below
    hi: Any
    if isinstance(band, Mapping):
        lo, hi = band.get("lo"), band.get("hi")
        extra = {k: v for k, v in band.items() if k not in ("lo", "hi")}
    else:
        try:
            lo, hi = band
        except (TypeError, ValueError):
            raise TokenfabError(
                "a band is (lo, hi) factors", field=field_name, expected="(lo, hi) with 0 < lo <= hi", got=band
            ) from None
        extra = {}
    for name, v in (("lo", lo), ("hi", hi)):
        ok = isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and 0 < v < 1e6
        if not ok:
            raise TokenfabError("must be a finite factor > 0", field=f"{field_name}.{name}", got=v)
    if lo > hi:
        raise TokenfabError("lo must not exceed hi", field=field_name, expected="lo <= hi", got={"lo": lo, "hi": hi})
    return {**extra, "lo": float(lo), "hi": float(hi)}


def _band_for(hardware, throughput_band, hardware_files) -> dict | None:
    if throughput_band is not None:
        return {"source": "the operating point's throughput band", **check_band(throughput_band)}
    return model_error_band(hardware, hardware_files=hardware_files)


def clip_to_bounds(name: str, value):
    """Clip a value (scalar or array) of input ``name`` to its bounds; returns (clipped, was_clipped)."""
    v = np.asarray(value, dtype=float)
    lo, hi = LOWER_BOUNDS.get(name, 0.0), UPPER_BOUNDS.get(name, np.inf)
    out = np.clip(v, lo, hi)
    clipped = out != v
    return (float(out), bool(clipped)) if out.ndim == 0 else (out, clipped)


# ---------------------------------------------------------------------------------------------------------------
# the cost path (library calls only)
# ---------------------------------------------------------------------------------------------------------------
def base_inputs(
    hardware, preset: str | None = None, tco_overrides: Mapping[str, Any] | None = None, hardware_files=None
) -> tcomod.TcoInputs:
    """The TcoInputs the analysis starts from: ``tco.tco_inputs(hardware, preset, **tco_overrides)``."""
    return tcomod.tco_inputs(hardware, preset, hardware_files=hardware_files, **dict(tco_overrides or {}))


def varied_inputs(inputs: tcomod.TcoInputs) -> tuple[str, ...]:
    """The TCO inputs that act on the cost for this method (owned or plain price)."""
    return PRICE_INPUTS if inputs.is_price else OWNED_INPUTS


def acts_on_cost(inputs: tcomod.TcoInputs, name: str) -> bool:
    """Whether varying ``name`` can change the cost at this base (zero-valued inputs and the facility life without
    facility capex cannot)."""
    if name == THROUGHPUT:
        return True
    b = getattr(inputs, name)
    if b is None or b == 0:
        return False
    return not (name == "facility_life_years" and not inputs.facility_capex_usd_per_kw)


def with_value(inputs: tcomod.TcoInputs, name: str, value: float) -> tcomod.TcoInputs:
    """A copy of ``inputs`` with one field replaced (validated by TcoInputs)."""
    d = inputs.model_dump()
    d[name] = float(value)
    return tcomod.TcoInputs(**d)


def usd_per_mtok_at(inputs: tcomod.TcoInputs, tokens_per_s_per_gpu: float) -> float:
    """$ per M tokens = cost.usd_per_mtok(compute_tco(inputs).usd_per_gpu_hour, tokens/s per GPU)."""
    return float(costmod.usd_per_mtok(tcomod.compute_tco(inputs).usd_per_gpu_hour, tokens_per_s_per_gpu))


def _it_kw(inputs: tcomod.TcoInputs, pue):
    if inputs.it_kw_per_gpu is not None:
        return inputs.it_kw_per_gpu
    if inputs.all_in_kw_per_gpu is not None:  # compute_tco's fallback: all-in / PUE
        return inputs.all_in_kw_per_gpu / np.asarray(pue, dtype=float)
    return None


def usd_per_gpu_hour_vectorized(inputs: tcomod.TcoInputs, draws: Mapping[str, np.ndarray] | None = None):
    """$ per busy GPU-hour for arrays of inputs: ``draws`` maps TcoInputs field names to arrays (the others stay at
    ``inputs``). Calls tco.owned_wallclock_usd_per_hour, the function tco.compute_tco uses, divided by utilization."""
    draws = dict(draws or {})

    def v(name):
        x = draws.get(name)
        return np.asarray(getattr(inputs, name) if x is None else x, dtype=float)

    u = v("utilization")
    if inputs.is_price:
        return v("price_usd_per_gpu_hour") / u
    if inputs.capex_usd_per_gpu is None:
        tcomod.compute_tco(inputs)  # raises the library's own error (no capex)
    pue = v("pue")
    kw_it = v("it_kw_per_gpu") if "it_kw_per_gpu" in draws else _it_kw(inputs, pue)
    if kw_it is None:
        tcomod.compute_tco(inputs)  # raises the library's own error (no IT power)
    capex = tcomod.all_in_capex_usd_per_gpu(
        v("capex_usd_per_gpu"),
        v("networking_capex_fraction"),
        v("installation_capex_fraction"),
        v("networking_capex_usd_per_gpu"),
        v("installation_capex_usd_per_gpu"),
    )
    parts = tcomod.owned_wallclock_usd_per_hour(
        capex_all_in_usd=capex,
        residual_value_fraction=v("residual_value_fraction"),
        wacc=v("wacc"),
        life_years=v("life_years"),
        it_kw=kw_it,
        utilization=u,
        idle_power_fraction=v("idle_power_fraction"),
        pue=pue,
        usd_per_kwh=v("usd_per_kwh"),
        colocation_usd_per_kw_month=v("colocation_usd_per_kw_month"),
        facility_capex_usd_per_kw=v("facility_capex_usd_per_kw"),
        facility_life_years=v("facility_life_years"),
        maintenance_fraction_per_year=v("maintenance_fraction_per_year"),
        software_usd_per_gpu_hour=v("software_usd_per_gpu_hour"),
    )
    wall = sum(np.asarray(x, dtype=float) for x in parts.values())
    return np.asarray(wall, dtype=float) / u


# ---------------------------------------------------------------------------------------------------------------
# tornado
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TornadoBar:
    input: str
    label: str
    unit: str
    base_value: float
    low_value: float
    high_value: float
    usd_per_mtok_low: float  # cost with the input at low_value
    usd_per_mtok_high: float  # cost with the input at high_value
    clipped: str | None = None  # what was clipped, and to what

    @property
    def swing_usd_per_mtok(self) -> float:
        return abs(self.usd_per_mtok_high - self.usd_per_mtok_low)

    def to_dict(self) -> dict:
        return {
            "input": self.input,
            "label": self.label,
            "unit": self.unit,
            "base_value": self.base_value,
            "low_value": self.low_value,
            "high_value": self.high_value,
            "usd_per_mtok_low": self.usd_per_mtok_low,
            "usd_per_mtok_high": self.usd_per_mtok_high,
            "swing_usd_per_mtok": self.swing_usd_per_mtok,
            "clipped": self.clipped,
        }


@dataclass(frozen=True)
class TornadoResult:
    hardware: str
    preset: str | None
    method: str  # "owned" or "price"
    tokens_per_s_per_gpu: float
    base_usd_per_mtok: float
    base_usd_per_gpu_hour: float
    swing_pct: float
    bars: list[TornadoBar]
    notes: list[str] = field(default_factory=list)
    model_error: dict | None = None  # the throughput band of the model-error bar (None: left out or no band)

    def to_dict(self) -> dict:
        return {
            "hardware": self.hardware,
            "preset": self.preset,
            "method": self.method,
            "model_error": None if self.model_error is None else dict(self.model_error),
            "tokens_per_s_per_gpu": self.tokens_per_s_per_gpu,
            "base_usd_per_mtok": self.base_usd_per_mtok,
            "base_usd_per_gpu_hour": self.base_usd_per_gpu_hour,
            "swing_pct": self.swing_pct,
            "metric": "usd_per_mtok_total: USD per million (input + output) tokens = $/busy GPU-h / "
            "(total tok/s per GPU x 3600 / 1e6)",
            "bars": [b.to_dict() for b in self.bars],
            "notes": list(self.notes),
        }


def _swing_value(name: str, base: float, factor: float) -> tuple[float, str | None]:
    v, was = clip_to_bounds(name, base * factor)
    if name == "wacc" and v >= 1.0:
        v, was = UPPER_BOUNDS["wacc"], True
    return v, (f"{base * factor:.6g} clipped to {v:.6g}" if was else None)


def tornado(
    hardware,
    *,
    tokens_per_s_per_gpu: float,
    preset: str | None = None,
    tco_overrides: Mapping[str, Any] | None = None,
    swing_pct: float = DEFAULT_SWING_PCT,
    hardware_files=None,
    throughput_band=None,
    model_error: bool = True,
) -> TornadoResult:
    """$ per M tokens with each input at base x (1 -/+ swing_pct/100), one at a time, and (``model_error``) the
    performance model's error as one bar: the cost at the p10 and p90 of the throughput band (``throughput_band``:
    (lo, hi) factors of the operating point; default :func:`model_error_band` of the hardware). Bars sorted by
    swing."""
    check_inputs(tokens_per_s_per_gpu=tokens_per_s_per_gpu, swing_pct=swing_pct)
    tps = float(tokens_per_s_per_gpu)
    base = base_inputs(hardware, preset, tco_overrides, hardware_files)
    base_tco = tcomod.compute_tco(base)
    base_cost = float(costmod.usd_per_mtok(base_tco.usd_per_gpu_hour, tps))
    s = swing_pct / 100.0
    bars: list[TornadoBar] = []
    notes: list[str] = []
    skipped: list[str] = []
    for name in (*varied_inputs(base), THROUGHPUT):
        if not acts_on_cost(base, name):
            skipped.append(name)
            continue
        b = tps if name == THROUGHPUT else float(getattr(base, name))
        lo, lo_clip = _swing_value(name, b, 1.0 - s)
        hi, hi_clip = _swing_value(name, b, 1.0 + s)
        if name == THROUGHPUT:
            c_lo = float(costmod.usd_per_mtok(base_tco.usd_per_gpu_hour, lo))
            c_hi = float(costmod.usd_per_mtok(base_tco.usd_per_gpu_hour, hi))
        else:
            c_lo = usd_per_mtok_at(with_value(base, name, lo), tps)
            c_hi = usd_per_mtok_at(with_value(base, name, hi), tps)
        clip = "; ".join(x for x in (lo_clip and f"low {lo_clip}", hi_clip and f"high {hi_clip}") if x) or None
        if clip:
            notes.append(f"{name}: {clip} (bounds of the input)")
        bars.append(TornadoBar(name, LABELS.get(name, name), unit_of(name), b, lo, hi, c_lo, c_hi, clip))
    band = _band_for(hardware, throughput_band, hardware_files) if model_error else None
    if band is not None:
        c_lo = float(costmod.usd_per_mtok(base_tco.usd_per_gpu_hour, tps * band["lo"]))
        c_hi = float(costmod.usd_per_mtok(base_tco.usd_per_gpu_hour, tps * band["hi"]))
        bars.append(
            TornadoBar(MODEL_ERROR, MODEL_ERROR_LABEL, MODEL_ERROR_UNIT, 1.0, band["lo"], band["hi"], c_lo, c_hi)
        )
        notes.append(
            f"{MODEL_ERROR_LABEL}: the cost at the p10 and p90 of the throughput band, x{band['lo']:.3f} and "
            f"x{band['hi']:.3f} the modelled throughput ({band.get('source', 'given')}; perf/uncertainty.py)"
        )
    elif model_error:
        notes.append(f"{MODEL_ERROR_LABEL}: no band (the calibration profile carries no cross-validation table)")
    bars.sort(key=lambda x: -x.swing_usd_per_mtok)
    if skipped:
        notes.append("not varied (zero or not used at this base): " + ", ".join(skipped))
    if base.is_price:
        notes.append(
            "plain price per GPU-hour: capital, power and hosting are inside the price, so only the price, "
            "the utilization and the throughput act on the cost"
        )
    notes.append(
        f"one input at a time at base x (1 -/+ {swing_pct:g}%), every other input at its base; cost from "
        "tco.compute_tco + cost.usd_per_mtok"
    )
    return TornadoResult(
        hardware=base.hardware_key,
        preset=base.preset,
        method=base_tco.method,
        tokens_per_s_per_gpu=tps,
        base_usd_per_mtok=base_cost,
        base_usd_per_gpu_hour=float(base_tco.usd_per_gpu_hour),
        swing_pct=float(swing_pct),
        bars=bars,
        notes=notes,
        model_error=band,
    )


# ---------------------------------------------------------------------------------------------------------------
# Monte Carlo
# ---------------------------------------------------------------------------------------------------------------
DISTRIBUTION_KINDS = ("triangular", "uniform", "lognormal", "fixed")


def _check_distribution(d: Distribution | SimpleNamespace, where: str) -> None:
    k = d.kind
    if k not in DISTRIBUTION_KINDS:
        raise UnknownKeyError("distribution kind", str(k), DISTRIBUTION_KINDS, field=where)
    if k == "triangular":
        if d.low is None or d.mode is None or d.high is None or not (d.low <= d.mode <= d.high):
            raise TokenfabError(
                "triangular needs low <= mode <= high", field=where, got={"low": d.low, "mode": d.mode, "high": d.high}
            )
    elif k == "uniform":
        if d.low is None or d.high is None or not d.low <= d.high:
            raise TokenfabError("uniform needs low <= high", field=where, got={"low": d.low, "high": d.high})
    elif k == "lognormal" and (d.sigma is None or d.sigma < 0 or (d.median is not None and d.median <= 0)):
        raise TokenfabError(
            "lognormal needs sigma >= 0 (and median > 0)", field=where, got={"sigma": d.sigma, "median": d.median}
        )
    for name in ("low", "mode", "high", "median"):
        x = getattr(d, name)
        if x is not None and (not math.isfinite(x) or x < 0):
            raise TokenfabError("must be a finite number >= 0", field=f"{where}.{name}", got=x)


@dataclass(frozen=True)
class Distribution:
    """A named distribution of one input. ``relative`` (default): the parameters multiply the base value (low 0.8 =
    20% below base); else they are absolute values in the input's unit. triangular(low, mode, high);
    uniform(low, high); lognormal(sigma, median; median defaults to 1 relative); fixed (the base, or ``mode``)."""

    kind: str
    low: float | None = None
    mode: float | None = None
    high: float | None = None
    sigma: float | None = None
    median: float | None = None
    relative: bool = True
    rationale: str = ""

    def __post_init__(self):
        _check_distribution(self, "distribution")

    def sample(self, rng: np.random.Generator, n: int, base: float) -> np.ndarray:
        scale = float(base) if self.relative else 1.0
        k = self.kind
        if k == "fixed":
            return np.full(n, scale * (self.mode if self.mode is not None else (1.0 if self.relative else base)))
        # the parameters each kind needs are not None (checked in __post_init__)
        if k == "triangular":
            low, mode, high = cast(float, self.low), cast(float, self.mode), cast(float, self.high)
            if low == high:
                return np.full(n, scale * mode)
            return scale * rng.triangular(low, mode, high, n)
        if k == "uniform":
            return scale * rng.uniform(cast(float, self.low), cast(float, self.high), n)
        med = self.median if self.median is not None else (1.0 if self.relative else base)
        return scale * med * rng.lognormal(0.0, cast(float, self.sigma), n)

    def describe(self) -> str:
        rel = " x base" if self.relative else ""
        if self.kind == "triangular":
            return f"triangular(low {self.low:g}, mode {self.mode:g}, high {self.high:g}){rel}"
        if self.kind == "uniform":
            return f"uniform({self.low:g}, {self.high:g}){rel}"
        if self.kind == "lognormal":
            med = self.median if self.median is not None else 1.0
            return f"lognormal(median {med:g}{rel}, sigma {self.sigma:g})"
        return "fixed at " + (f"{self.mode:g}{rel}" if self.mode is not None else "base")

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "low": self.low,
            "mode": self.mode,
            "high": self.high,
            "sigma": self.sigma,
            "median": self.median,
            "relative": self.relative,
            "description": self.describe(),
            "rationale": self.rationale,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], field_name: str = "distribution") -> Distribution:
        if isinstance(d, Distribution):
            return d
        if not isinstance(d, Mapping) or "kind" not in d:
            raise TokenfabError(
                "a distribution is a mapping with a 'kind'",
                field=field_name,
                expected="{kind: triangular|uniform|lognormal|fixed, ...}",
                got=d,
            )
        allowed = {"kind", "low", "mode", "high", "sigma", "median", "relative", "rationale"}
        extra = set(d) - allowed
        if extra:
            raise UnknownKeyError("distribution parameter", sorted(extra)[0], allowed, field=field_name)
        vals = dict(d)
        for k in ("low", "mode", "high", "sigma", "median"):
            if vals.get(k) is not None:
                try:
                    vals[k] = float(vals[k])
                except (TypeError, ValueError):
                    raise TokenfabError(
                        "not a number", field=f"{field_name}.{k}", expected="a number", got=vals[k]
                    ) from None
        vals["relative"] = bool(vals.get("relative", True))
        _check_distribution(SimpleNamespace(**{**dict.fromkeys(allowed), **vals}), field_name)
        return cls(**vals)


MODEL_ERROR_METHOD = (
    "the throughput multiplier is drawn from a lognormal whose p10 and p90 are the performance model's throughput "
    "band (out-of-sample errors of the nearest calibration bucket, perf/uncertainty.py): mu = (ln lo + ln hi) / 2, "
    "sigma = ln(hi / lo) / (2 x 1.2816); one draw per sample, the same for every month of a cost over time"
)


def model_error_distribution(band: dict) -> Distribution:
    """The throughput multiplier's lognormal whose p10 / p90 are the band's factors (relative to the base)."""
    from tokenfab.perf.uncertainty import lognormal_from_band

    mu, sigma = lognormal_from_band(band["lo"], band["hi"])
    return Distribution(
        "lognormal",
        sigma=sigma,
        median=math.exp(mu),
        rationale=f"{MODEL_ERROR_LABEL}: lognormal matched to the throughput band p10-p90 "
        f"x{band['lo']:.3f}-x{band['hi']:.3f} of {band.get('source', 'the operating point')} (perf/uncertainty.py: "
        "out-of-sample errors of benchmarks/calibrate.py --cv); one draw per sample",
    )


def _throughput_error_text() -> str:
    """The bundled calibration's throughput error, as its meta records it (never a number copied into code)."""
    from tokenfab.catalog.calibration import load_profile

    e = load_profile().meta.get("errors", {}).get("by_metric", {}).get("throughput")
    if not e:
        return "error not recorded in the calibration profile"
    return (
        f"median absolute error {e['median_ape_pct']:.1f}%, p90 {e['p90_ape_pct']:.0f}% over {e['n']} rows "
        f"(data/calibration.json meta.errors)"
    )


def load_default_distributions() -> dict[str, Distribution]:
    """The default distributions: data/sensitivity_distributions.yaml (each with its rationale and as_of)."""
    raw = cast(dict[str, Any], read_yaml(data_path("sensitivity_distributions.yaml")))
    out = {}
    for name, entry in raw.items():
        entry = dict(entry)
        as_of = entry.pop("as_of", None)
        rationale = str(entry.get("rationale", "")).replace("{throughput_error}", _throughput_error_text())
        entry["rationale"] = rationale + (f" (as of {as_of})" if as_of else "")
        out[name] = Distribution.from_dict(entry, field_name=f"sensitivity_distributions.{name}")
    return out


# Default distributions, relative to the base value of the chosen preset (so they fit any preset and hardware).
DEFAULT_DISTRIBUTIONS: dict[str, Distribution] = load_default_distributions()


def default_distributions(inputs: tcomod.TcoInputs) -> dict[str, Distribution]:
    """The defaults that apply to this method (owned or plain price), throughput included."""
    names = set(varied_inputs(inputs)) | {THROUGHPUT}
    return {k: d for k, d in DEFAULT_DISTRIBUTIONS.items() if k in names}


def _resolve_distributions(inputs: tcomod.TcoInputs, distributions) -> dict[str, Distribution]:
    out = default_distributions(inputs)
    allowed = set(varied_inputs(inputs)) | {THROUGHPUT}
    for name, d in dict(distributions or {}).items():
        if name not in allowed:
            raise UnknownKeyError("Monte Carlo input", str(name), sorted(allowed), field="distributions")
        if d is None:
            out.pop(name, None)
        else:
            out[name] = Distribution.from_dict(d, field_name=f"distributions.{name}")
    return out


def _pcts(x: np.ndarray) -> dict[str, float]:
    vals = np.percentile(x, PERCENTILES)
    return {f"p{p}": float(v) for p, v in zip(PERCENTILES, vals, strict=False)}


@dataclass(frozen=True)
class MonteCarloResult:
    hardware: str
    preset: str | None
    method: str
    n: int
    seed: int
    tokens_per_s_per_gpu: float
    base_usd_per_mtok: float
    usd_per_mtok: np.ndarray  # one cost per draw
    percentiles_usd_per_mtok: dict[str, float]
    mean_usd_per_mtok: float
    distributions: dict[str, Distribution]
    clipped: dict[str, int]  # draws clipped to bounds, per input
    price_usd_per_mtok: float | None = None
    margin_usd_per_mtok: np.ndarray | None = None
    percentiles_margin_usd_per_mtok: dict[str, float] | None = None
    percentiles_margin_pct: dict[str, float] | None = None
    probability_of_loss: float | None = None
    notes: list[str] = field(default_factory=list)
    model_error: dict | None = None  # {included, lo, hi, mu, sigma, source, method}: the throughput's model error

    def histogram(self, bins: int = 40) -> dict:
        counts, edges = np.histogram(self.usd_per_mtok, bins=bins)
        return {"edges_usd_per_mtok": edges.tolist(), "counts": counts.tolist()}

    def to_dict(self) -> dict:
        d = {
            "hardware": self.hardware,
            "preset": self.preset,
            "method": self.method,
            "n": self.n,
            "seed": self.seed,
            "tokens_per_s_per_gpu": self.tokens_per_s_per_gpu,
            "base_usd_per_mtok": self.base_usd_per_mtok,
            "metric": "usd_per_mtok_total (USD per million input + output tokens)",
            "percentiles_usd_per_mtok": dict(self.percentiles_usd_per_mtok),
            "mean_usd_per_mtok": self.mean_usd_per_mtok,
            "distributions": {k: v.to_dict() for k, v in self.distributions.items()},
            "clipped_draws": dict(self.clipped),
            "histogram": self.histogram(),
            "price_usd_per_mtok": self.price_usd_per_mtok,
            "model_error": None if self.model_error is None else dict(self.model_error),
            "definitions": {
                "model_error": MODEL_ERROR_METHOD,
                "percentiles_usd_per_mtok": "p5 / p50 / p95 of $ per M tokens over the draws (TCO inputs and, when "
                "included, the performance model's error)",
                "probability_of_loss": "share of draws whose cost exceeds the price",
            },
            "notes": list(self.notes),
        }
        if self.price_usd_per_mtok is not None:
            d.update(
                {
                    "percentiles_margin_usd_per_mtok": dict(self.percentiles_margin_usd_per_mtok or {}),
                    "percentiles_margin_pct": dict(self.percentiles_margin_pct or {}),
                    "probability_of_loss": self.probability_of_loss,
                    "margin_definition": "gross margin = price - modeled cost, USD per M tokens; % of price",
                }
            )
        return d


def monte_carlo(
    hardware,
    *,
    tokens_per_s_per_gpu: float,
    preset: str | None = None,
    tco_overrides: Mapping[str, Any] | None = None,
    distributions: Mapping[str, Any] | None = None,
    n: int = DEFAULT_N,
    seed: int = 0,
    price_usd_per_mtok: float | None = None,
    hardware_files=None,
    throughput_band=None,
    model_error: bool = True,
) -> MonteCarloResult:
    """Percentiles of $ per M tokens (and of the margin against ``price_usd_per_mtok``) with every input drawn from its
    distribution. ``distributions`` overrides :data:`DEFAULT_DISTRIBUTIONS` per input (a Distribution, a mapping, or
    None to hold the input at its base). ``model_error`` (default): the throughput multiplier is drawn from the
    lognormal matched to the performance model's band (``throughput_band``: (lo, hi) of the operating point; default
    :func:`model_error_band` of the hardware), once per sample; a distribution given for the throughput replaces it;
    False holds the throughput at its modelled value. Seeded: the same seed gives the same draws."""
    v = check_inputs(tokens_per_s_per_gpu=tokens_per_s_per_gpu, n=n, seed=seed, price_usd_per_mtok=price_usd_per_mtok)
    n, seed = v["n"], v["seed"]
    tps = float(tokens_per_s_per_gpu)
    base = base_inputs(hardware, preset, tco_overrides, hardware_files)
    base_tco = tcomod.compute_tco(base)
    base_cost = float(costmod.usd_per_mtok(base_tco.usd_per_gpu_hour, tps))
    dists = _resolve_distributions(base, distributions)
    given = THROUGHPUT in dict(distributions or {})
    me = None
    if model_error and not given:
        band = _band_for(hardware, throughput_band, hardware_files)
        if band is not None:
            d_me = model_error_distribution(band)
            dists[THROUGHPUT] = d_me
            me = {
                "included": True,
                "lo": band["lo"],
                "hi": band["hi"],
                "mu": math.log(cast(float, d_me.median)),  # model_error_distribution sets the median
                "sigma": d_me.sigma,
                "source": band.get("source"),
                "method": MODEL_ERROR_METHOD,
            }
        elif THROUGHPUT in dists:
            me = {
                "included": True,
                "source": "no error band (the calibration profile carries no cross-validation table): the fallback "
                "throughput distribution of data/sensitivity_distributions.yaml",
                "method": dists[THROUGHPUT].describe(),
            }
    elif not model_error and not given:
        dists.pop(THROUGHPUT, None)
        me = {"included": False, "method": "performance model error left out: the throughput at its modelled value"}
    rng = np.random.default_rng(seed)
    draws: dict[str, np.ndarray] = {}
    clipped: dict[str, int] = {}
    notes: list[str] = []
    throughput = np.full(n, tps)
    for name in sorted(dists):  # sorted: the draw order (and so the result) does not depend on dict order
        b = tps if name == THROUGHPUT else getattr(base, name)
        if b is None:
            continue
        x = dists[name].sample(rng, n, float(b))
        x, was = clip_to_bounds(name, x)
        if name == "wacc":
            x = np.minimum(x, UPPER_BOUNDS["wacc"])
        if name in POSITIVE_INPUTS:
            tiny = x <= 0
            was = was | tiny
            x = np.where(tiny, np.finfo(float).tiny, x)
        clipped[name] = int(np.count_nonzero(was))
        if name == THROUGHPUT:
            throughput = x
        else:
            draws[name] = x
    usd_h = usd_per_gpu_hour_vectorized(base, draws)
    cost = np.asarray(costmod.usd_per_mtok(np.broadcast_to(usd_h, (n,)), throughput), dtype=float)
    for k, c in clipped.items():
        if c:
            notes.append(f"{k}: {c} of {n} draws clipped to the input's bounds")
    fixed = [k for k in varied_inputs(base) if k not in dists and acts_on_cost(base, k)]
    if fixed:
        notes.append("held at base (no distribution): " + ", ".join(fixed))
    notes.append("inputs drawn independently (no correlation between them)")
    if me and me["included"] and "mu" in me:
        notes.append(
            f"{MODEL_ERROR_LABEL} included: throughput x lognormal(median {math.exp(me['mu']):.3f}, sigma "
            f"{me['sigma']:.3f}), p10-p90 x{me['lo']:.3f}-x{me['hi']:.3f} ({me['source']}); one draw per sample"
        )
    elif me and me["included"]:
        notes.append(f"{MODEL_ERROR_LABEL}: {me['source']}")
    elif me:
        notes.append(f"{MODEL_ERROR_LABEL} left out: the throughput at its modelled value")
    margin = pcts_m = pcts_pct = p_loss = None
    if price_usd_per_mtok is not None:
        price = float(price_usd_per_mtok)
        margin = price - cost
        pcts_m = _pcts(margin)
        pcts_pct = {k: v / price * 100.0 for k, v in pcts_m.items()}
        p_loss = float(np.mean(cost > price))
    return MonteCarloResult(
        hardware=base.hardware_key,
        preset=base.preset,
        method=base_tco.method,
        n=n,
        seed=seed,
        tokens_per_s_per_gpu=tps,
        base_usd_per_mtok=base_cost,
        usd_per_mtok=cost,
        percentiles_usd_per_mtok=_pcts(cost),
        mean_usd_per_mtok=float(cost.mean()),
        distributions=dists,
        clipped=clipped,
        price_usd_per_mtok=None if price_usd_per_mtok is None else float(price_usd_per_mtok),
        margin_usd_per_mtok=margin,
        percentiles_margin_usd_per_mtok=pcts_m,
        percentiles_margin_pct=pcts_pct,
        probability_of_loss=p_loss,
        notes=notes,
        model_error=me,
    )


# ---------------------------------------------------------------------------------------------------------------
# figures (plotly figure dicts: no plotly import needed to build them)
# ---------------------------------------------------------------------------------------------------------------
COST_AXIS = "$ per million tokens (input + output)"


def _as_dict(result) -> dict:
    return result.to_dict() if hasattr(result, "to_dict") else dict(result)


def tornado_figure(result) -> dict:
    """A plotly figure dict: one horizontal bar per input from its low-input cost to its high-input cost around the
    base cost (largest swing at the top). Accepts a TornadoResult or its to_dict()."""
    d = _as_dict(result)
    bars = list(reversed(d["bars"]))  # plotly draws the first category at the bottom
    base = d["base_usd_per_mtok"]
    names = [
        f"{b['label']} (x{b['low_value']:.2f} / x{b['high_value']:.2f})"
        if b["input"] == MODEL_ERROR
        else f"{b['input']} ({b['low_value']:.4g} / {b['high_value']:.4g})"
        for b in bars
    ]

    def trace(key, name, color):
        vals = [b[key] for b in bars]
        return {
            "type": "bar",
            "orientation": "h",
            "name": name,
            "y": names,
            "x": [v - base for v in vals],
            "base": [base] * len(vals),
            "marker": {"color": color},
            "customdata": vals,
            "hovertemplate": "%{y}<br>$%{customdata:.4f} per M tokens<extra>" + name + "</extra>",
        }

    sw = d["swing_pct"]
    return {
        "data": [
            trace("usd_per_mtok_low", f"input -{sw:g}%", "#1f77b4"),
            trace("usd_per_mtok_high", f"input +{sw:g}%", "#d62728"),
        ],
        "layout": {
            "title": {
                "text": f"Tornado: $/M tokens on {d['hardware']} (preset {d.get('preset')}), "
                f"each input -/+{sw:g}%; base ${base:.4g}"
            },
            "barmode": "overlay",
            "xaxis": {"title": {"text": COST_AXIS}},
            "yaxis": {"automargin": True, "title": {"text": "input (low / high value)"}},
            "shapes": [
                {
                    "type": "line",
                    "x0": base,
                    "x1": base,
                    "yref": "paper",
                    "y0": 0,
                    "y1": 1,
                    "line": {"color": "black", "dash": "dot"},
                }
            ],
            "template": "plotly_white",
            "height": 140 + 28 * len(bars),
            "legend": {"orientation": "h"},
        },
    }


def monte_carlo_figure(result) -> dict:
    """A plotly figure dict: histogram of $/M tokens over the draws with p5/p50/p95 (and the price) marked."""
    d = _as_dict(result)
    h = d["histogram"]
    edges = h["edges_usd_per_mtok"]
    mids = [(a + b) / 2 for a, b in zip(edges[:-1], edges[1:], strict=False)]
    widths = [b - a for a, b in zip(edges[:-1], edges[1:], strict=False)]
    p = d["percentiles_usd_per_mtok"]
    shapes, ann = [], []
    marks = [(k, v, "grey") for k, v in p.items()]
    if d.get("price_usd_per_mtok") is not None:
        marks.append(("price", d["price_usd_per_mtok"], "#d62728"))
    for k, v, color in marks:
        shapes.append(
            {
                "type": "line",
                "x0": v,
                "x1": v,
                "yref": "paper",
                "y0": 0,
                "y1": 1,
                "line": {"color": color, "dash": "dash" if k == "price" else "dot"},
            }
        )
        ann.append(
            {
                "x": v,
                "y": 1,
                "yref": "paper",
                "text": f"{k} ${v:.3g}",
                "showarrow": False,
                "yanchor": "bottom",
                "font": {"size": 10, "color": color},
            }
        )
    title = f"Monte Carlo: $/M tokens on {d['hardware']} (preset {d.get('preset')}), n={d['n']}, seed {d['seed']}"
    if d.get("probability_of_loss") is not None:
        title += f"; P(loss) {d['probability_of_loss']:.1%}"
    return {
        "data": [
            {
                "type": "bar",
                "x": mids,
                "y": h["counts"],
                "width": widths,
                "name": "draws",
                "marker": {"color": "#1f77b4"},
                "hovertemplate": "$%{x:.4f}: %{y} draws<extra></extra>",
            }
        ],
        "layout": {
            "title": {"text": title},
            "xaxis": {"title": {"text": COST_AXIS}},
            "yaxis": {"title": {"text": "draws"}},
            "shapes": shapes,
            "annotations": ann,
            "template": "plotly_white",
            "bargap": 0.02,
            "height": 420,
        },
    }


__all__ = [
    "THROUGHPUT",
    "MODEL_ERROR",
    "MODEL_ERROR_LABEL",
    "model_error_band",
    "model_error_distribution",
    "check_band",
    "DEFAULT_SWING_PCT",
    "DEFAULT_DISTRIBUTIONS",
    "Distribution",
    "TornadoBar",
    "TornadoResult",
    "MonteCarloResult",
    "tornado",
    "monte_carlo",
    "tornado_figure",
    "monte_carlo_figure",
    "usd_per_gpu_hour_vectorized",
    "base_inputs",
    "default_distributions",
    "clip_to_bounds",
    "usd_per_mtok_at",
]
