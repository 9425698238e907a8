"""Demand scenarios: the pydantic schema of a scenario YAML and its loader, with errors that name the field and line.

A scenario describes a product from its users down (docs/demand.md has the full reference and worked examples):

- ``personas``: user groups (count at month 0, share active on a day, sessions per active day, requests per session,
  the features they use with weights, an optional subscription in USD per user per month);
- ``features``: what a request is (kind chat | rag | agentic | code | batch; input and output tokens per LLM call,
  retrieved-context tokens for RAG, LLM calls per task for agents, reasoning tokens (generated, so counted as output),
  the share of input tokens served from a prompt (prefix) cache, and a latency tier premium | goldilocks | bulk whose
  SLA (TTFT ms, TPOT ms) comes from :data:`TIER_DEFAULTS` unless overridden);
- ``diurnal``: 24 hourly weights, or a peak-to-average ratio, which turns average load into the peak a fleet is
  sized for;
- ``growth``: monthly compounding (``monthly_growth_pct``) or a logistic S-curve (midpoint, steepness, saturation)
  over ``horizon_months``;
- ``model`` (a tokenfab model key; a feature may use another), candidate ``hardware``, ``tco`` (preset, plain price
  or overrides of tokenfab.economics.tco inputs) and ``pricing`` (USD per million input / cached input / output tokens).

:func:`load_scenario` composes the YAML once to map every path to its line (``yaml.compose`` node marks), so a
validation error reads ``personas[1].count: must be >= 0, got -5 (line 14)``; a number written with a unit where the
field's name already carries one (``ttft_ms: 2s``) is reported as a wrong unit with the conversion.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, cast

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from tokenfab.core import assumptions
from tokenfab.core.errors import TokenfabError
from tokenfab.core.files import MAX_YAML_BYTES, parse_yaml, read_text_file
from tokenfab.core.files import SCENARIO as SCENARIO_KIND
from tokenfab.core.inputs import (
    MAX_LATENCY_MS,
    MAX_MONTHS,
    MAX_SWEEP_HARDWARE,
    MAX_TOKENS,
    MAX_USD_PER_GPU_HOUR,
    MAX_USERS,
)

FEATURE_KINDS = ("chat", "rag", "agentic", "code", "batch")
# bounds of a scenario's numbers beyond the physical ones (shares in [0, 1], ...): far above any product, they keep
# every product of them finite (users x sessions x requests x calls x tokens)
MAX_FEATURES = 64  # each distinct workload costs one frontier sweep
MAX_PERSONAS = 256
MAX_SESSIONS_PER_DAY = 10_000  # one every 9 seconds, all day
MAX_REQUESTS_PER_SESSION = 100_000
MAX_CALLS_PER_TASK = 10_000
MAX_WEIGHT = 1e12  # a feature weight or an hourly weight (any scale)
MAX_USD = 1e6  # a subscription per user per month, a price per million tokens
TIERS = ("premium", "goldilocks", "bulk")

# Named latency tiers: SLA limits a request of the tier must meet (TTFT and TPOT at the fleet's SLA percentile).
# Each number is cited or marked as an assumption; a scenario overrides them under ``tiers:`` or per feature.
TIER_DEFAULTS: dict[str, dict[str, Any]] = {
    "premium": {
        "ttft_ms": 450.0,
        "tpot_ms": 12.5,
        "source": "TTFT 450 ms: MLPerf Inference v5.0 Llama-2-70B 'interactive' scenario (mlcommons.org/2025/04/"
        "llm-inference-v5); TPOT 12.5 ms = 1000 / 80 tokens/s per user, what OpenAI sells as Priority processing "
        "('99% > 80 tokens per second', openai.com/api-priority-processing; data/assumptions.yaml tiers.premium)",
    },
    "goldilocks": {
        "ttft_ms": 2000.0,
        "tpot_ms": 20.0,
        "source": "TTFT 2 s: MLPerf Inference v4.0 Llama-2-70B server scenario and the goodput example in "
        "metrics.md (TTFT <= 2 s); TPOT 20 ms = 1000 / 50 tokens/s per user, tokenfab.search."
        "GOLDILOCKS_INTERACTIVITY [assumption there: several times reading speed, headroom for reasoning]",
    },
    "bulk": {
        "ttft_ms": 60000.0,
        "tpot_ms": 200.0,
        "source": "TPOT 200 ms (5 tokens/s per user): MLPerf Inference v4.0 Llama-2-70B server scenario, the loosest "
        "LLM latency limit there; TTFT 60 s [assumption]: offline and batch work tolerates a minute's "
        "queueing (OpenAI's Batch API promises results within 24 h)",
    },
}

# Batch features are scheduled to fill the valleys of the day: flat load (peak-to-average 1) unless the feature says
# otherwise [assumption; batch APIs such as OpenAI's complete within 24 h, so the provider chooses when to run them].
BATCH_PEAK_TO_AVERAGE = assumptions.value("demand", "batch_peak_to_average")  # data/assumptions.yaml

# prompt-cache lifetime and the window a prefix stays in HBM (data/assumptions.yaml caching, cited there)
DEFAULT_CACHE_TTL_S = assumptions.value("caching", "cache_ttl_s")
DEFAULT_HBM_WINDOW_S = assumptions.value("caching", "hbm_window_s")


# ---------------------------------------------------------------------------------------------------------------
# schema
# ---------------------------------------------------------------------------------------------------------------
class _Strict(BaseModel):
    # every number finite (NaN and inf pass pydantic's ge/le bounds unless told otherwise)
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class TokenDist(_Strict):
    """Tokens per LLM call: a mean, or a distribution. fixed: ``mean``; lognormal: ``mean`` and ``cv`` (coefficient
    of variation); exponential: ``mean``; uniform: ``min`` and ``max`` (mean = their midpoint)."""

    mean: float | None = Field(default=None, ge=0, le=MAX_TOKENS)
    distribution: Literal["fixed", "lognormal", "exponential", "uniform"] = "fixed"
    cv: float | None = Field(default=None, ge=0, le=100)
    min: float | None = Field(default=None, ge=0, le=MAX_TOKENS)
    max: float | None = Field(default=None, ge=0, le=MAX_TOKENS)

    @model_validator(mode="after")
    def _check(self):
        if self.distribution == "uniform":
            if self.min is None or self.max is None:
                raise ValueError("a uniform distribution needs min and max")
            if self.max < self.min:
                raise ValueError(f"max ({self.max:g}) is below min ({self.min:g})")
            mid = 0.5 * (self.min + self.max)
            if self.mean is not None and abs(self.mean - mid) > 1e-9 * max(1.0, mid):
                raise ValueError(f"mean {self.mean:g} contradicts min/max (their midpoint is {mid:g}); give one")
        elif self.mean is None:
            raise ValueError("needs a mean (a number of tokens)")
        if self.distribution == "lognormal" and self.cv is None:
            raise ValueError("a lognormal distribution needs cv (coefficient of variation = sd / mean)")
        return self


def _weight_precision(v):
    """A weight precision (tokenfab.catalog.precision.WEIGHT_PRECISIONS), lower-cased; None keeps the checkpoint's."""
    if v is None:
        return v
    from tokenfab.catalog.precision import WEIGHT_PRECISIONS

    p = str(v).strip().lower()
    if p not in WEIGHT_PRECISIONS:
        raise ValueError(
            f"unknown weight precision {v!r}; one of {', '.join(WEIGHT_PRECISIONS)} "
            "(or leave it out for the checkpoint's)"
        )
    return p


