"""Load generator for OpenAI-compatible streaming servers, on the raw asyncio client of :mod:`.http`.

* :func:`run_level` drives one load level in this process: closed loop (``level`` requests in flight, each worker
  sending its next request when the last one ends), open loop (requests at scheduled arrival times whatever the
  server does), a ramp, or a trace replay. Each record holds ``schedule_lag_ms``: how late the request went out
  against its schedule (its arrival time; in a closed loop the end of the worker's previous request; in a session
  the end of the previous turn plus the think time). Open-loop latency is also given from the scheduled time, so a
  client that falls behind cannot hide queueing (no coordinated omission).
* :func:`run_benchmark` runs every level, appends each record to the JSONL as it completes, resumes, overwrites,
  runs a sweep, optionally over several worker processes sharing one schedule, and checks the server first
  (:mod:`.preflight`).
* Nothing raises for a server or network fault: timeouts, HTTP errors, dropped connections, malformed or truncated
  SSE and empty outputs become an ``error_kind`` (:data:`ERROR_KINDS`). A stream that ends without ``[DONE]`` or a
  ``finish_reason`` is a failure, never a success at full length.

Token counts come from the server's streamed ``usage`` (asked for with ``stream_options.include_usage``); when it
is missing, from a local tokenizer if one was given, else one token per output chunk (``token_count_source`` says
which, and the summary warns). The API key goes in the ``Authorization`` header only and is masked out of anything
written.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import random
import threading
import time
from collections.abc import Callable, Coroutine, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any, cast

from tokenfab.bench import metrics, schedule
from tokenfab.bench.http import Exchange, HttpFault, Pool, Target, build_request, sse_events
from tokenfab.bench.workloads import WORKLOADS, JobPlan, TraceWorkload, TurnPlan, Workload, make_workload
from tokenfab.core.errors import TokenfabError

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    from tokenfab.bench.energy import EnergyMeter
    from tokenfab.bench.prompts import PromptSource

ERROR_KINDS = {
    "timeout": "no complete response within --timeout-s (includes hung servers)",
    "http_error": "the server answered with an HTTP status >= 400",
    "connection_error": "could not connect, or the connection dropped before a response",
    "stream_cut": "the stream ended or the connection dropped before [DONE] / a finish_reason",
    "malformed_sse": "a data: line that is not a JSON object",
    "stream_error": "the server sent an error object inside the stream",
    "empty_output": "the stream completed without any output text",
    "response_too_large": "a response body over 64 MiB (a broken or hostile server)",
    "client_error": "an unexpected error in the client (a bug: the message is recorded)",
}

MODES = ("closed", "open", "ramp", "sweep", "trace")
MAX_REQUESTS_PER_LEVEL = 100_000  # the count bound of a level (--requests, --duration)
MAX_PLANNED_PROMPT_TOKENS = 200_000_000  # prompt tokens planned before a level starts (about 1.2 GB of words)
MAX_CONCURRENCY = 10_000
MAX_CONNECTIONS = 10_000
MAX_WORKERS = 64
MAX_LEVELS = 64
MAX_TRACE_SPEED = 1_000.0
DEFAULT_OPEN_MAX_CONNECTIONS = 2_048  # open loop: requests in flight beyond this wait for a connection (lag)
SWEEP_STAGE_REQUESTS = 50  # requests of each of the sweep's two bounding runs unless --requests says otherwise


def _fd_limit() -> int:
    try:
        import resource

        return int(resource.getrlimit(resource.RLIMIT_NOFILE)[0])
    except (ImportError, ValueError, OSError):
        return 1024


def _finite_in(name: str, v: float, lo: float, hi: float, *, lo_open: bool = False) -> None:
    ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
    ok = ok and (v > lo if lo_open else v >= lo) and v <= hi
    if not ok:
        raise TokenfabError(
            "out of range", field=name, expected=f"a number in {'(' if lo_open else '['}{lo:g}, {hi:g}]", got=v
        )


def _int_in(name: str, v: int, lo: int, hi: int) -> None:
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise TokenfabError("out of range", field=name, expected=f"a whole number in [{lo}, {hi}]", got=v)


@dataclass(frozen=True)
class BenchConfig:
    """What a run measures. ``levels``: concurrencies (closed), request rates in req/s (open), the start and end
    rate (ramp), the speed-up (trace: 1 = as recorded); a sweep has ``sweep_rates`` instead."""

    url: str
    model: str
    endpoint: str = "completions"
    isl: int | None = None  # None: the workload's default (random: 1024)
    osl: int | None = None
    length_dist: str = "fixed"
    mode: str = "closed"
    levels: tuple[float, ...] = (1,)
    requests: int | None = None
    duration_s: float | None = None
    warmup: int = 0
    arrival: str = "poisson"
    timeout_s: float = 300.0
    seed: int = 0
    ignore_eos: bool = True
    tokenizer: str | None = None
    workload: str = "random"
    dataset: str | None = None
    turns: int = 1
    think_time_s: float = 0.0
    prefix_tokens: int = 0
    prefix_groups: int = 1
    prefix_hit_rate: float = 1.0
    trace: str | None = None
    sweep_rates: int = 8
    max_connections: int | None = None
    workers: int = 1
    event_loop: str = "auto"  # auto (uvloop when installed), uvloop, asyncio

    def __post_init__(self) -> None:
        if self.endpoint not in ("completions", "chat"):
            raise TokenfabError(
                "unknown endpoint", field="--endpoint", expected="completions or chat", got=self.endpoint
            )
        if self.mode not in MODES:
            raise TokenfabError("unknown mode", field="mode", expected=", ".join(MODES), got=self.mode)
        if self.workload not in WORKLOADS:
            raise TokenfabError(
                "unknown workload", field="--workload", expected=", ".join(WORKLOADS), got=self.workload
            )
        if (self.workload == "trace") != (self.mode == "trace"):
            raise TokenfabError(
                "a trace is replayed at its own times: --workload trace goes with --trace-speed, and only with it",
                field="--workload",
                got=self.workload,
            )
        Target.from_url(self.url)
        if not isinstance(self.model, str) or not self.model.strip() or len(self.model) > 512:
            raise TokenfabError("must be a model name (1-512 characters)", field="--model", got=self.model)
        for name in ("isl", "osl"):
            v = getattr(self, name)
            if v is not None:
                _int_in(f"--{name}", v, 1, 1_000_000)
        from tokenfab.bench.prompts import parse_length_dist

        parse_length_dist(self.length_dist)
        schedule.parse_arrival(self.arrival)
        if self.requests is not None:
            _int_in("--requests", self.requests, 1, MAX_REQUESTS_PER_LEVEL)
        if self.duration_s is not None:
            _finite_in("--duration", self.duration_s, 0, 7 * 86400, lo_open=True)
        _int_in("--warmup", self.warmup, 0, 10_000)
        _finite_in("--timeout-s", self.timeout_s, 0, 86400, lo_open=True)
        _int_in("--workers", self.workers, 1, MAX_WORKERS)
        if self.max_connections is not None:
            _int_in("--max-connections", self.max_connections, 1, min(MAX_CONNECTIONS, max(1, _fd_limit() - 64)))
        if self.event_loop not in ("auto", "uvloop", "asyncio"):
            raise TokenfabError(
                "unknown event loop", field="--event-loop", expected="auto, uvloop or asyncio", got=self.event_loop
            )
        if self.mode == "sweep":
            _int_in("--rate sweep:K", self.sweep_rates, 2, 64)
        elif not self.levels or len(self.levels) > MAX_LEVELS:
            raise TokenfabError("give 1 to 64 load levels", field="load", got=len(self.levels or ()))
        elif self.mode != "ramp" and len(set(self.levels)) != len(self.levels):
            # two levels of one concurrency or rate share their request ids: they would be merged into one level
            raise TokenfabError("a load level given twice", field="load", expected="each level once", got=self.levels)
        if self.mode == "closed":
            for c in self.levels:
                if not (float(c).is_integer() and 1 <= c <= MAX_CONCURRENCY):
                    raise TokenfabError(
                        "out of range",
                        field="--concurrency",
                        expected=f"whole numbers in [1, {MAX_CONCURRENCY}]",
                        got=c,
                    )
        elif self.mode in ("open", "ramp"):
            for r in self.levels:
                if not (r > 0 and (r <= schedule.MAX_RATE_PER_S or (math.isinf(r) and self.mode == "open"))):
                    raise TokenfabError(
                        "out of range",
                        field="--rate",
                        expected=f"req/s in (0, {schedule.MAX_RATE_PER_S:g}] or inf",
                        got=r,
                    )
            if self.mode == "ramp" and len(self.levels) != 2:
                raise TokenfabError("a ramp has a start and an end rate", field="--rate", expected="ramp:START:END")
        elif self.mode == "trace":
            for s in self.levels:
                _finite_in("--trace-speed", s, 0, MAX_TRACE_SPEED, lo_open=True)
        if self.workload == "prefix" and self.prefix_tokens < 1:
            raise TokenfabError(
                "the prefix workload needs the shared prefix length",
                field="--prefix-tokens",
                expected="tokens >= 1",
                got=self.prefix_tokens,
            )
        if self.turns > 1 and self.workload in ("prefix", "trace"):
            raise TokenfabError(
                "multi-turn sessions are for the random and conversations workloads", field="--turns", got=self.turns
            )
        self._check_planned_prompts()

    def _check_planned_prompts(self) -> None:
        """A level's prompts are made before it starts (but a closed loop's for a --duration: as they are sent), so
        requests x input tokens is bounded: 100,000 requests of 100,000 tokens would need about 60 GB."""
        if not self.isl or self.mode == "trace" or (self.mode == "closed" and self.duration_s is not None):
            return
        if self.mode == "sweep":  # its rates come from the probe: bounded by the count given, if any
            if self.requests is None:
                return
            n = self.requests
        else:
            n = max((self.level_requests(lv) for lv in self.levels), default=0)
        planned = n * self.isl * max(1, self.turns)
        if planned > MAX_PLANNED_PROMPT_TOKENS:
            raise TokenfabError(
                f"{n:,} requests x {self.isl:,} input tokens"
                + (f" x {self.turns} turns" if self.turns > 1 else "")
                + f" = {planned:,} prompt tokens, made before the level starts (more than "
                f"{MAX_PLANNED_PROMPT_TOKENS:,}, about a gigabyte of text)",
                field="--requests"
                if self.requests is not None
                else "--duration"
                if self.duration_s is not None
                else "--isl",
                expected="fewer --requests or a shorter --isl, or a closed loop for a --duration (its prompts are made "
                "as they are sent)",
            )

    def identity(self) -> dict:
        """The settings that define what is measured (hashed into run_id; --resume needs the same). The load levels
        are part of it: a new level written into an existing file is a new run, never merged into an old one."""
        d = asdict(self)
        for k in ("timeout_s", "max_connections", "workers", "event_loop", "warmup"):
            d.pop(k)  # how the client runs, not what is measured
        if self.mode not in ("open", "ramp", "sweep"):
            d["arrival"] = None
        if self.workload != "prefix":
            for k in ("prefix_tokens", "prefix_groups", "prefix_hit_rate"):
                d.pop(k)
        if self.mode != "sweep":
            d.pop("sweep_rates")
        d["levels"] = ["inf" if math.isinf(x) else x for x in self.levels]
        return d

    def target(self) -> Target:
        return Target.from_url(self.endpoint_url())

    def endpoint_url(self) -> str:
        u = self.url.rstrip("/")
        path = "/completions" if self.endpoint == "completions" else "/chat/completions"
        if u.endswith(path):
            return u
        return (u if u.endswith("/v1") else u + "/v1") + path

    def models_url(self) -> str:
        u = self.endpoint_url()
        return u[: u.rindex("/chat/completions" if self.endpoint == "chat" else "/completions")] + "/models"

    def level_requests(self, level: float, mode: str | None = None, trace_rows: int | None = None) -> int:
        """Jobs at a level (requests; sessions with --turns > 1): --requests, else 10 x concurrency (InferenceX)
        closed, 30 s of arrivals (>= 50) open; with --duration, rate x duration open; the trace's rows."""
        mode = mode or self.mode
        if mode == "trace":
            return trace_rows or 0
        if self.requests is not None:
            return self.requests
        if mode == "closed":
            return (
                MAX_REQUESTS_PER_LEVEL if self.duration_s is not None else min(MAX_REQUESTS_PER_LEVEL, 10 * int(level))
            )
        if mode == "ramp":
            return min(MAX_REQUESTS_PER_LEVEL, max(50, math.ceil(30 * (self.levels[0] + self.levels[1]) / 2)))
        if math.isinf(level):
            return 100
        if self.duration_s is not None:
            return min(MAX_REQUESTS_PER_LEVEL, max(1, math.ceil(level * self.duration_s)))
        return min(MAX_REQUESTS_PER_LEVEL, max(50, math.ceil(30 * level)))


