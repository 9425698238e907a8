"""The design-space sweep as typed operations: ``frontier`` (Pareto curves, tiers, cost at a target), ``recommend``
(the cheapest fleet per hardware for a demand) and ``budget`` (the most tokens a power or rack budget buys). One
:class:`SweepRequest` holds what the three share (model, hardware, workload, SLA, cost, engine, speculative
decoding), so ``tokenfab frontier``, ``tokenfab recommend`` and the dashboard's frontier take the same inputs under
the same names.

    >>> from tokenfab import api
    >>> r = api.frontier(api.FrontierRequest(model="llama-3.1-8b", hardware=["h100-sxm"], mode="agg"))
    >>> r.operation, r.best["hardware"]
    ('frontier', 'h100-sxm')
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import field_validator

from tokenfab.api.schema import Request, Result, described, request_fields, split_list
from tokenfab.core.errors import TokenfabError
from tokenfab.core.jsonable import to_jsonable
from tokenfab.economics import tco as tco_mod
from tokenfab.perf.queueing import DEFAULT_PERCENTILE
from tokenfab.planning import fleet
from tokenfab.search import result as search_result


class SweepRequest(Request):
    """What frontier, recommend and budget share: a model on hardware, a workload, an SLA, a price, an engine."""

    model: str = described("bundled model key (tokenfab catalog models), or a Hugging Face config.json path or folder")
    hardware: list[str] = described("hardware keys or aliases to sweep (tokenfab catalog hardware)")
    isl: int = described("input tokens per request", "tokens", default=1024)
    osl: int = described("output tokens per request", "tokens", default=1024)
    weights: list[str] | None = described("weight precisions to sweep (default: the checkpoint's)", default=None)
    gpus: int | None = described(
        "fix the GPUs per replica (per prefill or decode replica when disaggregated)", "chips", default=None
    )
    mode: str = described("agg | disagg | both", default="both")
    ttft_max_ms: float | None = described("TTFT limit at the percentile", "ms", default=None)
    tpot_max_ms: float | None = described("TPOT limit", "ms", default=None)
    e2el_max_ms: float | None = described("end-to-end latency limit at the percentile", "ms", default=None)
    percentile: str = described("SLA percentile: p50, p90, p99 (pNN) or mean", default=DEFAULT_PERCENTILE)
    preset: str | None = described(
        "TCO preset (default owned-neocloud)", default=None, source="src/tokenfab/data/tco_presets.yaml"
    )
    price_usd_per_gpu_hour: float | None = described(
        "a plain price per wall-clock GPU-hour instead of the TCO model", "USD per wall-clock GPU-hour", default=None
    )
    tco_overrides: dict[str, float] | None = described(
        "TCO inputs over the preset's (tokenfab.api.TcoRequest's fields)", default=None
    )
    calibration: str | None = described(
        "calibration profile JSON (default: the bundled fit)", default=None, source="src/tokenfab/data/calibration.json"
    )
    hardware_files: list[str] | None = described("extra hardware YAML/TOML/JSON files", default=None)
    spec: bool | str | dict[str, Any] = described(
        "speculative decoding with the model's MTP heads where the engine runs them: true (points with and without "
        "are both evaluated and labelled), false, or per hardware 'h100-sxm=off,*=on'",
        default=True,
    )
    engine: str | dict[str, str] | None = described(
        "serving engine for all hardware, or per hardware 'h200-sxm=sglang,mi355x=atom' (default: each vendor's)",
        default=None,
        source="src/tokenfab/data/engines.yaml",
    )
    prefix_hit_rate: float = described("share of each prompt found in the prefix cache", "fraction", default=0.0)

    @field_validator("hardware", "weights", mode="before")
    @classmethod
    def _lists(cls, v: Any) -> Any:
        return split_list(v)

    @field_validator("tco_overrides")
    @classmethod
    def _known_tco_inputs(cls, v: dict[str, float] | None) -> dict[str, float] | None:
        if "price_usd_per_gpu_hour" in (v or {}):
            raise ValueError("give the wall-clock price as price_usd_per_gpu_hour (--usd-per-gpu-hour), not here")
        unknown = sorted(set(v or {}) - set(tco_mod.INPUT_FIELDS))
        if unknown:
            raise ValueError(f"unknown TCO input {unknown[0]!r} (one of: {', '.join(tco_mod.INPUT_FIELDS)})")
        return v

    def sweep_kwargs(self) -> dict[str, Any]:
        """The keyword arguments of the library's sweep entry points (search.frontier, planning.fleet.*)."""
        return {
            "isl": self.isl,
            "osl": self.osl,
            "weights": ",".join(self.weights) if self.weights else None,
            "gpus": self.gpus,
            "mode": self.mode,
            "ttft_max_ms": self.ttft_max_ms,
            "tpot_max_ms": self.tpot_max_ms,
            "e2el_max_ms": self.e2el_max_ms,
            "percentile": self.percentile,
            "preset": self.preset,
            "usd_per_gpu_hour": self.price_usd_per_gpu_hour,
            "calibration": self.calibration,
            "hardware_files": self.hardware_files,
            "mtp": self.spec,
            "engine": self.engine,
            "prefix_hit_rate": self.prefix_hit_rate,
            "tco_overrides": dict(self.tco_overrides) if self.tco_overrides else None,
        }


