"""Continuous-batching scheduler arithmetic: chunked prefill, mixed steps, the closed loop, latency distributions.

Pure, NumPy-vectorized functions; perf/serving.py composes them with the roofline's step times.

Steps. An engine runs rounds (one forward step; with pipeline parallelism one traversal of all stages). A decode-only
round of B running sequences takes ``t_d``; a round that also prefills P prompt tokens takes ``t_m`` (vLLM V1,
TensorRT-LLM in-flight batching and ATOM mix them: decode rows count against the step's token budget,
:func:`prefill_tokens_per_round`). Engines that do not mix (SGLang's default ``enable_mixed_chunk=False``) run
prefill-only rounds ``t_p`` while the decodes wait. Each running sequence gains ``acceptance`` tokens per round it
takes part in (1 without speculative decoding).

Prefill as a server. A request's prompt needs ISL / P mixed rounds: its service time is s = ISL / P x t_m (rounds
shared by several short prompts count fractionally). The prefill "server" is busy a fraction U = X s of the time
(X requests/s), so decoding runs at N = U / t_m + (1 - U) / t_d rounds/s when mixing (only (1 - U) / t_d when not):
TPOT = 1 / (acceptance x N).

Closed loop (a fixed number C of requests in flight, as `vllm bench serve --max-concurrency` and TensorRT-LLM's
fixed-concurrency runs): a closed queueing network of one queue (prefill, service s) and a delay station (the decode
phase, "think time" Z = (OSL - 1) TPOT). Schweitzer's approximate mean value analysis (Schweitzer 1979; Lazowska et
al., "Quantitative System Performance", 1984, ch. 6) gives R = s (1 + (C - 1)/C Q) with Q = C R / (R + Z); for one
queue this is the quadratic R^2 + (Z - C s) R - s Z = 0, solved in closed form by :func:`closed_loop_response_s`
(R = s at C = 1; R -> C s - Z when the prefill server saturates). X = C / (R + Z).

Open loop (Poisson arrivals at rate lambda): the prefill queue is M/D/1 (perf/queueing.py) and the decode batch
follows Little's law, B = lambda x Z.

Latency distributions. A request's TPOT is the mean of its OSL - 1 gaps: decode-only rounds of t_d and a share phi of
mixed rounds of t_m (phi = the count share of mixed rounds), so TPOT_p = (t_d + (t_m - t_d) phi_p) / acceptance with
phi_p the binomial quantile of phi over OSL - 1 rounds (normal approximation, :func:`tpot_quantile_s`); speculative
decoding adds the spread of the accepted tokens per round. p50 / p90 / p99 TPOT therefore differ from the mean
whenever prefill interleaves with decode. Inter-token latency (vLLM's ITL: the gap between streamed chunks) is the
round time itself; its median is the decode-only round as long as fewer than half the rounds are mixed.
"""

from __future__ import annotations

from collections.abc import Callable
from statistics import NormalDist
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

_ND = NormalDist()


def z_score(q: float) -> float:
    """Standard normal quantile (q in (0, 1))."""
    return float(_ND.inv_cdf(min(max(float(q), 1e-9), 1 - 1e-9)))


def prefill_tokens_per_round(
    budget_tokens: ArrayLike,
    decode_rows: ArrayLike,
    prompt_tokens: ArrayLike,
    chunked: ArrayLike,
    mixed: ArrayLike,
    spread_tokens: ArrayLike = 0.0,
) -> np.ndarray:
    """Prompt tokens one round prefills. Mixing engines give prefill what the decode rows leave of the budget
    (at least one block of 16 tokens, so a full batch still makes progress); without chunked prefill a round takes
    whole prompts (at least one, however long); a non-mixing engine's prefill round has the whole budget.

    ``spread_tokens``: the round-to-round spread of the decode rows (their count changes as requests finish and
    join). Whole-prompt packing then takes floor(room / ISL) prompts on average over that spread, which
    :func:`smooth_floor` approximates by a ramp of that width: without it the prompts per round jump from n to n - 1
    at one decode batch, the steady state has no fixed point there, and a point beside the jump can look faster
    than it is (speculation that accepts nothing, whose extra rows cross the jump, seemed to help)."""
    budget = np.asarray(budget_tokens, dtype=float)
    rows = np.asarray(decode_rows, dtype=float)
    isl = np.maximum(np.asarray(prompt_tokens, dtype=float), 1.0)
    room = np.where(np.asarray(mixed, dtype=bool), np.maximum(budget - rows, 16.0), budget)
    width = np.clip(np.asarray(spread_tokens, dtype=float) / isl, 0.0, 1.0)
    whole = np.maximum(smooth_floor(room / isl, width), 1.0) * isl
    return np.where(np.asarray(chunked, dtype=bool), room, whole)


