"""`tokenfab sensitivity` as one typed operation: the tornado of $ per M tokens against each input, an optional
seeded Monte Carlo of cost and margin, and (given a model instead of a throughput) the operating point the analysis
starts from, a frontier tier of the model on one hardware with the throughput band of that point
(perf/uncertainty.py) for the model-error bar of the tornado and the model-error draws of the Monte Carlo
(economics.sensitivity)."""

from __future__ import annotations

from typing import Any, ClassVar

from tokenfab import search
from tokenfab.api.operations import TcoRequest, tco_overrides
from tokenfab.api.schema import Result, described, request_fields
from tokenfab.core.errors import TokenfabError, UnknownKeyError
from tokenfab.economics import sensitivity as sens

TIERS = ("bulk", "goldilocks", "premium")


def operating_point(
    model: str,
    hardware: str,
    *,
    isl: int,
    osl: int,
    tier: str,
    preset=None,
    usd_per_gpu_hour=None,
    hardware_files=None,
    weights: str | None = None,
    tco_overrides: dict | None = None,
) -> dict:
    """The throughput of ``model`` on ``hardware`` at a frontier tier (bulk, goldilocks, premium), with its
    calibration status and ``throughput_band`` ({lo, hi, source}: the point's p10 / p90 over its value; None
    without a band)."""
    tier = str(tier).strip().lower()
    if tier not in TIERS:
        raise UnknownKeyError("tier", tier, TIERS, field="tier")
    fr = search.frontier(
        model,
        hardware,
        isl=isl,
        osl=osl,
        preset=preset,
        usd_per_gpu_hour=usd_per_gpu_hour,
        hardware_files=hardware_files,
        weights=weights,
        tco_overrides=tco_overrides,
    )
    p = fr.tiers().get(tier)
    if p is None:
        raise TokenfabError(
            f"no {tier} point for {model} on {hardware}",
            field="tier",
            hint=fr.tiers().get("goldilocks_note") or "try --tier bulk",
        )
    tps = p["total_tokens_per_s_per_gpu"]
    b = (p.get("uncertainty") or {}).get("total_tokens_per_s_per_gpu")
    band = (
        {
            "lo": b["p10"] / tps,
            "hi": b["p90"] / tps,
            "source": f"the {tier} point of {fr.sweep.model.key} on {p['hardware']}",
        }
        if (b and tps)
        else None
    )
    return {
        "model": fr.sweep.model.key,
        "weights": p["config"].get("weights"),
        "isl": isl,
        "osl": osl,
        "tier": tier,
        "hardware": p["hardware"],
        "mode": p["mode"],
        "layout": search.layout_text(p["config"]),
        "tokens_per_s_per_user": p["tokens_per_s_per_user"],
        "total_tokens_per_s_per_gpu": tps,
        "usd_per_mtok_total": p["usd_per_mtok_total"],
        "uncertainty": dict(p.get("uncertainty") or {}),
        "calibration": dict(p.get("calibration") or {}),
        "prior": bool(p.get("prior", False)),
        "throughput_band": band,
    }


class SensitivityRequest(TcoRequest):
    """What moves the cost per token (``tokenfab sensitivity``): a busy throughput, or a model whose frontier tier
    gives it, priced by the request's TCO."""

    tokens_per_s_per_gpu: float | None = described(
        "busy total (input + output) tokens/s per GPU (or give ``model``)", "tokens/s/GPU", default=None
    )
    model: str | None = described("take the throughput from this model's frontier tier", default=None)
    isl: int = described("with model: input tokens per request", "tokens", default=1024)
    osl: int = described("with model: output tokens per request", "tokens", default=1024)
    tier: str = described("with model: bulk, goldilocks or premium", default="goldilocks")
    weights: str | None = described("with model: weights precision (default: the checkpoint's)", default=None)
    swing_pct: float = described("tornado swing, either way", "%", default=sens.DEFAULT_SWING_PCT)
    monte_carlo: int = described("Monte Carlo draws (0: tornado only)", "draws", default=0)
    seed: int = described("random seed of the Monte Carlo", default=0)
    model_error: bool = described(
        "include the performance model's own error (its p10-p90 throughput band) as a bar and in the draws",
        default=True,
    )
    price_usd_per_mtok: float | None = described(
        "a price: Monte Carlo margin and probability of a loss", "USD per million tokens", default=None
    )


