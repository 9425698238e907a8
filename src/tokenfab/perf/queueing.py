"""Queueing for the prefill server: tail TTFT under random (Poisson) arrivals, SLO attainment and goodput.

Why an analytic model (and which one). The serving model (serving.py) gives *mean* latencies of a configuration at a
load. An SLA is a percentile (p90, p99). What spreads a request's TTFT is the wait for the prefill server: prefills
of other requests queued ahead. TPOT percentiles come from the mix of decode-only and mixed (prefill-carrying)
rounds and the spread of speculative acceptance (perf/scheduling.py tpot_quantile_s), not from this module.

The prefill server is an M/D/c queue: Poisson arrivals at ``lam`` requests/s, ``c`` identical servers (DP ranks or
prefill replicas), a deterministic service time ``service_s`` (a prefill of a fixed ISL takes a fixed time;
InferenceX draws ISL uniformly in [0.8 L, L], a squared coefficient of variation of 0.004, negligible).

- Mean wait: Allen-Cunneen, ``Wq = C(c, a) / (c mu - lam) x (1 + cs^2) / 2`` with C the Erlang-C probability of
  waiting and cs^2 = 0 for deterministic service. For c = 1 it is the exact Pollaczek-Khinchine mean
  ``rho S / (2 (1 - rho))`` (the same term serving.py uses).
- Tail: ``P(W > t) ~= min(P_wait, A exp(-theta t))``. The decay rate ``theta`` is exact: with deterministic service
  and FCFS, the servers of an M/D/c queue serve customers cyclically (customer n + c goes to customer n's server), so
  ``W[n+c] = max(0, W[n] + S - T)`` with T ~ Erlang(c, lam), a GI/D/1 Lindley recursion whose exponential decay rate
  solves the Cramer-Lundberg equation ``E[exp(theta (S - T))] = 1``, i.e. ``theta S = c ln(1 + theta / lam)``.
  Substituting ``u = theta S / c`` gives ``ln(1 + u / rho) = u``: ``u`` depends on the utilization only.
  The prefactor A is set so that the exponential integrates to the mean wait: ``A = theta x Wq``. ``P_wait`` caps
  it by the probability of waiting at all: exactly rho for c = 1 (a Poisson arrival finds the server busy with
  probability rho), the Erlang-C probability (an upper bound for deterministic service) for c > 1. The cap matters
  at low load, where the wait has an atom at zero and its body is not exponential.
- A percentile q of the wait: ``t_q = ln(A / (1 - q)) / theta`` when ``min(P_wait, A) > 1 - q``, else 0.

The discrete-event simulation :func:`simulate_mdc` (seeded, bounded) is the reference this approximation is tested
against (tests/test_queueing.py; measured errors in docs/search.md).
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from typing import cast

import numpy as np
from numpy.typing import ArrayLike

from tokenfab.core.errors import TokenfabError

MAX_SIMULATED_REQUESTS = 2_000_000
DEFAULT_PERCENTILE = "p90"  # DistServe (Zhong et al., OSDI 2024) sizes for 90% SLO attainment


# ----------------------------------------------------------------------------------------------- percentiles
def parse_percentile(p: str | float | None) -> float | None:
    """``'p90'`` -> 0.9, ``'p99.9'`` -> 0.999, ``0.95`` -> 0.95, ``'mean'``/None -> None (use mean values)."""
    if p is None:
        return None
    if isinstance(p, (int, float)) and not isinstance(p, bool):
        q = float(p)
        if q >= 1.0:
            q = q / 100.0
    else:
        s = str(p).strip().lower()
        if s in ("mean", "avg", "average"):
            return None
        if s.startswith("p"):
            s = s[1:]
        try:
            q = float(s) / 100.0
        except ValueError:
            raise TokenfabError(
                "unknown percentile", field="percentile", expected="p50, p90, p99 (pNN) or mean", got=p
            ) from None
    if not (0.0 < q < 1.0):
        raise TokenfabError("percentile out of range", field="percentile", expected="between p1 and p99.99", got=p)
    return q


def percentile_label(q: float | None) -> str:
    if q is None:
        return "mean"
    v = q * 100.0
    return f"p{v:g}"


# ----------------------------------------------------------------------------------------------- analytic M/D/c
ERLANG_EXACT_MAX_SERVERS = 1024  # above: the uniform asymptotic expansion (exact recursion's cost grows with c)


def _erlang_b_recursion(c: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Erlang-B by the stable recursion ``B(k) = a B(k-1) / (k + a B(k-1))``, each element stopping at its own c
    (c whole numbers >= 1, at most ERLANG_EXACT_MAX_SERVERS: the loop is bounded)."""
    b = a / (1.0 + a)  # B(1)
    multi = np.flatnonzero(c > 1.0)  # single-server elements are done (most prefill queues have one server)
    if not multi.size:
        return b
    order = multi[np.argsort(c[multi], kind="stable")]
    cs = c[order]
    bs = b[order]
    as_ = a[order]
    kmax = min(int(cs[-1]), ERLANG_EXACT_MAX_SERVERS)
    starts = np.searchsorted(cs, np.arange(2, kmax + 1), side="left")  # elements with c >= k, for every k at once
    for k, start in zip(range(2, kmax + 1), starts.tolist(), strict=True):
        if start >= cs.size:
            break
        ab = as_[start:] * bs[start:]
        bs[start:] = ab / (k + ab)
    out = b.copy()
    out[order] = bs
    return out


