"""Business planning (tokenfab.planning.plan): cost allocation and breakeven algebra by hand, the fleet engine wiring
(agrees with tokenfab.planning.fleet.recommend), and the plan end to end."""

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from test_scenario import BASE
from tokenfab.cli.common import to_jsonable
from tokenfab.core import units
from tokenfab.core.errors import TokenfabError
from tokenfab.planning import fleet
from tokenfab.planning import plan as P
from tokenfab.planning.demand import Workload
from tokenfab.planning.scenario import parse_scenario_text

PRICED = (
    BASE.replace("count: 1000", "count: 200000")
    + """\
growth:
  monthly_growth_pct: 20
pricing:
  usd_per_mtok_input: 0.5
  usd_per_mtok_cached_input: 0.05
  usd_per_mtok_output: 2.0
fixed_costs_usd_per_month: 10000
"""
)


# ---------------------------------------------------------------------------------------------- algebra
def test_allocate_cost_by_hand():
    # cost 1000 $ over 1e6 uncached input, 2e6 cached (w 0.1), 0.5e6 output (w 4): c = 1000 / (1e6 + 0.2e6 + 2e6)
    c_in, c_cached, c_out = P.allocate_cost(1000.0, 1e6, 2e6, 0.5e6, cached_weight=0.1, output_weight=4.0)
    c = 1000.0 / 3.2e6 * 1e6
    assert (c_in, c_cached, c_out) == (pytest.approx(c), pytest.approx(0.1 * c), pytest.approx(4 * c))


@settings(max_examples=50, deadline=None)
@given(
    st.floats(0, 1e9), st.floats(0, 1e12), st.floats(0, 1e12), st.floats(1, 1e12), st.floats(0, 1), st.floats(0.1, 10)
)
def test_allocated_costs_add_back(cost, unc, cac, out, wc, wo):
    a, b, c = P.allocate_cost(cost, unc, cac, out, cached_weight=wc, output_weight=wo)
    assert (unc * a + cac * b + out * c) / units.MTOK == pytest.approx(cost, rel=1e-9, abs=1e-9)


def test_revenue_margin_breakeven_by_hand():
    rev = P.token_revenue_usd(
        2e6, 1e6, 1e6, usd_per_mtok_input=1.0, usd_per_mtok_cached_input=0.1, usd_per_mtok_output=4.0
    )
    assert rev == pytest.approx(2 + 0.1 + 4)
    m, pct = P.gross_margin(100.0, 80.0)
    assert (m, pct) == (pytest.approx(20.0), pytest.approx(20.0))
    assert np.isnan(P.gross_margin(0.0, 5.0)[1])
    assert P.breakeven_usd_per_mtok(50.0, 25e6) == pytest.approx(2.0)
    # cost 100, subscriptions 40, per-token revenue 30: prices must rise 2x
    assert P.breakeven_price_multiple(100.0, 40.0, 30.0) == pytest.approx(2.0)


def test_breakeven_users_linear():
    assert P.breakeven_users_linear(1000.0, 10.0, 6.0) == pytest.approx(250.0)
    assert P.breakeven_users_linear(1000.0, 5.0, 6.0) is None


# ---------------------------------------------------------------------------------------------- fleet wiring
def _workload(hit=0.0, isl=1000, osl=200, tpot=50.0):
    return Workload(
        key="w",
        model="llama-3.1-8b",
        tier="goldilocks",
        isl=isl,
        osl=osl,
        ttft_max_ms=2000.0,
        tpot_max_ms=tpot,
        peak_to_average=2.0,
        prefix_hit_rate=hit,
        features=("chat",),
    )


@pytest.mark.parametrize("rate", [0.5, 7.0, 300.0])
def test_fleet_at_rates_matches_fleet_recommend(rate):
    fr = P.workload_frontier(_workload(), ("h100-sxm",))
    cap = P.capacity_options(fr.sweep, 0)
    mine = int(P.fleet_at_rates(cap, [rate])["gpus"][0])
    ref = fleet.recommend(
        "llama-3.1-8b",
        ["h100-sxm"],
        rate_rps=rate,
        isl=1000,
        osl=200,
        ttft_max_ms=2000.0,
        tpot_max_ms=50.0,
        usd_per_gpu_hour=1.0,
        headroom=fleet.NO_HEADROOM,  # fleet_at_rates sizes at the rate it is given
    )
    assert mine == ref[0].gpus


