"""``tokenfab bench`` (measure a live OpenAI-compatible server) and ``tokenfab bench-report`` (results -> economics).

Thin layer: the client, metrics and economics live in :mod:`tokenfab.bench`.
"""
from __future__ import annotations

import csv
import math
import os
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from tokenfab.core.errors import TokenfabError
from tokenfab.cli.common import console, err_console, print_json, split_csv, to_jsonable


def _fmt(v, digits: int = 1) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    if isinstance(v, float):
        return f"{v:,.{digits}f}"
    return f"{v:,}" if isinstance(v, int) else str(v)


def _parse_rates(value: str) -> list[float]:
    out = []
    for item in split_csv(value, "--rate"):
        try:
            r = float(item)
        except ValueError:
            r = float("nan")
        if not r > 0:
            raise TokenfabError("not a positive rate", field="--rate", expected="requests/s > 0 (or inf), comma-separated",
                                got=item)
        out.append(r)
    return out


def _level_label(run: dict) -> str:
    if run.get("mode") == "closed":
        return f"c={run['concurrency']}"
    r = run.get("rate")
    return f"{r:g}/s" if isinstance(r, (int, float)) else f"{r}/s"


class _RichHooks:
    """A Rich progress bar on stderr, one task per level."""

    def __init__(self, enabled: bool):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[errors]} failed"), TimeElapsedColumn(),
                                 console=err_console, transient=False, disable=not enabled)
        self.task = None
        self.errors = 0

    def level_started(self, tag, total, done):
        self.errors = 0
        self.task = self.progress.add_task(tag, total=total, completed=done, errors=0)

    def record(self, rec):
        self.errors += rec.get("status") != "ok"
        if self.task is not None:
            self.progress.update(self.task, advance=1, errors=self.errors)

    def level_finished(self, tag):
        pass


def _render_runs(doc: dict) -> None:
    runs = doc["runs"]
    title = f"tokenfab bench  run {doc['run_id']}" + ("  (INTERRUPTED: partial)" if doc["interrupted"] else "")
    lat = Table(title=title + "  latency, ms")
    for col in ("level", "ok", "failed", "TTFT p50", "TTFT p99", "TPOT p50", "TPOT p99", "ITL p50*", "E2EL p50"):
        lat.add_column(col, justify="right")
    for r in runs:
        lat.add_row(_level_label(r), _fmt(r["requests_ok"]), _fmt(r["requests_failed"]), _fmt(r["ttft_ms_p50"]),
                    _fmt(r["ttft_ms_p99"]), _fmt(r["tpot_ms_p50"], 2), _fmt(r["tpot_ms_p99"], 2),
                    _fmt(r["itl_ms_p50"], 2), _fmt(r["e2el_ms_p50"]))
    console.print(lat)
    thr = Table(title="throughput")
    for col in ("level", "user tok/s", "output tok/s", "total tok/s", "req/s"):
        thr.add_column(col, justify="right")
    has_goodput = any("goodput" in r for r in runs)
    if has_goodput:
        thr.add_column("SLO met", justify="right")
        thr.add_column("goodput req/s", justify="right")
    for r in runs:
        row = [_level_label(r), _fmt(r["tokens_per_s_per_user"]), _fmt(r["output_tokens_per_s"]),
               _fmt(r["total_tokens_per_s"]), _fmt(r["request_throughput_per_s"], 2)]
        if has_goodput:
            g = r.get("goodput") or {}
            att = g.get("slo_attainment")
            row += ["-" if att is None else f"{100 * att:.1f}%", _fmt(g.get("goodput_requests_per_s"), 2)]
        thr.add_row(*row)
    console.print(thr)
    for r in runs:
        lines = []
        if r["errors"]:
            lines.append("errors: " + ", ".join(f"{k}={v}" for k, v in r["errors"].items()))
        if "ttft_ms_from_schedule_p50" in r:
            lines.append(f"TTFT from scheduled send: p50 {_fmt(r['ttft_ms_from_schedule_p50'])} ms, "
                         f"p99 {_fmt(r['ttft_ms_from_schedule_p99'])} ms")
        e = r.get("energy")
        if e and e.get("measured"):
            lines.append(f"energy: {_fmt(e['j_per_output_token'], 3)} J/output token, {_fmt(e['tokens_per_j'], 2)} "
                         f"tokens/J, {_fmt(e['mean_power_w_per_gpu'])} W/GPU (GPU boards, NVML)")
        for line in lines:
            console.print(f"  {_level_label(r)} {line}", markup=False, highlight=False)
    if "energy" in doc:
        console.print("  " + doc["energy"]["reason"], markup=False, highlight=False)
    d = doc["definitions"]
    console.print("Definitions: TTFT = " + d["ttft_ms"] + ". TPOT = " + d["tpot_ms"] + ". *ITL = " + d["itl_ms"]
                  + ". user tok/s = " + d["tokens_per_s_per_user"] + ". Throughput = " + d["output_tokens_per_s"]
                  + "; duration = " + d["duration_s"] + ". Tokens: " + d["token counts"] + ". Percentiles: "
                  + d["percentiles"] + f". Records: {doc['results_file']}", style="dim", markup=False, highlight=False)


