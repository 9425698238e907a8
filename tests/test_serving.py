"""Performance model v2 end to end: hand-computed roofline cases, MoE / MLA / FP4, speculative decoding, engines and
calibration status, the Estimate / CLI JSON contract, bad input, does-not-fit and the automatic layout.

Figures are computed under explicit calibration profiles (tests/perf_support.py), never the bundled fit, so a refit
of data/calibration.json moves none of them.
"""

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import tokenfab
from perf_support import NO_OVERHEAD, WITH_OVERHEADS, first, make_profile, point
from tokenfab.catalog import models as M
from tokenfab.catalog.hardware import get_hardware
from tokenfab.cli.main import app
from tokenfab.core.errors import TokenfabError
from tokenfab.perf import moe
from tokenfab.perf import uncertainty as unc
from tokenfab.perf.memory import Parallelism, activation_bytes_per_gpu, kv_capacity_sequences, weight_bytes_per_gpu
from tokenfab.perf.roofline import forward_time, op_time_s
from tokenfab.perf.serving import estimate, serve

CONTRACT = [
    "ttft_ms",
    "tpot_ms",
    "e2el_ms",
    "tokens_per_s_per_user",
    "output_tokens_per_s",
    "total_tokens_per_s",
    "output_tokens_per_s_per_gpu",
    "total_tokens_per_s_per_gpu",
    "concurrency",
    "concurrency_cap",
    "memory_per_gpu_gib",
    "fits",
    "bound",
    "breakdown",
    "engine",
    "calibration",
    "speculative",
    "latency_percentiles",
    "uncertainty",
    "warnings",
]
CALIBRATION_KEYS = {
    "hardware_profile",
    "engine_profile",
    "hardware_family",
    "engine",
    "hardware_rule",
    "engine_rule",
    "rows",
    "pair_rows",
    "sources",
    "parameters_at_prior",  # a fitted profile's parameters that no measurement informs
    "prior",  # issue 12: the profile rests on a prior, and the line that says so (null when fitted)
    "note",
}
SPECULATIVE_KEYS = {"method", "draft_tokens", "acceptance_length", "source", "stand_in", "draft_layers"}


def _est(*args, **kw):
    kw.setdefault("calibration", WITH_OVERHEADS)
    return estimate(*args, **kw)


# ----------------------------------------------------------------------------------------------- roofline by hand
def test_dense_8b_batch1_decode_is_weight_bytes_over_bandwidth():
    """Llama-3.1-8B BF16, one sequence on one H100, no fixed costs: the step streams every weight but the embedding
    table (looked up by row) once, at memory_efficiency x 3.35 TB/s; the compute is far below it."""
    m, pa = point("llama-3.1-8b", "h100-sxm", "vllm", "bf16", NO_OVERHEAD)
    hw = get_hardware("h100-sxm")
    t, br, bounds = forward_time(m, "bf16", "bf16", pa, dec_seqs=1, dec_ctx=1)
    pc = M.param_counts(m)
    expected = (pc.total - pc.embedding - pc.norms) * 2.0 / (hw.memory_bandwidth_bytes_per_s * 0.8)
    assert first(t) == pytest.approx(expected, rel=1e-3)
    assert first(bounds["memory"]) > 3 * first(bounds["compute"])
    assert first(br["communication"]) == 0.0 and first(br["overhead"]) == 0.0


def test_fixed_costs_add_up_by_hand():
    """Overhead of one decode step (catalog/calibration.py): step + layers x per-layer + sequences x per-sequence;
    Llama-3.1-8B (32 layers), 16 sequences: 2 ms + 32 x 10 us + 16 x 5 us = 2.4 ms."""
    prof = make_profile(engine={"step_overhead_ms": 2.0, "layer_overhead_us": 10.0, "seq_overhead_us": 5.0})
    m, pa = point("llama-3.1-8b", "h100-sxm", "vllm", "fp8", prof)
    _, br, _ = forward_time(m, "fp8", "fp8", pa, dec_seqs=16, dec_ctx=512)
    assert first(br["overhead"]) == pytest.approx(2e-3 + 32 * 10e-6 + 16 * 5e-6)


