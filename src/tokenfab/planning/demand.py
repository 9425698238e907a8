"""Demand: from users to tokens per day, requests per second and the peak a fleet must serve (pure, NumPy).

Per persona p, feature f and month m (docs/demand.md works an example by hand):

- users(p, m) = count(p) x growth(m): ``monthly`` growth compounds, (1 + g/100)^m; the ``s-curve`` is a logistic
  rescaled to start at 1 and saturate at S x the month-0 users:
  growth(m) = 1 + (S - 1) x (sigma(k (m - m0)) - sigma(-k m0)) / (1 - sigma(-k m0)), sigma(x) = 1 / (1 + e^-x);
- user requests per day = users x active_share x sessions_per_day x requests_per_session x share(f), where share(f)
  is the persona's weight for f over the sum of its weights;
- LLM calls per day = user requests x llm_calls_per_task (agents make many calls per task);
- per call: input tokens = input + retrieved context (RAG); output tokens = visible output + reasoning tokens
  (reasoning is generated like output, so it is served and billed as output); cached input tokens = input tokens x
  cached_prefix_share (served from the prompt cache: no prefill, billed at the cached price);
- tokens per day = LLM calls per day x tokens per call (the mean of each token distribution);
- average rate = per day / 86,400 s; peak = average x peak-to-average, where the ratio is max / mean of the 24 hourly
  weights (or given). Batch features run flat (peak-to-average 1) unless they say otherwise.

Features that share (model, weight precision, tier SLA, ISL, OSL, peak-to-average) form one *workload*: the unit the
fleet is sized for (tokenfab.planning.plan). ISL and OSL are the rounded means per LLM call. The weight precision is the
feature's or the scenario's ``weights``, else the checkpoint's (``native_weights``); the KV cache is stored at
tokenfab.catalog.precision.default_kv_precision of it (what the fleet search uses).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any, cast

import numpy as np

from tokenfab.core import units
from tokenfab.core.errors import TokenfabError
from tokenfab.core.inputs import MAX_RATE_RPS, MAX_USERS, MAX_USERS_WHY, check_rate_rps
from tokenfab.planning.scenario import BATCH_PEAK_TO_AVERAGE, Growth, Scenario, TokenDist

DEFINITIONS = {
    "llm_calls_per_day": "user requests per day x LLM calls per task",
    "input_tokens_per_day": "LLM calls x (input + retrieved-context tokens) per call; includes cached input",
    "cached_input_tokens_per_day": "input tokens x cached_prefix_share: served from the prompt cache (no prefill)",
    "uncached_input_tokens_per_day": "input tokens - cached input tokens (prefilled)",
    "output_tokens_per_day": "LLM calls x (output + reasoning tokens) per call: every generated token",
    "reasoning_tokens_per_day": "the hidden reasoning part of output tokens",
    "avg_requests_per_s": "LLM calls per day / 86,400",
    "peak_requests_per_s": "average requests/s x peak-to-average (the hour the fleet is sized for)",
    "peak_tokens_per_s": "average (input + output) tokens/s x peak-to-average",
    "peak_to_average": "max / mean of the 24 hourly weights (or as given)",
}


# ---------------------------------------------------------------------------------------------------------------
# token distributions
# ---------------------------------------------------------------------------------------------------------------
def dist_mean(d: TokenDist) -> float:
    """Mean tokens of a distribution (uniform: the midpoint of min and max)."""
    # TokenDist's validator gives a uniform distribution min and max, every other one a mean (a lognormal a cv too)
    if d.distribution == "uniform":
        return 0.5 * (float(cast(float, d.min)) + float(cast(float, d.max)))
    return float(cast(float, d.mean))


def dist_quantile(d: TokenDist, q: float) -> float:
    """The q-quantile (0 < q < 1). lognormal(mean, cv): sigma^2 = ln(1 + cv^2), mu = ln(mean) - sigma^2 / 2;
    exponential(mean): -mean ln(1 - q); uniform: min + q (max - min); fixed: the mean."""
    if d.distribution == "uniform":  # min and max set, else a mean (see dist_mean)
        lo, hi = float(cast(float, d.min)), float(cast(float, d.max))
        return lo + q * (hi - lo)
    mean = float(cast(float, d.mean))
    if d.distribution == "exponential":
        return -mean * np.log1p(-q)
    if d.distribution == "lognormal" and mean > 0:
        s2 = np.log1p(float(cast(float, d.cv)) ** 2)
        mu = np.log(mean) - s2 / 2.0
        return float(np.exp(mu + np.sqrt(s2) * NormalDist().inv_cdf(q)))
    return mean


# ---------------------------------------------------------------------------------------------------------------
# growth
# ---------------------------------------------------------------------------------------------------------------
def monthly_growth_multiplier(months, monthly_growth_pct):
    """(1 + g / 100)^m: users relative to month 0 under monthly compounding."""
    m = np.asarray(months, dtype=float)
    out = (1.0 + np.asarray(monthly_growth_pct, dtype=float) / 100.0) ** m
    return out if out.ndim else float(out)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def logistic_growth_multiplier(months, midpoint_month, steepness_per_month, saturation_multiple):
    """Logistic S-curve rescaled so that month 0 is 1 and the ceiling is ``saturation_multiple``:
    1 + (S - 1) (sigma(k (m - m0)) - sigma(-k m0)) / (1 - sigma(-k m0))."""
    m = np.asarray(months, dtype=float)
    k = float(steepness_per_month)
    m0 = float(midpoint_month)
    s = float(saturation_multiple)
    base = _sigmoid(-k * m0)
    out = 1.0 + (s - 1.0) * (_sigmoid(k * (m - m0)) - base) / (1.0 - base)
    return out if out.ndim else float(out)


def growth_multiplier(months, growth: Growth):
    """Users at month m relative to month 0, for a scenario's growth block."""
    if growth.kind == "none":
        out = np.ones_like(np.asarray(months, dtype=float))
        return out if out.ndim else float(out)
    if growth.kind == "s-curve":
        return logistic_growth_multiplier(
            months, growth.midpoint_month, growth.steepness_per_month, growth.saturation_multiple
        )
    return monthly_growth_multiplier(months, growth.monthly_growth_pct)


