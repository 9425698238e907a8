"""Measured benchmark levels against the performance model: predictions per level, and calibration from them.

* :func:`make_predictor` returns a ``predict(point)`` callable for :func:`tokenfab.bench.report.compare_with_model`:
  each measured level is re-run through :func:`tokenfab.perf.serving.estimate` at the same concurrency (closed loop) or
  request rate (open loop) and the run's mean input/output lengths.
* :func:`fit_from_runs` turns levels into fit points (throughput per GPU, mean TTFT, mean TPOT) and fits the
  per-family efficiency parameters (:data:`tokenfab.perf.fitting.FAMILY_PARAMS`) plus the engine's fixed step overhead
  (:data:`USER_FIT_PARAMS`: a user's engine is not TensorRT-LLM, so its per-step cost is theirs to fit) for that hardware with
  :func:`tokenfab.perf.fitting.fit_profile`; the result is stored as a hardware-specific entry on top of the bundled
  profile, so ``estimate``/``frontier --calibration FILE`` use it for that hardware only.
"""
from __future__ import annotations

import math
from typing import Mapping, Sequence

from tokenfab.catalog.calibration import BOUNDS, CalibrationProfile, load_profile
from tokenfab.core.errors import TokenfabError
from tokenfab.catalog.hardware import get_hardware
from tokenfab.catalog.models import get_model
from tokenfab.perf.serving import estimate

# what a user's own measurements fit: the per-family efficiencies, and the engine's own costs - its per-step overhead
# and its all-reduce latency (custom all-reduce kernels differ by engine; with TP=1 the ridge keeps it at the prior)
USER_FIT_PARAMS = ("gemm_efficiency", "memory_efficiency", "seq_overhead_us", "step_overhead_ms", "comm_latency_us")
# median error after the fit above which the model cannot follow the measurements well (the accuracy target)
POOR_FIT_MEDIAN_APE_PCT = 15.0

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


def make_predictor(runs: Sequence[Mapping], *, model: str, hardware: str, gpus: int, tp=None, pp=None, ep=None, dp=None,
                   weights=None, kv=None, calibration=None):
    by_level = {(r.get("run_id"), r.get("mode"), r.get("concurrency"), r.get("rate")): r for r in runs}

    def predict(point: Mapping) -> dict:
        run = by_level[(point.get("run_id"), point.get("mode"), point.get("concurrency"), point.get("rate"))]
        isl, osl = level_lengths(run)
        kw = dict(model=model, hardware=hardware, gpus=gpus, tp=tp, pp=pp, ep=ep, dp=dp, weights=weights, kv=kv,
                  isl=isl, osl=osl, calibration=calibration)
        if point.get("mode") == "closed":
            e = estimate(concurrency=int(point["concurrency"]), **kw)
        else:
            rate = float(point["rate"]) if point.get("rate") not in (None, "inf") else math.inf
            e = estimate(concurrency="max", **kw) if math.isinf(rate) else estimate(rate_rps=rate, **kw)
        d = e.to_dict()
        return {"total_tokens_per_s_per_gpu": d["total_tokens_per_s_per_gpu"],
                "output_tokens_per_s_per_gpu": d["output_tokens_per_s_per_gpu"],
                "ttft_ms_p50": d["ttft_ms"], "tpot_ms_p50": d["tpot_ms"], "tokens_per_s_per_user": d["tokens_per_s_per_user"]}

    return predict


