"""Per-operator roofline: the time of one forward step through the whole model, NumPy-vectorized.

A step may mix decode rows (running sequences, ``1 + draft`` rows each with speculative decoding) and a prefill chunk
(new prompt tokens of some sequences), as continuous-batching engines run them; either part may be empty. Every
operator's time is ``max(FLOPs / (peak x compute efficiency), bytes / (bandwidth x memory efficiency))``:

- GEMMs (attention projections, dense MLP, shared experts, router, lm_head): FLOPs = 2 x rows x params / TP, bytes =
  params / TP x bytes per param (block scales included, catalog/precision.py); the compute efficiency falls for
  small GEMMs, ``eff(M) = gemm_efficiency x M / (M + gemm_tokens_half)`` for M token rows.
- Attention over the context: decode reads the attended KV entries of each sequence (sliding windows, compressed
  streams, top-k selection: catalog/models.py attended_entries) plus any indexer keys; prefill is causal over the
  chunk. KV heads split over TP up to their number (replicated beyond: MLA's single latent).
- Routed experts (perf/moe.py): the tokens of all attention-DP ranks meet in the expert layer; with expert
  parallelism (EP > 1) the busiest rank sets the time (load imbalance, experts touched on it, redundant slots); with
  expert tensor parallelism the experts touched are split over the group. Expert GEMMs run at ``moe_efficiency``
  of the dense ones and at the experts' own precision (mixed checkpoints).
- Communication (perf/comm.py): TP all-reduce by the cheapest algorithm the engine and fabric allow, EP dispatch
  (FP8 where the engine dispatches so) and combine (16-bit) as all-to-all, DP-attention gather/scatter when experts
  are tensor-parallel, pipeline hand-offs; scale-up links when the group fits in the scale-up domain, else scale-out.
- Fixed costs: per step, per layer, per running sequence, and per pipeline stage.

All inputs are NumPy arrays of one common shape (or scalars) and a :class:`~tokenfab.perf.points.PointArrays`:
that is how sweeps run fast. Operator classes of the breakdown: ``attention_proj``, ``attention_core``, ``mlp``,
``experts``, ``shared_experts``, ``lm_head``, ``communication``, ``overhead``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from typing import cast

import numpy as np
from numpy.typing import ArrayLike

from tokenfab.catalog import precision as prec
from tokenfab.catalog.calibration import MAX_EFFICIENCY
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
from tokenfab.perf import comm, moe
from tokenfab.perf.points import PointArrays

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
BOUND_KEYS = ("compute", "memory", "communication", "overhead")


def gemm_compute_efficiency(
    m_rows: ArrayLike, gemm_efficiency: float | np.ndarray, gemm_tokens_half: float | np.ndarray
) -> np.ndarray:
    """Fraction of peak a GEMM with ``m_rows`` token rows reaches (saturating in M)."""
    m = np.maximum(np.asarray(m_rows, dtype=float), 1e-9)
    return gemm_efficiency * m / (m + gemm_tokens_half)


def op_time_s(
    flops: float | np.ndarray,
    bytes_moved: float | np.ndarray,
    peak_flops_per_s: float | np.ndarray,
    bandwidth_bytes_per_s: float | np.ndarray,
    compute_eff: float | np.ndarray,
    memory_eff: float | np.ndarray,
) -> tuple[np.ndarray, float | np.ndarray, float | np.ndarray]:
    """Roofline time of one operator: the slower of its compute and its memory traffic."""
    t_c = flops / (peak_flops_per_s * compute_eff)
    t_m = bytes_moved / (bandwidth_bytes_per_s * memory_eff)
    return np.maximum(t_c, t_m), t_c, t_m


def link_bandwidth(
    group: ArrayLike, scaleup_domain: ArrayLike, scaleup_bw: ArrayLike, scaleout_bw: ArrayLike
) -> np.ndarray:
    """Scale-up bandwidth when the group fits in one scale-up domain, else scale-out."""
    inside = np.asarray(group) <= np.asarray(scaleup_domain)
    return np.where(inside, scaleup_bw, np.maximum(scaleout_bw, 1e6))


@dataclass(frozen=True)
class LayerGroup:
    layer: LayerSpec
    count: int


# per-model caches keyed by identity (hashing a ModelSpec walks every layer: too slow for the inner loop); the model
# object is kept in the entry so its id cannot be reused while cached
_GROUP_CACHE: dict[int, tuple[ModelSpec, tuple[LayerGroup, ...]]] = {}
_BPP_CACHE: dict[tuple[int, str], tuple[ModelSpec, dict[str, float]]] = {}


def layer_groups(model: ModelSpec) -> tuple[LayerGroup, ...]:
    hit = _GROUP_CACHE.get(id(model))
    if hit is None or hit[0] is not model:
        c = Counter(model.layers)
        hit = (model, tuple(LayerGroup(lay, n) for lay, n in c.items()))
        if len(_GROUP_CACHE) > 256:
            _GROUP_CACHE.clear()
        _GROUP_CACHE[id(model)] = hit
    return hit[1]


def _bytes_per_param(model: ModelSpec, weights: str) -> dict[str, float]:
    key = (id(model), weights)
    hit = _BPP_CACHE.get(key)
    if hit is None or hit[0] is not model:
        hit = (model, {k: prec.bytes_per_param(v) for k, v in component_precisions(model, weights).items()})
        if len(_BPP_CACHE) > 512:
            _BPP_CACHE.clear()
        _BPP_CACHE[key] = hit
    return hit[1]


def _group_link(pa: PointArrays, group: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """(per-chip bandwidth x link efficiency, latency s, inside the scale-up domain) for a group of ``group`` chips."""
    g = np.asarray(group, dtype=float)
    inside = g <= pa.scaleup_domain
    su = comm.group_bandwidth(g, pa.scaleup_bw, np.minimum(pa.scaleup_domain, pa.chips_per_node), pa.mesh)
    bw = np.where(inside, su, np.maximum(pa.scaleout_bw, 1e6)) * pa.cal["comm_efficiency"]
    return bw, inside


def allreduce_s(pa: PointArrays, message_bytes: ArrayLike, group: ArrayLike) -> np.ndarray:
    """TP all-reduce of ``message_bytes`` over ``group`` chips: the cheapest algorithm the engine runs on the fabric
    (scale-out: ring only), at the engine's wire precision (quantized all-reduce)."""
    bw, inside = _group_link(pa, group)
    alpha = pa.cal["comm_latency_us"] * 1e-6
    msg = np.asarray(message_bytes, dtype=float) * pa.allreduce_bytes_factor
    ring_only = np.zeros_like(pa.allreduce_mask)
    ring_only[0] = True
    mask = np.where(inside[None, ...], pa.allreduce_mask, ring_only)
    return comm.allreduce_time_s(msg, group, bw, alpha, mask)


