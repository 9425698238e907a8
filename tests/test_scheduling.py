"""Scheduler arithmetic (tokenfab.perf.scheduling) and the benchmark's first burst wave (perf/fitting.first_wave_ttft),
checked by hand against the forms their docstrings cite."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokenfab.perf import scheduling as sch
from tokenfab.perf.fitting import first_wave_ttft


# ----------------------------------------------------------------------------------------------- closed loop (MVA)
def test_closed_loop_response_at_one_request_is_the_service_time():
    """Schweitzer's MVA for one queue + a delay station (Lazowska et al. 1984, ch. 6): with C = 1 nobody queues ahead,
    R = s: the quadratic R^2 + (Z - s) R - s Z = 0 has the root s."""
    assert sch.closed_loop_response_s(0.02, 1.0, 1) == pytest.approx(0.02, rel=1e-12)
    assert sch.closed_loop_response_s(0.5, 0.0, 1) == pytest.approx(0.5, rel=1e-12)


def test_closed_loop_response_at_saturation_is_c_s_minus_z():
    """Saturated prefill server (C s >> Z): X -> 1 / s, so R = C / X - Z -> C s - Z. C = 1000, s = 10 ms, Z = 1 s:
    R = (9 + sqrt(81 + 0.04)) / 2 = 9.00111 s, against C s - Z = 9 s; without think time R = C s exactly."""
    assert sch.closed_loop_response_s(0.01, 1.0, 1000) == pytest.approx((9 + math.sqrt(81.04)) / 2, rel=1e-12)
    assert sch.closed_loop_response_s(0.01, 1.0, 1000) == pytest.approx(9.0, rel=2e-4)
    assert sch.closed_loop_response_s(0.01, 0.0, 50) == pytest.approx(0.5, rel=1e-12)


@settings(max_examples=100, deadline=None)
@given(s=st.floats(1e-4, 1.0), z=st.floats(0.0, 100.0), c=st.integers(1, 5000))
def test_closed_loop_response_is_schweitzers_fixed_point(s, z, c):
    """The closed form solves R = s (1 + (C - 1)/C Q), Q = C R / (R + Z) (the arrival sees the queue without
    itself), and lies between s and C s (bounds of a single FCFS server with C customers)."""
    r = float(sch.closed_loop_response_s(s, z, c))
    q = c * r / (r + z) if r + z > 0 else 0.0
    assert r == pytest.approx(s * (1 + (c - 1) / c * q), rel=1e-9)
    assert s * (1 - 1e-9) <= r <= c * s * (1 + 1e-9)  # the closed form cancels to ~1e-12 when Z >> s


def test_burst_response_is_the_mean_of_c_fcfs_services():
    """C requests arriving at once, served one after another: the j-th waits j services, mean (C + 1) / 2 s."""
    assert sch.burst_response_s(0.1, 8) == pytest.approx(0.45)
    assert sch.burst_response_s(0.1, 1) == pytest.approx(0.1)


# ----------------------------------------------------------------------------------------------- chunked prefill
def test_prefill_tokens_per_round_by_engine_policy():
    """A mixing engine gives prefill what the decode rows leave of the budget (at least a 16-token block); without
    chunked prefill whole prompts only (at least one, however long); a prefill-only round has the whole budget."""
    assert sch.prefill_tokens_per_round(8192, 192, 1000, True, True) == 8000
    assert sch.prefill_tokens_per_round(8192, 8190, 1000, True, True) == 16  # a full batch still progresses
    assert sch.prefill_tokens_per_round(8192, 192, 1000, False, True) == 8000  # 8 whole 1000-token prompts
    assert sch.prefill_tokens_per_round(8192, 193, 1000, False, True) == 7000
    assert sch.prefill_tokens_per_round(8192, 0, 20000, False, True) == 20000  # one prompt beyond the budget
    assert sch.prefill_tokens_per_round(8192, 500, 1000, True, False) == 8192  # not mixing: decode rows wait
    # a spread of 200 decode rows around 192: the round takes 8 prompts while the rows stay <= 192 and 7 beyond, on
    # average 7.5 at 192 (the ramp of smooth_floor), and exactly 8 or 7 well away from the step
    assert sch.prefill_tokens_per_round(8192, 192, 1000, False, True, spread_tokens=200) == pytest.approx(7500)
    assert sch.prefill_tokens_per_round(8192, 0, 1000, False, True, spread_tokens=200) == pytest.approx(8000)
    assert sch.prefill_tokens_per_round(8192, 400, 1000, False, True, spread_tokens=200) == pytest.approx(7000)


def test_rounds_and_mixed_share_by_hand():
    """U = 0.25 of the time prefilling, t_d = 10 ms, t_m = 40 ms. Mixing: N = U / t_m + (1 - U) / t_d = 81.25 rounds/s,
    of which U / t_m / N = 6.25 / 81.25 carry a prefill; not mixing: N = (1 - U) / t_d = 75, and a gap holds a stall
    with share t_d U / ((1 - U) t_p) = 1/12 (so that the mean gap is t_d / (1 - U))."""
    assert sch.rounds_per_s(0.25, 0.01, 0.04, True) == pytest.approx(81.25)
    assert sch.rounds_per_s(0.25, 0.01, 0.04, False) == pytest.approx(75.0)
    assert sch.mixed_round_share(0.25, 0.01, 0.04, True) == pytest.approx(6.25 / 81.25)
    phi = float(sch.mixed_round_share(0.25, 0.01, 0.04, False))
    assert phi == pytest.approx(1 / 12)
    assert 0.01 + 0.04 * phi == pytest.approx(0.01 / 0.75)  # the mean gap
    assert sch.rounds_per_s(0.0, 0.01, 0.04, True) == pytest.approx(100.0)


def test_a_non_mixing_gap_holds_several_prefill_rounds_near_saturation():
    """U = 0.9, t_d = 10 ms, t_p = 30 ms (not mixing): a gap holds t_d U / ((1 - U) t_p) = 3 prefill rounds on
    average, so the mean gap is t_d / (1 - U) = 100 ms; the count has the least spread with that mean (exactly 3 per
    gap: every percentile equals the mean), and at 2.5 stalls the p99 lies above the mean and the median ITL holds
    3 stalls (floor(2.5) + 1)."""
    phi = float(sch.mixed_round_share(0.9, 0.01, 0.03, False))
    assert phi == pytest.approx(3.0)
    mean = float(sch.tpot_quantile_s(None, 0.01, 0.03, phi, 1.0, 0.0, 101, False))
    assert mean == pytest.approx(0.1)
    for q in (0.5, 0.9, 0.99):
        assert float(sch.tpot_quantile_s(q, 0.01, 0.03, phi, 1.0, 0.0, 101, False)) == pytest.approx(0.1)
    mean = float(sch.tpot_quantile_s(None, 0.01, 0.03, 2.5, 1.0, 0.0, 101, False))
    p99 = float(sch.tpot_quantile_s(0.99, 0.01, 0.03, 2.5, 1.0, 0.0, 101, False))
    assert mean == pytest.approx(0.085)
    assert p99 == pytest.approx(0.01 + 0.03 * (2.5 + sch.z_score(0.99) * 0.5 / 10.0))
    _, median = sch.itl_stats_s(0.01, 0.03, 2.5, 0.9, False)
    assert float(median) == pytest.approx(0.01 + 3 * 0.03)


# ----------------------------------------------------------------------------------------------- latency distributions
def test_tpot_quantile_by_hand():
    """t_d = 10 ms, t_m = 30 ms, a share phi = 0.1 of mixed rounds over OSL - 1 = 100 gaps: the mean is
    10 + 20 x 0.1 = 12 ms; the p90 share is phi + z_0.9 sqrt(phi (1 - phi) / 100) = 0.1 + 1.28155 x 0.03."""
    args = (0.010, 0.030, 0.1, 1.0, 0.0, 101, True)
    assert sch.tpot_quantile_s(None, *args) == pytest.approx(0.012)
    assert sch.tpot_quantile_s(0.5, *args) == pytest.approx(0.012)
    assert sch.tpot_quantile_s(0.9, *args) == pytest.approx(0.010 + 0.020 * (0.1 + 1.2815515655 * 0.03))
    assert sch.z_score(0.9) == pytest.approx(1.2815515655)
    # speculation divides the gap by the accepted tokens per round; no mixed rounds: every percentile is t_d
    assert sch.tpot_quantile_s(None, 0.010, 0.030, 0.1, 2.0, 0.0, 101, True) == pytest.approx(0.006)
    assert sch.tpot_quantile_s(0.99, 0.010, 0.030, 0.0, 1.0, 0.0, 101, True) == pytest.approx(0.010)


@settings(max_examples=100, deadline=None)
@given(
    td=st.floats(1e-3, 0.1),
    extra=st.floats(0.0, 0.5),
    phi=st.floats(0.0, 1.0),
    acc=st.floats(1.0, 4.0),
    osl=st.integers(2, 8000),
    mixed=st.booleans(),
)
def test_tpot_quantiles_are_ordered(td, extra, phi, acc, osl, mixed):
    """p99 >= p90 >= p50 = the mean without acceptance spread; the acceptance spread only widens the upper tail."""
    k = 3
    var = float(sch.acceptance_variance(min(acc, 1.0 + k), k))
    tm = td + extra
    q = {p: float(sch.tpot_quantile_s(p, td, tm, phi, acc, var, osl, mixed)) for p in (0.5, 0.9, 0.99)}
    mean = float(sch.tpot_quantile_s(None, td, tm, phi, acc, var, osl, mixed))
    assert q[0.5] <= q[0.9] * (1 + 1e-12) <= q[0.99] * (1 + 1e-12)
    assert q[0.5] == pytest.approx(mean, rel=1e-12) and q[0.99] >= mean * (1 - 1e-12)


def test_acceptance_variance_by_hand():
    """One draft token accepted with probability p: 1 or 2 tokens per round, variance p (1 - p); at the ceiling
    (every draft accepted) and without a draft there is no spread."""
    assert sch.acceptance_variance(1.85, 1) == pytest.approx(0.85 * 0.15, rel=1e-6)
    assert sch.acceptance_variance(3.0, 2) == pytest.approx(0.0, abs=1e-6)
    assert sch.acceptance_variance(1.5, 0) == 0.0


def test_itl_stats_by_hand():
    mean, median = sch.itl_stats_s(0.010, 0.030, 0.1, 0.2, True)
    assert mean == pytest.approx(0.012) and median == pytest.approx(0.010)
    mean, median = sch.itl_stats_s(0.010, 0.030, 0.6, 0.2, True)
    assert median == pytest.approx(0.030)  # most gaps are mixed rounds
    mean, _ = sch.itl_stats_s(0.010, 0.030, 0.1, 0.2, False)
    assert mean == pytest.approx(0.010 / 0.8)


# ----------------------------------------------------------------------------------------------- solve_monotone
def test_solve_monotone_finds_roots_and_stays_in_its_bracket():
    """Illinois regula falsi on increasing h(B) = B^2 - a over [0, 4]: sqrt(2) and sqrt(3); where h has no sign
    change it ends at the better end of the bracket; every evaluation stays inside [lo, hi]; the extras returned
    are those of the root's evaluation."""
    seen = []
    targets = np.array([2.0, 3.0, -1.0, 100.0])

    def h(b):
        seen.append(np.array(b, dtype=float).copy())
        return b * b - targets, 10.0 * b

    x, extra = sch.solve_monotone(h, np.zeros(4), np.full(4, 4.0), iterations=12)
    assert x[:2] == pytest.approx([math.sqrt(2), math.sqrt(3)], rel=1e-9)
    assert x[2] == 0.0 and x[3] == 4.0  # h > 0 everywhere: lo; h < 0 everywhere: hi
    assert extra == pytest.approx(10.0 * x)
    stacked = np.stack(seen)
    assert stacked.min() >= 0.0 and stacked.max() <= 4.0


