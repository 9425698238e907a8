"""``tokenfab cost``: USD per million tokens, tokens/s per MW and J/token (thin layer over tokenfab.economics.tco and
tokenfab.economics.cost). Takes every ``tokenfab tco`` flag to price the GPU-hour."""

from __future__ import annotations

from typing import Annotated

import typer

from tokenfab import api
from tokenfab.cli.common import Table, console, print_header, print_json
from tokenfab.cli.tco import (
    HardwareOpt,
    HwFileOpt,
    JsonOpt,
    PresetOpt,
    PriceOpt,
    tco_fields,
    tco_flags,
    tco_header,
)
from tokenfab.economics.cost import CACHED_INPUT_COST_FRACTION, DEFINITIONS
from tokenfab.economics.tco import DEFAULT_PRESET_NOTE
from tokenfab.render import format as F

_T = "Throughput (busy, per GPU)"
TotalOpt = Annotated[
    float | None,
    typer.Option("--tokens-per-s-per-gpu", help="Total (input + output) tokens/s per GPU.", rich_help_panel=_T),
]
InOpt = Annotated[
    float | None,
    typer.Option(
        "--input-tokens-per-s-per-gpu",
        help="Input tokens/s per GPU (with --output-tokens-per-s-per-gpu).",
        rich_help_panel=_T,
    ),
]
OutOpt = Annotated[
    float | None,
    typer.Option(
        "--output-tokens-per-s-per-gpu",
        help="Output tokens/s per GPU (with --input-tokens-per-s-per-gpu).",
        rich_help_panel=_T,
    ),
]
CachedOpt = Annotated[
    float,
    typer.Option(
        "--cached-input-cost-fraction",
        help="Cost of a cached input token as a fraction of an uncached one.",
        rich_help_panel=_T,
    ),
]

ShareOpt = Annotated[
    float | None,
    typer.Option(
        "--prefill-gpu-time-share",
        help="Share of the GPU time spent in prefill, 0..1 (from `tokenfab estimate` or `frontier --json`): splits "
        "the cost into input / cached-input / output $/M that add up to the total.",
        rich_help_panel=_T,
    ),
]
CachedShareOpt = Annotated[
    float,
    typer.Option(
        "--cached-input-share", help="Share of input tokens read from the prefix cache, 0..1.", rich_help_panel=_T
    ),
]
PerKindOpt = Annotated[
    str,
    typer.Option(
        "--per-kind",
        help="Per-token-kind convention: gpu-time (GPU time by phase; needs --prefill-gpu-time-share) or "
        "inferencex (whole GPU-hour per kind; the kinds do not add up).",
        rich_help_panel=_T,
    ),
]

_UNITS = {
    "usd_per_mtok_total": "$ / M tokens",
    "usd_per_mtok_input": "$ / M input tokens",
    "usd_per_mtok_output": "$ / M output tokens",
    "usd_per_mtok_cached_input": "$ / M cached input tokens",
    "usd_per_mtok_blended_3to1": "$ / M tokens (3:1)",
    "usd_per_mtok_input_inferencex": "$ / M input tokens (InferenceX)",
    "usd_per_mtok_output_inferencex": "$ / M output tokens (InferenceX)",
    "tokens_per_s_per_mw": "tokens/s per MW all-in",
    "tokens_per_s_per_mw_it": "tokens/s per MW IT",
    "joules_per_token": "J/token all-in",
    "joules_per_token_it": "J/token IT",
    "tokens_per_usd_per_w": "tokens per $ per W",
}


def _fmt(x) -> str:
    return F.num(x, 0, none="-") if x is not None and abs(x) >= 1e4 else F.num(x, sig=4, none="-")


def _render(c: api.CostResult) -> None:
    t = c.tco
    src = t.sources.get("price_usd_per_gpu_hour")
    print_header(tco_header(t))
    console.print(
        f"  {F.usd(t.usd_per_gpu_hour)} per busy GPU-hour ({t.method} model): {t.utilization_basis}",
        style="dim",
        highlight=False,
        markup=False,
    )
    if src:
        console.print(f"  price source: {src}", style="dim", highlight=False, markup=False)
    elif t.method == "owned":
        console.print(
            "  owned-cost breakdown ($ per busy GPU-hour): "
            + ", ".join(f"{F.label(k)} {F.num(v, 3)}" for k, v in t.breakdown.items()),
            style="dim",
            highlight=False,
            markup=False,
        )
    tab = Table(
        title=f"Cost per token at {F.num(c.tokens_per_s_per_gpu_total, sig=6)} tokens/s per GPU "
        + (
            f"(input {F.num(c.tokens_per_s_per_gpu_input, sig=6)}, "
            f"output {F.num(c.tokens_per_s_per_gpu_output, sig=6)})"
            if c.tokens_per_s_per_gpu_input is not None
            else "(total only: no input/output split)"
        )
        + "; "
        "per token "
        f"kind: {c.per_kind_convention}"
    )
    for col in ("metric", "value", "unit", "definition"):
        tab.add_column(col, overflow="fold", justify="right" if col == "value" else "left")
    for k, unit in _UNITS.items():
        tab.add_row(F.label(k), _fmt(getattr(c, k)), unit, DEFINITIONS[k])
    console.print(tab)
    kw_src = t.sources.get("all_in_kw_per_gpu") or "IT kW x PUE"
    console.print(
        f"- all-in kW per GPU {_fmt(c.all_in_kw_per_gpu)} ({kw_src}); IT kW per GPU {_fmt(c.it_kw_per_gpu)} "
        f"({t.sources.get('it_kw_per_gpu', '-').strip()})",
        style="dim",
        highlight=False,
        markup=False,
    )
    for n in c.notes + [n for n in t.notes if n != DEFAULT_PRESET_NOTE]:  # the header says the preset is the default
        console.print(f"- {n}", style="dim", highlight=False, markup=False)
    console.print(
        "- definitions: docs/tco.md (InferenceX conventions, metrics.md); `tokenfab tco` for the breakdown", style="dim"
    )


def register(app: typer.Typer) -> None:
    @app.command("cost")
    @tco_flags
    def cost_cmd(
        hardware: HardwareOpt,
        tokens_per_s_per_gpu: TotalOpt = None,
        input_tokens_per_s_per_gpu: InOpt = None,
        output_tokens_per_s_per_gpu: OutOpt = None,
        cached_input_cost_fraction: CachedOpt = CACHED_INPUT_COST_FRACTION,
        prefill_gpu_time_share: ShareOpt = None,
        cached_input_share: CachedShareOpt = 0.0,
        per_kind: PerKindOpt = "gpu-time",
        preset: PresetOpt = None,
        usd_per_gpu_hour: PriceOpt = None,
        hardware_file: HwFileOpt = None,
        json_out: JsonOpt = False,
        tco_inputs: dict | None = None,
    ) -> None:
        """Cost per token: USD per million tokens (total, input, output, cached, blended), tokens/s per MW, J/token."""
        c = api.cost(
            api.CostRequest.build(
                **tco_fields(locals()),
                total_tokens_per_s_per_gpu=tokens_per_s_per_gpu,
                input_tokens_per_s_per_gpu=input_tokens_per_s_per_gpu,
                output_tokens_per_s_per_gpu=output_tokens_per_s_per_gpu,
                cached_input_cost_fraction=cached_input_cost_fraction,
                prefill_gpu_time_share=prefill_gpu_time_share,
                cached_input_share=cached_input_share,
                per_kind=per_kind,
            )
        )
        if json_out:
            print_json(c)
        else:
            _render(c)
