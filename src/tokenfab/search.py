"""Design-space search: every deployment of a model over a list of hardware, Pareto frontiers, tiers and SLAs.

The sweep (:func:`sweep`) enumerates, per hardware:

- GPU counts per replica (:func:`gpu_ladder`): 1, 2, 4, ... within the scale-up domain plus the domain itself
  (1..8 for an 8-GPU NVLink node, 1..64 and 72 for an NVL72 rack), beyond the domain (2x, 4x ...) only when the
  weights need it; counts that cannot hold the weights are skipped. ``gpus=N`` fixes the count.
- Parallel layouts (:func:`layouts`): TP divides the attention heads and stays within the scale-up domain, PP
  divides the rest (PP <= layers and <= MAX_PP), attention-DP for MoE models (dense models replicate whole
  deployments instead, except when the GPU count is fixed), EP = 1 or TP x DP where it divides the expert count.
- Concurrency: a geometric ladder DP x 1, 2, 4, ... up to the KV-memory cap (serving.concurrency_cap), plus the cap.
- Weight precisions (KV per precision.default_kv_precision) and MTP with 1-3 draft tokens for models that ship
  MTP layers (acceptance length from MTP_ACCEPTANCE_RATE).
- Serving mode: aggregated (serving.serve) and disaggregated prefill/decode (:func:`prefill_pool` +
  serving.serve for the decode pool, rate-matched; see below).

All (hardware, layout, concurrency) combinations of one (model, weights, ISL, OSL) are concatenated into one set of
PointArrays, so each serving.serve call evaluates thousands of configurations at once; the roofline is never
re-implemented here.

Disaggregated serving (DistServe, Zhong et al. OSDI 2024; metrics.md "throughput per GPU"): a prefill pool and a
decode pool, each with its own layout.
- Prefill replica throughput (requests/s) from roofline.forward_time on full chunks of MAX_BATCH_TOKENS, pipelined
  over PP stages; its latency is one request's prefill pass.
- Decode replica: serving.serve with the prompt's KV arriving from the prefill pool (prefix hit rate
  (ISL - 1) / ISL: only the first generated token is ingested), so the decode pool does no prefill work.
- Rate matching: for y decode replicas, x = ceil(y x decode rate / (rho x prefill rate)) prefill replicas, with
  rho in DISAGG_PREFILL_UTILIZATIONS; y = 1..DISAGG_MAX_DECODE_REPLICAS is chosen to minimise GPUs per request/s.
  The x:y unit is one "replica" of the deployment.
- KV transfer = KV bytes of ISL tokens / (link bandwidth x comm efficiency x links), links = the prefill layout's
  KV shards (each GPU sends its shard); scale-up if the whole unit fits in one scale-up domain, else scale-out.
- TTFT = prefill queueing (M/D/c over the x x DP prefill ranks, queueing.py) + prefill latency + KV transfer.
- Per-GPU throughput divides by prefill + decode GPUs.

Frontier: per hardware and serving mode, the Pareto-optimal points of total tokens/s per GPU against tokens/s per
user (:func:`pareto_mask`); values at a target interactivity by Steffen's monotone cubic (:func:`steffen_interpolate`,
as InferenceX does; exact at the knots, monotone between them). Cost per point from tco.tco + cost.usd_per_mtok.
"""
from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from . import cost as costmod
from . import precision as prec
from . import queueing as Q
from . import tco as tcomod
from .calibration import CalibrationProfile, load_profile
from .errors import TokenfabError, require_int, require_positive
from .hardware import HardwareSpec, get_hardware
from .memory import MAX_BATCH_TOKENS, RUNTIME_OVERHEAD_FRACTION, Parallelism, kv_shard_factor
from .models import ModelSpec, get_model, kv_cache_bytes, weight_bytes
from .roofline import forward_time, link_bandwidth
from .serving import PointArrays, concurrency_cap, hardware_arrays, serve

# ----------------------------------------------------------------------------------------------- named defaults
MODES = ("agg", "disagg")
# DeepSeek-V3 Technical Report (arXiv:2412.19437, sec. 5.4.3 "Multi-Token Prediction Evaluation"): "the acceptance
# rate of the second token prediction ranges between 85% and 90%", giving 1.8x tokens per second with one MTP
# module. We take the low end, 0.85, per drafted token; a k-token draft is accepted as a chain (token i+1 only if
# token i was), so the acceptance length is 1 + p + ... + p^k: 1.85 (k=1), 2.57 (k=2), 3.19 (k=3). Chaining later
# drafts at the same rate is an assumption (later drafts are usually accepted less often: optimistic for k > 1).
MTP_ACCEPTANCE_RATE = 0.85
MTP_DRAFT_TOKENS = (1, 2, 3)
# [assumption] the middle ("goldilocks") tier: 50 tokens/s per user is several times human reading speed
# (about 5-10 tokens/s) with headroom for hidden reasoning tokens, between bulk (batch) and premium (fastest) serving.
GOLDILOCKS_INTERACTIVITY = 50.0
# [assumption] pipeline stages beyond 8 add hand-off latency and bubbles that the serving model does not charge
# for; the sweep stops at 8 (SRAM-only chips, which are pipelines by design, may use up to one stage per layer).
MAX_PP = 8
# the in-domain GPU-count ladder stops here for very large scale-up domains (TPU pods): replicas of 128 chips
MAX_LADDER_GPUS = 128
CONCURRENCY_STEP = 2.0  # geometric ladder of concurrency (InferenceX sweeps 4, 8, ..., 64 in powers of two)
# [assumption] prefill pools are sized to run at these utilizations (lower: shorter prefill queues, more GPUs)
DISAGG_PREFILL_UTILIZATIONS = (0.6, 0.85)
DISAGG_MAX_DECODE_REPLICAS = 16
DISAGG_PREFILL_CANDIDATES = 4  # prefill layouts kept per hardware (Pareto on throughput/GPU vs latency)
# [assumption] near-ties in the tier picks and `best` go to the fewest GPUs per replica (or per x:y unit): a point
# within 1% of the lowest $/M (bulk, goldilocks, best) or within 2% of the highest interactivity (premium) is as good
# a pick, below what the model resolves (its calibration error is several %), and a smaller unit is easier to deploy.
TIER_COST_TOLERANCE = 0.01
TIER_INTERACTIVITY_TOLERANCE = 0.02

DEFINITIONS = {
    "tokens_per_s_per_user": "interactivity = 1000 / TPOT_ms (InferenceX's x-axis)",
    "total_tokens_per_s_per_gpu": "(input + output) tokens/s over all GPUs (prefill + decode GPUs when disaggregated)",
    "output_tokens_per_s_per_gpu": "output tokens/s over all GPUs",
    "ttft_ms": "time to first token at the SLA percentile (queueing under Poisson arrivals at the point's load)",
    "ttft_mean_ms": "mean time to first token",
    "tpot_ms": "time per output token (its percentile equals its mean: it averages over OSL - 1 steps)",
    "e2el_ms": "end-to-end latency at the SLA percentile = TTFT at the percentile + (OSL - 1) x TPOT",
    "slo_attainment": "fraction of requests meeting every SLO at the point's load",
    "goodput_requests_per_s": "requests/s that meet every SLO = requests/s x SLO attainment (per replica)",
    "usd_per_mtok_total": "USD per million (input + output) tokens = $/GPU-h / (total tok/s per GPU x 3600 / 1e6)",
    "usd_per_mtok_input": "USD per million input tokens (whole GPU-hour charged to input tokens, InferenceX)",
    "usd_per_mtok_output": "USD per million output tokens (whole GPU-hour charged to output tokens, InferenceX)",
    "tokens_per_s_per_mw": "total tok/s per GPU x 1000 / all-in kW per GPU",
    "pareto": "a point is kept if no other point of the same hardware and mode has both higher tokens/s per user "
              "and higher total tokens/s per GPU",
}