def forward_time(
    model: ModelSpec,
    weights: str,
    kv: str,
    pa: PointArrays,
    *,
    dec_seqs: ArrayLike = 0.0,
    dec_rows_per_seq: ArrayLike = 1.0,
    dec_ctx: ArrayLike = 0.0,
    pf_tokens: ArrayLike = 0.0,
    pf_seqs: ArrayLike = 0.0,
    pf_ctx: ArrayLike = 0.0,
    sampled: ArrayLike | None = None,
    layers_only: bool = False,
) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Time (s) of one step through all layers (all PP stages) for one attention-DP rank. With pipeline parallelism
    the arguments describe one micro-batch and the result is the round of pp such micro-batches in flight: each stage
    holds 1/pp of the layers and runs pp micro-batches, and the last stage's lm_head, sampling and per-sequence work
    run once per micro-batch (counted pp times).

    dec_seqs / dec_rows_per_seq / dec_ctx: running sequences in the step, token rows each (1 + draft tokens), and
        the context already in their KV cache.
    pf_tokens / pf_seqs / pf_ctx: prompt tokens prefilled in the step, the sequences they belong to, and the tokens
        of those sequences already cached (earlier chunks or a prefix-cache hit).
    sampled: rows the lm_head runs on (default: every decode row plus one per prefilled sequence).
    layers_only: leave out lm_head, per-step and per-stage overheads and hand-offs (one draft-layer pass).
    Returns (total_s, breakdown: class -> s, bounds: compute/memory/communication/overhead -> s).
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return _forward_time(
            model,
            weights,
            kv,
            pa,
            dec_seqs,
            dec_rows_per_seq,
            dec_ctx,
            pf_tokens,
            pf_seqs,
            pf_ctx,
            sampled,
            layers_only,
        )


