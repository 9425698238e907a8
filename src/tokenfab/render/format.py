"""How a number, a field and a term of art read to a person: the one formatting module of the tables (CLI), the charts
(``--plot``, the report), the report and the dashboard (which gets the labels, terms and rules through ``/api/meta``
and formats with the same rules in app.js, checked against this module by the browser tests).

Rules (never ``e+`` notation, never a snake_case field name, never NaN or inf shown):

- :func:`num`: thousands separators; 100 and above as whole numbers (``12,838``), 10-100 with one decimal (``58.3``),
  1-10 with two (``3.78``), below 1 three significant digits (``0.362``, ``0.0427``).
- :func:`si`: SI suffixes k, M, B, T with three significant digits (``12.8k``, ``1.17B``) for counts that span
  orders of magnitude (tokens per day, users); below 1,000 as :func:`num`.
- :func:`usd`: ``$`` with the :func:`num` decimals, at least two decimals under $100 (``$3.78``, ``$0.36``,
  ``$0.0427``), whole dollars from $100, SI from $10M (``$12.3M``); ``-$0.09`` for a loss.
- :func:`pct` (a fraction: ``0.64`` -> ``64%``) and :func:`pct_value` (already in percent: ``59.2`` -> ``59%``).
- :func:`label` / :func:`unit` / :func:`header`: the human name of a JSON field (``data/labels.yaml``, the TCO
  inputs' units from tokenfab.economics.tco); an unknown name still reads as words (``foo_bar_ms`` -> ``foo bar
  (ms)``).
- :func:`explain`: one plain sentence for a term of art (TP, EP, ISL, goodput, the tiers, disaggregation, ...).
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import Any, cast

DASH = "–"  # a missing value (None, NaN, inf)
SI_SUFFIXES = ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k"))


def _finite(x) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _decimals(a: float) -> int:
    """Decimals that show ``a`` (>= 0) with about three significant digits, none from 100 up."""
    if a >= 100 or a == 0:
        return 0
    if a >= 10:
        return 1
    if a >= 1:
        return 2
    return min(12, 2 - math.floor(math.log10(a)))


def num(x, digits: int | None = None, *, sig: int | None = None, none: str = DASH) -> str:
    """A number with thousands separators and sensible decimals (module docstring); ``digits`` fixes the decimals,
    ``sig`` asks for that many significant digits (``num(0.040331, sig=4)`` -> ``0.04033``)."""
    v = _finite(x)
    if v is None:
        return none
    if digits is None and v == round(v) and abs(v) < 1e15:  # a whole number: no decimals (50, not 50.0)
        return f"{int(round(v)):,}"
    if sig is not None and digits is None:
        digits = max(0, sig - 1 - math.floor(math.log10(abs(v)))) if v else 0
    d = _decimals(abs(v)) if digits is None else digits
    s = f"{v:,.{d}f}"
    return "0" if s.strip("-0.,") == "" else s


def si(x, *, none: str = DASH) -> str:
    """A count with an SI suffix (k, M, B, T) and three significant digits: ``953M``, ``1.17B``, ``12.8k``."""
    v = _finite(x)
    if v is None:
        return none
    a = abs(v)
    for lim, suf in SI_SUFFIXES:
        if a >= lim * 0.9995:  # 999,600 reads 1.00M, not 1,000k
            q = max(abs(v) / lim, 1.0)
            body = f"{q:,.0f}" if q >= 99.95 else f"{q:.{1 if q >= 9.995 else 2}f}"
            return f"{'-' if v < 0 else ''}{body}{suf}"
    return num(x)


def usd(x, *, none: str = DASH, compact_from: float = 1e7) -> str:
    """Dollars: ``$43,960``, ``$3.78``, ``$0.362``, ``$12.3M`` (SI from ``compact_from``), ``-$0.094``."""
    v = _finite(x)
    if v is None:
        return none
    a = abs(v)
    sign = "-" if v < 0 and a > 0 else ""
    if a >= compact_from:
        return f"{sign}${si(a)}"
    if a >= 100 or a == 0:
        body = f"{a:,.0f}"
    elif a >= 1:
        body = f"{a:,.2f}"
    else:
        body = f"{a:.{max(2, _decimals(a))}f}"
        body = body[: max(body.index(".") + 3, len(body.rstrip("0")))]  # $0.0500 -> $0.05, $0.0427 stays
    return f"{sign}${body}"


def pct(fraction, digits: int = 0, *, signed: bool = False, none: str = DASH) -> str:
    """A fraction as a percentage: ``0.64`` -> ``64%``."""
    v = _finite(fraction)
    return none if v is None else pct_value(100 * v, digits, signed=signed)


def share(fraction, *, none: str = DASH) -> str:
    """A fraction in (0, 1] as a percentage with the digits it needs not to read 0% or 100% when it is neither:
    ``0.5`` -> ``50%``, ``0.004`` -> ``0.4%``, ``0.999`` -> ``99.9%``."""
    v = _finite(fraction)
    if v is None:
        return none
    digits = 0
    while digits < 3 and ((v > 0 and round(100 * v, digits) == 0) or (v < 1 and round(100 * v, digits) == 100)):
        digits += 1
    return pct(v, digits)


def pct_value(percent, digits: int = 0, *, signed: bool = False, none: str = DASH) -> str:
    """A value already in percent: ``59.2`` -> ``59%`` (``+59%`` when ``signed``)."""
    v = _finite(percent)
    if v is None:
        return none
    s = f"{v:+,.{digits}f}%" if signed else f"{v:,.{digits}f}%"
    return s.replace("-0%", "0%").replace("+-", "-")


def gib(x, *, none: str = DASH) -> str:
    """Memory in GiB with one decimal: ``142.8 GiB``."""
    v = _finite(x)
    return none if v is None else f"{v:,.1f} GiB"


def ms(x, *, none: str = DASH) -> str:
    """Milliseconds: ``1,234 ms``, ``38.7 ms``, ``2.84 ms``."""
    v = _finite(x)
    return none if v is None else f"{num(v)} ms"


def seconds(x, *, none: str = DASH) -> str:
    """A duration: ``0.54 s``, ``12.3 s``, ``2 min 05 s``."""
    v = _finite(x)
    if v is None:
        return none
    if v < 60:
        return f"{v:.2f} s" if v < 10 else f"{v:.1f} s"
    m, s = divmod(int(round(v)), 60)
    return f"{m} min {s:02d} s"


def count(n, singular: str, plural: str | None = None) -> str:
    """``1 chip``, ``8 chips``, ``1,024 GPUs`` (GPU -> GPUs; ``plural`` for irregular words)."""
    v = _finite(n)
    if v is None:
        return f"{DASH} {plural or singular + 's'}"
    word = singular if v == 1 else (plural or singular + "s")
    return f"{num(v) if v != int(v) else f'{int(v):,}'} {word}"


def band(lo, hi, fn=num) -> str:
    """A p10-p90 range: ``0.33 - 0.41`` (each end formatted by ``fn``); dash when either end is missing."""
    if _finite(lo) is None or _finite(hi) is None:
        return DASH
    return f"{fn(lo)} - {fn(hi)}"


def plus_minus(value, lo, hi, fn=num) -> str:
    """``0.362 (0.33 - 0.41)``: a value with its p10-p90 range when there is one."""
    r = band(lo, hi, fn)
    return fn(value) if r == DASH else f"{fn(value)} ({r})"


# ---------------------------------------------------------------------------------------------------------------
# labels and terms
# ---------------------------------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def labels_data() -> dict:
    """``data/labels.yaml``: {"fields": {name: {label, unit}}, "terms": {term: sentence}} (units of the TCO inputs
    filled in from tokenfab.economics.tco.FIELD_UNITS)."""
    from tokenfab.core.data import data_path, read_yaml
    from tokenfab.core.errors import TokenfabError
    from tokenfab.economics.tco import FIELD_UNITS

    d = cast(dict[str, Any], read_yaml(data_path("labels.yaml"), field="labels.yaml"))
    fields = {k: dict(v) for k, v in (d.get("fields") or {}).items()}
    for k, v in fields.items():  # an unquoted comma in a flow mapping splits a label into a stray key
        if set(v) - {"label", "unit"} or not all(isinstance(x, str) for x in v.values()):
            raise TokenfabError(
                "a field entry takes label and unit (text) only: quote a label that holds a comma",
                field=f"labels.yaml fields.{k}",
                got=v,
            )
    for k, u in FIELD_UNITS.items():
        fields.setdefault(k, {}).setdefault("unit", u)
        fields[k].setdefault("label", words(k))
    return {"fields": fields, "terms": dict(d.get("terms") or {}), "source": d.get("source"), "as_of": d.get("as_of")}


_UNIT_SUFFIXES = (
    ("_usd_per_mtok", "$ per M tokens"),
    ("_per_s_per_gpu", "per s per GPU"),
    ("_gib", "GiB"),
    ("_gb", "GB"),
    ("_ms", "ms"),
    ("_mw", "MW"),
    ("_kw", "kW"),
    ("_usd", "$"),
    ("_pct", "%"),
)


def words(name: str) -> str:
    """A field name as words: ``peak_requests_per_s`` -> ``peak requests per s`` (``usd`` -> ``$``)."""
    s = re.sub(r"_per_s(?=_|$)", "/s", str(name)).replace("_", " ").strip()
    s = re.sub(r"\busd\b", "$", s)
    s = re.sub(r"\bmtok\b", "M tokens", s)
    return re.sub(r"\s+", " ", s)


def label(name: str) -> str:
    """The human label of a field (``usd_per_mtok_total`` -> ``cost per million tokens``); unknown names as words with
    their unit (``foo_ms`` -> ``foo (ms)``)."""
    f = labels_data()["fields"].get(name)
    if f and f.get("label"):
        return str(f["label"])
    for suf, u in _UNIT_SUFFIXES:
        if str(name).endswith(suf) and len(str(name)) > len(suf):
            return f"{words(str(name)[: -len(suf)])} ({u})"
    return words(name)


def unit(name: str) -> str:
    """The unit of a field (``tokens/s per user``), or ``""``."""
    f = labels_data()["fields"].get(name) or {}
    return str(f.get("unit") or "")


def header(name: str, *, short: str | None = None) -> str:
    """A column or axis title with its unit: ``interactivity (tokens/s per user)``; ``short`` replaces the label."""
    u = unit(name)
    lab = short or label(name)
    return f"{lab} ({u})" if u and u not in lab else lab


def explain(term: str) -> str:
    """One plain sentence for a term of art (``TP``, ``goodput``, ``goldilocks``, ...); ``""`` for an unknown term."""
    terms = labels_data()["terms"]
    if term in terms:
        return str(terms[term])
    low = {k.lower(): v for k, v in terms.items()}
    return str(low.get(str(term).lower(), ""))


SNAKE_CASE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
E_NOTATION = re.compile(r"\d[eE][+-]?\d")


def readable(text: str) -> list[str]:
    """What in ``text`` a person should not read: snake_case field names and ``e+`` notation (empty when clean).
    The tests run every screen's visible text through it."""
    return SNAKE_CASE.findall(str(text)) + E_NOTATION.findall(str(text))


