"""``tokenfab fit``: does a model fit, and on how many chips, nodes and racks."""

from __future__ import annotations

import typer

from tokenfab.cli.common import Table, console, emit, lit
from tokenfab.perf.memory import fit as fit_fn


def _render(r) -> None:
    t = Table(
        title=lit(
            f"{r.model} on {r.hardware} ({r.weights_precision} weights, {r.kv_precision} KV) - "
            f"{r.users} users x {r.context_tokens} tokens"
        ),
        title_justify="left",
    )
    t.add_column("quantity")
    t.add_column("value", justify="right")
    t.add_column("note")
    t.add_row(
        "weights",
        f"{r.weights_gib:.1f} GiB",
        f"{r.weights_gb:.1f} GB; by component: "
        + ", ".join(f"{k} {v:.1f}" for k, v in r.weights_by_component_gib.items() if v >= 0.05),
    )
    t.add_row(
        "KV cache (all users)",
        f"{r.kv_cache_gib:.1f} GiB",
        f"{r.kv_bytes_per_token:,.0f} bytes per token (averaged over the context)",
    )
    t.add_row("activations / workspace", f"{r.activations_gib:.1f} GiB", "all GPUs together")
    t.add_row(
        "runtime overhead",
        f"{r.runtime_overhead_gib:.1f} GiB",
        "CUDA context, NCCL, fragmentation (10% of HBM, as vLLM reserves)",
    )
    t.add_row("total", f"{r.total_gib:.1f} GiB", "")
    t.add_row(
        "layout",
        f"{r.gpus} {'chips' if r.memory_kind == 'SRAM' else 'GPUs'}",
        f"TP={r.tp} PP={r.pp} DP={r.dp} EP={r.ep}",
    )
    t.add_row(
        "per GPU",
        f"{r.memory_per_gpu_gib:.1f} / {r.capacity_per_gpu_gib:.1f} GiB",
        ", ".join(f"{k.replace('_gib', '')} {v:.1f}" for k, v in r.per_gpu.items()),
    )
    t.add_row(
        "max concurrent sequences", f"{r.max_concurrent_sequences}", f"at {r.context_tokens} tokens each, this layout"
    )
    t.add_row(
        "chips needed",
        f"{r.chips_needed} ({r.chips_needed_exact:.2f})",
        f"{r.memory_kind} chips of {r.capacity_per_gpu_gib:.2f} GiB",
    )
    t.add_row("nodes needed", f"{r.nodes_needed}", f"{r.chips_per_node} chips per node")
    t.add_row("racks needed", f"{r.racks_needed} ({r.racks_needed_exact:.2f})", f"{r.chips_per_rack} chips per rack")
    console.print(t)
    console.print(lit(r.message, "green" if r.fits else "bold red"))
    console.print(lit(r.units_note, "dim"))
    for k, v in r.sources.items():
        if v:
            console.print(lit(f"- {k.replace('_', ' ')}: {v}", "dim"), highlight=False)


def register(app: typer.Typer) -> None:
    @app.command("fit")
    def fit_cmd(
        model: str = typer.Option(
            ..., "--model", "-m", help="bundled key (tokenfab catalog models), config.json path or folder"
        ),
        hardware: str = typer.Option(..., "--hardware", help="hardware key (tokenfab catalog hardware)"),
        gpus: int | None = typer.Option(
            None, "--gpus", help="chips in one model replica (default: the fewest that fit)"
        ),
        tp: int | None = typer.Option(None, "--tp"),
        pp: int | None = typer.Option(None, "--pp"),
        dp: int | None = typer.Option(None, "--dp"),
        ep: int | None = typer.Option(None, "--ep"),
        weights: str | None = typer.Option(
            None, "--weights", help="bf16|fp16|fp8|fp4|int8|int4 (default: the checkpoint's)"
        ),
        kv: str | None = typer.Option(
            None, "--kv", help="bf16|fp16|fp8|fp4 (default: weights for 16/8-bit, fp8 for 4-bit)"
        ),
        users: int = typer.Option(1, "--users", help="concurrent sequences"),
        context: int = typer.Option(4096, "--context", help="tokens per sequence (input + output)"),
        params: float | None = typer.Option(None, "--params", help="override the parameter count (e.g. 70e9)"),
        no_overheads: bool = typer.Option(False, "--no-overheads", help="weights + KV only (the seed arithmetic)"),
        chip_memory_gib: float | None = typer.Option(
            None, "--chip-memory-gib", help="size against a hypothetical chip"
        ),
        chips_per_rack: int | None = typer.Option(None, "--chips-per-rack"),
        hardware_file: list[str] | None = typer.Option(None, "--hardware-file", help="extra hardware YAML/TOML"),
        as_json: bool = typer.Option(False, "--json", help="machine-readable output"),
    ):
        """Memory fit: weights + KV cache + activations + runtime overhead per GPU; chips, nodes and racks needed."""
        r = fit_fn(
            model,
            hardware,
            gpus=gpus,
            tp=tp,
            pp=pp,
            dp=dp,
            ep=ep,
            weights=weights,
            kv=kv,
            users=users,
            context=context,
            params=params,
            include_overheads=not no_overheads,
            chip_memory_gib=chip_memory_gib,
            chips_per_rack=chips_per_rack,
            hardware_files=hardware_file,
        )
        emit(r, as_json, _render)
