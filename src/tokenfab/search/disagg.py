"""Disaggregated prefill/decode serving: prefill pools, rate matching of x prefill to y decode replicas, KV transfer
(see the package docstring, tokenfab.search).

A unit is x prefill replicas (their own layout, and with ``prefill_hardware`` their own hardware) feeding y decode
replicas. Each pool runs its own rounds: prefill-only rounds of the engine's whole token budget (perf/serving.py
prefill_service), decode-only rounds without prefill interference (serve(decode_only=True)). For each decode point
and prefill candidate, x is the smallest number of prefill replicas that keeps the prefill pool at a target
utilization for y decode replicas (y = 1..DISAGG_MAX_DECODE_REPLICAS chosen to minimise GPUs per request/s). The KV
cache of each prompt moves over the link between the pools (perf/serving.py kv_transfer_s: scale-up when both pools
sit in one scale-up domain of the same hardware, else the NICs). TTFT = the prefill queue's wait (M/D/c over the
x x DP prefill ranks, perf/queueing.py) + the request's prefill + the KV transfer + the connector's hand-off
(calibrated ``disagg_overhead_ms``) + the engine's front end + the decode replica's first round.
"""

from __future__ import annotations

import numpy as np

from tokenfab.catalog.models import ModelSpec
from tokenfab.perf import queueing as Q
from tokenfab.perf.points import PointArrays, take
from tokenfab.perf.roofline import bound_code
from tokenfab.perf.serving import concurrency_cap, kv_transfer_s, prefill_service
from tokenfab.search.pareto import pareto_mask

# [assumption] prefill pools are sized to run at these utilizations (lower: shorter prefill queues, more GPUs)
DISAGG_PREFILL_UTILIZATIONS = (0.6, 0.85)
DISAGG_MAX_DECODE_REPLICAS = 16
DISAGG_PREFILL_CANDIDATES = 4  # prefill layouts kept per hardware (Pareto on throughput/GPU vs latency)


def prefill_pool(
    model: ModelSpec, weights: str, kv: str, pa: PointArrays, *, isl, prefix_hit_rate: float = 0.0
) -> dict:
    """A dedicated prefill replica per layout: requests/s it sustains, one rank's service time per request and one
    request's prefill latency (perf/serving.py prefill_service)."""
    return prefill_service(model, weights, kv, pa, isl=isl, prefix_hit_rate=prefix_hit_rate)


def _prefill_candidates(
    m: ModelSpec, w: str, kv: str, paL: PointArrays, L_hw, isl: int, prefix_hit_rate: float
) -> dict:
    """Prefill layouts per hardware that fit (KV of one ISL), Pareto-pruned on requests/s per GPU vs latency."""
    capP = concurrency_cap(m, w, kv, paL, isl, 1.0)
    pp_ = prefill_pool(m, w, kv, paL, isl=isl, prefix_hit_rate=prefix_hit_rate)
    gpus = paL.tp * paL.pp * paL.dp
    per_gpu = pp_["replica_rps"] / gpus
    lat = pp_["latency_s"]
    ok = (capP >= 1) & np.isfinite(per_gpu) & (per_gpu > 0)
    keep = np.zeros(L_hw.size, dtype=bool)
    for h in np.unique(L_hw):
        ids = np.flatnonzero((L_hw == h) & ok)
        if not ids.size:
            continue
        pm = pareto_mask(per_gpu[ids], -lat[ids])
        cand = ids[pm]
        cand = cand[np.argsort(lat[cand])]
        if cand.size > DISAGG_PREFILL_CANDIDATES:
            pick = np.unique(np.round(np.linspace(0, cand.size - 1, DISAGG_PREFILL_CANDIDATES)).astype(int))
            cand = cand[pick]
        keep[cand] = True
    sel = np.flatnonzero(keep)
    return {
        "hw": L_hw[sel],
        "tp": paL.tp[sel],
        "pp": paL.pp[sel],
        "dp": paL.dp[sel],
        "ep": paL.ep[sel],
        "gpus": gpus[sel],
        "replica_rps": pp_["replica_rps"][sel],
        "rank_service_s": pp_["rank_service_s"][sel],
        "latency_s": lat[sel],
        "pa": take(paL, sel),
    }


