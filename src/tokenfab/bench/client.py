"""Asyncio streaming client and load generator for OpenAI-compatible servers (httpx).

* :func:`send_request` sends one streamed completion and returns its record; it never raises for a server or
  network fault: timeouts, HTTP errors, dropped connections, malformed or truncated SSE and empty outputs become
  an ``error_kind`` (:data:`ERROR_KINDS`).
* :func:`run_level` drives one load level: closed loop (a fixed number of requests in flight, each worker sending
  its next request when the last one finishes) or open loop (requests sent at scheduled arrival times whatever the
  server does; latency is recorded from the actual send and from the scheduled time, so a client that falls behind
  cannot hide queueing: no coordinated omission).

Token counts come from the server's streamed ``usage`` (asked for with ``stream_options.include_usage``); when it
is missing, from a local tokenizer if one was given, else one token per output chunk. ``token_count_source`` says
which. The API key goes in the ``Authorization`` header only and is masked out of anything written.
"""
from __future__ import annotations

import asyncio
import json
import math
import random
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator

import httpx

from tokenfab.core.errors import TokenfabError
from tokenfab.bench import metrics
from tokenfab.bench.prompts import WordListPrompts, draw_length, parse_length_dist

ERROR_KINDS = {
    "timeout": "no complete response within --timeout-s (includes hung servers)",
    "http_error": "the server answered with an HTTP status >= 400",
    "connection_error": "could not connect, or the connection dropped before a response",
    "stream_cut": "the stream ended or the connection dropped before [DONE] / a finish_reason",
    "malformed_sse": "a data: line that is not a JSON object",
    "stream_error": "the server sent an error object inside the stream",
    "empty_output": "the stream completed without any output text",
    "client_error": "an unexpected error in the client (a bug: the message is recorded)",
}

MAX_REQUESTS_PER_LEVEL = 100_000  # the count bound of a --duration run


