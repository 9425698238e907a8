"""Memory fit and sizing: weights + KV cache + activations/workspace + runtime overhead, per GPU under TP/PP/EP/DP.

Named defaults (data/assumptions.yaml ``memory``, each with its source, read through tokenfab.core.assumptions):
- ``RUNTIME_OVERHEAD_FRACTION`` (0.10): the share of each HBM chip left for the runtime (context, collective and
  BLAS workspaces, fragmentation); SRAM-only chips are compiled statically: 0 for them.
- ``MAX_BATCH_TOKENS`` (8192): tokens in one forward pass that activations are sized for.
- ``SRAM_MAX_BATCH_TOKENS`` (256) and ``ACTIVATION_BYTES_PER_ELEMENT`` (2, 16-bit activations).

Sharding conventions (what vLLM, SGLang and TensorRT-LLM do):
- attention, dense MLP and shared experts are split over TP and PP and replicated over DP;
- routed experts are split over all TP x DP GPUs of a pipeline stage (EP x expert-TP = TP x DP), and over PP;
- embeddings / lm_head are vocab-parallel over TP and sit on the first/last PP stage (we spread them over PP);
- KV heads split over TP up to the number of KV heads (replicated beyond: MLA's single latent is replicated over
  TP), layers over PP, and sequences over DP replicas.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol, overload

import numpy as np
from numpy.typing import ArrayLike

from tokenfab.catalog import precision as prec
from tokenfab.catalog.hardware import HardwareSpec, get_hardware
from tokenfab.catalog.models import ModelSpec, get_model, kv_cache_bytes, weight_bytes
from tokenfab.core import assumptions, units
from tokenfab.core.errors import TokenfabError, require_int
from tokenfab.core.inputs import check_inputs

RUNTIME_OVERHEAD_FRACTION = assumptions.value("memory", "runtime_overhead_fraction")
MAX_BATCH_TOKENS = int(assumptions.value("memory", "max_batch_tokens"))
SRAM_MAX_BATCH_TOKENS = int(assumptions.value("memory", "sram_max_batch_tokens"))
ACTIVATION_BYTES_PER_ELEMENT = assumptions.value("memory", "activation_bytes_per_element")


@dataclass(frozen=True)
class Parallelism:
    tp: int = 1
    pp: int = 1
    dp: int = 1
    ep: int = 1

    @property
    def gpus(self) -> int:
        return self.tp * self.pp * self.dp


class Layout(Protocol):
    """Parallel degrees a memory function reads: scalars (:class:`Parallelism`) or one element per point (NumPy
    arrays, e.g. a :class:`~tokenfab.perf.points.PointArrays`)."""

    @property
    def tp(self) -> int | np.ndarray: ...
    @property
    def pp(self) -> int | np.ndarray: ...
    @property
    def dp(self) -> int | np.ndarray: ...
    @property
    def ep(self) -> int | np.ndarray: ...


def resolve_parallelism(
    model: ModelSpec,
    gpus: int | None = None,
    tp: int | None = None,
    pp: int | None = None,
    dp: int | None = None,
    ep: int | None = None,
    *,
    check_heads: bool = True,
    allow_redundant_experts: bool = False,
) -> Parallelism:
    """Fill in omitted degrees (TP = GPUs / (PP x DP); EP = TP x DP for MoE) and validate them against the model.
    ``allow_redundant_experts``: an EP degree that does not divide the expert count is allowed (each rank holds
    ceil(E / EP) slots, the extra ones replicas: engines with an expert load balancer, EPLB)."""
    for name, v in (("gpus", gpus), ("tp", tp), ("pp", pp), ("dp", dp), ("ep", ep)):
        if v is not None:
            require_int(name, v, minimum=1)
    pp = pp or 1
    dp = dp or 1
    if gpus is None:
        gpus = (tp or 1) * pp * dp
    tp_field = "tp" if tp is not None else "gpus"  # a TP derived from the GPU count: its error names what was given
    if tp is None:
        if gpus % (pp * dp):
            raise TokenfabError(
                "GPUs must be a multiple of PP x DP", field="gpus", expected=f"a multiple of {pp * dp}", got=gpus
            )
        tp = gpus // (pp * dp)
    if tp * pp * dp != gpus:
        if gpus % (tp * pp) == 0 and dp == 1:
            dp = gpus // (tp * pp)
        else:
            raise TokenfabError(
                "TP x PP x DP must equal the number of GPUs",
                field="gpus",
                expected=f"{tp}x{pp}x{dp}={tp * pp * dp}",
                got=gpus,
            )
    if check_heads:
        qh = model.max_q_heads
        if qh % tp:
            divs = [d for d in range(1, qh + 1) if qh % d == 0 and d <= 64]
            raise TokenfabError(
                f"TP={tp} does not divide the {qh} attention heads of {model.key}",
                field=tp_field,
                expected="one of " + ", ".join(map(str, divs)),
                got=tp,
            )
    if pp > model.num_layers:
        raise TokenfabError(
            f"PP={pp} exceeds the {model.num_layers} layers of {model.key}",
            field="pp",
            expected=f"<= {model.num_layers}",
            got=pp,
        )
    if model.is_moe:
        if ep is None:
            ep = tp * dp
        if (tp * dp) % ep:
            raise TokenfabError(
                "EP must divide TP x DP (experts are spread over the GPUs of a pipeline stage)",
                field="ep",
                expected=f"a divisor of {tp * dp}",
                got=ep,
            )
        if model.max_experts % ep and not allow_redundant_experts:
            raise TokenfabError(
                f"EP={ep} does not divide the {model.max_experts} experts",
                field="ep",
                expected=f"a divisor of {model.max_experts}",
                got=ep,
            )
    else:
        if ep not in (None, 1):
            raise TokenfabError(
                f"{model.key} is dense: expert parallelism does not apply", field="ep", expected="1", got=ep
            )
        ep = 1
    return Parallelism(tp=tp, pp=pp, dp=dp, ep=ep)


@overload
def weight_bytes_per_gpu(model: ModelSpec, weights: str, par: Parallelism) -> float: ...
@overload
def weight_bytes_per_gpu(model: ModelSpec, weights: str, par: Layout) -> float | np.ndarray: ...
def weight_bytes_per_gpu(model: ModelSpec, weights: str, par: Layout) -> float | np.ndarray:
    """Weight bytes on one GPU (works element-wise when the parallel degrees are NumPy arrays). Routed experts are
    spread over the TP x DP chips of a pipeline stage; with expert parallelism that does not divide the expert
    count each EP rank holds ceil(E / EP) expert slots (the extra ones replicate popular experts, perf/moe.py)."""
    wb = weight_bytes(model, weights)
    split_tp_pp = (
        wb["attention"] + wb["dense_mlp"] + wb["shared_experts"] + wb["router"] + wb["norms"] + wb["moe_other"]
    )
    vocab = wb["embedding"] + wb["lm_head"]
    experts = wb["routed_experts"]
    e = float(model.max_experts or 0)
    slots = 1.0
    if e:
        ep = np.maximum(np.asarray(par.ep, dtype=float), 1.0)
        slots = np.ceil(e / ep - 1e-9) * ep / e
    return split_tp_pp / (par.tp * par.pp) + vocab / (par.tp * par.pp) + experts * slots / (par.tp * par.dp * par.pp)


@overload
def kv_shard_factor(model: ModelSpec, par: Parallelism) -> float: ...
@overload
def kv_shard_factor(model: ModelSpec, par: Layout) -> float | np.ndarray: ...
def kv_shard_factor(model: ModelSpec, par: Layout) -> float | np.ndarray:
    """How many ways one sequence's KV is split: over PP (layers) and over TP up to the KV-head count."""
    kvh = 1 if model.is_mla else model.min_kv_heads
    return par.pp * np.minimum(par.tp, kvh)


