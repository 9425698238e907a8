"""Shared pieces of the fuzz suite (tests/test_fuzz_*.py): hostile values and the laws every answer must obey.

The laws (issue 14): a bad input gives a TokenfabError naming the field (the CLI: exit code 2 and one line
``error: --flag: ...``) or a valid, finite result; never a traceback, never NaN, inf or an overflowed integer in
the output, never an ANSI escape or a Rich markup error from user text.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import socket
import threading
import time
from typing import Any

from hypothesis import strategies as st
from typer.testing import CliRunner

from tokenfab.cli.main import app

INT64 = 2**63
# numbers a user can type on a command line that are not sane values of any flag
HOSTILE_NUMBER_TEXT = (
    "nan",
    "NaN",
    "inf",
    "-inf",
    "Infinity",
    "-1",
    "0",
    "-0",
    "1e308",
    "-1e308",
    "1e999",
    "99999999999999999999999999",
    "1e-320",
    "abc",
    "[/bold]",
    "[red]x",
    "\x1b[31m1",
    "1,000",
    "0x10",
    "",
)
# text that breaks terminals, markup or HTML when printed as is
HOSTILE_TEXT = (
    "[/bold]",
    "[red]x",
    "[/]",
    "[link=http://evil]click[/link]",
    "\x1b[31mred\x1b[0m",
    "\x1b]0;owned\x07",
    "\x1b[2J\x1b[H",
    "<!--<script>",
    "</script><script>alert(1)</script>",
    "\u202egnp.exe",
    "../../etc/passwd",
    "%s%n{0}",
    "😀 ümlaut",
    "x" * 5000,
)
# a YAML "billion laughs": 9^9 values once its aliases are expanded, a few hundred bytes on disk
ALIAS_BOMB = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{k}: &{k} [{', '.join(['*' + p] * 9)}]\n" for p, k in zip("abcdefgh", "bcdefghi", strict=False)
)
# Python values an API caller can pass where a number is expected
HOSTILE_VALUES: tuple[Any, ...] = (
    math.nan,
    math.inf,
    -math.inf,
    -1,
    -1e-9,
    0,
    10**30,
    -(10**30),
    1e308,
    "8",
    True,
    [1],
    {"a": 1},
    2.5,
)

runner = CliRunner()


def hostile_number_text() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(HOSTILE_NUMBER_TEXT),
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
        st.integers(-(2**70), 2**70).map(str),
    )


def obviously_invalid(text: str) -> bool:
    """A flag value that no numeric flag accepts: not a finite number, or negative."""
    try:
        x = float(text)
    except ValueError:
        return True
    return not math.isfinite(x) or x < 0


def walk(obj: Any, path: str = ""):
    """(path, value) of every leaf of nested dicts / lists / tuples."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from walk(v, f"{path}.{k}")
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            yield from walk(v, f"{path}[{i}]")
    else:
        yield path, obj


def assert_finite(obj: Any, *, allow: tuple[str, ...] = (), what: str = "result") -> None:
    """No NaN or inf float, no integer beyond int64, anywhere in ``obj`` (paths matching a regex in ``allow``
    excepted: flagged values such as the TTFT of an overloaded estimate)."""
    import numpy as np

    for path, v in walk(obj):
        if any(re.search(a, path) for a in allow):
            continue
        if isinstance(v, np.ndarray):
            assert v.dtype.kind not in "fc" or np.all(np.isfinite(v)), f"{what}{path}: non-finite array"
        elif isinstance(v, (float, np.floating)):
            assert math.isfinite(v), f"{what}{path} = {v}"
        elif isinstance(v, (int, np.integer)) and not isinstance(v, bool):
            assert -INT64 <= int(v) < INT64, f"{what}{path} = {v} (overflowed integer)"


def run_cli(*args: str, **kw):
    return runner.invoke(app, list(args), **kw)


_NON_FINITE_WORD = re.compile(r"(?<![\w.])[-+]?(nan|inf)(?!\w)", re.IGNORECASE)  # a number printed as nan / inf


def assert_clean(result, *, flag: str | None = None, literal: str | None = None) -> None:
    """The CLI laws: exit 0 or 2, no traceback; exit 2 prints ``error: ...`` naming ``flag``; user text printed
    literally (``literal`` appears as written), no ANSI escape in the output; a JSON answer is finite and a table
    shows no nan/inf/overflowed number."""
    out = result.stdout + (result.stderr or "")
    exc = result.exception
    assert exc is None or isinstance(exc, SystemExit), f"exception {type(exc).__name__}: {exc}\n{out[-3000:]}"
    assert result.exit_code in (0, 2), f"exit {result.exit_code}: {out[-3000:]}"
    assert "Traceback" not in out and "MarkupError" not in out, out[-3000:]
    assert "\x1b" not in out, f"an escape sequence reached the terminal: {out[-500:]!r}"
    if result.exit_code == 2:
        err = result.stderr or result.stdout
        assert "error:" in err or "Usage:" in err, err
        if flag is not None:
            assert flag in err, f"{flag} not named in: {err}"
    else:
        assert flag is None, f"expected an error naming {flag}, got exit 0: {out[-1500:]}"
        text = result.stdout.strip()
        if text.startswith(("{", "[")):
            assert_finite(json.loads(text), what="JSON")  # json.loads reads NaN / Infinity tokens as floats
        else:
            assert not _NON_FINITE_WORD.search(text), f"a non-finite number in the output: {text[-1500:]}"
            assert "9223372036854775808" not in text, "an overflowed integer in the output"
    if literal is not None:
        assert literal in out, f"{literal!r} not printed literally: {out[-1500:]}"


def bench_records(levels=(1, 4), per_level=6, isl=100, osl=20, tpot_ms=10.0, ttft_ms=50.0) -> list[dict]:
    """Closed-loop request records as `tokenfab bench` writes them (the JSONL contract, docs/bench.md)."""
    out = []
    t = 1000.0
    for c in levels:
        for i in range(per_level):
            tpot = tpot_ms * (1 + 0.1 * c)
            e2el = ttft_ms + (osl - 1) * tpot
            out.append(
                {
                    "run_id": "r1",
                    "session_id": "s1",
                    "request_id": f"c{c}-{i}",
                    "mode": "closed",
                    "concurrency": c,
                    "rate": None,
                    "status": "ok",
                    "error_kind": None,
                    "ttft_ms": ttft_ms,
                    "tpot_ms": (e2el - ttft_ms) / (osl - 1),
                    "e2el_ms": e2el,
                    "itl_ms": [tpot] * (osl - 1),
                    "input_tokens": isl,
                    "output_tokens": osl,
                    "token_count_source": "usage",
                    "t_start": t + i * e2el / 1e3 / c,
                    "t_end": t + i * e2el / 1e3 / c + e2el / 1e3,
                }
            )
        t += 100.0
    return out


def jsonl(records) -> str:
    return "\n".join(json.dumps(r) for r in records) + "\n"


@contextlib.contextmanager
def live_server(asgi_app, timeout_s: float = 30.0):
    """``asgi_app`` served by uvicorn on a free 127.0.0.1 port in a background thread; yields the port."""
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(asgi_app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="tokenfab-ui-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout_s
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(10)
