"""``tokenfab estimate``: TTFT, TPOT and throughput of one configuration."""

from __future__ import annotations

import typer

from tokenfab.cli.common import Table, console, emit, lit
from tokenfab.core.errors import TokenfabError
from tokenfab.perf.serving import estimate as estimate_fn


def _spec_text(sp: dict) -> str:
    if not sp or not sp.get("on"):
        return "off"
    src = f"stand-in: {sp['stand_in']}" if sp.get("stand_in") else (sp.get("source") or "given")
    return f"{sp.get('method')} {sp.get('draft_tokens')} draft tokens, {sp.get('acceptance_length', 1):.2f} accepted ({src})"


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
    return f"{hw} / {eng}" + (f"; {rows:,} measurement rows" if rows else "")


_BAND_LABELS = {
    "ttft_ms": ("TTFT", "ms", ",.1f"),
    "tpot_ms": ("TPOT", "ms", ",.2f"),
    "tokens_per_s_per_user": ("interactivity", "tok/s/user", ",.1f"),
    "output_tokens_per_s_per_gpu": ("output tokens/s per GPU", "", ",.0f"),
    "total_tokens_per_s_per_gpu": ("total tokens/s per GPU", "", ",.0f"),
}


def _render_bands(e) -> None:
    """Latency percentiles of the model and the p10-p90 error band of every figure (out-of-sample errors)."""
    pct = e.latency_percentiles or {}
    if pct.get("ttft_ms") and pct.get("tpot_ms"):
        t = Table(title="latency distribution (modelled queueing and round mix)", title_justify="left")
        for c in ("metric", "p50", "p90", "p99"):
            t.add_column(c, justify="left" if c == "metric" else "right")
        t.add_row("TTFT ms", *(f"{pct['ttft_ms'][k]:,.1f}" for k in ("p50", "p90", "p99")))
        t.add_row("TPOT ms", *(f"{pct['tpot_ms'][k]:,.2f}" for k in ("p50", "p90", "p99")))
        console.print(t)
    if e.uncertainty:
        t = Table(title="error band: p10 - p90 of what a measurement would show", title_justify="left")
        for c in ("figure", "estimate", "p10", "p90", "basis"):
            t.add_column(c, justify="left" if c in ("figure", "basis") else "right")
        for key, (label, unit, spec) in _BAND_LABELS.items():
            b = e.uncertainty.get(key)
            if not b:
                continue
            t.add_row(
                label + (f" ({unit})" if unit else ""),
                format(getattr(e, key), spec),
                format(b["p10"], spec),
                format(b["p90"], spec),
                f"{b['bucket']} ({b['rows']} rows)",
            )
        console.print(t)


def _render(e) -> None:
    if not e.fits:
        # a configuration that does not fit has no latency to show: say so first, with by how much, and stop there
        for w in e.warnings:
            console.print(
                lit(f"{'does not fit' if w.startswith('does not fit') else 'warning'}:", "bold red")
                + " "
                + lit(w.removeprefix("does not fit: ")),
                highlight=False,
                soft_wrap=True,
            )
        console.print(
            lit(
                f"{e.model} on {e.gpus} x {e.hardware} (TP={e.tp} PP={e.pp} DP={e.dp}; {e.weights} weights): "
                f"{e.memory_per_gpu_gib:,.1f} GiB per GPU needed. `tokenfab fit` shows the memory breakdown.",
                "dim",
            )
        )
        return
    t = Table(
        title=f"{e.model} on {e.gpus} x {e.hardware} (TP={e.tp} PP={e.pp} DP={e.dp} EP={e.ep}; "
        f"{e.weights} weights, {e.kv} KV, computed at {e.compute_precision}) - ISL {e.isl} / OSL {e.osl}",
        title_justify="left",
    )
    t.add_column("metric")
    t.add_column("value", justify="right")
    rows = [
        ("concurrency", f"{e.concurrency:,.0f} (KV-memory cap {e.concurrency_cap:,.0f})"),
        ("TTFT", f"{e.ttft_ms:,.1f} ms"),
        ("TPOT", f"{e.tpot_ms:,.2f} ms"),
        ("interactivity", f"{e.tokens_per_s_per_user:,.1f} tokens/s per user"),
        ("output throughput", f"{e.output_tokens_per_s:,.0f} tokens/s ({e.output_tokens_per_s_per_gpu:,.0f} per GPU)"),
        ("total throughput", f"{e.total_tokens_per_s:,.0f} tokens/s ({e.total_tokens_per_s_per_gpu:,.0f} per GPU)"),
        ("memory per GPU", f"{e.memory_per_gpu_gib:,.1f} GiB"),
        ("decode bound by", e.bound),
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
    tot = sum(e.breakdown.values()) or 1.0
    for k, v in e.breakdown.items():
        if v > 0:
            b.add_row(k, f"{v:.3f}", f"{v / tot * 100:.0f}%")
    console.print(b)
    for w in e.warnings:
        console.print(lit("warning:", "yellow") + " " + lit(w), highlight=False)
    console.print(
        lit(
            "TPOT includes prefill interference; total tokens = input + output (InferenceX convention); "
            "GiB = 2^30 bytes.",
            "dim",
        )
    )


def register(app: typer.Typer) -> None:
    @app.command("estimate")
    def estimate_cmd(
        model: str = typer.Option(..., "--model", "-m"),
        hardware: str = typer.Option(..., "--hardware"),
        gpus: int | None = typer.Option(
            None, "--gpus", help="chips in the deployment (default: TP x PP x DP, or the smallest layout that fits)"
        ),
        tp: int | None = typer.Option(None, "--tp", help="tensor parallel (default: GPUs / (PP x DP))"),
        pp: int | None = typer.Option(None, "--pp"),
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
        mtp: int = typer.Option(0, "--mtp", help="speculative / MTP draft tokens per step"),
        mtp_acceptance: float | None = typer.Option(
            None,
            "--mtp-acceptance",
            help="mean tokens accepted per step, 1..1+draft (needs --mtp or --spec; default: the published figure)",
        ),
        prefix_hit: float = typer.Option(0.0, "--prefix-hit", help="prefix-cache hit rate in [0, 1)"),
        calibration: str | None = typer.Option(
            None, "--calibration", help="calibration profile JSON (tokenfab calibrate)"
        ),
        hardware_file: list[str] | None = typer.Option(None, "--hardware-file"),
        as_json: bool = typer.Option(False, "--json"),
    ):
        """Calibrated roofline estimate of TTFT, TPOT and throughput for a model x hardware x precision x parallelism."""
        e = estimate_fn(
            model,
            hardware,
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
        if e.overloaded:
            # an open-loop rate the deployment cannot sustain has no steady state (the queue, and TTFT, grow
            # without bound): an error naming the rate, not a table with an infinite TTFT
            raise TokenfabError(e.overload_message, field="rate_rps", hint="lower --rate, or add GPUs (--gpus / --dp)")
        emit(e, as_json, _render)
