"""tokenfab: the economics of AI inference.

Python API (each is a thin entry point over the concept modules):
    tokenfab.get_model, tokenfab.get_hardware, tokenfab.fit, tokenfab.estimate, tokenfab.frontier,
    tokenfab.recommend, tokenfab.compute_tco, tokenfab.compute_cost, tokenfab.cost_for_hardware, and the modules tokenfab.tco (``tokenfab.tco.tco(hardware, preset)``),
    tokenfab.cost, tokenfab.planning, ... (``tco`` and ``cost`` are modules: a function of the same name would be
    replaced by the submodule as soon as anything imports it)
"""
from __future__ import annotations

__version__ = "0.1.0"

_LAZY = {
    "get_model": ("tokenfab.models", "get_model"),
    "get_hardware": ("tokenfab.hardware", "get_hardware"),
    "fit": ("tokenfab.memory", "fit"),
    "compute_tco": ("tokenfab.tco", "tco"),
    "compute_cost": ("tokenfab.cost", "compute_cost"),
    "cost_for_hardware": ("tokenfab.cost", "cost_for_hardware"),
    "estimate": ("tokenfab.serving", "estimate"),
    "frontier": ("tokenfab.search", "frontier"),
    "recommend": ("tokenfab.fleet", "recommend"),
    "TokenfabError": ("tokenfab.errors", "TokenfabError"),
}


_LAZY_MODULES = ("tco", "cost", "memory", "serving", "search", "fleet", "planning", "scenario", "demand", "pricing",
                 "sensitivity", "report", "models", "hardware", "units", "roofline", "calibration")


def __getattr__(name):
    if name in _LAZY_MODULES:
        import importlib

        return importlib.import_module(f"tokenfab.{name}")
    if name in _LAZY:
        import importlib

        mod, attr = _LAZY[name]
        return getattr(importlib.import_module(mod), attr)
    raise AttributeError(f"module 'tokenfab' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_LAZY) + list(_LAZY_MODULES))
