"""tokenfab.economics.cost: cost per token, tokens per MW, J/token; reference values from InferenceX (metrics.md)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokenfab.catalog.hardware import HardwareSpec
from tokenfab.core.errors import TokenfabError
from tokenfab.economics import cost as C
from tokenfab.economics import tco as T


def chip(key, **over):
    d = dict(
        key=key,
        name=key.upper(),
        vendor="Test",
        memory_capacity_gib=180,
        memory_bandwidth_tb_per_s=8.0,
        peak_tflops={"bf16": 2250.0},
        tdp_w=1000.0,
    )
    d.update(over)
    return HardwareSpec(**d)


# ---------------------------------------------------------------- InferenceX reference point
def test_inferencex_b200_deepseek_r1_point():
    """InferenceX B200 DeepSeek-R1 point (foundation issue): $1.95/GPU-h (hyperscaler-owned) at 13,429.7 tok/s/GPU
    -> $0.0403 per M tokens and 6.19 M tok/s per all-in MW at 2.17 kW/GPU. The price, the kW and both formulas are
    InferenceX's, from the SemiAnalysis InferenceX dashboard (inferencex.semianalysis.com; cost and power).
    By hand: 13,429.7 x 3600 / 1e6 = 48.34692 M tok per GPU-hour; 1.95 / 48.34692 = 0.0403335."""
    assert C.usd_per_mtok(1.95, 13429.7) == pytest.approx(0.0403335, abs=1e-7)
    assert round(C.usd_per_mtok(1.95, 13429.7), 4) == 0.0403
    assert C.tokens_per_s_per_mw(13429.7, 2.17) == pytest.approx(6_188_801.8, rel=1e-7)
    assert round(C.tokens_per_s_per_mw(13429.7, 2.17) / 1e6, 2) == 6.19


def test_inferencex_point_through_the_preset():
    t = T.tco(chip("b200"), "inferencex-hyperscaler")
    c = C.compute_cost(
        t.usd_per_gpu_hour,
        total_tokens_per_s_per_gpu=13429.7,
        all_in_kw_per_gpu=t.all_in_kw_per_gpu,
        it_kw_per_gpu=t.it_kw_per_gpu,
    )
    assert round(c.usd_per_mtok_total, 4) == 0.0403
    assert round(c.tokens_per_s_per_mw / 1e6, 2) == 6.19
    # J/token all-in = 2170 W / 13,429.7 tok/s = 0.16158 J
    assert c.joules_per_token == pytest.approx(2170 / 13429.7)
    # tokens per $ per W = 13,429.7 x 3600 / 1.95 / 2170 = 11,425.4
    assert c.tokens_per_usd_per_w == pytest.approx(13429.7 * 3600 / 1.95 / 2170)


# ---------------------------------------------------------------- input / output split
def test_total_only_gives_no_per_kind_split_unless_inferencex():
    c = C.compute_cost(2.0, total_tokens_per_s_per_gpu=1000.0)
    # 2.0 / (1000 x 3600 / 1e6) = 2.0 / 3.6 = 0.5556
    assert c.usd_per_mtok_total == pytest.approx(2.0 / 3.6)
    # the GPU-time split needs the token mix and the prefill share: not computed, and the notes say what to give
    assert c.usd_per_mtok_input is None and c.usd_per_mtok_output is None and c.usd_per_mtok_blended_3to1 is None
    assert c.per_kind_convention == "gpu-time" and any("--prefill-gpu-time-share" in n for n in c.notes)
    # InferenceX's convention, asked for: GPU-hour / input tokens/s and / output tokens/s need the split a total does
    # not carry (input = output = total would be wrong by the split's factor): not computed, the note says what to give
    x = C.compute_cost(2.0, total_tokens_per_s_per_gpu=1000.0, per_kind="inferencex")
    assert x.usd_per_mtok_input is None and x.usd_per_mtok_output is None and x.usd_per_mtok_blended_3to1 is None
    assert x.usd_per_mtok_input_inferencex is None and x.tokens_per_s_per_gpu_input is None
    assert x.split == "total-only" and any("--input-tokens-per-s-per-gpu" in n for n in x.notes)
    assert x.usd_per_mtok_total == pytest.approx(2.0 / 3.6)
    assert c.tokens_per_s_per_mw is None and c.joules_per_token is None


def test_inferencex_convention_is_kept_by_flag_and_in_its_own_fields():
    # 1k/1k-like: 3000 input + 1000 output tok/s per GPU at $3.6/GPU-h (3.6 $/h = 1e-3 $/s)
    c = C.compute_cost(
        3.6, input_tokens_per_s_per_gpu=3000.0, output_tokens_per_s_per_gpu=1000.0, per_kind="inferencex"
    )
    assert c.tokens_per_s_per_gpu_total == pytest.approx(4000.0)
    assert c.usd_per_mtok_total == pytest.approx(3.6 / (4000 * 3600 / 1e6))  # 0.25
    assert c.usd_per_mtok_input == pytest.approx(3.6 / (3000 * 3600 / 1e6))  # 0.3333
    assert c.usd_per_mtok_output == pytest.approx(3.6 / (1000 * 3600 / 1e6))  # 1.0
    # blended 3:1 = (3 x 0.3333 + 1.0) / 4 = 0.5
    assert c.usd_per_mtok_blended_3to1 == pytest.approx((3 * (1 / 3) + 1.0) / 4)
    # cached input at the default 10% of input cost
    assert C.CACHED_INPUT_COST_FRACTION == 0.1
    assert c.usd_per_mtok_cached_input == pytest.approx(0.1 / 3)
    # the InferenceX values are always there, whatever the convention
    g = C.compute_cost(3.6, input_tokens_per_s_per_gpu=3000.0, output_tokens_per_s_per_gpu=1000.0)
    assert g.usd_per_mtok_input_inferencex == pytest.approx(1 / 3) and g.usd_per_mtok_output_inferencex == 1.0
    # an explicit total (disaggregated serving) is used as given
    d = C.compute_cost(
        3.6, input_tokens_per_s_per_gpu=3000.0, output_tokens_per_s_per_gpu=1000.0, total_tokens_per_s_per_gpu=2000.0
    )
    assert d.usd_per_mtok_total == pytest.approx(0.5)


def test_gpu_time_split_by_hand():
    """$3.6 per GPU-hour, 3000 input + 1000 output tok/s, 20% of the GPU time in prefill, half the input cached:
    per hour 10.8 M input (5.4 M cached) and 3.6 M output tokens; prefill $0.72, decode $2.88.
    $/M input = 0.72 / (5.4 + 0.1 x 5.4) = 0.121212; cached = 0.0121212; output = 2.88 / 3.6 = 0.8;
    total = 3.6 / 14.4 = 0.25. The kinds add back to the $3.6."""
    c = C.compute_cost(
        3.6,
        input_tokens_per_s_per_gpu=3000.0,
        output_tokens_per_s_per_gpu=1000.0,
        prefill_gpu_time_share=0.2,
        cached_input_share=0.5,
    )
    assert c.usd_per_mtok_input == pytest.approx(0.72 / 5.94)
    assert c.usd_per_mtok_cached_input == pytest.approx(0.1 * 0.72 / 5.94)
    assert c.usd_per_mtok_output == pytest.approx(0.8)
    assert c.usd_per_mtok_total == pytest.approx(0.25)
    back = 5.4 * c.usd_per_mtok_input + 5.4 * c.usd_per_mtok_cached_input + 3.6 * c.usd_per_mtok_output
    assert back == pytest.approx(3.6)
    # the one split function, directly (a month: $1,000 over 2e9 input of which 1e9 cached and 1e8 output tokens)
    sp = C.split_cost_by_token_kind(
        1000.0,
        input_tokens=2e9,
        cached_input_tokens=1e9,
        output_tokens=1e8,
        prefill_gpu_time_share=0.5,
        cache_cost_usd=50,
    )
    assert sp["usd_per_mtok_output"] == pytest.approx(500 / 100)
    assert sp["usd_per_mtok_input"] == pytest.approx(500 / 1100)
    assert sp["usd_per_mtok_cached_input"] == pytest.approx(0.1 * 500 / 1100 + 50 / 1000)
    assert sp["usd_per_mtok_total"] == pytest.approx(1050 / 2100)


@settings(max_examples=100, deadline=None)
@given(
    st.floats(0.01, 1e6),
    st.floats(1.0, 1e12),
    st.floats(0.0, 1.0),
    st.floats(1.0, 1e12),
    st.floats(0.0, 1.0),
    st.floats(0.0, 1.0),
    st.floats(0.0, 1e5),
)
def test_per_kind_costs_add_up_to_the_total(cost, tin, hit, tout, share, w, cache):
    """Law: uncached x $in + cached x $cached + output x $out = cost + cache cost, for any mix (the convention
    the issue asks for: the kinds add up to the total at the stated token mix)."""
    sp = C.split_cost_by_token_kind(
        cost,
        input_tokens=tin,
        cached_input_tokens=tin * hit,
        output_tokens=tout,
        prefill_gpu_time_share=share,
        cached_input_cost_fraction=w,
        cache_cost_usd=cache,
    )
    uncached, cached = tin * (1 - hit), tin * hit
    weighted = uncached + w * cached
    if weighted <= 0:
        return  # no input tokens to carry the prefill cost: the input price is undefined (NaN)
    back = (uncached * sp["usd_per_mtok_input"] + cached * sp["usd_per_mtok_cached_input"]) / 1e6
    back += tout * sp["usd_per_mtok_output"] / 1e6
    assert back == pytest.approx(cost + cache, rel=1e-9, abs=1e-9)
    assert sp["usd_per_mtok_total"] * (tin + tout) / 1e6 == pytest.approx(cost + cache, rel=1e-9)


@pytest.mark.parametrize(
    "kw,field",
    [
        ({"prefill_gpu_time_share": 1.5}, "prefill_gpu_time_share"),
        ({"prefill_gpu_time_share": float("nan")}, "prefill_gpu_time_share"),
        ({"cached_input_tokens": 3e9}, "cached_input_tokens"),
        ({"output_tokens": -1.0}, "output_tokens"),
        ({"cache_cost_usd": float("inf")}, "cache_cost_usd"),
    ],
)
def test_split_rejects_bad_input_naming_the_field(kw, field):
    args = {"input_tokens": 1e9, "output_tokens": 1e8, "prefill_gpu_time_share": 0.3}
    args.update(kw)
    with pytest.raises(TokenfabError) as e:
        C.split_cost_by_token_kind(10.0, **args)
    assert e.value.field == field
    with pytest.raises(TokenfabError) as e:
        C.compute_cost(1.0, total_tokens_per_s_per_gpu=10.0, per_kind="whole")
    assert e.value.field == "per_kind"


def test_cached_fraction_and_blend_ratio_are_parameters():
    c = C.compute_cost(
        1.0,
        input_tokens_per_s_per_gpu=75.0,
        output_tokens_per_s_per_gpu=25.0,
        cached_input_cost_fraction=0.5,
        per_kind="inferencex",
    )
    assert c.usd_per_mtok_cached_input == pytest.approx(0.5 * c.usd_per_mtok_input)
    assert C.blended_usd_per_mtok(1.0, 5.0) == pytest.approx(2.0)  # (3 x 1 + 5) / 4
    assert C.blended_usd_per_mtok(1.0, 5.0, 1.0) == pytest.approx(3.0)  # 1:1


# ---------------------------------------------------------------- vectorization and laws
def test_vectorized_inputs_give_arrays():
    tps = np.array([100.0, 1000.0, 10000.0])
    v = C.usd_per_mtok(2.0, tps)
    assert isinstance(v, np.ndarray) and v.shape == (3,)
    assert v == pytest.approx([C.usd_per_mtok(2.0, x) for x in tps])
    c = C.compute_cost(
        np.array([1.0, 2.0]),
        total_tokens_per_s_per_gpu=np.array([100.0, 100.0]),
        all_in_kw_per_gpu=np.array([1.0, 2.0]),
    )
    assert c.usd_per_mtok_total == pytest.approx([1 / 0.36, 2 / 0.36])
    assert c.tokens_per_s_per_mw == pytest.approx([1e5, 5e4])
    json.dumps(__import__("tokenfab.cli.common", fromlist=["to_jsonable"]).to_jsonable(c))
    assert isinstance(C.usd_per_mtok(2.0, 100.0), float)


@settings(max_examples=200, deadline=None)
@given(st.floats(0.01, 100), st.floats(1, 1e6), st.floats(1.01, 1000))
def test_cost_per_mtok_scales_as_one_over_throughput(price, tps, k):
    assert C.usd_per_mtok(price, tps * k) == pytest.approx(C.usd_per_mtok(price, tps) / k, rel=1e-12)
    assert C.usd_per_mtok(price * k, tps) == pytest.approx(C.usd_per_mtok(price, tps) * k, rel=1e-12)


@settings(max_examples=200, deadline=None)
@given(st.floats(1, 1e6), st.floats(0.1, 50))
def test_joules_per_token_times_tokens_per_mw_is_a_million(tps, kw):
    c = C.compute_cost(1.0, total_tokens_per_s_per_gpu=tps, all_in_kw_per_gpu=kw, it_kw_per_gpu=kw / 1.3)
    assert c.joules_per_token * c.tokens_per_s_per_mw == pytest.approx(1e6)
    assert c.joules_per_token_it < c.joules_per_token


H100 = chip(
    "h100-like", tdp_w=700.0, node_it_power_kw=10.2, chips_per_node=8, price_usd_per_system=270000.0, chips_per_system=8
)


@settings(max_examples=100, deadline=None)
@given(
    st.floats(0.05, 0.95),
    st.floats(0.01, 0.5),
    st.floats(100, 50000),
    st.sampled_from(["owned-hyperscaler", "owned-neocloud", "stress"]),
)
def test_cost_per_token_falls_as_utilization_rises(u, du, tps, preset):
    lo = T.tco(H100, preset, utilization=u)
    hi = T.tco(H100, preset, utilization=min(1.0, u + du))
    c_lo = C.compute_cost(lo.usd_per_gpu_hour, total_tokens_per_s_per_gpu=tps).usd_per_mtok_total
    c_hi = C.compute_cost(hi.usd_per_gpu_hour, total_tokens_per_s_per_gpu=tps).usd_per_mtok_total
    assert c_hi < c_lo


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "kwargs,field",
    [
        (dict(usd_per_gpu_hour=2.0, total_tokens_per_s_per_gpu=0.0), "total_tokens_per_s_per_gpu"),
        (dict(usd_per_gpu_hour=2.0, total_tokens_per_s_per_gpu=-5.0), "total_tokens_per_s_per_gpu"),
        (dict(usd_per_gpu_hour=-1.0, total_tokens_per_s_per_gpu=10.0), "usd_per_gpu_hour"),
        (dict(usd_per_gpu_hour=2.0, input_tokens_per_s_per_gpu=10.0), "output_tokens_per_s_per_gpu"),
        (dict(usd_per_gpu_hour=2.0), "tokens_per_s_per_gpu"),
        (
            dict(usd_per_gpu_hour=2.0, total_tokens_per_s_per_gpu=10.0, cached_input_cost_fraction=1.5),
            "cached_input_cost_fraction",
        ),
        (dict(usd_per_gpu_hour=2.0, total_tokens_per_s_per_gpu=10.0, all_in_kw_per_gpu=0.0), "all_in_kw_per_gpu"),
        (dict(usd_per_gpu_hour=2.0, total_tokens_per_s_per_gpu=np.array([10.0, np.nan])), "total_tokens_per_s_per_gpu"),
    ],
)
def test_bad_input_names_the_field(kwargs, field):
    price = kwargs.pop("usd_per_gpu_hour")
    with pytest.raises(TokenfabError) as e:
        C.compute_cost(price, **kwargs)
    assert e.value.field == field


def test_pure_functions_reject_bad_input():
    with pytest.raises(TokenfabError):
        C.usd_per_mtok(1.0, 0.0)
    with pytest.raises(TokenfabError):
        C.tokens_per_s_per_mw(100.0, -1.0)
    with pytest.raises(TokenfabError):
        C.joules_per_token(700.0, "fast")


def test_cost_for_hardware_equals_the_cli_arithmetic():
    """The one-call API reproduces the InferenceX B200 point (as `tokenfab cost --hardware b200 --preset ...`)."""
    from tokenfab.economics.cost import cost_for_hardware

    c = cost_for_hardware("b200", preset="inferencex-hyperscaler", total_tokens_per_s_per_gpu=13429.7)
    t = T.tco("b200", "inferencex-hyperscaler")
    assert c.usd_per_mtok_total == pytest.approx(C.usd_per_mtok(t.usd_per_gpu_hour, 13429.7))
    assert c.usd_per_mtok_total == pytest.approx(0.0403, abs=5e-5)