def test_a_step_is_the_sum_of_its_operators_and_at_least_each_bound():
    t, t_c, t_m = op_time_s(np.array([1e12, 1e9]), np.array([1e6, 1e10]), 1e15, 1e12, 0.5, 0.8)
    assert np.all(t >= t_c) and np.all(t >= t_m) and np.all((t == t_c) | (t == t_m))
    m, pa = point("llama-3.1-70b", "h200-sxm", "trtllm", "fp8", WITH_OVERHEADS, tp=8)
    for batch in (1, 8, 64, 512):
        t, br, bounds = forward_time(m, "fp8", "fp8", pa, dec_seqs=batch, dec_ctx=2048, pf_tokens=1024, pf_seqs=1)
        assert first(t) == pytest.approx(sum(first(v) for v in br.values()))
        # each operator is max(compute, memory): the sum of the maxima is at least the sum of either side
        for k in ("compute", "memory", "communication", "overhead"):
            assert first(t) >= first(bounds[k]) * (1 - 1e-12), k
        assert first(bounds["communication"]) > 0  # TP 8 all-reduces


def test_routed_experts_read_only_the_experts_the_batch_touches():
    """DeepSeek-V3 decode, experts tensor-parallel over 8 B200 (no EP): a memory-bound expert layer streams the
    experts the tokens touch, 256 (1 - (1 - 8/256)^T): 64 tokens touch 27.8x the 8 experts of one token."""
    m, pa = point("deepseek-v3", "b200", "trtllm", "fp4", NO_OVERHEAD, tp=8, ep=1, kv="fp8")
    _, b1, _ = forward_time(m, "fp4", "fp8", pa, dec_seqs=1, dec_ctx=1024)
    _, b64, _ = forward_time(m, "fp4", "fp8", pa, dec_seqs=64, dec_ctx=1024)
    touched = 256 * (1 - (1 - 8 / 256) ** 64)
    assert first(b64["experts"]) / first(b1["experts"]) == pytest.approx(touched / 8, rel=1e-6)
    assert touched / 8 == pytest.approx(float(moe.expected_experts_touched(256, 8, 64)) / 8)


def test_mla_latent_cache_is_replicated_over_tp():
    """MLA (DeepSeek-V3) keeps one 576-element latent per token and layer, replicated over TP: decode attention over
    the context hardly shrinks from TP 1 to TP 8, while GQA KV heads (Llama-3.1-70B, 8 of them) split 8 ways. Both
    double with the context."""
    ratio = {}
    for model in ("deepseek-v3", "llama-3.1-70b"):
        m = M.get_model(model)
        cores = []
        for tp in (1, 8):
            _, pa = point(model, "b200", "trtllm", "fp8", NO_OVERHEAD, tp=tp)
            _, a, _ = forward_time(m, "fp8", "fp8", pa, dec_seqs=64, dec_ctx=8000)
            _, b, _ = forward_time(m, "fp8", "fp8", pa, dec_seqs=64, dec_ctx=16000)
            assert first(b["attention_core"]) == pytest.approx(2 * first(a["attention_core"]), rel=0.02)
            cores.append(first(a["attention_core"]))
        ratio[model] = cores[1] / cores[0]
    assert M.get_model("deepseek-v3").is_mla and M.get_model("deepseek-v3").layers[0].kv_elements_per_token == 576
    assert ratio["deepseek-v3"] > 0.5
    assert ratio["llama-3.1-70b"] == pytest.approx(1 / 8, rel=0.01)


# ----------------------------------------------------------------------------------------------- KV capacity by hand
def test_kv_capacity_pages_by_hand():
    """Llama-3.1-8B, BF16 KV: 2 x 32 layers x 8 KV heads x 128 x 2 bytes = 131,072 bytes per token. One H100 with a
    vLLM-like engine (90% of the whole chip): on demand a sequence holds ISL + OSL / 2 + half a 16-token page on
    average; reserving the maximum length (TensorRT-LLM) holds ceil((ISL + OSL) / page) pages, of what 90% of the
    memory left after weights and activations allows."""
    m = M.get_model("llama-3.1-8b")
    assert M.kv_cache_bytes(m, 1, "bf16", 1) == 131072
    par = Parallelism()
    cap = 80 * 2**30
    used = weight_bytes_per_gpu(m, "bf16", par) + activation_bytes_per_gpu(m, par, 8192)
    kw = {"capacity_bytes": cap, "max_batch_tokens": 8192, "kv_block_tokens": 16}
    on_demand = kv_capacity_sequences(
        m,
        "bf16",
        "bf16",
        par,
        isl=1000,
        osl=1000,
        memory_fraction=0.9,
        memory_basis_free=False,
        reserve_full=False,
        **kw,
    )
    assert on_demand == math.floor((0.9 * cap - used) / (131072 * (1000 + 500 + 8)))
    reserved = kv_capacity_sequences(
        m, "bf16", "bf16", par, isl=1000, osl=1000, memory_fraction=0.9, memory_basis_free=True, reserve_full=True, **kw
    )
    assert reserved == math.floor(0.9 * (cap - used) / (131072 * 2000))
    # a short answer never makes on-demand paging hold more than the full length's pages: ISL 63 + OSL 1 is one page
    short = {
        f: kv_capacity_sequences(
            m, "bf16", "bf16", par, isl=63, osl=1, memory_fraction=0.9, memory_basis_free=False, reserve_full=f,
            capacity_bytes=cap, max_batch_tokens=8192, kv_block_tokens=64,
        )
        for f in (False, True)
    }  # fmt: skip
    assert short[False] == short[True] == math.floor((0.9 * cap - used) / (131072 * 64))


