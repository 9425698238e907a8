"""``tokenfab catalog``: list the bundled hardware and models (a thin layer over tokenfab.catalog.hardware /
tokenfab.catalog.models)."""

from __future__ import annotations

from pathlib import Path

import typer

from tokenfab.catalog.hardware import FIGURE_FIELDS, HardwareSpec, alias_map, catalog, get_hardware
from tokenfab.cli.common import Table, console, emit, esc, lit, print_json
from tokenfab.core.errors import TokenfabError

# unit shown next to each figure in the one-chip view (the unit is also in the field name)
_UNITS = {
    "memory_capacity_gib": "GiB",
    "memory_bandwidth_tb_per_s": "TB/s",
    "sram_capacity_mib": "MiB",
    "sram_bandwidth_tb_per_s": "TB/s",
    "peak_tflops": "TFLOP/s (dense)",
    "tdp_w": "W",
    "scaleup_domain_size": "chips",
    "scaleup_bandwidth_gb_per_s_per_direction": "GB/s per direction",
    "scaleout_bandwidth_gb_per_s_per_direction": "GB/s per direction",
    "chips_per_node": "chips",
    "chips_per_rack": "chips",
    "node_it_power_kw": "kW",
    "rack_it_power_kw": "kW",
    "price_usd_per_chip": "USD",
    "price_usd_per_system": "USD",
    "chips_per_system": "chips",
    "all_in_kw_per_chip": "kW",
}


def _fmt(x) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:,.4g}" if abs(x) < 1000 else f"{x:,.0f}"
    if isinstance(x, int):
        return f"{x:,}"
    return str(x)


def _exact(x) -> str:
    """Every digit the catalog holds (the one-chip view is for checking figures against their sources)."""
    if isinstance(x, float) and x.is_integer():
        x = int(x)
    return f"{x:,}" if isinstance(x, (int, float)) else _fmt(x)


def _memory_cell(h: HardwareSpec) -> str:
    if h.kind == "sram":
        return f"{h.sram_capacity_mib / 1024:.3g} (SRAM)"
    return _fmt(h.memory_capacity_gib)


def _row_dict(h: HardwareSpec) -> dict:
    """What the table shows, as plain values (used for --json of the list)."""
    return h.model_dump()


def _render_list(cat: dict[str, HardwareSpec], wide: bool = False) -> None:
    from tokenfab.cli._search_opts import fitted_table, show

    cols = ["key", "name", "mem GiB", "BW TB/s", "bf16", "fp8", "fp4", "TDP W", "scale-up"]
    rows = []
    for k, h in cat.items():
        p = h.peak_tflops
        rows.append(
            [
                k,
                h.name,
                _memory_cell(h),
                _fmt(h.memory_bandwidth_tb_per_s),
                _fmt(p.get("bf16") or p.get("fp16")),
                _fmt(p.get("fp8")),
                _fmt(p.get("fp4")),
                _fmt(h.tdp_w),
                _fmt(h.scaleup_domain_size),
            ]
        )
    # on a narrow terminal the name goes first (the key names the chip; `catalog hardware KEY` shows it all)
    t = fitted_table(
        console,
        "Hardware catalog (peaks are dense TFLOP/s; memory in binary GiB, bandwidth in decimal TB/s)",
        cols,
        rows,
        left=("key", "name"),
        drop=("name",),
        wrap=("name", "mem GiB"),
        wide=wide,
    )
    show(console, t)
    console.print(
        "bf16 column shows fp16 where a chip lists only fp16; '-' = not supported natively or not published.",
        style="dim",
    )


def _figure_rows(h: HardwareSpec):
    """(field, value, unit, source record) for every figure the entry sets, precision by precision for peaks."""
    for f in FIGURE_FIELDS:
        if f == "peak_tflops":
            for prec, v in h.peak_tflops.items():
                if v is None:
                    continue
                yield f"peak_tflops.{prec}", v, _UNITS[f], h.source_of(f"peak_tflops.{prec}")
            continue
        src = h.source_of(f)
        if src is None:  # not set in the data: a model default, not a sourced figure
            continue
        yield f, getattr(h, f), _UNITS.get(f, ""), src


def _chip_dict(h: HardwareSpec) -> dict:
    d = h.model_dump()
    d["figures"] = [
        {
            "field": f,
            "value": v,
            "unit": u,
            "source": s.source if s else None,
            "as_of": s.as_of if s else None,
            "note": s.note if s else None,
        }
        for f, v, u, s in _figure_rows(h)
    ]
    return d


def _common_source(rows) -> str | None:
    counts: dict[str, int] = {}
    for _, _, _, s in rows:
        if s is not None:
            counts[s.source] = counts.get(s.source, 0) + 1
    return max(counts, key=lambda src: counts[src]) if counts else None


