"""Fixtures shared across the test modules (helpers that are plain functions live in tests/_cli.py and
tests/_fuzz.py)."""

from __future__ import annotations

import pytest


@pytest.fixture
def wide_console(monkeypatch):
    """The CLI's console 400 columns wide: Rich fits tables to 80 columns when not on a terminal, which would fold
    cell text that a test looks for on one line. Use with ``pytestmark = pytest.mark.usefixtures("wide_console")``."""
    from tokenfab.cli import common

    monkeypatch.setattr(common.console, "_width", 400)


@pytest.fixture(scope="module")
def client():
    """The dashboard as served (FastAPI's TestClient over tokenfab.ui.app.create_app: library calls in worker
    processes), one per test module."""
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from tokenfab.ui.app import create_app

    with TestClient(create_app(), base_url="http://127.0.0.1") as c:
        yield c
