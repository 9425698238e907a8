"""The dashboard's library calls run in worker processes that are stopped at the time limit.

A thread cannot be stopped: a computation that outlives its HTTP request's time limit would keep its worker, and a
few slow requests would hold the dashboard for minutes. :class:`ProcessPool` runs each call in one of ``workers``
long-lived processes (forked from a fork server that has imported the library once, so a new worker is ready in
milliseconds); when a call passes the limit its process is killed, which frees its CPU and memory at once, and a
fresh process takes its place. Arguments and results travel by pickle (plain values, pydantic request models,
TokenfabError with its field, expected, got and hint).

:class:`ThreadPool` is the in-process variant (a thread per call, the limit answered but the thread left to
finish): for tests that patch the library in the dashboard's own process.
"""

from __future__ import annotations

import functools
import logging
import multiprocessing as mp
import threading
import traceback
import weakref
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from tokenfab.core.errors import TokenfabError

log = logging.getLogger("tokenfab.ui")

# imported once by the fork server, so that each worker starts with the library loaded
PRELOAD = ("numpy", "tokenfab.ui.calls", "tokenfab.search", "tokenfab.planning.plan", "tokenfab.bench.report")


class CallTimeout(Exception):
    """The call passed the time limit (its worker was stopped)."""


class CallBusy(Exception):
    """Too many calls are running or waiting."""


class CallFailed(Exception):
    """The call raised something other than a TokenfabError (a bug), or its worker died."""


def _worker_main(conn) -> None:
    """A worker process: run each ``(fn, args, kwargs)`` received and send back ``("ok", result)``, ``("error",
    TokenfabError)`` or ``("failed", text)``; stop on None or a closed pipe."""
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        fn, args, kwargs = job
        try:
            out = ("ok", fn(*args, **kwargs))
        except TokenfabError as e:
            out = ("error", e)
        except BaseException as e:  # noqa: BLE001 - reported to the parent, which answers 500 and logs it
            out = ("failed", f"{type(e).__name__}: {e}\n{traceback.format_exc()}")
        try:
            conn.send(out)
        except Exception as e:  # noqa: BLE001 - e.g. a result that cannot be pickled
            conn.send(("failed", f"the result could not be sent back: {type(e).__name__}: {e}"))


def _context():
    methods = mp.get_all_start_methods()
    if "forkserver" in methods:
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(list(PRELOAD))
        return ctx
    return mp.get_context("spawn")


class _Worker:
    def __init__(self, ctx):
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker_main, args=(child,), daemon=True, name="tokenfab-ui-worker")
        self.proc.start()
        child.close()

    def stop(self, *, kill: bool) -> None:
        try:
            if kill:
                self.proc.kill()
            else:
                self.conn.send(None)
        except (OSError, ValueError):
            pass
        self.proc.join(5)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(5)
        self.conn.close()


class _Pending:
    """At most ``max_pending`` calls running or waiting (``enter`` raises CallBusy beyond)."""

    def _init_pending(self, max_pending: int) -> None:
        self.max_pending = max(1, int(max_pending))
        self.pending = 0
        self._pending_lock = threading.Lock()

    def enter(self) -> None:
        with self._pending_lock:
            if self.pending >= self.max_pending:
                raise CallBusy()
            self.pending += 1

    def leave(self) -> None:
        with self._pending_lock:
            self.pending -= 1


