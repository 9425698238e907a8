"""CLI helpers for the tests: run a tokenfab command in-process and read its JSON."""

from __future__ import annotations

import json

from typer.testing import CliRunner

import tokenfab.cli.main

runner = CliRunner()


def invoke(*args):
    """``tokenfab ARGS...`` in-process (typer's CliRunner); returns the click Result."""
    return runner.invoke(tokenfab.cli.main.app, [str(a) for a in args])


def invoke_json(*args):
    """``tokenfab ARGS... --json``, asserted to exit 0; returns the parsed document."""
    r = invoke(*args, "--json")
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def same_json(obj):
    """What a library result looks like after the JSON round trip (NumPy -> plain, inf/NaN -> null)."""
    from tokenfab.core.jsonable import to_jsonable

    return json.loads(json.dumps(to_jsonable(obj)))