def fit_from_runs(runs: Sequence[Mapping], *, model: str, hardware: str, gpus: int, tp=None, pp=None, ep=None, dp=None,
                  weights=None, kv=None, base=None, max_nfev: int = 60) -> tuple[CalibrationProfile, dict]:
    """Fit the per-family parameters for ``hardware`` to measured levels; returns (profile, error summary)."""
    from tokenfab.catalog import precision as prec
    from tokenfab.perf.fitting import Point, error_table, fit_profile
    from tokenfab.perf.memory import resolve_parallelism

    m = get_model(model)
    hw = get_hardware(hardware)
    par = resolve_parallelism(m, gpus=gpus, tp=tp, pp=pp, dp=dp, ep=ep)
    w = prec.normalize(weights or m.native_weights, field="weights")
    kvp = kv or prec.default_kv_precision(w)
    gpus_used = par.gpus
    pts = []
    for r in runs:
        if not r.get("requests_ok"):
            continue
        isl, osl = level_lengths(r)
        conc = float(r["concurrency"]) if r.get("mode") == "closed" else None
        rate = None if r.get("mode") == "closed" else (None if r.get("rate") in (None, "inf") else float(r["rate"]))
        vals = {"output_tokens_per_s_per_gpu": (r.get("output_tokens_per_s") or 0) / gpus_used,
                "total_tokens_per_s_per_gpu": (r.get("total_tokens_per_s") or 0) / gpus_used,
                "ttft_ms_mean": r.get("ttft_ms_mean"), "tpot_ms_mean": r.get("tpot_ms_mean")}
        for metric, v in vals.items():
            if isinstance(v, (int, float)) and v > 0 and math.isfinite(v):
                pts.append(Point(id=f"{r.get('run_id', '')}:{r.get('mode')}:{conc or rate}:{metric}", source="bench",
                                 model=m.key, hardware=hw.key, family=hw.cost_family or "default", tp=par.tp, pp=par.pp,
                                 dp=par.dp, ep=par.ep, weights=w, kv=kvp, isl=isl, osl=osl, concurrency=conc,
                                 rate_rps=rate, metric=metric, value=float(v)))
    if len(pts) < 3:
        raise TokenfabError("too few measured points to calibrate (need at least 3 metrics across levels)", field="results")
    base = load_profile(base)
    fitted, info = fit_profile(pts, families=[hw.cost_family or "default"], base=base, max_nfev=max_nfev, fit_global=False,
                               family_params=USER_FIT_PARAMS)
    params = fitted.families[hw.cost_family or "default"]
    before = error_table(pts, base)["overall"]
    warnings = []
    for k in USER_FIT_PARAMS:
        lo, hi = BOUNDS[k]
        v = getattr(params, k)
        if v <= lo * 1.001 + 1e-9 or v >= hi * 0.999:
            warnings.append(f"{k} = {v:.4g} sits at its bound [{lo:g}, {hi:g}]: the measurements ask for more than the "
                            f"model's physics allows (a different model, precision or layout than the one served?)")
    import datetime as _dt
    meta = {
        "fitted_on": "tokenfab bench results", "script": "tokenfab calibrate", "date": _dt.date.today().isoformat(),
        "method": f"bounded least squares on log(predicted/measured) of the measured levels; fitted for hardware "
                  f"{hw.key} only: {', '.join(USER_FIT_PARAMS)}; everything else from the base profile",
        "user_calibration": {"hardware": hw.key, "model": m.key, "weights": w, "points": len(pts), "fit": info},
        "base_profile": {k: base.meta.get(k) for k in ("fitted_on", "data_sha256", "date", "script") if k in base.meta},
    }
    prof = CalibrationProfile(default=base.default, families=dict(base.families), hardware={**base.hardware, hw.key: params},
                              meta=meta)
    after = error_table(pts, prof)["overall"]
    if after["median_ape_pct"] > POOR_FIT_MEDIAN_APE_PCT:
        warnings.append(f"median error after the fit is still {after['median_ape_pct']:.1f}%: the model does not follow "
                        f"these measurements well; check --model/--weights/--tp/--gpus match what was served")
    meta["user_calibration"]["errors"] = {"before": before, "after": after}
    meta["user_calibration"]["warnings"] = warnings
    return prof, {"points": len(pts), "before": before, "after": after, "params": params.to_dict(), "fit": info,
                  "warnings": warnings}
