"""``tokenfab estimate``: TTFT, TPOT and throughput of one configuration."""

from __future__ import annotations

import typer

from tokenfab import api
from tokenfab.api import explain as X
from tokenfab.cli import _search_opts as O
from tokenfab.cli.common import Table, console, lit, print_header, print_json, to_jsonable
from tokenfab.core.errors import TokenfabError
from tokenfab.render import format as F


def _spec_text(sp: dict) -> str:
    if not sp or not sp.get("method") or not sp.get("draft_tokens"):  # SpecConfig.on: a method and drafts
        return "off"
    src = f"stand-in: {sp['stand_in']}" if sp.get("stand_in") else (sp.get("source") or "given")
    acc = F.num(sp.get("acceptance_length", 1), 2)
    return f"{sp.get('method')} {sp.get('draft_tokens')} draft tokens, {acc} accepted ({src})"


def _calibration_text(cal: dict) -> str:
    """``hopper: fitted (616 rows) / trtllm: fitted`` or ``... prior (rule)``: what the figures rest on."""
    if not cal:
        return "-"
    hw = f"{cal.get('hardware_family')}: {cal.get('hardware_profile')}"
    if cal.get("hardware_profile") == "prior" and cal.get("hardware_rule"):
        hw += f" ({cal['hardware_rule']})"
    eng = f"{cal.get('engine')}: {cal.get('engine_profile')}"
    if cal.get("engine_profile") == "prior" and cal.get("engine_rule"):
        eng += f" ({cal['engine_rule']})"
    rows = cal.get("pair_rows") or cal.get("rows")
    at_prior = cal.get("parameters_at_prior") or []
    return (
        f"{hw} / {eng}"
        + (f"; {rows:,} measurement rows" if rows else "")
        + (
            f"; at the prior (no measurement informs {'it' if len(at_prior) == 1 else 'them'}): {', '.join(at_prior)}"
            if at_prior
            else ""
        )
    )


_BAND_LABELS = {
    "ttft_ms": ("TTFT", "ms"),
    "tpot_ms": ("TPOT", "ms"),
    "tokens_per_s_per_user": ("interactivity", "tok/s/user"),
    "output_tokens_per_s_per_gpu": ("output tokens/s per GPU", ""),
    "total_tokens_per_s_per_gpu": ("total tokens/s per GPU", ""),
}


def _render_bands(e) -> None:
    """Latency percentiles of the model and the p10-p90 error band of every figure (out-of-sample errors)."""
    pct = e.latency_percentiles or {}
    if pct.get("ttft_ms") and pct.get("tpot_ms"):
        t = Table(title="latency distribution (modelled queueing and round mix)", title_justify="left")
        for c in ("metric", "p50", "p90", "p99"):
            t.add_column(c, justify="left" if c == "metric" else "right")
        t.add_row("TTFT ms", *(F.num(pct["ttft_ms"][k]) for k in ("p50", "p90", "p99")))
        t.add_row("TPOT ms", *(F.num(pct["tpot_ms"][k]) for k in ("p50", "p90", "p99")))
        console.print(t)
    if e.uncertainty:
        t = Table(title="error band: p10 - p90 of what a measurement would show", title_justify="left")
        for c in ("figure", "estimate", "p10", "p90", "basis"):
            t.add_column(c, justify="left" if c in ("figure", "basis") else "right")
        for key, (label, unit) in _BAND_LABELS.items():
            b = e.uncertainty.get(key)
            if not b:
                continue
            t.add_row(
                label + (f" ({unit})" if unit else ""),
                F.num(getattr(e, key)),
                F.num(b["p10"]),
                F.num(b["p90"]),
                f"{b['bucket']} ({F.count(b['rows'], 'row')})" + ("; held at physics" if b.get("clipped_at") else ""),
            )
        console.print(t)


def _render(e, *, given: dict | None = None, fit_result=None) -> None:
    given = given or {}
    ed = to_jsonable(e.to_dict())
    print_header(
        X.estimate_header(ed, weights_given=given.get("weights", False), engine_given=given.get("engine", False))
    )
    if not e.fits:
        # a configuration that does not fit has no latency to show: say so first, with by how much, and stop there
        fd = to_jsonable(fit_result.to_dict()) if fit_result is not None else None
        console.print(lit(X.not_fit_text(ed, fd), "bold red"), highlight=False)
        for w in e.warnings:
            if not w.startswith("does not fit"):
                console.print(lit("warning:", "yellow") + " " + lit(w), highlight=False)
        if fit_result is not None:
            console.print(
                lit(
                    f"it needs the memory of at least {F.count(fit_result.chips_needed, 'GPU')}; a layout the model "
                    "divides (TP a divisor of its heads, PP of its layers) may need more: tokenfab frontier picks one "
                    f"(tokenfab fit --model {e.model} --hardware {e.hardware} --weights {e.weights} shows the "
                    "breakdown)",
                    "dim",
                ),
                highlight=False,
            )
        return
    t = Table(title="one configuration", title_justify="left")
    t.add_column("metric")
    t.add_column("value", justify="right")
    largest = X.largest_part(e.breakdown)
    tot = sum(v for v in e.breakdown.values() if v > 0) or 1.0
    rows = [
        ("concurrency", f"{F.num(e.concurrency)} requests (memory holds {F.num(e.concurrency_cap)})"),
        ("TTFT", F.ms(e.ttft_ms)),
        ("TPOT", F.ms(e.tpot_ms)),
        ("interactivity", f"{F.num(e.tokens_per_s_per_user)} tokens/s per user"),
        (
            "output throughput",
            f"{F.num(e.output_tokens_per_s)} tokens/s ({F.num(e.output_tokens_per_s_per_gpu)} per GPU)",
        ),
        ("total throughput", f"{F.num(e.total_tokens_per_s)} tokens/s ({F.num(e.total_tokens_per_s_per_gpu)} per GPU)"),
        ("memory per GPU", F.gib(e.memory_per_gpu_gib)),
        ("GPU time in prefill", f"{F.pct(e.prefill_gpu_time_share)} (cost --prefill-gpu-time-share)"),
        ("decode step limited by", f"{e.bound} (what limits the operators taking most of the step)"),
        (
            "largest part of the step",
            f"{F.label(largest[0])} ({F.pct(largest[1])})" if largest else "-",
        ),
        ("engine", e.engine),
        ("speculative decoding", _spec_text(e.speculative)),
        ("calibration", _calibration_text(e.calibration)),
    ]
    for r in rows:
        t.add_row(*r)
    console.print(t)
    _render_bands(e)
    b = Table(title="one decode step, by operator class", title_justify="left")
    b.add_column("class")
    b.add_column("ms", justify="right")
    b.add_column("share", justify="right")
    for k, v in e.breakdown.items():
        if v > 0:
            b.add_row(F.label(k), F.num(v, 3), F.pct(v / tot))
    console.print(b)
    for w in e.warnings:
        console.print(lit("warning:", "yellow") + " " + lit(w), highlight=False)
    console.print(
        lit(
            "TPOT includes prefill interference; total tokens = input + output (InferenceX convention); "
            "GiB = 2^30 bytes. " + O.terms_note("bound"),
            "dim",
        )
    )


