"""One typed request in, one typed result out: ``fit``, ``estimate``, ``tco`` and ``cost`` (tokenfab.api.schema
describes the envelope every result carries). The CLI commands ``tokenfab fit | estimate | tco | cost`` and the
dashboard's ``/api/fit``, ``/api/estimate``, ``/api/tco`` build these requests and call these functions; nothing above
this module combines the library's calls itself.

    >>> from tokenfab import api
    >>> r = api.fit(api.FitRequest(model="llama-3.1-70b", hardware="h100-sxm", users=16, context=8192))
    >>> r.fits, r.chips_needed
    (True, 3)
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import field_validator

from tokenfab.api.schema import Request, Result, described, request_fields
from tokenfab.core import assumptions
from tokenfab.core.jsonable import to_jsonable
from tokenfab.economics import cost as cost_mod
from tokenfab.economics import tco as tco_mod
from tokenfab.perf import memory, serving

HardwareFiles = list[str] | None

# ----------------------------------------------------------------------------------------------------------- fit


class LayoutRequest(Request):
    """A model on a hardware with an optional layout and precisions (the fields fit and estimate share)."""

    model: str = described("bundled model key (tokenfab catalog models), or a Hugging Face config.json path or folder")
    hardware: str = described("hardware key or alias (tokenfab catalog hardware)")
    gpus: int | None = described("chips in one model replica (default: the fewest that fit)", "chips", default=None)
    tp: int | None = described("tensor-parallel degree (GPUs sharing each layer)", default=None)
    pp: int | None = described("pipeline-parallel stages", default=None)
    dp: int | None = described("attention data-parallel copies", default=None)
    ep: int | None = described("expert-parallel degree (MoE models)", default=None)
    weights: str | None = described(
        "weight precision: bf16|fp16|fp8|fp4|int8|int4|mxfp4|nvfp4 (default: the checkpoint's)", default=None
    )
    kv: str | None = described("KV-cache precision (default: weights for 16/8-bit, fp8 for 4-bit)", default=None)
    hardware_files: HardwareFiles = described(
        "extra hardware YAML/TOML/JSON files (later files win over the catalog)", default=None
    )


class FitRequest(LayoutRequest):
    """Does a model fit, and on how many chips, nodes and racks (``tokenfab fit``)."""

    users: int = described("concurrent sequences (the concurrency of estimate)", "sequences", default=1)
    context: int | None = described(
        "tokens per sequence (input + output; default 4096, or isl + osl)", "tokens", default=None
    )
    isl: int | None = described("input tokens per sequence (with osl, instead of context)", "tokens", default=None)
    osl: int | None = described("output tokens per sequence (with isl, instead of context)", "tokens", default=None)
    params: float | None = described("override the parameter count (all weights at one precision)", default=None)
    include_overheads: bool = described(
        "count activations and the runtime reserve (False: weights + KV only)",
        default=True,
        source="src/tokenfab/data/assumptions.yaml memory.runtime_overhead_fraction",
    )
    chip_memory_gib: float | None = described("size against a hypothetical chip of this memory", "GiB", default=None)
    chips_per_rack: int | None = described("chips per rack (default: the catalog's)", "chips", default=None)


class FitResult(Result):
    """Memory per GPU (weights, KV cache, activations, runtime reserve) and the chips, nodes and racks needed."""

    FIELD_DEFINITIONS: ClassVar[dict[str, str]] = {
        "memory_per_gpu_gib": "weights + KV + activations + runtime reserve on one GPU (GiB = 2^30 bytes)",
        "chips_needed": "the fewest chips whose memory holds the whole deployment",
        "max_concurrent_sequences": "sequences of context_tokens this layout holds",
        "headroom_per_gpu_gib": "capacity - memory per GPU (negative: short by this much)",
    }

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
    activations_gib: float
    runtime_overhead_gib: float
    total_gib: float
    memory_per_gpu_gib: float
    capacity_per_gpu_gib: float
    headroom_per_gpu_gib: float
    fits: bool
    max_concurrent_sequences: int
    chips_needed: int
    chips_needed_exact: float
    nodes_needed: int
    racks_needed: int
    racks_needed_exact: float
    chips_per_node: int
    chips_per_rack: int
    memory_kind: str
    per_gpu: dict[str, Any]
    weights_by_component_gib: dict[str, Any]
    message: str
    units_note: str
    reservation_note: str


# the context `tokenfab fit` sizes for when none is given (data/assumptions.yaml demand.fit_context_tokens, cited)
DEFAULT_CONTEXT_TOKENS = int(assumptions.value("demand", "fit_context_tokens"))


def fit_context_tokens(req: FitRequest) -> int:
    """The tokens per sequence the fit sizes for: ``context``, or ``isl + osl`` (the words of estimate and the
    sweeps), or DEFAULT_CONTEXT_TOKENS; ``context`` with ``isl``/``osl`` is refused (two answers to one question)."""
    from tokenfab.core.errors import TokenfabError

    lengths = [x for x in (req.isl, req.osl) if x is not None]
    if req.context is not None and lengths:
        raise TokenfabError(
            "give the context or the input and output lengths", field="context", expected="--context, or --isl/--osl"
        )
    if lengths:
        from tokenfab.core.inputs import check_inputs

        check_inputs(isl=req.isl, osl=req.osl)  # each in range, named as given (their sum is the context)
        return sum(lengths)
    return DEFAULT_CONTEXT_TOKENS if req.context is None else req.context


@request_fields()
def fit(req: FitRequest) -> FitResult:
    """``tokenfab.perf.memory.fit`` of the request, as a typed result."""
    r = memory.fit(
        req.model,
        req.hardware,
        gpus=req.gpus,
        tp=req.tp,
        pp=req.pp,
        dp=req.dp,
        ep=req.ep,
        weights=req.weights,
        kv=req.kv,
        users=req.users,
        context=fit_context_tokens(req),
        params=req.params,
        include_overheads=req.include_overheads,
        chip_memory_gib=req.chip_memory_gib,
        chips_per_rack=req.chips_per_rack,
        hardware_files=req.hardware_files,
    )
    d = to_jsonable(r.to_dict())
    from tokenfab.catalog.hardware import redefined_note

    note = redefined_note([r.hardware], req.hardware_files)  # a bundled chip a file redefines is named
    return FitResult(
        operation="fit",
        inputs=req.model_dump(mode="json"),
        definitions=dict(FitResult.FIELD_DEFINITIONS),
        warnings=[note] if note else [],
        **d,
    )


# ------------------------------------------------------------------------------------------------------ estimate


class EstimateRequest(LayoutRequest):
    """TTFT, TPOT and throughput of one configuration (``tokenfab estimate``)."""

    isl: int = described("input tokens per request", "tokens", default=1024)
    osl: int = described("output tokens per request", "tokens", default=1024)
    concurrency: int | str | None = described(
        "concurrent requests, or 'max' / None: the largest that fits (closed loop)", "requests", default=None
    )
    rate_rps: float | None = described(
        "open loop: requests per second instead of a concurrency", "requests/s", default=None
    )
    engine: str | None = described(
        "serving engine (tokenfab catalog engines; default: the hardware vendor's)",
        default=None,
        source="src/tokenfab/data/engines.yaml",
    )
    spec_method: str | None = described(
        "speculative decoding: off | auto (the model's MTP heads) | mtp | eagle3 | dspark", default=None
    )
    mtp_draft_tokens: int | None = described(
        "speculative / MTP draft tokens per step (None: not given; the method's default, 1)", "tokens", default=None
    )
    mtp_acceptance_length: float | None = described(
        "mean tokens accepted per step, 1..1+draft (default: the published figure)",
        "tokens/step",
        default=None,
        source="src/tokenfab/data/speculative.yaml",
    )
    prefix_hit_rate: float = described("prefix-cache hit rate in [0, 1)", "fraction", default=0.0)
    calibration: str | None = described(
        "calibration profile JSON (default: the bundled fit)", default=None, source="src/tokenfab/data/calibration.json"
    )

    @field_validator("concurrency", mode="before")
    @classmethod
    def _whole_number_text(cls, v: Any) -> Any:
        """``"16"`` (a CLI flag's text) is the number 16; other text (``max``, or a mistake) goes to the library's
        check, which names the field and what it takes."""
        if isinstance(v, str) and v.strip().isdigit():
            return int(v.strip())
        return v


class EstimateResult(Result):
    """A calibrated roofline estimate of one configuration, with its error bands and the profile it rests on."""

    FIELD_DEFINITIONS: ClassVar[dict[str, str]] = dict(serving.DEFINITIONS)

    memory_fit: FitResult | None = described(
        "when the configuration does not fit: the memory model's breakdown of the same layout and precisions",
        default=None,
    )

    @property
    def overload_message(self) -> str:
        """The warning that says an open-loop rate is beyond what the deployment sustains ('' when it is not)."""
        return next((w for w in self.warnings if w.startswith("overloaded")), "")

    model: str
    hardware: str
    engine: str
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
    ttft_ms: float | None
    tpot_ms: float | None
    e2el_ms: float | None
    tokens_per_s_per_user: float | None
    output_tokens_per_s: float | None
    input_tokens_per_s: float | None
    total_tokens_per_s: float | None
    output_tokens_per_s_per_gpu: float | None
    input_tokens_per_s_per_gpu: float | None
    total_tokens_per_s_per_gpu: float | None
    requests_per_s: float | None
    concurrency: float | None
    concurrency_cap: float | None
    memory_per_gpu_gib: float | None
    fits: bool
    bound: str
    breakdown: dict[str, Any]
    decode_step_ms: float | None
    prefill_ms: float | None
    latency_percentiles: dict[str, Any]
    calibration: dict[str, Any]
    speculative: dict[str, Any]
    uncertainty: dict[str, Any]
    prefix_hit_rate: float | None
    overloaded: bool
    max_sustainable_rate_rps: float | None
    mtp_draft_tokens: int
    mtp_acceptance_length: float | None
    prefill_gpu_time_share: float | None = None


@request_fields()
def estimate(req: EstimateRequest) -> EstimateResult:
    """``tokenfab.perf.serving.estimate`` of the request, as a typed result (an open-loop rate the deployment cannot
    sustain gives ``overloaded=True`` and a warning, with null latencies)."""
    e = serving.estimate(
        req.model,
        req.hardware,
        gpus=req.gpus,
        tp=req.tp,
        pp=req.pp,
        ep=req.ep,
        dp=req.dp,
        weights=req.weights,
        kv=req.kv,
        isl=req.isl,
        osl=req.osl,
        concurrency=req.concurrency,
        rate_rps=req.rate_rps,
        engine=req.engine,
        spec_method=req.spec_method,
        mtp_draft_tokens=req.mtp_draft_tokens,
        mtp_acceptance_length=req.mtp_acceptance_length,
        prefix_hit_rate=req.prefix_hit_rate,
        calibration=req.calibration,
        hardware_files=req.hardware_files,
    )
    d = to_jsonable(e.to_dict())
    sources = {"calibration": d["calibration"].get("sources")} if d["calibration"].get("sources") else {}
    if d["speculative"].get("source"):
        sources["speculative_acceptance"] = d["speculative"]["source"]
    memory_fit = None
    if not d["fits"]:  # what does not fit, from the memory model (same layout and precisions)
        memory_fit = fit(
            FitRequest(
                model=req.model,
                hardware=req.hardware,
                gpus=d["gpus"],
                tp=d["tp"],
                pp=d["pp"],
                dp=d["dp"],
                ep=d["ep"],
                weights=d["weights"],
                kv=d["kv"],
                hardware_files=req.hardware_files,
            )
        )
    return EstimateResult(
        operation="estimate", inputs=req.model_dump(mode="json"), sources=sources, memory_fit=memory_fit, **d
    )


# ----------------------------------------------------------------------------------------------------------- tco

_TCO_DEFAULT = "src/tokenfab/data/tco_presets.yaml (the preset, then its defaults)"


class TcoRequest(Request):
    """$ per GPU-hour from a preset and any of the TCO inputs (``tokenfab tco``). Every input left out comes from the
    preset, then from the named defaults of data/tco_presets.yaml, each with its source in the result."""

    hardware: str = described("hardware key or alias (tokenfab catalog hardware)")
    preset: str | None = described(
        "TCO preset (tokenfab catalog presets; default owned-neocloud)",
        default=None,
        source="src/tokenfab/data/tco_presets.yaml",
    )
    hardware_files: HardwareFiles = described("extra hardware YAML/TOML/JSON files", default=None)
    price_usd_per_gpu_hour: float | None = described(
        "TCO input: price usd per gpu hour (left out: the preset's, then the named default)",
        "USD per wall-clock GPU-hour",
        default=None,
        source=_TCO_DEFAULT,
    )
    utilization: float | None = described(
        "TCO input: utilization (left out: the preset's, then the named default)",
        "fraction of wall-clock hours busy",
        default=None,
        source=_TCO_DEFAULT,
    )
    capex_usd_per_gpu: float | None = described(
        "TCO input: capex usd per gpu (left out: the preset's, then the named default)",
        "USD per GPU (the system bill of materials; or server share before adders)",
        default=None,
        source=_TCO_DEFAULT,
    )
    networking_capex_fraction: float | None = described(
        "TCO input: networking capex fraction (left out: the preset's, then the named default)",
        "fraction of server capex",
        default=None,
        source=_TCO_DEFAULT,
    )
    networking_capex_usd_per_gpu: float | None = described(
        "TCO input: networking capex usd per gpu (left out: the preset's, then the named default)",
        "USD per GPU",
        default=None,
        source=_TCO_DEFAULT,
    )
    installation_capex_fraction: float | None = described(
        "TCO input: installation capex fraction (left out: the preset's, then the named default)",
        "fraction of server capex",
        default=None,
        source=_TCO_DEFAULT,
    )
    installation_capex_usd_per_gpu: float | None = described(
        "TCO input: installation capex usd per gpu (left out: the preset's, then the named default)",
        "USD per GPU",
        default=None,
        source=_TCO_DEFAULT,
    )
    life_years: float | None = described(
        "TCO input: life years (left out: the preset's, then the named default)",
        "years",
        default=None,
        source=_TCO_DEFAULT,
    )
    residual_value_fraction: float | None = described(
        "TCO input: residual value fraction (left out: the preset's, then the named default)",
        "fraction of all-in capex at end of life",
        default=None,
        source=_TCO_DEFAULT,
    )
    wacc: float | None = described(
        "TCO input: wacc (left out: the preset's, then the named default)",
        "fraction per year",
        default=None,
        source=_TCO_DEFAULT,
    )
    it_kw_per_gpu: float | None = described(
        "TCO input: it kw per gpu (left out: the preset's, then the named default)",
        "kW of IT load per GPU (provisioned)",
        default=None,
        source=_TCO_DEFAULT,
    )
    idle_power_fraction: float | None = described(
        "TCO input: idle power fraction (left out: the preset's, then the named default)",
        "fraction of IT power drawn when idle",
        default=None,
        source=_TCO_DEFAULT,
    )
    pue: float | None = described(
        "TCO input: pue (left out: the preset's, then the named default)",
        "facility kW / IT kW",
        default=None,
        source=_TCO_DEFAULT,
    )
    all_in_kw_per_gpu: float | None = described(
        "TCO input: all in kw per gpu (left out: the preset's, then the named default)",
        "kW per GPU, all-in (facility)",
        default=None,
        source=_TCO_DEFAULT,
    )
    usd_per_kwh: float | None = described(
        "TCO input: usd per kwh (left out: the preset's, then the named default)",
        "USD per kWh",
        default=None,
        source=_TCO_DEFAULT,
    )
    colocation_usd_per_kw_month: float | None = described(
        "TCO input: colocation usd per kw month (left out: the preset's, then the named default)",
        "USD per kW of IT per month",
        default=None,
        source=_TCO_DEFAULT,
    )
    facility_capex_usd_per_kw: float | None = described(
        "TCO input: facility capex usd per kw (left out: the preset's, then the named default)",
        "USD per kW of IT",
        default=None,
        source=_TCO_DEFAULT,
    )
    facility_life_years: float | None = described(
        "TCO input: facility life years (left out: the preset's, then the named default)",
        "years",
        default=None,
        source=_TCO_DEFAULT,
    )
    maintenance_fraction_per_year: float | None = described(
        "TCO input: maintenance fraction per year (left out: the preset's, then the named default)",
        "fraction of all-in capex per year",
        default=None,
        source=_TCO_DEFAULT,
    )
    software_usd_per_gpu_hour: float | None = described(
        "TCO input: software usd per gpu hour (left out: the preset's, then the named default)",
        "USD per wall-clock GPU-hour",
        default=None,
        source=_TCO_DEFAULT,
    )


def tco_overrides(req: TcoRequest) -> dict[str, float]:
    """The TCO inputs a request gives (left-out ones are not overrides)."""
    return {k: float(v) for k in tco_mod.INPUT_FIELDS if (v := getattr(req, k)) is not None}


class TcoResult(Result):
    """$ per busy GPU-hour (and per wall-clock hour) with its sourced breakdown."""

    FIELD_DEFINITIONS: ClassVar[dict[str, str]] = {
        "usd_per_gpu_hour": "USD per busy (useful) GPU-hour = wall-clock cost per hour / utilization",
        "usd_per_gpu_hour_wallclock": "USD per calendar GPU-hour",
        "breakdown": "component -> USD per busy GPU-hour (sums to usd_per_gpu_hour)",
        "shares": "component -> share of life spend (sums to 1)",
        "life_spend_usd_per_gpu": "what one GPU costs over life_years, USD: its life (owned), a reservation's term "
        "or one year (rented, a quoted price)",
    }

    hardware: str
    preset: str | None
    preset_defaulted: bool
    method: Literal["owned", "price"]
    usd_per_gpu_hour: float
    usd_per_gpu_hour_wallclock: float
    usd_per_gpu_hour_definition: str
    utilization: float
    utilization_basis: str
    system: str | None
    capex_lines: list[dict[str, Any]]
    breakdown: dict[str, float]
    breakdown_wallclock: dict[str, float]
    capital_split: dict[str, float]
    shares: dict[str, float]
    life_years: float
    life_spend_usd_per_gpu: float
    capex_usd_per_gpu_all_in: float | None
    it_kw_per_gpu: float | None
    all_in_kw_per_gpu: float | None
    avg_it_kw_per_gpu: float | None
    units: dict[str, str]
    rule_of_thumb: str
    component_descriptions: dict[str, str]


def _tco(req: TcoRequest) -> tco_mod.TcoResult:
    return tco_mod.tco(req.hardware, req.preset, hardware_files=req.hardware_files, **tco_overrides(req))


def _tco_result(req: TcoRequest, t: tco_mod.TcoResult) -> TcoResult:
    d = to_jsonable(t.to_dict())
    resolved = d.pop("inputs")
    return TcoResult(
        operation="tco",
        inputs={"hardware": d["hardware"], "preset": d["preset"], **resolved},
        definitions=dict(TcoResult.FIELD_DEFINITIONS),
        component_descriptions=dict(tco_mod.COMPONENT_DESCRIPTIONS),
        **d,
    )


@request_fields()
def tco(req: TcoRequest) -> TcoResult:
    """``tokenfab.economics.tco.tco`` of the request, as a typed result (``inputs`` holds every TCO input the figure
    used, the request's and the defaults')."""
    return _tco_result(req, _tco(req))


# ---------------------------------------------------------------------------------------------------------- cost


class CostRequest(TcoRequest):
    """$ per million tokens, tokens/s per MW and J/token at a throughput (``tokenfab cost``): the TCO of the request
    prices the GPU-hour, the throughput divides it."""

    total_tokens_per_s_per_gpu: float | None = described(
        "(input + output) tokens/s per GPU while busy", "tokens/s/GPU", default=None
    )
    input_tokens_per_s_per_gpu: float | None = described("input tokens/s per GPU", "tokens/s/GPU", default=None)
    output_tokens_per_s_per_gpu: float | None = described("output tokens/s per GPU", "tokens/s/GPU", default=None)
    cached_input_cost_fraction: float = described(
        "cost of a cached input token / an uncached one",
        "fraction",
        default=cost_mod.CACHED_INPUT_COST_FRACTION,
        source="prompt-caching price ratios (Anthropic, OpenAI), cited at CACHED_INPUT_COST_FRACTION in "
        "src/tokenfab/economics/cost.py",
    )
    prefill_gpu_time_share: float | None = described(
        "share of GPU time spent on prefill (splits the cost into input and output)", "fraction", default=None
    )
    cached_input_share: float = described("share of input tokens served from the prefix cache", "fraction", default=0.0)
    per_kind: str = described(
        "how the cost splits by token kind: gpu-time | inferencex", default=cost_mod.DEFAULT_PER_KIND_CONVENTION
    )


class CostResult(Result):
    """Cost and energy per token at a throughput, with the TCO that priced the GPU-hour under ``tco``."""

    FIELD_DEFINITIONS: ClassVar[dict[str, str]] = dict(cost_mod.DEFINITIONS)

    hardware: str
    preset: str | None
    usd_per_gpu_hour: float
    usd_per_gpu_hour_wallclock: float
    utilization: float
    tokens_per_s_per_gpu_total: float | None
    tokens_per_s_per_gpu_input: float | None
    tokens_per_s_per_gpu_output: float | None
    usd_per_mtok_total: float | None
    usd_per_mtok_input: float | None
    usd_per_mtok_output: float | None
    usd_per_mtok_cached_input: float | None
    usd_per_mtok_blended_3to1: float | None
    cached_input_cost_fraction: float
    blend_input_output_ratio: float
    split: str
    all_in_kw_per_gpu: float | None
    it_kw_per_gpu: float | None
    tokens_per_s_per_mw: float | None
    tokens_per_s_per_mw_it: float | None
    joules_per_token: float | None
    joules_per_token_it: float | None
    tokens_per_usd_per_w: float | None
    per_kind_convention: str
    per_kind_convention_text: str
    prefill_gpu_time_share: float | None
    cached_input_share: float
    usd_per_mtok_input_inferencex: float | None
    usd_per_mtok_output_inferencex: float | None
    tco: TcoResult


@request_fields()
def cost(req: CostRequest) -> CostResult:
    """The request's TCO, then ``tokenfab.economics.cost.compute_cost`` at its throughput with that hardware's kW per
    GPU, as one typed result (the TCO under ``tco``)."""
    from tokenfab.core.errors import TokenfabError

    if all(
        x is None
        for x in (req.total_tokens_per_s_per_gpu, req.input_tokens_per_s_per_gpu, req.output_tokens_per_s_per_gpu)
    ):
        raise TokenfabError(
            "no throughput given",
            field="total_tokens_per_s_per_gpu",
            expected="--tokens-per-s-per-gpu T, or --input-tokens-per-s-per-gpu I --output-tokens-per-s-per-gpu O",
        )
    t = _tco(req)
    c = cost_mod.compute_cost(
        t.usd_per_gpu_hour,
        total_tokens_per_s_per_gpu=req.total_tokens_per_s_per_gpu,
        input_tokens_per_s_per_gpu=req.input_tokens_per_s_per_gpu,
        output_tokens_per_s_per_gpu=req.output_tokens_per_s_per_gpu,
        all_in_kw_per_gpu=t.all_in_kw_per_gpu,
        it_kw_per_gpu=t.it_kw_per_gpu,
        cached_input_cost_fraction=req.cached_input_cost_fraction,
        prefill_gpu_time_share=req.prefill_gpu_time_share,
        cached_input_share=req.cached_input_share,
        per_kind=req.per_kind,
    )
    tr = _tco_result(req, t)
    d = to_jsonable(c.to_dict())
    return CostResult(
        operation="cost",
        inputs=req.model_dump(mode="json"),
        sources=dict(tr.sources),
        hardware=tr.hardware,
        preset=tr.preset,
        usd_per_gpu_hour_wallclock=tr.usd_per_gpu_hour_wallclock,
        utilization=tr.utilization,
        tco=tr,
        **d,
    )


__all__ = [
    "CostRequest",
    "CostResult",
    "EstimateRequest",
    "EstimateResult",
    "FitRequest",
    "FitResult",
    "LayoutRequest",
    "TcoRequest",
    "TcoResult",
    "cost",
    "estimate",
    "fit",
    "tco",
    "tco_overrides",
]
