"""Business planning: a scenario's demand → the fleet per candidate hardware, month by month → cost, revenue, gross
margin and breakeven (pure functions; docs/demand.md has the arithmetic and the PlanResult schema).

Entry point: :func:`plan`. The fleet engine is tokenfab.search (one :func:`tokenfab.search.frontier` sweep per
workload, all hardware at once, cached per workload) and tokenfab.planning.fleet's sizing (``fewest_gpus``: the fleet
``recommend`` picks, whole replicas or a composed disaggregated fleet; ``nodes_and_racks``, ``megawatts``); the cost of
a GPU-hour is tokenfab.economics.tco. Because the per-replica capacity of a configuration does not depend on the month,
a 36-month plan costs one sweep per workload, then array arithmetic. Every figure resting on the modelled throughput
also has its p10/p90 (``<key>_p10`` / ``<key>_p90``): the fleet re-sized at the ends of the throughput band of each
month's configuration (perf/uncertainty.py), one draw of the model's error for the whole plan.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tokenfab import search as S
from tokenfab.catalog.hardware import get_hardware
from tokenfab.core import assumptions as named_defaults
from tokenfab.core import units
from tokenfab.core.errors import TokenfabError
from tokenfab.core.inputs import check_hardware_count, check_input
from tokenfab.core.jsonable import to_jsonable
from tokenfab.economics import assumptions as econ
from tokenfab.economics import caching as cachemod
from tokenfab.economics import cost as costmod
from tokenfab.economics import tco as tcomod
from tokenfab.economics.cost import CACHED_INPUT_COST_FRACTION
from tokenfab.perf import uncertainty as unc
from tokenfab.planning import demand as dem
from tokenfab.planning import fleet as fleetmod
from tokenfab.planning.scenario import Scenario

# ---------------------------------------------------------------------------------------------------------------
# named defaults
# ---------------------------------------------------------------------------------------------------------------
# Cost weight of a cached input token relative to an uncached one: tokenfab.economics.cost.CACHED_INPUT_COST_FRACTION
# (0.1, an assumption matching the 90% discount providers give cached input; the work left is a KV read, not a prefill).
DEFAULT_CACHED_INPUT_COST_WEIGHT = CACHED_INPUT_COST_FRACTION
# cost weight of an output token relative to an input token (data/assumptions.yaml cost.output_cost_weight, cited)
DEFAULT_OUTPUT_COST_WEIGHT = named_defaults.value("cost", "output_cost_weight")
# breakeven-user search range: users from 1 to this many (log grid)
BREAKEVEN_MAX_USERS = 1e10
BREAKEVEN_GRID_POINTS = 400
BREAKEVEN_REFINE_POINTS = 15  # points per refinement round of the last grid gap (each round shrinks it 16x)
CAPITAL_COMPONENTS = ("capital",)  # tco components counted as capital; the rest (and rental prices) are operating

DEFINITIONS = {
    "gpus": "sum over workloads of the fleet tokenfab recommend picks for the month's peak within each SLA (whole "
    "replicas x GPUs per replica, or prefill + decode replicas composed for the demand)",
    "nodes": "ceil(GPUs / chips per node)",
    "racks": "ceil(GPUs / chips per rack)",
    "mw": "GPUs x all-in kW per GPU / 1000",
    "cost_usd": "GPUs x wall-clock $/GPU-hour x 730.5 h + fixed costs: the monthly bill of a fleet sized for the peak",
    "capital_usd": "the capital component of the TCO (depreciation + cost of capital) x GPUs x 730.5 h",
    "operating_usd": "energy + hosting + maintenance + software (+ rental price) x GPUs x 730.5 h + fixed costs",
    "usd_per_mtok_input": "cost per million uncached input tokens: cost = c x (input + w_c cached + w_o output)",
    "usd_per_mtok_cached_input": "w_c x usd_per_mtok_input",
    "usd_per_mtok_output": "w_o x usd_per_mtok_input",
    "usd_per_mtok_blended": "cost / all tokens (input + output) of the month, per million",
    "revenue_usd": "per-token revenue (personas billed per token) + subscriptions",
    "gross_margin_usd": "revenue - cost",
    "gross_margin_pct": "100 x (revenue - cost) / revenue",
    "breakeven_usd_per_mtok": "(cost - subscription revenue) / the tokens billed per token, per million: the average "
    "per-token price at which revenue = cost (null when no persona pays per token)",
    "price_at_target_margin_usd_per_mtok": "(cost / (1 - target margin) - subscription revenue) / billed tokens, per "
    "million: the average per-token price that earns the target gross margin",
    "price_usd_per_mtok_billed": "per-token revenue / the tokens billed per token, per million: today's average list "
    "price per billed token",
    "breakeven_price_multiple": "(cost - subscription revenue) / per-token revenue: list prices x this = breakeven",
    "breakeven_users": "fewest users (this month's persona mix, fleet re-sized) from which revenue covers cost",
    "fleet_utilization": "average requests/s / fleet capacity (requests/s): the fleet is sized for the peak",
    "fleet_utilization_peak": "peak-hour requests/s / fleet capacity (requests/s): below 1 by the headroom",
    "cache_gpus": "GPUs added to hold the prompt cache's KV in HBM: ceil(KV in HBM / HBM per GPU), priced like the "
    "fleet and charged to cached input tokens (an upper bound: part of it may fit in the serving fleet's free HBM)",
    "usd_per_mtok_input_method": "gpu-time (default): the prefill share of each workload's GPU time charged to input "
    "tokens, the rest to output tokens (economics.cost.split_cost_by_token_kind); weights: cost_allocation weights",
}


# ---------------------------------------------------------------------------------------------------------------
# pure arithmetic
# ---------------------------------------------------------------------------------------------------------------
def allocate_cost(
    cost_usd,
    uncached_input_tokens,
    cached_input_tokens,
    output_tokens,
    *,
    cached_weight=DEFAULT_CACHED_INPUT_COST_WEIGHT,
    output_weight=DEFAULT_OUTPUT_COST_WEIGHT,
):
    """Split a cost over token kinds with relative weights (input 1, cached w_c, output w_o):
    c = cost / (uncached + w_c cached + w_o output); returns USD per million (input, cached input, output) tokens.
    They add back: uncached x $in + cached x $cached + output x $out = cost x 1e6."""
    cost = np.asarray(cost_usd, dtype=float)
    denom = (
        np.asarray(uncached_input_tokens, dtype=float)
        + cached_weight * np.asarray(cached_input_tokens, dtype=float)
        + output_weight * np.asarray(output_tokens, dtype=float)
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.where(denom > 0, cost / denom, np.nan) * units.MTOK
    return _out(c), _out(c * cached_weight), _out(c * output_weight)


def token_revenue_usd(
    uncached_input_tokens,
    cached_input_tokens,
    output_tokens,
    *,
    usd_per_mtok_input,
    usd_per_mtok_cached_input,
    usd_per_mtok_output,
):
    """Per-token revenue: tokens / 1e6 x the price of each kind."""
    out = (
        np.asarray(uncached_input_tokens, dtype=float) * usd_per_mtok_input
        + np.asarray(cached_input_tokens, dtype=float) * usd_per_mtok_cached_input
        + np.asarray(output_tokens, dtype=float) * usd_per_mtok_output
    ) / units.MTOK
    return _out(out)


def gross_margin(revenue_usd, cost_usd):
    """(margin USD, margin % of revenue; NaN where revenue is 0)."""
    r = np.asarray(revenue_usd, dtype=float)
    m = r - np.asarray(cost_usd, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(r > 0, 100.0 * m / r, np.nan)
    return _out(m), _out(pct)


def breakeven_usd_per_mtok(cost_usd, tokens):
    """The average price per million tokens (all tokens) at which revenue equals cost."""
    t = np.asarray(tokens, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(t > 0, np.asarray(cost_usd, dtype=float) / t * units.MTOK, np.nan)
    return _out(out)


def breakeven_price_multiple(cost_usd, subscription_revenue_usd, token_revenue):
    """Factor on the per-token list prices that makes revenue equal cost (NaN without per-token revenue)."""
    tr = np.asarray(token_revenue, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(tr > 0, (np.asarray(cost_usd, dtype=float) - subscription_revenue_usd) / tr, np.nan)
    return _out(out)


def breakeven_users_linear(fixed_cost_usd, revenue_per_user_usd, variable_cost_per_user_usd):
    """Users at which revenue covers cost when cost = fixed + variable x users: fixed / (revenue - variable) per
    user; None when a user brings no margin."""
    margin = float(revenue_per_user_usd) - float(variable_cost_per_user_usd)
    if margin <= 0:
        return None
    return max(0.0, float(fixed_cost_usd)) / margin


def _out(a):
    a = np.asarray(a, dtype=float)
    return a if a.ndim else float(a)


# ---------------------------------------------------------------------------------------------------------------
# the fleet at any rate: tokenfab.planning.fleet's rule (fewest GPUs over whole replicas and composed disaggregated
# fleets)
# ---------------------------------------------------------------------------------------------------------------
def capacity_options(sw: S.Sweep, hw_index: int, spare: int = 0) -> fleetmod.FleetCandidates:
    """The SLA-meeting configurations of one workload on one hardware, pre-pruned for sizing at many rates
    (tokenfab.planning.fleet.fleet_candidates): the whole-replica Pareto set plus every disaggregated row, with
    ``spare`` replicas per replica group (N+1)."""
    c = sw.cols
    ok = np.flatnonzero(sw.sla_mask() & (c["requests_per_s"] > 0) & (c["hw"] == hw_index))
    return fleetmod.fleet_candidates(sw, ok, spare)


def scenario_headroom(sc: Scenario) -> fleetmod.Headroom:
    """The scenario's headroom (its ``headroom`` block over the named defaults of data/assumptions.yaml)."""
    return fleetmod.Headroom.make(**sc.headroom.model_dump())


def price_factor(months, yearly_decline_pct: float):
    """List prices relative to month 0 when they fall ``yearly_decline_pct`` % a year: (1 - d / 100)^(m / 12)."""
    d = float(yearly_decline_pct)
    if not 0 <= d < 100:
        raise TokenfabError("out of range", field="pricing.yearly_price_decline_pct", expected="0 <= d < 100", got=d)
    return _out((1.0 - d / 100.0) ** (np.asarray(months, dtype=float) / 12.0))


