"""docs/cli.md is generated from the commands' definitions (tokenfab.cli.reference) and must be current, and the CLI
speaks one vocabulary: the same short flags and file options on every command that takes the same input."""

from pathlib import Path

import typer.main

from tokenfab.cli.main import app
from tokenfab.cli.reference import markdown

DOC = Path(__file__).resolve().parents[1] / "docs" / "cli.md"


def _commands():
    group = typer.main.get_command(app)
    ctx = group.context_class(group, info_name="tokenfab")
    return {n: group.get_command(ctx, n) for n in group.list_commands(ctx)}


def _options(cmd) -> dict[str, list[str]]:
    """Long flag -> every flag of that option (``--hardware`` -> ``["--hardware", "-H"]``)."""
    out = {}
    for p in cmd.params:
        if getattr(p, "param_type_name", "") == "option":
            flags = [*p.opts, *getattr(p, "secondary_opts", ())]
            out[next(f for f in flags if f.startswith("--"))] = flags
    return out


def test_the_cli_reference_is_current():
    assert DOC.read_text(encoding="utf-8") == markdown(), "docs/cli.md is out of date: python scripts/cli_reference.py"


def test_the_reference_lists_every_command_and_option():
    text = DOC.read_text(encoding="utf-8")
    for name, cmd in _commands().items():
        assert f"## tokenfab {name}\n" in text
        for long in _options(cmd):
            assert f"`{long}`" in text, (name, long)


def test_one_vocabulary_across_commands():
    """--model is -m, --hardware is -H, --output is -o wherever they appear; every option has help text; a command
    that names hardware also takes --hardware-file."""
    problems = []
    for name, cmd in _commands().items():
        opts = _options(cmd)
        for long, short in (("--model", "-m"), ("--hardware", "-H"), ("--output", "-o")):
            if long in opts and short not in opts[long]:
                problems.append(f"{name}: {long} without {short}")
        if "--hardware" in opts and "--hardware-file" not in opts:
            problems.append(f"{name}: --hardware without --hardware-file")
        for p in cmd.params:
            if getattr(p, "param_type_name", "") == "option" and not (getattr(p, "help", "") or "").strip():
                problems.append(f"{name}: {p.opts[0]} has no help")
    assert not problems, "\n".join(problems)