# ----------------------------------------------------------------------------------------------- serving relations
@settings(max_examples=15, deadline=None)
@given(c=st.integers(1, 4096), engine=st.sampled_from(["trtllm", "vllm", "sglang", "atom"]))
def test_throughput_at_a_forced_concurrency_never_exceeds_the_offline_maximum(c, engine):
    m, pa = point("llama-3.1-8b", "h100-sxm", engine, "fp8", WITH_OVERHEADS)
    mx = serve(m, "fp8", "fp8", pa, isl=512, osl=512)
    r = serve(m, "fp8", "fp8", pa, isl=512, osl=512, concurrency=c)
    assert first(r["output_tokens_per_s_per_gpu"]) <= first(mx["output_tokens_per_s_per_gpu"]) * (1 + 1e-9)
    assert first(mx["concurrency"]) == first(mx["concurrency_cap"])


def test_interactivity_falls_and_throughput_rises_with_concurrency():
    es = [
        _est("llama-3.1-70b", "h200-sxm", gpus=8, weights="fp8", isl=1024, osl=1024, concurrency=c)
        for c in (1, 8, 64, 256)
    ]
    tps_user = [e.tokens_per_s_per_user for e in es]
    tps_gpu = [e.total_tokens_per_s_per_gpu for e in es]
    assert tps_user == sorted(tps_user, reverse=True) and len(set(tps_user)) == 4
    assert tps_gpu == sorted(tps_gpu) and len(set(tps_gpu)) == 4
    assert [e.concurrency for e in es] == [1, 8, 64, 256]


def test_fp4_on_hopper_warns_and_computes_at_fp8():
    e = _est("llama-3.1-8b", "h100-sxm", gpus=1, weights="fp4", isl=128, osl=128, concurrency=1)
    assert e.compute_precision == "fp8" and any("no fp4" in w for w in e.warnings)
    e2 = _est("llama-3.1-8b", "b200", gpus=1, weights="fp4", isl=128, osl=128, concurrency=1)
    assert e2.compute_precision == "fp4" and not any("fp4" in w for w in e2.warnings)


def test_fp8_on_a100_runs_at_bf16_peak():
    e = _est("llama-3.1-8b", "a100-sxm", gpus=1, weights="fp8", isl=128, osl=128, concurrency=1)
    assert e.compute_precision == "bf16" and any("no fp8" in w for w in e.warnings)


def test_mtp_raises_interactivity_and_is_reported():
    kw = {"gpus": 8, "weights": "fp4", "isl": 1024, "osl": 1024, "concurrency": 16}
    base = _est("deepseek-r1", "b200", **kw)
    mtp = _est("deepseek-r1", "b200", mtp_draft_tokens=1, mtp_acceptance_length=1.8, **kw)
    assert mtp.tokens_per_s_per_user > 1.25 * base.tokens_per_s_per_user
    assert set(mtp.speculative) == SPECULATIVE_KEYS
    assert mtp.speculative["method"] == "mtp" and mtp.speculative["acceptance_length"] == 1.8
    assert mtp.mtp_draft_tokens == 1 and base.speculative["method"] is None
    # without a stated acceptance the published DeepSeek-V3 figure is used (data/speculative.yaml)
    pub = _est("deepseek-r1", "b200", mtp_draft_tokens=1, **kw)
    assert pub.speculative["acceptance_length"] == 1.85 and "arXiv:2412.19437" in pub.speculative["source"]


