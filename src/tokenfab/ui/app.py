"""FastAPI app of the dashboard: JSON endpoints under ``/api/...`` that call the library and return its
``.to_dict()`` output, plus the static page (``/``, ``/static/...``). No formula lives here.

Safety (docs/ui.md):
- every request body / query is a pydantic model with bounds (``extra="forbid"``); models, hardware, presets and
  examples are chosen by key from the catalog lists, never by path (``get_model`` would read a path: keys are
  checked against ``model_keys()`` first);
- a library ``TokenfabError`` becomes HTTP 400 ``{"error", "field", "expected", "got", "hint"}``; a pydantic
  error the same (400, field named);
- request bodies (uploads included) are read into memory up to ``max_body_bytes`` (1 MiB; 413 beyond) and never
  written to disk;
- library calls run on a small worker pool with a time limit (504 beyond) and a bound on queued work (503), so no
  request can make the server unresponsive; sweeps are bounded (hardware count, GPU counts, concurrency ladder);
- only the fixed static files are served (no user path reaches the file system); a strict Content-Security-Policy
  and a Host check (DNS rebinding) guard the page; ``tokenfab ui`` binds to 127.0.0.1 by default.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import logging
import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, create_model
from starlette.exceptions import HTTPException as StarletteHTTPException

from tokenfab import __version__
from tokenfab.core import files
from tokenfab.core.errors import MAX_GOT_CHARS, TokenfabError, UnknownKeyError, safe_text
from tokenfab.ui.workers import CallBusy, CallFailed, CallTimeout, make_pool

log = logging.getLogger("tokenfab.ui")

STATIC_DIR = Path(__file__).parent / "static"
# the repository's examples/ folder (scenario YAMLs); absent in an installed wheel, then the list is empty
EXAMPLES_DIR = Path(__file__).resolve().parents[3] / "examples"

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

STATIC_FILES = {  # URL name -> (file, media type); nothing else is ever served from disk
    "index.html": (STATIC_DIR / "index.html", "text/html; charset=utf-8"),
    "app.js": (STATIC_DIR / "app.js", "text/javascript; charset=utf-8"),
    "style.css": (STATIC_DIR / "style.css", "text/css; charset=utf-8"),
}

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "font-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def plotly_js_path() -> Path:
    """Plotly.js as bundled with the ``plotly`` Python package (served locally: no CDN, works offline)."""
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def _optional_module(name: str):
    """The module, or None when it is missing or fails to import (logged): one broken optional module turns its
    view off instead of breaking the whole dashboard."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as e:
        if e.name and (name == e.name or name.startswith(e.name + ".")):
            return None
        log.warning("cannot import %s: %s", name, e)
    except Exception as e:  # noqa: BLE001 - a module being written may raise anything at import
        log.warning("cannot import %s: %s", name, e)
    return None


NOT_YET = {
    "frontier": "Frontier: the frontier search module (tokenfab.search) is not available in this build.",
    "plan": "Plan: the plan module (tokenfab.planning.plan, tokenfab.planning.scenario) is not available in this "
    "build.",
    "bench": "Bench: the benchmark report module (tokenfab.bench.report) is not available in this build.",
}


def features() -> dict[str, dict]:
    """Which optional views have their library module (checked on every call: modules may land later)."""
    search = _optional_module("tokenfab.search")
    planning = _optional_module("tokenfab.planning.plan")
    scenario = _optional_module("tokenfab.planning.scenario")
    bench = _optional_module("tokenfab.bench.report")
    have = {
        "frontier": search is not None and hasattr(search, "frontier"),
        "plan": (
            planning is not None
            and hasattr(planning, "plan")
            and scenario is not None
            and hasattr(scenario, "parse_scenario_text")
        ),
        "bench": bench is not None,
    }
    return {k: {"available": v, "message": "" if v else NOT_YET[k]} for k, v in have.items()}


def _require(feature: str) -> None:
    if not features()[feature]["available"]:
        raise HTTPException(status_code=501, detail={"error": NOT_YET[feature], "field": None, "feature": feature})


