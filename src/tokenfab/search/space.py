"""The design space: GPU counts per replica, parallel layouts, concurrency ladders, precisions, engines and
speculative-decoding variants (the enumeration rules are in the package docstring, tokenfab.search)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tokenfab.catalog import precision as prec
from tokenfab.catalog.engines import EngineSpec, get_engine, resolve_engine
from tokenfab.catalog.hardware import HardwareSpec, get_hardware
from tokenfab.catalog.models import ModelSpec, weight_bytes
from tokenfab.core import assumptions
from tokenfab.core.errors import TokenfabError, require_int
from tokenfab.perf import speculative as spec
from tokenfab.perf.memory import beyond_reach, instance_chips
from tokenfab.perf.points import point_arrays, take

# ----------------------------------------------------------------------------------------------- named defaults
MODES = ("agg", "disagg")
MTP_DRAFT_TOKENS = (1, 2, 3)
# [assumption] pipeline stages beyond 8 add hand-off latency and bubbles beyond what the data supports; the sweep
# stops at 8 (SRAM-only chips, which are pipelines by design, may use up to one stage per layer)
MAX_PP = 8
# the in-domain GPU-count ladder stops here for very large scale-up domains (TPU pods): replicas of 128 chips
MAX_LADDER_GPUS = 128
CONCURRENCY_STEP = 2.0  # geometric ladder of concurrency (InferenceX sweeps 4, 8, ..., 64 in powers of two)
# the share of memory a sweep assumes before an engine is known (the engines' default memory fractions are 0.88-0.9)
SWEEP_MEMORY_FRACTION = assumptions.value("search", "sweep_memory_fraction")  # data/assumptions.yaml, cited


def parse_list(value, field: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        items = [v.strip() for v in value.split(",") if v.strip()]
    else:
        items = [str(v).strip() for v in value if str(v).strip()]
    if not items:
        raise TokenfabError("empty list", field=field, expected="one or more comma-separated values", got=value)
    out: list[str] = []
    for v in items:
        if v not in out:
            out.append(v)
    return out


def resolve_hardware(hardware, hardware_files=None) -> list[HardwareSpec]:
    """Hardware keys (a list or a comma-separated string) -> specs; an unknown key suggests the nearest ones."""
    if isinstance(hardware, HardwareSpec):
        return [hardware]
    items: Sequence[HardwareSpec | str]
    if isinstance(hardware, str):
        items = parse_list(hardware, "hardware")
    else:
        items = [h if isinstance(h, HardwareSpec) else str(h).strip() for h in hardware]
        items = [h for h in items if isinstance(h, HardwareSpec) or h]
        if not items:
            raise TokenfabError("empty list", field="hardware", expected="one or more hardware keys", got=hardware)
    specs: list[HardwareSpec] = []
    for k in items:
        hw = get_hardware(k, hardware_files)
        if hw.key not in [s.key for s in specs]:
            specs.append(hw)
    return specs


def resolve_weights(model: ModelSpec, weights) -> list[str]:
    if weights is None:
        return [model.native_weights]
    return [prec.normalize(w, field="weights") for w in parse_list(weights, "weights")]


def native_weights_for(hw: HardwareSpec, weights: Sequence[str]) -> tuple[list[str], list[str]]:
    """The precisions of ``weights`` ``hw`` computes natively, and a note for each skipped one: a 4-bit float format
    (FP4 / NVFP4 / MXFP4) runs only where the chip has FP4 arithmetic; elsewhere it would be storage-only at a wider
    compute format, a configuration the sweep leaves out (estimate can still model it, with a warning)."""
    keep, notes = [], []
    for w in weights:
        experts, rest = prec.split_mixed(w)
        fp4 = [p for p in {experts, rest} if p in ("fp4", "nvfp4", "mxfp4")]
        if fp4 and not hw.peak_flops_per_s.get("fp4"):
            notes.append(f"{hw.key}: {w} skipped (no native FP4 arithmetic on this chip)")
            continue
        keep.append(w)
    return keep, notes


def resolve_modes(mode) -> tuple[str, ...]:
    m = str(mode or "both").strip().lower()
    if m == "both":
        return MODES
    if m in ("agg", "aggregated"):
        return ("agg",)
    if m in ("disagg", "disaggregated"):
        return ("disagg",)
    raise TokenfabError("unknown serving mode", field="mode", expected="agg, disagg or both", got=mode)


def per_hardware(value, hws: Sequence[HardwareSpec], field: str) -> dict:
    """A setting given once for all hardware or per hardware, as hardware key -> raw value (None where not given).

    ``value``: None; a plain value for every hardware (``"vllm"``, ``True``); a string ``"h200-sxm=sglang,mi355x=atom"``
    (``hw=value`` pairs separated by commas, ``*=value`` for the rest); or a mapping hardware key -> value (``*``
    for the rest). A hardware key that is not among ``hws`` is an error naming ``field``."""
    keys = [h.key for h in hws]
    if value is None:
        return dict.fromkeys(keys)
    if isinstance(value, str) and "=" in value:
        pairs = {}
        for item in parse_list(value, field):
            k, sep, v = item.partition("=")
            if not sep or not k.strip() or not v.strip():
                raise TokenfabError(
                    "not a hardware=value pair", field=field, expected="hw=value[,hw=value...] or one value", got=item
                )
            pairs[k.strip()] = v.strip()
        value = pairs
    if isinstance(value, dict):
        out = {}
        aliases = {}
        for k in value:
            if k == "*":
                continue
            try:
                aliases[k] = get_hardware(k, None).key if k not in keys else k
            except TokenfabError:
                aliases[k] = k
            if aliases[k] not in keys:
                raise TokenfabError(
                    f"{field} names hardware that is not being evaluated",
                    field=f"{field}.{k}",
                    expected=", ".join(keys) or "a hardware key being evaluated",
                    got=k,
                )
        by_key = {aliases[k]: v for k, v in value.items() if k != "*"}
        for k in keys:
            out[k] = by_key.get(k, value.get("*"))
        return out
    return dict.fromkeys(keys, value)


def resolve_engines(engine, hws: Sequence[HardwareSpec]) -> list[EngineSpec]:
    """One engine per hardware: ``engine`` a key for all, per hardware (:func:`per_hardware`: a mapping or
    ``"hw=engine,..."``), or None/"auto" for each hardware's default (engines.yaml ``default_for_vendors``)."""
    chosen = per_hardware(engine, hws, "engine")
    return [resolve_engine(chosen[hw.key], hw) for hw in hws]


