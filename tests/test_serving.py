"""Performance model: roofline laws, hand-computed cases, MoE/MLA/FP4, CLI/JSON contract, bad input."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import tokenfab
from tokenfab.catalog import models as M
from tokenfab.catalog.calibration import CalibrationProfile, PerfParams
from tokenfab.catalog.hardware import get_hardware
from tokenfab.cli.main import app
from tokenfab.perf.roofline import expected_experts_touched, forward_time, op_time_s
from tokenfab.perf.serving import estimate, hardware_arrays

NO_OVERHEAD = CalibrationProfile(
    default=PerfParams(
        step_overhead_ms=0.0, layer_overhead_us=0.0, seq_overhead_us=0.0, memory_efficiency=0.8, comm_latency_us=1.0
    )
)
CONTRACT = [
    "ttft_ms",
    "tpot_ms",
    "tokens_per_s_per_user",
    "output_tokens_per_s",
    "total_tokens_per_s",
    "output_tokens_per_s_per_gpu",
    "total_tokens_per_s_per_gpu",
    "concurrency",
    "memory_per_gpu_gib",
    "fits",
    "bound",
    "breakdown",
]


def _decode_pass(model, hw_key, batch, *, weights="bf16", kv="bf16", ctx=1024, tp=1, profile=NO_OVERHEAD, bw_scale=1.0):
    m = M.get_model(model)
    hw = get_hardware(hw_key)
    pa = hardware_arrays([hw], weights, profile, [tp], [1], [1], [1 if not m.is_moe else tp])
    cal = {k: v[0] for k, v in pa.cal.items()}
    return forward_time(
        m,
        weights,
        kv,
        new_tokens=batch,
        sequences=batch,
        context=ctx,
        phase="decode",
        peak_flops_per_s=pa.peak_flops_per_s[0],
        bandwidth_bytes_per_s=pa.bandwidth_bytes_per_s[0] * bw_scale,
        scaleup_bw=pa.scaleup_bw[0],
        scaleout_bw=pa.scaleout_bw[0],
        scaleup_domain=pa.scaleup_domain[0],
        tp=tp,
        pp=1,
        dp=1,
        ep=1,
        cal=cal,
    )


def test_dense_8b_batch1_is_memory_bound_and_equals_bytes_over_bandwidth():
    """Llama-3.1-8B BF16 at batch 1 on H100: step time ~ weight bytes / effective bandwidth."""
    m = M.get_model("llama-3.1-8b")
    hw = get_hardware("h100-sxm")
    t, br, bounds = _decode_pass("llama-3.1-8b", "h100-sxm", 1, ctx=1)
    pc = M.param_counts(m)
    weight_bytes_read = (pc.total - pc.embedding) * 2  # everything but the embedding lookup
    expected = weight_bytes_read / (hw.memory_bandwidth_bytes_per_s * 0.8)
    assert float(t) == pytest.approx(expected, rel=0.02)
    assert bounds["memory"] > 3 * bounds["compute"]


def test_time_is_at_least_each_bound():
    t, t_c, t_m = op_time_s(np.array([1e12, 1e9]), np.array([1e6, 1e10]), 1e15, 1e12, 0.5, 0.8)
    assert np.all(t >= t_c) and np.all(t >= t_m)
    t, br, bounds = _decode_pass("llama-3.1-70b", "h200-sxm", np.array([1, 8, 64, 512]), tp=8, weights="fp8", kv="fp8")
    assert np.all(t >= bounds["compute"] / 8 - 1e-12)  # summed over ops, each op >= its own bounds
    assert np.all(t >= bounds["communication"])


@settings(max_examples=30, deadline=None)
@given(st.floats(1.0, 8.0), st.integers(1, 1024), st.sampled_from(["llama-3.1-8b", "mixtral-8x7b", "deepseek-v3"]))
def test_more_bandwidth_never_slows_decode(scale, batch, model):
    hwk = "b200" if model == "deepseek-v3" else "h100-sxm"
    w = "fp4" if model == "deepseek-v3" else "fp8"
    tp = 8 if model == "deepseek-v3" else 1
    t1, _, _ = _decode_pass(model, hwk, batch, weights=w, kv="fp8", tp=tp)
    t2, _, _ = _decode_pass(model, hwk, batch, weights=w, kv="fp8", tp=tp, bw_scale=scale)
    assert float(t2) <= float(t1) * (1 + 1e-12)


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 4096))
def test_throughput_per_gpu_never_rises_when_batch_is_forced_below_max(c):
    mx = tokenfab.estimate("llama-3.1-8b", "h100-sxm", gpus=1, weights="fp8", isl=512, osl=512, concurrency="max")
    e = tokenfab.estimate("llama-3.1-8b", "h100-sxm", gpus=1, weights="fp8", isl=512, osl=512, concurrency=c)
    assert e.output_tokens_per_s_per_gpu <= mx.output_tokens_per_s_per_gpu * (1 + 1e-9)


def test_interactivity_falls_as_concurrency_rises():
    es = [
        tokenfab.estimate("llama-3.1-70b", "h200-sxm", gpus=8, weights="fp8", isl=1024, osl=1024, concurrency=c)
        for c in (1, 8, 64, 256)
    ]
    tps_user = [e.tokens_per_s_per_user for e in es]
    tps_gpu = [e.total_tokens_per_s_per_gpu for e in es]
    assert tps_user == sorted(tps_user, reverse=True)
    assert tps_gpu == sorted(tps_gpu)


def test_expected_experts_touched():
    assert expected_experts_touched(256, 8, 1) == pytest.approx(8)
    assert expected_experts_touched(256, 8, 100000) == pytest.approx(256)
    # two tokens: 8 + 8 x (1 - 8/256) distinct on average
    assert expected_experts_touched(256, 8, 2) == pytest.approx(256 * (1 - (1 - 8 / 256) ** 2))


def test_moe_small_batch_reads_only_touched_experts():
    _, br1, _ = _decode_pass("deepseek-v3", "b200", 1, weights="fp4", kv="fp8", tp=8)
    _, br64, _ = _decode_pass("deepseek-v3", "b200", 64, weights="fp4", kv="fp8", tp=8)
    # 64 tokens touch ~ 256 x (1 - (1 - 8/256)^64) = 221 experts vs 8 for one token: expert time grows ~ 221/8
    ratio = float(br64["experts"] / br1["experts"])
    assert 10 < ratio < 30


def test_mla_decode_reads_the_latent_cache():
    _, a, _ = _decode_pass("deepseek-v3", "b200", 64, weights="fp8", kv="fp8", ctx=8000, tp=8)
    _, b, _ = _decode_pass("deepseek-v3", "b200", 64, weights="fp8", kv="fp8", ctx=16000, tp=8)
    assert float(b["attention_core"]) > 1.8 * float(a["attention_core"])  # attention over the context dominates it


def test_fp4_on_hopper_warns_and_has_no_speedup():
    e = tokenfab.estimate("llama-3.1-8b", "h100-sxm", gpus=1, weights="fp4", isl=128, osl=128, concurrency=1)
    assert e.compute_precision == "fp8" and any("no fp4" in w for w in e.warnings)
    e2 = tokenfab.estimate("llama-3.1-8b", "b200", gpus=1, weights="fp4", isl=128, osl=128, concurrency=1)
    assert e2.compute_precision == "fp4" and not e2.warnings


def test_fp8_on_a100_runs_at_bf16_peak():
    e = tokenfab.estimate("llama-3.1-8b", "a100-sxm", gpus=1, weights="fp8", isl=128, osl=128, concurrency=1)
    assert e.compute_precision == "bf16" and e.warnings


def test_mtp_raises_interactivity():
    base = tokenfab.estimate("deepseek-r1", "b200", gpus=8, weights="fp4", isl=1024, osl=1024, concurrency=16)
    mtp = tokenfab.estimate(
        "deepseek-r1",
        "b200",
        gpus=8,
        weights="fp4",
        isl=1024,
        osl=1024,
        concurrency=16,
        mtp_draft_tokens=1,
        mtp_acceptance_length=1.8,
    )
    assert mtp.tokens_per_s_per_user > 1.25 * base.tokens_per_s_per_user


def test_prefix_cache_cuts_ttft():
    a = tokenfab.estimate("llama-3.1-70b", "h200-sxm", gpus=8, weights="fp8", isl=8192, osl=256, concurrency=8)
    b = tokenfab.estimate(
        "llama-3.1-70b", "h200-sxm", gpus=8, weights="fp8", isl=8192, osl=256, concurrency=8, prefix_hit_rate=0.9
    )
    assert b.ttft_ms < 0.3 * a.ttft_ms


def test_sram_and_tpu_are_first_class():
    g = tokenfab.estimate("llama-3.1-70b", "groq-lpu", gpus=576, weights="fp8", isl=1024, osl=1024, concurrency=8)
    assert g.fits and g.tokens_per_s_per_user > 100  # SRAM bandwidth makes each token fast
    t = tokenfab.estimate("llama-3.1-8b", "tpu-v6e", gpus=1, weights="bf16", isl=1024, osl=1024, concurrency=16)
    assert t.fits and t.output_tokens_per_s > 0


def test_api_to_dict_has_contract_keys():
    d = tokenfab.estimate(
        model="llama-3.1-8b",
        hardware="h100-sxm",
        gpus=1,
        tp=1,
        pp=1,
        ep=None,
        dp=1,
        weights="fp8",
        kv="fp8",
        isl=1024,
        osl=1024,
        concurrency=32,
    ).to_dict()
    for k in CONTRACT:
        assert k in d
    assert d["bound"] in ("compute", "memory", "communication", "overhead")
    assert set(d["breakdown"]) >= {"attention_proj", "attention_core", "mlp", "lm_head", "communication", "overhead"}


def test_cli_json_contract():
    r = CliRunner().invoke(
        app,
        [
            "estimate",
            "--model",
            "llama-3.1-70b",
            "--hardware",
            "h200-sxm",
            "--gpus",
            "8",
            "--weights",
            "fp8",
            "--isl",
            "1024",
            "--osl",
            "1024",
            "--concurrency",
            "max",
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    for k in CONTRACT:
        assert k in d
    assert d["tp"] == 8 and d["kv"] == "fp8" and d["fits"] is True
    assert d["concurrency"] == d["concurrency_cap"]


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--tp", "3", "--gpus", "3"], "tp"),
        (["--gpus", "128"], "tp"),
        (["--weights", "fp6"], "weights"),
        (["--concurrency", "lots"], "concurrency"),
        (["--isl", "0"], "isl"),
    ],
)
def test_cli_bad_input_is_one_clear_line(args, needle):
    r = CliRunner().invoke(app, ["estimate", "--model", "llama-3.1-70b", "--hardware", "h200-sxm", *args])
    assert r.exit_code == 2
    assert needle in r.output and "Traceback" not in r.output


def test_model_that_does_not_fit_says_so():
    e = tokenfab.estimate("llama-3.1-405b", "h100-sxm", gpus=1, weights="bf16", isl=128, osl=128, concurrency=1)
    assert not e.fits and any("does not fit" in w for w in e.warnings)


@pytest.mark.parametrize("hw", ["h100-sxm", "tpu-v5e", "groq-lpu", "cerebras-wse3"])
def test_without_gpus_the_smallest_fitting_layout_is_chosen(hw):
    e = estimate("llama-3.1-70b", hw, weights="fp8", isl=1024, osl=1024, concurrency=32)
    assert e.fits and e.concurrency == 32
    assert any("--gpus not given" in w for w in e.warnings)
    # one step smaller does not hold the weights and the 32 sequences
    smaller = {"groq-lpu": e.gpus - 8, "cerebras-wse3": e.gpus - 1}.get(hw, e.gpus // 2)  # TP halves for HBM GPUs
    if smaller >= 1:
        s = estimate("llama-3.1-70b", hw, gpus=smaller, weights="fp8", isl=1024, osl=1024, concurrency=32)
        assert (not s.fits) or s.concurrency < 32