@overload
def activation_bytes_per_gpu(
    model: ModelSpec, par: Parallelism, max_batch_tokens: float = MAX_BATCH_TOKENS
) -> float: ...
@overload
def activation_bytes_per_gpu(
    model: ModelSpec, par: Layout, max_batch_tokens: ArrayLike = MAX_BATCH_TOKENS
) -> float | np.ndarray: ...
def activation_bytes_per_gpu(
    model: ModelSpec, par: Layout, max_batch_tokens: ArrayLike = MAX_BATCH_TOKENS
) -> float | np.ndarray:
    """Peak activation workspace of one forward pass of ``max_batch_tokens`` tokens: the widest of the residual
    stream + attention projections, the (TP-split) MLP intermediate, and the (TP-split) logits of the last tokens."""
    h = model.hidden_size
    widest_mlp = (
        max(
            max(
                layer.dense_mlp_params,
                layer.expert_params * max(layer.experts_per_token, 1),
                layer.shared_expert_params,
            )
            for layer in model.layers
        )
        / h
    )
    per_token = np.maximum(4 * h, 2 * h + 2 * widest_mlp / par.tp)
    tokens = max_batch_tokens / np.asarray(par.dp, dtype=float)
    logits = np.minimum(tokens, 1024) * model.vocab_size / par.tp * 4  # fp32 logits for at most 1024 sampled rows
    out = tokens * per_token * ACTIVATION_BYTES_PER_ELEMENT + logits
    return float(out) if np.ndim(out) == 0 else out


