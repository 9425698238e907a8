"""Design-space search: enumeration rules, Pareto frontier, Steffen interpolation, disaggregated accounting, SLA
filtering, tiers and cost, and consistency with serving.serve (the sweep never re-implements the roofline)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokenfab import search as S
from tokenfab.catalog.engines import get_engine
from tokenfab.catalog.hardware import get_hardware
from tokenfab.catalog.models import get_model
from tokenfab.core.errors import TokenfabError, UnknownKeyError
from tokenfab.core.units import HOURS_PER_MONTH  # noqa: F401  (units are the shared constants)
from tokenfab.economics import cost as costmod
from tokenfab.perf.memory import resolve_parallelism
from tokenfab.perf.serving import estimate
from tokenfab.perf.uncertainty import physics_floor_column

MODEL = "llama-3.1-70b"
HW = "h100-sxm,mi300x"


@pytest.fixture(scope="module")
def res():
    return S.frontier(MODEL, HW, isl=1024, osl=1024, weights="fp8")


@pytest.fixture(scope="module")
def sw(res):
    return res.sweep


def _dominated_by_any(px, py, xs, ys):
    return np.any((xs >= px) & (ys >= py) & ((xs > px) | (ys > py)))


# ----------------------------------------------------------------------------------------------- Pareto
coords = st.floats(min_value=0.0, max_value=100.0, allow_nan=False).map(lambda v: round(v, 1))  # ties happen


@settings(max_examples=200, deadline=None)
@given(pts=st.lists(st.tuples(coords, coords), min_size=1, max_size=60))
def test_pareto_keeps_exactly_the_non_dominated(pts):
    x = np.array([p[0] for p in pts])
    y = np.array([p[1] for p in pts])
    keep = S.pareto_mask(x, y)
    kx, ky = x[keep], y[keep]
    assert keep.any()
    for i in np.flatnonzero(keep):  # no kept point is dominated by any point
        assert not _dominated_by_any(x[i], y[i], x, y)
    for i in np.flatnonzero(~keep):  # every dropped point is dominated by, or equal to, a kept one
        assert _dominated_by_any(x[i], y[i], kx, ky) or np.any((kx == x[i]) & (ky == y[i]))
    assert len(set(zip(kx.tolist(), ky.tolist(), strict=False))) == kx.size  # one of exact duplicates


def test_pareto_ignores_non_finite():
    keep = S.pareto_mask([1.0, np.nan, 2.0, np.inf], [5.0, 9.0, 1.0, 1.0])
    assert keep.tolist() == [True, False, True, False]


# ----------------------------------------------------------------------------------------------- interpolation
@st.composite
def monotone_knots(draw):
    n = draw(st.integers(2, 12))
    dx = draw(st.lists(st.floats(0.1, 50.0), min_size=n, max_size=n))
    dy = draw(st.lists(st.floats(0.0, 500.0), min_size=n, max_size=n))
    x = np.cumsum(dx)
    y = 10_000.0 - np.cumsum(dy)  # throughput falls as interactivity rises (flat steps allowed)
    if draw(st.booleans()):
        y = y[::-1].copy()  # and the increasing case
    return x, y


@settings(max_examples=200, deadline=None)
@given(k=monotone_knots())
def test_steffen_is_exact_at_knots_and_monotone(k):
    x, y = k
    np.testing.assert_allclose(S.steffen_interpolate(x, y, x), y, rtol=0, atol=1e-9 * max(1.0, np.abs(y).max()))
    grid = np.linspace(x[0], x[-1], 400)
    v = S.steffen_interpolate(x, y, grid)
    d = np.diff(v)
    tol = 1e-9 * max(1.0, np.abs(y).max())
    if y[-1] <= y[0]:
        assert np.all(d <= tol)
    else:
        assert np.all(d >= -tol)
    # no overshoot: every value lies between its interval's knots
    i = np.clip(np.searchsorted(x, grid, side="right") - 1, 0, x.size - 2)
    lo = np.minimum(y[i], y[i + 1]) - tol
    hi = np.maximum(y[i], y[i + 1]) + tol
    assert np.all((v >= lo) & (v <= hi))


def test_steffen_two_knots_is_linear_and_nan_outside():
    assert S.steffen_interpolate([1.0, 3.0], [10.0, 6.0], 2.0) == pytest.approx(8.0)
    assert math.isnan(S.steffen_interpolate([1.0, 3.0], [10.0, 6.0], 3.5))
    with pytest.raises(TokenfabError):
        S.steffen_interpolate([1.0, 1.0], [1.0, 2.0], 1.0)


# ----------------------------------------------------------------------------------------------- enumeration
def test_gpu_ladder_defaults():
    m = get_model(MODEL)
    assert S.gpu_ladder(m, get_hardware("h100-sxm"), "fp8") == [1, 2, 4, 8]
    nvl = S.gpu_ladder(m, get_hardware("gb200-nvl72"), "fp8")
    assert {16, 32, 64, 72} <= set(nvl) and max(nvl) == 72
    ds = S.gpu_ladder(get_model("deepseek-v3"), get_hardware("h100-sxm"), "fp8")
    assert min(ds) == 16  # 671B fp8 weights need more than one 8-GPU node: beyond the scale-up domain
    assert S.gpu_ladder(m, get_hardware("h100-sxm"), "fp8", gpus=6) == [6]


@pytest.mark.parametrize(
    "model,hw,n",
    [
        ("llama-3.1-70b", "h100-sxm", 8),
        ("llama-3.1-70b", "gb200-nvl72", 64),
        ("deepseek-v3", "gb200-nvl72", 72),
        ("qwen3-30b-a3b", "h200-sxm", 8),
        ("deepseek-v3", "h100-sxm", 16),
    ],
)
def test_layouts_are_valid(model, hw, n):
    m, h = get_model(model), get_hardware(hw)
    for engine in ("trtllm", "trtllm-legacy"):  # with and without attention DP / expert balancing
        eng = get_engine(engine)
        lays = S.layouts(m, h, n, engine=eng)
        # 72 GPUs of DeepSeek-V3 need attention DP (no TP x PP of 72 divides its 128 heads within 8 stages)
        assert lays or (engine == "trtllm-legacy" and n == 72)
        for lay in lays:
            assert lay.tp * lay.pp * lay.dp == n
            assert m.max_q_heads % lay.tp == 0 and lay.tp <= h.scaleup_domain_size
            assert lay.pp <= min(S.MAX_PP, m.num_layers)
            if m.is_moe:
                # experts: tensor-parallel (EP 1) or expert-parallel over the TP x DP chips of a stage; an EP that
                # does not divide the experts only with redundant experts (EPLB); attention DP only where supported
                assert lay.ep in (1, lay.tp * lay.dp)
                assert m.max_experts % lay.ep == 0 or eng.supports("eplb")
                assert lay.dp == 1 or eng.supports("dp_attention")
            else:
                assert lay.dp == 1 and lay.ep == 1
            par = resolve_parallelism(
                m, gpus=n, tp=lay.tp, pp=lay.pp, dp=lay.dp, ep=lay.ep, allow_redundant_experts=eng.supports("eplb")
            )  # memory.py agrees
            assert par.gpus == n


def test_wide_ep_on_nvl72_holds_redundant_experts():
    """DeepSeek-V3's 256 experts over 72 GPUs of an NVL72 (EP 72, DP-attention 72): ceil(256 / 72) = 4 slots per
    rank, 288 in all; only an engine with an expert balancer lays it out."""
    m, h = get_model("deepseek-v3"), get_hardware("gb200-nvl72")
    wide = [lay for lay in S.layouts(m, h, 72, engine=get_engine("trtllm")) if lay.ep == 72]
    assert wide and all(lay.dp * lay.tp == 72 for lay in wide)
    assert not [lay for lay in S.layouts(m, h, 72, engine=get_engine("trtllm-legacy")) if lay.ep == 72]
    from tokenfab.perf.moe import expert_slots

    assert expert_slots(256, 72) == 4


def test_dense_model_has_no_72_gpu_layout():
    """72 = 8 x 9: TP must divide Llama's 64 heads, PP <= 8 and a dense model does not use DP inside a replica."""
    assert S.layouts(get_model(MODEL), get_hardware("gb200-nvl72"), 72) == []


