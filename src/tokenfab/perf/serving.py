"""Serving model: continuous batching on top of the roofline, per attention-DP rank, NumPy-vectorized.

For a deployment of ``gpus = TP x PP x DP`` chips (DP attention ranks, each with its own scheduler and batch; the
expert layer spans all of them) serving requests of ISL input and OSL output tokens, :func:`serve` finds the steady
state of the scheduler (perf/scheduling.py) with the roofline's round times (perf/roofline.py):

- a decode-only round: every running sequence of a rank advances (``1 + draft`` rows each with speculative decoding,
  perf/speculative.py, plus the draft passes); with PP the batch runs as PP micro-batches and a round is one traversal
  of all stages at the micro-batch size (at least one sequence per micro-batch: fewer sequences than stages leave
  the pipeline partly idle);
- a mixed round also prefills the prompt tokens the token budget leaves (chunked prefill); engines that do not mix run
  prefill-only rounds and the decodes wait (engines.yaml ``mixed_batching``);
- closed loop (a fixed concurrency, or as many as fit: offline): Schweitzer's mean value analysis of the prefill
  queue and the decode phase; open loop (a Poisson rate): an M/D/1 prefill queue and Little's law for the batch;
- TTFT = half a round (arrival mid-round) + the prefill queue's response (its wait and the request's own chunks) +
  the wait for a free slot when more requests are in flight than the KV cache holds; TPOT = 1 / (acceptance x
  rounds per second); percentiles of TPOT from the mix of decode-only and mixed rounds, of TTFT from the queue.

Concurrency is capped by the KV cache (perf/memory.py kv_capacity_sequences: the engine's memory fraction, its page
size and reservation policy) and by the engine's maximum running sequences per scheduler.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from tokenfab.catalog import precision as prec
from tokenfab.catalog.calibration import CalibrationProfile, load_profile
from tokenfab.catalog.engines import EngineSpec, resolve_engine
from tokenfab.catalog.hardware import HardwareSpec, get_hardware, redefined_note
from tokenfab.catalog.models import ModelSpec, get_model, kv_cache_bytes
from tokenfab.core import units
from tokenfab.core.errors import TokenfabError, require_int
from tokenfab.core.inputs import check_input, check_serving_request
from tokenfab.perf import queueing as Q
from tokenfab.perf import scheduling as sch
from tokenfab.perf import speculative as spec
from tokenfab.perf import uncertainty as unc
from tokenfab.perf.memory import (
    activation_bytes_per_gpu,
    auto_parallelism,
    check_reach,
    fit,
    instance_chips,
    kv_capacity_sequences,
    kv_shard_factor,
    memory_in_use_bytes,
    resolve_parallelism,
    sram_chip_count,
    sram_kv_ways,
    sram_layouts,
    sram_tp_max,
    weight_bytes_per_gpu,
)
from tokenfab.perf.points import PointArrays, point_arrays
from tokenfab.perf.roofline import (
    bound_label,
    forward_time,
    lm_head_time_s,
    output_ceiling_per_gpu,
    physical_floor_s,
    tpot_floor_s,
)

ITERATIONS = 4  # regula-falsi (Illinois) steps of the steady state (perf/scheduling.py solve_monotone); 4 steps
# agree with 12 within 5e-6 relative on every point of a DeepSeek-R1 sweep over H200, B200 and MI355X
PERCENTILES = (0.5, 0.9, 0.99)
# the damped fixed point of a disaggregated unit's closed loop (serve_disagg): 64 steps reach Little's law exactly
DISAGG_ITERATIONS = 64
BISECTIONS = 18  # inner solve of the closed loop's throughput (2^-18 of its bracket)


def _f(x: ArrayLike, shape: tuple[int, ...]) -> np.ndarray:
    return np.broadcast_to(np.asarray(x, dtype=float), shape).astype(float)


def concurrency_cap(
    model: ModelSpec,
    weights: str,
    kv: str,
    pa: PointArrays,
    isl: ArrayLike,
    osl: ArrayLike,
    draft_layers: ArrayLike = 0.0,
) -> np.ndarray:
    """Largest total concurrency the KV cache holds (all DP ranks), capped by the engine's running-sequence limit;
    ``draft_layers``: a speculative draft's decoder layers resident beside the model (0: speculation off)."""
    # pa: the per-point parallel degrees (a memory.Layout) and the engine's memory settings
    n = kv_capacity_sequences(model, weights, kv, pa, isl=isl, osl=osl, draft_layers=draft_layers, **_memory_rule(pa))
    return np.minimum(n, pa.max_seqs * pa.dp)


def _memory_rule(pa: PointArrays) -> dict[str, np.ndarray]:
    """The engine's memory settings of each point, as perf.memory's capacity and in-use rules take them."""
    return {
        "capacity_bytes": pa.capacity_bytes,
        "memory_fraction": pa.memory_fraction,
        "memory_basis_free": pa.memory_basis_free,
        "max_batch_tokens": pa.max_batch_tokens,
        "kv_block_tokens": pa.kv_block_tokens,
        "reserve_full": pa.kv_reserve_full,
    }


def _draft_s(
    model: ModelSpec,
    weights: str,
    kv: str,
    pa: PointArrays,
    seqs: ArrayLike,
    ctx: ArrayLike,
    k: ArrayLike,
    parallel: ArrayLike,
    layers: ArrayLike = 1.0,
) -> float | np.ndarray:
    """Time of the draft passes of one round: ``layers`` decoder layers + lm_head per draft token (MTP, EAGLE-3), or
    one pass of them over the whole block (DSpark)."""
    k = np.asarray(k, dtype=float)
    if not np.any(k > 0):
        return 0.0
    rows = np.where(parallel, k, 1.0)
    t_layers, br, _ = forward_time(
        model, weights, kv, pa, dec_seqs=seqs, dec_rows_per_seq=rows, dec_ctx=ctx, layers_only=True
    )
    per_layer = (t_layers - br["overhead"]) / float(model.num_layers)
    lm = _lm_head_s(model, weights, kv, pa, seqs * rows)
    passes = np.where(parallel, 1.0, k)
    return np.where(k > 0, passes * (per_layer * np.asarray(layers, dtype=float) + lm), 0.0)


def _lm_head_s(model: ModelSpec, weights: str, kv: str, pa: PointArrays, rows: ArrayLike) -> np.ndarray:
    return lm_head_time_s(model, weights, pa, rows)


