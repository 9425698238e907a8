"""A whole run: output checks, server check, levels (or a sweep), the records file, resume and overwrite, worker
processes, energy and the client's self-check.

Runs never trap the user:

* the output path is checked and the server checked (:mod:`.preflight`) before anything is sent or written: a server
  that is down or a wrong model name is one line and exit 2, with no file left behind;
* a run is identified by its settings, load levels included (:meth:`BenchConfig.identity`): the same command on the
  same file is refused with both ways out named (``--resume`` continues it, ``--overwrite`` starts it again); a new
  load level is a new run, never merged into the old one;
* ``--resume`` sends only the requests without a record and says how many; ``--overwrite`` removes this run's
  records (other runs in the file stay) and starts again.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from tokenfab.bench import metrics
from tokenfab.bench import records as rec_mod
from tokenfab.bench.client import (
    SWEEP_STAGE_REQUESTS,
    BenchConfig,
    LevelPlan,
    LevelStats,
    LevelWindow,
    LiveStats,
    _loop_runner,
    _workload,
    level_tag,
    plan_level,
    run_plan,
    worker_main,
)
from tokenfab.core.errors import TokenfabError

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    from tokenfab.bench.energy import EnergyMeter


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
    selfcheck: dict = field(default_factory=dict)  # level tag -> the client's self-check
    messages: list[str] = field(default_factory=list)  # what the run said along the way (resume, sweep rates)
    server: dict = field(default_factory=dict)  # the preflight's findings
    sweep: dict | None = None


class ProgressHooks:
    """Callbacks a front end may implement (the CLI draws a live Rich display with them and :class:`LiveStats`)."""

    def level_started(self, tag: str, total: int | None, done: int) -> None: ...

    def record(self, rec: dict) -> None: ...

    def level_finished(self, tag: str) -> None: ...

    def message(self, text: str) -> None: ...


def _rewrite_without(path: Path, run: str) -> int:
    """Drop ``run``'s records from the file (atomically: a temporary file, then a rename); returns how many."""
    import os
    import tempfile

    kept, dropped = [], 0
    with path.open(encoding="utf-8", errors="replace") as f:
        for line in f:
            recs, _ = rec_mod.parse_records([line])
            if recs and recs[0].get("run_id") == run:
                dropped += 1
            elif line.strip():
                kept.append(line if line.endswith("\n") else line + "\n")
    fd, tmp = tempfile.mkstemp(dir=str(path.parent), prefix=path.name + ".", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.writelines(kept)
    os.replace(tmp, path)
    return dropped


def _run_plan_workers(
    cfg: BenchConfig, plan: LevelPlan, kw: dict[str, Any], on_record: Callable[[dict], None], stats: LiveStats
) -> LevelStats:
    """The plan over cfg.workers processes sharing one start time; the parent writes every record."""
    import multiprocessing as mp
    from multiprocessing.connection import wait

    ctx = mp.get_context("spawn")  # not fork: the parent may hold threads (the live display) and their locks
    n = cfg.workers
    pipes: list[Connection] = []
    procs = []
    try:
        for w in range(n):
            parent, child = ctx.Pipe()
            p = ctx.Process(
                target=worker_main, args=(child, cfg, plan, kw, w, n), daemon=True, name=f"tokenfab-bench-worker-{w}"
            )
            p.start()
            child.close()
            pipes.append(parent)
            procs.append(p)
        ready: set[int] = set()
        sent = [0] * n
        done_stats: list[tuple[int, dict[str, Any]]] = []  # (worker, LevelStats as a dict)
        errors: list[str] = []
        live = set(range(n))
        started = False
        while live:
            for c in cast("list[Connection]", wait([pipes[i] for i in live], timeout=1.0)):  # waits on pipes only
                i = pipes.index(c)
                try:
                    kind, payload = c.recv()
                except (EOFError, OSError):
                    live.discard(i)
                    if not procs[i].is_alive() and i not in {d[0] for d in done_stats}:
                        errors.append(f"worker {i} exited (code {procs[i].exitcode})")
                    continue
                if kind == "rec":
                    on_record(payload)
                elif kind == "sent":
                    sent[i] = payload
                    stats.sent = max(stats.sent, sum(sent), stats.done)
                elif kind == "ready":
                    ready.add(i)
                elif kind == "done":
                    done_stats.append((i, payload))
                    live.discard(i)
                elif kind == "error":
                    errors.append(f"worker {i}: {payload}")
                    live.discard(i)
            if not started and len(ready) == n:
                t0 = time.perf_counter() + 0.05  # CLOCK_MONOTONIC: the same clock in every process
                for c in pipes:
                    c.send(t0)
                started = True
            if not started and any(not p.is_alive() for p in procs):
                errors.append("a worker process died before the start")
                break
        if errors:
            raise TokenfabError("worker processes failed: " + "; ".join(errors[:3]), field="--workers")
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()
        for p in procs:
            p.join(5)
        for c in pipes:
            c.close()
    ls = LevelStats(workers=n)
    for _, d in done_stats:
        ls.wall_s = max(ls.wall_s, d["wall_s"])
        ls.cpu_s += d["cpu_s"]
        ls.loop_lag_ms += d["loop_lag_ms"]
        ls.connections += d["connections"]
        ls.max_in_flight += d["max_in_flight"]
        ls.event_loop = d["event_loop"]
        share = d["cpu_s"] / d["wall_s"] if d["wall_s"] > 0 else 0.0
        ls.cpu_share_max = max(ls.cpu_share_max, share)
    return ls


def _levels_of(cfg: BenchConfig) -> list[tuple[str, float, float | None]]:
    if cfg.mode == "ramp":
        return [("ramp", cfg.levels[0], cfg.levels[1])]
    return [(cfg.mode, lv, None) for lv in cfg.levels]


MAX_IDLE_S = 3600  # the idle-power measurement before a run (tokenfab bench --energy --idle-s), at most an hour


def run_benchmark(
    cfg: BenchConfig,
    *,
    out_path: str | Path,
    resume: bool = False,
    overwrite: bool = False,
    api_key: str | None = None,
    energy_meter: EnergyMeter | None = None,
    idle_s: float = 0.0,
    hooks: ProgressHooks | None = None,
    stats: LiveStats | None = None,
    check_server: bool = True,
) -> BenchOutcome:
    """Run every level of ``cfg``, appending each record to ``out_path`` as it completes.

    ``resume`` keeps the records of the same run (same :meth:`BenchConfig.identity`) and sends only the requests
    that have none; ``overwrite`` drops them and starts again. A Ctrl-C stops the run: the outcome then has
    ``interrupted=True`` and the records so far.
    """
    from tokenfab.bench import energy as energy_mod
    from tokenfab.bench.preflight import check_output_path
    from tokenfab.bench.prompts import prompt_source

    if resume and overwrite:
        raise TokenfabError("give --resume or --overwrite, not both", field="--overwrite")
    if not (isinstance(idle_s, (int, float)) and 0 <= idle_s <= MAX_IDLE_S):  # NaN fails too
        raise TokenfabError("out of range", field="--idle-s", expected=f"seconds in [0, {MAX_IDLE_S:,}]", got=idle_s)
    hooks = hooks or ProgressHooks()
    stats = stats if stats is not None else LiveStats()
    out_path = check_output_path(out_path, "--out")
    run = rec_mod.run_id(cfg.identity())
    session = rec_mod.new_session_id()
    previous: list[dict] = []
    bad = 0
    if out_path.exists():
        existing, bad = rec_mod.read_records(out_path)
        previous = [r for r in existing if r.get("run_id") == run]
        if previous and not (resume or overwrite):
            failed = sum(1 for r in previous if r.get("status") != "ok")
            raise TokenfabError(
                f"{out_path} already holds {len(previous)} records of this run ({failed} failed)",
                field="--out",
                hint="--resume continues it (sends what is missing), --overwrite starts "
                "it again, or write to another file",
            )
        others = sorted({str(r.get("run_id")) for r in existing if r.get("run_id") != run})
        if resume and not previous and others:
            raise TokenfabError(
                f"nothing to resume: {out_path} holds run(s) {', '.join(others)} with other settings "
                f"(URL, model, workload, lengths, levels, ...)",
                field="--resume",
                hint="use the original settings to continue that run, --overwrite to start this one, "
                "or write to another file",
            )
    source = prompt_source(cfg.tokenizer)
    workload = _workload(cfg, source)
    outcome = BenchOutcome(run, session, [], unreadable_lines=bad)
    if check_server:
        from tokenfab.bench.preflight import check_server as _check

        outcome.server = _check(cfg, api_key)  # raises before anything is written
    if overwrite and previous:
        dropped = _rewrite_without(out_path, run)
        outcome.messages.append(f"--overwrite: removed {dropped} earlier records of run {run} from {out_path}")
        previous = []
    outcome.records = list(previous)
    outcome.resumed_records = len(previous)
    if energy_meter is not None and energy_meter.available and idle_s > 0:
        outcome.idle_power_w = energy_meter.idle_baseline_w(idle_s)
    done = {r["request_id"]: r for r in previous if isinstance(r.get("request_id"), str)}
    with rec_mod.RecordWriter(out_path, secrets=[api_key] if api_key else []) as writer:

        def on_record(rec: dict) -> None:
            writer.write(rec)
            outcome.records.append(rec)
            hooks.record(rec)

        def say(text: str) -> None:
            outcome.messages.append(text)
            hooks.message(text)

        def run_one(mode: str, level: float, level_end: float | None, n_override: int | None = None) -> bool:
            """One level; False when interrupted."""
            tag = level_tag(mode, level, level_end)
            mine = [r for r in outcome.records if str(r.get("request_id", "")).startswith(tag + "-")]
            duration_left, start = None, 0
            if cfg.duration_s is not None and mode == "closed":
                duration_left = cfg.duration_s - metrics.benchmark_duration_s(mine)
                start = 1 + max((r.get("index", -1) for r in mine), default=-1)
                if duration_left <= 0:
                    return True
            c = cfg if n_override is None else _with_requests(cfg, n_override)
            plan = plan_level(c, mode, level, workload, done, level_end, start)
            if not plan.jobs:
                return True
            if resume and previous:
                say(
                    f"--resume: {tag} has {plan.done_requests} of {plan.total_requests} requests recorded; "
                    f"sending the {plan.total_requests - plan.done_requests} missing"
                )
            stats.level = tag
            stats.total = None if (cfg.duration_s is not None and mode == "closed") else plan.total_requests
            stats.sent = stats.done = plan.done_requests
            stats.failed = stats.output_tokens = 0
            hooks.level_started(tag, stats.total, plan.done_requests)
            meter = energy_meter if energy_meter is not None and energy_meter.available else None
            window = LevelWindow(meter)
            kw: dict[str, Any] = dict(
                run_id=run, session_id=session, api_key=api_key, duration_left_s=duration_left, done=done
            )
            interrupted = False
            ls = None
            try:
                if cfg.workers > 1:
                    ls = _run_plan_workers(c, plan, kw, on_record, stats)
                else:
                    runner, name = _loop_runner(cfg.event_loop)
                    with runner:
                        ls = runner.run(
                            run_plan(c, plan, on_record=on_record, workload=workload, window=window, stats=stats, **kw)
                        )
                    ls.event_loop = name
            except KeyboardInterrupt:
                interrupted = True
            hooks.level_finished(tag)
            level_recs = [
                r
                for r in outcome.records
                if str(r.get("request_id", "")).startswith(tag + "-") and r.get("session_id") == session
            ]
            if ls is not None:
                outcome.selfcheck[tag] = metrics.client_selfcheck(
                    cpu_share=ls.cpu_share_max,
                    loop_lag_ms=ls.loop_lag_ms,
                    schedule_lag_ms=[r.get("schedule_lag_ms") for r in level_recs],
                    mode=mode,
                    workers=ls.workers,
                    event_loop=ls.event_loop,
                    connections=ls.connections,
                    max_in_flight=ls.max_in_flight,
                )
            if meter is not None and window.start and window.last_send:
                (t0, e0), (t1, e1) = window.start, window.last_send
                assert e0 is not None and e1 is not None  # a window with a meter reads its counter at each mark
                all_recs = [r for r in outcome.records if str(r.get("request_id", "")).startswith(tag + "-")]
                out_tok, tot_tok = energy_mod.tokens_in_window(all_recs, t0, t1)
                outcome.energy[tag] = energy_mod.energy_summary(
                    energy_mod.energy_j(e0, e1), t1 - t0, outcome.idle_power_w, out_tok, tot_tok, meter.gpus
                )
            elif energy_meter is not None and not energy_meter.available:
                outcome.energy[tag] = energy_mod.not_measured(energy_meter.reason)
            if interrupted:
                outcome.interrupted = True
            return not interrupted

        if cfg.mode == "sweep":
            _sweep(cfg, outcome, run_one, say)
        else:
            for mode, level, level_end in _levels_of(cfg):
                if not run_one(mode, level, level_end):
                    break
    return outcome


def _with_requests(cfg: BenchConfig, n: int) -> BenchConfig:
    from dataclasses import replace

    return replace(cfg, requests=n, duration_s=None)


def _sweep(cfg: BenchConfig, outcome: BenchOutcome, run_one: Callable[..., bool], say: Callable[[str], None]) -> None:
    """guidellm's sweep: a synchronous run (one request at a time) and a throughput run (all at once) bound the
    rates; cfg.sweep_rates rates evenly spaced between them are then measured, open loop."""
    from tokenfab.bench.schedule import sweep_rates

    n_stage = cfg.requests or SWEEP_STAGE_REQUESTS
    if not run_one("closed", 1, None, n_stage):
        return
    if not run_one("open", math.inf, None, n_stage):
        return

    def rate(tag: str) -> float:
        recs = [r for r in outcome.records if str(r.get("request_id", "")).startswith(tag + "-")]
        s = metrics.summarize_level(recs)
        return s["request_throughput_per_s"] or 0.0

    sync, peak = rate("c1"), rate("rinf")
    rates = sweep_rates(sync, peak, cfg.sweep_rates)
    outcome.sweep = {"synchronous_rate_per_s": sync, "saturation_rate_per_s": peak, "rates_per_s": rates}
    say(
        f"sweep: synchronous {sync:.3g} req/s, saturation {peak:.3g} req/s; measuring "
        + ", ".join(f"{r:g}" for r in rates)
        + " req/s"
    )
    for r in rates:
        if not run_one("open", r, None):
            return