def _forward_time(
    model: ModelSpec,
    weights: str,
    kv: str,
    pa: PointArrays,
    dec_seqs: ArrayLike,
    dec_rows: ArrayLike,
    dec_ctx: ArrayLike,
    pf_tokens: ArrayLike,
    pf_seqs: ArrayLike,
    pf_ctx: ArrayLike,
    sampled: ArrayLike | None,
    layers_only: bool,
) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, np.ndarray]]:
    cal = pa.cal
    Sd = np.asarray(dec_seqs, dtype=float)
    Td = Sd * np.asarray(dec_rows, dtype=float)
    ctx_d = np.asarray(dec_ctx, dtype=float)
    P = np.asarray(pf_tokens, dtype=float)
    Sp = np.asarray(pf_seqs, dtype=float)
    ctx_p = np.asarray(pf_ctx, dtype=float)
    tp, pp, dp, ep = pa.tp, pa.pp, pa.dp, pa.ep
    T_mean = Td + P  # GEMM rows of a typical attention-DP rank
    # attention-DP ranks wait for the busiest one: requests land on ranks like balls in bins (Raab & Steger 1998),
    # so the busiest rank holds about m + sqrt(2 m ln DP) of a mean m sequences (perf/moe.py load_imbalance form)
    # (MoE only: the expert layer synchronises the attention-DP ranks; a dense model's DP replicas run independently)
    f_dp = moe.load_imbalance(np.maximum(Sd, 1.0) * dp, 1.0, dp, 0.0) if model.is_moe else 1.0
    Sd = Sd * f_dp
    Td = Td * f_dp
    T = Td + P  # GEMM rows of the busiest rank
    peak, peak_e, peak_a, bw = (
        pa.peak_flops_per_s,
        pa.peak_flops_per_s_experts,
        pa.peak_flops_per_s_attention,
        pa.bandwidth_bytes_per_s,
    )
    ge, gh = cal["gemm_efficiency"], cal["gemm_tokens_half"]
    me, ae, moe_eff = cal["memory_efficiency"], cal["attention_efficiency"], cal["moe_efficiency"]
    bpp = _bytes_per_param(model, weights)
    kvb = prec.kv_bytes_per_element(kv)
    stb = max(kvb, 2.0)
    h = float(model.hidden_size)

    shape = np.broadcast(T, Sd, ctx_d, Sp, ctx_p, tp, peak).shape
    zero: np.ndarray = np.zeros(shape)
    br = {k: zero.copy() for k in OP_CLASSES}
    tc_sum, tm_sum = zero.copy(), zero.copy()

    def add(
        cls: str, count: float | np.ndarray, t: np.ndarray, t_c: float | np.ndarray, t_m: float | np.ndarray
    ) -> None:
        nonlocal tc_sum, tm_sum
        br[cls] = br[cls] + count * t
        tc_sum = tc_sum + count * t_c
        tm_sum = tm_sum + count * t_m

    def gemm(
        cls: str,
        params: float | np.ndarray,
        rows: np.ndarray,
        bpp_c: float,
        count: float | np.ndarray,
        pk: np.ndarray = peak,
        eff_mult: float | np.ndarray = 1.0,
    ) -> None:
        flops = 2.0 * rows * params
        t, t_c, t_m = op_time_s(
            flops, params * bpp_c, pk, bw, gemm_compute_efficiency(rows, ge, gh) * eff_mult, me * eff_mult
        )
        add(cls, count, t, t_c, t_m)

    moe_group = tp * dp  # chips of one pipeline stage: the expert layer spans them
    moe_tp = np.maximum(moe_group / np.maximum(ep, 1.0), 1.0)  # expert tensor parallelism inside an EP rank
    a2a_bw, _ = _group_link(pa, moe_group)
    alpha = cal["comm_latency_us"] * 1e-6
    ar_tp = allreduce_s(pa, T * h * ACT_BYTES, tp)  # one TP all-reduce of the step's activations
    gath_dp = 2.0 * comm.allgather_time_s(T * h * ACT_BYTES, dp, a2a_bw, alpha)
    for g in layer_groups(model):
        lay, n = g.layer, float(g.count)
        # --- attention / mixer projections (split over TP; replicated over attention-DP ranks)
        if lay.attn_params:
            gemm("attention_proj", lay.attn_params / tp, T, bpp["attention"], n)
        # --- attention core
        if lay.attention in ("full", "sliding", "chunked"):
            kv_split = np.minimum(tp, float(lay.kv_heads))
            read = attended_entries(lay, ctx_d)
            byts = Sd * lay.kv_elements_per_token * kvb * read / kv_split
            byts = byts + Sd * lay.index_elements_per_token * INDEX_KEY_BYTES_PER_ELEMENT * ctx_d
            flops = (
                Td * lay.attn_flops_per_ctx_token_decode * read + Td * lay.indexer_flops_per_ctx_token * ctx_d
            ) / tp
            tok_per_seq = P / np.maximum(Sp, 1e-9)
            pairs = causal_attended_pairs(lay, tok_per_seq, ctx_p)
            idx_pairs = _causal_sum(ctx_p + tok_per_seq, None) - _causal_sum(ctx_p, None)
            flops = (
                flops
                + Sp * (lay.attn_flops_per_ctx_token_prefill * pairs + lay.indexer_flops_per_ctx_token * idx_pairs) / tp
            )
            byts = byts + Sp * (
                lay.kv_elements_per_token * kvb * kv_entries(lay, ctx_p + tok_per_seq) / kv_split
                + lay.index_elements_per_token * INDEX_KEY_BYTES_PER_ELEMENT * (ctx_p + tok_per_seq)
            )
            t, t_c, t_m = op_time_s(flops, byts, peak_a, bw, ae, me)
            add("attention_core", n, t, t_c, t_m)
        elif lay.attention in ("linear", "mamba"):
            flops = T * lay.mixer_flops_per_token / tp
            byts = (Sd + Sp) * lay.state_elements_per_seq * stb * 2.0 / tp  # read + write the state
            t, t_c, t_m = op_time_s(flops, byts, peak_a, bw, ae, me)
            add("attention_core", n, t, t_c, t_m)
        # --- dense MLP
        if lay.dense_mlp_params:
            gemm("mlp", lay.dense_mlp_params / tp, T, bpp["dense_mlp"], n)
        # --- MoE
        if lay.mlp == "moe":
            E, k = float(lay.num_experts), float(lay.experts_per_token)
            tokens_group = T_mean * dp  # tokens of all attention-DP ranks meet in the expert layer
            skew = cal["moe_skew"] * pa.eplb_skew_factor
            imb = moe.load_imbalance(tokens_group, k, ep, skew)
            ep_on = ep > 1
            assign_rank = tokens_group * k / np.maximum(ep, 1.0) * imb  # busiest rank's token-expert pairs
            touched_ep = moe.busiest_rank_experts_touched(E, k, tokens_group, ep)
            touched_tp = moe.expected_experts_touched(E, k, tokens_group)
            touched = np.where(ep_on, touched_ep, touched_tp)
            assign = np.where(ep_on, assign_rank, tokens_group * k)
            div = np.where(ep_on, moe_tp, moe_group)
            w_bytes = touched * lay.expert_params * bpp["routed_experts"] / div
            flops = 2.0 * assign * lay.expert_params / div
            rows_per_expert = assign / np.maximum(touched, 1e-9)
            # moe_efficiency is relative to the dense kernels: the product never exceeds MAX_EFFICIENCY of the chip
            t, t_c, t_m = op_time_s(
                flops,
                w_bytes,
                peak_e,
                bw,
                np.minimum(gemm_compute_efficiency(rows_per_expert, ge, gh) * moe_eff, MAX_EFFICIENCY),
                np.minimum(me * moe_eff, MAX_EFFICIENCY),
            )
            add("experts", n, t, t_c, t_m)
            if lay.shared_expert_params or lay.moe_other_params:
                gemm(
                    "shared_experts",
                    (lay.shared_expert_params + lay.moe_other_params) / tp,
                    T,
                    bpp["shared_experts"],
                    n,
                )
            gemm("shared_experts", lay.router_params, T, bpp["router"], n)
            # expert-parallel dispatch (tokens to their k experts) and combine (results back), per rank
            disp = T_mean * k * h * pa.dispatch_bytes / np.maximum(tp, 1.0)
            comb = T_mean * k * h * ACT_BYTES / np.maximum(tp, 1.0)
            a2a = comm.alltoall_time_s(disp * imb, ep, a2a_bw, alpha) + comm.alltoall_time_s(
                comb * imb, ep, a2a_bw, alpha
            )
            # DP attention with tensor-parallel experts: gather every rank's tokens, reduce-scatter the results
            # without attention DP every rank of the TP group already holds every token after the attention
            # all-reduce: experts split by EP (or TP) compute on them in place and one all-reduce combines the outputs
            # (vLLM's default allgather/reduce-scatter backend, TensorRT-LLM's TP-attention + EP MoE); with attention
            # DP the tokens live on their own rank: EP dispatches them to their experts and back (all-to-all), and
            # tensor-parallel experts gather every rank's tokens and reduce-scatter the results
            moe_comm = np.where(dp > 1, np.where(ep_on, a2a, gath_dp), 0.0)
            br["communication"] = br["communication"] + n * moe_comm
            # all-reduces over the attention TP group: after attention, and after the MoE when DP = 1
            n_ar: float | np.ndarray = np.where(dp > 1, 1.0, 2.0)
        else:
            n_ar = 2.0 if lay.mlp != "none" and lay.attention != "none" else 1.0
        br["communication"] = br["communication"] + n * n_ar * ar_tp

    n_layers = float(model.num_layers)
    if not layers_only:
        rows = (Td + Sp) if sampled is None else np.asarray(sampled, dtype=float)
        # the last pipeline stage runs lm_head and sampling for each of the pp micro-batches of a round, so in a
        # pipelined round (pp micro-batches of this size, GPipe-style steady state) they count pp times
        gemm("lm_head", model.vocab_size * h / tp, rows, bpp["lm_head"], pp)
        # pipeline hand-offs between stages, and per-stage synchronisation
        pp_bw, _ = _group_link(pa, tp * pp)
        hand = np.where(pp > 1, (pp - 1.0) * comm.p2p_time_s(T * h * ACT_BYTES, pp_bw, alpha), 0.0)
        br["communication"] = br["communication"] + hand
        br["overhead"] = (
            br["overhead"]
            + cal["step_overhead_ms"] * 1e-3
            + cal["pp_stage_overhead_us"] * 1e-6 * np.maximum(pp - 1.0, 0.0)
            + cal["seq_overhead_us"] * 1e-6 * (Sd + Sp) * pp
        )
    br["overhead"] = br["overhead"] + cal["layer_overhead_us"] * 1e-6 * n_layers
    total = cast(np.ndarray, sum(br.values()))  # a sum of the (non-empty) breakdown arrays
    bounds = {"compute": tc_sum, "memory": tm_sum, "communication": br["communication"], "overhead": br["overhead"]}
    return total, br, bounds