@dataclass
class FitResult:
    model: str
    hardware: str
    weights_precision: str
    kv_precision: str
    users: int
    context_tokens: int
    gpus: int
    tp: int
    pp: int
    dp: int
    ep: int
    weights_gib: float
    weights_gb: float
    kv_cache_gib: float
    kv_bytes_per_token: float
    activations_gib: float  # all GPUs together
    runtime_overhead_gib: float  # all GPUs together
    total_gib: float
    memory_per_gpu_gib: float
    capacity_per_gpu_gib: float
    headroom_per_gpu_gib: float  # negative: short by this much
    fits: bool
    max_concurrent_sequences: int
    chips_needed: int
    chips_needed_exact: float
    nodes_needed: int
    racks_needed: int
    racks_needed_exact: float
    chips_per_node: int
    chips_per_rack: int
    memory_kind: str  # "HBM" or "SRAM"
    per_gpu: dict = field(default_factory=dict)  # weights/kv/activations/overhead GiB on one GPU
    weights_by_component_gib: dict = field(default_factory=dict)
    message: str = ""
    units_note: str = (
        "GiB = 2^30 bytes; GB = 1e9 bytes. HBM capacities are vendor 'GB' figures read as GiB (HBM stacks are "
        "binary-sized); SRAM capacities are vendor 'MB'/'GB' read as decimal."
    )
    # fit is engine-agnostic and worst-case; an engine's admission rule can hold more (or fewer) sequences
    reservation_note: str = (
        "a worst-case sizing: every user holds the full context, and 10% of HBM is kept back (vLLM's rule); a serving "
        "engine admits by its own memory rule (paged KV grown on demand at the steady-state average context; "
        "TensorRT-LLM's 90% of the memory left after weights), so `tokenfab estimate --concurrency max --engine E` "
        "can report a different number of concurrent requests on the same layout"
    )
    sources: dict = field(default_factory=dict)  # where the chip and model figures come from

    def to_dict(self) -> dict:
        return asdict(self)


