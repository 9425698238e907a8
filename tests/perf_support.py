"""Shared helpers of the performance-model tests: explicit calibration profiles and deployment points.

The bundled data/calibration.json is a fit that changes whenever the model is refitted; tests that check relations or
hand-computed values build their own :class:`CalibrationProfile` here, so that a refit never moves them.
"""

from __future__ import annotations

from tokenfab.catalog.calibration import ENGINE_PARAMS, FAMILY_PARAMS, PRIOR, SHARED_PARAMS, CalibrationProfile
from tokenfab.catalog.engines import get_engine
from tokenfab.catalog.hardware import get_hardware
from tokenfab.catalog.models import get_model
from tokenfab.perf.serving import single_point

# families and engines the test profiles carry as "fitted": every other family or engine resolves to a prior
FITTED_FAMILIES = ("hopper", "blackwell", "cdna4")
FITTED_ENGINES = ("trtllm", "vllm", "sglang", "atom")


def make_profile(
    *,
    family: dict | None = None,
    engine: dict | None = None,
    shared: dict | None = None,
    families: tuple[str, ...] = FITTED_FAMILIES,
    engines: tuple[str, ...] = FITTED_ENGINES,
) -> CalibrationProfile:
    """A profile with the same parameters for every fitted family and engine: the physical prior (catalog/calibration.py
    PRIOR) overridden by ``family`` / ``engine`` / ``shared``."""
    fam = {n: PRIOR[n] for n in FAMILY_PARAMS} | dict(family or {})
    eng = {n: PRIOR[n] for n in ENGINE_PARAMS} | dict(engine or {})
    sh = {n: PRIOR[n] for n in SHARED_PARAMS} | dict(shared or {})
    return CalibrationProfile(
        shared=sh, families={f: dict(fam) for f in families}, engines={e: dict(eng) for e in engines}
    )


# no fixed costs at all: a step is pure roofline (the memory efficiency is the only factor on the bandwidth)
NO_OVERHEAD = make_profile(
    family={"memory_efficiency": 0.8},
    engine={
        "step_overhead_ms": 0.0,
        "layer_overhead_us": 0.0,
        "seq_overhead_us": 0.0,
        "comm_latency_us": 1.0,
        "kernel_efficiency": 1.0,
        "ttft_overhead_ms": 0.0,
    },
    shared={"pp_stage_overhead_us": 0.0, "disagg_overhead_ms": 0.0},
)

# every fixed cost present and distinct, so that a law that forgets one of them can fail
WITH_OVERHEADS = make_profile(
    engine={
        "step_overhead_ms": 1.0,
        "layer_overhead_us": 5.0,
        "seq_overhead_us": 5.0,
        "comm_latency_us": 5.0,
        "ttft_overhead_ms": 3.0,
    },
    shared={"pp_stage_overhead_us": 50.0, "disagg_overhead_ms": 10.0, "moe_skew": 0.2},
)


def point(
    model: str, hardware, engine: str, weights: str, profile: CalibrationProfile, tp=1, pp=1, dp=1, ep=1, kv=None
):
    """(model spec, PointArrays of one deployment point) via perf.serving.single_point."""
    m = get_model(model)
    hw = get_hardware(hardware) if isinstance(hardware, str) else hardware
    return m, single_point(hw, get_engine(engine), weights, kv or weights, profile, tp, pp, dp, ep)


def first(x) -> float:
    """The single element of a one-point result array."""
    import numpy as np

    return float(np.asarray(x).ravel()[0])
