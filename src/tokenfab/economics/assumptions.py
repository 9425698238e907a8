"""Named economic defaults beyond the TCO inputs, read from data/economics.yaml: fleet headroom (target peak
utilization, burst window and percentile, arrival CV, spare replicas), the target gross margin, the interactivity
floors of the token tiers and the age after which a list price is stale. Each figure keeps its citation.

The one utilization default lives with the TCO inputs (data/tco_presets.yaml ``defaults.utilization``,
:data:`tokenfab.economics.tco.DEFAULT_UTILIZATION`).
"""

from __future__ import annotations

import copy
from functools import lru_cache

from tokenfab.core.data import data_path, read_yaml
from tokenfab.core.errors import TokenfabError


@lru_cache(maxsize=1)
def _raw() -> dict:
    raw = read_yaml(data_path("economics.yaml"))
    if not isinstance(raw, dict):
        raise TokenfabError("malformed economics defaults", field="economics.yaml")
    return raw


def load_economics() -> dict:
    """A copy of data/economics.yaml (every figure is {value, unit, source, as_of})."""
    return copy.deepcopy(_raw())


def figure(*path: str) -> dict:
    """The figure at ``path`` (e.g. ``figure("headroom", "target_peak_utilization")``): {value, unit, source, as_of}."""
    node = _raw()
    for p in path:
        if not isinstance(node, dict) or p not in node:
            raise TokenfabError("no such economic default", field=".".join(path))
        node = node[p]
    if not isinstance(node, dict) or "value" not in node:
        raise TokenfabError("not a figure", field=".".join(path))
    return dict(node)


def value(*path: str) -> float:
    return float(figure(*path)["value"])


def cite(*path: str) -> str:
    """``source (as of ...)`` of the figure at ``path``."""
    f = figure(*path)
    return f"{f.get('source', '')} (as of {f.get('as_of')})" if f.get("as_of") else f.get("source", "")


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
