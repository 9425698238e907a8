"""``tokenfab report scenario.yaml -o report.html``: the plan as one self-contained HTML page
(tokenfab.render.report)."""

from __future__ import annotations

from pathlib import Path

import typer

from tokenfab.cli.common import console, lit
from tokenfab.cli.plan import HardwareListOpt, MonthsOpt, ScenarioArg, run_plan
from tokenfab.cli.tco import HwFileOpt
from tokenfab.render.report import check_output_path, write_report


def register(app: typer.Typer) -> None:
    @app.command("report")
    def report_cmd(
        scenario: Path = ScenarioArg,
        output: Path = typer.Option(Path("report.html"), "-o", "--output", help="HTML file to write"),
        months: int | None = MonthsOpt,
        hardware: str | None = HardwareListOpt,
        hardware_file: HwFileOpt = None,
        swing_pct: float = typer.Option(20.0, "--swing-pct", help="tornado: move each cost input by +/- this %"),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar"),
    ) -> None:
        """One self-contained HTML report (charts inline, no network): summary, fleet, cost, Pareto, tornado."""
        check_output_path(output)  # before any work: a bad path fails at once, with no progress bar
        res = run_plan(scenario, months, hardware, show_progress=not quiet, hardware_files=hardware_file)
        p = write_report(res, output, swing_pct=swing_pct)
        best = res.best
        console.print(
            lit(
                f"wrote {p} ({p.stat().st_size / 1e6:.1f} MB)"
                + (
                    f"; cheapest hardware {best.hardware}" + (" (rests on a prior)" if best.prior else "")
                    if best
                    else "; no hardware meets the SLA"
                )
            ),
            highlight=False,
        )