def serve(
    model: ModelSpec,
    weights: str,
    kv: str,
    pa: PointArrays,
    *,
    isl: ArrayLike,
    osl: ArrayLike,
    concurrency: ArrayLike | None = None,
    rate_rps: ArrayLike | None = None,
    draft_tokens: ArrayLike = 0,
    acceptance_length: ArrayLike = 1.0,
    parallel_draft: ArrayLike = False,
    draft_layers: ArrayLike = 1.0,
    prefix_hit_rate: ArrayLike = 0.0,
    decode_only: bool = False,
    iterations: int = ITERATIONS,
) -> dict[str, Any]:
    """Steady state of every point (arrays broadcast against the points of ``pa``).

    concurrency: total requests in flight (NaN or None: as many as the KV cache holds, i.e. offline max throughput);
    rate_rps: total Poisson arrival rate (NaN or None: closed loop). ``decode_only``: a disaggregated decode pool
    (prompts arrive prefilled with their KV; no prefill work here). Returns a dict of arrays."""
    n = pa.n
    shape = (n,)
    isl = _f(isl, shape)
    osl = _f(osl, shape)
    conc_in = _f(np.nan if concurrency is None else concurrency, shape)
    rate_in = _f(np.nan if rate_rps is None else rate_rps, shape)
    k = _f(draft_tokens, shape)
    acc = np.where(k > 0, _f(acceptance_length, shape), 1.0)
    par_draft = np.broadcast_to(np.asarray(parallel_draft, dtype=bool), shape)
    n_draft = _f(draft_layers, shape)
    hit = _f(prefix_hit_rate, shape)
    open_loop = np.isfinite(rate_in)
    dp = pa.dp
    gpus = pa.tp * pa.pp * pa.dp

    # the draft's layers are resident only while speculation is on
    cap_total = concurrency_cap(model, weights, kv, pa, isl, osl, np.where(k > 0, n_draft, 0.0))
    cap = np.floor(cap_total / dp)  # per rank
    fits = cap >= 1
    c_req = np.where(np.isfinite(conc_in), conc_in / dp, cap)  # requests in flight per rank (closed loop)
    running = np.where(open_loop, cap, np.maximum(np.minimum(c_req, cap), 1.0))
    lam = np.where(open_loop, rate_in / dp, np.nan)
    isl_new = np.where(decode_only, 0.0, np.maximum(isl * (1.0 - hit), 1.0))
    cached = isl - isl_new
    ctx_d = isl + osl / 2.0
    acc_var = sch.acceptance_variance(acc, k)
    mixed = np.asarray(pa.mixed_batching, dtype=bool)

    extra = np.where(open_loop, 0.0, np.maximum(c_req - running, 0.0))  # closed loop beyond the KV cache

    own = _own_prompt_s(model, weights, kv, pa, ctx_d, isl_new, cached, k, par_draft, mixed, n_draft)

    def evaluate(B: np.ndarray) -> tuple[np.ndarray, dict[str, Any], dict[str, np.ndarray]]:
        t = _rounds(model, weights, kv, pa, B, ctx_d, isl_new, cached, k, par_draft, mixed, n_draft)
        t["own"] = np.maximum(own, t["s"])
        st = _steady_state(t, running, lam, open_loop, decode_only, osl, acc, mixed)
        B_implied = np.where(open_loop, np.clip(lam * st["Z"], 1.0, np.maximum(cap, 1.0)), running - st["X"] * st["R"])
        return B - np.clip(B_implied, 1.0, np.maximum(running, 1.0)), t, st

    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        B, t, st = sch.solve_monotone(evaluate, np.ones(shape), np.maximum(running, 1.0), iterations)
        X, R, Z, U, N = st["X"], st["R"], st["Z"], st["U"], st["N"]
        overloaded = open_loop & ((U >= 0.999) | (lam * (Z + R) > cap * 1.001))
        U_c = np.clip(U, 0.0, 0.999)
        U_seen = U_c * other_prefill_share(running, open_loop)  # the prefills a decoding request interleaves with
        share = sch.mixed_round_share(U_seen, t["t_d"], t["t_m"], mixed)
        tpot = 1.0 / (acc * N)
        mean_round = 1.0 / N
        # closed loop beyond the KV cache: the extra requests wait for a slot (Little's law on the waiting line)
        w_slot = extra / np.maximum(X, 1e-12)
        front = pa.cal["ttft_overhead_ms"] * 1e-3  # the engine's front end before the first token streams
        own = t["own"]
        ttft = np.where(decode_only, 0.0, 0.5 * mean_round + R + w_slot + front)
        out_tps_rank = np.where(open_loop, np.minimum(lam, X), X) * osl
        # percentiles
        qp = Q.mdc_params(np.where(decode_only, 0.0, X), np.maximum(t["s"], 1e-9), 1)
        ttft_q = {}
        # a TTFT quantile lies between the request's own prefill after half a round and, in a closed loop, every
        # running request's prefill ahead of it
        floor = 0.5 * mean_round + np.maximum(t["s"], own) + front
        ceiling = np.where(
            open_loop, np.inf, np.maximum(0.5 * mean_round + running * t["s"] + w_slot + front, floor + w_slot)
        )
        for q in PERCENTILES:
            v = Q.ttft_quantile_ms(q, ttft * 1e3, params=qp) / 1e3
            ttft_q[q] = np.where(decode_only, 0.0, np.clip(v, floor, ceiling))
        tpot_q = {q: sch.tpot_quantile_s(q, t["t_d"], t["t_m"], share, acc, acc_var, osl, mixed) for q in PERCENTILES}
        itl_mean, itl_median = sch.itl_stats_s(t["t_d"], t["t_m"], share, U_seen, mixed)
        # prefill's share of the GPU time: the extra time of mixed rounds, or the prefill rounds themselves
        prefill_time_share = np.where(mixed, U_c / np.maximum(t["t_m"], 1e-12) * (t["t_m"] - t["t_d"]), U_c)

    # closed loop with fewer requests than attention-DP ranks: only that many ranks hold one (the rest idle)
    ranks_busy = np.where(~open_loop & np.isfinite(conc_in) & (conc_in < dp), np.maximum(conc_in, 1.0), dp)
    out_tps = np.where(fits, out_tps_rank * ranks_busy, 0.0)
    if np.any(overloaded):
        # past saturation a deployment runs at its closed-loop maximum and the queue grows without bound
        sat = serve(
            model,
            weights,
            kv,
            pa,
            isl=isl,
            osl=osl,
            concurrency=None,
            draft_tokens=k,
            acceptance_length=acc,
            parallel_draft=par_draft,
            draft_layers=n_draft,
            prefix_hit_rate=hit,
            decode_only=decode_only,
            iterations=iterations,
        )
        out_tps = np.where(overloaded, np.minimum(sat["output_tokens_per_s"], out_tps), out_tps)
        tpot = np.where(overloaded, sat["tpot_ms"] / 1e3, tpot)
        ttft = np.where(overloaded, np.inf, ttft)
        for q in PERCENTILES:
            ttft_q[q] = np.where(overloaded, np.inf, ttft_q[q])
            tpot_q[q] = np.where(overloaded, sat[f"tpot_{Q.percentile_label(q)}_ms"] / 1e3, tpot_q[q])
    total_tps = out_tps * (isl + osl) / osl
    e2e = ttft + np.maximum(osl - 1.0, 0.0) * tpot
    conc_out = np.where(
        open_loop, np.minimum(B + np.where(np.isfinite(lam), lam, 0.0) * R, cap) * dp, running * ranks_busy
    )
    inf = np.inf
    res: dict[str, Any] = {
        "ttft_ms": np.where(fits, ttft * 1e3, inf),
        "tpot_ms": np.where(fits, tpot * 1e3, inf),
        "e2el_ms": np.where(fits, e2e * 1e3, inf),
        "tokens_per_s_per_user": np.where(fits, 1.0 / tpot, 0.0),
        "output_tokens_per_s": out_tps,
        "input_tokens_per_s": out_tps * isl / osl,
        "total_tokens_per_s": total_tps,
        "output_tokens_per_s_per_gpu": out_tps / gpus,
        "input_tokens_per_s_per_gpu": out_tps * isl / osl / gpus,
        "total_tokens_per_s_per_gpu": total_tps / gpus,
        "requests_per_s": out_tps / osl,
        "concurrency": np.where(fits, conc_out, 0.0),
        "concurrency_cap": cap_total,
        "fits": fits,
        "decode_step_ms": t["t_d"] * 1e3,
        "mixed_step_ms": t["t_m"] * 1e3,
        "prefill_ms": t["s"] * 1e3,
        "prefill_share": U,
        "prefill_time_share": prefill_time_share,
        "mixed_round_share": share,
        "itl_ms": np.where(fits, itl_mean * 1e3, inf),
        "itl_median_ms": np.where(fits, itl_median * 1e3, inf),
        "acceptance_length": acc,
        "bound": bound_label(t["bounds"]),
        "overloaded": overloaded,
        "breakdown_ms": {kk: np.broadcast_to(v, shape) * 1e3 for kk, v in t["breakdown"].items()},
        "gpus": gpus,
        "mean_round_ms": mean_round * 1e3,
        "ttft_floor_ms": np.where(decode_only, 0.0, floor * 1e3),
        "ttft_ceiling_ms": np.where(decode_only, 0.0, ceiling * 1e3),
        "queue_lambda_per_rank": np.where(decode_only, 0.0, X),
        "queue_service_s": t["s"],
    }
    for q in PERCENTILES:
        lbl = Q.percentile_label(q)
        res[f"ttft_{lbl}_ms"] = np.where(fits, ttft_q[q] * 1e3, inf)
        res[f"tpot_{lbl}_ms"] = np.where(fits, tpot_q[q] * 1e3, inf)
    return res


