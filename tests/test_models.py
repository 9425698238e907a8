"""Model catalog: parsing Hugging Face config.json, parameter counts, weight bytes, KV bytes, FLOPs."""

import csv
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokenfab.catalog import models as M
from tokenfab.core.errors import TokenfabError, UnknownKeyError

PARAM_COUNTS = Path(__file__).resolve().parent / "data" / "model_param_counts.csv"
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
    """Published totals/actives (model cards and technical reports: the sources in data/models.yaml)."""
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


def test_param_counts_match_reference_summary_exactly():
    """tests/data/model_param_counts.csv counts each component from the same public configs independently; we agree
    to 0.1%."""
    lines = [x for x in PARAM_COUNTS.read_text().splitlines() if not x.startswith("#")]
    rows = {r["hf_id"]: r for r in csv.DictReader(lines)}
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


# --------------------------------------------------------------------------------------------- regression
SNAPSHOT = Path(__file__).resolve().parent / "data" / "model_catalog_snapshot_efd1849.json"


def _layers_sha256(spec, names):
    rows = [[getattr(layer, n) for n in names] for layer in spec.layers]
    return hashlib.sha256(json.dumps(rows, sort_keys=True).encode()).hexdigest()


def _snapshot(spec, contexts, names):
    """Every number of a parsed model the rest of tokenfab reads (the generator of the snapshot file)."""
    pc = M.param_counts(spec).to_dict()
    pc.pop("tied_embeddings")
    return {
        "params": pc,
        "kv_bytes_per_token_bf16": M.kv_bytes_per_token(spec, "bf16"),
        "kv_cache_bytes_bf16": [M.kv_cache_bytes(spec, c, "bf16") for c in contexts],
        "attention_flops_decode_8192": M.attention_flops_decode(spec, 8192),
        "attention_flops_prefill_4096": M.attention_flops_prefill(spec, 4096),
        "native_weights": spec.native_weights,
        "native_kv": spec.native_kv,
        "keep_bf16": list(spec.keep_bf16),
        "mtp_layers": spec.mtp_layers,
        "num_layers": spec.num_layers,
        "family": spec.architecture_family,
        "layers_sha256": _layers_sha256(spec, names),
        "hidden_size": spec.hidden_size,
        "vocab_size": spec.vocab_size,
        "tie_word_embeddings": spec.tie_word_embeddings,
        "max_position_embeddings": spec.max_position_embeddings,
        "weight_bytes_native_total": M.weight_bytes(spec, spec.native_weights)["total"],
    }


def test_existing_models_unchanged_since_efd1849():
    """The 29 models bundled before DeepSeek-V4 / GLM-5.2 / MiniMax-M3 parse to exactly the same numbers (every
    LayerSpec field of every layer via a digest, parameter components, KV bytes, FLOPs, precision, MTP)."""
    snap = json.loads(SNAPSHOT.read_text())
    assert len(snap["models"]) == 29
    for key, before in snap["models"].items():
        now = _snapshot(M.get_model(key), snap["contexts"], snap["layer_fields"])
        for field_name, value in before.items():
            if field_name == "params":
                assert {k: now["params"][k] for k in value} == value, key
            else:
                assert now[field_name] == value, (key, field_name)


# ------------------------------------------------------------------------------ DeepSeek-V4 / GLM-5.2 / MiniMax-M3
NEW_KEYS = ["deepseek-v4-pro", "glm-5.2", "minimax-m3"]  # the keys the calibration data uses


def _bundled_config(key):
    return json.loads(M.data_path("models", M._catalog_index()[key]["config"]).read_text())


def test_new_models_bundled_with_public_pinned_sources():
    idx = M._catalog_index()
    for key in [*NEW_KEYS, "deepseek-v4-pro-dspark", "deepseek-v4-flash", "minimax-m3-mxfp8"]:
        e = idx[key]
        assert e["source"].startswith("https://huggingface.co/" + e["hf_id"] + "/resolve/"), key
        assert e["published"]["source"] and "/work/" not in e["source"] + e["published"]["source"]
        # the bundled file is byte-identical to the published one (SHA-256 pinned by independent projects)
        digest = hashlib.sha256(M.data_path("models", e["config"]).read_bytes()).hexdigest()
        assert digest == e["config_sha256"], key


