"""Fleet sizing (recommend) and its inverse (max_throughput_for_budget): arithmetic by hand and the Python API
contract other modules call."""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest

from test_scenario import BASE
from tokenfab import search as S
from tokenfab.catalog.hardware import get_hardware
from tokenfab.core.errors import TokenfabError, UnknownKeyError
from tokenfab.core.units import HOURS_PER_MONTH, S_PER_DAY
from tokenfab.planning import fleet

MODEL = "llama-3.1-70b"
HW = ["h100-sxm", "mi300x", "gb200-nvl72"]
KW = dict(isl=1024, osl=1024, ttft_max_ms=600.0, tpot_max_ms=50.0, weights="fp8")


@pytest.fixture(scope="module")
def opts():
    # no headroom: sized at exactly the demand, so the arithmetic below is the sizing rule alone
    return fleet.recommend(MODEL, HW, rate_rps=37.0, usd_per_gpu_hour=2.0, headroom=fleet.NO_HEADROOM, **KW)


# ----------------------------------------------------------------------------------------------- pure arithmetic
def test_arithmetic_by_hand():
    assert fleet.replicas_needed(10.0, 3.0) == 4
    assert fleet.replicas_needed(9.0, 3.0) == 3  # exact multiples do not round up
    assert fleet.replicas_needed(0.1, 3.0) == 1
    assert fleet.nodes_and_racks(100, 8, 32) == (13, 4)
    assert fleet.nodes_and_racks(72, 4, 72) == (18, 1)
    assert fleet.usd_per_month(2.0, 10) == pytest.approx(2.0 * 10 * 8766 / 12)
    assert fleet.megawatts(1000, 1.5) == pytest.approx(1.5)
    assert fleet.gpus_in_budget(power_mw=1.0, kw_per_gpu=1.73) == 578  # floor(1000 / 1.73)
    assert fleet.gpus_in_budget(racks=3, chips_per_rack=72) == 216
    assert fleet.demand_rps(tokens_per_day=2048 * 86400 * 5, isl=1024, osl=1024) == pytest.approx(5.0)
    with pytest.raises(TokenfabError):
        fleet.demand_rps(isl=1, osl=1)
    with pytest.raises(TokenfabError):
        fleet.demand_rps(1.0, 1e9, isl=1, osl=1)


# ----------------------------------------------------------------------------------------------- recommend
def test_api_signature_contract():
    sig = inspect.signature(fleet.recommend)
    for name in (
        "rate_rps",
        "tokens_per_day",
        "isl",
        "osl",
        "ttft_max_ms",
        "tpot_max_ms",
        "weights",
        "preset",
        "usd_per_gpu_hour",
        "percentile",
        "calibration",
        "prefix_hit_rate",
    ):
        assert sig.parameters[name].kind is inspect.Parameter.KEYWORD_ONLY
    assert list(sig.parameters)[:2] == ["model", "hardware_list"]


def test_option_fields_and_ranking(opts):
    assert [o.hardware for o in opts] and set(o.hardware for o in opts) <= set(HW)
    costs = [o.usd_per_month for o in opts]
    assert costs == sorted(costs)
    for o in opts:
        d = o.to_dict()
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
            assert k in d


