"""Honest numbers end to end (issue 12): every modelled figure carries its calibration status and its error band, from
the estimate through the frontier, recommend, plan, prices, the report and the dashboard; rankings say "tie" when
bands overlap, verdicts say "can't tell" when a band straddles their line, a hardware on a prior is named wherever it
is recommended, and the Monte Carlo includes the model's own error.

The checks depend on the structure of the committed calibration profile (data/calibration.json: its ``uncertainty``
table), not on its numbers: the lead refits it."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest
from typer.testing import CliRunner

from test_scenario import BASE
from tokenfab import search
from tokenfab.catalog.calibration import bundled_profile_path, load_profile
from tokenfab.catalog.hardware import get_hardware
from tokenfab.cli.common import to_jsonable
from tokenfab.cli.main import app
from tokenfab.economics import sensitivity as sens
from tokenfab.market import pricing
from tokenfab.perf import serving
from tokenfab.perf import uncertainty as unc
from tokenfab.planning import fleet
from tokenfab.planning import plan as P
from tokenfab.planning.scenario import parse_scenario_text
from tokenfab.render import report as R

runner = CliRunner()
FITTED_HW = "h200-sxm"  # Hopper: the family with the most measurement rows
PRIOR_HW = ("tpu-v6e", "mi300x")  # no TPU or CDNA3 measurements in the calibration data


def _status(hw: str, engine: str | None = None) -> dict:
    from tokenfab.catalog.engines import resolve_engine

    h = get_hardware(hw)
    return load_profile().status_for(h, resolve_engine(engine, h).key).to_dict()


def _log_width(b: dict) -> float:
    return math.log(b["p90"] / b["p10"])


# the modelled $/M figures (a provider's list price, a scenario's own prices are not modelled)
MODELLED = re.compile(
    r"^(usd_per_mtok_.*|cost_usd_per_mtok|breakeven_usd_per_mtok|price_at_target_margin_usd_per_mtok)$"
)
NOT_MODELLED = {"pricing", "definitions", "scopes", "prices", "verdicts", "tiers_definitions"}


def missing_bands(obj, path: str = "") -> list[str]:
    """Paths of the modelled $/M figures in a JSON document without their p10/p90: a number needs
    ``uncertainty[key]`` beside it (or ``<key>_p10`` / ``<key>_p90``), a monthly column its ``_p10`` / ``_p90``
    columns."""
    out: list[str] = []
    if isinstance(obj, dict):
        band = obj.get("uncertainty") or {}
        for k, v in obj.items():
            if k in NOT_MODELLED:
                continue
            if MODELLED.match(k) and not k.endswith(("_p10", "_p90")) and v is not None and not isinstance(v, str):
                if isinstance(v, list):
                    lo, hi = obj.get(f"{k}_p10"), obj.get(f"{k}_p90")
                    ok = isinstance(lo, list) and isinstance(hi, list) and len(lo) == len(v) == len(hi)
                    ok = ok and all(
                        x is None or (a is not None and b is not None and a <= b)
                        for x, a, b in zip(v, lo, hi, strict=True)
                    )
                elif isinstance(v, int | float):
                    b = band.get(k) or {"p10": obj.get(f"{k}_p10"), "p90": obj.get(f"{k}_p90")}
                    ok = b.get("p10") is not None and b.get("p90") is not None and b["p10"] <= b["p90"]
                else:
                    ok = True
                if not ok:
                    out.append(f"{path}.{k}")
            out += missing_bands(v, f"{path}.{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += missing_bands(v, f"{path}[{i}]")
    return out


def _modelled_count(obj) -> int:
    if isinstance(obj, dict):
        n = sum(
            1
            for k, v in obj.items()
            if k not in NOT_MODELLED and MODELLED.match(k) and isinstance(v, int | float | list) and v is not None
        )
        return n + sum(_modelled_count(v) for k, v in obj.items() if k not in NOT_MODELLED)
    if isinstance(obj, list):
        return sum(_modelled_count(v) for v in obj)
    return 0


def test_the_walker_finds_a_figure_without_its_band():
    """missing_bands itself can fail: a $/M figure without a band, a column without its p10 column, a band upside
    down are all reported; a scenario's list price is not a modelled figure."""
    good = {"usd_per_mtok_total": 1.0, "uncertainty": {"usd_per_mtok_total": {"p10": 0.8, "p90": 1.3}}}
    assert missing_bands(good) == []
    assert missing_bands({"a": [{"usd_per_mtok_total": 1.0}]}) == [".a[0].usd_per_mtok_total"]
    assert missing_bands({"m": {"usd_per_mtok_input": [1.0, 2.0], "usd_per_mtok_input_p10": [0.9, 1.0]}})
    bad = {"usd_per_mtok_total": 1.0, "uncertainty": {"usd_per_mtok_total": {"p10": 1.3, "p90": 0.8}}}
    assert missing_bands(bad) == [".usd_per_mtok_total"]
    assert missing_bands({"pricing": {"usd_per_mtok_input": 0.5}}) == []


