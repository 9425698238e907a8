"""Disaggregated prefill/decode serving: prefill pools, rate matching of x prefill to y decode replicas, KV transfer
(see the package docstring, tokenfab.search)."""

from __future__ import annotations

import numpy as np

from tokenfab.catalog.models import ModelSpec, kv_cache_bytes
from tokenfab.perf import queueing as Q
from tokenfab.perf.memory import MAX_BATCH_TOKENS, Parallelism, kv_shard_factor
from tokenfab.perf.roofline import forward_time, link_bandwidth
from tokenfab.perf.serving import PointArrays, concurrency_cap
from tokenfab.search.pareto import pareto_mask

# [assumption] prefill pools are sized to run at these utilizations (lower: shorter prefill queues, more GPUs)
DISAGG_PREFILL_UTILIZATIONS = (0.6, 0.85)
DISAGG_MAX_DECODE_REPLICAS = 16
DISAGG_PREFILL_CANDIDATES = 4  # prefill layouts kept per hardware (Pareto on throughput/GPU vs latency)


def prefill_pool(
    model: ModelSpec, weights: str, kv: str, pa: PointArrays, *, isl, prefix_hit_rate: float = 0.0
) -> dict:
    """A dedicated prefill replica per layout (roofline.forward_time): requests/s it sustains on full chunks
    (pipelined over PP), the service time per request of one DP rank, and one request's prefill latency."""
    isl = float(isl)
    cached = isl * prefix_hit_rate
    new = max(isl - cached, 1.0)
    mbt = np.asarray(getattr(pa, "max_batch_tokens", MAX_BATCH_TOKENS), dtype=float)
    chunk = np.maximum(mbt, new) * np.ones_like(pa.tp)
    seqs = chunk / new
    common = dict(
        peak_flops_per_s=pa.peak_flops_per_s,
        bandwidth_bytes_per_s=pa.bandwidth_bytes_per_s,
        scaleup_bw=pa.scaleup_bw,
        scaleout_bw=pa.scaleout_bw,
        scaleup_domain=pa.scaleup_domain,
        tp=pa.tp,
        pp=pa.pp,
        dp=pa.dp,
        ep=pa.ep,
        cal=pa.cal,
    )
    t_chunk, _, _ = forward_time(
        model,
        weights,
        kv,
        new_tokens=chunk,
        sequences=seqs,
        context=cached,
        phase="prefill",
        sampled_tokens=seqs,
        **common,
    )
    t_single, _, _ = forward_time(
        model,
        weights,
        kv,
        new_tokens=new * np.ones_like(pa.tp),
        sequences=1.0,
        context=cached,
        phase="prefill",
        sampled_tokens=1.0,
        **common,
    )
    rank_rps = seqs * pa.pp / t_chunk
    return {
        "replica_rps": rank_rps * pa.dp,
        "rank_service_s": 1.0 / rank_rps,
        "latency_s": np.broadcast_to(t_single, pa.tp.shape),
    }


def _prefill_candidates(
    m: ModelSpec, w: str, kv: str, paL: PointArrays, L_hw, isl: int, prefix_hit_rate: float
) -> dict:
    """Prefill layouts per hardware that fit (KV of one ISL), Pareto-pruned on requests/s per GPU vs latency."""
    capP = concurrency_cap(m, w, kv, paL, isl)
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
    par = Parallelism(tp=paL.tp[sel], pp=paL.pp[sel], dp=paL.dp[sel], ep=paL.ep[sel])
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
        "kv_links": np.asarray(kv_shard_factor(m, par), dtype=float) * np.ones(sel.size),
        "comm_eff": np.asarray(paL.cal["comm_efficiency"], dtype=float)[sel]
        if np.ndim(paL.cal["comm_efficiency"])
        else np.full(sel.size, float(paL.cal["comm_efficiency"])),
        "scaleup_bw": paL.scaleup_bw[sel],
        "scaleout_bw": paL.scaleout_bw[sel],
        "domain": paL.scaleup_domain[sel],
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
    k_mtp: int,
    acc: float,
):
    """Pair every decode point with the prefill candidates of its hardware and rate-match them."""
    fits = np.asarray(r["fits"], dtype=bool) & np.isfinite(r["tpot_ms"]) & (np.asarray(r["requests_per_s"]) > 0)
    d_ids = np.flatnonzero(fits)
    hw_d = lc["hw"][d_ids]
    # cross product decode x prefill (same hardware) x prefill utilization targets
    di, pi = [], []
    for h in np.unique(hw_d):
        dsel = d_ids[hw_d == h]
        psel = np.flatnonzero(pre["hw"] == h)
        if not psel.size:
            continue
        di.append(np.repeat(dsel, psel.size))
        pi.append(np.tile(psel, dsel.size))
    if not di:
        return None, 0
    di = np.concatenate(di)
    pi = np.concatenate(pi)
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
    inside = unit_gpus <= pre["domain"][pi]
    bw = link_bandwidth(unit_gpus, pre["domain"][pi], pre["scaleup_bw"][pi], pre["scaleout_bw"][pi])
    kv_bytes = float(kv_cache_bytes(m, isl, kv, 1))
    transfer_s = kv_bytes / (bw * pre["comm_eff"][pi] * pre["kv_links"][pi])
    ttft = (wq + pre["latency_s"][pi] + transfer_s) * 1e3
    tpot = np.asarray(r["tpot_ms"], dtype=float)[di]
    total = lam * (isl + osl)
    n = di.size
    cols = {
        "hw": lc["hw"][di],
        "tp": lc["tp"][di],
        "pp": lc["pp"][di],
        "dp": lc["dp"][di],
        "ep": lc["ep"][di],
        "gpus": unit_gpus,
        "mode": np.ones(n),
        "weights": np.full(n, wi),
        "concurrency": y_b * np.asarray(r["concurrency"], dtype=float)[di],
        "mtp_draft_tokens": np.full(n, k_mtp),
        "mtp_acceptance_length": np.full(n, acc if k_mtp else 1.0),
        "ttft_mean_ms": ttft,
        "tpot_ms": tpot,
        "e2el_mean_ms": ttft + (osl - 1.0) * tpot,
        "tokens_per_s_per_user": np.asarray(r["tokens_per_s_per_user"], dtype=float)[di],
        "total_tokens_per_s_per_gpu": total / unit_gpus,
        "output_tokens_per_s_per_gpu": lam * osl / unit_gpus,
        "input_tokens_per_s_per_gpu": lam * isl / unit_gpus,
        "requests_per_s": lam,
        # rule: the prefill pool's share of the unit's GPUs (the pool is paid for whether busy or idle)
        "prefill_gpu_time_share": x_b * g_p / unit_gpus,
        "bound": np.asarray(r["bound"]).astype("<U13")[di],
        "q_lam": lam,
        "q_service_s": svc,
        "q_servers": servers,
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
        "kv_scaleup": inside.astype(float),
        "d_concurrency": np.asarray(r["concurrency"], dtype=float)[di],
    }
    # several (prefill layout, utilization) pairs may rate-match to the same unit: drop exact duplicates
    return cols, int(n)
