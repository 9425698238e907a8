"""Measured benchmark levels against the performance model: predictions per level, and calibration from them.

* :func:`make_predictor` returns a ``predict(point)`` callable for :func:`tokenfab.bench.report.compare_with_model`:
  each measured level is re-run through :func:`tokenfab.perf.serving.estimate` at the same concurrency (closed loop) or
  request rate (open loop) and the run's mean input/output lengths.
* :func:`fit_from_runs` turns levels into measurement rows (throughput per GPU, mean TTFT, mean TPOT) and fits
  :data:`USER_FIT_PARAMS` (the chip's compute and memory efficiencies and the engine's own costs: its per-step,
  per-layer and per-sequence overheads and its collective latency) for that hardware and engine with
  :func:`tokenfab.perf.fitting.fit_user_params`, everything else from the base profile; the result is stored as a
  hardware-specific entry on top of the bundled profile, so ``estimate``/``frontier --calibration FILE`` use it for
  that hardware only.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tokenfab.catalog.calibration import BOUNDS, CalibrationProfile, load_profile
from tokenfab.catalog.hardware import get_hardware
from tokenfab.catalog.models import get_model
from tokenfab.core.errors import TokenfabError
from tokenfab.perf.serving import estimate

# what a user's own measurements fit: the per-family efficiencies, and the engine's own costs - its per-step overhead
# and its all-reduce latency (custom all-reduce kernels differ by engine; with TP=1 the ridge keeps it at the prior)
USER_FIT_PARAMS = (
    "gemm_efficiency",
    "memory_efficiency",
    "seq_overhead_us",
    "step_overhead_ms",
    "layer_overhead_us",
    "comm_latency_us",
    # the front end's fixed cost per request (API server, tokenisation, admission): without it a server's constant
    # TTFT offset is explained by slower memory, which moves TPOT away from its measurement
    "ttft_overhead_ms",
)
# median error after the fit above which the model cannot follow the measurements well (the accuracy target)
POOR_FIT_MEDIAN_APE_PCT = 15.0
# the held-out check: at least this many measured levels (one held out, two or more to fit), at most this many folds
MIN_HELD_OUT_LEVELS = 3
MAX_HELD_OUT_FOLDS = 10

COMPARED = {
    "total_tokens_per_s_per_gpu": "total_tokens_per_s_per_gpu",
    "output_tokens_per_s_per_gpu": "output_tokens_per_s_per_gpu",
    "ttft_ms_mean": "ttft_ms",
    "tpot_ms_mean": "tpot_ms",
}


def level_lengths(run: Mapping) -> tuple[int, int]:
    """Mean input and output tokens per successful request of a level."""
    ok = run.get("requests_ok") or 0
    if not ok:
        raise TokenfabError("a level has no successful request: nothing to compare", field="results")
    return max(1, round(run.get("input_tokens", 0) / ok)), max(1, round(run.get("output_tokens", 0) / ok))


STEADY_MODES = ("closed", "open")  # levels with one concurrency or one rate: what the model predicts


def make_predictor(
    runs: Sequence[Mapping],
    *,
    model: str,
    hardware: str,
    gpus: int,
    tp: int | None = None,
    pp: int | None = None,
    ep: int | None = None,
    dp: int | None = None,
    weights: str | None = None,
    kv: str | None = None,
    calibration: str | Path | CalibrationProfile | None = None,
    engine: str | None = None,
    hardware_files: list[str] | tuple[str, ...] | None = None,
) -> Callable[[Mapping], dict]:
    by_level = {(r.get("run_id"), r.get("mode"), r.get("concurrency"), r.get("rate")): r for r in runs}

    def predict(point: Mapping) -> dict:
        if point.get("mode") not in STEADY_MODES:  # a ramp or a trace replay has no steady state to predict
            return {}
        run = by_level[(point.get("run_id"), point.get("mode"), point.get("concurrency"), point.get("rate"))]
        isl, osl = level_lengths(run)
        kw: dict[str, Any] = dict(
            model=model,
            hardware=hardware,
            gpus=gpus,
            tp=tp,
            pp=pp,
            ep=ep,
            dp=dp,
            weights=weights,
            kv=kv,
            isl=isl,
            osl=osl,
            calibration=calibration,
            engine=engine,
            hardware_files=hardware_files,
        )
        if point.get("mode") == "closed":
            e = estimate(concurrency=int(point["concurrency"]), **kw)
        else:
            rate = float(point["rate"]) if point.get("rate") not in (None, "inf") else math.inf
            e = estimate(concurrency="max", **kw) if math.isinf(rate) else estimate(rate_rps=rate, **kw)
        if not e.fits:  # a prediction of 0 would read as a -100% error: the layout cannot hold the model
            raise TokenfabError(
                f"{e.model} does not fit on {e.gpus} x {e.hardware} at {e.weights} weights: no prediction to compare",
                field="gpus",
                expected="the layout the endpoint ran (--gpus / --tp / --pp), one that holds the model (tokenfab fit "
                "shows what it needs)",
                got=e.gpus,
            )
        d = e.to_dict()
        return {
            "total_tokens_per_s_per_gpu": d["total_tokens_per_s_per_gpu"],
            "output_tokens_per_s_per_gpu": d["output_tokens_per_s_per_gpu"],
            "ttft_ms_p50": d["ttft_ms"],
            "tpot_ms_p50": d["tpot_ms"],
            "tokens_per_s_per_user": d["tokens_per_s_per_user"],
        }

    return predict


def fit_from_runs(
    runs: Sequence[Mapping],
    *,
    model: str,
    hardware: str,
    gpus: int,
    tp: int | None = None,
    pp: int | None = None,
    ep: int | None = None,
    dp: int | None = None,
    weights: str | None = None,
    kv: str | None = None,
    base: str | Path | CalibrationProfile | None = None,
    engine: str | None = None,
    max_nfev: int = 60,
    hardware_files: list[str] | tuple[str, ...] | None = None,
) -> tuple[CalibrationProfile, dict]:
    """Fit :data:`USER_FIT_PARAMS` for ``hardware`` (served by ``engine``) to measured levels; returns (profile,
    error summary)."""
    from tokenfab.catalog import precision as prec
    from tokenfab.catalog.engines import resolve_engine
    from tokenfab.perf.fitting import Predictor, fit_user_params
    from tokenfab.perf.measurements import Measurement, Pool
    from tokenfab.perf.memory import resolve_parallelism

    m = get_model(model)
    hw = get_hardware(hardware, hardware_files=hardware_files)
    eng = resolve_engine(engine, hw)
    par = resolve_parallelism(m, gpus=gpus, tp=tp, pp=pp, dp=dp, ep=ep, allow_redundant_experts=eng.supports("eplb"))
    w = prec.normalize(weights or m.native_weights, field="weights")
    kvp = kv or prec.default_kv_precision(w)
    gpus_used = par.gpus
    rows: list[Measurement] = []
    metrics = {
        "output_tokens_per_s_per_gpu": ("output_tokens_per_s_per_gpu", "mean"),
        "total_tokens_per_s_per_gpu": ("total_tokens_per_s_per_gpu", "mean"),
        "ttft_ms_mean": ("ttft_ms", "mean"),
        "tpot_ms_mean": ("tpot_ms", "mean"),
    }
    unsteady = 0
    for r in runs:
        if not r.get("requests_ok"):
            continue
        if r.get("mode") not in STEADY_MODES:  # a ramp's rate changes and a trace replays its own arrivals: the
            unsteady += 1  # model's steady state at one level describes neither
            continue
        isl, osl = level_lengths(r)
        conc = float(r["concurrency"]) if r.get("mode") == "closed" else None
        rate = None if r.get("mode") == "closed" else (None if r.get("rate") in (None, "inf") else float(r["rate"]))
        vals = {
            "output_tokens_per_s_per_gpu": (r.get("output_tokens_per_s") or 0) / gpus_used,
            "total_tokens_per_s_per_gpu": (r.get("total_tokens_per_s") or 0) / gpus_used,
            "ttft_ms_mean": r.get("ttft_ms_mean"),
            "tpot_ms_mean": r.get("tpot_ms_mean"),
        }
        for metric, v in vals.items():
            if isinstance(v, int | float) and v > 0 and math.isfinite(v):
                q, stat = metrics[metric]
                rows.append(
                    Measurement(
                        id=f"{r.get('run_id', '')}:{r.get('mode')}:{conc or rate}:{metric}",
                        source="tokenfab bench",
                        source_group="tokenfab bench",
                        model=m.key,
                        hardware=hw.key,
                        family=hw.cost_family or "default",
                        engine=eng.key,
                        scenario="online_concurrency" if conc else "online_rate",
                        quantity=q,
                        statistic=stat,
                        value=float(v),
                        pool=Pool(par.gpus, par.tp, par.pp, par.dp, par.ep),
                        prefill_pool=None,
                        weights=w,
                        kv=kvp,
                        isl=float(isl),
                        osl=float(osl),
                        length_ratio=1.0,
                        concurrency=conc,
                        rate_rps=rate,
                        speculation=None,
                    )
                )
    # a level's total and output throughput are proportional (the same lengths): they count once
    independent = sum(1 for r in rows if r.quantity != "total_tokens_per_s_per_gpu")
    if independent < len(USER_FIT_PARAMS):
        raise TokenfabError(
            f"{independent} independent measured value(s) (per level: throughput, mean TTFT, mean TPOT) cannot "
            f"determine the {len(USER_FIT_PARAMS)} parameters a calibration fits"
            + (f"; {unsteady} ramp or trace level(s) left out: they have no steady state" if unsteady else ""),
            field="results",
            expected=f"at least {MIN_HELD_OUT_LEVELS} closed-loop (--concurrency) or open-loop (--rate) levels of "
            "tokenfab bench with outputs of 2 tokens or more, e.g. --concurrency 1,4,16",
        )
    base = load_profile(base)
    prof, params, info = fit_user_params(
        rows, base=base, hardware=hw, engine=eng.key, names=USER_FIT_PARAMS, max_nfev=max_nfev
    )
    before = _errors(rows, Predictor(rows, base, (hw,)).predict())
    if not before.get("n"):  # no level has a prediction: the layout cannot hold the model (nothing was compared)
        raise TokenfabError(
            f"{m.key} does not fit on {par.gpus} x {hw.key} at {w} weights: the model has nothing to compare the "
            "measurements with, so there is nothing to calibrate",
            field="gpus",
            expected="the layout the endpoint ran (--gpus / --tp / --pp), one that holds the model (tokenfab fit shows "
            "what it needs)",
            got=par.gpus,
        )
    after = _errors(rows, Predictor(rows, prof, (hw,)).predict())
    held_out = held_out_errors(rows, base_errors=before, base=base, hardware=hw, engine=eng.key, max_nfev=max_nfev)
    warnings = []
    if unsteady:
        warnings.append(
            f"{unsteady} ramp or trace level(s) left out: the model predicts a steady state at one concurrency or "
            "rate, which a ramp or a replayed trace does not have"
        )
    for k in USER_FIT_PARAMS:
        lo, hi = BOUNDS[k]
        v = params[k]
        if v <= lo * 1.001 + 1e-9 or v >= hi * 0.999:
            warnings.append(
                f"{k} = {v:.4g} sits at its bound [{lo:g}, {hi:g}]: the measurements ask for more than the "
                f"model's physics allows (a different model, precision or layout than the one served?)"
            )
    import datetime as _dt

    meta: dict[str, Any] = {
        "fitted_on": "tokenfab bench results",
        "script": "tokenfab calibrate",
        "date": _dt.date.today().isoformat(),
        "method": f"bounded least squares on log(predicted/measured) of the measured levels; fitted for hardware "
        f"{hw.key} with engine {eng.key} only: {', '.join(USER_FIT_PARAMS)}; everything else from the base profile",
        "user_calibration": {
            "hardware": hw.key,
            "engine": eng.key,
            "model": m.key,
            "weights": w,
            "points": len(rows),
            "fit": info,
        },
        "base_profile": {k: base.meta.get(k) for k in ("fitted_on", "data_sha256", "date", "script") if k in base.meta},
    }
    # the base fit's record of parameters no measurement informed (ProfileStatus.at_prior on other hardware)
    base_fit = base.meta.get("fit") if isinstance(base.meta, dict) else None
    if isinstance(base_fit, dict) and isinstance(base_fit.get("uninformed"), list):
        meta["fit"] = {"uninformed": list(base_fit["uninformed"])}
    prof.meta = meta
    if after.get("median_ape_pct", 0.0) > POOR_FIT_MEDIAN_APE_PCT:
        warnings.append(
            f"median error after the fit is still {after['median_ape_pct']:.1f}%: the model does not follow "
            f"these measurements well; check --model/--weights/--tp/--gpus match what was served"
        )
    meta["user_calibration"]["errors"] = {"before": before, "after": after, "held_out": held_out}
    meta["user_calibration"]["warnings"] = warnings
    return prof, {
        "hardware": hw.key,
        "engine": eng.key,
        "points": len(rows),
        "before": before,
        "after": after,
        "held_out": held_out,
        "params": params,
        "fit": info,
        "warnings": warnings,
        "worse_than_base": fit_is_worse(before, after, held_out),
    }


def rms_log_error(pred: Sequence[float] | Any, meas: Sequence[float] | Any) -> float | None:
    """Root mean square of log(predicted / measured) over the points the model scores (finite, positive): the
    quantity the fit minimizes (0.1 is about 10%). None when no point is scored."""
    p = np.asarray(pred, dtype=float)
    m = np.asarray(meas, dtype=float)
    ok = np.isfinite(p) & (p > 0) & np.isfinite(m) & (m > 0)
    if not ok.any():
        return None
    r = np.log(p[ok] / m[ok])
    return float(np.sqrt(np.mean(r * r)))


def _errors(rows: Sequence[Any], pred: Any) -> dict[str, Any]:
    """error_table's overall summary of predictions for rows, with the rms log error the fit minimizes."""
    from tokenfab.perf.fitting import error_table

    return {**error_table(list(rows), pred)["overall"], "rms_log_error": rms_log_error(pred, [m.value for m in rows])}