def test_fixed_gpus_allows_dense_dp():
    lays = S.layouts(get_model(MODEL), get_hardware("h100-sxm"), 16, fixed=True)
    assert any(lay.dp == 2 and lay.tp == 8 for lay in lays)


def test_concurrency_ladder():
    idx, conc = S.concurrency_ladder([10, 1, 0, 64, 100], [1, 1, 1, 8, 8])
    got = {i: sorted(conc[idx == i].tolist()) for i in range(5)}
    assert got == {0: [1, 2, 4, 8, 10], 1: [1], 2: [], 3: [8, 16, 32, 64], 4: [8, 16, 32, 64, 100]}


def test_spec_variants_follow_the_model_heads_and_the_engine():
    """Off always; MTP 1-3 only where the model ships MTP heads and the engine runs MTP; acceptance from the
    published figures (DeepSeek-V3 report: 85% for the 2nd token -> 1.85 tokens per round at one draft)."""
    assert [s.draft_tokens for s in S.spec_variants(get_model(MODEL), get_engine("trtllm"))] == [0]
    ds = S.spec_variants(get_model("deepseek-v3"), get_engine("trtllm"))
    assert [s.draft_tokens for s in ds] == [0, 1, 2, 3]
    assert ds[1].acceptance_length == pytest.approx(1.85)
    assert all(a.acceptance_length < b.acceptance_length for a, b in zip(ds[1:], ds[2:], strict=False))
    assert [s.draft_tokens for s in S.spec_variants(get_model("deepseek-v3"), get_engine("trtllm"), False)] == [0]
    # an engine without MTP (the legacy TensorRT engine backend) evaluates DeepSeek without it
    assert [s.draft_tokens for s in S.spec_variants(get_model("deepseek-v3"), get_engine("trtllm-legacy"))] == [0]


