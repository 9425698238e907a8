"""Calibration profiles: the performance model's efficiency parameters, fitted on measurements.

The bundled profile (data/calibration.json) is produced by ``python benchmarks/calibrate.py`` from
shared/calibration/measurements.csv (TensorRT-LLM's published performance tables). It holds a small set of
physically meaningful parameters per hardware family (where the file has data for that family) and a ``default``
set fitted on all rows together, used for hardware without data (AMD, TPU, SRAM chips, ...).

Parameters (all dimensionless unless the name says otherwise):
- gemm_efficiency: fraction of dense peak a large GEMM reaches.
- gemm_tokens_half: token rows at which a GEMM reaches half of that (small GEMMs are inefficient).
- memory_efficiency: fraction of the memory bandwidth streaming reads reach.
- attention_efficiency: fraction of peak the attention kernels reach (flash attention, prefill).
- comm_efficiency: fraction of link bandwidth collectives reach; comm_latency_us: fixed cost per collective.
- step_overhead_ms, layer_overhead_us: per forward pass, and per layer per pass (kernel launches, scheduler).
- seq_overhead_us: per sequence per pass (sampling, detokenization, request bookkeeping on the host).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from functools import lru_cache
from pathlib import Path

from tokenfab.core.data import data_path
from tokenfab.core.errors import TokenfabError

PARAM_NAMES = (
    "gemm_efficiency",
    "gemm_tokens_half",
    "memory_efficiency",
    "attention_efficiency",
    "comm_efficiency",
    "comm_latency_us",
    "step_overhead_ms",
    "layer_overhead_us",
    "seq_overhead_us",
)

# Physical prior before any fit (also the bounds' centre). Sources for the orders of magnitude: large BF16/FP8 GEMMs
# reach 60-80% of dense peak on Hopper (NVIDIA cuBLAS/CUTLASS benchmarks); streaming kernels reach 80-90% of HBM
# bandwidth (STREAM-like measurements on H100, e.g. Chips and Cheese "Nvidia's H100" 2023); NCCL all-reduce bus
# bandwidth reaches ~70-80% of NVLink (nccl-tests); a CUDA-graph decode step costs tens of microseconds per layer.
PRIOR = {
    "gemm_efficiency": 0.70,
    "gemm_tokens_half": 64.0,
    "memory_efficiency": 0.80,
    "attention_efficiency": 0.45,
    "comm_efficiency": 0.70,
    "comm_latency_us": 10.0,
    "step_overhead_ms": 1.0,
    "layer_overhead_us": 10.0,
    "seq_overhead_us": 5.0,
}
BOUNDS = {
    "gemm_efficiency": (0.15, 0.95),
    "gemm_tokens_half": (4.0, 1024.0),
    "memory_efficiency": (0.2, 0.95),
    "attention_efficiency": (0.05, 0.9),
    "comm_efficiency": (0.1, 0.95),
    "comm_latency_us": (1.0, 100.0),
    "step_overhead_ms": (0.0, 20.0),
    "layer_overhead_us": (0.0, 200.0),
    "seq_overhead_us": (0.0, 200.0),
}


# Named priors for families without measurements, applied on top of the fitted default. Not fitted: assumptions,
# each with its reason. SRAM-only chips (Groq, Cerebras) stream weights from on-chip SRAM into matrix units that are
# built for batch-1 work (Groq's TSP: deterministic 320-lane vector/matrix units, no tile quantization of small
# GEMMs), so the GPU-fitted small-GEMM penalty (gemm_tokens_half ~ 100 rows) does not apply: 4 rows (the lower
# bound) is used instead. Their schedules are compiled ahead of time (no per-step host scheduling), and chip-to-chip
# hops are synchronous, software-scheduled links without a network stack (Groq, ISCA 2022 "A Software-defined Tensor
# Streaming Multiprocessor for Large-scale Machine Learning"): ~1 us per collective (the lower bound) is assumed.
FAMILY_PRIORS: dict[str, dict] = {
    "sram": {"gemm_tokens_half": 4.0, "step_overhead_ms": 0.05, "seq_overhead_us": 0.0, "comm_latency_us": 1.0},
}


@dataclass(frozen=True)
class PerfParams:
    gemm_efficiency: float = PRIOR["gemm_efficiency"]
    gemm_tokens_half: float = PRIOR["gemm_tokens_half"]
    memory_efficiency: float = PRIOR["memory_efficiency"]
    attention_efficiency: float = PRIOR["attention_efficiency"]
    comm_efficiency: float = PRIOR["comm_efficiency"]
    comm_latency_us: float = PRIOR["comm_latency_us"]
    step_overhead_ms: float = PRIOR["step_overhead_ms"]
    layer_overhead_us: float = PRIOR["layer_overhead_us"]
    seq_overhead_us: float = PRIOR["seq_overhead_us"]

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict, base: "PerfParams | None" = None) -> "PerfParams":
        base = base or cls()
        unknown = set(d) - set(PARAM_NAMES)
        if unknown:
            raise TokenfabError(
                f"unknown calibration parameter(s) {sorted(unknown)}",
                field="calibration",
                expected=", ".join(PARAM_NAMES),
            )
        for k, v in d.items():
            lo, hi = BOUNDS[k]
            if not isinstance(v, (int, float)) or not (lo * 0.5 <= v <= hi * 2 or (lo == 0 and 0 <= v <= hi * 2)):
                raise TokenfabError(
                    "calibration value out of its physical range",
                    field=f"calibration.{k}",
                    expected=f"about [{lo}, {hi}]",
                    got=v,
                )
        return replace(base, **{k: float(v) for k, v in d.items()})


@dataclass
class CalibrationProfile:
    default: PerfParams
    families: dict[str, PerfParams] = field(default_factory=dict)
    hardware: dict[str, PerfParams] = field(default_factory=dict)  # per hardware key (e.g. from `tokenfab calibrate`)
    meta: dict = field(default_factory=dict)

    def params_for(self, hw) -> PerfParams:
        if hw.key in self.hardware:
            return self.hardware[hw.key]
        fam = hw.cost_family or ""
        if fam in self.families:
            return self.families[fam]
        if fam in FAMILY_PRIORS:
            return replace(self.default, **FAMILY_PRIORS[fam])
        return self.default

    def source_for(self, hw) -> str:
        if hw.key in self.hardware:
            return f"hardware:{hw.key}"
        fam = hw.cost_family or ""
        if fam in self.families:
            return f"family:{fam}"
        if fam in FAMILY_PRIORS:
            return f"default + named prior for {fam} (no measurements for this family)"
        return "default (no measurements for this family)"

    def to_dict(self) -> dict:
        return {
            "meta": self.meta,
            "default": self.default.to_dict(),
            "families": {k: v.to_dict() for k, v in self.families.items()},
            "hardware": {k: v.to_dict() for k, v in self.hardware.items()},
        }

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n")


def profile_from_dict(d: dict, *, source: str = "") -> CalibrationProfile:
    if not isinstance(d, dict) or "default" not in d:
        raise TokenfabError("a calibration profile needs a 'default' parameter set", field=source or "calibration")
    default = PerfParams.from_dict(d["default"])
    fams = {k: PerfParams.from_dict(v, default) for k, v in (d.get("families") or {}).items()}
    hws = {k: PerfParams.from_dict(v, default) for k, v in (d.get("hardware") or {}).items()}
    return CalibrationProfile(default=default, families=fams, hardware=hws, meta=d.get("meta", {}))


@lru_cache(maxsize=8)
def _load(path: str) -> CalibrationProfile:
    p = Path(path)
    if not p.exists():
        raise TokenfabError("calibration file not found", field="calibration", got=str(p))
    try:
        d = json.loads(p.read_text())
    except json.JSONDecodeError as e:
        raise TokenfabError(f"not valid JSON: {e.msg} (line {e.lineno})", field=str(p)) from None
    return profile_from_dict(d, source=str(p))


def bundled_profile_path() -> Path:
    return data_path("calibration.json")


def load_profile(path: str | Path | None = None) -> CalibrationProfile:
    """The bundled profile, or a user's file (from `tokenfab calibrate`). Falls back to the prior if none is bundled."""
    if path is None:
        p = bundled_profile_path()
        if not p.exists():
            return CalibrationProfile(default=PerfParams(), meta={"note": "uncalibrated prior"})
        return _load(str(p))
    if isinstance(path, CalibrationProfile):
        return path
    return _load(str(Path(path).resolve()))