# ------------------------------------------------------------------------------------------------- JSON helpers
def jsonable(obj: Any) -> Any:
    """Plain JSON values (numpy scalars, dataclasses, pydantic models; non-finite floats become null)."""
    from tokenfab.core.jsonable import to_jsonable

    return to_jsonable(obj)


def json_safe(x: Any) -> Any:
    """A value that can go into a JSON error body whatever it is: plain values as they are (non-finite floats and
    long text as text), anything else (bytes of a non-JSON body, objects) as its cut repr."""
    if x is None or isinstance(x, (bool, int)):
        return x
    if isinstance(x, float):
        return x if math.isfinite(x) else repr(x)
    if isinstance(x, str):
        return x if len(x) <= MAX_GOT_CHARS else x[: MAX_GOT_CHARS - 3] + "..."
    if isinstance(x, (list, tuple)):
        return [json_safe(v) for v in list(x)[:20]]
    if isinstance(x, dict):
        return {str(k)[:MAX_GOT_CHARS]: json_safe(v) for k, v in list(x.items())[:20]}
    return safe_text(repr(x), max_chars=MAX_GOT_CHARS)


def error_body(message: str, field: str | None = None, **extra) -> dict:
    body = {"error": message, "field": field}
    body.update({k: json_safe(jsonable(v)) for k, v in extra.items() if v is not None})
    return body


def form_field(field: str | None) -> str | None:
    """The form field of a library error: CLI-style names (``--usd-per-gpu-hour``) become ``usd_per_gpu_hour``."""
    if field and field.startswith("--"):
        return field[2:].replace("-", "_")
    return field


def _field_of_loc(loc) -> str | None:
    """The form field a pydantic error location names: ``("body", "overrides", "pue")`` -> ``pue``,
    ``("body", "hardware", 3)`` -> ``hardware``, ``("body", "concurrency", "int")`` -> ``concurrency``."""
    parts = [str(x) for x in loc if not isinstance(x, int) and x not in ("body", "query", "path", "overrides")]
    # a Union (int | "max") adds the member's name to the location: keep the field
    parts = [p for p in parts if not p.startswith(("int", "literal[", "function-", "float", "none"))]
    return parts[0] if parts else None


_BOUND_TEXT = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<", "min_length": "length >=", "max_length": "length <="}


def _expected_of(ctx: dict) -> str | None:
    """What a pydantic bound expected, in words: ``{"ge": 1}`` -> ``>= 1``."""
    parts = [f"{_BOUND_TEXT[k]} {v}" for k, v in ctx.items() if k in _BOUND_TEXT]
    if "expected" in ctx:
        parts.append(str(ctx["expected"]))
    return ", ".join(parts) or None


# ------------------------------------------------------------------------------------------------- middleware
class BodyLimitMiddleware:
    """Reads a request body into memory up to ``max_bytes`` (413 beyond, before any endpoint runs)."""

    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    too_big = int(value) > self.max_bytes
                except ValueError:
                    too_big = False
                if too_big:
                    return await self._reject(send)
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.max_bytes:
                return await self._reject(send)
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        return await self.app(scope, replay, send)

    async def _reject(self, send):
        payload = json.dumps(
            error_body(
                f"request body too large: the limit is {self.max_bytes:,} bytes ({self.max_bytes / 2**20:g} MiB)",
                "file",
            )
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})


def host_name(host_header: str) -> str:
    """The host of a Host header, without the port: ``127.0.0.1:8050`` -> ``127.0.0.1``, ``[::1]:8050`` -> ``[::1]``."""
    h = host_header.strip().lower()
    if h.startswith("["):
        return h[: h.find("]") + 1] if "]" in h else h
    return h.split(":", 1)[0]