def level_tag(mode: str, level: float, level_end: float | None = None) -> str:
    if mode == "closed":
        return f"c{int(level)}"
    if mode == "ramp":
        return f"r{level:g}to{level_end:g}"
    if mode == "trace":
        return f"t{level:g}x"
    return f"r{level:g}"


def request_id(mode: str, level: float, index: int, turn: int | None = None, level_end: float | None = None) -> str:
    rid = f"{level_tag(mode, level, level_end)}-{index:06d}"
    return rid if turn is None else f"{rid}-t{turn:02d}"


def parse_arrival(spec: str) -> tuple[str, float]:
    """Kept for callers of the old API: see :func:`tokenfab.bench.schedule.parse_arrival`."""
    return schedule.parse_arrival(spec)


# ---- one request ------------------------------------------------------------------------------------------------


@dataclass
class RequestSpec:
    request_id: str
    index: int
    prompt: str  # the new user text (single turn: the whole prompt)
    input_tokens: int  # what the prompt source vouches for (history included)
    input_token_source: str
    max_tokens: int
    turn: int = 0
    history: tuple[tuple[str, str], ...] = ()  # (user text, reply) of earlier turns of the session
    meta: dict = field(default_factory=dict)


def make_request(
    cfg: BenchConfig,
    level: float,
    index: int,
    source: PromptSource | None = None,
    workload: Workload | None = None,
) -> RequestSpec:
    """The first request of job ``index`` of a level (reproducible from the seed, level and index)."""
    wl = workload or _workload(cfg, source)
    plan = wl.job(level_tag("closed" if cfg.mode == "closed" else "open", level), cfg.seed, index)
    t = plan.turns[0]
    return RequestSpec(
        request_id(cfg.mode, level, index), index, t.text, t.tokens, t.token_source, t.max_tokens, meta=dict(t.meta)
    )