# ----------------------------------------------------------------------------------------------- 1: the estimate
@pytest.mark.parametrize("prior_hw", PRIOR_HW)
def test_a_fitted_profile_has_a_narrower_band_than_a_prior_one_for_the_same_model(prior_hw):
    """Llama-3.1-70B at concurrency 32 on a fitted family (Hopper, with trtllm-legacy: measured for every metric,
    TTFT included) and on a family without measurements: every figure's p10-p90 band is narrower on the fitted one,
    and the prior estimate says it is a prior."""
    assert _status(FITTED_HW)["hardware_profile"] == "fitted"
    assert unc.is_prior(_status(prior_hw))
    fit = serving.estimate("llama-3.1-70b", FITTED_HW, concurrency=32, weights="fp8", engine="trtllm-legacy")
    assert fit.calibration["parameters_at_prior"] == []
    pri = serving.estimate("llama-3.1-70b", prior_hw, concurrency=32, weights="fp8")
    assert fit.calibration["prior"] is False and fit.calibration["note"] is None
    assert pri.calibration["prior"] is True and pri.calibration["note"].startswith(f"{prior_hw} rests on a prior")
    assert set(fit.uncertainty) == set(pri.uncertainty) == set(unc.FIGURES)
    for fig in unc.FIGURES:
        assert _log_width(fit.uncertainty[fig]) < _log_width(pri.uncertainty[fig]), fig
        assert pri.uncertainty[fig]["bucket"].startswith("prior:")
        assert not fit.uncertainty[fig]["bucket"].startswith("prior:")
    d = json.loads(json.dumps(to_jsonable(pri.to_dict())))
    for k in ("hardware_profile", "engine_profile", "hardware_family", "engine", "rows", "sources", "prior", "note"):
        assert k in d["calibration"], k


def test_the_committed_cv_coverage_is_between_70_and_90_percent():
    """benchmarks/calibrate.py --cv: the share of held-out rows (leave-one-source-out) inside their p10-p90, as
    committed with the profile, is 70-90% (a band that is honest: neither too narrow nor too wide)."""
    raw = json.loads(bundled_profile_path().read_text(encoding="utf-8"))
    cov = raw["uncertainty"]["coverage"]
    assert cov["rows"] > 100
    assert 0.7 <= cov["inside_p10_p90"] <= 0.9
    assert "leave-one-source-out" in raw["uncertainty"]["derivation"]
    # and no vendor x metric group is under-covered, on either side (each side has its own margin,
    # fitting.fit_band_margin): at most 10% of a group's held-out rows below its bands and 10% above, unless the
    # side's margin sits at its bound; a group may over-cover where a margin is 0 (NVIDIA TTFT: README "Error bands")
    groups = cov["by_vendor_metric"]
    assert {"AMD:throughput", "AMD:ttft", "NVIDIA:throughput", "NVIDIA:tpot"} <= set(groups)
    margin = raw["uncertainty"]["margin"]
    for key, share in groups.items():
        assert share >= 0.7, key
    for side, k in (("below", "lo"), ("above", "hi")):
        for key, miss in cov[f"{side}_by_vendor_metric"].items():
            assert miss <= 0.1 + 1e-9 or margin[key][k] >= 3.0, (side, key)


