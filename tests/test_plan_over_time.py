"""Plan over time: a yearly token-price decline, a hardware generation change inside the plan, the prompt cache's KV
in HBM deducted and priced; breakeven and target-margin prices that differ from cost where they should."""

from __future__ import annotations

import numpy as np
import pytest

from test_scenario import BASE
from tokenfab.core import units
from tokenfab.planning import plan as P
from tokenfab.planning.scenario import ScenarioError, parse_scenario_text

PRICED = (
    BASE.replace("count: 1000", "count: 20000")
    .replace("hardware: [h100-sxm]", "hardware: [h100-sxm, b200]")
    .replace("horizon_months: 6", "horizon_months: 12")
    + "pricing:\n  usd_per_mtok_input: 0.3\n  usd_per_mtok_output: 0.6\n"
)


def test_price_factor_by_hand():
    """30% a year: after 12 months prices are 0.7x, after 6 months sqrt(0.7) = 0.8367x."""
    f = P.price_factor([0, 6, 12, 24], 30.0)
    assert f == pytest.approx([1.0, 0.7**0.5, 0.7, 0.49])
    assert P.price_factor([5], 0.0) == pytest.approx([1.0])


def test_yearly_price_decline_lowers_revenue_month_by_month():
    flat = P.plan(parse_scenario_text(PRICED), months=12, hardware=["h100-sxm"]).option("h100-sxm").monthly
    sc = parse_scenario_text(
        PRICED.replace("usd_per_mtok_output: 0.6\n", "usd_per_mtok_output: 0.6\n  yearly_price_decline_pct: 40\n")
    )
    m = P.plan(sc, months=12, hardware=["h100-sxm"]).option("h100-sxm").monthly
    f = P.price_factor(np.arange(12), 40.0)
    assert m["revenue_tokens_usd"] == pytest.approx(np.asarray(flat["revenue_tokens_usd"]) * f)
    assert m["cost_usd"] == pytest.approx(flat["cost_usd"])  # costs do not fall with prices
    assert "40% a year" in P.assumptions(sc)["price_decline"]
    with pytest.raises(ScenarioError) as e:
        parse_scenario_text(
            PRICED.replace("usd_per_mtok_output: 0.6\n", "usd_per_mtok_output: 0.6\n  yearly_price_decline_pct: 100\n")
        )
    assert e.value.field == "pricing.yearly_price_decline_pct"


def test_breakeven_is_per_billed_token_after_subscriptions_and_target_margin_prices_more():
    """Half the users pay $5 a month and are not billed per token: the per-token breakeven is (cost - subscriptions)
    / billed tokens, not cost / all tokens; the 30% margin price is (cost / 0.7 - subscriptions) / billed tokens."""
    txt = PRICED.replace(
        "    features: {chat: 1}\n",
        "    features: {chat: 1}\n  - name: subs\n    count: 20000\n    active_share: 0.5\n    sessions_per_day: 2\n"
        "    requests_per_session: 5\n    features: {chat: 1}\n    subscription_usd_per_month: 0.05\n",
    )
    res = P.plan(parse_scenario_text(txt), months=1, hardware=["h100-sxm"])
    m = res.option("h100-sxm").monthly
    B = res.demand.billed
    days = units.DAYS_PER_MONTH
    billed = (
        B["uncached_input_tokens_per_day"][0] + B["cached_input_tokens_per_day"][0] + B["output_tokens_per_day"][0]
    ) * days
    subs = res.demand.subscription_usd_per_month[0]
    cost = m["cost_usd"][0]
    assert subs == pytest.approx(20000 * 0.05) and 0 < subs < cost
    assert m["breakeven_usd_per_mtok"][0] == pytest.approx(max(cost - subs, 0) / billed * 1e6)
    assert m["price_at_target_margin_usd_per_mtok"][0] == pytest.approx(max(cost / 0.7 - subs, 0) / billed * 1e6)
    assert m["price_at_target_margin_usd_per_mtok"][0] > m["breakeven_usd_per_mtok"][0]
    assert m["breakeven_usd_per_mtok"][0] != pytest.approx(m["usd_per_mtok_blended"][0])
    assert m["target_gross_margin_pct"] == 30.0
    # no persona billed per token: no per-token breakeven price (None in JSON, not the cost)
    only_subs = txt.replace("  - name: users\n    count: 20000", "  - name: users\n    count: 0")
    m2 = P.plan(parse_scenario_text(only_subs), months=1, hardware=["h100-sxm"]).option("h100-sxm").monthly
    assert np.isnan(m2["breakeven_usd_per_mtok"][0])


