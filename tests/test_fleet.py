"""Fleet sizing (recommend) and its inverse (max_throughput_for_budget): arithmetic by hand and the Python API
contract other modules call."""
from __future__ import annotations

import inspect
import math

import numpy as np
import pytest

from tokenfab import fleet
from tokenfab import search as S
from tokenfab.errors import TokenfabError, UnknownKeyError
from tokenfab.hardware import get_hardware
from tokenfab.units import HOURS_PER_MONTH, S_PER_DAY

MODEL = "llama-3.1-70b"
HW = ["h100-sxm", "mi300x", "gb200-nvl72"]
KW = dict(isl=1024, osl=1024, ttft_max_ms=600.0, tpot_max_ms=50.0, weights="fp8")


@pytest.fixture(scope="module")
def opts():
    return fleet.recommend(MODEL, HW, rate_rps=37.0, usd_per_gpu_hour=2.0, **KW)


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
    for name in ("rate_rps", "tokens_per_day", "isl", "osl", "ttft_max_ms", "tpot_max_ms", "weights", "preset",
                 "usd_per_gpu_hour", "percentile", "calibration"):
        assert sig.parameters[name].kind is inspect.Parameter.KEYWORD_ONLY
    assert list(sig.parameters)[:2] == ["model", "hardware_list"]


def test_option_fields_and_ranking(opts):
    assert [o.hardware for o in opts] and set(o.hardware for o in opts) <= set(HW)
    costs = [o.usd_per_month for o in opts]
    assert costs == sorted(costs)
    for o in opts:
        d = o.to_dict()
        for k in ("hardware", "gpus", "nodes", "racks", "mw", "usd_per_month", "usd_per_mtok_total",
                  "usd_per_mtok_input", "usd_per_mtok_output", "tokens_per_s_per_gpu", "replicas", "config"):
            assert k in d


def test_sizing_arithmetic_by_hand(opts):
    rate, tok = 37.0, 37.0 * 2048
    for o in opts:
        hw = get_hardware(o.hardware)
        per_replica = o.capacity_requests_per_s / o.replicas
        assert o.replicas == math.ceil(rate / per_replica - 1e-9)
        assert o.gpus == o.replicas * o.gpus_per_replica == o.replicas * o.config["gpus"]
        assert o.nodes == math.ceil(o.gpus / hw.chips_per_node)
        assert o.racks == math.ceil(o.gpus / hw.chips_per_rack)
        assert o.usd_per_month == pytest.approx(2.0 * o.gpus * HOURS_PER_MONTH)
        assert o.mw == pytest.approx(o.gpus * o.kw_per_gpu_all_in / 1000)
        assert o.tokens_per_s_per_gpu == pytest.approx(tok / o.gpus)
        mtok_per_month = tok * HOURS_PER_MONTH * 3600 / 1e6
        assert o.usd_per_mtok_total == pytest.approx(o.usd_per_month / mtok_per_month)
        assert o.usd_per_mtok_output == pytest.approx(o.usd_per_month / (mtok_per_month / 2))
        assert o.utilization <= 1.0 + 1e-12
        assert o.ttft_ms <= 600.0 and o.tpot_ms <= 50.0


def test_cheapest_per_hardware_by_brute_force(opts):
    sla = S.SLA.make(ttft_max_ms=600.0, tpot_max_ms=50.0)
    sw = S.sweep(MODEL, HW, isl=1024, osl=1024, weights="fp8", sla=sla)
    c = sw.cols
    ok = sw.sla_mask()
    for o in opts:
        h = [k.key for k in sw.hardware].index(o.hardware)
        ids = np.flatnonzero(ok & (c["hw"] == h))
        gpus = np.ceil(37.0 / c["requests_per_s"][ids] - 1e-9) * c["gpus"][ids]
        assert o.gpus == int(gpus.min())  # one price per GPU-hour: cheapest = fewest GPUs


def test_tokens_per_day_equals_rate():
    a = fleet.recommend(MODEL, ["h100-sxm"], rate_rps=5.0, **KW)
    b = fleet.recommend(MODEL, ["h100-sxm"], tokens_per_day=5.0 * 2048 * S_PER_DAY, **KW)
    assert a[0].gpus == b[0].gpus and a[0].usd_per_month == pytest.approx(b[0].usd_per_month)


def test_preset_cost_uses_tco_price_per_busy_hour():
    from tokenfab import tco

    o = fleet.recommend(MODEL, ["h100-sxm"], rate_rps=5.0, preset="owned-neocloud", **KW)[0]
    t = tco.tco("h100-sxm", "owned-neocloud")
    assert o.usd_per_gpu_hour == pytest.approx(t.usd_per_gpu_hour)
    assert o.usd_per_month == pytest.approx(t.usd_per_gpu_hour * o.gpus * HOURS_PER_MONTH)
    assert o.usd_per_month_wallclock == pytest.approx(t.usd_per_gpu_hour_wallclock * o.gpus * HOURS_PER_MONTH)


def test_more_load_never_needs_fewer_gpus():
    small = fleet.recommend(MODEL, ["h100-sxm"], rate_rps=2.0, usd_per_gpu_hour=2.0, **KW)[0]
    big = fleet.recommend(MODEL, ["h100-sxm"], rate_rps=200.0, usd_per_gpu_hour=2.0, **KW)[0]
    assert big.gpus >= small.gpus and big.usd_per_month > small.usd_per_month


def test_infeasible_sla_and_bad_input():
    with pytest.raises(TokenfabError) as e:
        fleet.recommend(MODEL, ["h100-sxm"], rate_rps=5.0, isl=1024, osl=1024, ttft_max_ms=600, tpot_max_ms=0.5,
                        weights="fp8")
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


def test_budget_power_and_monotone():
    one = fleet.max_throughput_for_budget(MODEL, ["h100-sxm"], power_mw=0.1, **KW)[0]
    two = fleet.max_throughput_for_budget(MODEL, ["h100-sxm"], power_mw=0.2, **KW)[0]
    assert one.mw <= 0.1 + 1e-12 and two.mw <= 0.2 + 1e-12
    assert one.gpus * one.kw_per_gpu_all_in <= 100.0 + 1e-9
    assert two.tokens_per_s >= one.tokens_per_s
    with pytest.raises(TokenfabError):
        fleet.max_throughput_for_budget(MODEL, ["h100-sxm"], **KW)
    with pytest.raises(TokenfabError):
        fleet.max_throughput_for_budget(MODEL, ["h100-sxm"], power_mw=1.0, racks=2, **KW)


def test_budget_too_small_is_explained():
    rep = fleet.budget_report(MODEL, ["h100-sxm", "groq-lpu"], racks=1, **KW)
    assert "groq-lpu" in rep.skipped and "budget holds" in rep.skipped["groq-lpu"]