def test_sizing_arithmetic_by_hand(opts):
    rate, tok = 37.0, 37.0 * 2048
    for o in opts:
        hw = get_hardware(o.hardware)
        if o.config.get("sizing", "").startswith("composed"):  # a disaggregated fleet composed for the demand
            assert o.replicas == 1 and o.gpus == o.gpus_per_replica
            p, d = o.config["prefill"], o.config["decode"]
            assert o.gpus == p["replicas"] * p["gpus"] + d["replicas"] * d["gpus"] == o.config["gpus"]
        else:
            per_replica = o.capacity_requests_per_s / o.replicas
            assert o.replicas == math.ceil(rate / per_replica - 1e-9)
            assert o.gpus == o.replicas * o.gpus_per_replica == o.replicas * o.config["gpus"]
        assert o.nodes == math.ceil(o.gpus / hw.chips_per_node)
        assert o.racks == math.ceil(o.gpus / hw.chips_per_rack)
        assert o.usd_per_month == pytest.approx(2.0 * o.gpus * HOURS_PER_MONTH)
        assert o.mw == pytest.approx(o.gpus * o.all_in_kw_per_gpu / 1000)
        assert o.tokens_per_s_per_gpu == pytest.approx(tok / o.gpus)
        mtok_per_month = tok * HOURS_PER_MONTH * 3600 / 1e6
        assert o.usd_per_mtok_total == pytest.approx(o.usd_per_month / mtok_per_month)
        # per token kind: the bill split by GPU time adds back to the bill at the 1:1 token mix
        assert (o.usd_per_mtok_input + o.usd_per_mtok_output) * (mtok_per_month / 2) == pytest.approx(o.usd_per_month)
        assert o.usd_per_mtok_output == pytest.approx(
            o.usd_per_month * (1 - o.prefill_gpu_time_share) / (mtok_per_month / 2)
        )
        assert o.utilization <= 1.0 + 1e-12
        assert o.ttft_ms <= 600.0 and o.tpot_ms <= 50.0


def test_cheapest_per_hardware_by_brute_force(opts):
    """Whole replicas of every compliant configuration, or a disaggregated fleet composed for the demand: the option
    is the fewest GPUs among them (one price per GPU-hour: cheapest = fewest GPUs)."""
    sla = S.SLA.make(ttft_max_ms=600.0, tpot_max_ms=50.0)
    sw = S.sweep(MODEL, HW, isl=1024, osl=1024, weights="fp8", sla=sla)
    c = sw.cols
    ok = sw.sla_mask()
    for o in opts:
        h = [k.key for k in sw.hardware].index(o.hardware)
        ids = np.flatnonzero(ok & (c["hw"] == h))
        whole = np.ceil(37.0 / c["requests_per_s"][ids] - 1e-9) * c["gpus"][ids]
        dis = ids[c["mode"][ids] == 1]
        _, _, composed, _, good = fleet._disagg_fleet_columns(sw, 37.0, dis)
        best = min(whole.min(), composed[good].min() if good.any() else np.inf)
        assert o.gpus == int(best)
        assert o.gpus <= whole.min()


def test_compose_disagg_fleet_by_hand():
    """10 requests/s; a decode replica serves 3/s -> 4 decode replicas; a prefill replica serves 20/s and was checked
    at utilization 0.85 -> ceil(10 / 17) = 1 prefill replica, an M/D/1 queue at rho = 0.5 with a 50 ms service:
    mean wait 0.5 x 50 / (2 x 0.5) = 25 ms (Pollaczek-Khinchine)."""
    from tokenfab.perf import queueing as Q

    sla = S.SLA.make(ttft_max_ms=400.0, percentile="p90")
    args = (10.0, [3.0], [20.0], [0.85], [0.05], [1], [100.0], [20.0])
    x, y, ttft, ok = fleet.compose_disagg_fleet(*args, osl=100, sla=sla)
    assert (x[0], y[0], bool(ok[0])) == (1, 4, True)
    assert Q.mdc_wait_mean_s(10.0, 0.05, 1) == pytest.approx(0.025)
    assert ttft[0] == pytest.approx(Q.ttft_quantile_ms(0.9, 100.0 + 25.0, 10.0, 0.05, 1))
    # a TTFT limit below the single-server p90 but above the fixed 100 ms needs a second prefill replica
    tight = S.SLA.make(ttft_max_ms=float(ttft[0]) - 1.0, percentile="p90")
    x2, _, ttft2, ok2 = fleet.compose_disagg_fleet(*args, osl=100, sla=tight)
    assert ok2[0] and x2[0] == 2 and ttft2[0] < ttft[0]
    # E2E limit: TTFT + 99 x 20 ms; below the fixed part nothing meets it
    x3, _, _, ok3 = fleet.compose_disagg_fleet(*args, osl=100, sla=S.SLA.make(e2el_max_ms=2000.0))
    assert not ok3[0] and x3[0] == 0


