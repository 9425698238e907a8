"""The one set of defaults every command and the dashboard use, and the header line that states them.

Every value comes from the library (nothing is decided here): weights = the checkpoint's precision
(``ModelSpec.native_weights``), KV = ``catalog.precision.default_kv_precision`` of the weights, engine = each hardware
vendor's (``catalog.engines.default_engine``), SLA percentile = ``perf.queueing.DEFAULT_PERCENTILE``, TCO preset =
``economics.tco.DEFAULT_PRESET``, utilization = ``economics.tco.default_utilization()`` (data/tco_presets.yaml).
``tokenfab prices`` follows them too (the library's price check models 16-bit checkpoints at FP8 unless told
otherwise; the CLI passes the checkpoint's precision so that ``prices`` and ``sensitivity`` about the same model agree).
"""

from __future__ import annotations

from functools import lru_cache

from tokenfab.render import format as F

SEP = F.SEP


@lru_cache(maxsize=1)
def defaults() -> dict:
    """The defaults as data (for ``/api/meta`` and the docs): each with its value and how it is chosen."""
    from tokenfab.catalog.engines import default_engine
    from tokenfab.catalog.hardware import catalog
    from tokenfab.economics.tco import DEFAULT_PRESET, default_utilization
    from tokenfab.perf.queueing import DEFAULT_PERCENTILE

    engines: dict[str, str] = {}
    for hw in catalog().values():
        v = str(getattr(hw, "vendor", "") or "")
        if v and v not in engines:
            engines[v] = default_engine(hw).key
    return {
        "weights": {"value": None, "text": "the checkpoint's precision"},
        "kv": {"value": None, "text": "16-bit weights: the same; 8- and 4-bit weights: fp8"},
        "engine": {"value": None, "by_vendor": dict(sorted(engines.items())), "text": "each hardware vendor's engine"},
        "percentile": {"value": DEFAULT_PERCENTILE, "text": f"latency limits at {DEFAULT_PERCENTILE}"},
        "preset": {"value": DEFAULT_PRESET, "text": f"TCO preset {DEFAULT_PRESET}"},
        "utilization": {"value": default_utilization(), "text": f"{default_utilization():g} busy"},
        "concurrency": {"value": "max", "text": "the most requests that fit in memory"},
        "isl": {"value": 1024, "text": "1,024 input tokens"},
        "osl": {"value": 1024, "text": "1,024 output tokens"},
    }


def default_weights(model) -> str:
    """The weights precision a command uses when none is given: the checkpoint's."""
    from tokenfab.catalog.models import get_model

    return get_model(model).native_weights


# the wording of the settings lives with the formatting (tokenfab.render.format) so the report can use it too
header_line = F.header_line
precision_setting = F.precision_setting
tco_setting = F.tco_setting
engine_setting = F.engine_setting


__all__ = [
    "SEP",
    "default_weights",
    "defaults",
    "engine_setting",
    "header_line",
    "precision_setting",
    "tco_setting",
]
