"""The worker pool of the dashboard: library calls run in worker processes (tokenfab.ui.workers) with a time limit
and a bound on pending calls, so the event loop always answers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from fastapi import HTTPException

from tokenfab.ui.security import error_body, log
from tokenfab.ui.workers import CallBusy, CallFailed, CallTimeout, make_pool


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