# ----------------------------------------------------------------------------------------------- inputs
@dataclass(frozen=True)
class SLA:
    """Service-level limits (ms; None = no limit) at a percentile (None = mean values)."""

    ttft_max_ms: float | None = None
    tpot_max_ms: float | None = None
    e2el_max_ms: float | None = None
    min_interactivity: float | None = None  # tokens/s per user
    percentile: float | None = 0.9

    @classmethod
    def make(cls, *, ttft_max_ms=None, tpot_max_ms=None, e2el_max_ms=None, min_interactivity=None,
             percentile=None) -> "SLA":
        for name, v in (("ttft_max_ms", ttft_max_ms), ("tpot_max_ms", tpot_max_ms), ("e2el_max_ms", e2el_max_ms),
                        ("min_interactivity", min_interactivity)):
            if v is not None:
                require_positive(name, v)
        q = Q.parse_percentile(Q.DEFAULT_PERCENTILE if percentile is None else percentile)
        return cls(ttft_max_ms, tpot_max_ms, e2el_max_ms, min_interactivity, q)

    @property
    def label(self) -> str:
        return Q.percentile_label(self.percentile)

    @property
    def any(self) -> bool:
        return any(v is not None for v in (self.ttft_max_ms, self.tpot_max_ms, self.e2el_max_ms, self.min_interactivity))

    def to_dict(self) -> dict:
        return {"ttft_max_ms": self.ttft_max_ms, "tpot_max_ms": self.tpot_max_ms, "e2el_max_ms": self.e2el_max_ms,
                "min_interactivity": self.min_interactivity, "percentile": self.label}


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
    return float(sum(rate ** i for i in range(int(draft_tokens) + 1)))


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
        return 10 ** 9
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
    top = dp * step ** kmax
    counts = np.where(ok & (cap >= dp), kmax + 1 + (cap > top * (1 + 1e-9)), np.where(ok, 1, 0)).astype(int)
    idx = np.repeat(np.arange(len(cap)), counts)
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    k = np.arange(idx.size) - starts
    conc = np.where(cap[idx] >= dp[idx], np.minimum(dp[idx] * step ** k, cap[idx]), cap[idx])
    return idx, conc


def prefill_pool(model: ModelSpec, weights: str, kv: str, pa: PointArrays, *, isl, prefix_hit_rate: float = 0.0) -> dict:
    """A dedicated prefill replica per layout (roofline.forward_time): requests/s it sustains on full chunks
    (pipelined over PP), the service time per request of one DP rank, and one request's prefill latency."""
    isl = float(isl)
    cached = isl * prefix_hit_rate
    new = max(isl - cached, 1.0)
    mbt = np.asarray(getattr(pa, "max_batch_tokens", MAX_BATCH_TOKENS), dtype=float)
    chunk = np.maximum(mbt, new) * np.ones_like(pa.tp)
    seqs = chunk / new
    common = dict(peak_flops_per_s=pa.peak_flops_per_s, bandwidth_bytes_per_s=pa.bandwidth_bytes_per_s,
                  scaleup_bw=pa.scaleup_bw, scaleout_bw=pa.scaleout_bw, scaleup_domain=pa.scaleup_domain,
                  tp=pa.tp, pp=pa.pp, dp=pa.dp, ep=pa.ep, cal=pa.cal)
    t_chunk, _, _ = forward_time(model, weights, kv, new_tokens=chunk, sequences=seqs, context=cached,
                                 phase="prefill", sampled_tokens=seqs, **common)
    t_single, _, _ = forward_time(model, weights, kv, new_tokens=new * np.ones_like(pa.tp), sequences=1.0,
                                  context=cached, phase="prefill", sampled_tokens=1.0, **common)
    rank_rps = seqs * pa.pp / t_chunk
    return {"replica_rps": rank_rps * pa.dp, "rank_service_s": 1.0 / rank_rps, "latency_s": np.broadcast_to(t_single, pa.tp.shape)}


# ----------------------------------------------------------------------------------------------- pareto + interpolation
def pareto_mask(x, y) -> np.ndarray:
    """True for the Pareto-optimal points when maximising both x and y: no other point has x' >= x and y' >= y with
    one of them strictly greater. Of exact duplicates one is kept. Non-finite points are never kept. O(n log n)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    keep = np.zeros(x.shape, dtype=bool)
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        return keep
    ids = np.flatnonzero(ok)
    order = ids[np.lexsort((-y[ids], -x[ids]))]  # x descending, then y descending
    ys = y[order]
    prev = np.maximum.accumulate(np.concatenate([[-np.inf], ys[:-1]]))
    keep[order[ys > prev]] = True
    return keep


def steffen_slopes(xk, yk) -> np.ndarray:
    """Knot derivatives of Steffen's monotone cubic (M. Steffen, A&A 239, 443 (1990))."""
    x = np.asarray(xk, dtype=float)
    y = np.asarray(yk, dtype=float)
    n = x.size
    if n < 2:
        return np.zeros(n)
    h = np.diff(x)
    s = np.diff(y) / h
    d = np.empty(n)
    if n == 2:
        d[:] = s[0]
        return d
    p = (s[:-1] * h[1:] + s[1:] * h[:-1]) / (h[:-1] + h[1:])
    d[1:-1] = (np.sign(s[:-1]) + np.sign(s[1:])) * np.minimum(np.minimum(np.abs(s[:-1]), np.abs(s[1:])), 0.5 * np.abs(p))
    p0 = s[0] * (1 + h[0] / (h[0] + h[1])) - s[1] * h[0] / (h[0] + h[1])
    d[0] = 0.0 if p0 * s[0] <= 0 else (2 * s[0] if abs(p0) > 2 * abs(s[0]) else p0)
    pn = s[-1] * (1 + h[-1] / (h[-1] + h[-2])) - s[-2] * h[-1] / (h[-1] + h[-2])
    d[-1] = 0.0 if pn * s[-1] <= 0 else (2 * s[-1] if abs(pn) > 2 * abs(s[-1]) else pn)
    return d


def steffen_interpolate(xk, yk, x):
    """Steffen's monotone cubic through the knots (xk strictly increasing): exact at the knots, monotone between
    them (no overshoot). NaN outside [xk[0], xk[-1]]."""
    xk = np.asarray(xk, dtype=float)
    yk = np.asarray(yk, dtype=float)
    xq = np.asarray(x, dtype=float)
    if xk.size == 0:
        return np.full(xq.shape, np.nan) if xq.ndim else float("nan")
    if np.any(np.diff(xk) <= 0):
        raise TokenfabError("interpolation knots must be strictly increasing", field="xk")
    if xk.size == 1:
        out = np.where(xq == xk[0], yk[0], np.nan)
        return out if out.ndim else float(out)
    d = steffen_slopes(xk, yk)
    i = np.clip(np.searchsorted(xk, xq, side="right") - 1, 0, xk.size - 2)
    h = xk[i + 1] - xk[i]
    s = (yk[i + 1] - yk[i]) / h
    t = xq - xk[i]
    a = (d[i] + d[i + 1] - 2 * s) / h ** 2
    b = (3 * s - 2 * d[i] - d[i + 1]) / h
    out = ((a * t + b) * t + d[i]) * t + yk[i]
    out = np.where(xq == xk[i + 1], yk[i + 1], out)
    out = np.where((xq < xk[0]) | (xq > xk[-1]) | ~np.isfinite(xq), np.nan, out)
    return out if out.ndim else float(out)