def _write_csv(path: str, runs: list[dict]) -> None:
    from tokenfab.bench.report import CONTRACT_KEYS

    scalar = []
    for r in runs:
        for k, v in r.items():
            if not isinstance(v, (dict, list)) and k not in scalar:
                scalar.append(k)
    first = [k for k in ("mode", "concurrency", "rate") if k in scalar] + list(CONTRACT_KEYS)
    cols = first + [k for k in scalar if k not in first]
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=cols, extrasaction="ignore")
        w.writeheader()
        for r in runs:
            row = to_jsonable({k: r.get(k) for k in cols})
            for k, v in (r.get("errors") or {}).items():
                row[f"errors_{k}"] = v
            w.writerow({k: row.get(k) for k in cols})


def register(app: typer.Typer) -> None:
    _register_calibrate(app)
    @app.command("bench")
    def bench(
        url: str = typer.Option(..., "--url", help="server base URL, e.g. http://127.0.0.1:8000 (or .../v1)"),
        model: str = typer.Option(..., "--model", help="model name sent in each request"),
        api_key_env: Optional[str] = typer.Option(None, "--api-key-env", help="name of the environment variable holding the API key (never printed or written)"),
        endpoint: str = typer.Option("completions", "--endpoint", help="completions or chat"),
        isl: int = typer.Option(1024, "--isl", help="input tokens per request (target)"),
        osl: int = typer.Option(1024, "--osl", help="output tokens per request (max_tokens, with ignore_eos)"),
        length_dist: str = typer.Option("fixed", "--length-dist", help="fixed, or uniform:R (lengths uniform in [R*L, L]; InferenceX: uniform:0.8)"),
        concurrency: Optional[str] = typer.Option(None, "--concurrency", help="closed loop: concurrency levels, e.g. 1,4,16,64"),
        rate: Optional[str] = typer.Option(None, "--rate", help="open loop: request rates in req/s, e.g. 2,4 (inf: all at once)"),
        arrival: str = typer.Option("poisson", "--arrival", help="open loop arrivals: poisson, constant or gamma:K"),
        requests: Optional[int] = typer.Option(None, "--requests", help="requests per level (default 10 x concurrency; open loop: 30 s of arrivals, >= 50)"),
        duration: Optional[float] = typer.Option(None, "--duration", help="seconds per level instead of a request count"),
        warmup: int = typer.Option(0, "--warmup", help="unrecorded warm-up requests before each level"),
        slo: Optional[str] = typer.Option(None, "--slo", help="SLOs in ms for goodput, e.g. ttft:2000,tpot:50"),
        out: Path = typer.Option(Path("results.jsonl"), "--out", help="JSONL file of per-request records (appended)"),
        resume: bool = typer.Option(False, "--resume", help="continue an interrupted run in --out (same settings)"),
        timeout_s: float = typer.Option(300.0, "--timeout-s", help="per-request limit in seconds"),
        seed: int = typer.Option(0, "--seed", help="seed for prompts, lengths and arrivals"),
        tokenizer: Optional[Path] = typer.Option(None, "--tokenizer", help="local tokenizer.json for exact prompt lengths and fallback counts (needs tokenizers)"),
        ignore_eos: bool = typer.Option(True, "--ignore-eos/--no-ignore-eos", help="send ignore_eos so output length is max_tokens"),
        energy: bool = typer.Option(True, "--energy/--no-energy", help="measure GPU energy with NVML when available"),
        idle_s: float = typer.Option(5.0, "--idle-s", help="seconds of idle baseline before the run (energy only)"),
        gpu_index: Optional[str] = typer.Option(None, "--gpu-index", help="GPUs to meter, e.g. 0,1 (default all)"),
        as_json: bool = typer.Option(False, "--json", help="print JSON: {\"runs\": [...], \"definitions\": {...}}"),
        csv_path: Optional[Path] = typer.Option(None, "--csv", help="also write one CSV row per level"),
    ):
        """Measure a live OpenAI-compatible server: TTFT, TPOT, ITL, E2EL, throughput, goodput (and energy)."""
        from tokenfab.bench import client, metrics, report
        from tokenfab.bench.energy import EnergyMeter
        from tokenfab.cli.common import parse_int_list

        if (concurrency is None) == (rate is None):
            raise TokenfabError("give exactly one of --concurrency (closed loop) or --rate (open loop)", field="load")
        if requests is not None and requests < 1:
            raise TokenfabError("must be >= 1", field="--requests", got=requests)
        if duration is not None and not duration > 0:
            raise TokenfabError("must be positive", field="--duration", got=duration)
        if warmup < 0:
            raise TokenfabError("must be >= 0", field="--warmup", got=warmup)
        levels = tuple(parse_int_list(concurrency, "--concurrency")) if concurrency else tuple(_parse_rates(rate))
        slo_ms = metrics.parse_slo(slo)
        api_key = None
        if api_key_env:
            api_key = os.environ.get(api_key_env)
            if not api_key:
                raise TokenfabError(f"environment variable {api_key_env} is not set or empty", field="--api-key-env")
        cfg = client.BenchConfig(url=url, model=model, endpoint=endpoint, isl=isl, osl=osl, length_dist=length_dist,
                                 mode="closed" if concurrency else "open", levels=levels, requests=requests,
                                 duration_s=duration, warmup=warmup, arrival=arrival, timeout_s=timeout_s, seed=seed,
                                 ignore_eos=ignore_eos, tokenizer=str(tokenizer) if tokenizer else None)
        meter = None
        if energy:
            meter = EnergyMeter(parse_int_list(gpu_index, "--gpu-index") if gpu_index else None)
        hooks = _RichHooks(enabled=err_console.is_terminal)
        try:
            with hooks.progress:
                outcome = client.run_benchmark(cfg, out_path=out, resume=resume, api_key=api_key, energy_meter=meter,
                                               idle_s=idle_s, hooks=hooks)
        finally:
            if meter is not None:
                meter.close()
        runs = report.build_runs(outcome.records, slo_ms, outcome.energy)
        for r in runs:
            r.pop("run_id", None)
        doc = {"run_id": outcome.run_id, "results_file": str(out), "interrupted": outcome.interrupted,
               "resumed_records": outcome.resumed_records, "runs": runs, "definitions": metrics.DEFINITIONS,
               "error_kinds": client.ERROR_KINDS}
        if meter is not None and not meter.available:
            doc["energy"] = {"measured": False, "reason": f"energy not measured: {meter.reason}"}
        if outcome.idle_power_w is not None:
            doc["idle_power_w"] = outcome.idle_power_w
        if csv_path:
            _write_csv(str(csv_path), runs)
        if as_json:
            print_json(doc)
        else:
            _render_runs(doc)
        if outcome.interrupted:
            err_console.print(f"interrupted: partial summary above; continue with --resume (records in {out})")
            raise typer.Exit(130)
        if runs and not any(r.get("requests_ok") for r in runs):
            # nothing succeeded: say why in one line and fail, so scripts and CI notice
            kinds: dict[str, int] = {}
            for r in runs:
                for k, v in (r.get("errors") or {}).items():
                    kinds[k] = kinds.get(k, 0) + int(v or 0)
            top = ", ".join(f"{k}={v}" for k, v in sorted(kinds.items(), key=lambda kv: -kv[1]) if v) or "unknown"
            err_console.print(f"[bold red]error:[/] no request succeeded against {url} ({top}); records in {out}",
                              highlight=False, soft_wrap=True)
            raise typer.Exit(1)

    @app.command("bench-report")
    def bench_report(
        results: Path = typer.Argument(..., help="JSONL written by tokenfab bench"),
        gpus: int = typer.Option(..., "--gpus", help="GPUs that served the benchmark (prefill + decode when disaggregated)"),
        preset: Optional[str] = typer.Option(None, "--preset", help="TCO preset for $/GPU-hour (needs --hardware)"),
        usd_per_gpu_hour: Optional[float] = typer.Option(None, "--usd-per-gpu-hour", help="a plain price per GPU-hour instead of a preset"),
        hardware: Optional[str] = typer.Option(None, "--hardware", help="hardware key: TCO preset and all-in kW per GPU"),
        kw_per_gpu: Optional[float] = typer.Option(None, "--kw-per-gpu", help="all-in kW per GPU for tokens/s per MW (default: from --hardware)"),
        slo: Optional[str] = typer.Option(None, "--slo", help="SLOs in ms for goodput, e.g. ttft:2000,tpot:50"),
        run_id: Optional[str] = typer.Option(None, "--run-id", help="only this run of the file"),
        compare_model: Optional[str] = typer.Option(None, "--compare-model", help="put the performance model's prediction beside each level (needs --hardware)"),
        weights: Optional[str] = typer.Option(None, "--weights", help="with --compare-model: weight precision"),
        kv: Optional[str] = typer.Option(None, "--kv", help="with --compare-model: KV precision"),
        tp: Optional[int] = typer.Option(None, "--tp"),
        pp: Optional[int] = typer.Option(None, "--pp"),
        ep: Optional[int] = typer.Option(None, "--ep"),
        dp: Optional[int] = typer.Option(None, "--dp"),
        calibration: Optional[str] = typer.Option(None, "--calibration", help="calibration profile for the prediction"),
        as_json: bool = typer.Option(False, "--json", help="print JSON"),
    ):
        """Measured points per level -> throughput per GPU vs interactivity, $/M tokens and tokens/s per MW."""
        from tokenfab.bench import metrics, report
        from tokenfab.bench.records import read_records

        if gpus < 1:
            raise TokenfabError("must be >= 1", field="--gpus", got=gpus)
        slo_ms = metrics.parse_slo(slo)
        recs, bad = read_records(results)
        if run_id:
            recs = [r for r in recs if r.get("run_id") == run_id]
        doc = {"results_file": str(results), "unreadable_lines": bad,
               **report.report_doc(recs, gpus=gpus, hardware=hardware, preset=preset, usd_per_gpu_hour=usd_per_gpu_hour,
                                   kw_per_gpu=kw_per_gpu, slo=slo_ms)}
        price, kw, tco_doc, points = doc["usd_per_gpu_hour"], doc["kw_per_gpu_all_in"], doc["tco"], doc["points"]
        if compare_model:
            if not hardware:
                raise TokenfabError("--compare-model needs the hardware", field="--hardware")
            from tokenfab.bench.modelcheck import make_predictor

            predict = make_predictor(doc["runs"], model=compare_model, hardware=hardware, gpus=gpus, tp=tp, pp=pp, ep=ep,
                                     dp=dp, weights=weights, kv=kv, calibration=calibration)
            doc["comparison"] = report.compare_with_model(points, predict)
        if as_json:
            print_json(doc)
            return
        t = Table(title=f"measured points: {results}  ({gpus} GPU(s), ${price:.3f}/GPU-h"
                        + (f", {kw:.2f} kW/GPU all-in)" if kw else ")"))
        for col in ("level", "user tok/s", "total tok/s per GPU", "output tok/s per GPU", "$/M total", "$/M output",
                    "$/M input", "k tok/s per MW"):
            t.add_column(col, justify="right")
        multi = len({p.get("run_id") for p in points}) > 1
        for p in points:
            label = _level_label(p) + (f" (run {p['run_id'][:6]})" if multi else "")
            t.add_row(label, _fmt(p["tokens_per_s_per_user"]), _fmt(p["total_tokens_per_s_per_gpu"]),
                      _fmt(p["output_tokens_per_s_per_gpu"]), _fmt(p["usd_per_mtok_total"], 3),
                      _fmt(p["usd_per_mtok_output"], 3), _fmt(p["usd_per_mtok_input"], 3),
                      _fmt(p["tokens_per_s_per_mw_total"] / 1e3 if p.get("tokens_per_s_per_mw_total") else None))
        console.print(t)
        if multi:
            err_console.print(f"[yellow]warning:[/] {results} holds {len({p.get('run_id') for p in points})} runs with "
                              f"different settings; pick one with --run-id", highlight=False)
        if kw is None:
            console.print("  " + doc["tokens_per_s_per_mw"])
        if tco_doc:
            console.print(f"  $/GPU-h from tokenfab.economics.tco ({tco_doc['method']}, preset {tco_doc['preset']}): "
                          + "; ".join(tco_doc["notes"]), highlight=False)
        if doc.get("comparison"):
            c = Table(title=f"measured vs predicted ({compare_model} on {hardware}); error = predicted / measured - 1")
            for col in ("level", "metric", "measured", "predicted", "error"):
                c.add_column(col, justify="right")
            for p, row in zip(points, doc["comparison"]):
                for k, v in row.items():
                    if isinstance(v, dict):
                        c.add_row(_level_label(p), k, _fmt(v["measured"]), _fmt(v["predicted"]),
                                  f"{v['relative_error'] * 100:+.0f}%" if v["relative_error"] is not None else "-")
            console.print(c)
        console.print("[dim]$/M tokens = $/GPU-h / (tokens/s/GPU x 3600 / 1e6); tok/s per MW = tokens/s/GPU x 1000 / "
                      "all-in kW per GPU (total = input + output tokens); user tok/s = median 1000/TPOT.[/]")


