"""The ``tokenfab`` command. Each sub-command lives in its own module with a ``register(app)`` function.

Every sub-command runs as a :class:`CheckedCommand`, the one place where the CLI

- checks its file parameters before any work starts (:data:`OUTPUT_PATHS`: the folder exists, the path is not a
  folder, ...; :data:`INPUT_FILES`: a calibration profile or benchmark records file is read and validated by its
  tokenfab.core.files loader), so a bad ``--csv`` fails at once and not after the work;
- names a library parameter in an error as the flag the user typed (:data:`PARAM_OF` maps the library's names
  to the command's parameters where they differ: ``rate_rps`` is ``--rate``);
- prints a TokenfabError as one literal line (no Rich markup, no control characters) and exits with code 2.
"""

from __future__ import annotations

import importlib
import re

import typer
from typer.core import TyperCommand, TyperGroup, TyperOption

from tokenfab.cli.common import print_error, start_clock
from tokenfab.core import files
from tokenfab.core.errors import TokenfabError
from tokenfab.render.plots import HTML_EXTENSIONS, STATIC_EXTENSIONS

_TYPE_COLUMN = TyperOption.display_type_rich


def _type_column(self: TyperOption, ctx) -> str | None:
    """The help's type column without a value placeholder for on/off flags (``--json``, not ``--json <bool>``):
    a flag takes no value. Typer (0.2x) shows every option's type there."""
    return None if self.is_flag else _TYPE_COLUMN(self, ctx)


TyperOption.display_type_rich = _type_column  # type: ignore[method-assign]

PLOT_SUFFIXES = STATIC_EXTENSIONS + HTML_EXTENSIONS  # static (matplotlib) or Plotly charts

# command -> {parameter: keyword arguments of tokenfab.core.files.check_output_path}, checked before any work
OUTPUT_PATHS: dict[str, dict[str, dict]] = {
    "plan": {"csv_path": {"kind": "a CSV file path"}},
    "report": {"output": {"suffixes": (".html", ".htm"), "kind": "an HTML file path"}},
    "calibrate": {"out": {"kind": "a JSON file path for the profile"}},
    "bench": {
        "out": {"append": True, "create_parents": True, "kind": "a JSONL file path (records are appended)"},
        # --out makes its folder (records stream into it); the CSV and the summary need an existing one, checked
        # before anything is sent (the summary was not: a missing folder failed after the whole run)
        "csv_path": {"kind": "a CSV file path"},
        "summary_path": {"kind": "a JSON file path for the summary"},
    },
    "bench-report": {"html_path": {"suffixes": (".html", ".htm"), "kind": "an HTML file path"}},
    "frontier": {"plot": {"suffixes": PLOT_SUFFIXES, "kind": "a chart file path"}},
    "sensitivity": {"plot": {"suffixes": PLOT_SUFFIXES, "kind": "a chart file path"}},
}
# command -> {parameter: loader of tokenfab.core.files}: input files read and validated before any work
INPUT_FILES: dict[str, dict[str, str]] = {
    "estimate": {"calibration": "load_calibration_json"},
    "frontier": {"calibration": "load_calibration_json"},
    "recommend": {"calibration": "load_calibration_json"},
    "bench-report": {"results": "load_bench_records", "calibration": "load_calibration_json"},
    "calibrate": {"results": "load_bench_records", "base": "load_calibration_json"},
}
# library parameter -> the command parameter carrying it, where the names differ ("*": every command)
PARAM_OF: dict[str, dict[str, str]] = {
    "*": {
        "rate_rps": "rate",
        "mtp_draft_tokens": "mtp",
        "mtp_acceptance_length": "mtp_acceptance",
        "spec_method": "spec",
        "speculative": "spec",
        "prefill_hardware": "prefill_hardware",
        "prefix_hit_rate": "prefix_hit",
        "hardware_files": "hardware_file",
        "price_usd_per_gpu_hour": "usd_per_gpu_hour",
        "total_tokens_per_s_per_gpu": "tokens_per_s_per_gpu",
        "include_overheads": "no_overheads",
        "tiers": "tier",
        "n": "monte_carlo",
        "swing_pct": "swing",
        "csv": "csv_path",
    },
    "calibrate": {"calibration": "base", "profile": "base"},
    "frontier": {"mtp": "spec"},
    "recommend": {"mtp": "spec"},
    "report": {"swing_pct": "swing_pct"},
    "bench-report": {"html": "html_path"},
    "bench": {"summary": "summary_path", "duration_s": "duration", "api_key": "api_key_env"},
    "prices": {"months": "plan_months"},
}