# ----------------------------------------------------------------------------------------------- 2: propagation
@pytest.fixture(scope="module")
def frontier_doc():
    r = search.frontier("llama-3.1-8b", ["h100-sxm", "mi300x"], isl=1024, osl=256)
    return json.loads(json.dumps(to_jsonable(r.to_dict())))


def test_every_frontier_point_with_a_cost_has_its_band(frontier_doc):
    d = frontier_doc
    assert _modelled_count(d) > 50  # the walker has figures to judge
    assert missing_bands(d) == []
    for p in d["points"]:
        u = p["uncertainty"]
        for k in ("total_tokens_per_s_per_gpu", "tokens_per_s_per_mw", "usd_per_mtok_total"):
            assert u[k]["p10"] <= u[k]["p90"]
        # cost scales inversely with the throughput band: p10 cost x p90 throughput = cost x throughput
        assert u["usd_per_mtok_total"]["p10"] * u["total_tokens_per_s_per_gpu"]["p90"] == pytest.approx(
            p["usd_per_mtok_total"] * p["total_tokens_per_s_per_gpu"], rel=1e-9
        )
        assert p["prior"] == unc.is_prior(p["calibration"])


def test_a_frontier_names_its_hardware_on_a_prior(frontier_doc):
    d = frontier_doc
    assert d["prior_hardware"] == [h for h in ("h100-sxm", "mi300x") if unc.is_prior(_status(h))]
    assert len(d["calibration_notes"]) == len(d["prior_hardware"])
    for hw, note in zip(d["prior_hardware"], d["calibration_notes"], strict=True):
        assert note.startswith(f"{hw} rests on a prior") and "p10-p90" in note
    assert d["tie_rule"] == search.TIE_RULE and "tie" in d["best"] and "tie" in d["at_target"]


@pytest.fixture(scope="module")
def rec():
    return fleet.recommend_report("llama-3.1-8b", ["h100-sxm", "b200", "mi300x"], rate_rps=30, isl=1024, osl=256)


def test_every_recommend_option_has_its_bands_derived_from_the_throughput_band(rec):
    d = json.loads(json.dumps(to_jsonable(rec.to_dict())))
    assert missing_bands(d) == []
    for o in d["options"]:
        u = o["uncertainty"]
        assert o["prior"] == unc.is_prior(o["calibration"])
        for k in ("replicas", "gpus", "mw", "usd_per_month", "usd_per_mtok_total", "tokens_per_s_per_mw"):
            assert u[k]["p10"] <= u[k]["p90"], k
        # $/month and MW are the bill and the power of the band's GPU counts
        wall, kw = o["usd_per_gpu_hour_wallclock"], o["all_in_kw_per_gpu"]
        for q in ("p10", "p90"):
            assert u["usd_per_month"][q] == pytest.approx(fleet.usd_per_month(wall, u["gpus"][q]), rel=1e-12)
            assert u["mw"][q] == pytest.approx(fleet.megawatts(u["gpus"][q], kw), rel=1e-12)
        lo, hi = u["throughput_factor"]["p10"], u["throughput_factor"]["p90"]
        if lo <= 1.0 <= hi:  # the modelled fleet lies within its own band
            assert u["gpus"]["p10"] <= o["gpus"] <= u["gpus"]["p90"]


def test_a_fleet_sized_at_the_p10_throughput_needs_more_gpus(rec):
    """An aggregated option's p90 GPUs are its replicas at requests/s per replica x the band's low factor, by hand:
    ceil(sizing rate / (replica requests/s x lo)) + spares."""
    checked = 0
    for o in rec.options:
        if o.mode != "agg":
            continue
        lo = o.uncertainty["throughput_factor"]["p10"]
        replica_rps = o.capacity_requests_per_s / o.replicas
        reps = max(1, math.ceil(o.sizing_requests_per_s / (replica_rps * lo) * (1 - 1e-12) - 1e-9))
        assert o.uncertainty["gpus"]["p90"] == (reps + o.spare_replicas) * o.gpus_per_replica
        checked += 1
    assert checked, "no aggregated option to check"


