"""The dashboard's request models (pydantic, ``extra="forbid"``, every number bounded) and its limits, and the key
checks that keep user text from reaching the file system: models, hardware and examples are chosen by key from the
catalogs, never by path."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from tokenfab.core.errors import TokenfabError, UnknownKeyError

# ------------------------------------------------------------------------------------------------- limits
MAX_BODY_BYTES = 1 << 20  # 1 MiB: any request body, uploads included (413 beyond)
BAD_INPUT = 400  # status of every input error (library TokenfabError or request validation)
TIME_LIMIT_S = 20.0  # per library call (504 beyond)
WORKERS = 2  # threads running library calls
MAX_PENDING = 8  # library calls running or queued (503 beyond)
MAX_GPUS = 4096  # GPUs (and each parallel degree) in one request
MAX_USERS = 1_000_000
MAX_TOKENS = 10_000_000  # context / ISL / OSL (the model's own maximum is checked by the library)
MAX_CONCURRENCY = 100_000
MAX_HARDWARE = 6  # hardware in one frontier sweep
MAX_LAYOUTS = 4000  # (hardware, TP, PP, DP, EP) layouts in one frontier sweep (the worst bundled case is ~3,500)
MAX_BENCH_LEVELS = 64  # measured levels compared with the model
UPLOAD_SOURCE = "upload"  # the scenario source name of an uploaded YAML
JSON_ENDPOINTS = ("/api/fit", "/api/estimate", "/api/tco", "/api/frontier", "/api/plan")  # JSON bodies only
MAX_SCENARIO_FEATURES = 16  # features in one scenario (each distinct workload costs one frontier sweep)
MAX_SCENARIO_PERSONAS = 64  # personas in one scenario
LIMITS = {
    "max_body_bytes": MAX_BODY_BYTES,
    "time_limit_s": TIME_LIMIT_S,
    "max_gpus": MAX_GPUS,
    "max_users": MAX_USERS,
    "max_tokens": MAX_TOKENS,
    "max_concurrency": MAX_CONCURRENCY,
    "max_hardware": MAX_HARDWARE,
    "max_layouts": MAX_LAYOUTS,
    "max_scenario_features": MAX_SCENARIO_FEATURES,
    "max_scenario_personas": MAX_SCENARIO_PERSONAS,
    "max_bench_levels": MAX_BENCH_LEVELS,
}


# ------------------------------------------------------------------------------------------------- request models
class _Req(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, allow_inf_nan=False)


Key = Field(min_length=1, max_length=80)
Prec = Field(default=None, min_length=1, max_length=16)
Degree = Field(default=None, ge=1, le=MAX_GPUS)


class _LayoutRequest(_Req):
    """A model on a hardware with an optional layout and precisions (the fields Fit and Estimate share)."""

    model: str = Key
    hardware: str = Key
    gpus: int | None = Degree
    tp: int | None = Degree
    pp: int | None = Degree
    dp: int | None = Degree
    ep: int | None = Degree
    weights: str | None = Prec
    kv: str | None = Prec


class FitRequest(_LayoutRequest):
    users: int = Field(default=1, ge=1, le=MAX_USERS)
    context: int = Field(default=4096, ge=1, le=MAX_TOKENS)


class EstimateRequest(_LayoutRequest):
    engine: str | None = Field(default=None, max_length=80)  # default: the hardware vendor's
    isl: int = Field(default=1024, ge=1, le=MAX_TOKENS)
    osl: int = Field(default=1024, ge=1, le=MAX_TOKENS)
    concurrency: int | Literal["max"] | None = Field(default="max")

    def concurrency_value(self):
        c = self.concurrency
        if c is None or c == "max":
            return "max"
        if not 1 <= c <= MAX_CONCURRENCY:
            raise TokenfabError("out of range", field="concurrency", expected=f"1..{MAX_CONCURRENCY:,} or max", got=c)
        return c


def _tco_overrides_model() -> type[BaseModel]:
    from tokenfab.economics.tco import INPUT_FIELDS

    fields: dict[str, Any] = {name: (float | None, Field(default=None, allow_inf_nan=False)) for name in INPUT_FIELDS}
    return create_model("TcoOverrides", __config__=ConfigDict(extra="forbid"), **fields)


if TYPE_CHECKING:  # built at import time from tco.INPUT_FIELDS (each a float or None): a pydantic model to mypy
    TcoOverrides = BaseModel
else:
    TcoOverrides = _tco_overrides_model()


class TcoRequest(_Req):
    hardware: str = Key
    preset: str | None = Field(default=None, max_length=80)
    overrides: TcoOverrides = Field(default_factory=TcoOverrides)
    # optional: a busy throughput to price ($ per million tokens via tokenfab.economics.cost)
    total_tokens_per_s_per_gpu: float | None = Field(default=None, gt=0, le=1e9, allow_inf_nan=False)


class BenchParams(_Req):
    gpus: int = Field(ge=1, le=MAX_GPUS)
    hardware: str | None = Field(default=None, max_length=80)
    preset: str | None = Field(default=None, max_length=80)
    usd_per_gpu_hour: float | None = Field(default=None, gt=0, le=1e4, allow_inf_nan=False)
    # compare with the performance model (optional)
    model: str | None = Field(default=None, max_length=80)
    weights: str | None = Prec
    kv: str | None = Prec
    engine: str | None = Field(default=None, max_length=80)  # the engine measured (default: the vendor's)
    tp: int | None = Degree
    pp: int | None = Degree
    dp: int | None = Degree
    run_id: str | None = Field(default=None, max_length=64)


class PlanRequest(_Req):
    example: str = Key


class FrontierRequest(_Req):
    model: str = Key
    hardware: list[str] = Field(min_length=1, max_length=MAX_HARDWARE)
    weights: str | None = Prec
    engine: str | None = Field(default=None, max_length=80)  # one for every hardware; default: each vendor's
    isl: int = Field(default=1024, ge=1, le=MAX_TOKENS)
    osl: int = Field(default=1024, ge=1, le=MAX_TOKENS)
    mode: Literal["agg", "disagg", "both"] = "both"
    gpus: int | None = Degree  # a fixed GPU count per replica (default: the library's bounded ladder)
    preset: str | None = Field(default=None, max_length=80)
    price_usd_per_gpu_hour: float | None = Field(default=None, gt=0, le=1e4, allow_inf_nan=False)  # wall-clock
    target_interactivity: float = Field(default=50.0, gt=0, le=100_000, allow_inf_nan=False)  # tokens/s per user
    ttft_max_ms: float | None = Field(default=None, gt=0, le=1e7, allow_inf_nan=False)
    tpot_max_ms: float | None = Field(default=None, gt=0, le=1e6, allow_inf_nan=False)


# ------------------------------------------------------------------------------------------------- key checks
def model_key(key: str, field: str = "model") -> str:
    """A bundled model key (never a path: ``get_model`` would read a config.json from one)."""
    from tokenfab.catalog.models import model_keys

    keys = model_keys()
    k = str(key).strip().lower()
    if k not in keys:
        raise UnknownKeyError("model", str(key), keys, field=field)
    return k


def hardware_key(key: str, field: str = "hardware") -> str:
    """A catalog hardware key or alias (the bundled catalog only: no user hardware files)."""
    from tokenfab.catalog.hardware import alias_map, catalog

    cat = catalog()
    k = str(key).strip().lower()
    if k in cat:
        return k
    aliases = alias_map(cat)
    if k in aliases:
        return aliases[k]
    raise UnknownKeyError("hardware", str(key), list(cat), field=field)