# ----------------------------------------------------------------------------------------------- consistency with serve
def test_agg_points_are_serving_estimates(sw):
    """An aggregated point is exactly what serving.estimate says for that configuration."""
    c = sw.cols
    agg = np.flatnonzero((c["mode"] == 0) & sw.valid)
    rng = np.random.default_rng(0)
    clipped = 0
    for i in rng.choice(agg, size=12, replace=False):
        cfg = sw.config(int(i))
        e = estimate(
            MODEL,
            sw.hw_key(int(i)),
            tp=cfg["tp"],
            pp=cfg["pp"],
            dp=cfg["dp"],
            weights="fp8",
            concurrency=cfg["concurrency"],
        )
        assert c["tokens_per_s_per_user"][i] == pytest.approx(e.tokens_per_s_per_user, rel=1e-6)
        assert c["total_tokens_per_s_per_gpu"][i] == pytest.approx(e.total_tokens_per_s_per_gpu, rel=1e-6)
        assert c["ttft_ms_mean"][i] == pytest.approx(e.ttft_ms, rel=1e-6)
        # the tail at the sweep's percentile (p90 by default) is the estimate's: the sweep once clipped it at the
        # physical floor of its error band instead of serve's own-prompt floor (up to 13% apart)
        assert c["ttft_ms"][i] == pytest.approx(e.latency_percentiles["ttft_ms"]["p90"], rel=1e-6)
        # the throughput bands agree (held at the same roofline ceiling), and the latency bands are held at the same
        # physical floor (the sweep's latencies are at its percentile, the estimate's the mean: the bands scale them)
        for fig in ("output_tokens_per_s_per_gpu", "total_tokens_per_s_per_gpu"):
            assert c[f"{fig}_p90"][i] == pytest.approx(e.uncertainty[fig]["p90"], rel=1e-6)
            assert c[f"{fig}_p10"][i] == pytest.approx(e.uncertainty[fig]["p10"], rel=1e-6)
        for fig in ("ttft_ms", "tpot_ms"):
            floor = c[physics_floor_column(fig)][i]
            assert floor > 0 and c[f"{fig}_p10"][i] >= floor * (1 - 1e-9)
            if "clipped_at" in e.uncertainty[fig]:
                assert e.uncertainty[fig]["p10"] == pytest.approx(floor, rel=1e-6)
            clipped += "clipped_at" in e.uncertainty[fig]
    assert clipped  # the check above ran


