"""Fitting the performance model's parameters to measurements, cross-validating it, and the error tables.

Used by ``benchmarks/calibrate.py`` (the published measurements in benchmarks/data/) and by ``tokenfab calibrate``
(a user's own benchmark results).

- :class:`Predictor` turns measurement rows (perf/measurements.py) into benchmark runs (rows that share one
  configuration), evaluates every run of a model in one vectorized serve() / serve_disagg() call, and maps each row's
  quantity and statistic to the model's output. It also models the benchmark protocol where the model's steady state
  is not what was measured: a closed-loop run that sends ``m x concurrency`` requests at once starts with one burst
  wave (1/m of the requests), whose TTFT queues behind the whole wave (:func:`first_wave_ttft`).
- :func:`fit_profile` fits the per-family, per-engine and shared parameters (catalog/calibration.py) by bounded
  robust least squares (soft-L1) on log(predicted / measured), each row weighted so that every (source, metric class)
  group counts with the square root of its size, with a pull towards the physical prior (ridge) so parameters without
  data stay physical.
  Deterministic for the same input.
- :func:`cross_validate` refits with each source (leave-one-source-out) and each model (leave-one-model-out) held
  out and predicts the held-out rows: the out-of-sample errors the README quotes and the error bands use.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
from numpy.typing import ArrayLike

from tokenfab.catalog.calibration import (
    BAND_MARGIN_BOUNDS,
    BOUNDS,
    ENGINE_PARAMS,
    FAMILY_PARAMS,
    PRIOR,
    SHARED_PARAMS,
    CalibrationProfile,
    family_vendor,
)
from tokenfab.catalog.hardware import HardwareSpec, get_hardware
from tokenfab.catalog.models import get_model
from tokenfab.core.errors import TokenfabError
from tokenfab.perf import scheduling as sch
from tokenfab.perf import speculative as spec
from tokenfab.perf import uncertainty as unc
from tokenfab.perf.measurements import Measurement
from tokenfab.perf.memory import resolve_parallelism
from tokenfab.perf.points import PointArrays, point_arrays, resolved_cal
from tokenfab.perf.serving import serve, serve_disagg

# (quantity, statistic) -> the key of serve()'s output that predicts it
OUTPUT_KEYS = {
    ("output_tokens_per_s_per_gpu", "mean"): "output_tokens_per_s_per_gpu",
    ("total_tokens_per_s_per_gpu", "mean"): "total_tokens_per_s_per_gpu",
    ("ttft_ms", "mean"): "ttft_ms",
    ("ttft_ms", "median"): "ttft_p50_ms",
    ("ttft_ms", "p99"): "ttft_p99_ms",
    ("tpot_ms", "mean"): "tpot_ms",
    ("tpot_ms", "median"): "tpot_p50_ms",
    ("tpot_ms", "p99"): "tpot_p99_ms",
    ("itl_ms", "mean"): "itl_ms",
    ("itl_ms", "median"): "itl_median_ms",
    ("e2el_ms", "mean"): "e2el_ms",
}
# weight of the pull towards the prior, per parameter (in log space): kernel_efficiency separates an engine from its
# hardware family only where both vary in the data, so it is held closer to 1; comm_latency_us and the per-layer
# overhead add up per layer wherever TP > 1 (they separate only with TP = 1 rows), so the collective's latency is held
# near its physical prior; moe_skew is seen only through expert-parallel rows
RIDGE = 0.05
RIDGE_BY_PARAM = {"kernel_efficiency": 0.5, "moe_efficiency": 0.2, "moe_skew": 0.3, "comm_latency_us": 0.3}
LOG_OFFSET = 1e-3
# robust loss (scipy soft_l1) beyond this weighted log-error: a few rows the model cannot explain (a scheduler
# behaviour no parameter describes) pull the shared efficiencies less than under plain least squares. Applying the
# scale to each row's own (unweighted) error instead was tried on 2026-12-06: in sample slightly better, out of
# sample clearly worse (AMD TTFT median 53% -> 133%, NVIDIA TTFT leave-one-model-out 31% -> 35%; folds then
# warm-started from the full fit): not adopted
ROBUST_SCALE = 0.15


@dataclass
class Run:
    """One benchmark configuration and the measurement rows it produced."""

    model: str
    weights: str
    kv: str
    hardware: str
    engine: str
    tp: int
    pp: int
    dp: int
    ep: int
    prefill: tuple[int, int, int, int] | None  # (tp, pp, dp, ep) of the prefill pool when disaggregated
    isl: float
    osl: float
    concurrency: float | None
    rate_rps: float | None
    spec: spec.SpecConfig
    overrides: tuple[tuple[str, float], ...]
    prompts_per_slot: float | None
    length_ratio: float = 1.0
    rows: list[int] = field(default_factory=list)


def _run_key(m: Measurement) -> tuple[Hashable, ...]:
    return (
        m.model,
        m.weights,
        m.kv,
        m.hardware,
        m.engine,
        m.pool,
        m.prefill_pool,
        m.isl,
        m.osl,
        m.concurrency,
        m.rate_rps,
        m.speculation,
        m.engine_overrides,
        m.prompts_per_slot,
        m.length_ratio,
    )


def _spec_for(m: Measurement) -> spec.SpecConfig:
    s = m.speculation
    if s is None:
        return spec.OFF
    if s.acceptance_length is not None:
        return spec.SpecConfig(
            s.method,
            s.draft_tokens,
            float(s.acceptance_length),
            "stated by the source",
            draft_layers=spec.DRAFT_LAYERS.get(s.method, 1),
        )
    pts, src, stand = spec.published_points(m.model, s.method)
    if not pts:
        # neither the row nor speculative.yaml gives an acceptance for this model and method: DeepSeek-V3's published
        # MTP figures stand in, and the row's speculative source says so
        pts = spec.published_points("deepseek-v3", "mtp")[0]
        src = f"stand-in: deepseek-v3 MTP acceptance (none published for {m.model} {s.method})"
        stand = "deepseek-v3"
    return spec.SpecConfig(
        s.method,
        s.draft_tokens,
        spec.acceptance_length(pts, s.draft_tokens),
        src,
        stand,
        draft_layers=spec.DRAFT_LAYERS.get(s.method, 1),
    )


def first_wave_ttft(
    ttft_mean_s: np.ndarray,
    round_s: ArrayLike,
    service_s: ArrayLike,
    concurrency_per_rank: ArrayLike,
    prompts_per_slot: ArrayLike,
    q: float | None = None,
) -> np.ndarray:
    """TTFT a closed-loop benchmark measures when it sends m x C requests and the first C arrive at once.

    The first wave (1/m of the requests) queues behind itself: the j-th of C waits j prefills, mean (C + 1) / 2 x s.
    The mean over the run is (1 - 1/m) x steady + (1/m) x wave; the p99 falls in the wave when 1/m >= 1%
    (the wave's own 1 - m/100 quantile); the median stays the steady state's for m >= 2."""
    m = np.asarray(prompts_per_slot, dtype=float)
    c = np.asarray(concurrency_per_rank, dtype=float)
    s = np.asarray(service_s, dtype=float)
    half = 0.5 * np.asarray(round_s, dtype=float)
    ok = np.isfinite(m) & (m >= 1)
    if q is None:
        wave = half + sch.burst_response_s(s, c)
        with np.errstate(invalid="ignore"):  # an unbounded (overloaded) TTFT times a zero weight where m is not given
            out = (1.0 - 1.0 / np.where(ok, m, 1.0)) * ttft_mean_s + wave / np.where(ok, m, 1.0)
        return np.where(ok, out, ttft_mean_s)
    if q >= 0.99:
        frac = np.clip(1.0 - 0.01 * np.where(ok, m, 1e9), 0.0, 1.0)
        wave_q = half + frac * c * s
        return np.where(ok & (m <= 100), np.maximum(ttft_mean_s, wave_q), ttft_mean_s)
    return ttft_mean_s


class Predictor:
    """Predicts measurement rows; groups runs per (model, weights, KV, disaggregated) into vectorized calls."""

    def __init__(
        self, rows: list[Measurement], profile: CalibrationProfile, hardware: Sequence[HardwareSpec] = ()
    ) -> None:
        """``hardware``: specs that rows name by key and the catalog may not hold (a user's hardware file)."""
        self.rows = rows
        self.profile = profile
        self.known_hardware = {h.key: h for h in hardware}
        runs: dict[tuple[Hashable, ...], Run] = {}
        for i, m in enumerate(rows):
            key = _run_key(m)
            if key not in runs:
                pool, pre = m.pool, m.prefill_pool
                runs[key] = Run(
                    model=m.model,
                    weights=m.weights,
                    kv=m.kv,
                    hardware=m.hardware,
                    engine=m.engine,
                    tp=pool.tp,
                    pp=pool.pp,
                    dp=pool.dp,
                    ep=pool.ep,
                    prefill=(pre.tp, pre.pp, pre.dp, pre.ep) if pre else None,
                    isl=m.isl,
                    osl=m.osl,
                    concurrency=m.concurrency,
                    rate_rps=m.rate_rps,
                    spec=_spec_for(m),
                    overrides=m.engine_overrides,
                    prompts_per_slot=m.prompts_per_slot,
                    length_ratio=m.length_ratio,
                )
            runs[key].rows.append(i)
        self.runs = list(runs.values())
        groups: defaultdict[tuple[str, str, str, bool], list[int]] = defaultdict(list)
        for j, r in enumerate(self.runs):
            groups[(r.model, r.weights, r.kv, r.prefill is not None)].append(j)
        self.groups = [self._group(key, idx) for key, idx in groups.items()]

    def _group(self, key: tuple[str, str, str, bool], run_idx: list[int]) -> dict[str, Any]:
        model_key, w, kv, disagg = key
        m = get_model(model_key)
        runs = [self.runs[j] for j in run_idx]
        hws = sorted({r.hardware for r in runs})
        engs = sorted({r.engine for r in runs})
        hw_specs = [self.known_hardware.get(h) or get_hardware(h) for h in hws]
        hi = [hws.index(r.hardware) for r in runs]
        ei = [engs.index(r.engine) for r in runs]
        for r in runs:
            resolve_parallelism(
                m,
                gpus=r.tp * r.pp * r.dp,
                tp=r.tp,
                pp=r.pp,
                dp=r.dp,
                ep=r.ep,
                check_heads=False,
                allow_redundant_experts=True,
            )
        pa = point_arrays(
            hw_specs,
            engs,
            w,
            kv,
            self.profile,
            hi,
            ei,
            [r.tp for r in runs],
            [r.pp for r in runs],
            [r.dp for r in runs],
            [r.ep for r in runs],
        )
        pa = _apply_overrides(pa, runs)
        pa_p = None
        if disagg:
            # a disaggregated group (its key): every run has a prefill pool
            prefills = [cast(tuple[int, int, int, int], r.prefill) for r in runs]
            pa_p = point_arrays(
                hw_specs,
                engs,
                w,
                kv,
                self.profile,
                hi,
                ei,
                [pre[0] for pre in prefills],
                [pre[1] for pre in prefills],
                [pre[2] for pre in prefills],
                [pre[3] for pre in prefills],
            )
            pa_p = _apply_overrides(pa_p, runs)
        # rows of the group: (row index, run position in the group, output key)
        rows = []
        for pos, r in enumerate(runs):
            for i in r.rows:
                ms = self.rows[i]
                rows.append((i, pos, OUTPUT_KEYS[(ms.quantity, ms.statistic)], ms.statistic))
        f = lambda v: np.array([np.nan if x is None else x for x in v], dtype=float)  # noqa: E731
        return {
            "model": m,
            "weights": w,
            "kv": kv,
            "disagg": disagg,
            "pa": pa,
            "pa_p": pa_p,
            "hws": hw_specs,
            "engines": engs,
            "hw_idx": np.array(hi),
            "eng_idx": np.array(ei),
            "runs": runs,
            "rows": rows,
            "isl": f([r.isl for r in runs]),
            "osl": f([r.osl for r in runs]),
            "conc": f([r.concurrency for r in runs]),
            "rate": f([r.rate_rps for r in runs]),
            "k": f([r.spec.draft_tokens for r in runs]),
            "acc": f([r.spec.acceptance_length for r in runs]),
            "par": np.array([r.spec.parallel_draft for r in runs]),
            "layers": f([r.spec.draft_layers for r in runs]),
            "m": f([r.prompts_per_slot for r in runs]),
            "ratio": f([r.length_ratio for r in runs]),
        }

    def predict(self, profile: CalibrationProfile | None = None) -> np.ndarray:
        prof = profile or self.profile
        out = np.full(len(self.rows), np.nan)
        for g in self.groups:
            cal = _cal_arrays(prof, g["hws"], g["engines"], g["hw_idx"], g["eng_idx"])
            pa = dataclasses.replace(g["pa"], cal=cal)
            kw = dict(
                isl=g["isl"],
                osl=g["osl"],
                draft_tokens=g["k"],
                acceptance_length=g["acc"],
                parallel_draft=g["par"],
                draft_layers=g["layers"],
            )
            if g["disagg"]:
                pa_p = dataclasses.replace(g["pa_p"], cal=cal)
                r = serve_disagg(
                    g["model"], g["weights"], g["kv"], pa_p, pa, concurrency=g["conc"], rate_rps=g["rate"], **kw
                )
                crank = np.asarray(r["concurrency"], dtype=float) / np.maximum(np.asarray(r["queue_servers"]), 1.0)
            else:
                r = serve(g["model"], g["weights"], g["kv"], pa, concurrency=g["conc"], rate_rps=g["rate"], **kw)
                crank = np.asarray(r["concurrency"], dtype=float) / pa.dp
            sync = (
                ~np.asarray(pa.mixed_batching, dtype=bool)
                & np.isfinite(g["conc"])
                & np.isfinite(g["m"])
                & (g["ratio"] >= 1.0)
                & ~(g["k"] > 0)  # speculation accepts a varying number of tokens per round: the waves drift apart
                & (not g["disagg"])
            )
            # the benchmark's first burst wave (closed loop, m x C requests sent at once)
            rnd = np.asarray(r["mean_round_ms"]) / 1e3
            svc = np.asarray(r["queue_service_s"])
            for key, q in (("ttft_ms", None), ("ttft_p99_ms", 0.99)):
                first = first_wave_ttft(np.asarray(r[key]) / 1e3, rnd, svc, crank, g["m"], q) * 1e3
                r[key] = np.where(sync, r[key], first)
            if np.any(sync):
                _apply_waves(r, g, pa, kw, crank, sync)
            for i, pos, key, _stat in g["rows"]:
                out[i] = float(np.asarray(r[key]).ravel()[pos])
        return out


def _apply_waves(
    r: dict[str, Any], g: dict[str, Any], pa: PointArrays, kw: dict[str, Any], crank: np.ndarray, sync: np.ndarray
) -> None:
    """Runs that move in lock-step waves (scheduling.synchronized_waves: an engine that does not mix, fixed lengths,
    every slot's requests sent at once): latencies from the wave, throughput from Little's law over its cycle."""
    dec = serve(g["model"], g["weights"], g["kv"], pa, concurrency=g["conc"], decode_only=True, **kw)
    w = sch.synchronized_waves(
        np.asarray(r["queue_service_s"]),
        np.asarray(dec["decode_step_ms"]) / 1e3,
        np.asarray(pa.cal["ttft_overhead_ms"]) / 1e3,
        crank,
        g["osl"],
        np.asarray(dec["tpot_ms"]) / 1e3,
        np.asarray(dec["tpot_p99_ms"]) / 1e3,
    )
    ok = sync & np.asarray(r["fits"], dtype=bool) & np.isfinite(w["e2e_mean"])
    e2e_model = np.asarray(r["e2el_ms"], dtype=float)
    scale = np.where(ok, e2e_model / np.maximum(w["e2e_mean"] * 1e3, 1e-9), 1.0)
    for key in (
        "output_tokens_per_s_per_gpu",
        "total_tokens_per_s_per_gpu",
        "output_tokens_per_s",
        "total_tokens_per_s",
        "requests_per_s",
    ):
        r[key] = np.where(ok, np.asarray(r[key]) * scale, r[key])
    acc = np.asarray(r["acceptance_length"], dtype=float)
    for key, val in (
        ("ttft_ms", w["ttft_mean"]),
        ("ttft_p50_ms", w["ttft_p50"]),
        ("ttft_p99_ms", w["ttft_p99"]),
        ("tpot_ms", w["tpot_mean"]),
        ("tpot_p50_ms", w["tpot_p50"]),
        ("tpot_p99_ms", w["tpot_p99"]),
        ("e2el_ms", w["e2e_mean"]),
        ("itl_ms", w["tpot_mean"] * acc),
    ):
        r[key] = np.where(ok, val * 1e3, r[key])
    r["itl_median_ms"] = np.where(ok, dec["itl_median_ms"], r["itl_median_ms"])


def _apply_overrides(pa: PointArrays, runs: Sequence[Run]) -> PointArrays:
    fields: dict[str, Any] = {}
    for name in ("max_seqs", "max_batch_tokens", "memory_fraction", "allreduce_bytes_factor"):
        base = np.asarray(getattr(pa, name), dtype=float).copy()
        for pos, r in enumerate(runs):
            for k, v in r.overrides:
                if k == name:
                    base[pos] = v
        fields[name] = base
    return dataclasses.replace(pa, **fields)


def _cal_arrays(
    profile: CalibrationProfile,
    hws: Sequence[HardwareSpec],
    engines: Sequence[str],
    hw_idx: np.ndarray,
    eng_idx: np.ndarray,
) -> dict[str, np.ndarray]:
    pairs: dict[tuple[int, int], dict[str, float]] = {}
    for h, e in set(zip(hw_idx.tolist(), eng_idx.tolist(), strict=True)):
        pairs[(h, e)] = resolved_cal(profile, hws[h], engines[e])[0]
    names = list(next(iter(pairs.values())))
    keys = list(pairs)
    code = {k: i for i, k in enumerate(keys)}
    idx = np.array([code[(h, e)] for h, e in zip(hw_idx.tolist(), eng_idx.tolist(), strict=True)])
    return {n: np.array([pairs[k][n] for k in keys], dtype=float)[idx] for n in names}


# ----------------------------------------------------------------------------------------------- the fit
def _layout(rows: list[Measurement]) -> list[tuple[str, str | None, str]]:
    """(group, member, parameter) of every free parameter: families and engines present in the rows, and shared."""
    fams = sorted({m.family for m in rows})
    engs = sorted({m.engine for m in rows})
    out: list[tuple[str, str | None, str]] = [("families", f, n) for f in fams for n in FAMILY_PARAMS]
    out += [("engines", e, n) for e in engs for n in ENGINE_PARAMS]
    out += [("shared", None, n) for n in SHARED_PARAMS]
    return out


def _profile_from_vector(
    layout: Sequence[tuple[str, str | None, str]], x: Sequence[float] | np.ndarray, base: CalibrationProfile
) -> CalibrationProfile:
    fams = {k: dict(v) for k, v in base.families.items()}
    engs = {k: dict(v) for k, v in base.engines.items()}
    shared = dict(base.shared)
    for (grp, member, name), v in zip(layout, x, strict=True):
        val = float(math.exp(v) - LOG_OFFSET)
        # families and engines always name their member (_layout); only shared parameters have None
        if grp == "families":
            fams.setdefault(cast(str, member), {})[name] = val
        elif grp == "engines":
            engs.setdefault(cast(str, member), {})[name] = val
        else:
            shared[name] = val
    return CalibrationProfile(shared=shared, families=fams, engines=engs, meta=dict(base.meta), support=base.support)


def row_weights(rows: list[Measurement]) -> np.ndarray:
    """Each (source group, metric class) group weighs sqrt(its rows) in total: 1 / sqrt(n) per row."""
    cnt: defaultdict[tuple[str, str], int] = defaultdict(int)
    for m in rows:
        cnt[(m.source_group, m.metric_class)] += 1
    return np.array([1.0 / math.sqrt(cnt[(m.source_group, m.metric_class)]) for m in rows])


def fit_profile(
    rows: list[Measurement],
    *,
    base: CalibrationProfile | None = None,
    start: CalibrationProfile | None = None,
    max_nfev: int = 60,
    workers: int = 1,
    verbose: int = 0,
) -> tuple[CalibrationProfile, dict]:
    """Fit every family, engine and shared parameter the rows carry information on (see the module docstring)."""
    try:
        from scipy.optimize import least_squares
    except ModuleNotFoundError:  # scipy is an optional extra
        raise TokenfabError(
            "fitting a calibration profile needs scipy", field="scipy", hint='pip install "tokenfab[fit]"'
        ) from None
    base = base or CalibrationProfile()
    layout = _layout(rows)
    pred = Predictor(rows, base)
    meas = np.array([m.value for m in rows])
    w = row_weights(rows)

    def start_value(grp: str, member: str | None, name: str) -> float:
        src = start or base
        table = {"families": src.families, "engines": src.engines}.get(grp)
        # a family or an engine always names its member (_layout): None only for shared parameters (no table)
        v = (table.get(cast(str, member), {}) if table is not None else src.shared).get(name, PRIOR[name])
        return v

    x0 = np.array([math.log(start_value(*e) + LOG_OFFSET) for e in layout])
    lo = np.array([math.log(BOUNDS[n][0] + LOG_OFFSET) for _, _, n in layout])
    hi = np.array([math.log(BOUNDS[n][1] + LOG_OFFSET) for _, _, n in layout])
    x0 = np.clip(x0, lo + 1e-6, hi - 1e-6)
    prior = np.array([math.log(PRIOR[n] + LOG_OFFSET) for _, _, n in layout])
    ridge = np.array([RIDGE_BY_PARAM.get(n, RIDGE) for _, _, n in layout])

    def resid(x: np.ndarray) -> np.ndarray:
        p = pred.predict(_profile_from_vector(layout, x, base))
        r = np.log(np.maximum(p, 1e-9) / meas)
        # an open-loop level the model calls overloaded has no steady state: it carries no information (scored apart)
        r = np.where(np.isfinite(r), r, 0.0)
        return np.concatenate([w * r, ridge * (x - prior)])

    # which rows each parameter can move: a family's rows, an engine's rows, every row for shared ones. Parameters with
    # disjoint rows are perturbed together in the finite-difference Jacobian (far fewer model evaluations), and the
    # perturbed evaluations run on ``workers`` processes
    fam_of = np.array([m.family for m in rows])
    eng_of = np.array([m.engine for m in rows])
    touch = np.zeros((len(rows), len(layout)), dtype=bool)
    for j, (grp, member, _n) in enumerate(layout):
        touch[:, j] = (fam_of == member) if grp == "families" else (eng_of == member) if grp == "engines" else True
    colors = _color_columns(touch)
    cache: dict[bytes, np.ndarray] = {}

    def fun(x: np.ndarray) -> np.ndarray:
        key = x.tobytes()
        if key not in cache:
            cache.clear()
            cache[key] = resid(x)
        return cache[key]

    jac_cache: dict[bytes, np.ndarray] = {}

    def jac(x: np.ndarray) -> np.ndarray:
        # the check for uninformed parameters below and the optimizer's first step ask for the same Jacobian
        key = x.tobytes()
        if key not in jac_cache:
            jac_cache.clear()
            jac_cache[key] = _jac(x)
        return jac_cache[key]

    def _jac(x: np.ndarray) -> np.ndarray:
        f0 = fun(x)
        h = 1e-3 * np.maximum(1.0, np.abs(x))
        xs = []
        for cols in colors:
            xp = x.copy()
            xp[cols] += h[cols]
            xp = np.minimum(xp, hi)
            xs.append(xp)
        fs = _map(resid, xs, workers)
        J = np.zeros((f0.size, x.size))
        nr = len(rows)
        for cols, xp, fp in zip(colors, xs, fs, strict=True):
            d = fp - f0
            for j in cols:
                step = xp[j] - x[j]
                if step == 0:
                    continue
                J[:nr, j] = np.where(touch[:, j], d[:nr] / step, 0.0)
                J[nr + j, j] = d[nr + j] / step
        return J

    # a parameter no row carries information on (its Jacobian column is zero on every row: an engine without TTFT
    # rows has no TTFT overhead to learn) starts at, and so keeps, its prior: a warm start from a fit that saw other
    # rows (``start=``: cross-validation folds started from the full fit until 2026-12-07) would otherwise carry
    # those rows' value into this fit, where only the ridge's weak pull could move it back
    informed = np.any(jac(x0)[: len(rows)] != 0.0, axis=0)
    x0 = np.where(informed, x0, np.clip(prior, lo + 1e-6, hi - 1e-6))
    sol = least_squares(
        fun,
        x0,
        jac=jac,
        bounds=(lo, hi),
        max_nfev=max_nfev,
        x_scale=1.0,
        verbose=verbose,
        loss="soft_l1",
        f_scale=ROBUST_SCALE,
    )
    prof = _profile_from_vector(layout, sol.x, base)
    prof.support = data_support(rows)
    info = {"cost": float(sol.cost), "nfev": int(sol.nfev), "status": int(sol.status), "message": str(sol.message)}
    info["uninformed"] = [
        f"{grp}.{member}.{n}" if member else f"shared.{n}"
        for (grp, member, n), ok in zip(layout, informed, strict=True)
        if not ok
    ]
    info["at_bounds"] = [
        f"{grp}.{member}.{n}" if member else f"shared.{n}"
        for (grp, member, n), v, a, b in zip(layout, sol.x, lo, hi, strict=True)
        if v <= a + 1e-4 or v >= b - 1e-4
    ]
    return prof, info


def fit_user_params(
    rows: list[Measurement],
    *,
    base: CalibrationProfile,
    hardware: HardwareSpec,
    engine: str,
    names: tuple[str, ...],
    max_nfev: int = 60,
) -> tuple[CalibrationProfile, dict[str, float], dict[str, Any]]:
    """A user's own calibration: fit ``names`` for one (hardware, engine) on its measurements, everything else from
    ``base``; the result is the base profile plus a flat parameter set for that hardware (``hardware`` entry)."""
    from scipy.optimize import least_squares

    from tokenfab.catalog.calibration import PerfParams, user_entry_key

    start = base.params_for(hardware, engine).to_dict()
    pred = Predictor(rows, base, (hardware,))
    meas = np.array([m.value for m in rows])
    x0 = np.array([math.log(start[n] + LOG_OFFSET) for n in names])
    lo = np.array([math.log(BOUNDS[n][0] + LOG_OFFSET) for n in names])
    hi = np.array([math.log(BOUNDS[n][1] + LOG_OFFSET) for n in names])
    x0 = np.clip(x0, lo + 1e-6, hi - 1e-6)

    def profile_of(x: np.ndarray) -> tuple[CalibrationProfile, dict[str, float]]:
        vals = dict(start)
        vals.update({n: float(math.exp(v) - LOG_OFFSET) for n, v in zip(names, x, strict=True)})
        return CalibrationProfile(
            shared=base.shared,
            families=base.families,
            engines=base.engines,
            hardware={**base.hardware, user_entry_key(hardware.key, engine): PerfParams(**vals).to_dict()},
            support=base.support,
            uncertainty=base.uncertainty,
            meta=dict(base.meta),
        ), vals

    def resid(x: np.ndarray) -> np.ndarray:
        p = pred.predict(profile_of(x)[0])
        r = np.log(np.maximum(p, 1e-9) / meas)
        return np.concatenate([np.where(np.isfinite(r), r, 0.0), RIDGE * (x - x0)])

    sol = least_squares(resid, x0, bounds=(lo, hi), max_nfev=max_nfev, diff_step=1e-3)
    prof, vals = profile_of(sol.x)
    info = {"cost": float(sol.cost), "nfev": int(sol.nfev), "status": int(sol.status), "message": str(sol.message)}
    return prof, {n: vals[n] for n in names}, info


def _color_columns(touch: np.ndarray) -> list[list[int]]:
    """Greedy grouping of Jacobian columns whose rows do not overlap (Curtis, Powell & Reid 1974)."""
    groups: list[tuple[list[int], np.ndarray]] = []
    for j in range(touch.shape[1]):
        for cols, used in groups:
            if not np.any(used & touch[:, j]):
                cols.append(j)
                used |= touch[:, j]
                break
        else:
            groups.append(([j], touch[:, j].copy()))
    return [cols for cols, _ in groups]


_RESID: Callable[[np.ndarray], np.ndarray] | None = None


def _call_resid(x: np.ndarray) -> np.ndarray:
    assert _RESID is not None  # set by _map before the pool forks
    return _RESID(x)


def _map(fn: Callable[[np.ndarray], np.ndarray], xs: list[np.ndarray], workers: int) -> list[np.ndarray]:
    """fn over xs, on ``workers`` forked processes when more than one (results in order)."""
    if workers <= 1 or len(xs) <= 1:
        return [fn(x) for x in xs]
    import multiprocessing as mp

    global _RESID
    _RESID = fn
    ctx = mp.get_context("fork")
    with ctx.Pool(processes=workers) as pool:
        return pool.map(_call_resid, xs)


def data_support(rows: list[Measurement]) -> dict[str, dict[str, Any]]:
    """Rows, hardware, engines and sources behind each family, engine and (family, engine) pair."""

    def agg(keyf: Callable[[Measurement], str]) -> dict[str, dict[str, Any]]:
        d: dict[str, dict[str, Any]] = {}
        for m in rows:
            e = d.setdefault(
                keyf(m), {"rows": 0, "hardware": set(), "engines": set(), "models": set(), "sources": set()}
            )
            e["rows"] += 1
            e["hardware"].add(m.hardware)
            e["engines"].add(m.engine)
            e["models"].add(m.model)
            e["sources"].add(m.source_group)
        return {
            k: {kk: (sorted(vv) if isinstance(vv, set) else vv) for kk, vv in v.items()} for k, v in sorted(d.items())
        }

    return {
        "families": agg(lambda m: m.family),
        "engines": agg(lambda m: m.engine),
        "pairs": agg(lambda m: f"{m.family}|{m.engine}"),
    }


# ----------------------------------------------------------------------------------------------- errors
def ape_pct(pred: ArrayLike, meas: ArrayLike) -> np.ndarray:
    return np.abs(np.asarray(pred) / np.asarray(meas) - 1.0) * 100.0


def _summ(pred: ArrayLike, meas: ArrayLike) -> dict[str, float]:
    pred = np.asarray(pred, dtype=float)
    meas = np.asarray(meas, dtype=float)
    ok = np.isfinite(pred) & (pred > 0)
    if not ok.any():
        return {"n": 0}
    ratio = pred[ok] / meas[ok]
    a = np.abs(ratio - 1.0) * 100.0
    return {
        "n": int(ok.sum()),
        "median_ape_pct": float(np.median(a)),
        "p90_ape_pct": float(np.percentile(a, 90)),
        "bias_pct": float((np.exp(np.median(np.log(ratio))) - 1.0) * 100.0),
    }


def metric_label(m: Measurement) -> str:
    if m.metric_class == "throughput":
        return "throughput"
    return f"{m.quantity.replace('_ms', '')}:{m.statistic}"


def error_table(rows: list[Measurement], pred: np.ndarray) -> dict[str, Any]:
    """Median / p90 absolute percentage error and the signed bias (median of predicted / measured - 1, in %),
    overall and by metric, family, engine, model class, source, scenario, hardware and model. Rows the model calls
    overloaded (no steady state) are counted apart, not scored."""
    meas = np.array([m.value for m in rows])
    pred = np.asarray(pred, dtype=float)
    finite = np.isfinite(pred) & (pred > 0)

    def by(keyf: Callable[[Measurement], str]) -> dict[str, dict[str, float]]:
        d: defaultdict[str, list[int]] = defaultdict(list)
        for i, m in enumerate(rows):
            d[keyf(m)].append(i)
        return {k: _summ(pred[v], meas[v]) for k, v in sorted(d.items())}

    mclass = {m.model: unc.model_class(get_model(m.model)) for m in rows}
    worst = np.argsort(-np.where(finite, ape_pct(pred, meas), -1.0))[:12]
    return {
        "overall": _summ(pred, meas),
        "unscored_overloaded": int((~finite).sum()),
        "by_metric_class": by(lambda m: m.metric_class),
        "by_metric": by(metric_label),
        "by_vendor": by(lambda m: family_vendor(m.family)),
        "by_vendor_metric": by(lambda m: f"{family_vendor(m.family)}:{m.metric_class}"),
        "by_family": by(lambda m: m.family),
        "by_engine": by(lambda m: m.engine),
        "by_model_class": by(lambda m: mclass[m.model]),
        "by_source": by(lambda m: m.source_group),
        "by_scenario": by(lambda m: m.scenario),
        "by_hardware": by(lambda m: m.hardware),
        "by_model": by(lambda m: m.model),
        "worst": [
            {
                "id": rows[i].id,
                "model": rows[i].model,
                "hardware": rows[i].hardware,
                "engine": rows[i].engine,
                "metric": rows[i].metric,
                "measured": float(meas[i]),
                "predicted": float(pred[i]),
                "ape_pct": float(ape_pct(pred[i], meas[i])),
            }
            for i in worst
            if finite[i]
        ],
    }


# ----------------------------------------------------------------------------------------------- cross-validation
def _fold_rows(rows: list[Measurement], kind: str) -> dict[str, list[int]]:
    d: defaultdict[str, list[int]] = defaultdict(list)
    for i, m in enumerate(rows):
        d[m.source_group if kind == "source" else m.model].append(i)
    return dict(sorted(d.items()))


_FoldJob = tuple[list[Measurement], list[int], list[int], int]


def _one_fold(args: _FoldJob) -> tuple[list[int], np.ndarray, list[bool], dict[str, Any]]:
    rows, train_idx, test_idx, max_nfev = args
    train = [rows[i] for i in train_idx]
    test = [rows[i] for i in test_idx]
    prof, info = fit_profile(train, max_nfev=max_nfev)
    fams = {m.family for m in train}
    engs = {m.engine for m in train}
    p = Predictor(test, prof).predict()
    prior = [(m.family not in fams) or (m.engine not in engs) for m in test]
    return test_idx, p, prior, info


def cross_validate(
    rows: list[Measurement],
    *,
    kinds: tuple[str, ...] = ("source", "model"),
    max_nfev: int = 60,
    workers: int = 1,
    progress: Callable[[str, str], object] | None = None,
) -> dict[str, dict[str, Any]]:
    """Out-of-sample predictions for every row under each fold kind (``source``: leave-one-source-out; ``model``:
    leave-one-model-out). Each fold is fitted from the prior, exactly as a full fit is (fit_profile with no start; the
    same ``max_nfev`` as fit_profile's by default): there is no warm start, because a fold started from the full fit,
    which saw its held-out rows, can stop near it and score them nearly in sample (folds did so until 2026-12-07).
    Returns {kind: {"pred": array, "prior": bool array, "folds": {name: info}}}."""
    out = {}
    for kind in kinds:
        folds = _fold_rows(rows, kind)
        jobs = []
        for name, test_idx in folds.items():
            held = set(test_idx)
            train_idx = [i for i in range(len(rows)) if i not in held]
            jobs.append((name, (rows, train_idx, test_idx, max_nfev)))
        pred = np.full(len(rows), np.nan)
        prior = np.zeros(len(rows), dtype=bool)
        infos = {}
        if workers > 1:
            from concurrent.futures import ProcessPoolExecutor

            with ProcessPoolExecutor(max_workers=workers) as ex:
                results = list(ex.map(_one_fold, [j for _, j in jobs]))
        else:
            results = []
            for name, j in jobs:
                results.append(_one_fold(j))
                if progress:
                    progress(kind, name)
        for (name, _), (test_idx, p, pr, info) in zip(jobs, results, strict=True):
            pred[test_idx] = p
            prior[test_idx] = pr
            infos[name] = {"rows": len(test_idx), **info}
        out[kind] = {"pred": pred, "prior": prior, "folds": infos}
    return out


def residual_rows(
    rows: list[Measurement], pred: np.ndarray, prior: np.ndarray
) -> list[tuple[str, str, str, str, str, float, bool]]:
    """(metric class, family, engine, model class, regime, ln(measured / predicted), prior) per scored row."""
    out = []
    for m, p, pr in zip(rows, pred, prior, strict=True):
        if not (np.isfinite(p) and p > 0):
            continue
        batch = (m.concurrency / max(m.pool.dp, 1)) if m.concurrency else (unc.LOW_BATCH + 1)
        out.append(
            (
                m.metric_class,
                m.family,
                m.engine,
                unc.model_class(get_model(m.model)),
                unc.regime(batch),
                float(math.log(m.value / p)),
                bool(pr),
            )
        )
    return out


def band_coverage(
    rows: list[Measurement],
    pred: np.ndarray,
    prior: np.ndarray,
    widen: float | dict[str, Any] = 1.0,
    margin: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Coverage of the p10-p90 bands out of sample: for each source, the band table is built from the other sources'
    out-of-sample residuals (bands scaled by ``widen``) and the source's own rows are checked against it. Beside the
    share inside, the shares below and above the band per ``vendor:metric`` group (each should be about 10%)."""
    res = residual_rows(rows, pred, prior)
    groups = [m.source_group for m, p in zip(rows, pred, strict=True) if np.isfinite(p) and p > 0]
    inside = []
    per = defaultdict(list)
    per_vendor = defaultdict(list)
    below = defaultdict(list)
    above = defaultdict(list)
    for g in sorted(set(groups)):
        table = unc.build_table([r for r, gg in zip(res, groups, strict=True) if gg != g], widen=widen, margin=margin)
        for r, gg in zip(res, groups, strict=True):
            if gg != g:
                continue
            metric, fam, eng, mcl, reg, lr, pr = r
            b = unc.band_factors(table, metric, fam, eng, mcl, reg, pr)
            if b is None:
                continue
            lo_miss, hi_miss = lr < math.log(b["lo"]), lr > math.log(b["hi"])
            hit = not (lo_miss or hi_miss)
            key = unc.scale_key(metric, fam)
            inside.append(hit)
            per[metric].append(hit)
            per_vendor[key].append(hit)
            below[key].append(lo_miss)
            above[key].append(hi_miss)
    return {
        "inside_p10_p90": float(np.mean(inside)) if inside else float("nan"),
        "rows": len(inside),
        "by_metric": {k: float(np.mean(v)) for k, v in sorted(per.items())},
        "by_vendor_metric": {k: float(np.mean(v)) for k, v in sorted(per_vendor.items())},
        "below_by_vendor_metric": {k: float(np.mean(v)) for k, v in sorted(below.items())},
        "above_by_vendor_metric": {k: float(np.mean(v)) for k, v in sorted(above.items())},
        "widen": {k: unc.widen_entry(v) for k, v in sorted(widen.items())} if isinstance(widen, dict) else float(widen),
        **({"margin": dict(sorted(margin.items()))} if margin is not None else {}),
    }


def fit_band_margin(
    rows: list[Measurement], pred: np.ndarray, prior: np.ndarray, target: float = unc.TARGET_COVERAGE
) -> dict[str, dict[str, float]]:
    """Per ``vendor:metric class`` group (uncertainty.scale_key) and per side of the band, the smallest margin (ln
    units) within BAND_MARGIN_BOUNDS ([0, 3]) that, added beyond the band's end, leaves at most (1 - ``target``) / 2 of
    that group's held-out-source rows (:func:`band_coverage`) below the band (the low side's margin) and as many
    above it (the high side's), by bisection: each share falls as its side's margin grows and depends on that side's
    margin only, so every group and side is bisected together; together they reach ``target`` inside. This is
    conformalized quantile regression (Romano, Patterson and Candes, NeurIPS 2019) on each end, with the sources as
    the exchangeable units. An additive margin covers a source whose errors sit elsewhere than the others' by what its
    misses need; a multiplicative scale of a narrow bucket's spread (the method until 2026-12-07) had to grow the
    spread many times over to reach them, and put a prior AMD chip's TTFT p90 at 640x the estimate. Per side, so a
    model that errs one way extends that side only; per group, so the well-predicted groups cannot hide the badly
    predicted ones. The margins are chosen on the same held-out rows they are judged on (without a separate
    calibration split): calibrate.py reports the coverage without them beside it."""
    tail = (1.0 - target) / 2.0
    sides = (("lo", "below_by_vendor_metric"), ("hi", "above_by_vendor_metric"))

    def misses(m: dict[tuple[str, str], float]) -> dict[tuple[str, str], float]:
        margin: dict[str, dict[str, float]] = {}
        for (g, side), v in m.items():
            margin.setdefault(g, {"lo": 0.0, "hi": 0.0})[side] = v
        c = band_coverage(rows, pred, prior, margin=margin)
        return {(g, side): float(c[k].get(g, 0.0)) for side, k in sides for g in c[k]}

    floor, ceiling = BAND_MARGIN_BOUNDS
    base = misses({})
    keys = sorted(base)
    lo = dict.fromkeys(keys, floor)
    hi = dict.fromkeys(keys, ceiling)
    top = misses(dict(hi))
    done = {k: (floor if base[k] <= tail else ceiling) for k in keys}  # ceiling: the target is out of reach
    live = [k for k in keys if base[k] > tail >= top[k]]
    for _ in range(12):  # bounded bisection: 3 / 2^12 < 0.001
        if not live:
            break
        mid = {k: 0.5 * (lo[k] + hi[k]) for k in live}
        c = misses({**dict.fromkeys(keys, floor), **mid})
        for k in live:
            if c[k] <= tail:
                hi[k] = mid[k]
            else:
                lo[k] = mid[k]
    for k in live:
        done[k] = math.ceil(hi[k] * 1000.0) / 1000.0  # rounded up: the rounded margin still reaches the target
    groups = sorted({g for g, _ in keys})
    return {g: {"lo": done.get((g, "lo"), floor), "hi": done.get((g, "hi"), floor)} for g in groups}


def file_sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


__all__ = [
    "OUTPUT_KEYS",
    "Predictor",
    "Run",
    "band_coverage",
    "cross_validate",
    "data_support",
    "error_table",
    "file_sha256",
    "first_wave_ttft",
    "fit_band_margin",
    "fit_profile",
    "metric_label",
    "residual_rows",
    "row_weights",
]
