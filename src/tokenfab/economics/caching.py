"""Prompt (prefix) caching economics: hit rate → prefill work saved → cost of a cached input token; the KV storage
the cache needs in HBM and host DRAM (pure functions; docs/demand.md).

- Prefill work saved: a request of ``isl`` input tokens whose first ``cached`` tokens are in the cache prefills only
  ``isl - cached`` tokens, attending to the cached ones: FLOPs = models.prefill_flops(model, isl - cached, cached)
  instead of models.prefill_flops(model, isl). The saved share is a little below the token hit rate because the new
  tokens still attend to the cached prefix.
- Cost of a cached input token: w_c x the cost of an uncached input token, w_c = cost.CACHED_INPUT_COST_FRACTION
  (0.1, an assumption matching the 90% discount providers give cached input) unless the scenario says otherwise.
- KV storage, by Little's law (L = λ W): prefixes alive = rate of LLM calls x how long a prefix lives. Prefixes used in
  the last ``hbm_window_s`` stay in HBM; older ones, up to the cache lifetime ``ttl_s``, wait in host DRAM. Bytes per
  prefix = models.kv_cache_bytes(model, cached tokens per call, kv). It is an upper bound: it counts one prefix per
  call; prefixes shared by many calls (a common system prompt) are stored once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tokenfab.catalog import precision as prec
from tokenfab.catalog.models import ModelSpec, get_model, kv_cache_bytes, prefill_flops
from tokenfab.core import units
from tokenfab.core.errors import TokenfabError, require_range
from tokenfab.economics.cost import CACHED_INPUT_COST_FRACTION

DEFINITIONS = {
    "prefix_hit_rate": "cached input tokens / input tokens (share of the prompt found in the prefix cache)",
    "prefill_flops_saved_share": "1 - prefill FLOPs with the cached prefix / prefill FLOPs without it",
    "usd_per_mtok_cached_input": "cached-input cost weight x USD per million uncached input tokens",
    "live_prefixes_hbm": "peak LLM calls/s x hbm_window_s (Little's law): prefixes kept in HBM",
    "live_prefixes_dram": "peak LLM calls/s x (ttl_s - hbm_window_s): prefixes kept in host DRAM",
    "kv_hbm_gib": "live prefixes in HBM x KV bytes per prefix / 2^30 (binary GiB)",
    "kv_dram_gib": "live prefixes in DRAM x KV bytes per prefix / 2^30 (binary GiB)",
}


def prefill_flops_saved_share(model, isl, prefix_hit_rate):
    """Share of a request's prefill FLOPs skipped when ``prefix_hit_rate`` of its ``isl`` tokens are cached."""
    m = get_model(model) if not isinstance(model, ModelSpec) else model
    isl = np.asarray(isl, dtype=float)
    h = np.asarray(prefix_hit_rate, dtype=float)
    if np.any((h < 0) | (h > 1)):
        raise TokenfabError("prefix hit rate must be in 0..1", field="prefix_hit_rate", expected="0..1", got=h.tolist())
    cached = np.floor(isl * h)
    full = np.asarray(prefill_flops(m, isl), dtype=float)
    rest = np.asarray(prefill_flops(m, isl - cached, cached), dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(full > 0, 1.0 - rest / full, 0.0)
    return out if out.ndim else float(out)


def cached_input_usd_per_mtok(usd_per_mtok_input, cached_cost_weight=CACHED_INPUT_COST_FRACTION):
    """USD per million cached input tokens = weight x USD per million (uncached) input tokens."""
    require_range("cached_cost_weight", cached_cost_weight, 0.0, 1e9)
    out = np.asarray(usd_per_mtok_input, dtype=float) * float(cached_cost_weight)
    return out if out.ndim else float(out)


def live_prefixes(calls_per_s, lifetime_s):
    """Little's law: prefixes alive at once = arrival rate of calls x how long each prefix is kept."""
    out = np.asarray(calls_per_s, dtype=float) * np.asarray(lifetime_s, dtype=float)
    return out if out.ndim else float(out)


def kv_storage_bytes(model, cached_tokens_per_call, calls_per_s, *, ttl_s, hbm_window_s, kv=None) -> dict:
    """KV bytes of the live cached prefixes in HBM (used within ``hbm_window_s``) and host DRAM (the rest of
    ``ttl_s``)."""
    m = get_model(model) if not isinstance(model, ModelSpec) else model
    if hbm_window_s > ttl_s:
        raise TokenfabError(
            "the HBM window exceeds the cache lifetime",
            field="hbm_window_s",
            expected=f"<= ttl_s ({ttl_s:g})",
            got=hbm_window_s,
        )
    kv = kv or prec.default_kv_precision(m.native_weights)
    per_prefix = float(kv_cache_bytes(m, float(cached_tokens_per_call), kv)) if cached_tokens_per_call > 0 else 0.0
    n_hbm = live_prefixes(calls_per_s, hbm_window_s)
    n_dram = live_prefixes(calls_per_s, ttl_s - hbm_window_s)
    return {
        "kv_precision": kv,
        "kv_bytes_per_prefix": per_prefix,
        "live_prefixes_hbm": n_hbm,
        "live_prefixes_dram": n_dram,
        "kv_hbm_bytes": np.asarray(n_hbm) * per_prefix,
        "kv_dram_bytes": np.asarray(n_dram) * per_prefix,
    }


@dataclass
class CachingResult:
    workload: str
    model: str
    isl: int
    prefix_hit_rate: float
    cached_tokens_per_call: float
    prefill_flops_saved_share: float
    kv_precision: str
    kv_bytes_per_prefix: float
    ttl_s: float
    hbm_window_s: float
    cached_input_tokens_per_day: np.ndarray
    prefill_flops_saved_per_day: np.ndarray
    live_prefixes_hbm: np.ndarray
    live_prefixes_dram: np.ndarray
    kv_hbm_gib: np.ndarray
    kv_dram_gib: np.ndarray
    notes: list = field(default_factory=list)

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["definitions"] = dict(DEFINITIONS)
        return d


def workload_caching(
    workload, *, model, calls_per_day, peak_calls_per_s, ttl_s, hbm_window_s, kv=None
) -> CachingResult:
    """Prompt-caching numbers of one demand.Workload over months (``calls_per_day``, ``peak_calls_per_s``: [M])."""
    m = get_model(model)
    h = float(workload.prefix_hit_rate)
    cached = workload.isl * h
    saved = float(prefill_flops_saved_share(m, workload.isl, h)) if h > 0 else 0.0
    full = float(prefill_flops(m, workload.isl))
    st = kv_storage_bytes(
        m, cached, np.asarray(peak_calls_per_s, dtype=float), ttl_s=ttl_s, hbm_window_s=hbm_window_s, kv=kv
    )
    calls = np.asarray(calls_per_day, dtype=float)
    return CachingResult(
        workload=workload.key,
        model=m.key,
        isl=int(workload.isl),
        prefix_hit_rate=h,
        cached_tokens_per_call=cached,
        prefill_flops_saved_share=saved,
        kv_precision=st["kv_precision"],
        kv_bytes_per_prefix=st["kv_bytes_per_prefix"],
        ttl_s=float(ttl_s),
        hbm_window_s=float(hbm_window_s),
        cached_input_tokens_per_day=calls * cached,
        prefill_flops_saved_per_day=calls * full * saved,
        live_prefixes_hbm=np.asarray(st["live_prefixes_hbm"]),
        live_prefixes_dram=np.asarray(st["live_prefixes_dram"]),
        kv_hbm_gib=np.asarray(units.bytes_to_gib(st["kv_hbm_bytes"])),
        kv_dram_gib=np.asarray(units.bytes_to_gib(st["kv_dram_bytes"])),
        notes=["KV storage is an upper bound: one prefix per LLM call; shared prefixes are stored once"],
    )


__all__ = [
    "DEFINITIONS",
    "CachingResult",
    "prefill_flops_saved_share",
    "cached_input_usd_per_mtok",
    "live_prefixes",
    "kv_storage_bytes",
    "workload_caching",
]
