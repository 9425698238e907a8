"""Fleet sizing: the cheapest fleet per hardware that serves a load within an SLA (:func:`recommend`), and the
inverse, the most tokens/s within a power or rack budget (:func:`max_throughput_for_budget`).

Both run the design-space sweep (search.sweep) and keep the configurations that meet the SLA at their own load
(tail TTFT from queueing.py at each configuration's throughput). Arithmetic (pure functions below):

- demand: ``rate_rps`` requests/s, or ``tokens_per_day`` (input + output tokens) / 86,400 / (ISL + OSL);
- replicas = ceil(rate / requests/s of one replica); a replica is one aggregated deployment, or one rate-matched
  x prefill : y decode unit when disaggregated. Running each replica at or below the load the SLA was checked at
  keeps the SLA (waits only shrink at lower load);
- GPUs = replicas x GPUs per replica; nodes = ceil(GPUs / chips_per_node); racks = ceil(GPUs / chips_per_rack);
- MW = GPUs x all-in kW per GPU (tco.TcoResult.kw_per_gpu_all_in) / 1000;
- $/month = usd_per_gpu_hour x GPUs x hours per month (units.HOURS_PER_MONTH = 8766 / 12). ``usd_per_gpu_hour`` is
  TCO's price per *busy* GPU-hour (wall-clock cost / utilization, so idle time is paid for); with
  ``--usd-per-gpu-hour`` (utilization 1) it is the plain rental bill. ``usd_per_month_wallclock`` (the calendar bill
  of exactly these GPUs) is reported next to it;
- $/M tokens on the demand actually served: cost.usd_per_mtok(usd_per_gpu_hour, served tokens/s / GPUs), for total,
  input and output tokens.

Options are ranked cheapest first ($/month); hardware whose cost is unknown comes last.
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from . import cost as costmod
from . import search as S
from . import units
from .errors import TokenfabError, require_positive

DEFINITIONS = {
    "replicas": "copies of the deployment (an x:y prefill:decode unit when disaggregated) = ceil(demand / capacity "
                "of one replica)",
    "gpus": "replicas x GPUs per replica",
    "nodes": "ceil(GPUs / chips_per_node)",
    "racks": "ceil(GPUs / chips_per_rack)",
    "mw": "GPUs x all-in kW per GPU / 1000 (TCO)",
    "usd_per_month": "usd_per_gpu_hour (TCO, per busy GPU-hour) x GPUs x 730.5 h",
    "usd_per_month_wallclock": "wall-clock $/GPU-hour x GPUs x 730.5 h (the calendar bill of these GPUs)",
    "usd_per_mtok_total": "USD per million (input + output) tokens of the demand served",
    "tokens_per_s_per_gpu": "served (input + output) tokens/s / GPUs",
    "utilization": "demand / capacity of the fleet (requests/s)",
}


# ----------------------------------------------------------------------------------------------- pure arithmetic
def demand_rps(rate_rps=None, tokens_per_day=None, *, isl: int, osl: int) -> float:
    """Requests/s from a rate, or from (input + output) tokens per day."""
    if (rate_rps is None) == (tokens_per_day is None):
        raise TokenfabError("give exactly one of a request rate and tokens per day", field="rate_rps",
                            expected="--rate R or --tokens-per-day T", got={"rate_rps": rate_rps,
                                                                             "tokens_per_day": tokens_per_day})
    if rate_rps is not None:
        return float(require_positive("rate_rps", rate_rps))
    require_positive("tokens_per_day", tokens_per_day)
    return float(tokens_per_day) / units.S_PER_DAY / float(isl + osl)


def replicas_needed(rate_rps, replica_rps):
    """ceil(rate / requests/s of one replica) (vectorized; a relative 1e-9 slack absorbs rounding)."""
    r = np.asarray(rate_rps, dtype=float) / np.asarray(replica_rps, dtype=float)
    out = np.maximum(1, np.ceil(r * (1 - 1e-12) - 1e-9)).astype(int)
    return out if out.ndim else int(out)


def nodes_and_racks(gpus, chips_per_node: int, chips_per_rack: int) -> tuple[int, int]:
    g = int(gpus)
    return math.ceil(g / chips_per_node), math.ceil(g / chips_per_rack)


def usd_per_month(usd_per_gpu_hour, gpus):
    """usd_per_gpu_hour x GPUs x hours per month."""
    out = np.asarray(usd_per_gpu_hour, dtype=float) * np.asarray(gpus, dtype=float) * units.HOURS_PER_MONTH
    return out if out.ndim else float(out)


def megawatts(gpus, kw_per_gpu):
    out = np.asarray(gpus, dtype=float) * np.asarray(kw_per_gpu, dtype=float) * units.KW / units.MW
    return out if out.ndim else float(out)


def gpus_in_budget(*, power_mw=None, racks=None, kw_per_gpu=None, chips_per_rack: int | None = None) -> int:
    """How many GPUs a power budget (all-in MW) or a number of racks holds."""
    if racks is not None:
        return int(racks) * int(chips_per_rack)
    if not kw_per_gpu:
        return 0
    return int(math.floor(float(power_mw) * units.MW / units.KW / float(kw_per_gpu) + 1e-9))


# ----------------------------------------------------------------------------------------------- results
@dataclass
class FleetOption:
    hardware: str
    mode: str
    gpus: int
    nodes: int
    racks: int
    mw: float | None
    usd_per_month: float | None
    usd_per_mtok_total: float | None
    usd_per_mtok_input: float | None
    usd_per_mtok_output: float | None
    tokens_per_s_per_gpu: float
    replicas: int
    config: dict
    gpus_per_replica: int = 0
    requests_per_s: float = 0.0  # demand
    tokens_per_s: float = 0.0  # demand, input + output
    capacity_requests_per_s: float = 0.0
    utilization: float = 0.0
    tokens_per_s_per_user: float = 0.0
    ttft_ms: float | None = None  # at the percentile
    tpot_ms: float | None = None
    e2el_ms: float | None = None
    percentile: str = "p90"
    usd_per_gpu_hour: float | None = None
    usd_per_gpu_hour_wallclock: float | None = None
    usd_per_month_wallclock: float | None = None
    kw_per_gpu_all_in: float | None = None
    chips_per_node: int = 0
    chips_per_rack: int = 0

    def to_dict(self) -> dict:
        d = asdict(self)
        d["definitions"] = dict(DEFINITIONS)
        return d


@dataclass
class BudgetOption:
    hardware: str
    mode: str
    budget: dict  # {"power_mw": P} or {"racks": N}
    max_gpus: int
    gpus: int
    nodes: int
    racks: int
    mw: float | None
    replicas: int
    gpus_per_replica: int
    config: dict
    tokens_per_s: float  # input + output
    output_tokens_per_s: float
    requests_per_s: float
    tokens_per_day: float
    tokens_per_s_per_gpu: float
    tokens_per_s_per_user: float
    ttft_ms: float | None
    tpot_ms: float | None
    percentile: str
    usd_per_month: float | None
    usd_per_mtok_total: float | None
    usd_per_mtok_input: float | None
    usd_per_mtok_output: float | None
    kw_per_gpu_all_in: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class FleetReport:
    options: list
    skipped: dict = field(default_factory=dict)  # hardware -> reason
    evaluated: int = 0
    elapsed_s: float = 0.0
    demand_requests_per_s: float | None = None
    sla: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"options": [o.to_dict() for o in self.options], "skipped": dict(self.skipped),
                "evaluated": self.evaluated, "elapsed_s": self.elapsed_s,
                "demand_requests_per_s": self.demand_requests_per_s, "sla": dict(self.sla),
                "warnings": list(self.warnings)}


# ----------------------------------------------------------------------------------------------- search
def _prepare(model, hardware_list, *, isl, osl, weights, preset, usd_per_gpu_hour, percentile, calibration,
             ttft_max_ms, tpot_max_ms, e2el_max_ms, gpus, mode, hardware_files, min_interactivity=None):
    sla = S.SLA.make(ttft_max_ms=ttft_max_ms, tpot_max_ms=tpot_max_ms, e2el_max_ms=e2el_max_ms,
                     min_interactivity=min_interactivity, percentile=percentile)
    hws = S.resolve_hardware(hardware_list, hardware_files)
    costs, cwarn = S._cost_table(hws, preset, usd_per_gpu_hour, hardware_files)
    sw = S.sweep(model, hws, isl=isl, osl=osl, weights=weights, gpus=gpus, mode=mode, sla=sla,
                 calibration=calibration, hardware_files=hardware_files)
    sw.warnings.extend(cwarn)
    S.attach_costs(sw, costs)
    return sw, sla


def _skip_reason(sw: S.Sweep, h: int, sla: S.SLA) -> str:
    c = sw.cols
    hm = (c["hw"] == h) & sw.valid
    if not hm.any():
        return "the model does not fit on the evaluated configurations"
    parts = []
    if sla.ttft_max_ms is not None:
        parts.append(f"best {sla.label} TTFT {np.nanmin(np.where(hm, c['ttft_ms'], np.nan)):.4g} ms "
                     f"(limit {sla.ttft_max_ms:g})")
    if sla.tpot_max_ms is not None:
        parts.append(f"best TPOT {np.nanmin(np.where(hm, c['tpot_ms'], np.nan)):.4g} ms (limit {sla.tpot_max_ms:g})")
    if sla.e2el_max_ms is not None:
        parts.append(f"best {sla.label} E2E latency {np.nanmin(np.where(hm, c['e2el_ms'], np.nan)):.4g} ms "
                     f"(limit {sla.e2el_max_ms:g})")
    return "no configuration meets the SLA" + (": " + "; ".join(parts) if parts else "")


def recommend_report(model, hardware_list, *, rate_rps=None, tokens_per_day=None, isl: int, osl: int,
                     ttft_max_ms=None, tpot_max_ms=None, weights=None, preset=None, usd_per_gpu_hour=None,
                     percentile=None, calibration=None, e2el_max_ms=None, gpus=None, mode="both",
                     hardware_files=None) -> FleetReport:
    """:func:`recommend` with the hardware it could not size and why."""
    t0 = time.perf_counter()
    rate = demand_rps(rate_rps, tokens_per_day, isl=int(isl), osl=int(osl))
    sw, sla = _prepare(model, hardware_list, isl=isl, osl=osl, weights=weights, preset=preset,
                       usd_per_gpu_hour=usd_per_gpu_hour, percentile=percentile, calibration=calibration,
                       ttft_max_ms=ttft_max_ms, tpot_max_ms=tpot_max_ms, e2el_max_ms=e2el_max_ms, gpus=gpus,
                       mode=mode, hardware_files=hardware_files)
    c = sw.cols
    ok = sw.sla_mask() & (c["requests_per_s"] > 0)
    if not ok.any():
        raise S.explain_infeasible(sw)
    reps_all = np.zeros(len(sw), dtype=int)
    reps_all[ok] = replicas_needed(rate, c["requests_per_s"][ok])
    gpus_all = reps_all * c["gpus"]
    month_all = np.where(ok, usd_per_month(c["usd_per_gpu_hour"], gpus_all), np.nan)
    options: list[FleetOption] = []
    skipped: dict[str, str] = {}
    tok_s = rate * (sw.isl + sw.osl)
    for h, hw in enumerate(sw.hardware):
        ids = np.flatnonzero(ok & (c["hw"] == h))
        if not ids.size:
            skipped[hw.key] = _skip_reason(sw, h, sla)
            continue
        cost_ids = ids[np.isfinite(month_all[ids])]
        pool = cost_ids if cost_ids.size else ids
        key_cost = month_all[pool] if cost_ids.size else np.zeros(pool.size)
        # cheapest, then fewest GPUs, then the most interactive
        order = np.lexsort((-c["tokens_per_s_per_user"][pool], gpus_all[pool], key_cost))
        i = int(pool[order[0]])
        n_gpus = int(gpus_all[i])
        nodes, racks = nodes_and_racks(n_gpus, hw.chips_per_node, hw.chips_per_rack)
        costinfo = sw.costs.get(hw.key) or {}
        usd_h = costinfo.get("usd_per_gpu_hour")
        kw = costinfo.get("kw_per_gpu_all_in")
        tps_gpu = tok_s / n_gpus
        frac_out = sw.osl / (sw.isl + sw.osl)

        def per_mtok(share):
            return float(costmod.usd_per_mtok(usd_h, tps_gpu * share)) if usd_h is not None else None

        cap_rps = float(reps_all[i] * c["requests_per_s"][i])
        options.append(FleetOption(
            hardware=hw.key, mode=S.MODES[int(c["mode"][i])], gpus=n_gpus, nodes=nodes, racks=racks,
            mw=float(megawatts(n_gpus, kw)) if kw else None,
            usd_per_month=float(usd_per_month(usd_h, n_gpus)) if usd_h is not None else None,
            usd_per_mtok_total=per_mtok(1.0), usd_per_mtok_input=per_mtok(1 - frac_out),
            usd_per_mtok_output=per_mtok(frac_out), tokens_per_s_per_gpu=float(tps_gpu), replicas=int(reps_all[i]),
            config=sw.config(i), gpus_per_replica=int(c["gpus"][i]), requests_per_s=float(rate),
            tokens_per_s=float(tok_s), capacity_requests_per_s=cap_rps, utilization=float(rate / cap_rps),
            tokens_per_s_per_user=float(c["tokens_per_s_per_user"][i]), ttft_ms=S._num(c["ttft_ms"][i]),
            tpot_ms=S._num(c["tpot_ms"][i]), e2el_ms=S._num(c["e2el_ms"][i]), percentile=sla.label,
            usd_per_gpu_hour=usd_h, usd_per_gpu_hour_wallclock=costinfo.get("usd_per_gpu_hour_wallclock"),
            usd_per_month_wallclock=(float(usd_per_month(costinfo["usd_per_gpu_hour_wallclock"], n_gpus))
                                     if costinfo.get("usd_per_gpu_hour_wallclock") is not None else None),
            kw_per_gpu_all_in=kw, chips_per_node=hw.chips_per_node, chips_per_rack=hw.chips_per_rack,
        ))
    options.sort(key=lambda o: (o.usd_per_month is None, o.usd_per_month or 0.0, o.gpus))
    return FleetReport(options=options, skipped=skipped, evaluated=sw.evaluated, elapsed_s=time.perf_counter() - t0,
                       demand_requests_per_s=rate, sla=sla.to_dict(), warnings=list(sw.warnings))


def recommend(model, hardware_list, *, rate_rps=None, tokens_per_day=None, isl: int, osl: int, ttft_max_ms=None,
              tpot_max_ms=None, weights=None, preset=None, usd_per_gpu_hour=None, percentile=None, calibration=None,
              e2el_max_ms=None, gpus=None, mode="both", hardware_files=None) -> list[FleetOption]:
    """Per hardware, the cheapest fleet that serves ``rate_rps`` requests/s (or ``tokens_per_day`` input + output
    tokens) of ISL/OSL tokens within the SLA; ranked cheapest first. Raises a TokenfabError naming the binding limit
    when no hardware can meet the SLA."""
    return recommend_report(model, hardware_list, rate_rps=rate_rps, tokens_per_day=tokens_per_day, isl=isl, osl=osl,
                            ttft_max_ms=ttft_max_ms, tpot_max_ms=tpot_max_ms, weights=weights, preset=preset,
                            usd_per_gpu_hour=usd_per_gpu_hour, percentile=percentile, calibration=calibration,
                            e2el_max_ms=e2el_max_ms, gpus=gpus, mode=mode, hardware_files=hardware_files).options


def budget_report(model, hardware_list, *, power_mw=None, racks=None, isl: int, osl: int, ttft_max_ms=None,
                  tpot_max_ms=None, weights=None, preset=None, usd_per_gpu_hour=None, percentile=None,
                  calibration=None, e2el_max_ms=None, gpus=None, mode="both", hardware_files=None) -> FleetReport:
    """:func:`max_throughput_for_budget` with the hardware it skipped and why."""
    t0 = time.perf_counter()
    if (power_mw is None) == (racks is None):
        raise TokenfabError("give exactly one budget", field="budget", expected="--power-mw P or --racks N",
                            got={"power_mw": power_mw, "racks": racks})
    if power_mw is not None:
        require_positive("power_mw", power_mw)
        budget = {"power_mw": float(power_mw)}
    else:
        racks = S.require_int("racks", racks, minimum=1)
        budget = {"racks": int(racks)}
    sw, sla = _prepare(model, hardware_list, isl=isl, osl=osl, weights=weights, preset=preset,
                       usd_per_gpu_hour=usd_per_gpu_hour, percentile=percentile, calibration=calibration,
                       ttft_max_ms=ttft_max_ms, tpot_max_ms=tpot_max_ms, e2el_max_ms=e2el_max_ms, gpus=gpus,
                       mode=mode, hardware_files=hardware_files)
    c = sw.cols
    ok = sw.sla_mask() & (c["requests_per_s"] > 0)
    if not ok.any():
        raise S.explain_infeasible(sw)
    options: list[BudgetOption] = []
    skipped: dict[str, str] = {}
    for h, hw in enumerate(sw.hardware):
        costinfo = sw.costs.get(hw.key) or {}
        kw = costinfo.get("kw_per_gpu_all_in")
        usd_h = costinfo.get("usd_per_gpu_hour")
        if power_mw is not None and not kw:
            skipped[hw.key] = "all-in kW per GPU unknown (no TCO for this hardware): cannot size a power budget"
            continue
        max_g = gpus_in_budget(power_mw=power_mw, racks=racks, kw_per_gpu=kw, chips_per_rack=hw.chips_per_rack)
        ids = np.flatnonzero(ok & (c["hw"] == h))
        if not ids.size:
            skipped[hw.key] = _skip_reason(sw, h, sla)
            continue
        fit = ids[c["gpus"][ids] <= max_g]
        if not fit.size:
            skipped[hw.key] = (f"the budget holds {max_g} GPUs; the smallest deployment meeting the SLA needs "
                               f"{int(c['gpus'][ids].min())}")
            continue
        reps = max_g // c["gpus"][fit]
        rps = reps * c["requests_per_s"][fit]
        n_g = reps * c["gpus"][fit]
        order = np.lexsort((n_g, -rps))
        j = int(order[0])
        i = int(fit[j])
        n_gpus = int(n_g[j])
        r_tot = float(rps[j])
        tok_s = r_tot * (sw.isl + sw.osl)
        nodes, nracks = nodes_and_racks(n_gpus, hw.chips_per_node, hw.chips_per_rack)
        frac_out = sw.osl / (sw.isl + sw.osl)
        tps_gpu = tok_s / n_gpus

        def per_mtok(share):
            return float(costmod.usd_per_mtok(usd_h, tps_gpu * share)) if usd_h is not None else None

        options.append(BudgetOption(
            hardware=hw.key, mode=S.MODES[int(c["mode"][i])], budget=dict(budget), max_gpus=int(max_g), gpus=n_gpus,
            nodes=nodes, racks=nracks, mw=float(megawatts(n_gpus, kw)) if kw else None, replicas=int(reps[j]),
            gpus_per_replica=int(c["gpus"][i]), config=sw.config(i), tokens_per_s=tok_s,
            output_tokens_per_s=r_tot * sw.osl, requests_per_s=r_tot, tokens_per_day=tok_s * units.S_PER_DAY,
            tokens_per_s_per_gpu=tps_gpu, tokens_per_s_per_user=float(c["tokens_per_s_per_user"][i]),
            ttft_ms=S._num(c["ttft_ms"][i]), tpot_ms=S._num(c["tpot_ms"][i]), percentile=sla.label,
            usd_per_month=float(usd_per_month(usd_h, n_gpus)) if usd_h is not None else None,
            usd_per_mtok_total=per_mtok(1.0), usd_per_mtok_input=per_mtok(1 - frac_out),
            usd_per_mtok_output=per_mtok(frac_out), kw_per_gpu_all_in=kw,
        ))
    options.sort(key=lambda o: -o.tokens_per_s)
    return FleetReport(options=options, skipped=skipped, evaluated=sw.evaluated, elapsed_s=time.perf_counter() - t0,
                       sla=sla.to_dict(), warnings=list(sw.warnings))


def max_throughput_for_budget(model, hardware_list, *, power_mw=None, racks=None, isl: int, osl: int,
                              ttft_max_ms=None, tpot_max_ms=None, weights=None, preset=None, usd_per_gpu_hour=None,
                              percentile=None, calibration=None, e2el_max_ms=None, gpus=None, mode="both",
                              hardware_files=None) -> list[BudgetOption]:
    """Per hardware, the most tokens/s within the SLA that fit in ``power_mw`` all-in MW or ``racks`` racks,
    ranked by tokens/s (most first)."""
    return budget_report(model, hardware_list, power_mw=power_mw, racks=racks, isl=isl, osl=osl,
                         ttft_max_ms=ttft_max_ms, tpot_max_ms=tpot_max_ms, weights=weights, preset=preset,
                         usd_per_gpu_hour=usd_per_gpu_hour, percentile=percentile, calibration=calibration,
                         e2el_max_ms=e2el_max_ms, gpus=gpus, mode=mode, hardware_files=hardware_files).options


__all__ = ["FleetOption", "BudgetOption", "FleetReport", "recommend", "recommend_report", "max_throughput_for_budget",
           "budget_report", "demand_rps", "replicas_needed", "nodes_and_racks", "usd_per_month", "megawatts",
           "gpus_in_budget", "DEFINITIONS"]
