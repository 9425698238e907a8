"""The dashboard's guards (docs/ui.md): the JSON error body every refusal uses, and the ASGI middleware that bound
request bodies (413), check the Host header (DNS rebinding), refuse cross-site changes (403), require JSON bodies of
bounded depth on the JSON endpoints (415/400), answer an unhandled exception with a 500 JSON body, and add the security
headers (Content-Security-Policy and friends) to every answer."""

from __future__ import annotations

import json
import logging
import math
from typing import Any
from urllib.parse import urlsplit

from tokenfab.core import files
from tokenfab.core.errors import MAX_GOT_CHARS, safe_text

log = logging.getLogger("tokenfab.ui")

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "font-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


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
    """The JSON of an error; a non-finite ``got`` (NaN, an overflowed 1e400) is shown as text, which JSON can hold."""
    body = {"error": message, "field": field}
    got = extra.get("got")
    if isinstance(got, float) and not math.isfinite(got):
        extra["got"] = str(got)
    body.update({k: json_safe(jsonable(v)) for k, v in extra.items() if v is not None})
    return body


def form_field(field: str | None) -> str | None:
    """The form field of a library error: CLI-style names (``--usd-per-gpu-hour``) become ``usd_per_gpu_hour``."""
    if field and field.startswith("--"):
        return field[2:].replace("-", "_")
    return field


def field_of_loc(loc) -> str | None:
    """The form field a pydantic error location names: ``("body", "overrides", "pue")`` -> ``pue``,
    ``("body", "hardware", 3)`` -> ``hardware``, ``("body", "concurrency", "int")`` -> ``concurrency``."""
    # "overrides" names the mapping of the TCO rows: a row's error is the row's field, the mapping's own is itself
    loc = [x for i, x in enumerate(loc) if not (x == "overrides" and i + 1 < len(loc))]
    parts = [str(x) for x in loc if not isinstance(x, int) and x not in ("body", "query", "path")]
    # a Union (int | "max") adds the member's name to the location: keep the field
    parts = [p for p in parts if not p.startswith(("int", "literal[", "function-", "float", "none"))]
    return parts[0] if parts else None


_BOUND_TEXT = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<", "min_length": "length >=", "max_length": "length <="}


def expected_of(ctx: dict) -> str | None:
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