class SensitivityResult(Result):
    """The tornado, the Monte Carlo (or null) and the operating point (or null, when a throughput was given)."""

    FIELD_DEFINITIONS: ClassVar[dict[str, str]] = {
        "tornado": "$ per M tokens with each input at base x (1 -/+ swing), one at a time, sorted by swing",
        "monte_carlo": "percentiles of $ per M tokens (and margin) with every input drawn from its distribution",
        "operating_point": "the model's frontier tier the throughput comes from, with its band",
    }

    tornado: dict[str, Any]
    monte_carlo: dict[str, Any] | None
    operating_point: dict[str, Any] | None


@request_fields()
def sensitivity(req: SensitivityRequest) -> SensitivityResult:
    """The operating point (with ``model``), the tornado and the Monte Carlo (``monte_carlo`` > 0) of the request."""
    from tokenfab.core.jsonable import to_jsonable

    if (req.tokens_per_s_per_gpu is None) == (req.model is None):
        raise TokenfabError(
            "give the throughput or a model",
            field="tokens_per_s_per_gpu",
            expected="--tokens-per-s-per-gpu X, or --model M [--isl --osl --tier] (not both)",
        )
    if req.monte_carlo < 0:
        raise TokenfabError("must be >= 0", field="monte_carlo", expected="a number of draws >= 0", got=req.monte_carlo)
    if req.price_usd_per_mtok is not None and not req.monte_carlo:
        raise TokenfabError(
            "a price needs the Monte Carlo",
            field="price_usd_per_mtok",
            expected="--monte-carlo N with --price-usd-per-mtok",
        )
    overrides = tco_overrides(req)
    op = None
    tps = req.tokens_per_s_per_gpu
    if req.model is not None:
        op = operating_point(
            req.model,
            req.hardware,
            isl=req.isl,
            osl=req.osl,
            tier=req.tier,
            preset=req.preset,
            usd_per_gpu_hour=req.price_usd_per_gpu_hour,
            hardware_files=req.hardware_files,
            weights=req.weights,
            tco_overrides={k: v for k, v in overrides.items() if k != "price_usd_per_gpu_hour"} or None,
        )
        tps = op["total_tokens_per_s_per_gpu"]
    band = op["throughput_band"] if op else None
    common: dict[str, Any] = {
        "tokens_per_s_per_gpu": float(tps or 0.0),
        "preset": req.preset,
        "tco_overrides": overrides,
        "hardware_files": req.hardware_files,
        "throughput_band": band,
        "model_error": req.model_error,
    }
    t = sens.tornado(req.hardware, swing_pct=req.swing_pct, **common)
    mc = None
    if req.monte_carlo:
        mc = sens.monte_carlo(
            req.hardware, n=req.monte_carlo, seed=req.seed, price_usd_per_mtok=req.price_usd_per_mtok, **common
        )
    td = to_jsonable(t.to_dict())
    return SensitivityResult(
        operation="sensitivity",
        inputs=req.model_dump(mode="json"),
        definitions=dict(SensitivityResult.FIELD_DEFINITIONS),
        sources={
            "tco": "src/tokenfab/data/tco_presets.yaml (the preset and its defaults, each input's source in the TCO)",
            "distributions": "src/tokenfab/data/sensitivity_distributions.yaml",
            "swing": "src/tokenfab/data/assumptions.yaml sensitivity.swing_pct",
            "model_error": "the p10-p90 throughput band of perf/uncertainty.py (src/tokenfab/data/calibration.json)",
        },
        notes=list(td.get("notes") or []),
        tornado=td,
        monte_carlo=to_jsonable(mc.to_dict()) if mc else None,
        operating_point=to_jsonable(op) if op else None,
    )


__all__ = ["SensitivityRequest", "SensitivityResult", "operating_point", "sensitivity"]
