"""Measurements as typed operations: ``bench_report`` (``tokenfab bench-report``: measured points per load level ->
throughput per GPU against interactivity, $/M tokens, tokens/s per MW, optionally the model's prediction beside each
level) and ``calibrate`` (``tokenfab calibrate``: fit the performance model's efficiencies to a benchmark).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tokenfab.api.schema import Request, Result, described, request_fields
from tokenfab.core.errors import TokenfabError
from tokenfab.core.inputs import check_input
from tokenfab.core.jsonable import to_jsonable
from tokenfab.economics import cost as cost_mod


class _ServerLayout(Request):
    """The layout of the measured server (what the prediction or the fit assumes was served)."""

    tp: int | None = described("tensor-parallel degree of the measured server", default=None)
    pp: int | None = described("pipeline-parallel stages of the measured server", default=None)
    ep: int | None = described("expert-parallel degree of the measured server (MoE)", default=None)
    dp: int | None = described("attention data-parallel copies of the measured server", default=None)
    weights: str | None = described("weight precision served (default: the checkpoint's)", default=None)
    kv: str | None = described("KV-cache precision served (default: from the weights)", default=None)
    engine: str | None = described(
        "the serving engine that was measured (tokenfab catalog engines; default: the hardware vendor's)",
        default=None,
    )
    hardware_files: list[str] | None = described("extra hardware YAML/TOML/JSON files", default=None)
    run_id: str | None = described("only this run of the results file", default=None)


class BenchReportRequest(_ServerLayout):
    """A ``tokenfab bench`` results file priced and compared (``tokenfab bench-report``)."""

    results: str | None = described("JSONL written by tokenfab bench (or give ``records``)", default=None)
    records: list[dict[str, Any]] | None = described(
        "the request records themselves (as tokenfab bench writes them) instead of a file", default=None
    )
    gpus: int = described("GPUs that served the benchmark (prefill + decode when disaggregated)", "chips")
    hardware: str | None = described("hardware key: its TCO preset and all-in kW per GPU", default=None)
    preset: str | None = described(
        "TCO preset for $/GPU-hour (needs hardware)", default=None, source="src/tokenfab/data/tco_presets.yaml"
    )
    price_usd_per_gpu_hour: float | None = described(
        "a plain price per wall-clock GPU-hour instead of a preset", "USD per wall-clock GPU-hour", default=None
    )
    kw_per_gpu: float | None = described("all-in kW per GPU (default: from hardware)", "kW", default=None)
    slo: str | None = described("SLOs for goodput, e.g. ttft:2000,tpot:50", "ms", default=None)
    compare_model: str | None = described(
        "put the performance model's prediction beside each level (needs hardware)", default=None
    )
    calibration: str | None = described("calibration profile for the prediction", default=None)
    exclude_warmup: str | None = described(
        "leave out requests started in the first S seconds (30s) or the first N (20)", default=None
    )
    exclude_cooldown: str | None = described(
        "leave out requests ended in the last S seconds (30s) or the last N sent (20)", default=None
    )
    prefill_gpu_time_share: float | None = described(
        "share of GPU time in prefill, 0..1: splits $/M into input and output", "fraction", default=None
    )
    per_kind: str = described(
        "per-token-kind convention: gpu-time or inferencex", default=cost_mod.DEFAULT_PER_KIND_CONVENTION
    )
    html: str | None = described(
        "also write a self-contained HTML report (TTFT/TPOT distributions, measured vs model)", default=None
    )
    max_compare_levels: int | None = described(
        "refuse to compare more load levels than this with the model (a server's bound)", "levels", default=None
    )


class BenchReportResult(Result):
    """Measured points per level with their economics, the runs they come from and, with a model, the comparison."""

    results_file: str
    unreadable_lines: int
    gpus: int
    usd_per_gpu_hour: float
    all_in_kw_per_gpu: float | None
    tco: dict[str, Any] | None
    points: list[dict[str, Any]]
    runs: list[dict[str, Any]]
    tokens_per_s_per_mw: str | None = None
    comparison: list[dict[str, Any]] | None = None
    level_lengths: list[dict[str, Any] | None] | None = None
    records: int = 0
    html: str | None = None


def _records(results: str, run_id: str | None) -> tuple[list[dict], int]:
    from tokenfab.bench.records import read_records

    recs, bad = read_records(Path(results))
    if run_id:
        recs = [r for r in recs if r.get("run_id") == run_id]
    return recs, bad


@request_fields()
def bench_report(req: BenchReportRequest) -> BenchReportResult:
    """``tokenfab.bench.report.report_doc`` of the request's records, with the model's prediction beside each level
    (``compare_model``: tokenfab.bench.modelcheck) and the HTML report (``html``)."""
    from tokenfab.bench import metrics, report
    from tokenfab.core.files import check_output_path

    # the request's numbers in their ranges (core.inputs: a GPU count, a price, a power), named as the request has them
    check_input("gpus", req.gpus)
    for name, spec in (("price_usd_per_gpu_hour", "usd_per_gpu_hour"), ("kw_per_gpu", "kw_per_gpu")):
        try:
            check_input(spec, getattr(req, name))
        except TokenfabError as e:
            raise TokenfabError(str(e).split(": ", 1)[-1], field=name) from None
    slo_ms = metrics.parse_slo(req.slo)
    warm_x = metrics.parse_exclusion(req.exclude_warmup, "--exclude-warmup")
    cool_x = metrics.parse_exclusion(req.exclude_cooldown, "--exclude-cooldown")
    if req.html is not None:
        check_output_path(req.html, field="html", suffixes=(".html", ".htm"), kind="an HTML file path")
    if req.compare_model and not req.hardware:
        raise TokenfabError("comparing with the model needs the hardware", field="hardware")
    if (req.results is None) == (req.records is None):
        raise TokenfabError("give the results file or the records", field="results", expected="one of the two")
    if req.records is not None:
        from tokenfab.bench.records import clean_record

        # the records a caller passes get the file reader's cleaning (a NaN TTFT becomes None, as from a file)
        recs = [clean_record(r) for r in req.records if not req.run_id or r.get("run_id") == req.run_id]
        bad = 0
    else:
        recs, bad = _records(str(req.results), req.run_id)
    doc: dict[str, Any] = report.report_doc(
        recs,
        gpus=req.gpus,
        hardware=req.hardware,
        preset=req.preset,
        usd_per_gpu_hour=req.price_usd_per_gpu_hour,
        kw_per_gpu=req.kw_per_gpu,
        slo=slo_ms,
        warmup=warm_x,
        cooldown=cool_x,
        prefill_gpu_time_share=req.prefill_gpu_time_share,
        per_kind=req.per_kind,
        hardware_files=req.hardware_files,
    )
    doc = {"results_file": req.results or "records", "unreadable_lines": bad, "records": len(recs), **doc}
    if req.compare_model:
        from tokenfab.bench.modelcheck import level_lengths, make_predictor

        if req.max_compare_levels is not None and len(doc["points"]) > req.max_compare_levels:
            raise TokenfabError(
                "too many load levels to compare",
                field="file",
                expected=f"<= {req.max_compare_levels}",
                got=len(doc["points"]),
            )

        predict = make_predictor(
            doc["runs"],
            model=req.compare_model,
            hardware=str(req.hardware),
            gpus=req.gpus,
            tp=req.tp,
            pp=req.pp,
            ep=req.ep,
            dp=req.dp,
            weights=req.weights,
            kv=req.kv,
            calibration=req.calibration,
            engine=req.engine,
            hardware_files=req.hardware_files,
        )
        doc["comparison"] = report.compare_with_model(doc["points"], predict)
        doc["level_lengths"] = [
            dict(zip(("isl", "osl"), level_lengths(r), strict=False)) if r.get("requests_ok") else None
            for r in doc["runs"]
        ]
    if req.html is not None:
        from tokenfab.bench.htmlreport import write_html

        write_html(Path(req.html), recs, doc, f"tokenfab bench-report: {Path(req.results or 'records').name}")
        doc["html"] = req.html
    # the request's records are not echoed back (an upload of 100 KB came back in full): ``records`` counts them
    inputs = req.model_dump(mode="json", exclude={"records"})
    return BenchReportResult(operation="bench_report", inputs=inputs, **to_jsonable(doc))


class CalibrateRequest(_ServerLayout):
    """Fit the performance model's efficiency parameters to a benchmark (``tokenfab calibrate``)."""

    results: str = described("JSONL written by tokenfab bench")
    model: str = described("the model that was served (catalog key or config.json)")
    hardware: str = described("the hardware the server ran on (tokenfab catalog hardware)")
    gpus: int = described("GPUs of one model replica on the measured server", "chips")
    base: str | None = described("profile to start from (default: the bundled one)", default=None)
    out: str = described("where to write the profile", default="calibration.json")
    force: bool = described("write the fit even when it is worse than the base profile", default=False)