def build_payload(cfg: BenchConfig, spec: RequestSpec) -> dict:
    body: dict = {
        "model": cfg.model,
        "max_tokens": spec.max_tokens,
        "stream": True,
        "stream_options": {"include_usage": True},
        "temperature": 0.0,
    }
    if cfg.ignore_eos:
        body["ignore_eos"] = True
        body["min_tokens"] = spec.max_tokens  # vLLM/SGLang extension: output length exactly max_tokens
    if cfg.endpoint == "chat":
        msgs = []
        for user, reply in spec.history:
            msgs += [{"role": "user", "content": user}, {"role": "assistant", "content": reply}]
        body["messages"] = msgs + [{"role": "user", "content": spec.prompt}]
    else:
        body["prompt"] = " ".join([x for pair in spec.history for x in pair] + [spec.prompt])
    return body


def _chunk_text(obj: dict) -> str:
    """Output text carried by one streamed chunk (completions ``text``, chat ``delta.content`` or reasoning)."""
    out = []
    for c in obj.get("choices") or ():
        if not isinstance(c, dict):
            continue
        t = c.get("text")
        if t is None:
            d = c.get("delta") or c.get("message") or {}
            if not isinstance(d, dict):
                continue
            t = (d.get("content") or "") + (d.get("reasoning_content") or d.get("reasoning") or "")
        if isinstance(t, str) and t:
            out.append(t)
    return "".join(out)


def _finished(obj: dict) -> bool:
    return any(isinstance(c, dict) and c.get("finish_reason") for c in obj.get("choices") or ())


class _Fault(Exception):
    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


