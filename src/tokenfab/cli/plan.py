"""``tokenfab plan scenario.yaml``: month-by-month demand, fleet, cost, revenue, margin and breakeven per candidate
hardware (a thin layer over tokenfab.planning; docs/demand.md)."""
from __future__ import annotations

import contextlib
import csv
from pathlib import Path
from typing import Optional

import typer

from .. import planning
from ..scenario import load_scenario
from ._search_opts import fmt as _f
from ._search_opts import table
from .common import console, err_console, print_json, split_csv, to_jsonable

ScenarioArg = typer.Argument(..., help="scenario YAML (see examples/ and docs/demand.md)")
MonthsOpt = typer.Option(None, "--months", help="plan only the first N months (default: the scenario's horizon)")
HardwareListOpt = typer.Option(None, "--hardware", help="candidate hardware, comma-separated (overrides the scenario)")


@contextlib.contextmanager
def progress_bar(enabled: bool, description: str = "planning"):
    """A Rich progress bar on stderr; yields a ``progress(done, total, label)`` callback (None when disabled)."""
    if not enabled:
        yield None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), TextColumn("{task.fields[label]}"), console=err_console, transient=True) as p:
        task = p.add_task(description, total=1, label="")

        def cb(done: int, total: int, label: str) -> None:
            p.update(task, completed=done, total=max(total, 1), label=label[:60])

        yield cb


def run_plan(scenario: Path, months: Optional[int], hardware: Optional[str], show_progress: bool):
    sc = load_scenario(scenario)
    hws = split_csv(hardware, "hardware") if hardware else None
    with progress_bar(show_progress) as cb:
        return planning.plan(sc, months=months, hardware=hws, progress=cb)


def write_csv(res: planning.PlanResult, path: Path) -> None:
    rows = res.to_rows()
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