class CalibrateResult(Result):
    """The fit's parameters and its error before and after on the measured points; ``profile`` is the file written
    (None when the fit was worse than the base and ``force`` was not given)."""

    hardware: str = described("the hardware the profile's entry is for")
    engine: str = described("the engine the profile's entry is for (other engines keep the base profile)")
    points: int
    before: dict[str, Any] = described("the base profile's error on the measured points")
    after: dict[str, Any] = described("the fit's error on the points it was fitted to (in sample)")
    held_out: dict[str, Any] | None = described(
        "leave one measured level out: the base profile's and the refitted model's error on each level the refit did "
        "not see (None with fewer than 3 levels)",
        default=None,
    )
    params: dict[str, float]
    fit: dict[str, Any] = described("the least-squares fit's report (evaluations, status)", default_factory=dict)
    worse_than_base: bool
    profile: str | None


def _num(v: Any) -> str:
    return f"{v:.3f}" if isinstance(v, int | float) else "n/a"


def _pct(v: Any) -> str:
    return f"{v:.1f}%" if isinstance(v, int | float) else "n/a"


@request_fields()
def calibrate(req: CalibrateRequest) -> CalibrateResult:
    """``tokenfab.bench.modelcheck.fit_from_runs`` of the request's records; writes the profile to ``out`` unless the
    fit is worse than the base profile (then ``profile`` is None and a warning says why; ``force`` writes it)."""
    from tokenfab.bench import report
    from tokenfab.bench.modelcheck import fit_from_runs
    from tokenfab.core.files import check_output_path

    check_output_path(req.out, field="out", kind="a profile path (.json)")  # before the fit, not after it
    recs, _bad = _records(req.results, req.run_id)
    if not recs:
        raise TokenfabError(
            "no request records" + (f" with run id {req.run_id!r}" if req.run_id else ""),
            field="run_id" if req.run_id else "results",
        )
    prof, summary = fit_from_runs(
        report.build_runs(recs),
        model=req.model,
        hardware=req.hardware,
        gpus=req.gpus,
        tp=req.tp,
        pp=req.pp,
        ep=req.ep,
        dp=req.dp,
        weights=req.weights,
        kv=req.kv,
        base=req.base,
        engine=req.engine,
        hardware_files=req.hardware_files,
    )
    written = not summary["worse_than_base"] or req.force
    if written:
        prof.save(Path(req.out))
    s = to_jsonable(summary)
    warnings = list(s.pop("warnings", []) or [])
    runs = sorted({str(r.get("run_id")) for r in recs if r.get("run_id")})
    if len(runs) > 1 and not req.run_id:  # bench-report asks to pick one; the fit pooled them
        warnings.append(
            f"the results hold {len(runs)} runs ({', '.join(runs[:5])}{', ...' if len(runs) > 5 else ''}), fitted "
            "together as one deployment; pick one with --run-id if their settings differ"
        )
    if not written:
        ho = summary.get("held_out")
        b, a = (ho["base"], ho["fit"]) if ho else (summary["before"], summary["after"])
        where = "on the levels it was not fitted to (leave one level out)" if ho else "on the measured points"
        warnings.append(
            f"the fit predicts worse than the base profile {where}: rms log error {_num(b.get('rms_log_error'))} -> "
            f"{_num(a.get('rms_log_error'))}, median error {_pct(b.get('median_ape_pct'))} -> "
            f"{_pct(a.get('median_ape_pct'))}; nothing written to {req.out}. Check --model/--weights/--tp/--gpus match "
            "what was served, or pass --force to write it anyway"
        )
    return CalibrateResult(
        operation="calibrate",
        inputs=req.model_dump(mode="json"),
        warnings=warnings,
        profile=req.out if written else None,
        **s,
    )


__all__ = [
    "BenchReportRequest",
    "BenchReportResult",
    "CalibrateRequest",
    "CalibrateResult",
    "bench_report",
    "calibrate",
]
