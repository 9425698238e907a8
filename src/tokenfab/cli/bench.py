"""``tokenfab bench`` (measure a live OpenAI-compatible server) and ``tokenfab bench-report`` (results -> economics).

Thin layer: the client, metrics and economics live in :mod:`tokenfab.bench`.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, cast

import typer
from rich.table import Table

from tokenfab import api
from tokenfab.cli.common import console, err_console, print_json
from tokenfab.core.errors import TokenfabError

if TYPE_CHECKING:
    from tokenfab.bench.runner import ProgressHooks


def _fmt(v, digits: int = 1) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    if isinstance(v, float):
        return f"{v:,.{digits}f}"
    return f"{v:,}" if isinstance(v, int) else str(v)


def _level_label(run: dict) -> str:
    if run.get("level"):
        return str(run["level"])
    if run.get("mode") == "closed":
        return f"c={run['concurrency']}"
    r = run.get("rate")
    return f"{r:g}/s" if isinstance(r, (int, float)) else f"{r}/s"


class _LiveHooks:
    """A live Rich display on stderr (sent, in flight, done, errors, current rates), polling the run's LiveStats
    4 times a second: the hot path only bumps counters."""

    def __init__(self, stats, enabled: bool):
        self.stats = stats
        self.enabled = enabled
        self.live = None
        self._hist: list[tuple[float, int, int]] = []
        self._t0 = None

    def __enter__(self):
        if self.enabled:
            from rich.live import Live

            self.live = Live(console=err_console, refresh_per_second=4, transient=False, get_renderable=self._render)
            self.live.__enter__()
        return self

    def __exit__(self, *exc):
        if self.live is not None:
            self.live.__exit__(*exc)

    def _render(self):
        import time

        from rich.text import Text

        s = self.stats
        now = time.monotonic()
        self._hist.append((now, s.done, s.output_tokens))
        self._hist = [h for h in self._hist if now - h[0] <= 3.0]
        t0, d0, o0 = self._hist[0]
        dt = now - t0
        rps = (s.done - d0) / dt if dt > 0 else 0.0
        tps = (s.output_tokens - o0) / dt if dt > 0 else 0.0
        total = f"/{s.total:,}" if s.total else ""
        return Text(
            f"{s.level or '-'}  sent {s.sent:,}  in flight {s.in_flight:,}  done {s.done:,}{total}  "
            f"errors {s.failed:,}  {rps:,.1f} req/s  {tps:,.0f} output tok/s"
        )

    def level_started(self, tag, total, done):
        pass

    def record(self, rec):
        pass

    def level_finished(self, tag):
        pass

    def message(self, text):
        err_console.print(text, markup=False, highlight=False, soft_wrap=True)


def _render_runs(doc: dict, wide: bool = False) -> None:
    runs = doc["runs"]
    title = f"tokenfab bench  run {doc['run_id']}" + ("  (INTERRUPTED: partial)" if doc["interrupted"] else "")
    from tokenfab.cli._search_opts import fitted_table, show

    cols = ["level", "ok", "failed", "TTFT p50", "TTFT p99", "TPOT p50", "TPOT p99", "ITL p50*", "E2EL p50"]
    rows = [
        [
            _level_label(r),
            _fmt(r["requests_ok"]),
            _fmt(r["requests_failed"]),
            _fmt(r["ttft_ms_p50"]),
            _fmt(r["ttft_ms_p99"]),
            _fmt(r["tpot_ms_p50"], 2),
            _fmt(r["tpot_ms_p99"], 2),
            _fmt(r["itl_ms_p50"], 2),
            _fmt(r["e2el_ms_p50"]),
        ]
        for r in runs
    ]
    # numbers are never cut: on a narrow terminal the secondary columns go (named in the caption; --json has all)
    show(
        console,
        fitted_table(
            console,
            title + "  latency, ms",
            cols,
            rows,
            left=("level",),
            drop=("ITL p50*", "failed", "TTFT p99", "TPOT p99"),
            wrap=("level",),
            wide=wide,
        ),
    )
    has_goodput = any("goodput" in r for r in runs)
    tcols = ["level", "user tok/s", "output tok/s", "total tok/s", "req/s"] + (
        ["SLO met", "goodput req/s"] if has_goodput else []
    )
    trows = []
    for r in runs:
        row = [
            _level_label(r),
            _fmt(r["tokens_per_s_per_user"]),
            _fmt(r["output_tokens_per_s"]),
            _fmt(r["total_tokens_per_s"]),
            _fmt(r["request_throughput_per_s"], 2),
        ]
        if has_goodput:
            g = r.get("goodput") or {}
            att = g.get("slo_attainment")
            row += ["-" if att is None else f"{100 * att:.1f}%", _fmt(g.get("goodput_requests_per_s"), 2)]
        trows.append(row)
    show(
        console,
        fitted_table(console, "throughput", tcols, trows, left=("level",), drop=("req/s",), wrap=("level",), wide=wide),
    )
    for r in runs:
        lines = list(r.get("warnings") or [])
        if r.get("excluded"):
            x = r["excluded"]
            lines.append(
                f"excluded from the statistics: {x['warmup']} warm-up and {x['cooldown']} cool-down requests "
                f"of {x['of']}"
            )
        g = r.get("goodput") or {}
        for key, v in (g.get("percentile_slos") or {}).items():
            lines.append(
                f"SLO {key} p{v['percentile']:g} <= {v['limit_ms']:g} ms: {'met' if v['met'] else 'MISSED'} "
                f"({100 * v['share_meeting']:.1f}% of requests within it)"
            )
        if r["errors"]:
            lines.append("errors: " + ", ".join(f"{k}={v}" for k, v in r["errors"].items()))
        uvc = r.get("usage_vs_chunks")
        if uvc and uvc.get("tokens_per_chunk"):
            lines.append(
                f"usage vs chunks: {uvc['usage_output_tokens']:,} tokens in {uvc['streamed_chunks']:,} chunks "
                f"({uvc['tokens_per_chunk']:.2f} tokens/chunk, {uvc['difference_pct']:+.1f}%)"
            )
        if "ttft_ms_from_schedule_p50" in r:
            lines.append(
                f"TTFT from scheduled send: p50 {_fmt(r['ttft_ms_from_schedule_p50'])} ms, "
                f"p99 {_fmt(r['ttft_ms_from_schedule_p99'])} ms"
            )
        e = r.get("energy")
        if e and e.get("measured"):
            lines.append(
                f"energy: {_fmt(e['j_per_output_token'], 3)} J/output token, {_fmt(e['tokens_per_j'], 2)} "
                f"tokens/J, {_fmt(e['mean_power_w_per_gpu'])} W/GPU (GPU boards, NVML)"
            )
        for line in lines:
            console.print(f"  {_level_label(r)} {line}", markup=False, highlight=False)
    if "energy" in doc:
        console.print("  " + doc["energy"]["reason"], markup=False, highlight=False)
    for line in _selfcheck_lines(doc):
        console.print("  " + line, markup=False, highlight=False)
    d = doc["definitions"]
    console.print(
        "Definitions: TTFT = "
        + d["ttft_ms"]
        + ". TPOT = "
        + d["tpot_ms"]
        + ". *ITL = "
        + d["itl_ms"]
        + ". user tok/s = "
        + d["tokens_per_s_per_user"]
        + ". Throughput = "
        + d["output_tokens_per_s"]
        + "; duration = "
        + d["duration_s"]
        + ". Tokens: "
        + d["token counts"]
        + ". Percentiles: "
        + d["percentiles"]
        + f". Records: {doc['results_file']}",
        style="dim",
        markup=False,
        highlight=False,
    )


def _selfcheck_lines(doc: dict) -> list[str]:
    out = []
    for tag, c in (doc.get("selfcheck") or {}).items():
        line = (
            f"client self-check {tag}: CPU {c['client_cpu_share_pct']:.0f}% of a core, schedule lag p50 "
            f"{_fmt(c['schedule_lag_ms_p50'], 2)} ms p99 {_fmt(c['schedule_lag_ms_p99'], 2)} ms, event-loop lag "
            f"p99 {_fmt(c['event_loop_lag_ms_p99'], 2)} ms ({c['event_loop']}, {c['workers']} process(es), "
            f"{c['connections']} connections)"
        )
        out.append(line + (f"  WARNING: {c['warning']}" if c.get("warning") else "  ok"))
    return out


def _api_key(env_name: str | None) -> str | None:
    """The API key from the environment variable --api-key-env names (an error when it is unset or empty)."""
    if not env_name:
        return None
    key = os.environ.get(env_name)
    if not key:
        raise TokenfabError(f"environment variable {env_name} is not set or empty", field="--api-key-env")
    return key


def _exit_status(res, runs: list, url: str, out) -> None:
    """Exit 130 after an interruption, 1 when no request succeeded (with the error kinds in one line)."""
    if res.interrupted:
        err_console.print(
            f"interrupted: partial summary above; continue with --resume (records in {out})",
            markup=False,
            highlight=False,
        )
        raise typer.Exit(130)
    if res.all_failed:
        # nothing succeeded: say why in one line and fail, so scripts and CI notice
        kinds: dict[str, int] = {}
        for r in runs:
            for k, v in (r.get("errors") or {}).items():
                kinds[k] = kinds.get(k, 0) + int(v or 0)
        top = ", ".join(f"{k}={v}" for k, v in sorted(kinds.items(), key=lambda kv: -kv[1]) if v) or "unknown"
        err_console.print(
            f"error: no request succeeded against {url} ({top}); records in {out}; --overwrite runs it again",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    _register_calibrate(app)

    @app.command("bench")
    def bench(
        url: str = typer.Option(..., "--url", help="server base URL, e.g. http://127.0.0.1:8000 (or .../v1)"),
        model: str = typer.Option(..., "--model", "-m", help="model name sent in each request"),
        api_key_env: str | None = typer.Option(
            None,
            "--api-key-env",
            help="name of the environment variable holding the API key (never printed or written)",
        ),
        endpoint: str = typer.Option("completions", "--endpoint", help="completions or chat"),
        workload: str = typer.Option(
            "random",
            "--workload",
            help="random, conversations (bundled ShareGPT-like set or --dataset), prefix (shared-prefix groups) or "
            "trace (--trace JSONL)",
        ),
        dataset: Path | None = typer.Option(
            None, "--dataset", help="conversations: a JSONL of conversations instead of the bundled set"
        ),
        turns: int = typer.Option(1, "--turns", help="turns per session (multi-turn: history re-sent each turn)"),
        think_time_s: float = typer.Option(0.0, "--think-time-s", help="seconds between a session's turns"),
        prefix_tokens: int = typer.Option(0, "--prefix-tokens", help="prefix workload: tokens of the shared prefix"),
        prefix_groups: int = typer.Option(1, "--prefix-groups", help="prefix workload: number of distinct prefixes"),
        prefix_hit_rate: float = typer.Option(
            1.0, "--prefix-hit-rate", help="prefix workload: share of requests that use their group's prefix"
        ),
        trace: Path | None = typer.Option(
            None,
            "--trace",
            help="trace workload: JSONL of timestamp_s, input_tokens, output_tokens, session (default: the bundled "
            "agentic coding trace)",
        ),
        trace_speed: str | None = typer.Option(
            None, "--trace-speed", help="trace workload: replay speed-ups, e.g. 1,2 (1 = as recorded)"
        ),
        isl: int | None = typer.Option(None, "--isl", help="input tokens per request (random/prefix: default 1024)"),
        osl: int | None = typer.Option(
            None,
            "--osl",
            help="output tokens per request (random/prefix: default 1024; conversations: the reply's length)",
        ),
        length_dist: str = typer.Option(
            "fixed", "--length-dist", help="fixed, or uniform:R (lengths uniform in [R*L, L]; InferenceX: uniform:0.8)"
        ),
        concurrency: str | None = typer.Option(
            None, "--concurrency", help="closed loop: concurrency levels, e.g. 1,4,16,64"
        ),
        rate: str | None = typer.Option(
            None,
            "--rate",
            help="open loop: req/s levels (2,4,inf), ramp:START:END, or sweep[:K] (finds saturation, then K rates "
            "below it)",
        ),
        arrival: str = typer.Option("poisson", "--arrival", help="open loop arrivals: poisson, constant or gamma:K"),
        requests: int | None = typer.Option(
            None,
            "--requests",
            help="requests (sessions with --turns) per level (default 10 x concurrency; open loop: 30 s of "
            "arrivals, >= 50)",
        ),
        duration: float | None = typer.Option(None, "--duration", help="seconds per level instead of a request count"),
        warmup: int = typer.Option(0, "--warmup", help="unrecorded warm-up requests before each level"),
        exclude_warmup: str | None = typer.Option(
            None,
            "--exclude-warmup",
            help="leave out of the statistics the requests started in the first S seconds (30s) or the first N (20)",
        ),
        exclude_cooldown: str | None = typer.Option(
            None,
            "--exclude-cooldown",
            help="leave out the requests ended in the last S seconds (30s) or the last N sent (20)",
        ),
        slo: str | None = typer.Option(
            None,
            "--slo",
            help="SLOs for goodput: ttft_ms:P:MS,tpot_ms:P:MS (P-th percentile within MS) or ttft:MS,tpot:MS",
        ),
        out: Path = typer.Option(
            Path("results.jsonl"), "--output", "-o", "--out", help="JSONL file of per-request records (appended)"
        ),
        resume: bool = typer.Option(
            False, "--resume", help="continue this run in --out: send only the requests without a record"
        ),
        overwrite: bool = typer.Option(
            False, "--overwrite", help="drop this run's records from --out and run it again"
        ),
        timeout_s: float = typer.Option(300.0, "--timeout-s", help="per-request limit in seconds"),
        seed: int = typer.Option(0, "--seed", help="seed for prompts, lengths and arrivals"),
        tokenizer: Path | None = typer.Option(
            None,
            "--tokenizer",
            help="local tokenizer.json for exact prompt lengths and fallback counts (needs tokenizers)",
        ),
        ignore_eos: bool = typer.Option(
            True, "--ignore-eos/--no-ignore-eos", help="send ignore_eos so output length is max_tokens"
        ),
        max_connections: int | None = typer.Option(
            None, "--max-connections", help="open loop: most connections (= requests in flight) per run (default 2048)"
        ),
        workers: int = typer.Option(
            1, "--workers", help="client processes sharing one schedule (for rates one event loop cannot drive)"
        ),
        event_loop: str = typer.Option("auto", "--event-loop", help="auto (uvloop when installed), uvloop or asyncio"),
        check: bool = typer.Option(
            True, "--check/--no-check", help="check the server, model and endpoint before the first request"
        ),
        energy: bool = typer.Option(True, "--energy/--no-energy", help="measure GPU energy with NVML when available"),
        idle_s: float = typer.Option(5.0, "--idle-s", help="seconds of idle baseline before the run (energy only)"),
        gpu_index: str | None = typer.Option(None, "--gpu-index", help="GPUs to meter, e.g. 0,1 (default all)"),
        as_json: bool = typer.Option(False, "--json", help='print JSON: {"runs": [...], "definitions": {...}}'),
        wide: bool = typer.Option(False, "--wide", help="show every column, however wide the terminal"),
        csv_path: Path | None = typer.Option(None, "--csv", help="also write one CSV row per level"),
        summary_path: Path | None = typer.Option(
            None, "--summary", help="also write a summary JSON with vllm bench serve's field names"
        ),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="no live progress display"),
    ):
        """Measure a live OpenAI-compatible server: TTFT, TPOT, ITL, E2EL, throughput, goodput (and energy)."""
        from tokenfab.bench import client

        # --out, --csv and --summary were checked before the command ran (cli.main.OUTPUT_PATHS)
        stats = client.LiveStats()
        hooks = _LiveHooks(stats, enabled=err_console.is_terminal and not quiet)
        req = api.BenchRequest.build(
            url=url,
            model=model,
            api_key=_api_key(api_key_env),
            endpoint=endpoint,
            workload=workload,
            dataset=str(dataset) if dataset else None,
            turns=turns,
            think_time_s=think_time_s,
            prefix_tokens=prefix_tokens,
            prefix_groups=prefix_groups,
            prefix_hit_rate=prefix_hit_rate,
            trace=str(trace) if trace else None,
            trace_speed=trace_speed,
            isl=isl,
            osl=osl,
            length_dist=length_dist,
            concurrency=concurrency,
            rate=rate,
            arrival=arrival,
            requests=requests,
            duration_s=duration,
            warmup=warmup,
            exclude_warmup=exclude_warmup,
            exclude_cooldown=exclude_cooldown,
            slo=slo,
            out=str(out),
            resume=resume,
            overwrite=overwrite,
            timeout_s=timeout_s,
            seed=seed,
            tokenizer=str(tokenizer) if tokenizer else None,
            ignore_eos=ignore_eos,
            max_connections=max_connections,
            workers=workers,
            event_loop=event_loop,
            check=check,
            energy=energy,
            idle_s=idle_s,
            gpu_index=gpu_index,
            csv=str(csv_path) if csv_path else None,
            summary=str(summary_path) if summary_path else None,
        )
        with hooks:
            res = api.run_bench(req, hooks=cast("ProgressHooks", hooks), stats=stats)  # _LiveHooks is a ProgressHooks
        doc = res.document
        runs = doc["runs"]
        if as_json:
            print_json(doc)
            for line in _selfcheck_lines(doc):
                if "WARNING" in line:
                    err_console.print(line, markup=False, highlight=False, soft_wrap=True)
        else:
            _render_runs(doc, wide)
        _exit_status(res, runs, url, out)

    @app.command("bench-report")
    def bench_report(
        results: Path = typer.Argument(..., help="JSONL written by tokenfab bench"),
        gpus: int = typer.Option(
            ..., "--gpus", help="GPUs that served the benchmark (prefill + decode when disaggregated)"
        ),
        preset: str | None = typer.Option(None, "--preset", help="TCO preset for $/GPU-hour (needs --hardware)"),
        usd_per_gpu_hour: float | None = typer.Option(
            None, "--usd-per-gpu-hour", help="a plain price per GPU-hour instead of a preset"
        ),
        hardware: str | None = typer.Option(
            None, "--hardware", "-H", help="hardware key: TCO preset and all-in kW per GPU"
        ),
        kw_per_gpu: float | None = typer.Option(
            None, "--kw-per-gpu", help="all-in kW per GPU for tokens/s per MW (default: from --hardware)"
        ),
        slo: str | None = typer.Option(None, "--slo", help="SLOs in ms for goodput, e.g. ttft:2000,tpot:50"),
        run_id: str | None = typer.Option(None, "--run-id", help="only this run of the file"),
        compare_model: str | None = typer.Option(
            None, "--compare-model", help="put the performance model's prediction beside each level (needs --hardware)"
        ),
        weights: str | None = typer.Option(None, "--weights", help="with --compare-model: weight precision"),
        kv: str | None = typer.Option(None, "--kv", help="with --compare-model: KV precision"),
        engine: str | None = typer.Option(
            None, "--engine", help="the serving engine measured (tokenfab catalog engines; default: the vendor's)"
        ),
        tp: int | None = typer.Option(
            None, "--tp", help="tensor-parallel degree (GPUs sharing each layer) of the measured server"
        ),
        pp: int | None = typer.Option(None, "--pp", help="pipeline-parallel stages of the measured server"),
        ep: int | None = typer.Option(
            None, "--ep", help="expert-parallel degree (GPUs holding the experts, MoE models) of the measured server"
        ),
        dp: int | None = typer.Option(None, "--dp", help="attention data-parallel copies of the measured server"),
        calibration: str | None = typer.Option(None, "--calibration", help="calibration profile for the prediction"),
        hardware_file: list[str] | None = typer.Option(
            None, "--hardware-file", help="extra hardware YAML/TOML (repeatable) defining --hardware"
        ),
        exclude_warmup: str | None = typer.Option(
            None, "--exclude-warmup", help="leave out requests started in the first S seconds (30s) or the first N (20)"
        ),
        exclude_cooldown: str | None = typer.Option(
            None,
            "--exclude-cooldown",
            help="leave out requests ended in the last S seconds (30s) or the last N sent (20)",
        ),
        html_path: Path | None = typer.Option(
            None,
            "--html",
            help="also write a self-contained HTML report (TTFT/TPOT distributions, measured vs model; needs plotly)",
        ),
        prefill_gpu_time_share: float | None = typer.Option(
            None,
            "--prefill-gpu-time-share",
            help="share of GPU time in prefill, 0..1 (tokenfab estimate): splits $/M into input and output that add up",
        ),
        per_kind: str = typer.Option(
            "gpu-time", "--per-kind", help="per-token-kind convention: gpu-time or inferencex"
        ),
        as_json: bool = typer.Option(False, "--json", help="print JSON"),
        wide: bool = typer.Option(False, "--wide", help="show every column, however wide the terminal"),
    ):
        """Measured points per level -> throughput per GPU vs interactivity, $/M tokens and tokens/s per MW."""
        doc = api.bench_report(
            api.BenchReportRequest.build(
                results=str(results),
                gpus=gpus,
                hardware=hardware,
                preset=preset,
                price_usd_per_gpu_hour=usd_per_gpu_hour,
                kw_per_gpu=kw_per_gpu,
                slo=slo,
                run_id=run_id,
                compare_model=compare_model,
                weights=weights,
                kv=kv,
                engine=engine,
                tp=tp,
                pp=pp,
                ep=ep,
                dp=dp,
                calibration=calibration,
                hardware_files=hardware_file,
                exclude_warmup=exclude_warmup,
                exclude_cooldown=exclude_cooldown,
                prefill_gpu_time_share=prefill_gpu_time_share,
                per_kind=per_kind,
                html=str(html_path) if html_path is not None else None,
            )
        ).to_dict()
        price, kw, tco_doc, points = doc["usd_per_gpu_hour"], doc["all_in_kw_per_gpu"], doc["tco"], doc["points"]
        if html_path is not None:
            err_console.print(f"wrote {html_path}", markup=False, highlight=False)
        if as_json:
            print_json(doc)
            return
        from tokenfab.cli._search_opts import SHORT_HEADERS, fitted_table, show

        cols = [
            "level",
            "user tok/s",
            "total tok/s per GPU",
            "output tok/s per GPU",
            "$/M total",
            "$/M output",
            "$/M input",
            "k tok/s per MW",
        ]
        multi = len({p.get("run_id") for p in points}) > 1
        rows = [
            [
                _level_label(p) + (f" (run {p['run_id'][:6]})" if multi else ""),
                _fmt(p["tokens_per_s_per_user"]),
                _fmt(p["total_tokens_per_s_per_gpu"]),
                _fmt(p["output_tokens_per_s_per_gpu"]),
                _fmt(p["usd_per_mtok_total"], 3),
                _fmt(p["usd_per_mtok_output"], 3),
                _fmt(p["usd_per_mtok_input"], 3),
                _fmt(p["tokens_per_s_per_mw_total"] / 1e3 if p.get("tokens_per_s_per_mw_total") else None),
            ]
            for p in points
        ]
        t = fitted_table(
            console,
            f"measured points: {results}  ({gpus} GPU(s), ${price:.3f}/GPU-h"
            + (f", {kw:.2f} kW/GPU all-in)" if kw else ")"),
            cols,
            rows,
            left=("level",),
            drop=(SHORT_HEADERS, "$/M input", "$/M output", "k tok/s per MW"),
            short={
                "total tok/s per GPU": "total tok/s\nper GPU",
                "output tok/s per GPU": "output tok/s\nper GPU",
                "k tok/s per MW": "k tok/s\nper MW",
            },
            wrap=("level",),
            wide=wide,
        )
        show(console, t)
        if doc.get("unreadable_lines"):
            err_console.print(
                f"warning: {doc['unreadable_lines']:,} line(s) of {results} are not records (not JSON, e.g. one cut "
                "by a kill): skipped",
                style="yellow",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
        for r in doc.get("runs") or []:  # goodput under --slo (it was in --json only)
            g = r.get("goodput")
            if g:
                att = g.get("slo_attainment")
                console.print(
                    f"  {_level_label(r)}: {'-' if att is None else f'{100 * att:.1f}%'} of requests meet the SLO "
                    f"({', '.join(f'{k} <= {v:g} ms' for k, v in (g.get('slo') or {}).items())}); goodput "
                    f"{_fmt(g.get('goodput_requests_per_s'), 2)} req/s, {_fmt(g.get('goodput_output_tokens_per_s'))} "
                    "output tok/s",
                    markup=False,
                    highlight=False,
                )
        for r in doc.get("runs") or []:  # a level's own warnings (token counts, exclusions that left nothing)
            for wmsg in r.get("warnings") or []:
                err_console.print(f"warning: {wmsg}", style="yellow", markup=False, highlight=False, soft_wrap=True)
        if multi:
            err_console.print(
                f"warning: {results} holds {len({p.get('run_id') for p in points})} runs with "
                f"different settings; pick one with --run-id",
                style="yellow",
                markup=False,
                highlight=False,
            )
        if kw is None:
            console.print("  " + doc["tokens_per_s_per_mw"])
        if prefill_gpu_time_share is None and any(p.get("usd_per_mtok_total") is not None for p in points):
            console.print(
                "  $/M input and output are '-': splitting a GPU-hour between token kinds needs the share of GPU "
                "time in prefill (--prefill-gpu-time-share; `tokenfab estimate` reports it for a configuration)",
                markup=False,
                highlight=False,
            )
        if tco_doc:
            console.print(
                f"  $/GPU-h from tokenfab.economics.tco ({tco_doc['method']}, preset {tco_doc['preset']}): "
                + "; ".join(tco_doc["notes"]),
                highlight=False,
            )
        if doc.get("comparison"):
            c = Table(title=f"measured vs predicted ({compare_model} on {hardware}); error = predicted / measured - 1")
            for col in ("level", "metric", "measured", "predicted", "error"):
                c.add_column(col, justify="right")
            for p, row in zip(points, doc["comparison"], strict=False):
                for k, v in row.items():
                    if isinstance(v, dict):
                        c.add_row(
                            _level_label(p),
                            k,
                            _fmt(v["measured"]),
                            _fmt(v["predicted"]),
                            f"{v['relative_error'] * 100:+.0f}%" if v["relative_error"] is not None else "-",
                        )
            console.print(c)
        console.print(
            "[dim]$/M tokens = $/GPU-h / (tokens/s/GPU x 3600 / 1e6); tok/s per MW = tokens/s/GPU x 1000 / "
            "all-in kW per GPU (total = input + output tokens); user tok/s = median 1000/TPOT.[/]"
        )


def _register_calibrate(app: typer.Typer) -> None:
    @app.command("calibrate")
    def calibrate_cmd(
        results: Path = typer.Argument(..., help="JSONL written by tokenfab bench"),
        model: str = typer.Option(..., "--model", "-m", help="the model that was served (catalog key or config.json)"),
        hardware: str = typer.Option(
            ..., "--hardware", "-H", help="the hardware the server ran on (tokenfab catalog hardware)"
        ),
        gpus: int = typer.Option(..., "--gpus", help="GPUs of one model replica on the measured server"),
        tp: int | None = typer.Option(
            None, "--tp", help="tensor-parallel degree (GPUs sharing each layer) of the measured server"
        ),
        pp: int | None = typer.Option(None, "--pp", help="pipeline-parallel stages of the measured server"),
        ep: int | None = typer.Option(
            None, "--ep", help="expert-parallel degree (GPUs holding the experts, MoE models) of the measured server"
        ),
        dp: int | None = typer.Option(None, "--dp", help="attention data-parallel copies of the measured server"),
        weights: str | None = typer.Option(
            None, "--weights", help="weight precision served (default: the checkpoint's)"
        ),
        kv: str | None = typer.Option(None, "--kv", help="KV-cache precision served (default: from the weights)"),
        engine: str | None = typer.Option(
            None, "--engine", help="the serving engine measured (tokenfab catalog engines; default: the vendor's)"
        ),
        base: str | None = typer.Option(None, "--base", help="profile to start from (default: the bundled one)"),
        hardware_file: list[str] | None = typer.Option(
            None, "--hardware-file", help="extra hardware YAML/TOML (repeatable) defining --hardware"
        ),
        out: Path = typer.Option(
            Path("calibration.json"), "--output", "-o", "--out", help="where to write the profile"
        ),
        run_id: str | None = typer.Option(None, "--run-id", help="only this run of the file"),
        force: bool = typer.Option(False, "--force", help="write the fit even when it is worse than the base profile"),
        as_json: bool = typer.Option(False, "--json", help="machine-readable output"),
    ):
        """Fit the performance model's efficiency parameters to your benchmark; use with --calibration FILE."""
        res = api.calibrate(
            api.CalibrateRequest.build(
                results=str(results),
                model=model,
                hardware=hardware,
                gpus=gpus,
                tp=tp,
                pp=pp,
                ep=ep,
                dp=dp,
                weights=weights,
                kv=kv,
                engine=engine,
                base=base,
                hardware_files=hardware_file,
                out=str(out),
                run_id=run_id,
                force=force,
            )
        )
        if res.profile is None:
            err_console.print(f"error: {res.warnings[-1]}", markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(1)
        summary = res.to_dict()
        if as_json:
            print_json(summary)
            return

        def med(d: dict | None) -> str:
            v = (d or {}).get("median_ape_pct")
            return f"{v:.1f}%" if isinstance(v, int | float) else "n/a"

        def rms(d: dict | None) -> str:  # what the fit minimizes and is judged by (the median can move either way)
            v = (d or {}).get("rms_log_error")
            return f"{v:.3f}" if isinstance(v, int | float) else "n/a"

        line = (
            f"fitted {summary['points']} measured values on {summary['hardware']} served by {summary['engine']}: "
            f"median error {med(summary['before'])} -> "
            f"{med(summary['after'])}, rms log error {rms(summary['before'])} -> {rms(summary['after'])} "
            "(what the fit minimizes) on the fitted points"
        )
        ho = summary.get("held_out")
        if ho:
            line += (
                f"; {med(ho.get('base'))} -> {med(ho.get('fit'))} (rms log error {rms(ho.get('base'))} -> "
                f"{rms(ho.get('fit'))}) on levels held out (leave one level out, {ho.get('folds')} folds)"
            )
        console.print(line, markup=False, highlight=False)
        console.print("parameters: " + ", ".join(f"{k}={v:.4g}" for k, v in summary["params"].items()))
        for wmsg in summary.get("warnings", []):
            err_console.print(f"warning: {wmsg}", style="yellow", markup=False, highlight=False, soft_wrap=True)
        console.print(
            f"wrote {out}; use it with: tokenfab estimate ... --calibration {out} (it applies to "
            f"{summary['hardware']} with --engine {summary['engine']}; other hardware and engines keep the base "
            "profile)",
            markup=False,
            highlight=False,
        )