def _d_minus_log1p(d: ArrayLike) -> np.ndarray:
    """``d - ln(1 + d)`` (>= 0) without cancellation near d = 0 (series for |d| < 0.1)."""
    d = np.asarray(d, dtype=float)
    small = np.abs(d) < 0.1
    ds = np.where(small, d, 0.0)
    series = np.zeros_like(ds)
    term = ds * ds
    for k in range(2, 24):  # |d| < 0.1: the terms fall below 1e-22 of the first
        series += (term if k % 2 == 0 else -term) / k
        term = term * ds
    with np.errstate(invalid="ignore", divide="ignore"):
        direct = d - np.log1p(d)
    return np.where(small, series, direct)


_erfc = np.vectorize(math.erfc, otypes=[float])


def _erlang_b_asymptotic(c: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Erlang-B ``B = pmf(c; a) / P(Poisson(a) <= c)`` for large c and a < c, in closed form: the Poisson pmf by
    Stirling's series (with the correction up to 1/c^5), the Poisson CDF ``Q(c + 1, a)`` (the regularized upper
    incomplete gamma) by Temme's uniform asymptotic expansion (DLMF 8.12.3-8.12.8) with the terms c_0 and c_1
    (Taylor series near eta = 0, DLMF 8.12.9-8.12.10). For c > 1024 the truncation error is below 1e-10 of the
    CDF (the next term is about c_2 = 25/6048 over c^2)."""
    s = c + 1.0
    d = a / s - 1.0  # lambda - 1 < 0
    f = _d_minus_log1p(d)  # lambda - 1 - ln(lambda) = eta^2 / 2
    eta = np.sign(d) * np.sqrt(2.0 * f)
    small = np.abs(eta) < 1e-3
    with np.errstate(divide="ignore", invalid="ignore"):
        c0 = np.where(small, -1 / 3 + eta / 12 - 2 * eta**2 / 135 + eta**3 / 864, 1.0 / d - 1.0 / eta)
        c1 = np.where(small, -1 / 540 - eta / 288, 1.0 / eta**3 - 1.0 / d**3 - 1.0 / d**2 - 1.0 / (12.0 * d))
    q = 0.5 * _erfc(eta * np.sqrt(s / 2.0)) + np.exp(-s * f) / np.sqrt(2.0 * np.pi * s) * (c0 + c1 / s)
    rho = a / c
    corr = 1.0 / (12.0 * c) - 1.0 / (360.0 * c**3) + 1.0 / (1260.0 * c**5)  # ln c! - Stirling
    log_pmf = -c * _d_minus_log1p(rho - 1.0) - 0.5 * np.log(2.0 * np.pi * c) - corr
    return np.exp(log_pmf) / q


def erlang_c(c: ArrayLike, offered_load: ArrayLike) -> float | np.ndarray:
    """Erlang-C probability that an arrival waits in an M/M/c queue with offered load ``a = lam / mu`` (< c).

    Vectorized over arrays of ``c`` (whole numbers >= 1) and ``a``; returns 1 where ``a >= c`` (unstable). Erlang-B
    by the stable recursion ``B(k) = a B(k-1) / (k + a B(k-1))`` for c <= ERLANG_EXACT_MAX_SERVERS, in closed form
    (:func:`_erlang_b_asymptotic`) above: the work is bounded whatever c is (a fleet for any request rate)."""
    c = np.asarray(c, dtype=float)
    a = np.asarray(offered_load, dtype=float)
    c, a = np.broadcast_arrays(c, a)
    shape = c.shape
    cf = np.maximum(np.rint(c.ravel()), 1.0)
    af = a.ravel().astype(float)
    rho = af / cf
    big = (cf > ERLANG_EXACT_MAX_SERVERS) & (rho < 1.0) & (af > 0)
    b = _erlang_b_recursion(np.where(big, 1.0, cf), af)
    if big.any():
        b[big] = _erlang_b_asymptotic(cf[big], af[big])
    with np.errstate(divide="ignore", invalid="ignore"):
        out = b / (1.0 - rho * (1.0 - b))
    out = np.where(rho >= 1.0, 1.0, np.clip(out, 0.0, 1.0)).reshape(shape)
    return out if out.ndim else float(out)


def decay_rate_u(rho: ArrayLike, iterations: int = 60, tol: float = 1e-12) -> float | np.ndarray:
    """Root u > 0 of ``ln(1 + u / rho) = u`` (Newton from the right; the function is concave, so it converges
    monotonically)."""
    r = np.clip(np.asarray(rho, dtype=float), 1e-9, 1.0 - 1e-9)
    u = 2.0 * np.log1p(1.0 / r) + 2.0  # h(u) < 0 here: to the right of the root
    for _ in range(iterations):
        h = np.log1p(u / r) - u
        dh = 1.0 / (r + u) - 1.0
        step = h / dh
        u = u - step
        if not np.any(np.abs(step) > tol * np.maximum(u, 1e-300)):
            break
    return u if u.ndim else float(u)


@dataclass(frozen=True)
class MDCParams:
    """An M/D/c wait: mean (s), tail ``P(W > t) ~= min(p_wait, a exp(-theta t))`` (theta in 1/s)."""

    wait_mean_s: np.ndarray
    a: np.ndarray
    theta: np.ndarray
    p_wait: np.ndarray
    utilization: np.ndarray


def mdc_params(lam: ArrayLike, service_s: ArrayLike, c: ArrayLike = 1) -> MDCParams:
    """Mean wait (Allen-Cunneen, exact Pollaczek-Khinchine for c = 1) and tail parameters of an M/D/c queue with
    Poisson arrivals ``lam``/s, deterministic service ``service_s`` and ``c`` servers. rho >= 1: infinite wait."""
    lam = np.asarray(lam, dtype=float)
    s = np.asarray(service_s, dtype=float)
    c = np.asarray(c, dtype=float)
    lam, s, c = np.broadcast_arrays(lam, s, c)
    a_load = lam * s
    rho = a_load / c
    pw = erlang_c(c, a_load)
    with np.errstate(divide="ignore", invalid="ignore"):
        wq = pw / (c / s - lam) * 0.5
    unstable = rho >= 1.0
    idle = lam <= 0
    wq = np.where(unstable, np.inf, np.where(idle, 0.0, wq))
    u = decay_rate_u(rho)
    theta = np.where(unstable, 0.0, u * c / s)
    with np.errstate(invalid="ignore"):
        a = np.minimum(1.0, theta * wq)
    a = np.where(idle, 0.0, np.where(unstable, 1.0, a))
    pw = np.where(idle, 0.0, pw)
    return MDCParams(wq, a, theta, pw, rho)


def _params(lam: ArrayLike | None, service_s: ArrayLike | None, c: ArrayLike, params: MDCParams | None) -> MDCParams:
    # callers give either ``params`` or the queue (``lam`` and ``service_s``)
    return params if params is not None else mdc_params(cast(ArrayLike, lam), cast(ArrayLike, service_s), c)


def _out(x: ArrayLike) -> float | np.ndarray:
    x = np.asarray(x)
    return x if x.ndim else float(x)


def mdc_wait_mean_s(lam: ArrayLike, service_s: ArrayLike, c: ArrayLike = 1) -> float | np.ndarray:
    """Mean wait in queue (s) of an M/D/c queue (Allen-Cunneen; exact Pollaczek-Khinchine for c = 1).

    inf if rho >= 1.
    """
    return _out(mdc_params(lam, service_s, c).wait_mean_s)


def mdc_tail(
    lam: ArrayLike, service_s: ArrayLike, c: ArrayLike = 1
) -> tuple[float | np.ndarray, float | np.ndarray, float | np.ndarray]:
    """(A, theta, p_wait): ``P(W > t) ~= min(p_wait, A exp(-theta t))`` for the wait of an M/D/c queue
    (theta in 1/s)."""
    p = mdc_params(lam, service_s, c)
    return _out(p.a), _out(p.theta), _out(p.p_wait)


def mdc_wait_quantile_s(
    q: float,
    lam: ArrayLike | None = None,
    service_s: ArrayLike | None = None,
    c: ArrayLike = 1,
    *,
    params: MDCParams | None = None,
) -> float | np.ndarray:
    """The q-quantile (0 < q < 1) of the wait in queue (s) of an M/D/c queue; inf if rho >= 1."""
    p = _params(lam, service_s, c, params)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.log(p.a / (1.0 - q)) / p.theta
    out = np.where(p.theta <= 0, np.where(p.a > 0, np.inf, 0.0), np.where(np.minimum(p.a, p.p_wait) > 1.0 - q, t, 0.0))
    return _out(out)


def mdc_wait_cdf(
    t_s: ArrayLike,
    lam: ArrayLike | None = None,
    service_s: ArrayLike | None = None,
    c: ArrayLike = 1,
    *,
    params: MDCParams | None = None,
) -> float | np.ndarray:
    """P(W <= t) for the wait of an M/D/c queue (0 for t < 0)."""
    p = _params(lam, service_s, c, params)
    t = np.asarray(t_s, dtype=float)
    with np.errstate(invalid="ignore", over="ignore"):
        tail = np.minimum(p.p_wait, p.a * np.exp(-p.theta * np.maximum(t, 0.0)))
    out = np.where(t < 0, 0.0, 1.0 - np.where(np.isnan(tail), 1.0, tail))
    return _out(out)


def ttft_quantile_ms(
    q: float | None,
    ttft_ms_mean: ArrayLike,
    lam: ArrayLike | None = None,
    service_s: ArrayLike | None = None,
    c: ArrayLike = 1,
    *,
    params: MDCParams | None = None,
) -> np.ndarray:
    """TTFT at percentile q: the mean TTFT with its mean queueing wait replaced by the wait's q-quantile.
    ``q=None`` returns the mean."""
    mean = np.asarray(ttft_ms_mean, dtype=float)
    if q is None:
        return mean
    p = _params(lam, service_s, c, params)
    wq_q = mdc_wait_quantile_s(q, params=p)
    with np.errstate(invalid="ignore"):
        out = mean + (wq_q - p.wait_mean_s) * 1e3
    return np.where(np.isfinite(mean) & np.isfinite(p.wait_mean_s), out, np.inf)


def slo_attainment(
    ttft_ms_mean: ArrayLike,
    tpot_ms: ArrayLike,
    osl: float,
    lam: ArrayLike | None = None,
    service_s: ArrayLike | None = None,
    c: ArrayLike = 1,
    *,
    ttft_max_ms: float | None = None,
    tpot_max_ms: float | None = None,
    e2el_max_ms: float | None = None,
    params: MDCParams | None = None,
) -> float | np.ndarray:
    """Fraction of requests meeting every SLO (TTFT, TPOT, E2EL limits in ms; None = no limit).

    TPOT is taken as deterministic (its mean); the randomness is the prefill wait, so a request meets TTFT and E2EL
    when its wait is below ``min(ttft_max - fixed, e2el_max - (OSL - 1) TPOT - fixed)`` with ``fixed`` the TTFT
    without the mean wait."""
    p = _params(lam, service_s, c, params)
    mean = np.asarray(ttft_ms_mean, dtype=float)
    tpot = np.asarray(tpot_ms, dtype=float)
    with np.errstate(invalid="ignore"):
        fixed_ms = mean - p.wait_mean_s * 1e3
    budget = np.full(np.broadcast(mean, tpot).shape, np.inf)
    if ttft_max_ms is not None:
        budget = np.minimum(budget, ttft_max_ms - fixed_ms)
    if e2el_max_ms is not None:
        budget = np.minimum(budget, e2el_max_ms - (float(osl) - 1.0) * tpot - fixed_ms)
    att = np.where(np.isinf(budget) & (budget > 0), 1.0, mdc_wait_cdf(budget / 1e3, params=p))
    if tpot_max_ms is not None:
        att = np.where(tpot <= tpot_max_ms, att, 0.0)
    ok = np.isfinite(mean) & np.isfinite(tpot) & np.isfinite(p.wait_mean_s)
    return _out(np.where(ok, att, 0.0))


def goodput_rps(requests_per_s: ArrayLike, attainment: ArrayLike) -> float | np.ndarray:
    """Goodput: requests/s that meet every SLO (metrics.md): throughput x SLO attainment."""
    return _out(np.asarray(requests_per_s, dtype=float) * np.asarray(attainment, dtype=float))


# ----------------------------------------------------------------------------------------------- simulation
def simulate_mdc(
    lam: float,
    service_s: float,
    c: int = 1,
    *,
    n_requests: int = 100_000,
    seed: int = 0,
    warmup_fraction: float = 0.1,
    service_scv: float = 0.0,
) -> np.ndarray:
    """Discrete-event simulation of a FCFS queue with ``c`` servers, Poisson arrivals at ``lam``/s and service
    times of mean ``service_s`` (deterministic, or gamma with squared coefficient of variation ``service_scv``).
    Returns the waits in queue (s) of the requests after the warm-up. Seeded and bounded."""
    if not (lam > 0 and service_s > 0):
        raise TokenfabError("rate and service time must be positive", field="simulate_mdc", got=(lam, service_s))
    c = int(c)
    if c < 1:
        raise TokenfabError("needs at least one server", field="c", got=c)
    if lam * service_s / c >= 1.0:
        raise TokenfabError("unstable queue: utilization >= 1", field="rho", expected="< 1", got=lam * service_s / c)
    n = int(n_requests)
    if not (1 <= n <= MAX_SIMULATED_REQUESTS):
        raise TokenfabError(
            "too many requests to simulate", field="n_requests", expected=f"1..{MAX_SIMULATED_REQUESTS}", got=n_requests
        )
    rng = np.random.default_rng(seed)
    arrivals = np.cumsum(rng.exponential(1.0 / lam, size=n))
    if service_scv > 0:
        k = 1.0 / service_scv
        services = rng.gamma(k, service_s / k, size=n)
    else:
        services = np.full(n, float(service_s))
    free = [0.0] * c  # min-heap of the times each server becomes free
    waits = np.empty(n)
    arr = arrivals.tolist()
    svc = services.tolist()
    for i in range(n):
        t = arr[i]
        f = free[0]
        start = f if f > t else t
        waits[i] = start - t
        heapq.heapreplace(free, start + svc[i])
    return waits[int(n * warmup_fraction) :]


def empirical_quantile(samples: np.ndarray, q: float) -> float:
    return float(np.quantile(np.asarray(samples, dtype=float), q))


def utilization(lam: ArrayLike, service_s: ArrayLike, c: ArrayLike = 1) -> float | np.ndarray:
    out = np.asarray(lam, dtype=float) * np.asarray(service_s, dtype=float) / np.asarray(c, dtype=float)
    return out if out.ndim else float(out)


__all__ = [
    "DEFAULT_PERCENTILE",
    "parse_percentile",
    "percentile_label",
    "erlang_c",
    "decay_rate_u",
    "MDCParams",
    "mdc_params",
    "mdc_wait_mean_s",
    "mdc_tail",
    "mdc_wait_quantile_s",
    "mdc_wait_cdf",
    "ttft_quantile_ms",
    "slo_attainment",
    "goodput_rps",
    "simulate_mdc",
    "empirical_quantile",
    "utilization",
]