def test_speculative_draft_layers_reach_the_model():
    """A DSpark drafter runs its three stages per pass (perf/speculative.py DRAFT_LAYERS): estimate() charges them,
    exactly as serve() with draft_layers=3, and more than a one-layer draft would cost."""
    kw = {"gpus": 8, "engine": "atom", "isl": 1024, "osl": 1024, "concurrency": 16}
    e = _est("deepseek-v4-pro", "mi355x", spec_method="dspark", mtp_draft_tokens=7, **kw)
    assert e.speculative["method"] == "dspark" and e.speculative["draft_layers"] == 3
    assert e.speculative["acceptance_length"] == 5.45
    m, pa = point("deepseek-v4-pro", "mi355x", "atom", e.weights, WITH_OVERHEADS, tp=e.tp, ep=e.ep, kv=e.kv)
    args = {
        "isl": 1024,
        "osl": 1024,
        "concurrency": 16,
        "draft_tokens": 7,
        "acceptance_length": 5.45,
        "parallel_draft": True,
    }
    three = serve(m, e.weights, e.kv, pa, draft_layers=3, **args)
    one = serve(m, e.weights, e.kv, pa, draft_layers=1, **args)
    assert e.tpot_ms == pytest.approx(first(three["tpot_ms"]), rel=1e-9)
    assert first(three["tpot_ms"]) > first(one["tpot_ms"])


def test_borrowed_acceptance_figure_is_flagged():
    e = _est("glm-5.2", "mi355x", gpus=8, engine="atom", spec_method="mtp", mtp_draft_tokens=1, isl=1024, osl=1024)
    assert e.speculative["stand_in"] == "deepseek-v3"
    assert any("deepseek-v3's figure stands in" in w for w in e.warnings)


def test_prefix_cache_cuts_ttft():
    kw = {"gpus": 8, "weights": "fp8", "isl": 8192, "osl": 256, "concurrency": 8}
    a = _est("llama-3.1-70b", "h200-sxm", **kw)
    b = _est("llama-3.1-70b", "h200-sxm", prefix_hit_rate=0.9, **kw)
    assert b.ttft_ms < 0.3 * a.ttft_ms and b.prefix_hit_rate == 0.9


def test_sram_and_tpu_are_first_class_and_rest_on_a_prior():
    g = _est("llama-3.1-70b", "groq-lpu", gpus=576, weights="fp8", isl=1024, osl=1024, concurrency=8)
    assert g.fits and g.tokens_per_s_per_user > 100  # SRAM bandwidth makes each token fast
    assert g.calibration["hardware_family"] == "sram" and g.calibration["hardware_profile"] == "prior"
    assert "named priors for sram" in g.calibration["hardware_rule"]
    t = _est("llama-3.1-8b", "tpu-v6e", gpus=1, weights="bf16", isl=1024, osl=1024, concurrency=16)
    assert t.fits and t.output_tokens_per_s > 0 and t.engine == "generic"
    assert t.calibration["hardware_profile"] == "prior" and t.calibration["engine_profile"] == "prior"
    assert "least efficient fitted family" in t.calibration["hardware_rule"]
    assert any(w.startswith("first-principles estimate") for w in t.warnings)


def test_default_engine_per_vendor_and_the_calibration_it_rests_on():
    h = _est("llama-3.1-8b", "h100-sxm", gpus=1, weights="fp8", isl=512, osl=512, concurrency=4)
    assert h.engine == "trtllm"
    assert (h.calibration["hardware_profile"], h.calibration["engine_profile"]) == ("fitted", "fitted")
    assert not any(w.startswith("first-principles") for w in h.warnings)
    a = _est("llama-3.1-8b", "mi300x", gpus=1, weights="fp8", isl=512, osl=512, concurrency=4)
    assert a.engine == "vllm" and a.calibration["hardware_family"] == "cdna3"
    assert a.calibration["hardware_profile"] == "prior" and "cdna4" in a.calibration["hardware_rule"]
    s = _est("llama-3.1-8b", "h100-sxm", gpus=1, weights="fp8", isl=512, osl=512, concurrency=4, engine="sglang")
    assert s.engine == "sglang" and s.calibration["engine"] == "sglang"
    d = _est("llama-3.1-8b", "h100-sxm", gpus=1, weights="fp8", isl=512, osl=512, concurrency=4, engine="dynamo-trtllm")
    assert d.calibration["engine_profile"] == "prior" and "trtllm" in d.calibration["engine_rule"]
    with pytest.raises(TokenfabError, match="did you mean vllm"):
        _est("llama-3.1-8b", "h100-sxm", gpus=1, engine="vlm")


