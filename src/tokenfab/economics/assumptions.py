"""Named economic defaults beyond the TCO inputs, read from data/assumptions.yaml through the one accessor
(tokenfab.core.assumptions): fleet headroom (target peak
utilization, burst window and percentile, arrival CV, spare replicas), the target gross margin, the interactivity
floors of the token tiers and the age after which a list price is stale. Each figure keeps its citation.

The one utilization default lives with the TCO inputs (data/tco_presets.yaml ``defaults.utilization``,
:data:`tokenfab.economics.tco.DEFAULT_UTILIZATION`).
"""

from __future__ import annotations

from tokenfab.core.assumptions import cite, figure, value
from tokenfab.core.assumptions import load_assumptions as load_economics

# the named defaults (module constants so callers and docs can refer to them by name)
TARGET_PEAK_UTILIZATION = value("headroom", "target_peak_utilization")
BURST_WINDOW_S = value("headroom", "burst_window_s")
BURST_PERCENTILE = value("headroom", "burst_percentile")
ARRIVAL_CV = value("headroom", "arrival_cv")
SPARE_REPLICAS_PER_GROUP = int(value("headroom", "spare_replicas_per_group"))
TARGET_GROSS_MARGIN_PCT = value("margins", "target_gross_margin_pct")
STALE_PRICE_AFTER_DAYS = value("prices", "stale_after_days")
TIER_FLOORS_TOKENS_PER_S_PER_USER = {
    t: value("tiers", t, "min_tokens_per_s_per_user") for t in ("bulk", "goldilocks", "premium")
}

__all__ = [
    "ARRIVAL_CV",
    "BURST_PERCENTILE",
    "BURST_WINDOW_S",
    "SPARE_REPLICAS_PER_GROUP",
    "STALE_PRICE_AFTER_DAYS",
    "TARGET_GROSS_MARGIN_PCT",
    "TARGET_PEAK_UTILIZATION",
    "TIER_FLOORS_TOKENS_PER_S_PER_USER",
    "cite",
    "figure",
    "load_economics",
    "value",
]
