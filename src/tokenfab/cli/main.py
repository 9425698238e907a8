"""The ``tokenfab`` command. Each sub-command lives in its own module with a ``register(app)`` function."""

from __future__ import annotations

import importlib

import typer
from typer.core import TyperGroup

from tokenfab.cli.common import err_console
from tokenfab.core.errors import TokenfabError


class _Group(TyperGroup):
    """Turns user errors (TokenfabError) into one clear line and exit code 2, never a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except TokenfabError as e:
            err_console.print(f"[bold red]error:[/] {e}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None


app = typer.Typer(
    cls=_Group,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    help="tokenfab: the economics of AI inference - fit, performance, cost per token, demand and measurement.",
)

# sub-command modules, in the order they appear in --help; a module that is not there yet is skipped
COMMAND_MODULES = (
    "catalog",
    "fit",
    "tco",
    "cost",
    "estimate",
    "frontier",
    "recommend",
    "plan",
    "report",
    "prices",
    "sensitivity",
    "bench",
    "ui",
)

for _name in COMMAND_MODULES:
    try:
        _mod = importlib.import_module(f"tokenfab.cli.{_name}")
    except ModuleNotFoundError as _e:
        if _e.name == f"tokenfab.cli.{_name}":
            continue
        raise
    _mod.register(app)


def run() -> None:
    app()


if __name__ == "__main__":
    run()