def test_the_recommend_tie_follows_the_rule(rec):
    """Every option tied with the cheapest overlaps its $/month band by more than TIE_OVERLAP, every other does not."""
    opts = [o.to_dict() for o in rec.options]
    best = opts[0]["uncertainty"]["usd_per_month"]
    for o in opts[1:]:
        b = o["uncertainty"]["usd_per_month"]
        over = search.band_overlap((best["p10"], best["p90"]), (b["p10"], b["p90"]))
        assert (o["hardware"] in rec.tie) == (over > search.TIE_OVERLAP), o["hardware"]
    assert rec.prior_hardware == [o.hardware for o in rec.options if o.prior]
    assert rec.to_dict()["tie_rule"] == search.TIE_RULE


def test_a_tie_is_reported_when_two_bands_overlap():
    """Constructed bands: 100-140 and 110-150 overlap by 30 of 40 (75% > 50%): a tie; 135-200 overlaps 5 of 40: not."""
    a = {"hardware": "a", "uncertainty": {"usd_per_month": {"p10": 100.0, "p90": 140.0}}}
    b = {"hardware": "b", "uncertainty": {"usd_per_month": {"p10": 110.0, "p90": 150.0}}}
    c = {"hardware": "c", "uncertainty": {"usd_per_month": {"p10": 135.0, "p90": 200.0}}}
    t = search.tie_report(a, [a, b, c], "usd_per_month")
    assert t["tie"] == ["b"] and t["tie_rule"] == search.TIE_RULE
    assert search.tie_report(c, [a, c], "usd_per_month")["tie"] == []
    # the plan's ranking: whole-plan cost bands of two feasible hardware
    h1 = P.HardwarePlan("x1", True, totals={"cost_usd": 10.0, "cost_usd_p10": 9.0, "cost_usd_p90": 12.0})
    h2 = P.HardwarePlan(
        "x2",
        True,
        totals={"cost_usd": 11.0, "cost_usd_p10": 8.0, "cost_usd_p90": 20.0},
        calibration={"prior": True, "note": "x2 rests on a prior (constructed)"},
    )
    h3 = P.HardwarePlan("x3", True, totals={"cost_usd": 30.0, "cost_usd_p10": 25.0, "cost_usd_p90": 35.0})
    rank = P.plan_ranking(type("R", (), {"hardware": [h1, h2, h3]})())
    assert rank["tie"] == ["x2"] and rank["prior_hardware"] == ["x2"]
    assert rank["calibration_notes"] == ["x2 rests on a prior (constructed)"]


def _scenario(hardware: list[str], months: int = 4, price: bool = True) -> P.PlanResult:
    text = BASE.replace("count: 1000", "count: 200000").replace("hardware: [h100-sxm]", f"hardware: {hardware}")
    text += "tco:\n  usd_per_gpu_hour: 2.5\n"
    if price:
        text += "pricing:\n  usd_per_mtok_input: 0.5\n  usd_per_mtok_cached_input: 0.05\n  usd_per_mtok_output: 2.0\n"
    return P.plan(parse_scenario_text(text), months=months)


@pytest.fixture(scope="module")
def plan_mixed():
    return _scenario(["h100-sxm", "mi300x"])