def register(app: typer.Typer) -> None:
    @app.command("estimate")
    def estimate_cmd(
        model: str = typer.Option(
            ..., "--model", "-m", help="bundled key (tokenfab catalog models), config.json path or folder"
        ),
        hardware: str = typer.Option(..., "--hardware", "-H", help="hardware key (tokenfab catalog hardware)"),
        gpus: int | None = typer.Option(
            None, "--gpus", help="chips in the deployment (default: TP x PP x DP, or the smallest layout that fits)"
        ),
        tp: int | None = typer.Option(None, "--tp", help="tensor parallel (default: GPUs / (PP x DP))"),
        pp: int | None = typer.Option(None, "--pp", help="pipeline-parallel stages"),
        ep: int | None = typer.Option(None, "--ep", help="expert parallel (MoE; default TP x DP)"),
        dp: int | None = typer.Option(None, "--dp", help="data parallel replicas (attention DP for MoE)"),
        weights: str | None = typer.Option(
            None, "--weights", help="bf16|fp16|fp8|fp4|int8|int4 (default: the checkpoint's)"
        ),
        kv: str | None = typer.Option(
            None, "--kv", help="bf16|fp16|fp8|fp4 (default: weights for 16/8-bit, fp8 for 4-bit)"
        ),
        isl: int = typer.Option(1024, "--isl", help="input tokens per request"),
        osl: int = typer.Option(1024, "--osl", help="output tokens per request"),
        concurrency: str | None = typer.Option(
            None, "--concurrency", help="concurrent requests, or 'max' (largest that fits; the default)"
        ),
        rate: float | None = typer.Option(
            None, "--rate", help="open loop: requests/s instead of a concurrency (not with --concurrency)"
        ),
        engine: str | None = typer.Option(
            None, "--engine", help="serving engine (tokenfab catalog engines; default: the hardware vendor's)"
        ),
        spec: str | None = typer.Option(
            None, "--spec", help="speculative decoding: off | auto (the model's MTP heads) | mtp | eagle3 | dspark"
        ),
        mtp: int | None = typer.Option(None, "--mtp", help="speculative / MTP draft tokens per step (default 1)"),
        mtp_acceptance: float | None = typer.Option(
            None,
            "--mtp-acceptance",
            help="mean tokens accepted per step, 1..1+draft (needs --mtp or --spec; default: the published figure)",
        ),
        prefix_hit: float = typer.Option(0.0, "--prefix-hit", help="prefix-cache hit rate in [0, 1)"),
        calibration: str | None = typer.Option(
            None, "--calibration", help="calibration profile JSON (tokenfab calibrate)"
        ),
        hardware_file: list[str] | None = typer.Option(
            None, "--hardware-file", help="extra hardware YAML/TOML (repeatable)"
        ),
        as_json: bool = typer.Option(False, "--json", help="machine-readable output"),
    ):
        """Calibrated roofline estimate of TTFT, TPOT and throughput for a model x hardware x precision x parallelism
        (exit code 1 when the configuration does not fit in memory: no latency to report)."""
        e = api.estimate(
            api.EstimateRequest.build(
                model=model,
                hardware=hardware,
                gpus=gpus,
                tp=tp,
                pp=pp,
                ep=ep,
                dp=dp,
                weights=weights,
                kv=kv,
                isl=isl,
                osl=osl,
                concurrency=concurrency,
                rate_rps=rate,
                engine=engine,
                spec_method=spec,
                mtp_draft_tokens=mtp,
                mtp_acceptance_length=mtp_acceptance,
                prefix_hit_rate=prefix_hit,
                calibration=calibration,
                hardware_files=hardware_file,
            )
        )
        if e.overloaded:
            # an open-loop rate the deployment cannot sustain has no steady state (the queue, and TTFT, grow
            # without bound): an error naming the rate, not a table with an infinite TTFT
            raise TokenfabError(e.overload_message, field="rate_rps", hint="lower --rate, or add GPUs (--gpus / --dp)")
        if as_json:
            print_json(e)
        else:
            _render(e, given={"weights": weights is not None, "engine": engine is not None}, fit_result=e.memory_fit)
        if not e.fits:
            raise typer.Exit(1)  # no latency or throughput to report: the command could not answer