# the calibration of a machine that reaches every peak: efficiencies 1, no overhead, no latency, no tile penalty, no
# routing skew (a lower bound on any step's time, for clipping error bands at physics: physical_floor_s)
IDEAL_CAL = {
    "gemm_efficiency": 1.0,
    "memory_efficiency": 1.0,
    "attention_efficiency": 1.0,
    "comm_efficiency": 1.0,
    "kernel_efficiency": 1.0,
    "moe_efficiency": 1.0,
    "step_overhead_ms": 0.0,
    "layer_overhead_us": 0.0,
    "seq_overhead_us": 0.0,
    "comm_latency_us": 0.0,
    "ttft_overhead_ms": 0.0,
    "gemm_tokens_half": 1e-9,
    "moe_skew": 0.0,
    "pp_stage_overhead_us": 0.0,
    "disagg_overhead_ms": 0.0,
}


def physical_floor_s(
    model: ModelSpec, weights: str, kv: str, pa: PointArrays, *, prompt_tokens: ArrayLike, context: ArrayLike
) -> tuple[np.ndarray, np.ndarray]:
    """(prefill of ``prompt_tokens`` alone, one decode step of one sequence at ``context``) in seconds on a machine
    at every peak of the chip (IDEAL_CAL: the roofline of Williams et al. 2009 with nothing lost, communication
    fully overlapped with the operators): no deployment of this layout and precision can beat them, so an error
    band's optimistic end is clipped there."""
    ideal = _ideal(pa)
    p = np.asarray(prompt_tokens, dtype=float)
    pp = np.asarray(pa.pp, dtype=float)
    # forward_time's arguments are one micro-batch of a round of pp: the prompt split into pp chunks keeps every stage
    # busy (a chunked prompt pipelines), so one round is the prompt once through every stage
    t_pf, _, b_pf = forward_time(
        model, weights, kv, ideal, pf_tokens=p / pp, pf_seqs=np.where(p > 0, 1.0 / pp, 0.0), pf_ctx=0.0
    )
    # one sequence's token passes every stage once and the lm_head once: a round of pp one-row micro-batches counts
    # the lm_head pp times
    t_dec, _, b_dec = forward_time(model, weights, kv, ideal, dec_seqs=1.0, dec_ctx=context)
    t_dec = t_dec - lm_head_time_s(model, weights, ideal, 1.0) * (pp - 1.0) / pp
    return np.where(p > 0, _overlapped(t_pf, b_pf), 0.0), _overlapped(t_dec, b_dec)


