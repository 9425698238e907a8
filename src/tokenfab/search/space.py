"""The design space: GPU counts per replica, parallel layouts, concurrency ladders, precisions and MTP variants
(the enumeration rules are in the package docstring, tokenfab.search)."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from tokenfab.catalog import precision as prec
from tokenfab.catalog.calibration import CalibrationProfile
from tokenfab.catalog.hardware import HardwareSpec, get_hardware
from tokenfab.catalog.models import ModelSpec, weight_bytes
from tokenfab.core.errors import TokenfabError, require_int
from tokenfab.perf.memory import RUNTIME_OVERHEAD_FRACTION
from tokenfab.perf.serving import PointArrays, hardware_arrays

# ----------------------------------------------------------------------------------------------- named defaults
MODES = ("agg", "disagg")
# DeepSeek-V3 Technical Report (arXiv:2412.19437, sec. 5.4.3 "Multi-Token Prediction Evaluation"): "the acceptance
# rate of the second token prediction ranges between 85% and 90%", giving 1.8x tokens per second with one MTP
# module. We take the low end, 0.85, per drafted token; a k-token draft is accepted as a chain (token i+1 only if
# token i was), so the acceptance length is 1 + p + ... + p^k: 1.85 (k=1), 2.57 (k=2), 3.19 (k=3). Chaining later
# drafts at the same rate is an assumption (later drafts are usually accepted less often: optimistic for k > 1).
MTP_ACCEPTANCE_RATE = 0.85
MTP_DRAFT_TOKENS = (1, 2, 3)
# [assumption] pipeline stages beyond 8 add hand-off latency and bubbles that the serving model does not charge
# for; the sweep stops at 8 (SRAM-only chips, which are pipelines by design, may use up to one stage per layer).
MAX_PP = 8
# the in-domain GPU-count ladder stops here for very large scale-up domains (TPU pods): replicas of 128 chips
MAX_LADDER_GPUS = 128
CONCURRENCY_STEP = 2.0  # geometric ladder of concurrency (InferenceX sweeps 4, 8, ..., 64 in powers of two)


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


def resolve_modes(mode) -> tuple[str, ...]:
    m = str(mode or "both").strip().lower()
    if m == "both":
        return MODES
    if m in ("agg", "aggregated"):
        return ("agg",)
    if m in ("disagg", "disaggregated"):
        return ("disagg",)
    raise TokenfabError("unknown serving mode", field="mode", expected="agg, disagg or both", got=mode)


def mtp_acceptance_length(draft_tokens: int, rate: float = MTP_ACCEPTANCE_RATE) -> float:
    """Expected tokens per decode step with a chained k-token draft: 1 + p + p^2 + ... + p^k."""
    return float(sum(rate**i for i in range(int(draft_tokens) + 1)))


def mtp_variants(model: ModelSpec, enabled: bool = True) -> list[tuple[int, float]]:
    """(draft tokens, acceptance length): (0, 1) always; 1-3 drafts for models that ship MTP layers."""
    out = [(0, 1.0)]
    if enabled and model.mtp_layers > 0:
        out += [(k, mtp_acceptance_length(k)) for k in MTP_DRAFT_TOKENS]
    return out


# ----------------------------------------------------------------------------------------------- enumeration
def _usable_bytes(hw: HardwareSpec) -> float:
    return hw.weight_memory_bytes * (1.0 - (0.0 if hw.kind == "sram" else RUNTIME_OVERHEAD_FRACTION))


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


def layouts(model: ModelSpec, hw: HardwareSpec, gpus: int, *, fixed: bool = False) -> list[Layout]:
    """Valid (TP, PP, DP, EP) layouts of ``gpus`` chips of ``hw`` for ``model`` (rules in the module docstring)."""
    sram = hw.kind == "sram"
    dom = int(hw.scaleup_domain_size)
    heads = model.max_q_heads
    max_pp = model.num_layers if sram else min(MAX_PP, model.num_layers)
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
                # attention-DP ranks meet in the expert layer through EP all-to-all (EP = TP x DP, SGLang/TRT-LLM
                # "DP attention"); with DP = 1 the experts may also be split by TP alone (EP = 1)
                group = tp * dp
                divs = [e for e in _divisors(group) if model.max_experts % e == 0]
                eps = [] if dp > 1 else [1]
                if group > 1 and divs and divs[-1] > 1:
                    eps.append(divs[-1])  # TP x DP itself when it divides the experts
                if not eps:
                    continue
            else:
                eps = [1]
            for ep in eps:
                out.append(Layout(tp, pp, dp, ep))
    return out


def _take(pa: PointArrays, idx: np.ndarray) -> PointArrays:
    """Index every per-point array of a PointArrays (fields that are scalars stay as they are)."""
    kw = {}
    n = len(pa.tp)
    for f in dataclasses.fields(pa):
        v = getattr(pa, f.name)
        if isinstance(v, dict):
            kw[f.name] = {k: (np.asarray(a)[idx] if np.ndim(a) and np.shape(a)[0] == n else a) for k, a in v.items()}
        elif np.ndim(v) and np.shape(v)[0] == n:
            kw[f.name] = np.asarray(v)[idx]
        else:
            kw[f.name] = v
    return PointArrays(**kw)


def _layout_arrays(hws: Sequence[HardwareSpec], weights: str, profile: CalibrationProfile, hw_idx, tp, pp, dp, ep):
    """PointArrays for layouts: the per-hardware figures are built once per hardware and gathered."""
    one = np.ones(len(hws))
    base = hardware_arrays(list(hws), weights, profile, one, one, one, one)
    pa = _take(base, np.asarray(hw_idx, dtype=int))
    f = lambda x: np.asarray(x, dtype=float)  # noqa: E731
    return dataclasses.replace(pa, tp=f(tp), pp=f(pp), dp=f(dp), ep=f(ep))


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