# ----------------------------------------------------------------------------------------------- contract
def _cv_table(prior: bool = False):
    """A cross-validation table whose residuals ln(measured / predicted) are -0.2 .. 0.2 in 21 equal steps for every
    metric class (q10 = -0.16, q50 = 0, q90 = 0.16), on (hopper, trtllm, dense, low batch) or as prior rows."""
    rows = [
        (metric, "hopper", "trtllm", "dense", "low_batch", float(r), prior)
        for metric in unc.METRIC_CLASSES
        for r in np.linspace(-0.2, 0.2, 21)
    ]
    return unc.build_table(rows)


def test_api_to_dict_contract():
    prof = make_profile()
    prof.uncertainty = _cv_table()
    d = tokenfab.estimate(
        model="llama-3.1-70b",
        hardware="h200-sxm",
        gpus=8,
        tp=8,
        pp=1,
        dp=1,
        weights="fp8",
        kv="fp8",
        isl=1024,
        osl=1024,
        concurrency=8,
        calibration=prof,
    ).to_dict()
    json.dumps(d)  # JSON-serialisable as it is
    for k in CONTRACT:
        assert k in d, k
    assert d["bound"] in ("compute", "memory", "communication", "overhead")
    assert set(d["breakdown"]) >= {"attention_proj", "attention_core", "mlp", "lm_head", "communication", "overhead"}
    assert set(d["calibration"]) == CALIBRATION_KEYS
    assert d["calibration"]["hardware_family"] == "hopper" and d["calibration"]["engine"] == "trtllm"
    assert isinstance(d["calibration"]["sources"], list)
    assert set(d["speculative"]) == SPECULATIVE_KEYS and d["speculative"]["method"] is None
    lp = d["latency_percentiles"]
    for metric in ("ttft_ms", "tpot_ms"):
        assert set(lp[metric]) == {"p50", "p90", "p99"}
        assert lp[metric]["p50"] <= lp[metric]["p90"] <= lp[metric]["p99"]
    assert lp["tpot_ms"]["p99"] >= d["tpot_ms"]
    assert set(lp["itl_ms"]) == {"mean", "median"}
    # error bands from the table: [x exp(q10 f), x exp(q90 f)], f = sqrt(1 + 20 / 21); tokens/s per user inverts TPOT's
    f = math.sqrt(1 + unc.MIN_ROWS / 21)
    band = d["uncertainty"]["ttft_ms"]
    assert band["p10"] == pytest.approx(d["ttft_ms"] * math.exp(-0.16 * f))
    assert band["p90"] == pytest.approx(d["ttft_ms"] * math.exp(0.16 * f))
    assert band["bucket"] == "ttft|hopper|trtllm|dense|low_batch" and band["rows"] == 21
    user = d["uncertainty"]["tokens_per_s_per_user"]
    assert user["p10"] == pytest.approx(d["tokens_per_s_per_user"] * math.exp(-0.16 * f))
    assert set(d["uncertainty"]) == set(unc.FIGURES)


def test_a_profile_without_a_cross_validation_table_says_there_is_no_band():
    e = _est("llama-3.1-8b", "h100-sxm", gpus=1, weights="fp8", isl=128, osl=128, concurrency=1)
    assert e.uncertainty == {} and any("no error band" in w for w in e.warnings)


def test_a_prior_profile_takes_the_widened_prior_band():
    prof = make_profile()
    prof.uncertainty = _cv_table(prior=True)
    e = estimate("llama-3.1-8b", "tpu-v6e", gpus=1, weights="bf16", isl=1024, osl=1024, concurrency=4, calibration=prof)
    f = unc.PRIOR_WIDEN * math.sqrt(1 + unc.MIN_ROWS / 21)
    band = e.uncertainty["output_tokens_per_s_per_gpu"]
    assert band["bucket"] == "prior:throughput"
    assert band["p90"] == pytest.approx(e.output_tokens_per_s_per_gpu * math.exp(0.16 * f))


def test_open_loop_rate_reports_the_sustainable_maximum():
    kw = {"gpus": 1, "weights": "fp8", "isl": 512, "osl": 256}
    low = _est("llama-3.1-8b", "h100-sxm", rate_rps=1.0, **kw)
    assert not low.overloaded and low.requests_per_s == pytest.approx(1.0)
    assert low.max_sustainable_rate_rps > 1.0
    high = _est("llama-3.1-8b", "h100-sxm", rate_rps=10 * low.max_sustainable_rate_rps, **kw)
    assert high.overloaded and any("overloaded" in w for w in high.warnings)
    assert math.isinf(high.ttft_ms)
    with pytest.raises(TokenfabError, match="rate_rps"):
        _est("llama-3.1-8b", "h100-sxm", rate_rps=1.0, concurrency=4, **kw)