@dataclass(frozen=True)
class BenchConfig:
    """What a run measures. ``levels`` are concurrencies (closed loop) or request rates in req/s (open loop)."""

    url: str
    model: str
    endpoint: str = "completions"
    isl: int = 1024
    osl: int = 1024
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

    def __post_init__(self):
        if self.endpoint not in ("completions", "chat"):
            raise TokenfabError("unknown endpoint", field="--endpoint", expected="completions or chat", got=self.endpoint)
        if self.mode not in ("closed", "open"):
            raise TokenfabError("unknown mode", field="mode", expected="closed or open", got=self.mode)
        parse_length_dist(self.length_dist)
        if self.mode == "open":
            parse_arrival(self.arrival)
        for name in ("isl", "osl"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise TokenfabError("must be a whole number >= 1", field=f"--{name}", got=getattr(self, name))
        if not self.url.startswith(("http://", "https://")):
            raise TokenfabError("not an HTTP URL", field="--url", expected="http://HOST:PORT[/v1]", got=self.url)
        if self.timeout_s <= 0:
            raise TokenfabError("must be positive", field="--timeout-s", got=self.timeout_s)

    def identity(self) -> dict:
        """The settings that define what is measured (hashed into run_id; --resume needs the same)."""
        return {"url": self.url, "model": self.model, "endpoint": self.endpoint, "isl": self.isl, "osl": self.osl,
                "length_dist": self.length_dist, "mode": self.mode, "requests": self.requests,
                "duration_s": self.duration_s, "arrival": self.arrival if self.mode == "open" else None,
                "seed": self.seed, "ignore_eos": self.ignore_eos, "tokenizer": self.tokenizer}

    def endpoint_url(self) -> str:
        u = self.url.rstrip("/")
        path = "/completions" if self.endpoint == "completions" else "/chat/completions"
        if u.endswith(path):
            return u
        return (u if u.endswith("/v1") else u + "/v1") + path

    def level_requests(self, level: float) -> int:
        """Requests at a level: --requests, else 10 x concurrency (InferenceX) closed, or 30 s of arrivals (>= 50) open."""
        if self.requests is not None:
            return self.requests
        if self.duration_s is not None:
            return MAX_REQUESTS_PER_LEVEL
        if self.mode == "closed":
            return 10 * int(level)
        return 100 if math.isinf(level) else min(MAX_REQUESTS_PER_LEVEL, max(50, math.ceil(30 * level)))


def level_tag(mode: str, level: float) -> str:
    return f"c{int(level)}" if mode == "closed" else f"r{level:g}"


def request_id(mode: str, level: float, index: int) -> str:
    return f"{level_tag(mode, level)}-{index:06d}"


def parse_arrival(spec: str) -> tuple[str, float]:
    """``poisson`` -> ("gamma", 1); ``constant`` -> ("constant", 0); ``gamma:K`` -> ("gamma", K) (K < 1 burstier)."""
    s = (spec or "poisson").strip().lower()
    if s == "poisson":
        return ("gamma", 1.0)
    if s == "constant":
        return ("constant", 0.0)
    if s.startswith("gamma:"):
        try:
            k = float(s.split(":", 1)[1])
        except ValueError:
            k = float("nan")
        if k > 0:
            return ("gamma", k)
    raise TokenfabError("unknown arrival process", field="--arrival", expected="poisson, constant or gamma:K with K > 0", got=spec)


def arrival_offsets_s(rate_per_s: float, arrival: str, rng: random.Random) -> Iterator[float]:
    """Scheduled send times (seconds from the start) of an open-loop run: the first at 0, then gaps of mean
    1/rate drawn from the arrival process (exponential for Poisson, gamma with shape K, or constant)."""
    kind, k = parse_arrival(arrival)
    t = 0.0
    while True:
        yield t
        if math.isinf(rate_per_s):
            continue
        if kind == "constant":
            t += 1.0 / rate_per_s
        else:
            t += rng.gammavariate(k, 1.0 / (rate_per_s * k))


@dataclass
class RequestSpec:
    request_id: str
    index: int
    prompt: str
    input_tokens: int  # what the prompt source vouches for
    input_token_source: str
    max_tokens: int


def make_request(cfg: BenchConfig, level: float, index: int, source) -> RequestSpec:
    """The index-th request of a level: lengths and prompt drawn from Random(f"{seed}:{level}:{index}")."""
    rng = random.Random(f"{cfg.seed}:{level_tag(cfg.mode, level)}:{index}")
    low = parse_length_dist(cfg.length_dist)
    isl = draw_length(cfg.isl, low, rng)
    osl = draw_length(cfg.osl, low, rng)
    p = source.make(isl, rng)
    return RequestSpec(request_id(cfg.mode, level, index), index, p.text, p.tokens, p.token_source, osl)


def build_payload(cfg: BenchConfig, spec: RequestSpec) -> dict:
    body: dict = {"model": cfg.model, "max_tokens": spec.max_tokens, "stream": True,
                  "stream_options": {"include_usage": True}, "temperature": 0.0}
    if cfg.ignore_eos:
        body["ignore_eos"] = True
        body["min_tokens"] = spec.max_tokens  # vLLM/SGLang extension: output length exactly max_tokens
    if cfg.endpoint == "chat":
        body["messages"] = [{"role": "user", "content": spec.prompt}]
    else:
        body["prompt"] = spec.prompt
    return body


def _chunk_text(obj: dict) -> str:
    """Output text carried by one streamed chunk (completions ``text``, chat ``delta.content`` or reasoning)."""
    out = []
    for c in obj.get("choices") or ():
        if not isinstance(c, dict):
            continue
        t = c.get("text")
        if t is None:
            d = c.get("delta") or {}
            t = (d.get("content") or "") + (d.get("reasoning_content") or d.get("reasoning") or "")
        if t:
            out.append(t)
    return "".join(out)


def _finished(obj: dict) -> bool:
    return any(isinstance(c, dict) and c.get("finish_reason") for c in obj.get("choices") or ())


class _Fault(Exception):
    def __init__(self, kind: str, message: str, http_status: int | None = None):
        super().__init__(message)
        self.kind = kind
        self.http_status = http_status


@dataclass
class SendContext:
    """What every request of a level shares."""

    cfg: BenchConfig
    url: str
    client: httpx.AsyncClient
    run_id: str
    session_id: str
    level: float
    count_tokens: Callable[[str], int | None] = field(default=lambda text: None)
    secrets: tuple[str, ...] = ()


def _mask(text: str, secrets) -> str:
    for s in secrets:
        if s:
            text = text.replace(s, "***")
    return text


async def send_request(ctx: SendContext, spec: RequestSpec, scheduled_perf: float | None = None,
                       scheduled_wall: float | None = None) -> dict:
    """Send one streamed request and return its record (never raises except on cancellation)."""
    cfg = ctx.cfg
    perf0 = time.perf_counter()
    wall0 = time.time()
    times: list[float] = []
    parts: list[str] = []
    usage = None
    finished = False  # a finish_reason or [DONE] was seen
    done = False  # [DONE] was seen: stop reading
    http_status = None
    fault: _Fault | None = None
    got_response = False
    try:
        async with asyncio.timeout(cfg.timeout_s):
            async with ctx.client.stream("POST", ctx.url, json=build_payload(cfg, spec)) as resp:
                got_response = True
                http_status = resp.status_code
                if resp.status_code >= 400:
                    body = (await resp.aread())[:300].decode("utf-8", "replace")
                    raise _Fault("http_error", f"HTTP {resp.status_code}: {body}", resp.status_code)
                buf = b""
                # lines are split here rather than by aiter_lines (a third less CPU per chunk); every event in one
                # network read gets that read's arrival time
                async for data_bytes in resp.aiter_bytes():
                    now = time.perf_counter()
                    buf += data_bytes
                    pos = 0
                    while not done:
                        nl = buf.find(b"\n", pos)
                        if nl < 0:
                            break
                        line, pos = buf[pos:nl], nl + 1
                        if not line.startswith(b"data:"):
                            continue  # blank separators, ": comments", event:, id:, retry:
                        data = line[5:].strip()
                        if data == b"[DONE]":
                            done = finished = True
                            break
                        try:
                            obj = json.loads(data)
                        except ValueError:
                            obj = None
                        if not isinstance(obj, dict):
                            raise _Fault("malformed_sse", f"not a JSON object: {data[:80].decode('utf-8', 'replace')!r}")
                        if obj.get("error"):
                            raise _Fault("stream_error", f"server error in stream: {str(obj['error'])[:200]}")
                        text = _chunk_text(obj)
                        if text:
                            times.append(now)
                            parts.append(text)
                        if obj.get("usage"):
                            usage = obj["usage"]
                        finished = finished or _finished(obj)
                    if done:
                        break
                    buf = buf[pos:]
        if not finished:
            fault = _Fault("stream_cut", "the stream ended before [DONE] or a finish_reason")
        elif not times:
            fault = _Fault("empty_output", "the stream completed without output text")
    except _Fault as f:
        fault = f
    except (TimeoutError, httpx.TimeoutException):
        fault = _Fault("timeout", f"no complete response within {cfg.timeout_s:g} s", http_status)
    except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError, httpx.ConnectError,
            httpx.NetworkError, httpx.ProtocolError) as e:
        kind = "stream_cut" if got_response else "connection_error"
        fault = _Fault(kind, f"{type(e).__name__}: {e}", http_status)
    except asyncio.CancelledError:
        raise
    except Exception as e:  # noqa: BLE001 - a benchmark must count, never crash
        fault = _Fault("client_error", f"{type(e).__name__}: {e}", http_status)
    perf_end = time.perf_counter()

    def wall(p):
        return None if p is None else wall0 + (p - perf0)

    ttft = (times[0] - perf0) * 1e3 if times else None
    e2el = (times[-1] - perf0) * 1e3 if times else None
    usage = usage if isinstance(usage, dict) else {}
    out_tok, source = usage.get("completion_tokens"), "usage"
    if not isinstance(out_tok, int):
        n = ctx.count_tokens("".join(parts)) if parts else None
        out_tok, source = (n, "tokenizer") if n is not None else (len(times), "chunks")
    in_tok, in_source = usage.get("prompt_tokens"), "usage"
    if not isinstance(in_tok, int):
        in_tok, in_source = spec.input_tokens, spec.input_token_source
    ok = fault is None
    rec = {
        "run_id": ctx.run_id, "session_id": ctx.session_id, "request_id": spec.request_id, "index": spec.index,
        "mode": cfg.mode,
        "concurrency": int(ctx.level) if cfg.mode == "closed" else None,
        "rate": None if cfg.mode == "closed" else ("inf" if math.isinf(ctx.level) else ctx.level),
        "status": "ok" if ok else "error",
        "error_kind": None if ok else fault.kind,
        "error": None if ok else _mask(str(fault), ctx.secrets)[:300],
        "http_status": http_status,
        "ttft_ms": ttft,
        "tpot_ms": metrics.tpot_ms(ttft, e2el, out_tok) if ok else None,
        "e2el_ms": e2el,
        "itl_ms": [round(g, 4) for g in metrics.itl_gaps_ms(times)],
        "ttft_ms_from_schedule": None, "e2el_ms_from_schedule": None,
        "input_tokens": in_tok, "output_tokens": out_tok,
        "token_count_source": source, "input_token_source": in_source,
        "requested_input_tokens": spec.input_tokens, "requested_output_tokens": spec.max_tokens,
        "chunks": len(times),
        "t_scheduled": scheduled_wall, "t_start": wall0, "t_first_token": wall(times[0] if times else None),
        "t_end": wall(perf_end),
    }
    if scheduled_perf is not None and times:
        rec["ttft_ms_from_schedule"] = (times[0] - scheduled_perf) * 1e3
        rec["e2el_ms_from_schedule"] = (times[-1] - scheduled_perf) * 1e3
    if scheduled_perf is not None:
        rec["send_lag_ms"] = (perf0 - scheduled_perf) * 1e3
    return rec


