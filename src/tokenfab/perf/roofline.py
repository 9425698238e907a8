"""Per-operator roofline: the time of one forward pass (a decode step or a prefill chunk), NumPy-vectorized.

Every operator's time is ``max(FLOPs / (peak x compute efficiency), bytes / (bandwidth x memory efficiency))``; the
efficiencies come from a calibration profile (see calibration.py) and the GEMM compute efficiency falls for small
GEMMs: ``eff(M) = gemm_efficiency x M / (M + gemm_tokens_half)`` where M is the number of token rows of the GEMM.
Communication (TP all-reduce, EP all-to-all, PP hand-off) goes over the scale-up link when the group fits in the
hardware's scale-up domain, else over scale-out. A fixed per-step and per-layer overhead models kernel launches and
the scheduler. All inputs may be NumPy arrays of one common shape (or scalars): that is how sweeps run fast.

Operator classes in the breakdown: ``attention_proj`` (QKV/O or MLA down/up projections, mixer projections),
``attention_core`` (attention over the context / the recurrent mixer), ``mlp`` (dense MLP), ``experts`` (routed),
``shared_experts`` (+ router), ``lm_head``, ``communication``, ``overhead``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from tokenfab.catalog import precision as prec
from tokenfab.catalog.models import (
    INDEX_KEY_BYTES_PER_ELEMENT,
    LayerSpec,
    ModelSpec,
    _causal_sum,
    attended_entries,
    causal_attended_pairs,
    component_precisions,
    kv_entries,
)

ACT_BYTES = 2.0  # activations exchanged in 16-bit
OP_CLASSES = (
    "attention_proj",
    "attention_core",
    "mlp",
    "experts",
    "shared_experts",
    "lm_head",
    "communication",
    "overhead",
)


def gemm_compute_efficiency(m_rows, gemm_efficiency, gemm_tokens_half):
    """Fraction of peak a GEMM with ``m_rows`` token rows reaches (saturating in M)."""
    m = np.maximum(np.asarray(m_rows, dtype=float), 1e-9)
    return gemm_efficiency * m / (m + gemm_tokens_half)


def op_time_s(flops, bytes_moved, peak_flops_per_s, bandwidth_bytes_per_s, compute_eff, memory_eff):
    """Roofline time of one operator: the slower of its compute and its memory traffic."""
    t_c = flops / (peak_flops_per_s * compute_eff)
    t_m = bytes_moved / (bandwidth_bytes_per_s * memory_eff)
    return np.maximum(t_c, t_m), t_c, t_m


def expected_experts_touched(num_experts, experts_per_token, tokens):
    """Expected number of distinct experts hit when ``tokens`` tokens each pick ``experts_per_token`` of
    ``num_experts`` (uniform routing): E x (1 - (1 - k/E)^T)."""
    e = np.asarray(num_experts, dtype=float)
    k = np.asarray(experts_per_token, dtype=float)
    t = np.asarray(tokens, dtype=float)
    return e * (1.0 - np.power(1.0 - k / e, t))


def allreduce_time_s(message_bytes, group, bandwidth_bytes_per_s, comm_eff, latency_s):
    """Ring all-reduce: 2 (n-1)/n x message / bandwidth + a latency per call; zero for a group of one."""
    n = np.asarray(group, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = 2.0 * (n - 1.0) / n * message_bytes / (bandwidth_bytes_per_s * comm_eff) + latency_s
    return np.where(n > 1, t, 0.0)


def alltoall_time_s(bytes_per_gpu, group, bandwidth_bytes_per_s, comm_eff, latency_s):
    """All-to-all: each GPU sends (n-1)/n of its bytes to the others."""
    n = np.asarray(group, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (n - 1.0) / n * bytes_per_gpu / (bandwidth_bytes_per_s * comm_eff) + latency_s
    return np.where(n > 1, t, 0.0)


def link_bandwidth(group, scaleup_domain, scaleup_bw, scaleout_bw):
    """Scale-up bandwidth when the group fits in one scale-up domain, else scale-out."""
    inside = np.asarray(group) <= np.asarray(scaleup_domain)
    return np.where(inside, scaleup_bw, np.maximum(scaleout_bw, 1e6))


@dataclass(frozen=True)
class LayerGroup:
    layer: LayerSpec
    count: int


@lru_cache(maxsize=256)
def layer_groups(model: ModelSpec) -> tuple[LayerGroup, ...]:
    c = Counter(model.layers)
    return tuple(LayerGroup(l, n) for l, n in c.items())


@lru_cache(maxsize=256)
def _bytes_per_param(model: ModelSpec, weights: str) -> dict[str, float]:
    return {k: prec.bytes_per_param(v) for k, v in component_precisions(model, weights).items()}


def forward_time(
    model: ModelSpec,
    weights: str,
    kv: str,
    *,
    new_tokens,
    sequences,
    context,
    phase: str,
    peak_flops_per_s,
    bandwidth_bytes_per_s,
    scaleup_bw,
    scaleout_bw,
    scaleup_domain,
    tp,
    pp,
    dp,
    ep,
    cal,
    sampled_tokens=None,
):
    """Time (s) of one forward pass through the whole model (all PP stages) for one attention-DP rank.

    new_tokens: token rows processed in the pass per DP rank (decode: sequences x (1 + draft tokens)).
    sequences:  sequences whose KV is read (decode) or being prefilled (prefill).
    context:    tokens already in each sequence's KV (decode: the mean context; prefill: cached prefix).
    phase:      "decode" or "prefill" (prefill: attention is causal over the new tokens, MLA un-absorbed).
    cal:        dict of calibration arrays/scalars: gemm_efficiency, gemm_tokens_half, memory_efficiency,
                attention_efficiency, comm_efficiency, comm_latency_us, step_overhead_ms, layer_overhead_us.
    Returns (total_s, breakdown dict class -> seconds, bound_times dict compute/memory/communication/overhead).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        return _forward_time(
            model,
            weights,
            kv,
            new_tokens=new_tokens,
            sequences=sequences,
            context=context,
            phase=phase,
            peak_flops_per_s=peak_flops_per_s,
            bandwidth_bytes_per_s=bandwidth_bytes_per_s,
            scaleup_bw=scaleup_bw,
            scaleout_bw=scaleout_bw,
            scaleup_domain=scaleup_domain,
            tp=tp,
            pp=pp,
            dp=dp,
            ep=ep,
            cal=cal,
            sampled_tokens=sampled_tokens,
        )