def smooth_floor(x: ArrayLike, width: ArrayLike) -> np.ndarray:
    """floor(x) with each unit step spread into a linear ramp of ``width`` (0 <= width <= 1) centred on the integer:
    the mean of floor(x + u) for u uniform over [-width/2, width/2]. Exactly floor(x) at width 0, continuous above."""
    xa = np.asarray(x, dtype=float)
    w = np.clip(np.asarray(width, dtype=float), 0.0, 1.0)
    shifted = xa + 0.5 * w
    n = np.floor(shifted)
    ramp = np.where(w > 0, np.clip((shifted - n) / np.where(w > 0, w, 1.0), 0.0, 1.0), 1.0)
    return n - 1.0 + ramp


def closed_loop_response_s(service_s: ArrayLike, think_s: ArrayLike, population: ArrayLike) -> np.ndarray:
    """Mean response time of the prefill queue in a closed loop of ``population`` requests (Schweitzer's MVA for a
    single queue + delay station, closed form)."""
    s = np.maximum(np.asarray(service_s, dtype=float), 0.0)
    z = np.maximum(np.asarray(think_s, dtype=float), 0.0)
    c = np.maximum(np.asarray(population, dtype=float), 1.0)
    b = c * s - z
    return 0.5 * (b + np.sqrt(b * b + 4.0 * s * z))


def rounds_per_s(busy: ArrayLike, t_decode_s: ArrayLike, t_mixed_s: ArrayLike, mixed: ArrayLike) -> np.ndarray:
    """Rounds per second a decoding sequence takes part in, given the prefill server's busy share ``busy``."""
    u = np.clip(np.asarray(busy, dtype=float), 0.0, 0.999999)
    td = np.maximum(np.asarray(t_decode_s, dtype=float), 1e-12)
    tm = np.maximum(np.asarray(t_mixed_s, dtype=float), 1e-12)
    return np.where(np.asarray(mixed, dtype=bool), u / tm + (1.0 - u) / td, (1.0 - u) / td)


def mixed_round_share(busy: ArrayLike, t_decode_s: ArrayLike, t_mixed_s: ArrayLike, mixed: ArrayLike) -> np.ndarray:
    """Mixing engines: the share of the rounds a decoding sequence sees that carry a prefill. Engines that do not mix:
    the mean number of prefill-only rounds that stall one decode gap (below 1 it is the share of stalled gaps; near
    prefill saturation a gap holds several)."""
    u = np.clip(np.asarray(busy, dtype=float), 0.0, 0.999999)
    td = np.maximum(np.asarray(t_decode_s, dtype=float), 1e-12)
    tm = np.maximum(np.asarray(t_mixed_s, dtype=float), 1e-12)
    mix = (u / tm) / (u / tm + (1.0 - u) / td)
    # not mixing (``t_mixed_s`` is then the prefill-only round): the decode gaps hold t_d U / ((1 - U) t_p) prefill
    # rounds on average, so that the mean gap is t_d / (1 - U), the mean TPOT 1 / N (not capped at one per gap: a cap
    # would put every TPOT percentile below the mean near saturation)
    stall = td * u / np.maximum((1.0 - u) * tm, 1e-12)
    return np.where(np.asarray(mixed, dtype=bool), mix, stall)


def acceptance_variance(acceptance_length: ArrayLike, draft_tokens: ArrayLike) -> np.ndarray:
    """Variance of the tokens accepted per verify round for a chained draft of ``draft_tokens`` whose mean accepted
    length is ``acceptance_length``: the per-token rate p solves 1 + p + ... + p^k = acceptance (bisection), and the
    count is truncated geometric. Computed once per distinct (acceptance, draft) pair: a sweep's points share few."""
    a = np.asarray(acceptance_length, dtype=float)
    k = np.asarray(draft_tokens, dtype=float)
    if a.ndim or k.ndim:
        ab, kb_ = np.broadcast_arrays(a, k)
        if ab.size > 1:
            pairs, inv = np.unique(np.stack([ab.ravel(), kb_.ravel()]), axis=1, return_inverse=True)
            if pairs.shape[1] < ab.size:
                return _acceptance_variance(pairs[0], pairs[1])[inv.ravel()].reshape(ab.shape)
    return _acceptance_variance(a, k)


