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


class BenchRequest(Request):
    """Measure a live OpenAI-compatible server (``tokenfab bench``): the load, the workload, where the records go.
    ``api_key`` is used for the requests only: it is never echoed in ``inputs``, the records or the summary."""

    url: str = described("server base URL, e.g. http://127.0.0.1:8000 (or .../v1)")
    model: str = described("model name sent in each request")
    api_key: str | None = described("the API key (Bearer), never written anywhere", default=None)
    endpoint: str = described("completions or chat", default="completions")
    workload: str = described("random, conversations, prefix or trace", default="random")
    dataset: str | None = described("conversations: a JSONL of conversations instead of the bundled set", default=None)
    turns: int = described("turns per session", default=1)
    think_time_s: float = described("seconds between a session's turns", "s", default=0.0)
    prefix_tokens: int = described("prefix workload: tokens of the shared prefix", "tokens", default=0)
    prefix_groups: int = described("prefix workload: number of distinct prefixes", default=1)
    prefix_hit_rate: float = described("prefix workload: share of requests using their group's prefix", default=1.0)
    trace: str | None = described("trace workload: JSONL of timestamp_s, input_tokens, output_tokens", default=None)
    trace_speed: str | None = described("trace workload: replay speed-ups, e.g. '1,2'", default=None)
    isl: int | None = described("input tokens per request", "tokens", default=None)
    osl: int | None = described("output tokens per request", "tokens", default=None)
    length_dist: str = described("fixed, or uniform:R", default="fixed")
    concurrency: str | None = described("closed loop: concurrency levels, e.g. '1,4,16'", default=None)
    rate: str | None = described("open loop: req/s levels, ramp:START:END or sweep[:K]", default=None)
    arrival: str = described("open-loop arrivals: poisson, constant or gamma:K", default="poisson")
    requests: int | None = described("requests (sessions) per level", default=None)
    duration_s: float | None = described("seconds per level instead of a request count", "s", default=None)
    warmup: int = described("unrecorded warm-up requests before each level", default=0)
    exclude_warmup: str | None = described("leave out the first S seconds (30s) or N requests (20)", default=None)
    exclude_cooldown: str | None = described("leave out the last S seconds (30s) or N requests (20)", default=None)
    slo: str | None = described("SLOs for goodput, e.g. ttft:2000,tpot:50", "ms", default=None)
    out: str = described("JSONL file of per-request records (appended)", default="results.jsonl")
    resume: bool = described("continue this run in out: send only the requests without a record", default=False)
    overwrite: bool = described("drop this run's records from out and run it again", default=False)
    timeout_s: float = described("per-request limit", "s", default=300.0)
    seed: int = described("seed for prompts, lengths and arrivals", default=0)
    tokenizer: str | None = described("local tokenizer.json for exact prompt lengths", default=None)
    ignore_eos: bool = described("send ignore_eos so output length is max_tokens", default=True)
    max_connections: int | None = described("open loop: most connections per run (default 2048)", default=None)
    workers: int = described("client processes sharing one schedule", default=1)
    event_loop: str = described("auto, uvloop or asyncio", default="auto")
    check: bool = described("check the server, model and endpoint before the first request", default=True)
    energy: bool = described("measure GPU energy with NVML when available", default=True)
    idle_s: float = described("seconds of idle baseline before the run (energy only)", "s", default=5.0)
    gpu_index: str | None = described("GPUs to meter, e.g. '0,1' (default all)", default=None)
    csv: str | None = described("also write one CSV row per level here", default=None)
    summary: str | None = described("also write a summary JSON with vllm bench serve's field names here", default=None)


class BenchResult(Result):
    """The measured run: ``document`` is what ``tokenfab bench --json`` prints (its levels, self-check, server,
    messages, definitions); ``interrupted`` after a Ctrl-C; ``all_failed`` when no request succeeded."""

    document: dict[str, Any]
    interrupted: bool
    all_failed: bool


def _load_levels(concurrency: str | None, rate: str | None, trace_speed: str | None) -> tuple[str, tuple, int]:
    """(mode, levels, sweep K) from exactly one of concurrency, rate, trace_speed."""
    from typing import cast

    from tokenfab.bench.schedule import parse_rate
    from tokenfab.core.inputs import parse_int_list

    loads = [x for x in (concurrency, rate, trace_speed) if x is not None]
    if len(loads) != 1:
        raise TokenfabError(
            "give exactly one of --concurrency (closed loop), --rate (open loop) or --trace-speed (trace replay)",
            field="load",
        )
    sweep_k = 8
    if concurrency is not None:
        return "closed", tuple(parse_int_list(concurrency, "--concurrency")), sweep_k
    if rate is not None:
        mode, levels = parse_rate(rate)
        if mode == "sweep":
            sweep_k, levels = int(levels[0]), ()
        return mode, tuple(levels), sweep_k
    return "trace", tuple(parse_rate(cast(str, trace_speed), "--trace-speed")[1]), sweep_k  # the one load given