def _ideal(pa: PointArrays) -> PointArrays:
    """``pa`` with every calibration parameter at IDEAL_CAL (the chip at its peaks, nothing lost)."""
    cal = {k: np.full_like(np.asarray(v, dtype=float), IDEAL_CAL.get(k, 0.0)) for k, v in pa.cal.items()}
    return replace(pa, cal=cal)


def _overlapped(t: np.ndarray, b: dict[str, np.ndarray]) -> np.ndarray:
    """A step's time with its communication overlapped: the model adds communication to compute; an engine may
    overlap them, so a floor is the larger of the two."""
    return np.maximum(t - b["communication"], b["communication"])


def output_ceiling_per_gpu(
    model: ModelSpec,
    weights: str,
    kv: str,
    pa: PointArrays,
    *,
    concurrency: ArrayLike,
    context: ArrayLike,
    draft_tokens: ArrayLike = 0.0,
) -> np.ndarray:
    """The most output tokens/s per GPU any deployment of this layout and precision can emit with ``concurrency``
    sequences running (all DP ranks) at ``context`` tokens each: every round emits at most 1 + ``draft_tokens``
    tokens per sequence and takes at least the decode round of that batch (its verify rows included) on the chip at
    every peak (IDEAL_CAL, communication overlapped; prefills and drafting, which only add time, left out). A
    throughput band's optimistic end is clipped there, as a latency band's is at physical_floor_s."""
    c = np.asarray(concurrency, dtype=float)
    rows = 1.0 + np.asarray(draft_tokens, dtype=float)
    pp = np.asarray(pa.pp, dtype=float)
    per_rank = c / np.maximum(pa.dp, 1)
    micro = per_rank / pp  # a round of pp micro-batches holds the rank's sequences (fewer than pp: a fraction each)
    ideal = _ideal(pa)
    t, _, b = forward_time(model, weights, kv, ideal, dec_seqs=micro, dec_rows_per_seq=rows, dec_ctx=context)
    # fewer sequences than stages: each passes every stage once and the lm_head once, not pp times a round
    spare = np.maximum(pp - np.maximum(per_rank, 1.0), 0.0)
    t = t - lm_head_time_s(model, weights, ideal, micro * rows) / pp * spare
    with np.errstate(divide="ignore", invalid="ignore"):
        out = c * rows / (_overlapped(t, b) * pa.gpus)
    return np.where(np.isfinite(out) & (c > 0), out, np.nan)


