"""``tokenfab plan scenario.yaml``: month-by-month demand, fleet, cost, revenue, margin and breakeven per candidate
hardware (a thin layer over tokenfab.planning.plan; docs/demand.md)."""

from __future__ import annotations

import contextlib
import csv
from pathlib import Path

import typer

from tokenfab import api
from tokenfab.cli._search_opts import fmt as _f
from tokenfab.cli._search_opts import hardware_cell, show, table
from tokenfab.cli.common import (
    console,
    elapsed_s,
    err_console,
    lit,
    print_header,
    print_json,
)
from tokenfab.cli.tco import HwFileOpt
from tokenfab.core.errors import safe_text
from tokenfab.render import format as F
from tokenfab.render import report as report_text

ScenarioArg = typer.Argument(..., help="scenario YAML (see examples/ and docs/demand.md)")
MonthsOpt = typer.Option(None, "--months", help="plan only the first N months (default: the scenario's horizon)")
HardwareListOpt = typer.Option(
    None, "--hardware", "-H", help="candidate hardware, comma-separated (overrides the scenario)"
)


@contextlib.contextmanager
def progress_bar(enabled: bool, description: str = "planning"):
    """A Rich progress bar on stderr; yields a ``progress(done, total, label)`` callback (None when disabled)."""
    if not enabled:
        yield None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("[bold]{task.description}"),  # a fixed description; the label is user text: no markup
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        TextColumn("{task.fields[label]}", markup=False),
        console=err_console,
        transient=True,
    ) as p:
        task = p.add_task(description, total=1, label="")

        def cb(done: int, total: int, label: str) -> None:
            p.update(
                task, completed=done, total=max(total, 1), label=safe_text(label, max_chars=60, keep_newlines=False)
            )

        yield cb


def run_plan(
    scenario: Path,
    months: int | None,
    hardware: str | None,
    show_progress: bool,
    hardware_files: list[str] | None = None,
) -> api.PlanResult:
    """``tokenfab.api.plan`` of a command's options, with a progress bar on the terminal."""
    req = api.PlanRequest.build(
        scenario=str(scenario), months=months, hardware=hardware, hardware_files=hardware_files or None
    )
    with progress_bar(show_progress) as cb:
        return api.plan(req, progress=cb)


def write_csv(res: api.PlanResult, path: Path) -> None:
    rows = res.csv_rows()
    cols: list[str] = []
    for r in rows:
        for k in r:
            if k not in cols:
                cols.append(k)
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=cols)
        w.writeheader()
        for r in rows:
            w.writerow({k: ("" if v is None else v) for k, v in r.items()})


