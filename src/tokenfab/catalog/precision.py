"""Number formats: bytes per parameter (with block-scale overhead) and which peak FLOP/s a format runs at.

Block formats store a scale per block of elements; the overhead is part of the bytes moved and stored:
- FP8 (DeepSeek/ModelOpt style): E4M3 values, one FP32 scale per 128x128 block -> 1 + 4/16384 B/param
  (per-tensor FP8 has a negligible overhead; the block overhead is the larger, so it is the default).
  Source: DeepSeek-V3 config ``quantization_config.weight_block_size = [128, 128]``.
- NVFP4: E2M1 values, one FP8 (E4M3) scale per 16 elements, plus one FP32 per tensor -> 0.5 + 1/16 B/param.
  Source: NVIDIA "Introducing NVFP4" (developer.nvidia.com blog, 2025-06).
- MXFP4 (OCP Microscaling v1.0): E2M1 values, one E8M0 scale per 32 elements -> 0.5 + 1/32 B/param (gpt-oss).
- MXFP8 (OCP Microscaling v1.0): E4M3 values, one E8M0 scale per 32 elements -> 1 + 1/32 B/param
  (MiniMax-M3-MXFP8: ``quantization_config.weight_block_size = [1, 32]``); computes at the FP8 peak.
- INT8 (SmoothQuant / per-channel): 1 B/param; per-channel scales are negligible.
- INT4 (AWQ/GPTQ, group 128, FP16 scale + zero): 0.5 + 4/128 B/param.
"""

from __future__ import annotations

from dataclasses import dataclass

from tokenfab.core.errors import TokenfabError

# bytes per element, including block-scale overhead
BYTES_PER_PARAM: dict[str, float] = {
    "fp32": 4.0,
    "bf16": 2.0,
    "fp16": 2.0,
    "fp8": 1.0 + 4.0 / (128 * 128),
    "int8": 1.0,
    "fp4": 0.5 + 1.0 / 16,  # NVFP4
    "nvfp4": 0.5 + 1.0 / 16,
    "mxfp4": 0.5 + 1.0 / 32,
    "mxfp8": 1.0 + 1.0 / 32,
    "int4": 0.5 + 4.0 / 128,
}

# bits of the element payload, without scales (used for display)
BITS: dict[str, int] = {
    "fp32": 32,
    "bf16": 16,
    "fp16": 16,
    "fp8": 8,
    "int8": 8,
    "fp4": 4,
    "nvfp4": 4,
    "mxfp4": 4,
    "mxfp8": 8,
    "int4": 4,
}

# Mixed MoE checkpoints: routed experts at 4 bit, every other linear layer at FP8 (DeepSeek-V4, AMD's *-MXFP4 MoE
# checkpoints, NVIDIA's NVFP4 MoE recipes). Written ``<experts>+<rest>``.
MIXED_PRECISIONS: dict[str, tuple[str, str]] = {"mxfp4+fp8": ("mxfp4", "fp8"), "nvfp4+fp8": ("nvfp4", "fp8")}
WEIGHT_PRECISIONS = ("bf16", "fp16", "fp8", "fp4", "int8", "int4", "mxfp4", "nvfp4", "mxfp8", *MIXED_PRECISIONS)
KV_PRECISIONS = ("bf16", "fp16", "fp8", "fp4")

# the peak-FLOP/s column a format computes at, then what to fall back to on hardware without it.
# Weight-only formats (int4) compute in 16-bit (W4A16); FP4 falls back to FP8 (W4A8) then BF16.
COMPUTE_FALLBACK: dict[str, tuple[str, ...]] = {
    "fp32": ("bf16", "fp16"),
    "bf16": ("bf16", "fp16"),
    "fp16": ("fp16", "bf16"),
    "fp8": ("fp8", "bf16", "fp16"),
    "int8": ("int8", "bf16", "fp16"),
    "fp4": ("fp4", "fp8", "bf16", "fp16"),
    "nvfp4": ("fp4", "fp8", "bf16", "fp16"),
    "mxfp4": ("fp4", "fp8", "bf16", "fp16"),
    "mxfp8": ("fp8", "bf16", "fp16"),
    "int4": ("bf16", "fp16"),
}

KV_BYTES_PER_ELEMENT: dict[str, float] = {"bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "fp4": 0.5 + 1.0 / 16, "fp32": 4.0}


def normalize(precision: str, *, field: str = "weights", allowed: tuple[str, ...] = WEIGHT_PRECISIONS) -> str:
    p = str(precision).strip().lower()
    if p not in allowed:
        raise TokenfabError("unknown precision", field=field, expected="one of " + ", ".join(allowed), got=precision)
    return p


def split_mixed(precision: str) -> tuple[str, str]:
    """(routed-expert precision, precision of every other linear layer); a plain precision is both."""
    p = str(precision).strip().lower()
    return MIXED_PRECISIONS.get(p, (p, p))


def is_mixed(precision: str) -> bool:
    return str(precision).strip().lower() in MIXED_PRECISIONS


def bytes_per_param(precision: str) -> float:
    """Bytes per parameter of one storage format (a mixed precision has two: see :func:`split_mixed`)."""
    if is_mixed(precision):
        raise TokenfabError(
            "a mixed precision stores experts and the rest differently; give one storage format",
            field="weights",
            expected="one of " + ", ".join(BYTES_PER_PARAM),
            got=precision,
        )
    return BYTES_PER_PARAM[normalize(precision, allowed=tuple(BYTES_PER_PARAM))]


def kv_bytes_per_element(precision: str) -> float:
    return KV_BYTES_PER_ELEMENT[normalize(precision, field="kv", allowed=tuple(KV_BYTES_PER_ELEMENT))]


@dataclass(frozen=True)
class ComputeFormat:
    requested: str
    used: str  # the peak-FLOP/s column used
    native: bool  # False when the hardware lacks the format and a wider one is used

    @property
    def warning(self) -> str | None:
        if self.native:
            return None
        return (
            f"hardware has no {self.requested} tensor-core peak; modelled as {self.requested} storage "
            f"computed at {self.used} peak (no {self.requested} speed-up)"
        )


def compute_format(precision: str, peak_flops_per_s: dict[str, float]) -> ComputeFormat:
    """Which peak a precision runs at on hardware whose dense peaks are ``peak_flops_per_s`` (keys bf16, fp8, ...)."""
    p = normalize(precision, allowed=(*COMPUTE_FALLBACK, *MIXED_PRECISIONS))
    if is_mixed(p):
        # the non-expert GEMMs set the reported format; experts: compute_format(split_mixed(p)[0], ...)
        p = split_mixed(p)[1]
    chain = COMPUTE_FALLBACK[p]
    for i, c in enumerate(chain):
        if peak_flops_per_s.get(c):
            native = (i == 0) and p != "int4"
            if p == "int4":
                native = True  # weight-only by definition
            return ComputeFormat(p, c, native)
    raise TokenfabError(
        "hardware lists no usable peak FLOP/s",
        field="hardware.peak_tflops",
        expected=f"one of {', '.join(chain)}",
        got=sorted(peak_flops_per_s),
    )


def default_kv_precision(weights: str) -> str:
    """KV precision when --kv is omitted: same as weights for 16/8-bit; FP8 for 4-bit weights (what NVIDIA's
    NVFP4 checkpoints and TensorRT-LLM's max-throughput recipes use)."""
    w = normalize(weights, allowed=(*BYTES_PER_PARAM, *MIXED_PRECISIONS))
    if w in ("bf16", "fp16", "fp32"):
        return "bf16" if w != "fp16" else "fp16"
    return "fp8"