# ---------------------------------------------------------------------------------------------------------------
# settings, as the first line of every output states them (tokenfab.api.defaults names the defaults)
# ---------------------------------------------------------------------------------------------------------------
SEP = " · "


def precision_setting(weights, kv, *, weights_given: bool, kv_given: bool = False) -> str:
    """``weights bf16 (the checkpoint's), KV bf16`` / ``weights fp8, KV fp8`` (several: ``fp8 / bf16``)."""
    w = " / ".join(weights) if isinstance(weights, list | tuple) else str(weights)
    k = " / ".join(kv) if isinstance(kv, list | tuple) else str(kv)
    return f"weights {w}" + ("" if weights_given else " (the checkpoint's)") + f", KV {k}"


def tco_setting(preset, utilization, *, preset_given: bool, utilization_given: bool, price=None) -> str:
    """``TCO owned-neocloud (default), utilization 50% (default)``, or ``$2.10 per GPU-hour (given), ...``."""
    if price is not None:
        head = f"{usd(price)} per GPU-hour (given)"
    else:
        head = f"TCO {preset}" + ("" if preset_given else " (default)")
    if utilization is None:
        return head
    return head + f", utilization {share(utilization)}" + ("" if utilization_given else " (default)")


def engine_setting(engines, *, given: bool) -> str:
    """``engine trtllm`` / ``engines h100-sxm trtllm, mi300x vllm`` (``(vendor default)`` when not given)."""
    if isinstance(engines, dict):
        vals = sorted(set(engines.values()))
        text = f"engine {vals[0]}" if len(vals) == 1 else "engines " + ", ".join(f"{h} {e}" for h, e in engines.items())
    else:
        text = f"engine {engines}"
    return text + ("" if given else " (vendor default)")