def _as_dist(v):
    """A plain number means a fixed token count."""
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, float)):
        return {"mean": v}
    return v


class Feature(_Strict):
    kind: Literal["chat", "rag", "agentic", "code", "batch"]
    description: str = ""
    model: str | None = None  # tokenfab model key; default: the scenario's model
    weights: str | None = None  # weight precision of this feature's model; default: the scenario's weights
    input_tokens: TokenDist  # per LLM call, before retrieved context
    output_tokens: TokenDist  # visible output per LLM call
    reasoning_tokens: TokenDist = TokenDist(mean=0)  # hidden reasoning per call: generated, so counted as output
    retrieved_context_tokens: TokenDist = TokenDist(mean=0)  # RAG: retrieved passages added to the input
    llm_calls_per_task: float = Field(default=1.0, ge=1, le=MAX_CALLS_PER_TASK)  # agents: LLM calls per request (task)
    cached_prefix_share: float = Field(default=0.0, ge=0, lt=1)  # share of input tokens served from the prefix cache
    tier: Literal["premium", "goldilocks", "bulk"] | None = None  # default goldilocks (bulk for batch)
    ttft_ms: float | None = Field(default=None, gt=0, le=MAX_LATENCY_MS)  # overrides the tier's TTFT limit
    tpot_ms: float | None = Field(default=None, gt=0, le=MAX_LATENCY_MS)  # overrides the tier's TPOT limit
    peak_to_average: float | None = Field(default=None, ge=1, le=24)  # overrides the scenario's diurnal peak

    @field_validator("input_tokens", "output_tokens", "reasoning_tokens", "retrieved_context_tokens", mode="before")
    @classmethod
    def _dist(cls, v):
        return _as_dist(v)

    @field_validator("input_tokens", "output_tokens")
    @classmethod
    def _positive(cls, v: TokenDist):
        mean = v.mean if v.mean is not None else 0.5 * ((v.min or 0) + (v.max or 0))
        if mean <= 0:
            raise ValueError("the mean must be > 0 tokens")
        return v

    @field_validator("weights")
    @classmethod
    def _weights(cls, v):
        return _weight_precision(v)

    @property
    def tier_name(self) -> str:
        return self.tier or ("bulk" if self.kind == "batch" else "goldilocks")


class Persona(_Strict):
    name: str
    count: float = Field(ge=0, le=MAX_USERS)  # users at month 0
    active_share: float = Field(ge=0, le=1)  # share of users active on a given day (DAU / MAU)
    sessions_per_day: float = Field(ge=0, le=MAX_SESSIONS_PER_DAY)  # per active user
    requests_per_session: float = Field(ge=0, le=MAX_REQUESTS_PER_SESSION)  # user requests (tasks) per session
    features: dict[str, float]  # feature name -> weight (normalised to shares of requests)
    subscription_usd_per_month: float = Field(default=0.0, ge=0, le=MAX_USD)  # paid by every user of the persona
    pays_per_token: bool | None = None  # billed at the per-token prices; default: when there is no subscription

    @property
    def billed_per_token(self) -> bool:
        return (self.subscription_usd_per_month == 0) if self.pays_per_token is None else bool(self.pays_per_token)

    @field_validator("features")
    @classmethod
    def _weights(cls, v: dict[str, float]):
        if not v:
            raise ValueError("needs at least one feature with a weight")
        for k, w in v.items():
            if not isinstance(w, (int, float)) or isinstance(w, bool) or not (0 <= w <= MAX_WEIGHT):
                raise ValueError(f"weight of {k!r} must be a finite number in [0, {MAX_WEIGHT:g}], got {w!r}")
        if sum(v.values()) <= 0:
            raise ValueError("the weights must not all be 0")
        return v


