"""The CLI reference (docs/cli.md) generated from the commands' own definitions: every command's help, arguments
and options with their types, defaults and help text. ``python scripts/cli_reference.py`` writes it;
tests/test_cli_reference.py checks the committed file is current (as sqlite-utils does with cog)."""

from __future__ import annotations

import typer.main
from typer.core import TyperGroup

HEADER = (
    "# CLI reference\n\n"
    "Generated from the commands' definitions by `python scripts/cli_reference.py` (do not edit by hand; "
    "tests/test_cli_reference.py fails when it is out of date). `tokenfab COMMAND --help` prints the same.\n"
)


def _one_line(text: str | None) -> str:
    return " ".join((text or "").split())


def _default(p) -> str:
    d = p.default
    if d is None or getattr(p, "is_flag", False) and d is False and not getattr(p, "secondary_opts", None):
        return ""
    if callable(d):
        return ""
    if isinstance(d, bool):
        return "on" if d else "off"
    if isinstance(d, (list, tuple)):
        return ", ".join(str(x) for x in d) if d else ""
    return str(d)


def _type(p) -> str:
    """A parameter's type in words, from its annotation (typer's type descriptor)."""
    if getattr(p, "is_flag", False):
        return "flag"
    desc = getattr(p, "type_descriptor", None)
    ann = getattr(desc, "annotation", None)
    return _type_name(ann)


def _type_name(ann) -> str:
    import enum
    import pathlib
    import typing

    origin = typing.get_origin(ann)
    if origin in (list, tuple):
        inner = [a for a in typing.get_args(ann) if a is not Ellipsis]
        return f"{_type_name(inner[0]) if inner else 'text'} (repeatable)"
    if origin is typing.Literal:
        return " \\| ".join(str(a) for a in typing.get_args(ann))
    if origin is not None:  # Optional[X] / X | None
        args = [a for a in typing.get_args(ann) if a is not type(None)]
        return _type_name(args[0]) if args else "text"
    if isinstance(ann, type) and issubclass(ann, enum.Enum):
        return " \\| ".join(str(m.value) for m in ann)
    names = {bool: "flag", int: "integer", float: "number", str: "text", pathlib.Path: "path"}
    return names.get(ann, getattr(ann, "__name__", "text"))


def _command_section(name: str, cmd) -> str:
    lines = [f"## tokenfab {name}", "", _one_line(cmd.help), ""]
    args = [p for p in cmd.params if getattr(p, "param_type_name", "") == "argument"]
    opts = [p for p in cmd.params if getattr(p, "param_type_name", "") == "option" and not getattr(p, "hidden", False)]
    usage = " ".join((a.metavar or a.name.upper()) for a in args)
    lines += ["```", f"tokenfab {name} [OPTIONS] {usage}".rstrip(), "```", ""]
    if args:
        lines += ["| argument | help |", "|---|---|"]
        lines += [f"| `{(a.metavar or a.name.upper())}` | {_one_line(getattr(a, 'help', ''))} |" for a in args]
        lines.append("")
    if opts:
        lines += ["| option | type | default | help |", "|---|---|---|---|"]
        for p in opts:
            flags = ", ".join(f"`{o}`" for o in (*p.opts, *getattr(p, "secondary_opts", ())))
            help_text = _one_line(getattr(p, "help", "")).replace("|", "\\|")
            default = _default(p).replace("|", "\\|")
            lines.append(f"| {flags} | {_type(p)} | {default} | {help_text} |")
        lines.append("")
    return "\n".join(lines)


def markdown() -> str:
    """docs/cli.md: every tokenfab command in the order of ``tokenfab --help``."""
    from tokenfab.cli.main import app

    group = typer.main.get_command(app)
    assert isinstance(group, TyperGroup)  # an app with sub-commands
    ctx = group.context_class(group, info_name="tokenfab")
    parts = [HEADER]
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        if cmd is not None and not getattr(cmd, "hidden", False):
            parts.append(_command_section(name, cmd))
    return "\n".join(parts).rstrip() + "\n"
