"""``tokenfab prices``: provider list prices (genai-prices, offline) beside tokenfab's modeled cost of the same or a
comparable open model, with the implied gross margin (a thin layer over tokenfab.market.pricing)."""

from __future__ import annotations

from typing import Annotated

import typer

from tokenfab import api
from tokenfab.api import defaults as D
from tokenfab.cli import _search_opts as O
from tokenfab.cli.common import Table, console, emit, lit, print_header, working
from tokenfab.cli.tco import HwFileOpt, JsonOpt, PresetOpt, PriceOpt
from tokenfab.economics.tco import DEFAULT_PRESET, MIN_UTILIZATION, default_utilization
from tokenfab.market import pricing
from tokenfab.render import format as F


def _usd(x) -> str:
    """A $ per M tokens cell (the column says $): three decimals below $100 (``0.880``), whole dollars above."""
    return F.num(x, 3 if x is not None and abs(x) < 100 else 0, none="-")


def _pct(x) -> str:
    return F.pct_value(x, signed=True, none="-")


def prices_header(d: dict, given: dict) -> str:
    """The first line of ``tokenfab prices``: what is compared, the workload, precision, engine, TCO, utilization."""
    what = d["model"]
    if d["kind"] == "closed":
        what += f" (closed) vs the open stand-in {d['modeled_model']}"
    elif d["modeled_model"] != d["priced_model"]:
        what += f" vs {d['modeled_model']}"
    price = given.get("usd_per_gpu_hour")
    snap = d.get("price_data") or {}
    return D.header_line(
        f"{what} on {', '.join(d['hardware'])}",
        f"list prices as of {snap.get('snapshot_date') or 'unknown'}",
        f"ISL {d['isl']:,} / OSL {d['osl']:,} tokens",
        f"weights {d['weights']}"
        + ("" if given.get("weights") else " (the plan's)" if given.get("plan") else " (the checkpoint's)"),
        f"engine {given['engine']}" if given.get("engine") else "engine: each vendor's default",
        D.tco_setting(
            given.get("preset") or DEFAULT_PRESET,
            d.get("utilization") if d.get("utilization") is not None else default_utilization(),
            preset_given=bool(given.get("preset")),
            utilization_given=d.get("utilization") is not None,
            price=price,
        )
        if not given.get("plan")
        else f"at the plan's operating point ({given['plan']})",
    )


def _pct_range(b: dict | None) -> str:
    """``-42% to +57%``: a margin's p10-p90 (``-`` without a band)."""
    return "-" if not b else f"{_pct(b['p10'])} to {_pct(b['p90'])}"


def _style(verdict: str | None) -> str:
    if verdict == pricing.NOT_COMPARABLE:
        return "dim"
    if verdict == pricing.CANT_TELL:
        return "magenta"
    if verdict == "sustainable":
        return "green"
    if verdict == "thin":
        return "yellow"
    return "red" if verdict else ""


def price_data_line(snap: dict) -> str:
    """``list prices: genai-prices 0.2.3, data as of 2026-11-04 (30 days old)`` (printed on every prices output)."""
    age = snap.get("age_days")
    line = (
        f"list prices: {snap.get('package', 'genai-prices')} {snap.get('version')}, bundled data as of "
        f"{snap.get('snapshot_date') or 'unknown'}" + (f" ({age} days old)" if age is not None else "")
    )
    if snap.get("stale"):
        line += (
            f" - STALE: older than {F.num(snap.get('stale_after_days'))} days; give current prices with --prices-file"
        )
    return line


