"""Deployment points as flat NumPy arrays: hardware figures, engine defaults, layout and calibration parameters.

One element per configuration; every performance function (roofline, scheduling, serving) takes a
:class:`PointArrays`, which is how a sweep of hundreds of thousands of configurations runs as a few array operations.
:func:`point_arrays` builds it from hardware specs, engine specs, a calibration profile and layout degrees; the
(hardware, engine) figures are looked up once per distinct pair and gathered.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from tokenfab.catalog import precision as prec
from tokenfab.catalog.calibration import MAX_EFFICIENCY, PARAM_NAMES, CalibrationProfile, ProfileStatus
from tokenfab.catalog.engines import EngineSpec, get_engine
from tokenfab.catalog.hardware import HardwareSpec
from tokenfab.core import assumptions
from tokenfab.perf.comm import ALGORITHMS, FABRIC_ALGORITHMS

# SRAM-only systems run small batches (weights stream from SRAM, so batching buys little): their token budget per pass
# is data/assumptions.yaml memory.sram_max_batch_tokens, and their memory is compiled statically (no runtime reserve).
SRAM_MAX_BATCH_TOKENS = int(assumptions.value("memory", "sram_max_batch_tokens"))


@dataclass(frozen=True)
class PointArrays:
    """Flat arrays (one element per configuration) of everything hardware-, engine- and layout-specific."""

    hw: np.ndarray  # index into the hardware list the arrays were built from
    engine: np.ndarray  # index into the engine list
    peak_flops_per_s: np.ndarray  # dense (non-expert) GEMMs at the weights' compute format
    peak_flops_per_s_experts: np.ndarray  # routed-expert GEMMs (a mixed precision computes them narrower)
    peak_flops_per_s_attention: np.ndarray  # attention kernels (at the KV precision's compute format)
    bandwidth_bytes_per_s: np.ndarray
    scaleup_bw: np.ndarray  # bytes/s per chip per direction
    scaleout_bw: np.ndarray
    scaleup_domain: np.ndarray
    chips_per_node: np.ndarray
    mesh: np.ndarray  # bool: the scale-up fabric is a fully connected mesh (xGMI, Gaudi)
    allreduce_mask: np.ndarray  # bool (len(ALGORITHMS), n): algorithms the engine runs on the fabric
    capacity_bytes: np.ndarray
    memory_fraction: np.ndarray  # share of memory the engine may use
    memory_basis_free: np.ndarray  # bool: memory_fraction applies to what weights and activations leave
    max_batch_tokens: np.ndarray  # token budget of one step (chunked prefill + decode)
    max_seqs: np.ndarray  # running sequences per scheduler (attention-DP rank)
    chunked_prefill: np.ndarray  # bool
    mixed_batching: np.ndarray  # bool: prefill tokens and decodes share a round
    kv_block_tokens: np.ndarray
    kv_reserve_full: np.ndarray  # bool: ISL + OSL reserved at admission
    dispatch_bytes: np.ndarray  # bytes per element of the EP dispatch
    allreduce_bytes_factor: np.ndarray
    eplb_skew_factor: np.ndarray  # routing-skew multiplier of the engine's balancer (1: none)
    tp: np.ndarray
    pp: np.ndarray
    dp: np.ndarray
    ep: np.ndarray
    cal: dict[str, np.ndarray]  # parameter name -> array (resolved per (hardware, engine))

    @property
    def n(self) -> int:
        return int(np.asarray(self.tp).size)

    @property
    def gpus(self) -> np.ndarray:
        return self.tp * self.pp * self.dp


def resolved_cal(profile: CalibrationProfile, hw: HardwareSpec, engine: str) -> tuple[dict[str, float], ProfileStatus]:
    """The flat parameters a point of (hw, engine) runs with: the engine's kernel efficiency folded into the family's
    compute, memory and attention efficiencies (capped at MAX_EFFICIENCY)."""
    params, status = profile.resolve(hw, engine)
    cal = params.to_dict()
    k = cal.pop("kernel_efficiency")
    for name in ("gemm_efficiency", "memory_efficiency", "attention_efficiency"):
        cal[name] = min(cal[name] * k, MAX_EFFICIENCY)
    cal["kernel_efficiency"] = 1.0  # folded in above
    return cal, status


def _hw_engine_figures(
    hw: HardwareSpec, eng: EngineSpec, weights: str, kv: str, profile: CalibrationProfile
) -> dict[str, Any]:
    experts_p, rest_p = prec.split_mixed(weights)
    cf = prec.compute_format(rest_p, hw.peak_flops_per_s)
    # 4-bit weights run at the engine's 4-bit arithmetic (W4A4 / W4A8 / W4A16), falling back as the chip allows
    w4 = prec.BITS.get(experts_p, 16) == 4 and experts_p != "int4"
    cf_e = prec.compute_format(eng.w4_compute if w4 else experts_p, hw.peak_flops_per_s)
    if w4 and experts_p == rest_p:
        cf = cf_e  # a whole-model 4-bit checkpoint computes its dense GEMMs the same way
    kv_fmt = (
        "fp8"
        if kv == "fp8" and hw.peak_flops_per_s.get("fp8")
        else ("bf16" if "bf16" in hw.peak_flops_per_s else cf.used)
    )
    cf_a = prec.compute_format(kv_fmt, hw.peak_flops_per_s)
    cal, status = resolved_cal(profile, hw, eng.key)
    sram = hw.kind == "sram"
    fabric = getattr(hw, "scaleup_fabric", None) or ("nvswitch" if hw.vendor == "NVIDIA" else "mesh")
    allowed = set(FABRIC_ALGORITHMS.get(fabric, ("ring",))) & set(eng.allreduce)
    mask = np.array([a in allowed or (not allowed and a == "ring") for a in ALGORITHMS])
    return {
        "peak": hw.peak_flops_per_s[cf.used],
        "peak_e": hw.peak_flops_per_s[cf_e.used],
        "peak_a": hw.peak_flops_per_s[cf_a.used],
        "bw": hw.memory_bandwidth_bytes_per_s,
        "su": hw.scaleup_bandwidth_bytes_per_s,
        "so": hw.scaleout_bandwidth_bytes_per_s,
        "dom": hw.scaleup_domain_size,
        "node": hw.chips_per_node,
        "mesh": fabric == "mesh",
        "mask": mask,
        "cap": hw.weight_memory_bytes,
        "frac": 1.0 if sram else eng.kv_memory_fraction,
        "free": (not sram) and eng.kv_memory_basis == "free",
        "mbt": SRAM_MAX_BATCH_TOKENS if sram else eng.max_num_batched_tokens,
        "mseq": eng.max_num_seqs,
        "chunk": eng.chunked_prefill or sram,
        "mix": eng.mixed_batching or sram,
        "blk": 1 if sram else eng.kv_block_tokens,
        "full": (not sram) and eng.kv_reservation == "max_length",
        "disp": eng.ep_dispatch_bytes,
        "arb": eng.allreduce_bytes_factor,
        "eplb": eng.eplb_skew_factor if eng.supports("eplb") else 1.0,
        "cal": cal,
        "status": status,
        "warnings": [w for w in (cf.warning, cf_e.warning if experts_p != rest_p else None) if w],
    }


def point_arrays(
    hws: Sequence[HardwareSpec],
    engines: Sequence[EngineSpec | str],
    weights: str,
    kv: str,
    profile: CalibrationProfile,
    hw_index: ArrayLike,
    engine_index: ArrayLike,
    tp: ArrayLike,
    pp: ArrayLike,
    dp: ArrayLike,
    ep: ArrayLike,
    *,
    warn: bool = False,
) -> PointArrays:
    """PointArrays for points ``i`` on hardware ``hws[hw_index[i]]`` with engine ``engines[engine_index[i]]``."""
    engs = [get_engine(e) for e in engines]
    hw_index = np.asarray(hw_index, dtype=int)
    engine_index = np.asarray(engine_index, dtype=int)
    pairs = sorted(set(zip(hw_index.tolist(), engine_index.tolist(), strict=True)))
    figs: dict[tuple[int, int], dict[str, Any]] = {}
    for h, e in pairs:
        fig = _hw_engine_figures(hws[h], engs[e], weights, kv, profile)
        figs[(h, e)] = fig
        if warn:
            for w in fig["warnings"]:
                warnings.warn(f"{hws[h].key}: {w}", stacklevel=2)
    keys = list(figs)
    code = {k: i for i, k in enumerate(keys)}
    idx = np.array([code[(h, e)] for h, e in zip(hw_index.tolist(), engine_index.tolist(), strict=True)], dtype=int)

    def col(name: str, dtype: DTypeLike = float) -> np.ndarray:
        return np.array([figs[k][name] for k in keys], dtype=dtype)[idx] if keys else np.zeros(0, dtype=dtype)

    cal = {
        n: (np.array([figs[k]["cal"][n] for k in keys], dtype=float)[idx] if keys else np.zeros(0)) for n in PARAM_NAMES
    }
    mask = (np.stack([figs[k]["mask"] for k in keys], axis=1)[:, idx]) if keys else np.zeros((len(ALGORITHMS), 0), bool)
    f = lambda x: np.broadcast_to(np.asarray(x, dtype=float), hw_index.shape).astype(float)  # noqa: E731
    return PointArrays(
        hw=hw_index,
        engine=engine_index,
        peak_flops_per_s=col("peak"),
        peak_flops_per_s_experts=col("peak_e"),
        peak_flops_per_s_attention=col("peak_a"),
        bandwidth_bytes_per_s=col("bw"),
        scaleup_bw=col("su"),
        scaleout_bw=col("so"),
        scaleup_domain=col("dom"),
        chips_per_node=col("node"),
        mesh=col("mesh", bool),
        allreduce_mask=mask,
        capacity_bytes=col("cap"),
        memory_fraction=col("frac"),
        memory_basis_free=col("free", bool),
        max_batch_tokens=col("mbt"),
        max_seqs=col("mseq"),
        chunked_prefill=col("chunk", bool),
        mixed_batching=col("mix", bool),
        kv_block_tokens=col("blk"),
        kv_reserve_full=col("full", bool),
        dispatch_bytes=col("disp"),
        allreduce_bytes_factor=col("arb"),
        eplb_skew_factor=col("eplb"),
        tp=f(tp),
        pp=f(pp),
        dp=f(dp),
        ep=f(ep),
        cal=cal,
    )


def statuses(
    hws: Sequence[HardwareSpec],
    engines: Sequence[EngineSpec | str],
    profile: CalibrationProfile,
    pairs: Iterable[tuple[int, int]],
) -> dict[tuple[int, int], ProfileStatus]:
    """ProfileStatus per (hardware index, engine index) pair."""
    engs = [get_engine(e) for e in engines]
    return {(h, e): profile.resolve(hws[h], engs[e].key)[1] for h, e in pairs}


def take(pa: PointArrays, idx: ArrayLike) -> PointArrays:
    """The points ``idx`` of ``pa`` (every per-point array indexed; 2-D masks along their point axis)."""
    idx = np.asarray(idx, dtype=int)
    kw: dict[str, Any] = {}
    for fld in dataclasses.fields(pa):
        v = getattr(pa, fld.name)
        if fld.name == "cal":
            kw["cal"] = {k: np.asarray(a)[idx] for k, a in v.items()}
        elif fld.name == "allreduce_mask":
            kw[fld.name] = np.asarray(v)[:, idx]
        else:
            kw[fld.name] = np.asarray(v)[idx]
    return PointArrays(**kw)


def with_layout(
    pa: PointArrays,
    *,
    tp: ArrayLike | None = None,
    pp: ArrayLike | None = None,
    dp: ArrayLike | None = None,
    ep: ArrayLike | None = None,
) -> PointArrays:
    f = lambda x, old: old if x is None else np.broadcast_to(np.asarray(x, dtype=float), old.shape).astype(float)  # noqa: E731
    return dataclasses.replace(pa, tp=f(tp, pa.tp), pp=f(pp, pa.pp), dp=f(dp, pa.dp), ep=f(ep, pa.ep))


__all__ = ["PointArrays", "ProfileStatus", "SRAM_MAX_BATCH_TOKENS", "point_arrays", "statuses", "take", "with_layout"]
