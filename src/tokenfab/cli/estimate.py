"""``tokenfab estimate``: TTFT, TPOT and throughput of one configuration."""

from __future__ import annotations

from typing import List, Optional

import typer
from rich.table import Table

from tokenfab.cli.common import console, emit
from tokenfab.perf.serving import estimate as estimate_fn


def _render(e) -> None:
    if not e.fits:
        # a configuration that does not fit has no latency to show: say so first, with by how much, and stop there
        for w in e.warnings:
            console.print(
                f"[bold red]{'does not fit' if w.startswith('does not fit') else 'warning'}:[/] "
                f"{w.removeprefix('does not fit: ')}",
                highlight=False,
                soft_wrap=True,
            )
        console.print(
            f"[dim]{e.model} on {e.gpus} x {e.hardware} (TP={e.tp} PP={e.pp} DP={e.dp}; {e.weights} weights): "
            f"{e.memory_per_gpu_gib:,.1f} GiB per GPU needed. `tokenfab fit` shows the memory breakdown.[/]"
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
        ("calibration", e.calibration),
    ]
    for r in rows:
        t.add_row(*r)
    console.print(t)
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
        console.print(f"[yellow]warning:[/] {w}")
    console.print(
        "[dim]TPOT includes prefill interference; total tokens = input + output (InferenceX convention); "
        "GiB = 2^30 bytes.[/]"
    )


def register(app: typer.Typer) -> None:
    @app.command("estimate")
    def estimate_cmd(
        model: str = typer.Option(..., "--model", "-m"),
        hardware: str = typer.Option(..., "--hardware"),
        gpus: Optional[int] = typer.Option(
            None, "--gpus", help="chips in the deployment (default: TP x PP x DP, or the smallest layout that fits)"
        ),
        tp: Optional[int] = typer.Option(None, "--tp", help="tensor parallel (default: GPUs / (PP x DP))"),
        pp: Optional[int] = typer.Option(None, "--pp"),
        ep: Optional[int] = typer.Option(None, "--ep", help="expert parallel (MoE; default TP x DP)"),
        dp: Optional[int] = typer.Option(None, "--dp", help="data parallel replicas (attention DP for MoE)"),
        weights: Optional[str] = typer.Option(
            None, "--weights", help="bf16|fp16|fp8|fp4|int8|int4 (default: the checkpoint's)"
        ),
        kv: Optional[str] = typer.Option(
            None, "--kv", help="bf16|fp16|fp8|fp4 (default: weights for 16/8-bit, fp8 for 4-bit)"
        ),
        isl: int = typer.Option(1024, "--isl", help="input tokens per request"),
        osl: int = typer.Option(1024, "--osl", help="output tokens per request"),
        concurrency: str = typer.Option(
            "max", "--concurrency", help="concurrent requests, or 'max' (largest that fits)"
        ),
        rate: Optional[float] = typer.Option(None, "--rate", help="open loop: requests/s instead of a concurrency"),
        mtp: int = typer.Option(0, "--mtp", help="speculative / MTP draft tokens per step"),
        mtp_acceptance: float | None = typer.Option(
            None, "--mtp-acceptance", help="mean tokens accepted per step (1..1+mtp; default: the published figure)"
        ),
        prefix_hit: float = typer.Option(0.0, "--prefix-hit", help="prefix-cache hit rate in [0, 1)"),
        calibration: Optional[str] = typer.Option(
            None, "--calibration", help="calibration profile JSON (tokenfab calibrate)"
        ),
        hardware_file: Optional[List[str]] = typer.Option(None, "--hardware-file"),
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
            mtp_draft_tokens=mtp,
            mtp_acceptance_length=mtp_acceptance,
            prefix_hit_rate=prefix_hit,
            calibration=calibration,
            hardware_files=hardware_file,
        )
        emit(e, as_json, _render)