def _forward_time(
    model,
    weights,
    kv,
    *,
    new_tokens,
    sequences,
    context,
    phase,
    peak_flops_per_s,
    bandwidth_bytes_per_s,
    scaleup_bw,
    scaleout_bw,
    scaleup_domain,
    tp,
    pp,
    dp,
    ep,
    cal,
    sampled_tokens=None,
):
    T = np.asarray(new_tokens, dtype=float)
    S = np.asarray(sequences, dtype=float)
    ctx = np.asarray(context, dtype=float)
    tp = np.asarray(tp, dtype=float)
    pp = np.asarray(pp, dtype=float)
    dp = np.asarray(dp, dtype=float)
    ep = np.asarray(ep, dtype=float)
    peak = np.asarray(peak_flops_per_s, dtype=float)
    bw = np.asarray(bandwidth_bytes_per_s, dtype=float)
    ge, gh = cal["gemm_efficiency"], cal["gemm_tokens_half"]
    me, ae = cal["memory_efficiency"], cal["attention_efficiency"]
    ce, lat = cal["comm_efficiency"], np.asarray(cal["comm_latency_us"]) * 1e-6
    bpp = _bytes_per_param(model, weights)
    kvb = prec.kv_bytes_per_element(kv)
    stb = max(kvb, 2.0)
    h = model.hidden_size

    zero = np.zeros(np.broadcast(T, S, ctx, tp, pp, dp, ep, peak, bw).shape)
    br = {k: zero.copy() for k in OP_CLASSES}
    tc_sum, tm_sum = zero.copy(), zero.copy()

    def gemm(cls, params, m_rows, bpp_c, count, flop_rows=None):
        nonlocal tc_sum, tm_sum
        rows = m_rows if flop_rows is None else flop_rows
        flops = 2.0 * rows * params
        byts = params * bpp_c + rows * ACT_BYTES * 0.0  # activation traffic is negligible next to weights
        t, t_c, t_m = op_time_s(flops, byts, peak, bw, gemm_compute_efficiency(m_rows, ge, gh), me)
        br[cls] = br[cls] + count * t
        tc_sum = tc_sum + count * t_c
        tm_sum = tm_sum + count * t_m

    tp_group_bw = link_bandwidth(tp, scaleup_domain, scaleup_bw, scaleout_bw)
    ep_group = tp * dp
    ep_bw = link_bandwidth(ep_group, scaleup_domain, scaleup_bw, scaleout_bw)
    n_layers = float(model.num_layers)
    for g in layer_groups(model):
        l, n = g.layer, float(g.count)
        # --- attention / mixer projections (split over TP)
        if l.attn_params:
            gemm("attention_proj", l.attn_params / tp, T, bpp["attention"], n)
        # --- attention core
        if l.attention in ("full", "sliding", "chunked"):
            kvh = float(l.kv_heads)
            kv_split = np.minimum(tp, kvh)
            if phase == "decode":
                read = attended_entries(l, ctx)
                byts = S * (l.kv_elements_per_token * kvb) * read / kv_split
                # the indexer (DSA / CSA / block selection) scans every cached index key
                byts = byts + S * l.index_elements_per_token * INDEX_KEY_BYTES_PER_ELEMENT * ctx
                flops = (T * l.attn_flops_per_ctx_token_decode * read + T * l.indexer_flops_per_ctx_token * ctx) / tp
            else:
                tok_per_seq = T / np.maximum(S, 1.0)
                pairs = causal_attended_pairs(l, tok_per_seq, ctx)
                idx_pairs = _causal_sum(ctx + tok_per_seq, None) - _causal_sum(ctx, None)
                flops = (
                    S * (l.attn_flops_per_ctx_token_prefill * pairs + l.indexer_flops_per_ctx_token * idx_pairs) / tp
                )
                byts = S * (
                    l.kv_elements_per_token * kvb * kv_entries(l, ctx + tok_per_seq) / kv_split
                    + l.index_elements_per_token * INDEX_KEY_BYTES_PER_ELEMENT * (ctx + tok_per_seq)
                )
            t, t_c, t_m = op_time_s(flops, byts, peak, bw, ae, me)
            br["attention_core"] = br["attention_core"] + n * t
            tc_sum, tm_sum = tc_sum + n * t_c, tm_sum + n * t_m
        elif l.attention in ("linear", "mamba"):
            flops = T * l.mixer_flops_per_token / tp
            byts = S * l.state_elements_per_seq * stb * 2.0 / tp  # read + write the state
            t, t_c, t_m = op_time_s(flops, byts, peak, bw, ae, me)
            br["attention_core"] = br["attention_core"] + n * t
            tc_sum, tm_sum = tc_sum + n * t_c, tm_sum + n * t_m
        # --- dense MLP
        if l.dense_mlp_params:
            gemm("mlp", l.dense_mlp_params / tp, T, bpp["dense_mlp"], n)
        # --- MoE
        if l.mlp == "moe":
            tokens_group = T * dp  # tokens of all attention-DP ranks meet in the expert layer
            touched = expected_experts_touched(l.num_experts, l.experts_per_token, tokens_group)
            rows_per_expert = tokens_group * l.experts_per_token / np.maximum(touched, 1e-9)
            w_bytes = touched * l.expert_params * bpp["routed_experts"] / ep_group
            flops = 2.0 * tokens_group * l.experts_per_token * l.expert_params / ep_group
            t, t_c, t_m = op_time_s(flops, w_bytes, peak, bw, gemm_compute_efficiency(rows_per_expert, ge, gh), me)
            br["experts"] = br["experts"] + n * t
            tc_sum, tm_sum = tc_sum + n * t_c, tm_sum + n * t_m
            if l.shared_expert_params or l.moe_other_params:
                gemm("shared_experts", (l.shared_expert_params + l.moe_other_params) / tp, T, bpp["shared_experts"], n)
            gemm("shared_experts", l.router_params, T, bpp["router"], n)
            # EP all-to-all: dispatch + combine of each token's hidden state to its k experts
            a2a_bytes = 2.0 * T * l.experts_per_token * h * ACT_BYTES / np.maximum(tp, 1)
            br["communication"] = br["communication"] + n * alltoall_time_s(
                a2a_bytes, np.where(ep > 1, ep_group, 1), ep_bw, ce, lat
            )
            n_allreduce = 1.0  # after attention; the MoE output returns through the all-to-all combine
            n_allreduce_ep1 = 2.0
            n_ar = np.where(ep > 1, n_allreduce, n_allreduce_ep1)
        else:
            n_ar = 2.0 if l.mlp != "none" and l.attention != "none" else 1.0
        msg = T * h * ACT_BYTES
        br["communication"] = br["communication"] + n * n_ar * allreduce_time_s(msg, tp, tp_group_bw, ce, lat)

    # --- lm_head on the sampled rows (decode: every new token; prefill: the last token of each sequence)
    rows = T if sampled_tokens is None else np.asarray(sampled_tokens, dtype=float)
    lm_params = model.vocab_size * h
    gemm("lm_head", lm_params / tp, rows, bpp["lm_head"], 1.0)
    # --- PP hand-off between stages
    pp_bw = link_bandwidth(tp * pp, scaleup_domain, scaleup_bw, scaleout_bw)
    br["communication"] = br["communication"] + np.where(
        pp > 1, (pp - 1) * (T * h * ACT_BYTES / (pp_bw * ce) + lat), 0.0
    )
    # --- fixed overheads
    br["overhead"] = (
        br["overhead"]
        + cal["step_overhead_ms"] * 1e-3
        + cal["layer_overhead_us"] * 1e-6 * n_layers
        + cal["seq_overhead_us"] * 1e-6 * S
    )

    total = sum(br.values())
    bounds = {"compute": tc_sum, "memory": tm_sum, "communication": br["communication"], "overhead": br["overhead"]}
    return total, br, bounds


def bound_label(bounds: dict) -> np.ndarray:
    """Which of compute / memory / communication / overhead dominates (per element)."""
    keys = ("compute", "memory", "communication", "overhead")
    stack = np.stack(
        [
            np.broadcast_to(
                np.asarray(bounds[k], dtype=float), np.broadcast(*[np.asarray(bounds[x]) for x in keys]).shape
            )
            for k in keys
        ]
    )
    return np.array(keys)[np.argmax(stack, axis=0)]