def shown_name(command: str, params: dict, field: str | None) -> str | None:
    """The flag (``--rate``) a library error's ``field`` (``rate_rps``, ``calibration.default.x``) stands for in
    ``command``; fields that are no parameter of it (a scenario key path, a file) are kept."""
    if not field or any(ch in field for ch in " :/\\"):  # a file and a key path in it: named as it is
        return field
    m = re.match(r"[A-Za-z_][A-Za-z0-9_]*", field)
    if not m:
        return field
    head, rest = m.group(), field[m.end() :]
    if rest and rest[0] not in ".[":
        return field
    name = PARAM_OF.get(command, {}).get(head) or PARAM_OF["*"].get(head, head)
    p = params.get(name)
    if p is None:
        return field
    dashed = [o for o in getattr(p, "opts", ()) if o.startswith("-")]
    flag = next((o for o in dashed if o.startswith("--")), dashed[0]) if dashed else p.name
    rest = rest.lstrip(".")
    return f"{flag}: {rest}" if rest else flag


def preflight(command: str, params: dict, values: dict) -> None:
    """The file checks of :data:`OUTPUT_PATHS` and :data:`INPUT_FILES` for one invocation (errors name the flag)."""
    for name, kw in OUTPUT_PATHS.get(command, {}).items():
        if values.get(name) is not None:
            files.check_output_path(values[name], field=name, **kw)
    for name, loader in INPUT_FILES.get(command, {}).items():
        if values.get(name) is not None:
            getattr(files, loader)(values[name], field=name)


class CheckedCommand(TyperCommand):
    """A sub-command whose file parameters are checked before it runs and whose errors name its flags."""

    @staticmethod
    def _bad_value(e: typer.BadParameter, args: list[str] | None = None) -> TokenfabError | None:
        """A value a flag cannot take (``--users abc``, ``--isl nan``) as one line naming the flag and the value
        typed (``args``: the command line), like every other input error, not Click's usage box (a missing required
        option keeps Click's message with the usage)."""
        if type(e).__name__ == "MissingParameter" or e.param is None:
            return None
        all_opts = list(getattr(e.param, "opts", ())) + list(getattr(e.param, "secondary_opts", ()))
        opts = [o for o in all_opts if o.startswith("--")] or [e.param.name or "value"]
        got = None
        for i, a in enumerate(args or []):  # the last value given for the flag (--tp 1e9 or --tp=1e9)
            if a in all_opts and i + 1 < len(args or []):
                got = (args or [])[i + 1]
            elif any(a.startswith(o + "=") for o in all_opts if o.startswith("--")):
                got = a.split("=", 1)[1]
        return TokenfabError(e.message.split(",")[0].rstrip("."), field=opts[0], got=got)

    def parse_args(self, ctx, args):
        typed = list(args)
        try:
            return super().parse_args(ctx, args)
        except typer.BadParameter as e:
            one_line = self._bad_value(e, typed)
            if one_line is None:
                raise
            raise one_line from None

    def invoke(self, ctx):
        start_clock()  # the elapsed time an output reports is the whole command's
        params = {p.name: p for p in self.params}
        try:
            preflight(self.name, params, ctx.params)
            return super().invoke(ctx)
        except typer.BadParameter as e:  # typer converts some values when it calls the command
            one_line = self._bad_value(e)
            if one_line is None:
                raise
            raise one_line from None
        except TokenfabError as e:
            if getattr(e, "line", None) is not None:  # a key path in a file (a scenario line), not a flag
                raise
            raise e.with_field(shown_name(self.name, params, e.field)) from None


class _Group(TyperGroup):
    """Turns user errors (TokenfabError) into one clear line and exit code 2, never a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except TokenfabError as e:
            print_error(e)
            raise typer.Exit(2) from None


app = typer.Typer(
    cls=_Group,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    help="tokenfab: the economics of AI inference - fit, performance, cost per token, demand and measurement.",
)


def _version(value: bool) -> None:
    if value:
        from tokenfab import __version__

        typer.echo(f"tokenfab {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """tokenfab: the economics of AI inference - fit, performance, cost per token, demand and measurement."""


# sub-command modules, in the order they appear in --help
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
    importlib.import_module(f"tokenfab.cli.{_name}").register(app)


def _checked(typer_app: typer.Typer) -> None:
    """Every registered command (in sub-groups too) runs as a CheckedCommand."""
    for info in typer_app.registered_commands:
        if info.cls in (None, TyperCommand):
            info.cls = CheckedCommand
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            _checked(group.typer_instance)


_checked(app)


def run() -> None:
    app()


if __name__ == "__main__":
    run()
