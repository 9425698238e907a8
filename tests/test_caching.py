"""Prompt-caching economics (tokenfab.economics.caching)."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokenfab.catalog.models import get_model, kv_cache_bytes
from tokenfab.core.errors import TokenfabError
from tokenfab.economics import caching as C


def test_no_hit_saves_nothing_full_hit_saves_almost_all():
    assert C.prefill_flops_saved_share("llama-3.1-8b", 4000, 0.0) == pytest.approx(0.0)
    assert C.prefill_flops_saved_share("llama-3.1-8b", 4000, 1.0) == pytest.approx(1.0)


@settings(max_examples=25, deadline=None)
@given(st.integers(16, 32000), st.floats(0.0, 1.0))
def test_saved_share_is_below_the_token_hit_rate(isl, h):
    # new tokens still attend to the cached prefix, so FLOPs saved <= share of tokens cached (floored)
    s = C.prefill_flops_saved_share("llama-3.1-8b", isl, h)
    assert -1e-12 <= s <= (int(isl * h) / isl) + 1e-9


def test_hit_rate_out_of_range():
    with pytest.raises(TokenfabError):
        C.prefill_flops_saved_share("llama-3.1-8b", 1000, 1.5)


def test_cached_input_price():
    assert C.cached_input_usd_per_mtok(2.0) == pytest.approx(0.2)  # default weight 0.1
    assert C.cached_input_usd_per_mtok(2.0, 0.25) == pytest.approx(0.5)


def test_kv_storage_littles_law_by_hand():
    m = get_model("llama-3.1-70b")
    # Llama 3.1 70B: 80 layers x 8 KV heads x 128 dims x 2 (K, V) x 2 bytes = 327,680 bytes per token (bf16)
    assert kv_cache_bytes(m, 1, "bf16") == pytest.approx(327_680)
    st_ = C.kv_storage_bytes(m, 1000, 10.0, ttl_s=300, hbm_window_s=60, kv="bf16")
    assert st_["live_prefixes_hbm"] == pytest.approx(600)  # 10 calls/s x 60 s
    assert st_["live_prefixes_dram"] == pytest.approx(2400)  # 10 calls/s x 240 s
    assert st_["kv_hbm_bytes"] == pytest.approx(600 * 327_680_000)
    assert st_["kv_dram_bytes"] == pytest.approx(2400 * 327_680_000)


def test_window_longer_than_ttl_is_an_error():
    with pytest.raises(TokenfabError) as e:
        C.kv_storage_bytes("llama-3.1-8b", 100, 1.0, ttl_s=60, hbm_window_s=120)
    assert e.value.field == "hbm_window_s"


def test_workload_caching_in_plan_units():
    from tokenfab.planning.demand import Workload

    w = Workload(
        key="w",
        model="llama-3.1-8b",
        tier="goldilocks",
        isl=2000,
        osl=200,
        ttft_max_ms=2000,
        tpot_max_ms=20,
        peak_to_average=2,
        prefix_hit_rate=0.5,
        features=("chat",),
    )
    r = C.workload_caching(
        w, model="llama-3.1-8b", calls_per_day=[86_400.0], peak_calls_per_s=[2.0], ttl_s=300, hbm_window_s=60
    )
    assert r.cached_tokens_per_call == 1000
    assert r.cached_input_tokens_per_day[0] == pytest.approx(86_400 * 1000)
    assert r.kv_hbm_gib[0] == pytest.approx(120 * r.kv_bytes_per_prefix / 2**30)
    assert 0.4 < r.prefill_flops_saved_share <= 0.5
    assert "definitions" in r.to_dict()
