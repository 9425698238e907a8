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


@pytest.mark.parametrize(
    "argv, flag",
    [
        (["fit", "-m", "llama-3.1-70b", "-H", "h100-sxm", "--users", "abc"], "--users"),
        (["estimate", "-m", "llama-3.1-8b", "-H", "h100-sxm", "--isl", "nan"], "--isl"),
        (["frontier", "-m", "llama-3.1-8b", "-H", "h100-sxm", "--gpus", "1.5"], "--gpus"),
    ],
)
def test_a_value_a_flag_cannot_take_is_one_line_naming_the_flag(argv, flag):
    r = CliRunner().invoke(app, argv)
    assert r.exit_code == 2
    out = r.output.strip()
    assert out.startswith(f"error: {flag}:") and "\n" not in out and "Usage" not in out, out


def test_a_bad_tco_flag_on_a_sweep_is_an_error_not_an_unpriced_result():
    r = CliRunner().invoke(app, ["frontier", "-m", "llama-3.1-8b", "-H", "h100-sxm", "--mode", "agg", "--pue", "0.1"])
    assert r.exit_code == 2 and r.output.strip().startswith("error: --pue:"), r.output
