"""The tokenfab web dashboard: a FastAPI JSON API over the library plus one static page (plain JS + Plotly.js).

``create_app()`` builds the app; ``tokenfab ui`` serves it on 127.0.0.1. Every number comes from the library
(memory, serving, tco, cost, bench, search and planning); the dashboard re-implements no formula.
See docs/ui.md.
"""

from __future__ import annotations


def create_app(**kwargs):
    """Build the dashboard's FastAPI app (imports FastAPI lazily: it is an optional dependency, ``tokenfab[ui]``)."""
    from tokenfab.ui.app import create_app as _create_app

    return _create_app(**kwargs)


__all__ = ["create_app"]
