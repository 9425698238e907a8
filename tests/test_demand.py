"""Demand arithmetic checked by hand (tokenfab.planning.demand; the worked example of docs/demand.md)."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from test_scenario import BASE
from tokenfab.planning import demand as D
from tokenfab.planning.scenario import parse_scenario_text


def test_worked_example_by_hand():
    # 10,000 users x 0.5 active x 2 sessions x 5 requests = 50,000 requests/day
    sc = parse_scenario_text(BASE.replace("count: 1000", "count: 10000"))
    d = D.demand(sc)
    T = d.totals
    assert T["user_requests_per_day"][0] == pytest.approx(50_000)
    assert T["input_tokens_per_day"][0] == pytest.approx(50e6)
    assert T["output_tokens_per_day"][0] == pytest.approx(10e6)
    assert T["avg_requests_per_s"][0] == pytest.approx(50_000 / 86_400)  # 0.5787
    assert T["peak_requests_per_s"][0] == pytest.approx(2 * 50_000 / 86_400)  # 1.157
    assert len(d.workloads) == 1 and d.workloads[0].isl == 1000 and d.workloads[0].osl == 200


def test_features_rag_agentic_reasoning_cache():
    # the agent feature goes under features: (before diurnal:)
    text = BASE.replace("features: {chat: 1}", "features: {chat: 3, agent: 1}").replace(
        "diurnal:",
        "  agent:\n    kind: agentic\n    input_tokens: 2000\n    retrieved_context_tokens: 1000\n"
        "    output_tokens: 100\n    reasoning_tokens: 300\n    llm_calls_per_task: 10\n"
        "    cached_prefix_share: 0.75\ndiurnal:",
    )
    d = D.demand(parse_scenario_text(text))
    # 1000 x 0.5 x 2 x 5 = 5000 requests/day; the agent gets 1/4 = 1250 tasks -> 12,500 LLM calls
    a = d.by_feature["agent"]
    assert a["user_requests_per_day"][0] == pytest.approx(1250)
    assert a["llm_calls_per_day"][0] == pytest.approx(12_500)
    assert a["input_tokens_per_day"][0] == pytest.approx(12_500 * 3000)  # input + retrieved
    assert a["cached_input_tokens_per_day"][0] == pytest.approx(12_500 * 3000 * 0.75)
    assert a["output_tokens_per_day"][0] == pytest.approx(12_500 * 400)  # output + reasoning
    assert a["reasoning_tokens_per_day"][0] == pytest.approx(12_500 * 300)
    assert d.by_feature["chat"]["user_requests_per_day"][0] == pytest.approx(3750)
    assert len(d.workloads) == 2
    w = next(w for w in d.workloads if "agent" in w.features)
    assert (w.isl, w.osl, w.prefix_hit_rate) == (3000, 400, pytest.approx(0.75))
    # persona totals equal feature totals
    assert d.by_persona["users"]["total_tokens_per_day"][0] == pytest.approx(d.totals["total_tokens_per_day"][0])


def test_monthly_growth_by_hand():
    assert D.monthly_growth_multiplier(2, 10) == pytest.approx(1.21)
    assert D.monthly_growth_multiplier(0, 50) == 1.0
    sc = parse_scenario_text(BASE + "growth:\n  monthly_growth_pct: 10\n")
    d = D.demand(sc)
    assert d.total_users[3] == pytest.approx(1000 * 1.331)
    assert d.totals["total_tokens_per_day"][3] == pytest.approx(d.totals["total_tokens_per_day"][0] * 1.331)


def test_s_curve_starts_at_one_and_saturates():
    g = D.logistic_growth_multiplier(np.array([0, 12, 1000]), 12, 0.5, 10)
    assert g[0] == pytest.approx(1.0)
    assert g[2] == pytest.approx(10.0)
    # midpoint: 1 + 9 (0.5 - s0) / (1 - s0), s0 = sigmoid(-6)
    s0 = 1 / (1 + math.exp(6))
    assert g[1] == pytest.approx(1 + 9 * (0.5 - s0) / (1 - s0))


@settings(max_examples=30, deadline=None)
@given(st.floats(0.1, 10), st.floats(0.01, 2), st.floats(1.5, 50))
def test_s_curve_is_monotone_and_bounded(m0, k, s):
    g = D.logistic_growth_multiplier(np.linspace(0, 60, 61), m0, k, s)
    assert np.all(np.diff(g) >= -1e-9) and g[0] == pytest.approx(1.0) and g.max() <= s + 1e-9


@settings(max_examples=20, deadline=None)
@given(st.floats(1, 1e7), st.floats(1.0001, 100))
def test_tokens_scale_linearly_with_users(users, factor):
    sc1 = parse_scenario_text(BASE.replace("count: 1000", f"count: {users}"))
    sc2 = parse_scenario_text(BASE.replace("count: 1000", f"count: {users * factor}"))
    t1 = D.demand(sc1).totals["total_tokens_per_day"][0]
    t2 = D.demand(sc2).totals["total_tokens_per_day"][0]
    assert t2 == pytest.approx(t1 * factor, rel=1e-9)


def test_peak_to_average_of_hourly_weights():
    w = [1.0] * 23 + [25.0]  # mean 2, max 25
    assert D.peak_to_average_ratio(w) == pytest.approx(12.5)
    sc = parse_scenario_text(BASE.replace("  peak_to_average: 2", f"  hourly_weights: {w}"))
    assert D.scenario_peak_to_average(sc) == pytest.approx(12.5)


def test_batch_runs_flat():
    text = BASE.replace("kind: chat", "kind: batch")
    d = D.demand(parse_scenario_text(text))
    assert d.workloads[0].peak_to_average == 1.0
    assert d.workloads[0].tier == "bulk"


def test_distribution_quantiles():
    from tokenfab.planning.scenario import TokenDist

    ln = TokenDist(mean=1000, distribution="lognormal", cv=1.0)
    # lognormal median = mean / sqrt(1 + cv^2)
    assert D.dist_quantile(ln, 0.5) == pytest.approx(1000 / math.sqrt(2))
    assert D.dist_quantile(TokenDist(mean=100, distribution="exponential"), 0.5) == pytest.approx(100 * math.log(2))
    assert D.dist_mean(TokenDist(distribution="uniform", min=100, max=300)) == 200
