"""User-facing errors: every mistake a user can make ends here, with the field and what was expected."""

from __future__ import annotations

import difflib
from typing import Iterable


class TokenfabError(ValueError):
    """A user error: says which field, what was expected and what was given. The CLI prints it without a traceback."""

    def __init__(
        self, message: str, *, field: str | None = None, expected: str | None = None, got=None, hint: str | None = None
    ):
        self.field = field
        self.expected = expected
        self.got = got
        self.hint = hint
        parts = []
        if field:
            parts.append(f"{field}: ")
        parts.append(message)
        if expected:
            parts.append(f" (expected {expected}")
            parts.append(f", got {got!r})" if got is not None else ")")
        if hint:
            parts.append(f". {hint}")
        super().__init__("".join(parts))


class UnknownKeyError(TokenfabError):
    def __init__(self, kind: str, key: str, known: Iterable[str], field: str | None = None):
        known = sorted(known)
        close = difflib.get_close_matches(key.lower(), known, n=4, cutoff=0.4)
        hint = f"did you mean {', '.join(close)}?" if close else f"known: {', '.join(known)}"
        super().__init__(f"unknown {kind} {key!r}", field=field or kind, hint=hint)
        self.suggestions = close


def require_positive(field: str, value, *, allow_zero: bool = False):
    """Raise a TokenfabError unless value > 0 (or >= 0)."""
    try:
        ok = value >= 0 if allow_zero else value > 0
    except TypeError:
        ok = False
    if not ok:
        raise TokenfabError(
            "must be " + ("non-negative" if allow_zero else "positive"),
            field=field,
            expected=">= 0" if allow_zero else "> 0",
            got=value,
        )
    return value


def require_range(field: str, value, lo, hi, *, lo_open: bool = False, hi_open: bool = False):
    try:
        ok = (value > lo if lo_open else value >= lo) and (value < hi if hi_open else value <= hi)
    except TypeError:
        ok = False
    if not ok:
        lb = "(" if lo_open else "["
        rb = ")" if hi_open else "]"
        raise TokenfabError("out of range", field=field, expected=f"a value in {lb}{lo}, {hi}{rb}", got=value)
    return value


def require_int(field: str, value, *, minimum: int = 1):
    if isinstance(value, bool) or not isinstance(value, (int,)) or value < minimum:
        try:
            if isinstance(value, str):
                raise TypeError  # "1024" is text, not a number: say so instead of computing with it
            if float(value) == int(value) and int(value) >= minimum:
                return int(value)
        except (TypeError, ValueError):
            pass
        raise TokenfabError("must be a whole number", field=field, expected=f"an integer >= {minimum}", got=value)
    return value