class HostCheckMiddleware:
    """Refuses requests whose Host header is not one of ``allowed`` (400): a page on another site cannot reach the
    dashboard through DNS rebinding."""

    def __init__(self, app, allowed: tuple[str, ...]):
        self.app = app
        self.allowed = {a.lower() for a in allowed}

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        host = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"host"), "")
        if host_name(host) in self.allowed:
            return await self.app(scope, receive, send)
        payload = json.dumps(
            error_body("invalid Host header: the dashboard answers only to " + ", ".join(sorted(self.allowed)))
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 400,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": payload})


def same_origin(source: str, host: str) -> bool:
    """Whether an Origin (or Referer) header names the page's own origin: an http(s) URL whose host and port are
    the request's Host header. ``null`` (a sandboxed frame, a file:// page) is not."""
    try:
        u = urlsplit(source.strip())
    except ValueError:
        return False
    return u.scheme in ("http", "https") and bool(u.netloc) and u.netloc.lower() == host.strip().lower()


async def _send_json(send, status: int, body: dict, close: bool = False) -> None:
    payload = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


class SameOriginMiddleware:
    """Refuses (403) a request that changes state (any method but GET, HEAD, OPTIONS) from another site: its Origin
    header, or its Referer when there is no Origin, must name the dashboard's own origin. A web page the user
    visits can send a form or a ``text/plain`` fetch to 127.0.0.1 without a CORS preflight; browsers always add
    Origin to such requests, so they are refused before their body is read. Clients that send neither (curl,
    scripts) are not browsers acting for another site and are served."""

    SAFE = ("GET", "HEAD", "OPTIONS")

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("method", "GET") in self.SAFE:
            return await self.app(scope, receive, send)
        headers = {k: v.decode("latin-1") for k, v in scope.get("headers", [])}
        source = headers.get(b"origin") or headers.get(b"referer")
        if source is not None and not same_origin(source, headers.get(b"host", "")):
            return await _send_json(
                send,
                403,
                error_body(
                    "cross-site request refused: the dashboard accepts changes only from its own page",
                    expected=f"Origin http://{headers.get(b'host', '')}",
                    got=source,
                ),
            )
        return await self.app(scope, receive, send)


class JsonBodyMiddleware:
    """The JSON endpoints take ``Content-Type: application/json`` (415 otherwise) and a body nested at most
    tokenfab.core.files.MAX_DEPTH levels (400; the JSON parser is recursive), checked before the body is parsed:
    a body sent as text/plain, a form or ``[[[[...`` is a clear error, never an internal one. Runs inside
    BodyLimitMiddleware, which has read the body into memory."""

    def __init__(self, app, paths: tuple[str, ...]):
        self.app = app
        self.paths = set(paths)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("method") != "POST" or scope.get("path") not in self.paths:
            return await self.app(scope, receive, send)
        ctype = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"content-type"), "")
        if ctype.split(";")[0].strip().lower() != "application/json":
            return await _send_json(
                send,
                415,
                error_body(
                    "the request body must be JSON", expected="Content-Type: application/json", got=ctype or None
                ),
            )
        message = await receive()
        body = message.get("body", b"")
        if files.json_depth(body.decode("utf-8", errors="replace")) > files.MAX_DEPTH:
            return await _send_json(
                send, 400, error_body("the request body is nested too deeply", expected=f"<= {files.MAX_DEPTH} levels")
            )
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return message
            return await receive()

        return await self.app(scope, replay, send)