def _cli(*args):
    return CliRunner().invoke(app, ["estimate", *args])


def test_cli_json_contract(tmp_path):
    path = tmp_path / "profile.json"
    WITH_OVERHEADS.save(path)
    r = _cli(
        "--model", "llama-3.1-70b", "--hardware", "h200-sxm", "--gpus", "8", "--weights", "fp8",
        "--isl", "1024", "--osl", "1024", "--concurrency", "max", "--calibration", str(path), "--json",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    for k in CONTRACT:
        assert k in d, k
    assert d["tp"] == 8 and d["kv"] == "fp8" and d["fits"] is True and d["engine"] == "trtllm"
    assert d["concurrency"] == d["concurrency_cap"]
    assert set(d["calibration"]) == CALIBRATION_KEYS and d["calibration"]["hardware_profile"] == "fitted"
    # the same figures as the API under the same profile
    e = estimate("llama-3.1-70b", "h200-sxm", gpus=8, weights="fp8", isl=1024, osl=1024, calibration=str(path))
    assert d["output_tokens_per_s_per_gpu"] == pytest.approx(e.output_tokens_per_s_per_gpu)


def test_cli_speculative_flags():
    r = _cli("--model", "deepseek-r1", "--hardware", "b200", "--gpus", "8", "--mtp", "2", "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["speculative"]["method"] == "mtp" and d["speculative"]["draft_tokens"] == 2
    assert 1.0 < d["speculative"]["acceptance_length"] < 3.0


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--tp", "3", "--gpus", "3"], "tp:"),
        (["--gpus", "128"], "--gpus:"),  # TP = GPUs when --tp is not given: the flag typed is named
        (["--weights", "fp6"], "weights:"),
        (["--concurrency", "lots"], "concurrency:"),
        (["--isl", "0"], "isl:"),
        (["--prefix-hit", "1.0"], "--prefix-hit:"),  # errors name the flag as typed
        (["--rate", "2", "--concurrency", "4"], "--concurrency:"),
        (["--mtp", "1"], "--spec:"),  # Llama ships no MTP heads
        (["--mtp-acceptance", "1.5"], "--mtp-acceptance:"),  # an acceptance without speculation
    ],
)
def test_cli_bad_input_is_one_clear_line(args, needle):
    r = _cli("--model", "llama-3.1-70b", "--hardware", "h200-sxm", *args)
    assert r.exit_code == 2, r.output
    assert needle in r.output and "Traceback" not in r.output
    assert len(r.output.strip().splitlines()) == 1


def test_acceptance_beyond_the_draft_is_refused():
    r = _cli("--model", "deepseek-r1", "--hardware", "b200", "--gpus", "8", "--mtp", "2", "--mtp-acceptance", "3.5")
    assert r.exit_code == 2 and "--mtp-acceptance" in r.output and "[1, 3]" in r.output


def test_model_that_does_not_fit_says_so():
    e = _est("llama-3.1-405b", "h100-sxm", gpus=1, weights="bf16", isl=128, osl=128, concurrency=1)
    assert not e.fits and any(w.startswith("does not fit") for w in e.warnings)
    assert e.output_tokens_per_s == 0.0 and math.isinf(e.ttft_ms)
    r = _cli("--model", "llama-3.1-405b", "--hardware", "h100-sxm", "--gpus", "1", "--weights", "bf16", "--json")
    assert r.exit_code == 1 and json.loads(r.stdout)["fits"] is False  # no latency to report: the command fails


