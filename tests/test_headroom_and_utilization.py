"""Fleet headroom (burst factor, target peak utilization, N+1) and the one utilization concept: the same demand gives
the same $/M tokens in `tokenfab plan`, `tokenfab recommend` and `tokenfab prices --plan`."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from test_scenario import BASE
from tokenfab.api import plan_operating_points, price_check_at_plan
from tokenfab.cli.main import app
from tokenfab.core.errors import TokenfabError
from tokenfab.economics import assumptions as econ
from tokenfab.planning import fleet
from tokenfab.planning import plan as P
from tokenfab.planning.scenario import ScenarioError, parse_scenario_text

runner = CliRunner()


# ----------------------------------------------------------------------------------------------- pure arithmetic
def test_burst_factor_by_hand():
    """Poisson arrivals (CV 1), a 60 s window, the 99th percentile: z = 2.3263; at 1 request/s the minute holds 60
    requests on average, so the p99 minute is 1 + 2.3263 / sqrt(60) = 1.3003 times the mean rate; at 100 requests/s
    1 + 2.3263 / sqrt(6000) = 1.0300. CV 2 (burstier, Gamma) doubles the excess."""
    assert fleet.burst_factor(1.0) == pytest.approx(1 + 2.326348 / math.sqrt(60), rel=1e-6)
    assert fleet.burst_factor(100.0) == pytest.approx(1 + 2.326348 / math.sqrt(6000), rel=1e-6)
    assert fleet.burst_factor(1.0, cv=2.0) - 1 == pytest.approx(2 * (fleet.burst_factor(1.0) - 1))
    assert fleet.burst_factor(0.0) == 1.0
    # sizing rate = peak x burst / target peak utilization: 10 rps, burst 1.2 (given), target 0.8 -> 15 rps
    hr = fleet.Headroom.make(burst_factor=1.2, target_peak_utilization=0.8)
    assert hr.sizing_rate(10.0) == pytest.approx(15.0)
    assert fleet.NO_HEADROOM.sizing_rate(7.0) == pytest.approx(7.0) and fleet.NO_HEADROOM.spare_replicas == 0


@settings(max_examples=60, deadline=None)
@given(st.floats(1e-3, 1e5), st.floats(1e-3, 1e5))
def test_burst_factor_falls_toward_one_as_rate_rises(a, b):
    lo, hi = sorted((a, b))
    assert 1.0 <= fleet.burst_factor(hi) <= fleet.burst_factor(lo)


def test_named_defaults_are_cited():
    d = fleet.Headroom()
    assert d.target_peak_utilization == econ.TARGET_PEAK_UTILIZATION == 0.8
    assert d.spare_replicas == 1 and d.arrival_cv == 1.0
    for k in (
        "target_peak_utilization",
        "burst_window_s",
        "burst_percentile",
        "arrival_cv",
        "spare_replicas_per_group",
    ):
        f = econ.figure("headroom", k)
        assert f["source"] and f["as_of"] and f["unit"], k
    assert "theneuralbase.com" in econ.cite("headroom", "target_peak_utilization")


@pytest.mark.parametrize(
    "kw,field",
    [
        ({"target_peak_utilization": 0.0}, "target_peak_utilization"),
        ({"target_peak_utilization": 1.5}, "target_peak_utilization"),
        ({"target_peak_utilization": float("nan")}, "target_peak_utilization"),
        ({"burst_factor": 0.5}, "burst_factor"),
        ({"burst_factor": float("inf")}, "burst_factor"),
        ({"spare_replicas": -1}, "spare_replicas"),
        ({"spare_replicas": 2.5}, "spare_replicas"),
        ({"arrival_cv": -1.0}, "arrival_cv"),
    ],
)
def test_bad_headroom_names_the_field(kw, field):
    with pytest.raises(TokenfabError) as e:
        fleet.Headroom.make(**kw)
    assert e.value.field == field


# ----------------------------------------------------------------------------------------------- recommend
KW = {"isl": 1024, "osl": 1024, "ttft_max_ms": 2000.0, "tpot_max_ms": 50.0, "weights": "fp8", "usd_per_gpu_hour": 2.0}


def test_recommend_sizes_for_the_peak_with_headroom_and_reports_utilization():
    """20 requests/s average, busiest hour 1.5x: peak 30 rps; burst 1 + 2.3263 / sqrt(1800); / 0.8; + 1 replica."""
    rep = fleet.recommend_report("llama-3.1-8b", ["h100-sxm"], rate_rps=20.0, peak_to_average=1.5, mode="agg", **KW)
    o = rep.options[0]
    burst = 1 + 2.326348 / math.sqrt(30 * 60)
    assert o.peak_requests_per_s == pytest.approx(30.0)
    assert o.burst_factor == pytest.approx(burst, rel=1e-6)
    assert o.sizing_requests_per_s == pytest.approx(30.0 * burst / 0.8, rel=1e-6)
    per_replica = o.capacity_requests_per_s / o.replicas
    assert o.replicas == math.ceil(o.sizing_requests_per_s / per_replica - 1e-9) + 1  # N+1
    assert o.utilization_avg == pytest.approx(20.0 / o.capacity_requests_per_s)
    assert o.utilization_peak == pytest.approx(30.0 / o.capacity_requests_per_s)
    assert o.utilization_peak <= 0.8
    assert o.utilization == o.utilization_avg  # the old field keeps its meaning: average demand / capacity
    assert rep.to_dict()["headroom"]["spare_replicas_per_group"] == 1
    # without headroom the same demand needs fewer GPUs, run hotter
    bare = fleet.recommend_report(
        "llama-3.1-8b", ["h100-sxm"], rate_rps=20.0, peak_to_average=1.5, mode="agg", headroom=fleet.NO_HEADROOM, **KW
    ).options[0]
    assert bare.gpus < o.gpus and bare.utilization_peak > o.utilization_peak
    # $/M tokens always divide the bill by the average demand's tokens
    mtok = 20.0 * 2048 * 3600 * (8766 / 12) / 1e6
    assert o.usd_per_mtok_total == pytest.approx(o.usd_per_month / mtok)


def test_recommend_cli_headroom_flags_and_columns():
    args = ["recommend", "-m", "llama-3.1-8b", "--hardware", "h100-sxm", "--rate", "5", "--weights", "fp8"]
    r = runner.invoke(app, args + ["--json"])
    assert r.exit_code == 0, r.output
    import json

    d = json.loads(r.stdout)
    o = d["options"][0]
    assert o["utilization_peak"] <= 0.8 + 1e-9 and "utilization_avg" in o and d["headroom"]["target_peak_utilization"]
    flags = ["--target-peak-utilization", "1", "--burst-factor", "1", "--spare-replicas", "0"]
    r = runner.invoke(app, args + flags, env={"COLUMNS": "220"})
    assert r.exit_code == 0 and "util peak" in r.stdout and "N+1" in r.stdout
    r = runner.invoke(app, args + ["--target-peak-utilization", "1.5"])
    assert r.exit_code == 2 and "--target-peak-utilization" in r.output  # the flag as the user typed it


# ----------------------------------------------------------------------------------------------- the plan
FLAT = (
    BASE.replace("count: 1000", "count: 30000")
    .replace("horizon_months: 6", "horizon_months: 2")
    .replace("diurnal:\n  peak_to_average: 2", "diurnal:\n  peak_to_average: 1.5\ngrowth: {kind: none}")
)


@pytest.fixture(scope="module")
def flat_plan():
    return P.plan(parse_scenario_text(FLAT), months=1)


def test_plan_reports_average_and_peak_utilization(flat_plan):
    h = flat_plan.option("h100-sxm")
    mo = h.monthly
    wl = h.workloads[0]
    assert mo["fleet_utilization_peak"][0] == pytest.approx(1.5 * mo["fleet_utilization"][0])
    assert mo["fleet_utilization_peak"][0] <= econ.TARGET_PEAK_UTILIZATION + 1e-9
    assert wl["utilization_avg"][0] == pytest.approx(mo["fleet_utilization"][0])
    assert wl["burst_factor"][0] > 1.0 and wl["sizing_requests_per_s"][0] > wl["peak_requests_per_s"][0]
    sm = flat_plan.summary()
    assert sm["fleet_utilization"] == pytest.approx(float(mo["fleet_utilization"][0]))
    assert any("busiest hour" in x and "%" in x for x in sm["sentences"])


def test_same_demand_same_cost_in_plan_recommend_and_prices(flat_plan):
    """One demand (30,000 users: 1.7361 requests/s average, 2.6 at peak, 1000/200 tokens), one TCO, one headroom:
    the fleet-only $/M tokens of the plan's month, recommend's $/M total and prices' modeled $/M at the plan's
    operating point and utilization are the same number."""
    sc = parse_scenario_text(FLAT)
    h = flat_plan.option("h100-sxm")
    d = flat_plan.demand
    w = d.workloads[0]
    avg = float(d.load[w.key]["avg_requests_per_s"][0])
    tokens_month = float(d.totals["total_tokens_per_day"][0]) * (365.25 / 12)
    plan_usd_per_mtok = float(h.monthly["gpu_cost_usd"][0]) / tokens_month * 1e6
    o = fleet.recommend(
        w.model,
        ["h100-sxm"],
        rate_rps=avg,
        peak_to_average=1.5,
        isl=int(w.isl),
        osl=int(w.osl),
        ttft_max_ms=w.ttft_max_ms,
        tpot_max_ms=w.tpot_max_ms,
        prefix_hit_rate=w.prefix_hit_rate,
    )[0]
    assert o.gpus == int(h.monthly["gpus"][0])
    assert o.usd_per_mtok_total == pytest.approx(plan_usd_per_mtok, rel=1e-9)
    assert o.utilization_avg == pytest.approx(float(h.monthly["fleet_utilization"][0]), rel=1e-9)
    ops = plan_operating_points(flat_plan, month=0)
    pt = ops["points"]["h100-sxm"]
    assert pt["utilization"] == pytest.approx(o.utilization_avg, rel=1e-9)
    assert pt["usd_per_mtok_total"] == pytest.approx(plan_usd_per_mtok, rel=1e-9)
    r = price_check_at_plan(sc, months=1, provider="groq")
    row = next(x for x in r.rows if x["hardware"] == "h100-sxm")
    assert row["modeled_usd_per_mtok"]["total"] == pytest.approx(plan_usd_per_mtok, rel=1e-9)
    # and the per-kind split of prices adds up to that total at the plan's token mix (1000 in : 200 out)
    m = row["modeled_usd_per_mtok"]
    assert (1000 * m["input"] + 200 * m["output"]) / 1200 == pytest.approx(m["total"], rel=1e-9)
    assert any("average fleet utilization" in n for n in r.notes)


def test_prices_plan_cli(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text(FLAT)
    r = runner.invoke(
        app, ["prices", "--plan", str(p), "--plan-months", "1", "--provider", "groq"], env={"COLUMNS": "200"}
    )
    assert r.exit_code == 0, r.output
    assert "bundled data as of" in r.stdout and "plan " in r.stdout and "average fleet utilization" in r.stdout


def test_scenario_headroom_block_is_validated_and_used():
    sc = parse_scenario_text(FLAT + "headroom:\n  target_peak_utilization: 1\n  burst_factor: 1\n  spare_replicas: 0\n")
    bare = P.plan(sc, months=1).option("h100-sxm").monthly
    default = P.plan(parse_scenario_text(FLAT), months=1).option("h100-sxm").monthly
    assert bare["gpus"][0] < default["gpus"][0]
    assert bare["fleet_utilization_peak"][0] > default["fleet_utilization_peak"][0]
    with pytest.raises(ScenarioError) as e:
        parse_scenario_text(FLAT + "headroom:\n  target_peak_utilization: 0\n")
    assert e.value.field == "headroom.target_peak_utilization"
    with pytest.raises(ScenarioError) as e:
        parse_scenario_text(FLAT + "headroom:\n  burst_factor: .inf\n")
    assert e.value.field == "headroom.burst_factor"


def test_prices_default_utilization_is_the_one_named_default():
    from tokenfab.economics import tco
    from tokenfab.market import pricing

    r = pricing.price_check("llama-3.1-8b", "h100-sxm", provider="groq", tiers=["bulk"])
    p = r.operating_points["h100-sxm"]["bulk"]
    t = tco.tco("h100-sxm")
    assert p["usd_per_gpu_hour"] == pytest.approx(t.usd_per_gpu_hour_wallclock / tco.default_utilization())
    r2 = pricing.price_check("llama-3.1-8b", "h100-sxm", provider="groq", tiers=["bulk"], utilization=0.25)
    assert r2.operating_points["h100-sxm"]["bulk"]["usd_per_gpu_hour"] == pytest.approx(
        tco.tco("h100-sxm", utilization=0.25).usd_per_gpu_hour
    )
    assert any("utilization 0.25" in n for n in r2.notes)
    with pytest.raises(TokenfabError) as e:
        pricing.price_check("llama-3.1-8b", "h100-sxm", utilization=1.2)
    assert e.value.field == "utilization"


def test_plan_per_kind_costs_add_up_to_the_month(flat_plan):
    h = flat_plan.option("h100-sxm")
    m = h.monthly
    T = flat_plan.demand.totals
    days = 365.25 / 12
    back = (
        (
            T["uncached_input_tokens_per_day"][0] * m["usd_per_mtok_input"][0]
            + T["cached_input_tokens_per_day"][0] * m["usd_per_mtok_cached_input"][0]
            + T["output_tokens_per_day"][0] * m["usd_per_mtok_output"][0]
        )
        * days
        / 1e6
    )
    assert back == pytest.approx(float(m["cost_usd"][0]), rel=1e-9)
    # decode (output) carries the larger share of the GPU time for a chat workload, so output tokens cost more
    assert m["usd_per_mtok_output"][0] > m["usd_per_mtok_input"][0]
    assert np.all(np.asarray(m["cost_by_phase_usd"]["prefill"]) > 0)