# llama-3.1-70b at 8 requests/s on mi300x: a composed disaggregated fleet (5 GPUs at the time of writing) needs fewer
# GPUs than any whole replica (7); checked by the assertions below, not pinned.
BIG = dict(model="llama-3.1-70b", isl=1024, osl=256, ttft_max_ms=2000.0, tpot_max_ms=50.0)


def _big_workload(hit=0.0):
    return Workload(
        key="w",
        model=BIG["model"],
        tier="goldilocks",
        isl=BIG["isl"],
        osl=BIG["osl"],
        ttft_max_ms=BIG["ttft_max_ms"],
        tpot_max_ms=BIG["tpot_max_ms"],
        peak_to_average=2.0,
        prefix_hit_rate=hit,
        features=("chat",),
    )


@pytest.mark.parametrize(
    "hw,rate,hit",
    [
        ("mi300x", 8.0, 0.0),
        ("mi300x", 20.0, 0.0),
        ("h100-sxm", 20.0, 0.0),
        ("h100-sxm", 3.0, 0.0),
        ("mi300x", 8.0, 0.6),
    ],
)
def test_plan_fleet_equals_recommend_including_composed(hw, rate, hit):
    cands = P.capacity_options(P.workload_frontier(_big_workload(hit), (hw,)).sweep, 0)
    f = P.fleet_at_rates(cands, [rate])
    ref = fleet.recommend(
        BIG["model"],
        [hw],
        rate_rps=rate,
        isl=BIG["isl"],
        osl=BIG["osl"],
        ttft_max_ms=BIG["ttft_max_ms"],
        tpot_max_ms=BIG["tpot_max_ms"],
        usd_per_gpu_hour=1.0,
        prefix_hit_rate=hit,
        headroom=fleet.NO_HEADROOM,
    )[0]
    assert int(f["gpus"][0]) == ref.gpus
    assert bool(f["composed"][0]) == ref.config.get("sizing", "").startswith("composed")
    assert f["capacity_requests_per_s"][0] == pytest.approx(ref.capacity_requests_per_s, rel=1e-9)
    assert f["capacity_requests_per_s"][0] >= rate * (1 - 1e-9)


def test_a_composed_fleet_beats_whole_replicas_in_the_plan():
    cands = P.capacity_options(P.workload_frontier(_big_workload(), ("mi300x",)).sweep, 0)
    rates = np.array([8.0, 20.0])
    f = P.fleet_at_rates(cands, rates)
    lower, whole = fleet.gpu_bounds(cands, rates)
    assert f["composed"].any()
    c = f["composed"]
    # a composed fleet is never worse than whole replicas, and strictly better somewhere
    assert np.all(f["gpus"][c] <= whole[c]) and np.any(f["gpus"][c] < whole[c]) and np.all(lower <= f["gpus"])
    assert np.all(f["gpus"][c] == f["gpus_per_replica"][c]) and np.all(f["replicas"][c] == 1)


@settings(max_examples=25, deadline=None)
@given(st.floats(0.05, 400.0), st.sampled_from(["h100-sxm", "mi300x"]), st.integers(0, 2))
def test_fewest_gpus_is_the_minimum_of_fleet_sizes(rate, hw, spare):
    """The pruned, vectorized sizing equals the minimum over every SLA-meeting row of fleet.fleet_sizes (with the same
    spare replicas per group), and the cheap bounds bracket it."""
    sw = P.workload_frontier(_big_workload(), (hw,)).sweep
    cands = P.capacity_options(sw, 0, spare)
    sizes = fleet.fleet_sizes(sw, rate, cands.ids, spare)
    f = P.fleet_at_rates(cands, [rate, 2 * rate])
    assert f["gpus"][0] == sizes["gpus"][cands.ids].min()
    lo, up = fleet.gpu_bounds(cands, [rate, 2 * rate])
    assert np.all(lo <= f["gpus"]) and np.all(f["gpus"] <= up)