def fit(
    model: str | Path | ModelSpec,
    hardware: str | HardwareSpec,
    *,
    gpus: int | None = None,
    tp: int | None = None,
    pp: int | None = None,
    dp: int | None = None,
    ep: int | None = None,
    weights: str | None = None,
    kv: str | None = None,
    users: int = 1,
    context: int = 4096,
    params: float | None = None,
    include_overheads: bool = True,
    chip_memory_gib: float | None = None,
    chips_per_rack: int | None = None,
    chips_per_node: int | None = None,
    runtime_overhead_fraction: float | None = None,
    max_batch_tokens: int = MAX_BATCH_TOKENS,
    hardware_files: tuple[str, ...] | list[str] | str | Path | None = None,
) -> FitResult:
    """Does ``model`` fit on ``gpus`` chips of ``hardware`` for ``users`` sequences of ``context`` tokens, and how many
    chips/nodes/racks does it need?

    ``params`` overrides the parameter count (all weights at one precision: the seed example's 70e9 x 2 bytes).
    ``include_overheads=False`` counts only weights + KV (the seed arithmetic). ``chip_memory_gib`` sizes against a
    hypothetical chip (e.g. 0.25 GiB SRAM chips).
    """
    v = check_inputs(
        gpus=gpus,
        tp=tp,
        pp=pp,
        dp=dp,
        ep=ep,
        users=users,
        context=context,
        params=params,
        chip_memory_gib=chip_memory_gib,
        chips_per_rack=chips_per_rack,
        chips_per_node=chips_per_node,
        runtime_overhead_fraction=runtime_overhead_fraction,
        max_batch_tokens=max_batch_tokens,
    )
    gpus, tp, pp, dp, ep, users, context, chips_per_rack, chips_per_node = (
        v[k] for k in ("gpus", "tp", "pp", "dp", "ep", "users", "context", "chips_per_rack", "chips_per_node")
    )
    m = get_model(model)
    hw = get_hardware(hardware, hardware_files)
    w = prec.normalize(weights or m.native_weights, field="weights")
    kvp = prec.normalize(kv or prec.default_kv_precision(w), field="kv", allowed=prec.KV_PRECISIONS)
    if m.max_position_embeddings and context > m.max_position_embeddings:
        raise TokenfabError(
            f"context exceeds the model's maximum of {m.max_position_embeddings} tokens",
            field="context",
            expected=f"<= {m.max_position_embeddings}",
            got=context,
        )
    sram = hw.kind == "sram"
    cap_gib = (
        chip_memory_gib
        if chip_memory_gib is not None
        else (hw.sram_capacity_mib * units.MIB / units.GIB if sram else hw.memory_capacity_gib)
    )
    if cap_gib <= 0:
        raise TokenfabError("hardware has no memory capacity", field="hardware.memory_capacity_gib", got=cap_gib)
    ovh_frac = (
        runtime_overhead_fraction
        if runtime_overhead_fraction is not None
        else (0.0 if sram else RUNTIME_OVERHEAD_FRACTION)
    )
    if not include_overheads:
        ovh_frac = 0.0
    cap_b = cap_gib * units.GIB
    cpn = chips_per_node or hw.chips_per_node
    cpr = chips_per_rack or hw.chips_per_rack

    wb = weight_bytes(m, w)
    scale = 1.0
    if params is not None:
        scale = params * prec.bytes_per_param(w) / wb["total"]
        wb = {k: v * scale for k, v in wb.items()}
    total_w = wb["total"]
    kv_total = kv_cache_bytes(m, context, kvp, users)

    # chips needed regardless of parallelism: weights + KV for all users (+ one activation workspace) over the
    # usable memory per chip. SRAM-only chips hold weights, KV and activations in on-chip SRAM, spread over a
    # pipeline of chips.
    if sram and max_batch_tokens == MAX_BATCH_TOKENS:
        max_batch_tokens = SRAM_MAX_BATCH_TOKENS
    act1 = activation_bytes_per_gpu(m, Parallelism(), max_batch_tokens) if include_overheads else 0.0
    usable = cap_b * (1 - ovh_frac)
    need = total_w + kv_total + act1
    chips_exact = need / usable
    chips = max(1, math.ceil(chips_exact - 1e-9))

    if sram:
        # a pipeline of chips: everything is spread evenly (no head-divisibility constraint)
        n = gpus or (tp or 1) * (pp or 1) * (dp or 1)
        if gpus is None and tp is None and pp is None and dp is None:
            # whole nodes when more than one is needed, and a pipeline no deeper than the layers
            n = sram_chip_count(chips, cpn, sram_tp_max(hw, cpn), m.num_layers, sram_kv_ways(m))
        if tp is not None or pp is not None:  # the layout given (estimate runs the same one)
            t = tp or max(1, n // (pp or 1))
            cands = [(t, pp or max(1, n // t))]
        else:
            cands = sram_layouts(n, sram_tp_max(hw, cpn), m.num_layers, sram_kv_ways(m))
        # weights and activations spread evenly; a sequence's KV split as estimate() splits it (over PP, and over TP
        # up to the KV heads: copies beyond them); the first layout that holds the sequences
        w_gpu = total_w / n
        act_gpu = act1 / n
        for tp_s, pp_s in cands:
            par = Parallelism(tp=tp_s, pp=pp_s, dp=1, ep=1)
            kv_per_seq_gpu = kv_cache_bytes(m, context, kvp, 1) / float(kv_shard_factor(m, par))
            kv_gpu = kv_per_seq_gpu * users
            if w_gpu + kv_gpu + act_gpu <= cap_b * (1 - ovh_frac) * (1 + 1e-9):
                break
    else:

        def per_gpu(par: Parallelism) -> tuple[float, float, float, float]:
            """(weights, KV per sequence, KV, activations) bytes on one GPU of the layout."""
            kv_seq = kv_cache_bytes(m, context, kvp, 1) / kv_shard_factor(m, par)
            act = activation_bytes_per_gpu(m, par, max_batch_tokens) if include_overheads else 0.0
            return weight_bytes_per_gpu(m, w, par) * scale, kv_seq, kv_seq * math.ceil(users / par.dp), act

        if gpus is None and tp is None and pp is None and dp is None:
            # the pooled count can be too few for a layout: TP replicates some state (an MLA model's latent KV is
            # held whole by every TP rank), so step up until the layout itself holds everything (bounded)
            n_try = chips
            for _ in range(256):
                gpus, tp, pp = auto_parallelism(m, n_try, cpn)
                par = resolve_parallelism(m, gpus=gpus, tp=tp, pp=pp, dp=dp, ep=ep)
                if sum(per_gpu(par)[i] for i in (0, 2, 3)) + cap_b * ovh_frac <= cap_b * (1 + 1e-6) or pp >= (
                    m.num_layers
                ):
                    break
                n_try = gpus + 1
        par = resolve_parallelism(m, gpus=gpus, tp=tp, pp=pp, dp=dp, ep=ep)
        w_gpu, kv_per_seq_gpu, kv_gpu, act_gpu = per_gpu(par)
    ovh_gpu = cap_b * ovh_frac
    used_gpu = w_gpu + kv_gpu + act_gpu + ovh_gpu
    headroom = cap_b - used_gpu
    fits = headroom >= -1e-6 * cap_b
    free_for_kv = cap_b - w_gpu - act_gpu - ovh_gpu
    max_seqs = int(max(free_for_kv, 0) // kv_per_seq_gpu) * par.dp if kv_per_seq_gpu > 0 else 0
    nodes = math.ceil(chips / cpn)
    racks_exact = chips / cpr
    racks = math.ceil(racks_exact - 1e-9)

    total_gib = (total_w + kv_total + (act_gpu + ovh_gpu) * par.gpus) / units.GIB
    if fits:
        msg = (
            f"fits: {used_gpu / units.GIB:.1f} of {cap_gib:.1f} GiB per {'chip' if sram else 'GPU'} used "
            f"({headroom / units.GIB:.1f} GiB free); up to {max_seqs} sequences of {context} tokens"
        )
    else:
        short = -headroom / units.GIB
        # each DP replica holds its own weights: pooling every chip's memory undercounts a layout with DP > 1, so
        # the count is this layout's shape widened until its per-GPU share fits (at least the pooled count)
        shape = max(chips, par.gpus * math.ceil(used_gpu / max(cap_b, 1.0) - 1e-9))
        copies = sram and par.tp > sram_kv_ways(m)  # past the KV heads every TP rank holds a copy of the KV
        msg = (
            f"does not fit: needs {used_gpu / units.GIB:.1f} GiB per {'chip' if sram else 'GPU'} "
            f"but has {cap_gib:.1f} GiB - short by {short:.1f} GiB ({short / cap_gib * 100:.0f}% of a chip); "
            + (
                f"one model instance cannot hold {users} sequences of {context} tokens: a sequence's KV splits over "
                f"at most {sram_kv_ways(m)} x {m.num_layers} chips (TP within the KV heads x a pipeline of the "
                "layers), wider TP copies it; serve them with data-parallel copies or fewer users per copy"
                if copies
                else f"at least {chips} chips are needed"
                if par.dp == 1
                else f"with {par.dp} data-parallel copies (each holds its "
                + ("attention and dense weights; the experts are split" if m.is_moe and par.ep > 1 else "weights")
                + f") at least {shape} chips are needed"
            )
        )
    n_inst = instance_chips(m, par.tp, par.pp, par.dp)
    if beyond_reach(hw, n_inst):
        msg += (
            f"; one model instance of {n_inst} chips spans beyond the {hw.scaleup_domain_size}-chip scale-up domain "
            "and the hardware entry gives no scale-out bandwidth: `estimate` and `frontier` do not model such a "
            "deployment"
        )
    return FitResult(
        model=m.key,
        hardware=hw.key,
        weights_precision=w,
        kv_precision=kvp,
        users=users,
        context_tokens=context,
        gpus=par.gpus,
        tp=par.tp,
        pp=par.pp,
        dp=par.dp,
        ep=par.ep,
        weights_gib=total_w / units.GIB,
        weights_gb=total_w / units.GB,
        kv_cache_gib=kv_total / units.GIB,
        kv_bytes_per_token=float(kv_cache_bytes(m, context, kvp, 1) / context),
        activations_gib=act_gpu * par.gpus / units.GIB,
        runtime_overhead_gib=ovh_gpu * par.gpus / units.GIB,
        total_gib=total_gib,
        memory_per_gpu_gib=used_gpu / units.GIB,
        capacity_per_gpu_gib=cap_gib,
        headroom_per_gpu_gib=headroom / units.GIB,
        fits=bool(fits),
        max_concurrent_sequences=max_seqs,
        chips_needed=chips,
        chips_needed_exact=chips_exact,
        nodes_needed=nodes,
        racks_needed=racks,
        racks_needed_exact=racks_exact,
        chips_per_node=cpn,
        chips_per_rack=cpr,
        memory_kind="SRAM" if sram else "HBM",
        per_gpu={
            "weights_gib": w_gpu / units.GIB,
            "kv_cache_gib": kv_gpu / units.GIB,
            "activations_gib": act_gpu / units.GIB,
            "runtime_overhead_gib": ovh_gpu / units.GIB,
        },
        weights_by_component_gib={k: v / units.GIB for k, v in wb.items() if k != "total" and v},
        message=msg,
        sources=_fit_sources(m, hw, sram, chip_memory_gib, params),
    )


def _fit_sources(
    m: ModelSpec, hw: HardwareSpec, sram: bool, chip_memory_gib: float | None, params: float | None
) -> dict[str, str | None]:
    """Citations of the figures a fit rests on: the chip's memory capacity and packaging, and the model config."""

    def cite(field_name: str) -> str | None:
        s = hw.sources.get(field_name)
        return f"{s.source} (as of {s.as_of})" if s else None

    cap_field = "sram_capacity_mib" if sram else "memory_capacity_gib"
    return {
        "memory_capacity": "given (chip_memory_gib)" if chip_memory_gib is not None else cite(cap_field),
        "chips_per_node": cite("chips_per_node"),
        "chips_per_rack": cite("chips_per_rack"),
        "model": "given (params)" if params is not None else (m.source or m.key),
    }


def sram_layout(chips: int, tp_max: int, num_layers: int, kv_ways: int | None = None) -> tuple[int, int]:
    """SRAM-only chips: tensor parallel within the scale-up domain, a pipeline over the rest; (tp, pp) with
    tp x pp = chips. TP is the widest up to ``tp_max`` (the chips one synchronous fabric links: a node, or Groq's
    RealScale domain of hundreds) that divides the chip count and leaves a pipeline no deeper than the layers, and
    no wider than ``kv_ways`` (the ways TP splits a sequence's KV: the KV heads, 1 for MLA's shared latent) while
    such a layout exists: beyond them every TP rank holds a copy of the KV, so more chips would hold fewer sequences
    (a pipeline splits KV by layers instead). A pipeline deeper than the layers, when nothing divides, is reported as
    is and rejected by the performance model: see sram_chip_count for a count that lays out."""

    def lays_out(t: int) -> bool:
        return chips % t == 0 and chips // t <= num_layers

    if kv_ways:
        tp = next((t for t in range(min(chips, tp_max, kv_ways), 0, -1) if lays_out(t)), 0)
        if tp:
            return tp, chips // tp
    tp = next((t for t in range(min(chips, tp_max), 0, -1) if lays_out(t)), 1)
    return tp, chips // tp


def sram_layouts(chips: int, tp_max: int, num_layers: int, kv_ways: int) -> list[tuple[int, int]]:
    """The SRAM layouts worth trying for ``chips``, in order: the widest TP (fastest per token: the least pipeline
    per step), then TP within the KV heads (more sequences per chip: no KV copies). A caller takes the first that
    holds its sequences."""
    out = [sram_layout(chips, tp_max, num_layers), sram_layout(chips, tp_max, num_layers, kv_ways)]
    return list(dict.fromkeys(out))


def sram_kv_ways(model: ModelSpec) -> int:
    """The TP width up to which an SRAM layout splits a sequence's KV (see sram_layout and kv_shard_factor)."""
    return 1 if model.is_mla else max(1, int(model.min_kv_heads))


def beyond_reach(hw: HardwareSpec, chips: int) -> bool:
    """Whether the chips of one model instance (``chips``: TP x PP, and x DP where attention-DP ranks share the
    experts; a dense model's replicas never talk to each other) span beyond ``hw``'s scale-up domain while its entry
    gives no scale-out bandwidth (Groq: its chip-to-chip fabric is given only as a domain of chips; a user's hardware
    file without ``scaleout_bandwidth_gb_per_s_per_direction``): such a layout's pipeline hand-offs and collectives
    would cross a network tokenfab has no figure for, so it is not modelled (never priced at a placeholder)."""
    return no_scale_out(hw) and chips > int(hw.scaleup_domain_size or 1)


def no_scale_out(hw: HardwareSpec) -> bool:
    """Whether ``hw``'s entry gives no scale-out bandwidth: its model instances end at the scale-up domain."""
    return hw.scaleout_bandwidth_gb_per_s_per_direction <= 0


def instance_chips(model: ModelSpec, tp: int, pp: int, dp: int) -> int:
    """The chips one model instance spans (what :func:`beyond_reach` checks): TP x PP, x DP for a model with experts
    (its attention-DP ranks share the expert groups); a dense model's DP replicas are separate instances."""
    return int(tp) * int(pp) * (int(dp) if model.is_moe else 1)


def check_reach(hw: HardwareSpec, chips: int, field: str = "gpus") -> None:
    """Refuse a model instance of ``chips`` chips that :func:`beyond_reach` cannot model; the error says why."""
    if beyond_reach(hw, chips):
        raise TokenfabError(
            f"one model instance of {chips} chips of {hw.key} spans beyond its scale-up domain of "
            f"{hw.scaleup_domain_size} chip(s), and its hardware entry gives no scale-out bandwidth: that layout is "
            "not modelled",
            field=field,
            expected=f"a model instance of at most {hw.scaleup_domain_size} chip(s)",
            got=chips,
            hint="a narrower weight precision (--weights), a shorter context or fewer users need fewer chips; or give "
            "scaleup_domain_size and scaleout_bandwidth_gb_per_s_per_direction in a hardware file (--hardware-file)",
        )


def sram_tp_max(hw: HardwareSpec, chips_per_node: int | None = None) -> int:
    """The widest tensor parallelism of an SRAM chip: its scale-up domain (never less than a node of
    ``chips_per_node``, default the hardware's)."""
    return max(int(chips_per_node or hw.chips_per_node), int(hw.scaleup_domain_size or 1))


def sram_chip_count(chips: int, chips_per_node: int, tp_max: int, num_layers: int, kv_ways: int | None = None) -> int:
    """The smallest chip count >= ``chips`` that sram_layout lays out (a pipeline no deeper than the layers): whole
    nodes when more than one is needed. Bounded: at most 4,096 node steps, then the count itself."""
    n = chips if chips <= chips_per_node else -(-chips // chips_per_node) * chips_per_node
    step = 1 if n < chips_per_node else chips_per_node
    for _ in range(4096):
        if sram_layout(n, tp_max, num_layers, kv_ways)[1] <= num_layers:
            return n
        n += step
    return chips


def auto_parallelism(model: ModelSpec, chips_needed: int, chips_per_node: int) -> tuple[int, int, int]:
    """The smallest usual layout holding ``chips_needed`` chips: TP over a power of two within a node (dividing the
    attention heads), then PP across nodes. Returns (gpus, tp, pp)."""
    qh = model.max_q_heads
    tp = 1
    while tp < chips_needed and tp * 2 <= chips_per_node and qh % (tp * 2) == 0:
        tp *= 2
    pp = max(1, math.ceil(chips_needed / tp))
    pp = min(pp, model.num_layers)
    return tp * pp, tp, pp


def max_sequences(
    model: ModelSpec,
    weights: str,
    kv: str,
    par: Layout,
    context: ArrayLike,
    *,
    capacity_bytes: ArrayLike,
    runtime_overhead_fraction: ArrayLike,
    max_batch_tokens: ArrayLike = MAX_BATCH_TOKENS,
) -> np.ndarray:
    """Largest number of concurrent sequences of ``context`` tokens a deployment of par.gpus GPUs holds in memory
    (all DP replicas together). Element-wise over NumPy arrays of parallel degrees, capacities and contexts: the
    performance model uses it to cap concurrency."""
    free = (
        np.asarray(capacity_bytes, dtype=float) * (1 - np.asarray(runtime_overhead_fraction))
        - weight_bytes_per_gpu(model, weights, par)
        - activation_bytes_per_gpu(model, par, max_batch_tokens)
    )
    per_seq = np.asarray(kv_cache_bytes(model, context, kv, 1), dtype=float) / kv_shard_factor(model, par)
    return np.floor(np.maximum(free, 0) / np.maximum(per_seq, 1e-9)) * par.dp


def kv_capacity_sequences(
    model: ModelSpec,
    weights: str,
    kv: str,
    par: Layout,
    *,
    isl: ArrayLike,
    osl: ArrayLike,
    capacity_bytes: ArrayLike,
    memory_fraction: ArrayLike,
    memory_basis_free: ArrayLike,
    max_batch_tokens: ArrayLike,
    kv_block_tokens: ArrayLike,
    reserve_full: ArrayLike,
    draft_layers: ArrayLike = 0.0,
) -> np.ndarray:
    """Running sequences an engine's KV cache holds, all DP replicas together (element-wise over NumPy arrays).

    The engine may use ``memory_fraction`` of each chip: of the whole chip (vLLM's gpu_memory_utilization, SGLang's
    mem_fraction_static: weights and activations inside it) or of what weights and activations leave
    (``memory_basis_free``: TensorRT-LLM's free_gpu_memory_fraction). KV is paged in blocks of ``kv_block_tokens``:
    an engine that reserves the maximum length at admission (``reserve_full``: TensorRT-LLM's GUARANTEED_NO_EVICT)
    holds ISL + OSL per sequence; an on-demand engine (vLLM, SGLang, ATOM) holds what running sequences use, on
    average ISL + OSL / 2 in steady state, plus half a block of fragmentation.
    """
    cap = np.asarray(capacity_bytes, dtype=float)
    frac = np.asarray(memory_fraction, dtype=float)
    used = _resident_bytes(model, weights, par, max_batch_tokens, draft_layers)
    free = np.where(np.asarray(memory_basis_free, dtype=bool), (cap - used) * frac, cap * frac - used)
    per_seq = _kv_bytes_per_sequence(model, kv, par, isl, osl, kv_block_tokens, reserve_full, draft_layers)
    return np.floor(np.maximum(free, 0) / np.maximum(per_seq, 1e-9)) * par.dp


def _resident_bytes(
    model: ModelSpec, weights: str, par: Layout, max_batch_tokens: ArrayLike, draft_layers: ArrayLike
) -> np.ndarray:
    """Weights + activations on one GPU, with a speculative draft's ``draft_layers`` decoder layers (MTP modules,
    an EAGLE head: loaded only when speculation is on) at the model's average layer size."""
    w = np.asarray(weight_bytes_per_gpu(model, weights, par), dtype=float)
    draft = np.asarray(draft_layers, dtype=float) * w / max(model.num_layers, 1)
    return w + draft + activation_bytes_per_gpu(model, par, max_batch_tokens)


def _kv_bytes_per_sequence(
    model: ModelSpec, kv: str, par: Layout, isl: ArrayLike, osl: ArrayLike, kv_block_tokens: ArrayLike,
    reserve_full: ArrayLike, draft_layers: ArrayLike = 0.0,
) -> np.ndarray:  # fmt: skip
    """KV bytes one running sequence holds on one GPU, as the engine allocates them (see kv_capacity_sequences),
    with the draft's layers' own KV (at the model's average layer)."""
    isl = np.asarray(isl, dtype=float)
    osl = np.asarray(osl, dtype=float)
    blk = np.maximum(np.asarray(kv_block_tokens, dtype=float), 1.0)
    full = np.ceil((isl + osl) / blk) * blk
    # on demand a sequence never holds more pages than its full length needs
    avg = np.minimum(isl + osl / 2.0 + blk / 2.0, full)
    tokens = np.where(np.asarray(reserve_full, dtype=bool), full, avg)
    draft = 1.0 + np.asarray(draft_layers, dtype=float) / max(model.num_layers, 1)
    return np.asarray(kv_cache_bytes(model, tokens, kv, 1), dtype=float) * draft / kv_shard_factor(model, par)


def memory_in_use_bytes(
    model: ModelSpec,
    weights: str,
    kv: str,
    par: Layout,
    *,
    concurrency: ArrayLike,
    isl: ArrayLike,
    osl: ArrayLike,
    capacity_bytes: ArrayLike,
    memory_fraction: ArrayLike,
    memory_basis_free: ArrayLike,
    max_batch_tokens: ArrayLike,
    kv_block_tokens: ArrayLike,
    reserve_full: ArrayLike,
    reserve: ArrayLike = True,
    draft_layers: ArrayLike = 0.0,
) -> np.ndarray:
    """Bytes in use on one GPU with ``concurrency`` running sequences (all DP replicas together), by the rule
    :func:`kv_capacity_sequences` admits them with: weights + activations + each running sequence's KV as the engine
    allocates it + the memory the engine leaves unused (``reserve``: 1 - memory_fraction of the chip, or of what
    weights and activations leave for TensorRT-LLM's free_gpu_memory_fraction). At the capacity it is at most the
    chip's memory: a configuration the capacity admits never shows more than the chip holds."""
    cap = np.asarray(capacity_bytes, dtype=float)
    frac = np.asarray(memory_fraction, dtype=float)
    used = _resident_bytes(model, weights, par, max_batch_tokens, draft_layers)
    left = np.where(np.asarray(memory_basis_free, dtype=bool), (cap - used) * (1.0 - frac), cap * (1.0 - frac))
    per_seq = _kv_bytes_per_sequence(model, kv, par, isl, osl, kv_block_tokens, reserve_full, draft_layers)
    seqs = np.maximum(np.asarray(concurrency, dtype=float), 0.0) / par.dp
    return used + seqs * per_seq + np.where(np.asarray(reserve, dtype=bool), np.maximum(left, 0.0), 0.0)
