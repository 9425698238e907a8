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

SEP = " · "


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


def precision_setting(weights, kv, *, weights_given: bool, kv_given: bool = False) -> str:
    """``weights bf16 (the checkpoint's), KV bf16`` / ``weights fp8, KV fp8`` (several: ``fp8 / bf16``)."""
    w = " / ".join(weights) if isinstance(weights, list | tuple) else str(weights)
    k = " / ".join(kv) if isinstance(kv, list | tuple) else str(kv)
    return f"weights {w}" + ("" if weights_given else " (the checkpoint's)") + f", KV {k}"


def tco_setting(preset, utilization, *, preset_given: bool, utilization_given: bool, price=None) -> str:
    """``TCO owned-neocloud (default), utilization 50% (default)``, or ``$2.10 per GPU-hour (given), ...``."""
    from tokenfab.render.format import pct, usd

    if price is not None:
        head = f"{usd(price)} per GPU-hour (given)"
    else:
        head = f"TCO {preset}" + ("" if preset_given else " (default)")
    if utilization is None:
        return head
    return head + f", utilization {pct(utilization)}" + ("" if utilization_given else " (default)")


def engine_setting(engines, *, given: bool) -> str:
    """``engine trtllm`` / ``engines h100-sxm trtllm, mi300x vllm`` (``(vendor default)`` when not given)."""
    if isinstance(engines, dict):
        vals = sorted(set(engines.values()))
        text = f"engine {vals[0]}" if len(vals) == 1 else "engines " + ", ".join(f"{h} {e}" for h, e in engines.items())
    else:
        text = f"engine {engines}"
    return text + ("" if given else " (vendor default)")


def header_line(subject: str, *settings: str) -> str:
    """The first line of an output: what it is about, then every setting that shapes its numbers."""
    return SEP.join([subject, *(s for s in settings if s)])


__all__ = [
    "SEP",
    "default_weights",
    "defaults",
    "engine_setting",
    "header_line",
    "precision_setting",
    "tco_setting",
]
