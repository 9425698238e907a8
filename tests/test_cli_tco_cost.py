"""``tokenfab tco`` and ``tokenfab cost`` through the real Typer app (JSON contract, tables, errors)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from _cli import invoke, invoke_json
from tokenfab.economics.tco import COMPONENTS

pytestmark = pytest.mark.usefixtures("wide_console")

runner = CliRunner()


# ---------------------------------------------------------------- tco
def test_tco_json_contract():
    d = invoke_json("tco", "--hardware", "gb200-nvl72")
    assert isinstance(d["usd_per_gpu_hour"], float) and d["usd_per_gpu_hour"] > 0
    assert set(COMPONENTS) <= set(d["breakdown"])
    assert all(isinstance(v, float) for v in d["breakdown"].values())
    assert sum(d["breakdown"].values()) == pytest.approx(d["usd_per_gpu_hour"])
    assert d["usd_per_gpu_hour"] == pytest.approx(d["usd_per_gpu_hour_wallclock"] / d["utilization"])
    assert sum(d["shares"].values()) == pytest.approx(1.0)
    assert d["preset"] == "owned-neocloud"
    assert d["it_kw_per_gpu"] == pytest.approx(120 / 72)
    assert d["sources"]["colocation_usd_per_kw_month"].find("CBRE") >= 0


def test_tco_table_is_sourced_and_says_default_preset():
    r = invoke("tco", "--hardware", "gb200-nvl72")
    assert r.exit_code == 0, r.output
    out = r.stdout
    for needle in (
        "owned-neocloud",
        "default",
        "capital",
        "energy",
        "hosting",
        "maintenance",
        "software",
        "share of life spend",
        "CBRE",
        "184.06",
        "[assumption]",
        "USD per kWh",
        "cost of capital (WACC)",
        "rule of thumb",
    ):
        assert needle in out, needle


def test_tco_flags_override_the_preset():
    base = invoke_json("tco", "--hardware", "h100-sxm")
    d = invoke_json(
        "tco",
        "--hardware",
        "h100-sxm",
        "--usd-per-kwh",
        "0.20",
        "--pue",
        "1.2",
        "--wacc",
        "0.05",
        "--life-years",
        "4",
        "--utilization",
        "0.9",
        "--capex-usd-per-gpu",
        "30000",
    )
    assert d["inputs"]["usd_per_kwh"] == 0.20 and d["inputs"]["pue"] == 1.2 and d["inputs"]["wacc"] == 0.05
    assert d["inputs"]["life_years"] == 4 and d["inputs"]["utilization"] == 0.9
    assert d["inputs"]["capex_usd_per_gpu"] == 30000 and d["sources"]["capex_usd_per_gpu"] == "user"
    assert d["usd_per_gpu_hour"] != base["usd_per_gpu_hour"]


def test_tco_plain_price_and_inferencex_preset():
    d = invoke_json("tco", "--hardware", "h100-sxm", "--usd-per-gpu-hour", "2.25")
    # a rented GPU-hour is paid busy or idle: at the one utilization default a busy hour costs price / u
    u = d["utilization"]
    assert u == pytest.approx(0.5) and "named default" in d["utilization_basis"]
    assert d["usd_per_gpu_hour_wallclock"] == pytest.approx(2.25) and d["method"] == "price"
    assert d["usd_per_gpu_hour"] == pytest.approx(2.25 / u)
    d = invoke_json("tco", "--hardware", "h100-sxm", "--usd-per-gpu-hour", "2.25", "--utilization", "1")
    assert d["usd_per_gpu_hour"] == pytest.approx(2.25)
    d = invoke_json("tco", "--hardware", "b200", "--preset", "inferencex-rental")
    assert d["usd_per_gpu_hour"] == pytest.approx(2.90) and d["all_in_kw_per_gpu"] == pytest.approx(2.17)


def test_rented_preset_takes_a_quoted_price_and_refuses_owned_cost_inputs():
    """A rented preset's cited price can be replaced by the price you are quoted (its error hint says so); an
    owned-cost input (capex, life, WACC) has no effect on a price per GPU-hour and is refused, not dropped (it was
    printed as the list price with capex, life and WACC silently ignored)."""
    d = invoke_json("tco", "--hardware", "h100-sxm", "--preset", "rent-on-demand", "--usd-per-gpu-hour", "2")
    assert d["usd_per_gpu_hour_wallclock"] == pytest.approx(2.0)
    for flag, value in (("--capex-usd-per-gpu", "10000"), ("--life-years", "3"), ("--wacc", "0.5")):
        r = invoke("tco", "--hardware", "h100-sxm", "--preset", "rent-on-demand", flag, value)
        assert r.exit_code == 2 and flag in r.output and "rent-on-demand" in r.output, r.output
        assert "owned-cost preset" not in r.output
    r = invoke("tco", "--hardware", "h100-sxm", "--preset", "owned-neocloud", "--usd-per-gpu-hour", "2")
    assert r.exit_code == 2 and "owned-cost preset 'owned-neocloud'" in r.output


# ---------------------------------------------------------------- cost
def test_cost_reproduces_inferencex_b200_point_json():
    # metrics.md: B200 DeepSeek-R1 at 13,429.7 tok/s/GPU, $1.95/GPU-h -> $0.0403/M tok, 6.19 M tok/s per MW
    d = invoke_json(
        "cost", "--hardware", "b200", "--preset", "inferencex-hyperscaler", "--tokens-per-s-per-gpu", "13429.7"
    )
    for key in ("usd_per_mtok_total", "tokens_per_s_per_mw", "joules_per_token"):
        assert isinstance(d[key], float), key
    assert round(d["usd_per_mtok_total"], 4) == 0.0403
    assert round(d["tokens_per_s_per_mw"] / 1e6, 2) == 6.19
    # a total alone has no input/output split: InferenceX's per-kind $/M (GPU-hour / input or output tokens/s) are
    # not defined from it (they were once shown equal to the total $/M, which is wrong by the split's factor)
    assert d["usd_per_mtok_input_inferencex"] is None and d["usd_per_mtok_output_inferencex"] is None
    assert d["tokens_per_s_per_gpu_input"] is None and d["tokens_per_s_per_gpu_output"] is None
    assert d["usd_per_mtok_input"] is None and d["per_kind_convention"] == "gpu-time"  # no prefill share given
    x = invoke_json(
        "cost",
        "--hardware",
        "b200",
        "--preset",
        "inferencex-hyperscaler",
        "--tokens-per-s-per-gpu",
        "13429.7",
        "--per-kind",
        "inferencex",
    )
    assert x["usd_per_mtok_input"] is None and x["usd_per_mtok_output"] is None
    assert any("--input-tokens-per-s-per-gpu" in n for n in x["notes"])
    assert d["joules_per_token"] == pytest.approx(2170 / 13429.7)
    assert d["tco"]["usd_per_gpu_hour"] == pytest.approx(1.95)
    assert d["preset"] == "inferencex-hyperscaler"


def test_cost_table_is_explained():
    r = invoke("cost", "--hardware", "b200", "--preset", "inferencex-hyperscaler", "--tokens-per-s-per-gpu", "13429.7")
    assert r.exit_code == 0, r.output
    for needle in (
        "0.04033",
        "6,188,802",
        "InferenceX",
        "cost per million tokens",
        "J/token",
        "prefill share of GPU time",
        "13,429.7",
        "utilization 1",
    ):
        assert needle in r.stdout, needle


def test_cost_default_preset_and_input_output_split():
    args = ("cost", "--hardware", "h100-sxm", "--input-tokens-per-s-per-gpu", "3000", "--output-tokens-per-s-per-gpu")
    d = invoke_json(*args, "1000")
    assert d["preset"] == "owned-neocloud"
    assert d["tokens_per_s_per_gpu_total"] == pytest.approx(4000)
    p = d["usd_per_gpu_hour"]
    assert d["usd_per_mtok_input_inferencex"] == pytest.approx(p / (3000 * 3600 / 1e6))
    assert d["usd_per_mtok_output_inferencex"] == pytest.approx(p / (1000 * 3600 / 1e6))
    assert d["usd_per_mtok_total"] == pytest.approx(p / (4000 * 3600 / 1e6))
    # with the prefill share of GPU time (30%): input = 0.3 p / (3000 x 3600 / 1e6), output = 0.7 p / (1000 x ...)
    d = invoke_json(*args, "1000", "--prefill-gpu-time-share", "0.3")
    assert d["usd_per_mtok_input"] == pytest.approx(0.3 * p / (3000 * 3600 / 1e6))
    assert d["usd_per_mtok_output"] == pytest.approx(0.7 * p / (1000 * 3600 / 1e6))
    assert (3000 * d["usd_per_mtok_input"] + 1000 * d["usd_per_mtok_output"]) == pytest.approx(
        4000 * d["usd_per_mtok_total"]
    )
    r = invoke("cost", "--hardware", "h100-sxm", "--tokens-per-s-per-gpu", "2000")
    assert "TCO owned-neocloud (default)" in r.stdout.splitlines()[0]


def test_cost_plain_price():
    d = invoke_json(
        "cost",
        "--hardware",
        "h100-sxm",
        "--usd-per-gpu-hour",
        "3.6",
        "--tokens-per-s-per-gpu",
        "1000",
        "--utilization",
        "1",
    )
    assert d["usd_per_mtok_total"] == pytest.approx(1.0)
    # at the default utilization (0.5) the idle half of the rented hours is paid by the served tokens
    d = invoke_json("cost", "--hardware", "h100-sxm", "--usd-per-gpu-hour", "3.6", "--tokens-per-s-per-gpu", "1000")
    assert d["usd_per_mtok_total"] == pytest.approx(2.0)


# ---------------------------------------------------------------- errors: one line, exit 2, field named
@pytest.mark.parametrize(
    "args,needle",
    [
        (("tco", "--hardware", "h100-sxm", "--utilization", "1.5"), "utilization"),
        (("tco", "--hardware", "h100-sxm", "--usd-per-kwh", "-0.1"), "--usd-per-kwh"),
        (("tco", "--hardware", "h100-sxm", "--usd-per-gpu-hour", "-2"), "--usd-per-gpu-hour"),
        (("tco", "--hardware", "h100-sxm", "--wacc", "1.2"), "wacc"),
        (("tco", "--hardware", "h100-sxm", "--preset", "owned-neoclod"), "owned-neocloud"),
        (("tco", "--hardware", "l40s", "--preset", "inferencex-neocloud"), "gb200-nvl72"),
        (("tco", "--hardware", "a100-sxm"), "--capex-usd-per-gpu"),
        (("tco", "--hardware", "h100-sxmm"), "h100-sxm"),
        (("cost", "--hardware", "h100-sxm"), "--tokens-per-s-per-gpu"),
        (("cost", "--hardware", "h100-sxm", "--input-tokens-per-s-per-gpu", "100"), "--output-tokens-per-s-per-gpu"),
        (("cost", "--hardware", "h100-sxm", "--tokens-per-s-per-gpu", "0"), "--tokens-per-s-per-gpu"),
        (("cost", "--hardware", "h100-sxm", "--tokens-per-s-per-gpu", "10", "--utilization", "0"), "utilization"),
    ],
)
def test_bad_input_is_one_clear_line(args, needle):
    r = invoke(*args)
    assert r.exit_code == 2, r.output
    assert needle in r.stderr
    assert "Traceback" not in r.output
    assert r.stderr.strip().startswith("error:")
