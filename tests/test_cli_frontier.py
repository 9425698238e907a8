"""``tokenfab frontier`` and ``tokenfab recommend`` through the real Typer app: JSON contracts, human output,
charts and bad input."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

import tokenfab.cli.main
from _cli import invoke, invoke_json
from tokenfab.cli import common
from tokenfab.render import format as F
from tokenfab.search import pareto_mask

pytestmark = pytest.mark.usefixtures("wide_console")

runner = CliRunner()
BASE = [
    "--model",
    "llama-3.1-70b",
    "--hardware",
    "h100-sxm,mi300x",
    "--isl",
    "1024",
    "--osl",
    "1024",
    "--weights",
    "fp8",
]
POINT_KEYS = (
    "hardware",
    "mode",
    "config",
    "tokens_per_s_per_user",
    "total_tokens_per_s_per_gpu",
    "output_tokens_per_s_per_gpu",
    "ttft_ms",
    "tpot_ms",
    "usd_per_mtok_total",
    "usd_per_mtok_input",
    "usd_per_mtok_output",
    "tokens_per_s_per_mw",
)
CONFIG_KEYS = ("tp", "pp", "dp", "ep", "gpus", "weights", "kv", "concurrency", "mtp", "mode")


@pytest.fixture(scope="module")
def frontier_json():
    r = runner.invoke(
        tokenfab.cli.main.app,
        ["frontier", *BASE, "--ttft-max-ms", "800", "--tpot-max-ms", "60", "--percentile", "p99", "--json"],
    )
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def test_frontier_json_contract(frontier_json):
    d = frontier_json
    for k in ("points", "best", "tiers", "at_target", "evaluated"):
        assert k in d
    assert isinstance(d["evaluated"], int) and d["evaluated"] > len(d["points"]) > 0
    for p in d["points"]:
        for k in POINT_KEYS:
            assert k in p, k
        for k in CONFIG_KEYS:
            assert k in p["config"], k
        assert p["ttft_ms"] <= 800 and p["tpot_ms"] <= 60
        if p["mode"] == "disagg":
            for k in ("prefill", "decode", "prefill_gpus", "decode_gpus", "kv_transfer_ms"):
                assert k in p["config"]
            assert p["config"]["gpus"] == p["config"]["prefill_gpus"] + p["config"]["decode_gpus"]
    assert {p["hardware"] for p in d["points"]} == {"h100-sxm", "mi300x"}
    assert {p["mode"] for p in d["points"]} == {"agg", "disagg"}
    for tier in ("bulk", "goldilocks", "premium"):
        assert d["tiers"][tier]["usd_per_mtok_total"] > 0
    assert d["at_target"]["target_interactivity"] == 50
    assert d["best"]["usd_per_mtok_total"] == pytest.approx(d["tiers"]["bulk"]["usd_per_mtok_total"])
    assert d["sla"]["percentile"] == "p99"


def test_frontier_json_points_are_pareto(frontier_json):
    groups = {}
    for p in frontier_json["points"]:
        groups.setdefault((p["hardware"], p["mode"]), []).append(p)
    for pts in groups.values():
        keep = pareto_mask([p["tokens_per_s_per_user"] for p in pts], [p["total_tokens_per_s_per_gpu"] for p in pts])
        assert keep.all()


def test_frontier_human_output():
    r = invoke("frontier", *BASE, "--mode", "agg", "--target-interactivity", "40")
    assert r.exit_code == 0, r.output
    out = r.stdout
    assert "h100-sxm: Pareto frontier" in out and re.search(r"mi300x( \(prior\))?: Pareto frontier", out)
    assert "token tiers" in out and "bulk" in out and "goldilocks" in out and "premium" in out
    assert "at 40 tokens/s per user" in out
    assert "evaluated" in out and "configurations (the search:" in out and "the whole command took" in out


def test_frontier_png_plot(tmp_path):
    p = tmp_path / "f.png"
    r = invoke("frontier", *BASE, "--mode", "agg", "--plot", str(p))
    assert r.exit_code == 0, r.output
    data = p.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    import matplotlib.image as mpimg

    img = mpimg.imread(str(p))  # decodes: a real image, not just a header
    h, w = img.shape[:2]
    assert w > 1000 and h > 400
    ink = (img[..., :3].min(axis=2) < 0.9).mean()  # share of non-white pixels: curves, bars, labels
    assert 0.01 < ink < 0.6


def test_chart_data_has_one_curve_per_hardware_and_mode(frontier_json):
    from tokenfab.render.plots import chart_data

    data = chart_data(frontier_json)
    keys = {(s["hardware"], s["mode"]) for s in data["series"]}
    assert keys == {(p["hardware"], p["mode"]) for p in frontier_json["points"]}
    for s in data["series"]:
        assert s["x"] == sorted(s["x"]) and len(s["x"]) == len(s["y"])
    assert {b["hardware"] for b in data["bars"]} == {"h100-sxm", "mi300x"}
    assert data["target_interactivity"] == 50


def test_frontier_html_plot_is_self_contained(tmp_path):
    p = tmp_path / "f.html"
    r = invoke("frontier", *BASE, "--plot", str(p), "--json")
    assert r.exit_code == 0, r.output
    json.loads(r.stdout)  # the chart message goes to stderr, the JSON stays parseable
    html = p.read_text()
    assert "plotly" in html.lower() and '<script src="http' not in html  # plotly.js inlined
    html = html.replace("\\u002f", "/")  # plotly escapes "/" in its embedded JSON
    assert "interactivity (tokens/s per user" in html and "total tokens/s per GPU" in html
    assert "p10" in html  # the error bands
    assert "$ per million tokens" in html


def test_frontier_bad_plot_extension(tmp_path):
    r = invoke("frontier", *BASE, "--plot", str(tmp_path / "f.gif"))
    assert r.exit_code == 2 and "plot" in r.output


def test_unknown_hardware_suggests():
    r = invoke("frontier", "--model", "llama-3.1-70b", "--hardware", "h100-sxn,b200")
    assert r.exit_code == 2
    assert "did you mean" in r.output and "h100-sxm" in r.output and "Traceback" not in r.output


def test_sla_nobody_meets_is_explained():
    r = invoke("frontier", *BASE, "--tpot-max-ms", "1")
    assert r.exit_code == 2
    assert "binding limit is TPOT <= 1 ms" in r.output and "best achievable" in r.output
    assert "over the limit" in r.output  # and by how much
    assert len(r.output.strip().splitlines()) == 1 and "Traceback" not in r.output


def test_unknown_model_is_one_line():
    r = invoke("frontier", "--model", "llama-70b", "--hardware", "b200")
    assert r.exit_code == 2 and "did you mean" in r.output and "llama-3.1-70b" in r.output
    assert "Traceback" not in r.output
    r = invoke("recommend", "--model", "llama-70b", "--hardware", "b200", "--rate", "1")
    assert r.exit_code == 2 and "did you mean" in r.output


def test_bad_percentile_and_mode():
    assert invoke("frontier", *BASE, "--percentile", "p100").exit_code == 2
    assert invoke("frontier", *BASE, "--mode", "split").exit_code == 2


# ----------------------------------------------------------------------------------------------- recommend
REC = [
    "--model",
    "llama-3.1-70b",
    "--hardware",
    "h100-sxm,mi300x,groq-lpu",
    "--isl",
    "1024",
    "--osl",
    "1024",
    "--weights",
    "fp8",
    "--ttft-max-ms",
    "600",
    "--tpot-max-ms",
    "50",
]


def test_recommend_json_contract():
    r = invoke("recommend", *REC, "--rate", "20", "--usd-per-gpu-hour", "2.5", "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["demand"]["requests_per_s"] == 20
    opts = d["options"]
    assert opts and [o["usd_per_month"] for o in opts] == sorted(o["usd_per_month"] for o in opts)
    for o in opts:
        for k in (
            "hardware",
            "gpus",
            "nodes",
            "racks",
            "mw",
            "usd_per_month",
            "usd_per_mtok_total",
            "usd_per_mtok_input",
            "usd_per_mtok_output",
            "tokens_per_s_per_gpu",
            "replicas",
            "config",
        ):
            assert k in o
        assert o["usd_per_month"] == pytest.approx(2.5 * o["gpus"] * 8766 / 12)
    assert "evaluated" in d and "skipped" in d


def test_recommend_small_demand_composes_a_disaggregated_fleet():
    """A small demand does not pay for a whole rate-matched x:y unit: prefill and decode replicas are sized for it."""
    r = invoke(
        "recommend",
        "--model",
        "llama-3.1-70b",
        "--hardware",
        "h100-sxm,mi300x",
        "--isl",
        "1024",
        "--osl",
        "1024",
        "--weights",
        "fp8",
        "--ttft-max-ms",
        "600",
        "--tpot-max-ms",
        "50",
        "--mode",
        "disagg",
        "--rate",
        "1",
        "--usd-per-gpu-hour",
        "2",
        "--json",
    )
    assert r.exit_code == 0, r.output
    for o in json.loads(r.stdout)["options"]:
        cfg = o["config"]
        assert o["gpus"] == cfg["prefill_gpus"] + cfg["decode_gpus"] or o["gpus"] == o["replicas"] * cfg["gpus"]
        assert o["gpus"] <= 16  # one request/s of a 70B model never needs a 100-GPU unit
        assert o["ttft_ms"] <= 600 and o["tpot_ms"] <= 50


def test_recommend_human_output_and_tokens_per_day():
    r = invoke("recommend", *REC, "--tokens-per-day", "5e9")
    assert r.exit_code == 0, r.output
    assert "cheapest fleet per hardware" in r.stdout and "$/month" in r.stdout and "racks" in r.stdout


def test_recommend_budget_json():
    r = invoke("recommend", *REC, "--racks", "2", "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["budget"] == {"racks": 2}
    for o in d["options"]:
        assert o["gpus"] <= o["max_gpus"] and o["tokens_per_s"] > 0
    r = invoke("recommend", *REC, "--power-mw", "0.5")
    assert r.exit_code == 0 and "most tokens/s within the budget" in r.stdout


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--spare-replicas", "3"),
        ("--peak-to-average", "2"),
        ("--target-peak-utilization", "0.5"),
        ("--burst-factor", "2"),
    ],
)
def test_a_budget_refuses_the_headroom_of_a_demand(flag, value):
    """A budget fills the power or racks at full capacity: the demand's headroom flags were silently ignored (the
    same fleet with and without N+3 spares), so they are refused, naming the flag."""
    r = invoke("recommend", *REC, "--power-mw", "0.5", flag, value)
    assert r.exit_code == 2 and flag in r.output and "budget" in r.output, r.output


def test_two_budgets_name_their_flags():
    r = invoke("recommend", *REC, "--power-mw", "0.5", "--racks", "2")
    assert r.exit_code == 2 and "--power-mw" in r.output and "{" not in r.output


def test_recommend_bad_input():
    r = invoke("recommend", *REC)
    assert r.exit_code == 2 and "rate" in r.output  # no demand given
    r = invoke("recommend", *REC, "--rate", "5", "--racks", "2")
    assert r.exit_code == 2
    r = invoke("recommend", *REC[:-2], "--tpot-max-ms", "0.01", "--rate", "5")
    assert r.exit_code == 2 and "binding" in r.output


# ----------------------------------------------------------------------------------------------- narrow terminals
def _narrow(monkeypatch, width=80):
    monkeypatch.setattr(common.console, "_width", width)


def _table_lines(out: str) -> list[str]:
    return [ln for ln in out.splitlines() if ln.strip()]


def test_recommend_is_readable_at_80_columns(monkeypatch):
    """No cell is cut to an ellipsis: secondary columns are dropped, layouts wrap, the key figures stay whole."""
    _narrow(monkeypatch)
    args = [
        "--model",
        "llama-3.1-70b",
        "--hardware",
        "h100-sxm,mi300x",
        "--rate",
        "20",
        "--ttft-max-ms",
        "2000",
        "--tpot-max-ms",
        "50",
        "--weights",
        "fp8",
    ]
    d = json.loads(invoke("recommend", *args, "--json").stdout)
    r = invoke("recommend", *args)
    assert r.exit_code == 0, r.output
    assert "…" not in r.stdout
    assert all(len(ln) <= 80 for ln in r.stdout.splitlines())
    assert "weights fp8, KV fp8" in r.stdout
    for o in d["options"]:
        assert o["hardware"] in r.stdout
        assert f"{o['usd_per_month']:,.0f}" in r.stdout and F.num(o["usd_per_mtok_total"]) in r.stdout
        assert F.num(o["tpot_ms"]) in r.stdout
    r = invoke(
        "recommend",
        "--model",
        "llama-3.1-70b",
        "--hardware",
        "h100-sxm,mi300x",
        "--ttft-max-ms",
        "2000",
        "--racks",
        "1",
    )
    assert r.exit_code == 0 and "…" not in r.stdout and "weights bf16 (the checkpoint's), KV bf16" in r.stdout


def test_wide_shows_every_column_on_a_narrow_terminal(monkeypatch):
    _narrow(monkeypatch)
    r = invoke("recommend", *REC, "--rate", "5", "--wide")
    assert r.exit_code == 0, r.output
    for col in ("$/M in", "$/M out", "nodes", "racks", "MW", "replicas x GPUs", "util avg"):
        assert col in r.stdout, col
    assert "hidden to fit" not in r.stdout
    r = invoke("recommend", *REC, "--rate", "5")
    assert "hidden to fit 80 columns:" in r.stdout


def test_frontier_is_readable_at_80_columns(monkeypatch):
    _narrow(monkeypatch)
    d = json.loads(invoke("frontier", *BASE, "--json").stdout)
    r = invoke("frontier", *BASE)
    assert r.exit_code == 0, r.output
    assert "…" not in r.stdout and all(len(ln) <= 80 for ln in r.stdout.splitlines())
    assert "weights fp8, KV fp8" in r.stdout
    for p in d["points"]:  # GPUs, concurrency and $/M of every point are printed whole
        assert f"{p['config']['concurrency']:,}" in r.stdout and F.num(p["usd_per_mtok_total"]) in r.stdout
    t = d["tiers"]["premium"]
    assert F.num(t["tokens_per_s_per_user"]) in r.stdout
    assert "hidden to fit 80 columns:" in r.stdout and "--wide" in r.stdout  # the hidden columns are named


def test_wide_terminal_keeps_every_column():
    r = invoke("frontier", *BASE, "--mode", "agg")
    assert "out tok/s/GPU" in r.stdout and "tok/s per MW" in r.stdout and "$/M out" in r.stdout
    assert "hidden to fit" not in r.stdout
    r = invoke("recommend", *REC, "--rate", "5")
    for col in ("$/M in", "$/M out", "nodes", "racks", "MW", "replicas x GPUs", "util"):
        assert col in r.stdout


def test_recommend_json_states_the_cost_basis_and_precisions():
    r = invoke("recommend", *REC, "--rate", "5", "--json")
    d = json.loads(r.stdout)
    assert d["weights"] == ["fp8"] and d["kv"] == ["fp8"]
    assert "wall-clock" in d["cost_basis"]
    for o in d["options"]:
        if o["usd_per_month"] is not None:
            assert o["usd_per_month"] == pytest.approx(o["usd_per_gpu_hour_wallclock"] * o["gpus"] * 8766 / 12)
            assert o["usd_per_gpu_hour_busy"] >= o["usd_per_gpu_hour_wallclock"]
    f = json.loads(invoke("frontier", *BASE, "--mode", "agg", "--json").stdout)
    assert f["weights"] == ["fp8"] and f["kv"] == ["fp8"]


def test_an_engine_on_hardware_it_does_not_run_on_is_one_line_naming_the_flag():
    """TensorRT-LLM on an MI355X (or ATOM on an H100) is refused, not priced: exit 2, one line naming --engine, the
    vendor and the engines that run there; a per-hardware engine choice that fits every chip is accepted."""
    r = invoke("estimate", "--model", "llama-3.1-8b", "--hardware", "mi355x", "--engine", "trtllm", "--concurrency", 8)
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert "--engine" in r.output and "TensorRT-LLM" in r.output and "AMD" in r.output and "atom" in r.output
    r = invoke("frontier", "--model", "llama-3.1-8b", "--hardware", "h100-sxm,mi355x", "--engine", "atom")
    assert r.exit_code == 2 and "h100-sxm" in r.output and "ATOM" in r.output
    doc = invoke_json(
        "frontier",
        "--model",
        "llama-3.1-8b",
        "--hardware",
        "h100-sxm,mi355x",
        "--engine",
        "h100-sxm=trtllm,mi355x=atom",
    )
    by_hw = {(p["hardware"], p["config"]["engine"]) for p in doc["points"]}
    assert {e for h, e in by_hw if h == "h100-sxm"} == {"trtllm"} and {e for h, e in by_hw if h == "mi355x"} == {"atom"}


def test_disaggregated_only_with_an_engine_that_cannot_is_explained_not_called_a_memory_problem():
    """--mode disagg with TensorRT-LLM v0.14-0.17 (no disaggregation in engines.yaml) left nothing to sweep and was
    reported as 'does not fit on any evaluated configuration': now the error names --mode and the engines that do."""
    r = invoke(
        "frontier", "--model", "llama-3.1-8b", "--hardware", "h200-sxm", "--engine", "trtllm-legacy", "--mode", "disagg"
    )
    assert r.exit_code == 2 and "--mode" in r.output and "does not fit" not in r.output
    assert "trtllm-legacy on h200-sxm" in r.output and "dynamo-trtllm" in r.output


def test_a_prior_chip_is_labelled_prior_in_the_charts_and_the_tier_table():
    """The fresh-eyes audit: MI300X (no measurements) showed as 'mi300x (aggregated)' in the chart legend and bare in
    the tier table; now '(prior)' wherever it is drawn or listed, and the tier table carries the $/M band."""
    from tokenfab.render.plots import chart_data, pareto_traces

    doc = invoke_json("frontier", "--model", "llama-3.1-70b", "--hardware", "h100-sxm,mi300x", "--weights", "fp8")
    cd = chart_data(doc)
    labels = {s["hardware"]: s["label"] for s in cd["series"]}
    assert labels["mi300x"] == "mi300x (prior)" and labels["h100-sxm"] == "h100-sxm"
    names = {t["name"] for t in pareto_traces(cd["series"], {}) if t.get("mode") == "lines+markers"}
    assert any(n.startswith("mi300x (prior) (") for n in names)
    r = invoke("frontier", "--model", "llama-3.1-70b", "--hardware", "h100-sxm,mi300x", "--weights", "fp8", "--wide")
    tiers = r.output[r.output.index("token tiers") :].split("at 50 tokens/s")[0]
    assert "$/M p10-p90" in tiers
    for name in ("bulk", "goldilocks", "premium", "fastest"):  # every tier row names its chip as the JSON does
        tp = doc["tiers"].get(name)
        if tp:
            row = next(x for x in tiers.splitlines() if x.strip().startswith(name))
            assert (tp["hardware"] + (" (prior)" if tp["prior"] else "")) in row, row


def test_power_is_known_where_the_price_is_not():
    """MI355X has a cited system power and no public capex: a power budget was refused ("all-in kW per GPU unknown")
    and tokens/s per MW withheld, though neither needs a price. The budget is sized; its $/M stays unknown."""
    r = invoke("recommend", "--model", "gpt-oss-120b", "--hardware", "mi355x", "--power-mw", "5", "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert "mi355x" not in d["skipped"]
    o = d["options"][0]
    assert o["gpus"] > 0 and o["mw"] <= 5.0 + 1e-9 and o["usd_per_mtok_total"] is None
    f = invoke_json("frontier", "--model", "gpt-oss-120b", "--hardware", "mi355x")
    assert all(p["tokens_per_s_per_mw"] and p["usd_per_mtok_total"] is None for p in f["points"])


def test_a_budget_fleet_is_priced_at_full_load():
    """A budget's $/M is the fleet at full capacity: its $/GPU-hour is the TCO at utilization 1 (energy at full
    load), not at the 0.5 default a demand's fleet is billed at (2.7% low on GB200)."""
    from tokenfab.economics.tco import tco

    d = invoke_json("recommend", "--model", "gpt-oss-120b", "--hardware", "gb200-nvl72", "--power-mw", "10")
    o = d["options"][0]
    assert o["usd_per_gpu_hour_wallclock"] == pytest.approx(
        tco("gb200-nvl72", utilization=1.0).usd_per_gpu_hour_wallclock
    )
    assert o["usd_per_gpu_hour_wallclock"] > tco("gb200-nvl72").usd_per_gpu_hour_wallclock