class ProcessPool(_Pending):
    """``workers`` processes; at most ``max_pending`` calls running or waiting (CallBusy beyond); a call that has
    not answered ``time_limit_s`` after it was handed to a worker raises CallTimeout and its worker is killed and
    replaced. Workers start on the first call."""

    def __init__(self, workers: int, time_limit_s: float, max_pending: int):
        self.size = max(1, int(workers))
        self.time_limit_s = float(time_limit_s)
        self._init_pending(max_pending)
        self.killed = 0  # workers stopped at the time limit (or found dead)
        self._ctx = None
        self._idle: list[_Worker] = []
        self._workers: list[_Worker] = []
        self._cond = threading.Condition()
        self._closed = False
        # the workers are stopped when the pool is collected or the interpreter exits
        self._finalizer = weakref.finalize(self, ProcessPool._stop_all, self._workers)

    # ---- worker bookkeeping (under the condition's lock)
    def _acquire(self) -> _Worker:
        with self._cond:
            while True:
                if self._closed:
                    raise CallFailed("the dashboard is shutting down")
                if self._idle:
                    return self._idle.pop()
                if len(self._workers) < self.size:
                    if self._ctx is None:
                        self._ctx = _context()
                    w = _Worker(self._ctx)
                    self._workers.append(w)
                    return w
                self._cond.wait()

    def _release(self, w: _Worker) -> None:
        with self._cond:
            self._idle.append(w)
            self._cond.notify()

    def _discard(self, w: _Worker) -> None:
        w.stop(kill=True)
        with self._cond:
            self.killed += 1
            if w in self._workers:
                self._workers.remove(w)
            self._cond.notify()  # a fresh worker is started by the next _acquire

    def call_blocking(self, fn, args=(), kwargs=None):
        """Run ``fn(*args, **kwargs)`` in a worker (blocking the calling thread)."""
        w = self._acquire()
        try:
            w.conn.send((fn, tuple(args), dict(kwargs or {})))
        except Exception as e:  # noqa: BLE001 - an argument that cannot be pickled, or a dead worker
            self._discard(w)
            raise CallFailed(f"the call could not be sent to a worker: {type(e).__name__}: {e}") from None
        if not w.conn.poll(self.time_limit_s):
            self._discard(w)
            raise CallTimeout()
        try:
            status, *value = w.conn.recv()
        except (EOFError, OSError):
            self._discard(w)
            raise CallFailed("the worker process stopped (out of memory?)") from None
        self._release(w)
        if status == "ok":
            return value[0]
        if status == "error":
            raise value[0]
        raise CallFailed(value[0])

    @property
    def alive(self) -> list[int]:
        """Process ids of the live workers."""
        with self._cond:
            return [w.proc.pid for w in self._workers if w.proc.is_alive()]

    @staticmethod
    def _stop_all(workers: list[_Worker]) -> None:
        for w in list(workers):
            w.stop(kill=False)
        workers.clear()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._idle.clear()
            self._cond.notify_all()
        self._finalizer()


class ThreadPool(_Pending):
    """The in-process variant: the same interface, calls on a thread pool; at the limit CallTimeout is raised but
    the thread runs on (it cannot be stopped). For tests that patch the library in this process."""

    def __init__(self, workers: int, time_limit_s: float, max_pending: int):
        self.pool = ThreadPoolExecutor(max_workers=max(1, int(workers)), thread_name_prefix="tokenfab-ui")
        self.time_limit_s = float(time_limit_s)
        self._init_pending(max_pending)
        self.killed = 0

    def call_blocking(self, fn, args=(), kwargs=None):
        fut = self.pool.submit(functools.partial(fn, *args, **dict(kwargs or {})))
        fut.add_done_callback(self._done)  # a call counts as pending until its thread is done, limit or not
        try:
            return fut.result(timeout=self.time_limit_s)
        except FutureTimeout:
            raise CallTimeout() from None
        except TokenfabError:
            raise
        except Exception as e:  # noqa: BLE001 - a bug: answered 500 and logged
            raise CallFailed(f"{type(e).__name__}: {e}\n{traceback.format_exc()}") from None

    def leave(self) -> None:
        """Nothing: the thread's end (_done) counts the call out."""

    def _done(self, _fut) -> None:
        _Pending.leave(self)

    @property
    def alive(self) -> list[int]:
        return []  # no worker processes

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


def make_pool(isolation: str, workers: int, time_limit_s: float, max_pending: int):
    if isolation == "process":
        return ProcessPool(workers, time_limit_s, max_pending)
    if isolation == "thread":
        return ThreadPool(workers, time_limit_s, max_pending)
    raise ValueError(f"isolation must be 'process' or 'thread', got {isolation!r}")