def other_prefill_share(running: ArrayLike, open_loop: ArrayLike) -> np.ndarray:
    """Share of the prefill work a decoding request sees that belongs to other requests: in a closed loop of C
    requests its own prefill comes before its decode, so (C - 1) / C of the prefills interleave with it (none at
    C = 1); under open-loop arrivals every prefill is another request's."""
    c = np.maximum(np.asarray(running, dtype=float), 1.0)
    return np.where(np.asarray(open_loop, dtype=bool), 1.0, (c - 1.0) / c)


def _steady_state(
    t: dict[str, Any],
    running: np.ndarray,
    lam: np.ndarray,
    open_loop: np.ndarray,
    decode_only: ArrayLike,
    osl: np.ndarray,
    acc: np.ndarray,
    mixed: np.ndarray,
) -> dict[str, np.ndarray]:
    """Throughput X, prefill response R, decode time Z, prefill busy share U and rounds/s N per rank, given the
    round times ``t`` (perf/scheduling.py). Closed loop: X solves X (R(X) + Z(X)) = C (the cycle's Little's law) by
    bisection, with R from Schweitzer's MVA; open loop: X = lambda and an M/D/1 prefill queue. The formulas are those
    of perf/scheduling.py (rounds_per_s, closed_loop_response_s), written out here with their constants hoisted: the
    bisection evaluates them BISECTIONS + 1 times per point."""
    s, td, tm = t["s"], np.maximum(t["t_d"], 1e-12), np.maximum(t["t_m"], 1e-12)
    own = t.get("own", s)  # a request's prefill alone: the response never falls below it
    n1 = np.maximum(osl - 1.0, 0.0)
    C = running
    inv_td = 1.0 / td
    # N = 1/t_d + U' (mixed ? 1/t_m - 1/t_d : -1/t_d), U' = U x the share of prefills that are other requests'
    coef = (np.where(mixed, 1.0 / tm, 0.0) - inv_td) * other_prefill_share(C, open_loop)
    n1_acc = n1 / acc
    Cs = C * s
    four_s = 4.0 * s
    no_pf = np.asarray(decode_only, dtype=bool)

    def at(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        U = np.where(no_pf, 0.0, np.minimum(X * s, 0.999))
        N = inv_td + U * coef
        Z = n1_acc / N
        b = Cs - Z
        R = np.maximum(0.5 * (b + np.sqrt(b * b + four_s * Z)), own)
        R = np.where(no_pf, 0.0, R)
        return U, N, Z, R

    # R >= own >= s and Z >= its value without prefill (U = 0): X <= C / (own + Z0); U < 1: X < 1 / s
    Z0 = n1_acc * td
    hi = np.where(
        no_pf, C / np.maximum(Z0, 1e-12), np.minimum(0.999 / np.maximum(s, 1e-12), C / np.maximum(own + Z0, 1e-12))
    )
    lo = np.zeros_like(hi)
    for _ in range(BISECTIONS):
        mid = 0.5 * (lo + hi)
        _, _, Z, R = at(mid)
        over = mid * (R + Z) > C
        hi = np.where(over, mid, hi)
        lo = np.where(over, lo, mid)
    X = np.where(open_loop, lam, 0.5 * (lo + hi))
    U, N, Z, R = at(X)
    U_open = np.where(no_pf, 0.0, lam * s)
    Uo = np.clip(U_open, 0.0, 0.999)
    wq = np.where(Uo > 0, s * Uo / (2.0 * (1.0 - Uo)), 0.0)  # M/D/1 (Pollaczek-Khinchine)
    N_open = inv_td + Uo * coef
    return {
        "X": X,
        "U": np.where(open_loop, U_open, U),
        "N": np.where(open_loop, N_open, N),
        "Z": np.where(open_loop, n1_acc / N_open, Z),
        "R": np.where(open_loop, np.where(no_pf, 0.0, np.maximum(s + wq, own)), R),
    }


def _rounds(
    model: ModelSpec,
    weights: str,
    kv: str,
    pa: PointArrays,
    B: np.ndarray,
    ctx_d: np.ndarray,
    isl_new: np.ndarray,
    cached: np.ndarray,
    k: np.ndarray,
    par_draft: np.ndarray,
    mixed: np.ndarray,
    draft_layers: ArrayLike = 1.0,
) -> dict[str, Any]:
    """Round times at a decode batch B per rank: decode-only t_d, mixed (or prefill-only) t_m, and the prefill
    service time s of one request."""
    pp = pa.pp
    micro = np.maximum(B / pp, 1.0)
    rows = 1.0 + k
    draft = _draft_s(model, weights, kv, pa, micro, ctx_d, k, par_draft, draft_layers)
    t_d, br, bounds = forward_time(model, weights, kv, pa, dec_seqs=micro, dec_rows_per_seq=rows, dec_ctx=ctx_d)
    t_d = t_d + draft
    # the decode rows change from round to round as requests finish and join: about sqrt(B) sequences of rows each
    P = sch.prefill_tokens_per_round(
        pa.max_batch_tokens,
        np.where(mixed, B * rows, 0.0),
        isl_new,
        pa.chunked_prefill,
        mixed,
        spread_tokens=np.where(mixed, rows * np.sqrt(np.maximum(B, 1.0)), 0.0),
    )
    P = np.where(isl_new > 0, P, 0.0)
    P_micro = P / pp
    pf_seqs = np.maximum(P_micro / np.maximum(isl_new, 1.0), np.where(P_micro > 0, 1.0 / pp, 0.0))
    pf_ctx = cached + np.maximum(isl_new - P, 0.0) / 2.0
    dec_m = np.where(mixed, micro, 0.0)
    t_m, _, _ = forward_time(
        model,
        weights,
        kv,
        pa,
        dec_seqs=dec_m,
        dec_rows_per_seq=rows,
        dec_ctx=ctx_d,
        pf_tokens=P_micro,
        pf_seqs=pf_seqs,
        pf_ctx=pf_ctx,
    )
    t_m = t_m + np.where(mixed, draft, 0.0)
    s = np.where(isl_new > 0, isl_new / np.maximum(P, 1.0) * t_m, 0.0)
    return {
        "t_d": t_d,
        "t_m": np.maximum(t_m, t_d * np.where(mixed, 1.0, 0.0)),
        "s": s,
        "breakdown": br,
        "bounds": bounds,
    }


def _own_prompt_s(
    model: ModelSpec,
    weights: str,
    kv: str,
    pa: PointArrays,
    ctx_d: np.ndarray,
    isl_new: np.ndarray,
    cached: np.ndarray,
    k: np.ndarray,
    par_draft: np.ndarray,
    mixed: np.ndarray,
    draft_layers: ArrayLike = 1.0,
) -> np.ndarray:
    """Time of the rounds that carry one request's own prompt when no other prompt shares them (low load): its
    chunks of at most the round's prefill room, each round with one decoding sequence alongside where the engine
    mixes. A request's prefill never takes less (at higher load other prompts and more decodes share the rounds: the
    queueing response is longer still), so it floors the prefill response in the steady state."""
    micro = np.ones_like(np.asarray(isl_new, dtype=float))
    rows = 1.0 + k
    P = sch.prefill_tokens_per_round(
        pa.max_batch_tokens, np.where(mixed, rows, 0.0), isl_new, pa.chunked_prefill, mixed
    )
    draft = _draft_s(model, weights, kv, pa, micro, ctx_d, k, par_draft, draft_layers)
    pp = pa.pp
    P_own = np.minimum(np.maximum(P, 1.0), np.maximum(isl_new, 1.0))
    chunks = np.ceil(np.maximum(isl_new, 1.0) / P_own - 1e-9)
    t_own, _, _ = forward_time(
        model,
        weights,
        kv,
        pa,
        dec_seqs=np.where(mixed, micro, 0.0),
        dec_rows_per_seq=rows,
        dec_ctx=ctx_d,
        pf_tokens=P_own / pp,
        pf_seqs=1.0 / pp,
        pf_ctx=cached + np.maximum(isl_new - P_own, 0.0) / 2.0,
    )
    return np.where(isl_new > 0, chunks * (t_own + np.where(mixed, draft, 0.0)), 0.0)


# ----------------------------------------------------------------------------------------------- disaggregated
def prefill_service(
    model: ModelSpec, weights: str, kv: str, pa: PointArrays, *, isl: ArrayLike, prefix_hit_rate: ArrayLike = 0.0
) -> dict[str, np.ndarray]:
    """A dedicated prefill replica per point: the service time of one request on one attention-DP rank (prefill-only
    rounds of the engine's whole token budget, several prompts per round when they fit), the replica's requests/s,
    and the latency of a request prefilled alone (its own chunks, at most the budget per round)."""
    shape = (pa.n,)
    isl = _f(isl, shape)
    hit = _f(prefix_hit_rate, shape)
    isl_new = np.maximum(isl * (1.0 - hit), 1.0)
    cached = isl - isl_new
    zeros = np.zeros(shape)
    no_mix = np.zeros(shape, dtype=bool)
    full = _rounds(model, weights, kv, pa, zeros + 1e-9, isl, isl_new, cached, zeros, no_mix, no_mix)
    s = full["s"]
    alone_tokens = np.minimum(isl_new, pa.max_batch_tokens)
    t_alone, _, _ = forward_time(
        model,
        weights,
        kv,
        pa,
        pf_tokens=alone_tokens / pa.pp,
        pf_seqs=1.0 / pa.pp,
        pf_ctx=cached + np.maximum(isl_new - alone_tokens, 0.0) / 2.0,
    )
    latency = np.ceil(isl_new / np.maximum(alone_tokens, 1.0) - 1e-9) * t_alone
    return {"rank_service_s": s, "replica_rps": pa.dp / np.maximum(s, 1e-12), "latency_s": np.maximum(latency, s)}


def kv_transfer_s(
    model: ModelSpec,
    kv: str,
    isl: ArrayLike,
    pa_prefill: PointArrays,
    pa_decode: PointArrays,
    *,
    same_domain: ArrayLike,
) -> np.ndarray:
    """Time to move one prompt's KV cache from a prefill replica to a decode replica: its bytes over the prefill
    replica's links (every GPU of the prefill layout sends its shard in parallel), over the scale-up fabric when both
    pools sit in one scale-up domain (``same_domain``), else over the scale-out NICs, plus one collective latency."""
    links = np.asarray(kv_shard_factor(model, pa_prefill), dtype=float)  # pa_prefill's degrees: a memory.Layout
    bw_link = np.where(
        np.asarray(same_domain, dtype=bool),
        np.minimum(pa_prefill.scaleup_bw, pa_decode.scaleup_bw),
        np.maximum(np.minimum(pa_prefill.scaleout_bw, pa_decode.scaleout_bw), 1e6),
    )
    eff = np.minimum(pa_prefill.cal["comm_efficiency"], pa_decode.cal["comm_efficiency"])
    byts = np.asarray(kv_cache_bytes(model, np.asarray(isl, dtype=float), kv, 1), dtype=float)
    return byts / (bw_link * eff * links) + pa_prefill.cal["comm_latency_us"] * 1e-6


def serve_disagg(
    model: ModelSpec,
    weights: str,
    kv: str,
    pa_prefill: PointArrays,
    pa_decode: PointArrays,
    *,
    isl: ArrayLike,
    osl: ArrayLike,
    concurrency: ArrayLike | None = None,
    rate_rps: ArrayLike | None = None,
    prefill_replicas: ArrayLike = 1.0,
    decode_replicas: ArrayLike = 1.0,
    draft_tokens: ArrayLike = 0,
    acceptance_length: ArrayLike = 1.0,
    parallel_draft: ArrayLike = False,
    draft_layers: ArrayLike = 1.0,
    prefix_hit_rate: ArrayLike = 0.0,
    same_domain: ArrayLike = False,
    prefill_weights: str | None = None,
    prefill_kv: str | None = None,
    iterations: int = DISAGG_ITERATIONS,
) -> dict[str, Any]:
    """Steady state of a disaggregated unit: ``prefill_replicas`` prefill replicas (layout ``pa_prefill``, their own
    hardware, engine and precision) feeding ``decode_replicas`` decode replicas (``pa_decode``) over the KV link.

    The prefill pool is a queue of x x DP_p servers running prefill-only rounds of the full token budget; the decode
    pool runs decode-only rounds (no prefill interference). Closed loop (``concurrency`` in flight): Schweitzer's MVA
    with the prefill queue, the KV transfer and the decode phase as the delay; open loop: an M/D/c prefill queue
    (perf/queueing.py). TTFT = prefill queue response + KV transfer + the decode replica's first round."""
    n = pa_decode.n
    shape = (n,)
    isl = _f(isl, shape)
    osl = _f(osl, shape)
    x = _f(prefill_replicas, shape)
    y = _f(decode_replicas, shape)
    conc_in = _f(np.nan if concurrency is None else concurrency, shape)
    rate_in = _f(np.nan if rate_rps is None else rate_rps, shape)
    open_loop = np.isfinite(rate_in)
    k = _f(draft_tokens, shape)
    acc = np.where(k > 0, _f(acceptance_length, shape), 1.0)
    par_draft = np.broadcast_to(np.asarray(parallel_draft, dtype=bool), shape)
    n_draft = _f(draft_layers, shape)
    hit = _f(prefix_hit_rate, shape)
    wp, kvp_ = prefill_weights or weights, prefill_kv or kv
    isl_new = np.maximum(isl * (1.0 - hit), 1.0)
    cached = isl - isl_new
    ctx_d = isl + osl / 2.0
    zeros = np.zeros(shape)
    no_mix = np.zeros(shape, dtype=bool)
    # prefill pool: service time of one request on one rank (prefill-only rounds of the whole budget)
    tp_ = _rounds(model, wp, kvp_, pa_prefill, zeros + 1e-9, ctx_d, isl_new, cached, zeros, par_draft, no_mix, n_draft)
    s_p = tp_["s"]
    own_p = np.maximum(
        _own_prompt_s(model, wp, kvp_, pa_prefill, ctx_d, isl_new, cached, zeros, par_draft, no_mix), s_p
    )
    servers = x * pa_prefill.dp
    cap_p = concurrency_cap(model, wp, kvp_, pa_prefill, isl, np.ones(shape))
    cap_d = concurrency_cap(model, weights, kv, pa_decode, isl, osl, np.where(k > 0, n_draft, 0.0)) * y  # all replicas
    fits = (cap_p >= 1) & (cap_d >= 1)
    t_kv = kv_transfer_s(model, kv, isl, pa_prefill, pa_decode, same_domain=same_domain)
    C = np.where(np.isfinite(conc_in), np.minimum(conc_in, np.maximum(cap_d, 1.0)), np.maximum(cap_d, 1.0))
    lam = np.where(open_loop, rate_in, np.nan)
    ranks_d = y * pa_decode.dp
    # closed loop: start at the prefill pool's capacity (servers / s_p), an upper bound of the fixed point below
    X = np.where(open_loop, lam, np.minimum(C / np.maximum(osl * 0.02 + 1.0, 1.0), servers / np.maximum(s_p, 1e-12)))
    R = s_p.copy()
    tpot = np.full(shape, 0.01)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for _ in range(max(int(iterations), 1)):
            B_closed = (C - X * (R + t_kv)) / ranks_d
            B_open = lam * np.maximum(osl - 1.0, 0.0) * tpot / ranks_d
            B = np.clip(np.where(open_loop, B_open, B_closed), 1.0, None)
            td = _rounds(model, weights, kv, pa_decode, B, ctx_d, zeros, isl, k, par_draft, no_mix, n_draft)["t_d"]
            tpot = td / acc
            Z = np.maximum(osl - 1.0, 0.0) * tpot + t_kv + td
            s_eff = s_p / np.maximum(servers, 1.0)
            R_closed = sch.closed_loop_response_s(s_eff, Z, C) - s_eff + s_p
            qp = Q.mdc_params(np.where(open_loop, lam, 0.0), s_p, servers)
            # never below one prompt's own prefill-only rounds (low load: nothing to batch it with)
            R = np.maximum(np.where(open_loop, s_p + qp.wait_mean_s, R_closed), own_p)
            X_new = np.where(open_loop, lam, C / np.maximum(R + Z, 1e-12))
            X = 0.5 * X + 0.5 * X_new
    util_p = X * s_p / np.maximum(servers, 1e-12)
    overloaded = open_loop & ((util_p >= 1.0) | (lam * Z > cap_d * 1.001))
    hand_off = pa_prefill.cal["disagg_overhead_ms"] * 1e-3 + pa_prefill.cal["ttft_overhead_ms"] * 1e-3
    ttft = R + t_kv + hand_off + td
    out_tps = np.where(fits, X * osl, 0.0)
    gpus = x * pa_prefill.tp * pa_prefill.pp * pa_prefill.dp + y * pa_decode.tp * pa_decode.pp * pa_decode.dp
    total = out_tps * (isl + osl) / osl
    qp = Q.mdc_params(X, np.maximum(s_p, 1e-9), servers)
    res = {
        "ttft_ms": np.where(fits & ~overloaded, ttft * 1e3, np.inf),
        "tpot_ms": np.where(fits, tpot * 1e3, np.inf),
        "e2el_ms": np.where(fits & ~overloaded, (ttft + np.maximum(osl - 1.0, 0.0) * tpot) * 1e3, np.inf),
        "tokens_per_s_per_user": np.where(fits, 1.0 / tpot, 0.0),
        "output_tokens_per_s": out_tps,
        "total_tokens_per_s": total,
        "output_tokens_per_s_per_gpu": out_tps / gpus,
        "input_tokens_per_s_per_gpu": out_tps * isl / osl / gpus,
        "total_tokens_per_s_per_gpu": total / gpus,
        "requests_per_s": out_tps / osl,
        "concurrency": np.where(fits, C, 0.0),
        "fits": fits,
        "overloaded": overloaded,
        "decode_step_ms": td * 1e3,
        "prefill_ms": s_p * 1e3,
        "kv_transfer_ms": t_kv * 1e3,
        "handoff_ms": hand_off * 1e3 + np.zeros_like(t_kv),
        "prefill_utilization": util_p,
        "itl_ms": td * 1e3,
        "itl_median_ms": td * 1e3,
        "gpus": gpus,
        "queue_lambda": X,
        "queue_service_s": s_p,
        "queue_servers": servers,
        "mean_round_ms": td * 1e3,
        "acceptance_length": acc,
    }
    for q in PERCENTILES:
        lbl = Q.percentile_label(q)
        v = Q.ttft_quantile_ms(q, ttft * 1e3, params=qp)
        res[f"ttft_{lbl}_ms"] = np.where(
            fits & ~overloaded, np.maximum(v, (np.maximum(s_p, own_p) + t_kv + hand_off + td) * 1e3), np.inf
        )
        res[f"tpot_{lbl}_ms"] = res["tpot_ms"]
    return res


# ----------------------------------------------------------------------------------------------- single estimate
@dataclass
class Estimate:
    model: str
    hardware: str
    engine: str
    gpus: int
    tp: int
    pp: int
    dp: int
    ep: int
    weights: str
    kv: str
    compute_precision: str
    isl: int
    osl: int
    ttft_ms: float
    tpot_ms: float
    e2el_ms: float
    tokens_per_s_per_user: float
    output_tokens_per_s: float
    input_tokens_per_s: float
    total_tokens_per_s: float
    output_tokens_per_s_per_gpu: float
    input_tokens_per_s_per_gpu: float
    total_tokens_per_s_per_gpu: float
    requests_per_s: float
    concurrency: float
    concurrency_cap: float
    memory_per_gpu_gib: float
    fits: bool
    bound: str
    breakdown: dict  # operator class -> ms of one decode round
    decode_step_ms: float
    prefill_ms: float
    latency_percentiles: dict  # ttft_ms / tpot_ms -> {p50, p90, p99}
    calibration: dict  # hardware_profile / engine_profile fitted | prior, family, engine, rows, sources
    speculative: dict
    uncertainty: dict = field(default_factory=dict)  # metric -> {p10, p90} (perf/uncertainty.py)
    prefix_hit_rate: float = 0.0
    overloaded: bool = False
    max_sustainable_rate_rps: float | None = None
    mtp_draft_tokens: int = 0
    mtp_acceptance_length: float = 1.0
    prefill_gpu_time_share: float = 0.0  # share of the GPU time spent on prefill work (cost --prefill-gpu-time-share)
    warnings: list = field(default_factory=list)
    definitions: dict = field(default_factory=lambda: dict(DEFINITIONS))

    @property
    def overload_message(self) -> str:
        return next((w for w in self.warnings if w.startswith("overloaded")), "")

    def to_dict(self) -> dict:
        return asdict(self)


def max_sustainable_rate_rps(closed_loop: dict[str, Any], osl: float) -> float:
    """The highest open-loop request rate a deployment sustains: its closed-loop maximum output throughput (serve()
    at concurrency None, the KV-cache cap) divided by OSL."""
    return float(np.asarray(closed_loop["output_tokens_per_s"], dtype=float).ravel()[0]) / float(osl)


def overload_text(rate_rps: float, max_rps: float) -> str:
    return (
        f"overloaded at this rate ({float(rate_rps):,.4g} requests/s): the max sustainable rate is "
        f"{max_rps:,.4g} requests/s (closed-loop maximum throughput / OSL); the queue and TTFT grow without bound"
    )


DEFINITIONS: dict[str, str] = {
    "ttft_ms": "mean time to first token: half a round + prefill queueing and the request's own prefill chunks + the "
    "wait for a KV slot beyond the cache (closed loop) + the engine's front-end overhead (ms)",
    "tpot_ms": "mean time per output token after the first, incl. prefill interleaved with decode (ms); "
    "1000/tpot = tokens/s per user",
    "latency_percentiles": "p50/p90/p99 of per-request TTFT (queue tail) and TPOT (mix of decode-only and mixed "
    "rounds)",
    "total_tokens_per_s_per_gpu": "(input + output) tokens/s over all GPUs of the deployment (InferenceX's "
    "tput_per_gpu)",
    "output_tokens_per_s_per_gpu": "output tokens/s over all GPUs (aiconfigurator/MLPerf convention)",
    "breakdown": "time of one decode round by operator class (ms)",
    "bound": "what dominates a decode round: compute, memory, communication or overhead",
    "memory_per_gpu_gib": "weights + KV of the running batch + activations + the engine's reserve on one GPU "
    "(GiB = 2^30 B)",
    "calibration": "which fitted parameters the figures rest on: hardware family and engine, fitted on measurements or "
    "a prior",
    "uncertainty": "p10-p90 band of each figure from the model's out-of-sample errors on the nearest data "
    "(calibrate.py --cv)",
    "prefill_gpu_time_share": "share of the deployment's GPU time spent on prefill work (the prefill part of mixed "
    "rounds and prefill-only rounds): `tokenfab cost --prefill-gpu-time-share` splits $/M into input and output by it",
}


def _validate_common(
    m: ModelSpec, hw: HardwareSpec, isl: int, osl: int, weights: str | None, kv: str | None
) -> tuple[str, str]:
    require_int("isl", isl, minimum=1)
    require_int("osl", osl, minimum=1)
    w = prec.normalize(weights or m.native_weights, field="weights")
    kvp = prec.normalize(kv or prec.default_kv_precision(w), field="kv", allowed=prec.KV_PRECISIONS)
    if m.max_position_embeddings and isl + osl > m.max_position_embeddings:
        raise TokenfabError(
            f"ISL + OSL exceeds {m.key}'s maximum context of {m.max_position_embeddings}",
            field="isl",
            expected=f"isl + osl <= {m.max_position_embeddings}",
            got=isl + osl,
        )
    return w, kvp


def single_point(
    hw: HardwareSpec,
    engine: EngineSpec,
    weights: str,
    kv: str,
    profile: CalibrationProfile,
    tp: int,
    pp: int,
    dp: int,
    ep: int,
) -> PointArrays:
    return point_arrays([hw], [engine], weights, kv, profile, [0], [0], [tp], [pp], [dp], [ep])


def _auto_layout(
    m: ModelSpec,
    hw: HardwareSpec,
    engine: EngineSpec,
    weights: str,
    kv: str,
    users: int,
    isl: int,
    osl: int,
    profile: CalibrationProfile,
) -> tuple[int, int, int]:
    """The smallest usual layout that holds the weights and ``users`` sequences: from the chip count `fit` computes
    (capacity / bytes), stepping up until serve()'s own KV check (the engine's memory fraction and pages, layer
    granularity of the pipeline, per-stage activations) holds the sequences. SRAM chips fill whole nodes."""
    need = fit(m, hw, weights=weights, kv=kv, users=users, context=isl + osl).chips_needed
    step = hw.chips_per_node if hw.kind == "sram" else 1
    need = -(-need // step) * step
    gpus, tp, pp = need, 1, 1
    for _ in range(64):
        if hw.kind == "sram":
            gpus = sram_chip_count(need, hw.chips_per_node, sram_tp_max(hw), m.num_layers, sram_kv_ways(m))
            tp, pp = _sram_pick(m, hw, engine, weights, kv, profile, gpus, users, isl, osl)
        else:
            gpus, tp, pp = auto_parallelism(m, need, hw.chips_per_node)
        if pp > m.num_layers:
            break
        if _holds(m, hw, engine, weights, kv, profile, tp, pp, users, isl, osl):
            break
        need = gpus + step
    return gpus, tp, pp


def _holds(
    m: ModelSpec,
    hw: HardwareSpec,
    engine: EngineSpec,
    weights: str,
    kv: str,
    profile: CalibrationProfile,
    tp: int,
    pp: int,
    users: int,
    isl: int,
    osl: int,
) -> bool:
    """Whether the (tp, pp) layout's KV cache holds ``users`` sequences (serve()'s own check)."""
    ep = tp if m.is_moe and m.max_experts % tp == 0 else 1
    pa = single_point(hw, engine, weights, kv, profile, tp, pp, 1, ep)
    return float(concurrency_cap(m, weights, kv, pa, isl, osl)[0]) >= users


def _sram_pick(
    m: ModelSpec,
    hw: HardwareSpec,
    engine: EngineSpec,
    weights: str,
    kv: str,
    profile: CalibrationProfile,
    chips: int,
    users: int,
    isl: int,
    osl: int,
) -> tuple[int, int]:
    """The SRAM layout of ``chips`` (memory.sram_layouts): the widest TP when it holds the sequences, else TP within
    the KV heads (which holds more)."""
    cands = sram_layouts(chips, sram_tp_max(hw), m.num_layers, sram_kv_ways(m))
    for tp, pp in cands:
        if pp <= m.num_layers and _holds(m, hw, engine, weights, kv, profile, tp, pp, users, isl, osl):
            return tp, pp
    return cands[-1]


def _check_spec_flags(spec_method: str | None, method_given: bool, draft_tokens: int | None) -> None:
    """Speculative-decoding choices that contradict each other are refused, not resolved silently: draft tokens
    with speculative decoding off, or a named method with 0 draft tokens (``draft_tokens`` None: not given)."""
    if draft_tokens is None or isinstance(draft_tokens, bool) or not isinstance(draft_tokens, int | np.integer):
        return  # not given (a value of the wrong type is the range check's)
    if spec_method is not None and not method_given and draft_tokens > 0:
        raise TokenfabError(
            f"{draft_tokens} draft tokens given with speculative decoding off",
            field="mtp_draft_tokens",
            expected="speculative decoding off without draft tokens, or a method with them (--spec mtp|eagle3|dspark)",
            got=int(draft_tokens),
        )
    if method_given and draft_tokens == 0:
        raise TokenfabError(
            f"speculative method {spec_method} with 0 draft tokens",
            field="mtp_draft_tokens",
            expected=f"1 to {spec.MAX_DRAFT_TOKENS} draft tokens with the method, or speculative decoding off",
            got=0,
        )


def estimate(
    model: str | Path | ModelSpec,
    hardware: str | HardwareSpec,
    gpus: int | None = None,
    tp: int | None = None,
    pp: int | None = None,
    ep: int | None = None,
    dp: int | None = None,
    weights: str | None = None,
    kv: str | None = None,
    isl: int = 1024,
    osl: int = 1024,
    concurrency: int | str | None = None,
    rate_rps: float | None = None,
    engine: str | None = None,
    spec_method: str | None = None,
    mtp_draft_tokens: int | None = None,
    mtp_acceptance_length: float | None = None,
    prefix_hit_rate: float = 0.0,
    calibration: str | Path | CalibrationProfile | None = None,
    hardware_files: tuple[str, ...] | list[str] | str | Path | None = None,
) -> Estimate:
    """TTFT, TPOT and throughput of ``model`` on ``gpus`` chips of ``hardware`` served by ``engine`` (Python API of
    `tokenfab estimate`). ``spec_method``: None/"off", "auto" (the model's MTP heads), "mtp", "eagle3", "dspark";
    ``mtp_draft_tokens`` > 0 alone means the model's own MTP; ``mtp_acceptance_length`` None: the published figure.
    ``concurrency`` (a number, or ``'max'``/None: the largest that fits) or ``rate_rps`` (open loop), not both; an
    open-loop rate the deployment cannot sustain returns ``overloaded=True`` with ``max_sustainable_rate_rps``."""
    method_given = spec_method is not None and str(spec_method).strip().lower() not in ("off", "none", "")
    _check_spec_flags(spec_method, method_given, mtp_draft_tokens)
    v = check_serving_request(
        isl=isl,
        osl=osl,
        concurrency=concurrency,
        rate_rps=rate_rps,
        gpus=gpus,
        tp=tp,
        pp=pp,
        dp=dp,
        ep=ep,
        mtp_draft_tokens=mtp_draft_tokens,
        # with a named method the draft count may come from the method's default (checked by spec.resolve)
        mtp_acceptance_length=None if (method_given and not mtp_draft_tokens) else mtp_acceptance_length,
        prefix_hit_rate=prefix_hit_rate,
    )
    concurrency, mtp_draft_tokens = v["concurrency"], v["mtp_draft_tokens"]
    if mtp_acceptance_length is not None:
        mtp_acceptance_length = check_input("mtp_acceptance_length", mtp_acceptance_length)
    m = get_model(model)
    hw = get_hardware(hardware, hardware_files)
    eng = resolve_engine(engine, hw)
    w, kvp = _validate_common(m, hw, isl, osl, weights, kv)
    method = spec_method
    if method is None and mtp_draft_tokens:
        method = "auto"
    sp = spec.resolve(m, eng, method, mtp_draft_tokens or None, mtp_acceptance_length)
    conc_val = None
    if rate_rps is None and not (isinstance(concurrency, str) and concurrency.strip().lower() == "max"):
        conc_val = float(require_int("concurrency", int(concurrency), minimum=1))
    profile = load_profile(calibration)
    auto_note = None
    gpus_in, tp_in, pp_in, dp_in = gpus, tp, pp, dp
    if gpus is None and tp is None and pp is None and dp is None:
        users = int(conc_val) if conc_val is not None else 1
        users = min(users, eng.max_num_seqs)
        gpus, tp, pp = _auto_layout(m, hw, eng, w, kvp, max(users, 1), isl, osl, profile)
        auto_note = f"--gpus not given: using {gpus} chip(s), the smallest layout that fits (see `tokenfab fit`)"
    if hw.kind == "sram" and tp is None and pp is None and gpus:
        users = min(int(conc_val) if conc_val is not None else 1, eng.max_num_seqs)
        tp, pp = _sram_pick(m, hw, eng, w, kvp, profile, gpus, max(users, 1), isl, osl)
    par = resolve_parallelism(
        m,
        gpus=gpus,
        tp=tp,
        pp=pp,
        dp=dp,
        ep=ep,
        check_heads=hw.kind != "sram",
        allow_redundant_experts=eng.supports("eplb"),
    )
    # the chips came from the flags (the first given is named), or (no layout given) from the model at its precision
    # (the precision named when one was given, else the model)
    given = [k for k, v in (("gpus", gpus_in), ("tp", tp_in), ("pp", pp_in), ("dp", dp_in)) if v is not None]
    field = given[0] if given else ("weights" if weights is not None else "model")
    check_reach(hw, instance_chips(m, par.tp, par.pp, par.dp), field=field)
    warn_list = [auto_note] if auto_note else []
    if m.is_moe and par.dp > 1 and not eng.supports("dp_attention"):
        warn_list.append(
            f"{eng.key} does not run attention data parallelism: DP={par.dp} is modelled as if it did "
            "(use an engine with dp_attention, or DP=1)"
        )
    experts_p, rest_p = prec.split_mixed(w)
    cf = prec.compute_format(rest_p, hw.peak_flops_per_s)
    if cf.warning:
        warn_list.append(cf.warning)
    if par.tp > hw.scaleup_domain_size:
        warn_list.append(
            f"TP={par.tp} spans more than the {hw.scaleup_domain_size}-chip scale-up domain: "
            f"all-reduce runs over the scale-out network"
        )
    pa = single_point(hw, eng, w, kvp, profile, par.tp, par.pp, par.dp, par.ep)
    r = serve(
        m,
        w,
        kvp,
        pa,
        isl=isl,
        osl=osl,
        concurrency=conc_val,
        rate_rps=rate_rps,
        draft_tokens=sp.draft_tokens,
        acceptance_length=sp.acceptance_length,
        parallel_draft=sp.parallel_draft,
        draft_layers=sp.draft_layers,
        prefix_hit_rate=prefix_hit_rate,
    )

    def g(key: str) -> float:
        return float(np.asarray(r[key]).ravel()[0])

    cap = g("concurrency_cap")
    fits = bool(np.asarray(r["fits"]).ravel()[0])
    if not fits:
        need = (
            weight_bytes_per_gpu(m, w, par) + activation_bytes_per_gpu(m, par, float(pa.max_batch_tokens[0]))
        ) / units.GIB
        usable = hw.weight_memory_bytes * float(pa.memory_fraction[0]) / units.GIB
        warn_list.append(
            f"does not fit: weights + activations need {need:.1f} GiB per GPU before any KV cache, "
            f"the engine may use {usable:.1f} GiB of it; use more GPUs or a narrower precision (see `tokenfab fit`)"
        )
    elif conc_val is not None and conc_val > cap:
        warn_list.append(
            f"concurrency {int(conc_val)} exceeds the {int(cap)} sequences the KV cache holds at ISL {isl} + OSL "
            f"{osl}: the rest wait for a slot (counted in TTFT)"
        )
    if sp.stand_in:
        warn_list.append(f"speculative acceptance of {m.key} is not published: {sp.stand_in}'s figure stands in")
    overloaded = bool(np.asarray(r["overloaded"]).ravel()[0])
    max_rate = None
    if rate_rps is not None:
        sat = serve(
            m,
            w,
            kvp,
            pa,
            isl=isl,
            osl=osl,
            draft_tokens=sp.draft_tokens,
            acceptance_length=sp.acceptance_length,
            parallel_draft=sp.parallel_draft,
            draft_layers=sp.draft_layers,
            prefix_hit_rate=prefix_hit_rate,
        )
        max_rate = max_sustainable_rate_rps(sat, osl)
        if overloaded:
            warn_list.append(overload_text(rate_rps, max_rate))
    conc = g("concurrency")
    in_use = memory_in_use_bytes(
        m,
        w,
        kvp,
        pa,
        concurrency=conc,
        isl=isl,
        osl=osl,
        reserve=hw.kind != "sram",  # an SRAM chip's capacity is the model's share: no engine reserve
        draft_layers=sp.draft_layers if sp.draft_tokens > 0 else 0.0,
        **_memory_rule(pa),
    )
    mem = float(np.ravel(in_use)[0]) / units.GIB
    status = profile.status_for(hw, eng.key)
    pct = {
        "ttft_ms": {lbl: g(f"ttft_{lbl}_ms") for lbl in ("p50", "p90", "p99")},
        "tpot_ms": {lbl: g(f"tpot_{lbl}_ms") for lbl in ("p50", "p90", "p99")},
        "itl_ms": {"mean": g("itl_ms"), "median": g("itl_median_ms")},
    }
    if status.any_prior:
        without_data = []
        if status.hardware_profile == "prior":
            without_data.append(f"the {status.hardware_family} hardware family")
        if status.engine_profile == "prior":
            without_data.append(f"the {eng.key} engine")
        warn_list.append(
            f"first-principles estimate: {' and '.join(without_data)} {'have' if len(without_data) == 2 else 'has'} no "
            "measurements; the parameters are a prior (see calibration and uncertainty)"
        )
    hw_note = redefined_note([hw.key], hardware_files)
    if hw_note:
        warn_list.append(hw_note)
    user_note = profile.user_calibration_note([(hw.key, eng.key)])
    if user_note:  # which of a user calibration's entries this estimate uses (the sweeps say the same)
        warn_list.append(user_note)
    st_dict = status.to_dict()
    at_prior = unc.priors_that_matter(st_dict, "*", unc.model_class(m))
    if at_prior and not status.any_prior:
        warn_list.append(
            unc.at_prior_phrase(st_dict, at_prior)
            + " (calibration.parameters_at_prior): the figures it moves carry the prior bands"
        )
    est = Estimate(
        model=m.key,
        hardware=hw.key,
        engine=eng.key,
        gpus=par.gpus,
        tp=par.tp,
        pp=par.pp,
        dp=par.dp,
        ep=par.ep,
        weights=w,
        kv=kvp,
        compute_precision=cf.used,
        isl=isl,
        osl=osl,
        ttft_ms=g("ttft_ms"),
        tpot_ms=g("tpot_ms"),
        e2el_ms=g("e2el_ms"),
        tokens_per_s_per_user=g("tokens_per_s_per_user"),
        output_tokens_per_s=g("output_tokens_per_s"),
        input_tokens_per_s=g("input_tokens_per_s"),
        total_tokens_per_s=g("total_tokens_per_s"),
        output_tokens_per_s_per_gpu=g("output_tokens_per_s_per_gpu"),
        input_tokens_per_s_per_gpu=g("input_tokens_per_s_per_gpu"),
        total_tokens_per_s_per_gpu=g("total_tokens_per_s_per_gpu"),
        requests_per_s=g("requests_per_s"),
        concurrency=conc,
        concurrency_cap=cap,
        memory_per_gpu_gib=mem,
        fits=fits,
        bound=str(np.asarray(r["bound"]).ravel()[0]),
        breakdown={kk: float(np.asarray(v).ravel()[0]) for kk, v in r["breakdown_ms"].items()},
        decode_step_ms=g("decode_step_ms"),
        prefill_ms=g("prefill_ms"),
        latency_percentiles=pct,
        calibration=status.to_dict(),
        speculative=sp.to_dict(),
        prefix_hit_rate=prefix_hit_rate,
        overloaded=overloaded,
        max_sustainable_rate_rps=max_rate,
        mtp_draft_tokens=sp.draft_tokens,
        mtp_acceptance_length=sp.acceptance_length if sp.on else 1.0,
        prefill_gpu_time_share=float(np.clip(np.nan_to_num(g("prefill_time_share")), 0.0, 1.0)),
        warnings=warn_list,
    )
    from tokenfab.perf.uncertainty import attach_estimate_band

    # physics bounds the bands: the prompt's own prefill and one decode step on a machine at every peak
    t_pf, t_dec = physical_floor_s(
        m, w, kvp, pa, prompt_tokens=isl * (1.0 - prefix_hit_rate), context=float(isl + osl / 2.0)
    )
    floors_ms = {
        "ttft_ms": float(np.asarray(t_pf).ravel()[0]) * 1e3,
        "tpot_ms": float(np.asarray(tpot_floor_s(t_dec, sp.draft_tokens)).ravel()[0]) * 1e3,
    }
    ceiling = output_ceiling_per_gpu(
        m, w, kvp, pa, concurrency=conc, context=float(isl + osl / 2.0), draft_tokens=sp.draft_tokens
    )
    ceiling_v = float(np.asarray(ceiling).ravel()[0])
    attach_estimate_band(
        est,
        m,
        profile,
        floors_ms=floors_ms,
        ceiling_output_tokens_per_s_per_gpu=ceiling_v if math.isfinite(ceiling_v) else None,
    )
    return est


__all__ = ["Estimate", "ITERATIONS", "concurrency_cap", "estimate", "serve", "single_point"]
