"""Model catalog and architecture arithmetic from Hugging Face ``config.json``.

A model is parsed into a :class:`ModelSpec`: global sizes plus one :class:`LayerSpec` per decoder layer (attention
kind and shape, MLP or MoE shape). Everything else is a pure function of it:

- :func:`param_counts` - total and active parameters by component (attention, dense MLP, routed experts, shared
  experts, router, embeddings, lm_head, norms, linear-attention/SSM mixers).
- :func:`weight_bytes` - bytes per component at a precision, including block-scale overhead (see precision.py).
- :func:`kv_cache_bytes` / :func:`kv_bytes_per_token` - KV cache for GQA/MHA, MLA latents, sliding-window and chunked
  layers (capped at the window), compressed streams (DeepSeek-V4 CSA/HCA: one entry per ``kv_compress_ratio`` tokens
  beside a raw window), indexer keys (DSA, CSA, MiniMax sparse attention), plus the constant recurrent state of
  linear-attention/Mamba layers.
- :func:`decode_flops_per_token` / :func:`prefill_flops` - FLOPs including attention over the context.

Conventions (the catalog says which it uses, see ``conventions`` in data/models.yaml):
- totals leave out MTP/nextn modules and vision towers (text decoder only);
- ``active`` counts the input embedding and lm_head; ``active_excl_input_embedding`` leaves the input embedding out
  (DeepSeek's 36.6B and OpenAI's 5.1B use this), and FLOPs per token use the latter (an embedding is a lookup);
  ``active_excl_embeddings`` leaves out the lm_head too (MiniMax's 23B, vLLM's 39B for GLM-5.2).
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, TypedDict, cast, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

from tokenfab.catalog import precision as prec
from tokenfab.core.data import data_path, read_yaml
from tokenfab.core.errors import TokenfabError, UnknownKeyError, require_int
from tokenfab.core.files import MODEL_CONFIG, load_json_object

ATTENTION_KINDS = ("full", "sliding", "chunked", "linear", "mamba", "none")


@dataclass(frozen=True)
class LayerSpec:
    """One decoder layer. Parameter counts are per layer; shapes are what the performance model needs."""

    attention: str  # full | sliding | chunked | linear | mamba | none
    window_tokens: int | None  # KV tokens kept for sliding/chunked layers
    attn_params: float  # all attention/mixer weights (projections, norms, indexer)
    attn_qkv_params: float  # the input projections (Q/K/V, or MLA down/up, or mixer in_proj)
    attn_out_params: float  # the output projection
    kv_elements_per_token: float  # elements per stored KV entry (K+V heads, MLA latent + rope key, V4's shared head)
    state_elements_per_seq: float  # constant recurrent state per sequence (linear attention / SSM)
    q_heads: int
    kv_heads: int
    qk_head_dim: int  # dimension of the QK dot product per head (MLA decode: kv_lora + rope)
    v_head_dim: int
    attn_flops_per_ctx_token_decode: float  # FLOPs per query token per attended context token (decode)
    attn_flops_per_ctx_token_prefill: float  # same for prefill (MLA runs un-absorbed)
    attn_topk_tokens: int | None  # DSA: attends to at most this many tokens
    indexer_flops_per_ctx_token: float  # DSA lightning indexer, over every context token
    mixer_flops_per_token: float  # linear attention / SSM recurrent update, per token
    mlp: str  # dense | moe | none
    dense_mlp_params: float  # dense MLP (or parallel dense MLP next to MoE, e.g. Gemma 4)
    num_experts: int
    experts_per_token: int
    expert_params: float  # per routed expert
    shared_expert_params: float  # all shared experts together
    router_params: float
    moe_other_params: float  # e.g. latent projections of Nemotron LatentMoE (always active)
    norm_params: float
    # compressed / sparse attention (DeepSeek-V4 CSA/HCA, DSA indexers, MiniMax block-sparse attention)
    kv_compress_ratio: int = 1  # context tokens folded into one stored KV entry (V4: 4 for CSA, 128 for HCA)
    kv_raw_window_tokens: int = 0  # recent raw tokens kept besides a compressed stream (V4: the last 128)
    index_elements_per_token: float = 0.0  # indexer key elements stored per context token (DSA 128; CSA 128 / 4)


@dataclass(frozen=True)
class ModelSpec:
    key: str
    name: str
    architecture: str
    hidden_size: int
    vocab_size: int
    tie_word_embeddings: bool
    layers: tuple[LayerSpec, ...]
    max_position_embeddings: int | None = None
    native_weights: str = "bf16"  # checkpoint precision from quantization_config / hf_quant_config
    native_kv: str | None = None
    keep_bf16: tuple[str, ...] = ()  # components the checkpoint's quantization leaves at 16 bit
    mtp_layers: int = 0
    source: str = ""
    notes: str = ""
    conventions: str = ""

    @property
    def num_layers(self) -> int:
        return len(self.layers)

    @property
    def is_moe(self) -> bool:
        return any(layer.mlp == "moe" for layer in self.layers)

    @property
    def is_mla(self) -> bool:
        return self.architecture_family == "mla"

    @property
    def architecture_family(self) -> str:
        kinds = {layer.attention for layer in self.layers}
        if any(layer.kv_heads == 1 and layer.attention == "full" and layer.qk_head_dim > 256 for layer in self.layers):
            return "mla"
        if kinds & {"linear", "mamba"}:
            return "hybrid"
        return "dense" if not self.is_moe else "moe"

    @property
    def max_q_heads(self) -> int:
        return max(layer.q_heads for layer in self.layers)

    @property
    def min_kv_heads(self) -> int:
        ks = [layer.kv_heads for layer in self.layers if layer.attention in ("full", "sliding", "chunked")]
        return min(ks) if ks else 1

    @property
    def max_experts(self) -> int:
        return max((layer.num_experts for layer in self.layers), default=0)

    def summary(self) -> dict:
        p = param_counts(self)
        return {
            "key": self.key,
            "name": self.name,
            "architecture": self.architecture,
            "family": self.architecture_family,
            "layers": self.num_layers,
            "hidden_size": self.hidden_size,
            "vocab_size": self.vocab_size,
            "total_params_b": p.total / 1e9,
            "active_params_b": p.active / 1e9,
            "active_params_excl_input_embedding_b": p.active_excl_input_embedding / 1e9,
            "experts": self.max_experts,
            "native_weights": self.native_weights,
            "kv_bytes_per_token_bf16": kv_bytes_per_token(self, "bf16"),
            "max_position_embeddings": self.max_position_embeddings,
            "source": self.source,
            "conventions": self.conventions,
            "notes": self.notes,
        }

    def to_dict(self) -> dict:
        return self.summary()


# --------------------------------------------------------------------------------------------- parsing
def _get(cfg: dict[str, Any], *names: str, default: Any = None) -> Any:  # a config.json value
    for n in names:
        if n in cfg and cfg[n] is not None:
            return cfg[n]
    return default


def _text_config(cfg: dict) -> dict:
    """Multimodal wrappers keep the decoder in ``text_config`` (Llama 4, Gemma 4, Kimi-K2.5, Qwen3.5); the vision
    tower is ignored."""
    tc = cfg.get("text_config")
    if isinstance(tc, dict) and tc.get("hidden_size"):
        merged = dict(tc)
        for k in ("quantization_config", "tie_word_embeddings"):
            if k not in merged and k in cfg:
                merged[k] = cfg[k]
        merged.setdefault("architectures", cfg.get("architectures"))
        merged["_wrapper_architectures"] = cfg.get("architectures")
        return merged
    return cfg


# bounds on config sizes (a larger value is a malformed config, not a model): layers drive loops and list lengths;
# every size stays far below where products of sizes would overflow a float
MAX_CONFIG_LAYERS = 10_000
MAX_CONFIG_INT = 2**40
_REQUIRED = object()


def _as_int(v: object, field: str, *, minimum: int = 1, maximum: int = MAX_CONFIG_INT) -> int:
    """A whole number from config.json (bools, text, NaN/inf and fractions refused), naming the field when wrong."""
    if isinstance(v, float) and not math.isfinite(v):
        raise TokenfabError("must be a whole number", field=field, expected=f"an integer >= {minimum}", got=v)
    n = int(require_int(field, v, minimum=minimum))
    if n > maximum:
        raise TokenfabError("out of range", field=field, expected=f"an integer in [{minimum}, {maximum}]", got=v)
    return n


def _req(cfg: dict[str, Any], name: str, src: str) -> Any:  # a config.json value
    v = cfg.get(name)
    if v is None:
        raise TokenfabError("missing required field in config.json", field=f"{src}: {name}")
    return v


@overload
def _cfg_int(
    cfg: dict[str, Any],
    names: str | tuple[str, ...],
    src: str,
    *,
    default: int = ...,
    minimum: int = 1,
    maximum: int = MAX_CONFIG_INT,
) -> int: ...
@overload
def _cfg_int(
    cfg: dict[str, Any],
    names: str | tuple[str, ...],
    src: str,
    *,
    default: int | None,
    minimum: int = 1,
    maximum: int = MAX_CONFIG_INT,
) -> int | None: ...
def _cfg_int(
    cfg: dict[str, Any],
    names: str | tuple[str, ...],
    src: str,
    *,
    default: object = _REQUIRED,
    minimum: int = 1,
    maximum: int = MAX_CONFIG_INT,
) -> int | None:
    """The first of ``names`` (one name or a tuple, as in :func:`_get`) present in ``cfg``, as a validated integer;
    ``default`` when none is (a missing field is an error unless a default is given)."""
    for name in (names,) if isinstance(names, str) else names:
        if cfg.get(name) is not None:
            return _as_int(cfg[name], f"{src}: {name}", minimum=minimum, maximum=maximum)
    if default is _REQUIRED:
        name = names if isinstance(names, str) else names[0]
        raise TokenfabError("missing required field in config.json", field=f"{src}: {name}")
    return cast("int | None", default)  # a given default (an int or None: see the overloads)


def _cfg_list(
    cfg: dict[str, Any], name: str, src: str, *, min_length: int, allowed: Collection[object] | None = None
) -> list[Any]:
    """``cfg[name]`` as a list of at least ``min_length`` entries (one per layer), each in ``allowed`` when given."""
    v = cfg.get(name)
    if not isinstance(v, list) or len(v) < min_length:
        raise TokenfabError(
            "must be a list",
            field=f"{src}: {name}",
            expected=f"a list of >= {min_length} entries",
            got=v if not isinstance(v, list) else f"{len(v)} entries",
        )
    if allowed is not None:
        for i, x in enumerate(v):
            if isinstance(x, bool) or x not in allowed:
                raise TokenfabError(
                    "unknown value",
                    field=f"{src}: {name}[{i}]",
                    expected="one of " + ", ".join(map(repr, allowed)),
                    got=x,
                )
    return v


# whole-number fields of a config.json that the parser reads -> (minimum, maximum). The maxima are far above any
# model (the largest have ~128 layers, hidden 16k, 256k vocabulary, 384 experts): they keep every loop (one per
# layer) and every product bounded.
MAX_LAYERS = 10_000
# whole-number fields that may also be given per layer (MiniMax-M3's moe_layer_freq is a 0/1 list)
PER_LAYER_LISTS = frozenset({"moe_layer_freq"})
MAX_SIZE = 100_000_000
_SIZE = (1, MAX_SIZE)
_COUNT = (0, MAX_SIZE)
CONFIG_INTS: dict[str, tuple[int, int]] = {
    "hidden_size": (1, 1_000_000),
    "num_hidden_layers": (1, MAX_LAYERS),
    "vocab_size": (1, 1_000_000_000),
    "num_attention_heads": (1, 1_000_000),
    "num_key_value_heads": (1, 1_000_000),
    "head_dim": _SIZE,
    "intermediate_size": _COUNT,
    "intermediate_size_mlp": _COUNT,
    "max_position_embeddings": (1, 1_000_000_000),
    "n_routed_experts": _COUNT,
    "num_local_experts": _COUNT,
    "num_experts": _COUNT,
    "num_experts_per_tok": _COUNT,
    "experts_per_token": _COUNT,
    "top_k_experts": _COUNT,
    "moe_topk": _COUNT,
    "moe_intermediate_size": _SIZE,
    "n_shared_experts": _COUNT,
    "num_shared_experts": _COUNT,
    "shared_expert_intermediate_size": _COUNT,
    "moe_shared_expert_intermediate_size": _COUNT,
    "shared_intermediate_size": _COUNT,
    "first_k_dense_replace": (0, MAX_LAYERS),
    "moe_layer_freq": (0, MAX_LAYERS),
    "decoder_sparse_step": (0, MAX_LAYERS),
    "interleave_moe_layer_step": (0, MAX_LAYERS),
    "sliding_window": _SIZE,
    "attention_chunk_size": _SIZE,
    "no_rope_layer_interval": (0, MAX_LAYERS),
    "kv_lora_rank": _SIZE,
    "q_lora_rank": _SIZE,
    "qk_rope_head_dim": _SIZE,
    "qk_nope_head_dim": _COUNT,
    "qk_head_dim": _SIZE,
    "v_head_dim": _SIZE,
    "index_topk": _SIZE,
    "index_head_dim": _SIZE,
    "index_n_heads": _SIZE,
    "global_head_dim": _SIZE,
    "num_global_key_value_heads": _SIZE,
    "linear_num_key_heads": _SIZE,
    "linear_key_head_dim": _SIZE,
    "linear_num_value_heads": _SIZE,
    "linear_value_head_dim": _SIZE,
    "linear_conv_kernel_dim": _SIZE,
    "mamba_num_heads": _SIZE,
    "mamba_head_dim": _SIZE,
    "n_groups": _SIZE,
    "ssm_state_size": _SIZE,
    "conv_kernel": _SIZE,
    "moe_latent_size": _SIZE,
    "num_nextn_predict_layers": (0, MAX_LAYERS),
    "mtp_num_hidden_layers": (0, MAX_LAYERS),
    "num_mtp_modules": (0, MAX_LAYERS),
}


def check_config(c: dict, src: str) -> None:
    """A config.json's sizes are sane before any arithmetic (a model config from a user may say anything):
    whole numbers in range (no text, NaN, bool or negative sizes), attention heads grouped evenly over the KV heads,
    a head size when the hidden size does not divide by the heads, one layer type per layer, experts per token
    within the experts. Errors name the file and the key."""
    for name, (lo, hi) in CONFIG_INTS.items():
        v = c.get(name)
        if isinstance(v, list) and name in PER_LAYER_LISTS:  # a per-layer list: each entry in range
            if len(v) > MAX_LAYERS:
                raise TokenfabError("too many entries", field=f"{src}: {name}", expected=f"<= {MAX_LAYERS}")
            c[name] = [require_int(f"{src}: {name}[{i}]", x, minimum=lo, maximum=hi) for i, x in enumerate(v)]
        elif v is not None:
            c[name] = require_int(f"{src}: {name}", v, minimum=lo, maximum=hi)
    for name in ("hidden_size", "num_hidden_layers", "vocab_size", "num_attention_heads"):
        _req(c, name, src)
    nh, h = c["num_attention_heads"], c["hidden_size"]
    nkv = c.get("num_key_value_heads") or nh
    if nh % nkv:
        raise TokenfabError(
            "the attention heads do not group evenly over the KV heads",
            field=f"{src}: num_key_value_heads",
            expected=f"a divisor of num_attention_heads ({nh})",
            got=nkv,
        )
    if c.get("head_dim") is None and c.get("kv_lora_rank") is None and h % nh:
        raise TokenfabError(
            "hidden_size is not a multiple of num_attention_heads and head_dim is not given",
            field=f"{src}: head_dim",
            expected=f"head_dim, or a hidden_size divisible by {nh}",
            got=h,
        )
    lt = c.get("layer_types")
    if lt is not None and (not isinstance(lt, list) or len(lt) < c["num_hidden_layers"]):
        raise TokenfabError(
            "needs one entry per layer",
            field=f"{src}: layer_types",
            expected=f"a list of {c['num_hidden_layers']} layer types",
            got=f"{type(lt).__name__} of {len(lt) if isinstance(lt, list) else '?'}",
        )
    pattern = c.get("hybrid_override_pattern")
    if pattern is not None and not isinstance(pattern, str):
        raise TokenfabError("must be text", field=f"{src}: hybrid_override_pattern", got=pattern)
    n_exp = next((c[k] for k in ("n_routed_experts", "num_local_experts", "num_experts") if c.get(k)), 0)
    top_k = next(
        (c[k] for k in ("num_experts_per_tok", "experts_per_token", "top_k_experts", "moe_topk") if c.get(k)), 0
    )
    if n_exp and not 1 <= top_k <= n_exp:
        raise TokenfabError(
            "experts per token out of range",
            field=f"{src}: num_experts_per_tok",
            expected=f"an integer in [1, {n_exp}] (the routed experts)",
            got=top_k,
        )
    for name in ("mlp_only_layers",):
        v = c.get(name)
        if v is not None and (not isinstance(v, list) or len(v) > MAX_LAYERS):
            raise TokenfabError("must be a list of layer numbers", field=f"{src}: {name}", got=v)


def _native_precision(cfg: dict, quant: dict | None) -> tuple[str, str | None, tuple[str, ...]]:
    """Checkpoint weight/KV precision from ``quantization_config`` or an hf_quant_config.json (ModelOpt)."""
    keep: list[str] = []
    if quant:  # ModelOpt hf_quant_config.json
        q = quant.get("quantization", quant) if isinstance(quant, dict) else None
        if not isinstance(q, dict):
            raise TokenfabError("must be an object", field="hf_quant_config.json: quantization", got=q)
        algo = str(q.get("quant_algo", "")).upper()
        kv = q.get("kv_cache_quant_algo")
        w = {"FP8": "fp8", "NVFP4": "fp4", "W4A16_AWQ": "int4", "INT8": "int8", "W8A8_SQ_PER_CHANNEL": "int8"}.get(
            algo, "bf16"
        )
        return w, (str(kv).lower() if kv else None), ("lm_head",)
    qc = cfg.get("quantization_config") or {}
    if not isinstance(qc, dict):
        raise TokenfabError("must be an object", field="quantization_config", got=qc)
    method = str(qc.get("quant_method", "")).lower()
    not_conv_list = qc.get("modules_to_not_convert") or qc.get("ignore") or []
    not_conv = " ".join(str(x) for x in (not_conv_list if isinstance(not_conv_list, list) else [not_conv_list]))
    if "self_attn" in not_conv:
        keep.append("attention")
    if "shared_expert" in not_conv:
        keep.append("shared_experts")
    if "mlp." in not_conv and "proj" in not_conv:
        keep.append("dense_mlp")
    if method == "fp8":
        # DeepSeek-V4: quantization_config describes the non-expert linears only; ``expert_dtype: fp4`` stores the
        # routed experts as FP4 e2m1 with one UE8M0 scale per 32 values, i.e. MXFP4 (precision.MIXED_PRECISIONS)
        expert_dtype = str(cfg.get("expert_dtype") or "").lower()
        if expert_dtype in ("fp4", "mxfp4"):
            return "mxfp4+fp8", None, tuple(keep)
        if expert_dtype not in ("", "fp8"):
            raise TokenfabError("unknown value", field="expert_dtype", expected="fp4, mxfp4 or fp8", got=expert_dtype)
        return "fp8", None, tuple(keep)
    if method == "mxfp4":
        return "mxfp4", None, tuple(keep)
    if method == "mxfp8":  # OCP MX FP8 (E4M3 + one E8M0 scale per 32 values), e.g. MiniMax-M3-MXFP8
        return "mxfp8", None, tuple(keep)
    if method == "compressed-tensors":
        groups = qc.get("config_groups") or {}
        for g in groups.values() if isinstance(groups, dict) else ():
            wt = (g if isinstance(g, dict) else {}).get("weights") or {}
            wt = wt if isinstance(wt, dict) else {}
            if wt.get("num_bits") == 4:
                return "int4", None, tuple(keep)
            if wt.get("num_bits") == 8:
                return ("fp8" if wt.get("type") == "float" else "int8"), None, tuple(keep)
    if method in ("awq", "gptq"):
        return "int4", None, tuple(keep)
    return "bf16", None, tuple(keep)


def _gated(act: str | None) -> bool:
    return str(act or "silu").lower() not in ("relu2", "relu_squared", "gelu_new_nongated")


# ---------------- per-architecture helpers of parse_config
# DeepSeek-V4 ``compress_ratios``: one entry per layer (then the MTP / DSpark stages). transformers
# configuration_deepseek_v4.py maps 0 -> sliding_attention, 4 -> compressed_sparse_attention (CSA, with the Lightning
# indexer), 128 -> heavily_compressed_attention (HCA, dense over the compressed stream); no other value exists.
DEEPSEEK_V4_RATIOS = {0: "sliding window only", 4: "CSA", 128: "HCA"}
DEEPSEEK_V4_CSA_RATIO = 4
# one stored V4 KV entry in an FP8 cache: 448 NoPE elements in FP8 + 64 RoPE elements kept in BF16 + 8 bytes of UE8M0
# scales = 584 B (ROCm/ATOM recipes/DeepSeek-V4.md). kv_elements_per_token is that size in FP8-byte units.
DEEPSEEK_V4_KV_SCALE_BYTES = 8


DEEPSEEK_V4_LAYER_TYPES = {
    "sliding_attention": 0,
    "compressed_sparse_attention": 4,
    "heavily_compressed_attention": 128,
}


@dataclass
class _Mixer:
    """One layer's token mixer (attention, linear attention or SSM) as :func:`parse_config` derives it: the
    :class:`LayerSpec` fields before the MLP (a layer without a mixer keeps these defaults)."""

    q_heads: int
    kv_heads: int
    qk_d: int
    v_d: int
    a_params: float = 0.0
    qkv: float = 0.0
    out: float = 0.0
    kv_elems: float = 0.0
    state: float = 0.0
    flops_dec: float = 0.0
    flops_pre: float = 0.0
    mixer: float = 0.0
    idx_flops: float = 0.0
    idx_elems: float = 0.0
    topk: int | None = None
    win: int | None = None
    ratio: int = 1
    raw_win: int = 0


class _SparseAttention(TypedDict):
    """MiniMax Sparse Attention as :func:`_minimax_sparse_attention` reads it."""

    sparse: list[bool]  # per layer: the layer runs the indexer and attends to the selected blocks
    indexer_params: float
    index_elements: float
    indexer_flops: float
    topk_tokens: int


def _deepseek_v4_ratios(c: dict, src: str, L: int) -> list[int]:
    """Compression ratio per layer from the Hub's ``compress_ratios`` or transformers' ``layer_types`` names."""
    if c.get("compress_ratios") is None and c.get("layer_types") is not None:
        types = _cfg_list(c, "layer_types", src, min_length=L, allowed=tuple(DEEPSEEK_V4_LAYER_TYPES))
        return [DEEPSEEK_V4_LAYER_TYPES[t] for t in types]
    ratios = _cfg_list(c, "compress_ratios", src, min_length=L, allowed=tuple(DEEPSEEK_V4_RATIOS))
    return [int(r) for r in ratios]


def _deepseek_v4_attention(c: dict, src: str, h: int, nh: int, nkv: int, hd: int, ratio: int) -> _Mixer:
    """One DeepSeek-V4 attention layer (transformers modeling_deepseek_v4.py, ATOM recipes/DeepSeek-V4.md).

    Every layer: q LoRA (wq_a, q_norm, wq_b; the per-head q norm has no weights), one shared K=V head of ``head_dim``
    (wkv, kv_norm), grouped low-rank output (wo_a block-diagonal over ``o_groups``, wo_b), one sink per head, and a
    raw sliding window of ``sliding_window`` tokens. Ratio 4 (CSA) adds a compressor of overlapping windows
    (projections to 2 x head_dim) and the Lightning indexer (its own compressor at index_head_dim, wq_b from the q
    LoRA, weights_proj) selecting ``index_topk`` compressed entries per query; ratio 128 (HCA) adds a compressor of
    non-overlapping windows and attends densely to all compressed entries; ratio 0 keeps only the window.
    """
    if nkv != 1:
        raise TokenfabError(
            "DeepSeek-V4 shares one K=V head", field=f"{src}: num_key_value_heads", expected="1", got=nkv
        )
    q_lora = _cfg_int(c, "q_lora_rank", src)
    rope = _cfg_int(c, "qk_rope_head_dim", src, maximum=hd)
    groups = _cfg_int(c, "o_groups", src)
    o_rank = _cfg_int(c, "o_lora_rank", src)
    window = _cfg_int(c, "sliding_window", src)
    if (nh * hd) % groups:
        raise TokenfabError(
            "o_groups must divide num_attention_heads x head_dim",
            field=f"{src}: o_groups",
            expected=f"a divisor of {nh * hd}",
            got=groups,
        )
    qkv = h * q_lora + q_lora + q_lora * nh * hd + h * hd + hd
    out = (nh * hd // groups) * groups * o_rank + groups * o_rank * h
    topk = None
    index_elements = indexer_flops = 0.0
    if ratio:
        coff = 2 if ratio == DEEPSEEK_V4_CSA_RATIO else 1  # CSA windows overlap: width 2 x ratio, stride ratio
        qkv += 2 * h * coff * hd + ratio * coff * hd + hd  # compressor wkv, wgate, position bias (ape), norm
    if ratio == DEEPSEEK_V4_CSA_RATIO:
        inh, ihd = _cfg_int(c, "index_n_heads", src), _cfg_int(c, "index_head_dim", src)
        qkv += 2 * h * 2 * ihd + ratio * 2 * ihd + ihd + q_lora * inh * ihd + h * inh
        topk = _cfg_int(c, "index_topk", src)  # in entries of the compressed stream
        index_elements = ihd / ratio  # one index key per compressed entry
        indexer_flops = 2.0 * inh * ihd / ratio  # every query scores every compressed entry
    return _Mixer(
        q_heads=nh,
        kv_heads=nkv,
        qk_d=hd,
        v_d=hd,
        a_params=float(qkv + out + nh),  # + attention sinks
        qkv=float(qkv),
        out=float(out),
        kv_elems=float((hd - rope) + 2 * rope + DEEPSEEK_V4_KV_SCALE_BYTES),
        flops_dec=4.0 * nh * hd,  # QK and PV over the 512-wide shared head, per attended entry
        flops_pre=4.0 * nh * hd,
        topk=topk,
        idx_flops=indexer_flops,
        idx_elems=index_elements,
        win=window if ratio == 0 else None,
        ratio=max(ratio, 1),
        raw_win=window if ratio else 0,
    )


def _deepseek_v4_hc_params(c: dict, src: str, h: int, *, last_layer: bool) -> float:
    """Manifold-constrained hyper-connections: per layer two mixers (attention and FFN site), each fn
    [(2 + m) m, m h], base [(2 + m) m] and scale [3] for ``hc_mult`` = m residual streams; the head collapse after
    the last layer (hc_head_fn [m, m h], base [m], scale [1]) is counted with the last layer."""
    m = _cfg_int(c, "hc_mult", src, default=1)
    mix = (2 + m) * m
    per_layer = 2 * (mix * m * h + mix + 3) if m > 1 else 0
    head = (m * m * h + m + 1) if m > 1 and last_layer else 0
    return float(per_layer + head)


def _dsa_indexer_types(c: dict, src: str, L: int) -> list[str]:
    """DSA indexer per layer: "full" runs the indexer, "shared" reuses the previous full layer's top-k (GLM-5.2
    IndexShare). ``indexer_types`` if given, else an ``index_topk_pattern`` of F/S, else the schedule of
    ``index_topk_freq`` / ``index_skip_topk_offset`` (transformers configuration_glm_moe_dsa.py: full iff
    max(i - offset + 1, 0) % freq == 0); without any of them every layer is full (DeepSeek-V3.2, GLM-5)."""
    if c.get("indexer_types") is not None:
        types = [str(t) for t in _cfg_list(c, "indexer_types", src, min_length=L, allowed=("full", "shared"))]
    elif c.get("index_topk_pattern") is not None:
        pat = c["index_topk_pattern"]
        if not isinstance(pat, str) or len(pat) < L or set(pat[:L]) - set("FS"):
            raise TokenfabError(
                "malformed pattern", field=f"{src}: index_topk_pattern", expected=f"{L} letters F or S", got=pat
            )
        types = ["full" if ch == "F" else "shared" for ch in pat]
    elif c.get("index_topk_freq") is not None:
        freq = _cfg_int(c, "index_topk_freq", src)
        offset = _cfg_int(c, "index_skip_topk_offset", src, default=0, minimum=0)
        types = ["full" if max(i - offset + 1, 0) % freq == 0 else "shared" for i in range(L)]
    else:
        return ["full"] * L
    if types[0] != "full":
        raise TokenfabError(
            "the first layer has no earlier indexer to share", field=f"{src}: indexer_types[0]", expected="'full'"
        )
    return types[:L]


def _mlp_layer_types(c: dict, src: str, L: int) -> list[str] | None:
    """``mlp_layer_types`` (GLM-5.2: dense / sparse; transformers' DeepSeek-V4: hash_moe / moe), None when absent."""
    if c.get("mlp_layer_types") is None:
        return None
    allowed = ("dense", "sparse", "moe", "hash_moe")
    return [str(t) for t in _cfg_list(c, "mlp_layer_types", src, min_length=L, allowed=allowed)]


def _minimax_sparse_attention(c: dict, src: str, L: int) -> _SparseAttention | None:
    """MiniMax Sparse Attention (``sparse_attention_config``, MiniMax-M3). On layers flagged by
    ``sparse_attention_freq`` a score-only indexer (``sparse_num_index_heads`` query heads x ``sparse_index_dim``
    against one cached index key per token; index_q_proj, index_k_proj, q/k norms, no value or output projection
    while ``sparse_disable_index_value`` is 1) scores every context token and keeps the top ``sparse_topk_blocks``
    blocks of ``sparse_block_size`` tokens plus ``sparse_local_block`` local and ``sparse_init_block`` initial
    blocks: each query attends to (topk + local + init) x block size tokens."""
    sc = c.get("sparse_attention_config")
    if sc is None:
        return None
    if not isinstance(sc, dict):
        raise TokenfabError("must be an object", field=f"{src}: sparse_attention_config", got=sc)
    if not sc.get("use_sparse_attention", True):
        return None
    s2 = f"{src}: sparse_attention_config"
    h = _cfg_int(c, "hidden_size", src)
    sparse = [bool(x) for x in _cfg_list(sc, "sparse_attention_freq", s2, min_length=L, allowed=(0, 1))]
    no_value = sc.get("sparse_disable_index_value", 1)
    if isinstance(no_value, list):
        no_value = _cfg_list(sc, "sparse_disable_index_value", s2, min_length=L, allowed=(0, 1))
    for i in range(L):
        nv = no_value[i] if isinstance(no_value, list) else no_value
        if sparse[i] and nv != 1:
            raise TokenfabError(
                "an indexer with value/output projections is not modelled",
                field=f"{s2}.sparse_disable_index_value[{i}]",
                expected="1 on sparse layers",
                got=nv,
            )
    heads = _cfg_int(sc, "sparse_num_index_heads", s2)
    dim = _cfg_int(sc, "sparse_index_dim", s2)
    block = _cfg_int(sc, "sparse_block_size", s2)
    blocks = (
        _cfg_int(sc, "sparse_topk_blocks", s2)
        + _cfg_int(sc, "sparse_local_block", s2, default=0, minimum=0)
        + _cfg_int(sc, "sparse_init_block", s2, default=0, minimum=0)
    )
    return {
        "sparse": sparse,
        "indexer_params": float(h * heads * dim + h * dim + 2 * dim),
        "index_elements": float(dim),
        "indexer_flops": 2.0 * heads * dim,
        "topk_tokens": blocks * block,
    }


def _mtp_layers(c: dict, src: str, arch: str) -> int:
    """Draft layers the checkpoint ships for speculative decoding (left out of the parameter totals).

    - DeepSeek-V4 DSpark checkpoints (``dspark_block_size``): one drafter stage per ``dspark_target_layer_ids``
      entry (three for DeepSeek-V4-Pro-0813); ``num_nextn_predict_layers`` stays 1 there and undercounts them.
    - MiniMax-M3: ``num_nextn_predict_layers`` / ``num_mtp_modules`` are set, but neither published checkpoint holds
      ``mtp.*`` weights (the BF16 tensor list has none; the MXFP8 checkpoint's 443.8 GB is the text model and vision
      tower alone) and the remote-code config calls them ignored at inference: 0.
    """
    if c.get("dspark_block_size") is not None:
        _cfg_int(c, "dspark_block_size", src)
        return len(_cfg_list(c, "dspark_target_layer_ids", src, min_length=1))
    if "MiniMaxM3" in str(arch):
        return 0
    return _cfg_int(
        c, ("num_nextn_predict_layers", "mtp_num_hidden_layers", "num_mtp_modules"), src, default=0, minimum=0
    )


@dataclass(frozen=True)
class _MoeConfig:
    """The MoE fields of a config.json as :func:`parse_config` reads them (after the per-family adjustments)."""

    n_exp: int
    top_k: int
    moe_inter: int | None
    n_shared: int
    shared_inter: int | None
    first_k_dense: int
    moe_flags: list[bool] | None  # MiniMax-M3: ``moe_layer_freq`` is a 0/1 flag per layer
    moe_freq: int
    mlp_types: list[str] | None  # GLM-5.2 ``mlp_layer_types`` (dense / sparse), None when absent
    mlp_only: set[Any]
    dense_inter: int
    router_bias: bool
    expert_bias: bool
    shared_gate: int
    latent: int | None


def _moe_config(c: dict, src: str, mt: str, h: int, L: int, inter: int) -> _MoeConfig:
    n_exp = _cfg_int(
        c, ("n_routed_experts", "num_local_experts", "num_experts", "moe_num_experts"), src, default=0, minimum=0
    )
    top_k = _cfg_int(
        c,
        ("num_experts_per_tok", "experts_per_token", "top_k_experts", "moe_topk", "moe_k"),
        src,
        default=0,
        minimum=0,
    )
    moe_inter = _cfg_int(c, "moe_intermediate_size", src, default=None, minimum=0)
    hints = [k for k in ("moe_intermediate_size", "first_k_dense_replace", "n_shared_experts") if c.get(k)]
    if not n_exp and hints:  # MoE settings without an expert count: sized as a dense model, silently wrong
        raise TokenfabError(
            f"the config has MoE settings ({', '.join(hints)}) but no expert count",
            field=f"{src}: n_routed_experts",
            expected="n_routed_experts, num_local_experts or num_experts",
        )
    if n_exp and moe_inter is None:
        # DeepSeek/GLM/Kimi (n_routed_experts) and Qwen MoE name the expert width apart from the dense one; OLMoE,
        # Jamba and Mixtral-style configs (num_experts / num_local_experts) size experts with intermediate_size
        if c.get("n_routed_experts") or (c.get("num_experts") and mt.startswith(("qwen2_moe", "qwen3"))):
            raise TokenfabError(
                "missing required field in config.json (the width of one routed expert; intermediate_size is the "
                "dense layers')",
                field=f"{src}: moe_intermediate_size",
            )
        moe_inter = inter  # Mixtral/gpt-oss/Llama 4: intermediate_size is the expert size
    n_shared = _cfg_int(
        c, ("n_shared_experts", "num_shared_experts", "moe_num_shared_experts"), src, default=0, minimum=0
    )
    shared_inter = _cfg_int(
        c,
        ("shared_expert_intermediate_size", "moe_shared_expert_intermediate_size", "shared_intermediate_size"),
        src,
        default=None,
        minimum=0,
    )
    first_k_dense = _cfg_int(c, "first_k_dense_replace", src, default=0, minimum=0, maximum=L)  # L: all dense
    moe_flags = None
    if isinstance(c.get("moe_layer_freq"), list):
        moe_flags = [bool(x) for x in _cfg_list(c, "moe_layer_freq", src, min_length=L, allowed=(0, 1))]
        moe_freq = 1
    else:
        freq_names = ("moe_layer_freq", "decoder_sparse_step", "interleave_moe_layer_step")
        moe_freq = _cfg_int(c, freq_names, src, default=1, minimum=0) or 1
    mlp_types = _mlp_layer_types(c, src, L)
    mlp_only = set(_cfg_list(c, "mlp_only_layers", src, min_length=0) if c.get("mlp_only_layers") else [])
    dense_inter = _cfg_int(c, "dense_intermediate_size", src, default=inter, minimum=0)  # MiniMax-M3: dense width
    router_bias = str(_get(c, "scoring_func", default="softmax")).lower() == "sigmoid" or bool(
        _get(c, "use_routing_bias", default=False)
    )
    expert_bias = mt == "gpt_oss"
    shared_gate = 0
    latent = _cfg_int(c, "moe_latent_size", src, default=None)

    if mt.startswith("llama4"):
        n_shared = 1
        shared_inter = inter
        dense_inter = _cfg_int(c, "intermediate_size_mlp", src, default=inter, minimum=0)
        moe_freq = _cfg_int(c, "interleave_moe_layer_step", src, default=1)
    if mt.startswith(("qwen3_5", "qwen3_next", "qwen2_moe")) and shared_inter:
        n_shared = 1
        shared_gate = h  # shared_expert_gate: Linear(h, 1)
    # Gemma 4 with enable_moe_block: the dense MLP runs in parallel with the MoE block in every layer (_layer_mlp)
    if shared_inter is None and n_shared:
        shared_inter = moe_inter
    if shared_inter and not n_shared:
        n_shared = 1
    return _MoeConfig(
        n_exp=n_exp,
        top_k=top_k,
        moe_inter=moe_inter,
        n_shared=n_shared,
        shared_inter=shared_inter,
        first_k_dense=first_k_dense,
        moe_flags=moe_flags,
        moe_freq=moe_freq,
        mlp_types=mlp_types,
        mlp_only=mlp_only,
        dense_inter=dense_inter,
        router_bias=router_bias,
        expert_bias=expert_bias,
        shared_gate=shared_gate,
        latent=latent,
    )


_HYBRID_PATTERN_BLOCKS = {"M": ("mamba", "none"), "E": ("none", "moe"), "*": ("full", "none"), "-": ("none", "dense")}
_LAYER_TYPE_KINDS = {
    "full_attention": "full",
    "sliding_attention": "sliding",
    "linear_attention": "linear",
    "chunked_attention": "chunked",
}


def _hybrid_pattern_kinds(pattern: object, src: str, L: int) -> tuple[list[str], list[str]]:
    """Nemotron-H ``hybrid_override_pattern``: one block per character -> (attention kinds, MLP kinds)."""
    kinds: list[str] = []
    mlp_kinds: list[str] = []
    for ch in str(pattern):
        if ch not in _HYBRID_PATTERN_BLOCKS:
            raise TokenfabError(
                f"unknown block {ch!r} in hybrid_override_pattern", field=f"{src}: hybrid_override_pattern"
            )
        a, m = _HYBRID_PATTERN_BLOCKS[ch]
        kinds.append(a)
        mlp_kinds.append(m)
    if len(kinds) != L:
        raise TokenfabError(
            "hybrid_override_pattern length differs from num_hidden_layers",
            field=f"{src}: hybrid_override_pattern",
            expected=str(L),
            got=len(kinds),
        )
    return kinds, mlp_kinds


def _attention_kind(
    c: dict,
    src: str,
    mt: str,
    i: int,
    v4_ratios: list[int] | None,
    layer_types: list[Any] | None,
    chunk: int | None,
    window: int | None,
) -> str:
    """Attention kind of layer ``i`` when there is no hybrid pattern."""
    if v4_ratios is not None:
        return "sliding" if v4_ratios[i] == 0 else "full"
    if layer_types:
        return _LAYER_TYPE_KINDS.get(str(layer_types[i]), "full")
    if mt.startswith("llama4") and chunk:
        nope_every = _cfg_int(c, "no_rope_layer_interval", src, default=4, minimum=0) or 4
        return "full" if (i + 1) % nope_every == 0 else "chunked"
    if window and (mt.startswith("mistral") or _get(c, "use_sliding_window", default=mt.startswith("mistral"))):
        return "sliding"
    return "full"


def _mlp_kind(i: int, mt: str, moe: _MoeConfig) -> str:
    """MLP kind of layer ``i`` when there is no hybrid pattern: dense or moe."""
    if not moe.n_exp:
        return "dense"
    if moe.mlp_types is not None:
        is_moe = moe.mlp_types[i] != "dense"
    elif moe.moe_flags is not None:
        is_moe = moe.moe_flags[i]
    elif mt.startswith("llama4"):
        is_moe = (i + 1) % moe.moe_freq == 0
    else:
        is_moe = (
            i >= moe.first_k_dense and (i % moe.moe_freq == 0 if moe.moe_freq > 1 else True) and i not in moe.mlp_only
        )
    return "moe" if is_moe else "dense"


def _mla_mixer(c: dict, src: str, h: int, nh: int, i: int, idx_types: list[str] | None) -> _Mixer:
    """Multi-head latent attention (DeepSeek-V3, Kimi, GLM-5), with the DSA indexer where ``idx_types`` is given."""
    q_lora = _cfg_int(c, "q_lora_rank", src, default=None, minimum=0)
    rope = _cfg_int(c, "qk_rope_head_dim", src)
    nope = _cfg_int(c, "qk_nope_head_dim", src, default=None, minimum=0)
    if nope is None:
        nope = _cfg_int(c, "qk_head_dim", src, default=192, minimum=rope) - rope
    vdim = _cfg_int(c, "v_head_dim", src, default=nope)
    kv_lora = _cfg_int(c, "kv_lora_rank", src)
    q = h * q_lora + q_lora + q_lora * nh * (nope + rope) if q_lora else h * nh * (nope + rope)
    kv_a = h * (kv_lora + rope) + kv_lora
    kv_b = kv_lora * nh * (nope + vdim)
    o = nh * vdim * h
    qkv = q + kv_a + kv_b
    # decode runs absorbed: attention over the latent (MQA-like, 1 KV "head" of width kv_lora + rope)
    mx = _Mixer(
        q_heads=nh,
        kv_heads=1,
        qk_d=kv_lora + rope,
        v_d=kv_lora,
        a_params=qkv + o,
        qkv=qkv,
        out=o,
        kv_elems=kv_lora + rope,
        flops_dec=2 * nh * (kv_lora + rope) + 2 * nh * kv_lora,
        flops_pre=2 * nh * (nope + rope) + 2 * nh * vdim,
    )
    if idx_types is not None:  # DSA: top-k token selection
        mx.topk = _cfg_int(c, "index_topk", src)
        if idx_types[i] == "full":  # a "shared" layer (GLM-5.2) reuses the previous full layer's top-k
            ihd, inh = _cfg_int(c, "index_head_dim", src), _cfg_int(c, "index_n_heads", src)
            idx = (q_lora or h) * inh * ihd + h * ihd + 2 * ihd + h * inh
            mx.a_params += idx
            mx.qkv += idx
            mx.idx_elems = float(ihd)  # indexer key cache (one key per context token)
            mx.idx_flops = 2 * inh * ihd
    return mx


def _gqa_mixer(
    c: dict,
    src: str,
    mt: str,
    kind: str,
    i: int,
    h: int,
    nh: int,
    nkv: int,
    hd: int,
    bias: bool,
    window: int | None,
    msa: _SparseAttention | None,
) -> _Mixer:
    """Softmax attention with grouped (or multi-) query heads: full, sliding-window or chunked."""
    if mt.startswith("gemma4") and kind == "full" and _get(c, "global_head_dim"):
        hd_l = _cfg_int(c, "global_head_dim", src)
        kvh = _cfg_int(c, "num_global_key_value_heads", src, default=nkv)
        k_eq_v = bool(_get(c, "attention_k_eq_v", default=False))
    else:
        hd_l, kvh, k_eq_v = hd, nkv, False
    q_out = nh * hd_l * (2 if _get(c, "attn_output_gate", default=False) else 1)
    kv_mats = 1 if k_eq_v else 2
    q = h * q_out
    kvp = h * kvh * hd_l * kv_mats
    o = nh * hd_l * h
    b = (q_out + kvh * hd_l * kv_mats + h) if bias else 0
    qkn = 0
    if _get(c, "use_qk_norm", default=False) or mt.startswith(("qwen3", "gemma", "olmo")):
        if str(_get(c, "qk_norm_type", default="")) == "per_layer":
            qkn = nh * hd_l + kvh * hd_l
        elif not mt.startswith("llama4"):  # Llama 4's QK L2-norm has no weights
            qkn = 2 * hd_l
    sinks = nh if mt == "gpt_oss" else 0
    mx = _Mixer(
        q_heads=nh,
        kv_heads=kvh,
        qk_d=hd_l,
        v_d=hd_l,
        a_params=q + kvp + o + b + qkn + sinks,
        qkv=q + kvp,
        out=o,
        kv_elems=kvh * hd_l * kv_mats,
        flops_dec=2 * nh * hd_l * 2,
        flops_pre=2 * nh * hd_l * 2,
    )
    if kind == "sliding":
        mx.win = int(window or 4096)
    elif kind == "chunked":
        mx.win = _cfg_int(c, "attention_chunk_size", src)
    if msa is not None and msa["sparse"][i]:  # MiniMax Sparse Attention: block top-k selected by an indexer
        mx.a_params += msa["indexer_params"]
        mx.qkv += msa["indexer_params"]
        mx.idx_elems, mx.idx_flops, mx.topk = msa["index_elements"], msa["indexer_flops"], msa["topk_tokens"]
    return mx


def _linear_attention_mixer(c: dict, src: str, h: int) -> _Mixer:
    """Gated DeltaNet (Qwen3-Next / Qwen3.5)."""
    nk, dk = _cfg_int(c, "linear_num_key_heads", src), _cfg_int(c, "linear_key_head_dim", src)
    nv, dv = _cfg_int(c, "linear_num_value_heads", src), _cfg_int(c, "linear_value_head_dim", src)
    kern = _cfg_int(c, "linear_conv_kernel_dim", src, default=4)
    conv_dim = 2 * nk * dk + nv * dv
    in_proj = h * (2 * nk * dk + 2 * nv * dv) + h * 2 * nv
    out = nv * dv * h
    return _Mixer(
        q_heads=nv,
        kv_heads=nk,
        qk_d=dk,
        v_d=dv,
        a_params=in_proj + conv_dim * kern + 2 * nv + dv + out,
        qkv=in_proj,
        out=out,
        state=nv * dk * dv + conv_dim * (kern - 1),
        mixer=6 * nv * dk * dv,
    )


def _mamba_mixer(c: dict, src: str, h: int) -> _Mixer:
    """Mamba-2 (Nemotron-H)."""
    nheads, mhd = _cfg_int(c, "mamba_num_heads", src), _cfg_int(c, "mamba_head_dim", src)
    ng, ds = _cfg_int(c, "n_groups", src, default=1), _cfg_int(c, "ssm_state_size", src)
    kern = _cfg_int(c, "conv_kernel", src, default=4)
    d_in = nheads * mhd
    conv_dim = d_in + 2 * ng * ds
    in_proj = h * (2 * d_in + 2 * ng * ds + nheads)
    out = d_in * h
    return _Mixer(
        q_heads=nheads,
        kv_heads=ng,
        qk_d=ds,
        v_d=mhd,
        a_params=(
            in_proj
            + conv_dim * kern
            + (conv_dim if _get(c, "use_conv_bias", default=True) else 0)
            + 3 * nheads
            + d_in
            + out
        ),
        qkv=in_proj,
        out=out,
        state=nheads * mhd * ds + conv_dim * (kern - 1),
        mixer=6 * nheads * mhd * ds,
    )


@dataclass(frozen=True)
class _Mlp:
    """One layer's MLP / MoE fields of :class:`LayerSpec`."""

    dense_p: float = 0.0
    exp_p: float = 0.0
    shared_p: float = 0.0
    router_p: float = 0.0
    other_p: float = 0.0
    n_e: int = 0
    k_e: int = 0


def _layer_mlp(
    c: dict,
    mk: str,
    i: int,
    *,
    mt: str,
    h: int,
    mats: int,
    mla: bool,
    inter: int,
    v4: bool,
    hash_layers: set[int],
    moe: _MoeConfig,
) -> _Mlp:
    """Parameters of layer ``i``'s MLP of kind ``mk`` (dense, moe or none)."""
    if mk == "dense":
        di = int(moe.dense_inter or 0)
        if mla and moe.first_k_dense and i < moe.first_k_dense:
            di = int(inter)
        return _Mlp(dense_p=mats * h * di)
    if mk != "moe":
        return _Mlp()
    n_exp = moe.n_exp
    mi = int(moe.moe_inter)  # type: ignore[arg-type]  # set whenever n_exp is, and moe layers need n_exp or E blocks
    dense_p = exp_p = shared_p = other_p = 0.0
    if moe.latent:  # Nemotron LatentMoE: routed experts in a latent dimension
        exp_p = mats * int(moe.latent) * mi
        other_p = 2 * h * int(moe.latent)
    else:
        exp_p = mats * h * mi + ((mats - 1) * mi + h if moe.expert_bias else 0)
    if moe.n_shared and moe.shared_inter:
        shared_p = (
            mats
            * h
            * int(moe.shared_inter)
            * (
                moe.n_shared
                if not _get(c, "shared_expert_intermediate_size", "moe_shared_expert_intermediate_size")
                else 1
            )
        )
    shared_p += moe.shared_gate
    router_p = h * n_exp + (n_exp if (moe.router_bias or moe.expert_bias) else 0)
    if v4:  # learned gate on every layer; the noaux_tc correction bias only where the router is learned
        router_p = h * n_exp + (0 if i in hash_layers else n_exp)  # hash layers: frozen tid2eid lookup
    if mt.startswith("gemma4"):
        dense_p = mats * h * int(inter)  # parallel dense MLP
        router_p += h  # router scale
    return _Mlp(
        dense_p=dense_p,
        exp_p=exp_p,
        shared_p=shared_p,
        router_p=router_p,
        other_p=other_p,
        n_e=n_exp,
        k_e=moe.top_k,
    )


def parse_config(
    cfg: dict,
    *,
    key: str = "custom",
    name: str | None = None,
    source: str = "",
    quant: dict | None = None,
    notes: str = "",
    conventions: str = "",
    where: str | None = None,
) -> ModelSpec:
    """Parse a Hugging Face config.json dict into a ModelSpec (``where``: the file, named in errors)."""
    c = dict(_text_config(cfg))
    src = where or name or key
    check_config(c, src)
    archs = c.get("architectures") or c.get("_wrapper_architectures")
    arch = str(archs[0] if isinstance(archs, list) and archs else c.get("model_type", "?"))
    mt = str(c.get("model_type", "")).lower()
    h = _cfg_int(c, "hidden_size", src)
    L = _cfg_int(c, "num_hidden_layers", src, maximum=MAX_CONFIG_LAYERS)
    vocab = _cfg_int(c, "vocab_size", src)
    nh = _cfg_int(c, "num_attention_heads", src)
    nkv = _cfg_int(c, "num_key_value_heads", src, default=nh)
    hd = _cfg_int(c, "head_dim", src, default=max(h // nh, 1))
    v4 = mt == "deepseek_v4"  # DeepSeek-V4: CSA / HCA / sliding layers, shared K=V head, hyper-connections
    msa = _minimax_sparse_attention(c, src, L)  # MiniMax Sparse Attention (MiniMax-M3), None when absent
    tie = bool(_get(c, "tie_word_embeddings", default=False))
    bias = bool(_get(c, "attention_bias", default=False))
    act = _get(c, "hidden_act", "hidden_activation", "mlp_hidden_act")
    gated = _gated(act)
    inter = _cfg_int(c, "intermediate_size", src, default=0, minimum=0)
    max_pos = _cfg_int(c, "max_position_embeddings", src, default=None)
    moe = _moe_config(c, src, mt, h, L, inter)
    if not moe.n_exp and not inter:  # a dense model without its MLP width would be sized without its MLP
        raise TokenfabError("missing required field in config.json (the MLP width)", field=f"{src}: intermediate_size")
    mats = 3 if gated else 2

    # ---------------- per-layer attention kind
    layer_types = _cfg_list(c, "layer_types", src, min_length=L) if c.get("layer_types") else None
    pattern = _get(c, "hybrid_override_pattern")
    window = _cfg_int(c, "sliding_window", src, default=None, minimum=0)
    chunk = _cfg_int(c, "attention_chunk_size", src, default=None)
    v4_ratios = None
    if pattern and v4:  # the pattern would leave V4's per-layer compression undefined
        raise TokenfabError(
            "DeepSeek-V4 takes its layer kinds from compress_ratios or layer_types",
            field=f"{src}: hybrid_override_pattern",
            expected="no hybrid_override_pattern with model_type deepseek_v4",
        )
    if pattern:  # Nemotron-H: one block per character
        kinds, mlp_kinds = _hybrid_pattern_kinds(pattern, src, L)
    else:
        v4_ratios = _deepseek_v4_ratios(c, src, L) if v4 else None
        kinds, mlp_kinds = [], []
        for i in range(L):
            kinds.append(_attention_kind(c, src, mt, i, v4_ratios, layer_types, chunk, window))
            mlp_kinds.append(_mlp_kind(i, mt, moe))

    # ---------------- attention shapes
    mla = _get(c, "kv_lora_rank") is not None
    idx_types = _dsa_indexer_types(c, src, L) if mla and _get(c, "index_topk") else None
    # DeepSeek-V4 hash-routed layers: the first ``num_hash_layers`` (transformers' default 3), or mlp_layer_types
    if v4 and moe.mlp_types is not None:
        hash_layers = {i for i, t in enumerate(moe.mlp_types[:L]) if t == "hash_moe"}
    else:
        hash_layers = set(range(_cfg_int(c, "num_hash_layers", src, default=3, minimum=0, maximum=L))) if v4 else set()
    layers = []
    for i in range(L):
        kind = kinds[i]
        if v4_ratios is not None:  # DeepSeek-V4
            mx = _deepseek_v4_attention(c, src, h, nh, nkv, hd, v4_ratios[i])
        elif kind in ("full", "sliding", "chunked") and mla:
            mx = _mla_mixer(c, src, h, nh, i, idx_types)
        elif kind in ("full", "sliding", "chunked"):
            mx = _gqa_mixer(c, src, mt, kind, i, h, nh, nkv, hd, bias, window, msa)
        elif kind == "linear":
            mx = _linear_attention_mixer(c, src, h)
        elif kind == "mamba":
            mx = _mamba_mixer(c, src, h)
        else:
            mx = _Mixer(q_heads=nh, kv_heads=nkv, qk_d=hd, v_d=hd)

        # ---------------- MLP / MoE
        mk = mlp_kinds[i]
        mlp = _layer_mlp(c, mk, i, mt=mt, h=h, mats=mats, mla=mla, inter=inter, v4=v4, hash_layers=hash_layers, moe=moe)
        norms: float = 2 * h if kind != "none" and mk != "none" else h
        if mt.startswith("gemma"):
            norms = 4 * h + (2 * h if mk == "moe" else 0)
        if v4:  # hyper-connection mixing weights: small, always active and unquantized, counted with the norms
            norms += _deepseek_v4_hc_params(c, src, h, last_layer=i == L - 1)
        layers.append(
            LayerSpec(
                attention=kind,
                window_tokens=mx.win,
                attn_params=float(mx.a_params),
                attn_qkv_params=float(mx.qkv),
                attn_out_params=float(mx.out),
                kv_elements_per_token=float(mx.kv_elems),
                state_elements_per_seq=float(mx.state),
                q_heads=int(mx.q_heads),
                kv_heads=int(mx.kv_heads),
                qk_head_dim=int(mx.qk_d),
                v_head_dim=int(mx.v_d),
                attn_flops_per_ctx_token_decode=float(mx.flops_dec),
                attn_flops_per_ctx_token_prefill=float(mx.flops_pre),
                attn_topk_tokens=mx.topk,
                indexer_flops_per_ctx_token=float(mx.idx_flops),
                mixer_flops_per_token=float(mx.mixer),
                mlp=mk,
                dense_mlp_params=float(mlp.dense_p),
                num_experts=mlp.n_e,
                experts_per_token=mlp.k_e,
                expert_params=float(mlp.exp_p),
                shared_expert_params=float(mlp.shared_p),
                router_params=float(mlp.router_p),
                moe_other_params=float(mlp.other_p),
                norm_params=float(norms),
                kv_compress_ratio=int(mx.ratio),
                kv_raw_window_tokens=int(mx.raw_win),
                index_elements_per_token=float(mx.idx_elems),
            )
        )

    w, kvp, keep = _native_precision(c, quant)
    mtp = _mtp_layers(c, src, arch)
    return ModelSpec(
        key=key,
        name=name or key,
        architecture=arch,
        hidden_size=h,
        vocab_size=vocab,
        tie_word_embeddings=tie,
        layers=tuple(layers),
        max_position_embeddings=int(max_pos) if max_pos else None,
        native_weights=w,
        native_kv=kvp,
        keep_bf16=keep,
        mtp_layers=mtp,
        source=source,
        notes=notes,
        conventions=conventions,
    )


# --------------------------------------------------------------------------------------------- parameter counts
@dataclass(frozen=True)
class ParamCounts:
    embedding: float
    lm_head: float
    attention: float
    dense_mlp: float
    routed_experts: float  # all routed experts
    routed_experts_active: float  # experts_per_token of them
    shared_experts: float
    router: float
    moe_other: float
    norms: float
    tied_embeddings: bool = False

    @property
    def total(self) -> float:
        return (
            self.embedding
            + self.lm_head
            + self.attention
            + self.dense_mlp
            + self.routed_experts
            + self.shared_experts
            + self.router
            + self.moe_other
            + self.norms
        )

    @property
    def active(self) -> float:
        return (
            self.embedding
            + self.lm_head
            + self.attention
            + self.dense_mlp
            + self.routed_experts_active
            + self.shared_experts
            + self.router
            + self.moe_other
            + self.norms
        )

    @property
    def active_excl_input_embedding(self) -> float:
        """Active weights a token multiplies with: with tied embeddings the one matrix still serves as lm_head."""
        return self.active if self.tied_embeddings else self.active - self.embedding

    @property
    def active_excl_embeddings(self) -> float:
        """Active weights without the input embedding and the lm_head ("non-embedding" active parameters: the
        convention of MiniMax's 23B and of vLLM's 39B for GLM-5.2)."""
        return self.active - self.embedding - self.lm_head

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d.update(
            total=self.total,
            active=self.active,
            active_excl_input_embedding=self.active_excl_input_embedding,
            active_excl_embeddings=self.active_excl_embeddings,
        )
        return d


def param_counts(model: ModelSpec) -> ParamCounts:
    ls = model.layers
    emb = model.vocab_size * model.hidden_size
    return ParamCounts(
        embedding=float(emb),
        lm_head=0.0 if model.tie_word_embeddings else float(emb),
        attention=sum(layer.attn_params for layer in ls),
        dense_mlp=sum(layer.dense_mlp_params for layer in ls),
        routed_experts=sum(layer.num_experts * layer.expert_params for layer in ls),
        routed_experts_active=sum(layer.experts_per_token * layer.expert_params for layer in ls),
        shared_experts=sum(layer.shared_expert_params for layer in ls),
        router=sum(layer.router_params for layer in ls),
        moe_other=sum(layer.moe_other_params for layer in ls),
        norms=sum(layer.norm_params for layer in ls) + model.hidden_size,
        tied_embeddings=model.tie_word_embeddings,
    )


# --------------------------------------------------------------------------------------------- bytes
WEIGHT_COMPONENTS = (
    "embedding",
    "lm_head",
    "attention",
    "dense_mlp",
    "routed_experts",
    "shared_experts",
    "router",
    "moe_other",
    "norms",
)


def component_precisions(model: ModelSpec, weights: str) -> dict[str, str]:
    """Which precision each component is stored at when the model is quantized to ``weights``.

    Decoder linear layers take ``weights`` (a mixed ``<experts>+<rest>`` precision: routed experts at the first,
    the other linear layers at the second). Embeddings, lm_head, router and norms stay 16-bit when weights are
    narrower (what ModelOpt/compressed-tensors checkpoints do: their ``exclude_modules`` list lm_head and the
    routers). Components the checkpoint's own quantization leaves at 16 bit (e.g. gpt-oss attention) stay 16-bit
    when ``weights`` is the checkpoint's native precision.
    """
    w = prec.normalize(weights, allowed=(*prec.BYTES_PER_PARAM, *prec.MIXED_PRECISIONS))
    experts, rest = prec.split_mixed(w)
    hi = "bf16" if rest != "fp16" else "fp16"
    if rest == "fp32":
        hi = "fp32"
    out = {c: rest for c in WEIGHT_COMPONENTS}
    out["routed_experts"] = experts  # a mixed precision (``mxfp4+fp8``) stores the routed experts narrower
    for c in ("embedding", "lm_head", "router", "norms"):
        out[c] = hi
    if w == model.native_weights or (
        w in ("fp4", "nvfp4", "mxfp4") and model.native_weights in ("fp4", "nvfp4", "mxfp4")
    ):
        for comp in model.keep_bf16:
            if comp in out:
                out[comp] = hi
    return out


def weight_bytes(model: ModelSpec, weights: str) -> dict[str, float]:
    """Bytes per component at ``weights`` precision (block-scale overhead included), plus ``total``."""
    pc = param_counts(model)
    precs = component_precisions(model, weights)
    out = {c: getattr(pc, c) * prec.bytes_per_param(precs[c]) for c in WEIGHT_COMPONENTS}
    out["total"] = sum(out.values())
    return out


def active_weight_bytes_per_token(model: ModelSpec, weights: str) -> float:
    """Bytes of weights one token touches (top-k experts only), excluding the input embedding lookup."""
    pc = param_counts(model)
    precs = component_precisions(model, weights)
    b = 0.0
    for c in WEIGHT_COMPONENTS:
        if c == "embedding":
            continue
        n = pc.routed_experts_active if c == "routed_experts" else getattr(pc, c)
        b += n * prec.bytes_per_param(precs[c])
    return b


# bytes of one stored indexer key element: DSA / CSA indexers keep their keys in FP8 (DeepSeek-V3.2 and V4 inference
# code, github.com/deepseek-ai/DeepSeek-V3.2-Exp inference/model.py: the indexer k-cache is float8_e4m3fn)
INDEX_KEY_BYTES_PER_ELEMENT = 1.0


def kv_entries(layer: LayerSpec, context_tokens: ArrayLike) -> NDArray[np.float64]:
    """Stored KV entries per sequence of one layer at ``context_tokens`` (NumPy-broadcastable): the context capped
    at a sliding window, folded ``kv_compress_ratio`` tokens per entry, plus any raw window kept beside it."""
    ctx = np.asarray(context_tokens, dtype=float)
    eff = np.minimum(ctx, layer.window_tokens) if layer.window_tokens else ctx
    out = eff / max(layer.kv_compress_ratio, 1)
    if layer.kv_raw_window_tokens:
        out = out + np.minimum(ctx, layer.kv_raw_window_tokens)
    return out


def attended_entries(layer: LayerSpec, context_tokens: ArrayLike) -> NDArray[np.float64]:
    """KV entries one decode query reads: the stored entries, at most ``attn_topk_tokens`` of the (compressed) stream
    when a selector (DSA / CSA indexer, block top-k) picks them, plus the raw window."""
    ctx = np.asarray(context_tokens, dtype=float)
    eff = np.minimum(ctx, layer.window_tokens) if layer.window_tokens else ctx
    main = eff / max(layer.kv_compress_ratio, 1)
    if layer.attn_topk_tokens:
        main = np.minimum(main, layer.attn_topk_tokens)
    if layer.kv_raw_window_tokens:
        main = main + np.minimum(ctx, layer.kv_raw_window_tokens)
    return main


def causal_attended_pairs(layer: LayerSpec, new_tokens: ArrayLike, cached_tokens: ArrayLike = 0) -> NDArray[np.float64]:
    """(query, entry) pairs when prefilling ``new_tokens`` after ``cached_tokens`` (causal): query i reads
    attended_entries(layer, i) entries. Compression r with a top-k cap k: sum_i min(i / r, k) = S(n, k r) / r."""
    n = np.asarray(new_tokens, dtype=float)
    c0 = np.asarray(cached_tokens, dtype=float)
    r = max(layer.kv_compress_ratio, 1)
    w = layer.window_tokens
    cap = None
    if layer.attn_topk_tokens:
        cap = layer.attn_topk_tokens * r
    if w is not None:
        cap = w if cap is None else min(cap, w)
    pairs = (_causal_sum(c0 + n, cap) - _causal_sum(c0, cap)) / r
    if layer.kv_raw_window_tokens:
        rw = layer.kv_raw_window_tokens
        pairs = pairs + _causal_sum(c0 + n, rw) - _causal_sum(c0, rw)
    return pairs


def kv_bytes_per_token(model: ModelSpec, kv: str = "bf16") -> float:
    """KV-cache bytes per token of context summed over layers (windowed layers counted as if uncapped; compressed
    streams at their ratio; indexer keys included)."""
    e = prec.kv_bytes_per_element(kv)
    return sum(
        layer.kv_elements_per_token * e / max(layer.kv_compress_ratio, 1)
        + layer.index_elements_per_token * INDEX_KEY_BYTES_PER_ELEMENT
        for layer in model.layers
    )


def state_bytes(kv: str) -> float:
    """Recurrent state is kept at 16 bit or wider.

    SSM caches are fp32 in Nemotron-H; we use the wider of kv and bf16.
    """
    return max(prec.kv_bytes_per_element(kv), 2.0)


@overload
def kv_cache_bytes(model: ModelSpec, context_tokens: float, kv: str = ..., sequences: float = ...) -> float: ...
@overload
def kv_cache_bytes(
    model: ModelSpec, context_tokens: ArrayLike, kv: str = ..., sequences: ArrayLike = ...
) -> float | NDArray[np.float64]: ...
def kv_cache_bytes(
    model: ModelSpec, context_tokens: ArrayLike, kv: str = "bf16", sequences: ArrayLike = 1
) -> float | NDArray[np.float64]:
    """KV-cache bytes for ``sequences`` sequences of ``context_tokens`` tokens (NumPy-broadcastable).

    Full-attention layers grow linearly with context; sliding-window and chunked layers are capped at their window;
    compressed layers store one entry per ``kv_compress_ratio`` tokens (plus their raw window); indexer keys are one
    per token; linear-attention / SSM layers hold a constant state per sequence.
    """
    ctx = np.asarray(context_tokens, dtype=float)
    e = prec.kv_bytes_per_element(kv)
    total = np.zeros_like(ctx)
    for layer in model.layers:
        if layer.kv_elements_per_token:
            total = total + layer.kv_elements_per_token * e * kv_entries(layer, ctx)
        if layer.index_elements_per_token:
            total = total + layer.index_elements_per_token * INDEX_KEY_BYTES_PER_ELEMENT * ctx
        if layer.state_elements_per_seq:
            total = total + layer.state_elements_per_seq * state_bytes(kv)
    out = total * np.asarray(sequences, dtype=float)
    return float(out) if np.ndim(out) == 0 else out


# --------------------------------------------------------------------------------------------- FLOPs
@overload
def attention_flops_decode(model: ModelSpec, context_tokens: float) -> float: ...
@overload
def attention_flops_decode(model: ModelSpec, context_tokens: ArrayLike) -> float | NDArray[np.float64]: ...
def attention_flops_decode(model: ModelSpec, context_tokens: ArrayLike) -> float | NDArray[np.float64]:
    """Attention FLOPs of one decode token attending to ``context_tokens`` previous tokens (all layers)."""
    ctx = np.asarray(context_tokens, dtype=float)
    f = np.zeros_like(ctx)
    for layer in model.layers:
        if layer.attention in ("full", "sliding", "chunked"):
            f = (
                f
                + layer.attn_flops_per_ctx_token_decode * attended_entries(layer, ctx)
                + layer.indexer_flops_per_ctx_token * ctx
            )
        f = f + layer.mixer_flops_per_token
    return float(f) if np.ndim(f) == 0 else f


def matmul_flops_per_token(model: ModelSpec) -> float:
    """2 x the active weights a token multiplies with (input embedding excluded: it is a lookup)."""
    return 2.0 * (param_counts(model).active_excl_input_embedding)


def decode_flops_per_token(model: ModelSpec, context_tokens: ArrayLike) -> float | NDArray[np.float64]:
    return matmul_flops_per_token(model) + attention_flops_decode(model, context_tokens)


def _causal_sum(n: ArrayLike, w: float | None) -> NDArray[np.float64]:
    """sum_{i=1..n} min(i, w) (vectorized); w=None means no window."""
    n = np.asarray(n, dtype=float)
    if w is None:
        return n * (n + 1) / 2
    w = float(w)
    return np.where(n <= w, n * (n + 1) / 2, w * (w + 1) / 2 + (n - w) * w)


@overload
def attention_flops_prefill(model: ModelSpec, tokens: float, cached_tokens: float = ...) -> float: ...
@overload
def attention_flops_prefill(
    model: ModelSpec, tokens: ArrayLike, cached_tokens: ArrayLike = ...
) -> float | NDArray[np.float64]: ...
def attention_flops_prefill(
    model: ModelSpec, tokens: ArrayLike, cached_tokens: ArrayLike = 0
) -> float | NDArray[np.float64]:
    """Attention FLOPs to prefill ``tokens`` new tokens after ``cached_tokens`` already in the cache (causal)."""
    n = np.asarray(tokens, dtype=float)
    c0 = np.asarray(cached_tokens, dtype=float)
    f = np.zeros(np.broadcast(n, c0).shape)
    for layer in model.layers:
        if layer.attention in ("full", "sliding", "chunked"):
            f = f + layer.attn_flops_per_ctx_token_prefill * causal_attended_pairs(layer, n, c0)
            if layer.indexer_flops_per_ctx_token:
                f = f + layer.indexer_flops_per_ctx_token * (_causal_sum(c0 + n, None) - _causal_sum(c0, None))
        f = f + layer.mixer_flops_per_token * n
    return float(f) if np.ndim(f) == 0 else f


def prefill_flops(model: ModelSpec, tokens: ArrayLike, cached_tokens: ArrayLike = 0) -> float | NDArray[np.float64]:
    return matmul_flops_per_token(model) * np.asarray(tokens, dtype=float) + attention_flops_prefill(
        model, tokens, cached_tokens
    )


# --------------------------------------------------------------------------------------------- catalog
@lru_cache(maxsize=1)
def _catalog_index() -> dict[str, dict]:
    raw = cast(dict[str, Any], read_yaml(data_path("models.yaml")))  # the bundled file: a mapping with 'models'
    return {str(k): v for k, v in raw["models"].items()}


def _load_json(path: Path, field: str = "model") -> dict:
    """A config.json (or hf_quant_config.json) through tokenfab.core.files: a folder, binary or non-UTF-8 data, an
    empty or oversized file, deep nesting or a JSON that is not an object are errors naming the file. Some configs
    carry the non-standard literal Infinity in fields tokenfab does not read: it is accepted (check_config checks
    the fields that are read)."""
    return load_json_object(path, field=field, kind=MODEL_CONFIG, allow_nonfinite=True)


def load_config_path(path: str | Path, *, key: str | None = None) -> ModelSpec:
    """A config.json, or a folder holding one (and optionally hf_quant_config.json)."""
    p = Path(path)
    try:
        is_dir = p.is_dir()
    except (OSError, ValueError):  # a name too long for the file system: the loader names the error
        is_dir = False
    if is_dir:
        cfgp = p / "config.json"
        if not cfgp.exists():
            raise TokenfabError("folder has no config.json", field="model", got=str(p))
        quantp: Path | None = p / "hf_quant_config.json"
    else:
        cfgp = p
        quantp = (
            p.with_name(p.name.replace("config.json", "hf_quant_config.json"))
            if p.name.endswith("config.json")
            else None
        )
        if quantp is not None and quantp == p:
            quantp = None
    cfg = _load_json(cfgp)
    quant = _load_json(quantp) if quantp is not None and quantp.is_file() else None
    stem = cfgp.stem.replace(".config", "")
    # a Hugging Face folder holds "config.json": the folder is the model's name (e.g. .../Qwen3-8B/config.json)
    default_key = cfgp.resolve().parent.name if stem in ("config", "") else stem
    return parse_config(
        cfg,
        key=key or default_key,
        name=str(cfg.get("_name_or_path") or default_key),
        source=str(cfgp),
        quant=quant,
        where=str(cfgp),
    )


@lru_cache(maxsize=64)
def _load_bundled(key: str) -> ModelSpec:
    entry = _catalog_index()[key]
    cfg = _load_json(data_path("models", entry["config"]))
    quant = _load_json(data_path("models", entry["quant_config"])) if entry.get("quant_config") else None
    spec = parse_config(
        cfg,
        key=key,
        name=entry.get("name", key),
        source=entry.get("source", ""),
        quant=quant,
        notes=entry.get("notes", ""),
        conventions=entry.get("conventions", ""),
    )
    return spec


def model_keys() -> list[str]:
    return sorted(_catalog_index())


def get_model(model: str | Path | ModelSpec) -> ModelSpec:
    """A bundled short key (``llama-3.1-70b``), a path to a config.json, or a folder holding one."""
    if isinstance(model, ModelSpec):
        return model
    s = str(model).strip()
    if not s:  # Path("") is the current folder: an empty name would load whatever config.json lies there
        raise TokenfabError(
            "no model given", field="model", expected="a catalog key (tokenfab catalog models) or a config.json path"
        )
    idx = _catalog_index()
    if s.lower() in idx:
        return _load_bundled(s.lower())
    for k, v in idx.items():
        if s.lower() in [a.lower() for a in v.get("aliases", [])] or s.lower() == str(v.get("hf_id", "")).lower():
            return _load_bundled(k)
    p = Path(s).expanduser()
    try:
        exists = p.exists()
    except (OSError, ValueError):  # a name too long for the file system, a NUL byte: no such file
        exists = False
    if exists or s.endswith(".json") or "/" in s and p.suffix:
        return load_config_path(p)
    raise UnknownKeyError("model", s, idx.keys(), field="model")


def list_models() -> list[ModelSpec]:
    return [get_model(k) for k in model_keys()]


def published_params(key: str) -> dict[str, Any]:
    """Published total/active parameter figures with source (from data/models.yaml)."""
    return dict(_catalog_index()[key].get("published", {}))