def test_fleet_is_monotone_in_rate_and_zero_at_zero():
    cap = P.capacity_options(P.workload_frontier(_workload(), ("h100-sxm",)).sweep, 0)
    rates = np.array([0.0, 0.1, 1, 10, 100, 1000])
    g = P.fleet_at_rates(cap, rates)["gpus"]
    assert g[0] == 0 and np.all(np.diff(g) >= 0)


def test_prefix_cache_never_needs_more_gpus():
    rates = np.array([5.0, 50.0])
    g0 = P.fleet_at_rates(
        P.capacity_options(P.workload_frontier(_workload(0.0, isl=8000), ("h100-sxm",)).sweep, 0), rates
    )["gpus"]
    g9 = P.fleet_at_rates(
        P.capacity_options(P.workload_frontier(_workload(0.9, isl=8000), ("h100-sxm",)).sweep, 0), rates
    )["gpus"]
    assert np.all(g9 <= g0)


# ---------------------------------------------------------------------------------------------- the plan
@pytest.fixture(scope="module")
def res():
    return P.plan(parse_scenario_text(PRICED), hardware=["h100-sxm", "mi300x"])


def test_plan_costs_add_up(res):
    d = res.demand
    for h in res.hardware:
        assert h.feasible
        m = h.monthly
        wall = h.tco["usd_per_gpu_hour_wallclock"]
        assert m["cost_usd"] == pytest.approx(m["gpus"] * wall * units.HOURS_PER_MONTH + 10000)
        assert m["capital_usd"] + m["operating_usd"] == pytest.approx(m["cost_usd"])
        assert np.all(np.diff(m["gpus"]) >= 0)  # users only grow
        # revenue by hand: every token billed (no subscription)
        days = units.DAYS_PER_MONTH
        rev = (
            (
                d.totals["uncached_input_tokens_per_day"] * 0.5
                + d.totals["cached_input_tokens_per_day"] * 0.05
                + d.totals["output_tokens_per_day"] * 2.0
            )
            * days
            / 1e6
        )
        assert m["revenue_usd"] == pytest.approx(rev)
        assert m["gross_margin_usd"] == pytest.approx(rev - m["cost_usd"])
        tok = d.totals["total_tokens_per_day"] * days
        assert m["breakeven_usd_per_mtok"] == pytest.approx(m["cost_usd"] / tok * 1e6)
        # nodes and racks from GPUs
        assert np.all(m["nodes"] == np.ceil(m["gpus"] / h.tco["chips_per_node"]))


def test_breakeven_users_breaks_even(res):
    h = res.best
    i = 0
    u = h.monthly["breakeven_users"][i]
    assert np.isfinite(u)
    # just above the breakeven scale revenue covers cost; well below it does not (fixed costs)
    d = res.demand
    rev_per_user = h.monthly["revenue_usd"][i] / d.total_users[i]
    wall = h.tco["usd_per_gpu_hour_wallclock"]
    hr = P.scenario_headroom(res.scenario)  # the fleet is re-sized with the plan's headroom

    def margin(users):
        gpus = 0
        for w in d.workloads:
            sw = P.workload_frontier(w, tuple(x.hardware for x in res.hardware)).sweep
            hw = [x.key for x in sw.hardware].index(h.hardware)
            rate = d.load[w.key]["peak_requests_per_s"][i] / d.total_users[i] * users
            cands = P.capacity_options(sw, hw, hr.spare_replicas)
            gpus += int(P.fleet_at_rates(cands, [hr.sizing_rate(rate)])["gpus"][0])
        return users * rev_per_user - (gpus * wall * units.HOURS_PER_MONTH + 10000)

    assert margin(u * 1.0001) >= 0
    assert margin(u * 0.5) < 0
    # the one-month form agrees with the all-months search
    fronts = {w.key: P.workload_frontier(w, tuple(x.hardware for x in res.hardware)) for w in d.workloads}
    one = P.breakeven_users_for_month(
        d, fronts, h.hardware, i, wall, 10000, float(h.monthly["revenue_usd"][i]), headroom=hr
    )
    assert one == pytest.approx(u, rel=1e-9)


