"""tokenfab: the economics of AI inference.

Python API (each is a thin entry point over the concept modules):
    tokenfab.get_model, tokenfab.get_hardware, tokenfab.fit, tokenfab.tco, tokenfab.cost, tokenfab.estimate, ...
"""
from __future__ import annotations

__version__ = "0.1.0"

_LAZY = {
    "get_model": ("tokenfab.models", "get_model"),
    "get_hardware": ("tokenfab.hardware", "get_hardware"),
    "fit": ("tokenfab.memory", "fit"),
    "tco": ("tokenfab.tco", "tco"),
    "cost": ("tokenfab.cost", "compute_cost"),
    "estimate": ("tokenfab.serving", "estimate"),
    "frontier": ("tokenfab.search", "frontier"),
    "recommend": ("tokenfab.fleet", "recommend"),
    "TokenfabError": ("tokenfab.errors", "TokenfabError"),
}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        mod, attr = _LAZY[name]
        return getattr(importlib.import_module(mod), attr)
    raise AttributeError(f"module 'tokenfab' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_LAZY))