class Diurnal(_Strict):
    """Either 24 hourly weights (any scale; hour 0 first) or a peak-to-average ratio."""

    hourly_weights: list[float] | None = None
    peak_to_average: float | None = Field(default=None, ge=1, le=24)  # the busiest hour holds at most the day
    source: str = ""

    @field_validator("hourly_weights")
    @classmethod
    def _hours(cls, v):
        if v is None:
            return v
        if len(v) != 24:
            raise ValueError(f"needs 24 hourly weights (hour 0 to 23), got {len(v)}")
        if any(not 0 <= w <= MAX_WEIGHT for w in v):
            raise ValueError(f"hourly weights must be finite numbers in [0, {MAX_WEIGHT:g}]")
        if sum(v) <= 0:
            raise ValueError("hourly weights must not all be 0")
        return v

    @model_validator(mode="after")
    def _one(self):
        if (self.hourly_weights is None) == (self.peak_to_average is None):
            raise ValueError("give exactly one of hourly_weights (24 numbers) and peak_to_average")
        return self


class Growth(_Strict):
    """monthly: users x (1 + monthly_growth_pct / 100)^month. s-curve: a logistic in months, rescaled to start at 1
    and saturate at ``saturation_multiple`` x the month-0 users
    (tokenfab.planning.demand.logistic_growth_multiplier)."""

    kind: Literal["monthly", "s-curve", "none"] = "monthly"
    monthly_growth_pct: float = Field(default=0.0, gt=-100, le=1000)
    midpoint_month: float | None = Field(default=None, ge=-MAX_MONTHS, le=2 * MAX_MONTHS)
    steepness_per_month: float | None = Field(default=None, gt=0, le=100)
    saturation_multiple: float | None = Field(default=None, ge=1, le=1e6)
    source: str = ""

    @model_validator(mode="after")
    def _need(self):
        if self.kind == "s-curve":
            missing = [
                f for f in ("midpoint_month", "steepness_per_month", "saturation_multiple") if getattr(self, f) is None
            ]
            if missing:
                raise ValueError("an s-curve needs " + ", ".join(missing))
        return self


class TierSla(_Strict):
    ttft_ms: float | None = Field(default=None, gt=0, le=MAX_LATENCY_MS)
    tpot_ms: float | None = Field(default=None, gt=0, le=MAX_LATENCY_MS)
    source: str = ""


class TcoSpec(_Strict):
    preset: str | None = None  # tokenfab.economics.tco preset (default owned-neocloud)
    usd_per_gpu_hour: float | None = Field(default=None, ge=0, le=MAX_USD_PER_GPU_HOUR)  # a plain price
    overrides: dict[str, float] = Field(default_factory=dict)  # tokenfab.economics.tco.TcoInputs fields


class Pricing(_Strict):
    """What users pay per token (USD per million tokens). Cached input defaults to the input price. The list prices
    fall by ``yearly_price_decline_pct`` a year from month 0 (0: constant); ``target_gross_margin_pct`` sets the
    margin of the target price the plan reports (default: data/assumptions.yaml margins.target_gross_margin_pct)."""

    usd_per_mtok_input: float = Field(default=0.0, ge=0, le=MAX_USD)
    usd_per_mtok_cached_input: float | None = Field(default=None, ge=0, le=MAX_USD)
    usd_per_mtok_output: float = Field(default=0.0, ge=0, le=MAX_USD)
    yearly_price_decline_pct: float = Field(default=0.0, ge=0, lt=100, allow_inf_nan=False)
    target_gross_margin_pct: float | None = Field(default=None, ge=0, lt=100, allow_inf_nan=False)
    source: str = ""

    @property
    def cached_input(self) -> float:
        return self.usd_per_mtok_input if self.usd_per_mtok_cached_input is None else self.usd_per_mtok_cached_input


class CachingSpec(_Strict):
    ttl_s: float = Field(default=DEFAULT_CACHE_TTL_S, gt=0, le=366 * 86_400)
    hbm_window_s: float = Field(default=DEFAULT_HBM_WINDOW_S, ge=0, le=366 * 86_400)
    kv: str | None = None  # KV-cache precision of the stored prefixes (default: the model's)
    # the prompt cache's KV in HBM is deducted from the fleet's HBM and priced: GPUs are added to hold it
    price_hbm: bool = True

    @model_validator(mode="after")
    def _window(self):
        if self.hbm_window_s > self.ttl_s:
            raise ValueError(f"hbm_window_s ({self.hbm_window_s:g}) exceeds ttl_s ({self.ttl_s:g})")
        return self


class CostAllocation(_Strict):
    """How a month's cost is split into $/M input, cached input and output. ``method: gpu-time`` (default): by the
    GPU time each phase uses (tokenfab.economics.cost.split_cost_by_token_kind), ``cached_input`` the weight of a
    cached input token within prefill (default CACHED_INPUT_COST_FRACTION). ``method: weights`` (the default when
    ``output`` is given): relative cost weights per kind (tokenfab.planning.plan.allocate_cost)."""

    method: Literal["gpu-time", "weights"] | None = None
    input: float = Field(default=1.0, gt=0, le=1e6, allow_inf_nan=False)
    cached_input: float | None = Field(default=None, ge=0, le=1, allow_inf_nan=False)
    output: float | None = Field(default=None, gt=0, le=1e6, allow_inf_nan=False)

    @property
    def resolved_method(self) -> str:
        return self.method or ("weights" if self.output is not None else "gpu-time")