_ON = ("on", "true", "1", "yes", "auto")
_OFF = ("off", "false", "0", "no", "none")


def speculation_switch(value, field: str = "speculative") -> bool:
    """One on/off switch of speculative decoding: True/False or on/off/auto/true/false/yes/no/1/0."""
    if value is None:
        return True
    if isinstance(value, bool):
        return value
    v = str(value).strip().lower()
    if v in _ON:
        return True
    if v in _OFF:
        return False
    raise TokenfabError("not an on/off switch", field=field, expected="on or off (auto = on)", got=value)


def resolve_speculation(mtp, hws: Sequence[HardwareSpec]) -> dict[str, bool]:
    """Hardware key -> speculative decoding on (where the engine and model support it) or off; ``mtp`` as for
    :func:`per_hardware` (e.g. ``"h100-sxm=off,*=on"``)."""
    chosen = per_hardware(mtp, hws, "speculative")
    return {k: speculation_switch(v, f"speculative.{k}") for k, v in chosen.items()}


def spec_variants(model: ModelSpec, engine: EngineSpec, enabled: bool | str = True) -> list[spec.SpecConfig]:
    """Off, and the model's own MTP at 1-3 draft tokens where the model ships MTP heads, the engine runs MTP and a
    published (or stand-in) acceptance exists (perf/speculative.py)."""
    on = enabled if isinstance(enabled, bool) else str(enabled).lower() not in ("off", "false", "0", "no")
    return spec.sweep_variants(model, engine, on, MTP_DRAFT_TOKENS)


# ----------------------------------------------------------------------------------------------- enumeration
def _usable_bytes(hw: HardwareSpec) -> float:
    return hw.weight_memory_bytes * (1.0 if hw.kind == "sram" else SWEEP_MEMORY_FRACTION)


def min_gpus_for_weights(model: ModelSpec, weights: str, hw: HardwareSpec) -> int:
    """The fewest chips whose usable memory holds the weights (a lower bound: KV and activations come on top)."""
    usable = _usable_bytes(hw)
    if usable <= 0:
        return 10**9
    return max(1, math.ceil(weight_bytes(model, weights)["total"] / usable - 1e-9))


def gpu_ladder(model: ModelSpec, hw: HardwareSpec, weights: str | Sequence[str], gpus: int | None = None) -> list[int]:
    """GPU counts per replica to sweep (see the module docstring); ``[gpus]`` when fixed."""
    if gpus is not None:
        return [require_int("gpus", gpus, minimum=1)]
    ws = [weights] if isinstance(weights, str) else list(weights)
    need = min(min_gpus_for_weights(model, w, hw) for w in ws)
    dom = int(hw.scaleup_domain_size)
    ladder = set()
    n = 1
    while n <= dom:
        ladder.add(n)
        n *= 2
    ladder.add(dom)
    j = 2
    while dom * j <= max(8 * need, 2 * dom) and j <= 64:
        ladder.add(dom * j)
        j *= 2
    hi = max(min(dom, MAX_LADDER_GPUS), 4 * need)
    counts = sorted(c for c in ladder if need <= c <= hi)
    if not counts:
        above = sorted(c for c in ladder if c >= need)
        counts = above[:1]
    return counts