class LevelWindow:
    """The steady-state marks of a level, each (wall-clock time, energy counter mJ or None): ``start`` after
    warm-up, and ``last_send`` when ramp-down begins: closed loop, when the first worker finds no request left to
    send (from then on fewer than C requests are in flight); open loop, when the last request is sent.
    ``meter``: an EnergyMeter."""

    def __init__(self, meter=None):
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


async def run_level(cfg: BenchConfig, level: float, *, run_id: str, session_id: str,
                    on_record: Callable[[dict], None], skip_ids: frozenset[str] | set[str] = frozenset(),
                    source=None, api_key: str | None = None, duration_left_s: float | None = None,
                    start_index: int = 0, window: LevelWindow | None = None) -> None:
    """Run one level; every finished request's record goes to ``on_record`` at once (write it there).

    Closed loop: ``level`` workers each send their next request when the last finishes. Open loop: requests are
    sent at the scheduled arrival times (``level`` req/s). ``skip_ids`` are done already (--resume). With
    ``duration_left_s`` no request is started after that many seconds (the count bound stays). ``window`` gets
    the steady-state marks used for energy.
    """
    source = source or WordListPrompts()
    window = window if window is not None else LevelWindow()
    n = cfg.level_requests(level)
    pending = ([i for i in range(start_index, n) if request_id(cfg.mode, level, i) not in skip_ids] if skip_ids
               else range(start_index, n))
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    closed = cfg.mode == "closed"
    conc = int(level) if closed else None
    limits = httpx.Limits(max_connections=conc, max_keepalive_connections=conc if closed else 256)
    timeout = httpx.Timeout(cfg.timeout_s, connect=min(cfg.timeout_s, 30.0))
    counter = getattr(source, "count", lambda text: None)
    async with httpx.AsyncClient(limits=limits, timeout=timeout, headers=headers, trust_env=False) as client:
        ctx = SendContext(cfg, cfg.endpoint_url(), client, run_id, session_id, level, counter, (api_key,) if api_key else ())
        if cfg.warmup and pending:
            await _warmup(ctx, cfg, level, source, conc or min(cfg.warmup, 16))
        window.mark_start()
        deadline = None if duration_left_s is None else time.perf_counter() + duration_left_s
        if closed:
            await _closed_loop(ctx, cfg, level, source, pending, conc, deadline, on_record, window)
        else:
            await _open_loop(ctx, cfg, level, source, pending, deadline, on_record, window)


