"""Business planning: a scenario's demand → the fleet per candidate hardware, month by month → cost, revenue, gross
margin and breakeven (pure functions; docs/demand.md has the arithmetic and the PlanResult schema).

Entry point: :func:`plan`. The fleet engine is tokenfab.search (one :func:`tokenfab.search.frontier` sweep per
workload, all hardware at once, cached per workload) and tokenfab.planning.fleet's sizing (``fewest_gpus``: the fleet
``recommend`` picks, whole replicas or a composed disaggregated fleet; ``nodes_and_racks``, ``megawatts``); the cost of
a GPU-hour is tokenfab.economics.tco. Because the per-replica capacity of a configuration does not depend on the month, a
36-month plan costs one sweep per workload, then array arithmetic.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np

from tokenfab import search as S
from tokenfab.catalog.hardware import get_hardware
from tokenfab.core import units
from tokenfab.core.errors import TokenfabError
from tokenfab.core.inputs import check_hardware_count, check_input
from tokenfab.core.jsonable import to_jsonable
from tokenfab.economics import caching as cachemod
from tokenfab.economics import tco as tcomod
from tokenfab.economics.cost import CACHED_INPUT_COST_FRACTION
from tokenfab.planning import demand as dem
from tokenfab.planning import fleet as fleetmod
from tokenfab.planning.scenario import Scenario

# ---------------------------------------------------------------------------------------------------------------
# named defaults
# ---------------------------------------------------------------------------------------------------------------
# Cost weight of a cached input token relative to an uncached one: tokenfab.economics.cost.CACHED_INPUT_COST_FRACTION (0.1,
# an assumption matching the 90% discount providers give cached input; the work left is a KV read, not a prefill).
DEFAULT_CACHED_INPUT_COST_WEIGHT = CACHED_INPUT_COST_FRACTION
# [assumption] cost weight of an output token relative to an input token: 4, the output:input list-price ratio of
# GPT-4o ($2.50 / $10.00 per M tokens, openai.com/api/pricing, 2024-25); Claude Sonnet 4 is 5x ($3 / $15,
# anthropic.com/pricing). Decode is memory-bound and costs several times a prefill token of the same model.
DEFAULT_OUTPUT_COST_WEIGHT = 4.0
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
    "breakeven_usd_per_mtok": "cost / all tokens: the average price per million tokens at which revenue = cost",
    "breakeven_price_multiple": "(cost - subscription revenue) / per-token revenue: list prices x this = breakeven",
    "breakeven_users": "fewest users (this month's persona mix, fleet re-sized) from which revenue covers cost",
    "fleet_utilization": "average requests/s / fleet capacity (requests/s): the fleet is sized for the peak",
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
# the fleet at any rate: tokenfab.planning.fleet's rule (fewest GPUs over whole replicas and composed disaggregated fleets)
# ---------------------------------------------------------------------------------------------------------------
def capacity_options(sw: S.Sweep, hw_index: int) -> fleetmod.FleetCandidates:
    """The SLA-meeting configurations of one workload on one hardware, pre-pruned for sizing at many rates
    (tokenfab.planning.fleet.fleet_candidates): the whole-replica Pareto set plus every disaggregated row."""
    c = sw.cols
    ok = np.flatnonzero(sw.sla_mask() & (c["requests_per_s"] > 0) & (c["hw"] == hw_index))
    return fleetmod.fleet_candidates(sw, ok)


def fleet_at_rates(cands: fleetmod.FleetCandidates, rates_rps) -> dict:
    """For each rate the fleet tokenfab.planning.fleet.recommend would pick on this hardware (one $/GPU-hour, so the fewest
    GPUs): tokenfab.planning.fleet.fewest_gpus, whole replicas or a disaggregated fleet composed for the rate. Rate 0 needs
    no GPUs."""
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


def workload_frontier(
    w: dem.Workload, hardware: tuple[str, ...], *, weights=None, percentile=None, calibration=None
) -> S.FrontierResult:
    """search.frontier for one workload over all candidate hardware (no costs: attached per plan), cached."""
    key = (
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
    )
    if len(_SWEEP_CACHE) >= _SWEEP_CACHE_MAX:
        _SWEEP_CACHE.pop(next(iter(_SWEEP_CACHE)))
    _SWEEP_CACHE[key] = fr
    return fr


def hardware_tco(sc: Scenario, hw_key: str) -> tcomod.TcoResult:
    """The scenario's TCO for one hardware (preset, plain price or overrides)."""
    return tcomod.tco(hw_key, sc.tco.preset, sc.tco.usd_per_gpu_hour, **dict(sc.tco.overrides))