def parse_stream(ex: Exchange) -> tuple[list[float], list[str], dict, HttpFault | _Fault | None]:
    """(chunk times, chunk texts, usage, fault) of a finished exchange: run after the response, off the timing path."""
    if ex.fault is not None and not ex.marks and ex.status == 0:
        return [], [], {}, ex.fault
    if ex.status >= 400:
        body = bytes(ex.body[:300]).decode("utf-8", "replace")
        return [], [], {}, _Fault("http_error", f"HTTP {ex.status}: {body}")
    times: list[float] = []
    parts: list[str] = []
    usage: dict = {}
    finished = False
    ctype = ex.headers.get("content-type", "")
    if "json" in ctype and "event-stream" not in ctype and ex.fault is None:  # the server ignored stream=true
        try:
            obj = json.loads(bytes(ex.body))
        except (ValueError, RecursionError):
            return [], [], {}, _Fault("malformed_sse", "a non-streamed response that is not JSON")
        if isinstance(obj, dict):
            text = _chunk_text(obj)
            if text:
                times, parts = [ex.t_end], [text]
            u = obj.get("usage")
            usage = u if isinstance(u, dict) else {}
            finished = _finished(obj)
    else:
        for t, data in sse_events(ex.body, ex.marks):
            if data == b"[DONE]":
                finished = True
                break
            try:
                obj = json.loads(data)
            except (ValueError, RecursionError):
                obj = None
            if not isinstance(obj, dict):
                return (
                    times,
                    parts,
                    usage,
                    _Fault("malformed_sse", f"not a JSON object: {data[:80].decode('utf-8', 'replace')!r}"),
                )
            if obj.get("error"):
                return times, parts, usage, _Fault("stream_error", f"server error in stream: {str(obj['error'])[:200]}")
            text = _chunk_text(obj)
            if text:
                times.append(t)
                parts.append(text)
            u = obj.get("usage")
            if isinstance(u, dict) and u:
                usage = u
            finished = finished or _finished(obj)
    if ex.fault is not None:
        return times, parts, usage, ex.fault
    if not finished:
        return times, parts, usage, _Fault("stream_cut", "the stream ended before [DONE] or a finish_reason")
    if not times:
        return times, parts, usage, _Fault("empty_output", "the stream completed without output text")
    return times, parts, usage, None


class LiveStats:
    """Counters the hot path bumps and a progress display polls (no call per request)."""

    __slots__ = ("done", "failed", "level", "output_tokens", "sent", "total")

    def __init__(self) -> None:
        self.sent = self.done = self.failed = self.output_tokens = 0
        self.level = ""
        self.total: int | None = None

    @property
    def in_flight(self) -> int:
        return max(0, self.sent - self.done)


@dataclass
class SendContext:
    """What every request of a level shares."""

    cfg: BenchConfig
    pool: Pool
    head_headers: dict
    run_id: str
    session_id: str
    mode: str
    level: float
    level_end: float | None
    on_record: Callable[[dict], None]
    count_tokens: Callable[[str], int | None] = field(default=lambda text: None)
    secrets: tuple[str, ...] = ()
    stats: LiveStats = field(default_factory=LiveStats)
    done: Mapping[str, dict] = field(default_factory=dict)
    perf_anchor: float = 0.0
    wall_anchor: float = 0.0
    worker: int = 0
    from_schedule: bool = False

    def wall(self, p: float | None) -> float | None:
        return None if p is None else self.wall_anchor + (p - self.perf_anchor)


MAX_USAGE_TOKENS = 10_000_000  # no single request reads or writes ten million tokens: a larger count is not a count


def _usage_count(usage: Mapping, key: str, rejected: dict[str, object], *, empty_ok: bool) -> int | None:
    """``usage[key]`` when it is a token count that can be true (a whole number in [0, MAX_USAGE_TOKENS], and 0
    only where nothing was sent or streamed: ``empty_ok``); None when absent, and None with the value kept in
    ``rejected`` when it cannot be."""
    v = usage.get(key)
    if v is None:
        return None
    if isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= MAX_USAGE_TOKENS and (v > 0 or empty_ok):
        return v
    rejected[key] = v if isinstance(v, int | float | str | bool) else str(v)[:50]
    return None


def _mask(text: str, secrets: Iterable[str]) -> str:
    for s in secrets:
        if s:
            text = text.replace(s, "***")
    return text


def _payload_bytes(ctx: SendContext, spec: RequestSpec) -> bytes:
    body = json.dumps(build_payload(ctx.cfg, spec), separators=(",", ":")).encode()
    return build_request(ctx.pool.target, "POST", ctx.pool.target.path, body, ctx.head_headers)


