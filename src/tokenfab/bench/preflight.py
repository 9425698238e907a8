"""Before the first request: is the server there, and does it serve the model? (one clear line if not).

:func:`check_server` connects, reads ``GET /v1/models`` and, when the server lists its models, checks the model name
against them (suggesting near names). Then it sends one tiny streamed request (1 output token) to the endpoint the
run will use, so a wrong endpoint, a refused API key or a model the server does not know fails here, with the
server's own message, instead of as 850 failed records. :func:`check_output_path` checks that a file can be written
before any work starts.
"""

from __future__ import annotations

import asyncio
import difflib
import json
from pathlib import Path
from typing import TYPE_CHECKING

from tokenfab.bench.http import Exchange, Pool, Target, build_request, sse_events
from tokenfab.core.errors import TokenfabError

if TYPE_CHECKING:
    from tokenfab.bench.client import BenchConfig

PREFLIGHT_TIMEOUT_S = 30.0


def check_output_path(path: str | Path, field: str) -> Path:
    """The path of a file tokenfab bench appends to: not a folder, its folder exists or can be made (the nearest
    existing one a writable folder), writable (:func:`tokenfab.core.files.check_output_path`, the one checker)."""
    from tokenfab.core.files import check_output_path as check

    return check(path, field=field, append=True, create_parents=True, kind="a file path (records are appended)")


def _server_message(body: bytes) -> str:
    text = body[:400].decode("utf-8", "replace").strip()
    try:
        obj = json.loads(body)
        err = obj.get("error") if isinstance(obj, dict) else None
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])[:300]
        if isinstance(err, str):
            return err[:300]
        if isinstance(obj, dict) and obj.get("detail"):
            return str(obj["detail"])[:300]
    except (ValueError, RecursionError):
        pass
    return text[:300]


async def _get(pool: Pool, path: str, headers: dict[str, str], timeout_s: float) -> Exchange:
    return await pool.send(build_request(pool.target, "GET", path, None, headers), timeout_s)


async def _check(cfg: BenchConfig, api_key: str | None, timeout_s: float) -> dict:
    from tokenfab.bench.client import RequestSpec, build_payload

    headers = {"Accept": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    models_t = Target.from_url(cfg.models_url())
    pool = Pool(models_t, 1, connect_timeout_s=min(timeout_s, 10.0))
    info: dict = {"models_url": cfg.models_url(), "served_models": None}
    try:
        ex = await _get(pool, models_t.path, headers, timeout_s)
        if ex.fault is not None and ex.status == 0:
            raise TokenfabError(
                f"cannot reach the server at {cfg.url}: {ex.fault}",
                field="--url",
                hint="is it running, and is the host:port right?",
            )
        if ex.status in (401, 403):
            raise TokenfabError(
                f"the server refused the request (HTTP {ex.status}: {_server_message(bytes(ex.body))})",
                field="--api-key-env",
                hint="check the API key",
            )
        if ex.status == 200:
            try:
                obj = json.loads(bytes(ex.body))
                ids = [str(m.get("id")) for m in obj.get("data", []) if isinstance(m, dict) and m.get("id")]
            except (ValueError, AttributeError, RecursionError):
                ids = []
            if ids:
                info["served_models"] = ids[:50]
                if cfg.model not in ids:
                    near = difflib.get_close_matches(cfg.model, ids, n=3, cutoff=0.3)
                    raise TokenfabError(
                        f"the server at {cfg.url} does not serve model {cfg.model!r}; it serves "
                        + ", ".join(repr(i) for i in ids[:10]),
                        field="--model",
                        hint=f"did you mean {', '.join(near)}?" if near else None,
                    )
        # one tiny request to the endpoint of the run: the endpoint, model and key as the run will use them
        t = cfg.target()
        probe = RequestSpec("preflight", -1, "Hello", 1, "word_list", 1)
        body = json.dumps(build_payload(cfg, probe)).encode()
        ppool = Pool(t, 1, connect_timeout_s=min(timeout_s, 10.0))
        h = {**headers, "Content-Type": "application/json", "Accept": "text/event-stream", "X-Tokenfab-Probe": "1"}
        try:
            ex = await ppool.send(build_request(t, "POST", t.path, body, h), timeout_s)
        finally:
            ppool.close()
        if ex.fault is not None and ex.status == 0:
            raise TokenfabError(
                f"the server at {cfg.url} did not answer a 1-token request to {cfg.endpoint_url()}: {ex.fault}",
                field="--url",
            )
        if ex.status >= 500:  # the server is there and knows the route: a 5xx may pass; the run will count it
            info["probe_warning"] = f"the 1-token test request got HTTP {ex.status}: {_server_message(bytes(ex.body))}"
            return info
        if ex.status >= 400:
            msg = _server_message(bytes(ex.body))
            fld = (
                "--api-key-env" if ex.status in (401, 403) else ("--model" if "model" in msg.lower() else "--endpoint")
            )
            raise TokenfabError(
                f"a 1-token test request to {cfg.endpoint_url()} failed with HTTP {ex.status}: {msg}", field=fld
            )
        events = sse_events(ex.body, ex.marks)
        info["probe_ms"] = (ex.t_end - ex.t_send) * 1e3
        info["probe_streamed"] = bool(events)
        return info
    finally:
        pool.close()


def check_server(cfg: BenchConfig, api_key: str | None = None, timeout_s: float | None = None) -> dict:
    """Connectivity, model and endpoint check; raises :class:`TokenfabError` (one line) when the run cannot work."""
    t = min(PREFLIGHT_TIMEOUT_S, cfg.timeout_s) if timeout_s is None else timeout_s
    return asyncio.run(_check(cfg, api_key, t))
