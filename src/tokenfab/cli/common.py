"""Helpers shared by the CLI modules: output (JSON or Rich), parsing of list options, and printing user text
literally (never as Rich markup: a persona named ``[/]`` or an install hint ``tokenfab[plot]`` prints as written, and
ANSI escapes in user text never reach the terminal)."""

from __future__ import annotations

import contextlib
import json
import re
import sys
import time
from collections.abc import Callable
from typing import Any

from rich import table as _rich_table
from rich.console import Console
from rich.markup import escape
from rich.text import Text

from tokenfab.core.errors import TokenfabError, safe_text
from tokenfab.core.jsonable import to_jsonable

console = Console()
err_console = Console(stderr=True)
_START = [time.perf_counter()]  # when the running command started (tokenfab.cli.main.CheckedCommand sets it)


def start_clock() -> None:
    """Start the clock of a command (the whole command: reading inputs, the library call, rendering)."""
    _START[0] = time.perf_counter()


def elapsed_s() -> float:
    """Seconds since the command started: the honest elapsed time an output reports."""
    return time.perf_counter() - _START[0]


@contextlib.contextmanager
def working(message: str, enabled: bool = True):
    """A spinner with ``message`` and the elapsed time on stderr while a slow library call runs (frontier, recommend,
    prices, sensitivity), so a few seconds of work never look like a hang. Shown only on a terminal (nothing when
    piped or under a test runner); it disappears when the work is done."""
    if not enabled or not err_console.is_terminal:
        yield
        return
    with err_console.status(Text(safe_text(message)), spinner="dots"):
        yield


def print_header(text: str, *, target: Console | None = None) -> None:
    """The first line of an output: what it is about and every setting that shapes its numbers (bold, literal)."""
    (target or console).print(Text(safe_text(text), style="bold"), highlight=False, soft_wrap=False)


def say(label: str, message: str, style: str = "yellow", *, target: Console | None = None) -> None:
    """``label: message`` with the label styled and the message printed literally (no Rich markup read in it)."""
    from rich.text import Text

    (target or console).print(
        Text.assemble((f"{label}: ", style), safe_text(str(message))), soft_wrap=True, highlight=False
    )


def lit(text, style: str = "") -> Text:
    """User text (or any text) as a Rich Text: printed literally, control characters removed. Use it for table
    cells and titles, which Rich would otherwise parse as markup."""
    return Text(safe_text("" if text is None else text), style=style)


def esc(text) -> str:
    """User text to put inside a markup string (``f"[bold]{esc(name)}[/]"``): escaped, control characters
    removed."""
    return escape(safe_text("" if text is None else text))


def _literal(x):
    return lit(x) if isinstance(x, str) else x


_WORD = re.compile(r"\S+")
MAX_WORD = 32  # a longer "word" (a URL, a path) may still fold: a column that wide would squeeze the others


def _plain(r) -> str:
    return r.plain if isinstance(r, Text) else r if isinstance(r, str) else ""


class Table(_rich_table.Table):
    """A Rich table that prints every text cell, header, title and caption literally (see :func:`lit`); a cell
    that should be styled is passed as a Text. Words are never broken in the middle: each column is at least as
    wide as its longest word (up to MAX_WORD characters); on a terminal too narrow for that, the table is wider
    than the terminal rather than splitting names."""

    def __init__(self, *columns, title=None, caption=None, **kw):
        super().__init__(*columns, title=_literal(title), caption=_literal(caption), **kw)

    def __rich_console__(self, console, options):
        for col in self.columns:
            texts = [_plain(col.header), *(_plain(c) for c in col._cells)]
            longest = max((len(w) for t in texts for w in _WORD.findall(t)), default=0)
            col.min_width = max(col.min_width or 0, min(longest, MAX_WORD))
        yield from super().__rich_console__(console, options)

    def add_column(self, header="", *args, **kw):
        super().add_column(_literal(header), *args, **kw)

    def add_row(self, *renderables, **kw):
        super().add_row(*(_literal(r) for r in renderables), **kw)


def print_error(e: TokenfabError | str) -> None:
    """``error: <message>`` on stderr, as one literal line (the message may quote user text and install hints)."""
    err_console.print(Text.assemble(("error:", "bold red"), " ", safe_text(str(e))), highlight=False, soft_wrap=True)


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(to_jsonable(obj), indent=2) + "\n")


def emit(obj: Any, as_json: bool, render: Callable[[Any], None]) -> None:
    if as_json:
        print_json(obj)
    else:
        render(obj)


def split_csv(value: str | None, field: str) -> list[str]:
    if value is None:
        return []
    items = [v.strip() for v in str(value).split(",") if v.strip()]
    if not items:
        raise TokenfabError("empty list", field=field, expected="a comma-separated list", got=value)
    return items


def parse_int_list(value: str, field: str) -> list[int]:
    out = []
    for item in split_csv(value, field):
        try:
            n = int(item)
        except ValueError:
            raise TokenfabError(
                "not a whole number", field=field, expected="integers separated by commas", got=item
            ) from None
        if n <= 0:
            raise TokenfabError("must be positive", field=field, expected="> 0", got=n)
        out.append(n)
    return out