@settings(max_examples=60, deadline=None)
@given(root=st.floats(0.01, 0.99), power=st.sampled_from([1.0, 3.0, 0.3]))
def test_solve_monotone_converges_on_monotone_functions(root, power):
    """Linear, flat-at-the-root (cubic) and steep-at-the-root (power 0.3) increasing functions on [0, 1]."""
    lo, hi = 0.0, 1.0
    calls = []

    def h(b):
        calls.append(np.asarray(b).copy())
        return (np.sign(b - root) * np.abs(b - root) ** power,)

    (x,) = sch.solve_monotone(h, np.array([lo]), np.array([hi]), iterations=40)
    assert abs(float(x[0]) - root) < 1e-4
    assert all(lo <= float(c[0]) <= hi for c in calls)


# ----------------------------------------------------------------------------------------------- first burst wave
def test_first_wave_ttft_by_hand():
    """A closed-loop benchmark that sends m x C requests with the first C at once (perf/fitting.py): C = 8,
    s = 50 ms, half a round 10 ms, steady-state TTFT 100 ms, m = 10:
    mean = 0.9 x 100 + (10 + 4.5 x 50) / 10 = 113.5 ms; p99 falls in the wave (1/m = 10% >= 1%), at its
    1 - m/100 = 90% point: 10 + 0.9 x 8 x 50 = 370 ms; the median stays steady."""
    args = (0.100, 0.020, 0.050, 8.0)
    assert first_wave_ttft(*args, 10.0) == pytest.approx(0.1135)
    assert first_wave_ttft(*args, 10.0, q=0.99) == pytest.approx(0.370)
    assert first_wave_ttft(*args, 10.0, q=0.5) == pytest.approx(0.100)
    # more than 100 prompts per slot: the wave is under 1% of the requests and the p99 stays steady
    assert first_wave_ttft(*args, 200.0, q=0.99) == pytest.approx(0.100)
    # no protocol stated (NaN) or not a burst: the steady state
    for m in (np.nan, 0.5):
        assert first_wave_ttft(*args, m) == pytest.approx(0.100)
        assert first_wave_ttft(*args, m, q=0.99) == pytest.approx(0.100)
    # an unbounded steady TTFT stays unbounded without warnings
    with np.errstate(all="raise"):
        assert np.isinf(first_wave_ttft(np.inf, 0.02, 0.05, 8.0, np.nan))