def test_deepseek_v4_pro_parameters_from_tensor_shapes():
    """Hand count from the checkpoint's tensor shapes (transformers modeling_deepseek_v4.py; SOURCES: hidden 7168,
    128 heads x 512, q LoRA 1536, o 16 groups x 1024, indexer 64 x 128, hc_mult 4, 384 + 1 experts of 3072)."""
    h, nh, hd, ql, og, olr, ihd, inh, E, mi, V = 7168, 128, 512, 1536, 16, 1024, 128, 64, 384, 3072, 129280
    attn = h * ql + ql + ql * nh * hd + h * hd + hd + nh * hd * olr + og * olr * h + nh  # q, kv, wo_a, wo_b, sinks
    csa = attn + (2 * h * 2 * hd + 4 * 2 * hd + hd) + (2 * h * 2 * ihd + 4 * 2 * ihd + ihd + ql * inh * ihd + h * inh)
    hca = attn + (2 * h * hd + 128 * hd + hd)
    hc = 2 * (24 * 4 * h + 24 + 3)  # attention and FFN hyper-connection mixers: fn [24, 4h], base [24], scale [3]
    moe = E * 3 * h * mi + 3 * h * mi + E * h  # routed + shared experts + gate weight
    per_layer_rest = hc + 2 * h + moe
    total = 30 * csa + 31 * hca + 61 * per_layer_rest + (61 - 3) * E  # correction bias: not on the 3 hash layers
    total += 2 * V * h + h + (4 * 4 * h + 4 + 1)  # embedding, lm_head, final norm, hc head
    pc = M.param_counts(M.get_model("deepseek-v4-pro"))
    assert pc.total == total == 1_572_997_201_763
    # SOURCES.md's script: 1,572,997,202,915 = ours + 3 x 384 (it gives the hash layers a correction bias too)
    assert 1_572_997_202_915 - pc.total == 3 * 384
    # a third-party table counting every stored tensor: 1,598,839,674,782 = ours + tid2eid (3 x 129280 x 6 int64
    # entries, a lookup table: not in our total) + the MTP layer (a sliding-window layer + e_proj/h_proj + 3 norms +
    # its hc head)
    mtp = attn + per_layer_rest + E + 2 * h * h + 3 * h + (4 * 4 * h + 4 + 1)
    assert pc.total + 3 * V * 6 + mtp == 1_598_839_674_782
    # vendor: "1.6T parameters (49B activated)" (model card); DeepSeek counts active without the input embedding
    assert pc.active_excl_input_embedding / 1e9 == pytest.approx(48.85, abs=0.01)
    assert pc.active / 1e9 == pytest.approx(49.78, abs=0.01)  # SOURCES.md: 49.78B incl. embedding and head


def test_glm_5_2_parameters_shared_indexer_layers_have_no_indexer():
    """GLM-5.2 (SOURCES.md): 743,377,019,904 without MTP; the Hub's 753.33B adds the MTP layer (a MoE layer with a
    full indexer + eh_proj [h, 2h] + 3 norms). vLLM recipe: ~743B total, 39B active (without embedding and head)."""
    g = M.get_model("glm-5.2")
    pc = M.param_counts(g)
    assert pc.total == 743_377_019_904
    full = [i for i, layer in enumerate(g.layers) if layer.indexer_flops_per_ctx_token]
    assert full == [0, 1, 2, *range(6, 78, 4)] and len(full) == 21
    h = 6144
    indexer = 2048 * 32 * 128 + h * 128 + 2 * 128 + h * 32  # wq_b, wk, k_norm (weight + bias), weights_proj
    assert g.layers[6].attn_params - g.layers[7].attn_params == indexer
    mtp_layer = g.layers[6]
    mtp = (
        mtp_layer.attn_params
        + 256 * mtp_layer.expert_params
        + mtp_layer.shared_expert_params
        + mtp_layer.router_params
        + mtp_layer.norm_params
        + 2 * h * h
        + 3 * h
    )
    assert pc.total + mtp == 753_329_940_480
    assert pc.active_excl_embeddings / 1e9 == pytest.approx(39.35, abs=0.01)
    assert [layer.mlp for layer in g.layers[:4]] == ["dense", "dense", "dense", "moe"] and g.vocab_size == 154_880


