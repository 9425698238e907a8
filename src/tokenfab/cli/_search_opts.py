"""Options and output helpers shared by ``tokenfab frontier`` and ``tokenfab recommend`` (both run the design-space
sweep of tokenfab.search, so they take the same model, hardware, workload, SLA and cost options)."""

from __future__ import annotations

import re
from typing import Annotated

import typer

from tokenfab.api import explain as X

ModelOpt = Annotated[str, typer.Option("--model", "-m", help="model key or path to a config.json")]
HardwareOpt = Annotated[
    str, typer.Option("--hardware", "-H", help="comma-separated hardware keys (tokenfab catalog hardware)")
]
IslOpt = Annotated[int, typer.Option("--isl", help="input tokens per request")]
OslOpt = Annotated[int, typer.Option("--osl", help="output tokens per request")]
WeightsOpt = Annotated[
    str | None,
    typer.Option("--weights", help="comma-separated weight precisions to sweep (default: the checkpoint's)"),
]
GpusOpt = Annotated[
    int | None,
    typer.Option("--gpus", help="fix the GPUs per replica (per prefill or decode replica when disaggregated)"),
]
ModeOpt = Annotated[str, typer.Option("--mode", help="agg | disagg | both")]
TtftOpt = Annotated[float | None, typer.Option("--ttft-max-ms", help="TTFT limit at the percentile (ms)")]
TpotOpt = Annotated[float | None, typer.Option("--tpot-max-ms", help="TPOT limit (ms)")]
E2elOpt = Annotated[float | None, typer.Option("--e2el-max-ms", help="end-to-end latency limit at the percentile (ms)")]
PercentileOpt = Annotated[str, typer.Option("--percentile", help="SLA percentile: p50, p90, p99 (pNN) or mean")]
PresetOpt = Annotated[str | None, typer.Option("--preset", help="TCO preset (default owned-neocloud)")]
UsdPerGpuHourOpt = Annotated[
    float | None, typer.Option("--usd-per-gpu-hour", help="a plain $/GPU-hour instead of the TCO model")
]
CalibrationOpt = Annotated[str | None, typer.Option("--calibration", help="calibration profile JSON")]
HardwareFileOpt = Annotated[
    list[str] | None, typer.Option("--hardware-file", help="extra hardware spec file(s) (YAML/JSON)")
]
NoMtpOpt = Annotated[bool, typer.Option("--no-mtp", help="do not sweep MTP draft tokens (same as --spec off)")]
EngineOpt = Annotated[
    str | None,
    typer.Option(
        "--engine",
        help="serving engine for all hardware (vllm, sglang, trtllm, atom, ...) or per hardware: "
        "h200-sxm=sglang,mi355x=atom (default: each vendor's engine; tokenfab catalog engines)",
    ),
]
SpecOpt = Annotated[
    str | None,
    typer.Option(
        "--spec",
        help="speculative decoding with the model's MTP heads where the engine runs them: on | off, or per hardware "
        "h100-sxm=off,*=on (default on: points with and without are both evaluated and labelled)",
    ),
]
PrefillHardwareOpt = Annotated[
    str | None,
    typer.Option(
        "--prefill-hardware",
        help="disaggregated serving with the prefill pool on these chips and the decode pool on --hardware "
        "(each pool priced at its own TCO)",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable output")]
WideOpt = Annotated[
    bool,
    typer.Option("--wide", help="show every column, however wide the terminal (narrow terminals hide some)"),
]


def sweep_fields(params: dict) -> dict:
    """The tokenfab.api.SweepRequest fields of the shared options in a command's parameters (``locals()``; frontier
    and recommend take the same ones under the same names)."""
    return {
        **{k: params[k] for k in SHARED_FIELDS},
        "price_usd_per_gpu_hour": params["usd_per_gpu_hour"],
        "hardware_files": params["hardware_file"],
        "spec": _spec_value(params.get("no_mtp", False), params.get("spec")),
        "tco_overrides": params.get("tco_inputs") or None,  # the TCO flags (cli.tco.tco_flags)
    }


# the shared options whose parameter is the request field of the same name
SHARED_FIELDS = (
    "isl",
    "osl",
    "weights",
    "gpus",
    "mode",
    "ttft_max_ms",
    "tpot_max_ms",
    "e2el_max_ms",
    "percentile",
    "preset",
    "calibration",
    "engine",
)


def _spec_value(no_mtp: bool, spec: str | None):
    """--no-mtp and --spec together: --no-mtp wins (off everywhere); otherwise --spec as given (the library parses
    and validates it), default on."""
    if no_mtp:
        return False
    return True if spec is None else spec


def fmt(x, spec: str | None = None, none: str = "-") -> str:
    """A number for a table cell (tokenfab.render.format.num: thousands separators, sensible decimals; ``spec`` a
    format spec such as ``",.2f"`` for fixed decimals); ``none`` for a missing value."""
    from tokenfab.render.format import num

    if x is None:
        return none
    if spec is None:
        return num(x, none=none)
    m = re.fullmatch(r",?\.(\d)f", spec)
    return num(x, int(m.group(1)), none=none) if m else num(x, none=none)


def band_text(band: dict | None, spec: str = ",.0f", suffix: str = "") -> str:
    """``12–18``: the p10–p90 of a figure's band ({p10, p90}), or ``-`` without one. Decimals are dropped from ends
    of 1,000 and more (a $/M band of a tiny load read "2,529,703,098.309–...")."""
    if not band or band.get("p10") is None or band.get("p90") is None:
        return "-"

    def one(v) -> str:
        return format(v, ",.0f" if abs(float(v)) >= 1000 and spec.endswith("f") else spec)

    return f"{one(band['p10'])}{suffix}–{one(band['p90'])}{suffix}"


def hardware_cell(hw: str, prior: bool) -> str:
    """A hardware name, marked ``(prior)`` when its profile is a prior (its figures rest on no measurements)."""
    return f"{hw} (prior)" if prior else hw


def print_caveats(console, d: dict, what: str = "the cheapest option") -> None:
    """The result's tie (``tie``, ``tie_rule``) with the first of its ``options``, and its calibration notes (one line
    per hardware on a prior), printed literally."""
    from tokenfab.cli.common import lit

    if d.get("options"):
        what += f" ({d['options'][0]['hardware']})"
    if d.get("tie"):
        console.print(
            lit("tie:", "yellow") + " " + lit(f"{what} is a tie with {', '.join(d['tie'])} ({d.get('tie_rule', '')})"),
            highlight=False,
        )
    for n in d.get("calibration_notes") or []:
        console.print(lit("caution:", "yellow") + " " + lit(n), highlight=False)


def mtp_text(cfg: dict) -> str:
    """``3 (3.19)``: MTP draft tokens (acceptance length), or ``-`` without MTP."""
    m = cfg.get("mtp")
    return f"{m['draft_tokens']} ({m['acceptance_length']:.2f})" if m else "-"


def precision_text(d: dict) -> str:
    """``weights fp8, KV fp8`` (``weights fp8 / bf16, KV fp8 / bf16`` when several were swept) from a result dict."""
    return f"weights {' / '.join(d.get('weights') or ['?'])}, KV {' / '.join(d.get('kv') or ['?'])}"


sla_text = X.sla_text  # ``TTFT p90 <= 2,000 ms, TPOT <= 30 ms`` (tokenfab.api.explain)


def table(title: str, columns, left=()):
    """A Rich table with the given columns (right-aligned unless named in ``left``)."""
    from tokenfab.cli.common import Table

    t = Table(title=title, title_justify="left")
    for c in columns:
        t.add_column(c, justify="left" if c in left else "right")
    return t


SHORT_HEADERS = "<short headers>"  # a step of fitted_table's ``drop``: switch to the two-line headers


def fitted_table(
    console, title: str, columns, rows, *, left=(), drop=(), short=None, wrap=("layout", "hardware"), wide=False
):
    """A table of ``rows`` (lists of cells, one per column) that fits the console's width (80 columns when piped):
    while it is wider, the steps of ``drop`` are taken in order: drop the named column (secondary ones: the JSON has
    them all) or, at SHORT_HEADERS, shorten the headers to two lines (``short``: column -> header); a column of
    ``drop`` with no value in any row ("-" or empty) goes first, silently. A column with values that is left out is
    named in the caption, with how to see it (``--wide``, ``--json``). Numeric cells never wrap; the ``wrap``
    columns (layouts, hardware with its "(prior)" mark, notes) fold onto several lines instead of being cut.
    ``wide``: every column, whatever the width (print it with :func:`show`)."""
    from rich import box

    from tokenfab.cli.common import Table

    short = short or {}

    def build(cols, use_short):
        t = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
        for c in cols:
            t.add_column(
                short.get(c, c) if use_short else c,
                justify="left" if c in left else "right",
                no_wrap=c not in wrap,
                overflow="fold",
            )
        idx = [columns.index(c) for c in cols]
        for r in rows:
            t.add_row(*(r[i] for i in idx))
        return t

    def fits(t) -> bool:  # the table's natural width (measured without the console's limit) fits the console
        return console.measure(t, options=console.options.update_width(100_000)).maximum <= console.width

    cols, use_short = list(columns), False
    empty = [c for c in drop if c in cols and all(r[cols.index(c)] in ("-", "") for r in rows)]
    t = build(cols, use_short)
    if wide:
        t.wide = True
        return t
    hidden: list[str] = []
    for c in (None, *empty, *drop):
        if c == SHORT_HEADERS:
            use_short = True
        elif c in cols:
            cols.remove(c)
            if c not in empty:
                hidden.append(c)
        t = build(cols, use_short)
        if fits(t):
            break
    if hidden:
        t.caption = hidden_note(hidden, console.width)
        t.caption_justify = "left"
    return t


def hidden_note(hidden, width: int) -> str:
    """The caption of a table that left columns out to fit the terminal."""
    names = ", ".join(str(h).replace("\n", " ") for h in hidden)
    return f"hidden to fit {width} columns: {names} (--wide shows every column, --json every field)"


def show(console, t) -> None:
    """Print a table; a ``--wide`` one at its natural width (not cut to the terminal's)."""
    if getattr(t, "wide", False):
        w = console.measure(t, options=console.options.update_width(100_000)).maximum
        old = console._width
        console._width = max(w, console.width)  # Console.print never renders wider than the console
        try:
            console.print(t, crop=False)
        finally:
            console._width = old
    else:
        console.print(t)


def print_footer(console, d: dict) -> None:
    """Skipped hardware, warnings and the evaluation count with the elapsed time of the whole command (and of the
    search alone, from the result)."""
    from tokenfab.cli.common import elapsed_s, lit
    from tokenfab.render.format import seconds

    for hw, why in d.get("skipped", {}).items():
        console.print(lit(f"skipped {hw}:", "yellow") + " " + lit(why), highlight=False)
    for w in d.get("warnings", []):
        console.print(lit("warning:", "yellow") + " " + lit(w), highlight=False)
    console.print(
        lit(
            f"evaluated {d['evaluated']:,} configurations (the search: {seconds(d['elapsed_s'])}); "
            f"the whole command took {seconds(elapsed_s())}"
        ),
        highlight=False,
    )


def terms_note(*terms: str) -> str:
    """A footnote explaining the terms of art a table uses (tokenfab.render.format.explain)."""
    from tokenfab.render.format import explain

    return "; ".join(f"{t}: {explain(t)}" for t in terms if explain(t))


search_header = X.search_header  # the first line of frontier / recommend (tokenfab.api.explain)
SEP = " · "
