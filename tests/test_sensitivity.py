"""Sensitivity: tornado laws, tornado base = tco + cost computed directly, the vectorized cost path = compute_tco,
Monte Carlo reproducibility, ordering and degenerate convergence, margin percentiles, figures."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tokenfab.core.errors import TokenfabError, UnknownKeyError
from tokenfab.economics import cost as costmod
from tokenfab.economics import sensitivity as sens
from tokenfab.economics import tco as tcomod

OWNED_PRESETS = ("owned-hyperscaler", "owned-neocloud", "stress")
HARDWARE = ("h100-sxm", "b200", "mi300x")
PROP = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _bar(result, name):
    return next(b for b in result.bars if b.input == name)


# ----------------------------------------------------------------------------------------------- tornado laws
@PROP
@given(
    hw=st.sampled_from(HARDWARE),
    preset=st.sampled_from(OWNED_PRESETS),
    tps=st.floats(10, 50_000),
    swing=st.floats(1, 60),
    u=st.floats(0.2, 0.8),
)
def test_tornado_monotone_laws(hw, preset, tps, swing, u):
    """Higher utilization -> lower cost; higher $/kWh -> higher cost; more throughput -> lower cost."""
    r = sens.tornado(hw, tokens_per_s_per_gpu=tps, preset=preset, tco_overrides={"utilization": u}, swing_pct=swing)
    ub = _bar(r, "utilization")
    assert ub.high_value > ub.low_value
    assert ub.usd_per_mtok_high < r.base_usd_per_mtok < ub.usd_per_mtok_low
    kb = _bar(r, "usd_per_kwh")
    assert kb.usd_per_mtok_high > r.base_usd_per_mtok > kb.usd_per_mtok_low
    tb = _bar(r, sens.THROUGHPUT)
    assert tb.usd_per_mtok_high < r.base_usd_per_mtok < tb.usd_per_mtok_low
    cb = _bar(r, "capex_usd_per_gpu")
    assert cb.usd_per_mtok_high > cb.usd_per_mtok_low  # more capex costs more
    lb = _bar(r, "life_years")
    assert lb.usd_per_mtok_high < lb.usd_per_mtok_low  # a longer life spreads capex thinner
    swings = [b.swing_usd_per_mtok for b in r.bars]
    assert swings == sorted(swings, reverse=True)


@PROP
@given(
    u1=st.floats(0.05, 1.0),
    u2=st.floats(0.05, 1.0),
    k1=st.floats(0.0, 0.5),
    k2=st.floats(0.0, 0.5),
    hw=st.sampled_from(HARDWARE),
)
def test_cost_monotone_in_utilization_and_power_price(u1, u2, k1, k2, hw):
    base = sens.base_inputs(hw, "owned-neocloud")
    lo_u, hi_u = sorted((u1, u2))
    c = lambda **kw: sens.usd_per_mtok_at(tcomod.TcoInputs(**{**base.model_dump(), **kw}), 1000.0)  # noqa: E731
    assert c(utilization=hi_u) <= c(utilization=lo_u) + 1e-12
    lo_k, hi_k = sorted((k1, k2))
    assert c(usd_per_kwh=hi_k) >= c(usd_per_kwh=lo_k) - 1e-12


@pytest.mark.parametrize("preset", ["owned-neocloud", "owned-hyperscaler", "inferencex-rental"])
def test_tornado_base_equals_tco_plus_cost_directly(preset):
    tps = 1234.5
    t = tcomod.tco("h100-sxm", preset)
    direct = costmod.usd_per_mtok(t.usd_per_gpu_hour, tps)
    r = sens.tornado("h100-sxm", tokens_per_s_per_gpu=tps, preset=preset)
    assert r.base_usd_per_mtok == pytest.approx(direct, rel=1e-12)
    assert r.base_usd_per_gpu_hour == pytest.approx(t.usd_per_gpu_hour, rel=1e-12)
    # every bar's low/high cost is the library's cost with that one input changed
    for b in r.bars:
        if b.input in (sens.THROUGHPUT, sens.MODEL_ERROR):
            continue
        t_lo = tcomod.tco("h100-sxm", preset, **{b.input: b.low_value})
        if preset.startswith("inferencex") and b.input != "utilization":
            t_lo = tcomod.compute_tco(sens.with_value(sens.base_inputs("h100-sxm", preset), b.input, b.low_value))
        assert b.usd_per_mtok_low == pytest.approx(costmod.usd_per_mtok(t_lo.usd_per_gpu_hour, tps), rel=1e-12)


def test_tornado_throughput_bar_by_hand():
    """Cost is inversely proportional to throughput: at -20% throughput the cost is base / 0.8, at +20% base / 1.2."""
    r = sens.tornado("h100-sxm", tokens_per_s_per_gpu=1000, swing_pct=20)
    b = _bar(r, sens.THROUGHPUT)
    assert (b.low_value, b.high_value) == pytest.approx((800.0, 1200.0))
    assert b.usd_per_mtok_low == pytest.approx(r.base_usd_per_mtok / 0.8, rel=1e-12)
    assert b.usd_per_mtok_high == pytest.approx(r.base_usd_per_mtok / 1.2, rel=1e-12)
    # $/M = $/GPU-h / (tok/s x 3600 / 1e6)
    assert r.base_usd_per_mtok == pytest.approx(r.base_usd_per_gpu_hour / (1000 * 3600 / 1e6), rel=1e-12)


def test_tornado_clips_to_bounds_and_says_so():
    r = sens.tornado(
        "h100-sxm", tokens_per_s_per_gpu=1000, tco_overrides={"utilization": 0.9, "pue": 1.1}, swing_pct=30
    )
    u = _bar(r, "utilization")
    assert u.high_value == 1.0 and u.clipped and "clipped" in u.clipped
    p = _bar(r, "pue")
    assert p.low_value == 1.0 and p.clipped
    assert any("utilization" in n and "clipped" in n for n in r.notes)
    assert _bar(r, "usd_per_kwh").clipped is None


def test_tornado_price_mode_varies_price_utilization_throughput_only():
    r = sens.tornado("h100-sxm", tokens_per_s_per_gpu=1000, preset="inferencex-neocloud")
    assert {b.input for b in r.bars} == {"price_usd_per_gpu_hour", "utilization", sens.THROUGHPUT, sens.MODEL_ERROR}
    assert r.method == "price"
    assert _bar(r, "utilization").high_value == 1.0  # base 1 (InferenceX convention), cannot rise


def test_tornado_to_dict_contract():
    d = sens.tornado("b200", tokens_per_s_per_gpu=500).to_dict()
    assert {"base_usd_per_mtok", "swing_pct", "bars"} <= set(d)
    for b in d["bars"]:
        assert {
            "input",
            "unit",
            "base_value",
            "low_value",
            "high_value",
            "usd_per_mtok_low",
            "usd_per_mtok_high",
        } <= set(b)
    names = {b["input"] for b in d["bars"]}
    assert {"utilization", "usd_per_kwh", "pue", "capex_usd_per_gpu", "life_years", "wacc", sens.THROUGHPUT} <= names


@pytest.mark.parametrize(
    "kw,field",
    [
        ({"swing_pct": 100}, "swing_pct"),
        ({"swing_pct": -5}, "swing_pct"),
        ({"tokens_per_s_per_gpu": 0}, sens.THROUGHPUT),
    ],
)
def test_tornado_errors(kw, field):
    args = {"tokens_per_s_per_gpu": 100.0, **kw}
    with pytest.raises(TokenfabError) as e:
        sens.tornado("h100-sxm", **args)
    assert e.value.field == field


# ----------------------------------------------------------------------------------------------- vectorized path
@PROP
@given(
    hw=st.sampled_from(HARDWARE),
    preset=st.sampled_from(OWNED_PRESETS + ("inferencex-hyperscaler",)),
    u=st.floats(0.05, 1.0),
    kwh=st.floats(0, 0.4),
    pue=st.floats(1.0, 2.0),
    capex=st.floats(1000, 100_000),
    life=st.floats(1, 10),
    wacc=st.floats(0, 0.3),
    colo=st.floats(0, 400),
    resid=st.floats(0, 1),
    maint=st.floats(0, 0.1),
    fac=st.floats(0, 20_000),
)
def test_vectorized_cost_path_equals_compute_tco(hw, preset, u, kwh, pue, capex, life, wacc, colo, resid, maint, fac):
    base = sens.base_inputs(hw, preset)
    vals = {
        "utilization": u,
        "usd_per_kwh": kwh,
        "pue": pue,
        "capex_usd_per_gpu": capex,
        "life_years": life,
        "wacc": wacc,
        "colocation_usd_per_kw_month": colo,
        "residual_value_fraction": resid,
        "maintenance_fraction_per_year": maint,
        "facility_capex_usd_per_kw": fac,
    }
    direct = tcomod.compute_tco(tcomod.TcoInputs(**{**base.model_dump(), **vals})).usd_per_gpu_hour
    vec = sens.usd_per_gpu_hour_vectorized(base, {k: np.array([v, v]) for k, v in vals.items()})
    assert vec.shape == (2,)
    assert vec[0] == pytest.approx(direct, rel=1e-12)


# ----------------------------------------------------------------------------------------------- Monte Carlo
def test_monte_carlo_reproducible_with_seed():
    a = sens.monte_carlo("h100-sxm", tokens_per_s_per_gpu=1500, n=3000, seed=7)
    b = sens.monte_carlo("h100-sxm", tokens_per_s_per_gpu=1500, n=3000, seed=7)
    c = sens.monte_carlo("h100-sxm", tokens_per_s_per_gpu=1500, n=3000, seed=8)
    np.testing.assert_array_equal(a.usd_per_mtok, b.usd_per_mtok)
    assert a.to_dict()["percentiles_usd_per_mtok"] == b.to_dict()["percentiles_usd_per_mtok"]
    assert not np.array_equal(a.usd_per_mtok, c.usd_per_mtok)


@PROP
@given(
    seed=st.integers(0, 2**31),
    hw=st.sampled_from(HARDWARE),
    preset=st.sampled_from(OWNED_PRESETS),
    tps=st.floats(10, 20_000),
)
def test_monte_carlo_percentiles_ordered_and_positive(seed, hw, preset, tps):
    r = sens.monte_carlo(hw, tokens_per_s_per_gpu=tps, preset=preset, n=400, seed=seed)
    p = r.percentiles_usd_per_mtok
    assert 0 < p["p5"] <= p["p50"] <= p["p95"]
    assert np.all(np.isfinite(r.usd_per_mtok)) and r.usd_per_mtok.shape == (400,)
    assert np.all(r.usd_per_mtok > 0)


@pytest.mark.parametrize("preset", ["owned-neocloud", "inferencex-rental"])
def test_monte_carlo_degenerate_distributions_converge_to_base(preset):
    base = sens.base_inputs("h100-sxm", preset)
    names = list(sens.default_distributions(base))
    fixed = {k: {"kind": "triangular", "low": 1, "mode": 1, "high": 1} for k in names}
    r = sens.monte_carlo("h100-sxm", tokens_per_s_per_gpu=800, preset=preset, n=500, distributions=fixed)
    t = sens.tornado("h100-sxm", tokens_per_s_per_gpu=800, preset=preset)
    np.testing.assert_allclose(r.usd_per_mtok, t.base_usd_per_mtok, rtol=1e-12)
    assert r.base_usd_per_mtok == pytest.approx(t.base_usd_per_mtok, rel=1e-12)
    # narrowing a distribution narrows the spread towards the base
    off = sens.monte_carlo(
        "h100-sxm", tokens_per_s_per_gpu=800, preset=preset, n=2000, distributions={k: None for k in names}
    )
    np.testing.assert_allclose(off.usd_per_mtok, t.base_usd_per_mtok, rtol=1e-12)


def test_monte_carlo_margin_and_probability_of_loss():
    r = sens.monte_carlo("h100-sxm", tokens_per_s_per_gpu=1000, n=4000, seed=3, price_usd_per_mtok=0.9)
    pc, pm = r.percentiles_usd_per_mtok, r.percentiles_margin_usd_per_mtok
    # margin = price - cost, a decreasing map: its p5 is price - cost p95, etc.
    assert pm["p5"] == pytest.approx(0.9 - pc["p95"], rel=1e-9)
    assert pm["p50"] == pytest.approx(0.9 - pc["p50"], rel=1e-9)
    assert r.percentiles_margin_pct["p50"] == pytest.approx(pm["p50"] / 0.9 * 100)
    assert r.probability_of_loss == pytest.approx(np.mean(r.usd_per_mtok > 0.9))
    cheap = sens.monte_carlo("h100-sxm", tokens_per_s_per_gpu=1000, n=500, price_usd_per_mtok=1e-6)
    rich = sens.monte_carlo("h100-sxm", tokens_per_s_per_gpu=1000, n=500, price_usd_per_mtok=1e6)
    assert cheap.probability_of_loss == 1.0 and rich.probability_of_loss == 0.0
    d = r.to_dict()
    assert {"percentiles_margin_usd_per_mtok", "percentiles_margin_pct", "probability_of_loss"} <= set(d)
    assert sum(d["histogram"]["counts"]) == 4000


def test_monte_carlo_clips_utilization_and_reports_it():
    r = sens.monte_carlo("h100-sxm", tokens_per_s_per_gpu=1000, n=2000, tco_overrides={"utilization": 0.95})
    assert r.clipped["utilization"] > 0
    assert any("utilization" in n for n in r.notes)


def test_distribution_sampling_by_kind():
    rng = np.random.default_rng(0)
    x = sens.Distribution("uniform", low=0.5, high=1.5).sample(rng, 10_000, 10.0)
    assert x.min() >= 5.0 and x.max() <= 15.0 and abs(x.mean() - 10.0) < 0.1
    y = sens.Distribution("lognormal", sigma=0.2).sample(rng, 20_000, 4.0)
    assert np.median(y) == pytest.approx(4.0, rel=0.02)
    z = sens.Distribution("triangular", low=2, mode=3, high=5, relative=False).sample(rng, 20_000, 99.0)
    assert z.min() >= 2 and z.max() <= 5 and z.mean() == pytest.approx(10 / 3, rel=0.02)
    assert np.all(sens.Distribution("fixed").sample(rng, 3, 7.0) == 7.0)


def test_default_distributions_are_documented():
    for name, d in sens.DEFAULT_DISTRIBUTIONS.items():
        assert d.rationale, name
        assert d.kind in sens.DISTRIBUTION_KINDS


@pytest.mark.parametrize(
    "dists,exc",
    [
        ({"utilization": {"kind": "beta"}}, UnknownKeyError),
        ({"utilisation": {"kind": "fixed"}}, UnknownKeyError),
        ({"pue": {"kind": "triangular", "low": 2, "mode": 1, "high": 3}}, TokenfabError),
        ({"pue": {"kind": "uniform", "low": 1}}, TokenfabError),
        ({"pue": {"kind": "lognormal", "sigma": -1}}, TokenfabError),
        ({"pue": {"kind": "uniform", "low": 1, "high": 2, "shape": 3}}, UnknownKeyError),
        ({"pue": [1, 2]}, TokenfabError),
    ],
)
def test_monte_carlo_bad_distributions(dists, exc):
    with pytest.raises(exc):
        sens.monte_carlo("h100-sxm", tokens_per_s_per_gpu=100, n=10, distributions=dists)


def test_monte_carlo_bad_n_and_seed():
    with pytest.raises(TokenfabError):
        sens.monte_carlo("h100-sxm", tokens_per_s_per_gpu=100, n=0)
    with pytest.raises(TokenfabError):
        sens.monte_carlo("h100-sxm", tokens_per_s_per_gpu=100, seed=-1)


# ----------------------------------------------------------------------------------------------- figures
def test_figures_are_plotly_dicts():
    t = sens.tornado("h100-sxm", tokens_per_s_per_gpu=1000)
    f = sens.tornado_figure(t)
    assert len(f["data"]) == 2 and all(len(tr["y"]) == len(t.bars) for tr in f["data"])
    # the bars start at the base and end at the cost of each side
    lo = f["data"][0]
    assert lo["x"][-1] + lo["base"][-1] == pytest.approx(t.bars[0].usd_per_mtok_low)
    assert sens.tornado_figure(t.to_dict()) == f
    mc = sens.monte_carlo("h100-sxm", tokens_per_s_per_gpu=1000, n=1000, price_usd_per_mtok=0.5)
    g = sens.monte_carlo_figure(mc)
    assert sum(g["data"][0]["y"]) == 1000
    assert any("price" in a["text"] for a in g["layout"]["annotations"])
    import plotly.graph_objects as go

    go.Figure(f)  # valid for plotly
    go.Figure(g)
    assert math.isfinite(t.base_usd_per_mtok)