TRANSITION = PRICED + "transitions:\n  - {month: 6, from_hardware: h100-sxm, to_hardware: b200}\n"


@pytest.fixture(scope="module")
def moved():
    return P.plan(parse_scenario_text(TRANSITION), months=12)


def test_hardware_transition_moves_the_fleet(moved):
    a, b = moved.option("h100-sxm"), moved.option("b200")
    t = next(h for h in moved.hardware if "->" in h.hardware)
    assert t.feasible and t.hardware.startswith("h100-sxm->b200@")
    g = np.asarray(t.monthly["gpus"])
    assert np.all(g[:6] == np.asarray(a.monthly["gpus"])[:6]) and np.all(g[6:] == np.asarray(b.monthly["gpus"])[6:])
    # the retired owned H100 fleet keeps its capital charge (its size at month 5 x the H100 capital $/GPU-hour)
    retired = t.monthly["retired_capital_usd"]
    want = a.monthly["gpus"][5] * a.tco["capital_usd_per_gpu_hour"] * units.HOURS_PER_MONTH
    assert np.all(retired[:6] == 0) and retired[6] == pytest.approx(want)
    assert t.monthly["cost_usd"][6] == pytest.approx(b.monthly["cost_usd"][6] + want)
    assert t.totals["cost_usd"] == pytest.approx(float(np.sum(t.monthly["cost_usd"])))
    assert t.tco["transition"]["month"] == 6


def test_sold_retired_fleet_stops_paying():
    sc = parse_scenario_text(TRANSITION.replace("to_hardware: b200}", "to_hardware: b200, retired_capital: sold}"))
    res = P.plan(sc, months=12)
    t = next(h for h in res.hardware if "->" in h.hardware)
    assert np.all(np.asarray(t.monthly["retired_capital_usd"]) == 0)
    b = res.option("b200")
    assert t.monthly["cost_usd"][9] == pytest.approx(b.monthly["cost_usd"][9])


def test_transition_is_validated():
    for bad, field in (
        ("from_hardware: mi300x", "transitions[0].from_hardware"),
        ("to_hardware: h100-sxm", "transitions[0].to_hardware"),
        ("month: 6", "transitions[0].month"),
    ):
        txt = TRANSITION
        if bad.startswith("month"):
            txt = txt.replace("month: 6", "month: 12")
        else:
            key = bad.split(":")[0]
            txt = txt.replace(f"{key}: {'h100-sxm' if key == 'from_hardware' else 'b200'}", bad)
        with pytest.raises(ScenarioError) as e:
            parse_scenario_text(txt)
        assert e.value.field == field


CACHED = PRICED.replace("    output_tokens: 200\n", "    output_tokens: 200\n    cached_prefix_share: 0.8\n").replace(
    "input_tokens: 1000", "input_tokens: 20000"
)


def test_prompt_cache_kv_is_deducted_from_hbm_and_priced():
    """The cache's KV in HBM (Little's law, tokenfab.economics.caching) gets GPUs of its own: ceil(KV GiB / HBM GiB
    per GPU), billed like the fleet and charged to cached input tokens."""
    res = P.plan(parse_scenario_text(CACHED), months=2, hardware=["h100-sxm"])
    h = res.option("h100-sxm")
    kv = res.caching[res.demand.workloads[0].key].kv_hbm_gib
    want = np.ceil(np.asarray(kv) / 80.0 - 1e-9).astype(int)  # H100: 80 GiB of HBM
    assert np.all(h.monthly["cache_gpus"] == want) and want[0] >= 1
    assert np.all(h.monthly["gpus"] == h.monthly["serving_gpus"] + h.monthly["cache_gpus"])
    cache_usd = h.monthly["cost_by_phase_usd"]["prompt_cache_hbm"]
    assert cache_usd[0] == pytest.approx(want[0] * h.tco["usd_per_gpu_hour_wallclock"] * units.HOURS_PER_MONTH)
    # off: no cache GPUs, cheaper cached input
    off = P.plan(
        parse_scenario_text(CACHED + "caching:\n  price_hbm: false\n"), months=2, hardware=["h100-sxm"]
    ).option("h100-sxm")
    assert np.all(off.monthly["cache_gpus"] == 0)
    assert off.monthly["usd_per_mtok_cached_input"][0] < h.monthly["usd_per_mtok_cached_input"][0]
