"""CLI: `tokenfab prices` and `tokenfab sensitivity` JSON contracts, tables, charts and one-line errors (exit 2)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from tokenfab.cli.main import app
from tokenfab.economics import cost as costmod
from tokenfab.economics import tco as tcomod

runner = CliRunner()


def run(*args):
    return runner.invoke(app, list(args))


def run_json(*args):
    r = run(*args, "--json")
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def assert_user_error(r, *needles):
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output
    for n in needles:
        assert n in r.output


# ----------------------------------------------------------------------------------------------- prices
def test_prices_json_contract():
    d = run_json("prices", "--model", "llama-3.3-70b", "--hardware", "h100-sxm", "--provider", "together,groq")
    assert d["model"] == "llama-3.3-70b" and d["kind"] == "open" and d["modeled_model"] == "llama-3.3-70b"
    assert {p["provider"] for p in d["prices"]} == {"together", "groq"}
    for p in d["prices"]:
        assert {
            "input_usd_per_mtok",
            "cached_input_usd_per_mtok",
            "output_usd_per_mtok",
            "match",
            "source",
            "as_of",
        } <= set(p)
    assert set(d["operating_points"]["h100-sxm"]) == {"goldilocks", "bulk"}
    assert len(d["comparisons"]) == 4
    for row in d["comparisons"]:
        assert {
            "provider",
            "hardware",
            "tier",
            "what_is_compared",
            "workload",
            "input",
            "output",
            "cached_input",
            "blended_3to1",
            "verdict",
            "modeled_usd_per_mtok",
        } <= set(row)
        w = row["workload"]
        assert w["margin_usd_per_mtok"] == pytest.approx(w["price_usd_per_mtok"] - w["cost_usd_per_mtok"])
        assert row["verdict"] in d["verdicts"]


def test_prices_table_says_what_is_compared():
    r = run("prices", "--model", "gpt-4o", "--hardware", "h100-sxm", "--tier", "bulk")
    assert r.exit_code == 0, r.output
    assert "stand-in" in r.output and "llama-3.1-405b" in r.output
    assert "Gross margin" in r.output and "verdict" in r.output


def test_prices_list():
    d = run_json("prices", "--list")
    assert "llama-3.3-70b" in d["open"] and d["closed"]["gpt-4o"]["stand_in"] == "llama-3.1-405b"


@pytest.mark.parametrize(
    "args,needles",
    [
        (("--model", "gpt4o"), ("unknown model", "gpt-4o")),
        (("--model", "qwen3-8b"), ("no provider price data",)),
        (("--model", "llama-3.3-70b", "--provider", "anthropic"), ("provider",)),
        (("--model", "llama-3.3-70b", "--tier", "fast"), ("tier",)),
        (("--model", "llama-3.3-70b", "--hardware", "h1000"), ("hardware",)),
        ((), ("no model given",)),
    ],
)
def test_prices_errors(args, needles):
    assert_user_error(run("prices", *args), *needles)


# ----------------------------------------------------------------------------------------------- sensitivity
def test_sensitivity_json_contract_and_base():
    d = run_json("sensitivity", "--hardware", "h100-sxm", "--tokens-per-s-per-gpu", "1500", "--utilization", "0.6")
    t = d["tornado"]
    assert {"base_usd_per_mtok", "swing_pct", "bars"} <= set(t)
    direct = costmod.usd_per_mtok(tcomod.tco("h100-sxm", utilization=0.6).usd_per_gpu_hour, 1500)
    assert t["base_usd_per_mtok"] == pytest.approx(direct, rel=1e-12)
    u = next(b for b in t["bars"] if b["input"] == "utilization")
    assert u["base_value"] == 0.6
    assert d["monte_carlo"] is None and d["operating_point"] is None


def test_sensitivity_from_model_tier_and_monte_carlo_reproducible():
    args = (
        "sensitivity",
        "--hardware",
        "h100-sxm",
        "--model",
        "llama-3.1-8b",
        "--tier",
        "bulk",
        "--monte-carlo",
        "2000",
        "--seed",
        "5",
        "--price-usd-per-mtok",
        "0.2",
        "--swing",
        "10",
    )
    a, b = run_json(*args), run_json(*args)
    op = a["operating_point"]
    assert op["tier"] == "bulk" and a["tornado"]["tokens_per_s_per_gpu"] == op["total_tokens_per_s_per_gpu"]
    assert a["tornado"]["base_usd_per_mtok"] == pytest.approx(op["usd_per_mtok_total"], rel=1e-9)
    assert a["tornado"]["swing_pct"] == 10
    mc = a["monte_carlo"]
    assert mc["n"] == 2000 and mc["seed"] == 5
    assert mc["percentiles_usd_per_mtok"] == b["monte_carlo"]["percentiles_usd_per_mtok"]
    p = mc["percentiles_usd_per_mtok"]
    assert p["p5"] <= p["p50"] <= p["p95"]
    assert 0.0 <= mc["probability_of_loss"] <= 1.0


def test_sensitivity_table_and_plots(tmp_path):
    png, html = tmp_path / "t.png", tmp_path / "t.html"
    r = run(
        "sensitivity",
        "--hardware",
        "b200",
        "--tokens-per-s-per-gpu",
        "3000",
        "--monte-carlo",
        "500",
        "--plot",
        str(png),
    )
    assert r.exit_code == 0, r.output
    assert "Tornado" in r.output and "Monte Carlo" in r.output and "p95" in r.output
    assert png.stat().st_size > 10_000 and png.read_bytes()[:4] == b"\x89PNG"
    d = run_json("sensitivity", "--hardware", "b200", "--tokens-per-s-per-gpu", "3000", "--plot", str(html))
    assert d["plot"] == str(html)
    text = html.read_text()
    assert "What moves the cost" in text and "plotly" in text.lower()


@pytest.mark.parametrize(
    "args,needles",
    [
        (("--hardware", "h100-sxm"), ("give the throughput or a model",)),
        (("--hardware", "h100-sxm", "--tokens-per-s-per-gpu", "10", "--model", "llama-3.1-8b"), ("not both",)),
        (("--hardware", "h100-sxm", "--tokens-per-s-per-gpu", "10", "--price-usd-per-mtok", "1"), ("--monte-carlo",)),
        (("--hardware", "h100-sxm", "--tokens-per-s-per-gpu", "10", "--swing", "150"), ("--swing",)),
        (("--hardware", "h100-sxm", "--tokens-per-s-per-gpu", "-3"), ("--tokens-per-s-per-gpu",)),
        (("--hardware", "h100-sxm", "--tokens-per-s-per-gpu", "10", "--plot", "x.gif"), ("plot",)),
        (("--hardware", "h100-sxm", "--tokens-per-s-per-gpu", "10", "--utilization", "1.5"), ("utilization",)),
        (("--hardware", "h100-sxm", "--model", "llama-3.1-8b", "--tier", "fast"), ("tier",)),
        (("--hardware", "h100-sxm", "--tokens-per-s-per-gpu", "10", "--preset", "cheap"), ("preset",)),
    ],
)
def test_sensitivity_errors(args, needles):
    assert_user_error(run("sensitivity", *args), *needles)


def test_prices_fits_80_columns_by_hiding_columns_not_folding_numbers(monkeypatch):
    """At 80 columns the price tables squeezed to 1-3 characters and wrapped prices vertically ("0 . 8 8 0"): now
    secondary columns go (named under the table) and every price and margin band stays whole; --wide shows all."""
    from tokenfab.cli import common

    monkeypatch.setattr(common.console, "_width", 80)
    r = run("prices", "--model", "llama-3.3-70b", "--hardware", "h100-sxm,b200")
    assert r.exit_code == 0, r.output
    d = json.loads(run("prices", "--model", "llama-3.3-70b", "--hardware", "h100-sxm,b200", "--json").stdout)
    lines = r.output.splitlines()
    assert max(len(x) for x in lines) <= 80
    for pr in d["prices"][:3]:  # each list price is printed whole on its provider's line
        row = next(x for x in lines if x.strip().startswith(pr["provider"]))
        assert f"{pr['input_usd_per_mtok']:.3f}" in row
    assert "hidden to fit 80 columns" in r.output
    w = run("prices", "--model", "llama-3.3-70b", "--hardware", "h100-sxm,b200", "--wide")
    assert w.exit_code == 0 and "hidden to fit" not in w.output and "blended 3:1 margin" in w.output