@dataclass(frozen=True)
class Layout:
    tp: int
    pp: int
    dp: int
    ep: int

    @property
    def gpus(self) -> int:
        return self.tp * self.pp * self.dp


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def layouts(
    model: ModelSpec, hw: HardwareSpec, gpus: int, *, fixed: bool = False, engine: EngineSpec | str | None = None
) -> list[Layout]:
    """Valid (TP, PP, DP, EP) layouts of ``gpus`` chips of ``hw`` for ``model`` served by ``engine``.

    TP divides the attention heads and stays within the scale-up domain; PP divides the rest (at most MAX_PP, or one
    stage per layer on SRAM chips). Dense models replicate whole deployments (DP = 1) unless the GPU count is fixed.
    MoE models may run attention data-parallel (DP > 1) where the engine supports it; their experts are split by
    tensor parallelism (EP = 1) or by expert parallelism over the TP x DP chips of a stage, which must divide the
    expert count unless the engine balances redundant experts (EPLB): then each rank holds ceil(E / EP) slots, and
    may span more than one node only where the engine runs wide EP (engines.yaml features)."""
    eng = get_engine(engine) if engine is not None else get_engine("generic")
    sram = hw.kind == "sram"
    dom = int(hw.scaleup_domain_size)
    heads = model.max_q_heads
    max_pp = model.num_layers if sram else min(MAX_PP, model.num_layers)
    dp_ok = eng.supports("dp_attention")
    redundant = eng.supports("eplb")
    out: list[Layout] = []
    for tp in _divisors(gpus):
        if not sram and (tp > dom or heads % tp):
            continue
        if sram and tp > dom:
            continue
        rest = gpus // tp
        for pp in _divisors(rest):
            if pp > max_pp:
                continue
            dp = rest // pp
            if dp > 1 and not model.is_moe and not fixed:
                continue  # a dense model replicates whole deployments; the frontier is per GPU
            if model.is_moe:
                if dp > 1 and not dp_ok:
                    continue
                group = tp * dp
                eps = [1]
                # EP beyond one node (wide EP across a rack-scale domain) only where the engine runs it
                wide_ok = group <= hw.chips_per_node or eng.supports("wide_ep")
                if (
                    group > 1
                    and (model.max_experts % group == 0 or redundant)
                    and group <= model.max_experts
                    and wide_ok
                ):
                    eps.append(group)
            else:
                eps = [1]
            if beyond_reach(hw, instance_chips(model, tp, pp, dp)):  # no scale-out figure past the domain
                continue
            for ep in eps:
                out.append(Layout(tp, pp, dp, ep))
    return out


def _take(pa, idx: np.ndarray):
    return take(pa, idx)


def _layout_arrays(
    hws: Sequence[HardwareSpec], engines: Sequence[EngineSpec], weights: str, kv: str, profile, hw_idx, tp, pp, dp, ep
):
    """PointArrays for layouts (hardware ``hws[hw_idx[i]]`` with its engine ``engines[hw_idx[i]]``)."""
    hw_idx = np.asarray(hw_idx, dtype=int)
    return point_arrays(list(hws), list(engines), weights, kv, profile, hw_idx, hw_idx, tp, pp, dp, ep)


def concurrency_ladder(cap, dp, step: float = CONCURRENCY_STEP):
    """Expand per-layout caps into (layout index, total concurrency): DP x step^k below the cap, then the cap."""
    cap = np.floor(np.asarray(cap, dtype=float))
    dp = np.asarray(dp, dtype=float)
    ok = cap >= 1
    ratio = np.where(ok & (cap >= dp), cap / dp, 1.0)
    kmax = np.floor(np.log(ratio) / math.log(step) + 1e-9)
    top = dp * step**kmax
    counts = np.where(ok & (cap >= dp), kmax + 1 + (cap > top * (1 + 1e-9)), np.where(ok, 1, 0)).astype(int)
    idx = np.repeat(np.arange(len(cap)), counts)
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    k = np.arange(idx.size) - starts
    conc = np.where(cap[idx] >= dp[idx], np.minimum(dp[idx] * step**k, cap[idx]), cap[idx])
    return idx, conc