def test_minimax_m3_parameters():
    """Text decoder of MiniMax-M3: 426,174,572,928 (SOURCES.md; + the vision tower = the checkpoint's 427.04B);
    active 23.5B without embedding and head (vendor: 23B activated, 428B total with the vision tower)."""
    m = M.get_model("minimax-m3")
    h, V = 6144, 200064
    attn = h * 64 * 128 + 2 * h * 4 * 128 + 64 * 128 * h + 2 * 128  # q, k, v, o, per-head q/k norm
    indexer = h * 4 * 128 + h * 128 + 2 * 128  # index_q_proj [512, h], index_k_proj [128, h], index q/k norms
    dense = 3 * h * 12288  # dense_intermediate_size on layers 0-2
    moe = 128 * 3 * h * 3072 + 3 * h * 3072 + h * 128 + 128  # routed, shared, router + routing bias
    total = 3 * (attn + dense + 2 * h) + 57 * (attn + indexer + moe + 2 * h) + 2 * V * h + h
    pc = M.param_counts(m)
    assert pc.total == total == 426_174_572_928
    assert pc.active_excl_embeddings == pytest.approx(23_504_087_424)
    assert [layer.mlp for layer in m.layers[2:4]] == ["dense", "moe"]
    assert m.layers[3].experts_per_token == 4 and m.layers[3].expert_params == 3 * h * 3072
    assert M.param_counts(M.get_model("minimax-m3-mxfp8")).total == pc.total