def test_synchronized_waves_by_hand():
    """C = 4 prompts of s = 0.1 s sent at once to an engine that pauses decode while it prefills, OSL 11 (10 gaps),
    decode-only TPOT 20 ms, no front-end latency and a zero round: the j-th first token after j x 0.1 s (mean 0.25 s,
    median 0.2 s, p99 0.396 s), then a wait of (4 - j) x 0.1 s before all four decode together: TPOT 20 ms + 0.15 s
    / 10 on average; end to end 0.25 + 10 x 0.035 = 0.6 s, the wave's cycle (Little: 4 requests per 0.6 s)."""
    w = sch.synchronized_waves(0.1, 0.0, 0.0, 4, 11, 0.02, 0.02)
    assert float(w["ttft_mean"]) == pytest.approx(0.25)
    assert float(w["ttft_p50"]) == pytest.approx(0.2)
    assert float(w["ttft_p99"]) == pytest.approx(0.396)
    assert float(w["tpot_mean"]) == pytest.approx(0.035)
    assert float(w["tpot_p99"]) == pytest.approx(0.02 + 0.99 * 0.3 / 10)
    assert float(w["e2e_mean"]) == pytest.approx(0.6)
    # one request: no burst, its own prefill and the decode TPOT
    one = sch.synchronized_waves(0.1, 0.0, 0.0, 1, 11, 0.02, 0.02)
    assert float(one["ttft_mean"]) == pytest.approx(0.1)
    assert float(one["tpot_mean"]) == pytest.approx(0.02)
