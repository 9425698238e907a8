"""Fuzz the Python API (issue 14): each public entry point with hostile values in each numeric parameter must raise
a TokenfabError naming a parameter of the call (the fuzzed one when the value is no finite number) or return a
finite result; and the second law: valid, finite inputs never produce non-finite outputs (values the result flags,
such as the TTFT of a configuration that does not fit or an overloaded rate, excepted by name).

Functions: tokenfab.fit, estimate, frontier, recommend (and the budget form), compute_tco, compute_cost,
cost_for_hardware, planning.plan.plan with parse_scenario_text, render.report.render_html, market.pricing.price_check,
economics.sensitivity.tornado / monte_carlo, the bench records loader + bench.report.report_doc, catalog lookups."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tokenfab
from _fuzz import HOSTILE_TEXT, HOSTILE_VALUES, assert_finite, bench_records, walk
from tokenfab.core.errors import TokenfabError
from tokenfab.economics import sensitivity as sens
from tokenfab.economics import tco as tcomod
from tokenfab.planning import fleet

FAST = settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=10, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

M, HW = "llama-3.1-8b", "h100-sxm"
NOT_A_NUMBER = tuple(v for v in HOSTILE_VALUES if isinstance(v, (str, bool, list, dict)))


def is_finite_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


# name -> (function, fixed keyword arguments, fuzzed parameters, result -> dict, allowed non-finite paths)
def _estimate_allow(r):
    return (r"\.(ttft_ms|tpot_ms|e2el_ms|tokens_per_s_per_user)(\.p\d+)?$",) if (not r.fits or r.overloaded) else ()


LAYOUT = ("gpus", "tp", "pp", "dp", "ep")
API = {
    "fit": (
        tokenfab.fit,
        {"model": M, "hardware": HW},
        (
            *LAYOUT,
            "users",
            "context",
            "params",
            "chip_memory_gib",
            "chips_per_rack",
            "chips_per_node",
            "runtime_overhead_fraction",
            "max_batch_tokens",
        ),
    ),
    "estimate": (
        tokenfab.estimate,
        {"model": M, "hardware": HW},
        (
            *LAYOUT,
            "isl",
            "osl",
            "concurrency",
            "rate_rps",
            "mtp_draft_tokens",
            "prefix_hit_rate",
        ),
    ),
    "compute_tco": (tokenfab.compute_tco, {"hardware": HW}, tuple(f for f in tcomod.INPUT_FIELDS)),
    "compute_cost": (
        tokenfab.compute_cost,
        {"usd_per_gpu_hour": 2.0, "total_tokens_per_s_per_gpu": 1000.0},
        (
            "usd_per_gpu_hour",
            "total_tokens_per_s_per_gpu",
            "all_in_kw_per_gpu",
            "it_kw_per_gpu",
            "cached_input_cost_fraction",
            "blend_input_output_ratio",
        ),
    ),
    "cost_for_hardware": (
        tokenfab.cost_for_hardware,
        {"hardware": HW, "total_tokens_per_s_per_gpu": 1000.0},
        ("total_tokens_per_s_per_gpu", "pue", "utilization", "usd_per_kwh", "capex_usd_per_gpu", "life_years"),
    ),
    "tornado": (
        sens.tornado,
        {"hardware": HW, "tokens_per_s_per_gpu": 1000.0},
        ("tokens_per_s_per_gpu", "swing_pct"),
    ),
    "monte_carlo": (
        sens.monte_carlo,
        {"hardware": HW, "tokens_per_s_per_gpu": 1000.0, "n": 200},
        ("tokens_per_s_per_gpu", "n", "seed", "price_usd_per_mtok"),
    ),
}
SWEEPS = {
    "frontier": (
        tokenfab.frontier,
        {"model": M, "hardware": HW, "mode": "agg"},
        (
            "isl",
            "osl",
            "gpus",
            "ttft_max_ms",
            "tpot_max_ms",
            "e2el_max_ms",
            "min_interactivity",
            "target_interactivity",
            "usd_per_gpu_hour",
            "prefix_hit_rate",
            "goldilocks_interactivity",
        ),
    ),
    "recommend": (
        tokenfab.recommend,
        {"model": M, "hardware_list": HW, "isl": 1024, "osl": 1024, "rate_rps": 2.0, "mode": "agg"},
        ("rate_rps", "isl", "osl", "ttft_max_ms", "tpot_max_ms", "gpus", "usd_per_gpu_hour", "prefix_hit_rate"),
    ),
    "budget": (
        fleet.budget_report,
        {"model": M, "hardware_list": HW, "isl": 1024, "osl": 1024, "power_mw": 1.0, "mode": "agg"},
        ("power_mw", "isl", "ttft_max_ms"),
    ),
}
VECTORIZED = {"compute_cost", "cost_for_hardware"}
# a library error may name the parameter by its model name (a plain price is price_usd_per_gpu_hour in TcoInputs)
ALIASES = {"usd_per_gpu_hour": ("price_usd_per_gpu_hour",), "total_tokens_per_s_per_gpu": ("tokens_per_s_per_gpu",)}


def _result_dict(r):
    if isinstance(r, list):
        return [x.to_dict() for x in r]
    return r.to_dict() if hasattr(r, "to_dict") else r


def _check_call(name, fn, fixed, params, param, value):
    kw = dict(fixed, **{param: value})
    try:
        r = fn(**kw)
    except TokenfabError as e:
        names = {param, *ALIASES.get(param, ())}
        field = (e.field or "").split(".")[0].split("[")[0]
        if not is_finite_number(value):
            assert field in names, f"{name}({param}={value!r}): the error names {e.field!r}: {e}"
        else:
            assert field in set(params) | set(fixed) | {a for p in params for a in ALIASES.get(p, ())} | {
                "hardware", "model", "layout", "percentile", "rho", "sla", "tp", "pp", "dp", "ep", "gpus",
            }, f"{name}({param}={value!r}): the error names {e.field!r}: {e}"  # fmt: skip
        return
    vectorized = name in VECTORIZED and isinstance(value, list)  # compute_cost takes arrays (NumPy-vectorized)
    assert is_finite_number(value) or isinstance(value, (bool, str)) or vectorized, f"{name}({param}={value!r})"
    allow = _estimate_allow(r) if name == "estimate" else ()
    assert_finite(_result_dict(r), allow=allow, what=f"{name}({param}={value!r})")


@pytest.mark.timeout(300)
@pytest.mark.parametrize("name", sorted(API))
@FAST
@given(data=st.data())
def test_hostile_values_in_every_numeric_parameter(name, data):
    fn, fixed, params = API[name]
    param = data.draw(st.sampled_from(params), label="param")
    value = data.draw(st.sampled_from(HOSTILE_VALUES) | st.floats(allow_nan=True, allow_infinity=True), label="value")
    _check_call(name, fn, fixed, params, param, value)


@pytest.mark.timeout(600)
@pytest.mark.parametrize("name", sorted(SWEEPS))
@SLOW
@given(data=st.data())
def test_hostile_values_in_the_sweeps(name, data):
    fn, fixed, params = SWEEPS[name]
    param = data.draw(st.sampled_from(params), label="param")
    value = data.draw(st.sampled_from(HOSTILE_VALUES), label="value")
    _check_call(name, fn, fixed, params, param, value)


@pytest.mark.parametrize("value", NOT_A_NUMBER, ids=repr)
def test_wrong_types_are_errors_naming_the_parameter(value):
    """Text, bools, lists and dicts where a number is expected: a TokenfabError naming it, never a TypeError."""
    for fn, kw, param in (
        (tokenfab.fit, {"model": M, "hardware": HW}, "users"),
        (tokenfab.estimate, {"model": M, "hardware": HW}, "isl"),
        (tokenfab.compute_tco, {"hardware": HW}, "pue"),
        (sens.monte_carlo, {"hardware": HW, "tokens_per_s_per_gpu": 100.0}, "n"),
    ):
        with pytest.raises(TokenfabError) as e:
            fn(**kw, **{param: value})
        assert e.value.field == param, e.value


@pytest.mark.parametrize("text", HOSTILE_TEXT, ids=range(len(HOSTILE_TEXT)))
def test_hostile_keys_are_unknown_key_errors(text):
    for fn, kw in (
        (tokenfab.get_hardware, {}),
        (tokenfab.compute_tco, {}),
        (lambda k: tokenfab.fit(M, k), {}),
        (lambda k: tcomod.tco(HW, k), {}),
    ):
        with pytest.raises(TokenfabError):
            fn(text, **kw)
    with pytest.raises(TokenfabError):
        tokenfab.get_model(text)


# ------------------------------------------------------------------------------------------------- contradictions
@pytest.mark.parametrize(
    "call, field",
    [
        (lambda: tokenfab.estimate(M, HW, rate_rps=2.0, concurrency=8), "concurrency"),
        (lambda: tokenfab.estimate(M, HW, concurrency="max", rate_rps=2.0), "concurrency"),
        (lambda: tokenfab.estimate(M, HW, mtp_acceptance_length=2.0), "mtp_acceptance_length"),
        (lambda: tcomod.tco(HW, "owned-neocloud", 2.0), "price_usd_per_gpu_hour"),
        (lambda: tcomod.tco(HW, usd_per_gpu_hour=2.0, wacc=0.05), "wacc"),
        (lambda: tcomod.tco(HW, "inferencex-rental", capex_usd_per_gpu=1.0), "capex_usd_per_gpu"),
        (lambda: tokenfab.frontier(M, HW, preset="owned-hyperscaler", usd_per_gpu_hour=2.0), "price_usd_per_gpu_hour"),
        (
            lambda: tokenfab.compute_cost(
                2.0, total_tokens_per_s_per_gpu=100, input_tokens_per_s_per_gpu=500, output_tokens_per_s_per_gpu=500
            ),
            "total_tokens_per_s_per_gpu",
        ),
        (lambda: tokenfab.fit(M, HW, chips_per_rack=0), "chips_per_rack"),
        (lambda: tokenfab.fit("llama-3.1-70b", HW, gpus=1, runtime_overhead_fraction=-1), "runtime_overhead_fraction"),
        (lambda: tokenfab.frontier(M, HW, prefix_hit_rate=1.5), "prefix_hit_rate"),
        (lambda: tokenfab.recommend(M, HW, rate_rps=1e15, isl=1024, osl=1024), "rate_rps"),
        (lambda: fleet.budget_report(M, HW, racks=-2, isl=1024, osl=1024), "racks"),
    ],
)
def test_contradictions_and_out_of_range_layouts_are_errors(call, field):
    with pytest.raises(TokenfabError) as e:
        call()
    assert e.value.field == field, e.value


def test_an_overloaded_rate_is_flagged_with_the_max_sustainable_rate():
    e = tokenfab.estimate("llama-3.1-70b", HW, gpus=8, rate_rps=10_000)
    assert e.overloaded and math.isfinite(e.max_sustainable_rate_rps) and 0 < e.max_sustainable_rate_rps < 10_000
    assert e.to_dict()["overloaded"] is True and "max sustainable rate" in e.overload_message
    ok = tokenfab.estimate("llama-3.1-70b", HW, gpus=8, rate_rps=0.5 * e.max_sustainable_rate_rps)
    assert not ok.overloaded and math.isfinite(ok.ttft_ms)


# ------------------------------------------------------------------------------------------------- valid inputs
@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    users=st.integers(1, 2000),
    context=st.integers(1, 8192),
    gpus=st.sampled_from([1, 2, 4, 8]),
    weights=st.sampled_from(["bf16", "fp8", "fp4"]),
)
def test_valid_fits_are_finite(users, context, gpus, weights):
    assert_finite(tokenfab.fit(M, HW, gpus=gpus, users=users, context=context, weights=weights).to_dict())


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    isl=st.integers(1, 4096),
    osl=st.integers(1, 4096),
    load=st.one_of(
        st.integers(1, 1024).map(lambda c: {"concurrency": c}), st.floats(0.01, 100).map(lambda r: {"rate_rps": r})
    ),
    gpus=st.sampled_from([1, 2, 4, 8]),
    prefix=st.floats(0, 0.99),
)
def test_valid_estimates_are_finite_or_flagged(isl, osl, load, gpus, prefix):
    e = tokenfab.estimate(M, HW, gpus=gpus, isl=isl, osl=osl, prefix_hit_rate=prefix, **load)
    assert_finite(e.to_dict(), allow=_estimate_allow(e))
    if e.fits and not e.overloaded:
        assert math.isfinite(e.ttft_ms) and math.isfinite(e.tpot_ms)


_TCO_VALID = {
    "utilization": st.floats(0.01, 1),
    "pue": st.floats(1, 3),
    "usd_per_kwh": st.floats(0, 1),
    "life_years": st.floats(0.5, 20),
    "wacc": st.floats(0, 0.5),
    "capex_usd_per_gpu": st.floats(0, 1e6),
    "residual_value_fraction": st.floats(0, 1),
    "idle_power_fraction": st.floats(0, 1),
    "colocation_usd_per_kw_month": st.floats(0, 1000),
}


@settings(max_examples=80, deadline=None, derandomize=True)
@given(st.fixed_dictionaries({}, optional=_TCO_VALID), st.floats(1, 1e6))
def test_valid_tco_and_cost_are_finite(overrides, tps):
    t = tcomod.tco(HW, **overrides)
    assert_finite(t.to_dict())
    assert_finite(tokenfab.compute_cost(t.usd_per_gpu_hour, total_tokens_per_s_per_gpu=tps).to_dict())


@settings(max_examples=10, deadline=None, derandomize=True)
@given(st.floats(1, 1e5), st.floats(1, 50), st.integers(10, 3000), st.integers(0, 2**32))
def test_valid_sensitivity_is_finite(tps, swing, n, seed):
    assert_finite(sens.tornado(HW, tokens_per_s_per_gpu=tps, swing_pct=swing).to_dict())
    assert_finite(sens.monte_carlo(HW, tokens_per_s_per_gpu=tps, n=n, seed=seed, price_usd_per_mtok=1.0).to_dict())


# ------------------------------------------------------------------------------------------------- scenarios
def _leaves(d, path=()):
    if isinstance(d, dict):
        for k, v in d.items():
            yield from _leaves(v, path + (k,))
    elif isinstance(d, list):
        for i, v in enumerate(d):
            yield from _leaves(v, path + (i,))
    elif isinstance(d, (int, float)) and not isinstance(d, bool):
        yield path


def _set(d, path, value):
    for p in path[:-1]:
        d = d[p]
    d[path[-1]] = value


BASE_SCENARIO = yaml.safe_load((EXAMPLES / "consumer_chat.yaml").read_text())
NUMERIC_PATHS = sorted(_leaves(BASE_SCENARIO), key=str)


@pytest.mark.timeout(600)
@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(
    path=st.sampled_from(NUMERIC_PATHS),
    value=st.sampled_from([math.nan, math.inf, -math.inf, -1, 0, 1e30, -1e30, 1e308, "abc", [1], {"a": 1}, 10**40]),
)
def test_hostile_scenario_values_are_errors_at_their_key_path_or_finite_plans(path, value):
    from tokenfab.planning import plan as planning
    from tokenfab.planning.scenario import format_path, parse_scenario_text

    d = copy.deepcopy(BASE_SCENARIO)
    _set(d, path, value)
    text = yaml.safe_dump(d)
    try:
        sc = parse_scenario_text(text, source="fuzz.yaml")
    except TokenfabError as e:
        if not is_finite_number(value):
            assert e.field == format_path(path), f"{format_path(path)}={value!r}: {e}"
        return
    try:
        res = planning.plan(sc, months=3, hardware=[HW])
    except TokenfabError as e:
        assert e.field, e
        return
    assert_finite(res.to_dict(), allow=(r"breakeven",), what=f"plan with {format_path(path)}={value!r}")


def test_the_issues_scenario_values_are_errors_at_their_key_path():
    from tokenfab.planning.scenario import parse_scenario_text

    cases = [
        (("diurnal", "hourly_weights", 3), math.nan, "diurnal.hourly_weights[3]"),
        (("personas", 0, "features", "chat"), math.nan, "personas[0].features.chat"),
        (("growth", "midpoint_month"), math.nan, "growth.midpoint_month"),
        (("personas", 0, "count"), 1e30, "personas[0].count"),
        (("pricing", "usd_per_mtok_input"), math.inf, "pricing.usd_per_mtok_input"),
        (("fixed_costs_usd_per_month",), math.inf, "fixed_costs_usd_per_month"),
    ]
    for path, value, field in cases:
        d = copy.deepcopy(BASE_SCENARIO)
        _set(d, path, value)
        with pytest.raises(TokenfabError) as e:
            parse_scenario_text(yaml.safe_dump(d), source="s.yaml")
        assert e.value.field == field and "line" in str(e.value), e.value
    d = copy.deepcopy(BASE_SCENARIO)
    d["diurnal"] = {"peak_to_average": math.inf}
    with pytest.raises(TokenfabError) as e:
        parse_scenario_text(yaml.safe_dump(d), source="s.yaml")
    assert e.value.field == "diurnal.peak_to_average"


def test_explosive_growth_is_refused_with_the_limit():
    from tokenfab.planning import plan as planning
    from tokenfab.planning.scenario import parse_scenario_text

    d = copy.deepcopy(BASE_SCENARIO)
    d["growth"] = {"kind": "monthly", "monthly_growth_pct": 1000}
    d["horizon_months"] = 240
    sc = parse_scenario_text(yaml.safe_dump(d), source="s.yaml")
    with pytest.raises(TokenfabError) as e:
        planning.plan(sc, hardware=[HW])
    assert e.value.field == "growth" and "1e+10" in str(e.value)
    with pytest.raises(TokenfabError) as e:
        planning.plan(sc, months=100_000, hardware=[HW])
    assert e.value.field == "months"


def test_valid_scenarios_give_finite_plans_and_reports():
    from tokenfab.planning import plan as planning
    from tokenfab.planning.scenario import load_scenario
    from tokenfab.render.report import render_html

    for name in ("consumer_chat", "enterprise_rag", "agentic_coding"):
        res = planning.plan(load_scenario(EXAMPLES / f"{name}.yaml"), months=4, hardware=[HW])
        d = res.to_dict()
        assert_finite(d, allow=(r"breakeven",))
        for path, v in walk(d):
            if "breakeven" in path and isinstance(v, float):
                assert math.isfinite(v) or math.isnan(v), path  # NaN: nothing up to the bound breaks even (documented)
    html = render_html(res)
    assert "NaN" not in html.split("const FIGS")[1][:1_000_000].split("</script>")[0]
    with pytest.raises(TokenfabError) as e:
        render_html(res, swing_pct=math.nan)
    assert e.value.field == "swing_pct"


# ------------------------------------------------------------------------------------------------- records, catalog
@pytest.mark.parametrize(
    "mutate, field",
    [
        (lambda r: r.update(ttft_ms="fast"), "ttft_ms"),
        (lambda r: r.update(ttft_ms=-5), "ttft_ms"),
        (lambda r: r.update(output_tokens=2.5), "output_tokens"),
        (lambda r: r.update(output_tokens=True), "output_tokens"),
        (lambda r: r.update(input_tokens=10**30), "input_tokens"),
        (lambda r: r.update(itl_ms=[1, "x"]), "itl_ms"),
        (lambda r: r.update(itl_ms="x"), "itl_ms"),
        (lambda r: r.update(t_end=r["t_start"] - 1), "t_end"),
        (lambda r: r.update(concurrency=None), "concurrency"),
        (lambda r: r.update(concurrency=0), "concurrency"),
        (lambda r: r.update(mode="sideways"), "mode"),
        (lambda r: r.update(mode="open", rate=-1), "rate"),
        (lambda r: r.update(status=["ok"]), "status"),
        (lambda r: r.update(request_id=["a"]), "request_id"),
        (lambda r: r.update(tpot_ms=5e-324), "tpot_ms"),
        (lambda r: r.pop("mode"), "mode"),
    ],
)
def test_malformed_bench_records_are_errors_naming_the_line_and_field(mutate, field):
    from tokenfab.core.files import parse_jsonl_records
    from tokenfab.core.jsonable import to_jsonable

    recs = bench_records()
    mutate(recs[2])
    import json

    lines = [json.dumps(to_jsonable(r)) for r in recs]
    with pytest.raises(TokenfabError) as e:
        parse_jsonl_records(lines)
    assert "line 3" in str(e.value) and field in str(e.value), e.value


GARBAGE_LINES = ["{", "[", "}", "nul", "NaN", '{"request_id": 1, "ttft_ms": NaN}', "1", '"x"', '{"a": 1}', "[" * 200,
                 '{"request_id": "x", "status": "ok"}']  # fmt: skip


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.lists(st.sampled_from(GARBAGE_LINES), max_size=20))
def test_garbage_lines_are_counted_or_refused_and_valid_records_report_finite(lines):
    from tokenfab.bench import report
    from tokenfab.core.files import parse_jsonl_records

    good = [__import__("json").dumps(r) for r in bench_records(per_level=3)]
    try:
        recs, bad = parse_jsonl_records(good + lines)
    except TokenfabError as e:
        assert e.field == "results" and "line" in str(e)
        return
    assert len(recs) >= len(good) and bad <= len(lines)
    doc = report.report_doc(recs, gpus=1, usd_per_gpu_hour=2.0)
    assert_finite(doc, allow=(r"\.rate$",))


def _record_strategy():
    ms = st.one_of(st.none(), st.just(0.0), st.floats(1e-6, 1e6))
    tok = st.one_of(st.none(), st.integers(0, 10**6))
    return st.fixed_dictionaries(
        {
            "request_id": st.text(min_size=1, max_size=8),
            "run_id": st.sampled_from(["r1", "r2"]),
            "session_id": st.sampled_from(["s1", "s2"]),
            "status": st.sampled_from(["ok", "error"]),
            "ttft_ms": ms,
            "tpot_ms": ms,
            "e2el_ms": ms,
            "input_tokens": tok,
            "output_tokens": tok,
            "token_count_source": st.sampled_from(["usage", "chunks", None]),
            "itl_ms": st.lists(st.one_of(st.just(0.0), st.floats(1e-6, 1e4)), max_size=5),
            "t_start": st.floats(0, 1e9),
        },
        optional={"error_kind": st.sampled_from(["timeout", "http_500", None])},
    ).flatmap(
        lambda r: st.tuples(
            st.just(r),
            st.floats(0, 1e4),
            st.one_of(
                st.integers(1, 64).map(lambda c: {"mode": "closed", "concurrency": c, "rate": None}),
                st.one_of(st.floats(0.01, 1e3), st.just("inf")).map(lambda x: {"mode": "open", "rate": x}),
            ),
        ).map(lambda t: {**t[0], "t_end": t[0]["t_start"] + t[1], **t[2]})
    )


@pytest.mark.timeout(300)
@settings(max_examples=80, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_record_strategy(), min_size=1, max_size=30), st.integers(1, 64), st.floats(0.01, 100))
def test_records_the_loader_accepts_give_a_finite_report(records, gpus, price):
    """Any record set that passes the loader's checks is reported (bench.report.report_doc) without an exception
    and with finite numbers: the loader's checks are what the harness's report needs."""
    import json

    from tokenfab.bench import report
    from tokenfab.core.files import parse_jsonl_records

    recs, bad = parse_jsonl_records([json.dumps(r) for r in records])
    assert bad == 0 and len(recs) == len(records)
    doc = report.report_doc(recs, gpus=gpus, usd_per_gpu_hour=price)
    assert_finite(doc, allow=(r"\.rate$",))


# ------------------------------------------------------------------------------------------------- prices, calibrate
@pytest.mark.timeout(300)
@pytest.mark.parametrize(
    "kw, field",
    [
        ({"isl": 0}, "isl"),
        ({"osl": math.nan}, "osl"),
        ({"isl": "1024"}, "isl"),
        ({"usd_per_gpu_hour": math.inf}, "usd_per_gpu_hour"),
        ({"usd_per_gpu_hour": 2.0, "preset": "owned-neocloud"}, "price_usd_per_gpu_hour"),
        ({"tiers": ["[/bold]"]}, "tier"),
    ],
)
def test_price_check_validates_its_inputs(kw, field):
    pytest.importorskip("genai_prices")
    from tokenfab.market import pricing

    with pytest.raises(TokenfabError) as e:
        pricing.price_check("llama-3.3-70b", HW, **kw)
    assert e.value.field == field, e.value


@pytest.mark.timeout(300)
def test_calibrate_from_records_validates_its_inputs(tmp_path):
    pytest.importorskip("scipy")
    from tokenfab.bench import modelcheck, report
    from tokenfab.core.files import load_bench_records, load_calibration_json

    p = tmp_path / "r.jsonl"
    p.write_text("\n".join(__import__("json").dumps(r) for r in bench_records()))
    recs, _ = load_bench_records(p)
    runs = report.build_runs(recs)
    for kw, field in (({"gpus": 0}, "gpus"), ({"gpus": math.nan}, "gpus"), ({"tp": -1}, "tp")):
        with pytest.raises(TokenfabError) as e:
            modelcheck.fit_from_runs(runs, model=M, hardware=HW, **{"gpus": 1, **kw})
        assert e.value.field == field, e.value
    (tmp_path / "folder").mkdir()
    with pytest.raises(TokenfabError) as e:  # the CLI checks --base with this loader before fit_from_runs runs
        load_calibration_json(tmp_path / "folder", field="base")
    assert e.value.field == "base"


def test_a_folder_as_calibration_profile_is_a_tokenfab_error_in_the_library(tmp_path):
    (tmp_path / "folder").mkdir()
    with pytest.raises(TokenfabError):
        tokenfab.estimate(M, HW, calibration=str(tmp_path / "folder"))


def test_range_errors_write_bounds_as_a_person_does():
    """An out-of-range error states its bounds with thousands separators, never in e-notation (1e+07)."""
    from tokenfab.core.errors import require_range

    with pytest.raises(TokenfabError) as e:
        require_range("rate", 1e300, 0.0, 1e7, lo_open=True)
    assert "(0, 10,000,000]" in str(e.value) and "e+07" not in str(e.value)
    with pytest.raises(TokenfabError) as e:
        require_range("share", 2.0, 0.0, 0.5)
    assert "[0, 0.5]" in str(e.value)