def test_disagg_per_gpu_divides_by_prefill_plus_decode_gpus(sw):
    c = sw.cols
    dis = np.flatnonzero((c["mode"] == 1) & sw.valid)
    assert dis.size
    for i in dis[:: max(1, dis.size // 25)]:
        cfg = sw.config(int(i))
        n_gpus = cfg["prefill"]["replicas"] * cfg["prefill"]["gpus"] + cfg["decode"]["replicas"] * cfg["decode"]["gpus"]
        assert cfg["gpus"] == n_gpus == cfg["prefill_gpus"] + cfg["decode_gpus"]
        tok_s = c["requests_per_s"][i] * (1024 + 1024)
        assert c["total_tokens_per_s_per_gpu"][i] == pytest.approx(tok_s / n_gpus)
        assert c["output_tokens_per_s_per_gpu"][i] == pytest.approx(c["requests_per_s"][i] * 1024 / n_gpus)
        assert cfg["prefill"]["utilization"] <= max(S.DISAGG_PREFILL_UTILIZATIONS) + 1e-9


def test_disagg_hand_check_one_unit():
    """One disaggregated unit computed by hand from its parts: x prefill replicas feeding y decode replicas."""
    from tokenfab.catalog.calibration import load_profile
    from tokenfab.perf import queueing as Q
    from tokenfab.perf.serving import kv_transfer_s, prefill_service, serve, single_point

    m = get_model(MODEL)
    res = S.frontier(MODEL, "h100-sxm", isl=1024, osl=1024, weights="fp8", mode="disagg", raise_if_empty=False)
    sw = res.sweep
    c = sw.cols
    i = int(np.flatnonzero((c["mode"] == 1) & sw.valid & (c["p_tp"] == 1))[0])
    cfg = sw.config(i)
    x, y = cfg["prefill"]["replicas"], cfg["decode"]["replicas"]
    h, eng, prof = get_hardware("h100-sxm"), get_engine(cfg["engine"]), load_profile()
    d, p = cfg["decode"], cfg["prefill"]
    # the decode replica: decode-only rounds (prompts arrive with their KV), at its concurrency
    pa_d = single_point(h, eng, "fp8", "fp8", prof, d["tp"], d["pp"], d["dp"], d["ep"])
    r = serve(m, "fp8", "fp8", pa_d, isl=1024, osl=1024, concurrency=d["concurrency_per_replica"], decode_only=True)
    assert c["requests_per_s"][i] == pytest.approx(y * float(r["requests_per_s"][0]), rel=1e-6)
    gpus = x * p["gpus"] + y * d["gpus"]
    assert c["total_tokens_per_s_per_gpu"][i] == pytest.approx(c["requests_per_s"][i] * 2048 / gpus, rel=1e-6)
    # the prefill pool runs at most its target utilization
    pa_p = single_point(h, eng, "fp8", "fp8", prof, p["tp"], p["pp"], p["dp"], p["ep"])
    ps = prefill_service(m, "fp8", "fp8", pa_p, isl=1024)
    assert c["requests_per_s"][i] <= x * float(ps["replica_rps"][0]) * max(S.DISAGG_PREFILL_UTILIZATIONS) * (1 + 1e-9)
    # KV transfer over the link between the pools (scale-up: one HGX node holds the whole unit)
    same = gpus <= h.scaleup_domain_size
    assert cfg["kv_link"] == ("scale-up" if same else "scale-out")
    t_kv = float(kv_transfer_s(m, "fp8", 1024, pa_p, pa_d, same_domain=same)[0])
    assert cfg["kv_transfer_ms"] == pytest.approx(t_kv * 1e3, rel=1e-6)
    # TTFT = prefill queueing (M/D/c) + the prefill + the KV transfer + the hand-off + the first decode round
    wq = Q.mdc_wait_mean_s(c["q_lam"][i], c["q_service_s"][i], c["q_servers"][i])
    hand_off = (pa_p.cal["disagg_overhead_ms"][0] + pa_d.cal["ttft_overhead_ms"][0]) * 1e-3
    expect = wq + float(ps["latency_s"][0]) + t_kv + hand_off + float(r["decode_step_ms"][0]) / 1e3
    assert c["ttft_ms_mean"][i] == pytest.approx(expect * 1e3, rel=1e-6)


# ----------------------------------------------------------------------------------------------- frontier, SLA, tiers
def test_frontier_points_are_pareto_per_hardware_and_mode(res):
    d = res.to_dict()
    assert d["points"]
    groups = {}
    for p in d["points"]:
        groups.setdefault((p["hardware"], p["mode"]), []).append(p)
    sw = res.sweep
    c = sw.cols
    for (hw, mode), pts in groups.items():
        h = [k.key for k in sw.hardware].index(hw)
        all_ids = np.flatnonzero(sw.sla_mask() & (c["hw"] == h) & (c["mode"] == S.MODES.index(mode)))
        xs, ys = c["tokens_per_s_per_user"][all_ids], c["total_tokens_per_s_per_gpu"][all_ids]
        for p in pts:
            assert not _dominated_by_any(p["tokens_per_s_per_user"], p["total_tokens_per_s_per_gpu"], xs, ys)
        # and nothing non-dominated was dropped
        keep = S.pareto_mask(xs, ys)
        assert keep.sum() == len(pts)


def test_sla_filtering_keeps_only_compliant_points():
    limits = dict(ttft_max_ms=300.0, tpot_max_ms=40.0, e2el_max_ms=40_000.0, min_interactivity=25.0)
    free = S.frontier(MODEL, HW, isl=1024, osl=1024, weights="fp8").to_dict()
    assert any(p["tpot_ms"] > 40.0 or p["ttft_ms"] > 300.0 for p in free["points"])  # the limits bite
    d = S.frontier(MODEL, HW, isl=1024, osl=1024, weights="fp8", percentile="p99", **limits).to_dict()
    assert d["points"]
    for p in d["points"]:
        assert p["ttft_ms"] <= 300.0 and p["tpot_ms"] <= 40.0 and p["e2el_ms"] <= 40_000.0
        assert p["tokens_per_s_per_user"] >= 25.0
        assert p["percentile"] == "p99"
        assert p["ttft_ms"] >= p["ttft_ms_mean"] - 1e-9 or p["slo_attainment"] >= 0.99 - 1e-9
    for tier in ("bulk", "goldilocks", "premium"):
        if d["tiers"][tier]:
            assert d["tiers"][tier]["tpot_ms"] <= 40.0


def test_cost_on_every_point(res):
    d = res.to_dict()
    for p in d["points"]:
        usd = p["usd_per_gpu_hour"]
        assert p["usd_per_mtok_total"] == pytest.approx(usd / (p["total_tokens_per_s_per_gpu"] * 3600 / 1e6))
        out_mtok_h = p["output_tokens_per_s_per_gpu"] * 3600 / 1e6
        in_mtok_h = p["input_tokens_per_s_per_gpu"] * 3600 / 1e6
        # InferenceX: the whole GPU-hour per kind; the default split: the decode share of the GPU time to output
        assert p["usd_per_mtok_output_inferencex"] == pytest.approx(usd / out_mtok_h)
        s = p["prefill_gpu_time_share"]
        assert 0.0 <= s <= 1.0
        assert p["usd_per_mtok_output"] == pytest.approx(usd * (1 - s) / out_mtok_h)
        # the kinds add up to the point's GPU-hour (no prefix cache here)
        assert in_mtok_h * p["usd_per_mtok_input"] + out_mtok_h * p["usd_per_mtok_output"] == pytest.approx(usd)
        if p["mode"] == "disagg":  # the rule for disaggregated units: the prefill pool's share of the unit's GPUs
            assert s == pytest.approx(p["config"]["prefill_gpus"] / p["config"]["gpus"])
        kw = d["hardware"][p["hardware"]]["cost"]["all_in_kw_per_gpu"]
        assert p["tokens_per_s_per_mw"] == pytest.approx(p["total_tokens_per_s_per_gpu"] * 1000 / kw)


def test_tiers(res):
    """Each tier is within its tolerance of the best value, and no point that close has fewer GPUs per replica."""
    d = res.to_dict()
    pts = d["points"]
    t = d["tiers"]
    tol_c, tol_i = S.TIER_COST_TOLERANCE, S.TIER_INTERACTIVITY_TOLERANCE

    def check_cheapest(pick, among):
        low = min(p["usd_per_mtok_total"] for p in among)
        assert low <= pick["usd_per_mtok_total"] <= low * (1 + tol_c) * (1 + 1e-12)
        near = [p for p in among if p["usd_per_mtok_total"] <= low * (1 + tol_c) * (1 + 1e-12)]
        assert pick["config"]["gpus"] == min(p["config"]["gpus"] for p in near)

    check_cheapest(t["bulk"], pts)
    g = [p for p in pts if p["tokens_per_s_per_user"] >= S.GOLDILOCKS_INTERACTIVITY]
    assert t["goldilocks"]["tokens_per_s_per_user"] >= S.GOLDILOCKS_INTERACTIVITY
    check_cheapest(t["goldilocks"], g)
    # premium: the cheapest point in the fast band (>= 80 tok/s/user, OpenAI's Priority SLA), not the batch-1 extreme
    assert S.PREMIUM_INTERACTIVITY == 80.0 and t["premium_interactivity"] == 80.0
    fast = [p for p in pts if p["tokens_per_s_per_user"] >= S.PREMIUM_INTERACTIVITY]
    if fast:
        check_cheapest(t["premium"], fast)
    else:
        assert t["premium"] is None and "premium_note" in t
    top = max(p["tokens_per_s_per_user"] for p in pts)
    assert t["fastest"]["tokens_per_s_per_user"] >= top * (1 - tol_i)
    near = [p for p in pts if p["tokens_per_s_per_user"] >= top * (1 - tol_i)]
    assert t["fastest"]["config"]["gpus"] == min(p["config"]["gpus"] for p in near)
    assert "OpenAI" in t["sources"]["premium"]


class _FakeSweep:
    """The columns the tier picks read, for hand-made points (point(i) returns the index)."""

    def __init__(self, gpus, tps_user, usd, tps_gpu=None):
        n = len(gpus)
        self.cols = {
            "gpus": np.asarray(gpus, dtype=float),
            "tokens_per_s_per_user": np.asarray(tps_user, float),
            "usd_per_mtok_total": np.asarray(usd, float),
            "total_tokens_per_s_per_gpu": np.asarray(tps_gpu if tps_gpu is not None else np.ones(n), float),
            "tpot_ms": 1000.0 / np.asarray(tps_user, float),  # the tiers' floors read TPOT at the SLA percentile
        }
        self.sla = S.SLA(percentile=None)

    def point(self, i):
        return int(i)


def test_tier_near_ties_go_to_fewer_gpus_by_hand():
    # premium: a 129-GPU unit at 87.7 tok/s/user and an 8-GPU replica at 87.5 (0.2% slower): the 8-GPU one;
    # 80 tok/s/user on 4 GPUs is 9% slower: not a tie
    sw = _FakeSweep(gpus=[129, 8, 4], tps_user=[87.7, 87.5, 80.0], usd=[36.7, 36.5, 20.0])
    assert S.most_interactive_point(sw, [0, 1, 2]) == 1
    assert S.most_interactive_point(sw, [0, 1, 2], rel_tol=0.0) == 0  # no tolerance: the fastest
    # bulk: 0.100 $/M on 32 GPUs vs 0.1005 on 8 (0.5% dearer): the 8-GPU one; 0.103 on 4 (3% dearer) is no tie
    sw = _FakeSweep(gpus=[32, 8, 4], tps_user=[5, 6, 7], usd=[0.100, 0.1005, 0.103])
    assert S.cheapest_point(sw, [0, 1, 2]) == 1
    assert S.cheapest_point(sw, [0, 1, 2], rel_tol=0.0) == 0
    # no cost known: the highest tokens/s per GPU, near-ties (1%) to fewer GPUs
    sw = _FakeSweep(gpus=[16, 8], tps_user=[5, 6], usd=[np.nan, np.nan], tps_gpu=[1000.0, 995.0])
    assert S.cheapest_point(sw, [0, 1]) == 1
    t = S.token_tiers(
        _FakeSweep(gpus=[129, 8, 4], tps_user=[87.7, 87.5, 60.0], usd=[36.7, 36.5, 0.2]), np.array([0, 1, 2])
    )
    assert (t["bulk"], t["goldilocks"], t["premium"]) == (2, 2, 1)


def test_premium_prefers_a_small_replica_on_the_real_frontier():
    """llama-3.1-70b fp8 on h200: the disaggregated 1:16 unit (129 GPUs) is at most a fraction of a percent more
    interactive than 8 GPUs of TP8 at concurrency 1; premium picks the replica of 8 GPUs or fewer."""
    d = S.frontier(MODEL, "h200-sxm", isl=1024, osl=1024, weights="fp8").to_dict()
    p = d["tiers"]["fastest"]
    assert p["config"]["gpus"] <= 8
    # the premium tier is the cheapest point at >= 80 tok/s/user at the SLA percentile (p90: 1000 / its TPOT),
    # cheaper per token than the fastest point
    pr = d["tiers"]["premium"]
    assert 1000.0 / pr["tpot_ms"] >= 80.0 and pr["tokens_per_s_per_user"] >= 80.0
    assert pr["usd_per_mtok_total"] <= p["usd_per_mtok_total"]
    assert d["best"]["config"]["gpus"] == d["tiers"]["bulk"]["config"]["gpus"]


def test_at_target_interpolates_along_each_frontier(res):
    sw = res.sweep
    c = sw.cols
    hw, mode, ids = res.groups()[0]
    x, y = c["tokens_per_s_per_user"][ids], c["total_tokens_per_s_per_gpu"][ids]
    k = len(ids) // 2
    for U, want in ((x[k], y[k]), ((x[k] + x[k + 1]) / 2, None)):
        r = S.frontier(MODEL, HW, isl=1024, osl=1024, weights="fp8", target_interactivity=float(U))
        row = next(r_ for r_ in r.to_dict()["at_target"]["results"] if r_["hardware"] == hw and r_["mode"] == mode)
        if want is not None:
            assert row["total_tokens_per_s_per_gpu"] == pytest.approx(want, rel=1e-9)  # exact at a knot
        else:
            assert min(y[k], y[k + 1]) - 1e-9 <= row["total_tokens_per_s_per_gpu"] <= max(y[k], y[k + 1]) + 1e-9
        usd = sw.costs[hw]["usd_per_gpu_hour"]
        assert row["usd_per_mtok_total"] == pytest.approx(costmod.usd_per_mtok(usd, row["total_tokens_per_s_per_gpu"]))
    r = S.frontier(MODEL, HW, isl=1024, osl=1024, weights="fp8", target_interactivity=10_000.0).to_dict()
    assert all(row["achievable"] is False for row in r["at_target"]["results"])
    assert r["best"] is None


def test_moe_with_mtp_sweeps_draft_tokens():
    r = S.frontier("deepseek-v3", "gb200-nvl72", isl=1024, osl=1024, weights="fp4", mode="agg")
    drafts = set(r.sweep.cols["mtp_draft_tokens"].tolist())
    assert drafts == {0, 1, 2, 3}
    assert any(p["config"]["mtp"] for p in r.to_dict()["points"])  # MTP wins part of the frontier


def test_infeasible_sla_names_the_binding_limit():
    with pytest.raises(TokenfabError) as e:
        S.frontier(MODEL, "h100-sxm", isl=1024, osl=1024, weights="fp8", tpot_max_ms=1.0, ttft_max_ms=5000)
    msg = str(e.value)
    assert e.value.field == "tpot_max_ms"
    assert "binding" in msg and "TPOT" in msg and "best achievable" in msg
    best = float(e.value.expected.split()[-1])
    assert best > 1.0
    with pytest.raises(TokenfabError) as e:
        S.frontier(MODEL, "h100-sxm", isl=1024, osl=1024, weights="fp8", ttft_max_ms=0.5)
    assert e.value.field == "ttft_max_ms" and "p90" in str(e.value)


def test_model_that_fits_nowhere():
    with pytest.raises(TokenfabError) as e:
        S.frontier("llama-3.1-405b", "l40s", isl=1024, osl=1024, weights="bf16", gpus=1)
    assert "does not fit" in str(e.value)


def test_unknown_hardware_suggests():
    with pytest.raises(UnknownKeyError) as e:
        S.frontier(MODEL, "h100-sxn", isl=1024, osl=1024)
    assert "h100-sxm" in e.value.suggestions


def test_bad_inputs():
    with pytest.raises(TokenfabError):
        S.frontier(MODEL, "h100-sxm", isl=0, osl=10)
    with pytest.raises(TokenfabError):
        S.frontier(MODEL, "h100-sxm", weights="fp3")
    with pytest.raises(TokenfabError):
        S.frontier(MODEL, "h100-sxm", mode="hybrid")
    with pytest.raises(TokenfabError):
        S.frontier(MODEL, "h100-sxm", ttft_max_ms=-5)
    with pytest.raises(UnknownKeyError):
        S.frontier(MODEL, "h100-sxm", preset="owned-moon")


def test_unpriced_hardware_keeps_performance_and_warns():
    d = S.frontier(MODEL, "tpu-v6e", isl=1024, osl=1024, weights="fp8", mode="agg").to_dict()
    assert d["points"] and all(p["usd_per_mtok_total"] is None for p in d["points"])
    assert any("tpu-v6e" in w and "--usd-per-gpu-hour" in w for w in d["warnings"])
    d2 = S.frontier(MODEL, "tpu-v6e", isl=1024, osl=1024, weights="fp8", mode="agg", usd_per_gpu_hour=2.0).to_dict()
    u = d2["hardware"]["tpu-v6e"]["cost"]["utilization"]  # a rented hour is paid busy or idle: $/busy hour = 2 / u
    assert all(p["usd_per_gpu_hour"] == pytest.approx(2.0 / u) for p in d2["points"])


# ----------------------------------------------------------------------------------------------- laws of the search
def _frontiers(r):
    """(hardware, mode) -> (x, y) arrays of the frontier points."""
    out = {}
    for p in r.to_dict()["points"]:
        xs, ys = out.setdefault((p["hardware"], p["mode"]), ([], []))
        xs.append(p["tokens_per_s_per_user"])
        ys.append(p["total_tokens_per_s_per_gpu"])
    return {k: (np.array(x), np.array(y)) for k, (x, y) in out.items()}


def _weakly_dominated(sub, sup):
    """Every frontier point of ``sub`` has a point of ``sup`` (same hardware and mode) at least as good on both axes."""
    for key, (xs, ys) in sub.items():
        X, Y = sup[key]
        for x, y in zip(xs, ys, strict=False):
            assert np.any((x * (1 - 1e-12) <= X) & (y * (1 - 1e-12) <= Y)), (key, x, y)


def test_more_options_never_lower_the_frontier():
    """A superset of configurations (another weight precision) can only push each frontier up and right."""
    one = S.frontier(MODEL, "h100-sxm", isl=1024, osl=1024, weights="fp8")
    two = S.frontier(MODEL, "h100-sxm", isl=1024, osl=1024, weights="fp8,bf16")
    assert two.sweep.evaluated > one.sweep.evaluated
    _weakly_dominated(_frontiers(one), _frontiers(two))


def test_mtp_never_lowers_the_frontier():
    off = S.frontier("deepseek-v3", "b200", isl=1024, osl=1024, weights="fp4", mode="agg", mtp=False)
    on = S.frontier("deepseek-v3", "b200", isl=1024, osl=1024, weights="fp4", mode="agg")
    _weakly_dominated(_frontiers(off), _frontiers(on))
    # and MTP reaches a higher interactivity than the same sweep without it
    assert max(p["tokens_per_s_per_user"] for p in on.points()) > max(p["tokens_per_s_per_user"] for p in off.points())


def test_each_hardware_frontier_is_independent_of_the_others(res):
    alone = _frontiers(S.frontier(MODEL, "mi300x", isl=1024, osl=1024, weights="fp8"))
    together = _frontiers(res)
    for key, (x, y) in alone.items():
        np.testing.assert_allclose(np.sort(x), np.sort(together[key][0]), rtol=1e-12)
        np.testing.assert_allclose(np.sort(y), np.sort(together[key][1]), rtol=1e-12)


@settings(max_examples=6, deadline=None)
@given(loose=st.floats(200.0, 3000.0), shrink=st.floats(0.2, 0.95))
def test_tighter_sla_never_raises_the_frontier(res, loose, shrink):
    """Every frontier point under a tighter TTFT limit is matched or beaten by the frontier under the looser one."""
    sw = res.sweep
    a = S.frontier_indices(sw, sw.sla_mask(S.SLA.make(ttft_max_ms=loose)))
    b = S.frontier_indices(sw, sw.sla_mask(S.SLA.make(ttft_max_ms=loose * shrink)))
    c = sw.cols
    for i in b:
        same = a[(c["hw"][a] == c["hw"][i]) & (c["mode"][a] == c["mode"][i])]
        assert np.any(
            (c["tokens_per_s_per_user"][same] >= c["tokens_per_s_per_user"][i])
            & (c["total_tokens_per_s_per_gpu"][same] >= c["total_tokens_per_s_per_gpu"][i])
        )


def test_sweep_reaches_concurrency_one_for_every_layout(sw):
    """The search adds no artefact at the interactive end: every layout without attention-DP is evaluated at
    concurrency 1 (and DP layouts at one sequence per rank), in both modes."""
    c = sw.cols
    keys = set(
        zip(c["hw"].tolist(), c["tp"].tolist(), c["pp"].tolist(), c["dp"].tolist(), c["mode"].tolist(), strict=False)
    )
    for h, tp, pp, dp, mode in keys:
        sel = (c["hw"] == h) & (c["tp"] == tp) & (c["pp"] == pp) & (c["dp"] == dp) & (c["mode"] == mode)
        per_replica = c["concurrency"][sel] / np.where(mode == 1, c["d_replicas"][sel], 1)
        assert per_replica.min() == pytest.approx(dp)
    # the largest TP inside the scale-up domain is there
    for h, hw in enumerate(sw.hardware):
        assert c["tp"][c["hw"] == h].max() == min(hw.scaleup_domain_size, get_model(MODEL).max_q_heads)


def test_mtp_is_swept_at_the_lowest_concurrency():
    r = S.sweep("deepseek-v3", "b200", isl=1024, osl=1024, weights="fp4", mode="agg")
    c = r.cols
    low = c["concurrency"] == c["dp"]
    assert set(c["mtp_draft_tokens"][low].tolist()) == {0, 1, 2, 3}


def test_frontier_says_which_calibration_applied_per_hardware():
    from tokenfab.search import frontier as _frontier

    d = _frontier("llama-3.1-8b", ["h100-sxm", "mi300x"], isl=512, osl=128).to_dict()
    h, a = d["calibration"]["h100-sxm"], d["calibration"]["mi300x"]
    assert (h["hardware_family"], h["hardware_profile"], h["engine"]) == ("hopper", "fitted", "trtllm")
    # MI300X (CDNA 3) has no measurements: a prior taken from the fitted CDNA 4 family, said so
    assert (a["hardware_family"], a["hardware_profile"]) == ("cdna3", "prior")
    assert "cdna4" in a["hardware_rule"]


def test_a_layout_text_reruns_as_the_same_layout():
    """``TP2 DP2`` hid EP = 1, and `estimate --tp 2 --dp 2` takes EP = TP x DP = 4 (13,341 against 14,845 tok/s/GPU
    for DeepSeek-R1 on B200): beside DP the text always says EP."""
    assert S.layout_text({"tp": 2, "pp": 1, "dp": 2, "ep": 1}) == "TP2 DP2 EP1"
    assert S.layout_text({"tp": 2, "pp": 1, "dp": 2, "ep": 4}) == "TP2 DP2 EP4"
    assert S.layout_text({"tp": 8, "pp": 1, "dp": 1, "ep": 1}) == "TP8"