def render(res: planning.PlanResult, d: dict) -> None:
    sc = d["scenario"]
    dem = d["demand"]
    console.print(f"[bold]{sc['name']}[/] - model {sc['model']} - {sc['months_planned']} months - "
                  f"peak-to-average {dem['peak_to_average']:.2f}", highlight=False)
    idx = _pick_months(len(d["labels"]))
    t = table("demand per month (tokens per day)", ["month", "users", "DAU", "calls/day", "input tok/day",
                                                    "cached tok/day", "output tok/day", "peak req/s"], left=("month",))
    T = dem["totals"]
    for i in idx:
        t.add_row(d["labels"][i], _f(dem["total_users"][i], ",.0f"), _f(dem["daily_active_users"][i], ",.0f"),
                  _f(T["llm_calls_per_day"][i], ",.3g"), _f(T["input_tokens_per_day"][i], ",.3g"),
                  _f(T["cached_input_tokens_per_day"][i], ",.3g"), _f(T["output_tokens_per_day"][i], ",.3g"),
                  _f(T["peak_requests_per_s"][i], ",.2f"))
    console.print(t)
    last = len(d["labels"]) - 1
    tf = table(f"tokens per day in {d['labels'][last]} by feature and persona", ["feature / persona", "tokens/day",
                                                                                  "share"], left=("feature / persona",))
    tot = T["total_tokens_per_day"][last] or 1.0
    for name, v in list(dem["by_feature"].items()) + list(dem["by_persona"].items()):
        x = v["total_tokens_per_day"][last]
        tf.add_row(name, _f(x, ",.4g"), f"{x / tot:.0%}")
    console.print(tf)
    tw = table("workloads (the fleet is sized per workload at its peak within its SLA)",
               ["workload", "features", "prefix hit", "KV HBM GiB", "KV DRAM GiB"], left=("workload", "features"))
    for w in dem["workloads"]:
        c = d["caching"][w["key"]]
        tw.add_row(w["key"], ", ".join(w["features"]), f"{w['prefix_hit_rate']:.0%}", _f(c["kv_hbm_gib"][last], ",.1f"),
                   _f(c["kv_dram_gib"][last], ",.1f"))
    console.print(tw)
    tc = table(f"hardware comparison over {sc['months_planned']} months (cheapest first)",
               ["hardware", "peak GPUs", "peak MW", "total cost $", "capital $", "operating $", "revenue $",
                "margin %", "$/M blended"], left=("hardware",))
    for h in d["hardware"]:
        if not h["feasible"]:
            tc.add_row(h["hardware"], "-", "-", "-", "-", "-", "-", "-", "-")
            continue
        tt = h["totals"]
        tc.add_row(h["hardware"], _f(tt["peak_gpus"], ",.0f"), _f(tt["peak_mw"], ",.2f"), _f(tt["cost_usd"], ",.0f"),
                   _f(tt["capital_usd"], ",.0f"), _f(tt["operating_usd"], ",.0f"), _f(tt["revenue_usd"], ",.0f"),
                   _f(tt["gross_margin_pct"], ",.1f"), _f(tt["usd_per_mtok_blended"], ",.3f"))
    console.print(tc)
    best = d["best_hardware"]
    if best:
        h = next(x for x in d["hardware"] if x["hardware"] == best)
        m = h["monthly"]
        tb = table(f"{best}: month by month", ["month", "GPUs", "nodes", "racks", "MW", "cost $", "capital $",
                                               "$/M in", "$/M cached", "$/M out", "revenue $", "margin %",
                                               "breakeven $/M", "breakeven users"], left=("month",))
        for i in idx:
            tb.add_row(d["labels"][i], _f(m["gpus"][i], ",.0f"), _f(m["nodes"][i], ",.0f"), _f(m["racks"][i], ",.0f"),
                       _f(m["mw"][i], ",.2f"), _f(m["cost_usd"][i], ",.0f"), _f(m["capital_usd"][i], ",.0f"),
                       _f(m["usd_per_mtok_input"][i], ",.3f"), _f(m["usd_per_mtok_cached_input"][i], ",.3f"),
                       _f(m["usd_per_mtok_output"][i], ",.3f"), _f(m["revenue_usd"][i], ",.0f"),
                       _f(m["gross_margin_pct"][i], ",.1f"), _f(m["breakeven_usd_per_mtok"][i], ",.3f"),
                       _f(m["breakeven_users"][i], ",.0f"))
        console.print(tb)
    for h in d["hardware"]:
        if not h["feasible"]:
            console.print(f"[yellow]{h['hardware']} cannot serve the plan:[/] {h['reason']}", highlight=False)
    for s in d["summary"].get("sentences", []):
        console.print(s, highlight=False)
    for w in d["warnings"]:
        console.print(f"[yellow]warning:[/] {w}", highlight=False)
    console.print(f"[dim]planned in {d['elapsed_s']:.2f} s; definitions: tokenfab plan --json | .definitions; "
                  f"docs/demand.md[/]", highlight=False)


def register(app: typer.Typer) -> None:
    @app.command("plan")
    def plan_cmd(
        scenario: Path = ScenarioArg,
        months: Optional[int] = MonthsOpt,
        hardware: Optional[str] = HardwareListOpt,
        as_json: bool = typer.Option(False, "--json", help="print the plan as JSON (schema: docs/demand.md)"),
        csv_path: Optional[Path] = typer.Option(None, "--csv", help="write one row per (hardware, month) to this CSV"),
    ) -> None:
        """Users and features → tokens per day, peak load, fleet per hardware, cost, revenue, margin, breakeven."""
        res = run_plan(scenario, months, hardware, show_progress=not as_json)
        if csv_path is not None:
            write_csv(res, csv_path)
        d = to_jsonable(res.to_dict())
        if as_json:
            print_json(d)
        else:
            render(res, d)
            if csv_path is not None:
                console.print(f"wrote {csv_path}", highlight=False)