def test_kv_bytes_hand_checked_new_architectures():
    ctx = 8192
    # DeepSeek-V4-Pro, FP8 cache, 8k context. Every layer keeps the last 128 raw tokens beside its compressed stream;
    # one entry = 448 NoPE B + 64 RoPE x 2 B + 8 B scales = 584 B (ATOM).
    #   30 CSA layers: 584 x (8192 / 4 + 128) + FP8 index keys 128 / 4 = 32 B per token x 8192 = 1,532,928 B
    #   31 HCA layers: 584 x (8192 / 128 + 128) = 112,128 B
    v4 = M.get_model("deepseek-v4-pro")
    csa, hca = 584 * (ctx // 4 + 128) + 32 * ctx, 584 * (ctx // 128 + 128)
    assert (csa, hca) == (1_532_928, 112_128)
    assert M.kv_cache_bytes(v4, ctx, "fp8") == 30 * csa + 31 * hca == 49_463_808  # 6,038 B per token
    # per token of context with windows uncapped: 30 x (584 / 4 + 32) + 31 x 584 / 128
    assert M.kv_bytes_per_token(v4, "fp8") == pytest.approx(30 * (146 + 32) + 31 * 584 / 128)
    # GLM-5.2, FP8: MLA latent 512 + rope 64 on 78 layers + FP8 index keys 128 on the 21 full-indexer layers only
    assert M.kv_cache_bytes(M.get_model("glm-5.2"), ctx, "fp8") == (78 * 576 + 21 * 128) * ctx  # 47,616 B/token
    # MiniMax-M3, BF16 KV: K + V of 4 heads x 128 on 60 layers, + FP8 index keys (128) on the 57 sparse layers
    assert M.kv_cache_bytes(M.get_model("minimax-m3"), ctx, "bf16") == (60 * 2 * 4 * 128 * 2 + 57 * 128) * ctx
    # V4-Flash: 2 window-only layers hold 128 tokens whatever the context
    f = M.get_model("deepseek-v4-flash")
    assert [layer.attention for layer in f.layers[:3]] == ["sliding", "sliding", "full"]
    assert M.kv_entries(f.layers[0], 100_000) == 128 and f.layers[0].index_elements_per_token == 0


def test_attended_entries_at_long_context():
    ctx = 131072
    v4 = M.get_model("deepseek-v4-pro")
    csa, hca = v4.layers[2], v4.layers[1]
    assert (csa.kv_compress_ratio, hca.kv_compress_ratio) == (4, 128)
    assert M.attended_entries(csa, ctx) == 1024 + 128  # top-1024 compressed entries + the raw window
    assert M.kv_entries(csa, ctx) == ctx / 4 + 128
    assert M.attended_entries(hca, ctx) == M.kv_entries(hca, ctx) == ctx / 128 + 128  # dense over the stream
    assert hca.indexer_flops_per_ctx_token == 0 and hca.attn_topk_tokens is None
    assert csa.indexer_flops_per_ctx_token == 2 * 64 * 128 / 4  # the indexer scores every compressed entry
    # short context: everything fits, the selector picks all of it
    assert M.attended_entries(csa, 1000) == 1000 / 4 + 128
    m3 = M.get_model("minimax-m3")
    assert M.attended_entries(m3.layers[3], ctx) == (16 + 1) * 128  # top-16 blocks + 1 local block of 128
    assert M.attended_entries(m3.layers[0], ctx) == ctx  # layers 0-2: full attention
    assert m3.layers[3].indexer_flops_per_ctx_token == 2 * 4 * 128 and m3.layers[0].indexer_flops_per_ctx_token == 0
    g = M.get_model("glm-5.2")
    full, shared = g.layers[6], g.layers[7]
    assert M.attended_entries(shared, ctx) == M.attended_entries(full, ctx) == 2048
    assert shared.indexer_flops_per_ctx_token == 0 and shared.index_elements_per_token == 0  # no indexer scan
    assert full.indexer_flops_per_ctx_token == 2 * 32 * 128 and full.index_elements_per_token == 128
    # decode attention FLOPs of one V4 CSA layer: QK + PV over 128 heads x 512 per entry, plus the indexer scan
    one = M.ModelSpec(key="x", name="x", architecture="x", hidden_size=1, vocab_size=1, tie_word_embeddings=True,
                      layers=(csa,))  # fmt: skip
    assert M.attention_flops_decode(one, ctx) == 4 * 128 * 512 * (1024 + 128) + 4096 * ctx


def test_draft_layer_counts_and_native_precision():
    assert M.get_model("deepseek-v4-pro").mtp_layers == 1
    # DSpark: 3 drafter stages (dspark_target_layer_ids) although num_nextn_predict_layers stays 1
    d = M.get_model("deepseek-v4-pro-dspark")
    assert _bundled_config("deepseek-v4-pro-dspark")["num_nextn_predict_layers"] == 1 and d.mtp_layers == 3
    assert M.param_counts(d).total == M.param_counts(M.get_model("deepseek-v4-pro")).total
    assert M.get_model("glm-5.2").mtp_layers == 1
    # MiniMax-M3's config names MTP modules its checkpoints do not ship
    assert M.get_model("minimax-m3").mtp_layers == M.get_model("minimax-m3-mxfp8").mtp_layers == 0
    v4 = M.get_model("deepseek-v4-pro")
    assert v4.native_weights == "mxfp4+fp8"  # quantization_config fp8 + expert_dtype fp4
    precs = M.component_precisions(v4, v4.native_weights)
    assert precs["routed_experts"] == "mxfp4" and precs["attention"] == precs["shared_experts"] == "fp8"
    assert M.get_model("glm-5.2").native_weights == M.get_model("minimax-m3").native_weights == "bf16"
    assert M.get_model("minimax-m3-mxfp8").native_weights == "mxfp8"
    # FP8 attention and MXFP4 experts (0.5 + 1/32 B) of the 1,573B main model
    wb = M.weight_bytes(v4, "mxfp4+fp8")
    assert wb["routed_experts"] == pytest.approx(M.param_counts(v4).routed_experts * (0.5 + 1 / 32))


@settings(max_examples=40, deadline=None)
@given(
    st.integers(0, 2_000_000),
    st.integers(0, 2_000_000),
    st.sampled_from([*NEW_KEYS, "deepseek-v4-flash"]),
    st.sampled_from(["bf16", "fp8", "fp4"]),
)
def test_new_models_kv_monotone_in_context(a, b, key, kv):
    m = M.get_model(key)
    lo, hi = sorted((a, b))
    assert M.kv_cache_bytes(m, lo, kv) <= M.kv_cache_bytes(m, hi, kv)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 3_000_000), st.sampled_from(M.model_keys()))
def test_attended_entries_never_exceed_stored(ctx, key):
    for layer in set(M.get_model(key).layers):
        assert M.attended_entries(layer, ctx) <= M.kv_entries(layer, ctx) + 1e-9


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 3000), st.integers(0, 5000), st.sampled_from([*NEW_KEYS, "deepseek-v4-flash", "gpt-oss-20b"]))
def test_causal_pairs_sum_decode_reads(n, cached, key):
    """Prefill pairs = sum over the new queries of what each reads at its position (query i sees i tokens)."""
    for layer in set(M.get_model(key).layers):
        if layer.attention not in ("full", "sliding", "chunked"):
            continue
        reads = M.attended_entries(layer, np.arange(cached + 1, cached + n + 1)).sum()
        assert M.causal_attended_pairs(layer, n, cached) == pytest.approx(reads, rel=1e-9)


