"""``tokenfab report scenario.yaml -o report.html``: the plan as one self-contained HTML page
(tokenfab.render.report)."""

from __future__ import annotations

from pathlib import Path

import typer

from tokenfab import api
from tokenfab.cli.common import console, lit
from tokenfab.cli.plan import HardwareListOpt, MonthsOpt, ScenarioArg, progress_bar
from tokenfab.cli.tco import HwFileOpt
from tokenfab.core import units
from tokenfab.economics.sensitivity import DEFAULT_SWING_PCT


def register(app: typer.Typer) -> None:
    @app.command("report")
    def report_cmd(
        scenario: Path = ScenarioArg,
        output: Path = typer.Option(Path("report.html"), "-o", "--output", help="HTML file to write"),
        months: int | None = MonthsOpt,
        hardware: str | None = HardwareListOpt,
        hardware_file: HwFileOpt = None,
        swing_pct: float = typer.Option(
            DEFAULT_SWING_PCT, "--swing-pct", "--swing", help="tornado: move each cost input by +/- this %"
        ),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar"),
    ) -> None:
        """One self-contained HTML report (charts inline, no network): summary, fleet, cost, Pareto, tornado."""
        req = api.ReportRequest.build(
            scenario=str(scenario),
            output=str(output),
            months=months,
            hardware=hardware,
            hardware_files=hardware_file or None,
            swing_pct=swing_pct,
        )
        with progress_bar(not quiet) as cb:
            r = api.report(req, progress=cb)
        console.print(
            lit(
                f"wrote {r.path} ({r.size_bytes / units.MB:.1f} MB)"
                + (
                    f"; cheapest hardware {r.best_hardware}" + (" (rests on a prior)" if r.best_rests_on_prior else "")
                    if r.best_hardware
                    else f"; {r.none_feasible_reason}"
                )
            ),
            highlight=False,
        )