def test_every_plan_month_and_point_with_a_cost_has_its_band(plan_mixed):
    d = json.loads(json.dumps(to_jsonable(plan_mixed.to_dict())))
    assert _modelled_count(d) > 20
    assert missing_bands(d) == []
    for h in d["hardware"]:
        m = h["monthly"]
        for k in ("gpus", "mw", "cost_usd", "gross_margin_pct", "breakeven_usd_per_mtok", "breakeven_users"):
            for a, b in zip(m[f"{k}_p10"], m[f"{k}_p90"], strict=True):
                assert a is not None and b is not None and a <= b, k
        # cost = the band's GPUs x wall-clock $/GPU-hour x 730.5 h + fixed costs, at both ends
        wall = h["tco"]["usd_per_gpu_hour_wallclock"]
        for q in ("p10", "p90"):
            want = np.asarray(fleet.usd_per_month(wall, m[f"gpus_{q}"])) + np.asarray(m["fixed_usd"])
            np.testing.assert_allclose(m[f"cost_usd_{q}"], want, rtol=1e-12)
        assert h["totals"]["cost_usd_p10"] == pytest.approx(sum(m["cost_usd_p10"]))
        assert h["prior"] == unc.is_prior(h["calibration"])
    s = d["summary"]
    for k in ("gpus", "cost_usd_per_month", "gross_margin_pct", "usd_per_mtok_blended"):
        assert s["uncertainty"][k]["p10"] <= s["uncertainty"][k]["p90"]
    assert "tie" in s and s["tie_rule"] == search.TIE_RULE and "prior_hardware" in s


def test_a_plan_on_a_prior_says_so_in_its_summary_and_the_report_executive_summary():
    """A scenario whose only (so best) hardware rests on a prior: the plan summary and the report's executive summary
    name it as a prior, with its band."""
    hw = next(h for h in PRIOR_HW if unc.is_prior(_status(h)))
    res = _scenario([hw], months=3)
    assert res.best is not None and res.best.hardware == hw and res.best.prior
    s = res.summary()
    assert s["prior"] is True and s["prior_hardware"] == [hw]
    assert any(x.startswith(f"Caution: {hw} rests on a prior") for x in s["sentences"])
    page = R.render_html(res)
    summary = page[page.index('id="summary"') : page.index('id="how-to-read"')]
    text = re.sub(r"<[^>]+>", " ", summary)
    assert f"{hw} rests on a prior" in text and "throughput band is p10-p90" in text
    assert f"{hw} (prior)" in text  # the fleet card


def test_a_plan_on_fitted_hardware_has_no_caution():
    res = _scenario(["h100-sxm"], months=3)
    assert not res.best.prior
    assert not any("rests on a prior" in x for x in res.summary()["sentences"])
    page = R.render_html(res)
    assert "rests on a prior" not in page[page.index('id="summary"') : page.index('id="how-to-read"')]


# ----------------------------------------------------------------------------------------------- prices
def _point(cost: float, p10: float, p90: float, tps_user: float | None = None) -> dict:
    """A modeled operating point of $/M total ``cost`` and its band (1000 tok/s per GPU at the matching $/GPU-h)."""
    tps = 1000.0
    usd_h = cost * tps * 3600 / 1e6
    return {
        "usd_per_gpu_hour": usd_h,
        "total_tokens_per_s_per_gpu": tps,
        "input_tokens_per_s_per_gpu": tps / 2,
        "output_tokens_per_s_per_gpu": tps / 2,
        "prefill_gpu_time_share": 0.2,
        "tokens_per_s_per_user": tps_user,
        "usd_per_mtok_total": cost,
        "uncertainty": {"usd_per_mtok_total": {"p10": p10, "p90": p90}},
        "calibration": {"hardware_profile": "prior", "engine_profile": "fitted", "prior": True, "note": "n"},
    }


def _price(inp: float, out: float) -> pricing.ProviderPrice:
    from tokenfab.market.pricing import user_price

    return user_price(
        pricing.UserPrice(
            provider="p",
            model="m",
            input_usd_per_mtok=inp,
            output_usd_per_mtok=out,
            as_of="2026-01-01",
            source="constructed for the test",
        )
    )