class HeadroomSpec(_Strict):
    """Fleet headroom (tokenfab.planning.fleet.Headroom; None = the named defaults of data/assumptions.yaml): the fleet
    is sized for peak-hour requests/s x burst factor / target peak utilization, plus spare replicas per group."""

    target_peak_utilization: float | None = Field(default=None, gt=0, le=1, allow_inf_nan=False)
    burst_factor: float | None = Field(default=None, ge=1, le=100, allow_inf_nan=False)
    burst_window_s: float | None = Field(default=None, gt=0, le=86400, allow_inf_nan=False)
    burst_percentile: float | None = Field(default=None, ge=0.5, lt=1, allow_inf_nan=False)
    arrival_cv: float | None = Field(default=None, ge=0, le=100, allow_inf_nan=False)
    spare_replicas: int | None = Field(default=None, ge=0, le=1000)


class FleetTransition(_Strict):
    """A hardware generation change inside the plan: from month ``month`` on the fleet of ``from_hardware`` moves to
    ``to_hardware``. ``retired_capital``: what happens to the retired fleet's capital charge - ``continue`` (owned
    GPUs keep being paid for to the end of the horizon or their life, the conservative default) or ``sold`` (sold
    at their remaining annuity value: the charge stops)."""

    month: int = Field(ge=1, le=239)
    from_hardware: str
    to_hardware: str
    retired_capital: Literal["continue", "sold"] = "continue"


class Scenario(_Strict):
    name: str
    description: str = ""
    horizon_months: int = Field(ge=1, le=MAX_MONTHS)
    start_month: str | None = None  # "YYYY-MM", for labels
    model: str  # tokenfab model key (tokenfab catalog models)
    weights: str | None = None  # weight precision of the scenario's model (default: the checkpoint's)
    hardware: list[str] = Field(min_length=1, max_length=MAX_SWEEP_HARDWARE)
    # serving engine: one key for all hardware or hardware key -> engine key (default: each hardware vendor's engine)
    engine: str | dict[str, str] | None = None
    # speculative decoding (the model's MTP heads where the engine runs them): on/off for all or per hardware
    speculative: bool | dict[str, bool] = True
    tco: TcoSpec = TcoSpec()
    tiers: dict[str, TierSla] = Field(default_factory=dict)
    features: dict[str, Feature] = Field(min_length=1, max_length=MAX_FEATURES)  # each workload costs a sweep
    personas: list[Persona] = Field(min_length=1, max_length=MAX_PERSONAS)
    diurnal: Diurnal
    growth: Growth = Growth()
    pricing: Pricing = Pricing()
    caching: CachingSpec = CachingSpec()
    cost_allocation: CostAllocation = CostAllocation()
    headroom: HeadroomSpec = HeadroomSpec()
    transitions: list[FleetTransition] = Field(default_factory=list)
    # staff, software, ...: operating cost, every month
    fixed_costs_usd_per_month: float = Field(default=0.0, ge=0, le=1e12)
    _lines: dict = PrivateAttr(default_factory=dict)  # YAML path -> line, set by the loader
    _source: str = PrivateAttr(default="")

    @field_validator("start_month")
    @classmethod
    def _month(cls, v):
        if v is not None and not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", str(v)):
            raise ValueError(f"must be YYYY-MM, got {v!r}")
        return v

    @field_validator("weights")
    @classmethod
    def _weights(cls, v):
        return _weight_precision(v)

    @field_validator("tiers")
    @classmethod
    def _tiers(cls, v):
        for k in v:
            if k not in TIERS:
                raise ValueError(f"unknown tier {k!r}; tiers are {', '.join(TIERS)}")
        return v

    # ---- resolved views
    def sla(self, feature_name: str) -> dict:
        """The feature's SLA: tier defaults, then the scenario's ``tiers`` overrides, then the feature's own."""
        f = self.features[feature_name]
        tier = f.tier_name
        out = {
            "tier": tier,
            "ttft_ms": TIER_DEFAULTS[tier]["ttft_ms"],
            "tpot_ms": TIER_DEFAULTS[tier]["tpot_ms"],
            "source": TIER_DEFAULTS[tier]["source"],
        }
        o = self.tiers.get(tier)
        if o is not None:
            for k in ("ttft_ms", "tpot_ms"):
                if getattr(o, k) is not None:
                    out[k] = getattr(o, k)
            out["source"] = o.source or "scenario tiers override"
        for k in ("ttft_ms", "tpot_ms"):
            if getattr(f, k) is not None:
                out[k] = getattr(f, k)
                out["source"] = f"feature {feature_name!r} override"
        return out

    def feature_model(self, feature_name: str) -> str:
        return self.features[feature_name].model or self.model

    def feature_weights(self, feature_name: str) -> str | None:
        """The weight precision a feature is served at: its own ``weights``, else the scenario's when the feature
        uses the scenario's model, else None (the checkpoint's precision; tokenfab.planning.demand resolves it)."""
        f = self.features[feature_name]
        if f.weights:
            return f.weights
        return self.weights if (f.model is None or f.model == self.model) else None

    def month_labels(self, n: int | None = None) -> list[str]:
        """Labels of months 0..n-1 (default: the horizon): 'YYYY-MM' from ``start_month``, else 'M0', 'M1', ..."""
        n = self.horizon_months if n is None else int(n)
        if not self.start_month:
            return [f"M{m}" for m in range(n)]
        y, mo = (int(x) for x in self.start_month.split("-"))
        out = []
        for m in range(n):
            k = (mo - 1) + m
            out.append(f"{y + k // 12:04d}-{k % 12 + 1:02d}")
        return out


