"""Model catalog: parsing Hugging Face config.json, parameter counts, weight bytes, KV bytes, FLOPs."""

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokenfab.catalog import models as M
from tokenfab.core.errors import TokenfabError, UnknownKeyError

SHARED = Path(__file__).resolve().parents[2] / "shared" / "reference"
REQUIRED = [
    "llama-2-70b",
    "llama-3.1-8b",
    "llama-3.1-70b",
    "llama-3.3-70b",
    "llama-3.1-405b",
    "llama-4-scout",
    "llama-4-maverick",
    "mixtral-8x7b",
    "mixtral-8x22b",
    "mistral-7b",
    "deepseek-v3",
    "deepseek-r1",
    "qwen3-8b",
    "qwen3-32b",
    "qwen3-30b-a3b",
    "qwen3-235b-a22b",
    "gpt-oss-20b",
    "gpt-oss-120b",
    "kimi-k2",
]


def test_required_keys_bundled():
    assert set(REQUIRED) <= set(M.model_keys())


@pytest.mark.parametrize("key", M.model_keys())
def test_param_counts_match_published_within_2pct(key):
    """Published totals/actives from shared/reference/models_known_params.md (sources in data/models.yaml)."""
    spec = M.get_model(key)
    pub = M.published_params(key)
    pc = M.param_counts(spec)
    tol = pub.get("tolerance", 0.02)
    assert abs(pc.total / 1e9 / pub["total_b"] - 1) <= tol, (pc.total / 1e9, pub)
    if "active_b" in pub:
        active = getattr(pc, pub["active_convention"]) / 1e9
        # published active counts are rounded ("32B active", "3.3B"): allow 2% plus half a unit of the last digit given
        digits = len(str(pub["active_b"]).split(".")[1]) if "." in str(pub["active_b"]) else 0
        rounding = 0.5 * 10.0**-digits / pub["active_b"]
        assert abs(active / pub["active_b"] - 1) <= max(tol, 0.02) + rounding, (active, pub)


@pytest.mark.skipif(not (SHARED / "models.csv").exists(), reason="shared/reference/models.csv is not beside the repo")
def test_param_counts_match_reference_summary_exactly():
    """models.csv (shared/reference) counts each component from the same configs; we agree to 0.1%."""
    rows = {r["hf_id"]: r for r in csv.DictReader(open(SHARED / "models.csv"))}
    idx = M._catalog_index()
    checked = 0
    for key in M.model_keys():
        r = rows.get(idx[key].get("hf_id"))
        if not r:
            continue
        pc = M.param_counts(M.get_model(key))
        assert pc.total / 1e9 == pytest.approx(float(r["total_params_b"]), rel=1e-3), key
        assert pc.active / 1e9 == pytest.approx(float(r["active_params_b"]), rel=1e-3), key
        assert pc.active_excl_input_embedding / 1e9 == pytest.approx(
            float(r["active_params_excl_input_embed_b"]), rel=2e-3
        ), key
        checked += 1
    assert checked >= 20


def test_kv_bytes_per_token_hand_checked():
    # Llama 3.1 70B: 2 (K,V) x 8 KV heads x 128 head dim x 80 layers x 2 bytes = 327,680 B/token
    assert M.kv_bytes_per_token(M.get_model("llama-3.1-70b"), "bf16") == 2 * 8 * 128 * 80 * 2
    # DeepSeek-V3 MLA: (kv_lora_rank 512 + rope 64) x 61 layers x 2 bytes = 70,272 B/token
    assert M.kv_bytes_per_token(M.get_model("deepseek-v3"), "bf16") == 576 * 61 * 2
    # FP8 KV halves it
    assert M.kv_bytes_per_token(M.get_model("deepseek-v3"), "fp8") == 576 * 61


def test_sliding_window_caps_kv():
    m = M.get_model("mistral-7b")  # window 4096 on every layer
    assert M.kv_cache_bytes(m, 8192, "bf16") == M.kv_cache_bytes(m, 4096, "bf16")
    g = M.get_model("gpt-oss-120b")  # 18 sliding (128) + 18 full layers
    per_layer = 2 * 8 * 64 * 2
    assert M.kv_cache_bytes(g, 10000, "bf16") == pytest.approx(18 * per_layer * 10000 + 18 * per_layer * 128)