async def send_request(
    ctx: SendContext, spec: RequestSpec, scheduled_perf: float | None = None, payload: bytes | None = None
) -> tuple[dict, str, float]:
    """Send one streamed request; returns (record, reply text, end time). Never raises except on cancellation."""
    cfg = ctx.cfg
    payload = payload if payload is not None else _payload_bytes(ctx, spec)
    ctx.stats.sent += 1
    try:
        ex = await ctx.pool.send(payload, cfg.timeout_s)
        times, parts, usage, fault = parse_stream(ex)
    except asyncio.CancelledError:
        raise
    except Exception as e:  # noqa: BLE001 - a benchmark must count, never crash
        from tokenfab.bench.http import Exchange

        ex = Exchange(asyncio.get_running_loop().create_future())
        ex.t_send = ex.t_end = time.perf_counter()
        times, parts, usage, fault = [], [], {}, _Fault("client_error", f"{type(e).__name__}: {e}")
    perf0 = ex.t_send
    ttft = (times[0] - perf0) * 1e3 if times else None
    e2el = (times[-1] - perf0) * 1e3 if times else None
    text = "".join(parts)
    # the server's usage counts, where they can be true: a whole number in range, and not 0 beside streamed text
    # (a negative, absurd or contradicted count is set aside and named in the record, not trusted)
    rejected: dict[str, object] = {}
    out_tok, source = _usage_count(usage, "completion_tokens", rejected, empty_ok=not text.strip()), "usage"
    if out_tok is None:
        n = ctx.count_tokens(text) if parts else None
        out_tok, source = (n, "tokenizer") if n is not None else (len(times), "chunks")
    in_tok, in_source = _usage_count(usage, "prompt_tokens", rejected, empty_ok=spec.input_tokens == 0), "usage"
    if in_tok is None:
        in_tok, in_source = spec.input_tokens, spec.input_token_source
    ok = fault is None
    mode = ctx.mode
    rec = {
        "run_id": ctx.run_id,
        "session_id": ctx.session_id,
        "request_id": spec.request_id,
        "index": spec.index,
        "mode": mode,
        "concurrency": int(ctx.level) if mode == "closed" else None,
        "rate": None if mode in ("closed", "trace") else ("inf" if math.isinf(ctx.level) else ctx.level),
        "status": "ok" if ok else "error",
        "error_kind": None if fault is None else fault.kind,
        "error": None if ok else _mask(str(fault), ctx.secrets)[:300],
        "http_status": ex.status or None,
        "ttft_ms": ttft,
        "tpot_ms": metrics.tpot_ms(ttft, e2el, out_tok, chunks=len(times)) if ok else None,
        "e2el_ms": e2el,
        "itl_ms": [round(g, 4) for g in metrics.itl_gaps_ms(times)],
        "ttft_ms_from_schedule": None,
        "e2el_ms_from_schedule": None,
        "schedule_lag_ms": None if scheduled_perf is None else (perf0 - scheduled_perf) * 1e3,
        "input_tokens": in_tok,
        "output_tokens": out_tok,
        "token_count_source": source,
        "input_token_source": in_source,
        "requested_input_tokens": spec.input_tokens,
        "requested_output_tokens": spec.max_tokens,
        "chunks": len(times),
        "t_scheduled": ctx.wall(scheduled_perf),
        "t_start": ctx.wall(perf0),
        "t_first_token": ctx.wall(times[0] if times else None),
        "t_end": ctx.wall(ex.t_end or perf0),
        "workload": cfg.workload,
        "turn": spec.turn,
        "worker": ctx.worker,
    }
    if mode == "ramp":
        rec["rate_end"] = ctx.level_end
    if mode == "trace":
        rec["trace_speed"] = ctx.level
    if rejected:
        rec["usage_rejected"] = rejected
    rec.update(spec.meta)
    if ctx.from_schedule and scheduled_perf is not None and times:
        rec["ttft_ms_from_schedule"] = (times[0] - scheduled_perf) * 1e3
        rec["e2el_ms_from_schedule"] = (times[-1] - scheduled_perf) * 1e3
    ctx.stats.done += 1
    if ok:
        ctx.stats.output_tokens += out_tok or 0
    else:
        ctx.stats.failed += 1
    return rec, text, ex.t_end or perf0


def _standin_reply(rec: Mapping) -> str:
    """A reply of the recorded length for a turn done in an earlier session (its text is not kept)."""
    n = max(1, int(rec.get("output_tokens") or 1))
    from tokenfab.bench.prompts import ONE_TOKEN_WORDS

    return " ".join(ONE_TOKEN_WORDS[i % len(ONE_TOKEN_WORDS)] for i in range(n))


def _turn_spec(
    ctx: SendContext, job: JobPlan, k: int, turn: TurnPlan, history: Iterable[tuple[str, str]], history_tokens: int
) -> RequestSpec:
    multi = len(job.turns) > 1
    rid = request_id(ctx.mode, ctx.level, job.index, k if multi else None, ctx.level_end)
    return RequestSpec(
        rid,
        job.index,
        turn.text,
        turn.tokens + history_tokens,
        turn.token_source,
        turn.max_tokens,
        k,
        tuple(history),
        dict(turn.meta),
    )


async def _sleep_until(target_perf: float) -> None:
    """Wait until ``time.perf_counter()`` reaches ``target_perf``, never returning early: an event loop's timers can
    fire up to a tick before their time (uvloop rounds to milliseconds), which would send a request before its
    scheduled arrival. The last ~2 ms are spent yielding to the loop (bounded by the target)."""
    while True:
        d = target_perf - time.perf_counter()
        if d <= 0:
            return
        await asyncio.sleep(d if d > 0.002 else 0)


async def run_job(ctx: SendContext, job: JobPlan, scheduled_perf: float, first_payload: bytes | None = None) -> float:
    """Send every turn of a job (a session when it has several), recording each; returns the end time."""
    history: list[tuple[str, str]] = []
    history_tokens = 0
    sched = scheduled_perf
    end = scheduled_perf
    for k, turn in enumerate(job.turns):
        spec = _turn_spec(ctx, job, k, turn, history, history_tokens)
        if k > 0:
            sched = end + turn.think_time_s
            await _sleep_until(sched)
        prior = ctx.done.get(spec.request_id)
        if prior is not None:  # --resume: this turn has its record already
            reply, n_out = _standin_reply(prior), int(prior.get("output_tokens") or 1)
            end = time.perf_counter()
        else:
            rec, reply, end = await send_request(ctx, spec, sched, first_payload if k == 0 else None)
            ctx.on_record(rec)
            n_out = rec["output_tokens"] or 0
            if rec["status"] != "ok" and not reply:
                reply = _standin_reply({"output_tokens": turn.max_tokens})
        history.append((turn.text, reply))
        history_tokens += turn.tokens + n_out
    return end


# ---- one level --------------------------------------------------------------------------------------------------


class LevelWindow:
    """The steady-state marks of a level, each (wall-clock time, energy counter mJ or None): ``start`` after
    warm-up, and ``last_send`` when ramp-down begins: closed loop, when the first worker finds no request left to
    send (from then on fewer than C requests are in flight); open loop, when the last request is sent.
    ``meter``: an EnergyMeter."""

    def __init__(self, meter: EnergyMeter | None = None) -> None:
        self.meter = meter
        self.start: tuple[float, int | None] | None = None
        self.last_send: tuple[float, int | None] | None = None

    def _mark(self) -> tuple[float, int | None]:
        return time.time(), (self.meter.read_mj() if self.meter is not None else None)

    def mark_start(self) -> None:
        self.start = self._mark()

    def mark_last_send(self) -> None:
        if self.last_send is None:
            self.last_send = self._mark()


