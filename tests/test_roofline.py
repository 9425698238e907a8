"""Per-operator roofline building blocks (tokenfab.perf.roofline): each formula checked by hand and by its laws."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokenfab.perf import comm as C
from tokenfab.perf import moe as M
from tokenfab.perf import roofline as R


def test_op_time_is_the_slower_of_compute_and_memory():
    # 1 TFLOP at 1 PFLOP/s x 0.5 = 2 ms; 1 GB at 2 TB/s x 0.5 = 1 ms -> compute-bound, 2 ms
    t, t_c, t_m = R.op_time_s(1e12, 1e9, 1e15, 2e12, 0.5, 0.5)
    assert t_c == pytest.approx(2e-3) and t_m == pytest.approx(1e-3) and t == pytest.approx(2e-3)


@given(m=st.floats(1, 1e6), half=st.floats(1, 1e4), eff=st.floats(0.05, 1.0))
def test_gemm_efficiency_rises_with_rows_and_never_exceeds_its_ceiling(m, half, eff):
    e1 = R.gemm_compute_efficiency(m, eff, half)
    e2 = R.gemm_compute_efficiency(2 * m, eff, half)
    assert 0 < e1 <= e2 <= eff
    assert R.gemm_compute_efficiency(half, eff, half) == pytest.approx(eff / 2)  # half-saturation point


def test_expected_experts_touched_by_hand():
    # one token touches exactly k experts; DeepSeek-V3: 8 of 256
    assert M.expected_experts_touched(256, 8, 1) == pytest.approx(8.0)
    # two tokens: 256 x (1 - (1 - 8/256)^2) = 15.75
    assert M.expected_experts_touched(256, 8, 2) == pytest.approx(15.75)
    # many tokens touch (almost) all experts
    assert M.expected_experts_touched(256, 8, 10_000) == pytest.approx(256.0)


@settings(max_examples=50)
@given(e=st.integers(2, 512), k=st.integers(1, 16), t=st.integers(1, 4096))
def test_experts_touched_is_monotone_in_tokens_and_bounded(e, k, t):
    k = min(k, e)
    a = M.expected_experts_touched(e, k, t)
    b = M.expected_experts_touched(e, k, t + 1)
    assert k - 1e-9 <= a <= b + 1e-9 <= e + 1e-6


def test_allreduce_algorithms_by_hand_and_free_for_one_gpu():
    """alpha-beta costs (Thakur, Rabenseifner & Gropp 2005): 8 GPUs, 16 MB, 400 GB/s per direction, 10 us."""
    m, n, b, a = 16e6, 8, 4e11, 1e-5
    ring, two, one, nvls = C.allreduce_algorithm_times(m, n, b, a)
    assert ring == pytest.approx(2 * 7 * a * C.RING_HOP_LATENCY_FRACTION + 2 * 7 / 8 * m / b)
    assert two == pytest.approx(2 * a + 2 * 7 / 8 * m / b)
    assert one == pytest.approx(a + 7 * m / b)
    assert nvls == pytest.approx(a + m / b)
    # the engine runs the cheapest algorithm it and the fabric allow: NVLS on an NVSwitch, two-shot elsewhere
    assert C.allreduce_time_s(m, n, b, a, ("ring", "two_shot", "one_shot", "nvls")) == pytest.approx(nvls)
    assert C.allreduce_time_s(m, n, b, a, ("ring", "two_shot", "one_shot")) == pytest.approx(two)
    # a small decode message: one-shot's single latency wins
    assert C.allreduce_time_s(64e3, n, b, a, ("ring", "two_shot", "one_shot")) == pytest.approx(a + 7 * 64e3 / b)
    assert C.allreduce_time_s(m, 1, b, a, ("ring",)) == 0.0
    assert C.alltoall_time_s(16e6, 4, 4e11, 0.0) == pytest.approx(3 / 4 * 16e6 / 4e11)


def test_a_mesh_group_uses_only_the_links_to_its_peers():
    """AMD xGMI: 8 GPUs fully connected (7 links each); TP4 reaches its 3 peers only: 3/7 of the bandwidth."""
    assert C.group_bandwidth(4, 700e9, 8, True) == pytest.approx(300e9)
    assert C.group_bandwidth(8, 700e9, 8, True) == pytest.approx(700e9)
    assert C.group_bandwidth(4, 700e9, 8, False) == pytest.approx(700e9)  # a switch gives every group all of it


@settings(max_examples=60)
@given(m=st.floats(1e3, 1e9), n=st.integers(2, 72), b=st.floats(1e9, 2e12), a=st.floats(1e-7, 1e-4))
def test_more_link_bandwidth_never_slows_a_collective(m, n, b, a):
    for allowed in (("ring",), ("ring", "two_shot", "one_shot"), ("ring", "two_shot", "one_shot", "nvls")):
        assert C.allreduce_time_s(m, n, 2 * b, a, allowed) <= C.allreduce_time_s(m, n, b, a, allowed) * (1 + 1e-12)


def test_moe_imbalance_by_hand_and_its_laws():
    """Balls into bins (Raab & Steger 1998): 256 tokens x 8 experts over EP 8 -> m = 256 per rank,
    max / mean = 1 + sqrt(2 ln 8 / 256); routing skew multiplies it; one rank has no imbalance."""
    stat = 1 + np.sqrt(2 * np.log(8) / 256)
    assert M.load_imbalance(256, 8, 8, 0.0) == pytest.approx(stat)
    assert M.load_imbalance(256, 8, 8, 0.2) == pytest.approx(1.2 * stat)
    assert M.load_imbalance(256, 8, 1, 0.5) == 1.0
    assert M.load_imbalance(1, 1, 64, 0.0) <= 64.0  # capped: every assignment on one rank


@settings(max_examples=60)
@given(t=st.integers(1, 8192), k=st.integers(1, 16), ep=st.integers(1, 256), skew=st.floats(0, 1))
def test_expert_imbalance_is_at_least_one_and_falls_as_tokens_grow(t, k, ep, skew):
    a = M.load_imbalance(t, k, ep, skew)
    b = M.load_imbalance(2 * t, k, ep, skew)
    assert a >= 1.0 - 1e-12 and b <= a + 1e-12


def test_redundant_expert_slots():
    """EP 72 over 256 experts: ceil(256 / 72) = 4 slots per rank; EP dividing E: E / EP."""
    assert M.expert_slots(256, 72) == 4 and M.expert_slots(256, 64) == 4 and M.expert_slots(256, 1) == 256
    # the busiest rank never touches more experts than it hosts
    assert M.busiest_rank_experts_touched(256, 8, 10_000, 72) <= 4 + 1e-9


def test_groups_beyond_the_scaleup_domain_use_the_scaleout_link():
    bw = R.link_bandwidth(np.array([8, 16]), 8, 450e9, 50e9)
    assert list(bw) == [450e9, 50e9]


def test_bound_label_names_the_largest_term():
    labels = R.bound_label(
        {
            "compute": np.array([3.0, 1.0]),
            "memory": np.array([1.0, 2.0]),
            "communication": np.array([0.0, 0.5]),
            "overhead": np.array([0.1, 0.1]),
        }
    )
    assert list(labels) == ["compute", "memory"]
