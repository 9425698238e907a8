"""Serving model: aggregated continuous batching on top of the roofline (roofline.py), NumPy-vectorized.

For a deployment of ``gpus = TP x PP x DP`` chips serving ``concurrency`` requests of ISL input and OSL output tokens:

- decode pass: every running sequence of a DP rank advances one token (``1 + draft`` rows with speculative decoding /
  MTP); with PP the batch is split into PP micro-batches in flight, so a token's pass time is the whole model's time
  at the micro-batch size;
- prefill work: new input tokens (ISL x (1 - prefix-cache hit rate)) are processed in chunks of
  ``MAX_BATCH_TOKENS`` mixed with decode (chunked prefill); a request's share of a chunk's time is its prefill work;
- closed loop (a fixed concurrency): per replica, ``1 = R x (OSL x t_pass / (B x accepted)) + R x t_prefill_work``
  gives the completion rate R; decode is slowed by the share of time spent on prefill, so
  ``TPOT = t_pass / accepted / (1 - rho_prefill)``;
- TTFT = half a decode pass (arrival mid-step) + the wait for prefills scheduled ahead (M/D/1 on the prefill share)
  + the request's own prefill pass;
- open loop (a request rate): the decode batch solves Little's law ``B = rate x E2E`` by fixed-point iteration.

Concurrency is capped by KV-cache memory (memory.max_sequences) and by ``MAX_BATCH_SIZE``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass, field
from typing import Sequence

import numpy as np

from tokenfab.catalog import precision as prec
from tokenfab.catalog.calibration import PARAM_NAMES, CalibrationProfile, PerfParams, load_profile
from tokenfab.catalog.hardware import HardwareSpec, get_hardware
from tokenfab.catalog.models import ModelSpec, get_model, kv_cache_bytes
from tokenfab.core import units
from tokenfab.core.errors import TokenfabError, require_int
from tokenfab.core.inputs import check_serving_request
from tokenfab.perf.memory import (
    MAX_BATCH_TOKENS,
    RUNTIME_OVERHEAD_FRACTION,
    SRAM_MAX_BATCH_TOKENS,
    Parallelism,
    activation_bytes_per_gpu,
    auto_parallelism,
    fit,
    kv_shard_factor,
    max_sequences,
    resolve_parallelism,
    sram_layout,
    weight_bytes_per_gpu,
)
from tokenfab.perf.roofline import OP_CLASSES, bound_label, forward_time

# TensorRT-LLM's default maximum batch size (trtllm-bench / TRT-LLM build default max_batch_size=2048) caps
# concurrency per replica even when KV memory would allow more.
MAX_BATCH_SIZE = 2048


@dataclass(frozen=True)
class PointArrays:
    """Flat arrays (one element per configuration) of everything hardware- and config-specific."""

    peak_flops_per_s: np.ndarray
    bandwidth_bytes_per_s: np.ndarray
    scaleup_bw: np.ndarray
    scaleout_bw: np.ndarray
    scaleup_domain: np.ndarray
    capacity_bytes: np.ndarray
    overhead_fraction: np.ndarray
    tp: np.ndarray
    pp: np.ndarray
    dp: np.ndarray
    ep: np.ndarray
    cal: dict  # name -> array
    max_batch_tokens: np.ndarray | float = MAX_BATCH_TOKENS  # activation workspace sizing


def hardware_arrays(
    hws: Sequence[HardwareSpec], weights: str, profile: CalibrationProfile, tp, pp, dp, ep, *, warn: bool = False
) -> PointArrays:
    """Stack per-point hardware figures and calibration parameters (``hws[i]`` belongs to point i)."""
    peak, bw, su, so, dom, cap, ovh, mbt = [], [], [], [], [], [], [], []
    cal = {k: [] for k in PARAM_NAMES}
    cache = {}
    for hw in hws:
        if hw.key not in cache:
            cf = prec.compute_format(weights, hw.peak_flops_per_s)
            if warn and cf.warning:
                warnings.warn(f"{hw.key}: {cf.warning}", stacklevel=3)
            pr = profile.params_for(hw)
            cache[hw.key] = (
                hw.peak_flops_per_s[cf.used],
                hw.memory_bandwidth_bytes_per_s,
                hw.scaleup_bandwidth_bytes_per_s,
                hw.scaleout_bandwidth_bytes_per_s,
                hw.scaleup_domain_size,
                hw.weight_memory_bytes,
                0.0 if hw.kind == "sram" else RUNTIME_OVERHEAD_FRACTION,
                pr,
            )
        p_, b_, su_, so_, d_, c_, o_, pr = cache[hw.key]
        peak.append(p_)
        bw.append(b_)
        su.append(su_)
        so.append(so_)
        dom.append(d_)
        cap.append(c_)
        ovh.append(o_)
        mbt.append(SRAM_MAX_BATCH_TOKENS if hw.kind == "sram" else MAX_BATCH_TOKENS)
        for k in PARAM_NAMES:
            cal[k].append(getattr(pr, k))
    f = lambda x: np.asarray(x, dtype=float)  # noqa: E731
    return PointArrays(
        f(peak),
        f(bw),
        f(su),
        f(so),
        f(dom),
        f(cap),
        f(ovh),
        f(tp),
        f(pp),
        f(dp),
        f(ep),
        {k: f(v) for k, v in cal.items()},
        f(mbt),
    )


def concurrency_cap(model: ModelSpec, weights: str, kv: str, pa: PointArrays, context_tokens) -> np.ndarray:
    """Largest total concurrency that fits in memory (all DP replicas), capped by MAX_BATCH_SIZE per replica."""
    par = Parallelism(tp=pa.tp, pp=pa.pp, dp=pa.dp, ep=pa.ep)
    n = max_sequences(
        model,
        weights,
        kv,
        par,
        context_tokens,
        capacity_bytes=pa.capacity_bytes,
        runtime_overhead_fraction=pa.overhead_fraction,
        max_batch_tokens=pa.max_batch_tokens,
    )
    return np.minimum(n, MAX_BATCH_SIZE * pa.dp)


def _passes(model, weights, kv, pa: PointArrays, *, isl, osl, batch_per_rank, draft_tokens, prefix_hit):
    """Decode pass time at a batch, prefill work per request, single-request prefill latency."""
    ctx_dec = isl + osl / 2.0
    micro = np.maximum(batch_per_rank / pa.pp, 1e-9)
    common = dict(
        peak_flops_per_s=pa.peak_flops_per_s,
        bandwidth_bytes_per_s=pa.bandwidth_bytes_per_s,
        scaleup_bw=pa.scaleup_bw,
        scaleout_bw=pa.scaleout_bw,
        scaleup_domain=pa.scaleup_domain,
        tp=pa.tp,
        pp=pa.pp,
        dp=pa.dp,
        ep=pa.ep,
        cal=pa.cal,
    )
    t_dec, br_dec, bounds = forward_time(
        model,
        weights,
        kv,
        new_tokens=micro * (1 + draft_tokens),
        sequences=micro,
        context=ctx_dec,
        phase="decode",
        **common,
    )
    if draft_tokens:
        # MTP / draft head: roughly one extra decoder layer per drafted token
        t_dec = t_dec + draft_tokens * (t_dec - br_dec["lm_head"] - br_dec["overhead"]) / model.num_layers
    cached = isl * prefix_hit
    new = np.maximum(isl - cached, 1.0)
    chunk = np.maximum(np.minimum(MAX_BATCH_TOKENS, np.maximum(new, batch_per_rank * new)), new)
    seqs_in_chunk = chunk / new
    t_chunk, br_pf, _ = forward_time(
        model,
        weights,
        kv,
        new_tokens=chunk,
        sequences=seqs_in_chunk,
        context=cached,
        phase="prefill",
        sampled_tokens=seqs_in_chunk,
        **common,
    )
    # pipelined chunks: each stage is busy 1/PP of a chunk's latency
    t_pf_work = t_chunk / seqs_in_chunk / pa.pp
    t_pf_single, _, _ = forward_time(
        model, weights, kv, new_tokens=new, sequences=1.0, context=cached, phase="prefill", sampled_tokens=1.0, **common
    )
    return t_dec, br_dec, bounds, t_pf_work, t_pf_single


def serve(
    model: ModelSpec,
    weights: str,
    kv: str,
    pa: PointArrays,
    *,
    isl,
    osl,
    concurrency=None,
    rate_rps=None,
    mtp_draft_tokens: int = 0,
    mtp_acceptance_length: float = 1.0,
    prefix_hit_rate: float = 0.0,
    iterations: int = 40,
) -> dict:
    """Closed loop at ``concurrency`` (total, or ``None`` for the memory cap = max throughput), or open loop at
    ``rate_rps`` (total requests/s). Returns a dict of arrays (one element per point)."""
    isl = float(isl)
    osl = float(osl)
    accept = float(mtp_acceptance_length) if mtp_draft_tokens else 1.0
    cap = concurrency_cap(model, weights, kv, pa, isl + osl)
    gpus = pa.tp * pa.pp * pa.dp

    if rate_rps is None:
        conc = cap if concurrency is None else np.minimum(np.asarray(concurrency, dtype=float), np.maximum(cap, 0))
        conc = np.broadcast_to(conc, cap.shape).astype(float)
        B = np.maximum(conc / pa.dp, 1e-9)
        t_dec, br, bounds, t_pf_work, t_pf_single = _passes(
            model,
            weights,
            kv,
            pa,
            isl=isl,
            osl=osl,
            batch_per_rank=B,
            draft_tokens=mtp_draft_tokens,
            prefix_hit=prefix_hit_rate,
        )
        R = 1.0 / (osl * t_dec / (B * accept) + t_pf_work)  # completions per second per replica
        rho = np.clip(R * t_pf_work, 0.0, 0.999)
        tpot = t_dec / accept / (1.0 - rho)
        ttft = 0.5 * t_dec + rho / (2.0 * (1.0 - rho)) * t_pf_single + t_pf_single
        out_tps = R * osl * pa.dp
    else:
        lam = float(rate_rps) / pa.dp  # per replica
        B = np.ones_like(cap)
        for _ in range(iterations):
            t_dec, br, bounds, t_pf_work, t_pf_single = _passes(
                model,
                weights,
                kv,
                pa,
                isl=isl,
                osl=osl,
                batch_per_rank=B,
                draft_tokens=mtp_draft_tokens,
                prefix_hit=prefix_hit_rate,
            )
            rho = lam * t_pf_work
            rho_c = np.clip(rho, 0.0, 0.999)
            tpot = t_dec / accept / (1.0 - rho_c)
            ttft = 0.5 * t_dec + rho_c / (2.0 * (1.0 - rho_c)) * t_pf_single + t_pf_single
            e2e = ttft + (osl - 1.0) * tpot
            B = 0.5 * B + 0.5 * np.clip(lam * e2e, 1.0, np.maximum(cap / pa.dp, 1.0))
        overloaded = (rho >= 1.0) | (lam * e2e > cap / pa.dp * 1.001)
        conc = B * pa.dp
        out_tps = lam * osl * pa.dp
        if np.any(overloaded):
            # past saturation the deployment runs at its memory-capped batch: throughput saturates at the closed-loop
            # maximum, and the queue (hence TTFT) grows without bound
            sat = serve(
                model,
                weights,
                kv,
                pa,
                isl=isl,
                osl=osl,
                concurrency=None,
                mtp_draft_tokens=mtp_draft_tokens,
                mtp_acceptance_length=mtp_acceptance_length,
                prefix_hit_rate=prefix_hit_rate,
            )
            out_tps = np.where(overloaded, np.minimum(sat["output_tokens_per_s"], out_tps), out_tps)
            tpot = np.where(overloaded, sat["tpot_ms"] / 1e3, tpot)
            ttft = np.where(overloaded, np.inf, ttft)
            conc = np.where(overloaded, sat["concurrency"], conc)
            t_dec = np.where(overloaded, sat["decode_step_ms"] / 1e3, t_dec)
    fits = cap >= 1
    out_tps = np.where(fits, out_tps, 0.0)
    total_tps = out_tps * (isl + osl) / osl
    e2e = ttft + (osl - 1.0) * tpot
    res = {
        "ttft_ms": np.where(fits, ttft * 1e3, np.inf),
        "tpot_ms": np.where(fits, tpot * 1e3, np.inf),
        "e2el_ms": np.where(fits, e2e * 1e3, np.inf),
        "tokens_per_s_per_user": np.where(fits, 1.0 / tpot, 0.0),
        "output_tokens_per_s": out_tps,
        "input_tokens_per_s": out_tps * isl / osl,
        "total_tokens_per_s": total_tps,
        "output_tokens_per_s_per_gpu": out_tps / gpus,
        "input_tokens_per_s_per_gpu": out_tps * isl / osl / gpus,
        "total_tokens_per_s_per_gpu": total_tps / gpus,
        "requests_per_s": out_tps / osl,
        "concurrency": np.where(fits, conc, 0.0),
        "concurrency_cap": cap,
        "fits": fits,
        "decode_step_ms": t_dec * 1e3,
        "prefill_ms": t_pf_single * 1e3,
        "prefill_share": rho,
        "bound": bound_label(bounds),
        "overloaded": overloaded if rate_rps is not None else np.zeros(cap.shape, dtype=bool),
        "breakdown_ms": {k: np.broadcast_to(v, cap.shape) * 1e3 for k, v in br.items()},
        "gpus": gpus,
    }
    return res


# ----------------------------------------------------------------------------------------------- single estimate
@dataclass
class Estimate:
    model: str
    hardware: str
    gpus: int
    tp: int
    pp: int
    dp: int
    ep: int
    weights: str
    kv: str
    compute_precision: str
    isl: int
    osl: int
    ttft_ms: float
    tpot_ms: float
    e2el_ms: float
    tokens_per_s_per_user: float
    output_tokens_per_s: float
    input_tokens_per_s: float
    total_tokens_per_s: float
    output_tokens_per_s_per_gpu: float
    input_tokens_per_s_per_gpu: float
    total_tokens_per_s_per_gpu: float
    requests_per_s: float
    concurrency: float
    concurrency_cap: float
    memory_per_gpu_gib: float
    fits: bool
    bound: str
    breakdown: dict  # operator class -> ms of one decode step
    decode_step_ms: float
    prefill_ms: float
    calibration: str
    mtp_draft_tokens: int = 0
    mtp_acceptance_length: float = 1.0
    prefix_hit_rate: float = 0.0
    warnings: list = field(default_factory=list)
    definitions: dict = field(default_factory=lambda: dict(DEFINITIONS))
    max_sustainable_rate_rps: float | None = None  # set when an open-loop rate overloads the deployment

    @property
    def overloaded(self) -> bool:
        return self.max_sustainable_rate_rps is not None

    @property
    def overload_message(self) -> str:
        return next((w for w in self.warnings if w.startswith("overloaded")), "")

    def to_dict(self) -> dict:
        return {**asdict(self), "overloaded": self.overloaded}


def max_sustainable_rate_rps(closed_loop: dict, osl) -> float:
    """The highest open-loop request rate a deployment sustains: its closed-loop maximum output throughput (serve()
    at concurrency None, the KV-cache cap) divided by OSL."""
    return float(np.asarray(closed_loop["output_tokens_per_s"], dtype=float).ravel()[0]) / float(osl)


def overload_text(rate_rps, max_rps) -> str:
    return (
        f"overloaded at this rate ({float(rate_rps):,.4g} requests/s): the max sustainable rate is "
        f"{max_rps:,.4g} requests/s (closed-loop maximum throughput / OSL); the queue and TTFT grow without bound"
    )


DEFINITIONS = {
    "ttft_ms": "time to first token: queueing for prefill + prefill of the request (ms)",
    "tpot_ms": "time per output token after the first, incl. prefill interference (ms); 1000/tpot = tokens/s per user",
    "total_tokens_per_s_per_gpu": "(input + output) tokens/s over all GPUs of the deployment (InferenceX's tput_per_gpu)",
    "output_tokens_per_s_per_gpu": "output tokens/s over all GPUs (aiconfigurator/MLPerf convention)",
    "breakdown": "time of one decode pass by operator class (ms)",
    "bound": "what dominates a decode pass: compute, memory, communication or overhead",
    "memory_per_gpu_gib": "weights + KV of the running batch + activations + runtime reserve on one GPU (GiB = 2^30 B)",
}


def _validate_common(m: ModelSpec, hw: HardwareSpec, isl, osl, weights, kv):
    require_int("isl", isl, minimum=1)
    require_int("osl", osl, minimum=1)
    w = prec.normalize(weights or m.native_weights, field="weights")
    kvp = prec.normalize(kv or prec.default_kv_precision(w), field="kv", allowed=prec.KV_PRECISIONS)
    if m.max_position_embeddings and isl + osl > m.max_position_embeddings:
        raise TokenfabError(
            f"ISL + OSL exceeds {m.key}'s maximum context of {m.max_position_embeddings}",
            field="isl",
            expected=f"isl + osl <= {m.max_position_embeddings}",
            got=isl + osl,
        )
    return w, kvp


def _auto_layout(
    m: ModelSpec, hw, weights: str, kv: str, users: int, context: int
) -> tuple[int, int | None, int | None]:
    """The smallest usual layout that holds the weights and ``users`` sequences of ``context`` tokens: from the chip
    count `fit` computes (capacity / bytes), stepping up until serve()'s own per-chip memory check (layer granularity
    of the pipeline, per-stage activations) holds the sequences.
    SRAM chips fill whole nodes (TP within a node, a pipeline of nodes); HBM chips use memory.auto_parallelism."""
    need = fit(m, hw, weights=weights, kv=kv, users=users, context=context).chips_needed
    step = hw.chips_per_node if hw.kind == "sram" else 1
    need = -(-need // step) * step
    for _ in range(64):
        if hw.kind == "sram":
            gpus = need
            tp, pp = sram_layout(gpus, hw.chips_per_node, m.num_layers)
        else:
            gpus, tp, pp = auto_parallelism(m, need, hw.chips_per_node)
        if pp > m.num_layers:
            break
        pa = hardware_arrays([hw], weights, CalibrationProfile(default=PerfParams()), [tp], [pp], [1], [1])
        if float(concurrency_cap(m, weights, kv, pa, context)[0]) >= users:  # the same memory check serve() makes
            break
        need = gpus + step
    return gpus, tp, pp


def estimate(
    model,
    hardware,
    gpus: int | None = None,
    tp: int | None = None,
    pp: int | None = None,
    ep: int | None = None,
    dp: int | None = None,
    weights: str | None = None,
    kv: str | None = None,
    isl: int = 1024,
    osl: int = 1024,
    concurrency: int | str | None = None,
    rate_rps: float | None = None,
    mtp_draft_tokens: int = 0,
    mtp_acceptance_length: float | None = None,
    prefix_hit_rate: float = 0.0,
    calibration=None,
    hardware_files=None,
) -> Estimate:
    """TTFT, TPOT and throughput of ``model`` on ``gpus`` chips of ``hardware`` (Python API of `tokenfab estimate`).
    ``concurrency`` (a number, or ``'max'``/None: the largest that fits) or ``rate_rps`` (open loop), not both; an
    open-loop rate the deployment cannot sustain returns ``overloaded=True`` with ``max_sustainable_rate_rps``."""
    v = check_serving_request(
        isl=isl,
        osl=osl,
        concurrency=concurrency,
        rate_rps=rate_rps,
        gpus=gpus,
        tp=tp,
        pp=pp,
        dp=dp,
        ep=ep,
        mtp_draft_tokens=mtp_draft_tokens,
        mtp_acceptance_length=mtp_acceptance_length,
        prefix_hit_rate=prefix_hit_rate,
    )
    concurrency, mtp_draft_tokens, mtp_acceptance_length = (
        v[k] for k in ("concurrency", "mtp_draft_tokens", "mtp_acceptance_length")
    )
    m = get_model(model)
    hw = get_hardware(hardware, hardware_files)
    w, kvp = _validate_common(m, hw, isl, osl, weights, kv)
    auto_note = None
    if gpus is None and tp is None and pp is None and dp is None:
        # no layout given: the smallest usual layout whose memory holds the weights and the requested sequences
        # (at most one engine's batch limit of them: more only queue)
        users = int(concurrency) if isinstance(concurrency, int) or str(concurrency).strip().isdigit() else 1
        users = min(users, MAX_BATCH_SIZE)
        gpus, tp, pp = _auto_layout(m, hw, w, kvp, max(users, 1), isl + osl)
        auto_note = f"--gpus not given: using {gpus} chip(s), the smallest layout that fits (see `tokenfab fit`)"
    if hw.kind == "sram" and tp is None and pp is None and gpus:
        # SRAM-only chips: tensor parallel within a node, a pipeline of nodes (weights spread over many chips)
        tp, pp = sram_layout(gpus, hw.chips_per_node, m.num_layers)
    par = resolve_parallelism(m, gpus=gpus, tp=tp, pp=pp, dp=dp, ep=ep, check_heads=hw.kind != "sram")
    warn_list = [auto_note] if auto_note else []
    cf = prec.compute_format(w, hw.peak_flops_per_s)
    if cf.warning:
        warn_list.append(cf.warning)
    if par.tp > hw.scaleup_domain_size:
        warn_list.append(
            f"TP={par.tp} spans more than the {hw.scaleup_domain_size}-chip scale-up domain: "
            f"all-reduce runs over the scale-out network"
        )
    conc_val = None
    if rate_rps is None:
        if isinstance(concurrency, str):
            if concurrency.strip().lower() != "max":
                try:
                    concurrency = int(concurrency)
                except ValueError:
                    raise TokenfabError(
                        "must be a whole number or 'max'", field="concurrency", got=concurrency
                    ) from None
        if not isinstance(concurrency, str):
            require_int("concurrency", concurrency, minimum=1)
            conc_val = float(concurrency)
    profile = load_profile(calibration)
    pa = hardware_arrays([hw], w, profile, [par.tp], [par.pp], [par.dp], [par.ep])
    load = dict(isl=isl, osl=osl, mtp_draft_tokens=mtp_draft_tokens, mtp_acceptance_length=mtp_acceptance_length)
    load["prefix_hit_rate"] = prefix_hit_rate
    r = serve(m, w, kvp, pa, concurrency=conc_val, rate_rps=rate_rps, **load)
    g = lambda k: float(np.asarray(r[k]).ravel()[0])  # noqa: E731
    cap = g("concurrency_cap")
    fits = bool(np.asarray(r["fits"]).ravel()[0])
    max_rps = None
    if fits and rate_rps is not None and bool(np.asarray(r["overloaded"]).ravel()[0]):
        max_rps = max_sustainable_rate_rps(serve(m, w, kvp, pa, concurrency=None, **load), osl)
        warn_list.append(overload_text(rate_rps, max_rps))
    if not fits:
        need = (
            weight_bytes_per_gpu(m, w, par)
            + activation_bytes_per_gpu(m, par, SRAM_MAX_BATCH_TOKENS if hw.kind == "sram" else MAX_BATCH_TOKENS)
        ) / units.GIB
        warn_list.append(
            f"does not fit: weights + activations need {need:.1f} GiB per GPU before any KV cache, "
            f"the chip has {hw.weight_memory_bytes * (1 - RUNTIME_OVERHEAD_FRACTION) / units.GIB:.1f} GiB usable; "
            f"use more GPUs or a narrower precision (see `tokenfab fit`)"
        )
    elif conc_val is not None and conc_val > cap:
        warn_list.append(
            f"concurrency {int(conc_val)} exceeds the KV-cache cap of {int(cap)} sequences at "
            f"{isl + osl} tokens: capped"
        )
    conc = g("concurrency")
    kv_gpu = kv_cache_bytes(m, isl + osl, kvp, 1) / float(kv_shard_factor(m, par)) * max(conc, 0) / par.dp
    mbt = SRAM_MAX_BATCH_TOKENS if hw.kind == "sram" else MAX_BATCH_TOKENS
    mem = (
        weight_bytes_per_gpu(m, w, par)
        + activation_bytes_per_gpu(m, par, mbt)
        + kv_gpu
        + hw.weight_memory_bytes * (0.0 if hw.kind == "sram" else RUNTIME_OVERHEAD_FRACTION)
    ) / units.GIB
    return Estimate(
        model=m.key,
        hardware=hw.key,
        gpus=par.gpus,
        tp=par.tp,
        pp=par.pp,
        dp=par.dp,
        ep=par.ep,
        weights=w,
        kv=kvp,
        compute_precision=cf.used,
        isl=isl,
        osl=osl,
        ttft_ms=g("ttft_ms"),
        tpot_ms=g("tpot_ms"),
        e2el_ms=g("e2el_ms"),
        tokens_per_s_per_user=g("tokens_per_s_per_user"),
        output_tokens_per_s=g("output_tokens_per_s"),
        input_tokens_per_s=g("input_tokens_per_s"),
        total_tokens_per_s=g("total_tokens_per_s"),
        output_tokens_per_s_per_gpu=g("output_tokens_per_s_per_gpu"),
        input_tokens_per_s_per_gpu=g("input_tokens_per_s_per_gpu"),
        total_tokens_per_s_per_gpu=g("total_tokens_per_s_per_gpu"),
        requests_per_s=g("requests_per_s"),
        concurrency=conc,
        concurrency_cap=cap,
        memory_per_gpu_gib=mem,
        fits=fits,
        bound=str(np.asarray(r["bound"]).ravel()[0]),
        breakdown={k: float(np.asarray(v).ravel()[0]) for k, v in r["breakdown_ms"].items()},
        decode_step_ms=g("decode_step_ms"),
        prefill_ms=g("prefill_ms"),
        calibration=profile.source_for(hw),
        mtp_draft_tokens=mtp_draft_tokens,
        mtp_acceptance_length=mtp_acceptance_length if mtp_draft_tokens else 1.0,
        prefix_hit_rate=prefix_hit_rate,
        warnings=warn_list,
        max_sustainable_rate_rps=max_rps,
    )
