"""Helpers shared by the CLI modules: output (JSON or Rich), parsing of list options."""

from __future__ import annotations

import json
import sys
from typing import Any, Callable

from rich.console import Console

from tokenfab.core.errors import TokenfabError
from tokenfab.core.jsonable import to_jsonable  # noqa: F401  (re-exported for the CLI modules)

console = Console()
err_console = Console(stderr=True)


def say(label: str, message: str, style: str = "yellow", *, target: Console | None = None) -> None:
    """``label: message`` with the label styled and the message printed literally (no Rich markup read in it)."""
    from rich.text import Text

    (target or console).print(Text.assemble((f"{label}: ", style), str(message)), soft_wrap=True, highlight=False)


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
