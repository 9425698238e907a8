"""`tokenfab sensitivity --model`: the operating point a sensitivity analysis starts from, a frontier tier of a
model on one hardware, with the throughput band of that point (perf/uncertainty.py) for the model-error bar of the
tornado and the model-error draws of the Monte Carlo (economics.sensitivity)."""

from __future__ import annotations

from tokenfab import search
from tokenfab.core.errors import TokenfabError, UnknownKeyError

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


__all__ = ["operating_point"]