def _acceptance_variance(a: np.ndarray, k: np.ndarray) -> np.ndarray:
    lo, hi = np.zeros_like(a), np.ones_like(a)
    kk = np.maximum(k, 1.0)
    for _ in range(40):  # bounded bisection
        mid = 0.5 * (lo + hi)
        val = np.where(mid < 1.0, (1.0 - mid ** (kk + 1.0)) / np.maximum(1.0 - mid, 1e-12), kk + 1.0)
        lo = np.where(val < a, mid, lo)
        hi = np.where(val < a, hi, mid)
    p = 0.5 * (lo + hi)
    j = np.arange(1, 33, dtype=float)[:, None] if a.ndim else np.arange(1, 33, dtype=float)
    kb = kk if a.ndim == 0 else kk[None, ...]
    pb = p if a.ndim == 0 else p[None, ...]
    prob = np.where(j <= kb, pb ** (j - 1.0) * (1.0 - pb), np.where(j == kb + 1.0, pb**kb, 0.0))
    mean = np.sum(prob * j, axis=0)
    var = np.sum(prob * j * j, axis=0) - mean * mean
    return np.where(k > 0, np.maximum(var, 0.0), 0.0)


def tpot_quantile_s(
    q: float | None,
    t_decode_s: ArrayLike,
    t_mixed_s: ArrayLike,
    share: ArrayLike,
    acceptance: ArrayLike,
    acc_var: ArrayLike,
    osl: ArrayLike,
    mixed: ArrayLike,
) -> np.ndarray:
    """Per-request TPOT at percentile ``q`` (None: the mean): gaps of t_d, a binomial share of longer rounds, and the
    spread of accepted tokens per round, over the request's OSL - 1 gaps."""
    td = np.asarray(t_decode_s, dtype=float)
    tm = np.asarray(t_mixed_s, dtype=float)
    mixed = np.asarray(mixed, dtype=bool)
    phi = _stall_count(share, mixed)
    acc = np.maximum(np.asarray(acceptance, dtype=float), 1.0)
    n = np.maximum(np.asarray(osl, dtype=float) - 1.0, 1.0)
    # the long-round penalty: a mixed round's extra time, or (not mixing) a prefill round's stall
    extra = np.where(mixed, tm - td, tm)
    mean_gap = td + extra * phi
    if q is None:
        return mean_gap / acc
    z = z_score(q)
    rounds = n / acc
    # long rounds per gap: Bernoulli(phi) below one; above one (not mixing) the least-spread count with that mean,
    # floor(phi) or floor(phi) + 1 (variance f (1 - f) of its fractional part f; phi (1 - phi) below 1)
    frac = phi - np.floor(phi)
    sd_phi = np.sqrt(frac * (1.0 - frac) / np.maximum(rounds, 1.0))
    gap = td + extra * np.clip(phi + z * sd_phi, 0.0, np.where(mixed, 1.0, np.inf))
    # accepted tokens: OSL tokens take a random number of rounds (renewal: var = n var(A) / acc^3)
    cv_acc = np.sqrt(np.asarray(acc_var, dtype=float) / (acc * np.maximum(n, 1.0)))
    return gap / acc * np.maximum(1.0 + z * cv_acc, 0.1)


def itl_stats_s(
    t_decode_s: ArrayLike, t_mixed_s: ArrayLike, share: ArrayLike, busy: ArrayLike, mixed: ArrayLike
) -> tuple[np.ndarray, np.ndarray]:
    """(mean, median) gap between streamed chunks (one chunk per round; a speculative round streams several
    tokens at once)."""
    td = np.asarray(t_decode_s, dtype=float)
    tm = np.asarray(t_mixed_s, dtype=float)
    mixed = np.asarray(mixed, dtype=bool)
    phi = _stall_count(share, mixed)
    u = np.clip(np.asarray(busy, dtype=float), 0.0, 0.999999)
    mean = np.where(mixed, td + (tm - td) * phi, td / np.maximum(1.0 - u, 1e-9))
    # not mixing: the median gap holds the median stall count, floor(phi) or floor(phi) + 1
    stalls = np.floor(phi) + (phi - np.floor(phi) >= 0.5)
    median = np.where(mixed, np.where(phi < 0.5, td, tm), td + tm * stalls)
    return mean, median


def _stall_count(share: ArrayLike, mixed: np.ndarray) -> np.ndarray:
    """:func:`mixed_round_share` made safe: a share in [0, 1] when mixing, a finite count >= 0 when not."""
    s = np.nan_to_num(np.asarray(share, dtype=float), nan=0.0, posinf=1e6)
    return np.where(mixed, np.clip(s, 0.0, 1.0), np.clip(s, 0.0, 1e6))


def burst_response_s(service_s: ArrayLike, population: ArrayLike) -> np.ndarray:
    """Mean prefill response when ``population`` requests arrive at once (FCFS): the j-th waits j - 1 services."""
    c = np.maximum(np.asarray(population, dtype=float), 1.0)
    return 0.5 * (c + 1.0) * np.asarray(service_s, dtype=float)


