"""Error bands of modelled figures, from the model's out-of-sample errors (benchmarks/calibrate.py --cv).

The cross-validation predicts every measurement row with a fit that never saw its source (leave-one-source-out) and
stores the log-ratios r = ln(measured / predicted) in calibration.json (``uncertainty``), summarised per bucket:
metric class (throughput, ttft, tpot) x hardware family x engine x model class (dense, moe, mla, hybrid) x regime
(``low_batch``: at most LOW_BATCH sequences per scheduler, ``high_batch`` above). A band is the 10th..90th percentile
of r in the nearest bucket with enough rows:

1. the exact bucket if it holds at least MIN_ROWS rows, else back off by dropping the regime, then the model class,
   then the engine, then the family (the metric's global distribution);
2. a bucket with n rows is widened by sqrt(1 + MIN_ROWS / n) around its median (thin data: wider);
3. a figure whose hardware family or engine profile is a prior uses the ``prior`` distribution instead: the errors of
   rows whose family or engine was held out of the fit entirely (what a profile without its own data achieves),
   widened by PRIOR_WIDEN (with fewer than 5 such rows: the metric's global distribution widened 2 x PRIOR_WIDEN),
   so a prior's band is never taken from a fitted bucket;
4. every band is extended beyond its ends by its vendor and metric class's margins (``margin``, ln units), one per
   side, fitted by benchmarks/calibrate.py so that of the held-out rows at most 10% fall below the band and 10% above
   it (fitting.fit_band_margin; conformalized quantile regression, Romano et al. 2019): a model that errs one way on
   a vendor extends that side only, and by what its held-out misses need, not by a multiple of a narrow bucket's
   spread. (Profiles of earlier versions carry multiplicative ``widen`` scales instead: still honoured.)

The band is multiplicative on the point figure: [x exp(q10), x exp(q90)] (a latency's band is its own; tokens/s per
user takes the inverse of TPOT's). Every rule above is stated in the JSON next to the band (``rule``).

Derived figures follow the throughput band (:func:`scaled_band`): a cost per token, GPUs or MW needed scale inversely
with it (the p10 of the cost is the figure at the p90 throughput), tokens/s per MW with it. A hardware whose profile
is a prior is named as such wherever it is shown (:func:`calibration_note`), and a Monte Carlo draws the model's error
as a lognormal matched to the band (:func:`lognormal_from_band`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

import numpy as np
from numpy.typing import ArrayLike

if TYPE_CHECKING:
    from tokenfab.catalog.calibration import CalibrationProfile
    from tokenfab.catalog.models import ModelSpec
    from tokenfab.perf.serving import Estimate

MIN_ROWS = 20
# the standard normal's 90th percentile: a lognormal whose p10 / p90 are the band's factors has sigma =
# ln(hi / lo) / (2 Z90)
Z90 = 1.2815515655446004
LOW_BATCH = 16
PRIOR_WIDEN = 1.25
# nominal coverage of a p10-p90 band; benchmarks/calibrate.py scales the bands (the table's ``widen``) to reach it on
# sources held out of the band table (fitting.band_coverage), as split-conformal calibration does
TARGET_COVERAGE = 0.80
METRIC_CLASSES = ("throughput", "ttft", "tpot")
FIGURES = {
    "output_tokens_per_s_per_gpu": ("throughput", 1),
    "total_tokens_per_s_per_gpu": ("throughput", 1),
    "tokens_per_s_per_user": ("tpot", -1),
    "ttft_ms": ("ttft", 1),
    "tpot_ms": ("tpot", 1),
}


def model_class(model: ModelSpec) -> str:
    fam = model.architecture_family
    return fam if fam in ("dense", "moe", "mla", "hybrid") else "dense"


def regime(batch_per_rank: float) -> str:
    return "low_batch" if float(batch_per_rank) <= LOW_BATCH else "high_batch"


def bucket_key(metric: str, family: str, engine: str, mclass: str, reg: str) -> str:
    return "|".join((metric, family, engine, mclass, reg))


def summarize(residuals: ArrayLike) -> dict[str, float]:
    r = np.asarray(residuals, dtype=float)
    r = r[np.isfinite(r)]
    if not r.size:
        return {"n": 0}
    return {
        "n": int(r.size),
        "q10": float(np.quantile(r, 0.1)),
        "q50": float(np.quantile(r, 0.5)),
        "q90": float(np.quantile(r, 0.9)),
    }


def scale_key(metric: str, family: str) -> str:
    """The coverage scale's group of a figure: ``vendor:metric class`` (the bundled catalog's vendor of the family)."""
    from tokenfab.catalog.calibration import family_vendor

    return f"{family_vendor(family)}:{metric}"


def side_scales(v: Any) -> tuple[float, float]:
    """(low side, high side) of one ``widen`` entry: a number scales both sides, {"lo": a, "hi": b} each its own."""
    if isinstance(v, dict):
        return float(v.get("lo", 1.0)), float(v.get("hi", 1.0))
    return float(v), float(v)


def coverage_scale(table: dict, metric: str, family: str) -> tuple[float, float]:
    """The (low side, high side) scales a band of ``metric`` on ``family`` is stretched by about its median (the
    table's ``widen``): one number, or one entry per vendor and metric class, a number or {lo, hi} (benchmarks/
    calibrate.py fits each side so that at most (1 - TARGET_COVERAGE) / 2 of its group's held-out rows fall below the
    band and as many above it: a model that errs one way widens that side only). A vendor without a fitted scale
    (nobody measured it, a family of a user's hardware file the bundled catalog lacks) and ``family=""`` take the
    largest scale of the metric per side (the largest of all if the metric has none)."""
    w = table.get("widen", 1.0)
    if not isinstance(w, dict) or set(w) == {"lo", "hi"}:  # one entry for every figure
        return side_scales(w)
    return _group_sides(w, metric, family, 1.0)


def _group_sides(entries: dict, metric: str, family: str, none: float) -> tuple[float, float]:
    """(low side, high side) of the ``vendor:metric`` entry of ``family``; a vendor without one (and ``family=""``)
    takes the metric's largest per side, else the largest of all; ``none`` for each side of an empty mapping."""
    key = scale_key(metric, family) if family else ""
    if key in entries:
        return side_scales(entries[key])
    same = [side_scales(v) for k, v in entries.items() if str(k).endswith(":" + metric)] or [
        side_scales(v) for v in entries.values()
    ]
    if not same:
        return none, none
    return max(a for a, _ in same), max(b for _, b in same)


def coverage_margin(table: dict, metric: str, family: str) -> tuple[float, float]:
    """The (low side, high side) margins, in ln units, a band of ``metric`` on ``family`` is extended by beyond its
    ends (the table's ``margin``: one {lo, hi} per vendor and metric class, fitted by benchmarks/calibrate.py so that
    at most (1 - TARGET_COVERAGE) / 2 of the group's held-out rows fall below the band and as many above it: the
    conformalized quantile regression of Romano, Patterson and Candes, NeurIPS 2019, on each side). A vendor without
    a fitted margin (nobody measured it, a user's hardware file family) and ``family=""`` take the metric's largest
    per side (the largest of all if the metric has none); a table without margins (older profiles) adds none."""
    m = table.get("margin")
    return _group_sides(m, metric, family, 0.0) if isinstance(m, dict) else (0.0, 0.0)


def unmeasured_vendor(table: dict, family: str) -> bool:
    """Whether ``family``'s vendor has no measurement in the table (its fitted margins name the measured vendors:
    ``AMD:ttft`` ...); False for a table without margins (older profiles) or without a family."""
    m = table.get("margin")
    if not family or not isinstance(m, dict) or not m:
        return False
    from tokenfab.catalog.calibration import family_vendor

    return family_vendor(family) not in {str(k).split(":", 1)[0] for k in m}


def build_table(
    rows: list[tuple[str, str, str, str, str, float, bool]],
    widen: float | dict[str, Any] = 1.0,
    margin: dict[str, Any] | None = None,
) -> dict:
    """Bucket summaries from (metric, family, engine, model class, regime, residual, prior) rows of a CV run.
    ``widen``: the scale every band is stretched by about its median, one number or one per ``vendor:metric`` group
    (:func:`coverage_scale`; fitted by benchmarks/calibrate.py so that bands built without a source cover
    TARGET_COVERAGE of that source's rows)."""
    groups: dict[str, list[float]] = {}
    prior: dict[str, list[float]] = {}
    for metric, fam, eng, mcl, reg, r, was_prior in rows:
        keys = [
            bucket_key(metric, fam, eng, mcl, reg),
            bucket_key(metric, fam, eng, mcl, "*"),
            bucket_key(metric, fam, eng, "*", "*"),
            bucket_key(metric, fam, "*", "*", "*"),
            bucket_key(metric, "*", "*", "*", "*"),
        ]
        if was_prior:
            prior.setdefault(metric, []).append(r)
            continue
        for k in keys:
            groups.setdefault(k, []).append(r)
    return {
        "buckets": {k: summarize(v) for k, v in sorted(groups.items())},
        "prior": {k: summarize(v) for k, v in sorted(prior.items())},
        "min_rows": MIN_ROWS,
        "low_batch": LOW_BATCH,
        "prior_widen": PRIOR_WIDEN,
        "widen": {str(k): widen_entry(v) for k, v in sorted(widen.items())}
        if isinstance(widen, dict)
        else float(widen),
        **({"margin": {str(k): _margin_entry(v) for k, v in sorted(margin.items())}} if margin is not None else {}),
    }


def _margin_entry(v: Any) -> dict[str, float]:
    lo, hi = side_scales(v)
    return {"lo": lo, "hi": hi}


def widen_entry(v: Any) -> float | dict[str, float]:
    """A ``widen`` entry as JSON: one number when both sides share it, else {lo, hi}."""
    lo, hi = side_scales(v)
    return lo if lo == hi else {"lo": lo, "hi": hi}


def _widen(s: dict, f_lo: float, f_hi: float, m_lo: float = 0.0, m_hi: float = 0.0) -> tuple[float, float]:
    """(low, high) ends in log space: the bucket's q10 and q90 moved away from its median by f_lo and f_hi, then
    out by the margins m_lo and m_hi."""
    mid = s["q50"]
    return mid + (s["q10"] - mid) * f_lo - m_lo, mid + (s["q90"] - mid) * f_hi + m_hi


def _margin_words(m_lo: float, m_hi: float) -> str:
    """``; extended x0.62 below / x1.35 above (the fitted coverage margins)`` (empty without margins)."""
    if m_lo <= 0 and m_hi <= 0:
        return ""
    return f"; extended x{math.exp(-m_lo):.3g} below / x{math.exp(m_hi):.3g} above (the fitted coverage margins)"


def _x(f_lo: float, f_hi: float) -> str:
    """``x1.40`` (one factor), or ``x1.40 below / x2.10 above`` its median."""
    return f"x{f_lo:.2f}" if abs(f_lo - f_hi) < 5e-3 else f"x{f_lo:.2f} below / x{f_hi:.2f} above"


def band_factors(table: dict, metric: str, family: str, engine: str, mclass: str, reg: str, prior: bool) -> dict | None:
    """{lo, hi, bucket, n, rule}: multiplicative factors for a figure of ``metric`` class, or None without data."""
    if not table:
        return None
    min_rows = int(table.get("min_rows", MIN_ROWS))
    s_lo, s_hi = coverage_scale(table, metric, family)
    m_lo, m_hi = coverage_margin(table, metric, family)
    more = _margin_words(m_lo, m_hi)
    if prior:
        s = (table.get("prior") or {}).get(metric)
        # the prior rows are held-out families of measured vendors: they do not describe a vendor nobody measured
        # (an SRAM chip, a TPU, Gaudi), whose figures take the metric's global errors widened twice as much
        if s and s.get("n", 0) >= 5 and not unmeasured_vendor(table, family):
            f = float(table.get("prior_widen", PRIOR_WIDEN)) * math.sqrt(1.0 + min_rows / s["n"])
            lo, hi = _widen(s, s_lo * f, s_hi * f, m_lo, m_hi)
            return {
                "lo": math.exp(lo),
                "hi": math.exp(hi),
                "bucket": f"prior:{metric}",
                "n": s["n"],
                "rule": f"profile is a prior: errors of rows whose family or engine was held out of the fit, widened "
                f"{_x(s_lo * f, s_hi * f)}{more}",
            }
        # too few held-out-family rows to describe a prior, or a vendor nobody measured: the metric's global errors,
        # widened twice as much
        g = (table.get("buckets") or {}).get(bucket_key(metric, "*", "*", "*", "*"))
        if not g or not g.get("n"):
            return None
        f = 2.0 * float(table.get("prior_widen", PRIOR_WIDEN)) * math.sqrt(1.0 + min_rows / g["n"])
        lo, hi = _widen(g, s_lo * f, s_hi * f, m_lo, m_hi)
        why = (
            "its vendor has no measurement (held-out families of measured vendors do not describe it)"
            if unmeasured_vendor(table, family)
            else "too few held-out-family rows exist"
        )
        return {
            "lo": math.exp(lo),
            "hi": math.exp(hi),
            "bucket": f"prior:{metric}:global",
            "n": g["n"],
            "rule": f"profile is a prior and {why}: the metric's global out-of-sample errors widened "
            f"{_x(s_lo * f, s_hi * f)}{more}",
        }
    buckets = table.get("buckets") or {}
    for key in (
        bucket_key(metric, family, engine, mclass, reg),
        bucket_key(metric, family, engine, mclass, "*"),
        bucket_key(metric, family, engine, "*", "*"),
        bucket_key(metric, family, "*", "*", "*"),
        bucket_key(metric, "*", "*", "*", "*"),
    ):
        s = buckets.get(key)
        if s and s.get("n", 0) >= min_rows or (s and key.endswith("|*|*|*|*") and s.get("n", 0) >= 1):
            f = math.sqrt(1.0 + min_rows / max(s["n"], 1))
            lo, hi = _widen(s, s_lo * f, s_hi * f, m_lo, m_hi)
            scale = f"{s_lo:g}" if s_lo == s_hi else f"{s_lo:g} below / {s_hi:g} above"
            return {
                "lo": math.exp(lo),
                "hi": math.exp(hi),
                "bucket": key,
                "n": s["n"],
                "rule": f"out-of-sample p10-p90 of the nearest bucket with >= {min_rows} rows, widened "
                f"{_x(s_lo * f, s_hi * f)} (sqrt(1 + min_rows / n) x the fitted coverage scale {scale}){more}",
            }
    return None


def figure_band(
    table: dict,
    figure: str,
    value: float | None,
    *,
    family: str,
    engine: str,
    mclass: str,
    reg: str,
    prior: bool,
) -> dict | None:
    """{p10, p90, ...} of one modelled figure (``figure`` a key of FIGURES)."""
    metric, sign = FIGURES[figure]
    b = band_factors(table, metric, family, engine, mclass, reg, prior)
    if b is None or value is None or not math.isfinite(value):
        return None
    lo, hi = (b["lo"], b["hi"]) if sign > 0 else (1.0 / b["hi"], 1.0 / b["lo"])
    return {"p10": value * lo, "p90": value * hi, "bucket": b["bucket"], "rows": b["n"], "rule": b["rule"]}


# a figure held at physics -> the physical floor (ms) that bounds it: a latency's own floor; tokens/s per user's
# ceiling is 1000 / the TPOT floor
PHYSICS_FLOORS = {"ttft_ms": "ttft_ms", "tpot_ms": "tpot_ms", "tokens_per_s_per_user": "tpot_ms"}


def physics_floor_column(name: str) -> str:
    """The sweep column of a physical floor (``ttft_ms`` -> ``ttft_physics_floor_ms``): not serve's ``ttft_floor_ms``
    (the modelled own prompt, which bounds the TTFT quantiles)."""
    return f"{name.removesuffix('_ms')}_physics_floor_ms"


def hold_at_physics(figure: str, p10: ArrayLike, p90: ArrayLike, floor_ms: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """(p10, p90) of ``figure`` with the optimistic end held at physics (vectorized): a latency's p10 at least its
    floor, tokens/s per user's p90 at most 1000 / the TPOT floor; never past the other end. A floor <= 0 or NaN is
    none known: the band is unchanged."""
    lo, hi = np.asarray(p10, dtype=float), np.asarray(p90, dtype=float)
    fl = np.asarray(floor_ms, dtype=float)
    known = np.isfinite(fl) & (fl > 0)
    if figure == "tokens_per_s_per_user":
        cap = np.where(known, 1000.0 / np.where(known, fl, 1.0), np.inf)
        return lo, np.where(np.isfinite(hi), np.maximum(np.minimum(hi, cap), lo), hi)
    if figure in PHYSICS_FLOORS:
        return np.where(np.isfinite(lo) & known, np.minimum(np.maximum(lo, fl), np.maximum(hi, lo)), lo), hi
    return lo, hi


def hold_factor_at_ceiling(lo: ArrayLike, hi: ArrayLike, ceiling_factor: ArrayLike) -> np.ndarray:
    """The throughput band's high factor held at physics (vectorized): at most ``ceiling_factor`` (the roofline
    ceiling over the modelled figure, roofline.output_ceiling_per_gpu), never below the low factor. A ceiling factor
    NaN or <= 0 is none known: the factor is unchanged. Every figure that scales with throughput (tokens/s per GPU,
    per MW, $/M, GPUs needed) takes its band from these factors, so all stay consistent."""
    lo_, hi_ = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
    cf = np.asarray(ceiling_factor, dtype=float)
    known = np.isfinite(cf) & (cf > 0) & np.isfinite(hi_)
    return np.where(known, np.maximum(np.minimum(hi_, np.where(known, cf, np.inf)), lo_), hi_)


def clip_band_at_floor(band: dict, figure: str, floors_ms: dict[str, float]) -> dict:
    """``band`` (one figure's {p10, p90, ...}) held at physics (:func:`hold_at_physics`, ``floors_ms`` by floor
    name); the band says so in ``clipped_at``."""
    name = PHYSICS_FLOORS.get(figure)
    if name is None or floors_ms.get(name) is None:
        return band
    lo, hi = hold_at_physics(figure, band["p10"], band["p90"], floors_ms[name])
    if float(lo) == band["p10"] and float(hi) == band["p90"]:
        return band
    return {
        **band,
        "p10": float(lo),
        "p90": float(hi),
        "clipped_at": f"the physical {name} floor (every peak of the chip)",
    }


def is_prior(status: dict | None) -> bool:
    """Whether a ProfileStatus dict rests on a prior (its hardware family or its engine has no measurements)."""
    s = status or {}
    return "prior" in (s.get("hardware_profile"), s.get("engine_profile"))


# parameters that move only some figures: the TTFT front end moves TTFT alone; the expert kernels' efficiency and
# routing skew only models with experts. Every other parameter moves every metric class.
_PARAM_METRICS = {"ttft_overhead_ms": ("ttft",)}
_PARAM_CLASSES = {"moe_efficiency": ("moe", "mla"), "moe_skew": ("moe", "mla")}


def priors_that_matter(status: dict | None, metric: str = "*", mclass: str = "*") -> list[str]:
    """The entries of a fitted profile's ``parameters_at_prior`` that move a figure of ``metric`` class (``"*"``: any)
    for a model of class ``mclass`` (``"*"``: any)."""
    names = (status or {}).get("parameters_at_prior") or ()
    out = []
    for name in names if isinstance(names, (list, tuple)) else ():
        param = str(name).rpartition(".")[2]
        if metric != "*" and metric not in _PARAM_METRICS.get(param, (metric,)):
            continue
        if mclass != "*" and mclass not in _PARAM_CLASSES.get(param, (mclass,)):
            continue
        out.append(str(name))
    return out


def at_prior_phrase(status: dict, names: Sequence[str]) -> str:
    """``no measurement of the hopper / sglang profile informs engine.moe_efficiency, so it is the physical prior``
    (the words shared by the estimate's warning and the calibration note)."""
    return (
        f"no measurement of the {status.get('hardware_family') or 'unknown'} / {status.get('engine') or 'unknown'} "
        f"profile informs {', '.join(names)}, so {'it is' if len(names) == 1 else 'they are'} the physical prior"
    )


def rests_on_prior(status: dict | None, metric: str, mclass: str = "*") -> bool:
    """Whether a figure of ``metric`` class for a model of class ``mclass`` rests on a prior: its profile is one
    (:func:`is_prior`), or a fitted profile's parameter that no measurement informed moves that figure
    (``parameters_at_prior``, e.g. ``engine.ttft_overhead_ms`` for TTFT). Such figures take the prior bands."""
    return is_prior(status) or bool(priors_that_matter(status, metric, mclass))


def throughput_band(
    table: dict, status: dict | None, mclass: str = "*", batch_per_rank: float | None = None
) -> tuple[float, float] | None:
    """(lo, hi) factors of the throughput band of a (hardware, engine) ProfileStatus dict, for a model class
    (``"*"``: any) and a batch per scheduler (None: any regime); None without a band."""
    s = status or {}
    reg = "*" if batch_per_rank is None else regime(batch_per_rank)
    prior = rests_on_prior(s, "throughput", mclass)
    b = band_factors(table, "throughput", s.get("hardware_family", ""), s.get("engine", ""), mclass, reg, prior)
    return None if b is None else (b["lo"], b["hi"])


def scaled_band(value: ArrayLike, lo: ArrayLike, hi: ArrayLike, sign: int = 1) -> dict[str, Any] | None:
    """{p10, p90} of a figure that scales with the throughput band (``sign`` +1) or inversely (-1): a cost per token,
    GPUs or MW needed are the figure at the opposite end of the band. Vectorized; None for a scalar without a value
    or band."""
    v = np.asarray(value, dtype=float)
    lo_, hi_ = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        a, b = (lo_, hi_) if sign > 0 else (1.0 / hi_, 1.0 / lo_)
        p10, p90 = v * a, v * b
    if p10.ndim == 0:
        if not (np.isfinite(p10) and np.isfinite(p90)):
            return None
        return {"p10": float(p10), "p90": float(p90)}
    return {"p10": p10, "p90": p90}


def ordered(a: ArrayLike, b: ArrayLike) -> tuple[float, float] | tuple[np.ndarray, np.ndarray]:
    """(p10, p90) of two values of a figure computed at the two ends of a band, whichever is lower first
    (element-wise; NaN where either is missing)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    bad = ~(np.isfinite(a) & np.isfinite(b))
    lo, hi = np.where(bad, np.nan, np.minimum(a, b)), np.where(bad, np.nan, np.maximum(a, b))
    return (float(lo), float(hi)) if lo.ndim == 0 else (lo, hi)


def lognormal_from_band(lo: float, hi: float) -> tuple[float, float]:
    """(mu, sigma) of the lognormal multiplier whose 10th and 90th percentiles are the band's factors ``lo`` and
    ``hi``: mu = (ln lo + ln hi) / 2, sigma = (ln hi - ln lo) / (2 Z90)."""
    a, b = math.log(float(lo)), math.log(float(hi))
    return 0.5 * (a + b), max(b - a, 0.0) / (2.0 * Z90)


def prior_reason(status: dict | None, mclass: str = "*") -> str:
    """Why a ProfileStatus dict's throughput is a prior, in words ('' when it is fitted)."""
    s = status or {}
    parts = []
    at_prior = priors_that_matter(s, "throughput", mclass)
    if at_prior and not is_prior(s):
        parts.append(at_prior_phrase(s, at_prior))
    if s.get("hardware_profile") == "prior":
        parts.append(
            f"no measurements for the {s.get('hardware_family') or 'unknown'} family, so it uses "
            f"{s.get('hardware_rule') or 'the physical prior'}"
        )
    if s.get("engine_profile") == "prior":
        parts.append(
            f"no measurements of the {s.get('engine') or 'unknown'} engine, so it uses "
            f"{s.get('engine_rule') or 'the physical prior'}"
        )
    return "; ".join(parts)


def calibration_note(
    hardware: str, status: dict | None, band: tuple[float, float] | None, mclass: str = "*"
) -> str | None:
    """The plain-language line shown wherever a hardware whose profile is a prior is recommended (None when it is
    fitted): ``mi300x rests on a prior (no measurements for the cdna3 family, so it uses the fitted cdna4 family's
    parameters): its throughput band is p10-p90 x0.46-x1.85``."""
    if not rests_on_prior(status, "throughput", mclass):
        return None
    txt = f"{hardware} rests on a prior ({prior_reason(status, mclass)})"
    if band is None:
        return txt + ": no error band (the calibration profile carries no cross-validation table)"
    return txt + f": its throughput band is p10-p90 x{band[0]:.2f}-x{band[1]:.2f}"


def calibration_notes(statuses: dict, table: dict, mclass: str = "*") -> list[str]:
    """:func:`calibration_note` of every hardware of ``statuses`` ({hardware: ProfileStatus dict}) on a prior."""
    out = []
    for hw, st in statuses.items():
        n = calibration_note(hw, st, throughput_band(table, st, mclass), mclass)
        if n:
            out.append(n)
    return out


def annotate_status(
    hardware: str, status: dict, table: dict, mclass: str = "*", batch_per_rank: float | None = None
) -> dict:
    """A ProfileStatus dict with ``prior`` (bool) and ``note`` (:func:`calibration_note`, None when fitted) added,
    in place; returned for chaining."""
    status["prior"] = is_prior(status)
    status["note"] = calibration_note(hardware, status, throughput_band(table, status, mclass, batch_per_rank), mclass)
    return status


def attach_estimate_band(
    est: Estimate,
    model: ModelSpec,
    profile: CalibrationProfile,
    *,
    floors_ms: dict[str, float] | None = None,
    ceiling_output_tokens_per_s_per_gpu: float | None = None,
) -> None:
    """Fill ``est.uncertainty`` (an Estimate) from the profile's CV table, and ``est.calibration``'s ``prior`` flag
    and ``note`` (:func:`calibration_note`); a missing table leaves a warning. ``floors_ms`` (ttft_ms / tpot_ms: the
    roofline at every peak, roofline.physical_floor_s) clip a band's optimistic end at physics: a multiplicative
    band of wide prior errors can otherwise fall below what the chip can do (TTFT p10 under the prompt's FLOPs at
    peak); tokens/s per user is clipped at 1000 / the TPOT floor. ``ceiling_output_tokens_per_s_per_gpu``
    (roofline.output_ceiling_per_gpu at the estimate's batch) clips the throughput bands' p90 likewise."""
    table = profile.uncertainty or {}
    cal = est.calibration
    reg = regime(est.concurrency / max(est.dp, 1))
    mclass = model_class(model)
    out = {}
    value = est.output_tokens_per_s_per_gpu
    ceiling = (ceiling_output_tokens_per_s_per_gpu or 0.0) / value if value and value > 0 else float("nan")
    for fig, (metric, _sign) in FIGURES.items():
        b = figure_band(
            table,
            fig,
            getattr(est, fig),
            family=cal.get("hardware_family", ""),
            engine=est.engine,
            mclass=mclass,
            reg=reg,
            prior=rests_on_prior(cal, metric, mclass),
        )
        if b is None:
            continue
        if metric == "throughput":
            v = float(getattr(est, fig))
            hi = float(hold_factor_at_ceiling(b["p10"] / v, b["p90"] / v, ceiling)) * v if v > 0 else b["p90"]
            if hi < b["p90"]:
                b = {**b, "p90": hi, "clipped_at": "the roofline ceiling of the batch (every peak of the chip)"}
        out[fig] = clip_band_at_floor(b, fig, floors_ms or {})
    if not out:
        est.warnings.append("no error band: the calibration profile carries no cross-validation table")
    est.uncertainty = out
    annotate_status(est.hardware, cal, table, model_class(model), est.concurrency / max(est.dp, 1))


def band_arrays(
    table: dict,
    metric: str,
    family: ArrayLike,
    engine: ArrayLike,
    mclass: str,
    batch_per_rank: ArrayLike,
    prior: ArrayLike,
) -> tuple[np.ndarray, np.ndarray]:
    """Vectorized band_factors: (lo, hi) factor arrays for points with per-point ``family``/``engine`` strings,
    batch per scheduler and prior flags (NaN where no band exists). The points are grouped by their distinct
    (family, engine, regime, prior) combination (a handful), each looked up once."""
    fam_u, fam_i = np.unique(np.asarray(family, dtype=str), return_inverse=True)
    eng_u, eng_i = np.unique(np.asarray(engine, dtype=str), return_inverse=True)
    low = (np.asarray(batch_per_rank, dtype=float) <= LOW_BATCH).astype(np.int64)
    pri = np.asarray(prior, dtype=bool).astype(np.int64)
    code = ((fam_i.astype(np.int64) * len(eng_u) + eng_i) * 2 + low) * 2 + pri
    lo = np.full(code.shape, np.nan)
    hi = np.full(code.shape, np.nan)
    uniq, inv = np.unique(code, return_inverse=True)
    lo_u = np.full(uniq.shape, np.nan)
    hi_u = np.full(uniq.shape, np.nan)
    for j, c in enumerate(uniq.tolist()):
        p, rest = c % 2, c // 2
        lw, rest = rest % 2, rest // 2
        e, f = rest % len(eng_u), rest // len(eng_u)
        b = band_factors(
            table, metric, str(fam_u[f]), str(eng_u[e]), mclass, "low_batch" if lw else "high_batch", bool(p)
        )
        if b is not None:
            lo_u[j], hi_u[j] = b["lo"], b["hi"]
    if code.size:
        lo, hi = lo_u[inv], hi_u[inv]
    return lo, hi


# derived figures of a sweep point and how each scales with the throughput band (+1: with it, -1: inversely)
SWEEP_FIGURES = {
    "total_tokens_per_s_per_gpu": ("throughput", 1),
    "output_tokens_per_s_per_gpu": ("throughput", 1),
    "input_tokens_per_s_per_gpu": ("throughput", 1),
    "tokens_per_s_per_mw": ("throughput", 1),
    "usd_per_mtok_total": ("throughput", -1),
    "usd_per_mtok_input": ("throughput", -1),
    "usd_per_mtok_cached_input": ("throughput", -1),
    "usd_per_mtok_output": ("throughput", -1),
    "usd_per_mtok_input_inferencex": ("throughput", -1),
    "usd_per_mtok_output_inferencex": ("throughput", -1),
    "tokens_per_s_per_user": ("tpot", -1),
    "ttft_ms": ("ttft", 1),
    "tpot_ms": ("tpot", 1),
}


def attach_sweep_bands(
    cols: dict[str, Any],
    table: dict,
    statuses: Sequence[dict],
    mclass: str,
) -> None:
    """Add ``<figure>_p10`` / ``<figure>_p90`` columns for every figure of SWEEP_FIGURES present in ``cols`` (and
    ``band_*_lo/hi`` factors per metric class), in place. ``statuses``: the ProfileStatus dict per hardware index (the
    sweep's hardware list): its family and engine pick the bucket, and its prior figures take the prior bands
    (:func:`rests_on_prior`)."""
    hw = np.asarray(cols["hw"], dtype=np.int64)
    batch = np.asarray(cols.get("batch_per_rank", np.full(hw.shape, LOW_BATCH + 1.0)), dtype=float)
    # the points grouped by (hardware, regime): family, engine and prior are per hardware
    code = hw * 2 + (batch <= LOW_BATCH)
    uniq, inv = np.unique(code, return_inverse=True)
    factors = {}
    for metric in METRIC_CLASSES:
        lo_u = np.full(uniq.shape, np.nan)
        hi_u = np.full(uniq.shape, np.nan)
        for j, c in enumerate(uniq.tolist()):
            h, low = divmod(int(c), 2)
            reg = "low_batch" if low else "high_batch"
            st = statuses[h]
            fam, eng = str(st.get("hardware_family", "")), str(st.get("engine", ""))
            b = band_factors(table, metric, fam, eng, mclass, reg, rests_on_prior(st, metric, mclass))
            if b is not None:
                lo_u[j], hi_u[j] = b["lo"], b["hi"]
        lo, hi = (lo_u[inv], hi_u[inv]) if code.size else (np.zeros(0), np.zeros(0))
        if metric == "throughput" and "throughput_ceiling_factor" in cols:  # held at the roofline of the batch
            hi = hold_factor_at_ceiling(lo, hi, cols["throughput_ceiling_factor"])
        cols[f"band_{metric}_lo"] = lo
        cols[f"band_{metric}_hi"] = hi
        factors[metric] = (lo, hi)
    for fig, (metric, sign) in SWEEP_FIGURES.items():
        if fig not in cols:
            continue
        b = cast(dict[str, Any], scaled_band(cols[fig], *factors[metric], sign))  # array columns: never None
        p10, p90 = b["p10"], b["p90"]
        floor = cols.get(physics_floor_column(PHYSICS_FLOORS[fig])) if fig in PHYSICS_FLOORS else None
        if floor is not None:  # the sweep's per-point floors (0 or NaN: none known)
            p10, p90 = hold_at_physics(fig, p10, p90, floor)
        cols[f"{fig}_p10"], cols[f"{fig}_p90"] = p10, p90
