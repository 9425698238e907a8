"""Issue 15, a consistent CLI: on/off flags show no value placeholder in --help (``--json``, not ``--json <bool>``),
while options that take a value keep their type."""

from __future__ import annotations

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from tokenfab.cli.main import app

COMMANDS = sorted(get_command(app).commands)  # type: ignore[attr-defined]


@pytest.mark.parametrize("command", COMMANDS)
def test_flags_have_no_value_placeholder_in_help(command):
    r = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "200"}, terminal_width=200)
    assert r.exit_code == 0, r.output
    assert "<bool>" not in r.output
    assert "--help" in r.output


def test_options_that_take_a_value_keep_their_type():
    r = CliRunner().invoke(app, ["estimate", "--help"], env={"COLUMNS": "200"}, terminal_width=200)
    line = next(x for x in r.output.splitlines() if "--isl" in x)
    assert "<int>" in line
