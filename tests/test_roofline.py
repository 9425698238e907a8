"""Per-operator roofline building blocks (tokenfab.perf.roofline): each formula checked by hand and by its laws."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
    assert R.expected_experts_touched(256, 8, 1) == pytest.approx(8.0)
    # two tokens: 256 x (1 - (1 - 8/256)^2) = 15.75
    assert R.expected_experts_touched(256, 8, 2) == pytest.approx(15.75)
    # many tokens touch (almost) all experts
    assert R.expected_experts_touched(256, 8, 10_000) == pytest.approx(256.0)


@settings(max_examples=50)
@given(e=st.integers(2, 512), k=st.integers(1, 16), t=st.integers(1, 4096))
def test_experts_touched_is_monotone_in_tokens_and_bounded(e, k, t):
    k = min(k, e)
    a = R.expected_experts_touched(e, k, t)
    b = R.expected_experts_touched(e, k, t + 1)
    assert k - 1e-9 <= a <= b + 1e-9 <= e + 1e-6


def test_ring_allreduce_by_hand_and_free_for_one_gpu():
    # 8 GPUs, 16 MB message, 400 GB/s per direction, efficiency 1, 10 us latency: 2 x 7/8 x 16e6 / 4e11 + 1e-5
    t = R.allreduce_time_s(16e6, 8, 4e11, 1.0, 1e-5)
    assert t == pytest.approx(2 * 7 / 8 * 16e6 / 4e11 + 1e-5)
    assert R.allreduce_time_s(16e6, 1, 4e11, 1.0, 1e-5) == 0.0
    assert R.alltoall_time_s(16e6, 4, 4e11, 1.0, 0.0) == pytest.approx(3 / 4 * 16e6 / 4e11)


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