def test_plan_json_and_rows(res):
    d = to_jsonable(res.to_dict())
    json.dumps(d, allow_nan=False)
    assert d["best_hardware"] in ("h100-sxm", "mi300x")
    assert len(d["labels"]) == 6 and len(d["hardware"][0]["monthly"]["gpus"]) == 6
    assert d["hardware"][0]["totals"]["cost_usd"] <= d["hardware"][1]["totals"]["cost_usd"]
    wl = d["hardware"][0]["workloads"][0]
    assert wl["frontier"] and wl["operating_point"]["total_tokens_per_s_per_gpu"] > 0
    assert len(wl["composed"]) == len(wl["prefill_replicas"]) == len(wl["decode_replicas"]) == 6
    assert d["summary"]["sentences"] and d["summary"]["gpus"] == d["hardware"][0]["monthly"]["gpus"][-1]
    rows = res.to_rows()
    assert len(rows) == 2 * 6 and "tokens_per_day:feature:chat" in rows[0] and "tokens_per_day:persona:users" in rows[0]


def test_months_and_hardware_overrides():
    r = P.plan(parse_scenario_text(PRICED), months=2, hardware=["h100-sxm"])
    assert r.months.tolist() == [0, 1] and [h.hardware for h in r.hardware] == ["h100-sxm"]


def test_infeasible_hardware_is_reported():
    text = PRICED.replace("    output_tokens: 200\n", "    output_tokens: 200\n    tpot_ms: 0.5\n")
    r = P.plan(parse_scenario_text(text), months=1, hardware=["h100-sxm"])
    assert not r.hardware[0].feasible and "SLA" in r.hardware[0].reason
    assert r.best is None and r.warnings
    json.dumps(to_jsonable(r.to_dict()), allow_nan=False)


def test_subscription_personas_not_billed_per_token():
    text = PRICED.replace("    features: {chat: 1}\n", "    features: {chat: 1}\n    subscription_usd_per_month: 10\n")
    r = P.plan(parse_scenario_text(text), months=1, hardware=["h100-sxm"])
    m = r.hardware[0].monthly
    assert m["revenue_tokens_usd"][0] == 0
    assert m["revenue_usd"][0] == pytest.approx(200000 * 10)


def test_weights_precision_is_used_and_shown():
    # the checkpoint of llama-3.1-8b is BF16; `weights: fp8` must reach the fleet search and every output
    bf16 = P.plan(parse_scenario_text(PRICED), months=2, hardware=["h100-sxm"])
    fp8 = P.plan(
        parse_scenario_text(PRICED.replace("model: llama-3.1-8b", "model: llama-3.1-8b\nweights: fp8")),
        months=2,
        hardware=["h100-sxm"],
    )
    for r, w in ((bf16, "bf16"), (fp8, "fp8")):
        d = to_jsonable(r.to_dict())
        assert d["scenario"]["precision"]["text"] == f"weights {w}, KV {w}"
        assert [x["weights"] for x in d["demand"]["workloads"]] == [w] and f" {w} " in d["demand"]["workloads"][0][
            "key"
        ]
        cfg = d["hardware"][0]["workloads"][0]["operating_point"]["config"]
        assert (cfg.get("weights"), cfg.get("kv")) == (w, w)
        assert d["caching"][d["demand"]["workloads"][0]["key"]]["kv_precision"] == w
    # half the weight and KV bytes and twice the tensor-core peak: never more GPUs
    assert (fp8.hardware[0].monthly["gpus"] <= bf16.hardware[0].monthly["gpus"]).all()


def test_plan_to_dict_is_plain_json():
    import json

    from tokenfab.planning.scenario import load_scenario

    d = P.plan(
        load_scenario(Path(__file__).resolve().parents[1] / "examples" / "enterprise_rag.yaml"), months=2
    ).to_dict()
    again = json.loads(json.dumps(d, allow_nan=False))  # no arrays, no NaN/inf
    assert again["scenario"]["months_planned"] == 2