# ----------------------------------------------------------------------------------------------- the sweep
@dataclass
class Sweep:
    """Every evaluated configuration as columns (one element per configuration)."""

    model: ModelSpec
    isl: int
    osl: int
    hardware: list[HardwareSpec]
    weights: list[str]
    modes: tuple[str, ...]
    cols: dict[str, np.ndarray]
    evaluated: int
    elapsed_s: float
    sla: SLA
    costs: dict[str, dict | None] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    calibration: dict[str, str] = field(default_factory=dict)  # per hardware: which calibration parameters applied

    def __len__(self) -> int:
        return int(self.cols["hw"].size)

    @property
    def valid(self) -> np.ndarray:
        c = self.cols
        return (np.isfinite(c["tpot_ms"]) & np.isfinite(c["ttft_ms"]) & (c["total_tokens_per_s_per_gpu"] > 0)
                & (c["tokens_per_s_per_user"] > 0))

    def sla_mask(self, sla: SLA | None = None) -> np.ndarray:
        s = sla or self.sla
        c = self.cols
        m = self.valid.copy()
        if s.ttft_max_ms is not None:
            m &= c["ttft_ms"] <= s.ttft_max_ms
        if s.tpot_max_ms is not None:
            m &= c["tpot_ms"] <= s.tpot_max_ms
        if s.e2el_max_ms is not None:
            m &= c["e2el_ms"] <= s.e2el_max_ms
        if s.min_interactivity is not None:
            m &= c["tokens_per_s_per_user"] >= s.min_interactivity
        return m

    def hw_key(self, i: int) -> str:
        return self.hardware[int(self.cols["hw"][i])].key

    def config(self, i: int) -> dict:
        c = self.cols
        g = lambda k: c[k][i].item()  # noqa: E731
        k_mtp = int(g("mtp_draft_tokens"))
        mtp = {"draft_tokens": k_mtp, "acceptance_length": g("mtp_acceptance_length")} if k_mtp else None
        w = self.weights[int(g("weights"))]
        base = {"mode": MODES[int(g("mode"))], "gpus": int(g("gpus")), "tp": int(g("tp")), "pp": int(g("pp")),
                "dp": int(g("dp")), "ep": int(g("ep")), "weights": w, "kv": prec.default_kv_precision(w),
                "concurrency": int(round(g("concurrency"))), "mtp": mtp}
        if int(g("mode")) == 1:
            x, y = int(g("p_replicas")), int(g("d_replicas"))
            pg, dg = int(g("p_gpus")), int(g("d_gpus"))
            base.update({
                "prefill": {"gpus": pg, "tp": int(g("p_tp")), "pp": int(g("p_pp")), "dp": int(g("p_dp")),
                            "ep": int(g("p_ep")), "replicas": x, "gpus_total": x * pg,
                            "utilization": g("p_util"), "latency_ms": g("p_latency_ms")},
                "decode": {"gpus": dg, "tp": int(g("tp")), "pp": int(g("pp")), "dp": int(g("dp")), "ep": int(g("ep")),
                           "replicas": y, "gpus_total": y * dg, "concurrency_per_replica": int(round(g("d_concurrency")))},
                "ratio": f"{x}:{y}", "prefill_gpus": x * pg, "decode_gpus": y * dg,
                "kv_transfer_ms": g("kv_transfer_ms"), "kv_link": "scale-up" if g("kv_scaleup") else "scale-out",
            })
        else:
            base["replicas"] = 1
        return base

    def point(self, i: int) -> dict:
        c = self.cols
        f = lambda k: _num(c[k][i])  # noqa: E731
        return {
            "hardware": self.hw_key(i), "mode": MODES[int(c["mode"][i])], "config": self.config(i),
            "tokens_per_s_per_user": f("tokens_per_s_per_user"),
            "total_tokens_per_s_per_gpu": f("total_tokens_per_s_per_gpu"),
            "output_tokens_per_s_per_gpu": f("output_tokens_per_s_per_gpu"),
            "input_tokens_per_s_per_gpu": f("input_tokens_per_s_per_gpu"),
            "percentile": self.sla.label,
            "ttft_ms": f("ttft_ms"), "ttft_mean_ms": f("ttft_mean_ms"), "tpot_ms": f("tpot_ms"),
            "e2el_ms": f("e2el_ms"), "e2el_mean_ms": f("e2el_mean_ms"),
            "requests_per_s": f("requests_per_s"), "slo_attainment": f("slo_attainment"),
            "goodput_requests_per_s": f("goodput_requests_per_s"),
            "usd_per_gpu_hour": f("usd_per_gpu_hour"),
            "usd_per_mtok_total": f("usd_per_mtok_total"), "usd_per_mtok_input": f("usd_per_mtok_input"),
            "usd_per_mtok_output": f("usd_per_mtok_output"), "tokens_per_s_per_mw": f("tokens_per_s_per_mw"),
            "bound": str(c["bound"][i]),
        }


def _num(v):
    v = float(v)
    return v if math.isfinite(v) else None


def _cost_table(hws: Sequence[HardwareSpec], preset, usd_per_gpu_hour, hardware_files=None):
    """Per hardware: $/busy GPU-hour, wall-clock $/GPU-hour and all-in kW from tco.tco (None where TCO cannot price
    the hardware: the points keep their performance, their cost is null, and a warning says why)."""
    if preset is not None:
        names = tcomod.preset_names()
        if str(preset).strip().lower() not in names:
            from .errors import UnknownKeyError
            raise UnknownKeyError("preset", str(preset), names, field="preset")
    if usd_per_gpu_hour is not None:
        require_positive("usd_per_gpu_hour", usd_per_gpu_hour)
    out: dict[str, dict | None] = {}
    warns: list[str] = []
    for hw in hws:
        try:
            r = tcomod.tco(hw.key, preset, usd_per_gpu_hour, hardware_files=hardware_files)
        except TokenfabError as e:
            out[hw.key] = None
            reason = str(e).split(". ")[0]
            warns.append(f"{hw.key}: cost unknown ({reason}); give --usd-per-gpu-hour to price it")
            continue
        out[hw.key] = {"usd_per_gpu_hour": r.usd_per_gpu_hour, "usd_per_gpu_hour_wallclock": r.usd_per_gpu_hour_wallclock,
                       "utilization": r.utilization, "kw_per_gpu_all_in": r.kw_per_gpu_all_in,
                       "kw_per_gpu_it": r.kw_per_gpu_it, "preset": r.preset, "method": r.method}
    return out, warns