def test_cant_tell_where_the_margin_band_straddles_a_verdict_line():
    """Cost $1.00/M with a band of 0.60-1.60 against a workload price of $1.25/M: the point margin is +20% (thin),
    but at the cost's p90 the price is below cost and at its p10 the margin is 52% (sustainable): can't tell."""
    pr = _price(1.25, 1.25)
    c = pricing.compare(pr, _point(1.0, 0.6, 1.6, 60.0), isl=1000, osl=1000)
    w = c["workload"]
    assert w["margin_pct"] == pytest.approx(20.0)
    assert c["point_verdict"] == "thin"
    assert w["uncertainty"]["margin_usd_per_mtok"] == {"p10": pytest.approx(1.25 - 1.6), "p90": pytest.approx(0.65)}
    assert c["verdict_band"]["p10"] == list(pricing.VERDICTS)[2] and c["verdict_band"]["p90"] == "sustainable"
    assert c["verdict"] == c["margin_verdict"] == pricing.CANT_TELL and pricing.CANT_TELL in pricing.VERDICTS
    # a band within one verdict keeps the existing verdict name
    narrow = pricing.compare(pr, _point(1.0, 0.9, 1.1, 60.0), isl=1000, osl=1000)
    assert narrow["verdict"] == "thin" and narrow["verdict_band"] == {"p10": "thin", "p90": "thin"}
    rich = pricing.compare(_price(5.0, 5.0), _point(1.0, 0.6, 1.6, 60.0), isl=1000, osl=1000)
    assert rich["verdict"] == "sustainable"
    # a slow point stays "not comparable" whatever its band
    slow = pricing.compare(pr, _point(1.0, 0.6, 1.6, 3.0), isl=1000, osl=1000)
    assert slow["verdict"] == pricing.NOT_COMPARABLE and slow["margin_verdict"] == pricing.CANT_TELL
    # per token kind: every margin carries the cost band scaled like the total
    for kind in ("input", "output", "blended_3to1"):
        u = c[kind]["uncertainty"]["cost_usd_per_mtok"]
        assert u["p10"] == pytest.approx(c[kind]["cost_usd_per_mtok"] * 0.6)
        assert u["p90"] == pytest.approx(c[kind]["cost_usd_per_mtok"] * 1.6)


def test_every_price_row_has_its_band_and_its_verdict_follows_it():
    r = pricing.price_check("llama-3.1-8b", ["h100-sxm", "mi300x"])
    d = json.loads(json.dumps(to_jsonable(r.to_dict())))
    assert d["comparisons"] and missing_bands(d) == []
    for row in d["comparisons"]:
        ends = row["verdict_band"]
        assert ends is not None
        want = pricing.CANT_TELL if ends["p10"] != ends["p90"] else ends["p10"]
        assert row["margin_verdict"] == want
        assert row["prior"] == unc.is_prior(row["calibration"])
    assert d["prior_hardware"] == [h for h in ("h100-sxm", "mi300x") if unc.is_prior(_status(h))]


def test_prices_at_a_plan_carry_the_plan_band():
    from tokenfab.api import plan_operating_points

    res = _scenario(["h100-sxm"], months=3)
    ops = plan_operating_points(res)
    p = ops["points"]["h100-sxm"]
    b = p["uncertainty"]["usd_per_mtok_total"]
    assert b["p10"] <= b["p90"]
    w = res.best.workloads[0]
    # the point's cost scales with the fleet's GPUs at the band's ends (same demand)
    assert b["p90"] == pytest.approx(p["usd_per_mtok_total"] * float(w["gpus_p90"][-1]) / float(w["gpus"][-1]))