def _workload(cfg: BenchConfig, source: PromptSource | None = None) -> Workload:
    from tokenfab.bench.prompts import prompt_source

    source = source if source is not None else prompt_source(cfg.tokenizer)
    return make_workload(
        cfg.workload,
        source,
        isl=cfg.isl,
        osl=cfg.osl,
        length_dist=cfg.length_dist,
        turns=cfg.turns,
        think_time_s=cfg.think_time_s,
        dataset=cfg.dataset,
        prefix_tokens=cfg.prefix_tokens,
        prefix_groups=cfg.prefix_groups,
        prefix_hit_rate=cfg.prefix_hit_rate,
        trace=cfg.trace,
    )


@dataclass
class LevelPlan:
    """The jobs of one level still to send, and when (offsets from the level's start; None: closed loop)."""

    mode: str
    level: float
    level_end: float | None
    jobs: list[JobPlan]
    offsets_s: list[float] | None
    total_requests: int
    done_requests: int


@dataclass(frozen=True)
class LazyJobs:
    """The jobs of a closed loop run for a --duration: up to MAX_REQUESTS_PER_LEVEL of them, each made when the loop
    takes it (making 100,000 prompts up front took seconds and gigabytes for a one-second run). A slice is lazy too;
    the workload is bound where the jobs are sent (:meth:`bind`) and is not pickled to worker processes."""

    tag: str
    seed: int
    indices: range
    workload: Workload | None = None

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, k: slice) -> LazyJobs:
        return replace(self, indices=self.indices[k])

    def __iter__(self) -> Iterator[JobPlan]:
        if self.workload is None:
            raise RuntimeError("LazyJobs.bind(workload) before taking jobs")
        for i in self.indices:
            yield self.workload.job(self.tag, self.seed, i)

    def bind(self, workload: Workload) -> LazyJobs:
        return replace(self, workload=workload)

    def __getstate__(self) -> dict:
        return {"tag": self.tag, "seed": self.seed, "indices": self.indices, "workload": None}

    def __setstate__(self, state: dict) -> None:
        for k, v in state.items():
            object.__setattr__(self, k, v)


def plan_level(
    cfg: BenchConfig,
    mode: str,
    level: float,
    workload: Workload,
    done: Mapping[str, dict],
    level_end: float | None = None,
    start_index: int = 0,
) -> LevelPlan:
    """Which jobs of the level have no record yet, and their send offsets (resumed runs keep the rate: the
    remaining jobs take the first gaps of the schedule)."""
    tag = level_tag(mode, level, level_end)
    trace_rows = len(cast(TraceWorkload, workload)) if mode == "trace" else None  # the trace workload goes with it
    n = cfg.level_requests(level, mode, trace_rows)
    if mode == "closed" and cfg.duration_s is not None:  # as many as the duration takes: made as they are sent
        # (a resumed run starts after the last index recorded; run_job skips a turn that has its record)
        done_n = sum(1 for rid in done if str(rid).startswith(f"c{int(level)}-"))
        lazy = LazyJobs(f"c{int(level)}", cfg.seed, range(start_index, MAX_REQUESTS_PER_LEVEL))
        return LevelPlan(mode, level, level_end, cast(list, lazy), None, MAX_REQUESTS_PER_LEVEL, done_n)
    pending: list[JobPlan] = []
    total = done_n = 0
    for i in range(start_index, n):
        job = workload.job(tag if mode != "closed" else f"c{int(level)}", cfg.seed, i)
        multi = len(job.turns) > 1
        ids = [request_id(mode, level, i, k if multi else None, level_end) for k in range(len(job.turns))]
        have = sum(1 for r in ids if r in done)
        total += len(ids)
        done_n += have
        if have < len(ids):
            pending.append(job)
    offsets: list[float] | None = None
    if mode in ("open", "sweep"):
        rng = random.Random(f"{cfg.seed}:{tag}:arrivals")
        offsets = schedule.arrival_offsets_s(n, level, cfg.arrival, rng)[: len(pending)]
    elif mode == "ramp":
        rng = random.Random(f"{cfg.seed}:{tag}:arrivals")
        assert level_end is not None  # a ramp has an end rate
        offsets = schedule.ramp_offsets_s(n, level, level_end, cfg.arrival, rng)[: len(pending)]
    elif mode == "trace":
        # a trace job carries its send time (TraceWorkload.job)
        base = cast(float, pending[0].offset_s) if pending else 0.0
        offsets = [(cast(float, j.offset_s) - base) / level for j in pending]
    return LevelPlan(mode, level, level_end, pending, offsets, total, done_n)


def _loop_runner(choice: str) -> tuple[asyncio.Runner, str]:
    """An asyncio.Runner on uvloop when asked for or installed (``auto``), else the standard loop."""
    if choice in ("auto", "uvloop"):
        try:
            import uvloop

            return asyncio.Runner(loop_factory=uvloop.new_event_loop), "uvloop"
        except ImportError:
            if choice == "uvloop":
                raise TokenfabError(
                    "uvloop is not installed",
                    field="--event-loop",
                    hint="pip install 'tokenfab[bench]', or use --event-loop asyncio",
                ) from None
    return asyncio.Runner(), "asyncio"