def tpot_floor_s(decode_step_floor_s: ArrayLike, draft_tokens: ArrayLike) -> np.ndarray:
    """The floor of the time per output token: a step that verifies ``draft_tokens`` drafts emits at most 1 + drafts
    tokens and costs at least the one-row step of physical_floor_s."""
    return np.asarray(decode_step_floor_s, dtype=float) / (1.0 + np.asarray(draft_tokens, dtype=float))


def lm_head_time_s(model: ModelSpec, weights: str, pa: PointArrays, rows: ArrayLike) -> np.ndarray:
    """Time (s) of the lm_head GEMM on ``rows`` token rows in a round, as forward_time counts it (pp times, once per
    micro-batch on the last stage), without the rest of the step."""
    cal = pa.cal
    params = model.vocab_size * float(model.hidden_size) / pa.tp
    rows = np.asarray(rows, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        t, _, _ = op_time_s(
            2.0 * rows * params,
            params * _bytes_per_param(model, weights)["lm_head"],
            pa.peak_flops_per_s,
            pa.bandwidth_bytes_per_s,
            gemm_compute_efficiency(rows, cal["gemm_efficiency"], cal["gemm_tokens_half"]),
            cal["memory_efficiency"],
        )
    return t * pa.pp


def bound_code(labels: ArrayLike) -> np.ndarray:
    """The index of each :func:`bound_label` in BOUND_KEYS, as int8 (a sweep keeps this compact column: one byte per
    configuration instead of a 13-character string)."""
    lab = np.asarray(labels)
    out = np.zeros(lab.shape, dtype=np.int8)
    for j, k in enumerate(BOUND_KEYS):
        out[lab == k] = j
    return out


def bound_label(bounds: dict[str, np.ndarray]) -> np.ndarray:
    """Which of compute / memory / communication / overhead dominates (per element)."""
    shape = np.broadcast(*[np.asarray(bounds[x]) for x in BOUND_KEYS]).shape
    stack = np.stack([np.broadcast_to(np.asarray(bounds[k], dtype=float), shape) for k in BOUND_KEYS])
    return np.array(BOUND_KEYS)[np.argmax(stack, axis=0)]