def render_prices(d: dict, given: dict | None = None, *, wide: bool = False) -> None:
    """A prices result (tokenfab.api.prices(...).to_dict()) as tables."""
    given = given or {}
    print_header(prices_header(d, given))
    console.print(
        price_data_line(d["price_data"]),
        style="yellow" if d["price_data"].get("stale") else "dim",
        markup=False,
        highlight=False,
    )
    if not given.get("weights") and not given.get("plan") and d["weights"] in ("bf16", "fp16", "fp32"):
        console.print(
            f"modeled at the checkpoint's {d['weights']} weights, the default of every command; providers commonly "
            f"serve 16-bit checkpoints at {pricing.PROVIDER_DEFAULT_WEIGHTS}: --weights "
            f"{pricing.PROVIDER_DEFAULT_WEIGHTS} models that",
            style="dim",
            markup=False,
            highlight=False,
        )
    if d.get("stand_in_rationale"):
        console.print(f"stand-in: {d['stand_in_rationale']}", style="dim", markup=False, highlight=False)

    cols = ["provider", "model", "match", "input", "cached input", "output", "as of", "note"]
    rows = []
    for pr in d["prices"]:
        flags = [
            x
            for x in (
                "tiered: base tier" if pr.get("tiered") else "",
                "deprecated" if pr.get("deprecated") else "",
                "STALE" if pr.get("stale") else "",
            )
            if x
        ]
        rows.append(
            [
                pr["provider"],
                pr["model_id"],
                pr["match"],
                _usd(pr["input_usd_per_mtok"]),
                _usd(pr["cached_input_usd_per_mtok"]),
                _usd(pr["output_usd_per_mtok"]),
                str(pr["data_as_of"] or ""),
                "; ".join(flags + ([pr["note"]] if pr.get("note") else [])),
            ]
        )
    # at 80 columns the secondary columns go (named in the caption; --json has them) instead of folding prices
    O.show(
        console,
        O.fitted_table(
            console,
            "Provider list prices, USD per million tokens (genai-prices bundled data, or --prices-file)",
            cols,
            rows,
            left=("provider", "model", "match", "as of", "note"),
            drop=("note", "as of", "match", O.SHORT_HEADERS, "cached input"),
            short={"cached input": "cached\ninput"},
            wrap=("model", "note"),
            wide=wide,
        ),
    )

    ocols = ["hardware", "tier", "tok/s/user", "tok/s/GPU", "layout", "$/GPU-h busy", "$/M total", "$/M p10-p90"]
    orows = []
    for hw, tiers in d["operating_points"].items():
        for t, pt in tiers.items():
            if pt is None:
                orows.append([hw, t, "-", "-", "not reached", "-", "-", "-"])
                continue
            orows.append(
                [
                    O.hardware_cell(hw, pt.get("prior", False)),
                    t,
                    F.num(pt["tokens_per_s_per_user"]),
                    F.num(pt["total_tokens_per_s_per_gpu"], 0),
                    f"{pt['mode']} {pt['layout']}",
                    _usd(pt["usd_per_gpu_hour"]),
                    _usd(pt["usd_per_mtok_total"]),
                    O.band_text((pt.get("uncertainty") or {}).get("usd_per_mtok_total"), ",.3f"),
                ]
            )
    O.show(
        console,
        O.fitted_table(
            console,
            f"tokenfab operating points of {d['modeled_model']} (frontier tiers)",
            ocols,
            orows,
            left=("hardware", "tier", "layout"),
            drop=("$/GPU-h busy", O.SHORT_HEADERS, "tok/s/GPU"),
            short={
                "tok/s/user": "tok/s\n/user",
                "tok/s/GPU": "tok/s\n/GPU",
                "$/M total": "$/M\ntotal",
                "$/M p10-p90": "$/M\np10-p90",
                "$/GPU-h busy": "$/GPU-h\nbusy",
            },
            wide=wide,
        ),
    )

    mtitle = (
        f"Gross margin at the workload mix (ISL {d['isl']} : OSL {d['osl']}), USD per million tokens: "
        "provider revenue - tokenfab modeled cost"
    )
    mcols = [
        "provider",
        "hardware",
        "tier",
        "price (mix)",
        "modeled cost",
        "cost p10-p90",
        "margin",
        "margin %",
        "margin % p10-p90",
        "verdict",
    ]
    mrows: list[list] = []
    ktitle = (
        "Per token kind (modeled cost split by GPU time: prefill to input, decode to output; the kinds add up to "
        "the workload)"
        if d["per_kind_convention"] == "gpu-time"
        else "Per token kind (InferenceX: the whole GPU-hour charged to each kind; costs do not add up, margins "
        "are lower bounds)"
    )
    kcols = ["provider", "hardware", "tier", "input margin", "cached margin", "output margin", "blended 3:1 margin"]
    krows: list[list] = []
    for row in d["comparisons"]:
        w = row["workload"]
        v = row["verdict"]
        text = v or "-"
        if v == pricing.NOT_COMPARABLE:
            text = row["verdict_note"].split(";")[0]  # "not comparable: modeled point at 3.4 tok/s/user, far below..."
        elif v == pricing.CANT_TELL and row.get("verdict_band"):
            ends = [str(row["verdict_band"][q]).split(" - ")[0] for q in ("p10", "p90")]
            text += f" ({ends[0]} at the margin's p10, {ends[1]} at its p90)"
        elif row.get("verdict_note"):
            text += f" (at {F.num(row['tokens_per_s_per_user'], 0)} tok/s/user: cost understated)"
        tier = row["tier"] + (f" (for {row['instead_of']})" if row.get("instead_of") else "")
        wu = w.get("uncertainty") or {}
        mrows.append(
            [
                row["provider"],
                O.hardware_cell(row["hardware"], row.get("prior", False)),
                tier,
                _usd(w["price_usd_per_mtok"]),
                _usd(w["cost_usd_per_mtok"]),
                O.band_text(wu.get("cost_usd_per_mtok"), ",.3f"),
                _usd(w["margin_usd_per_mtok"]),
                _pct(w["margin_pct"]),
                _pct_range(wu.get("margin_pct")),
                lit(text, _style(v)) if v else "-",
            ]
        )

        def cell(kind, row=row):
            x = row[kind]
            return (
                f"{_usd(x['margin_usd_per_mtok'])} ({_pct(x['margin_pct'])})"
                if x["margin_usd_per_mtok"] is not None
                else "-"
            )

        krows.append(
            [
                row["provider"],
                O.hardware_cell(row["hardware"], row.get("prior", False)),
                tier,
                cell("input"),
                cell("cached_input"),
                cell("output"),
                cell("blended_3to1"),
            ]
        )
    left = ("provider", "hardware", "tier", "verdict")
    O.show(
        console,
        O.fitted_table(
            console,
            mtitle,
            mcols,
            mrows,
            left=left,
            drop=("margin", "cost p10-p90", O.SHORT_HEADERS, "modeled cost"),
            short={
                "price (mix)": "price\n(mix)",
                "modeled cost": "modeled\ncost",
                "margin %": "margin\n%",
                "margin % p10-p90": "margin %\np10-p90",
                "cost p10-p90": "cost\np10-p90",
            },
            wrap=("hardware", "tier", "verdict", "margin % p10-p90"),
            wide=wide,
        ),
    )
    O.show(
        console,
        O.fitted_table(
            console,
            ktitle,
            kcols,
            krows,
            left=("provider", "hardware", "tier"),
            drop=("cached margin", O.SHORT_HEADERS, "blended 3:1 margin"),
            short={
                "input margin": "input\nmargin",
                "cached margin": "cached\nmargin",
                "output margin": "output\nmargin",
                "blended 3:1 margin": "blended\n3:1 margin",
            },
            wrap=("hardware", "tier"),
            wide=wide,
        ),
    )
    if d["comparisons"]:
        console.print("e.g. " + d["comparisons"][0]["what_is_compared"], style="dim", markup=False, highlight=False)
    for w in d.get("warnings") or []:
        console.print(f"warning: {w}", style="yellow", markup=False, highlight=False)
    for n in d.get("calibration_notes") or []:
        console.print(f"caution: {n}", style="yellow", markup=False, highlight=False)
    for n in d["notes"]:
        if n.startswith("modeled at "):  # the header line states the precision
            continue
        console.print(f"- {n}", style="dim", markup=False, highlight=False)
    console.print(
        f"- verdicts: sustainable >= {F.num(pricing.SUSTAINABLE_MARGIN_PCT)}% margin; thin 0-"
        f"{F.num(pricing.SUSTAINABLE_MARGIN_PCT)}%; below modeled cost < 0; can't tell: the margin's p10-p90 (from the "
        "performance model's error band) straddles one of those lines; not comparable: the modeled point is "
        f"under {F.num(pricing.COMPARABLE_FRACTION * pricing.API_INTERACTIVITY_TOKENS_PER_S_PER_USER)} "
        "tok/s/user. Method: docs/pricing-and-sensitivity.md",
        style="dim",
        markup=False,
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    @app.command("prices")
    def prices_cmd(
        model: Annotated[
            str,
            typer.Option(
                "--model",
                "-m",
                help=(
                    "Catalog model (e.g. llama-3.3-70b, deepseek-v3) or a closed model with a stand-in (e.g. gpt-4o); "
                    "`--list` shows them."
                ),
            ),
        ] = "",
        hardware: Annotated[
            str | None, typer.Option("--hardware", "-H", help="Hardware key(s), comma-separated (default h100-sxm).")
        ] = None,
        provider: Annotated[
            str | None,
            typer.Option(
                "--provider", help="Only these genai-prices provider ids, comma-separated (e.g. together,groq)."
            ),
        ] = None,
        provider_model: Annotated[
            str | None,
            typer.Option(
                "--provider-model", help="A genai-prices model id of --provider to price instead of the mapping."
            ),
        ] = None,
        compare_with: Annotated[
            str | None,
            typer.Option("--compare-with", help="Model the cost of this catalog model instead (a stand-in)."),
        ] = None,
        preset: PresetOpt = None,
        usd_per_gpu_hour: PriceOpt = None,
        isl: Annotated[int, typer.Option("--isl", help="Input tokens per request.")] = 1024,
        osl: Annotated[int, typer.Option("--osl", help="Output tokens per request.")] = 1024,
        tier: Annotated[
            str, typer.Option("--tier", help="Operating point(s): bulk, goldilocks, premium, comma-separated.")
        ] = "goldilocks,bulk",  # premium: the cheapest point at >= 80 tok/s/user (data/assumptions.yaml tiers)
        weights: Annotated[
            str | None,
            typer.Option(
                "--weights",
                help="Weights precision of the modeled cost (default: the checkpoint's, as every command; providers "
                "commonly serve 16-bit checkpoints at fp8: --weights fp8).",
            ),
        ] = None,
        prices_file: Annotated[
            str | None,
            typer.Option(
                "--prices-file",
                help="Your own prices (YAML/JSON: prices: [{model, provider, input_usd_per_mtok, output_usd_per_mtok, "
                "as_of, source}]), added to or instead of the bundled ones.",
            ),
        ] = None,
        utilization: Annotated[
            float | None,
            typer.Option(
                "--utilization",
                help=f"Price the modeled GPU-hour at this busy share, in [{MIN_UTILIZATION:g}, 1] (default: the one "
                "named default).",
            ),
        ] = None,
        plan_file: Annotated[
            str | None,
            typer.Option(
                "--plan",
                help="A scenario YAML: price at that plan's operating point and average fleet utilization "
                "(its model, ISL/OSL, hardware and TCO) instead of the frontier tiers.",
            ),
        ] = None,
        plan_months: Annotated[
            int | None, typer.Option("--plan-months", help="With --plan: months to plan (default the horizon).")
        ] = None,
        per_kind: Annotated[
            str,
            typer.Option(
                "--per-kind",
                help="Per-token-kind convention of the modeled cost: gpu-time (default) or inferencex (labelled).",
            ),
        ] = "gpu-time",
        engine: O.EngineOpt = None,
        spec: O.SpecOpt = None,
        list_models: Annotated[bool, typer.Option("--list", help="List the models with provider prices.")] = False,
        hardware_file: HwFileOpt = None,
        wide: O.WideOpt = False,
        json_out: JsonOpt = False,
    ) -> None:
        """Provider list prices beside tokenfab's modeled cost: implied gross margin per million tokens, a verdict."""
        if list_models:

            def show(x):
                console.print(price_data_line(x["price_data"]), style="dim", markup=False, highlight=False)
                t = Table(title="Models with provider prices (data/price_models.yaml)")
                for col in ("model", "kind", "providers / stand-in"):
                    t.add_column(col, overflow="fold")
                for k, v in x["open"].items():
                    t.add_row(k, "open", ", ".join(v))
                for k, v in x["closed"].items():
                    t.add_row(k, "closed", f"{', '.join(v['providers'])}; stand-in {v['stand_in']}")
                console.print(t)

            emit(api.price_models().to_dict(), json_out, show)
            return
        given = {
            "weights": weights is not None,
            "engine": engine,
            "preset": preset,
            "usd_per_gpu_hour": usd_per_gpu_hour,
            "plan": plan_file,
        }
        req = api.PricesRequest.build(
            model=model or None,
            hardware=hardware,
            provider=provider,
            provider_model=provider_model,
            compare_with=compare_with,
            preset=preset,
            price_usd_per_gpu_hour=usd_per_gpu_hour,
            isl=isl,
            osl=osl,
            tiers=tier,
            weights=weights,
            prices_file=prices_file,
            utilization=utilization,
            plan=plan_file,
            plan_months=plan_months,
            per_kind=per_kind,
            engine=engine,
            spec=True if spec is None else spec,
            hardware_files=hardware_file or None,
        )
        with working(f"modeling the cost of {model or plan_file}", enabled=not json_out):
            r = api.prices(req).to_dict()
        emit(r, json_out, lambda x: render_prices(x, given, wide=wide))