def _register_calibrate(app: typer.Typer) -> None:
    @app.command("calibrate")
    def calibrate_cmd(
        results: Path = typer.Argument(..., help="JSONL written by tokenfab bench"),
        model: str = typer.Option(..., "--model", "-m", help="the model that was served (catalog key or config.json)"),
        hardware: str = typer.Option(..., "--hardware"),
        gpus: int = typer.Option(..., "--gpus"),
        tp: Optional[int] = typer.Option(None, "--tp"),
        pp: Optional[int] = typer.Option(None, "--pp"),
        ep: Optional[int] = typer.Option(None, "--ep"),
        dp: Optional[int] = typer.Option(None, "--dp"),
        weights: Optional[str] = typer.Option(None, "--weights"),
        kv: Optional[str] = typer.Option(None, "--kv"),
        base: Optional[str] = typer.Option(None, "--base", help="profile to start from (default: the bundled one)"),
        out: Path = typer.Option(Path("calibration.json"), "--out", "-o", help="where to write the profile"),
        run_id: Optional[str] = typer.Option(None, "--run-id"),
        as_json: bool = typer.Option(False, "--json"),
    ):
        """Fit the performance model's efficiency parameters to your benchmark; use with --calibration FILE."""
        from tokenfab.bench import report
        from tokenfab.bench.modelcheck import fit_from_runs
        from tokenfab.bench.records import read_records

        recs, _bad = read_records(results)
        if run_id:
            recs = [r for r in recs if r.get("run_id") == run_id]
        if not recs:
            raise TokenfabError("no request records", field="results")
        runs = report.build_runs(recs)
        prof, summary = fit_from_runs(runs, model=model, hardware=hardware, gpus=gpus, tp=tp, pp=pp, ep=ep, dp=dp,
                                      weights=weights, kv=kv, base=base)
        prof.save(out)
        summary["profile"] = str(out)
        if as_json:
            print_json(summary)
            return
        console.print(f"fitted {summary['points']} measured values on {hardware}: median error "
                      f"{summary['before']['median_ape_pct']:.1f}% -> {summary['after']['median_ape_pct']:.1f}%")
        console.print("parameters: " + ", ".join(f"{k}={v:.4g}" for k, v in summary["params"].items()))
        for wmsg in summary.get("warnings", []):
            err_console.print(f"[yellow]warning:[/] {wmsg}", highlight=False, soft_wrap=True)
        console.print(f"wrote {out}; use it with: tokenfab estimate ... --calibration {out}")
