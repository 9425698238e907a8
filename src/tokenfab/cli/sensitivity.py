"""``tokenfab sensitivity``: tornado table of $/M tokens against +/- X % on each input, and a seeded Monte Carlo of
cost (and margin against a price), both with the performance model's own error. A thin layer over
tokenfab.economics.sensitivity (and tokenfab.api.cost_sensitivity for --model)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tokenfab import api
from tokenfab.api import defaults as D
from tokenfab.cli import _search_opts as O
from tokenfab.cli.common import Table, console, emit, lit, print_header, working
from tokenfab.cli.tco import (
    HardwareOpt,
    HwFileOpt,
    JsonOpt,
    PresetOpt,
    PriceOpt,
    tco_fields,
    tco_flags,
)
from tokenfab.core.errors import TokenfabError, install_hint
from tokenfab.economics import sensitivity as sens
from tokenfab.render import format as F
from tokenfab.render import plots
from tokenfab.render.plots import HTML_EXTENSIONS, _check_path

_W = "Workload (instead of --tokens-per-s-per-gpu)"


def _v(x) -> str:
    if x is None:
        return "-"
    return F.num(x) if abs(x) >= 1 or x == 0 else f"{x:.4f}".rstrip("0").rstrip(".")


def sensitivity_header(payload: dict, given: dict) -> str:
    """The first line: hardware, the operating point (or the given throughput), TCO and utilization."""
    t = payload["tornado"]
    op = payload.get("operating_point")
    util = next((b["base_value"] for b in t["bars"] if b["input"] == "utilization"), None)
    subject = t["hardware"]
    if op:
        subject = f"{op['model']} on {t['hardware']}"
    return D.header_line(
        subject,
        (
            f"{op['tier']} tier, ISL {op['isl']:,} / OSL {op['osl']:,} tokens, weights {op.get('weights')}"
            + ("" if given.get("weights") else " (the checkpoint's)")
        )
        if op
        else f"{F.num(t['tokens_per_s_per_gpu'])} tokens/s per GPU (given)",
        D.tco_setting(
            t["preset"],
            util,
            preset_given=given.get("preset", False),
            utilization_given=given.get("utilization", False),
            price=given.get("usd_per_gpu_hour"),
        ),
    )


def render(payload: dict, given: dict | None = None, *, wide: bool = False) -> None:
    t = payload["tornado"]
    op = payload.get("operating_point")
    print_header(sensitivity_header(payload, given or {}))
    console.print(
        f"base {F.usd(t['base_usd_per_mtok'])} per M tokens at {F.num(t['tokens_per_s_per_gpu'], 0)} tokens/s per GPU "
        f"({F.usd(t['base_usd_per_gpu_hour'])} per busy GPU-hour, {t['method']} model)",
        markup=False,
        highlight=False,
    )
    if op:
        console.print(
            f"operating point: {F.num(op['tokens_per_s_per_user'])} tok/s/user, {op['mode']} {op['layout']}",
            style="dim",
            markup=False,
            highlight=False,
        )
    cols = ["input", "unit", "base", "low", "high", "$/M at low", "$/M at high", "swing $/M", "clipped"]
    rows = [
        [
            b.get("label") or F.label(b["input"]),
            b["unit"],
            _v(b["base_value"]),
            _v(b["low_value"]),
            _v(b["high_value"]),
            F.num(b["usd_per_mtok_low"], 3),
            F.num(b["usd_per_mtok_high"], 3),
            F.num(b["swing_usd_per_mtok"], 3),
            F.humanize(b["clipped"] or ""),
        ]
        for b in t["bars"]
    ]
    O.show(
        console,
        O.fitted_table(
            console,
            f"Tornado: $ per M tokens (input + output) with each input -/+{F.num(t['swing_pct'])}%, largest swing "
            "first",
            cols,
            rows,
            left=("input", "unit", "clipped"),
            drop=("clipped", "unit", O.SHORT_HEADERS, "base"),
            short={"$/M at low": "$/M at\nlow", "$/M at high": "$/M at\nhigh", "swing $/M": "swing\n$/M"},
            wrap=("input", "unit", "clipped"),
            wide=wide,
        ),
    )
    if op and op.get("calibration", {}).get("note"):
        console.print(f"caution: {op['calibration']['note']}", style="yellow", markup=False, highlight=False)
    mc = payload.get("monte_carlo")
    if mc:
        me = mc.get("model_error") or {}
        m = Table(
            title=f"Monte Carlo: {mc['n']:,} draws, seed {mc['seed']} (inputs drawn independently; performance model "
            f"error {'included' if me.get('included') else 'left out'})"
        )
        for col in ("quantity", "p5", "p50", "p95"):
            m.add_column(col, justify="left" if col == "quantity" else "right")
        p = mc["percentiles_usd_per_mtok"]
        m.add_row("$ per M tokens", *(F.num(p[k], 3) for k in ("p5", "p50", "p95")))
        if mc.get("price_usd_per_mtok") is not None:
            pm, pp = mc["percentiles_margin_usd_per_mtok"], mc["percentiles_margin_pct"]
            m.add_row(
                f"margin at price {F.usd(mc['price_usd_per_mtok'])} per M, $ per M",
                *(F.num(pm[k], 3) for k in ("p5", "p50", "p95")),
            )
            m.add_row("margin, % of price", *(F.pct_value(pp[k], 1) for k in ("p5", "p50", "p95")))
        console.print(m)
        if mc.get("probability_of_loss") is not None:
            console.print(
                lit("probability of a loss (cost above price): ") + lit(F.pct(mc["probability_of_loss"], 1), "bold"),
                highlight=False,
            )
        d = Table(title="Distributions (relative: multiplies the base value)")
        for col in ("input", "distribution", "rationale"):
            d.add_column(col, overflow="fold")
        for k, v in mc["distributions"].items():
            d.add_row(F.label(k), v["description"], v["rationale"])
        console.print(d)
        for n in mc["notes"]:
            console.print(f"- {n}", style="dim", markup=False, highlight=False)
    for n in t["notes"]:
        console.print(f"- {n}", style="dim", markup=False, highlight=False)
    if payload.get("plot"):
        console.print(lit(f"chart written to {payload['plot']}"), highlight=False)


def write_plot(tornado: dict, mc: dict | None, path) -> Path:
    """The tornado (and the Monte Carlo histogram) of a sensitivity result to .html (Plotly, offline) or
    .png/.svg/.pdf (matplotlib)."""
    p = _check_path(path)
    if p.suffix.lower() in HTML_EXTENSIONS:
        figs = {"chart-tornado": plots.tornado_figure(tornado)}
        if mc is not None:
            figs["chart-monte-carlo"] = plots.monte_carlo_figure(mc)
        plots.write_html_page(p, f"tokenfab sensitivity: {tornado['hardware']}", figs)
        return p
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover - optional dependency
        raise TokenfabError("matplotlib is needed for static charts", field="plot", hint=install_hint("plot")) from None
    n = 1 + (mc is not None)
    fig, axes = plt.subplots(1, n, figsize=(7 * n + 2, 6), squeeze=False)
    ax = axes[0][0]
    bars = list(reversed(tornado["bars"]))
    base = tornado["base_usd_per_mtok"]
    y = range(len(bars))
    swing = F.num(tornado["swing_pct"])
    ax.barh(y, [b["usd_per_mtok_low"] - base for b in bars], left=base, color="#1f77b4", label=f"input -{swing}%")
    ax.barh(y, [b["usd_per_mtok_high"] - base for b in bars], left=base, color="#d62728", label=f"input +{swing}%")
    ax.set_yticks(list(y), [b.get("label") or F.label(b["input"]) for b in bars], fontsize=8)
    ax.axvline(base, color="black", linestyle=":")
    ax.set_xlabel(sens.COST_AXIS)
    ax.set_title(f"What moves the cost on {tornado['hardware']}: base {F.usd(base)} per M tokens", fontsize=10)
    ax.legend(fontsize=8)
    if mc is not None:
        bx = axes[0][1]
        hist = mc["histogram"]
        bx.stairs(hist["counts"], hist["edges_usd_per_mtok"], fill=True, color="#1f77b4")
        for k, v in mc["percentiles_usd_per_mtok"].items():
            bx.axvline(v, color="grey", linestyle=":")
            bx.annotate(f"{k} {F.usd(v)}", (v, bx.get_ylim()[1]), fontsize=8, rotation=90, va="top")
        if mc.get("price_usd_per_mtok") is not None:
            bx.axvline(mc["price_usd_per_mtok"], color="#d62728", linestyle="--", label="price")
            bx.legend(fontsize=8)
        bx.set_xlabel(sens.COST_AXIS)
        bx.set_ylabel("draws")
        bx.set_title(f"Monte Carlo: {F.num(mc['n'])} draws, seed {mc['seed']}", fontsize=10)
    fig.tight_layout()
    fig.savefig(p, dpi=120)
    plt.close(fig)
    return p


def register(app: typer.Typer) -> None:
    @app.command("sensitivity")
    @tco_flags
    def sensitivity_cmd(
        hardware: HardwareOpt,
        tokens_per_s_per_gpu: Annotated[
            float | None,
            typer.Option("--tokens-per-s-per-gpu", help="Busy total (input + output) tokens/s per GPU."),
        ] = None,
        model: Annotated[
            str | None,
            typer.Option(
                "--model", "-m", help="Take the throughput from this model's frontier tier.", rich_help_panel=_W
            ),
        ] = None,
        isl: Annotated[int, typer.Option("--isl", help="Input tokens per request.", rich_help_panel=_W)] = 1024,
        osl: Annotated[int, typer.Option("--osl", help="Output tokens per request.", rich_help_panel=_W)] = 1024,
        tier: Annotated[
            str, typer.Option("--tier", help="bulk, goldilocks or premium.", rich_help_panel=_W)
        ] = "goldilocks",
        weights: Annotated[
            str | None,
            typer.Option(
                "--weights", help="With --model: weights precision (default: the checkpoint's).", rich_help_panel=_W
            ),
        ] = None,
        preset: PresetOpt = None,
        usd_per_gpu_hour: PriceOpt = None,
        swing: Annotated[
            float, typer.Option("--swing-pct", "--swing", help="Tornado swing, % either way.")
        ] = sens.DEFAULT_SWING_PCT,
        monte_carlo: Annotated[int, typer.Option("--monte-carlo", help="Monte Carlo draws (0: tornado only).")] = 0,
        seed: Annotated[int, typer.Option("--seed", help="Random seed of the Monte Carlo.")] = 0,
        model_error: Annotated[
            bool,
            typer.Option(
                "--model-error/--no-model-error",
                help="Include the performance model's own error (its p10-p90 throughput band) as a tornado bar and "
                "in the Monte Carlo draws.",
            ),
        ] = True,
        price_usd_per_mtok: Annotated[
            float | None,
            typer.Option(
                "--price-usd-per-mtok", help="A price per M tokens: Monte Carlo margin and probability of a loss."
            ),
        ] = None,
        plot: Annotated[
            str | None,
            typer.Option("--plot", help="Write the chart(s): out.html (Plotly) or out.png/.svg/.pdf (matplotlib)."),
        ] = None,
        hardware_file: HwFileOpt = None,
        wide: O.WideOpt = False,
        json_out: JsonOpt = False,
        tco_inputs: dict | None = None,
    ) -> None:
        """Tornado of $/M tokens against each input (utilization, $/kWh, PUE, capex, life, WACC, throughput ...) and an
        optional seeded Monte Carlo of cost and margin."""
        with working(f"modeling the cost on {hardware}", enabled=not json_out):
            res = api.sensitivity(
                api.SensitivityRequest.build(
                    **tco_fields(locals()),
                    tokens_per_s_per_gpu=tokens_per_s_per_gpu,
                    model=model,
                    isl=isl,
                    osl=osl,
                    tier=tier,
                    weights=weights,
                    swing_pct=swing,
                    monte_carlo=monte_carlo,
                    seed=seed,
                    model_error=model_error,
                    price_usd_per_mtok=price_usd_per_mtok,
                )
            )
        payload = res.to_dict()
        payload["plot"] = str(write_plot(res.tornado, res.monte_carlo, plot)) if plot else None
        given = {
            "weights": weights is not None,
            "preset": preset is not None,
            "utilization": "utilization" in (tco_inputs or {}),
            "usd_per_gpu_hour": usd_per_gpu_hour,
        }
        emit(payload, json_out, lambda x: render(x, given, wide=wide))
