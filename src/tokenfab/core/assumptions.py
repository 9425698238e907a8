"""tokenfab's named default assumptions: one data file (data/assumptions.yaml), one accessor.

Every figure is ``{value, unit, source, as_of}``; :func:`figure` returns it, :func:`value` its number and
:func:`cite` its citation. Layers above (perf/memory.py, economics/assumptions.py, ...) read their defaults here
instead of keeping constants in code.
"""

from __future__ import annotations

import copy
from functools import lru_cache
from typing import Any

from tokenfab.core.data import data_path, read_yaml
from tokenfab.core.errors import TokenfabError

FILE = "assumptions.yaml"


@lru_cache(maxsize=1)
def _raw() -> dict[str, Any]:
    raw = read_yaml(data_path(FILE))
    if not isinstance(raw, dict):
        raise TokenfabError("malformed default assumptions", field=FILE)
    return raw


def load_assumptions() -> dict[str, Any]:
    """A copy of data/assumptions.yaml (every figure is {value, unit, source, as_of})."""
    return copy.deepcopy(_raw())


def figure(*path: str) -> dict[str, Any]:
    """The figure at ``path`` (e.g. ``figure("memory", "max_batch_tokens")``): {value, unit, source, as_of}."""
    node: Any = _raw()
    for p in path:
        if not isinstance(node, dict) or p not in node:
            raise TokenfabError("no such default assumption", field=".".join(path))
        node = node[p]
    if not isinstance(node, dict) or "value" not in node:
        raise TokenfabError("not a figure", field=".".join(path))
    return dict(node)


def value(*path: str) -> float:
    """The number of the figure at ``path``."""
    return float(figure(*path)["value"])


def cite(*path: str) -> str:
    """``source (as of ...)`` of the figure at ``path``."""
    f = figure(*path)
    src = str(f.get("source", ""))
    return f"{src} (as of {f.get('as_of')})" if f.get("as_of") else src


__all__ = ["FILE", "cite", "figure", "load_assumptions", "value"]