def header_line(subject: str, *settings: str) -> str:
    """The first line of an output: what it is about, then every setting that shapes its numbers."""
    return SEP.join([subject, *(s for s in settings if s)])


def humanize(text: str) -> str:
    """Library text for a person: each known field name in it (``usd_per_mtok_total``) replaced by its label, except
    inside a path, a key path or a flag (``data/x_y.yaml``, ``defaults.utilization``, ``--x-y``)."""
    fields = labels_data()["fields"]

    def sub(m: re.Match) -> str:
        name = m.group(0)
        before = text[m.start() - 1] if m.start() else " "
        after = text[m.end()] if m.end() < len(text) else " "
        if name not in fields or before in "./-*`'\"[" or after in "./`'\"]":
            return name
        return label(name)

    return SNAKE_CASE.sub(sub, str(text))


def log_ticks(lo: float | None, hi: float | None, fn=None) -> tuple[list[float], list[str]]:
    """Major ticks of a log axis from ``lo`` to ``hi`` with their labels: powers of ten when the range spans more
    than two decades, else the 1-2-5 sequence (so a short range still has several labelled ticks)."""
    fn = fn or num
    lo, hi = _finite(lo), _finite(hi)
    if lo is None or hi is None or lo <= 0 or hi <= 0:
        return [], []
    lo, hi = min(lo, hi), max(lo, hi)
    e0, e1 = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    sequences = ((1,), (1, 2, 5), (1, 1.5, 2, 3, 4, 5, 6, 8), tuple(1 + 0.1 * i for i in range(90)))
    start = 0 if math.log10(hi / lo) > 2 else 1
    inside: list[float] = []
    for steps in sequences[start:]:
        vals = [float(f"{m * 10.0**e:.6g}") for e in range(e0, e1 + 1) for m in steps]
        inside = [v for v in vals if lo / 1.0001 <= v <= hi * 1.0001]
        if len(inside) >= 3:
            break
    if len(inside) > 12:  # the finest sequence on a range it is too fine for: every other tick
        inside = inside[:: math.ceil(len(inside) / 8)]
    if len(inside) < 2:  # a range narrower than any step: the ticks around it
        vals = [float(f"{m * 10.0**e:.6g}") for e in range(e0, e1 + 1) for m in sequences[2]]
        inside = [v for v in vals if v < lo][-1:] + inside + [v for v in vals if v > hi][:1]
    return inside, [fn(v) if fn is not num else tick(v) for v in inside]


