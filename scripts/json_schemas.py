"""Write the JSON Schema of every typed request and result of tokenfab.api to docs/schemas/ (``--check``: exit 1
if a file there is not what this would write; tests/test_api.py runs the check).

    python scripts/json_schemas.py           # write docs/schemas/<operation>.request.json and .result.json
    python scripts/json_schemas.py --check   # compare only
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tokenfab.api import bench, cost_sensitivity, market, planning, sweep
from tokenfab.api import operations as ops
from tokenfab.api.schema import json_schema

OUT = Path(__file__).resolve().parents[1] / "docs" / "schemas"

MODELS = {
    "fit": (ops.FitRequest, ops.FitResult),
    "estimate": (ops.EstimateRequest, ops.EstimateResult),
    "tco": (ops.TcoRequest, ops.TcoResult),
    "cost": (ops.CostRequest, ops.CostResult),
    "frontier": (sweep.FrontierRequest, sweep.FrontierResult),
    "recommend": (sweep.RecommendRequest, sweep.FleetResult),
    "budget": (sweep.BudgetRequest, sweep.FleetResult),
    "sensitivity": (cost_sensitivity.SensitivityRequest, cost_sensitivity.SensitivityResult),
    "prices": (market.PricesRequest, market.PricesResult),
    "plan": (planning.PlanRequest, planning.PlanResult),
    "report": (planning.ReportRequest, planning.ReportResult),
    "run_bench": (bench.BenchRequest, bench.BenchResult),
    "bench_report": (bench.BenchReportRequest, bench.BenchReportResult),
    "calibrate": (bench.CalibrateRequest, bench.CalibrateResult),
}


def schemas() -> dict[str, str]:
    """File name -> the text this script writes."""
    out = {}
    for op, (req, res) in MODELS.items():
        out[f"{op}.request.json"] = json.dumps(json_schema(req), indent=2, sort_keys=True) + "\n"
        out[f"{op}.result.json"] = json.dumps(json_schema(res), indent=2, sort_keys=True) + "\n"
    out["price_models.result.json"] = json.dumps(json_schema(market.PriceModelsResult), indent=2, sort_keys=True) + "\n"
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="compare docs/schemas with what would be written")
    args = ap.parse_args(argv)
    stale = []
    for name, text in schemas().items():
        path = OUT / name
        if args.check:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            OUT.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    if stale:
        print("stale JSON Schemas (run python scripts/json_schemas.py): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
