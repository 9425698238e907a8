"""An OpenAI-compatible streaming mock server on 127.0.0.1, for tests and for measuring the client's own limits.

``POST /v1/completions`` and ``POST /v1/chat/completions`` stream ``max_tokens`` tokens (``max_completion_tokens``
for chat too), the first after ``ttft_ms`` and then one chunk every ``itl_ms`` (on an absolute schedule, so delays
do not drift), with a final usage chunk when the request asks ``stream_options: {"include_usage": true}``. It never
stops early (as with ``ignore_eos``). ``usage.prompt_tokens`` is the prompt's word count (exact for tokenfab's
one-token-word prompts).

Faults (:data:`FAULTS`), chosen per request by a deterministic schedule (request index -> fault), by probabilities
with a seed (request ``i`` draws from ``Random(f"{seed}:{i}")``, so the same seed gives the same faults), or by an
``X-Mock-Fault`` request header:

* ``http_500``: an HTTP 500 with a JSON error body;
* ``hang``: no response; the connection is held until the client leaves (at most ``hang_s``);
* ``cut``: the connection is dropped after ``cut_after_tokens`` tokens, mid-stream;
* ``garbage``: a ``data:`` line that is not JSON after the first token;
* ``no_usage``: the usage chunk is left out even when asked for;
* ``empty``: a well-formed stream with no output text and ``completion_tokens: 0``.

Also ``GET /health``, ``GET /v1/models``, ``POST /admin/config`` (a new :class:`MockConfig` as JSON; resets the
request counter) and ``GET /admin/stats`` (requests since the last config, faults served, and how many carried an
``Authorization`` header; the header's value is never stored).

It is written on plain asyncio streams rather than a web framework (and runs on uvloop when installed) so that
per-chunk overhead stays small: the client-limits benchmark must measure the client, not the server. It binds
127.0.0.1 only. The command-line server runs until stopped (Ctrl-C or SIGTERM); ``--lifetime-s`` makes it stop by
itself. A request naming another model than ``model`` gets a 404 with vLLM's message (``strict_model``).

Run it: ``python -m tokenfab.bench.mockserver --ttft-ms 50 --itl-ms 10`` prints ``MOCK_URL http://127.0.0.1:PORT``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from tokenfab.core.errors import TokenfabError

HOST = "127.0.0.1"
FAULTS = ("http_500", "hang", "cut", "garbage", "no_usage", "empty")
_TOKEN_TEXTS = (" the", " and", " with", " data", " model", " time", " work", " value")


@dataclass
class MockConfig:
    ttft_ms: float = 0.0
    itl_ms: float = 0.0
    default_max_tokens: int = 16
    tokens_per_chunk: int = 1
    schedule: dict[int, str] = field(default_factory=dict)  # request index (0-based, since the last config) -> fault
    fault_probs: dict[str, float] = field(default_factory=dict)  # fault -> probability
    seed: int = 0
    hang_s: float = 60.0
    cut_after_tokens: int = 2
    model: str = "mock"
    strict_model: bool = True  # a request naming another model gets 404, as vLLM answers
    usage_override: dict = field(default_factory=dict)  # keys replacing the usage counts sent (a lying server)

    @classmethod
    def from_dict(cls, d: dict) -> MockConfig:
        known = {f.name for f in fields(cls)}
        bad = set(d) - known
        if bad:
            raise TokenfabError(
                f"unknown mock setting(s) {sorted(bad)}", field="mock config", expected=", ".join(sorted(known))
            )
        cfg = cls(**d)
        if isinstance(cfg.schedule, list):
            cfg.schedule = {i: f for i, f in enumerate(cfg.schedule) if f}
        cfg.schedule = {int(k): v for k, v in cfg.schedule.items()}
        for f in list(cfg.schedule.values()) + list(cfg.fault_probs):
            if f not in FAULTS:
                raise TokenfabError("unknown fault", field="mock config", expected=", ".join(FAULTS), got=f)
        if sum(cfg.fault_probs.values()) > 1 + 1e-9 or any(p < 0 for p in cfg.fault_probs.values()):
            raise TokenfabError(
                "fault probabilities must be >= 0 and sum to <= 1", field="fault_probs", got=cfg.fault_probs
            )
        if cfg.ttft_ms < 0 or cfg.itl_ms < 0 or cfg.tokens_per_chunk < 1:
            raise TokenfabError("delays must be >= 0 and tokens_per_chunk >= 1", field="mock config")
        return cfg

    def fault_for(self, index: int) -> str | None:
        """The fault for the request with this index: the schedule first, then the seeded probabilities."""
        if index in self.schedule:
            return self.schedule[index]
        if self.fault_probs:
            u = random.Random(f"{self.seed}:{index}").random()
            acc = 0.0
            for fault in FAULTS:
                acc += self.fault_probs.get(fault, 0.0)
                if u < acc:
                    return fault
        return None


def _response_head(status: int, reason: str, content_type: str, length: int | None) -> bytes:
    lines = [f"HTTP/1.1 {status} {reason}", f"Content-Type: {content_type}", "Cache-Control: no-cache"]
    lines.append(f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _chunk(payload: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(payload), payload)


def _sse(obj: object) -> bytes:  # bytes as they are, anything else as JSON
    return _chunk(
        b"data: " + (obj if isinstance(obj, bytes) else json.dumps(obj, separators=(",", ":")).encode()) + b"\n\n"
    )


class MockServer:
    """The server. ``await start()`` binds 127.0.0.1 on a free port (or ``port``); ``url`` is its base URL."""

    def __init__(self, config: MockConfig | None = None):
        self.config = config or MockConfig()
        self.counter = 0
        self.stats: Counter = Counter()
        self._server: asyncio.base_events.Server | None = None
        self.port: int | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    async def start(self, port: int = 0) -> MockServer:
        self._server = await asyncio.start_server(self._handle, HOST, port, backlog=1024)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()

    # ---- HTTP/1.1 plumbing ----
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                    break
                lines = head.decode("latin-1").split("\r\n")
                try:
                    method, path, _ = lines[0].split(" ", 2)
                except ValueError:
                    break
                headers = {}
                for line in lines[1:]:
                    k, sep, v = line.partition(":")
                    if sep:
                        headers[k.strip().lower()] = v.strip()
                body = await reader.readexactly(int(headers.get("content-length") or 0))
                keep = await self._dispatch(method, path.split("?", 1)[0], headers, body, reader, writer)
                if not keep or headers.get("connection", "").lower() == "close":
                    break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            with contextlib.suppress(Exception):  # the transport may already be gone
                writer.close()

    async def _json(self, writer: asyncio.StreamWriter, status: int, obj: object, reason: str = "OK") -> bool:
        body = json.dumps(obj).encode()
        writer.write(_response_head(status, reason, "application/json", len(body)) + body)
        await writer.drain()
        return True

    async def _dispatch(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        body: bytes,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> bool:
        if method == "GET" and path == "/health":
            return await self._json(writer, 200, {"status": "ok"})
        if method == "GET" and path == "/v1/models":
            return await self._json(
                writer, 200, {"object": "list", "data": [{"id": self.config.model, "object": "model"}]}
            )
        if method == "GET" and path == "/admin/stats":
            return await self._json(writer, 200, {"requests": self.counter, "faults": dict(self.stats)})
        if method == "POST" and path == "/admin/config":
            try:
                self.config = MockConfig.from_dict(json.loads(body or b"{}"))
            except (TokenfabError, TypeError, ValueError) as e:
                return await self._json(writer, 400, {"error": {"message": str(e)}}, "Bad Request")
            self.counter = 0
            self.stats = Counter()
            return await self._json(writer, 200, {"config": asdict(self.config)})
        if method == "POST" and path in ("/v1/completions", "/v1/chat/completions"):
            return await self._completion(path.endswith("chat/completions"), headers, body, reader, writer)
        return await self._json(writer, 404, {"error": {"message": f"no route {method} {path}"}}, "Not Found")

    # ---- the completion endpoints ----
    async def _completion(
        self,
        chat: bool,
        headers: dict[str, str],
        body: bytes,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> bool:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        try:
            req = json.loads(body)
            assert isinstance(req, dict)
        except (ValueError, AssertionError):
            return await self._json(writer, 400, {"error": {"message": "body is not a JSON object"}}, "Bad Request")
        cfg = self.config
        if headers.get("x-tokenfab-probe"):  # tokenfab's pre-run check: served, never counted nor faulted
            index, fault = -1, None
        else:
            index = self.counter
            self.counter += 1
            fault = headers.get("x-mock-fault") or cfg.fault_for(index)
            self.stats[fault or "none"] += 1
            if headers.get("authorization"):
                self.stats["with_authorization"] += 1
        if chat:
            prompt = " ".join(str(m.get("content", "")) for m in req.get("messages") or [] if isinstance(m, dict))
        else:
            prompt = req.get("prompt") or ""
            prompt = " ".join(prompt) if isinstance(prompt, list) else str(prompt)
        if cfg.strict_model and req.get("model") != cfg.model:
            msg = f"The model `{str(req.get('model'))[:100]}` does not exist."
            return await self._json(
                writer, 404, {"error": {"message": msg, "type": "NotFoundError", "code": 404}}, "Not Found"
            )
        n_prompt = len(prompt.split())
        n_out = int(req.get("max_tokens") or req.get("max_completion_tokens") or cfg.default_max_tokens)
        if fault == "empty":
            n_out = 0
        if fault == "http_500":
            await self._json(
                writer, 500, {"error": {"message": "injected fault", "type": "server_error"}}, "Internal Server Error"
            )
            return True
        if fault == "hang":
            with contextlib.suppress(TimeoutError, ConnectionError):
                await asyncio.wait_for(reader.read(1), cfg.hang_s)  # returns at EOF, when the client gives up
            return False
        rid = f"cmpl-mock-{index}"
        created = int(time.time())
        usage = {"prompt_tokens": n_prompt, "completion_tokens": n_out, "total_tokens": n_prompt + n_out}
        usage.update(cfg.usage_override)
        texts = [_TOKEN_TEXTS[i % len(_TOKEN_TEXTS)] for i in range(n_out)]
        if not req.get("stream"):
            await asyncio.sleep(max(0.0, (cfg.ttft_ms + max(0, n_out - 1) * cfg.itl_ms) / 1000))
            reply = {"message": {"role": "assistant", "content": "".join(texts)}} if chat else {"text": "".join(texts)}
            return await self._json(
                writer,
                200,
                {
                    "id": rid,
                    "object": "chat.completion" if chat else "text_completion",
                    "created": created,
                    "model": cfg.model,
                    "choices": [{"index": 0, **reply, "finish_reason": "length"}],
                    "usage": usage,
                },
            )
        include_usage = bool((req.get("stream_options") or {}).get("include_usage"))
        obj = "chat.completion.chunk" if chat else "text_completion"
        prefix = json.dumps({"id": rid, "object": obj, "created": created, "model": cfg.model})[:-1].encode()

        def choice(text: str | None, finish: str | None) -> bytes:
            if chat:
                c = {"index": 0, "delta": {"content": text} if text is not None else {}, "finish_reason": finish}
            else:
                c = {"index": 0, "text": text or "", "logprobs": None, "finish_reason": finish}
            return _sse(prefix + b',"choices":[' + json.dumps(c, separators=(",", ":")).encode() + b"]}")

        writer.write(_response_head(200, "OK", "text/event-stream", None))
        if chat:
            writer.write(_sse(prefix + b',"choices":[{"index":0,"delta":{"role":"assistant"},"finish_reason":null}]}'))
        per = cfg.tokens_per_chunk
        sent = 0
        for j, start in enumerate(range(0, n_out, per)):
            delay = t0 + (cfg.ttft_ms + start * cfg.itl_ms) / 1000 - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            elif j % 8 == 7:
                await asyncio.sleep(0)  # zero delays: let other connections run
            if writer.transport.is_closing():
                return False
            writer.write(choice("".join(texts[start : start + per]), None))
            sent += len(texts[start : start + per])
            if fault == "cut" and sent >= cfg.cut_after_tokens:
                await writer.drain()
                writer.transport.abort()
                return False
            if fault == "garbage" and j == 0:
                writer.write(_chunk(b"data: {this is not json\n\n"))
        if writer.transport.is_closing():
            return False
        if fault == "cut":  # fewer tokens than cut_after_tokens: cut before the end all the same
            await writer.drain()
            writer.transport.abort()
            return False
        if fault == "garbage" and sent == 0:
            writer.write(_chunk(b"data: {this is not json\n\n"))
        writer.write(choice(None if chat else "", "length"))
        if include_usage and fault != "no_usage":
            writer.write(_sse(prefix + b',"choices":[],"usage":' + json.dumps(usage).encode() + b"}"))
        writer.write(_sse(b"[DONE]") + b"0\r\n\r\n")
        await writer.drain()
        return True


# ---- running it ------------------------------------------------------------------------------------------------


class ThreadedMockServer:
    """The server on its own event loop in a daemon thread (simple; shares the GIL with the caller)."""

    def __init__(self, config: MockConfig | None = None):
        self.server = MockServer(config)
        self._loop = asyncio.new_event_loop()
        started = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(self.server.start())
            started.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="tokenfab-mockserver", daemon=True)
        self._thread.start()
        if not started.wait(10):
            raise RuntimeError("mock server did not start")
        self.url = self.server.url

    def stop(self) -> None:
        async def shutdown() -> None:
            await self.server.stop()
            # cancel open connections' handlers so none is left pending when the loop goes away
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._loop.stop()

        if self._loop.is_running():
            asyncio.run_coroutine_threadsafe(shutdown(), self._loop)
        self._thread.join(5)

    def __enter__(self) -> ThreadedMockServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class MockServerProcess:
    """The server in a subprocess (its own core and GIL: better timing). ``configure`` replaces its config."""

    def __init__(
        self, config: MockConfig | dict | None = None, max_lifetime_s: float = 600.0, start_timeout_s: float = 20.0
    ):
        cfg = config if isinstance(config, dict) else asdict(config or MockConfig())
        env = dict(os.environ)
        src = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tokenfab.bench.mockserver",
                "--config",
                json.dumps(cfg),
                "--lifetime-s",
                str(max_lifetime_s),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        url = None
        deadline = time.monotonic() + start_timeout_s
        assert self.proc.stdout is not None  # stdout=PIPE
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if line.startswith("MOCK_URL "):
                url = line.split()[1]
                break
            if not line and self.proc.poll() is not None:
                break
        if url is None:
            self.stop()
            raise RuntimeError("mock server process did not start")
        self.url: str = url

    def configure(self, config: MockConfig | dict) -> None:
        import httpx

        cfg = config if isinstance(config, dict) else asdict(config)
        r = httpx.post(self.url + "/admin/config", json=cfg, timeout=10, trust_env=False)
        if r.status_code != 200:
            raise TokenfabError(f"mock server refused config: {r.text}", field="mock config")

    def stats(self) -> dict:
        import httpx

        return httpx.get(self.url + "/admin/stats", timeout=10, trust_env=False).json()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc.stdout:
            self.proc.stdout.close()

    def __enter__(self) -> MockServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


async def _serve(config: MockConfig, port: int, lifetime_s: float | None) -> None:
    import signal

    server = await MockServer(config).start(port)
    print(f"MOCK_URL {server.url}", flush=True)
    stop = asyncio.Event()
    with contextlib.suppress(NotImplementedError, RuntimeError):  # not on this platform: Ctrl-C still stops it
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    try:
        if lifetime_s is None:
            await stop.wait()
        else:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), lifetime_s)
    finally:
        await server.stop()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m tokenfab.bench.mockserver", description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0, help="0 picks a free port")
    ap.add_argument("--ttft-ms", type=float, default=None)
    ap.add_argument("--itl-ms", type=float, default=None)
    ap.add_argument("--config", default=None, help="MockConfig as JSON")
    ap.add_argument(
        "--lifetime-s",
        "--max-lifetime-s",
        dest="lifetime_s",
        type=float,
        default=None,
        help="stop by itself after this many seconds (default: run until stopped)",
    )
    ap.add_argument("--model", default=None, help="the model name it serves (default mock)")
    a = ap.parse_args(argv)
    if a.lifetime_s is not None and not (a.lifetime_s > 0 and a.lifetime_s < 1e9):
        ap.error("--lifetime-s must be a positive number of seconds")
    cfg = json.loads(a.config) if a.config else {}
    if a.ttft_ms is not None:
        cfg["ttft_ms"] = a.ttft_ms
    if a.itl_ms is not None:
        cfg["itl_ms"] = a.itl_ms
    if a.model is not None:
        cfg["model"] = a.model
    try:
        config = MockConfig.from_dict(cfg)
    except (TokenfabError, TypeError) as e:
        ap.error(str(e))
    run: Callable[[Coroutine[Any, Any, None]], None]
    try:
        import uvloop

        run = uvloop.run
    except ImportError:
        run = asyncio.run
    with contextlib.suppress(KeyboardInterrupt):
        run(_serve(config, a.port, a.lifetime_s))


if __name__ == "__main__":
    main()