# ---------------------------------------------------------------------------------------------------------------
# peaks and rates
# ---------------------------------------------------------------------------------------------------------------
def peak_to_average_ratio(hourly_weights) -> float:
    """max / mean of the 24 hourly weights: how much busier the busiest hour is than the daily average."""
    w = np.asarray(hourly_weights, dtype=float)
    return float(w.max() / w.mean())


def scenario_peak_to_average(sc: Scenario) -> float:
    d = sc.diurnal
    # Diurnal's validator: exactly one of hourly_weights and peak_to_average
    if d.hourly_weights is not None:
        return peak_to_average_ratio(d.hourly_weights)
    return float(cast(float, d.peak_to_average))


def hourly_profile(sc: Scenario) -> np.ndarray:
    """24 hourly load factors (mean 1): the given weights normalised, or a flat day when only a ratio is given."""
    d = sc.diurnal
    if d.hourly_weights is None:
        return np.ones(24)
    w = np.asarray(d.hourly_weights, dtype=float)
    return w / w.mean()


def per_second(per_day):
    """A daily count as an average rate per second (/ 86,400)."""
    out = np.asarray(per_day, dtype=float) / units.S_PER_DAY
    return out if out.ndim else float(out)


def peak_rate(average, peak_to_average):
    """Rate in the busiest hour = average x peak-to-average."""
    out = np.asarray(average, dtype=float) * np.asarray(peak_to_average, dtype=float)
    return out if out.ndim else float(out)


def user_requests_per_day(users, active_share, sessions_per_day, requests_per_session, feature_share):
    """users x active share x sessions per active day x requests per session x the feature's share of requests."""
    out = (
        np.asarray(users, dtype=float)
        * active_share
        * sessions_per_day
        * requests_per_session
        * np.asarray(feature_share, dtype=float)
    )
    return out if out.ndim else float(out)


def llm_calls_per_day(user_requests, llm_calls_per_task):
    """LLM calls per day = user requests (tasks) x LLM calls per task."""
    out = np.asarray(user_requests, dtype=float) * np.asarray(llm_calls_per_task, dtype=float)
    return out if out.ndim else float(out)


def tokens_per_call(feature) -> dict[str, float]:
    """Mean tokens of one LLM call of a feature (see the module docstring)."""
    inp = dist_mean(feature.input_tokens) + dist_mean(feature.retrieved_context_tokens)
    reasoning = dist_mean(feature.reasoning_tokens)
    out = dist_mean(feature.output_tokens) + reasoning
    cached = inp * feature.cached_prefix_share
    return {
        "input_tokens": inp,
        "cached_input_tokens": cached,
        "uncached_input_tokens": inp - cached,
        "output_tokens": out,
        "reasoning_tokens": reasoning,
        "total_tokens": inp + out,
    }