def _render_chip(h: HardwareSpec) -> None:
    console.print(
        f"[bold]{esc(h.key)}[/bold]: {esc(h.name)} ({esc(h.vendor)}, kind {h.kind}, cost family "
        f"{esc(h.cost_family or '-')})",
        highlight=False,
    )
    if h.aliases:
        console.print(lit(f"aliases: {', '.join(h.aliases)}"), highlight=False)
    rows = list(_figure_rows(h))
    main_src = _common_source(rows)
    if main_src:
        console.print(f"[bold]source[/bold] (figures marked 'entry source'): {esc(main_src)}", highlight=False)
    t = Table(show_lines=True)
    for col in ("figure", "value", "unit", "as_of", "source / note"):
        t.add_column(col, overflow="fold")
    for f, v, u, s in rows:
        src = lit("-" if s is None else ("entry source" if s.source == main_src else s.source))
        if s and s.note:
            src = src + lit(f"\nnote: {s.note}", "dim")
        t.add_row(f, _exact(v), u, s.as_of if s else "-", src)
    console.print(t)
    if h.notes:
        console.print(lit(f"notes: {h.notes}"), highlight=False)


def hardware_cmd(
    key: str | None = typer.Argument(None, help="Show one chip with every figure and its source (e.g. h100-sxm)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    hardware_file: list[Path] | None = typer.Option(
        None, "--hardware-file", help="YAML/TOML file adding or overriding chips (repeatable; later files win)."
    ),
    wide: bool = typer.Option(False, "--wide", help="show every column, however wide the terminal"),
) -> None:
    """The hardware catalog: every chip, or one chip with the source and date of each figure."""
    files = [str(p) for p in hardware_file or []]
    if key is not None:
        h = get_hardware(key, files)
        emit(_chip_dict(h), as_json, lambda _: _render_chip(h))
        return
    cat = catalog(files)
    if as_json:
        print_json(
            {
                "hardware": {k: _row_dict(h) for k, h in cat.items()},
                "aliases": alias_map(cat),
                "units": {
                    "memory_capacity_gib": "GiB (2**30 B)",
                    "memory_bandwidth_tb_per_s": "TB/s (1e12 B/s)",
                    "peak_tflops": "dense TFLOP/s (1e12 FLOP/s)",
                },
            }
        )
        return
    _render_list(cat, wide)


def models_cmd(
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    wide: bool = typer.Option(False, "--wide", help="show every column, however wide the terminal"),
) -> None:
    """The bundled model catalog (Hugging Face config.json files)."""
    try:
        from tokenfab.catalog.models import list_models
    except ImportError as e:  # the models module is written by another part of the project
        raise TokenfabError(f"the model catalog is not available in this build ({e})", field="models") from None
    rows = [m.to_dict() for m in list_models()]
    if as_json:
        print_json(rows)
        return
    from tokenfab.cli._search_opts import fitted_table, show

    cols = ["key", "name", "family", "total_params_b", "active_params_b", "native_weights", "max_position_embeddings"]
    short = {
        "total_params_b": "total\nparams B",
        "active_params_b": "active\nparams B",
        "native_weights": "native\nweights",
        "max_position_embeddings": "max\ncontext",
    }
    t = fitted_table(
        console,
        "Model catalog (parameters in billions, decimal)",
        cols,
        [[_fmt(r.get(c)) for c in cols] for r in rows],
        left=("key", "name", "family", "native_weights"),
        drop=("<short headers>", "name"),
        short=short,
        wrap=("name", "native_weights"),
        wide=wide,
    )
    show(console, t)


def engines_cmd(as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table.")) -> None:
    """The serving engines: the vendors each runs on, where it is the default, its features and its calibration."""
    from tokenfab.catalog.engines import engine_rows

    rows = engine_rows()
    if as_json:
        print_json(rows)
        return
    t = Table(title="Serving engines (data/engines.yaml; --engine KEY or per hardware hw=KEY,...)")
    for c in ("key", "name", "runs on", "default for", "features", "parameters"):
        t.add_column(c, justify="left", overflow="fold")
    for r in rows:
        t.add_row(
            lit(r["key"]),
            lit(r["name"]),
            lit(", ".join(r["runs_on"])),
            lit(", ".join(r["default_for"]) or "-"),
            lit(" ".join(r["features"])),
            lit(r["parameters"]),
        )
    console.print(t)


def register(app: typer.Typer) -> None:
    sub = typer.Typer(no_args_is_help=True, help="Browse the bundled hardware, model and engine catalogs.")
    sub.command("hardware")(hardware_cmd)
    sub.command("models")(models_cmd)
    sub.command("engines")(engines_cmd)
    app.add_typer(sub, name="catalog")
