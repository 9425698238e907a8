"""tokenfab: the economics of AI inference.

Python API (each is a thin entry point over the concept modules):
    tokenfab.get_model, tokenfab.get_hardware, tokenfab.fit, tokenfab.estimate, tokenfab.frontier,
    tokenfab.recommend, tokenfab.compute_tco, tokenfab.compute_cost, tokenfab.cost_for_hardware, and the modules
    tokenfab.economics.tco (``tokenfab.economics.tco.tco(hardware, preset)``), tokenfab.economics.cost,
    tokenfab.planning.plan, ... (``tco`` and ``cost`` are modules: a function of the same name would be replaced by
    the submodule as soon as anything imports it)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"

_LAZY = {
    "get_model": ("tokenfab.catalog.models", "get_model"),
    "get_hardware": ("tokenfab.catalog.hardware", "get_hardware"),
    "fit": ("tokenfab.perf.memory", "fit"),
    "compute_tco": ("tokenfab.economics.tco", "tco"),
    "compute_cost": ("tokenfab.economics.cost", "compute_cost"),
    "cost_for_hardware": ("tokenfab.economics.cost", "cost_for_hardware"),
    "estimate": ("tokenfab.perf.serving", "estimate"),
    "frontier": ("tokenfab.search", "frontier"),
    "recommend": ("tokenfab.planning.fleet", "recommend"),
    "TokenfabError": ("tokenfab.core.errors", "TokenfabError"),
}


__all__ = [
    "TokenfabError",
    "__version__",
    "compute_cost",
    "compute_tco",
    "cost_for_hardware",
    "estimate",
    "fit",
    "frontier",
    "get_hardware",
    "get_model",
    "recommend",
]

if TYPE_CHECKING:  # the lazy names, for type checkers and IDEs
    from tokenfab.catalog.hardware import get_hardware
    from tokenfab.catalog.models import get_model
    from tokenfab.core.errors import TokenfabError
    from tokenfab.economics.cost import compute_cost, cost_for_hardware
    from tokenfab.economics.tco import tco as compute_tco
    from tokenfab.perf.memory import fit
    from tokenfab.perf.serving import estimate
    from tokenfab.planning.fleet import recommend
    from tokenfab.search import frontier


def __getattr__(name):
    if name in _LAZY:
        import importlib

        mod, attr = _LAZY[name]
        return getattr(importlib.import_module(mod), attr)
    raise AttributeError(f"module 'tokenfab' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_LAZY))