def _safe_usd_per_mtok(usd_h, tps):
    usd_h = np.asarray(usd_h, dtype=float)
    tps = np.asarray(tps, dtype=float)
    ok = np.isfinite(usd_h) & np.isfinite(tps) & (tps > 0) & (usd_h >= 0)
    out = np.full(tps.shape, np.nan)
    if ok.any():
        out[ok] = costmod.usd_per_mtok(usd_h[ok], tps[ok])
    return out


def _safe_tokens_per_s_per_mw(tps, kw):
    tps = np.asarray(tps, dtype=float)
    kw = np.asarray(kw, dtype=float)
    ok = np.isfinite(kw) & (kw > 0) & np.isfinite(tps) & (tps >= 0)
    out = np.full(tps.shape, np.nan)
    if ok.any():
        out[ok] = costmod.tokens_per_s_per_mw(tps[ok], kw[ok])
    return out


def attach_costs(sw: Sweep, costs: dict[str, dict | None]) -> None:
    """$ per M tokens (total, input, output) and tokens/s per MW on every point."""
    c = sw.cols
    usd = np.array([(costs.get(h.key) or {}).get("usd_per_gpu_hour", np.nan) for h in sw.hardware] + [np.nan], dtype=float)
    kw = np.array([((costs.get(h.key) or {}).get("kw_per_gpu_all_in") or np.nan) for h in sw.hardware] + [np.nan], dtype=float)
    hw = c["hw"].astype(int)
    usd_p, kw_p = usd[hw], kw[hw]
    c["usd_per_gpu_hour"] = usd_p
    c["kw_per_gpu_all_in"] = kw_p
    c["usd_per_mtok_total"] = _safe_usd_per_mtok(usd_p, c["total_tokens_per_s_per_gpu"])
    c["usd_per_mtok_input"] = _safe_usd_per_mtok(usd_p, c["input_tokens_per_s_per_gpu"])
    c["usd_per_mtok_output"] = _safe_usd_per_mtok(usd_p, c["output_tokens_per_s_per_gpu"])
    c["tokens_per_s_per_mw"] = _safe_tokens_per_s_per_mw(c["total_tokens_per_s_per_gpu"], kw_p)
    sw.costs = costs


def _validate_lengths(model: ModelSpec, isl, osl) -> tuple[int, int]:
    isl = require_int("isl", isl, minimum=1)
    osl = require_int("osl", osl, minimum=1)
    if model.max_position_embeddings and isl + osl > model.max_position_embeddings:
        raise TokenfabError(f"ISL + OSL exceeds {model.key}'s maximum context of {model.max_position_embeddings}",
                            field="isl", expected=f"isl + osl <= {model.max_position_embeddings}", got=isl + osl)
    return isl, osl


def _finish_queueing(cols: dict, osl: int, sla: SLA) -> None:
    """Tail TTFT/E2EL at the SLA percentile, SLO attainment and goodput (queueing.py), in place."""
    q = sla.percentile
    params = Q.mdc_params(cols["q_lam"], cols["q_service_s"], cols["q_servers"])
    mean = cols["ttft_mean_ms"]
    cols["ttft_ms"] = Q.ttft_quantile_ms(q, mean, params=params) if q is not None else mean.copy()
    cols["e2el_ms"] = cols["ttft_ms"] + (osl - 1.0) * cols["tpot_ms"]
    cols["prefill_queue_utilization"] = params.utilization
    att = Q.slo_attainment(mean, cols["tpot_ms"], osl, params=params, ttft_max_ms=sla.ttft_max_ms,
                           tpot_max_ms=sla.tpot_max_ms, e2el_max_ms=sla.e2el_max_ms)
    cols["slo_attainment"] = att
    cols["goodput_requests_per_s"] = Q.goodput_rps(cols["requests_per_s"], att)


_INT_COLS = ("hw", "mode", "weights", "tp", "pp", "dp", "ep", "gpus", "mtp_draft_tokens", "p_tp", "p_pp", "p_dp", "p_ep",
             "p_gpus", "p_replicas", "d_replicas", "d_gpus")


def sweep(model, hardware, *, isl: int = 1024, osl: int = 1024, weights=None, gpus: int | None = None, mode="both",
          mtp: bool = True, sla: SLA | None = None, calibration=None, hardware_files=None,
          prefix_hit_rate: float = 0.0) -> Sweep:
    """Evaluate every configuration of ``model`` on ``hardware`` (see the module docstring). Costs are attached by
    :func:`attach_costs`; the frontier by :func:`frontier`."""
    t0 = time.perf_counter()
    m = get_model(model)
    hws = resolve_hardware(hardware, hardware_files)
    isl, osl = _validate_lengths(m, isl, osl)
    ws = resolve_weights(m, weights)
    modes = resolve_modes(mode)
    sla = sla or SLA.make()
    if gpus is not None:
        gpus = require_int("gpus", gpus, minimum=1)
    profile = load_profile(calibration)
    warns: list[str] = []

    # ---- layouts (per hardware, union over the weight precisions of the GPU ladder)
    L_hw, L_tp, L_pp, L_dp, L_ep = [], [], [], [], []
    for h, hw in enumerate(hws):
        for n in gpu_ladder(m, hw, ws, gpus):
            for lay in layouts(m, hw, n, fixed=gpus is not None):
                L_hw.append(h); L_tp.append(lay.tp); L_pp.append(lay.pp); L_dp.append(lay.dp); L_ep.append(lay.ep)
        if gpus is not None and not layouts(m, hw, gpus, fixed=True):
            warns.append(f"{hw.key}: no valid TP/PP/DP layout of {gpus} GPUs for {m.key} "
                         f"({m.max_q_heads} attention heads, scale-up domain {hw.scaleup_domain_size})")
    L_hw = np.asarray(L_hw, dtype=int)
    chunks: list[dict] = []
    evaluated = 0
    variants = mtp_variants(m, mtp)
    kv_ctx = isl + osl
    for wi, w in enumerate(ws):
        kv = prec.default_kv_precision(w)
        if L_hw.size == 0:
            break
        paL = _layout_arrays(hws, w, profile, L_hw, L_tp, L_pp, L_dp, L_ep)
        cap = concurrency_cap(m, w, kv, paL, kv_ctx)
        idx, conc = concurrency_ladder(cap, paL.dp)
        if idx.size == 0:
            continue
        paP = _take(paL, idx)
        layout_cols = {"hw": L_hw[idx], "tp": paP.tp, "pp": paP.pp, "dp": paP.dp, "ep": paP.ep,
                       "gpus": paP.tp * paP.pp * paP.dp}
        pre = None
        if "disagg" in modes:
            pre = _prefill_candidates(m, w, kv, paL, L_hw, isl, prefix_hit_rate)
        for k_mtp, acc in variants:
            if "agg" in modes:
                r = serve(m, w, kv, paP, isl=isl, osl=osl, concurrency=conc, mtp_draft_tokens=k_mtp,
                          mtp_acceptance_length=acc, prefix_hit_rate=prefix_hit_rate)
                evaluated += idx.size
                chunks.append(_agg_columns(r, layout_cols, conc, wi, k_mtp, acc))
            if "disagg" in modes and pre is not None and pre["hw"].size:
                r = serve(m, w, kv, paP, isl=isl, osl=osl, concurrency=conc, mtp_draft_tokens=k_mtp,
                          mtp_acceptance_length=acc, prefix_hit_rate=(isl - 1.0) / isl)
                cols, n_pairs = _disagg_columns(m, kv, r, layout_cols, paP, conc, pre, isl, osl, wi, k_mtp, acc)
                evaluated += n_pairs
                if cols is not None:
                    chunks.append(cols)
    if chunks:
        keys = set.intersection(*(set(ch) for ch in chunks))
        cols = {k: np.concatenate([np.asarray(ch[k]) for ch in chunks]) for k in keys}
    else:
        cols = {k: np.zeros(0) for k in ("hw", "mode", "tpot_ms", "ttft_mean_ms", "total_tokens_per_s_per_gpu",
                                         "tokens_per_s_per_user", "requests_per_s", "q_lam", "q_service_s", "q_servers",
                                         "output_tokens_per_s_per_gpu", "input_tokens_per_s_per_gpu", "e2el_mean_ms")}
        cols["bound"] = np.zeros(0, dtype="<U13")
    for k in _INT_COLS:
        if k in cols:
            cols[k] = cols[k].astype(int)
    _finish_queueing(cols, osl, sla)
    for h, hw in enumerate(hws):
        hm = cols["hw"] == h
        if not np.any(hm & np.isfinite(cols["tpot_ms"]) & (cols["total_tokens_per_s_per_gpu"] > 0)):
            n_txt = f"{gpus} GPUs" if gpus is not None else f"up to {max(gpu_ladder(m, hw, ws)) if L_hw.size else '?'} GPUs"
            warns.append(f"{hw.key}: {m.key} does not fit on {n_txt} at {', '.join(ws)} with ISL+OSL {kv_ctx}")
    sw = Sweep(model=m, isl=isl, osl=osl, hardware=hws, weights=ws, modes=modes, cols=cols, evaluated=int(evaluated),
               elapsed_s=0.0, sla=sla, warnings=warns,
               calibration={hw.key: profile.source_for(hw) for hw in hws})
    sw.elapsed_s = time.perf_counter() - t0
    return sw


