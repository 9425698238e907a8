"""Provider prices beside tokenfab's modeled cost as typed operations: ``prices`` (``tokenfab prices``: implied gross
margin and a verdict per provider, at frontier tiers or at a plan's operating point) and ``price_models`` (``tokenfab
prices --list``: which models have provider prices).

    >>> from tokenfab import api
    >>> r = api.prices(api.PricesRequest(model="llama-3.3-70b", tiers=["goldilocks"]))
    >>> r.operation, r.modeled_model
    ('prices', 'llama-3.3-70b')
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import field_validator

from tokenfab.api import defaults as D
from tokenfab.api.plan_pricing import price_check_at_plan
from tokenfab.api.schema import Request, Result, described, request_fields, split_list
from tokenfab.core.errors import TokenfabError
from tokenfab.core.jsonable import to_jsonable
from tokenfab.economics import cost as cost_mod
from tokenfab.market import pricing


class PricesRequest(Request):
    """Provider list prices for a model beside its modeled cost (``tokenfab prices``)."""

    model: str | None = described(
        "catalog model, or a closed model with a stand-in (tokenfab prices --list); with ``plan``: default the "
        "plan's model",
        default=None,
    )
    hardware: list[str] | None = described("hardware keys to model the cost on (default h100-sxm)", default=None)
    provider: list[str] | None = described("only these genai-prices provider ids", default=None)
    provider_model: str | None = described("a genai-prices model id of the provider to price instead", default=None)
    compare_with: str | None = described("model the cost of this catalog model instead (a stand-in)", default=None)
    preset: str | None = described(
        "TCO preset (default owned-neocloud)", default=None, source="src/tokenfab/data/tco_presets.yaml"
    )
    price_usd_per_gpu_hour: float | None = described(
        "a plain price per wall-clock GPU-hour instead of the TCO model", "USD per wall-clock GPU-hour", default=None
    )
    isl: int = described("input tokens per request", "tokens", default=1024)
    osl: int = described("output tokens per request", "tokens", default=1024)
    tiers: list[str] = described(
        "operating points: bulk, goldilocks, premium",
        default_factory=lambda: list(pricing.DEFAULT_TIERS),
        source="src/tokenfab/data/assumptions.yaml tiers",
    )
    weights: str | None = described("weights precision of the modeled cost (default: the checkpoint's)", default=None)
    prices_file: str | None = described("your own prices (YAML/JSON), added to the bundled ones", default=None)
    utilization: float | None = described(
        "price the modeled GPU-hour at this busy share, in (0, 1] (default: the one named default)",
        "fraction",
        default=None,
        source="src/tokenfab/data/tco_presets.yaml defaults.utilization",
    )
    plan: str | None = described(
        "a scenario YAML: price at that plan's operating point and average fleet utilization", default=None
    )
    plan_months: int | None = described("with plan: months to plan (default the horizon)", "months", default=None)
    per_kind: str = described(
        "per-token-kind convention of the modeled cost: gpu-time or inferencex",
        default=cost_mod.DEFAULT_PER_KIND_CONVENTION,
    )
    engine: str | dict[str, str] | None = described(
        "serving engine for all hardware, or per hardware (default: each vendor's)", default=None
    )
    spec: bool | str | dict[str, Any] = described(
        "speculative decoding with the model's MTP heads where the engine runs them (true: with and without)",
        default=True,
    )
    hardware_files: list[str] | None = described("extra hardware YAML/TOML/JSON files", default=None)

    @field_validator("hardware", "provider", "tiers", mode="before")
    @classmethod
    def _lists(cls, v: Any) -> Any:
        return split_list(v)


class PricesResult(Result):
    """Provider prices, the modeled cost at each operating point, and a margin and verdict per pair."""

    model: str
    priced_model: str
    modeled_model: str
    kind: str
    stand_in_rationale: str | None
    isl: int
    osl: int
    preset: str | None
    weights: str | None
    hardware: list[str]
    tiers: list[str]
    prices: list[dict[str, Any]]
    operating_points: dict[str, Any]
    comparisons: list[dict[str, Any]]
    mapping: dict[str, Any]
    sustainable_margin_pct: float
    verdicts: dict[str, str]
    api_interactivity_tokens_per_s_per_user: float | None
    comparable_min_tokens_per_s_per_user: float | None
    price_data: dict[str, Any]
    per_kind_convention: str
    per_kind_convention_text: str
    utilization: float | None
    prior_hardware: list[str]
    calibration_notes: list[str]


@request_fields()
def prices(req: PricesRequest) -> PricesResult:
    """``tokenfab.market.pricing.price_check`` of the request at frontier tiers, or, with ``plan``,
    ``price_check_at_plan`` at the plan's operating point. The modeled weights default to the checkpoint's, as in
    every command (tokenfab.api.defaults)."""
    if req.plan:
        r = price_check_at_plan(
            req.plan,
            model=req.model,
            hardware=req.hardware,
            months=req.plan_months,
            provider=req.provider,
            provider_model=req.provider_model,
            compare_with=req.compare_with,
            prices_file=req.prices_file,
            per_kind=req.per_kind,
            hardware_files=req.hardware_files,
        )
    else:
        if not req.model:
            raise TokenfabError("no model given", field="model", expected="--model KEY (see --list)")
        weights = req.weights or D.default_weights(pricing.resolve(req.model, compare_with=req.compare_with).open_model)
        r = pricing.price_check(
            req.model,
            req.hardware,
            provider=req.provider,
            provider_model=req.provider_model,
            compare_with=req.compare_with,
            preset=req.preset,
            usd_per_gpu_hour=req.price_usd_per_gpu_hour,
            isl=req.isl,
            osl=req.osl,
            tiers=req.tiers,
            hardware_files=req.hardware_files,
            weights=weights,
            utilization=req.utilization,
            prices_file=req.prices_file,
            per_kind=req.per_kind,
            engine=req.engine,
            speculative=req.spec,
        )
    d = to_jsonable(r.to_dict())
    pd = d.get("price_data") or {}
    sources = {
        "list_prices": f"{pd.get('package', 'genai-prices')} {pd.get('version', '')} "
        f"(snapshot {pd.get('snapshot_date')})",
        "mapping": "src/tokenfab/data/price_models.yaml",
        "modeled_cost": "tokenfab.search.frontier (calibration: src/tokenfab/data/calibration.json; TCO: "
        "src/tokenfab/data/tco_presets.yaml)",
    }
    if req.prices_file:
        sources["user_prices"] = req.prices_file
    return PricesResult(operation="prices", inputs=req.model_dump(mode="json"), sources=sources, **d)


class PriceModelsResult(Result):
    """The models with provider prices: open models by their providers, closed models with their stand-in."""

    FIELD_DEFINITIONS: ClassVar[dict[str, str]] = {
        "open": "catalog model -> providers with a list price",
        "closed": "closed model -> its stand-in open model and the providers",
        "price_data": "the bundled genai-prices snapshot (source, as of)",
    }

    open: dict[str, list[str]]
    closed: dict[str, dict[str, Any]]
    price_data: dict[str, Any]


def price_models() -> PriceModelsResult:
    """Which models ``prices`` can price (data/price_models.yaml over the bundled genai-prices snapshot)."""
    mp = pricing.price_mapping()
    return PriceModelsResult(
        operation="price_models",
        definitions=dict(PriceModelsResult.FIELD_DEFINITIONS),
        open={k: sorted({e["provider"] for e in v["prices"]}) for k, v in mp["models"].items()},
        closed={
            k: {"stand_in": v["stand_in"], "providers": [e["provider"] for e in v["prices"]]}
            for k, v in mp["comparables"].items()
        },
        price_data=to_jsonable(pricing.genai_prices_snapshot()),
    )


__all__ = ["PriceModelsResult", "PricesRequest", "PricesResult", "price_models", "prices"]