class InternalErrorMiddleware:
    """An exception no handler turned into a response (a bug) becomes a 500 JSON answer here, inside the server
    error middleware, so the connection stays open (Starlette's own handler re-raises, and the server then drops a
    keep-alive connection)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = False

        async def tracking_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as e:
            log.exception("internal error in %s", scope.get("path"))
            if not started:
                await _send_json(send, 500, error_body(f"internal error ({type(e).__name__}); see the server log"))


class SecurityHeadersMiddleware:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"content-security-policy", CSP.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"x-frame-options", b"DENY"),
                    (b"cache-control", b"no-store"),
                ]
                message = dict(message, headers=headers)
            await send(message)

        return await self.app(scope, receive, send_with_headers)


# ------------------------------------------------------------------------------------------------- worker pool
class Runner:
    """Runs library calls in worker processes (tokenfab.ui.workers) with a time limit (504; the worker is stopped
    and replaced, so its CPU and memory are freed at once) and a bound on running or queued calls (503); the event
    loop always answers. ``isolation="thread"`` runs them on threads of this process instead (tests that patch the
    library): the limit is answered, but the thread cannot be stopped."""

    def __init__(self, workers: int, time_limit_s: float, max_pending: int, isolation: str = "process"):
        self.pool = make_pool(isolation, workers, time_limit_s, max_pending)
        self.time_limit_s = time_limit_s
        self.isolation = isolation
        self.waiters = ThreadPoolExecutor(max_workers=max(1, int(max_pending)), thread_name_prefix="tokenfab-wait")

    async def __call__(self, fn: Callable, *args, **kwargs):
        try:
            self.pool.enter()
        except CallBusy:
            raise HTTPException(
                status_code=503,
                detail=error_body("the server is busy with other computations; try again in a moment"),
            ) from None
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self.waiters, self.pool.call_blocking, fn, args, kwargs)
        except CallTimeout:
            raise HTTPException(
                status_code=504,
                detail=error_body(
                    f"the computation took longer than the {self.time_limit_s:g} s limit and was stopped; narrow it "
                    "(fewer hardware, GPU counts or concurrency levels)"
                ),
            ) from None
        except CallFailed as e:
            log.error("internal error in %s: %s", getattr(fn, "__name__", fn), e)
            raise HTTPException(status_code=500, detail=error_body("internal error; see the server log")) from None
        finally:
            self.pool.leave()

    def close(self) -> None:
        self.pool.close()
        self.waiters.shutdown(wait=False, cancel_futures=True)


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
    isl: int = Field(default=1024, ge=1, le=MAX_TOKENS)
    osl: int = Field(default=1024, ge=1, le=MAX_TOKENS)
    mode: Literal["agg", "disagg", "both"] = "both"
    gpus: int | None = Degree  # a fixed GPU count per replica (default: the library's bounded ladder)
    preset: str | None = Field(default=None, max_length=80)
    usd_per_gpu_hour: float | None = Field(default=None, gt=0, le=1e4, allow_inf_nan=False)
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


def example_files() -> dict[str, Path]:
    """Scenario examples by key (file stem) from examples/*.yaml; users pick a key, never a path."""
    if not EXAMPLES_DIR.is_dir():
        return {}
    out = {}
    for p in sorted(EXAMPLES_DIR.iterdir()):
        if p.suffix in (".yaml", ".yml") and p.is_file() and not p.is_symlink():
            out[p.stem] = p
    return out


# ------------------------------------------------------------------------------------------------- library calls
# (plain functions run on the worker pool; each calls the library and returns a JSON-ready dict)
def meta() -> dict:
    from tokenfab.api import defaults
    from tokenfab.catalog import precision
    from tokenfab.catalog.hardware import catalog
    from tokenfab.catalog.models import get_model, model_keys
    from tokenfab.economics import tco
    from tokenfab.render import format as F
    from tokenfab.render import plots

    models = []
    for k in model_keys():
        m = get_model(k)
        models.append(
            {
                "key": k,
                "name": m.name,
                "native_weights": m.native_weights,
                "is_moe": m.is_moe,
                "max_context": m.max_position_embeddings,
            }
        )
    hw = [
        {
            "key": k,
            "name": h.name,
            "vendor": h.vendor,
            "kind": h.kind,
            "memory_capacity_gib": h.memory_capacity_gib,
            "sram_capacity_mib": h.sram_capacity_mib,
            "chips_per_node": h.chips_per_node,
        }
        for k, h in catalog().items()
    ]
    return {
        "version": __version__,
        "models": models,
        "hardware": hw,
        "precisions": {"weights": list(precision.WEIGHT_PRECISIONS), "kv": list(precision.KV_PRECISIONS)},
        "presets": tco.preset_names(),
        "default_preset": tco.DEFAULT_PRESET,
        "tco_fields": [{"name": f, "label": F.label(f), "unit": tco.FIELD_UNITS.get(f, "")} for f in tco.INPUT_FIELDS],
        "tco_components": dict(tco.COMPONENT_DESCRIPTIONS),
        "examples": list(example_files()),
        "features": features(),
        "limits": LIMITS,
        "defaults": defaults.defaults(),  # the one set of defaults of every command (tokenfab.api.defaults)
        "labels": {k: v.get("label", "") for k, v in F.labels_data()["fields"].items()},
        "units": {k: v.get("unit", "") for k, v in F.labels_data()["fields"].items() if v.get("unit")},
        "terms": F.labels_data()["terms"],  # the glossary's plain sentences for the terms of art
        "colors": list(plots.COLORS),
    }


def run_fit(req: FitRequest) -> dict:
    from tokenfab.perf import memory

    r = memory.fit(
        model_key(req.model),
        hardware_key(req.hardware),
        gpus=req.gpus,
        tp=req.tp,
        pp=req.pp,
        dp=req.dp,
        ep=req.ep,
        weights=req.weights,
        kv=req.kv,
        users=req.users,
        context=req.context,
    )
    from tokenfab.api import explain

    out = jsonable(r.to_dict())
    out["header"] = explain.fit_header(out, weights_given=req.weights is not None)
    out["explain"] = {"layout": explain.layout_note(out)}
    return out


def run_estimate(req: EstimateRequest) -> dict:
    from tokenfab.perf import serving

    e = serving.estimate(
        model_key(req.model),
        hardware_key(req.hardware),
        gpus=req.gpus,
        tp=req.tp,
        pp=req.pp,
        ep=req.ep,
        dp=req.dp,
        weights=req.weights,
        kv=req.kv,
        isl=req.isl,
        osl=req.osl,
        concurrency=req.concurrency_value(),
    )
    from tokenfab.api import explain

    out = jsonable(e.to_dict())
    out["header"] = explain.estimate_header(out, weights_given=req.weights is not None)
    lp = explain.largest_part(out.get("breakdown") or {})
    out["explain"] = {
        "bound": explain.bound_note(out),
        "largest_part": {"part": lp[0], "share": lp[1]} if lp else None,
        "not_fit": None if out["fits"] else explain.not_fit_text(out, None),
    }
    return out


def run_tco(req: TcoRequest) -> dict:
    from tokenfab.economics import cost, tco

    overrides = {k: v for k, v in req.overrides.model_dump().items() if v is not None}
    r = tco.tco(hardware_key(req.hardware), req.preset or None, **overrides)
    out = jsonable(r.to_dict())
    out["component_descriptions"] = dict(tco.COMPONENT_DESCRIPTIONS)
    out["overrides"] = overrides
    from tokenfab.api import explain

    out["header"] = explain.tco_header(out)
    if req.total_tokens_per_s_per_gpu is not None:
        c = cost.compute_cost(
            r.usd_per_gpu_hour,
            total_tokens_per_s_per_gpu=req.total_tokens_per_s_per_gpu,
            kw_per_gpu_all_in=r.kw_per_gpu_all_in,
            kw_per_gpu_it=r.kw_per_gpu_it,
        )
        out["cost"] = jsonable(c.to_dict())
    return out


def parse_jsonl(body: bytes) -> tuple[list[dict], int]:
    """Request records from an uploaded JSONL, parsed in memory by the records loader of tokenfab.core.files
    (a record with a wrong value is a 400 naming its line and field)."""
    text = files.decode_text(body, field="file", kind=files.BENCH_RECORDS, name="the upload")
    return files.parse_jsonl_records(text.splitlines(), field="file")


def run_bench(params: BenchParams, body: bytes) -> dict:
    from tokenfab.bench import report
    from tokenfab.bench.records import REQUIRED_FIELDS

    recs, bad = parse_jsonl(body)
    if params.run_id:
        recs = [r for r in recs if r.get("run_id") == params.run_id]
    if not recs:
        raise TokenfabError(
            "no request records in the upload",
            field="file",
            expected="JSON lines with request_id, " + ", ".join(REQUIRED_FIELDS),
            got=f"{bad} unreadable lines",
        )
    hw = hardware_key(params.hardware) if params.hardware else None
    doc = report.report_doc(
        recs, gpus=params.gpus, hardware=hw, preset=params.preset or None, usd_per_gpu_hour=params.usd_per_gpu_hour
    )
    doc.update({"records": len(recs), "unreadable_lines": bad, "comparison": None})
    if params.model:
        if hw is None:
            raise TokenfabError("comparing with the model needs the hardware", field="hardware")
        doc["comparison"] = compare_bench(params, model_key(params.model), hw, doc["runs"], doc["points"])
    return jsonable(doc)


def compare_bench(params: BenchParams, model: str, hw: str, runs: list[dict], points: list[dict]) -> dict:
    """Measured vs predicted per level: tokenfab.bench.report.compare_with_model with the predictor of
    tokenfab.bench.modelcheck (tokenfab.perf.serving.estimate at each level's concurrency or rate and mean lengths)."""
    from tokenfab.bench import modelcheck, report

    if len(points) > MAX_BENCH_LEVELS:
        raise TokenfabError(
            "too many load levels to compare", field="file", expected=f"<= {MAX_BENCH_LEVELS}", got=len(points)
        )
    predict = modelcheck.make_predictor(
        runs,
        model=model,
        hardware=hw,
        gpus=params.gpus,
        tp=params.tp,
        pp=params.pp,
        dp=params.dp,
        weights=params.weights,
        kv=params.kv,
    )
    rows = report.compare_with_model(points, predict)
    lengths = [
        dict(zip(("isl", "osl"), modelcheck.level_lengths(r), strict=False)) if r.get("requests_ok") else None
        for r in runs
    ]
    return {
        "model": model,
        "hardware": hw,
        "rows": rows,
        "lengths": lengths,
        "note": "predicted: tokenfab.perf.serving.estimate at each measured level's concurrency (or rate) and mean "
        "input/output lengths (tokenfab.bench.modelcheck); the model's mean TPOT/TTFT against the "
        "measured p50; error = predicted / measured - 1",
    }


def scenario_from_text(text: str, source: str):
    """A validated tokenfab.planning.scenario.Scenario from YAML text, safe for text from a user: no YAML anchors or
    aliases (no alias bombs), and model / hardware keys checked against the catalogs *before* the library resolves them
    (``get_model`` would read a path), at most MAX_HARDWARE hardware, MAX_SCENARIO_FEATURES features,
    MAX_SCENARIO_PERSONAS personas and MAX_LAYOUTS layouts per model's sweep."""
    from tokenfab.planning import scenario as scen

    try:
        sc = scen.parse_scenario_text(text, source=source, check_references=False, allow_aliases=False)
    except TokenfabError as e:
        if e.field == source:  # the parser names the document itself: the page's file / example field
            e.with_field("file" if source == UPLOAD_SOURCE else "example")
        raise
    model_key(sc.model, field="model")
    for name, f in sc.features.items():
        if f.model:
            model_key(f.model, field=f"features.{name}.model")
    if len(sc.hardware) > MAX_HARDWARE:
        raise TokenfabError(
            "too many hardware to plan over", field="hardware", expected=f"<= {MAX_HARDWARE}", got=len(sc.hardware)
        )
    for i, h in enumerate(sc.hardware):
        hardware_key(h, field=f"hardware[{i}]")
    for what, items, most in (
        ("features", sc.features, MAX_SCENARIO_FEATURES),
        ("personas", sc.personas, MAX_SCENARIO_PERSONAS),
    ):
        if len(items) > most:
            raise TokenfabError(
                f"too many {what} for the dashboard",
                field=what,
                expected=f"<= {most}",
                got=len(items),
                hint="run `tokenfab plan` for larger scenarios",
            )
    hws = [hardware_key(h) for h in sc.hardware]
    for m, w in sorted(
        {(model_key(sc.feature_model(name)), sc.feature_weights(name)) for name in sc.features},
        key=lambda mw: (mw[0], mw[1] or ""),
    ):
        n = frontier_layout_count(m, hws, w, None)
        if n > MAX_LAYOUTS:
            raise TokenfabError(
                "the plan's sweep is too large for the dashboard",
                field="hardware",
                expected=f"<= {MAX_LAYOUTS:,} parallel layouts per model",
                got=f"{n:,}",
            )
    return sc


def run_plan_example(key: str) -> dict:
    files = example_files()
    if key not in files:
        raise UnknownKeyError("example", key, files, field="example")
    return plan_from_text(files[key].read_text(encoding="utf-8"), source=f"examples/{files[key].name}")


def plan_from_text(text: str, source: str) -> dict:
    """tokenfab.planning.plan of a scenario given as YAML text (PlanResult.to_dict(), schema in docs/demand.md)."""
    from tokenfab.planning import plan as planning
    from tokenfab.render.report import plan_header

    out = jsonable(planning.plan(scenario_from_text(text, source)).to_dict())
    out["header"] = plan_header(out)
    return out


def frontier_layout_count(model: str, hws: list[str], weights: str | None, gpus: int | None) -> int:
    """How many (hardware, TP, PP, DP, EP) layouts the frontier sweep would evaluate, counted with the search's own
    enumeration (``search.gpu_ladder`` and ``search.layouts``) before any of them is evaluated."""
    from tokenfab import search
    from tokenfab.catalog.models import get_model

    m = get_model(model)
    ws = search.resolve_weights(m, weights)
    n = 0
    for hw in search.resolve_hardware(hws):
        for g in search.gpu_ladder(m, hw, ws, gpus):
            n += len(search.layouts(m, hw, g, fixed=gpus is not None))
    return n


def run_frontier(req: FrontierRequest) -> dict:
    from tokenfab import search

    hws = []
    for h in req.hardware:
        k = hardware_key(h)
        if k not in hws:
            hws.append(k)
    model = model_key(req.model)
    n_layouts = frontier_layout_count(model, hws, req.weights, req.gpus)
    if n_layouts > MAX_LAYOUTS:
        raise TokenfabError(
            "the sweep is too large for the dashboard",
            field="gpus" if req.gpus else "hardware",
            expected=f"<= {MAX_LAYOUTS:,} parallel layouts",
            got=f"{n_layouts:,}",
            hint="pick fewer hardware or a GPU count with fewer divisors, or run `tokenfab frontier`",
        )
    r = search.frontier(
        model,
        hws,
        isl=req.isl,
        osl=req.osl,
        weights=req.weights,
        gpus=req.gpus,
        mode=req.mode,
        ttft_max_ms=req.ttft_max_ms,
        tpot_max_ms=req.tpot_max_ms,
        target_interactivity=req.target_interactivity,
        preset=req.preset or None,
        usd_per_gpu_hour=req.usd_per_gpu_hour,
    )
    d = r.to_dict()
    tiers = d.get("tiers") or {}
    for p in [*d.get("points", []), d.get("best"), *(tiers.get(t) for t in ("bulk", "goldilocks", "premium"))]:
        if isinstance(p, dict) and isinstance(p.get("config"), dict):
            p["layout"] = search.layout_text(p["config"])  # the library's text (TP8 PP2 ..., P 3x[..] + D 7x[..])
    from tokenfab.api import explain
    from tokenfab.economics.tco import DEFAULT_PRESET

    out = jsonable(d)
    out["header"] = explain.frontier_header(
        out, given={"weights": req.weights is not None, "preset": bool(req.preset) and req.preset != DEFAULT_PRESET}
    )
    return out


# ------------------------------------------------------------------------------------------------- the app
def create_app(
    *,
    max_body_bytes: int = MAX_BODY_BYTES,
    time_limit_s: float = TIME_LIMIT_S,
    workers: int = WORKERS,
    max_pending: int = MAX_PENDING,
    allowed_hosts: tuple[str, ...] | None = ("127.0.0.1", "localhost", "[::1]"),
    isolation: str = "process",
) -> FastAPI:
    """The dashboard app. ``allowed_hosts`` guards against DNS rebinding (None: any Host header). ``isolation``:
    library calls in worker processes stopped at the time limit ("process"), or on threads of this process
    ("thread", for tests that patch the library)."""
    runner = Runner(workers, time_limit_s, max_pending, isolation)

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        try:
            yield
        finally:
            runner.close()

    app = FastAPI(
        title="tokenfab dashboard",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )
    app.state.runner = runner

    # middleware: the last added runs first (outermost); the security headers go on every answer
    app.add_middleware(InternalErrorMiddleware)
    app.add_middleware(JsonBodyMiddleware, paths=JSON_ENDPOINTS)
    app.add_middleware(BodyLimitMiddleware, max_bytes=max_body_bytes)
    app.add_middleware(SameOriginMiddleware)
    if allowed_hosts is not None:
        app.add_middleware(HostCheckMiddleware, allowed=tuple(allowed_hosts))
    app.add_middleware(SecurityHeadersMiddleware)

    @app.exception_handler(TokenfabError)
    async def _tokenfab_error(request: Request, e: TokenfabError):
        extra = {"expected": e.expected, "got": e.got, "hint": e.hint}
        if isinstance(e, UnknownKeyError):
            extra["suggestions"] = e.suggestions
        return JSONResponse(status_code=BAD_INPUT, content=error_body(str(e), form_field(e.field), **extra))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, e: RequestValidationError):
        errors = e.errors()
        first = errors[0] if errors else {}
        field = _field_of_loc(first.get("loc", ()))
        msg = first.get("msg", "invalid value")
        if first.get("type") == "extra_forbidden":
            msg = "unknown input"
        elif first.get("type") == "json_invalid":
            msg, field = "the request body is not valid JSON", None
        text = f"{field}: {msg}" if field else msg
        return JSONResponse(
            status_code=BAD_INPUT,
            content=error_body(
                text,
                field,
                expected=_expected_of(first.get("ctx") or {}),
                got=first.get("input") if not isinstance(first.get("input"), (dict, list)) else None,
                errors=[{"field": _field_of_loc(x.get("loc", ())), "message": x.get("msg")} for x in errors[:10]],
            ),
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, e: StarletteHTTPException):
        content = e.detail if isinstance(e.detail, dict) else error_body(str(e.detail))
        return JSONResponse(status_code=e.status_code, content=content)

    @app.exception_handler(Exception)
    async def _internal_error(request: Request, e: Exception):
        log.exception("internal error in %s", request.url.path)
        return JSONResponse(
            status_code=500, content=error_body(f"internal error ({type(e).__name__}); see the server log")
        )

    # ---- page and static files (a fixed list: no user path reaches the file system)
    @app.get("/", include_in_schema=False)
    async def index():
        path, media = STATIC_FILES["index.html"]
        return FileResponse(path, media_type=media)

    @app.get("/static/{name}", include_in_schema=False)
    async def static(name: str):
        if name == "plotly.min.js":
            return FileResponse(plotly_js_path(), media_type="text/javascript; charset=utf-8")
        if name not in STATIC_FILES:
            raise HTTPException(status_code=404, detail=error_body("not found"))
        path, media = STATIC_FILES[name]
        return FileResponse(path, media_type=media)

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon():
        return Response(status_code=204)

    # ---- API
    @app.get("/api/meta")
    async def api_meta():
        return await runner(meta)

    @app.get("/api/health")
    async def api_health():
        return {"ok": True, "version": __version__}

    @app.post("/api/fit")
    async def api_fit(req: FitRequest):
        return await runner(run_fit, req)

    @app.post("/api/estimate")
    async def api_estimate(req: EstimateRequest):
        return await runner(run_estimate, req)

    @app.post("/api/tco")
    async def api_tco(req: TcoRequest):
        return await runner(run_tco, req)

    @app.post("/api/frontier")
    async def api_frontier(req: FrontierRequest):
        _require("frontier")
        return await runner(run_frontier, req)

    @app.get("/api/examples")
    async def api_examples():
        return {"examples": list(example_files()), "feature": features()["plan"]}

    @app.post("/api/plan")
    async def api_plan(req: PlanRequest):
        _require("plan")
        return await runner(run_plan_example, req.example)

    @app.post("/api/plan/upload")
    async def api_plan_upload(request: Request):
        _require("plan")
        body = await request.body()  # in memory, bounded by BodyLimitMiddleware
        text = files.decode_text(body, field="file", kind=files.SCENARIO, name="the upload")
        return await runner(plan_from_text, text, UPLOAD_SOURCE)

    @app.post("/api/bench")
    async def api_bench(request: Request, params: BenchParams = Depends(_bench_params)):
        _require("bench")
        body = await request.body()  # in memory, bounded by BodyLimitMiddleware; never written
        return await runner(run_bench, params, body)

    return app


def _bench_params(request: Request) -> BenchParams:
    """BenchParams from the query string (the body is the uploaded JSONL). Empty values are 'not given'."""
    from pydantic import ValidationError

    raw: dict[str, Any] = {k: v for k, v in request.query_params.items() if v != ""}  # pydantic parses the strings
    try:
        return BenchParams(**raw)
    except ValidationError as e:
        raise RequestValidationError([dict(err, loc=("query",) + tuple(err["loc"])) for err in e.errors()]) from None