def test_tokens_per_day_equals_rate():
    a = fleet.recommend(MODEL, ["h100-sxm"], rate_rps=5.0, **KW)
    b = fleet.recommend(MODEL, ["h100-sxm"], tokens_per_day=5.0 * 2048 * S_PER_DAY, **KW)
    assert a[0].gpus == b[0].gpus and a[0].usd_per_month == pytest.approx(b[0].usd_per_month)


def test_preset_cost_is_the_wallclock_bill_of_the_fleet():
    """An owned fleet sized to the demand costs GPUs x wall-clock $/GPU-hour x hours per month whatever its
    utilization (not the TCO's busy-hour price, which would count idle time a second time); $/M tokens divides that
    bill by the tokens the demand sends in a month."""
    from tokenfab.core import units
    from tokenfab.economics import tco

    assert pytest.approx(8766 / 12) == units.HOURS_PER_MONTH
    rate = 5.0
    o = fleet.recommend(MODEL, ["h100-sxm"], rate_rps=rate, preset="owned-neocloud", headroom=fleet.NO_HEADROOM, **KW)[
        0
    ]
    t = tco.tco("h100-sxm", "owned-neocloud")
    assert t.usd_per_gpu_hour > t.usd_per_gpu_hour_wallclock  # utilization < 1: the two prices differ
    assert o.usd_per_month == pytest.approx(o.gpus * t.usd_per_gpu_hour_wallclock * units.HOURS_PER_MONTH)
    assert o.usd_per_month == pytest.approx(fleet.usd_per_month(t.usd_per_gpu_hour_wallclock, o.gpus))
    assert o.usd_per_gpu_hour_wallclock == pytest.approx(t.usd_per_gpu_hour_wallclock)
    assert o.usd_per_gpu_hour_busy == pytest.approx(t.usd_per_gpu_hour)
    mtok_per_month = rate * 2048 * units.HOURS_PER_MONTH * 3600 / 1e6
    assert o.usd_per_mtok_total == pytest.approx(o.usd_per_month / mtok_per_month)
    assert o.usd_per_mtok_input == pytest.approx(o.usd_per_month * o.prefill_gpu_time_share / (mtok_per_month / 2))
    assert "wall-clock" in o.to_dict()["definitions"]["usd_per_month"]
    # a budget's fleet runs at full capacity: billed at the TCO of utilization 1 (energy at full load)
    b = fleet.max_throughput_for_budget(MODEL, ["h100-sxm"], racks=1, preset="owned-neocloud", **KW)[0]
    t1 = tco.tco("h100-sxm", "owned-neocloud", utilization=1.0)
    assert b.usd_per_month == pytest.approx(b.gpus * t1.usd_per_gpu_hour_wallclock * units.HOURS_PER_MONTH)
    assert b.usd_per_mtok_total == pytest.approx(
        b.usd_per_month / (b.tokens_per_s * units.HOURS_PER_MONTH * 3600 / 1e6)
    )


def test_plan_and_recommend_bill_the_same_fleet_the_same():
    """tokenfab plan and tokenfab recommend size the same fleet for a workload's peak and put the same $ on it."""
    from tokenfab.planning import plan as P
    from tokenfab.planning.scenario import parse_scenario_text

    sc = parse_scenario_text(PLAN_SCENARIO)
    res = P.plan(sc, months=1)
    hp = res.option("h100-sxm")
    w = res.demand.workloads[0]
    rate = float(res.demand.load[w.key]["peak_requests_per_s"][0])
    o = fleet.recommend(
        w.model,
        ["h100-sxm"],
        rate_rps=rate,
        isl=int(w.isl),
        osl=int(w.osl),
        ttft_max_ms=w.ttft_max_ms,
        tpot_max_ms=w.tpot_max_ms,
        prefix_hit_rate=w.prefix_hit_rate,
    )[0]
    assert o.gpus == int(hp.monthly["gpus"][0])
    assert o.usd_per_month == pytest.approx(float(hp.monthly["gpu_cost_usd"][0]), rel=1e-9)


PLAN_SCENARIO = BASE.replace("count: 1000", "count: 20000")  # llama-3.1-8b chat on h100-sxm