# ----------------------------------------------------------------------------------------------- 4: sensitivity
def test_the_tornado_shows_the_model_error_as_one_bar():
    t = sens.tornado("h100-sxm", tokens_per_s_per_gpu=1000, throughput_band=(0.8, 1.25))
    bars = [b for b in t.bars if b.input == sens.MODEL_ERROR]
    assert len(bars) == 1 and bars[0].label == "performance model error (p10-p90)"
    b = bars[0]
    assert b.usd_per_mtok_low == pytest.approx(t.base_usd_per_mtok / 0.8, rel=1e-12)
    assert b.usd_per_mtok_high == pytest.approx(t.base_usd_per_mtok / 1.25, rel=1e-12)
    off = sens.tornado("h100-sxm", tokens_per_s_per_gpu=1000, model_error=False)
    assert sens.MODEL_ERROR not in {x.input for x in off.bars}
    # without a given band: the hardware's own (a prior's is wider than a fitted family's)
    wide = sens.model_error_band("tpu-v6e")
    narrow = sens.model_error_band(FITTED_HW)
    assert wide["prior"] and not narrow["prior"]
    assert math.log(wide["hi"] / wide["lo"]) > math.log(narrow["hi"] / narrow["lo"])


def test_the_monte_carlo_draws_the_model_error_from_the_band():
    """A lognormal matched to the band: the draws' own p10 and p90 of throughput are the band's factors."""
    lo, hi = 0.7, 1.3
    keep = dict.fromkeys(sens.default_distributions(sens.base_inputs("h100-sxm", None)))  # TCO inputs at base
    keep.pop(sens.THROUGHPUT)
    r = sens.monte_carlo(
        "h100-sxm", tokens_per_s_per_gpu=1000, n=40_000, seed=1, distributions=keep, throughput_band=(lo, hi)
    )
    mult = r.base_usd_per_mtok / r.usd_per_mtok  # cost = base / multiplier
    assert np.quantile(mult, 0.1) == pytest.approx(lo, rel=0.02)
    assert np.quantile(mult, 0.9) == pytest.approx(hi, rel=0.02)
    assert r.model_error["included"] and r.to_dict()["definitions"]["model_error"] == sens.MODEL_ERROR_METHOD


def test_probability_of_loss_widens_with_the_model_error():
    """TCO inputs held at base and the price at the modelled cost: without the model's error the cost is certain
    (P(loss) 0, no spread); with it P(loss) is the chance the throughput falls short. With every default distribution
    on, the model's error widens the cost's p5-p95 as well."""
    keep = dict.fromkeys(sens.default_distributions(sens.base_inputs(FITTED_HW, None)))
    keep.pop(sens.THROUGHPUT)
    base = sens.tornado(FITTED_HW, tokens_per_s_per_gpu=1000, model_error=False).base_usd_per_mtok
    args = dict(tokens_per_s_per_gpu=1000, n=20_000, seed=2, price_usd_per_mtok=base * 1.05)
    without = sens.monte_carlo(FITTED_HW, distributions=keep, model_error=False, **args)
    with_err = sens.monte_carlo(FITTED_HW, distributions=keep, **args)
    assert without.probability_of_loss == 0.0 and with_err.probability_of_loss > 0.0
    b = sens.model_error_band(FITTED_HW)
    mu, sigma = unc.lognormal_from_band(b["lo"], b["hi"])
    # P(cost > 1.05 base) = P(multiplier < 1 / 1.05)
    from statistics import NormalDist

    want = NormalDist(mu, sigma).cdf(math.log(1 / 1.05))
    assert with_err.probability_of_loss == pytest.approx(want, abs=0.015)
    full_off = sens.monte_carlo(FITTED_HW, model_error=False, **args)
    full_on = sens.monte_carlo(FITTED_HW, **args)
    spread = lambda r: math.log(r.percentiles_usd_per_mtok["p95"] / r.percentiles_usd_per_mtok["p5"])  # noqa: E731
    assert spread(full_on) > spread(full_off)


