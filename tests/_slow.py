"""Functions the dashboard's worker processes run in tests (importable by name from a worker: tests/ is on the
path the fork server inherits)."""

from __future__ import annotations

import os
import time


def spin(seconds: float) -> float:
    """Burn CPU for ``seconds`` (a computation that outlives its time limit)."""
    end = time.monotonic() + seconds
    x = 0.0
    while time.monotonic() < end:
        x += 1.0
    return x


def pid() -> int:
    return os.getpid()


def add(a, b):
    return a + b


def fail():
    raise KeyError("a bug, not a user error")