def feature_peak_to_average(sc: Scenario, feature_name: str) -> float:
    f = sc.features[feature_name]
    if f.peak_to_average is not None:
        return float(f.peak_to_average)
    if f.kind == "batch":
        return BATCH_PEAK_TO_AVERAGE
    return scenario_peak_to_average(sc)


# ---------------------------------------------------------------------------------------------------------------
# the demand of a scenario
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Workload:
    """What one fleet is sized for: a model, an SLA, ISL/OSL per LLM call and a peak-to-average ratio."""

    key: str
    model: str
    tier: str
    isl: int
    osl: int
    ttft_max_ms: float
    tpot_max_ms: float
    peak_to_average: float
    prefix_hit_rate: float  # cached input tokens / input tokens of its features
    features: tuple[str, ...]
    sla_source: str = ""
    weights: str | None = None  # weight precision served at (None: the checkpoint's)
    kv: str | None = None  # KV-cache precision (precision.default_kv_precision of the weights)

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


_KINDS = (
    "llm_calls_per_day",
    "user_requests_per_day",
    "input_tokens_per_day",
    "cached_input_tokens_per_day",
    "uncached_input_tokens_per_day",
    "output_tokens_per_day",
    "reasoning_tokens_per_day",
    "total_tokens_per_day",
)


@dataclass
class DemandResult:
    months: np.ndarray
    labels: list[str]
    growth: np.ndarray  # users relative to month 0
    users: dict[str, np.ndarray]  # persona -> users per month
    total_users: np.ndarray
    daily_active_users: np.ndarray
    rows: list[dict]  # one per (persona, feature): name fields + arrays per month (keys in _KINDS)
    by_feature: dict[str, dict[str, np.ndarray]]
    by_persona: dict[str, dict[str, np.ndarray]]
    billed: dict[str, np.ndarray]  # tokens per day of the personas billed per token (keys in _KINDS)
    workloads: list[Workload]
    load: dict[str, dict[str, np.ndarray]]  # workload key -> avg/peak requests/s and tokens/s per month
    totals: dict[str, np.ndarray]
    subscription_usd_per_month: np.ndarray
    peak_to_average: float
    hourly_profile: np.ndarray
    per_call: dict[str, dict[str, float]]  # feature -> tokens_per_call
    notes: list[str] = field(default_factory=list)

    def month(self, m: int) -> dict:
        """Plain numbers for one month (JSON-friendly)."""
        return {
            "month": int(m),
            "label": self.labels[m],
            "total_users": float(self.total_users[m]),
            "daily_active_users": float(self.daily_active_users[m]),
            **{k: float(v[m]) for k, v in self.totals.items()},
            "subscription_usd_per_month": float(self.subscription_usd_per_month[m]),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "labels": list(self.labels),
            "growth": self.growth,
            "users": self.users,
            "total_users": self.total_users,
            "daily_active_users": self.daily_active_users,
            "totals": self.totals,
            "by_feature": self.by_feature,
            "by_persona": self.by_persona,
            "billed_per_token": self.billed,
            "workloads": [w.to_dict() for w in self.workloads],
            "load": self.load,
            "subscription_usd_per_month": self.subscription_usd_per_month,
            "peak_to_average": self.peak_to_average,
            "hourly_profile": self.hourly_profile,
            "tokens_per_call": self.per_call,
            "definitions": dict(DEFINITIONS),
            "notes": list(self.notes),
        }


def workload_key(
    model: str, tier: str, isl: int, osl: int, ttft_ms: float, tpot_ms: float, par: float, weights: str | None = None
) -> str:
    w = f" {weights}" if weights else ""
    return f"{model}{w} {tier} {isl}/{osl} (TTFT<={ttft_ms:g} ms, TPOT<={tpot_ms:g} ms, peak x{par:.3g})"


def served_precisions(model: str, weights: str | None) -> tuple[str, str]:
    """(weight precision, KV precision) a model is served at: ``weights`` or the checkpoint's, and the KV precision
    the fleet search pairs with it (tokenfab.catalog.precision.default_kv_precision)."""
    from tokenfab.catalog.models import get_model
    from tokenfab.catalog.precision import default_kv_precision

    w = weights or get_model(model).native_weights
    return w, default_kv_precision(w)


