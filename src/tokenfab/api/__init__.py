"""The library's operations (layer 7, above planning and market): one typed request in, one typed result out
(tokenfab.api.schema: every result carries ``schema_version``, ``operation``, ``inputs``, ``sources``,
``definitions``, ``notes`` and ``warnings``). The CLI, the report and the dashboard call these instead of combining
the lower layers themselves.

Operations: ``fit``, ``estimate``, ``tco``, ``cost`` (tokenfab.api.operations), ``frontier``, ``recommend``,
``budget`` (tokenfab.api.sweep), ``sensitivity`` (tokenfab.api.cost_sensitivity),
``prices``, ``price_models`` (tokenfab.api.market), ``plan``, ``report``
(tokenfab.api.planning), ``run_bench`` (``tokenfab bench``), ``bench_report``, ``calibrate``
(tokenfab.api.bench). Compositions over a plan:
``plan_operating_points``, ``price_check_at_plan`` (tokenfab.api.plan_pricing), ``operating_point``
(tokenfab.api.cost_sensitivity)."""

from tokenfab.api.bench import (
    BenchReportRequest,
    BenchReportResult,
    BenchRequest,
    BenchResult,
    CalibrateRequest,
    CalibrateResult,
    bench_report,
    calibrate,
    run_bench,
)
from tokenfab.api.cost_sensitivity import SensitivityRequest, SensitivityResult, operating_point, sensitivity
from tokenfab.api.market import PriceModelsResult, PricesRequest, PricesResult, price_models, prices
from tokenfab.api.operations import (
    CostRequest,
    CostResult,
    EstimateRequest,
    EstimateResult,
    FitRequest,
    FitResult,
    TcoRequest,
    TcoResult,
    cost,
    estimate,
    fit,
    tco,
)
from tokenfab.api.plan_pricing import plan_operating_points, price_check_at_plan
from tokenfab.api.planning import PlanRequest, PlanResult, ReportRequest, ReportResult, plan, report
from tokenfab.api.schema import SCHEMA_VERSION, Request, Result
from tokenfab.api.sweep import (
    BudgetRequest,
    FleetResult,
    FrontierRequest,
    FrontierResult,
    RecommendRequest,
    SweepRequest,
    budget,
    frontier,
    recommend,
)

__all__ = [
    "SCHEMA_VERSION",
    "BudgetRequest",
    "FleetResult",
    "FrontierRequest",
    "FrontierResult",
    "RecommendRequest",
    "SweepRequest",
    "BenchRequest",
    "BenchResult",
    "run_bench",
    "BenchReportRequest",
    "BenchReportResult",
    "CalibrateRequest",
    "CalibrateResult",
    "bench_report",
    "calibrate",
    "PlanRequest",
    "PlanResult",
    "ReportRequest",
    "ReportResult",
    "plan",
    "report",
    "PriceModelsResult",
    "PricesRequest",
    "PricesResult",
    "price_models",
    "prices",
    "SensitivityRequest",
    "SensitivityResult",
    "sensitivity",
    "budget",
    "frontier",
    "recommend",
    "CostRequest",
    "CostResult",
    "EstimateRequest",
    "EstimateResult",
    "FitRequest",
    "FitResult",
    "Request",
    "Result",
    "TcoRequest",
    "TcoResult",
    "cost",
    "estimate",
    "fit",
    "operating_point",
    "plan_operating_points",
    "price_check_at_plan",
    "tco",
]