@pytest.mark.parametrize("hw", ["h100-sxm", "tpu-v5e", "groq-lpu", "cerebras-wse3"])
def test_without_gpus_the_smallest_fitting_layout_is_chosen(hw):
    # Groq: 32 users of 2k tokens need ~870 chips, beyond its 576-chip domain (refused below); one user fits in it
    users = 1 if hw == "groq-lpu" else 32
    e = _est("llama-3.1-70b", hw, weights="fp8", isl=1024, osl=1024, concurrency=users)
    assert e.fits and e.concurrency == users
    assert any("--gpus not given" in w for w in e.warnings)
    # one step smaller does not hold the weights and the sequences
    smaller = {"groq-lpu": e.gpus - 8, "cerebras-wse3": e.gpus - 1}.get(hw, e.gpus // 2)  # TP halves for HBM GPUs
    if smaller >= 1:
        s = _est("llama-3.1-70b", hw, gpus=smaller, weights="fp8", isl=1024, osl=1024, concurrency=users)
        assert (not s.fits) or s.concurrency_cap < users


def test_a_deployment_beyond_the_domain_of_hardware_without_scale_out_is_refused():
    """Groq's catalog entry gives its chip-to-chip fabric as a 576-chip domain and no scale-out bandwidth: a layout
    past it was priced at a 1 MB/s placeholder (TTFT 37 s, TPOT 59 ms for Llama-70B at fp16 on 784 chips). It is not
    modelled: estimate names the flag that set the chip count, the sweep has no such layout, fit says so."""
    with pytest.raises(TokenfabError, match="beyond its scale-up domain of 576") as ei:
        _est("llama-3.1-70b", "groq-lpu", weights="fp16", isl=1024, osl=1024, concurrency=1)
    assert ei.value.field == "weights"
    with pytest.raises(TokenfabError, match="beyond its scale-up domain") as ei:
        _est("llama-3.1-70b", "groq-lpu", gpus=640, weights="fp16", isl=1024, osl=1024, concurrency=1)
    assert ei.value.field == "gpus"
    from tokenfab.perf.memory import fit
    from tokenfab.search.space import layouts

    assert layouts(M.get_model("llama-3.1-70b"), get_hardware("groq-lpu"), 640) == []
    assert layouts(M.get_model("llama-3.1-70b"), get_hardware("groq-lpu"), 576)
    f = fit("llama-3.1-70b", "groq-lpu", weights="fp16", users=1, context=2048)
    assert f.gpus > 576 and "do not model" in f.message
    # every layout of a chip count sram_layout lays out has a pipeline no deeper than the layers (it was PP=1304)
    g = fit("llama-3.1-70b", "groq-lpu", weights="fp16", users=64, context=8192)
    assert g.pp <= 80 and g.tp * g.pp == g.gpus


def test_the_estimate_table_says_when_speculative_decoding_is_on():
    """The text table read a key the speculative dict never has and said "off" while the figures used MTP."""
    r = _cli("--model", "deepseek-r1", "--hardware", "b200", "--gpus", "8", "--weights", "fp4", "--concurrency", "64")
    assert r.exit_code == 0 and "speculative" in r.stdout
    on = _cli(
        "--model",
        "deepseek-r1",
        "--hardware",
        "b200",
        "--gpus",
        "8",
        "--weights",
        "fp4",
        "--concurrency",
        "64",
        "--spec",
        "mtp",
        "--mtp",
        "2",
    )
    assert on.exit_code == 0, on.output
    assert "mtp 2 draft tokens" in on.stdout


@settings(max_examples=25, deadline=None)
@given(
    model=st.sampled_from(["llama-3.1-70b", "qwen3-32b", "llama-3.1-8b", "mixtral-8x7b"]),
    hw=st.sampled_from(["h100-sxm", "h200-sxm", "mi300x", "l40s"]),
    engine=st.sampled_from(["trtllm", "vllm", "sglang", "generic"]),
    isl=st.integers(128, 16384),
    osl=st.integers(16, 4096),
)
def test_memory_in_use_never_exceeds_the_chip_at_the_concurrency_its_cache_admits(model, hw, engine, isl, osl):
    """Llama-70B FP8 on one H100 showed 84.9 GiB per GPU on an 80 GiB chip: the figure added a reserve and KV by
    another rule than the capacity's. Now both are one rule (perf.memory.memory_in_use_bytes), so at any concurrency
    the cache admits the memory in use is within the chip."""
    h = get_hardware(hw)
    if engine in ("trtllm",) and h.vendor != "NVIDIA":
        engine = "vllm"
    e = estimate(model, hw, isl=isl, osl=osl, engine=engine, weights="fp8" if h.vendor == "NVIDIA" else None)
    assert e.fits  # the default layout holds the model, at the concurrency its cache admits
    assert e.memory_per_gpu_gib <= h.memory_capacity_gib * (1 + 1e-9), (e.memory_per_gpu_gib, e.concurrency)


def test_llama_70b_fp8_on_one_h100_shows_no_more_memory_than_the_chip():
    e = estimate("llama-3.1-70b", "h100-sxm", gpus=1, weights="fp8")
    assert e.fits and e.concurrency >= 1 and 75.0 < e.memory_per_gpu_gib <= 80.0


@pytest.mark.parametrize(
    "kw",
    [
        dict(spec_method="off", mtp_draft_tokens=2),  # ran with speculation off
        dict(spec_method="mtp", mtp_draft_tokens=0),  # ran with 1 draft token
        dict(spec_method="eagle3", mtp_draft_tokens=0, mtp_acceptance_length=1.5),
    ],
)
def test_contradictory_speculative_choices_are_refused(kw):
    with pytest.raises(TokenfabError) as e:
        estimate("deepseek-v3", "h200-sxm", tp=8, concurrency=64, **kw)
    assert e.value.field == "mtp_draft_tokens"
    # the consistent choices still run: a method alone (1 draft), draft tokens alone (the model's MTP), 0 alone (off)
    assert estimate("deepseek-v3", "h200-sxm", tp=8, concurrency=64, spec_method="mtp").mtp_draft_tokens == 1
    assert estimate("deepseek-v3", "h200-sxm", tp=8, concurrency=64, mtp_draft_tokens=2).mtp_draft_tokens == 2
    assert estimate("deepseek-v3", "h200-sxm", tp=8, concurrency=64, mtp_draft_tokens=0).mtp_draft_tokens == 0


def test_an_sram_layout_splits_kv_before_it_copies_it():
    """On Groq, estimate's automatic layout for Llama-8B grew 88 -> 96 -> 136 -> 584 chips as concurrency rose 1 -> 8
    and was then refused: it took the widest TP, past the 8 KV heads, where every TP rank holds a copy of the KV, so
    more chips held fewer sequences. Now TP stays within the KV heads while a pipeline can take the rest (TP within a
    node, pipeline across: the GPU convention), and fit splits a sequence's KV the same way estimate does."""
    from tokenfab.perf.memory import fit, sram_layout

    assert sram_layout(96, 576, 32, kv_ways=8) == (8, 12)
    assert sram_layout(96, 576, 32) == (96, 1)  # without the KV preference: the widest TP
    assert sram_layout(4096, 576, 32, kv_ways=8)[0] > 8  # a pipeline deeper than the layers: TP widens after all
    chips = []
    for c in (1, 2, 4, 8, 16):
        e = _est("llama-3.1-8b", "groq-lpu", isl=1024, osl=1024, concurrency=c)
        assert e.fits and e.tp <= 8 and e.concurrency == c
        chips.append(e.gpus)
    assert chips == sorted(chips) and chips[-1] <= 2 * chips[0]
    f = fit("llama-3.1-8b", "groq-lpu", gpus=96, users=16, context=2048)
    e = _est("llama-3.1-8b", "groq-lpu", gpus=96, isl=1024, osl=1024, concurrency=16)
    assert (f.tp, f.pp) == (e.tp, e.pp) == (8, 12) and f.fits and e.fits


def test_an_sram_layout_keeps_the_widest_tp_where_it_holds_the_sequences():
    """TP within the KV heads only where the KV binds: one sequence on 96 chips keeps TP 96 (fastest per token);
    16 need the pipeline; fit takes a TP/PP it is given."""
    from tokenfab.perf.memory import fit

    one = _est("llama-3.1-8b", "groq-lpu", gpus=96, isl=1024, osl=1024, concurrency=1)
    many = _est("llama-3.1-8b", "groq-lpu", gpus=96, isl=1024, osl=1024, concurrency=16)
    assert (one.tp, one.pp) == (96, 1) and (many.tp, many.pp) == (8, 12)
    assert one.tokens_per_s_per_user > many.tokens_per_s_per_user
    given = fit("llama-3.1-70b", "groq-lpu", weights="fp8", tp=576, pp=1, users=1, context=2048)
    assert (given.tp, given.pp) == (576, 1)
    g = fit("llama-3.1-8b", "groq-lpu", users=64, context=8192)
    assert not g.fits and "cannot hold 64 sequences" in g.message and "at least" not in g.message


def test_a_speculative_draft_takes_memory_and_kv_room():
    """DeepSeek-V3's MTP module (one decoder layer, loaded only with speculation on) and its KV were not counted:
    --spec mtp showed the memory and the cache capacity of --spec off."""
    off = estimate("deepseek-v3", "h200-sxm", tp=8, concurrency=64, spec_method="off")
    on = estimate("deepseek-v3", "h200-sxm", tp=8, concurrency=64, spec_method="mtp")
    # one layer of 61 at the model's average: ~1.3 GiB of 78 GiB of weights per GPU, plus 1/61 more KV
    assert 1.0 < on.memory_per_gpu_gib - off.memory_per_gpu_gib < 2.0
    cap_off = estimate("deepseek-v3", "h200-sxm", tp=8, spec_method="off").concurrency
    cap_on = estimate("deepseek-v3", "h200-sxm", tp=8, spec_method="mtp").concurrency
    assert cap_on < cap_off