def test_hybrid_state_is_constant_per_sequence():
    q = M.get_model("qwen3.5-397b-a17b")
    a, b, c = (M.kv_cache_bytes(q, x, "bf16") for x in (1000, 2000, 3000))
    assert b - a == pytest.approx(c - b)  # linear in context (15 full-attention layers) ...
    assert a > (b - a)  # ... plus a constant recurrent state (45 Gated DeltaNet layers)


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 60000), st.integers(1, 60000), st.sampled_from(["llama-3.1-8b", "deepseek-v3", "qwen3-32b"]))
def test_kv_grows_linearly_with_context(a, b, key):
    m = M.get_model(key)
    assert M.kv_cache_bytes(m, a + b, "bf16") == pytest.approx(
        M.kv_cache_bytes(m, a, "bf16") + M.kv_cache_bytes(m, b, "bf16")
    )


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 50000), st.integers(1, 50000))
def test_windowed_kv_is_monotone_and_bounded(a, b):
    m = M.get_model("gpt-oss-20b")
    lo, hi = sorted((a, b))
    assert M.kv_cache_bytes(m, lo, "bf16") <= M.kv_cache_bytes(m, hi, "bf16")


def test_weight_bytes_by_precision_include_block_scales():
    m = M.get_model("llama-3.1-8b")
    pc = M.param_counts(m)
    wb16, wb8, wb4 = (M.weight_bytes(m, p) for p in ("bf16", "fp8", "fp4"))
    assert wb16["total"] == pytest.approx(pc.total * 2)
    dec = pc.total - pc.embedding - pc.lm_head - pc.norms
    # FP8 with 128x128 FP32 block scales: 1 + 4/16384 bytes/param; embeddings and lm_head stay 16-bit
    assert wb8["attention"] + wb8["dense_mlp"] == pytest.approx((pc.attention + pc.dense_mlp) * (1 + 4 / 16384))
    # NVFP4: 0.5 byte + one FP8 scale per 16 elements
    assert wb4["dense_mlp"] == pytest.approx(pc.dense_mlp * 0.5625)
    assert wb4["embedding"] == pytest.approx(pc.embedding * 2)
    assert wb4["total"] < wb8["total"] < wb16["total"]
    assert dec > 0


def test_native_precision_from_quantization_config():
    assert M.get_model("deepseek-v3").native_weights == "fp8"
    g = M.get_model("gpt-oss-120b")
    assert g.native_weights == "mxfp4" and "attention" in g.keep_bf16  # attention stays BF16 in the checkpoint
    assert M.get_model("qwen3-235b-a22b-fp4").native_weights == "fp4"  # from hf_quant_config.json (ModelOpt NVFP4)


def test_flops_per_token():
    m = M.get_model("llama-3.1-8b")
    pc = M.param_counts(m)
    assert M.decode_flops_per_token(m, 0) == pytest.approx(2 * pc.active_excl_input_embedding)
    # attention adds 2 x 32 heads x 128 x 2 (QK and PV) per context token per layer
    assert M.decode_flops_per_token(m, 1000) - M.decode_flops_per_token(m, 0) == pytest.approx(32 * 4 * 32 * 128 * 1000)
    # prefill attention is causal: n(n+1)/2 pairs
    assert M.attention_flops_prefill(m, 100) == pytest.approx(32 * 4 * 32 * 128 * 100 * 101 / 2)


def test_load_from_path_and_folder(tmp_path):
    src = M._catalog_index()["qwen3-8b"]["config"]
    cfg = json.loads(M.data_path("models", src).read_text())
    d = tmp_path / "mymodel"
    d.mkdir()
    (d / "config.json").write_text(json.dumps(cfg))
    a = M.get_model(str(d))
    b = M.get_model(str(d / "config.json"))
    assert M.param_counts(a).total == M.param_counts(b).total == M.param_counts(M.get_model("qwen3-8b")).total


def test_bad_config_names_field(tmp_path):
    p = tmp_path / "config.json"
    p.write_text(json.dumps({"hidden_size": 1024, "num_attention_heads": 8, "vocab_size": 100}))
    with pytest.raises(TokenfabError, match="num_hidden_layers"):
        M.get_model(str(p))


def test_unknown_model_suggests():
    with pytest.raises(UnknownKeyError) as e:
        M.get_model("llama-3.1-7b")
    assert "llama-3.1-8b" in str(e.value)