@dataclass
class LevelStats:
    """The client's own cost during a level (the self-check)."""

    wall_s: float = 0.0
    cpu_s: float = 0.0
    loop_lag_ms: list[float] = field(default_factory=list)
    connections: int = 0
    max_in_flight: int = 0
    event_loop: str = "asyncio"
    workers: int = 1
    cpu_share_max: float = 0.0  # the busiest process's CPU / wall (1.0 = one core saturated)


async def _loop_lag_monitor(samples: list[float], period_s: float = 0.01, keep: int = 100_000) -> None:
    while True:
        t = time.perf_counter()
        await asyncio.sleep(period_s)
        if len(samples) < keep:
            samples.append(max(0.0, (time.perf_counter() - t - period_s) * 1e3))


def max_connections_for(cfg: BenchConfig, mode: str, level: float, share: int = 1) -> int:
    """Connections (= most requests in flight) of one process: the concurrency in a closed loop, else
    --max-connections (default 2,048), within the file-descriptor limit."""
    cap = max(1, min(MAX_CONNECTIONS, _fd_limit() - 64))
    if mode == "closed":
        return max(1, min(cap, math.ceil(int(level) / share)))
    want = cfg.max_connections or DEFAULT_OPEN_MAX_CONNECTIONS
    return max(1, min(cap, math.ceil(want / share)))


def _warm_count(plan: LevelPlan, max_conn: int) -> int:
    if plan.mode == "closed":
        return max_conn
    n = len(plan.jobs)
    if plan.offsets_s and n > 1 and plan.offsets_s[-1] > 0:
        rate = n / plan.offsets_s[-1]
        return min(max_conn, n, 256, max(4, math.ceil(rate * 0.25)))
    return min(max_conn, n, 256)


async def run_plan(
    cfg: BenchConfig,
    plan: LevelPlan,
    *,
    run_id: str,
    session_id: str,
    on_record: Callable[[dict], None],
    api_key: str | None = None,
    source: PromptSource | None = None,
    workload: Workload | None = None,
    duration_left_s: float | None = None,
    window: LevelWindow | None = None,
    stats: LiveStats | None = None,
    done: Mapping[str, dict] | None = None,
    worker: int = 0,
    workers: int = 1,
    start_at_perf: float | None = None,
    ready: Callable[[], None] | None = None,
    start_future: asyncio.Future | None = None,
) -> LevelStats:
    """Send the plan's jobs (this process's share: job k of the plan when k % workers == worker)."""
    window = window if window is not None else LevelWindow()
    stats = stats if stats is not None else LiveStats()
    workload = workload or _workload(cfg, source)
    jobs = plan.jobs if workers == 1 else plan.jobs[worker::workers]
    if isinstance(jobs, LazyJobs):
        jobs = cast(list, jobs.bind(workload))
    offsets = None if plan.offsets_s is None else (plan.offsets_s if workers == 1 else plan.offsets_s[worker::workers])
    conc = None
    if plan.mode == "closed":
        c = int(plan.level)
        conc = c // workers + (1 if worker < c % workers else 0)
    max_conn = max_connections_for(cfg, plan.mode, plan.level, workers) if conc is None else max(1, conc)
    headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    pool = Pool(cfg.target(), max_conn, connect_timeout_s=min(cfg.timeout_s, 30.0))
    counter = getattr(workload.source, "count", lambda text: None) if hasattr(workload, "source") else (lambda t: None)
    ctx = SendContext(
        cfg,
        pool,
        headers,
        run_id,
        session_id,
        plan.mode,
        plan.level,
        plan.level_end,
        on_record,
        counter,
        (api_key,) if api_key else (),
        stats,
        done or {},
        worker=worker,
        from_schedule=plan.mode != "closed",
    )
    ls = LevelStats(workers=workers)
    lag_task = None
    try:
        await pool.warm(_warm_count(plan, max_conn) if (conc is None or conc > 0) else 0)
        if cfg.warmup and jobs and worker == 0:
            await _warmup(ctx, cfg, workload, min(max_conn, cfg.warmup, 64))
        if ready is not None:
            ready()
        if start_future is not None:
            start_at_perf = await start_future
            if start_at_perf is None:  # the parent went away
                return LevelStats(workers=workers)
        if start_at_perf is not None:
            await _sleep_until(start_at_perf)
        ctx.perf_anchor, ctx.wall_anchor = time.perf_counter(), time.time()
        window.mark_start()
        t0 = start_at_perf if start_at_perf is not None else ctx.perf_anchor
        lag_task = asyncio.create_task(_loop_lag_monitor(ls.loop_lag_ms))
        cpu0 = time.process_time()
        deadline = None if duration_left_s is None else t0 + duration_left_s
        if conc is not None:
            if conc > 0:
                await _closed_loop(ctx, jobs, conc, t0, deadline, window)
        else:
            assert offsets is not None  # every plan but a closed loop's has send offsets (plan_level)
            await _open_loop(ctx, jobs, offsets, t0, deadline, window)
        ls.cpu_s = time.process_time() - cpu0
        ls.wall_s = time.perf_counter() - t0
    finally:
        if lag_task is not None:
            lag_task.cancel()
        ls.connections, ls.max_in_flight = pool.connections_made, pool.max_in_flight
        pool.close()
    ls.cpu_share_max = ls.cpu_s / ls.wall_s if ls.wall_s > 0 else 0.0
    return ls


async def _warmup(ctx: SendContext, cfg: BenchConfig, workload: Workload, conc: int) -> None:
    """cfg.warmup requests before the clock starts; not recorded (their prompts differ from measured ones)."""
    warm = iter(range(cfg.warmup))
    quiet = replace(ctx, on_record=lambda r: None, stats=LiveStats(), done={})

    async def worker() -> None:
        for i in warm:
            job = workload.job("warmup", cfg.seed, i)
            t = job.turns[0]
            spec = RequestSpec(f"warmup-{i}", -1 - i, t.text, t.tokens, t.token_source, t.max_tokens)
            await send_request(quiet, spec)

    await asyncio.gather(*(worker() for _ in range(max(1, conc))))