# ---------------------------------------------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------------------------------------------
@dataclass
class HardwarePlan:
    hardware: str
    feasible: bool
    reason: Optional[str] = None
    tco: dict = field(default_factory=dict)
    workloads: list = field(default_factory=list)
    monthly: dict = field(default_factory=dict)
    totals: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "hardware": self.hardware,
            "feasible": self.feasible,
            "reason": self.reason,
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

    @property
    def months(self) -> np.ndarray:
        return self.demand.months

    @property
    def labels(self) -> list[str]:
        return self.demand.labels

    @property
    def best(self) -> Optional[HardwarePlan]:
        ok = [h for h in self.hardware if h.feasible]
        return ok[0] if ok else None

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
                for f, v in d.by_feature.items():
                    row[f"tokens_per_day:{f}"] = float(v["total_tokens_per_day"][i])
                for p, v in d.by_persona.items():
                    row[f"tokens_per_day:{p}"] = float(v["total_tokens_per_day"][i])
                for k in (
                    "gpus",
                    "nodes",
                    "racks",
                    "mw",
                    "cost_usd",
                    "capital_usd",
                    "operating_usd",
                    "usd_per_mtok_input",
                    "usd_per_mtok_cached_input",
                    "usd_per_mtok_output",
                    "usd_per_mtok_blended",
                    "revenue_usd",
                    "gross_margin_usd",
                    "gross_margin_pct",
                    "breakeven_usd_per_mtok",
                    "breakeven_price_multiple",
                    "breakeven_users",
                ):
                    v = mo.get(k)
                    row[k] = None if v is None else _num(v[i])
                rows.append(row)
        return rows


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
    a = sc.cost_allocation
    return {
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
        "fleet": "sized for each month's peak hour within each feature's SLA (p90 TTFT under Poisson arrivals), "
        "owned or rented for the whole month",
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
def _frontier_points(sw: S.Sweep, ids: np.ndarray, usd_h: float | None) -> list[dict]:
    c = sw.cols
    out = []
    for i in ids:
        tps = float(c["total_tokens_per_s_per_gpu"][i])
        out.append(
            {
                "mode": S.MODES[int(c["mode"][i])],
                "tokens_per_s_per_user": float(c["tokens_per_s_per_user"][i]),
                "total_tokens_per_s_per_gpu": tps,
                "usd_per_mtok_total": (
                    usd_h / (tps * units.S_PER_HOUR / units.MTOK) if (usd_h is not None and tps > 0) else None
                ),
            }
        )
    return out


def _operating_point(sw: S.Sweep, i: int, usd_h: float | None) -> dict:
    p = sw.point(int(i))
    tps = p.get("total_tokens_per_s_per_gpu") or 0.0
    p["usd_per_gpu_hour"] = usd_h
    p["usd_per_mtok_total"] = usd_h / (tps * units.S_PER_HOUR / units.MTOK) if (usd_h and tps) else None
    for k in ("usd_per_mtok_input", "usd_per_mtok_output", "tokens_per_s_per_mw"):
        p.pop(k, None)
    return p


def _plan_hardware(
    sc: Scenario, d: dem.DemandResult, hw_key: str, fronts: dict, *, fixed_usd: float, weights: dict, percentile=None
) -> HardwarePlan:
    hw = get_hardware(hw_key)
    try:
        t = hardware_tco(sc, hw_key)
    except TokenfabError as e:
        return HardwarePlan(hw_key, False, f"cost unknown: {e}")
    wall = float(t.usd_per_gpu_hour_wallclock)
    comp = {k: float(v) for k, v in t.breakdown_wallclock.items()}
    cap_h = sum(v for k, v in comp.items() if k in CAPITAL_COMPONENTS)
    tco_d = {
        "preset": t.preset or tcomod.DEFAULT_PRESET,
        "method": t.method,
        "utilization": t.utilization,
        "usd_per_gpu_hour_wallclock": wall,
        "usd_per_gpu_hour_busy": float(t.usd_per_gpu_hour),
        "capital_usd_per_gpu_hour": cap_h,
        "operating_usd_per_gpu_hour": wall - cap_h,
        "breakdown_wallclock": comp,
        "kw_per_gpu_all_in": t.kw_per_gpu_all_in,
        "chips_per_node": hw.chips_per_node,
        "chips_per_rack": hw.chips_per_rack,
    }
    n = d.months.size
    gpus = np.zeros(n, dtype=int)
    cap_rps_all = np.zeros(n)
    wl_out = []
    per_wl = []
    for w in d.workloads:
        fr = fronts[w.key]
        sw = fr.sweep
        h = next(i for i, x in enumerate(sw.hardware) if x.key == hw.key)
        cands = capacity_options(sw, h)
        if not cands.pareto.size:
            sla = S.SLA.make(ttft_max_ms=w.ttft_max_ms, tpot_max_ms=w.tpot_max_ms, percentile=percentile)
            return HardwarePlan(hw_key, False, f"workload {w.key}: {fleetmod.skip_reason(sw, h, sla)}", tco=tco_d)
        per_wl.append(cands)
        rates = d.load[w.key]["peak_requests_per_s"]
        f = fleet_at_rates(cands, rates)
        gpus = gpus + f["gpus"]
        cap_rps_all = cap_rps_all + f["capacity_requests_per_s"]
        last = int(f["row"][-1])
        fids = fr.frontier_idx[sw.cols["hw"][fr.frontier_idx] == h]
        fids = fids[np.argsort(sw.cols["tokens_per_s_per_user"][fids])]
        with np.errstate(divide="ignore", invalid="ignore"):
            util = np.where(f["capacity_requests_per_s"] > 0, rates / f["capacity_requests_per_s"], 0.0)
        wl_out.append(
            {
                "workload": w.key,
                "gpus": f["gpus"],
                "replicas": f["replicas"],
                "gpus_per_replica": f["gpus_per_replica"],
                "mode": [S.MODES[int(sw.cols["mode"][r])] for r in f["row"]],
                "composed": f["composed"],
                "prefill_replicas": f["prefill_replicas"],
                "decode_replicas": f["decode_replicas"],
                "capacity_requests_per_s": f["capacity_requests_per_s"],
                "utilization_at_peak": util,
                "operating_point": _operating_point(sw, last, float(t.usd_per_gpu_hour)),
                "frontier": _frontier_points(sw, fids, float(t.usd_per_gpu_hour)),
            }
        )
    nodes = np.array([fleetmod.nodes_and_racks(g, hw.chips_per_node, hw.chips_per_rack)[0] for g in gpus])
    racks = np.array([fleetmod.nodes_and_racks(g, hw.chips_per_node, hw.chips_per_rack)[1] for g in gpus])
    mw = np.asarray(fleetmod.megawatts(gpus, t.kw_per_gpu_all_in)) if t.kw_per_gpu_all_in else np.full(n, np.nan)
    breakdown = {k: np.asarray(fleetmod.usd_per_month(v, gpus)) for k, v in comp.items()}
    gpu_cost = np.asarray(fleetmod.usd_per_month(wall, gpus))
    capital = sum((breakdown[k] for k in CAPITAL_COMPONENTS if k in breakdown), np.zeros(n))
    fixed = np.full(n, float(fixed_usd))
    cost = gpu_cost + fixed
    operating = cost - capital
    money = month_money(sc, d, cost, weights)
    with np.errstate(divide="ignore", invalid="ignore"):
        fleet_util = np.where(cap_rps_all > 0, d.totals["avg_requests_per_s"] / cap_rps_all, np.nan)
    be_users = breakeven_users(d, per_wl, wall, fixed_usd, money["revenue_usd"])
    monthly = {
        "gpus": gpus,
        "nodes": nodes,
        "racks": racks,
        "mw": mw,
        "cost_usd": cost,
        "capital_usd": capital,
        "operating_usd": operating,
        "fixed_usd": fixed,
        "gpu_cost_usd": gpu_cost,
        "cost_breakdown_usd": {**breakdown, **({"fixed": fixed} if fixed_usd else {})},
        **money,
        "breakeven_users": be_users,
        "fleet_utilization": fleet_util,
    }
    tok = float(np.sum(d.totals["total_tokens_per_day"]) * units.DAYS_PER_MONTH)
    tot_cost, tot_rev = float(cost.sum()), float(money["revenue_usd"].sum())
    m_usd, m_pct = gross_margin(tot_rev, tot_cost)
    totals = {
        "cost_usd": tot_cost,
        "capital_usd": float(capital.sum()),
        "operating_usd": float(operating.sum()),
        "revenue_usd": tot_rev,
        "gross_margin_usd": m_usd,
        "gross_margin_pct": m_pct,
        "peak_gpus": int(gpus.max()) if n else 0,
        "peak_mw": float(np.nanmax(mw)) if n and np.isfinite(mw).any() else None,
        "tokens": tok,
        "usd_per_mtok_blended": breakeven_usd_per_mtok(tot_cost, tok),
    }
    return HardwarePlan(hw_key, True, None, tco_d, wl_out, monthly, totals)


def month_money(sc: Scenario, d: dem.DemandResult, cost_usd, weights: dict) -> dict:
    """Cost per M tokens by kind, revenue, margin and breakeven prices for each month (arrays)."""
    days = units.DAYS_PER_MONTH
    T = d.totals
    unc, cac, out = (
        T["uncached_input_tokens_per_day"] * days,
        T["cached_input_tokens_per_day"] * days,
        T["output_tokens_per_day"] * days,
    )
    c_in, c_cached, c_out = allocate_cost(
        cost_usd, unc, cac, out, cached_weight=weights["cached_input"], output_weight=weights["output"]
    )
    p = sc.pricing
    B = d.billed
    rev_tok = np.asarray(
        token_revenue_usd(
            B["uncached_input_tokens_per_day"] * days,
            B["cached_input_tokens_per_day"] * days,
            B["output_tokens_per_day"] * days,
            usd_per_mtok_input=p.usd_per_mtok_input,
            usd_per_mtok_cached_input=p.cached_input,
            usd_per_mtok_output=p.usd_per_mtok_output,
        )
    ) * np.ones_like(unc)
    subs = np.asarray(d.subscription_usd_per_month, dtype=float)
    rev = rev_tok + subs
    m_usd, m_pct = gross_margin(rev, cost_usd)
    total_tok = unc + cac + out
    return {
        "usd_per_mtok_input": np.asarray(c_in),
        "usd_per_mtok_cached_input": np.asarray(c_cached),
        "usd_per_mtok_output": np.asarray(c_out),
        "usd_per_mtok_blended": np.asarray(breakeven_usd_per_mtok(cost_usd, total_tok)),
        "revenue_usd": rev,
        "revenue_tokens_usd": rev_tok,
        "revenue_subscriptions_usd": subs,
        "gross_margin_usd": np.asarray(m_usd),
        "gross_margin_pct": np.asarray(m_pct),
        "breakeven_usd_per_mtok": np.asarray(breakeven_usd_per_mtok(cost_usd, total_tok)),
        "breakeven_price_multiple": np.asarray(breakeven_price_multiple(cost_usd, subs, rev_tok)),
    }


def _breaks_even(
    cands: list, rates_per_user: list, users, revenue_per_user, usd_per_gpu_hour_wallclock: float, fixed_usd: float
) -> np.ndarray:
    """Whether revenue covers cost at each user count ``users`` (shape (months, k)): rates per user and revenue per
    user are per month (shape (months,)); the fleet per workload is tokenfab.planning.fleet.fewest_gpus. The cheap
    tokenfab.planning.fleet.gpu_bounds settle most points; the fleet is composed only where they disagree."""
    users = np.asarray(users, dtype=float)
    rates = [(np.asarray(r, dtype=float)[:, None] * users).ravel() for r in rates_per_user]
    revenue = (np.asarray(revenue_per_user, dtype=float)[:, None] * users).ravel()

    def covers(gpus, at=slice(None)):
        return revenue[at] - (np.asarray(fleetmod.usd_per_month(usd_per_gpu_hour_wallclock, gpus)) + fixed_usd) >= 0

    bounds = [fleetmod.gpu_bounds(fc, r) for fc, r in zip(cands, rates)]
    ok = covers(sum(b[1] for b in bounds))
    unsure = np.flatnonzero(~ok & covers(sum(b[0] for b in bounds)))
    if unsure.size:
        ok[unsure] = covers(sum(fleetmod.fewest_gpus(fc, r[unsure])["gpus"] for fc, r in zip(cands, rates)), unsure)
    return ok.reshape(users.shape)


def breakeven_users(
    d: dem.DemandResult, cands: list, usd_per_gpu_hour_wallclock: float, fixed_usd: float, revenue_usd
) -> np.ndarray:
    """Per month: the fewest users (that month's persona mix; revenue and load scale with users) from which revenue
    covers the cost of the fleet re-sized at that scale (``cands``: per workload of ``d``, capacity_options) plus
    fixed costs: the last user count on a log grid (1..BREAKEVEN_MAX_USERS) where it does not, then that gap refined
    (BREAKEVEN_REFINE_POINTS points a round) to a relative 1e-6. NaN where nothing up to BREAKEVEN_MAX_USERS breaks
    even or the month has no users or revenue. All months at once."""
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
    # months with the same persona mix (rates and revenue per user) share one search
    _, first, inv = np.unique(np.stack([*per_user, rev_pu], axis=1), axis=0, return_index=True, return_inverse=True)
    out[act] = _breakeven_users_search(
        cands, [r[first] for r in per_user], rev_pu[first], usd_per_gpu_hour_wallclock, fixed_usd
    )[np.ravel(inv)]
    return out


def _breakeven_users_search(
    cands: list, per_user: list, rev_pu, usd_per_gpu_hour_wallclock: float, fixed_usd: float
) -> np.ndarray:
    """breakeven_users' search for rows of (rates per user of each workload, revenue per user)."""
    out = np.full(rev_pu.size, np.nan)
    args = (usd_per_gpu_hour_wallclock, fixed_usd)
    grid = np.geomspace(1.0, BREAKEVEN_MAX_USERS, BREAKEVEN_GRID_POINTS)
    ok = _breaks_even(cands, per_user, np.broadcast_to(grid, (rev_pu.size, grid.size)), rev_pu, *args)
    never = ~ok[:, -1]
    last_bad = np.where(ok, -1, np.arange(grid.size)[None, :]).max(axis=1)
    out[~never & (last_bad < 0)] = grid[0]
    sel = np.flatnonzero(~never & (last_bad >= 0))
    lo, hi = grid[last_bad[sel]], grid[np.minimum(last_bad[sel] + 1, grid.size - 1)]
    frac = np.linspace(0.0, 1.0, BREAKEVEN_REFINE_POINTS + 2)[1:-1]
    while sel.size and np.any(hi - lo > 1e-6 * hi):
        pts = lo[:, None] + (hi - lo)[:, None] * frac[None, :]
        okp = _breaks_even(cands, [r[sel] for r in per_user], pts, rev_pu[sel], *args)
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
) -> float:
    """:func:`breakeven_users` for month ``i`` alone (``fronts``: workload key -> workload_frontier result)."""
    cands = []
    for w in d.workloads:
        sw = fronts[w.key].sweep
        cands.append(capacity_options(sw, next(j for j, x in enumerate(sw.hardware) if x.key == hw_key)))
    rev = np.zeros(np.asarray(d.total_users).size)
    rev[i] = revenue_usd
    return float(breakeven_users(d, cands, usd_per_gpu_hour_wallclock, fixed_usd, rev)[i])