def _pick_months(n: int, k: int = 12) -> list[int]:
    if n <= k:
        return list(range(n))
    step = max(1, (n - 1) // (k - 1))
    out = list(range(0, n, step))
    if out[-1] != n - 1:
        out.append(n - 1)
    return out


def si(x, digits: int = 3) -> str:
    """A compact number for a narrow cell (tokenfab.render.format.si): 953M, 1.14M, 2.28B, 12.3k; '-' if missing."""
    return F.si(x, none="-")


def _wrap_words(text: str, width: int) -> str:
    """``text`` wrapped at spaces into lines of at most ``width`` characters (a word longer than that stays whole)."""
    lines: list[str] = []
    for w in text.split():
        if lines and len(lines[-1]) + 1 + len(w) <= width:
            lines[-1] += " " + w
        else:
            lines.append(w)
    return "\n".join(lines)


def fitted_table(
    title: str,
    columns: list[tuple[str, int]],
    rows: list[list[str]],
    *,
    left=(),
    width: int | None = None,
    wide: bool = False,
):
    """A table whose columns fit ``width`` (default: the console's). Columns are ``(header, priority)``; headers are
    wrapped at spaces when the table would not fit otherwise, then, while it is still too wide (cells are never cut),
    the lowest-priority column is left out and named in the caption. Priority 0 columns are always kept."""
    width = width or console.width
    names = [c for c, _ in columns]

    def col_width(j: int, wrap: bool) -> int:
        head = max((len(w) for w in names[j].split()), default=0) if wrap else len(names[j])
        return max([head] + [len(str(r[j])) for r in rows])

    def total(keep, wrap):
        return sum(col_width(j, wrap) for j in keep) + 3 * len(keep) + 1

    keep = list(range(len(columns)))
    if wide:
        width = max(width, total(keep, False))
    wrap = total(keep, False) > width
    dropped: list[str] = []
    while total(keep, wrap) > width:
        cand = [j for j in keep if columns[j][1] > 0]
        if not cand:
            break
        j = max(cand, key=lambda j: (columns[j][1], j))
        keep.remove(j)
        dropped.append(names[j])
    heads = {j: _wrap_words(names[j], col_width(j, wrap)) for j in keep}
    t = table(title, [heads[j] for j in keep], left=[heads[j] for j in keep if names[j] in left])
    for k, j in enumerate(keep):  # fixed widths: cells never wrap or shrink
        t.columns[k].width = col_width(j, wrap)
    for r in rows:
        t.add_row(*[r[j] for j in keep])
    if dropped:
        t.caption = lit(
            f"hidden to fit {width} columns: {', '.join(reversed(dropped))} "
            "(--wide shows every column; --json or --csv every field)"
        )
        t.caption_justify = "left"
    return t


def render(d: dict, *, wide: bool = False) -> None:
    def ft(*a, **k):
        t = fitted_table(*a, wide=wide, **k)
        t.wide = wide
        return t

    sc = d["scenario"]
    dem = d["demand"]
    print_header(plan_header(d))
    idx = _pick_months(len(d["labels"]))
    T = dem["totals"]
    rows = [
        [
            d["labels"][i],
            si(dem["total_users"][i]),
            si(dem["daily_active_users"][i]),
            si(T["llm_calls_per_day"][i]),
            si(T["input_tokens_per_day"][i]),
            si(T["cached_input_tokens_per_day"][i]),
            si(T["output_tokens_per_day"][i]),
            _f(T["peak_requests_per_s"][i], ",.1f"),
        ]
        for i in idx
    ]
    show(
        console,
        ft(
            "demand per month (per day; k, M, B = thousand, million, billion; input tok includes the cached)",
            [
                ("month", 0),
                ("users", 0),
                ("DAU", 2),
                ("calls/day", 1),
                ("input tok", 0),
                ("of which cached", 1),
                ("output tok", 0),
                ("peak req/s", 0),
            ],
            rows,
            left=("month",),
        ),
    )
    last = len(d["labels"]) - 1
    tot = T["total_tokens_per_day"][last] or 1.0
    for kind, group in (("feature", dem["by_feature"]), ("persona", dem["by_persona"])):
        rows = [
            [name, si(v["total_tokens_per_day"][last]), F.pct((v["total_tokens_per_day"][last] or 0) / tot)]
            for name, v in group.items()
        ]
        show(
            console,
            ft(
                f"tokens per day in {d['labels'][last]} by {kind} (shares add up to 100%)",
                [(kind, 0), ("tokens/day", 0), ("share", 0)],
                rows,
                left=(kind,),
            ),
        )
    rows = []
    for k, w in enumerate(dem["workloads"], 1):
        c = d["caching"][w["key"]]
        rows.append(
            [
                f"w{k}",
                ", ".join(w["features"]),
                w["model"],
                f"{w['weights']}/{w['kv']}",
                w["tier"],
                f"{w['isl']}/{w['osl']}",
                f"{F.num(w['ttft_max_ms'])}/{F.num(w['tpot_max_ms'])}",
                F.pct(w["prefix_hit_rate"]),
                si(c["kv_hbm_gib"][last]),
                si(c["kv_dram_gib"][last]),
            ]
        )
    show(
        console,
        ft(
            "workloads (each fleet is sized at its peak within its SLA)",
            [
                ("#", 0),
                ("features", 0),
                ("model", 1),
                ("weights/KV", 0),
                ("tier", 2),
                ("ISL/OSL", 0),
                ("TTFT/TPOT ms", 1),
                ("prefix hit", 2),
                ("KV HBM GiB", 3),
                ("KV DRAM GiB", 3),
            ],
            rows,
            left=("#", "features", "model", "weights/KV", "tier"),
        ),
    )
    rows = []
    for h in d["hardware"]:
        if not h["feasible"]:
            rows.append([h["hardware"]] + ["-"] * 9)
            continue
        tt = h["totals"]
        rows.append(
            [
                hardware_cell(h["hardware"], h.get("prior", False)),
                _f(tt["peak_gpus"], ",.0f"),
                _f(tt["peak_mw"], ",.2f"),
                si(tt["cost_usd"]),
                _si_range(tt.get("cost_usd_p10"), tt.get("cost_usd_p90")),
                si(tt["capital_usd"]),
                si(tt["operating_usd"]),
                si(tt["revenue_usd"]),
                _f(tt["gross_margin_pct"], ",.1f"),
                _f(tt["usd_per_mtok_blended"], ",.3f"),
            ]
        )
    show(
        console,
        ft(
            f"hardware comparison over {sc['months_planned']} months (cheapest first)",
            [
                ("hardware", 0),
                ("peak GPUs", 0),
                ("peak MW", 1),
                ("total cost $", 0),
                ("cost p10-p90", 1),
                ("capital $", 2),
                ("operating $", 2),
                ("revenue $", 0),
                ("margin %", 0),
                ("$/M blended", 1),
            ],
            rows,
            left=("hardware",),
        ),
    )
    best = d["best_hardware"]
    if best:
        h = next(x for x in d["hardware"] if x["hardware"] == best)
        m = h["monthly"]
        rows = [
            [
                d["labels"][i],
                _f(m["gpus"][i], ",.0f"),
                _col_range(m, "gpus", i, lambda x: f"{x:,.0f}"),
                _f(m["nodes"][i], ",.0f"),
                _f(m["racks"][i], ",.0f"),
                _f(m["mw"][i], ",.2f"),
                si(m["cost_usd"][i]),
                _col_range(m, "cost_usd", i, si),
                si(m["capital_usd"][i]),
                si(m["revenue_usd"][i]),
                _f(m["gross_margin_pct"][i], ",.1f"),
                _col_range(m, "gross_margin_pct", i, lambda x: f"{x:,.1f}"),
                _pct(m["fleet_utilization"][i]),
                _pct(m["fleet_utilization_peak"][i]),
            ]
            for i in idx
        ]
        show(
            console,
            ft(
                f"{best}: fleet and money, month by month (util: average and peak-hour demand / fleet capacity)",
                [
                    ("month", 0),
                    ("GPUs", 0),
                    ("GPUs p10-p90", 1),
                    ("nodes", 2),
                    ("racks", 2),
                    ("MW", 1),
                    ("cost $", 0),
                    ("cost p10-p90", 1),
                    ("capital $", 3),
                    ("revenue $", 0),
                    ("margin %", 0),
                    ("margin p10-p90", 1),
                    ("util avg", 1),
                    ("util peak", 1),
                ],
                rows,
                left=("month",),
            ),
        )
        rows = [
            [
                d["labels"][i],
                _f(m["usd_per_mtok_input"][i], ",.3f"),
                _f(m["usd_per_mtok_cached_input"][i], ",.3f"),
                _f(m["usd_per_mtok_output"][i], ",.3f"),
                _f(m["breakeven_usd_per_mtok"][i], ",.3f"),
                si(m["breakeven_users"][i]),
            ]
            for i in idx
        ]
        show(
            console,
            ft(
                f"{best}: cost per million tokens (split by GPU time, with fixed costs) and the breakeven price per "
                "billed token (after subscriptions), month by month; the price at the target margin: --json",
                [
                    ("month", 0),
                    ("$/M in", 0),
                    ("$/M cached", 0),
                    ("$/M out", 0),
                    ("breakeven $/M", 0),
                    ("breakeven users", 0),
                ],
                rows,
                left=("month",),
            ),
        )
    for h in d["hardware"]:
        if not h["feasible"]:
            console.print(
                lit(f"{h['hardware']} cannot serve the plan:", "yellow") + " " + lit(h["reason"]), highlight=False
            )
    for s in d["summary"].get("sentences", []):
        console.print(lit(s), highlight=False)
    for w in d["warnings"]:
        console.print(lit("warning:", "yellow") + " " + lit(w), highlight=False)
    console.print(
        lit(
            "p10-p90: the fleet re-sized at the ends of the performance model's out-of-sample throughput band; "
            "(prior): the hardware has no measurements of its own",
            "dim",
        ),
        highlight=False,
    )
    console.print(
        lit(
            f"planned in {F.seconds(d['elapsed_s'])} (the whole command: {F.seconds(elapsed_s())}); definitions: "
            "tokenfab plan --json | .definitions; docs/demand.md",
            "dim",
        ),
        highlight=False,
    )


def _pct(x) -> str:
    return F.pct(x, none="-")


plan_header = report_text.plan_header  # the first line of a plan (the report says the same)


def _si_range(lo, hi, fmt=si) -> str:
    """``4.96M–5.43M``: a p10–p90 range (``-`` without one)."""
    return "-" if lo is None or hi is None else f"{fmt(lo)}–{fmt(hi)}"


def _col_range(m: dict, key: str, i: int, fmt) -> str:
    """The p10–p90 of monthly column ``key`` in month ``i`` (``-`` without a band)."""
    lo, hi = (m.get(f"{key}_{q}") for q in ("p10", "p90"))
    return _si_range(lo[i] if lo else None, hi[i] if hi else None, fmt)


def register(app: typer.Typer) -> None:
    @app.command("plan")
    def plan_cmd(
        scenario: Path = ScenarioArg,
        months: int | None = MonthsOpt,
        hardware: str | None = HardwareListOpt,
        hardware_file: HwFileOpt = None,
        as_json: bool = typer.Option(False, "--json", help="print the plan as JSON (schema: docs/demand.md)"),
        csv_path: Path | None = typer.Option(None, "--csv", help="write one row per (hardware, month) to this CSV"),
        wide: bool = typer.Option(False, "--wide", help="show every column, however wide the terminal"),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar"),
    ) -> None:
        """Users and features → tokens per day, peak load, fleet per hardware, cost, revenue, margin, breakeven."""
        res = run_plan(scenario, months, hardware, show_progress=not (as_json or quiet), hardware_files=hardware_file)
        if csv_path is not None:
            write_csv(res, csv_path)
        d = res.to_dict()
        if as_json:
            print_json(d)
        else:
            render(d, wide=wide)
            if csv_path is not None:
                console.print(lit(f"wrote {csv_path}"), highlight=False)