def check_user_count(sc: Scenario, months: np.ndarray, growth: np.ndarray) -> None:
    """The users of every month stay within MAX_USERS (a growth rate compounded over a long horizon can reach any
    number: 1000% a month for 240 months is 1e250 users)."""
    base = float(sum(p.count for p in sc.personas))
    users = base * growth
    if not users.size or (np.all(np.isfinite(users)) and float(users.max()) <= MAX_USERS):
        return
    i = int(np.argmax(np.where(np.isfinite(users), users, np.inf)))
    grows = float(growth[i]) > 1.0
    raise TokenfabError(
        f"the scenario reaches {users[i]:.3g} users in month {int(months[i])}"
        + (f" ({base:.3g} at month 0 grown {growth[i]:.3g}x)" if grows else ""),
        field="growth" if grows else "personas",
        expected=f"at most {MAX_USERS:.0e} users in any month",
        hint=f"the bound is {MAX_USERS_WHY}; check the growth rate and the horizon",
    )


def demand(sc: Scenario, months=None) -> DemandResult:
    """Users, tokens per day, request rates and peaks of a scenario for each month of its horizon."""
    m = np.arange(sc.horizon_months, dtype=float) if months is None else np.asarray(months, dtype=float)
    labels = sc.month_labels(int(m.max()) + 1 if m.size else 0)
    labels = [labels[int(x)] for x in m]
    g = np.asarray(growth_multiplier(m, sc.growth), dtype=float) * np.ones_like(m)
    check_user_count(sc, m, g)
    par_scenario = scenario_peak_to_average(sc)
    per_call = {name: tokens_per_call(f) for name, f in sc.features.items()}

    users: dict[str, np.ndarray] = {}
    dau = np.zeros_like(m)
    subs = np.zeros_like(m)
    rows: list[dict] = []
    by_feature = {name: {k: np.zeros_like(m) for k in _KINDS} for name in sc.features}
    by_persona = {p.name: {k: np.zeros_like(m) for k in _KINDS} for p in sc.personas}
    billed = {k: np.zeros_like(m) for k in _KINDS}
    for p in sc.personas:
        u = p.count * g
        users[p.name] = u
        dau = dau + u * p.active_share
        subs = subs + u * p.subscription_usd_per_month
        wsum = float(sum(p.features.values()))
        for fname, w in p.features.items():
            f = sc.features[fname]
            req = user_requests_per_day(u, p.active_share, p.sessions_per_day, p.requests_per_session, w / wsum)
            calls = llm_calls_per_day(req, f.llm_calls_per_task)
            pc = per_call[fname]
            row = {
                "persona": p.name,
                "feature": fname,
                "kind": f.kind,
                "user_requests_per_day": req,
                "llm_calls_per_day": calls,
                "input_tokens_per_day": calls * pc["input_tokens"],
                "cached_input_tokens_per_day": calls * pc["cached_input_tokens"],
                "uncached_input_tokens_per_day": calls * pc["uncached_input_tokens"],
                "output_tokens_per_day": calls * pc["output_tokens"],
                "reasoning_tokens_per_day": calls * pc["reasoning_tokens"],
                "total_tokens_per_day": calls * pc["total_tokens"],
            }
            row["billed_per_token"] = p.billed_per_token
            rows.append(row)
            for k in _KINDS:
                by_feature[fname][k] = by_feature[fname][k] + row[k]
                by_persona[p.name][k] = by_persona[p.name][k] + row[k]
                if p.billed_per_token:
                    billed[k] = billed[k] + row[k]

    # workloads: features grouped by (model, weights, SLA, ISL, OSL, peak-to-average)
    groups: dict[tuple, list[str]] = {}
    meta: dict[tuple, dict] = {}
    for fname in sc.features:
        sla = sc.sla(fname)
        pc = per_call[fname]
        isl = max(1, int(round(pc["input_tokens"])))
        osl = max(1, int(round(pc["output_tokens"])))
        par = feature_peak_to_average(sc, fname)
        wts = served_precisions(sc.feature_model(fname), sc.feature_weights(fname))[0]
        key = (sc.feature_model(fname), sla["tier"], isl, osl, float(sla["ttft_ms"]), float(sla["tpot_ms"]), par, wts)
        groups.setdefault(key, []).append(fname)
        meta[key] = sla
    workloads: list[Workload] = []
    load: dict[str, dict[str, np.ndarray]] = {}
    totals = {k: np.zeros_like(m) for k in _KINDS}
    for k in _KINDS:
        for fname in sc.features:
            totals[k] = totals[k] + by_feature[fname][k]
    peak_tok = np.zeros_like(m)
    peak_rps_total = np.zeros_like(m)
    for key, fnames in groups.items():
        model, tier, isl, osl, ttft, tpot, par, wts = key
        # a group holds at least one feature: each sum is an array
        calls = cast(np.ndarray, sum(by_feature[f]["llm_calls_per_day"] for f in fnames))
        inp = sum(by_feature[f]["input_tokens_per_day"] for f in fnames)
        cached = sum(by_feature[f]["cached_input_tokens_per_day"] for f in fnames)
        tot = cast(np.ndarray, sum(by_feature[f]["total_tokens_per_day"] for f in fnames))
        inp_sum = float(np.sum(inp))
        hit = float(np.sum(cached) / inp_sum) if inp_sum > 0 else 0.0
        wk = workload_key(model, tier, isl, osl, ttft, tpot, par, wts)
        workloads.append(
            Workload(
                key=wk,
                model=model,
                tier=tier,
                isl=isl,
                osl=osl,
                ttft_max_ms=ttft,
                tpot_max_ms=tpot,
                peak_to_average=par,
                prefix_hit_rate=hit,
                features=tuple(fnames),
                sla_source=meta[key]["source"],
                weights=wts,
                kv=served_precisions(model, wts)[1],
            )
        )
        avg_rps = per_second(calls)
        avg_tps = per_second(tot)
        load[wk] = {
            "llm_calls_per_day": calls,
            "avg_requests_per_s": avg_rps,
            "peak_requests_per_s": peak_rate(avg_rps, par),
            "avg_tokens_per_s": avg_tps,
            "peak_tokens_per_s": peak_rate(avg_tps, par),
            "total_tokens_per_day": tot,
        }
        peak_tok = peak_tok + load[wk]["peak_tokens_per_s"]
        peak_rps_total = peak_rps_total + load[wk]["peak_requests_per_s"]
    totals["avg_requests_per_s"] = per_second(totals["llm_calls_per_day"])
    totals["peak_requests_per_s"] = peak_rps_total
    if m.size and not float(np.max(peak_rps_total)) <= MAX_RATE_RPS:
        i = int(np.argmax(np.where(np.isfinite(peak_rps_total), peak_rps_total, np.inf)))
        check_rate_rps(float(peak_rps_total[i]), field="personas", source=f"the peak load of {labels[i]}")
    totals["avg_tokens_per_s"] = per_second(totals["total_tokens_per_day"])
    totals["peak_tokens_per_s"] = peak_tok
    notes = [
        "token counts are means per LLM call; the fleet is sized at the rounded mean ISL/OSL of each workload",
        "peaks of all interactive workloads are taken to coincide (one diurnal profile); batch runs flat",
        "the peak is the busiest hour's average; bursts within the hour are left to the fleet's queueing SLA "
        "(tail TTFT at Poisson arrivals)",
    ]
    return DemandResult(
        months=m.astype(int),
        labels=labels,
        growth=g,
        users=users,
        total_users=cast(np.ndarray, sum(users.values())),  # a scenario has at least one persona
        daily_active_users=dau,
        rows=rows,
        by_feature=by_feature,
        by_persona=by_persona,
        billed=billed,
        workloads=workloads,
        load=load,
        totals=totals,
        subscription_usd_per_month=subs,
        peak_to_average=par_scenario,
        hourly_profile=hourly_profile(sc),
        per_call=per_call,
        notes=notes,
    )


__all__ = [
    "DEFINITIONS",
    "Workload",
    "DemandResult",
    "demand",
    "dist_mean",
    "dist_quantile",
    "monthly_growth_multiplier",
    "logistic_growth_multiplier",
    "growth_multiplier",
    "peak_to_average_ratio",
    "scenario_peak_to_average",
    "hourly_profile",
    "per_second",
    "peak_rate",
    "user_requests_per_day",
    "llm_calls_per_day",
    "tokens_per_call",
    "feature_peak_to_average",
    "workload_key",
    "served_precisions",
]
