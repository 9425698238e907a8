"""FastAPI app of the dashboard: JSON endpoints under ``/api/...`` that call the library (tokenfab.ui.calls, run on
the worker pool of tokenfab.ui.runner) and return its JSON, plus the static page (``/``, ``/static/...``). No formula
lives here.

Safety (docs/ui.md):
- every request body / query is a pydantic model with bounds (``extra="forbid"``, tokenfab.ui.requests); models,
  hardware, presets and examples are chosen by key from the catalog lists, never by path (``get_model`` would read a
  path: keys are checked against ``model_keys()`` first);
- a library ``TokenfabError`` becomes HTTP 400 ``{"error", "field", "expected", "got", "hint"}``; a pydantic
  error the same (400, field named);
- request bodies (uploads included) are read into memory up to ``max_body_bytes`` (1 MiB; 413 beyond) and never
  written to disk (tokenfab.ui.security);
- library calls run on a small worker pool with a time limit (504 beyond) and a bound on queued work (503), so no
  request can make the server unresponsive; sweeps are bounded (hardware count, GPU counts, concurrency ladder);
- only the fixed static files are served (no user path reaches the file system); a strict Content-Security-Policy
  and a Host check (DNS rebinding) guard the page; ``tokenfab ui`` binds to 127.0.0.1 by default.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from tokenfab import __version__
from tokenfab.core import files
from tokenfab.core.errors import TokenfabError, UnknownKeyError
from tokenfab.ui.calls import (
    example_files,
    meta,
    plan_from_text,
    run_bench,
    run_estimate,
    run_fit,
    run_frontier,
    run_plan_example,
    run_tco,
)
from tokenfab.ui.requests import (
    BAD_INPUT,
    JSON_ENDPOINTS,
    MAX_BODY_BYTES,
    MAX_PENDING,
    TIME_LIMIT_S,
    UPLOAD_SOURCE,
    WORKERS,
    BenchParams,
    EstimateRequest,
    FitRequest,
    FrontierRequest,
    PlanRequest,
    TcoRequest,
)
from tokenfab.ui.runner import Runner
from tokenfab.ui.security import (
    BodyLimitMiddleware,
    HostCheckMiddleware,
    InternalErrorMiddleware,
    JsonBodyMiddleware,
    SameOriginMiddleware,
    SecurityHeadersMiddleware,
    error_body,
    expected_of,
    field_of_loc,
    form_field,
    log,
)

STATIC_DIR = Path(__file__).parent / "static"
STATIC_FILES = {  # URL name -> (file, media type); nothing else is ever served from disk
    "index.html": (STATIC_DIR / "index.html", "text/html; charset=utf-8"),
    "app.js": (STATIC_DIR / "app.js", "text/javascript; charset=utf-8"),
    "style.css": (STATIC_DIR / "style.css", "text/css; charset=utf-8"),
}


def plotly_js_path() -> Path:
    """Plotly.js as bundled with the ``plotly`` Python package (served locally: no CDN, works offline)."""
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


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
        field = field_of_loc(first.get("loc", ()))
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
                expected=expected_of(first.get("ctx") or {}),
                got=first.get("input") if not isinstance(first.get("input"), (dict, list)) else None,
                errors=[{"field": field_of_loc(x.get("loc", ())), "message": x.get("msg")} for x in errors[:10]],
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
        return await runner(run_frontier, req)

    @app.get("/api/examples")
    async def api_examples():
        return {"examples": list(example_files())}

    @app.post("/api/plan")
    async def api_plan(req: PlanRequest):
        return await runner(run_plan_example, req.example)

    @app.post("/api/plan/upload")
    async def api_plan_upload(request: Request):
        body = await request.body()  # in memory, bounded by BodyLimitMiddleware
        text = files.decode_text(body, field="file", kind=files.SCENARIO, name="the upload")
        return await runner(plan_from_text, text, UPLOAD_SOURCE)

    @app.post("/api/bench")
    async def api_bench(request: Request, params: BenchParams = Depends(_bench_params)):
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
