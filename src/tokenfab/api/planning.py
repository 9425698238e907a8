"""The product plan as typed operations: ``plan`` (``tokenfab plan``: users and features -> tokens per day, peak load,
fleet per hardware, cost, revenue, margin, breakeven, month by month) and ``report`` (``tokenfab report``: the same
plan as one self-contained HTML page).

    >>> from tokenfab import api
    >>> r = api.plan(api.PlanRequest(scenario="examples/consumer_chat.yaml", months=3))
    >>> r.operation, len(r.months)
    ('plan', 3)
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import PrivateAttr, field_validator

from tokenfab.api.schema import Request, Result, described, request_fields, split_list
from tokenfab.core.errors import TokenfabError
from tokenfab.core.jsonable import to_jsonable
from tokenfab.economics.sensitivity import DEFAULT_SWING_PCT
from tokenfab.planning import plan as planmod
from tokenfab.planning.scenario import Scenario, load_scenario, parse_scenario_text

Progress = Callable[[int, int, str], None]


class PlanRequest(Request):
    """A scenario (a YAML file, or its text) planned month by month (``tokenfab plan``; schema in docs/demand.md)."""

    scenario: str | None = described("the scenario YAML file (examples/*.yaml)", default=None)
    scenario_text: str | None = described(
        "the scenario's YAML text instead of a file (named ``source`` in errors)", default=None
    )
    source: str = described("the name errors give the scenario text", default="<scenario>")
    months: int | None = described("months to plan (default: the scenario's horizon)", "months", default=None)
    hardware: list[str] | None = described("plan on these hardware instead of the scenario's", default=None)
    hardware_files: list[str] | None = described("extra hardware YAML/TOML/JSON files", default=None)

    @field_validator("hardware", mode="before")
    @classmethod
    def _lists(cls, v: Any) -> Any:
        return split_list(v)

    def load(self) -> Scenario:
        """The validated scenario of the request (its file, or its text)."""
        if (self.scenario is None) == (self.scenario_text is None):
            raise TokenfabError(
                "give the scenario file or its text", field="scenario", expected="one of scenario, scenario_text"
            )
        files = list(self.hardware_files) if self.hardware_files else None
        if self.scenario is not None:
            return load_scenario(self.scenario, hardware_files=files)
        return parse_scenario_text(self.scenario_text or "", source=self.source, hardware_files=files)


class PlanResult(Result):
    """The plan (schema in docs/demand.md): demand, caching, pricing, one fleet plan per hardware, the best one."""

    scenario: dict[str, Any]
    months: list[int]
    labels: list[str]
    demand: dict[str, Any]
    caching: dict[str, Any]
    pricing: dict[str, Any]
    cost_allocation: dict[str, Any]
    hardware: list[dict[str, Any]]
    best_hardware: str | None
    summary: dict[str, Any]
    assumptions: dict[str, Any]
    elapsed_s: float
    _library: planmod.PlanResult | None = PrivateAttr(default=None)

    def csv_rows(self) -> list[dict[str, Any]]:
        """One flat row per (hardware, month), for CSV (``tokenfab plan --csv``)."""
        return self._library.to_rows() if self._library is not None else []


def _plan(req: PlanRequest, progress: Progress | None) -> planmod.PlanResult:
    files = list(req.hardware_files) if req.hardware_files else None
    return planmod.plan(req.load(), months=req.months, hardware=req.hardware, progress=progress, hardware_files=files)


def _result(req: PlanRequest, res: planmod.PlanResult) -> PlanResult:
    d = to_jsonable(res.to_dict())
    sources = {
        "scenario": d["scenario"].get("source"),
        "pricing": (d.get("pricing") or {}).get("source") or "the scenario's pricing block (no source given)",
        "calibration": {
            h["hardware"]: (h.get("calibration") or {}).get("sources") or "prior (no measurements)"
            for h in d["hardware"]
        },
        "assumptions": "src/tokenfab/data/assumptions.yaml",
    }
    out = PlanResult(operation="plan", inputs=req.model_dump(mode="json"), sources=sources, **d)
    out._library = res
    return out


@request_fields()
def plan(req: PlanRequest, *, progress: Progress | None = None) -> PlanResult:
    """``tokenfab.planning.plan.plan`` of the request's scenario (``progress(done, total, what)`` is called as the
    sweeps run), as a typed result."""
    return _result(req, _plan(req, progress))


class ReportRequest(PlanRequest):
    """The plan as one self-contained HTML page (``tokenfab report``)."""

    output: str = described("HTML file to write", default="report.html")
    swing_pct: float = described(
        "tornado: move each cost input by +/- this",
        "%",
        default=DEFAULT_SWING_PCT,
        source="src/tokenfab/data/assumptions.yaml sensitivity.swing_pct",
    )

    @classmethod
    def build(cls, **values: Any) -> ReportRequest:
        """The request, with its output path checked at once (before any planning runs)."""
        from tokenfab.render.report import check_output_path

        req = super().build(**values)
        check_output_path(req.output)
        return req


class ReportResult(Result):
    """Where the report was written, with the plan it shows."""

    path: str
    size_bytes: int
    best_hardware: str | None
    best_rests_on_prior: bool
    none_feasible_reason: str | None = None  # why no hardware has a plan (no price, no SLA, or both)
    plan: PlanResult


@request_fields()
def report(req: ReportRequest, *, progress: Progress | None = None) -> ReportResult:
    """Plan the request's scenario and write the HTML report (tokenfab.render.report); the output path is checked
    before any work, so a bad path fails at once."""
    from tokenfab.render.report import check_output_path, write_report

    check_output_path(req.output)
    res = _plan(req, progress)
    p = Path(write_report(res, req.output, swing_pct=req.swing_pct))
    best = res.best
    return ReportResult(
        operation="report",
        inputs=req.model_dump(mode="json"),
        path=str(p),
        size_bytes=p.stat().st_size,
        best_hardware=best.hardware if best else None,
        best_rests_on_prior=bool(best.prior) if best else False,
        none_feasible_reason=res.none_feasible_reason,
        plan=_result(req, res),
    )


__all__ = ["PlanRequest", "PlanResult", "ReportRequest", "ReportResult", "plan", "report"]
