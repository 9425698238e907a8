"""User-facing errors: every mistake a user can make ends here, with the field and what was expected.

The ``require_*`` helpers are the one place the rules "a number is finite and in its range" and "a whole number is
an integer" are written; library entry points call them (directly or through :mod:`tokenfab.core.inputs`), so the
CLI, the dashboard and Python callers get the same error naming the same field. :func:`safe_text` makes user text
safe to show on a terminal (no ANSI escape sequences or other control characters).
"""

from __future__ import annotations

import difflib
import math
import numbers
import re
from collections.abc import Callable, Iterable
from typing import Any, SupportsFloat, TypeVar, cast

MAX_GOT_CHARS = 200  # a value quoted in an error is cut to this many characters (an upload may be a megabyte)

_T = TypeVar("_T")
_E = TypeVar("_E", bound=BaseException)


def _got_text(got: object) -> str:
    text = repr(got)
    return text if len(text) <= MAX_GOT_CHARS else text[: MAX_GOT_CHARS - 5] + " ...'"


class TokenfabError(ValueError):
    """A user error: says which field, what was expected and what was given. The CLI prints it without a traceback."""

    line: int | None = None  # the line of the file the error is at, where the loader knows it (YAML errors)

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        expected: str | None = None,
        got: object = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.field = field
        self.expected = expected
        self.got = got
        self.hint = hint
        self.detail = self._detail()  # the text after the field name, as rendered at creation
        super().__init__(self._with_field_text())

    def _detail(self) -> str:
        parts = [self.message]
        if self.expected:
            parts.append(f" (expected {self.expected}")
            parts.append(f", got {_got_text(self.got)})" if self.got is not None else ")")
        elif self.got is not None:
            parts.append(f" (got {_got_text(self.got)})")
        if self.hint:
            parts.append(f". {self.hint}")
        return "".join(parts)

    def _with_field_text(self) -> str:
        return f"{self.field}: {self.detail}" if self.field else self.detail

    def with_field(self, field: str | None) -> TokenfabError:
        """The same error naming ``field`` (the CLI shows a library parameter as the flag the user typed)."""
        self.field = field
        self.args = (self._with_field_text(),)
        return self

    def __reduce__(self) -> tuple[Callable[..., TokenfabError], tuple[Any, ...]]:
        # keep field, expected, got and hint across pickling (the dashboard runs library calls in worker processes)
        return (_rebuild_error, (type(self), self.args, dict(self.__dict__)))


def _rebuild_error(cls: type[_E], args: tuple[Any, ...], state: dict[str, Any]) -> _E:
    e = Exception.__new__(cls)
    e.args = args
    e.__dict__.update(state)
    return e


class UnknownKeyError(TokenfabError):
    def __init__(self, kind: str, key: str, known: Iterable[str], field: str | None = None):
        known = sorted(known)
        k = str(key).lower()
        # keys that begin with what was typed first ('h100' -> h100-sxm, h100-pcie), then the nearest spellings
        prefixed = [x for x in known if x.startswith(k) and k] if len(k) >= 2 else []
        close = list(dict.fromkeys(prefixed + difflib.get_close_matches(k, known, n=4, cutoff=0.4)))[:4]
        hint = f"did you mean {', '.join(close)}?" if close else f"known: {', '.join(known)}"
        super().__init__(f"unknown {kind} {str(key)[:MAX_GOT_CHARS]!r}", field=field or kind, hint=hint)
        self.suggestions = close


