"""Design-space search: every deployment of a model over a list of hardware, Pareto frontiers, tiers and SLAs.

The sweep (:func:`sweep`) enumerates, per hardware:

- GPU counts per replica (:func:`gpu_ladder`): 1, 2, 4, ... within the scale-up domain plus the domain itself
  (1..8 for an 8-GPU NVLink node, 1..64 and 72 for an NVL72 rack), beyond the domain (2x, 4x ...) only when the
  weights need it; counts that cannot hold the weights are skipped. ``gpus=N`` fixes the count.
- Engines (:func:`resolve_engines`): one per hardware (the vendor's default from engines.yaml, or ``engine=`` once or
  per hardware); the engine's scheduler, KV policy, collectives, fitted parameters and features apply.
- Parallel layouts (:func:`layouts`): TP divides the attention heads and stays within the scale-up domain, PP
  divides the rest (PP <= layers and <= MAX_PP), attention-DP for MoE models where the engine runs it (dense models
  replicate whole deployments instead, except when the GPU count is fixed), EP = 1 or TP x DP where it divides the
  expert count or the engine balances redundant experts (EPLB), beyond one node only with the engine's wide EP.
- Concurrency: a geometric ladder DP x 1, 2, 4, ... up to the KV-memory cap (serving.concurrency_cap), plus the cap.
- Weight precisions (KV per precision.default_kv_precision); a 4-bit float format only on chips with native FP4
  (:func:`native_weights_for`). Speculative decoding (:func:`spec_variants`): off, and the model's MTP heads at 1-3
  draft tokens where the engine runs MTP, with published acceptance (perf/speculative.py); every point is labelled
  and ``mtp=`` switches it per hardware.
- Serving mode: aggregated (serving.serve) and disaggregated prefill/decode (prefill candidates + serving.serve for
  the decode pool, rate-matched; see below) where both engines run disaggregation.

All (hardware, layout, concurrency) combinations of one (model, weights, ISL, OSL) are concatenated into one set of
PointArrays, so each serving.serve call evaluates thousands of configurations at once; the roofline is never
re-implemented here. TPOT is read at the SLA percentile (serve's TPOT quantiles) and TTFT at the same percentile
(queueing.py, with serve's bounds). Every point carries its calibration status and p10/p90 bands
(perf/uncertainty.py).

Disaggregated serving (DistServe, Zhong et al. OSDI 2024; metrics.md "throughput per GPU"): a prefill pool and a
decode pool, each with its own layout, optionally on other hardware (``prefill_hardware``, each pool priced at its
own TCO).
- Prefill replica service time and latency from serving.prefill_service (the engine's token budget per round,
  pipelined over PP stages).
- Decode replica: serving.serve with ``decode_only`` (the prompt's KV arrives from the prefill pool).
- Rate matching: for y decode replicas, x prefill replicas at a prefill utilization in DISAGG_PREFILL_UTILIZATIONS;
  y = 1..DISAGG_MAX_DECODE_REPLICAS. The x:y unit is one "replica" of the deployment.
- KV transfer (serving.kv_transfer_s) over the scale-up link if the whole unit fits in one scale-up domain, else
  the scale-out NICs.
- TTFT = prefill queueing (M/D/c over the prefill ranks, queueing.py) + prefill latency + KV transfer + the fitted
  disaggregation hand-off and the prefill engine's front end + the decode replica's first round.
- Per-GPU throughput divides by prefill + decode GPUs.

Frontier: per hardware and serving mode, the Pareto-optimal points of total tokens/s per GPU against tokens/s per
user (:func:`pareto_mask`); values at a target interactivity by Steffen's monotone cubic (:func:`steffen_interpolate`,
as InferenceX does; exact at the knots, monotone between them). Cost per point from tco.tco + cost.usd_per_mtok.
"""

from __future__ import annotations

from tokenfab.core.errors import require_int
from tokenfab.search.disagg import (
    DISAGG_MAX_DECODE_REPLICAS,
    DISAGG_PREFILL_CANDIDATES,
    DISAGG_PREFILL_UTILIZATIONS,
    prefill_pool,
)
from tokenfab.search.evaluate import DEFINITIONS, SLA, Sweep, _cost_table, _num, attach_costs, layout_text, sweep
from tokenfab.search.pareto import pareto_mask, steffen_interpolate, steffen_slopes
from tokenfab.search.result import (
    _LIMITS,
    GOLDILOCKS_INTERACTIVITY,
    PREMIUM_INTERACTIVITY,
    TIE_OVERLAP,
    TIE_RULE,
    TIER_COST_TOLERANCE,
    TIER_INTERACTIVITY_TOLERANCE,
    FrontierResult,
    band_overlap,
    cheapest_point,
    explain_infeasible,
    frontier,
    frontier_indices,
    most_interactive_point,
    prior_summary,
    tie_report,
    tied_with,
    token_tiers,
)
from tokenfab.search.space import (
    CONCURRENCY_STEP,
    MAX_LADDER_GPUS,
    MAX_PP,
    MODES,
    MTP_DRAFT_TOKENS,
    Layout,
    concurrency_ladder,
    gpu_ladder,
    layouts,
    min_gpus_for_weights,
    native_weights_for,
    parse_list,
    resolve_engines,
    resolve_hardware,
    resolve_modes,
    resolve_weights,
    spec_variants,
)

__all__ = [
    "CONCURRENCY_STEP",
    "DEFINITIONS",
    "DISAGG_MAX_DECODE_REPLICAS",
    "DISAGG_PREFILL_CANDIDATES",
    "DISAGG_PREFILL_UTILIZATIONS",
    "GOLDILOCKS_INTERACTIVITY",
    "PREMIUM_INTERACTIVITY",
    "MAX_LADDER_GPUS",
    "MAX_PP",
    "MODES",
    "MTP_DRAFT_TOKENS",
    "SLA",
    "TIE_OVERLAP",
    "TIE_RULE",
    "TIER_COST_TOLERANCE",
    "TIER_INTERACTIVITY_TOLERANCE",
    "FrontierResult",
    "Layout",
    "Sweep",
    "attach_costs",
    "band_overlap",
    "cheapest_point",
    "concurrency_ladder",
    "explain_infeasible",
    "frontier",
    "frontier_indices",
    "gpu_ladder",
    "layout_text",
    "layouts",
    "min_gpus_for_weights",
    "most_interactive_point",
    "prior_summary",
    "tie_report",
    "tied_with",
    "native_weights_for",
    "resolve_engines",
    "spec_variants",
    "pareto_mask",
    "parse_list",
    "prefill_pool",
    "require_int",
    "resolve_hardware",
    "resolve_modes",
    "resolve_weights",
    "steffen_interpolate",
    "steffen_slopes",
    "sweep",
    "token_tiers",
    "_LIMITS",
    "_cost_table",
    "_num",
]