def price_at_margin_usd_per_mtok(cost_usd, subscription_revenue_usd, billed_tokens, margin_pct):
    """The average price per million billed tokens at which revenue = cost / (1 - margin): (cost / (1 - m) -
    subscriptions) / billed tokens x 1e6, floored at 0 (NaN without billed tokens). margin 0 is the breakeven."""
    m = float(margin_pct) / 100.0
    t = np.asarray(billed_tokens, dtype=float)
    need = np.asarray(cost_usd, dtype=float) / (1.0 - m) - np.asarray(subscription_revenue_usd, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(t > 0, np.maximum(need, 0.0) / t * units.MTOK, np.nan)
    return _out(out)


def fleet_at_rates(cands: fleetmod.FleetCandidates, rates_rps) -> dict:
    """For each rate the fleet tokenfab.planning.fleet.recommend would pick on this hardware (one $/GPU-hour, so the
    fewest GPUs): tokenfab.planning.fleet.fewest_gpus, whole replicas or a disaggregated fleet composed for the rate.
    Rate 0 needs no GPUs."""
    if not cands.pareto.size:
        raise TokenfabError(
            "no configuration meets the SLA on this hardware",
            field="hardware",
            expected="a hardware with a configuration meeting the SLA",
        )
    return fleetmod.fewest_gpus(cands, rates_rps)


# ---------------------------------------------------------------------------------------------------------------
# cached sweeps per workload
# ---------------------------------------------------------------------------------------------------------------
_SWEEP_CACHE: dict[tuple, S.FrontierResult] = {}
_SWEEP_CACHE_MAX = 64


def _frozen(v):
    return tuple(sorted(v.items())) if isinstance(v, dict) else v


def workload_frontier(
    w: dem.Workload,
    hardware: tuple[str, ...],
    *,
    weights=None,
    percentile=None,
    calibration=None,
    engine=None,
    speculative=True,
    hardware_files: list[str] | tuple[str, ...] | None = None,
) -> S.FrontierResult:
    """search.frontier for one workload over all candidate hardware (no costs: attached per plan), cached.
    ``engine`` / ``speculative``: the scenario's keys (one value or per hardware)."""
    key = (
        _frozen(engine),
        _frozen(speculative),
        w.model,
        w.isl,
        w.osl,
        w.ttft_max_ms,
        w.tpot_max_ms,
        round(w.prefix_hit_rate, 6),
        tuple(hardware),
        weights,
        percentile,
        calibration if isinstance(calibration, (str, type(None))) else id(calibration),
        tuple(hardware_files or ()),
    )
    hit = _SWEEP_CACHE.get(key)
    if hit is not None:
        return hit
    fr = S.frontier(
        w.model,
        list(hardware),
        isl=w.isl,
        osl=w.osl,
        weights=weights,
        ttft_max_ms=w.ttft_max_ms,
        tpot_max_ms=w.tpot_max_ms,
        percentile=percentile,
        calibration=calibration,
        prefix_hit_rate=w.prefix_hit_rate,
        raise_if_empty=False,
        usd_per_gpu_hour=1.0,
        engine=engine,
        mtp=speculative,
        hardware_files=list(hardware_files) if hardware_files else None,
    )
    if len(_SWEEP_CACHE) >= _SWEEP_CACHE_MAX:
        _SWEEP_CACHE.pop(next(iter(_SWEEP_CACHE)))
    _SWEEP_CACHE[key] = fr
    return fr


def hardware_tco(
    sc: Scenario, hw_key: str, hardware_files: list[str] | tuple[str, ...] | None = None
) -> tcomod.TcoResult:
    """The scenario's TCO for one hardware (preset, plain price or overrides)."""
    return tcomod.tco(
        hw_key, sc.tco.preset, sc.tco.usd_per_gpu_hour, hardware_files=hardware_files, **dict(sc.tco.overrides)
    )


COST_UNKNOWN = "cost unknown: "  # the reason a HardwarePlan gives when its TCO cannot be priced


def none_feasible_text(plans: list) -> str:
    """Why none of ``plans`` (HardwarePlan) can serve the scenario: every one lacks a price, every one misses the
    SLA, or some of each (a missing price is not a latency failure)."""
    unpriced = [p.hardware for p in plans if str(p.reason or "").startswith(COST_UNKNOWN)]
    if plans and len(unpriced) == len(plans):
        return (
            f"no candidate hardware can be priced ({', '.join(unpriced)}: no cost figure; give one under the "
            "scenario's tco: a preset, usd_per_gpu_hour or overrides.capex_usd_per_gpu)"
        )
    if unpriced:
        return (
            "no candidate hardware can serve every workload within its latency targets and be priced "
            f"(no cost figure for {', '.join(unpriced)})"
        )
    return "no candidate hardware can serve this scenario within its latency targets"


# ---------------------------------------------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------------------------------------------
@dataclass
class HardwarePlan:
    hardware: str
    feasible: bool
    reason: str | None = None
    tco: dict = field(default_factory=dict)
    workloads: list = field(default_factory=list)
    monthly: dict = field(default_factory=dict)
    totals: dict = field(default_factory=dict)
    calibration: dict = field(default_factory=dict)  # ProfileStatus dict of (hardware, engine), with prior and note

    @property
    def prior(self) -> bool:
        return bool(self.calibration.get("prior", False))

    def to_dict(self) -> dict:
        return {
            "hardware": self.hardware,
            "feasible": self.feasible,
            "reason": self.reason,
            "calibration": self.calibration,
            "prior": self.prior,
            "tco": self.tco,
            "workloads": self.workloads,
            "monthly": self.monthly,
            "totals": self.totals,
        }


@dataclass
class PlanResult:
    scenario: Scenario
    demand: dem.DemandResult
    caching: dict
    hardware: list  # HardwarePlan, feasible and cheapest first
    elapsed_s: float
    warnings: list = field(default_factory=list)
    hardware_files: tuple[str, ...] = ()  # extra hardware YAML/TOML the plan read (the report's tornado uses them)

    @property
    def months(self) -> np.ndarray:
        return self.demand.months

    @property
    def labels(self) -> list[str]:
        return self.demand.labels

    @property
    def best(self) -> HardwarePlan | None:
        ok = [h for h in self.hardware if h.feasible]
        return ok[0] if ok else None

    @property
    def none_feasible_reason(self) -> str | None:
        """Why no hardware has a plan, in one sentence (None when one has): no price, no SLA, or both."""
        if self.best is not None:
            return None
        return none_feasible_text(self.hardware)

    def option(self, hw_key: str) -> HardwarePlan:
        for h in self.hardware:
            if h.hardware == hw_key:
                return h
        raise TokenfabError(
            "hardware not in the plan",
            field="hardware",
            got=hw_key,
            expected=", ".join(h.hardware for h in self.hardware),
        )

    def summary(self) -> dict:
        return plan_summary(self)

    def to_dict(self) -> dict:
        """Plain JSON values (lists, not arrays; NaN/inf as None): the schema in docs/demand.md."""
        return to_jsonable(self._dict())

    def _dict(self) -> dict:
        sc = self.scenario
        p = sc.pricing
        return {
            "scenario": {
                "name": sc.name,
                "description": sc.description,
                "source": sc._source,
                "model": sc.model,
                "weights": sc.weights,
                "horizon_months": sc.horizon_months,
                "months_planned": int(self.months.size),
                "start_month": sc.start_month,
                "precision": served_precision(self.demand),
            },
            "months": self.months,
            "labels": list(self.labels),
            "demand": self.demand.to_dict(),
            "caching": {k: v.to_dict() for k, v in self.caching.items()},
            "pricing": {
                "usd_per_mtok_input": p.usd_per_mtok_input,
                "usd_per_mtok_cached_input": p.cached_input,
                "usd_per_mtok_output": p.usd_per_mtok_output,
                "source": p.source,
            },
            "cost_allocation": cost_weights(sc),
            "hardware": [h.to_dict() for h in self.hardware],
            "best_hardware": self.best.hardware if self.best else None,
            "summary": self.summary(),
            "definitions": dict(DEFINITIONS),
            "assumptions": assumptions(sc),
            "notes": list(self.demand.notes),
            "warnings": list(self.warnings),
            "elapsed_s": self.elapsed_s,
        }

    def to_rows(self) -> list[dict]:
        """One flat row per (hardware, month), for CSV."""
        d = self.demand
        rows = []
        for h in self.hardware:
            mo = h.monthly
            for i, m in enumerate(self.months):
                row: dict[str, Any] = {
                    "hardware": h.hardware,
                    "feasible": h.feasible,
                    "month": int(m),
                    "label": self.labels[i],
                    "users": float(d.total_users[i]),
                    "daily_active_users": float(d.daily_active_users[i]),
                }
                for k in (
                    "total_tokens_per_day",
                    "input_tokens_per_day",
                    "cached_input_tokens_per_day",
                    "output_tokens_per_day",
                    "llm_calls_per_day",
                    "peak_requests_per_s",
                    "peak_tokens_per_s",
                ):
                    row[k] = float(d.totals[k][i])
                # by feature and by persona: two breakdowns of the same tokens (each sums to the total), kept apart
                # (a persona and a feature of one name shared a column and one was lost)
                for f, v in d.by_feature.items():
                    row[f"tokens_per_day:feature:{f}"] = float(v["total_tokens_per_day"][i])
                for p, v in d.by_persona.items():
                    row[f"tokens_per_day:persona:{p}"] = float(v["total_tokens_per_day"][i])
                row["prior"] = h.prior
                # every banded monthly figure with its p10 / p90 (BAND_KEYS), then the unbanded ones
                for k in (*(k for k in BAND_KEYS if k not in ("serving_gpus", "gpu_cost_usd")), *_CSV_UNBANDED):
                    for col in (k, f"{k}_p10", f"{k}_p90") if k in BAND_KEYS else (k,):
                        v = mo.get(col)
                        row[col] = None if v is None else _num(v[i])
                rows.append(row)
        return rows


_CSV_UNBANDED = ("revenue_usd", "cache_gpus")  # monthly CSV columns with no error band


def _num(v):
    if v is None:
        return None
    v = float(v)
    return v if np.isfinite(v) else None


def served_precision(d: dem.DemandResult) -> dict:
    """The weight and KV precisions the workloads are served at (feature, scenario or checkpoint ``weights``; KV
    from tokenfab.catalog.precision.default_kv_precision), and a one-line text such as ``weights fp8, KV fp8``."""
    pairs = sorted({(w.weights, w.kv) for w in d.workloads}, key=str)
    by_wl = {w.key: {"model": w.model, "weights": w.weights, "kv": w.kv} for w in d.workloads}
    if len(pairs) == 1:
        text = f"weights {pairs[0][0]}, KV {pairs[0][1]}"
    else:
        text = "; ".join(
            f"{v['model']}: weights {v['weights']}, KV {v['kv']}"
            for v in {(v["model"], v["weights"]): v for v in by_wl.values()}.values()
        )
    return {
        "weights": sorted({p[0] for p in pairs}, key=str),
        "kv": sorted({p[1] for p in pairs}, key=str),
        "by_workload": by_wl,
        "text": text,
    }


def cost_weights(sc: Scenario) -> dict:
    """How month costs are split per token kind: ``method`` gpu-time (default; ``cached_input`` is the weight of a
    cached input token within prefill) or weights (relative weights input 1, cached_input, output)."""
    a = sc.cost_allocation
    return {
        "method": a.resolved_method,
        "input": 1.0,
        "cached_input": (DEFAULT_CACHED_INPUT_COST_WEIGHT if a.cached_input is None else a.cached_input) / a.input,
        "output": (DEFAULT_OUTPUT_COST_WEIGHT if a.output is None else a.output) / a.input,
    }


def assumptions(sc: Scenario) -> dict:
    return {
        "cached_input_cost_weight": "cost of a cached input token / an uncached one; default "
        f"{DEFAULT_CACHED_INPUT_COST_WEIGHT:g} (tokenfab.economics.cost.CACHED_INPUT_COST_FRACTION)",
        "output_cost_weight": f"cost of an output token / an input token; default {DEFAULT_OUTPUT_COST_WEIGHT:g} "
        "[assumption: GPT-4o's output:input list-price ratio]",
        "precision": "weights as the scenario or feature says (``weights:``), else the checkpoint's precision; the KV "
        "cache at tokenfab.catalog.precision.default_kv_precision of the weights (16-bit weights: 16-bit KV; "
        "8- and 4-bit weights: FP8 KV)",
        "fleet": "sized for each month's peak hour within each feature's SLA (p90 TTFT under Poisson arrivals) with "
        "headroom (burst factor, target peak utilization, spare replicas per group: headroom), owned or rented for "
        "the whole month",
        "headroom": scenario_headroom(sc).to_dict(),
        "per_token_kind": costmod.PER_KIND_LABELS["gpu-time"]
        if cost_weights(sc)["method"] == "gpu-time"
        else "cost_allocation weights (input 1, cached input, output)",
        "price_decline": f"list prices fall {sc.pricing.yearly_price_decline_pct:g}% a year"
        + (
            " (Epoch AI: prices at constant capability fell 9-900x a year, epoch.ai/data-insights/"
            "llm-inference-price-trends, 2025-03)"
            if sc.pricing.yearly_price_decline_pct
            else " (none given: constant)"
        ),
        "tco": f"preset {sc.tco.preset or tcomod.DEFAULT_PRESET}"
        + (f", plain price {sc.tco.usd_per_gpu_hour:g} $/GPU-hour" if sc.tco.usd_per_gpu_hour else "")
        + (f", overrides {dict(sc.tco.overrides)}" if sc.tco.overrides else ""),
        "tiers": {t: {k: v for k, v in d.items()} for t, d in _tier_table(sc).items()},
    }


def _tier_table(sc: Scenario) -> dict:
    from tokenfab.planning.scenario import TIER_DEFAULTS

    out = {}
    for t, d in TIER_DEFAULTS.items():
        o = sc.tiers.get(t)
        out[t] = {
            "ttft_ms": (o.ttft_ms if o and o.ttft_ms else d["ttft_ms"]),
            "tpot_ms": (o.tpot_ms if o and o.tpot_ms else d["tpot_ms"]),
            "source": (o.source if o and o.source else d["source"]),
        }
    return out


# ---------------------------------------------------------------------------------------------------------------
# the plan
# ---------------------------------------------------------------------------------------------------------------
def _point_bands(sw: S.Sweep, i: int, figures: dict) -> dict:
    """{figure: {p10, p90}} of a point's total tokens/s per GPU and $/M total at the plan's price (``figures``), from
    the throughput band of sweep row ``i``."""
    band = fleetmod.row_band(sw, int(i))
    out = {}
    for k, sign in (("total_tokens_per_s_per_gpu", 1), ("usd_per_mtok_total", -1)):
        b = unc.scaled_band(figures[k], *band, sign) if (band and figures.get(k) is not None) else None
        if b is not None:
            out[k] = b
    return out


def _frontier_points(sw: S.Sweep, ids: np.ndarray, usd_h: float | None) -> list[dict]:
    c = sw.cols
    out = []
    for i in ids:
        tps = float(c["total_tokens_per_s_per_gpu"][i])
        p = {
            "mode": S.MODES[int(c["mode"][i])],
            "tokens_per_s_per_user": float(c["tokens_per_s_per_user"][i]),
            "total_tokens_per_s_per_gpu": tps,
            "usd_per_mtok_total": (
                usd_h / (tps * units.S_PER_HOUR / units.MTOK) if (usd_h is not None and tps > 0) else None
            ),
        }
        p["uncertainty"] = _point_bands(sw, int(i), p)
        out.append(p)
    return out


# the cost figures of a sweep point priced at the sweep's own (placeholder) $/GPU-hour: a plan prices its operating
# point at the plan's TCO, so these are dropped from it (only usd_per_mtok_total is recomputed)
_SWEEP_PRICED = (
    "usd_per_mtok_input",
    "usd_per_mtok_output",
    "usd_per_mtok_cached_input",
    "usd_per_mtok_input_inferencex",
    "usd_per_mtok_output_inferencex",
    "tokens_per_s_per_mw",
)


def _operating_point(sw: S.Sweep, i: int, usd_h: float | None) -> dict:
    p = sw.point(int(i))
    tps = p.get("total_tokens_per_s_per_gpu") or 0.0
    p["usd_per_gpu_hour"] = usd_h
    p["usd_per_mtok_total"] = usd_h / (tps * units.S_PER_HOUR / units.MTOK) if (usd_h and tps) else None
    for k in _SWEEP_PRICED:
        p.pop(k, None)
        p["uncertainty"].pop(k, None)
    p["uncertainty"].update(_point_bands(sw, int(i), p))
    if "usd_per_mtok_total" not in p["uncertainty"] or p["usd_per_mtok_total"] is None:
        p["uncertainty"].pop("usd_per_mtok_total", None)
    return p


def _plan_hardware(
    sc: Scenario,
    d: dem.DemandResult,
    hw_key: str,
    fronts: dict,
    *,
    fixed_usd: float,
    weights: dict,
    percentile=None,
    caching: dict | None = None,
    hardware_files: list[str] | tuple[str, ...] | None = None,
) -> HardwarePlan:
    hw = get_hardware(hw_key, hardware_files=hardware_files)
    try:
        t = hardware_tco(sc, hw_key, hardware_files)
    except TokenfabError as e:
        return HardwarePlan(hw_key, False, f"{COST_UNKNOWN}{e}")
    hr = scenario_headroom(sc)
    wall = float(t.usd_per_gpu_hour_wallclock)
    comp = {k: float(v) for k, v in t.breakdown_wallclock.items()}
    cap_h = sum(v for k, v in comp.items() if k in CAPITAL_COMPONENTS)
    tco_d = {
        "preset": t.preset or tcomod.DEFAULT_PRESET,
        "method": t.method,
        "utilization": t.utilization,
        "utilization_basis": t.utilization_basis,
        "usd_per_gpu_hour_wallclock": wall,
        "usd_per_gpu_hour_busy": float(t.usd_per_gpu_hour),
        "capital_usd_per_gpu_hour": cap_h,
        "operating_usd_per_gpu_hour": wall - cap_h,
        "breakdown_wallclock": comp,
        "all_in_kw_per_gpu": t.all_in_kw_per_gpu,
        "chips_per_node": hw.chips_per_node,
        "chips_per_rack": hw.chips_per_rack,
        "system": t.system,
        "life_years": t.life_years,
    }
    n = d.months.size
    gpus = np.zeros(n, dtype=int)
    cache_gpus = np.zeros(n, dtype=int)
    cache_exact: list = []  # per workload, the prompt cache's HBM in (fractional) GPUs, for the breakeven search
    cap_rps_all = np.zeros(n)
    peak_rps_all = np.zeros(n)
    prefill_usd = np.zeros(n)
    decode_usd = np.zeros(n)
    # the fleet at the two ends of each workload's throughput band (p10, p90 of the modelled throughput)
    band_gpus = [np.zeros(n, dtype=int), np.zeros(n, dtype=int)]
    band_cap = [np.zeros(n), np.zeros(n)]
    band_factors: list[list[np.ndarray]] = [[], []]
    has_band = np.ones(n, dtype=bool)
    wl_out = []
    per_wl = []
    for w in d.workloads:
        fr = fronts[w.key]
        sw = fr.sweep
        h = next(i for i, x in enumerate(sw.hardware) if x.key == hw.key)
        cands = capacity_options(sw, h, hr.spare_replicas)
        if not cands.pareto.size:
            sla = S.SLA.make(ttft_max_ms=w.ttft_max_ms, tpot_max_ms=w.tpot_max_ms, percentile=percentile)
            return HardwarePlan(hw_key, False, f"workload {w.key}: {fleetmod.skip_reason(sw, h, sla)}", tco=tco_d)
        per_wl.append(cands)
        L = d.load[w.key]
        peak = np.asarray(L["peak_requests_per_s"], dtype=float)
        avg = np.asarray(L["avg_requests_per_s"], dtype=float)
        burst = np.asarray(hr.burst(peak), dtype=float) * np.ones(n)
        sizing = np.asarray(hr.sizing_rate(peak), dtype=float) * np.ones(n)
        f = fleet_at_rates(cands, sizing)
        gpus = gpus + f["gpus"]
        cap_rps_all = cap_rps_all + f["capacity_requests_per_s"]
        peak_rps_all = peak_rps_all + peak
        wl_band = _band_fleets(sw, cands, sizing, f["row"])
        has_band &= wl_band["ok"]
        for end in (0, 1):
            band_gpus[end] = band_gpus[end] + wl_band["gpus"][end]
            band_cap[end] = band_cap[end] + wl_band["capacity_requests_per_s"][end]
            # breakeven users re-size the fleet far from this month's: one factor per workload (the median of its
            # months' configurations), so months of the same persona mix share one search
            band_factors[end].append(np.full(n, float(np.median(wl_band["factor"][end])) if n else 1.0))
        share = np.array(
            [
                (fleetmod.prefill_share_of_fleet(sw, int(r), bool(cp), int(x), int(y)) if g > 0 else 0.0) or 0.0
                for r, cp, x, y, g in zip(
                    f["row"], f["composed"], f["prefill_replicas"], f["decode_replicas"], f["gpus"], strict=False
                )
            ]
        )
        wl_usd = np.asarray(fleetmod.usd_per_month(wall, f["gpus"]))
        prefill_usd += share * wl_usd
        decode_usd += (1.0 - share) * wl_usd
        kv_gpus = np.zeros(n, dtype=int)
        if caching and sc.caching.price_hbm and w.key in caching and hw.memory_capacity_gib:
            # the prompt cache's HBM in (fractional) GPUs: the bill pays whole ones, the breakeven search scales it
            kv_x = np.where(
                f["gpus"] > 0, np.asarray(caching[w.key].kv_hbm_gib, dtype=float) / float(hw.memory_capacity_gib), 0.0
            ) * np.ones(n)
            kv_gpus = np.where(kv_x > 0, np.ceil(kv_x - 1e-9), 0).astype(int)
            cache_exact.append(kv_x)
        cache_gpus = cache_gpus + kv_gpus
        last = int(f["row"][-1])
        fids = fr.frontier_idx[sw.cols["hw"][fr.frontier_idx] == h]
        fids = fids[np.argsort(sw.cols["tokens_per_s_per_user"][fids])]
        cap = f["capacity_requests_per_s"]
        wl_out.append(
            {
                "workload": w.key,
                "gpus": f["gpus"],
                "cache_gpus": kv_gpus,
                "replicas": f["replicas"],
                "gpus_per_replica": f["gpus_per_replica"],
                "mode": [S.MODES[int(sw.cols["mode"][r])] for r in f["row"]],
                "composed": f["composed"],
                "prefill_replicas": f["prefill_replicas"],
                "decode_replicas": f["decode_replicas"],
                "capacity_requests_per_s": cap,
                "peak_requests_per_s": peak,
                "sizing_requests_per_s": sizing,
                "burst_factor": burst,
                "utilization_at_peak": np.nan_to_num(np.asarray(fleetmod.fleet_utilization(peak, cap)) * np.ones(n)),
                "utilization_avg": np.nan_to_num(np.asarray(fleetmod.fleet_utilization(avg, cap)) * np.ones(n)),
                "prefill_gpu_time_share": share,
                "capacity_tokens_per_s_per_gpu": np.where(
                    f["gpus"] > 0, cap * (w.isl + w.osl) / np.maximum(f["gpus"], 1), 0.0
                ),
                **_band_columns(wl_band, f["gpus"], w.isl + w.osl),
                "operating_point": _operating_point(sw, last, float(t.usd_per_gpu_hour)),
                "frontier": _frontier_points(sw, fids, float(t.usd_per_gpu_hour)),
            }
        )
    cache_usd = np.asarray(fleetmod.usd_per_month(wall, cache_gpus))
    phases = {"prefill_usd": prefill_usd, "decode_usd": decode_usd, "cache_usd": cache_usd}

    def month_figures(serving_gpus, cap_rps) -> dict:
        """The month's fleet, bill and money of a serving fleet (plus the cache GPUs) of ``cap_rps`` capacity."""
        total_gpus = serving_gpus + cache_gpus
        nodes = np.array([fleetmod.nodes_and_racks(g, hw.chips_per_node, hw.chips_per_rack)[0] for g in total_gpus])
        racks = np.array([fleetmod.nodes_and_racks(g, hw.chips_per_node, hw.chips_per_rack)[1] for g in total_gpus])
        kw = t.all_in_kw_per_gpu
        mw = np.asarray(fleetmod.megawatts(total_gpus, kw)) if kw else np.full(n, np.nan)
        breakdown = {k: np.asarray(fleetmod.usd_per_month(v, total_gpus)) for k, v in comp.items()}
        gpu_cost = np.asarray(fleetmod.usd_per_month(wall, total_gpus))
        capital = sum((breakdown[k] for k in CAPITAL_COMPONENTS if k in breakdown), np.zeros(n))
        fixed = np.full(n, float(fixed_usd))
        cost = gpu_cost + fixed
        with np.errstate(divide="ignore", invalid="ignore"):
            fleet_util = np.where(cap_rps > 0, d.totals["avg_requests_per_s"] / cap_rps, np.nan)
            fleet_util_peak = np.where(cap_rps > 0, peak_rps_all / cap_rps, np.nan)
        return {
            "gpus": total_gpus,
            "serving_gpus": serving_gpus,
            "cache_gpus": cache_gpus,
            "nodes": nodes,
            "racks": racks,
            "mw": mw,
            "cost_usd": cost,
            "capital_usd": capital,
            "operating_usd": cost - capital,
            "fixed_usd": fixed,
            "gpu_cost_usd": gpu_cost,
            "cost_breakdown_usd": {**breakdown, **({"fixed": fixed} if fixed_usd else {})},
            # the prefill share of the modelled fleet's GPU time splits every band end's bill alike
            **month_money(sc, d, cost, weights, phases),
            "fleet_utilization": fleet_util,
            "fleet_utilization_peak": fleet_util_peak,
        }

    monthly = month_figures(gpus, cap_rps_all)
    monthly["cost_by_phase_usd"] = {"prefill": prefill_usd, "decode": decode_usd, "prompt_cache_hbm": cache_usd}
    users_now = np.asarray(d.total_users, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        cache_pu = [np.where(users_now > 0, c / np.maximum(users_now, 1e-300), 0.0) for c in cache_exact]
    monthly["breakeven_users"] = breakeven_users(
        d, per_wl, wall, fixed_usd, monthly["revenue_usd"], headroom=hr, cache_gpus_per_user=cache_pu
    )
    ends = []
    for end in (0, 1):
        m = month_figures(band_gpus[end], band_cap[end])
        m["breakeven_users"] = breakeven_users(
            d,
            per_wl,
            wall,
            fixed_usd,
            m["revenue_usd"],
            headroom=hr,
            factors=band_factors[end],
            cache_gpus_per_user=cache_pu,
        )
        ends.append(m)
    monthly.update(month_bands(ends[0], ends[1], has_band, mid=monthly))
    totals = _plan_totals(d, monthly)
    cal = dict(fronts[d.workloads[0].key].sweep.calibration.get(hw.key, {})) if d.workloads else {}
    return HardwarePlan(hw_key, True, None, tco_d, wl_out, monthly, totals, cal)


# the monthly figures that rest on the modelled throughput: each gets <key>_p10 / <key>_p90 (month_bands)
BAND_KEYS = (
    "gpus",
    "serving_gpus",
    "nodes",
    "racks",
    "mw",
    "cost_usd",
    "capital_usd",
    "operating_usd",
    "gpu_cost_usd",
    "usd_per_mtok_input",
    "usd_per_mtok_cached_input",
    "usd_per_mtok_output",
    "usd_per_mtok_blended",
    "gross_margin_usd",
    "gross_margin_pct",
    "breakeven_usd_per_mtok",
    "price_at_target_margin_usd_per_mtok",
    "breakeven_price_multiple",
    "breakeven_users",
    "fleet_utilization",
    "fleet_utilization_peak",
)


def month_bands(a: dict, b: dict, ok=True, mid: dict | None = None) -> dict:
    """``<key>_p10`` / ``<key>_p90`` of every BAND_KEYS figure computed at the two ends of the throughput band
    (``a``, ``b``: monthly dicts), the lower value first; NaN in months without a band (``ok`` False). ``mid``
    (the modelled monthly dict) widens a band to hold the modelled figure itself: a figure of whole GPUs (a fleet's
    utilization: demand over the capacity of a fleet rounded up to whole GPUs) is not monotone in the throughput, so
    the two ends alone could leave the modelled value outside its own band."""
    out = {}
    for k in BAND_KEYS:
        if k not in a or k not in b:
            continue
        lo, hi = unc.ordered(a[k], b[k])
        if mid is not None and k in mid:
            m = np.asarray(mid[k], dtype=float)
            fin = np.isfinite(m) & np.isfinite(lo) & np.isfinite(hi)
            lo, hi = np.where(fin, np.minimum(lo, m), lo), np.where(fin, np.maximum(hi, m), hi)
        out[f"{k}_p10"] = np.where(ok, lo, np.nan)
        out[f"{k}_p90"] = np.where(ok, hi, np.nan)
    return out


def _band_fleets(sw: S.Sweep, cands: fleetmod.FleetCandidates, sizing, rows) -> dict:
    """The fleet of each month at the ends of the throughput band of the month's configuration (``rows``): the fleet
    sized for sizing / f at the modelled throughput (tokenfab.planning.fleet.fleet_band's rule, every candidate of
    the hardware at the same factor f), its capacity x f. Keys: factor, gpus, capacity_requests_per_s (pairs of
    arrays: the band's low and high end) and ok (months with a band)."""
    c = sw.cols
    rows = np.asarray(rows, dtype=int)
    if "band_throughput_lo" in c:
        lo = np.asarray(c["band_throughput_lo"], dtype=float)[rows]
        hi = np.asarray(c["band_throughput_hi"], dtype=float)[rows]
    else:
        lo = hi = np.full(rows.shape, np.nan)
    ok = np.isfinite(lo) & np.isfinite(hi) & (lo > 0) & (hi > 0)
    out: dict = {"factor": [], "gpus": [], "capacity_requests_per_s": [], "ok": ok}
    for fac in (lo, hi):
        f = np.where(ok, fac, 1.0)
        fl = fleet_at_rates(cands, np.asarray(sizing, dtype=float) / f)
        out["factor"].append(f)
        out["gpus"].append(fl["gpus"])
        out["capacity_requests_per_s"].append(fl["capacity_requests_per_s"] * f)
    return out


def _band_columns(band: dict, gpus, tokens_per_request: int) -> dict:
    """A workload's band columns: the throughput factors, and the p10/p90 of its GPUs and capacity tokens/s per GPU."""
    ok = band["ok"]
    g = unc.ordered(*band["gpus"])
    tps = [
        np.where(x > 0, cap * tokens_per_request / np.maximum(x, 1), 0.0)
        for x, cap in zip(band["gpus"], band["capacity_requests_per_s"], strict=True)
    ]
    t = unc.ordered(*tps)
    return {
        "band_throughput_lo": np.where(ok, band["factor"][0], np.nan),
        "band_throughput_hi": np.where(ok, band["factor"][1], np.nan),
        "gpus_p10": np.where(ok, g[0], np.nan),
        "gpus_p90": np.where(ok, g[1], np.nan),
        "capacity_tokens_per_s_per_gpu_p10": np.where(ok, t[0], np.nan),
        "capacity_tokens_per_s_per_gpu_p90": np.where(ok, t[1], np.nan),
    }


def _plan_totals(d: dem.DemandResult, mo: dict) -> dict:
    """Totals over the horizon of a HardwarePlan's monthly arrays."""
    n = d.months.size
    tok = float(np.sum(d.totals["total_tokens_per_day"]) * units.DAYS_PER_MONTH)
    cost, capital, operating = mo["cost_usd"], mo["capital_usd"], mo["operating_usd"]
    tot_cost, tot_rev = float(np.sum(cost)), float(np.sum(mo["revenue_usd"]))
    m_usd, m_pct = gross_margin(tot_rev, tot_cost)
    mw = np.asarray(mo["mw"], dtype=float)
    out = {
        "cost_usd": tot_cost,
        "capital_usd": float(np.sum(capital)),
        "operating_usd": float(np.sum(operating)),
        "revenue_usd": tot_rev,
        "gross_margin_usd": m_usd,
        "gross_margin_pct": m_pct,
        "peak_gpus": int(np.max(mo["gpus"])) if n else 0,
        "peak_mw": float(np.nanmax(mw)) if n and np.isfinite(mw).any() else None,
        "tokens": tok,
        "usd_per_mtok_blended": breakeven_usd_per_mtok(tot_cost, tok),
    }
    # the model's error is one draw for the whole plan (the same hardware and configurations every month): the
    # horizon's p10 / p90 are the sums of the months' p10 / p90
    for q in ("p10", "p90"):
        if f"cost_usd_{q}" not in mo:
            continue
        cost_q = float(np.sum(mo[f"cost_usd_{q}"]))
        out[f"cost_usd_{q}"] = cost_q
        out[f"capital_usd_{q}"] = float(np.sum(mo[f"capital_usd_{q}"]))
        out[f"operating_usd_{q}"] = float(np.sum(mo[f"operating_usd_{q}"]))
        out[f"usd_per_mtok_blended_{q}"] = breakeven_usd_per_mtok(cost_q, tok)
        g = np.asarray(mo[f"gpus_{q}"], dtype=float)
        out[f"peak_gpus_{q}"] = int(np.nanmax(g)) if n and np.isfinite(g).any() else None
        w = np.asarray(mo[f"mw_{q}"], dtype=float)
        out[f"peak_mw_{q}"] = float(np.nanmax(w)) if n and np.isfinite(w).any() else None
    if "cost_usd_p10" in out:
        # a higher cost is a lower margin: the margin's p10 is at the cost's p90
        for q, qc in (("p10", "p90"), ("p90", "p10")):
            mu, mp = gross_margin(tot_rev, out[f"cost_usd_{qc}"])
            out[f"gross_margin_usd_{q}"], out[f"gross_margin_pct_{q}"] = mu, mp
    return out


def month_money(sc: Scenario, d: dem.DemandResult, cost_usd, weights: dict, phases: dict | None = None) -> dict:
    """Cost per M tokens by kind, revenue, margin and breakeven prices for each month (arrays). ``phases``: the fleet
    cost by phase (prefill_usd, decode_usd, cache_usd arrays); fixed costs are split like the fleet cost."""
    days = units.DAYS_PER_MONTH
    T = d.totals
    unc, cac, out = (
        T["uncached_input_tokens_per_day"] * days,
        T["cached_input_tokens_per_day"] * days,
        T["output_tokens_per_day"] * days,
    )
    cost_usd = np.asarray(cost_usd, dtype=float)
    if weights.get("method") == "weights" or phases is None:
        c_in, c_cached, c_out = allocate_cost(
            cost_usd, unc, cac, out, cached_weight=weights["cached_input"], output_weight=weights["output"]
        )
    else:
        pf, dc, ch = (np.asarray(phases[k], dtype=float) for k in ("prefill_usd", "decode_usd", "cache_usd"))
        serving = pf + dc
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(serving > 0, pf / serving, 0.0)
        sp = costmod.split_cost_by_token_kind(
            cost_usd - ch,
            input_tokens=unc + cac,
            cached_input_tokens=cac,
            output_tokens=out,
            prefill_gpu_time_share=np.clip(share, 0.0, 1.0),
            cached_input_cost_fraction=weights["cached_input"],
            cache_cost_usd=ch,
        )
        c_in, c_cached, c_out = sp["usd_per_mtok_input"], sp["usd_per_mtok_cached_input"], sp["usd_per_mtok_output"]
    p = sc.pricing
    factor = np.asarray(price_factor(d.months, p.yearly_price_decline_pct), dtype=float) * np.ones_like(unc)
    B = d.billed
    billed_unc = B["uncached_input_tokens_per_day"] * days
    billed_cac = B["cached_input_tokens_per_day"] * days
    billed_out = B["output_tokens_per_day"] * days
    rev_tok = (
        np.asarray(
            token_revenue_usd(
                billed_unc,
                billed_cac,
                billed_out,
                usd_per_mtok_input=p.usd_per_mtok_input,
                usd_per_mtok_cached_input=p.cached_input,
                usd_per_mtok_output=p.usd_per_mtok_output,
            )
        )
        * factor
    )
    subs = np.asarray(d.subscription_usd_per_month, dtype=float)
    rev = rev_tok + subs
    m_usd, m_pct = gross_margin(rev, cost_usd)
    total_tok = unc + cac + out
    billed_tok = np.asarray(billed_unc + billed_cac + billed_out, dtype=float) * np.ones_like(unc)
    margin = p.target_gross_margin_pct if p.target_gross_margin_pct is not None else econ.TARGET_GROSS_MARGIN_PCT
    with np.errstate(divide="ignore", invalid="ignore"):
        price_billed = np.where(billed_tok > 0, rev_tok / billed_tok * units.MTOK, np.nan)
    return {
        "usd_per_mtok_input": np.asarray(c_in) * np.ones_like(unc),
        "usd_per_mtok_cached_input": np.asarray(c_cached) * np.ones_like(unc),
        "usd_per_mtok_output": np.asarray(c_out) * np.ones_like(unc),
        "usd_per_mtok_blended": np.asarray(breakeven_usd_per_mtok(cost_usd, total_tok)),
        "revenue_usd": rev,
        "revenue_tokens_usd": rev_tok,
        "revenue_subscriptions_usd": subs,
        "gross_margin_usd": np.asarray(m_usd),
        "gross_margin_pct": np.asarray(m_pct),
        "price_factor": factor,
        "price_usd_per_mtok_billed": price_billed,
        "breakeven_usd_per_mtok": np.asarray(price_at_margin_usd_per_mtok(cost_usd, subs, billed_tok, 0.0)),
        "price_at_target_margin_usd_per_mtok": np.asarray(
            price_at_margin_usd_per_mtok(cost_usd, subs, billed_tok, margin)
        ),
        "target_gross_margin_pct": float(margin),
        "breakeven_price_multiple": np.asarray(breakeven_price_multiple(cost_usd, subs, rev_tok)),
    }


def _breaks_even(
    cands: list,
    rates_per_user: list,
    users,
    revenue_per_user,
    usd_per_gpu_hour_wallclock: float,
    fixed_usd: float,
    headroom: fleetmod.Headroom | None = None,
    factors: list | None = None,
    cache_gpus_per_user=None,
) -> np.ndarray:
    """Whether revenue covers cost at each user count ``users`` (shape (months, k)): rates per user (peak hour) and
    revenue per user are per month (shape (months,)); the fleet per workload is tokenfab.planning.fleet.fewest_gpus
    at the headroom's sizing rate. The cheap tokenfab.planning.fleet.gpu_bounds settle most points; the fleet is
    composed only where they disagree. ``factors`` (per workload, per month): the throughput multiplied by them (the
    fleet sized for rate / factor at the modelled throughput; None: 1)."""
    hr = headroom or fleetmod.NO_HEADROOM
    users = np.asarray(users, dtype=float)
    factors = factors or [np.ones(np.asarray(r).shape) for r in rates_per_user]
    rates = [
        np.asarray(
            hr.sizing_rate((np.asarray(r, dtype=float)[:, None] * users).ravel())
            / np.broadcast_to(np.asarray(f, dtype=float)[:, None], users.shape).ravel(),
            dtype=float,
        )
        for r, f in zip(rates_per_user, factors, strict=True)
    ]
    revenue = (np.asarray(revenue_per_user, dtype=float)[:, None] * users).ravel()
    # the prompt cache's HBM grows with the users (live prefixes): whole GPUs of it at each user count
    cache = np.zeros(users.size)
    for cpu in cache_gpus_per_user or ():  # per workload, as the month's bill rounds each up to whole GPUs
        cache = cache + np.ceil(np.asarray(cpu, dtype=float)[:, None] * users - 1e-9).clip(min=0.0).ravel()

    def covers(gpus, at=slice(None)):
        g = np.asarray(gpus, dtype=float) + cache[at]
        return revenue[at] - (np.asarray(fleetmod.usd_per_month(usd_per_gpu_hour_wallclock, g)) + fixed_usd) >= 0

    bounds = [fleetmod.gpu_bounds(fc, r) for fc, r in zip(cands, rates, strict=False)]
    ok = covers(sum(b[1] for b in bounds))
    unsure = np.flatnonzero(~ok & covers(sum(b[0] for b in bounds)))
    if unsure.size:
        ok[unsure] = covers(
            sum(fleetmod.fewest_gpus(fc, r[unsure])["gpus"] for fc, r in zip(cands, rates, strict=False)), unsure
        )
    return ok.reshape(users.shape)


def breakeven_users(
    d: dem.DemandResult,
    cands: list,
    usd_per_gpu_hour_wallclock: float,
    fixed_usd: float,
    revenue_usd,
    headroom: fleetmod.Headroom | None = None,
    factors: list | None = None,
    cache_gpus_per_user=None,
) -> np.ndarray:
    """Per month: the fewest users (that month's persona mix; revenue and load scale with users) from which revenue
    covers the cost of the fleet re-sized at that scale (``cands``: per workload of ``d``, capacity_options) plus
    fixed costs: the last user count on a log grid (1..BREAKEVEN_MAX_USERS) where it does not, then that gap refined
    (BREAKEVEN_REFINE_POINTS points a round) to a relative 1e-6. NaN where nothing up to BREAKEVEN_MAX_USERS breaks
    even or the month has no users or revenue. All months at once. ``factors``: per workload, per month, the
    modelled throughput's multiplier (an end of its error band; None: 1). ``cache_gpus_per_user``: per workload, per
    month, the prompt cache's HBM in GPUs per user (it scales with the users; each workload's is paid in whole GPUs,
    as the month's bill does)."""
    users_now = np.asarray(d.total_users, dtype=float)
    revenue = np.asarray(revenue_usd, dtype=float) * np.ones_like(users_now)
    out = np.full(users_now.size, np.nan)
    act = np.flatnonzero((users_now > 0) & (revenue > 0))
    if not act.size:
        return out
    per_user = [
        np.asarray(d.load[w.key]["peak_requests_per_s"], dtype=float)[act] / users_now[act] for w in d.workloads
    ]
    rev_pu = revenue[act] / users_now[act]
    fac = [np.ones(act.size) if factors is None else np.asarray(f, dtype=float)[act] for f in (factors or per_user)]
    cpu = [(np.asarray(c, dtype=float) * np.ones_like(users_now))[act] for c in (cache_gpus_per_user or ())]
    # months with the same persona mix (rates and revenue per user), throughput factors and cache per user share one
    # search
    _, first, inv = np.unique(
        np.stack([*per_user, rev_pu, *fac, *cpu], axis=1), axis=0, return_index=True, return_inverse=True
    )
    out[act] = _breakeven_users_search(
        cands,
        [r[first] for r in per_user],
        rev_pu[first],
        usd_per_gpu_hour_wallclock,
        fixed_usd,
        headroom,
        [f[first] for f in fac],
        [c[first] for c in cpu],
    )[np.ravel(inv)]
    return out


def _breakeven_users_search(
    cands: list,
    per_user: list,
    rev_pu,
    usd_per_gpu_hour_wallclock: float,
    fixed_usd: float,
    headroom: fleetmod.Headroom | None = None,
    factors: list | None = None,
    cache_gpus_per_user=None,
) -> np.ndarray:
    """breakeven_users' search for rows of (rates per user of each workload, revenue per user)."""
    out = np.full(rev_pu.size, np.nan)
    args = (usd_per_gpu_hour_wallclock, fixed_usd, headroom)
    factors = factors or [np.ones(rev_pu.size) for _ in per_user]
    cpu = [np.asarray(c, dtype=float) for c in (cache_gpus_per_user or ())]
    grid = np.geomspace(1.0, BREAKEVEN_MAX_USERS, BREAKEVEN_GRID_POINTS)
    ok = _breaks_even(cands, per_user, np.broadcast_to(grid, (rev_pu.size, grid.size)), rev_pu, *args, factors, cpu)
    never = ~ok[:, -1]
    last_bad = np.where(ok, -1, np.arange(grid.size)[None, :]).max(axis=1)
    out[~never & (last_bad < 0)] = grid[0]
    sel = np.flatnonzero(~never & (last_bad >= 0))
    lo, hi = grid[last_bad[sel]], grid[np.minimum(last_bad[sel] + 1, grid.size - 1)]
    frac = np.linspace(0.0, 1.0, BREAKEVEN_REFINE_POINTS + 2)[1:-1]
    while sel.size and np.any(hi - lo > 1e-6 * hi):
        pts = lo[:, None] + (hi - lo)[:, None] * frac[None, :]
        okp = _breaks_even(
            cands, [r[sel] for r in per_user], pts, rev_pu[sel], *args, [f[sel] for f in factors], [c[sel] for c in cpu]
        )
        j = np.where(okp, -1, np.arange(frac.size)[None, :]).max(axis=1)  # last point still short of breakeven
        rows = np.arange(sel.size)
        new_lo = np.where(j >= 0, pts[rows, np.maximum(j, 0)], lo)
        hi = np.where(j + 1 < frac.size, pts[rows, np.minimum(j + 1, frac.size - 1)], hi)
        lo = new_lo
    out[sel] = hi
    return out


def breakeven_users_for_month(
    d: dem.DemandResult,
    fronts: dict,
    hw_key: str,
    i: int,
    usd_per_gpu_hour_wallclock: float,
    fixed_usd: float,
    revenue_usd: float,
    headroom: fleetmod.Headroom | None = None,
) -> float:
    """:func:`breakeven_users` for month ``i`` alone (``fronts``: workload key -> workload_frontier result), with
    ``headroom`` (default none)."""
    hr = headroom or fleetmod.NO_HEADROOM
    cands = []
    for w in d.workloads:
        sw = fronts[w.key].sweep
        cands.append(
            capacity_options(sw, next(j for j, x in enumerate(sw.hardware) if x.key == hw_key), hr.spare_replicas)
        )
    rev = np.zeros(np.asarray(d.total_users).size)
    rev[i] = revenue_usd
    return float(breakeven_users(d, cands, usd_per_gpu_hour_wallclock, fixed_usd, rev, headroom=hr)[i])


def retired_capital_usd(capital_usd_per_gpu_hour: float, retired_gpus: int, months, month: int, life_years: float):
    """The capital charge a retired owned fleet keeps costing per month: retired GPUs x capital $/GPU-hour x 730.5 h
    for the months from ``month`` until ``life_years`` after it (0 before ``month``). Vectorized over ``months``."""
    m = np.asarray(months, dtype=float)
    on = (m >= month) & (m < month + 12.0 * float(life_years))
    return _out(np.where(on, fleetmod.usd_per_month(capital_usd_per_gpu_hour, retired_gpus), 0.0))


def transition_plan(
    sc: Scenario,
    d: dem.DemandResult,
    old: HardwarePlan,
    new: HardwarePlan,
    month: int,
    retired_capital: str,
    weights: dict,
) -> HardwarePlan:
    """A plan that runs on ``old`` hardware before ``month`` and moves the fleet to ``new`` from then on: each month's
    fleet, cost and tokens are those of the hardware in use. ``retired_capital="continue"``: the retired owned
    fleet's capital component (its size in the month before the move x the old TCO's capital $/GPU-hour) keeps being
    paid until its life ends or the horizon does (operating costs stop); ``"sold"``: it stops (sold at its remaining
    annuity value). Breakeven users are those of the hardware in use (without the retired capital)."""
    key = f"{old.hardware}->{new.hardware}@{d.labels[month]}"
    if not (old.feasible and new.feasible):
        why = old.reason if not old.feasible else new.reason
        return HardwarePlan(key, False, f"transition needs both hardware feasible: {why}")
    n = d.months.size
    use_new = np.asarray(d.months) >= month

    def splice(a, b):
        if isinstance(a, dict):
            return {k: splice(a.get(k, np.zeros(n)), b.get(k, np.zeros(n))) for k in sorted(set(a) | set(b))}
        return np.where(use_new, np.asarray(b), np.asarray(a))

    keys = ("gpus", "serving_gpus", "cache_gpus", "nodes", "racks", "mw", "capital_usd", "gpu_cost_usd", "fixed_usd")
    mo = {k: splice(old.monthly[k], new.monthly[k]) for k in keys}
    mo["cost_breakdown_usd"] = splice(old.monthly["cost_breakdown_usd"], new.monthly["cost_breakdown_usd"])
    phases = splice(old.monthly["cost_by_phase_usd"], new.monthly["cost_by_phase_usd"])
    retired = np.zeros(n)
    if retired_capital == "continue":
        gone = int(np.asarray(old.monthly["gpus"])[month - 1])
        retired = np.asarray(
            retired_capital_usd(
                old.tco["capital_usd_per_gpu_hour"], gone, d.months, month, old.tco.get("life_years") or 5.0
            )
        )
    mo["retired_capital_usd"] = retired
    mo["cost_breakdown_usd"]["retired_capital"] = retired
    mo["capital_usd"] = mo["capital_usd"] + retired
    cost = mo["gpu_cost_usd"] + mo["fixed_usd"] + retired
    mo["cost_usd"] = cost
    mo["operating_usd"] = cost - mo["capital_usd"]
    # the retired capital is split like the serving cost of the month (it paid for both phases)
    pf, dc = np.asarray(phases["prefill"], dtype=float), np.asarray(phases["decode"], dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        s_ = np.where(pf + dc > 0, pf / (pf + dc), 0.0)
    phases = {
        "prefill_usd": pf + s_ * retired,
        "decode_usd": dc + (1.0 - s_) * retired,
        "cache_usd": np.asarray(phases["prompt_cache_hbm"], dtype=float),
    }
    mo["cost_by_phase_usd"] = {
        "prefill": phases["prefill_usd"],
        "decode": phases["decode_usd"],
        "prompt_cache_hbm": phases["cache_usd"],
    }
    mo.update(month_money(sc, d, cost, weights, phases))
    for k in ("breakeven_users", "fleet_utilization", "fleet_utilization_peak"):
        mo[k] = splice(old.monthly[k], new.monthly[k])
    if "gpus_p10" in old.monthly and "gpus_p10" in new.monthly:
        # the band ends of the hardware in use, the retired capital (not modelled throughput) added to each
        ends = []
        for q in ("p10", "p90"):
            e = {k: splice(old.monthly[f"{k}_{q}"], new.monthly[f"{k}_{q}"]) for k in BAND_KEYS}
            e["capital_usd"] = e["capital_usd"] + retired
            e["cost_usd"] = e["gpu_cost_usd"] + mo["fixed_usd"] + retired
            e["operating_usd"] = e["cost_usd"] - e["capital_usd"]
            e.update(month_money(sc, d, e["cost_usd"], weights, phases))
            ends.append(e)
        mo.update(month_bands(ends[0], ends[1], np.isfinite(np.asarray(mo["gpus"], dtype=float)), mid=mo))
    tco_d = {
        "transition": {
            "from": old.hardware,
            "to": new.hardware,
            "month": int(month),
            "month_label": d.labels[month],
            "retired_capital": retired_capital,
        },
        "before": old.tco,
        "after": new.tco,
    }
    wl = [{"phase": f"before {d.labels[month]}", "hardware": old.hardware, "workloads": old.workloads}] + [
        {"phase": f"from {d.labels[month]}", "hardware": new.hardware, "workloads": new.workloads}
    ]
    # a transition rests on a prior if either hardware does (its note names the one that does)
    cal = next((h.calibration for h in (new, old) if h.prior), new.calibration)
    return HardwarePlan(key, True, None, tco_d, wl, mo, _plan_totals(d, mo), dict(cal))


def plan(
    sc: Scenario,
    *,
    months: int | None = None,
    hardware=None,
    progress: Callable[[int, int, str], None] | None = None,
    percentile=None,
    calibration=None,
    hardware_files: list[str] | tuple[str, ...] | None = None,
) -> PlanResult:
    """The month-by-month plan of a scenario on each candidate hardware (``hardware`` overrides the scenario's list;
    ``months`` shortens the horizon; ``hardware_files``: extra hardware YAML/TOML defining any of them).
    ``progress(done, total, label)`` is called as sweeps finish."""
    t0 = time.perf_counter()
    n = sc.horizon_months if months is None else check_input("months", months)
    if n > sc.horizon_months:  # `months` shortens the horizon; growth past it is not in the scenario
        raise TokenfabError(
            f"is longer than the scenario's horizon ({sc.horizon_months} months)",
            field="months",
            expected=f"<= horizon_months ({sc.horizon_months}); lengthen horizon_months to plan further",
            got=n,
        )
    hws = list(hardware if hardware else sc.hardware)
    check_hardware_count(hws)
    keys = tuple(get_hardware(h, hardware_files=hardware_files).key for h in hws)
    d = dem.demand(sc, np.arange(n))
    total = len(d.workloads) + len(keys)
    done = 0
    fronts: dict[str, S.FrontierResult] = {}
    warnings: list[str] = []
    for w in d.workloads:
        if progress:
            progress(done, total, f"sweep {w.key}")
        fronts[w.key] = workload_frontier(
            w,
            keys,
            weights=w.weights,
            percentile=percentile,
            calibration=calibration,
            engine=sc.engine,
            speculative=sc.speculative,
            hardware_files=hardware_files,
        )
        warnings.extend(x for x in fronts[w.key].sweep.warnings if "cost unknown" not in x and x not in warnings)
        done += 1
    weights = cost_weights(sc)
    cach = {}
    for w in d.workloads:
        L = d.load[w.key]
        cach[w.key] = cachemod.workload_caching(
            w,
            model=w.model,
            calls_per_day=L["llm_calls_per_day"],
            peak_calls_per_s=L["peak_requests_per_s"],
            ttl_s=sc.caching.ttl_s,
            hbm_window_s=sc.caching.hbm_window_s,
            kv=sc.caching.kv or w.kv,
        )
    plans = []
    for k in keys:
        if progress:
            progress(done, total, f"plan {k}")
        plans.append(
            _plan_hardware(
                sc,
                d,
                k,
                fronts,
                fixed_usd=sc.fixed_costs_usd_per_month,
                weights=weights,
                percentile=percentile,
                caching=cach,
                hardware_files=hardware_files,
            )
        )
        done += 1
    by_key = {p.hardware: p for p in plans}
    for t in sc.transitions:
        a, b = by_key.get(t.from_hardware), by_key.get(t.to_hardware)
        if a is None or b is None:
            warnings.append(
                f"transition {t.from_hardware} -> {t.to_hardware} at month {t.month} skipped: "
                "both must be planned (--hardware)"
            )
            continue
        if t.month >= n:
            warnings.append(f"transition at month {t.month} is past the {n} planned months: skipped")
            continue
        plans.append(transition_plan(sc, d, a, b, t.month, t.retired_capital, weights))
    if progress:
        progress(total, total, "done")
    plans.sort(key=lambda p: (not p.feasible, p.totals.get("cost_usd", 0.0)))
    if not any(p.feasible for p in plans):
        warnings.append(none_feasible_text(plans) + ": " + "; ".join(f"{p.hardware}: {p.reason}" for p in plans))
    return PlanResult(
        scenario=sc,
        demand=d,
        caching=cach,
        hardware=plans,
        elapsed_s=time.perf_counter() - t0,
        warnings=warnings,
        hardware_files=tuple(hardware_files or ()),
    )


# ---------------------------------------------------------------------------------------------------------------
# plain-language summary
# ---------------------------------------------------------------------------------------------------------------
def _money(x) -> str:
    if x is None or not np.isfinite(x):
        return "n/a"
    a = abs(x)
    sign = "-" if x < 0 else ""
    if a >= 1e9:
        return f"{sign}${a / 1e9:,.2f} billion"
    if a >= 1e6:
        return f"{sign}${a / 1e6:,.2f} million"
    if a >= 1e4:
        return f"{sign}${a / 1e3:,.0f} thousand"
    if a >= 100:
        return f"{sign}${a:,.0f}"
    if a >= 1:
        return f"{sign}${a:,.2f}"
    if a == 0:
        return "$0"
    return f"{sign}${a:,.3f}"


def _count(x) -> str:
    if x is None or not np.isfinite(x):
        return "n/a"
    if x >= 1e9:
        return f"{x / 1e9:,.2f} billion"
    if x >= 1e6:
        return f"{x / 1e6:,.2f} million"
    return f"{x:,.0f}"


# summary figure -> the monthly key whose <key>_p10 / <key>_p90 it reports (plan_summary's ``uncertainty``)
SUMMARY_BANDS = {
    "gpus": "gpus",
    "mw": "mw",
    "cost_usd_per_month": "cost_usd",
    "gross_margin_usd_per_month": "gross_margin_usd",
    "gross_margin_pct": "gross_margin_pct",
    "usd_per_mtok_input": "usd_per_mtok_input",
    "usd_per_mtok_cached_input": "usd_per_mtok_cached_input",
    "usd_per_mtok_output": "usd_per_mtok_output",
    "usd_per_mtok_blended": "usd_per_mtok_blended",
    "breakeven_usd_per_mtok": "breakeven_usd_per_mtok",
    "price_at_target_margin_usd_per_mtok": "price_at_target_margin_usd_per_mtok",
    "breakeven_users": "breakeven_users",
    "fleet_utilization": "fleet_utilization",
    "fleet_utilization_peak": "fleet_utilization_peak",
}


def plan_ranking(res: PlanResult) -> dict:
    """The plan's ranking with its error bands: the hardware tied with the cheapest on whole-plan cost (their p10-p90
    bands overlap by more than search.TIE_OVERLAP, search.TIE_RULE) and the feasible hardware on a prior with its
    plain-language note."""
    feas = [h for h in res.hardware if h.feasible]
    rows = [
        {
            "hardware": h.hardware,
            "uncertainty": {"cost_usd": {"p10": h.totals.get("cost_usd_p10"), "p90": h.totals.get("cost_usd_p90")}},
        }
        for h in feas
    ]
    notes = [h.calibration.get("note") for h in feas if h.prior and h.calibration.get("note")]
    return {
        **S.tie_report(rows[0] if rows else None, rows, "cost_usd"),
        "prior_hardware": [h.hardware for h in feas if h.prior],
        "calibration_notes": list(dict.fromkeys(notes)),
    }


def _range(band: dict | None, fmt) -> str:
    """``a to b`` ("to", not a dash: a negative end would read as ``-5%--3%``)."""
    return f"{fmt(band['p10'])} to {fmt(band['p90'])}" if band else ""


def fleet_operating_point(res: PlanResult, hardware: str, month: int = -1) -> dict | None:
    """The operating point of ``hardware``'s whole fleet in ``month`` (index, default the last), in the terms a
    tokens-to-dollars formula takes (economics.sensitivity.tornado): ``utilization`` the plan's TCO utilization (the
    busy share its $/GPU-hour, energy included, is priced at) and ``tokens_per_s_per_gpu`` the month's average tokens/s
    over all the fleet's GPUs (prompt-cache GPUs included) divided by it, so that $/busy GPU-hour over it is the plan's
    ``usd_per_mtok_fleet_only``. Beside them: ``served_tokens_per_s_per_gpu`` (the month's tokens/s per GPU),
    ``capacity_tokens_per_s_per_gpu`` (every workload's capacity requests/s x ISL + OSL, per GPU) and
    ``fleet_utilization_by_tokens`` (served / capacity). None when the hardware has no fleet or no load that month."""
    h = next((x for x in res.hardware if x.hardware == hardware and x.feasible), None)
    if h is None or not h.monthly:
        return None
    i = int(np.arange(res.months.size)[month])
    gpus = float(np.asarray(h.monthly["gpus"])[i])
    by_key = {w.key: w for w in res.demand.workloads}
    cap_tps = 0.0
    for w in h.workloads:
        wl = by_key.get(w["workload"])
        if wl is not None:
            cap_tps += float(np.asarray(w["capacity_requests_per_s"])[i]) * (wl.isl + wl.osl)
    t = res.demand.totals
    served_tps = (
        float(t["uncached_input_tokens_per_day"][i])
        + float(t["cached_input_tokens_per_day"][i])
        + float(t["output_tokens_per_day"][i])
    ) / units.S_PER_DAY
    u_tco = float(h.tco.get("utilization") or 0.0)
    if not (gpus > 0 and cap_tps > 0 and served_tps > 0 and 0.0 < u_tco <= 1.0):
        return None
    return {
        "hardware": hardware,
        "month": str(res.labels[i]),
        "gpus": int(gpus),
        "utilization": u_tco,
        "tokens_per_s_per_gpu": served_tps / gpus / u_tco,
        "served_tokens_per_s_per_gpu": served_tps / gpus,
        "capacity_tokens_per_s_per_gpu": cap_tps / gpus,
        "fleet_utilization_by_tokens": served_tps / cap_tps,
    }


def plan_summary(res: PlanResult) -> dict:
    b = res.best
    d = res.demand
    i = int(res.months.size - 1)
    base = {
        "hardware": b.hardware if b else None,
        "month_label": res.labels[i],
        "users": float(d.total_users[i]),
        "tokens_per_day": float(d.totals["total_tokens_per_day"][i]),
        "peak_requests_per_s": float(d.totals["peak_requests_per_s"][i]),
    }
    if b is None:
        why = res.none_feasible_reason or ""
        return {**base, "sentences": [why[:1].upper() + why[1:] + "."]}
    mo = b.monthly
    p = res.scenario.pricing
    tot = (
        d.totals["uncached_input_tokens_per_day"][i]
        + d.totals["cached_input_tokens_per_day"][i]
        + d.totals["output_tokens_per_day"][i]
    )
    rev_m = float(mo["revenue_usd"][i])
    price_blended = rev_m / (tot * units.DAYS_PER_MONTH) * units.MTOK if tot > 0 else None
    out = {
        **base,
        "gpus": int(mo["gpus"][i]),
        "mw": _num(mo["mw"][i]),
        "cost_usd_per_month": float(mo["cost_usd"][i]),
        "revenue_usd_per_month": rev_m,
        "gross_margin_pct": _num(mo["gross_margin_pct"][i]),
        "usd_per_mtok_input": _num(mo["usd_per_mtok_input"][i]),
        "usd_per_mtok_cached_input": _num(mo["usd_per_mtok_cached_input"][i]),
        "usd_per_mtok_output": _num(mo["usd_per_mtok_output"][i]),
        "usd_per_mtok_blended": _num(mo["usd_per_mtok_blended"][i]),
        "price_usd_per_mtok_blended": price_blended,
        "breakeven_usd_per_mtok": _num(mo["breakeven_usd_per_mtok"][i]),
        "price_at_target_margin_usd_per_mtok": _num(mo["price_at_target_margin_usd_per_mtok"][i]),
        "target_gross_margin_pct": float(mo["target_gross_margin_pct"]),
        "price_usd_per_mtok_billed": _num(mo["price_usd_per_mtok_billed"][i]),
        "breakeven_users": _num(mo["breakeven_users"][i]),
        "usd_per_mtok_fleet_only": _num(
            breakeven_usd_per_mtok(float(mo["gpu_cost_usd"][i]), tot * units.DAYS_PER_MONTH) if tot > 0 else None
        ),
        "fleet_utilization": _num(mo["fleet_utilization"][i]),
        "fleet_utilization_peak": _num(mo["fleet_utilization_peak"][i]),
        "horizon_cost_usd": b.totals["cost_usd"],
        "horizon_revenue_usd": b.totals["revenue_usd"],
        "horizon_margin_usd": b.totals["gross_margin_usd"],
        "horizon_usd_per_mtok_blended": _num(b.totals["usd_per_mtok_blended"]),
        "scopes": {
            "usd_per_mtok_blended": f"{res.labels[i]}: fleet and fixed costs / all tokens of the month",
            "usd_per_mtok_fleet_only": f"{res.labels[i]}: the GPU fleet only / all tokens of the month",
            "usd_per_mtok_input": f"{res.labels[i]}: fleet and fixed costs split by GPU time per token kind",
            "breakeven_usd_per_mtok": f"{res.labels[i]}: (cost - subscriptions) / tokens billed per token",
            "price_at_target_margin_usd_per_mtok": f"{res.labels[i]}: the per-token price for a "
            f"{float(mo['target_gross_margin_pct']):g}% gross margin",
            "horizon_usd_per_mtok_blended": f"whole plan ({res.months.size} months): fleet and fixed costs / all "
            "tokens",
            "fleet_utilization": f"{res.labels[i]}: average requests/s / fleet capacity",
            "fleet_utilization_peak": f"{res.labels[i]}: peak-hour requests/s / fleet capacity",
        },
    }
    out["uncertainty"] = {
        k: {"p10": _num(mo[f"{src}_p10"][i]), "p90": _num(mo[f"{src}_p90"][i])}
        for k, src in SUMMARY_BANDS.items()
        if f"{src}_p10" in mo and _num(mo[f"{src}_p10"][i]) is not None
    }
    for k, src in (
        ("horizon_cost_usd", "cost_usd"),
        ("horizon_margin_usd", "gross_margin_usd"),
        ("horizon_usd_per_mtok_blended", "usd_per_mtok_blended"),
    ):
        if b.totals.get(f"{src}_p10") is not None:
            out["uncertainty"][k] = {"p10": _num(b.totals[f"{src}_p10"]), "p90": _num(b.totals[f"{src}_p90"])}
    if "gpu_cost_usd_p10" in mo and tot > 0:
        fleet = [
            _num(breakeven_usd_per_mtok(float(mo[f"gpu_cost_usd_{q}"][i]), tot * units.DAYS_PER_MONTH))
            for q in ("p10", "p90")
        ]
        if None not in fleet:
            out["uncertainty"]["usd_per_mtok_fleet_only"] = {"p10": fleet[0], "p90": fleet[1]}
    rank = plan_ranking(res)
    out.update(rank)
    out["calibration"] = dict(b.calibration)
    out["prior"] = b.prior
    u = out["uncertainty"]
    s = []
    s.append(
        f"By {res.labels[i]} the product has {_count(out['users'])} users generating "
        f"{_count(out['tokens_per_day'])} tokens a day (busiest hour: {out['peak_requests_per_s']:,.1f} "
        f"model calls per second)."
    )
    mw_txt = f" drawing {out['mw']:.2f} MW" if out["mw"] is not None else ""
    s.append(
        f"The cheapest hardware is {b.hardware}: {out['gpus']:,} GPUs ({int(mo['racks'][i]):,} "
        f"rack{'' if int(mo['racks'][i]) == 1 else 's'}){mw_txt}, "
        + (
            f"costing {_money(float(mo['gpu_cost_usd'][i]))} a month "
            f"({_money(float(mo['capital_usd'][i]))} capital, "
            f"{_money(float(mo['operating_usd'][i]) - float(mo['fixed_usd'][i]))} operating); with "
            f"{_money(float(mo['fixed_usd'][i]))} of fixed costs outside the fleet the month costs "
            f"{_money(out['cost_usd_per_month'])}."
            if float(mo["fixed_usd"][i])
            else f"costing {_money(out['cost_usd_per_month'])} a month "
            f"({_money(float(mo['capital_usd'][i]))} capital, {_money(float(mo['operating_usd'][i]))} operating)."
        )
    )
    if "gpus" in u and "cost_usd_per_month" in u:
        s.append(
            f"With the performance model's own error (the p10-p90 of its throughput band) the fleet is "
            f"{_range(u['gpus'], lambda x: f'{x:,.0f}')} GPUs and the month costs "
            f"{_range(u['cost_usd_per_month'], _money)}."
        )
    if rank["tie"]:
        s.append(
            f"On whole-plan cost {b.hardware} is a tie with {', '.join(rank['tie'])}: their p10-p90 cost bands "
            f"overlap by more than {S.TIE_OVERLAP:.0%} of the narrower one, so the model cannot rank them."
        )
    named = [b] + [h for h in res.hardware if h.feasible and h.hardware in rank["tie"]]
    for h in named:
        if h.prior and h.calibration.get("note"):
            s.append(f"Caution: {h.calibration['note']}.")
    s.append(
        f"In {res.labels[i]} a million tokens costs {_money(out['usd_per_mtok_blended'])} on average with fixed "
        f"costs ({_money(out['usd_per_mtok_fleet_only'])} for the GPU fleet alone; by the GPU time each kind uses: "
        f"input {_money(out['usd_per_mtok_input'])}, cached input {_money(out['usd_per_mtok_cached_input'])}, "
        f"output {_money(out['usd_per_mtok_output'])}); "
        + (
            f"list prices are {_money(p.usd_per_mtok_input)} / {_money(p.cached_input)} / "
            f"{_money(p.usd_per_mtok_output)}."
            if (p.usd_per_mtok_input or p.usd_per_mtok_output)
            else "tokens are not sold one by one (subscriptions pay for them)."
        )
    )
    if rev_m > 0:
        verdict = "profit" if out["gross_margin_pct"] is not None and out["gross_margin_pct"] >= 0 else "loss"
        gm = u.get("gross_margin_pct")
        s.append(
            f"Revenue is {_money(rev_m)} a month, a gross {verdict} of "
            f"{abs(out['gross_margin_pct'] or 0):.0f}% of revenue "
            f"({_money(float(mo['gross_margin_usd'][i]))} a month"
            + (f"; p10-p90 margin {gm['p10']:.0f}% to {gm['p90']:.0f}%" if gm else "")
            + ")."
        )
    else:
        s.append(
            "The month has no users, so no revenue: every dollar of cost is a loss."
            if not out["users"]
            else "The scenario has no revenue (no prices or subscriptions): every dollar of cost is a loss."
        )
    if out["breakeven_usd_per_mtok"] is not None:
        be = (
            f"To break even, tokens billed per token must bring at least {_money(out['breakeven_usd_per_mtok'])} per "
            f"million on average (today {_money(out['price_usd_per_mtok_billed'])}); a "
            f"{out['target_gross_margin_pct']:g}% gross margin needs "
            f"{_money(out['price_at_target_margin_usd_per_mtok'])}"
        )
    else:
        be = (
            "With no users there is no billed token, so no per-token breakeven price"
            if not out["users"]
            else "No persona pays per token, so there is no per-token breakeven price"
        )
    s.append(
        be
        + (
            f"; at today's prices it takes about {_count(out['breakeven_users'])} users to break even."
            if out["breakeven_users"] is not None
            else (
                "; breakeven users are not defined without users (the persona mix is this month's)."
                if not out["users"]
                else "; at today's prices no number of users breaks even (each user costs more than they pay)."
            )
        )
    )
    if out["fleet_utilization"] is not None:
        s.append(
            f"The fleet is sized for the busiest hour with headroom (bursts, a target peak utilization and a spare "
            f"replica per group): it runs at {out['fleet_utilization']:.0%} of its capacity on average and "
            f"{out['fleet_utilization_peak']:.0%} in the busiest hour."
        )
    s.append(
        f"Over {res.months.size} months: cost {_money(out['horizon_cost_usd'])}, revenue "
        f"{_money(out['horizon_revenue_usd'])}, margin {_money(out['horizon_margin_usd'])}."
    )
    out["sentences"] = s
    return out


__all__ = [
    "plan",
    "PlanResult",
    "HardwarePlan",
    "capacity_options",
    "fleet_at_rates",
    "allocate_cost",
    "price_factor",
    "price_at_margin_usd_per_mtok",
    "scenario_headroom",
    "transition_plan",
    "retired_capital_usd",
    "token_revenue_usd",
    "gross_margin",
    "breakeven_usd_per_mtok",
    "breakeven_price_multiple",
    "breakeven_users_linear",
    "breakeven_users",
    "breakeven_users_for_month",
    "month_money",
    "workload_frontier",
    "hardware_tco",
    "served_precision",
    "cost_weights",
    "plan_summary",
    "fleet_operating_point",
    "plan_ranking",
    "month_bands",
    "BAND_KEYS",
    "DEFINITIONS",
    "DEFAULT_OUTPUT_COST_WEIGHT",
    "DEFAULT_CACHED_INPUT_COST_WEIGHT",
]
