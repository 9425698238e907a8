"""``tokenfab fit``: does a model fit, and on how many chips, nodes and racks."""

from __future__ import annotations

import typer

from tokenfab import api
from tokenfab.api import explain as X
from tokenfab.cli import _search_opts as O
from tokenfab.cli.common import Table, console, lit, print_header, print_json, to_jsonable
from tokenfab.render import format as F


def _render(r, *, given: dict | None = None) -> None:
    given = given or {}
    unit = "chip" if r.memory_kind == "SRAM" else "GPU"
    rd = to_jsonable(r.to_dict())
    print_header(
        X.fit_header(rd, weights_given=given.get("weights", False), no_overheads=given.get("no_overheads", False))
    )
    t = Table(title="memory (GiB = 2^30 bytes)", title_justify="left")
    t.add_column("quantity")
    t.add_column("value", justify="right")
    t.add_column("note")
    t.add_row(
        "weights",
        F.gib(r.weights_gib),
        f"{F.num(r.weights_gb, 1)} GB; by component: "
        + ", ".join(f"{F.words(k)} {F.num(v, 1)}" for k, v in r.weights_by_component_gib.items() if v >= 0.05),
    )
    t.add_row(
        "KV cache (all users)",
        F.gib(r.kv_cache_gib),
        f"{F.num(r.kv_bytes_per_token, 0)} bytes per token (averaged over the context)",
    )
    overheads = not given.get("no_overheads")
    t.add_row(
        "activations / workspace",
        F.gib(r.activations_gib),
        "all GPUs together" if overheads else "left out (--no-overheads)",
    )
    t.add_row(
        "runtime reserve",
        F.gib(r.runtime_overhead_gib),
        "CUDA context, NCCL, fragmentation (10% of HBM, as vLLM reserves)"
        if overheads and r.runtime_overhead_gib > 0
        else "left out (--no-overheads)"
        if not overheads
        else "",
    )
    t.add_row("total", F.gib(r.total_gib), "")
    t.add_row(
        "layout",
        F.count(r.gpus, unit),
        f"TP={r.tp} PP={r.pp} DP={r.dp} EP={r.ep}; {X.layout_note(rd)}",
    )
    t.add_row(
        f"per {unit}",
        f"{F.num(r.memory_per_gpu_gib, 1)} / {F.gib(r.capacity_per_gpu_gib)}",
        ", ".join(f"{F.label(k)} {F.num(v, 1)}" for k, v in r.per_gpu.items()),
    )
    t.add_row(
        "max concurrent sequences",
        f"{r.max_concurrent_sequences:,}",
        f"at {r.context_tokens:,} tokens each, this layout",
    )
    t.add_row(
        f"{unit}s needed",
        f"{r.chips_needed:,} ({F.num(r.chips_needed_exact, 2)})",
        f"{r.memory_kind} {unit}s of {F.gib(r.capacity_per_gpu_gib)}",
    )
    t.add_row("nodes needed", f"{r.nodes_needed:,}", f"{F.count(r.chips_per_node, unit)} per node")
    t.add_row(
        "racks needed",
        f"{r.racks_needed:,} ({F.num(r.racks_needed_exact, 2)})",
        f"{F.count(r.chips_per_rack, unit)} per rack",
    )
    console.print(t)
    console.print(lit(r.message, "green" if r.fits else "bold red"))
    for w in r.warnings:
        console.print(lit("warning:", "yellow") + " " + lit(w), highlight=False)
    console.print(lit(r.units_note, "dim"))
    console.print(lit(r.reservation_note, "dim"))
    console.print(lit(O.terms_note("layouts", "KV cache"), "dim"), highlight=False)
    for k, v in r.sources.items():
        if v:
            console.print(lit(f"- {k.replace('_', ' ')}: {v}", "dim"), highlight=False)


def register(app: typer.Typer) -> None:
    @app.command("fit")
    def fit_cmd(
        model: str = typer.Option(
            ..., "--model", "-m", help="bundled key (tokenfab catalog models), config.json path or folder"
        ),
        hardware: str = typer.Option(..., "--hardware", "-H", help="hardware key (tokenfab catalog hardware)"),
        gpus: int | None = typer.Option(
            None, "--gpus", help="chips in one model replica (default: the fewest that fit)"
        ),
        tp: int | None = typer.Option(None, "--tp", help="tensor-parallel degree (GPUs sharing each layer)"),
        pp: int | None = typer.Option(None, "--pp", help="pipeline-parallel stages"),
        dp: int | None = typer.Option(None, "--dp", help="attention data-parallel copies"),
        ep: int | None = typer.Option(
            None, "--ep", help="expert-parallel degree (GPUs holding the experts, MoE models)"
        ),
        weights: str | None = typer.Option(
            None, "--weights", help="bf16|fp16|fp8|fp4|int8|int4 (default: the checkpoint's)"
        ),
        kv: str | None = typer.Option(
            None, "--kv", help="bf16|fp16|fp8|fp4 (default: weights for 16/8-bit, fp8 for 4-bit)"
        ),
        users: int = typer.Option(1, "--users", "--concurrency", help="concurrent sequences"),
        context: int | None = typer.Option(
            None, "--context", help="tokens per sequence, input + output (default 4096, or --isl + --osl)"
        ),
        isl: int | None = typer.Option(None, "--isl", help="input tokens per sequence (with --osl, not --context)"),
        osl: int | None = typer.Option(None, "--osl", help="output tokens per sequence (with --isl, not --context)"),
        params: float | None = typer.Option(None, "--params", help="override the parameter count (e.g. 70e9)"),
        no_overheads: bool = typer.Option(False, "--no-overheads", help="weights + KV only (the seed arithmetic)"),
        chip_memory_gib: float | None = typer.Option(
            None, "--chip-memory-gib", help="size against a hypothetical chip"
        ),
        chips_per_rack: int | None = typer.Option(
            None, "--chips-per-rack", help="size racks of this many chips (default: the catalog's)"
        ),
        hardware_file: list[str] | None = typer.Option(None, "--hardware-file", help="extra hardware YAML/TOML"),
        as_json: bool = typer.Option(False, "--json", help="machine-readable output"),
    ):
        """Memory fit: weights + KV cache + activations + runtime overhead per GPU; chips, nodes and racks needed."""
        r = api.fit(
            api.FitRequest.build(
                model=model,
                hardware=hardware,
                gpus=gpus,
                tp=tp,
                pp=pp,
                dp=dp,
                ep=ep,
                weights=weights,
                kv=kv,
                users=users,
                context=context,
                isl=isl,
                osl=osl,
                params=params,
                include_overheads=not no_overheads,
                chip_memory_gib=chip_memory_gib,
                chips_per_rack=chips_per_rack,
                hardware_files=hardware_file,
            )
        )
        if as_json:
            print_json(r)
        else:
            _render(r, given={"weights": weights is not None, "no_overheads": no_overheads})