async def _warmup(ctx: SendContext, cfg: BenchConfig, level: float, source, conc: int) -> None:
    """cfg.warmup requests at the level's concurrency; not recorded (their prompts differ from measured ones)."""
    warm = iter(range(cfg.warmup))

    async def worker():
        for i in warm:
            spec = make_request(cfg, level, -1 - i, source)
            await send_request(ctx, spec)

    await asyncio.gather(*(worker() for _ in range(min(conc, cfg.warmup))))


async def _closed_loop(ctx, cfg, level, source, pending, conc, deadline, on_record, window) -> None:
    queue = iter(pending)

    async def worker():
        for i in queue:
            if deadline is not None and time.perf_counter() >= deadline:
                break
            spec = make_request(cfg, level, i, source)
            on_record(await send_request(ctx, spec))
        window.mark_last_send()  # the first worker to find no more work: ramp-down begins

    await asyncio.gather(*(worker() for _ in range(max(1, min(conc, len(pending))))))


async def _open_loop(ctx, cfg, level, source, pending, deadline, on_record, window) -> None:
    rng = random.Random(f"{cfg.seed}:{level_tag(cfg.mode, level)}:arrivals")
    offsets = arrival_offsets_s(level, cfg.arrival, rng)
    perf_start = time.perf_counter()
    wall_start = time.time()
    tasks: set[asyncio.Task] = set()

    async def one(spec, sched_perf, sched_wall):
        on_record(await send_request(ctx, spec, sched_perf, sched_wall))

    try:
        for i in pending:
            off = next(offsets)  # resumed runs keep the rate: the remaining requests take the first gaps
            sched = perf_start + off
            if deadline is not None and sched >= deadline:
                break
            spec = make_request(cfg, level, i, source)  # built before the wait: its cost is not send lag
            delay = sched - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            t = asyncio.create_task(one(spec, sched, wall_start + off))
            tasks.add(t)
            t.add_done_callback(tasks.discard)
        window.mark_last_send()
        if tasks:
            await asyncio.gather(*tasks)
    finally:
        for t in tasks:
            t.cancel()


