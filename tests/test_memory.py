"""Memory fit and sizing."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokenfab.catalog.hardware import HardwareSpec
from tokenfab.core.errors import TokenfabError
from tokenfab.perf.memory import fit

# A GH200-class chip of 144 GiB and a hypothetical 0.25 GiB SRAM-only chip, 128 per rack: the seed example of
# the Tensordyne/Recogni tokenomics note.
GH = HardwareSpec(
    key="gh144",
    name="GH200-class",
    vendor="x",
    memory_capacity_gib=144,
    memory_bandwidth_tb_per_s=4.9,
    peak_tflops={"bf16": 989},
    chips_per_node=1,
    chips_per_rack=32,
)
SRAM = HardwareSpec(
    key="sram",
    name="SRAM chip",
    vendor="x",
    kind="sram",
    memory_capacity_gib=0,
    sram_capacity_mib=256,
    memory_bandwidth_tb_per_s=80,
    peak_tflops={"fp16": 188},
    chips_per_node=8,
    chips_per_rack=128,
)


def test_seed_arithmetic_hbm():
    """70e9 params x 2 B = 130 GiB; KV 2x8x80x128x2x10000x16 = 52.4e9 B = 48.8 GiB; 179 GiB = 1.24 chips of 144 GiB."""
    r = fit(
        "llama-3.1-70b", GH, params=70e9, weights="fp16", kv="fp16", users=16, context=10000, include_overheads=False
    )
    assert r.weights_gib == pytest.approx(130.4, abs=0.05)
    assert r.kv_cache_gib == pytest.approx(48.83, abs=0.01)
    assert r.total_gib == pytest.approx(179.2, abs=0.1)
    assert r.chips_needed_exact == pytest.approx(1.24, abs=0.005)
    assert r.chips_needed == 2


def test_seed_arithmetic_sram():
    """716 SRAM chips of 0.25 GiB -> 5.6 racks of 128 (the note truncates 716.9 chips)."""
    r = fit(
        "llama-3.1-70b",
        SRAM,
        params=70e9,
        weights="fp16",
        kv="fp16",
        users=16,
        context=10000,
        include_overheads=False,
        chip_memory_gib=0.25,
    )
    assert r.chips_needed_exact == pytest.approx(716.85, abs=0.01)
    assert r.chips_needed == 717
    assert r.racks_needed_exact == pytest.approx(5.6, abs=0.01)
    assert r.racks_needed == 6
    assert r.memory_kind == "SRAM"


def test_real_llama_70b_config_gives_real_answer():
    # the real config has 70.55e9 parameters (embeddings + lm_head untied): 141.1e9 B = 131.4 GiB at FP16
    r = fit("llama-3.1-70b", GH, weights="fp16", kv="fp16", users=16, context=10000, include_overheads=False)
    assert r.weights_gib == pytest.approx(70.554e9 * 2 / 2**30, rel=1e-3)
    assert r.kv_cache_gib == pytest.approx(48.83, abs=0.01)


def test_done_when_example_h200():
    r = fit("llama-3.1-70b", "h200-sxm", weights="fp8", context=8192, users=64)
    assert r.fits
    assert r.chips_needed >= 1 and r.nodes_needed >= 1 and r.racks_needed >= 1
    assert r.max_concurrent_sequences >= 64
    assert "GiB" in r.units_note and "GB" in r.units_note


def test_does_not_fit_says_by_how_much():
    r = fit("llama-3.1-405b", "h100-sxm", weights="bf16", gpus=8, users=1, context=4096)
    assert not r.fits
    assert "short by" in r.message and r.headroom_per_gpu_gib < 0


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 256), st.integers(1, 256))
def test_more_users_never_less_memory(u1, u2):
    a, b = sorted((u1, u2))
    ra = fit("llama-3.1-8b", "h100-sxm", weights="fp8", gpus=1, users=a, context=4096)
    rb = fit("llama-3.1-8b", "h100-sxm", weights="fp8", gpus=1, users=b, context=4096)
    assert ra.kv_cache_gib <= rb.kv_cache_gib and ra.memory_per_gpu_gib <= rb.memory_per_gpu_gib


def test_tp_sharding_divides_weights():
    r1 = fit("llama-3.1-70b", "h200-sxm", weights="fp8", gpus=1, users=1, context=1024)
    r4 = fit("llama-3.1-70b", "h200-sxm", weights="fp8", gpus=4, users=1, context=1024)
    assert r4.per_gpu["weights_gib"] == pytest.approx(r1.per_gpu["weights_gib"] / 4, rel=1e-6)


@pytest.mark.parametrize(
    "kwargs, field",
    [
        (dict(tp=3), "tp"),
        (dict(gpus=0), "gpus"),
        (dict(users=-4), "users"),
        (dict(weights="fp7"), "weights"),
        (dict(context=10_000_000), "context"),
        (dict(ep=3), "ep"),
    ],
)
def test_bad_input_names_the_field(kwargs, field):
    base = dict(model="llama-3.1-70b", hardware="h200-sxm")
    if field == "ep":
        base["model"] = "mixtral-8x7b"
        kwargs = dict(gpus=4, ep=3)
    with pytest.raises(TokenfabError) as e:
        fit(**{**base, **kwargs})
    assert e.value.field == field or field in str(e.value)


def test_fit_names_gpus_when_tp_comes_from_it():
    """`fit --gpus 64` on a 32-head model blamed `--tp`, a flag not typed (estimate named `--gpus`)."""
    from tokenfab.core.errors import TokenfabError
    from tokenfab.perf.memory import fit

    with pytest.raises(TokenfabError) as ei:
        fit("llama-3.1-8b", "h100-sxm", gpus=64)
    assert ei.value.field == "gpus"
    with pytest.raises(TokenfabError) as ei:
        fit("llama-3.1-8b", "h100-sxm", gpus=64, tp=64)
    assert ei.value.field == "tp"


def test_a_layout_with_data_parallel_copies_counts_their_weights():
    """fit --dp 2 for Llama-70B BF16 on H100s said "at least 2 chips are needed": the pooled count, while each
    copy holds 131 GiB of weights, so two copies need at least 4 (TP2 each)."""
    from tokenfab.perf.memory import fit

    r = fit("llama-3.1-70b", "h100-sxm", dp=2, users=1, context=4096)
    assert not r.fits and "at least 4 chips are needed" in r.message
    assert fit("llama-3.1-70b", "h100-sxm", gpus=4, tp=2, dp=2, users=1, context=4096).fits
