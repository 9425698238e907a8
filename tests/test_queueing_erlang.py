"""Erlang-C in bounded work (issue 14): the exact recursion up to ERLANG_EXACT_MAX_SERVERS servers, a closed form
(Stirling's series for the Poisson pmf, Temme's uniform asymptotic expansion of the incomplete gamma function for
its CDF, DLMF 8.12) above, so that a fleet for any request rate is sized in milliseconds.

The reference is the textbook recursion B(k) = a B(k-1) / (k + a B(k-1)) run to each element's own c (what
queueing.erlang_c computed for every c before): identical below the threshold, within 1e-9 above it. Values for
c up to 1e12 are checked against mpmath at 40 digits by benchmarks/erlang_c_accuracy.py (relative error below
1e-10; mpmath is not a test dependency).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokenfab.perf import queueing as Q


def erlang_c_reference(c, a):
    """The exact recursion for each element (O(c) work: the test keeps c moderate)."""
    c = np.atleast_1d(np.asarray(c, dtype=float))
    a = np.atleast_1d(np.asarray(a, dtype=float))
    out = np.empty(c.size)
    for i, (ci, ai) in enumerate(zip(c, a, strict=False)):
        if ai >= ci:
            out[i] = 1.0
            continue
        b = ai / (1.0 + ai)
        for k in range(2, int(ci) + 1):
            b = ai * b / (k + ai * b)
        out[i] = min(max(b / (1.0 - ai / ci * (1.0 - b)), 0.0), 1.0)
    return out


def test_below_the_threshold_the_result_is_the_recursion_exactly():
    rng = np.random.default_rng(1)
    c = rng.integers(1, Q.ERLANG_EXACT_MAX_SERVERS + 1, 300).astype(float)
    a = c * rng.uniform(0.0, 1.1, 300)
    assert np.array_equal(Q.erlang_c(c, a), erlang_c_reference(c, a))


@pytest.mark.parametrize("c", [1025, 1500, 4096, 12000])
def test_above_the_threshold_the_closed_form_is_within_1e_9(c):
    rho = np.concatenate([np.linspace(0.5, 0.999, 40), 1.0 - np.logspace(-12, -3, 20), [0.9999999999]])
    got = Q.erlang_c(np.full(rho.size, float(c)), c * rho)
    ref = erlang_c_reference(np.full(rho.size, float(c)), c * rho)
    assert np.all(np.abs(got - ref) <= 1e-9 * np.maximum(ref, 1e-300) + 1e-300)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.integers(1025, 6000), st.floats(0.0, 1.0, exclude_max=True))
def test_closed_form_matches_the_recursion_anywhere(c, rho):
    got = Q.erlang_c(float(c), c * rho)
    ref = float(erlang_c_reference(c, c * rho)[0])
    assert got == pytest.approx(ref, rel=1e-9, abs=1e-300)


def test_huge_server_counts_are_bounded_work_and_valid_probabilities():
    """A fleet for 1e7 requests/s has millions of servers: the answer is immediate and a probability; the
    probability of waiting falls as servers are added at the same utilization (economies of scale)."""
    c = np.array([1e4, 1e6, 1e9, 1e12])
    p = Q.erlang_c(c, c * 0.999)
    assert np.all((p >= 0) & (p <= 1)) and np.all(np.diff(p) < 0)
    assert Q.erlang_c(1e12, 1e12 * 2) == 1.0  # unstable: everyone waits
    # the M/D/c parameters stay finite at the largest fleets
    m = Q.mdc_params(1e7, 0.5, 6e6)
    assert np.isfinite(m.wait_mean_s) and 0 <= m.p_wait <= 1


def test_every_branch_is_continuous_at_the_threshold():
    c0 = Q.ERLANG_EXACT_MAX_SERVERS
    for rho in (0.9, 0.99, 0.999):
        below = Q.erlang_c(float(c0), c0 * rho)
        above = Q.erlang_c(float(c0 + 1), (c0 + 1) * rho)
        ref = float(erlang_c_reference(c0 + 1, (c0 + 1) * rho)[0])
        assert above == pytest.approx(ref, rel=1e-9) and abs(above - below) < 0.01