def test_more_load_never_needs_fewer_gpus():
    small = fleet.recommend(MODEL, ["h100-sxm"], rate_rps=2.0, usd_per_gpu_hour=2.0, **KW)[0]
    big = fleet.recommend(MODEL, ["h100-sxm"], rate_rps=200.0, usd_per_gpu_hour=2.0, **KW)[0]
    assert big.gpus >= small.gpus and big.usd_per_month > small.usd_per_month


def test_infeasible_sla_and_bad_input():
    with pytest.raises(TokenfabError) as e:
        fleet.recommend(
            MODEL, ["h100-sxm"], rate_rps=5.0, isl=1024, osl=1024, ttft_max_ms=600, tpot_max_ms=0.5, weights="fp8"
        )
    assert e.value.field == "tpot_max_ms" and "best achievable" in str(e.value)
    with pytest.raises(UnknownKeyError):
        fleet.recommend(MODEL, ["h100-sxn"], rate_rps=5.0, **KW)
    with pytest.raises(TokenfabError):
        fleet.recommend(MODEL, ["h100-sxm"], rate_rps=-1.0, **KW)


def test_report_says_why_hardware_was_skipped():
    rep = fleet.recommend_report(MODEL, ["h100-sxm", "tpu-v5e"], rate_rps=5.0, gpus=1, **KW)
    assert "tpu-v5e" in rep.skipped and "does not fit" in rep.skipped["tpu-v5e"]


# ----------------------------------------------------------------------------------------------- inverse
def test_budget_racks():
    opts = fleet.max_throughput_for_budget(MODEL, ["h100-sxm", "gb200-nvl72"], racks=1, usd_per_gpu_hour=2.0, **KW)
    assert opts and [o.tokens_per_s for o in opts] == sorted((o.tokens_per_s for o in opts), reverse=True)
    for o in opts:
        hw = get_hardware(o.hardware)
        assert o.gpus <= hw.chips_per_rack == o.max_gpus
        assert o.gpus == o.replicas * o.gpus_per_replica
        assert o.tokens_per_s == pytest.approx(o.requests_per_s * 2048)
        assert o.tokens_per_day == pytest.approx(o.tokens_per_s * 86400)
        assert o.usd_per_month == pytest.approx(2.0 * o.gpus * HOURS_PER_MONTH)


def test_fill_disagg_budget_by_hand():
    """100 GPUs; a decode replica (4 GPUs) serves 2 requests/s, a prefill replica (2 GPUs) 10/s at utilization 0.8
    (8/s): y* = floor(100 / (4 + 2 x 2 / 8)) = 22 decode replicas, x = floor((100 - 88) / 2) = 6 prefill replicas,
    min(22 x 2, 6 x 8) = 44 requests/s; y = 21 gives min(42, 64) = 42 and y = 23 gives min(46, 32) = 32."""
    x, y, lam = fleet.fill_disagg_budget(100, [2.0], [10.0], [0.8], [2], [4])
    assert y[:, 0].tolist() == [21, 22, 23] and x[:, 0].tolist() == [8, 6, 4]
    assert lam[:, 0].tolist() == pytest.approx([42.0, 44.0, 32.0])
    x, y, lam = fleet.fill_disagg_budget(5, [2.0], [10.0], [0.8], [2], [4])  # 1 decode + 0 prefill: nothing
    assert lam.max() == 0.0