def _level_of(m: Any) -> str:
    return str(m.id).rsplit(":", 1)[0]  # run id, mode and load of the level; the metric is the last field


def level_folds(rows: Sequence[Any]) -> list[list[int]]:
    """Row indices per fold for the held-out check: each measured level its own fold, ordered by load; more than
    :data:`MAX_HELD_OUT_FOLDS` levels are grouped into that many contiguous folds (the work stays bounded)."""
    order: dict[str, list[int]] = {}
    for i, m in enumerate(rows):
        order.setdefault(_level_of(m), []).append(i)
    levels = sorted(order, key=lambda k: (rows[order[k][0]].concurrency or 0.0, rows[order[k][0]].rate_rps or 0.0, k))
    k = min(len(levels), MAX_HELD_OUT_FOLDS)
    folds: list[list[int]] = [[] for _ in range(k)]
    for j, lev in enumerate(levels):
        folds[j * k // len(levels)].extend(order[lev])
    return folds


def held_out_errors(
    rows: list[Any],
    *,
    base_errors: dict[str, Any],
    base: CalibrationProfile,
    hardware: Any,
    engine: str,
    max_nfev: int = 60,
) -> dict[str, Any] | None:
    """Leave one measured level out: refit :data:`USER_FIT_PARAMS` without the level, predict it, and score these
    predictions beside ``base_errors`` (the base profile's on the same points, which no refit changes). None with
    fewer than :data:`MIN_HELD_OUT_LEVELS` levels."""
    from tokenfab.perf.fitting import Predictor, fit_user_params

    folds = level_folds(rows)
    if len(folds) < MIN_HELD_OUT_LEVELS:
        return None
    pred = np.full(len(rows), np.nan)
    for fold in folds:
        held = set(fold)
        train = [m for i, m in enumerate(rows) if i not in held]
        prof, _, _ = fit_user_params(
            train, base=base, hardware=hardware, engine=engine, names=USER_FIT_PARAMS, max_nfev=max_nfev
        )
        pred[fold] = Predictor([rows[i] for i in fold], prof, (hardware,)).predict()
    return {
        "method": f"leave one measured level out ({len(folds)} folds)",
        "folds": len(folds),
        "base": base_errors,
        "fit": _errors(rows, pred),
    }


def fit_is_worse(before: Mapping, after: Mapping, held_out: Mapping | None = None) -> bool:
    """True when the fit predicts worse than the base profile, judged by the error the fit minimizes (the rms of
    log(predicted / measured)): on the levels held out when there is a held-out check, else on the fitted points
    (``tokenfab calibrate`` then refuses to write it unless --force)."""
    if held_out is not None:
        before, after = held_out.get("base") or {}, held_out.get("fit") or {}
    b, a = before.get("rms_log_error"), after.get("rms_log_error")
    if not isinstance(a, (int, float)):
        return isinstance(b, (int, float))  # the fit scores no point the base scores: worse
    return isinstance(b, (int, float)) and a > b + 1e-12
