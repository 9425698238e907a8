"""Helpers shared by the CLI modules: output (JSON or Rich), parsing of list options, and printing user text
literally (never as Rich markup: a persona named ``[/]`` or an install hint ``tokenfab[plot]`` prints as written, and
ANSI escapes in user text never reach the terminal)."""

from __future__ import annotations

import contextlib
import json
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


HEADER_SEP = " · "


def print_header(text: str, *, target: Console | None = None) -> None:
    """The first line of an output: what it is about and every setting that shapes its numbers (bold, literal). On a
    narrow terminal it continues on more lines, breaking only between settings (``a · b``), never inside one."""
    con = target or console
    lines: list[str] = []
    for part in safe_text(text).split(HEADER_SEP):
        if lines and len(lines[-1]) + len(HEADER_SEP) + len(part) <= con.width:
            lines[-1] += HEADER_SEP + part
        else:
            lines.append(part)
    for ln in lines:
        con.print(Text(ln, style="bold"), highlight=False, soft_wrap=len(ln) <= con.width)


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


MAX_WORD = 32  # a longer "word" (a URL, a path) may still fold: a column that wide would squeeze the others


class Table(_rich_table.Table):
    """A Rich table that prints every text cell, header, title and caption literally (see :func:`lit`); a cell
    that should be styled is passed as a Text. Words are never broken in the middle: each column is at least as
    wide as its longest word (up to MAX_WORD characters); on a terminal too narrow for that, the table is wider
    than the terminal rather than splitting names."""

    def __init__(self, *columns, title=None, caption=None, **kw):
        super().__init__(*columns, title=_literal(title), caption=_literal(caption), **kw)

    def __rich_console__(self, console, options):
        if all(c.width is None for c in self.columns):
            avail = (
                options.max_width if self.width is None else min(self.width, options.max_width)
            ) - self._extra_width
            widths = word_widths(self, console, options.update_width(max(1, avail)), avail)
            for c, w in zip(self.columns, widths or (), strict=False):
                c.width = w
        yield from super().__rich_console__(console, options)

    def add_column(self, header="", *args, **kw):
        super().add_column(_literal(header), *args, **kw)

    def add_row(self, *renderables, **kw):
        super().add_row(*(_literal(r) for r in renderables), **kw)


def word_widths(table, console, options, avail: int) -> list[int] | None:
    """Column widths (without padding) for a table wider than ``avail`` that break no word: each column at least as
    wide as its longest word (up to MAX_WORD), the rest of the room shared by how much wider each wants to be. When
    even that is too wide, the columns with the longest words (sources, notes) fold into what is left and the others
    keep their words whole. None: the table fits as it is (or nothing helps)."""
    n = len(table.columns)
    ranges = [table._measure_column(console, options, c) for c in table.columns]
    pads = [table._get_padding_width(i) for i in range(n)]
    lo = [min(r.minimum, MAX_WORD + p) for r, p in zip(ranges, pads, strict=True)]
    hi = [max(r.maximum, m) for r, m in zip(ranges, lo, strict=True)]
    if sum(hi) <= avail:
        return None
    fold: set[int] = set()
    while sum(lo[i] for i in range(n) if i not in fold) + 10 * len(fold) > avail and len(fold) < n - 1:
        fold.add(max((i for i in range(n) if i not in fold), key=lambda i: lo[i]))
    keep = [i for i in range(n) if i not in fold]
    extra = avail - sum(lo[i] for i in keep)
    if extra < 0:
        return None
    widths = list(lo)
    if fold:  # the folding columns share what is left, in proportion to what they want
        want = sum(hi[i] for i in fold) or 1
        for i in fold:
            widths[i] = max(pads[i] + 1, extra * hi[i] // want)
    else:
        want = [hi[i] - lo[i] for i in range(n)]
        total = sum(want) or 1
        widths = [lo[i] + extra * want[i] // total for i in range(n)]
    return [max(1, w - p) for w, p in zip(widths, pads, strict=True)]


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