def test_glm_indexer_schedule_rules_agree():
    """indexer_types, the F/S pattern and the freq/offset schedule (transformers glm_moe_dsa) give one result."""
    cfg = _bundled_config("glm-5.2")
    ref = M.parse_config(cfg)
    by_freq = {k: v for k, v in cfg.items() if k != "indexer_types"}
    assert M.parse_config(by_freq).layers == ref.layers
    pattern = "".join("F" if t == "full" else "S" for t in cfg["indexer_types"])
    assert M.parse_config({**by_freq, "index_topk_pattern": pattern}).layers == ref.layers
    all_full = M.parse_config({**cfg, "indexer_types": ["full"] * 78})
    assert M.param_counts(all_full).total - M.param_counts(ref).total == 57 * 9_371_904


def test_deepseek_v4_transformers_layer_types_agree():
    """transformers' DeepseekV4Config form (layer_types names, mlp_layer_types hash_moe / moe) parses like the Hub's
    compress_ratios / num_hash_layers."""
    cfg = _bundled_config("deepseek-v4-pro")
    names = {0: "sliding_attention", 4: "compressed_sparse_attention", 128: "heavily_compressed_attention"}
    tf = {k: v for k, v in cfg.items() if k not in ("compress_ratios", "num_hash_layers")}
    tf["layer_types"] = [names[r] for r in cfg["compress_ratios"][:61]]
    tf["mlp_layer_types"] = ["hash_moe"] * 3 + ["moe"] * 58
    assert M.parse_config(tf).layers == M.parse_config(cfg).layers
    # and the hash layers are what drops the 3 x 384 correction biases
    no_hash = M.parse_config({**cfg, "num_hash_layers": 0})
    assert M.param_counts(no_hash).total - M.param_counts(M.parse_config(cfg)).total == 3 * 384


@pytest.mark.parametrize(
    "key,path,value,field",
    [
        ("deepseek-v4-pro", ["compress_ratios"], [4] * 10, "compress_ratios"),
        ("deepseek-v4-pro", ["compress_ratios", 5], 8, "compress_ratios[5]"),
        ("deepseek-v4-pro", ["compress_ratios"], "4,128", "compress_ratios"),
        ("deepseek-v4-pro", ["o_groups"], 0, "o_groups"),
        ("deepseek-v4-pro", ["o_groups"], 7, "o_groups"),
        ("deepseek-v4-pro", ["num_key_value_heads"], 2, "num_key_value_heads"),
        ("deepseek-v4-pro", ["index_head_dim"], "128", "index_head_dim"),
        ("deepseek-v4-pro", ["hc_mult"], 1.5, "hc_mult"),
        ("deepseek-v4-pro", ["expert_dtype"], "fp3", "expert_dtype"),
        ("deepseek-v4-pro", ["sliding_window"], None, "sliding_window"),
        ("deepseek-v4-pro", ["head_dim"], float("inf"), "head_dim"),
        ("deepseek-v4-pro", ["num_attention_heads"], 0, "num_attention_heads"),
        ("deepseek-v4-pro", ["num_hidden_layers"], 10**9, "num_hidden_layers"),
        ("deepseek-v4-pro-dspark", ["dspark_target_layer_ids"], 3, "dspark_target_layer_ids"),
        ("glm-5.2", ["indexer_types", 0], "shared", "indexer_types[0]"),
        ("glm-5.2", ["indexer_types", 9], "half", "indexer_types[9]"),
        ("glm-5.2", ["mlp_layer_types"], ["dense"] * 3, "mlp_layer_types"),
        ("glm-5.2", ["index_topk"], -1, "index_topk"),
        ("minimax-m3", ["text_config", "moe_layer_freq", 4], 2, "moe_layer_freq[4]"),
        ("minimax-m3", ["text_config", "sparse_attention_config", "sparse_block_size"], 0, "sparse_block_size"),
        ("minimax-m3", ["text_config", "sparse_attention_config", "sparse_attention_freq"], 1, "sparse_attention_freq"),
        ("minimax-m3", ["text_config", "sparse_attention_config", "sparse_disable_index_value", 10], 0, "value"),
        ("minimax-m3", ["text_config", "sparse_attention_config"], [1], "sparse_attention_config"),
    ],
)
def test_malformed_new_keys_name_the_field(key, path, value, field):
    cfg = _bundled_config(key)
    node = cfg
    for p in path[:-1]:
        node = node[p]
    node[path[-1]] = value
    with pytest.raises(TokenfabError) as e:
        M.parse_config(cfg, key=key)
    assert field in str(e.value)