# ---------------------------------------------------------------------------------------------------------------
# errors with field paths and lines
# ---------------------------------------------------------------------------------------------------------------
class ScenarioError(TokenfabError):
    """A scenario validation error; ``line`` is the 1-based YAML line (None when unknown)."""

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        line: int | None = None,
        expected=None,
        got=None,
        hint: str | None = None,
    ):
        where = f" (line {line})" if line else ""
        super().__init__(message + where, field=field, hint=hint)
        self.line = line
        self.expected = expected
        self.got = got


def format_path(loc) -> str:
    """('personas', 1, 'count') -> 'personas[1].count'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def node_lines(root) -> dict[tuple, int]:
    """Every path in a composed YAML document -> the 1-based line of its value (keys: the line of the key)."""
    lines: dict[tuple, int] = {}

    def walk(node, path):
        lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                key = k.value
                lines[path + (key,)] = k.start_mark.line + 1
                walk(v, path + (key,))
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                walk(v, path + (i,))

    if root is not None:
        walk(root, ())
    return lines


def line_for(lines: dict[tuple, int], loc) -> int | None:
    """The line of ``loc``, else of its nearest ancestor present in the file (a missing field: its parent)."""
    loc = tuple(loc)
    for n in range(len(loc), -1, -1):
        if loc[:n] in lines:
            return lines[loc[:n]]
    return None


_UNITS_BY_SUFFIX = (
    ("_ms", "milliseconds"),
    ("_s", "seconds"),
    ("_pct", "percent"),
    ("_usd_per_month", "USD per month"),
    ("usd_per_mtok", "USD per million tokens"),
    ("usd_per_gpu_hour", "USD per GPU-hour"),
    ("_share", "a fraction 0..1"),
    ("_multiple", "a multiple (x)"),
    ("_months", "months"),
    ("_month", "months"),
    ("tokens", "tokens"),
    ("count", "users"),
    ("per_day", "per day"),
    ("per_session", "per session"),
    ("per_task", "per task"),
    ("peak_to_average", "a ratio (x)"),
)
_TIME_UNITS_S = {
    "ms": 1e-3,
    "msec": 1e-3,
    "s": 1.0,
    "sec": 1.0,
    "secs": 1.0,
    "second": 1.0,
    "seconds": 1.0,
    "m": 60.0,
    "min": 60.0,
    "mins": 60.0,
    "minute": 60.0,
    "minutes": 60.0,
    "h": 3600.0,
    "hr": 3600.0,
    "hour": 3600.0,
    "hours": 3600.0,
}
_NUM_UNIT = re.compile(r"^\s*([-+]?\d+(?:[.,_]\d+)*(?:\.\d+)?)\s*([A-Za-z%$]+)\s*$")


def field_unit(name: str) -> str | None:
    for suffix, unit in _UNITS_BY_SUFFIX:
        if name.endswith(suffix):
            return unit
    return None


def unit_message(field_name: str, value: Any) -> str | None:
    """If ``value`` is a number written with a unit (``'2s'``, ``'10%'``), say what the field expects instead."""
    if not isinstance(value, str):
        return None
    m = _NUM_UNIT.match(value)
    if not m:
        return None
    try:
        num = float(m.group(1).replace(",", "").replace("_", ""))
    except ValueError:
        return None
    unit = m.group(2)
    want = field_unit(field_name)
    if want is None:
        return f"wrong unit: {value!r} is a number with a unit; this field takes a plain number"
    conv = ""
    if want in ("milliseconds", "seconds") and unit.lower() in _TIME_UNITS_S:
        factor = _TIME_UNITS_S[unit.lower()] / (1e-3 if want == "milliseconds" else 1.0)
        conv = f" ({value} = {num * factor:g}; write {num * factor:g})"
    elif unit == "%" and want == "a fraction 0..1":
        conv = f" (write {num / 100:g})"
    elif unit == "%" and want == "percent":
        conv = f" (the name already says percent: write {num:g})"
    return f"wrong unit: {value!r}; {field_name} takes a plain number in {want}{conv}"


def _model_at(loc) -> type[BaseModel] | None:
    """The pydantic model class that holds the last element of ``loc`` (for 'did you mean' on unknown fields)."""
    import types
    import typing

    def unwrap(t):
        # Optional[X] -> X; list[X] / dict[str, X] -> X (the element an index or key selects)
        while True:
            origin = typing.get_origin(t)
            if origin is typing.Union or origin is types.UnionType:
                t = next((a for a in typing.get_args(t) if a is not type(None)), None)
            else:
                return t

    cls: Any = Scenario
    for part in loc[:-1]:
        cls = unwrap(cls)
        if isinstance(cls, type) and issubclass(cls, BaseModel):
            f = cls.model_fields.get(str(part))
            if f is None:
                return None
            cls = f.annotation
        elif typing.get_origin(cls) in (list, dict):
            cls = typing.get_args(cls)[-1]
        else:
            return None
    cls = unwrap(cls)
    return cls if isinstance(cls, type) and issubclass(cls, BaseModel) else None


def _translate(err: Mapping[str, Any], lines: dict[tuple, int]) -> ScenarioError:
    loc = tuple(p for p in err.get("loc", ()) if not (isinstance(p, str) and ("[" in p or p.startswith("function-"))))
    path = format_path(loc) or "scenario"
    line = line_for(lines, loc)
    typ = err.get("type", "")
    got = err.get("input")
    ctx = err.get("ctx") or {}
    name = str(loc[-1]) if loc else ""
    if typ == "missing":
        return ScenarioError("missing required field", field=path, line=line, hint=_field_hint(name))
    if typ == "extra_forbidden":
        cls = _model_at(loc)
        known = list(cls.model_fields) if cls else []
        close = difflib.get_close_matches(name.lower(), known, n=3, cutoff=0.4)
        hint = (
            f"did you mean {', '.join(close)}?" if close else (f"known fields: {', '.join(known)}" if known else None)
        )
        from tokenfab.economics import tco as tco_mod  # light import

        if cls is TcoSpec and name == "price_usd_per_gpu_hour":  # the scenario's own name for a plain price
            close, hint = [], "a plain price per GPU-hour is tco: {usd_per_gpu_hour: ...}"
        elif cls is TcoSpec and name in tco_mod.INPUT_FIELDS:  # a TCO input beside preset, not under overrides
            close, hint = [], f"a TCO input goes under overrides: tco: {{overrides: {{{name}: ...}}}}"
        if close and isinstance(got, str):
            um = unit_message(close[0], got)
            if um:
                hint = cast(str, hint)  # close is not empty: the "did you mean" text
                hint += f" Fields carry their unit in the name: {close[0]} is in {field_unit(close[0])}"
                if "write " in um:
                    hint += f", e.g. {close[0]}: {um.split('write ')[-1].rstrip(')')}"
        return ScenarioError(f"unknown field {name!r}", field=path, line=line, hint=hint)
    um = unit_message(name, got)
    if um and typ in (
        "float_parsing",
        "float_type",
        "int_parsing",
        "int_type",
        "model_type",
        "dict_type",
        "model_attributes_type",
    ):
        return ScenarioError(um, field=path, line=line, got=got)
    bounds = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<", "less_than_equal": "<="}
    if typ in bounds:
        lim = next(iter(ctx.values())) if ctx else "?"
        lim = f"{lim:g}" if isinstance(lim, (int, float)) else lim
        return ScenarioError(
            f"must be {bounds[typ]} {lim}, got {got!r}", field=path, line=line, got=got, expected=f"{bounds[typ]} {lim}"
        )
    if typ in ("float_parsing", "float_type", "int_parsing", "int_type"):
        unit = field_unit(name)
        return ScenarioError(
            f"must be a number{f' ({unit})' if unit else ''}, got {got!r}", field=path, line=line, got=got
        )
    if typ == "finite_number":
        return ScenarioError(f"must be a finite number, got {got!r}", field=path, line=line, got=got)
    if typ in ("int_from_float",):
        return ScenarioError(f"must be a whole number, got {got!r}", field=path, line=line, got=got)
    if typ == "literal_error":
        return ScenarioError(f"must be one of {ctx.get('expected', '?')}, got {got!r}", field=path, line=line, got=got)
    if typ in ("too_short", "too_long"):
        return ScenarioError(f"{err.get('msg', 'wrong length')}", field=path, line=line)
    if typ in ("model_type", "dict_type", "model_attributes_type"):
        return ScenarioError(f"must be a mapping of fields (key: value), got {got!r}", field=path, line=line, got=got)
    if typ == "list_type":
        return ScenarioError(f"must be a list, got {got!r}", field=path, line=line, got=got)
    if typ == "string_type":
        return ScenarioError(f"must be text, got {got!r}", field=path, line=line, got=got)
    if typ == "value_error":
        msg = str(ctx.get("error", err.get("msg", "invalid value")))
        return ScenarioError(msg, field=path, line=line)
    return ScenarioError(err.get("msg", "invalid value"), field=path, line=line, got=got)


_FIELD_HINTS = {
    "count": "users in the persona at month 0 (a number >= 0)",
    "active_share": "share of users active on a given day, 0..1 (DAU / MAU)",
    "sessions_per_day": "sessions per active user per day",
    "requests_per_session": "user requests (tasks, for agents) per session",
    "features": "feature name -> weight, e.g. {chat: 0.8, rag: 0.2}",
    "input_tokens": "tokens per LLM call: a number, or {mean: N, distribution: lognormal, cv: 0.8}",
    "output_tokens": "tokens per LLM call: a number, or {mean: N, distribution: lognormal, cv: 0.8}",
    "kind": f"one of {', '.join(FEATURE_KINDS)}",
    "diurnal": "hourly_weights: [24 numbers] or peak_to_average: 2.0",
    "horizon_months": "months to plan (a whole number >= 1)",
    "model": "a tokenfab model key (tokenfab catalog models)",
    "hardware": "a list of hardware keys (tokenfab catalog hardware)",
    "name": "a name",
    "weights": "weight precision: bf16, fp8, fp4, int8, int4, mxfp4, nvfp4 (default: the checkpoint's)",
}


def _field_hint(name: str) -> str | None:
    h = _FIELD_HINTS.get(name)
    return f"{name}: {h}" if h else None


# ---------------------------------------------------------------------------------------------------------------
# loading
# ---------------------------------------------------------------------------------------------------------------
def parse_scenario_text(
    text: str,
    *,
    source: str = "<scenario>",
    check_references: bool = True,
    allow_aliases: bool = True,
    hardware_files: list[str] | tuple[str, ...] | None = None,
) -> Scenario:
    """Parse and validate a scenario from YAML text (errors name the field and the line). The YAML goes through
    tokenfab.core.files.parse_yaml: nesting depth bounded, aliases bounded (or refused: ``allow_aliases=False``),
    one document. ``hardware_files``: extra hardware YAML/TOML whose keys the scenario may name."""
    try:
        data, root = parse_yaml(text, field=source, kind=SCENARIO_KIND, allow_aliases=allow_aliases, with_node=True)
    except TokenfabError as e:  # a scenario's errors are ScenarioErrors, with the line where there is one
        err = ScenarioError(e.message, field=e.field, hint=e.hint)
        err.line = getattr(e, "line", None)
        raise err from None
    if not isinstance(data, dict):
        raise ScenarioError(
            "a scenario is a YAML mapping (name:, model:, personas:, features:, ...)", field=source, line=1
        )
    lines = node_lines(root)
    try:
        sc = Scenario(**data)
    except ValidationError as e:
        errs = e.errors()
        # a key typed wrong is one mistake shown twice (the unknown key, the required one it was meant to be): its
        # "did you mean" explains both, so the unknown key goes first
        missing = {str(x["loc"][-1]) for x in errs if x.get("type") == "missing" and x.get("loc")}
        errs.sort(
            key=lambda x: (
                not (
                    x.get("type") == "extra_forbidden"
                    and x.get("loc")
                    and difflib.get_close_matches(str(x["loc"][-1]).lower(), missing, n=1, cutoff=0.6)
                )
            )
        )
        first = _translate(errs[0], lines)
        if len(errs) > 1:
            first.args = (first.args[0] + f" [and {len(errs) - 1} more problem{'s' if len(errs) > 2 else ''}]",)
        raise first from None
    except TypeError as e:  # keys that are not strings
        raise ScenarioError(f"invalid scenario: {e}", field=source) from None
    _check_cross(sc, lines)
    if check_references:
        check_references_exist(sc, lines, hardware_files)
    sc._lines = lines
    sc._source = source
    return sc


def load_scenario(
    path: str | Path,
    *,
    check_references: bool = True,
    hardware_files: list[str] | tuple[str, ...] | None = None,
) -> Scenario:
    """Load a scenario YAML file (tokenfab.core.files: a missing path, a folder, binary or non-UTF-8 data, an empty
    or oversized file are errors naming the file); every error names the field path and the line.
    ``hardware_files``: extra hardware YAML/TOML whose keys the scenario may name."""
    text = read_text_file(path, field="scenario", kind=SCENARIO_KIND, max_bytes=MAX_YAML_BYTES)
    return parse_scenario_text(text, source=str(path), check_references=check_references, hardware_files=hardware_files)


def scenario_lines(sc: Scenario) -> dict[tuple, int]:
    return sc._lines or {}


def _check_cross(sc: Scenario, lines: dict[tuple, int]) -> None:
    names = list(sc.features)
    for i, p in enumerate(sc.personas):
        for fname in p.features:
            if fname not in sc.features:
                close = difflib.get_close_matches(fname, names, n=3, cutoff=0.4)
                raise ScenarioError(
                    f"unknown feature {fname!r}",
                    field=f"personas[{i}].features.{fname}",
                    line=line_for(lines, ("personas", i, "features", fname)),
                    hint=f"did you mean {', '.join(close)}?" if close else f"features defined: {', '.join(names)}",
                )
    seen = set()
    for i, p in enumerate(sc.personas):
        if p.name in seen:
            raise ScenarioError(
                f"duplicate persona name {p.name!r}",
                field=f"personas[{i}].name",
                line=line_for(lines, ("personas", i, "name")),
            )
        seen.add(p.name)
    from tokenfab.catalog.engines import engine_keys, get_engine

    for fld in ("engine", "speculative"):
        v = getattr(sc, fld)
        per = v if isinstance(v, dict) else {}
        for h in per:
            if h != "*" and h not in sc.hardware:
                raise ScenarioError(
                    f"{h!r} is not one of the scenario's hardware",
                    field=f"{fld}.{h}",
                    line=line_for(lines, (fld, h)),
                    hint=f"hardware: {', '.join(sc.hardware)}",
                )
    engines = sc.engine if isinstance(sc.engine, dict) else ({"": sc.engine} if sc.engine else {})
    for h, e in engines.items():
        try:
            get_engine(e)
        except TokenfabError:
            path = ("engine", h) if h else ("engine",)
            raise ScenarioError(
                f"unknown engine {e!r}",
                field=".".join(path),
                line=line_for(lines, path),
                hint=f"engines: {', '.join(engine_keys())}",
            ) from None
    for i, t in enumerate(sc.transitions):
        for fld in ("from_hardware", "to_hardware"):
            h = getattr(t, fld)
            if h not in sc.hardware:
                raise ScenarioError(
                    f"{h!r} is not one of the scenario's hardware",
                    field=f"transitions[{i}].{fld}",
                    line=line_for(lines, ("transitions", i, fld)),
                    hint=f"hardware: {', '.join(sc.hardware)}",
                )
        if t.from_hardware == t.to_hardware:
            raise ScenarioError(
                "a transition moves to other hardware",
                field=f"transitions[{i}].to_hardware",
                line=line_for(lines, ("transitions", i, "to_hardware")),
            )
        if t.month >= sc.horizon_months:
            raise ScenarioError(
                f"must be < horizon_months ({sc.horizon_months}), got {t.month}",
                field=f"transitions[{i}].month",
                line=line_for(lines, ("transitions", i, "month")),
            )
    from tokenfab.economics import tco as tco_mod  # light import; validates override names

    for k in sc.tco.overrides:
        if k not in tco_mod.INPUT_FIELDS:
            close = difflib.get_close_matches(k, tco_mod.INPUT_FIELDS, n=3, cutoff=0.4)
            raise ScenarioError(
                f"unknown TCO input {k!r}",
                field=f"tco.overrides.{k}",
                line=line_for(lines, ("tco", "overrides", k)),
                hint=f"did you mean {', '.join(close)}?" if close else f"TCO inputs: {', '.join(tco_mod.INPUT_FIELDS)}",
            )
    if sc.tco.preset is not None and sc.tco.preset.strip().lower() not in tco_mod.preset_names():
        close = difflib.get_close_matches(sc.tco.preset.lower(), tco_mod.preset_names(), n=3, cutoff=0.4)
        raise ScenarioError(
            f"unknown TCO preset {sc.tco.preset!r}",
            field="tco.preset",
            line=line_for(lines, ("tco", "preset")),
            hint=f"did you mean {', '.join(close)}?" if close else f"presets: {', '.join(tco_mod.preset_names())}",
        )
    _check_tco_values(sc, lines, tco_mod)


def _check_tco_values(sc: Scenario, lines: dict[tuple, int], tco_mod) -> None:
    """The ``tco`` block's values (each override in its range; no price beside an owned preset or owned-cost inputs
    beside a price), checked once at load: a plan would otherwise report every hardware as "cannot be priced"."""
    over = dict(sc.tco.overrides)

    def where(field: str | None) -> tuple:
        if field in ("price_usd_per_gpu_hour",) and sc.tco.usd_per_gpu_hour is not None:
            return ("tco", "usd_per_gpu_hour")
        return ("tco", "overrides", field) if field in over else ("tco",)

    try:
        tco_mod.check_price_and_preset(sc.tco.preset, sc.tco.usd_per_gpu_hour, over)
        # the ranges of TcoInputs, on any chip (a hardware's own figures are checked when it is priced)
        tco_mod.TcoInputs(hardware_key="scenario", **{"utilization": tco_mod.default_utilization(), **over})
    except TokenfabError as e:
        loc = where(e.field)
        raise ScenarioError(
            str(e).split(": ", 1)[-1] if e.field else str(e),
            field=".".join(str(x) for x in loc),
            line=line_for(lines, loc),
        ) from None


def check_references_exist(
    sc: Scenario, lines: dict[tuple, int], hardware_files: list[str] | tuple[str, ...] | None = None
) -> None:
    """Model and hardware keys must be in the catalogs (UnknownKeyError's suggestions, plus the line)."""
    from tokenfab.catalog.hardware import catalog, get_hardware
    from tokenfab.catalog.models import get_model

    if hardware_files:
        catalog(hardware_files)  # a bad hardware file is its own error (naming the file), not the scenario's

    def wrap(e: TokenfabError, loc):
        raise ScenarioError(
            str(e).split(": ", 1)[-1] if e.field else str(e), field=format_path(loc), line=line_for(lines, loc)
        ) from None

    try:
        get_model(sc.model)
    except TokenfabError as e:
        wrap(e, ("model",))
    for name, f in sc.features.items():
        if f.model:
            try:
                get_model(f.model)
            except TokenfabError as e:
                wrap(e, ("features", name, "model"))
    from tokenfab.catalog.engines import check_runs_on, get_engine

    per = sc.engine if isinstance(sc.engine, dict) else {}
    for i, h in enumerate(sc.hardware):
        try:
            hw = get_hardware(h, hardware_files=hardware_files)
        except TokenfabError as e:
            wrap(e, ("hardware", i))
        # an engine named for this chip (or for all) must run on its vendor: the plan would refuse it later
        # without the line
        path: tuple = ("engine", h) if h in per else ("engine", "*") if "*" in per else ("engine",)
        key = per.get(h, per.get("*")) if per else sc.engine
        if key:
            try:
                check_runs_on(get_engine(str(key)), hw)
            except TokenfabError as e:
                wrap(e, path)


__all__ = [
    "BATCH_PEAK_TO_AVERAGE",
    "DEFAULT_CACHE_TTL_S",
    "DEFAULT_HBM_WINDOW_S",
    "FEATURE_KINDS",
    "TIERS",
    "TIER_DEFAULTS",
    "CachingSpec",
    "CostAllocation",
    "Diurnal",
    "Feature",
    "FleetTransition",
    "Growth",
    "HeadroomSpec",
    "Persona",
    "Pricing",
    "Scenario",
    "ScenarioError",
    "TcoSpec",
    "TierSla",
    "TokenDist",
    "format_path",
    "line_for",
    "load_scenario",
    "node_lines",
    "parse_scenario_text",
    "scenario_lines",
    "unit_message",
]