# ---- a whole run: levels, records file, resume, energy ------------------------------------------------------

@dataclass
class BenchOutcome:
    """What :func:`run_benchmark` returns: every record of the run (earlier sessions included)."""

    run_id: str
    session_id: str
    records: list[dict]
    interrupted: bool = False
    resumed_records: int = 0
    unreadable_lines: int = 0
    energy: dict = field(default_factory=dict)  # level tag -> energy summary (or the reason it was not measured)
    idle_power_w: float | None = None


class ProgressHooks:
    """Callbacks a front end may implement (the CLI draws a Rich progress bar with them)."""

    def level_started(self, tag: str, total: int | None, done: int) -> None: ...

    def record(self, rec: dict) -> None: ...

    def level_finished(self, tag: str) -> None: ...


def run_benchmark(cfg: BenchConfig, *, out_path, resume: bool = False, api_key: str | None = None,
                  energy_meter=None, idle_s: float = 0.0, hooks: ProgressHooks | None = None) -> BenchOutcome:
    """Run every level of ``cfg``, appending each record to ``out_path`` as it completes.

    ``resume`` keeps the records of the same run (same :meth:`BenchConfig.identity`) and sends only the requests
    that have none. A Ctrl-C stops the run: the outcome then has ``interrupted=True`` and the records so far.
    """
    from pathlib import Path

    from tokenfab.bench import energy as energy_mod
    from tokenfab.bench import records as rec_mod
    from tokenfab.bench.prompts import prompt_source

    hooks = hooks or ProgressHooks()
    run = rec_mod.run_id(cfg.identity())
    session = rec_mod.new_session_id()
    previous: list[dict] = []
    bad = 0
    out_path = Path(out_path)
    if out_path.exists():
        existing, bad = rec_mod.read_records(out_path)
        previous = [r for r in existing if r.get("run_id") == run]
        if previous and not resume:
            raise TokenfabError(f"{out_path} already holds {len(previous)} records of this run", field="--out",
                                hint="pass --resume to continue it, or write to another file")
        others = sorted({str(r.get("run_id")) for r in existing if r.get("run_id") != run})
        if resume and not previous and others:
            # --resume continues the same measurement only: other settings would mix two runs in one file
            raise TokenfabError(f"nothing to resume: {out_path} holds run(s) {', '.join(others)} with other settings "
                                f"(URL, model, lengths, levels, ...)", field="--resume",
                                hint="use the original settings to continue that run, or write to another file")
    source = prompt_source(cfg.tokenizer)
    outcome = BenchOutcome(run, session, list(previous), resumed_records=len(previous), unreadable_lines=bad)
    if energy_meter is not None and energy_meter.available and idle_s > 0:
        outcome.idle_power_w = energy_meter.idle_baseline_w(idle_s)
    with rec_mod.RecordWriter(out_path, secrets=[api_key] if api_key else []) as writer:
        def on_record(rec: dict) -> None:
            writer.write(rec)
            outcome.records.append(rec)
            hooks.record(rec)

        for level in cfg.levels:
            tag = level_tag(cfg.mode, level)
            ids_done = {r["request_id"] for r in outcome.records if r.get("request_id", "").startswith(tag + "-")}
            duration_left = start = None
            if cfg.duration_s is not None:
                mine = [r for r in outcome.records if r["request_id"] in ids_done]
                duration_left = cfg.duration_s - metrics.benchmark_duration_s(mine)
                start = 1 + max((r.get("index", -1) for r in mine), default=-1)
                if duration_left <= 0:
                    continue
            total = None if cfg.duration_s is not None else cfg.level_requests(level)
            if total is not None and len(ids_done) >= total:
                continue
            hooks.level_started(tag, total, len(ids_done))
            meter = energy_meter if energy_meter is not None and energy_meter.available else None
            window = LevelWindow(meter)
            try:
                asyncio.run(run_level(cfg, level, run_id=run, session_id=session, on_record=on_record,
                                      skip_ids=ids_done, source=source, api_key=api_key,
                                      duration_left_s=duration_left, start_index=start or 0,
                                      window=window))
            except KeyboardInterrupt:
                outcome.interrupted = True
            hooks.level_finished(tag)
            if meter is not None and window.start and window.last_send:
                (t0, e0), (t1, e1) = window.start, window.last_send
                level_recs = [r for r in outcome.records if r.get("request_id", "").startswith(tag + "-")]
                out_tok, tot_tok = energy_mod.tokens_in_window(level_recs, t0, t1)
                outcome.energy[tag] = energy_mod.energy_summary(energy_mod.energy_j(e0, e1), t1 - t0,
                                                                outcome.idle_power_w, out_tok, tot_tok, meter.gpus)
            elif energy_meter is not None and not energy_meter.available:
                outcome.energy[tag] = energy_mod.not_measured(energy_meter.reason)
            if outcome.interrupted:
                break
    return outcome