def test_a_plan_without_a_price_says_so_not_that_the_sla_fails():
    """Groq has no public capex: no plan can be priced. The summary and report said 'no candidate hardware can serve
    this scenario within its latency targets', a latency failure that never happened."""
    res = P.plan(parse_scenario_text(PRICED), months=2, hardware=["groq-lpu"])
    assert res.best is None
    why = res.none_feasible_reason
    assert why is not None and "priced" in why and "latency" not in why and "overrides.capex_usd_per_gpu" in why
    assert res.summary()["sentences"][0].startswith("No candidate hardware can be priced")
    assert any(w.startswith(why) for w in res.warnings)


def test_a_tco_input_beside_the_preset_points_to_overrides():
    text = PRICED + "tco:\n  preset: owned-neocloud\n  capex_usd_per_gpu: 30000\n"
    with pytest.raises(TokenfabError, match=r"goes under overrides") as ei:
        parse_scenario_text(text)
    assert ei.value.field == "tco.capex_usd_per_gpu"


def test_every_monthly_band_holds_its_modelled_figure():
    """A month's p10-p90 of every banded figure holds the modelled figure: the fleet's utilization is demand over the
    capacity of a fleet rounded up to whole GPUs, not monotone in the throughput, and the two band ends alone left it
    outside its own band."""
    res = P.plan(parse_scenario_text(PRICED), months=6, hardware=["h100-sxm", "mi300x"])
    checked = 0
    for h in res.hardware:
        if not h.feasible:
            continue
        mo = h.monthly
        for k in P.BAND_KEYS:
            if f"{k}_p10" not in mo:
                continue
            v, lo, hi = (np.asarray(mo[x], dtype=float) for x in (k, f"{k}_p10", f"{k}_p90"))
            ok = np.isfinite(v) & np.isfinite(lo) & np.isfinite(hi)
            assert np.all(lo[ok] <= v[ok] * (1 + 1e-9) + 1e-12) and np.all(v[ok] <= hi[ok] * (1 + 1e-9) + 1e-12), k
            checked += int(ok.sum())
    assert checked


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ("tco:\n  overrides:\n    pue: 0.5\n", "tco.overrides.pue"),
        ("tco:\n  preset: owned-neocloud\n  usd_per_gpu_hour: 2\n", "tco.usd_per_gpu_hour"),
        ("tco:\n  usd_per_gpu_hour: 2\n  overrides:\n    wacc: 0.3\n", "tco.overrides.wacc"),
    ],
)
def test_a_bad_tco_block_is_the_scenarios_error_with_its_line(extra, field):
    """A PUE of 0.5 or a price beside an owned preset made every hardware "cannot be priced", with advice to give a
    price: the block is checked at load, naming its path and line."""
    with pytest.raises(TokenfabError) as ei:
        parse_scenario_text(PRICED + extra)
    assert ei.value.field == field and getattr(ei.value, "line", None)


def test_a_duplicate_key_is_refused_with_its_line():
    """YAML keeps the last of two equal keys: a second `peak_to_average: 20` sized the fleet 10x silently."""
    with pytest.raises(TokenfabError, match=r"duplicate key 'preset' \(line \d+\)"):
        parse_scenario_text(PRICED + "tco:\n  preset: owned-neocloud\n  preset: owned-hyperscaler\n")


def test_months_past_the_horizon_are_refused():
    sc = parse_scenario_text(PRICED)
    with pytest.raises(TokenfabError, match="horizon") as ei:
        P.plan(sc, months=sc.horizon_months + 1, hardware=["h100-sxm"])
    assert ei.value.field == "months"


def test_plan_prose_reads_ranges_and_counts_as_a_person_writes_them():
    """A plan's prose said "1 racks", "$0.000 a month" and put a dash beside a minus ("-5%--3%")."""
    from tokenfab.planning.plan import _money, _range

    assert _money(0.0) == "$0" and _money(0.25) == "$0.250"
    assert _range({"p10": -5.0, "p90": -3.0}, lambda x: f"{x:.0f}%") == "-5% to -3%"