def test_sensitivity_cli_states_the_model_error():
    r = runner.invoke(
        app, ["sensitivity", "--hardware", "mi300x", "--model", "llama-3.1-8b", "--monte-carlo", "500", "--json"]
    )
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    op = d["operating_point"]
    assert op["throughput_band"]["lo"] < op["throughput_band"]["hi"]
    bar = next(b for b in d["tornado"]["bars"] if b["input"] == sens.MODEL_ERROR)
    assert bar["low_value"] == pytest.approx(op["throughput_band"]["lo"])
    assert d["monte_carlo"]["model_error"]["included"] is True
    assert d["monte_carlo"]["model_error"]["lo"] == pytest.approx(op["throughput_band"]["lo"])
    off = runner.invoke(
        app,
        [
            "sensitivity",
            "--hardware",
            "mi300x",
            "--tokens-per-s-per-gpu",
            "900",
            "--monte-carlo",
            "200",
            "--no-model-error",
            "--json",
        ],
    )
    assert off.exit_code == 0, off.output
    o = json.loads(off.output)
    assert o["monte_carlo"]["model_error"]["included"] is False
    assert sens.MODEL_ERROR not in {b["input"] for b in o["tornado"]["bars"]}


# ----------------------------------------------------------------------------------------------- CLI and dashboard
def test_cli_tables_print_the_ranges_and_the_prior_literally():
    r = runner.invoke(
        app, ["recommend", "-m", "llama-3.1-8b", "--hardware", "h100-sxm,mi300x", "--rate", "20", "--isl", "1024"]
    )
    assert r.exit_code == 0, r.output
    out = " ".join(r.output.split())
    wide = runner.invoke(
        app,
        ["recommend", "-m", "llama-3.1-8b", "--hardware", "h100-sxm,mi300x", "--rate", "20", "--isl", "1024", "--wide"],
    )
    assert wide.exit_code == 0, wide.output
    if unc.is_prior(_status("mi300x")):
        # at 80 columns the hardware cell folds ("mi300x" / "(prior)"); the mark is never cut off
        assert "(prior)" in out and "(pr " not in out and "caution: mi300x rests on a prior" in out
        assert "mi300x (prior)" in wide.output
    assert "p10-p90" in out and "–" in r.output


def test_dashboard_json_carries_the_prior_badge():
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from tokenfab.ui.app import create_app

    with TestClient(create_app(isolation="thread"), base_url="http://127.0.0.1") as c:
        e = c.post("/api/estimate", json={"model": "llama-3.1-8b", "hardware": "mi300x", "concurrency": 8})
        assert e.status_code == 200, e.text
        cal = e.json()["calibration"]
        assert cal["prior"] == unc.is_prior(_status("mi300x")) and ("note" in cal)
        f = c.post("/api/frontier", json={"model": "llama-3.1-8b", "hardware": ["h100-sxm", "mi300x"]})
        assert f.status_code == 200, f.text
        d = f.json()
        assert "prior_hardware" in d and "calibration_notes" in d
        assert all("prior" in p and "uncertainty" in p for p in d["points"])


def test_budget_options_carry_the_band_of_what_they_serve():
    rep = fleet.budget_report("llama-3.1-8b", ["h100-sxm", "mi300x"], power_mw=0.5, isl=1024, osl=256)
    d = json.loads(json.dumps(to_jsonable(rep.to_dict())))
    assert d["options"] and missing_bands(d) == []
    for o in d["options"]:
        u = o["uncertainty"]
        f = u["throughput_factor"]
        assert u["tokens_per_s"]["p10"] == pytest.approx(o["tokens_per_s"] * f["p10"], rel=1e-12)
        assert u["usd_per_mtok_total"]["p90"] == pytest.approx(o["usd_per_mtok_total"] / f["p10"], rel=1e-12)


@pytest.mark.parametrize(
    "band,field",
    [
        ((0.0, 1.2), "throughput_band.lo"),
        ((1.3, 0.7), "throughput_band"),
        ((0.8, math.inf), "throughput_band.hi"),
        ({"lo": 0.8}, "throughput_band.hi"),
        ("wide", "throughput_band"),
        ((True, 1.2), "throughput_band.lo"),
    ],
)
def test_a_bad_throughput_band_is_an_error_naming_it(band, field):
    from tokenfab.core.errors import TokenfabError

    with pytest.raises(TokenfabError) as e:
        sens.monte_carlo("h100-sxm", tokens_per_s_per_gpu=1000, n=10, throughput_band=band)
    assert e.value.field == field