async def _closed_loop(
    ctx: SendContext, jobs: list[JobPlan], conc: int, t0: float, deadline: float | None, window: LevelWindow
) -> None:
    queue = iter(jobs)
    lazy = isinstance(jobs, LazyJobs)
    lock = threading.Lock()

    def take() -> JobPlan | None:
        with lock:  # one generator, several threads: one at a time
            return next(queue, None)

    async def worker() -> None:
        last_end = t0
        while True:
            if deadline is not None and time.perf_counter() >= deadline:
                break
            # a lazy plan's prompt is made off the event loop (a 200k-token prompt takes ~13 ms to make: on the loop
            # it would hold up the streams of the requests in flight)
            job = await asyncio.to_thread(take) if lazy else next(queue, None)
            if job is None:
                break
            last_end = await run_job(ctx, job, last_end)
        window.mark_last_send()  # the first worker to find no more work: ramp-down begins

    await asyncio.gather(*(worker() for _ in range(max(1, min(conc, len(jobs))))))


async def _open_loop(
    ctx: SendContext,
    jobs: list[JobPlan],
    offsets: list[float],
    t0: float,
    deadline: float | None,
    window: LevelWindow,
) -> None:
    tasks: set[asyncio.Task] = set()
    perf = time.perf_counter
    try:
        for job, off in zip(jobs, offsets, strict=True):  # one send offset per job (plan_level)
            sched = t0 + off
            if deadline is not None and sched >= deadline:
                break
            # the first request's bytes are built before the wait: their cost is not schedule lag
            first = _turn_spec(ctx, job, 0, job.turns[0], (), 0)
            payload = None if first.request_id in ctx.done else _payload_bytes(ctx, first)
            if sched > perf():
                await _sleep_until(sched)
            else:
                await asyncio.sleep(0)  # yield, so responses are read while behind schedule
            t = asyncio.create_task(run_job(ctx, job, sched, payload))
            tasks.add(t)
            t.add_done_callback(tasks.discard)
        window.mark_last_send()
        if tasks:
            await asyncio.gather(*tasks)
    finally:
        for t in tasks:
            t.cancel()


def run_level(
    cfg: BenchConfig,
    level: float,
    *,
    run_id: str,
    session_id: str,
    on_record: Callable[[dict], None],
    skip_ids: Iterable[str] = (),
    source: PromptSource | None = None,
    api_key: str | None = None,
    duration_left_s: float | None = None,
    start_index: int = 0,
    window: LevelWindow | None = None,
) -> Coroutine[Any, Any, LevelStats]:
    """Coroutine running one level of ``cfg`` in this process (kept for callers of the old API). ``skip_ids``: ids
    done already. Returns :class:`LevelStats`."""
    workload = _workload(cfg, source)
    done: dict[str, dict] = {r: {} for r in skip_ids}
    mode = "open" if cfg.mode == "sweep" else cfg.mode
    level_end = cfg.levels[1] if cfg.mode == "ramp" else None
    plan = plan_level(cfg, mode, level, workload, done, level_end, start_index)
    return run_plan(
        cfg,
        plan,
        run_id=run_id,
        session_id=session_id,
        on_record=on_record,
        api_key=api_key,
        workload=workload,
        duration_left_s=duration_left_s,
        window=window,
        done=done,
    )


# ---- several worker processes sharing one schedule -------------------------------------------------------------


def worker_main(
    conn: Connection, cfg: BenchConfig, plan: LevelPlan, kw: dict[str, Any], worker: int, workers: int
) -> None:
    """A worker process: its share of the plan; records go to the parent, which alone writes the file. Protocol:
    worker -> ("ready",) once its pool is warm; parent -> start time (perf_counter, shared by all processes on the
    machine); worker -> ("rec", record)... ("sent", n) now and then, then ("done", LevelStats) or ("error", text)."""
    import signal
    import threading

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops the workers
    stats = LiveStats()
    last = [0.0]
    lock = threading.Lock()

    def send(msg: tuple) -> None:
        with lock:
            conn.send(msg)

    def on_record(rec: dict) -> None:
        send(("rec", rec))
        now = time.perf_counter()
        if now - last[0] > 0.25:
            last[0] = now
            send(("sent", stats.sent))

    async def main() -> LevelStats:
        loop = asyncio.get_running_loop()
        start: asyncio.Future = loop.create_future()

        def ready() -> None:
            send(("ready", worker))

            def wait_start() -> None:
                try:
                    msg = conn.recv()
                except (EOFError, OSError):
                    msg = None

                def deliver() -> None:
                    if not start.done():
                        start.set_result(msg)

                loop.call_soon_threadsafe(deliver)

            threading.Thread(target=wait_start, daemon=True).start()

        return await run_plan(
            cfg,
            plan,
            on_record=on_record,
            stats=stats,
            worker=worker,
            workers=workers,
            ready=ready,
            start_future=start,
            **kw,
        )

    runner, name = _loop_runner(cfg.event_loop)
    try:
        with runner:
            ls = runner.run(main())
        ls.event_loop = name
        send(("done", asdict(ls)))
    except BaseException as e:  # noqa: BLE001 - report, never leave the parent waiting
        with contextlib.suppress(OSError):
            send(("error", f"{type(e).__name__}: {e}"))
    finally:
        conn.close()


from tokenfab.bench.runner import BenchOutcome, ProgressHooks, run_benchmark  # noqa: E402, F401  (the old API home)