JUNK = [None, 0, -3, 2.5, float("nan"), "x", True, [], {}, [0] * 3, 10**12]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([*NEW_KEYS, "deepseek-v4-pro-dspark", *M.model_keys()]), st.data())
def test_fuzzed_configs_parse_or_raise_tokenfab_error(key, data):
    """Any junk value in any top-level (or text_config / sparse_attention_config) key of a bundled config: a
    ModelSpec with finite numbers or a TokenfabError, never another exception (the new architectures drawn twice
    as often)."""
    cfg = _bundled_config(key)
    node = cfg.get("text_config", cfg)
    if "sparse_attention_config" in node and data.draw(st.booleans()):
        node = node["sparse_attention_config"]
    name = data.draw(st.sampled_from(sorted(node)))
    node[name] = data.draw(st.sampled_from(JUNK))
    try:
        spec = M.parse_config(cfg, key=key)
    except TokenfabError:
        return
    assert np.isfinite(M.param_counts(spec).total) and np.isfinite(M.kv_cache_bytes(spec, 8192, "fp8"))


@pytest.mark.parametrize(
    "key, drop, set_, field",
    [
        ("deepseek-v3", "n_routed_experts", None, "n_routed_experts"),  # was a 39 GB dense model (673 GB)
        ("deepseek-v3", None, ("first_k_dense_replace", 1000), "first_k_dense_replace"),  # the same 39 GB
        ("deepseek-v3", "moe_intermediate_size", None, "moe_intermediate_size"),  # was 5,926 GB
        ("qwen3-30b-a3b", "moe_intermediate_size", None, "moe_intermediate_size"),
        ("llama-3.1-8b", "intermediate_size", None, "intermediate_size"),  # was 4.8 GB without its MLP (16 GB)
    ],
)
def test_a_config_missing_what_sizes_it_is_refused_not_sized_wrong(key, drop, set_, field):
    cfg = _bundled_config(key)
    if drop:
        cfg.pop(drop)
    if set_:
        cfg[set_[0]] = set_[1]
    with pytest.raises(TokenfabError) as e:
        M.parse_config(cfg, key=key)
    assert e.value.field.endswith(field), e.value.field


def test_mixtral_style_experts_take_intermediate_size_as_their_width():
    """num_local_experts without moe_intermediate_size (Mixtral, gpt-oss, Llama 4): intermediate_size is the
    expert's width, as transformers' MixtralConfig has it; not refused (46.7B in all:
    mistral.ai/news/mixtral-of-experts)."""
    cfg = _bundled_config("mixtral-8x7b")
    assert "moe_intermediate_size" not in cfg
    assert M.param_counts(M.parse_config(cfg, key="mixtral-8x7b")).total == pytest.approx(46.7e9, rel=0.01)


def test_real_moe_namings_still_parse():
    """The refusals above must not reject real configs: OLMoE / Jamba size experts with intermediate_size under
    num_experts (OLMoE-1B-7B: 6.9B total, 1.3B active, huggingface.co/allenai/OLMoE-1B-7B-0924); ERNIE-4.5 names them
    moe_num_experts / moe_k / moe_num_shared_experts; first_k_dense_replace equal to the layers makes every layer
    dense (transformers DeepseekV3Config)."""
    olmoe = {
        "model_type": "olmoe", "hidden_size": 2048, "intermediate_size": 1024, "num_hidden_layers": 16,
        "num_attention_heads": 16, "num_key_value_heads": 16, "vocab_size": 50304, "num_experts": 64,
        "num_experts_per_tok": 8, "max_position_embeddings": 4096, "hidden_act": "silu",
    }  # fmt: skip
    c = M.param_counts(M.parse_config(olmoe, key="olmoe"))
    assert c.total == pytest.approx(6.9e9, rel=0.02) and c.active == pytest.approx(1.3e9, rel=0.03)
    mix = _bundled_config("mixtral-8x7b")
    ernie = {k: v for k, v in mix.items() if k not in ("num_local_experts", "num_experts_per_tok")}
    ernie.update(moe_num_experts=8, moe_k=2, moe_intermediate_size=mix["intermediate_size"])
    assert M.param_counts(M.parse_config(ernie)).total == pytest.approx(
        M.param_counts(M.parse_config(mix)).total, rel=1e-9
    )
    ds = _bundled_config("deepseek-v3")
    all_dense = M.parse_config({**ds, "first_k_dense_replace": ds["num_hidden_layers"]}, key="deepseek-v3")
    assert all(layer.num_experts == 0 for layer in all_dense.layers)