def test_budget_is_at_least_whole_replicas():
    """The inverse never serves less than whole replicas of the best configuration (composition only adds)."""
    rep = fleet.budget_report(MODEL, ["h100-sxm"], racks=1, usd_per_gpu_hour=2.0, **KW)
    o = rep.options[0]
    sw = S.sweep(
        MODEL, "h100-sxm", isl=1024, osl=1024, weights="fp8", sla=S.SLA.make(ttft_max_ms=600.0, tpot_max_ms=50.0)
    )
    c = sw.cols
    ok = sw.sla_mask() & (c["gpus"] <= o.max_gpus)
    whole = (o.max_gpus // c["gpus"][ok]) * c["requests_per_s"][ok]
    assert o.requests_per_s >= whole.max() * (1 - 1e-9)
    assert o.gpus <= o.max_gpus and o.ttft_ms <= 600.0 and o.tpot_ms <= 50.0


def test_budget_power_and_monotone():
    one = fleet.max_throughput_for_budget(MODEL, ["h100-sxm"], power_mw=0.1, **KW)[0]
    two = fleet.max_throughput_for_budget(MODEL, ["h100-sxm"], power_mw=0.2, **KW)[0]
    assert one.mw <= 0.1 + 1e-12 and two.mw <= 0.2 + 1e-12
    assert one.gpus * one.all_in_kw_per_gpu <= 100.0 + 1e-9
    assert two.tokens_per_s >= one.tokens_per_s
    with pytest.raises(TokenfabError):
        fleet.max_throughput_for_budget(MODEL, ["h100-sxm"], **KW)
    with pytest.raises(TokenfabError):
        fleet.max_throughput_for_budget(MODEL, ["h100-sxm"], power_mw=1.0, racks=2, **KW)


def test_budget_too_small_is_explained():
    rep = fleet.budget_report(MODEL, ["h100-sxm", "groq-lpu"], racks=1, **KW)
    assert "groq-lpu" in rep.skipped and "budget holds" in rep.skipped["groq-lpu"]


def test_prefix_cache_reaches_the_sweep_and_is_validated():
    kw = dict(rate_rps=20.0, isl=8000, osl=200, ttft_max_ms=2000.0, tpot_max_ms=50.0, usd_per_gpu_hour=1.0)
    g0 = fleet.recommend("llama-3.1-8b", ["h100-sxm"], **kw)[0]
    g9 = fleet.recommend("llama-3.1-8b", ["h100-sxm"], prefix_hit_rate=0.9, **kw)[0]
    assert g9.gpus <= g0.gpus and g9.ttft_ms < g0.ttft_ms  # 90% of each prefill skipped
    with pytest.raises(TokenfabError) as e:
        fleet.recommend("llama-3.1-8b", ["h100-sxm"], prefix_hit_rate=1.5, **kw)
    assert e.value.field == "prefix_hit_rate"


def test_skip_reason_is_public_and_names_the_limit():
    sla = S.SLA.make(ttft_max_ms=2000.0, tpot_max_ms=0.01)
    sw = S.sweep("llama-3.1-8b", ["h100-sxm"], isl=1000, osl=200, sla=sla)
    msg = fleet.skip_reason(sw, 0, sla)
    assert "no configuration meets the SLA" in msg and "TPOT" in msg.upper() and "limit 0.01" in msg


def test_composed_fleet_sizes_by_hand():
    # decode replica 2 rps, prefill replica 5 rps checked at 80% utilization, demand 7 rps:
    # y = ceil(7 / 2) = 4, x0 = ceil(7 / (0.8 x 5)) = 2; capacity = min(4 x 2, 2 x 5) = 8 rps
    x0, y = fleet.disagg_min_replicas(7.0, 2.0, 5.0, 0.8)
    assert (float(x0), float(y)) == (2.0, 4.0)
    assert fleet.composed_capacity_rps(2, 4, 2.0, 5.0) == pytest.approx(8.0)
    x0, y = fleet.disagg_min_replicas(np.array([0.1, 8.0]), 2.0, 5.0, 0.8)  # vectorized; at least one of each
    assert x0.tolist() == [1.0, 2.0] and y.tolist() == [1.0, 4.0]


def test_per_mw_and_per_gpu_figures_state_their_basis():
    """tokens_per_s_per_gpu is what the fleet serves and tokens_per_s_per_mw what it could: a reader comparing them
    was off by the utilization. Each now has its counterpart: served per MW, capacity per GPU."""
    o = fleet.recommend(MODEL, ["h100-sxm"], rate_rps=5.0, preset="owned-neocloud", **KW)[0]
    assert o.served_tokens_per_s_per_mw == pytest.approx(o.tokens_per_s_per_gpu * 1000 / o.all_in_kw_per_gpu)
    assert o.capacity_tokens_per_s_per_gpu * o.gpus == pytest.approx(o.capacity_requests_per_s * 2048)
    assert o.served_tokens_per_s_per_mw < o.tokens_per_s_per_mw  # a fleet with headroom serves less than it could