# ------------------------------------------------------------------------------------------------------ frontier


class FrontierRequest(SweepRequest):
    """The Pareto frontier of a model on each hardware (``tokenfab frontier``)."""

    min_interactivity: float | None = described("keep points with at least this", "tokens/s per user", default=None)
    target_interactivity: float | None = described(
        "read cost and throughput off the frontier here (default 50)", "tokens/s per user", default=None
    )
    prefill_hardware: list[str] | None = described(
        "disaggregated serving with the prefill pool on these chips, decode on ``hardware``", default=None
    )

    @field_validator("prefill_hardware", mode="before")
    @classmethod
    def _prefill_list(cls, v: Any) -> Any:
        return split_list(v)


class FrontierResult(Result):
    """Frontier points per hardware and mode, the best point, token tiers and the figures at the target."""

    model: str
    isl: int
    osl: int
    weights: list[str]
    kv: list[str]
    modes: list[str]
    sla: dict[str, Any]
    preset: str | None
    usd_per_gpu_hour_override: float | None
    points: list[dict[str, Any]]
    best: dict[str, Any] | None
    tiers: dict[str, Any]
    at_target: dict[str, Any]
    hardware: dict[str, Any]
    evaluated: int
    elapsed_s: float
    configurations_per_s: float | None
    calibration: dict[str, Any]
    prior_hardware: list[str]
    calibration_notes: list[str]
    tie_rule: str
    assumptions: dict[str, Any]


@request_fields()
def frontier(req: FrontierRequest) -> FrontierResult:
    """``tokenfab.search.frontier`` of the request, as a typed result."""
    r = search_result.frontier(
        req.model,
        req.hardware,
        min_interactivity=req.min_interactivity,
        target_interactivity=req.target_interactivity,
        prefill_hardware=",".join(req.prefill_hardware) if req.prefill_hardware else None,
        **req.sweep_kwargs(),
    )
    d = to_jsonable(r.to_dict())
    return FrontierResult(
        operation="frontier", inputs=req.model_dump(mode="json"), sources=_calibration_sources(d["calibration"]), **d
    )


def _calibration_sources(calibration: dict[str, Any]) -> dict[str, Any]:
    """The envelope's sources of a sweep: per hardware, the measurements its fitted profile rests on (none: a prior),
    the TCO presets and the named defaults."""
    return {
        "calibration": {hw: (s or {}).get("sources") or "prior (no measurements)" for hw, s in calibration.items()},
        "tco": "src/tokenfab/data/tco_presets.yaml, src/tokenfab/data/systems.yaml",
        "assumptions": "src/tokenfab/data/assumptions.yaml",
    }


# ------------------------------------------------------------------------------------------- recommend and budget


class RecommendRequest(SweepRequest):
    """The cheapest fleet per hardware that serves a demand within the SLA (``tokenfab recommend``)."""

    rate_rps: float | None = described("average demand", "requests/s", default=None)
    tokens_per_day: float | None = described("average demand", "(input + output) tokens per day", default=None)
    peak_to_average: float = described(
        "busiest hour / average demand (the fleet is sized for the busiest hour)", "ratio", default=1.0
    )
    target_peak_utilization: float | None = described(
        "share of the fleet's capacity used in the busiest hour, in (0, 1] (default 0.8)",
        "fraction",
        default=None,
        source="src/tokenfab/data/assumptions.yaml headroom",
    )
    burst_factor: float | None = described(
        "sub-hour burst over the peak-hour rate, >= 1 (default: from Poisson arrivals, p99 minute)",
        "ratio",
        default=None,
        source="src/tokenfab/data/assumptions.yaml headroom",
    )
    spare_replicas: int | None = described(
        "spare replicas per replica group (default 1: N+1)",
        "replicas",
        default=None,
        source="src/tokenfab/data/assumptions.yaml headroom",
    )
    power_mw: float | None = described(
        "inverse question: the most tokens/s within this all-in power (then :func:`budget` answers)", "MW", default=None
    )
    racks: int | None = described("inverse question: the most tokens/s within this many racks", "racks", default=None)


_NO_PEAK = RecommendRequest.model_fields["peak_to_average"].default  # what a request without the flag carries


class BudgetRequest(SweepRequest):
    """The most tokens/s a power or rack budget buys, per hardware (``tokenfab recommend --power-mw / --racks``)."""

    power_mw: float | None = described("all-in facility power budget", "MW", default=None)
    racks: int | None = described("rack budget", "racks", default=None)


