#!/usr/bin/env python3
"""Fit the performance model on the published measurements in benchmarks/data/ and report its accuracy.

Reproducible and deterministic (bounded least squares from the physical prior). Run from the repository root:

    python benchmarks/calibrate.py              # fit, cross-validate, write src/tokenfab/data/calibration.json
    python benchmarks/calibrate.py --check      # evaluate the committed parameters (in sample) only
    python benchmarks/calibrate.py --cv         # out-of-sample tables (leave-one-source-out, leave-one-model-out)
    python benchmarks/calibrate.py --verify     # refit from scratch; exit 1 unless it reproduces the committed fit
    python benchmarks/calibrate.py --data my.csv --out my_profile.json

The committed profile carries the fitted parameters, their data support (rows, hardware, engines, sources per family
and engine), the in-sample and out-of-sample error tables, and the error-band table (perf/uncertainty.py) derived
from the leave-one-source-out residuals.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from tokenfab.catalog.calibration import (  # noqa: E402
    BOUNDS,
    ENGINE_PARAMS,
    FAMILY_PARAMS,
    SHARED_PARAMS,
    CalibrationProfile,
    load_profile,
)
from tokenfab.perf import uncertainty as unc  # noqa: E402
from tokenfab.perf.fitting import (  # noqa: E402
    RIDGE,
    RIDGE_BY_PARAM,
    ROBUST_SCALE,
    Predictor,
    band_coverage,
    cross_validate,
    error_table,
    file_sha256,
    fit_band_margin,
    fit_profile,
    residual_rows,
)
from tokenfab.perf.measurements import load_measurements  # noqa: E402

DATA = [
    ROOT / "benchmarks" / "data" / "measurements.csv",
    ROOT / "benchmarks" / "data" / "measurements_atom_vllm_sglang.csv",
]
DEFAULT_OUT = ROOT / "src" / "tokenfab" / "data" / "calibration.json"
TARGETS = {"throughput": 12.0, "ttft": 20.0, "tpot": 20.0, "bias": 5.0}


def _fmt(s: dict) -> str:
    if not s.get("n"):
        return "    -"
    return f"{s['n']:5d} {s['median_ape_pct']:8.1f} {s['p90_ape_pct']:8.1f} {s['bias_pct']:+8.1f}"


def print_table(
    title: str,
    et: dict,
    sections=("by_metric", "by_vendor_metric", "by_family", "by_engine", "by_model_class", "by_scenario", "by_source"),
) -> None:
    print(f"\n== {title}: overall {_fmt(et['overall'])}   (n, median APE %, p90 APE %, signed bias %)")
    if et.get("unscored_overloaded"):
        print(f"   ({et['unscored_overloaded']} rows the model calls overloaded: reported, not scored)")
    for sec in sections:
        print(f"  {sec.replace('_', ' ')}:")
        for k, v in et[sec].items():
            print(f"    {str(k)[:70]:70s} {_fmt(v)}")


def print_params(prof: CalibrationProfile) -> None:
    sup = prof.support or {}
    print("\nparameters (value, [bounds], data support):")
    print("  shared:", {k: round(v, 4) for k, v in prof.shared.items()})
    for fam, vals in sorted(prof.families.items()):
        s = sup.get("families", {}).get(fam, {})
        print(
            f"  family {fam}: {_round(vals)}  rows={s.get('rows', 0)} hw={s.get('hardware', [])} "
            f"engines={s.get('engines', [])}"
        )
    for eng, vals in sorted(prof.engines.items()):
        s = sup.get("engines", {}).get(eng, {})
        families = sorted({x.split("|")[0] for x in sup.get("pairs", {}) if x.endswith("|" + eng)})
        print(f"  engine {eng}: {_round(vals)}  rows={s.get('rows', 0)} families={families}")
    print("  bounds:", {n: BOUNDS[n] for n in FAMILY_PARAMS + ENGINE_PARAMS + SHARED_PARAMS})


def band_table(rows, cv: dict) -> dict:
    """The error-band table of a cross-validation (``cv``: fitting.cross_validate's result): the leave-one-source-out
    residuals summarised per bucket (uncertainty.build_table), each vendor and metric's per-side margins
    (fitting.fit_band_margin), the held-out coverage they reach and the coverage without them, and the derivation in
    words."""
    pred, prior = cv["source"]["pred"], cv["source"]["prior"]
    margin = fit_band_margin(rows, pred, prior)
    table = unc.build_table(residual_rows(rows, pred, prior), margin=margin)
    table["coverage"] = band_coverage(rows, pred, prior, margin=margin)
    table["coverage"]["unscaled_inside_p10_p90"] = band_coverage(rows, pred, prior)["inside_p10_p90"]
    table["derivation"] = (
        "ln(measured / predicted) of every row predicted by a fit that held its source out (leave-one-source-out, "
        "benchmarks/calibrate.py); buckets and back-off rules in src/tokenfab/perf/uncertainty.py; every band "
        f"extended beyond its ends by its vendor and metric class's margins, one per side ({_margins(margin)}), so "
        "that of the rows of a source, checked against bands built without it, at most "
        f"{(1 - unc.TARGET_COVERAGE) / 2:.0%} fall below and as many above in each group (fitting.fit_band_margin: "
        "conformalized quantile regression, Romano, Patterson and Candes, NeurIPS 2019)"
    )
    return table


def print_coverage(cov: dict) -> None:
    print(
        "\nband coverage out of sample (held-out rows inside p10-p90; target 70-90%): "
        f"{cov['inside_p10_p90']:.1%} of {cov['rows']} rows {cov['by_metric']}"
    )
    if cov.get("by_vendor_metric"):
        below, above = cov.get("below_by_vendor_metric") or {}, cov.get("above_by_vendor_metric") or {}
        print(
            "  by vendor and metric (inside; below / above): "
            + ", ".join(
                f"{k} {v:.0%}" + (f" ({below[k]:.0%} / {above[k]:.0%})" if k in below and k in above else "")
                for k, v in cov["by_vendor_metric"].items()
            )
        )
    if "unscaled_inside_p10_p90" in cov:
        how = (
            f"extended by the margins {_margins(cov['margin'])} (fitting.fit_band_margin)"
            if cov.get("margin") is not None
            else f"scaled {_scales(cov.get('widen', 1.0))}"
        )
        print(
            f"  bands {how} to leave at most {(1 - unc.TARGET_COVERAGE) / 2:.0%} of held-out rows below and "
            f"as many above, per vendor and metric; without them they covered {cov['unscaled_inside_p10_p90']:.1%}"
        )


def _margins(margin: dict) -> str:
    """``AMD:ttft x0.22 below / x1.9 above, ...``: each group's margins as the factors they extend a band by."""
    return ", ".join(
        f"{k} x{math.exp(-unc.side_scales(v)[0]):.3g} below / x{math.exp(unc.side_scales(v)[1]):.3g} above"
        for k, v in margin.items()
    )


def _scales(widen: float | dict) -> str:
    def one(v) -> str:
        lo, hi = unc.side_scales(v)
        return f"x{lo:g}" if lo == hi else f"x{lo:g} below / x{hi:g} above"

    if isinstance(widen, dict):
        return ", ".join(f"{k} {one(v)}" for k, v in widen.items())
    return one(widen)


def print_targets(cv_tables: dict) -> None:
    """Issue 11's out-of-sample targets (TARGETS: median APE per metric class, |signed bias|) per vendor, met or not."""
    print(
        f"\n== targets out of sample (median APE <= {TARGETS['throughput']:g}% throughput, <= {TARGETS['ttft']:g}% "
        f"TTFT and TPOT, |bias| <= {TARGETS['bias']:g}%; per vendor):"
    )
    for kind, et in cv_tables.items():
        for key, s in sorted(et.get("by_vendor_metric", {}).items()):
            vendor, _, metric = str(key).partition(":")
            if metric not in TARGETS or not s.get("n"):
                continue
            ok_med = s["median_ape_pct"] <= TARGETS[metric]
            ok_bias = abs(s["bias_pct"]) <= TARGETS["bias"]
            print(
                f"  leave-one-{kind}-out {vendor:7s} {metric:10s} median {s['median_ape_pct']:6.1f}% "
                f"({'met' if ok_med else 'MISSED'}), bias {s['bias_pct']:+6.1f}% ({'met' if ok_bias else 'MISSED'})"
                f", {s['n']} rows"
            )


def write_residuals(path: str, rows, pred, cv: dict) -> None:
    """One line per measurement row: what it measured and what the model predicts for it in sample and out of sample
    (the predictions the tables summarise), to find the rows and models the model misses."""
    cols = ["id", "source_group", "model", "hardware", "family", "engine", "metric", "measured", "in_sample"]
    kinds = sorted(cv)
    with open(path, "w", newline="") as fh:
        wr = csv.writer(fh)
        wr.writerow(cols + [f"leave_one_{k}_out" for k in kinds])
        for i, m in enumerate(rows):
            vals = [m.id, m.source_group, m.model, m.hardware, m.family, m.engine, m.metric, m.value, pred[i]]
            wr.writerow(vals + [cv[k]["pred"][i] for k in kinds])
    print(f"wrote {path} ({len(rows)} rows)")


def _round(d: dict) -> dict:
    return {k: round(v, 4) for k, v in d.items()}


def summarize_cv(rows, cv: dict) -> dict:
    out = {}
    for kind, res in cv.items():
        et = error_table(rows, res["pred"])
        out[kind] = {k: v for k, v in et.items() if k not in ("worst",)}
        out[kind]["worst"] = et["worst"][:10]
        out[kind]["prior_rows"] = int(np.sum(res["prior"]))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", nargs="+", default=[str(p) for p in DATA])
    ap.add_argument("--out", default=str(DEFAULT_OUT))
    ap.add_argument("--check", action="store_true", help="evaluate the committed profile in sample; do not fit")
    ap.add_argument("--cv", action="store_true", help="print the out-of-sample tables of the committed profile's data")
    ap.add_argument(
        "--verify", action="store_true", help="refit from scratch and compare with the committed parameters"
    )
    ap.add_argument("--no-cv", action="store_true", help="fit without the cross-validation (faster; no error bands)")
    ap.add_argument("--max-nfev", type=int, default=40)
    ap.add_argument(
        "--cv-nfev",
        type=int,
        default=None,
        help="evaluations per cross-validation refit (default: --max-nfev, the full fit's own budget)",
    )
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--json", action="store_true", help="print the summary as JSON")
    ap.add_argument(
        "--residuals",
        metavar="CSV",
        help="also write every row's measured value and its in-sample, leave-one-source-out and "
        "leave-one-model-out predictions to this CSV (with the cross-validation)",
    )
    args = ap.parse_args()
    if args.residuals and (args.no_cv or args.check or args.cv or args.verify):
        ap.error("--residuals needs the cross-validation of a fit: not with --no-cv, --check, --cv or --verify")

    rows, rep = load_measurements(*args.data)
    print(rep.summary())
    t0 = time.time()
    out = Path(args.out)
    if args.check or args.cv:
        prof = load_profile(out if out.exists() else None)
        pred = Predictor(rows, prof).predict()
        et = error_table(rows, pred)
        print_params(prof)
        print_table("in sample (committed parameters)", et)
        if args.cv:
            saved = (prof.meta or {}).get("cross_validation")
            if not saved:
                print("\nthe committed profile carries no cross-validation: run `python benchmarks/calibrate.py`")
                return 1
            for kind, et_cv in saved.items():
                print_table(f"out of sample: leave-one-{kind}-out", et_cv)
            print_targets(saved)
            cov = (prof.uncertainty or {}).get("coverage")
            if cov:
                print_coverage(cov)
        if args.json:
            print(json.dumps({k: v for k, v in et.items()}, indent=2, default=str))
        return 0
    if args.verify:
        committed = load_profile(out if out.exists() else None)
        prof, info = fit_profile(rows, max_nfev=args.max_nfev, workers=args.workers)
        print(f"fit: {info['nfev']} evaluations in {time.time() - t0:.0f} s: {info['message']}")
        worst = 0.0
        for grp in ("shared", "families", "engines"):
            a, b = getattr(prof, grp), getattr(committed, grp)
            pairs = (
                [((None, k), v, b.get(k)) for k, v in a.items()]
                if grp == "shared"
                else [((m, k), v, (b.get(m) or {}).get(k)) for m, d in a.items() for k, v in d.items()]
            )
            for (member, k), v, ref in pairs:
                if ref is None:
                    print(f"  {grp}.{member}.{k}: not in the committed profile")
                    worst = float("inf")
                    continue
                rel = abs(v - ref) / max(abs(ref), 1e-12)
                worst = max(worst, rel)
                if rel > 1e-3:
                    print(f"  {grp}.{member or ''}.{k}: refit {v:.6g} vs committed {ref:.6g} ({rel:.2%})")
        ok = worst <= 1e-3
        print(
            f"verify: refit {'reproduces' if ok else 'DIFFERS FROM'} the committed parameters "
            f"(largest relative difference {worst:.2e})"
        )
        return 0 if ok else 1

    prof, info = fit_profile(rows, max_nfev=args.max_nfev, workers=args.workers)
    print(
        f"fit: {info['nfev']} evaluations in {time.time() - t0:.0f} s: {info['message']}; "
        f"at bounds: {info['at_bounds']}; at the prior (no row informs them): {info['uninformed']}"
    )
    pred = Predictor(rows, prof).predict()
    et = error_table(rows, pred)
    print_params(prof)
    print_table("in sample", et)
    meta = {
        "fitted_on": [Path(p).name for p in args.data],
        "data_sha256": {Path(p).name: file_sha256(p) for p in args.data},
        "rows_used": len(rows),
        "load_report": rep.summary(),
        "date": dt.date.today().isoformat(),
        "script": "benchmarks/calibrate.py",
        "method": f"bounded robust least squares (soft-L1 beyond {ROBUST_SCALE}) on log(predicted/measured), rows "
        f"weighted 1/sqrt(rows of their (source, metric class)), ridge {RIDGE} towards the prior (per parameter: "
        f"{RIDGE_BY_PARAM}) (data/perf_priors.yaml); per family: "
        f"{', '.join(FAMILY_PARAMS)}; per engine: {', '.join(ENGINE_PARAMS)}; shared: {', '.join(SHARED_PARAMS)}",
        "fit": info,
        "in_sample": {k: v for k, v in et.items() if k != "worst"},
    }
    if not args.no_cv:
        t1 = time.time()
        # every fold is fitted exactly as the full fit is (from the prior, same budget): fitting.cross_validate
        cv = cross_validate(
            rows,
            max_nfev=args.cv_nfev if args.cv_nfev is not None else args.max_nfev,
            workers=args.workers,
            progress=lambda kind, name: print(f"  cv {kind}: {name[:80]} done ({time.time() - t1:.0f} s)", flush=True),
        )
        print(f"cross-validation: {sum(len(v['folds']) for v in cv.values())} refits in {time.time() - t1:.0f} s")
        summary = summarize_cv(rows, cv)
        for kind, et_cv in summary.items():
            print_table(f"out of sample: leave-one-{kind}-out", et_cv)
        print_targets(summary)
        meta["cross_validation"] = summary
        if args.residuals:
            write_residuals(args.residuals, rows, pred, cv)
        table = band_table(rows, cv)
        prof.uncertainty = table
        cov = table["coverage"]
        print_coverage(cov)
    prof.meta = meta
    prof.save(args.out)
    print(f"wrote {args.out} ({time.time() - t0:.0f} s in all)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
