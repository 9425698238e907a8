"""Fleet sizing: the cheapest fleet per hardware that serves a load within an SLA (:func:`recommend`), and the
inverse, the most tokens/s within a power or rack budget (:func:`max_throughput_for_budget`).

Both run the design-space sweep (search.sweep) and keep the configurations that meet the SLA at their own load
(tail TTFT from queueing.py at each configuration's throughput). Arithmetic (pure functions below):

- demand: ``rate_rps`` requests/s, or ``tokens_per_day`` (input + output tokens) / 86,400 / (ISL + OSL);
- headroom (:class:`Headroom`, defaults in data/assumptions.yaml, cited): the fleet is sized for the sizing rate =
  peak-hour requests/s x burst factor / target peak utilization, burst factor = 1 + z_q x CV / sqrt(rate x window)
  (the q-quantile of the arrivals in a window of a renewal process, normal approximation; Poisson: CV = 1), then one
  spare replica per replica group (N+1: aggregated replicas; prefill and decode pools of a composed fleet);
- replicas = ceil(sizing rate / requests/s of one replica) + spares; a replica is one aggregated deployment, or one
  rate-matched x prefill : y decode unit when disaggregated. Running each replica at or below the load the SLA was
  checked at keeps the SLA (waits only shrink at lower load);
- disaggregated fleets may instead be composed for the demand (:func:`compose_disagg_fleet`): y = ceil(rate /
  decode replica requests/s) decode replicas and the fewest prefill replicas whose TTFT (M/D/c prefill queue at the
  demand) still meets the SLA; used when it needs fewer GPUs than whole units (small demands). The inverse likewise
  fills a budget with x prefill and y decode replicas at the rate-matched ratio (:func:`fill_disagg_budget`) when that
  serves more than whole units;
- GPUs = replicas x GPUs per replica; nodes = ceil(GPUs / chips_per_node); racks = ceil(GPUs / chips_per_rack);
- MW = GPUs x all-in kW per GPU (tco.TcoResult.all_in_kw_per_gpu) / 1000;
- $/month = wall-clock $/GPU-hour x GPUs x hours per month (units.HOURS_PER_MONTH = 8766 / 12): the bill of a
  fleet that is owned or rented around the clock, whatever its utilization (tco.TcoResult.usd_per_gpu_hour_wallclock;
  with ``--usd-per-gpu-hour`` the plain price). ``tokenfab plan`` bills its fleets the same way. The TCO's price per
  *busy* GPU-hour (wall-clock / the TCO's assumed utilization) is reported as ``usd_per_gpu_hour_busy`` only: the
  fleet's own load is the demand, so charging busy hours on top of it would count idle time twice;
- $/M tokens = $/month / the tokens the demand sends in a month (input + output; the input and output variants charge
  the whole bill to input or output tokens): cost.usd_per_mtok(wall-clock $/GPU-hour, demand tokens/s / GPUs). The
  budget inverse does the same with the tokens/s its fleet serves at full load.

Options are ranked cheapest first ($/month); hardware whose cost is unknown comes last.

Error bands (perf/uncertainty.py): each option carries its calibration status (``calibration``, ``prior``) and the
p10/p90 of the figures that rest on the modelled throughput (``uncertainty``): the same configuration's fleet is
re-sized with its requests/s per replica at the throughput band's ends (:func:`fleet_band`): at the p10 throughput
it needs more replicas, GPUs, MW and dollars, so those figures' p90 come from the band's low end and their p10 from
its high end. The cheapest option is a ``tie`` with every option whose $/M-token band overlaps its own by more than
search.TIE_OVERLAP (search.TIE_RULE), and every option on a prior is named (``prior_hardware``,
``calibration_notes``).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, cast

import numpy as np

from tokenfab import search as S
from tokenfab.core import units
from tokenfab.core.errors import TokenfabError, require_range
from tokenfab.core.inputs import check_input, check_inputs, check_rate_rps
from tokenfab.economics import assumptions as econ
from tokenfab.economics import cost as costmod
from tokenfab.perf import queueing as Q
from tokenfab.perf import uncertainty as unc

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

DEFINITIONS = {
    "replicas": "copies of the deployment (an x:y prefill:decode unit when disaggregated) = ceil(demand / capacity "
    "of one replica)",
    "gpus": "replicas x GPUs per replica",
    "nodes": "ceil(GPUs / chips_per_node)",
    "racks": "ceil(GPUs / chips_per_rack)",
    "mw": "GPUs x all-in kW per GPU / 1000 (TCO)",
    "usd_per_month": "the fleet's bill: wall-clock $/GPU-hour x GPUs x 730.5 h (idle hours included once)",
    "usd_per_gpu_hour_wallclock": "$ per calendar GPU-hour (TCO, or --usd-per-gpu-hour)",
    "usd_per_gpu_hour_busy": "TCO's $ per busy GPU-hour (wall-clock / the TCO's assumed utilization); not used for "
    "the fleet's bill, whose load is the demand",
    "usd_per_mtok_total": "usd_per_month / the demand's (input + output) tokens per month",
    "usd_per_mtok_input": "USD per million uncached input tokens: the prefill share of the bill over the input "
    "tokens (economics.cost.split_cost_by_token_kind)",
    "usd_per_mtok_cached_input": "cached-input weight x usd_per_mtok_input",
    "usd_per_mtok_output": "USD per million output tokens: the decode share of the bill over the output tokens",
    "prefill_gpu_time_share": "share of the fleet's GPU time in prefill (the configuration's, or the prefill pool's "
    "share of GPUs of a composed disaggregated fleet)",
    "tokens_per_s_per_gpu": "served (input + output) tokens/s / GPUs",
    "utilization": "average demand / capacity of the fleet (requests/s): the fleet's average utilization",
    "utilization_avg": "average demand / capacity of the fleet (requests/s)",
    "utilization_peak": "peak-hour demand / capacity of the fleet (requests/s)",
    "sizing_requests_per_s": "peak-hour requests/s x burst factor / target peak utilization: what the fleet is sized "
    "for before the spare replicas",
    "tokens_per_s_per_mw": "the fleet's capacity (input + output) tokens/s / its all-in MW",
    "served_tokens_per_s_per_mw": "the demand's (input + output) tokens/s / the fleet's all-in MW (what it serves; "
    "tokens_per_s_per_mw is what it could)",
    "capacity_tokens_per_s_per_gpu": "the fleet's capacity (input + output) tokens/s / GPUs (tokens_per_s_per_gpu is "
    "what it serves)",
    "calibration": "which fitted parameters the option's throughput rests on (hardware family and engine: fitted or "
    "prior); prior: true when either is a prior",
    "uncertainty": "p10/p90 of the figures resting on the modelled throughput: the same configuration re-sized at "
    "the throughput band's ends (perf/uncertainty.py; planning.fleet.fleet_band)",
}
BAND_RULE = (
    "p10/p90: the option's configuration re-sized with its requests/s per replica at the p10 and p90 of its "
    "throughput band (out-of-sample errors of the nearest data bucket, perf/uncertainty.py); GPUs, MW and dollars "
    "needed rise as the throughput falls"
)

COST_BASIS = (
    "$/month = wall-clock $/GPU-hour x GPUs x 730.5 h (the fleet is paid for around the clock, idle or "
    "not); $/M tokens = $/month / the tokens the demand sends per month"
)


# ----------------------------------------------------------------------------------------------- pure arithmetic
def demand_rps(rate_rps=None, tokens_per_day=None, *, isl: int, osl: int) -> float:
    """Requests/s from a rate, or from (input + output) tokens per day."""
    if (rate_rps is None) == (tokens_per_day is None):
        raise TokenfabError(
            "give exactly one of a request rate and tokens per day",
            field="rate_rps",
            expected="--rate R or --tokens-per-day T (rate_rps or tokens_per_day in the API)",
            got="neither"
            if rate_rps is None
            else f"both (rate {rate_rps:g} requests/s, {tokens_per_day:g} tokens/day)",
        )
    check_inputs(isl=isl, osl=osl)
    if rate_rps is not None:
        return check_input("rate_rps", rate_rps)
    rate = check_input("tokens_per_day", tokens_per_day) / units.S_PER_DAY / float(isl + osl)
    return check_rate_rps(rate, field="tokens_per_day", source=f"{float(tokens_per_day):,.4g} tokens/day")


def demand_summary(rate_rps: float, *, isl: int, osl: int) -> dict:
    """The demand in the three units users give it: requests/s, (input + output) tokens/s and tokens/day."""
    tokens_per_s = float(rate_rps) * float(isl + osl)
    return {
        "requests_per_s": float(rate_rps),
        "tokens_per_s": tokens_per_s,
        "tokens_per_day": tokens_per_s * units.S_PER_DAY,
    }


@dataclass(frozen=True)
class Headroom:
    """How much bigger than the peak-hour load a fleet is built (named defaults and their sources in
    data/assumptions.yaml): a burst factor (given, or from the arrival process), a target peak utilization and spare
    replicas per replica group (N+1)."""

    target_peak_utilization: float = econ.TARGET_PEAK_UTILIZATION
    burst_factor: float | None = None  # None: from the arrival process (burst_factor())
    burst_window_s: float = econ.BURST_WINDOW_S
    burst_percentile: float = econ.BURST_PERCENTILE
    arrival_cv: float = econ.ARRIVAL_CV
    spare_replicas: int = econ.SPARE_REPLICAS_PER_GROUP

    @classmethod
    def make(
        cls,
        *,
        target_peak_utilization=None,
        burst_factor=None,
        burst_window_s=None,
        burst_percentile=None,
        arrival_cv=None,
        spare_replicas=None,
    ) -> Headroom:
        """Validated (finite, in range, the field named as given); None keeps the named default."""
        d = cls()
        tpu = d.target_peak_utilization if target_peak_utilization is None else target_peak_utilization
        require_range("target_peak_utilization", tpu, 0.0, 1.0, lo_open=True)
        if burst_factor is not None:
            require_range("burst_factor", burst_factor, 1.0, 100.0)
        bw = d.burst_window_s if burst_window_s is None else burst_window_s
        require_range("burst_window_s", bw, 0.0, 86400.0, lo_open=True)
        bp = d.burst_percentile if burst_percentile is None else burst_percentile
        require_range("burst_percentile", bp, 0.5, 1.0, hi_open=True)
        cv = d.arrival_cv if arrival_cv is None else arrival_cv
        require_range("arrival_cv", cv, 0.0, 100.0)
        sp = d.spare_replicas if spare_replicas is None else spare_replicas
        sp = S.require_int("spare_replicas", sp, minimum=0)
        if sp > 1000:
            raise TokenfabError("out of range", field="spare_replicas", expected="0..1000", got=sp)
        return cls(
            float(tpu), None if burst_factor is None else float(burst_factor), float(bw), float(bp), float(cv), sp
        )

    def burst(self, rate_rps):
        """The burst factor at ``rate_rps`` (the given one, else from the arrival process)."""
        if self.burst_factor is not None:
            r = np.asarray(rate_rps, dtype=float)
            return _out(np.full(r.shape, self.burst_factor)) if r.ndim else float(self.burst_factor)
        return burst_factor(
            rate_rps, window_s=self.burst_window_s, percentile=self.burst_percentile, cv=self.arrival_cv
        )

    def sizing_rate(self, peak_rate_rps):
        """Peak-hour requests/s x burst factor / target peak utilization (vectorized)."""
        return sizing_rate_rps(peak_rate_rps, self.burst(peak_rate_rps), self.target_peak_utilization)

    def to_dict(self) -> dict:
        return {
            "target_peak_utilization": self.target_peak_utilization,
            "burst_factor": self.burst_factor,
            "burst_factor_rule": (
                "given"
                if self.burst_factor is not None
                else f"1 + z({self.burst_percentile:g}) x CV {self.arrival_cv:g} / "
                f"sqrt(rate x {self.burst_window_s:g} s)"
            ),
            "burst_window_s": self.burst_window_s,
            "burst_percentile": self.burst_percentile,
            "arrival_cv": self.arrival_cv,
            "spare_replicas_per_group": self.spare_replicas,
            "sources": {
                "target_peak_utilization": econ.cite("headroom", "target_peak_utilization"),
                "burst_window_s": econ.cite("headroom", "burst_window_s"),
                "burst_percentile": econ.cite("headroom", "burst_percentile"),
                "arrival_cv": econ.cite("headroom", "arrival_cv"),
                "spare_replicas_per_group": econ.cite("headroom", "spare_replicas_per_group"),
            },
        }


# no headroom: sized at exactly the peak-hour load (tokenfab's behaviour before headroom; for reproducing arithmetic)
NO_HEADROOM = Headroom(target_peak_utilization=1.0, burst_factor=1.0, spare_replicas=0)


def burst_factor(rate_rps, *, window_s=econ.BURST_WINDOW_S, percentile=econ.BURST_PERCENTILE, cv=econ.ARRIVAL_CV):
    """Peak-window / mean arrival rate for arrivals at ``rate_rps``: the ``percentile`` of the count in a window of
    ``window_s`` seconds of a renewal process with inter-arrival CV ``cv`` (mean lambda W, variance lambda W CV^2;
    normal approximation) over its mean: 1 + z x CV / sqrt(lambda W). Poisson (CV 1) at 1 request/s, a minute's
    window and the 99th percentile: 1 + 2.326 / sqrt(60) = 1.30. Rate 0: 1. Vectorized."""
    from statistics import NormalDist

    z = NormalDist().inv_cdf(float(percentile))
    lam_w = np.asarray(rate_rps, dtype=float) * float(window_s)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(lam_w > 0, 1.0 + z * float(cv) / np.sqrt(lam_w), 1.0)
    return _out(out)


def sizing_rate_rps(peak_rate_rps, burst, target_peak_utilization):
    """The requests/s a fleet is sized for: peak-hour rate x burst factor / target peak utilization."""
    return _out(
        np.asarray(peak_rate_rps, dtype=float) * np.asarray(burst, dtype=float) / float(target_peak_utilization)
    )


def fleet_utilization(rate_rps, capacity_rps):
    """Demand / capacity (NaN where the fleet has no capacity)."""
    c = np.asarray(capacity_rps, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(c > 0, np.asarray(rate_rps, dtype=float) / c, np.nan)
    return _out(out)


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
        return int(racks) * int(cast(int, chips_per_rack))  # a rack count comes with the hardware's chips per rack
    if not kw_per_gpu:
        return 0
    return int(math.floor(float(power_mw) * units.MW / units.KW / float(kw_per_gpu) + 1e-9))


# ----------------------------------------------------------------------------------------------- results
class _WithDefinitions:
    """to_dict of a fleet result: its fields plus the metric definitions."""

    def to_dict(self) -> dict:
        d = asdict(cast("DataclassInstance", self))  # the subclasses are dataclasses
        d["definitions"] = dict(DEFINITIONS)
        return d


@dataclass
class FleetOption(_WithDefinitions):
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
    requests_per_s: float = 0.0  # demand, average
    tokens_per_s: float = 0.0  # demand, input + output, average
    capacity_requests_per_s: float = 0.0
    utilization: float = 0.0  # average demand / capacity (= utilization_avg; kept for compatibility)
    utilization_avg: float = 0.0
    utilization_peak: float = 0.0
    peak_requests_per_s: float = 0.0
    sizing_requests_per_s: float = 0.0
    burst_factor: float = 1.0
    spare_replicas: int = 0
    usd_per_mtok_cached_input: float | None = None
    prefill_gpu_time_share: float | None = None
    tokens_per_s_per_user: float = 0.0
    ttft_ms: float | None = None  # at the percentile
    tpot_ms: float | None = None
    e2el_ms: float | None = None
    percentile: str = "p90"
    usd_per_gpu_hour_wallclock: float | None = None
    usd_per_gpu_hour_busy: float | None = None
    all_in_kw_per_gpu: float | None = None
    chips_per_node: int = 0
    chips_per_rack: int = 0
    tokens_per_s_per_mw: float | None = None
    served_tokens_per_s_per_mw: float | None = None
    capacity_tokens_per_s_per_gpu: float | None = None
    calibration: dict = field(default_factory=dict)
    prior: bool = False
    uncertainty: dict = field(default_factory=dict)


@dataclass
class BudgetOption(_WithDefinitions):
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
    all_in_kw_per_gpu: float | None = None
    usd_per_gpu_hour_wallclock: float | None = None
    usd_per_gpu_hour_busy: float | None = None
    usd_per_mtok_cached_input: float | None = None
    prefill_gpu_time_share: float | None = None
    calibration: dict = field(default_factory=dict)
    prior: bool = False
    uncertainty: dict = field(default_factory=dict)


@dataclass
class FleetReport:
    options: list
    skipped: dict = field(default_factory=dict)  # hardware -> reason
    evaluated: int = 0
    elapsed_s: float = 0.0
    demand_requests_per_s: float | None = None
    sla: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)
    weights: list = field(default_factory=list)  # weight precisions swept
    kv: list = field(default_factory=list)  # their KV precisions (precision.default_kv_precision)
    headroom: dict = field(default_factory=dict)
    peak_to_average: float = 1.0
    tie: list = field(default_factory=list)  # hardware tied with the first option (search.TIE_RULE)
    tie_rule: str = ""
    prior_hardware: list = field(default_factory=list)  # options whose profile is a prior
    calibration_notes: list = field(default_factory=list)  # one plain-language line per option on a prior

    def to_dict(self) -> dict:
        return {
            "headroom": dict(self.headroom),
            "peak_to_average": self.peak_to_average,
            "tie": list(self.tie),
            "tie_rule": self.tie_rule,
            "prior_hardware": list(self.prior_hardware),
            "calibration_notes": list(self.calibration_notes),
            "band_rule": BAND_RULE,
            "options": [o.to_dict() for o in self.options],
            "skipped": dict(self.skipped),
            "evaluated": self.evaluated,
            "elapsed_s": self.elapsed_s,
            "demand_requests_per_s": self.demand_requests_per_s,
            "sla": dict(self.sla),
            "weights": list(self.weights),
            "kv": list(self.kv),
            "cost_basis": COST_BASIS,
            "warnings": list(self.warnings),
        }


# ----------------------------------------------------------------------------------------------- disaggregated fleets
def disagg_ttft_ms(
    rate_rps, prefill_replicas, prefill_service_s, prefill_ranks, ttft_fixed_ms, tpot_ms, *, osl: int, sla: S.SLA
):
    """TTFT at the SLA percentile of a disaggregated fleet at ``rate_rps`` requests/s: the M/D/c wait over
    prefill replicas x DP ranks (queueing.py) plus the fixed part (prefill pass + KV transfer); and whether TTFT and
    E2E latency (TTFT + (OSL - 1) x TPOT) meet the SLA. Vectorized."""
    params = Q.mdc_params(rate_rps, prefill_service_s, np.asarray(prefill_replicas, dtype=float) * prefill_ranks)
    ttft = Q.ttft_quantile_ms(
        sla.percentile, np.asarray(ttft_fixed_ms, dtype=float) + params.wait_mean_s * 1e3, params=params
    )
    ok = np.isfinite(ttft)
    if sla.ttft_max_ms is not None:
        ok &= ttft <= sla.ttft_max_ms
    if sla.e2el_max_ms is not None:
        ok &= ttft + (osl - 1.0) * np.asarray(tpot_ms, dtype=float) <= sla.e2el_max_ms
    return ttft, ok


def disagg_min_replicas(rate_rps, decode_replica_rps, prefill_replica_rps, prefill_utilization):
    """(x0, y): the fewest prefill replicas the prefill load allows, x0 = ceil(rate / (u x prefill replica rps)), and
    the decode replicas y = ceil(rate / decode replica rps), both >= 1 (float arrays, broadcast). A composed
    disaggregated fleet (:func:`compose_disagg_fleet`) has y decode and at least x0 prefill replicas, so
    x0 x prefill GPUs + y x decode GPUs is a lower bound on its size."""
    lam = np.asarray(rate_rps, dtype=float)
    r_d = np.asarray(decode_replica_rps, dtype=float)
    u = np.clip(np.asarray(prefill_utilization, dtype=float), 1e-6, 1.0)
    y = np.maximum(1, np.ceil(lam / r_d * (1 - 1e-12) - 1e-9))
    x0 = np.maximum(1, np.ceil(lam / (u * np.asarray(prefill_replica_rps, dtype=float)) * (1 - 1e-12) - 1e-9))
    return np.broadcast_arrays(x0, y)


def composed_capacity_rps(prefill_replicas, decode_replicas, decode_replica_rps, prefill_replica_rps):
    """Requests/s a composed fleet of x prefill and y decode replicas can process: min(y x decode replica rps,
    x x prefill replica rps), prefill replicas at full utilization (its latency was checked at the demand it was
    composed for, :func:`compose_disagg_fleet`). Vectorized."""
    return _out(
        np.minimum(
            np.asarray(decode_replicas, dtype=float) * np.asarray(decode_replica_rps, dtype=float),
            np.asarray(prefill_replicas, dtype=float) * np.asarray(prefill_replica_rps, dtype=float),
        )
    )


def _out(a):
    a = np.asarray(a)
    return a if a.ndim else a.item()


def compose_disagg_fleet(
    rate_rps,
    decode_replica_rps,
    prefill_replica_rps,
    prefill_utilization,
    prefill_service_s,
    prefill_ranks,
    ttft_fixed_ms,
    tpot_ms,
    *,
    osl: int,
    sla: S.SLA,
    extra_prefill: int = 4,
):
    """Prefill and decode replicas for a disaggregated fleet serving ``rate_rps`` (vectorized over candidate units;
    ``rate_rps`` may be an array broadcast against them).

    A rate-matched x:y unit of the sweep can be large (e.g. 1 prefill + 16 decode replicas); a small demand needs
    fewer. For each candidate: y = ceil(rate / decode replica rps) decode replicas and the fewest prefill replicas
    x >= ceil(rate / (u x prefill replica rps)), u the prefill utilization the unit was checked at, whose TTFT
    (:func:`disagg_ttft_ms`) and E2E latency meet the SLA; up to ``extra_prefill`` more replicas are tried. Returns
    (x, y, ttft_ms at the percentile, ok); x = 0 where none meets the SLA."""
    lam = np.asarray(rate_rps, dtype=float)
    x0, y = disagg_min_replicas(lam, decode_replica_rps, prefill_replica_rps, prefill_utilization)
    x_out = np.zeros(x0.shape)
    ttft_out = np.full(x0.shape, np.inf)
    args = [
        np.broadcast_to(np.asarray(a, dtype=float), x0.shape)
        for a in (lam, prefill_service_s, prefill_ranks, ttft_fixed_ms, tpot_ms)
    ]
    todo = np.flatnonzero(np.ones(x0.shape, dtype=bool).ravel())
    flat = [a.ravel() for a in args]
    x0f, x_f, t_f = x0.ravel(), x_out.ravel(), ttft_out.ravel()
    for k in range(int(extra_prefill) + 1):  # only the candidates still without a fleet meeting the SLA
        if not todo.size:
            break
        lam_t, svc_t, ranks_t, fixed_t, tpot_t = (a[todo] for a in flat)
        ttft, ok = disagg_ttft_ms(lam_t, x0f[todo] + k, svc_t, ranks_t, fixed_t, tpot_t, osl=osl, sla=sla)
        x_f[todo[ok]] = x0f[todo[ok]] + k
        t_f[todo[ok]] = ttft[ok]
        todo = todo[~ok]
    x_out, ttft_out = x_f.reshape(x0.shape), t_f.reshape(x0.shape)
    return x_out.astype(int), y.astype(int), ttft_out, x_out > 0


def fill_disagg_budget(
    max_gpus, decode_replica_rps, prefill_replica_rps, prefill_utilization, prefill_gpus, decode_gpus
):
    """The x prefill and y decode replicas within ``max_gpus`` that serve the most requests/s (vectorized).

    Rate matching gives x / y = decode rps / (u x prefill rps); y is tried at floor(y*) - 1, floor(y*), floor(y*) + 1
    around the continuous optimum y* = G / (g_d + g_p x decode rps / (u x prefill rps)), x = floor((G - y g_d) / g_p).
    Returns (x, y, requests/s) with shape (3, n): one row per candidate (requests/s 0 where x or y < 1); the caller
    checks the SLA (:func:`disagg_ttft_ms`) and keeps the best."""
    G = np.asarray(max_gpus, dtype=float)
    r_d = np.asarray(decode_replica_rps, dtype=float)
    cap_p = np.clip(np.asarray(prefill_utilization, dtype=float), 1e-6, 1.0) * np.asarray(
        prefill_replica_rps, dtype=float
    )
    g_p = np.asarray(prefill_gpus, dtype=float)
    g_d = np.asarray(decode_gpus, dtype=float)
    y_star = np.floor(G / (g_d + g_p * r_d / cap_p))
    y = np.maximum(1.0, y_star[None, :] + np.array([-1.0, 0.0, 1.0])[:, None])
    x = np.floor((G - y * g_d) / g_p)
    lam = np.where(x >= 1, np.minimum(y * r_d, x * cap_p), 0.0)
    return x.astype(int), y.astype(int), lam


def _disagg_parts(sw: S.Sweep, ids: np.ndarray) -> dict:
    """Per disaggregated sweep row: one decode and one prefill replica's requests/s, the prefill utilization the
    unit was checked at, the prefill queue's service time and DP ranks, the TTFT without its mean wait, TPOT and the
    GPUs of one prefill and one decode replica."""
    c = sw.cols
    rps = c["requests_per_s"][ids]
    unit_wait_ms = Q.mdc_params(c["q_lam"][ids], c["q_service_s"][ids], c["q_servers"][ids]).wait_mean_s * 1e3
    return dict(
        r_d=rps / c["d_replicas"][ids],
        mu=rps / (c["p_util"][ids] * c["p_replicas"][ids]),
        u=c["p_util"][ids],
        svc=c["q_service_s"][ids],
        ranks=c["p_dp"][ids],
        fixed=c["ttft_ms_mean"][ids] - unit_wait_ms,
        tpot=c["tpot_ms"][ids],
        g_p=c["p_gpus"][ids],
        g_d=c["d_gpus"][ids],
    )


def _disagg_fleet_columns(sw: S.Sweep, rate: float | np.ndarray, ids: np.ndarray, spare: int = 0):
    """compose_disagg_fleet on the disaggregated sweep rows ``ids``, then ``spare`` more prefill and decode replicas
    (N+1 per pool): (x, y, fleet GPUs, TTFT ms, ok)."""
    d = _disagg_parts(sw, ids)
    x, y, ttft, ok = compose_disagg_fleet(
        rate, d["r_d"], d["mu"], d["u"], d["svc"], d["ranks"], d["fixed"], d["tpot"], osl=sw.osl, sla=sw.sla
    )
    x = np.where(ok, x + int(spare), x)
    y = np.where(ok, y + int(spare), y)
    return x, y, x * d["g_p"] + y * d["g_d"], ttft, ok


def _disagg_budget_columns(sw: S.Sweep, max_gpus: int, ids: np.ndarray):
    """fill_disagg_budget on the rows ``ids``, SLA-checked: (x, y, requests/s, TTFT ms) of the best candidate per row
    (requests/s 0 where none meets the SLA)."""
    d = _disagg_parts(sw, ids)
    x, y, lam = fill_disagg_budget(max_gpus, d["r_d"], d["mu"], d["u"], d["g_p"], d["g_d"])
    with np.errstate(divide="ignore", invalid="ignore"):
        ttft, ok = disagg_ttft_ms(
            np.maximum(lam, 1e-12),
            np.maximum(x, 1),
            d["svc"],
            d["ranks"],
            d["fixed"],
            d["tpot"],
            osl=sw.osl,
            sla=sw.sla,
        )
    lam = np.where(ok & (lam > 0), lam, 0.0)
    k = np.argmax(lam, axis=0)
    cols = np.arange(lam.shape[1])
    return x[k, cols], y[k, cols], lam[k, cols], ttft[k, cols]


def fleet_sizes(sw: S.Sweep, rate_rps: float, ids, spare: int = 0) -> dict:
    """Fleet size of each sweep row ``ids`` for ``rate_rps`` requests/s (the sizing rate; arrays over all rows of the
    sweep; rows not in ``ids`` get 0 GPUs): whole replicas = ceil(rate / replica requests/s) + ``spare``, or for
    disaggregated rows the fleet composed for the demand (:func:`compose_disagg_fleet`) with ``spare`` more prefill
    and decode replicas, when it needs fewer GPUs. Keys: replicas, gpus, ttft_ms (at the SLA percentile, at the
    fleet's load), composed, prefill_replicas, decode_replicas (composed rows only)."""
    c = sw.cols
    ids = np.asarray(ids, dtype=int)
    n = len(sw)
    reps = np.zeros(n, dtype=int)
    reps[ids] = replicas_needed(rate_rps, c["requests_per_s"][ids]) + int(spare)
    gpus = reps * c["gpus"]
    ttft = c["ttft_ms"].copy()
    composed = np.zeros(n, dtype=bool)
    xs = np.zeros(n, dtype=int)
    ys = np.zeros(n, dtype=int)
    dis = ids[c["mode"][ids] == 1]
    if dis.size:
        x, y, g, t, good = _disagg_fleet_columns(sw, rate_rps, dis, spare)
        better = good & (g < gpus[dis])
        sel = dis[better]
        composed[sel], reps[sel], gpus[sel], ttft[sel] = True, 1, g[better], t[better]
        xs[sel], ys[sel] = x[better], y[better]
    return {
        "replicas": reps,
        "gpus": gpus,
        "ttft_ms": ttft,
        "composed": composed,
        "prefill_replicas": xs,
        "decode_replicas": ys,
    }


@dataclass
class FleetCandidates:
    """The SLA-meeting sweep rows of one hardware, prepared for sizing fleets at many rates (:func:`fleet_candidates`):
    all of them (``ids``), their whole-replica Pareto set (fewer GPUs, more requests/s per replica: a row off it never
    needs fewer whole-replica GPUs at any rate) and the disaggregated rows with their :func:`_disagg_parts`."""

    sweep: S.Sweep
    ids: np.ndarray  # sweep rows, ascending
    pareto: np.ndarray  # sweep rows
    disagg_pos: np.ndarray  # positions in ids of the disaggregated rows
    parts: dict
    min_gpus_per_rps: float  # min over disaggregated rows of prefill GPUs / (u x prefill rps) + decode GPUs / rps
    min_unit_gpus: int  # min over disaggregated rows of one prefill + one decode replica's GPUs
    spare: int = 0  # spare replicas per replica group (N+1)


def fleet_candidates(sw: S.Sweep, ids, spare: int = 0) -> FleetCandidates:
    """Prepare the sweep rows ``ids`` (SLA-meeting, requests/s > 0) for :func:`fewest_gpus` and :func:`gpu_bounds`,
    with ``spare`` replicas per replica group."""
    c = sw.cols
    ids = np.unique(np.asarray(ids, dtype=int))
    g = c["gpus"][ids]
    r = c["requests_per_s"][ids]
    order = np.lexsort((-r, g))
    best = np.maximum.accumulate(r[order])
    keep = np.r_[True, best[1:] > best[:-1] * (1 + 1e-12)] if order.size else np.zeros(0, dtype=bool)
    pos = np.flatnonzero(c["mode"][ids] == 1)
    d = _disagg_parts(sw, ids[pos])
    if pos.size:
        slope = float(np.min(d["g_p"] / (np.clip(d["u"], 1e-6, 1.0) * d["mu"]) + d["g_d"] / d["r_d"]))
        unit = int(np.min(d["g_p"] + d["g_d"]))
    else:
        slope, unit = np.inf, 0
    return FleetCandidates(sw, ids, ids[order[keep]], pos, d, slope, unit, int(spare))


def gpu_bounds(fc: FleetCandidates, rates_rps):
    """(lower, upper) bounds on :func:`fewest_gpus` at each rate, cheap: upper = the fewest whole-replica GPUs (over
    the Pareto set); lower = min(upper, max(rate x fc.min_gpus_per_rps, fc.min_unit_gpus)), at most any composed
    fleet (:func:`disagg_min_replicas`), each with the spare replicas (N+1) added. Rate 0: (0, 0)."""
    c = fc.sweep.cols
    sp = fc.spare
    rates = np.atleast_1d(np.asarray(rates_rps, dtype=float))
    reps = np.asarray(replicas_needed(np.maximum(rates, 1e-300)[:, None], c["requests_per_s"][fc.pareto][None, :]))
    upper = ((reps.reshape(rates.size, -1) + sp) * c["gpus"][fc.pareto][None, :]).min(axis=1)
    lower = np.minimum(
        upper,
        np.maximum(
            np.ceil(rates * fc.min_gpus_per_rps * (1 - 1e-6) - 1e-6) + sp * fc.min_unit_gpus,
            (1 + sp) * fc.min_unit_gpus,
        ),
    )
    zero = rates <= 0
    return np.where(zero, 0, lower).astype(int), np.where(zero, 0, upper).astype(int)


def fewest_gpus(fc: FleetCandidates, rates_rps) -> dict:
    """Per rate (vectorized): the fleet :func:`recommend` picks on one hardware (one $/GPU-hour): each row sized by
    :func:`fleet_sizes`' rule (whole replicas, or for a disaggregated row the fleet composed for the demand by
    :func:`compose_disagg_fleet` when it needs fewer GPUs), then the fewest GPUs, then the most interactive. Fleets
    are composed only where their lower bound (:func:`disagg_min_replicas`) reaches the fewest whole-replica GPUs.
    Keys (arrays over rates): gpus, row (sweep index), composed, replicas (1 when composed), gpus_per_replica (the
    fleet's GPUs when composed), prefill_replicas, decode_replicas (composed only), capacity_requests_per_s (replicas
    x replica requests/s, or :func:`composed_capacity_rps`). Rate 0 needs no GPUs."""
    sw, c = fc.sweep, fc.sweep.cols
    rates = np.atleast_1d(np.asarray(rates_rps, dtype=float))
    n, rows_n = rates.size, np.arange(rates.size)
    sp = fc.spare
    reps = np.asarray(replicas_needed(np.maximum(rates, 1e-300)[:, None], c["requests_per_s"][fc.ids][None, :]))
    reps = reps.reshape(n, fc.ids.size) + sp
    gpus = reps * c["gpus"][fc.ids][None, :]
    composed = np.zeros(gpus.shape, dtype=bool)
    xs, ys = np.zeros(gpus.shape, dtype=int), np.zeros(gpus.shape, dtype=int)
    d = fc.parts
    if fc.disagg_pos.size:
        x0, y = disagg_min_replicas(rates[:, None], d["r_d"][None, :], d["mu"][None, :], d["u"][None, :])
        lower = (x0 + sp) * d["g_p"][None, :] + (y + sp) * d["g_d"][None, :]
        ri, ci = np.nonzero(lower <= gpus.min(axis=1)[:, None])
        if ri.size:
            x, yy, g, _, ok = _disagg_fleet_columns(sw, rates[ri], fc.ids[fc.disagg_pos[ci]], sp)
            col = fc.disagg_pos[ci]
            better = ok & (g < gpus[ri, col])
            ri, col = ri[better], col[better]
            gpus[ri, col], composed[ri, col], reps[ri, col] = g[better], True, 1
            xs[ri, col], ys[ri, col] = x[better], yy[better]
    # fewest GPUs, then the most interactive, then the first row (recommend's order)
    tps = c["tokens_per_s_per_user"][fc.ids]
    best = gpus.min(axis=1)
    score = np.where(gpus == best[:, None], tps[None, :], -np.inf)
    k = np.argmax(score, axis=1)
    row = fc.ids[k]
    comp = composed[rows_n, k]
    cap = np.where(comp, 0.0, reps[rows_n, k] * c["requests_per_s"][row])
    if comp.any():
        j = np.searchsorted(fc.ids[fc.disagg_pos], row[comp])
        cap[comp] = composed_capacity_rps(xs[rows_n, k][comp], ys[rows_n, k][comp], d["r_d"][j], d["mu"][j])
    zero = rates <= 0
    g_out = np.where(zero, 0, best)
    return {
        "gpus": g_out.astype(int),
        "row": row,
        "composed": comp & ~zero,
        "replicas": np.where(zero, 0, reps[rows_n, k]).astype(int),
        "gpus_per_replica": np.where(comp, best, c["gpus"][row]).astype(int),
        "prefill_replicas": np.where(comp, xs[rows_n, k], 0),
        "decode_replicas": np.where(comp, ys[rows_n, k], 0),
        "capacity_requests_per_s": np.where(zero, 0.0, cap),
    }


# ----------------------------------------------------------------------------------------------- search
def _prepare(
    model,
    hardware_list,
    *,
    isl,
    osl,
    weights,
    preset,
    usd_per_gpu_hour,
    percentile,
    calibration,
    ttft_max_ms,
    tpot_max_ms,
    e2el_max_ms,
    gpus,
    mode,
    hardware_files,
    mtp=True,
    engine=None,
    min_interactivity=None,
    prefix_hit_rate: float = 0.0,
    tco_overrides: dict | None = None,
):
    """The sweep with costs attached, the SLA, and the mask of configurations meeting it at their own load; raises
    the binding-limit error when no configuration meets the SLA."""
    sla = S.SLA.make(
        ttft_max_ms=ttft_max_ms,
        tpot_max_ms=tpot_max_ms,
        e2el_max_ms=e2el_max_ms,
        min_interactivity=min_interactivity,
        percentile=percentile,
    )
    hws = S.resolve_hardware(hardware_list, hardware_files)
    costs, cwarn = S._cost_table(hws, preset, usd_per_gpu_hour, hardware_files, tco_overrides=tco_overrides)
    sw = S.sweep(
        model,
        hws,
        isl=isl,
        osl=osl,
        weights=weights,
        gpus=gpus,
        mode=mode,
        sla=sla,
        mtp=mtp,
        engine=engine,
        calibration=calibration,
        hardware_files=hardware_files,
        prefix_hit_rate=float(require_range("prefix_hit_rate", prefix_hit_rate, 0.0, 1.0, hi_open=True)),
    )
    sw.warnings.extend(cwarn)
    S.attach_costs(sw, costs)
    ok = sw.sla_mask() & (sw.cols["requests_per_s"] > 0)
    if not ok.any():
        raise S.explain_infeasible(sw)
    return sw, sla, ok


def skip_reason(sw: S.Sweep, h: int, sla: S.SLA) -> str:
    """Why no configuration of hardware ``h`` (index into ``sw.hardware``) meets ``sla``: the best value of each
    limited metric next to its limit."""
    c = sw.cols
    hm = (c["hw"] == h) & sw.valid
    if not hm.any():
        return "the model does not fit on the evaluated configurations"
    parts = []
    for lim, col, label, unit, _cmp, best_fn in S._LIMITS:
        limit = getattr(sla, lim)
        if limit is None:
            continue
        best = float(best_fn(np.where(hm, c[col], np.nan)))
        qual = f" {sla.label}" if lim in ("ttft_max_ms", "e2el_max_ms") else ""
        parts.append(f"best{qual} {label} {best:.4g} {unit} (limit {limit:g})")
    return "no configuration meets the SLA" + (": " + "; ".join(parts) if parts else "")


def _wallclock_usd_per_gpu_hour(sw: S.Sweep) -> np.ndarray:
    """Wall-clock $/GPU-hour of every sweep row (NaN where the hardware is not priced)."""
    per_hw = np.array(
        [((sw.costs.get(h.key) or {}).get("usd_per_gpu_hour_wallclock", np.nan)) for h in sw.hardware] + [np.nan],
        dtype=float,
    )
    return per_hw[sw.cols["hw"].astype(int)]


def _fleet_figures(
    sw: S.Sweep, hw, n_gpus: int, served_tokens_per_s: float, prefill_gpu_time_share: float | None = None
) -> dict:
    """Nodes, racks, MW, $/month (wall-clock $/GPU-hour x GPUs x hours per month) and $/M tokens of ``n_gpus`` chips:
    total = $/month over the tokens ``served_tokens_per_s`` (input + output) sends in a month; per token kind the one
    split of economics.cost (the prefill share of GPU time to input tokens, the rest to output tokens)."""
    costinfo = sw.costs.get(hw.key) or {}
    wall = costinfo.get("usd_per_gpu_hour_wallclock")
    kw = costinfo.get("all_in_kw_per_gpu")
    nodes, racks = nodes_and_racks(n_gpus, hw.chips_per_node, hw.chips_per_rack)
    tps_gpu = served_tokens_per_s / n_gpus
    frac_out = sw.osl / (sw.isl + sw.osl)
    month = float(usd_per_month(wall, n_gpus)) if wall is not None else None
    per = {"usd_per_mtok_input": None, "usd_per_mtok_cached_input": None, "usd_per_mtok_output": None}
    total = None
    if month is not None and served_tokens_per_s > 0:
        tok_month = served_tokens_per_s * units.S_PER_HOUR * units.HOURS_PER_MONTH
        total = float(month / tok_month * units.MTOK)
        if prefill_gpu_time_share is not None and np.isfinite(prefill_gpu_time_share):
            sp = costmod.split_cost_by_token_kind(
                month,
                input_tokens=tok_month * (1 - frac_out),
                output_tokens=tok_month * frac_out,
                cached_input_tokens=tok_month * (1 - frac_out) * float(sw.prefix_hit_rate),
                prefill_gpu_time_share=float(np.clip(prefill_gpu_time_share, 0.0, 1.0)),
            )
            per = {k: _num_or_none(sp[k]) for k in per}
    return dict(
        nodes=nodes,
        racks=racks,
        mw=float(megawatts(n_gpus, kw)) if kw else None,
        usd_per_month=month,
        usd_per_mtok_total=total,
        **per,
        prefill_gpu_time_share=None if prefill_gpu_time_share is None else float(prefill_gpu_time_share),
        tokens_per_s_per_gpu=float(tps_gpu),
        all_in_kw_per_gpu=kw,
        usd_per_gpu_hour_wallclock=wall,
        usd_per_gpu_hour_busy=costinfo.get("usd_per_gpu_hour"),
    )


def _num_or_none(v):
    v = float(v)
    return v if np.isfinite(v) else None


def row_band(sw: S.Sweep, i: int) -> tuple[float, float] | None:
    """(lo, hi) factors of the throughput band of sweep row ``i`` (None without a band)."""
    c = sw.cols
    if "band_throughput_lo" not in c:
        return None
    lo, hi = float(c["band_throughput_lo"][i]), float(c["band_throughput_hi"][i])
    return (lo, hi) if np.isfinite(lo) and np.isfinite(hi) and lo > 0 and hi > 0 else None


def _band_dict(ends: list[dict], ints=()) -> dict:
    """{figure: {p10, p90}} of the figures computed at both ends of a band (the lower value is the p10)."""
    out = {}
    for k in ends[0]:
        a, b = ends[0][k], ends[1][k]
        if a is None or b is None:
            continue
        p10, p90 = unc.ordered(a, b)
        if np.isfinite(p10) and np.isfinite(p90):
            out[k] = {"p10": int(p10), "p90": int(p90)} if k in ints else {"p10": p10, "p90": p90}
    return out


def fleet_band(sw: S.Sweep, hw, i: int, *, sizing_rps: float, rate_rps: float, peak_rps: float, spare: int = 0) -> dict:
    """p10/p90 of the fleet of sweep row ``i`` (whole replicas or composed, :func:`fleet_sizes`) with its throughput
    at the ends of its band: the fleet sized for ``sizing_rps`` at throughput x f is the fleet sized for
    ``sizing_rps`` / f at the modelled throughput (exact for whole replicas; for a composed disaggregated fleet the
    prefill queue's utilization is the same), its capacity x f. {} without a band."""
    band = row_band(sw, i)
    if band is None:
        return {}
    c = sw.cols
    tok = float(rate_rps) * (sw.isl + sw.osl)
    ends = []
    for f in band:
        sz = fleet_sizes(sw, float(sizing_rps) / f, np.array([i]), spare)
        g, comp = int(sz["gpus"][i]), bool(sz["composed"][i])
        x, y = int(sz["prefill_replicas"][i]), int(sz["decode_replicas"][i])
        if comp:
            d = _disagg_parts(sw, np.array([i]))
            cap = float(composed_capacity_rps(x, y, d["r_d"][0], d["mu"][0])) * f
        else:
            cap = float(sz["replicas"][i] * c["requests_per_s"][i]) * f
        fig = _fleet_figures(sw, hw, g, tok, prefill_share_of_fleet(sw, i, comp, x, y))
        ends.append(
            {
                "throughput_factor": f,
                "replicas": int(sz["replicas"][i]),
                "gpus": g,
                "nodes": fig["nodes"],
                "racks": fig["racks"],
                "mw": fig["mw"],
                "usd_per_month": fig["usd_per_month"],
                "usd_per_mtok_total": fig["usd_per_mtok_total"],
                "usd_per_mtok_input": fig["usd_per_mtok_input"],
                "usd_per_mtok_cached_input": fig["usd_per_mtok_cached_input"],
                "usd_per_mtok_output": fig["usd_per_mtok_output"],
                "tokens_per_s_per_gpu": fig["tokens_per_s_per_gpu"],
                "capacity_requests_per_s": cap,
                "utilization_avg": float(fleet_utilization(rate_rps, cap)),
                "utilization_peak": float(fleet_utilization(peak_rps, cap)),
                "tokens_per_s_per_mw": cap * (sw.isl + sw.osl) / fig["mw"] if fig["mw"] else None,
            }
        )
    return _band_dict(ends, ints=("replicas", "gpus", "nodes", "racks"))


def budget_band(sw: S.Sweep, i: int, option_figures: dict) -> dict:
    """p10/p90 of a budget option (GPUs fixed by the budget): the tokens/s it serves scale with the throughput band of
    sweep row ``i``, its $/M tokens inversely. {} without a band."""
    band = row_band(sw, i)
    if band is None:
        return {}
    out = {"throughput_factor": {"p10": band[0], "p90": band[1]}}
    for k, sign in (
        ("tokens_per_s", 1),
        ("output_tokens_per_s", 1),
        ("requests_per_s", 1),
        ("tokens_per_day", 1),
        ("tokens_per_s_per_gpu", 1),
        ("usd_per_mtok_total", -1),
        ("usd_per_mtok_input", -1),
        ("usd_per_mtok_cached_input", -1),
        ("usd_per_mtok_output", -1),
    ):
        v = option_figures.get(k)
        b = unc.scaled_band(v, *band, sign) if v is not None else None
        if b is not None:
            out[k] = b
    return out


def _ranking(sw: S.Sweep, options: list, key: str) -> dict:
    """The report's tie (options tied with the first on ``key``, search.tie_report) and the options on a prior."""
    rows = [o.to_dict() for o in options]
    best = rows[0] if rows and rows[0].get(key) is not None else None
    return {
        **S.tie_report(best, [r for r in rows if r.get(key) is not None], key),
        **S.prior_summary(
            sw.calibration, sw.uncertainty_table, unc.model_class(sw.model), among=[o.hardware for o in options]
        ),
    }


def prefill_share_of_fleet(sw: S.Sweep, row: int, composed: bool, x: int = 0, y: int = 0) -> float | None:
    """The prefill share of a fleet's GPU time: the row's prefill_gpu_time_share, or for a composed disaggregated
    fleet its prefill pool's share of GPUs, x prefill GPUs / (x prefill + y decode GPUs)."""
    c = sw.cols
    if composed:
        gp, gd = float(c["p_gpus"][row]) * x, float(c["d_gpus"][row]) * y
        return gp / (gp + gd) if gp + gd > 0 else None
    if "prefill_gpu_time_share" not in c:
        return None
    return float(c["prefill_gpu_time_share"][row])


def _precisions(sw: S.Sweep) -> dict:
    """The weight precisions swept and their KV precisions (for the report header)."""
    from tokenfab.catalog import precision as prec

    return {"weights": list(sw.weights), "kv": [prec.default_kv_precision(w) for w in sw.weights]}


def _composed_config(cfg: dict, x: int, y: int) -> dict:
    """A disaggregated unit's config with the fleet's own prefill and decode replica counts."""
    cfg = dict(cfg)
    p, d = dict(cfg["prefill"]), dict(cfg["decode"])
    p["replicas"], p["gpus_total"] = x, x * p["gpus"]
    d["replicas"], d["gpus_total"] = y, y * d["gpus"]
    cfg.update(
        prefill=p,
        decode=d,
        ratio=f"{x}:{y}",
        prefill_gpus=p["gpus_total"],
        decode_gpus=d["gpus_total"],
        gpus=p["gpus_total"] + d["gpus_total"],
        concurrency=y * d["concurrency_per_replica"],
        sizing="composed: prefill and decode replicas sized for the demand",
    )
    return cfg


def recommend_report(
    model,
    hardware_list,
    *,
    rate_rps=None,
    tokens_per_day=None,
    isl: int,
    osl: int,
    ttft_max_ms=None,
    tpot_max_ms=None,
    weights=None,
    preset=None,
    usd_per_gpu_hour=None,
    percentile=None,
    calibration=None,
    e2el_max_ms=None,
    gpus=None,
    mode="both",
    hardware_files=None,
    mtp: bool | str | dict | None = True,
    engine=None,
    prefix_hit_rate: float = 0.0,
    peak_to_average: float = 1.0,
    headroom: Headroom | None = None,
    tco_overrides: dict | None = None,
) -> FleetReport:
    """:func:`recommend` with the hardware it could not size and why. ``rate_rps`` / ``tokens_per_day`` is the
    average demand; the busiest hour is ``peak_to_average`` times it; the fleet is sized for that peak with
    ``headroom`` (default: the named defaults, :class:`Headroom`); $/M tokens divide the bill by the average demand."""
    t0 = time.perf_counter()
    rate = demand_rps(rate_rps, tokens_per_day, isl=int(isl), osl=int(osl))
    p2a = float(require_range("peak_to_average", peak_to_average, 1.0, 1000.0))
    hr = headroom if headroom is not None else Headroom()
    peak = rate * p2a
    burst = float(hr.burst(peak))
    sizing = float(hr.sizing_rate(peak))
    sw, sla, ok = _prepare(
        model,
        hardware_list,
        isl=isl,
        osl=osl,
        weights=weights,
        preset=preset,
        usd_per_gpu_hour=usd_per_gpu_hour,
        percentile=percentile,
        calibration=calibration,
        ttft_max_ms=ttft_max_ms,
        tpot_max_ms=tpot_max_ms,
        e2el_max_ms=e2el_max_ms,
        gpus=gpus,
        mode=mode,
        hardware_files=hardware_files,
        mtp=mtp,
        engine=engine,
        prefix_hit_rate=prefix_hit_rate,
        tco_overrides=tco_overrides,
    )
    c = sw.cols
    sizes = fleet_sizes(sw, sizing, np.flatnonzero(ok), hr.spare_replicas)
    reps_all, gpus_all = sizes["replicas"], sizes["gpus"]
    ttft_all, composed, xs, ys = (
        sizes["ttft_ms"],
        sizes["composed"],
        sizes["prefill_replicas"],
        sizes["decode_replicas"],
    )
    month_all = np.where(ok, usd_per_month(_wallclock_usd_per_gpu_hour(sw), gpus_all), np.nan)
    options: list[FleetOption] = []
    skipped: dict[str, str] = {}
    tok_s = rate * (sw.isl + sw.osl)
    for h, hw in enumerate(sw.hardware):
        ids = np.flatnonzero(ok & (c["hw"] == h))
        if not ids.size:
            skipped[hw.key] = skip_reason(sw, h, sla)
            continue
        cost_ids = ids[np.isfinite(month_all[ids])]
        pool = cost_ids if cost_ids.size else ids
        key_cost = month_all[pool] if cost_ids.size else np.zeros(pool.size)
        # cheapest, then fewest GPUs, then the most interactive
        order = np.lexsort((-c["tokens_per_s_per_user"][pool], gpus_all[pool], key_cost))
        i = int(pool[order[0]])
        n_gpus = int(gpus_all[i])
        cfg = sw.config(i)
        if composed[i]:
            cfg = _composed_config(cfg, int(xs[i]), int(ys[i]))
            d = _disagg_parts(sw, np.array([i]))
            cap_rps = float(composed_capacity_rps(xs[i], ys[i], d["r_d"][0], d["mu"][0]))
        else:
            cap_rps = float(reps_all[i] * c["requests_per_s"][i])
        ttft_i = S._num(ttft_all[i])
        figs = _fleet_figures(
            sw, hw, n_gpus, tok_s, prefill_share_of_fleet(sw, i, bool(composed[i]), int(xs[i]), int(ys[i]))
        )
        options.append(
            FleetOption(
                hardware=hw.key,
                mode=S.MODES[int(c["mode"][i])],
                gpus=n_gpus,
                replicas=int(reps_all[i]),
                config=cfg,
                gpus_per_replica=n_gpus if composed[i] else int(c["gpus"][i]),
                requests_per_s=float(rate),
                tokens_per_s=float(tok_s),
                capacity_requests_per_s=cap_rps,
                utilization=float(fleet_utilization(rate, cap_rps)),
                utilization_avg=float(fleet_utilization(rate, cap_rps)),
                utilization_peak=float(fleet_utilization(peak, cap_rps)),
                peak_requests_per_s=float(peak),
                sizing_requests_per_s=sizing,
                burst_factor=burst,
                spare_replicas=hr.spare_replicas,
                tokens_per_s_per_user=float(c["tokens_per_s_per_user"][i]),
                ttft_ms=ttft_i,
                tpot_ms=S._num(c["tpot_ms"][i]),
                e2el_ms=S._num(ttft_all[i] + (sw.osl - 1.0) * c["tpot_ms"][i]),
                percentile=sla.label,
                chips_per_node=hw.chips_per_node,
                chips_per_rack=hw.chips_per_rack,
                tokens_per_s_per_mw=cap_rps * (sw.isl + sw.osl) / figs["mw"] if figs["mw"] else None,
                served_tokens_per_s_per_mw=rate * (sw.isl + sw.osl) / figs["mw"] if figs["mw"] else None,
                capacity_tokens_per_s_per_gpu=cap_rps * (sw.isl + sw.osl) / max(n_gpus, 1),
                calibration=dict(sw.calibration.get(hw.key, {})),
                prior=bool(sw.calibration.get(hw.key, {}).get("prior", False)),
                uncertainty=fleet_band(
                    sw, hw, i, sizing_rps=sizing, rate_rps=rate, peak_rps=peak, spare=hr.spare_replicas
                ),
                **figs,
            )
        )
    options.sort(key=lambda o: (o.usd_per_month is None, o.usd_per_month or 0.0, o.gpus))
    return FleetReport(
        **_ranking(sw, options, "usd_per_month"),
        options=options,
        skipped=skipped,
        evaluated=sw.evaluated,
        elapsed_s=time.perf_counter() - t0,
        demand_requests_per_s=rate,
        sla=sla.to_dict(),
        warnings=list(sw.warnings),
        headroom={**hr.to_dict(), "burst_factor_at_peak": burst, "sizing_requests_per_s": sizing},
        peak_to_average=p2a,
        **_precisions(sw),
    )


def recommend(
    model,
    hardware_list,
    *,
    rate_rps=None,
    tokens_per_day=None,
    isl: int,
    osl: int,
    ttft_max_ms=None,
    tpot_max_ms=None,
    weights=None,
    preset=None,
    usd_per_gpu_hour=None,
    percentile=None,
    calibration=None,
    e2el_max_ms=None,
    gpus=None,
    mode="both",
    hardware_files=None,
    mtp: bool | str | dict | None = True,
    engine=None,
    prefix_hit_rate: float = 0.0,
    peak_to_average: float = 1.0,
    headroom: Headroom | None = None,
    tco_overrides: dict | None = None,
) -> list[FleetOption]:
    """Per hardware, the cheapest fleet that serves ``rate_rps`` requests/s (or ``tokens_per_day`` input + output
    tokens) of ISL/OSL tokens within the SLA; ranked cheapest first. ``prefix_hit_rate`` is the share of each prompt
    found in the prefix cache (its prefill is skipped). Raises a TokenfabError naming the binding limit
    when no hardware can meet the SLA."""
    kw = dict(locals())
    return recommend_report(kw.pop("model"), kw.pop("hardware_list"), **kw).options


def budget_report(
    model,
    hardware_list,
    *,
    power_mw=None,
    racks=None,
    isl: int,
    osl: int,
    ttft_max_ms=None,
    tpot_max_ms=None,
    weights=None,
    preset=None,
    usd_per_gpu_hour=None,
    percentile=None,
    calibration=None,
    e2el_max_ms=None,
    gpus=None,
    mode="both",
    hardware_files=None,
    mtp: bool | str | dict | None = True,
    engine=None,
    prefix_hit_rate: float = 0.0,
    tco_overrides: dict | None = None,
) -> FleetReport:
    """:func:`max_throughput_for_budget` with the hardware it skipped and why."""
    t0 = time.perf_counter()
    if (power_mw is None) == (racks is None):
        raise TokenfabError(
            "give exactly one budget: a power or a rack count" + (", not both" if power_mw is not None else ""),
            field="power_mw" if power_mw is not None else "racks",
            expected="--power-mw P or --racks N",
        )
    if power_mw is not None:
        budget = {"power_mw": check_input("power_mw", power_mw)}
    else:
        racks = check_input("racks", racks)
        budget = {"racks": racks}
    # a budget's fleet runs at its full capacity: its TCO (energy included) is priced at utilization 1 unless given
    tco_overrides = {"utilization": 1.0, **(tco_overrides or {})}
    sw, sla, ok = _prepare(
        model,
        hardware_list,
        isl=isl,
        osl=osl,
        weights=weights,
        preset=preset,
        usd_per_gpu_hour=usd_per_gpu_hour,
        percentile=percentile,
        calibration=calibration,
        ttft_max_ms=ttft_max_ms,
        tpot_max_ms=tpot_max_ms,
        e2el_max_ms=e2el_max_ms,
        gpus=gpus,
        mode=mode,
        hardware_files=hardware_files,
        mtp=mtp,
        engine=engine,
        prefix_hit_rate=prefix_hit_rate,
        tco_overrides=tco_overrides,
    )
    c = sw.cols
    options: list[BudgetOption] = []
    skipped: dict[str, str] = {}
    for h, hw in enumerate(sw.hardware):
        kw = (sw.costs.get(hw.key) or {}).get("all_in_kw_per_gpu")
        if power_mw is not None and not kw:
            skipped[hw.key] = "all-in kW per GPU unknown (no TCO for this hardware): cannot size a power budget"
            continue
        max_g = gpus_in_budget(power_mw=power_mw, racks=racks, kw_per_gpu=kw, chips_per_rack=hw.chips_per_rack)
        ids = np.flatnonzero(ok & (c["hw"] == h))
        if not ids.size:
            skipped[hw.key] = skip_reason(sw, h, sla)
            continue
        # whole replicas (aggregated deployments or rate-matched x:y units) of each configuration ...
        reps = max_g // c["gpus"][ids]
        rps = reps * c["requests_per_s"][ids]
        n_g = reps * c["gpus"][ids]
        ttft = c["ttft_ms"][ids].copy()
        comp = np.zeros(ids.size, dtype=bool)
        xs, ys = np.zeros(ids.size, dtype=int), np.zeros(ids.size, dtype=int)
        dis = np.flatnonzero(c["mode"][ids] == 1)
        if dis.size:  # ... or a disaggregated fleet composed to fill the budget
            x, y, lam, t = _disagg_budget_columns(sw, max_g, ids[dis])
            better = lam > rps[dis] * (1 + 1e-9)
            sel = dis[better]
            comp[sel], xs[sel], ys[sel], rps[sel], ttft[sel] = True, x[better], y[better], lam[better], t[better]
            n_g[sel] = x[better] * c["p_gpus"][ids[sel]] + y[better] * c["d_gpus"][ids[sel]]
            reps[sel] = 1
        if not np.any(rps > 0):
            skipped[hw.key] = (
                f"the budget holds {max_g} GPUs; the smallest deployment meeting the SLA needs "
                f"{int(c['gpus'][ids].min())}"
            )
            continue
        j = int(np.lexsort((n_g, -rps))[0])  # most requests/s, then fewest GPUs
        i = int(ids[j])
        n_gpus = int(n_g[j])
        r_tot = float(rps[j])
        tok_s = r_tot * (sw.isl + sw.osl)
        cfg = _composed_config(sw.config(i), int(xs[j]), int(ys[j])) if comp[j] else sw.config(i)
        figs = _fleet_figures(
            sw, hw, n_gpus, tok_s, prefill_share_of_fleet(sw, i, bool(comp[j]), int(xs[j]), int(ys[j]))
        )
        options.append(
            BudgetOption(
                hardware=hw.key,
                mode=S.MODES[int(c["mode"][i])],
                budget=dict(budget),
                max_gpus=int(max_g),
                gpus=n_gpus,
                replicas=int(reps[j]),
                gpus_per_replica=n_gpus if comp[j] else int(c["gpus"][i]),
                config=cfg,
                tokens_per_s=tok_s,
                output_tokens_per_s=r_tot * sw.osl,
                requests_per_s=r_tot,
                tokens_per_day=tok_s * units.S_PER_DAY,
                tokens_per_s_per_user=float(c["tokens_per_s_per_user"][i]),
                ttft_ms=S._num(ttft[j]),
                tpot_ms=S._num(c["tpot_ms"][i]),
                percentile=sla.label,
                calibration=dict(sw.calibration.get(hw.key, {})),
                prior=bool(sw.calibration.get(hw.key, {}).get("prior", False)),
                **figs,
            )
        )
        options[-1].uncertainty = budget_band(sw, i, options[-1].to_dict())
    options.sort(key=lambda o: -o.tokens_per_s)
    return FleetReport(
        **_ranking(sw, options, "tokens_per_s"),
        options=options,
        skipped=skipped,
        evaluated=sw.evaluated,
        elapsed_s=time.perf_counter() - t0,
        sla=sla.to_dict(),
        warnings=list(sw.warnings),
        **_precisions(sw),
    )


def max_throughput_for_budget(
    model,
    hardware_list,
    *,
    power_mw=None,
    racks=None,
    isl: int,
    osl: int,
    ttft_max_ms=None,
    tpot_max_ms=None,
    weights=None,
    preset=None,
    usd_per_gpu_hour=None,
    percentile=None,
    calibration=None,
    e2el_max_ms=None,
    gpus=None,
    mode="both",
    hardware_files=None,
    mtp: bool | str | dict | None = True,
    engine=None,
    prefix_hit_rate: float = 0.0,
    tco_overrides: dict | None = None,
) -> list[BudgetOption]:
    """Per hardware, the most tokens/s within the SLA that fit in ``power_mw`` all-in MW or ``racks`` racks,
    ranked by tokens/s (most first)."""
    kw = dict(locals())
    return budget_report(kw.pop("model"), kw.pop("hardware_list"), **kw).options


__all__ = [
    "FleetOption",
    "BudgetOption",
    "FleetReport",
    "recommend",
    "recommend_report",
    "max_throughput_for_budget",
    "budget_report",
    "demand_rps",
    "replicas_needed",
    "nodes_and_racks",
    "usd_per_month",
    "megawatts",
    "gpus_in_budget",
    "fleet_sizes",
    "FleetCandidates",
    "fleet_candidates",
    "fewest_gpus",
    "gpu_bounds",
    "disagg_min_replicas",
    "composed_capacity_rps",
    "skip_reason",
    "compose_disagg_fleet",
    "fill_disagg_budget",
    "disagg_ttft_ms",
    "Headroom",
    "NO_HEADROOM",
    "burst_factor",
    "sizing_rate_rps",
    "fleet_utilization",
    "prefill_share_of_fleet",
    "fleet_band",
    "budget_band",
    "row_band",
    "BAND_RULE",
    "DEFINITIONS",
]