def _disagg_columns(
    m: ModelSpec,
    kv: str,
    r: dict,
    lc: dict,
    paP: PointArrays,
    conc,
    pre: dict,
    isl: int,
    osl: int,
    wi: int,
    sv: dict,
    pairs: dict[int, list[int]] | None = None,
):
    """Pair every decode point with the prefill candidates allowed for its hardware (``pairs``: decode hardware index
    -> prefill hardware indices; default the same hardware) and rate-match them."""
    fits = np.asarray(r["fits"], dtype=bool) & np.isfinite(r["tpot_ms"]) & (np.asarray(r["requests_per_s"]) > 0)
    d_ids = np.flatnonzero(fits)
    hw_d = lc["hw"][d_ids]
    di_parts: list[np.ndarray] = []
    pi_parts: list[np.ndarray] = []
    for h in np.unique(hw_d):
        allowed = pairs.get(int(h), []) if pairs is not None else [int(h)]
        dsel = d_ids[hw_d == h]
        psel = np.flatnonzero(np.isin(pre["hw"], allowed))
        if not psel.size:
            continue
        di_parts.append(np.repeat(dsel, psel.size))
        pi_parts.append(np.tile(psel, dsel.size))
    if not di_parts:
        return None, 0
    di = np.concatenate(di_parts)
    pi = np.concatenate(pi_parts)
    nu = len(DISAGG_PREFILL_UTILIZATIONS)
    di = np.repeat(di, nu)
    pi = np.repeat(pi, nu)
    rho_t = np.tile(np.asarray(DISAGG_PREFILL_UTILIZATIONS, dtype=float), di.size // nu)
    R_d = np.asarray(r["requests_per_s"], dtype=float)[di]
    mu = pre["replica_rps"][pi]
    g_d = lc["gpus"][di]
    g_p = pre["gpus"][pi]
    y = np.arange(1, DISAGG_MAX_DECODE_REPLICAS + 1, dtype=float)[None, :]
    x = np.maximum(1.0, np.ceil(y * (R_d / (rho_t * mu))[:, None] - 1e-9))
    per = (x * g_p[:, None] + y * g_d[:, None]) / y
    best = np.argmin(per, axis=1)
    rows = np.arange(di.size)
    y_b = y[0, best]
    x_b = x[rows, best]
    unit_gpus = x_b * g_p + y_b * g_d
    lam = y_b * R_d
    util = lam / (x_b * mu)
    servers = x_b * pre["dp"][pi]
    svc = pre["rank_service_s"][pi]
    wq = Q.mdc_wait_mean_s(lam, svc, servers)
    pa_p = take(pre["pa"], pi)
    pa_d = take(paP, di)
    same_hw = pre["hw"][pi] == lc["hw"][di]
    inside = same_hw & (unit_gpus <= pa_d.scaleup_domain)
    transfer_s = kv_transfer_s(m, kv, isl, pa_p, pa_d, same_domain=inside)
    # the request enters at the prefill pool's front end (as in perf.serving.serve_disagg, which the fit uses)
    hand_off = (pa_p.cal["disagg_overhead_ms"] + pa_p.cal["ttft_overhead_ms"]) * 1e-3
    first_round = np.asarray(r["decode_step_ms"], dtype=float)[di] / 1e3
    ttft = (wq + pre["latency_s"][pi] + transfer_s + hand_off + first_round) * 1e3
    tpot = np.asarray(r["tpot_ms"], dtype=float)[di]
    total = lam * (isl + osl)
    n = di.size
    cols = {
        "hw": lc["hw"][di],
        "engine": lc["engine"][di],
        "tp": lc["tp"][di],
        "pp": lc["pp"][di],
        "dp": lc["dp"][di],
        "ep": lc["ep"][di],
        "gpus": unit_gpus,
        "mode": np.ones(n),
        "weights": np.full(n, wi),
        "concurrency": y_b * np.asarray(r["concurrency"], dtype=float)[di],
        **{k: np.full(n, v) for k, v in sv.items()},
        "ttft_ms_mean": ttft,
        "tpot_ms": tpot,
        "tpot_p50_ms": np.asarray(r["tpot_p50_ms"], dtype=float)[di],
        "tpot_p90_ms": np.asarray(r["tpot_p90_ms"], dtype=float)[di],
        "tpot_p99_ms": np.asarray(r["tpot_p99_ms"], dtype=float)[di],
        "e2el_mean_ms": ttft + (osl - 1.0) * tpot,
        "tokens_per_s_per_user": np.asarray(r["tokens_per_s_per_user"], dtype=float)[di],
        "total_tokens_per_s_per_gpu": total / unit_gpus,
        "output_tokens_per_s_per_gpu": lam * osl / unit_gpus,
        "input_tokens_per_s_per_gpu": lam * isl / unit_gpus,
        "requests_per_s": lam,
        # rule: the prefill pool's share of the unit's GPUs (the pool is paid for whether busy or idle)
        "prefill_gpu_time_share": x_b * g_p / unit_gpus,
        "bound": bound_code(r["bound"])[di],  # index into roofline.BOUND_KEYS
        "q_lam": lam,
        "q_service_s": svc,
        "q_servers": servers,
        "p_hw": pre["hw"][pi],
        "p_tp": pre["tp"][pi],
        "p_pp": pre["pp"][pi],
        "p_dp": pre["dp"][pi],
        "p_ep": pre["ep"][pi],
        "p_gpus": g_p,
        "p_replicas": x_b,
        "d_replicas": y_b,
        "d_gpus": g_d,
        "p_util": util,
        "p_latency_ms": pre["latency_s"][pi] * 1e3,
        "kv_transfer_ms": transfer_s * 1e3,
        "ttft_floor_ms": np.full(n, np.nan),
        "ttft_ceiling_ms": np.full(n, np.nan),
        "kv_scaleup": inside.astype(float),
        "d_concurrency": np.asarray(r["concurrency"], dtype=float)[di],
        "batch_per_rank": np.asarray(r["concurrency"], dtype=float)[di] / lc["dp"][di],
        # each pair's decode point and prefill candidate (the caller takes their physical floors, then drops these)
        "_d_index": di,
        "_p_index": pi,
    }
    return cols, int(n)