class FleetResult(Result):
    """Fleet options per hardware (cheapest first for a demand, most tokens first for a budget), what could not be
    sized and why, with the sweep's SLA, precisions and headroom."""

    FIELD_DEFINITIONS: ClassVar[dict[str, str]] = {
        "options": "one fleet per hardware: replicas, GPUs, nodes, racks, MW, $/month, $/M tokens, with bands",
        "skipped": "hardware -> why no fleet of it meets the SLA",
        "demand": "the demand sized for (requests/s, tokens/s, tokens/day; and what was given)",
        "budget": "the budget filled (power_mw or racks)",
    }

    model: str
    isl: int
    osl: int
    demand: dict[str, Any] | None = None
    budget: dict[str, Any] | None = None
    headroom: dict[str, Any]
    peak_to_average: float
    tie: list[str]
    tie_rule: str
    prior_hardware: list[str]
    calibration_notes: list[str]
    band_rule: str
    options: list[dict[str, Any]]
    skipped: dict[str, str]
    evaluated: int
    elapsed_s: float
    demand_requests_per_s: float | None
    sla: dict[str, Any]
    weights: list[str]
    kv: list[str]
    cost_basis: str


def _fleet_result(operation: str, req: SweepRequest, rep: fleet.FleetReport, **question: Any) -> FleetResult:
    """The typed result of a fleet report (recommend's ``demand`` or budget's ``budget`` in ``question``)."""
    d = to_jsonable(rep.to_dict())
    return FleetResult(
        operation=operation,
        inputs=req.model_dump(mode="json"),
        definitions=dict(FleetResult.FIELD_DEFINITIONS),
        sources=_calibration_sources({o["hardware"]: o.get("calibration") for o in d["options"]}),
        model=_model_key(req.model),
        isl=req.isl,
        osl=req.osl,
        **question,
        **d,
    )


def _model_key(model: str) -> str:
    from tokenfab.catalog.models import get_model

    return get_model(model).key


@request_fields()
def recommend(req: RecommendRequest) -> FleetResult:
    """``tokenfab.planning.fleet.recommend_report`` of the request with its headroom, as a typed result (the demand
    it was sized for under ``demand``). A request with a budget (``power_mw`` or ``racks``) instead of a demand is
    the inverse question: :func:`budget` answers it."""
    if req.power_mw is not None or req.racks is not None:
        if req.rate_rps is not None or req.tokens_per_day is not None:
            raise TokenfabError(
                "a budget (--power-mw / --racks) and a demand (--rate / --tokens-per-day) ask different questions",
                field="budget",
                expected="one of the two",
            )
        # a budget fills the power or racks at the fleet's full capacity: the demand's headroom has nothing to act on
        unused = [
            k
            for k, v in (
                ("peak_to_average", None if req.peak_to_average == _NO_PEAK else req.peak_to_average),
                ("target_peak_utilization", req.target_peak_utilization),
                ("burst_factor", req.burst_factor),
                ("spare_replicas", req.spare_replicas),
            )
            if v is not None
        ]
        if unused:
            raise TokenfabError(
                "sizes a fleet for a demand; a budget (--power-mw / --racks) is filled at full capacity and does not "
                "use it",
                field=unused[0],
                expected="a demand (--rate / --tokens-per-day) with the headroom flags, or a budget without them",
                got=getattr(req, unused[0]),
            )
        shared = req.model_dump(include=set(SweepRequest.model_fields))
        return budget(BudgetRequest(**shared, power_mw=req.power_mw, racks=req.racks))
    hr = fleet.Headroom.make(
        target_peak_utilization=req.target_peak_utilization,
        burst_factor=req.burst_factor,
        spare_replicas=req.spare_replicas,
    )
    rep = fleet.recommend_report(
        req.model,
        req.hardware,
        rate_rps=req.rate_rps,
        tokens_per_day=req.tokens_per_day,
        peak_to_average=req.peak_to_average,
        headroom=hr,
        **req.sweep_kwargs(),
    )
    rate = float(rep.demand_requests_per_s or 0.0)
    demand = {
        **fleet.demand_summary(rate, isl=req.isl, osl=req.osl),
        "given": {"rate_rps": req.rate_rps} if req.rate_rps is not None else {"tokens_per_day": req.tokens_per_day},
    }
    return _fleet_result("recommend", req, rep, demand=to_jsonable(demand))


@request_fields()
def budget(req: BudgetRequest) -> FleetResult:
    """``tokenfab.planning.fleet.budget_report``: per hardware, the most tokens/s within ``power_mw`` or ``racks``."""
    rep = fleet.budget_report(req.model, req.hardware, power_mw=req.power_mw, racks=req.racks, **req.sweep_kwargs())
    budget = {"power_mw": req.power_mw} if req.power_mw is not None else {"racks": req.racks}
    return _fleet_result("budget", req, rep, budget=budget)


__all__ = [
    "BudgetRequest",
    "FleetResult",
    "FrontierRequest",
    "FrontierResult",
    "RecommendRequest",
    "SweepRequest",
    "budget",
    "frontier",
    "recommend",
]