def usd_tick(v) -> str:
    """A dollar axis tick label: ``$0.05``, ``$2``, ``$10``, ``$1,000``."""
    t = tick(v)
    return f"-${t[1:]}" if t.startswith("-") else f"${t}"


def tick(v) -> str:
    """An axis tick label: ``0.05``, ``2``, ``500``, ``2,000``, ``50k``, ``1M`` (no trailing zeros, SI from 10,000)."""
    x = _finite(v)
    if x is None:
        return ""
    if abs(x) >= 1e4:
        return si(x).replace(".00", "").replace(".0", "")
    if abs(x) >= 1:
        return f"{x:,.0f}" if x == round(x) else num(x)
    return f"{x:.6f}".rstrip("0").rstrip(".")


__all__ = [
    "DASH",
    "SEP",
    "engine_setting",
    "header_line",
    "precision_setting",
    "tco_setting",
    "E_NOTATION",
    "SNAKE_CASE",
    "band",
    "count",
    "explain",
    "gib",
    "header",
    "humanize",
    "label",
    "labels_data",
    "log_ticks",
    "ms",
    "num",
    "pct",
    "pct_value",
    "plus_minus",
    "readable",
    "seconds",
    "si",
    "tick",
    "unit",
    "usd_tick",
    "usd",
    "words",
]
