"""`tokenfab prices --plan scenario.yaml`: provider prices beside the cost of serving at a plan's own operating point
and utilization, so a price check and a plan of the same demand give the same $/M tokens.

The point per hardware is the plan's fleet in one month (default the last): its wall-clock $/GPU-hour divided by the
fleet's average utilization (average requests/s / capacity), at the fleet's capacity tokens/s per GPU (capacity
requests/s x (ISL + OSL) / GPUs) and the fleet's prefill share of GPU time. $/M total = wall-clock $/GPU-hour x GPUs /
(average tokens/s x 3600 / 1e6): the plan's fleet-only cost per million tokens of that workload.
"""

from __future__ import annotations

import numpy as np

from tokenfab.core.errors import TokenfabError
from tokenfab.market import pricing
from tokenfab.planning import plan as planmod
from tokenfab.planning.scenario import Scenario, load_scenario


def plan_operating_points(res: planmod.PlanResult, *, workload: str | None = None, month: int = -1) -> dict:
    """{hardware: point} of a plan's workload (default: the one with the most tokens) in ``month`` (index, default the
    last), for pricing.price_check(at_points=...). Hardware that cannot serve it is left out."""
    d = res.demand
    if not d.workloads:
        raise TokenfabError("the plan has no workloads", field="scenario")
    keys = [w.key for w in d.workloads]
    if workload is None:
        workload = max(keys, key=lambda k: float(np.asarray(d.load[k]["total_tokens_per_day"])[month]))
    if workload not in keys:
        raise TokenfabError("unknown workload", field="workload", expected=", ".join(keys), got=workload)
    wl = next(w for w in d.workloads if w.key == workload)
    i = int(np.arange(d.months.size)[month])
    out = {}
    for h in res.hardware:
        if not h.feasible or "->" in h.hardware:
            continue
        w = next(x for x in h.workloads if x["workload"] == workload)
        gpus = int(np.asarray(w["gpus"])[i])
        u = float(np.asarray(w["utilization_avg"])[i])
        tps = float(np.asarray(w["capacity_tokens_per_s_per_gpu"])[i])
        if gpus <= 0 or u <= 0 or tps <= 0:
            continue
        wall = float(h.tco["usd_per_gpu_hour_wallclock"])
        op = w["operating_point"]
        frac_out = wl.osl / (wl.isl + wl.osl)
        cost = wall / u / (tps * 3600 / 1e6)
        out[h.hardware] = {
            "hardware": h.hardware,
            "mode": op.get("mode"),
            "config": op.get("config"),
            "tokens_per_s_per_user": op.get("tokens_per_s_per_user"),
            "total_tokens_per_s_per_gpu": tps,
            "input_tokens_per_s_per_gpu": tps * (1 - frac_out),
            "output_tokens_per_s_per_gpu": tps * frac_out,
            "usd_per_gpu_hour": wall / u,
            "usd_per_mtok_total": cost,
            "prefill_gpu_time_share": float(np.asarray(w["prefill_gpu_time_share"])[i]),
            "cached_input_share": float(wl.prefix_hit_rate),
            "ttft_ms": op.get("ttft_ms"),
            "tpot_ms": op.get("tpot_ms"),
            "utilization": u,
            "weights": wl.weights,
            "month_label": d.labels[i],
            "workload": workload,
            "calibration": dict(h.calibration),
            "prior": h.prior,
            "uncertainty": _point_band(w, i, gpus, cost),
        }
    return {"workload": workload, "isl": int(wl.isl), "osl": int(wl.osl), "model": wl.model, "points": out}


def _point_band(w: dict, i: int, gpus: int, cost: float) -> dict:
    """p10/p90 of a plan operating point in month ``i``: the fleet re-sized at the ends of the throughput band
    (planning.plan's ``gpus_p10`` / ``gpus_p90`` of the workload) serves the same demand, so its $/M tokens scale with
    its GPUs; tokens/s per GPU is the band's capacity per GPU. {} without a band."""
    if "gpus_p10" not in w:
        return {}
    g10, g90 = float(np.asarray(w["gpus_p10"])[i]), float(np.asarray(w["gpus_p90"])[i])
    t10 = float(np.asarray(w["capacity_tokens_per_s_per_gpu_p10"])[i])
    t90 = float(np.asarray(w["capacity_tokens_per_s_per_gpu_p90"])[i])
    if not all(np.isfinite(x) for x in (g10, g90, t10, t90)):
        return {}
    return {
        "usd_per_mtok_total": {"p10": cost * g10 / gpus, "p90": cost * g90 / gpus},
        "total_tokens_per_s_per_gpu": {"p10": t10, "p90": t90},
    }


def price_check_at_plan(
    scenario: Scenario | str,
    *,
    model: str | None = None,
    hardware=None,
    months: int | None = None,
    month: int = -1,
    workload: str | None = None,
    provider=None,
    provider_model: str | None = None,
    compare_with: str | None = None,
    prices_file=None,
    per_kind: str = "gpu-time",
    hardware_files: list[str] | None = None,
) -> pricing.PriceCheckResult:
    """Plan ``scenario`` (a Scenario or a path), then price ``model`` (default: the workload's model) at the plan's
    operating point and average fleet utilization on each feasible hardware (plan_operating_points)."""
    sc = load_scenario(scenario, hardware_files=hardware_files) if isinstance(scenario, str) else scenario
    res = planmod.plan(sc, months=months, hardware=hardware, hardware_files=hardware_files)
    ops = plan_operating_points(res, workload=workload, month=month)
    if not ops["points"]:
        raise TokenfabError("no hardware of the plan can serve the workload", field="scenario", got=ops["workload"])
    r = pricing.price_check(
        model or ops["model"],
        provider=provider,
        provider_model=provider_model,
        compare_with=compare_with,
        isl=ops["isl"],
        osl=ops["osl"],
        preset=sc.tco.preset,
        usd_per_gpu_hour=sc.tco.usd_per_gpu_hour,
        prices_file=prices_file,
        per_kind=per_kind,
        at_points=ops["points"],
        at_points_label=f"plan {next(iter(ops['points'].values()))['month_label']}",
        weights=next(iter(ops["points"].values()))["weights"],
        hardware_files=hardware_files,
    )
    utils = ", ".join(f"{h} {p['utilization']:.0%}" for h, p in ops["points"].items())
    r.notes.insert(
        0,
        f"priced at the plan's operating point and average fleet utilization (workload {ops['workload']}, {utils}): "
        "that workload's serving GPUs only, not the prompt-cache GPUs or the plan's other workloads, so its $/M is "
        "the workload's own serving cost and differs from the plan summary's whole-fleet $/M unless the plan has one "
        "workload and no prompt cache",
    )
    return r