def synchronized_waves(
    service_s: ArrayLike,
    round_s: ArrayLike,
    front_s: ArrayLike,
    population: ArrayLike,
    osl: ArrayLike,
    decode_tpot_s: ArrayLike,
    decode_tpot_p99_s: ArrayLike,
) -> dict[str, np.ndarray]:
    """Latencies of a closed loop whose requests move in lock-step waves: an engine that does not mix prefill into
    decode rounds (a prefill round pauses every decode: ATOM's prefill-first scheduler, SGLang's default), fixed
    prompt and output lengths, and the C requests of a rank sent at once (``vllm bench serve`` / ATOM's
    benchmark_serving with request-rate inf and ``--max-concurrency``). The first wave's prompts are prefilled one
    after the other while no sequence decodes, then all C decode together and finish in the same round, so the next
    C arrive at once again: every wave is a burst (the steady state of :func:`closed_loop_response_s` is never
    reached).

    Per wave: the j-th prompt's first token comes after j prefill services s (TTFT mean (C + 1) / 2 s, its
    percentile q about q C s), it then waits (C - j) s for the burst to end before decoding at the decode-only TPOT
    of C sequences, so its TPOT (over OSL - 1 gaps) carries (C - j) s / (OSL - 1) more, (C - 1) / 2 s / (OSL - 1) on
    average. ``round_s``: half of it is the wait for the round in flight at arrival; ``front_s``: the front end's
    fixed latency. Returns seconds: ttft_mean, ttft_p50, ttft_p99, tpot_mean, tpot_p50, tpot_p99, e2e_mean."""
    s = np.maximum(np.asarray(service_s, dtype=float), 0.0)
    c = np.maximum(np.asarray(population, dtype=float), 1.0)
    gaps = np.maximum(np.asarray(osl, dtype=float) - 1.0, 1.0)
    head = 0.5 * np.asarray(round_s, dtype=float) + np.asarray(front_s, dtype=float)
    td = np.asarray(decode_tpot_s, dtype=float)
    td99 = np.maximum(np.asarray(decode_tpot_p99_s, dtype=float), td)
    ttft_mean = head + burst_response_s(s, c)
    ttft_p50 = head + np.maximum(0.5 * c, 1.0) * s
    ttft_p99 = head + np.maximum(0.99 * c, 1.0) * s
    tpot_mean = td + 0.5 * (c - 1.0) * s / gaps
    tpot_p50 = td + 0.5 * (c - 1.0) * s / gaps
    tpot_p99 = td99 + 0.99 * (c - 1.0) * s / gaps
    return {
        "ttft_mean": ttft_mean,
        "ttft_p50": ttft_p50,
        "ttft_p99": ttft_p99,
        "tpot_mean": tpot_mean,
        "tpot_p50": tpot_p50,
        "tpot_p99": tpot_p99,
        "e2e_mean": ttft_mean + gaps * tpot_mean,
    }


def solve_monotone(
    evaluate: Callable[[np.ndarray], tuple[Any, ...]], lo: ArrayLike, hi: ArrayLike, iterations: int = 8
) -> tuple[Any, ...]:
    """Root of h(B) = 0 on [lo, hi] per element, for h increasing (h(lo) <= 0 <= h(hi) where a root exists), by the
    Illinois variant of regula falsi: superlinear, and it never leaves the bracket. ``evaluate(B)`` returns
    (h, *extras); the extras of the last evaluation are returned with the root. Elements without a sign change
    end at the better end of their bracket."""
    lo = np.asarray(lo, dtype=float).copy()
    hi = np.asarray(hi, dtype=float).copy()
    f_lo, *ex_lo = evaluate(lo)
    f_hi, *ex_hi = evaluate(hi)
    x = np.where(np.abs(f_lo) <= np.abs(f_hi), lo, hi)
    side: int | np.ndarray = 0
    for _ in range(max(int(iterations), 1)):
        denom = f_hi - f_lo
        cand = np.where(
            np.abs(denom) > 1e-300, hi - f_hi * (hi - lo) / np.where(denom == 0, 1.0, denom), 0.5 * (lo + hi)
        )
        cand = np.where(np.isfinite(cand), np.clip(cand, np.minimum(lo, hi), np.maximum(lo, hi)), 0.5 * (lo + hi))
        no_root = (f_lo > 0) | (f_hi < 0)
        x = np.where(no_root, np.where(f_lo > 0, lo, hi), cand)
        fx, *ex = evaluate(x)
        right = fx > 0  # root lies left of x: x becomes the new hi
        f_lo_new = np.where(right & (side == 1), f_lo * 0.5, f_lo)
        f_hi_new = np.where(~right & (side == -1), f_hi * 0.5, f_hi)
        hi = np.where(right, x, hi)
        f_hi = np.where(right, fx, f_hi_new)
        lo = np.where(right, lo, x)
        f_lo = np.where(right, f_lo_new, fx)
        side = np.where(right, 1, -1)
    return x, *ex