def _agg_columns(r: dict, lc: dict, conc, wi: int, k_mtp: int, acc: float) -> dict:
    n = conc.size
    fits = np.asarray(r["fits"], dtype=bool)
    t_pf = np.asarray(r["prefill_ms"], dtype=float) / 1e3
    rho = np.clip(np.asarray(r["prefill_share"], dtype=float), 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        lam = np.where(t_pf > 0, rho / t_pf, 0.0)
    cols = {
        **lc, "mode": np.zeros(n), "weights": np.full(n, wi), "concurrency": np.asarray(r["concurrency"], dtype=float),
        "mtp_draft_tokens": np.full(n, k_mtp), "mtp_acceptance_length": np.full(n, acc if k_mtp else 1.0),
        "ttft_mean_ms": np.where(fits, r["ttft_ms"], np.inf), "tpot_ms": np.where(fits, r["tpot_ms"], np.inf),
        "e2el_mean_ms": np.where(fits, r["e2el_ms"], np.inf),
        "tokens_per_s_per_user": np.where(fits, r["tokens_per_s_per_user"], 0.0),
        "total_tokens_per_s_per_gpu": r["total_tokens_per_s_per_gpu"],
        "output_tokens_per_s_per_gpu": r["output_tokens_per_s_per_gpu"],
        "input_tokens_per_s_per_gpu": r["input_tokens_per_s_per_gpu"],
        "requests_per_s": r["requests_per_s"], "bound": np.asarray(r["bound"]).astype("<U13"),
        # the prefill queue of one DP rank: M/D/1 with service = one request's prefill, at the prefill share
        "q_lam": lam, "q_service_s": np.where(t_pf > 0, t_pf, 1.0), "q_servers": np.ones(n),
    }
    for k in ("p_tp", "p_pp", "p_dp", "p_ep", "p_gpus", "p_replicas", "d_replicas", "d_gpus"):
        cols[k] = np.zeros(n)
    for k in ("p_util", "p_latency_ms", "kv_transfer_ms", "kv_scaleup", "d_concurrency"):
        cols[k] = np.full(n, np.nan)
    return cols


def _prefill_candidates(m: ModelSpec, w: str, kv: str, paL: PointArrays, L_hw, isl: int, prefix_hit_rate: float) -> dict:
    """Prefill layouts per hardware that fit (KV of one ISL), Pareto-pruned on requests/s per GPU vs latency."""
    capP = concurrency_cap(m, w, kv, paL, isl)
    pp_ = prefill_pool(m, w, kv, paL, isl=isl, prefix_hit_rate=prefix_hit_rate)
    gpus = paL.tp * paL.pp * paL.dp
    per_gpu = pp_["replica_rps"] / gpus
    lat = pp_["latency_s"]
    ok = (capP >= 1) & np.isfinite(per_gpu) & (per_gpu > 0)
    keep = np.zeros(L_hw.size, dtype=bool)
    for h in np.unique(L_hw):
        ids = np.flatnonzero((L_hw == h) & ok)
        if not ids.size:
            continue
        pm = pareto_mask(per_gpu[ids], -lat[ids])
        cand = ids[pm]
        cand = cand[np.argsort(lat[cand])]
        if cand.size > DISAGG_PREFILL_CANDIDATES:
            pick = np.unique(np.round(np.linspace(0, cand.size - 1, DISAGG_PREFILL_CANDIDATES)).astype(int))
            cand = cand[pick]
        keep[cand] = True
    sel = np.flatnonzero(keep)
    par = Parallelism(tp=paL.tp[sel], pp=paL.pp[sel], dp=paL.dp[sel], ep=paL.ep[sel])
    return {"hw": L_hw[sel], "tp": paL.tp[sel], "pp": paL.pp[sel], "dp": paL.dp[sel], "ep": paL.ep[sel],
            "gpus": gpus[sel], "replica_rps": pp_["replica_rps"][sel], "rank_service_s": pp_["rank_service_s"][sel],
            "latency_s": lat[sel], "kv_links": np.asarray(kv_shard_factor(m, par), dtype=float) * np.ones(sel.size),
            "comm_eff": np.asarray(paL.cal["comm_efficiency"], dtype=float)[sel] if np.ndim(paL.cal["comm_efficiency"]) else
            np.full(sel.size, float(paL.cal["comm_efficiency"])),
            "scaleup_bw": paL.scaleup_bw[sel], "scaleout_bw": paL.scaleout_bw[sel], "domain": paL.scaleup_domain[sel]}


def _disagg_columns(m: ModelSpec, kv: str, r: dict, lc: dict, paP: PointArrays, conc, pre: dict, isl: int, osl: int,
                    wi: int, k_mtp: int, acc: float):
    """Pair every decode point with the prefill candidates of its hardware and rate-match them."""
    fits = np.asarray(r["fits"], dtype=bool) & np.isfinite(r["tpot_ms"]) & (np.asarray(r["requests_per_s"]) > 0)
    d_ids = np.flatnonzero(fits)
    hw_d = lc["hw"][d_ids]
    # cross product decode x prefill (same hardware) x prefill utilization targets
    di, pi = [], []
    for h in np.unique(hw_d):
        dsel = d_ids[hw_d == h]
        psel = np.flatnonzero(pre["hw"] == h)
        if not psel.size:
            continue
        di.append(np.repeat(dsel, psel.size))
        pi.append(np.tile(psel, dsel.size))
    if not di:
        return None, 0
    di = np.concatenate(di)
    pi = np.concatenate(pi)
    nu = len(DISAGG_PREFILL_UTILIZATIONS)
    di = np.repeat(di, nu)
    pi = np.repeat(pi, nu)
    rho_t = np.tile(np.asarray(DISAGG_PREFILL_UTILIZATIONS, dtype=float), di.size // nu)
    R_d = np.asarray(r["requests_per_s"], dtype=float)[di]
    mu = pre["replica_rps"][pi]
    g_d = lc["gpus"][di]
    g_p = pre["gpus"][pi]
    y = np.arange(1, DISAGG_MAX_DECODE_REPLICAS + 1, dtype=float)[None, :]
    x = np.maximum(1.0, np.ceil(y * (R_d / (rho_t * mu))[:, None] - 1e-9))
    per = (x * g_p[:, None] + y * g_d[:, None]) / y
    best = np.argmin(per, axis=1)
    rows = np.arange(di.size)
    y_b = y[0, best]
    x_b = x[rows, best]
    unit_gpus = x_b * g_p + y_b * g_d
    lam = y_b * R_d
    util = lam / (x_b * mu)
    servers = x_b * pre["dp"][pi]
    svc = pre["rank_service_s"][pi]
    wq = Q.mdc_wait_mean_s(lam, svc, servers)
    inside = unit_gpus <= pre["domain"][pi]
    bw = link_bandwidth(unit_gpus, pre["domain"][pi], pre["scaleup_bw"][pi], pre["scaleout_bw"][pi])
    kv_bytes = float(kv_cache_bytes(m, isl, kv, 1))
    transfer_s = kv_bytes / (bw * pre["comm_eff"][pi] * pre["kv_links"][pi])
    ttft = (wq + pre["latency_s"][pi] + transfer_s) * 1e3
    tpot = np.asarray(r["tpot_ms"], dtype=float)[di]
    total = lam * (isl + osl)
    n = di.size
    cols = {
        "hw": lc["hw"][di], "tp": lc["tp"][di], "pp": lc["pp"][di], "dp": lc["dp"][di], "ep": lc["ep"][di],
        "gpus": unit_gpus, "mode": np.ones(n), "weights": np.full(n, wi),
        "concurrency": y_b * np.asarray(r["concurrency"], dtype=float)[di],
        "mtp_draft_tokens": np.full(n, k_mtp), "mtp_acceptance_length": np.full(n, acc if k_mtp else 1.0),
        "ttft_mean_ms": ttft, "tpot_ms": tpot, "e2el_mean_ms": ttft + (osl - 1.0) * tpot,
        "tokens_per_s_per_user": np.asarray(r["tokens_per_s_per_user"], dtype=float)[di],
        "total_tokens_per_s_per_gpu": total / unit_gpus, "output_tokens_per_s_per_gpu": lam * osl / unit_gpus,
        "input_tokens_per_s_per_gpu": lam * isl / unit_gpus, "requests_per_s": lam,
        "bound": np.asarray(r["bound"]).astype("<U13")[di],
        "q_lam": lam, "q_service_s": svc, "q_servers": servers,
        "p_tp": pre["tp"][pi], "p_pp": pre["pp"][pi], "p_dp": pre["dp"][pi], "p_ep": pre["ep"][pi],
        "p_gpus": g_p, "p_replicas": x_b, "d_replicas": y_b, "d_gpus": g_d, "p_util": util,
        "p_latency_ms": pre["latency_s"][pi] * 1e3, "kv_transfer_ms": transfer_s * 1e3,
        "kv_scaleup": inside.astype(float), "d_concurrency": np.asarray(r["concurrency"], dtype=float)[di],
    }
    # several (prefill layout, utilization) pairs may rate-match to the same unit: drop exact duplicates
    return cols, int(n)


def layout_text(cfg: dict) -> str:
    """``TP8 PP2 DP4 EP32``, or ``P 3x[TP1] + D 7x[TP8]`` for a disaggregated unit (for tables and messages)."""
    def lay(c):
        s = f"TP{c['tp']}"
        if c["pp"] > 1:
            s += f" PP{c['pp']}"
        if c["dp"] > 1:
            s += f" DP{c['dp']}"
        if c["ep"] > 1:
            s += f" EP{c['ep']}"
        return s

    if cfg.get("mode") == "disagg":
        p, d = cfg["prefill"], cfg["decode"]
        return f"P {p['replicas']}x[{lay(p)}] + D {d['replicas']}x[{lay(d)}]"
    return lay(cfg)


# ----------------------------------------------------------------------------------------------- explain infeasible SLA
_LIMITS = (
    ("ttft_max_ms", "ttft_ms", "TTFT", "ms", np.less_equal, np.nanmin),
    ("tpot_max_ms", "tpot_ms", "TPOT", "ms", np.less_equal, np.nanmin),
    ("e2el_max_ms", "e2el_ms", "E2E latency", "ms", np.less_equal, np.nanmin),
    ("min_interactivity", "tokens_per_s_per_user", "interactivity", "tok/s/user", np.greater_equal, np.nanmax),
)


def explain_infeasible(sw: Sweep, sla: SLA | None = None) -> TokenfabError:
    """A clear error for an SLA nobody meets: which limit binds and the best achievable value of it."""
    sla = sla or sw.sla
    valid = sw.valid
    hw_list = ", ".join(h.key for h in sw.hardware)
    if not valid.any():
        return TokenfabError(
            f"{sw.model.key} does not fit on any evaluated configuration of {hw_list} "
            f"(weights {', '.join(sw.weights)}, ISL+OSL {sw.isl + sw.osl})", field="hardware",
            hint="use more GPUs (--gpus), a narrower --weights precision, or hardware with more memory")
    c = sw.cols
    active = [lim for lim in _LIMITS if getattr(sla, lim[0]) is not None]
    passes = {lim[0]: valid & lim[4](c[lim[1]], getattr(sla, lim[0])) for lim in active}
    pct = sla.label
    for name, col, label, unit, cmp, best_fn in active:
        others = valid.copy()
        for o in active:
            if o[0] != name:
                others &= passes[o[0]]
        pool = others if others.any() else valid
        if passes[name][pool].any():
            continue
        vals = np.where(pool, c[col], np.nan)
        best = float(best_fn(vals))
        near = np.flatnonzero(np.abs(vals - best) <= 1e-3 * abs(best))  # of the (near-)ties, the fewest GPUs
        i = int(near[np.argmin(c["gpus"][near])])
        cfg = sw.config(i)
        where = f"{sw.hw_key(i)} {cfg['mode']} {cfg['gpus']} GPUs {layout_text(cfg)}"
        limit = getattr(sla, name)
        qual = f" {pct}" if name in ("ttft_max_ms", "e2el_max_ms") else ""
        op = ">=" if cmp is np.greater_equal else "<="
        also = " while meeting the other limits" if others.any() and len(active) > 1 else ""
        gap = abs(best - limit)
        return TokenfabError(
            f"no configuration meets the SLA: the binding limit is {label}{qual} {op} {limit:g} {unit}; the best "
            f"achievable{qual} {label}{also} is {best:.4g} {unit}, {gap:.4g} {unit} ({gap / limit:.0%}) "
            f"{'below' if op == '>=' else 'over'} the limit ({where})",
            field=name, expected=f"{'<=' if op == '>=' else '>='} {best:.4g}", got=limit)
    return TokenfabError("no configuration meets all SLA limits together", field="sla", got=sla.to_dict())


# ----------------------------------------------------------------------------------------------- frontier + tiers
@dataclass
class FrontierResult:
    sweep: Sweep
    frontier_idx: np.ndarray  # indices into sweep, all (hardware, mode) frontiers, sorted
    target_interactivity: float
    goldilocks_interactivity: float
    elapsed_s: float
    preset: str | None = None
    usd_per_gpu_hour_override: float | None = None
    target_given: bool = False  # the caller named a target interactivity (else the goldilocks default is used)

    # ---- derived views
    def points(self) -> list[dict]:
        return [self.sweep.point(int(i)) for i in self.frontier_idx]

    def groups(self) -> list[tuple[str, str, np.ndarray]]:
        """(hardware, mode, frontier indices sorted by interactivity) per (hardware, mode) that has a frontier."""
        c = self.sweep.cols
        out = []
        for h, hw in enumerate(self.sweep.hardware):
            for mi, mname in enumerate(MODES):
                ids = self.frontier_idx[(c["hw"][self.frontier_idx] == h) & (c["mode"][self.frontier_idx] == mi)]
                if ids.size:
                    out.append((hw.key, mname, ids[np.argsort(c["tokens_per_s_per_user"][ids])]))
        return out

    def tiers(self, ids: np.ndarray | None = None) -> dict:
        return token_tiers(self.sweep, self.frontier_idx if ids is None else ids, self.goldilocks_interactivity)

    def at_target(self) -> dict:
        sw = self.sweep
        c = sw.cols
        U = self.target_interactivity
        rows = []
        for hw_key, mname, ids in self.groups():
            x = c["tokens_per_s_per_user"][ids]
            y = c["total_tokens_per_s_per_gpu"][ids]
            row = {"hardware": hw_key, "mode": mname, "target_interactivity": U}
            if U > x[-1] * (1 + 1e-12):
                row.update({"achievable": False, "max_interactivity": float(x[-1]), "total_tokens_per_s_per_gpu": None,
                            "note": f"the frontier reaches {x[-1]:.1f} tok/s/user at most"})
            else:
                clamped = U < x[0]
                val = float(y[0]) if clamped else float(steffen_interpolate(x, y, U))
                row.update({"achievable": True, "clamped": bool(clamped), "total_tokens_per_s_per_gpu": val})
                if clamped:
                    row["note"] = (f"below the frontier's lowest interactivity ({x[0]:.1f} tok/s/user): the "
                                   f"max-throughput point already serves faster than the target")
            tot = row["total_tokens_per_s_per_gpu"]
            cost = sw.costs.get(hw_key) or {}
            usd = cost.get("usd_per_gpu_hour")
            kw = cost.get("kw_per_gpu_all_in")
            frac_out = sw.osl / (sw.isl + sw.osl)
            if tot:
                row["output_tokens_per_s_per_gpu"] = tot * frac_out
                row["input_tokens_per_s_per_gpu"] = tot * (1 - frac_out)
            for key, share in (("usd_per_mtok_total", 1.0), ("usd_per_mtok_input", 1 - frac_out),
                               ("usd_per_mtok_output", frac_out)):
                row[key] = float(costmod.usd_per_mtok(usd, tot * share)) if (tot and usd is not None) else None
            row["tokens_per_s_per_mw"] = float(costmod.tokens_per_s_per_mw(tot, kw)) if (tot and kw) else None
            rows.append(row)
        priced = [r for r in rows if r.get("usd_per_mtok_total") is not None]
        cheapest = min(priced, key=lambda r: r["usd_per_mtok_total"]) if priced else None
        return {"target_interactivity": U, "method": "Steffen monotone cubic along each (hardware, mode) frontier",
                "results": rows, "cheapest": cheapest}

    def best(self) -> dict | None:
        sw = self.sweep
        c = sw.cols
        ids = self.frontier_idx
        if not ids.size:
            return None
        crit = "lowest usd_per_mtok_total among points meeting the SLA"
        if self.target_given:
            sel = ids[c["tokens_per_s_per_user"][ids] >= self.target_interactivity]
            crit += f" with at least {self.target_interactivity:g} tok/s/user"
            if not sel.size:
                return None
            ids = sel
        i = cheapest_point(sw, ids)
        if not np.isfinite(c["usd_per_mtok_total"][ids]).any():
            crit = crit.replace("lowest usd_per_mtok_total", "highest total tokens/s per GPU (no cost known)")
        crit += f" (within {TIER_COST_TOLERANCE:.0%}: the fewest GPUs per replica)"
        p = sw.point(int(i))
        p["criterion"] = crit
        return p

    def by_hardware(self) -> dict:
        sw = self.sweep
        c = sw.cols
        out = {}
        for h, hw in enumerate(sw.hardware):
            ids = self.frontier_idx[c["hw"][self.frontier_idx] == h]
            n_eval = int(np.sum(c["hw"] == h))
            entry = {"frontier_points": int(ids.size), "configurations": n_eval,
                     "feasible": int(np.sum((c["hw"] == h) & sw.sla_mask())), "cost": sw.costs.get(hw.key)}
            if ids.size:
                entry["tiers"] = token_tiers(sw, ids, self.goldilocks_interactivity)
            out[hw.key] = entry
        return out

    def to_dict(self) -> dict:
        sw = self.sweep
        return {
            "model": sw.model.key, "isl": sw.isl, "osl": sw.osl, "weights": list(sw.weights),
            "kv": [prec.default_kv_precision(w) for w in sw.weights], "modes": list(sw.modes),
            "sla": sw.sla.to_dict(), "preset": self.preset or tcomod.DEFAULT_PRESET,
            "usd_per_gpu_hour_override": self.usd_per_gpu_hour_override,
            "points": self.points(), "best": self.best(), "tiers": self.tiers(), "at_target": self.at_target(),
            "hardware": self.by_hardware(), "evaluated": sw.evaluated, "elapsed_s": self.elapsed_s,
            "configurations_per_s": sw.evaluated / self.elapsed_s if self.elapsed_s > 0 else None,
            "warnings": list(sw.warnings), "definitions": dict(DEFINITIONS),
            "calibration": dict(sw.calibration),
            "assumptions": {
                "mtp_acceptance_rate": MTP_ACCEPTANCE_RATE, "goldilocks_interactivity": self.goldilocks_interactivity,
                "disagg_prefill_utilizations": list(DISAGG_PREFILL_UTILIZATIONS), "max_pp": MAX_PP,
                "queueing": "M/D/c prefill queue, Poisson arrivals at each point's throughput (docs/search.md)",
                "usd_per_gpu_hour": "per busy GPU-hour (tco.usd_per_gpu_hour: wall-clock / utilization)",
            },
        }


def _fewest_gpus_near(sw: Sweep, sel: np.ndarray, value: np.ndarray, rel_tol: float) -> int:
    """Of the rows ``sel`` whose ``value`` (higher is better) is within ``rel_tol`` of the best, the one with the fewest
    GPUs per replica (per x:y unit when disaggregated); ties on GPUs go to the best value."""
    v = np.where(np.isfinite(value), value, -np.inf)
    top = v.max()
    near = np.flatnonzero(v >= top - rel_tol * abs(top))
    g = sw.cols["gpus"][sel[near]]
    k = near[np.lexsort((-v[near], g))[0]]
    return int(sel[k])


def cheapest_point(sw: Sweep, sel, rel_tol: float = TIER_COST_TOLERANCE) -> int | None:
    """The cheapest of the rows ``sel`` ($/M total tokens; the highest total tokens/s per GPU when no cost is known),
    near-ties (within ``rel_tol``) going to the fewest GPUs per replica."""
    sel = np.asarray(sel, dtype=int)
    if not sel.size:
        return None
    c = sw.cols
    cost = c["usd_per_mtok_total"][sel]
    if np.isfinite(cost).any():
        return _fewest_gpus_near(sw, sel, -cost, rel_tol)
    return _fewest_gpus_near(sw, sel, c["total_tokens_per_s_per_gpu"][sel], rel_tol)


def most_interactive_point(sw: Sweep, sel, rel_tol: float = TIER_INTERACTIVITY_TOLERANCE) -> int | None:
    """The highest tokens/s per user of the rows ``sel``, near-ties (within ``rel_tol``) going to the fewest GPUs per
    replica (then the highest tokens/s per user, then the cheapest)."""
    sel = np.asarray(sel, dtype=int)
    if not sel.size:
        return None
    c = sw.cols
    xi = c["tokens_per_s_per_user"][sel]
    near = sel[xi >= xi.max() * (1 - rel_tol)]
    g = c["gpus"][near]
    near = near[g == g.min()]
    cost = np.nan_to_num(c["usd_per_mtok_total"][near], nan=np.inf)
    return int(near[np.lexsort((cost, -c["tokens_per_s_per_user"][near]))[0]])


def token_tiers(sw: Sweep, ids: np.ndarray, goldilocks_interactivity: float = GOLDILOCKS_INTERACTIVITY) -> dict:
    """bulk: the cheapest point ($/M total; max throughput per GPU when no cost is known); goldilocks: the cheapest
    point with at least ``goldilocks_interactivity`` tok/s/user; premium: the highest interactivity. Near-ties go to
    the fewest GPUs per replica (:func:`cheapest_point`, :func:`most_interactive_point`: within
    TIER_COST_TOLERANCE of the lowest cost, TIER_INTERACTIVITY_TOLERANCE of the highest interactivity)."""
    c = sw.cols
    ids = np.asarray(ids, dtype=int)
    near = (f"; within {TIER_COST_TOLERANCE:.0%} of the lowest cost, the fewest GPUs per replica")
    out: dict = {"goldilocks_interactivity": goldilocks_interactivity,
                 "definitions": {"bulk": "cheapest $/M total tokens (max throughput)" + near,
                                 "goldilocks": f"cheapest point with >= {goldilocks_interactivity:g} tok/s/user" + near,
                                 "premium": f"highest tokens/s per user; within {TIER_INTERACTIVITY_TOLERANCE:.0%} "
                                            "of it, the fewest GPUs per replica, then the cheapest"}}
    if not ids.size:
        return {**out, "bulk": None, "goldilocks": None, "premium": None}
    b = cheapest_point(sw, ids)
    g = cheapest_point(sw, ids[c["tokens_per_s_per_user"][ids] >= goldilocks_interactivity])
    p = most_interactive_point(sw, ids)
    out["bulk"] = sw.point(b) if b is not None else None
    out["goldilocks"] = sw.point(g) if g is not None else None
    out["premium"] = sw.point(p) if p is not None else None
    if g is None:
        out["goldilocks_note"] = f"no point reaches {goldilocks_interactivity:g} tok/s/user"
    return out


def frontier_indices(sw: Sweep, mask: np.ndarray | None = None) -> np.ndarray:
    """Indices of the Pareto-optimal points per (hardware, mode) among ``mask`` (default: points meeting the SLA)."""
    c = sw.cols
    m = sw.sla_mask() if mask is None else mask
    out = []
    for h in range(len(sw.hardware)):
        for mi in range(len(MODES)):
            ids = np.flatnonzero(m & (c["hw"] == h) & (c["mode"] == mi))
            if not ids.size:
                continue
            keep = pareto_mask(c["tokens_per_s_per_user"][ids], c["total_tokens_per_s_per_gpu"][ids])
            sel = ids[keep]
            out.append(sel[np.argsort(c["tokens_per_s_per_user"][sel])])
    return np.concatenate(out) if out else np.zeros(0, dtype=int)


def frontier(model, hardware, *, isl: int = 1024, osl: int = 1024, weights=None, gpus: int | None = None,
             mode="both", ttft_max_ms=None, tpot_max_ms=None, e2el_max_ms=None, percentile=None,
             min_interactivity=None, target_interactivity=None, preset=None, usd_per_gpu_hour=None, calibration=None,
             hardware_files=None, mtp: bool = True, goldilocks_interactivity: float = GOLDILOCKS_INTERACTIVITY,
             prefix_hit_rate: float = 0.0, raise_if_empty: bool = True) -> FrontierResult:
    """The Pareto frontiers of ``model`` on each hardware (Python API of `tokenfab frontier`).

    Raises a TokenfabError naming the binding limit when no configuration meets the SLA."""
    t0 = time.perf_counter()
    sla = SLA.make(ttft_max_ms=ttft_max_ms, tpot_max_ms=tpot_max_ms, e2el_max_ms=e2el_max_ms,
                   min_interactivity=min_interactivity, percentile=percentile)
    if target_interactivity is not None:
        require_positive("target_interactivity", target_interactivity)
    require_positive("goldilocks_interactivity", goldilocks_interactivity)
    hws = resolve_hardware(hardware, hardware_files)
    costs, cwarn = _cost_table(hws, preset, usd_per_gpu_hour, hardware_files)
    sw = sweep(model, hws, isl=isl, osl=osl, weights=weights, gpus=gpus, mode=mode, mtp=mtp, sla=sla,
               calibration=calibration, hardware_files=hardware_files, prefix_hit_rate=prefix_hit_rate)
    sw.warnings.extend(cwarn)
    attach_costs(sw, costs)
    ids = frontier_indices(sw)
    if raise_if_empty and not ids.size:
        raise explain_infeasible(sw)
    res = FrontierResult(sweep=sw, frontier_idx=ids,
                         target_interactivity=float(target_interactivity or goldilocks_interactivity),
                         goldilocks_interactivity=float(goldilocks_interactivity),
                         elapsed_s=time.perf_counter() - t0, preset=preset, usd_per_gpu_hour_override=usd_per_gpu_hour,
                         target_given=target_interactivity is not None)
    return res


__all__ = [
    "MODES", "MTP_ACCEPTANCE_RATE", "GOLDILOCKS_INTERACTIVITY", "SLA", "Sweep", "FrontierResult", "Layout",
    "gpu_ladder", "layouts", "concurrency_ladder", "prefill_pool", "pareto_mask", "steffen_interpolate",
    "steffen_slopes", "sweep", "attach_costs", "frontier_indices", "frontier", "token_tiers", "explain_infeasible",
    "cheapest_point", "most_interactive_point", "TIER_COST_TOLERANCE", "TIER_INTERACTIVITY_TOLERANCE",
    "mtp_acceptance_length", "mtp_variants", "resolve_hardware", "resolve_weights", "resolve_modes", "layout_text",
]