def _result_doc(outcome: Any, out: str, meter: Any, slo_ms: Any, warm_x: Any, cool_x: Any) -> dict:
    """The JSON document of a finished (or interrupted) run: its levels, self-check, server and messages."""
    from tokenfab.bench import client, metrics, report

    mine = [r for r in outcome.records if r.get("run_id") == outcome.run_id]
    runs = report.build_runs(mine, slo_ms, outcome.energy, warm_x, cool_x)
    for r in runs:
        r.pop("run_id", None)
    doc = {
        "run_id": outcome.run_id,
        "results_file": str(out),
        "interrupted": outcome.interrupted,
        "resumed_records": outcome.resumed_records,
        "runs": runs,
        "selfcheck": outcome.selfcheck,
        "server": outcome.server,
        "messages": outcome.messages,
        "definitions": metrics.DEFINITIONS,
        "error_kinds": client.ERROR_KINDS,
    }
    if outcome.sweep:
        doc["sweep"] = outcome.sweep
    if meter is not None and not meter.available:
        doc["energy"] = {"measured": False, "reason": f"energy not measured: {meter.reason}"}
    if outcome.idle_power_w is not None:
        doc["idle_power_w"] = outcome.idle_power_w
    return doc


def _write_csv(path: str, runs: list[dict]) -> None:
    import csv

    from tokenfab.bench.report import csv_rows

    cols, rows = csv_rows(runs)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=cols, extrasaction="ignore")
        w.writeheader()
        for row in rows:
            w.writerow(to_jsonable(row))


def run_bench(req: BenchRequest, *, hooks: Any = None, stats: Any = None) -> BenchResult:
    """``tokenfab.bench.client.run_benchmark`` of the request's settings, the result document of its levels, and the
    CSV and summary files when asked for. ``hooks`` (tokenfab.bench.runner.ProgressHooks) and ``stats``
    (client.LiveStats) let a caller show progress; the run itself is the same without them."""
    import dataclasses
    import json

    from tokenfab.bench import client, metrics, report
    from tokenfab.bench.energy import MAX_GPU_INDEX, EnergyMeter
    from tokenfab.core.files import check_output_path
    from tokenfab.core.inputs import parse_int_list

    mode, levels, sweep_k = _load_levels(req.concurrency, req.rate, req.trace_speed)
    slo_ms = metrics.parse_slo(req.slo)
    warm_x = metrics.parse_exclusion(req.exclude_warmup, "--exclude-warmup")
    cool_x = metrics.parse_exclusion(req.exclude_cooldown, "--exclude-cooldown")
    for path, name in ((req.csv, "csv"), (req.summary, "summary")):  # before anything is sent
        if path is not None:
            check_output_path(path, field=name, kind="a file path")
    # the request's fields of the same name, plus the parsed load
    same = {f.name for f in dataclasses.fields(client.BenchConfig)} & set(BenchRequest.model_fields)
    cfg = client.BenchConfig(
        mode=mode, levels=levels, sweep_rates=sweep_k, **{k: getattr(req, k) for k in sorted(same)}
    )
    gpus = parse_int_list(req.gpu_index, "--gpu-index", minimum=0, maximum=MAX_GPU_INDEX) if req.gpu_index else None
    meter = EnergyMeter(gpus) if req.energy else None
    try:
        outcome = client.run_benchmark(
            cfg,
            out_path=Path(req.out),
            resume=req.resume,
            overwrite=req.overwrite,
            api_key=req.api_key,
            energy_meter=meter,
            idle_s=req.idle_s,
            hooks=hooks,
            stats=stats,
            check_server=req.check,
        )
    finally:
        if meter is not None:
            meter.close()
    doc = _result_doc(outcome, req.out, meter, slo_ms, warm_x, cool_x)
    runs = doc["runs"]
    if req.csv:
        _write_csv(req.csv, runs)
    if req.summary:
        summary = report.summary_doc(
            runs, run_id=outcome.run_id, model=req.model, url=req.url, extra={"selfcheck": outcome.selfcheck}
        )
        Path(req.summary).write_text(json.dumps(to_jsonable(summary), indent=2), encoding="utf-8")
    return BenchResult(
        operation="run_bench",
        inputs=req.model_dump(mode="json", exclude={"api_key"}),
        document=doc,
        interrupted=bool(outcome.interrupted),
        all_failed=bool(runs) and not any(r.get("requests_ok") for r in runs),
    )


__all__ = [
    "BenchRequest",
    "BenchResult",
    "BenchReportRequest",
    "BenchReportResult",
    "CalibrateRequest",
    "CalibrateResult",
    "bench_report",
    "calibrate",
    "run_bench",
]