def plan(
    sc: Scenario,
    *,
    months: int | None = None,
    hardware=None,
    progress: Optional[Callable[[int, int, str], None]] = None,
    percentile=None,
    calibration=None,
) -> PlanResult:
    """The month-by-month plan of a scenario on each candidate hardware (``hardware`` overrides the scenario's list;
    ``months`` shortens the horizon). ``progress(done, total, label)`` is called as sweeps finish."""
    t0 = time.perf_counter()
    n = sc.horizon_months if months is None else check_input("months", months)
    hws = list(sc.hardware if not hardware else hardware)
    check_hardware_count(hws)
    keys = tuple(get_hardware(h).key for h in hws)
    d = dem.demand(sc, np.arange(n))
    total = len(d.workloads) + len(keys)
    done = 0
    fronts: dict[str, S.FrontierResult] = {}
    warnings: list[str] = []
    for w in d.workloads:
        if progress:
            progress(done, total, f"sweep {w.key}")
        fronts[w.key] = workload_frontier(w, keys, weights=w.weights, percentile=percentile, calibration=calibration)
        warnings.extend(x for x in fronts[w.key].sweep.warnings if "cost unknown" not in x and x not in warnings)
        done += 1
    weights = cost_weights(sc)
    plans = []
    for k in keys:
        if progress:
            progress(done, total, f"plan {k}")
        plans.append(
            _plan_hardware(
                sc, d, k, fronts, fixed_usd=sc.fixed_costs_usd_per_month, weights=weights, percentile=percentile
            )
        )
        done += 1
    if progress:
        progress(total, total, "done")
    plans.sort(key=lambda p: (not p.feasible, p.totals.get("cost_usd", 0.0)))
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
    if not any(p.feasible for p in plans):
        warnings.append(
            "no candidate hardware can serve every workload within its SLA: "
            + "; ".join(f"{p.hardware}: {p.reason}" for p in plans)
        )
    return PlanResult(
        scenario=sc, demand=d, caching=cach, hardware=plans, elapsed_s=time.perf_counter() - t0, warnings=warnings
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
    return f"{sign}${a:,.3f}"


def _count(x) -> str:
    if x is None or not np.isfinite(x):
        return "n/a"
    if x >= 1e9:
        return f"{x / 1e9:,.2f} billion"
    if x >= 1e6:
        return f"{x / 1e6:,.2f} million"
    return f"{x:,.0f}"


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
        return {**base, "sentences": ["No candidate hardware can serve this scenario within its latency targets."]}
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
        "breakeven_users": _num(mo["breakeven_users"][i]),
        "horizon_cost_usd": b.totals["cost_usd"],
        "horizon_revenue_usd": b.totals["revenue_usd"],
        "horizon_margin_usd": b.totals["gross_margin_usd"],
    }
    s = []
    s.append(
        f"By {res.labels[i]} the product has {_count(out['users'])} users generating "
        f"{_count(out['tokens_per_day'])} tokens a day (busiest hour: {out['peak_requests_per_s']:,.1f} "
        f"model calls per second)."
    )
    mw_txt = f" drawing {out['mw']:.2f} MW" if out["mw"] is not None else ""
    s.append(
        f"The cheapest hardware is {b.hardware}: {out['gpus']:,} GPUs ({int(mo['racks'][i]):,} racks){mw_txt}, "
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
    s.append(
        f"Serving a million tokens costs {_money(out['usd_per_mtok_blended'])} on average "
        f"(input {_money(out['usd_per_mtok_input'])}, cached input {_money(out['usd_per_mtok_cached_input'])}, "
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
        s.append(
            f"Revenue is {_money(rev_m)} a month, a gross {verdict} of "
            f"{abs(out['gross_margin_pct'] or 0):.0f}% of revenue "
            f"({_money(float(mo['gross_margin_usd'][i]))} a month)."
        )
    else:
        s.append("The scenario has no revenue (no prices or subscriptions): every dollar of cost is a loss.")
    s.append(
        f"To break even, the average price must be at least {_money(out['breakeven_usd_per_mtok'])} per million "
        f"tokens"
        + (
            f"; at today's prices it takes about {_count(out['breakeven_users'])} users."
            if out["breakeven_users"] is not None
            else "; at today's prices no number of users breaks even (each user costs more than they pay)."
        )
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
    "DEFINITIONS",
    "DEFAULT_OUTPUT_COST_WEIGHT",
    "DEFAULT_CACHED_INPUT_COST_WEIGHT",
]