# ------------------------------------------------------------------------------------------------- numbers
def is_number(value: object) -> bool:
    """A real number (int, float, NumPy scalar), not a bool and not text."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _bounds_text(lo: float | None, hi: float | None, lo_open: bool, hi_open: bool) -> str:
    def g(x: float) -> str:  # 10,000,000 rather than 1e+07: a bound reads as a person writes it
        if isinstance(x, int) or (float(x).is_integer() and abs(x) < 1e15):
            return f"{int(x):,}"
        return f"{x:g}" if abs(x) >= 1e-4 else f"{x:.10f}".rstrip("0")

    if lo is None:
        if hi is None:
            return "a finite number"
        return f"a number {'<' if hi_open else '<='} {g(hi)}"
    if hi is None:
        return f"a number {'>' if lo_open else '>='} {g(lo)}"
    return f"a number in {'(' if lo_open else '['}{g(lo)}, {g(hi)}{')' if hi_open else ']'}"


def require_finite(field: str, value: object, *, expected: str | None = None) -> float:
    """``value`` as a float, or a TokenfabError unless it is a finite real number (NaN, inf, text, bool, None
    fail)."""
    if not is_number(value):
        raise TokenfabError("not a number", field=field, expected=expected or "a finite number", got=value)
    try:
        x = float(cast(SupportsFloat, value))  # a real number (is_number)
    except (OverflowError, ValueError):  # an int too large for a float
        raise TokenfabError("out of range", field=field, expected=expected or "a finite number", got=value) from None
    if not math.isfinite(x):
        raise TokenfabError("must be a finite number", field=field, expected=expected or "a finite number", got=value)
    return x


def require_number(
    field: str,
    value: object,
    lo: float | None = None,
    hi: float | None = None,
    *,
    lo_open: bool = False,
    hi_open: bool = False,
    why: str | None = None,
) -> float:
    """``value`` as a float: finite and within [lo, hi] (an open end with ``lo_open``/``hi_open``; None: no bound).
    ``why`` says why the bound is there (it is added to the error)."""
    expected = _bounds_text(lo, hi, lo_open, hi_open)
    x = require_finite(field, value, expected=expected)
    ok = (lo is None or (x > lo if lo_open else x >= lo)) and (hi is None or (x < hi if hi_open else x <= hi))
    if not ok:
        above = hi is not None and (x >= hi if hi_open else x > hi)
        raise TokenfabError("out of range", field=field, expected=expected, got=value, hint=_bound_why(why, above))
    return x


def _bound_why(why: str | None, above: bool) -> str | None:
    """The reason for an upper bound, said only when the value is above it (a negative value needs no story)."""
    return f"the upper bound is {why}" if why and above else None


def require_positive(field: str, value: _T, *, allow_zero: bool = False) -> _T:
    """Raise a TokenfabError unless value is a finite number > 0 (or >= 0). Returns the value."""
    v = cast(Any, value)  # any value: a non-number fails the checks below (a TypeError included)
    try:
        ok = is_number(v) and math.isfinite(float(v)) and (v >= 0 if allow_zero else v > 0)
    except (TypeError, OverflowError, ValueError):
        ok = False
    if not ok:
        raise TokenfabError(
            "must be " + ("non-negative" if allow_zero else "positive"),
            field=field,
            expected="a finite number " + (">= 0" if allow_zero else "> 0"),
            got=value,
        )
    return value


def require_range(field: str, value: _T, lo: float, hi: float, *, lo_open: bool = False, hi_open: bool = False) -> _T:
    """Raise a TokenfabError unless value is a finite number in [lo, hi] (open ends as given). Returns the value."""
    v = cast(Any, value)  # any value: a non-number fails the checks below (a TypeError included)
    try:
        ok = (
            is_number(v)
            and math.isfinite(float(v))
            and (v > lo if lo_open else v >= lo)
            and (v < hi if hi_open else v <= hi)
        )
    except (TypeError, OverflowError, ValueError):
        ok = False
    if not ok:
        raise TokenfabError(
            "out of range",
            field=field,
            expected=_bounds_text(lo, hi, lo_open, hi_open).replace("a number", "a value"),
            got=value,
        )
    return value


def require_int(
    field: str, value: object, *, minimum: int = 1, maximum: int | None = None, why: str | None = None
) -> int:
    """``value`` as an int: a whole number (an integral float such as 8.0 is accepted; text, bool, NaN are not)
    in [minimum, maximum]. ``why`` says why the maximum is there."""
    expected = f"an integer >= {minimum:,}" if maximum is None else f"an integer in [{minimum:,}, {maximum:,}]"
    n: int | None = None
    if is_number(value):
        try:
            f = float(cast(SupportsFloat, value))  # a real number (is_number)
            if math.isfinite(f) and f == math.floor(f):
                n = int(value) if isinstance(value, numbers.Integral) else int(f)
        except (OverflowError, ValueError):
            n = int(value) if isinstance(value, numbers.Integral) else None
    if n is None:
        raise TokenfabError("must be a whole number", field=field, expected=expected, got=value)
    if n < minimum or (maximum is not None and n > maximum):
        above = maximum is not None and n > maximum
        raise TokenfabError("out of range", field=field, expected=expected, got=value, hint=_bound_why(why, above))
    return n


def require_exclusive(what: str | None = None, **given: object) -> None:
    """At most one of the keyword arguments may be given (not None): contradictory inputs are an error, never a
    silent choice. ``what`` says why they exclude each other."""
    named = [k for k, v in given.items() if v is not None]
    if len(named) > 1:
        raise TokenfabError(
            f"{' and '.join(named)} contradict each other" + (f": {what}" if what else ""),
            field=named[-1],
            expected=f"at most one of {', '.join(given)}",
        )


def require_finite_tree(field: str, obj: Any, *, max_items: int = 1_000_000) -> None:
    """Every number inside ``obj`` (nested dicts and lists) is finite; the error names the key path."""
    stack = [(field, obj)]
    seen = 0
    while stack:
        path, x = stack.pop()
        seen += 1
        if seen > max_items:
            raise TokenfabError("too many values", field=field, expected=f"<= {max_items:,} values")
        if isinstance(x, dict):
            stack.extend((f"{path}.{k}", v) for k, v in x.items())
        elif isinstance(x, (list, tuple)):
            stack.extend((f"{path}[{i}]", v) for i, v in enumerate(x))
        elif isinstance(x, float) and not math.isfinite(x):
            raise TokenfabError("must be a finite number", field=path, expected="a finite number", got=x)


# ------------------------------------------------------------------------------------------------- text
# CSI (ESC [ ... final), OSC (ESC ] ... BEL or ST), other two-character escapes, then any remaining control
# character: C0 except tab and newline, DEL, C1; and the bidirectional overrides that reorder text on screen
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]|\x9b[0-?]*[ -/]*[@-~]")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def safe_text(text: object, *, max_chars: int | None = None, keep_newlines: bool = True) -> str:
    """``text`` with ANSI escape sequences and control characters removed (tab and, unless ``keep_newlines`` is
    False, newline kept), optionally cut to ``max_chars``: safe to print on a terminal."""
    s = _CONTROL.sub("", _ANSI.sub("", str(text)))
    if not keep_newlines:
        s = s.replace("\n", " ")
    if max_chars is not None and len(s) > max_chars:
        s = s[: max_chars - 3] + "..."
    return s


# ------------------------------------------------------------------------------------------------- install hints
def install_hint(extra: str) -> str:
    """How to install an optional extra: ``pip install 'tokenfab[plot]'`` (printed literally, never as markup)."""
    return f"install it with: pip install 'tokenfab[{extra}]'"
