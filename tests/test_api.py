"""tokenfab.api: one typed request in, one typed result out. The results carry the library's figures unchanged (each
compared with the lower-level call it wraps), the envelope on every operation, errors naming the field; the CLI
and the dashboard accept the request's inputs (their options are checked against the request models); the published
JSON Schemas are current."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from _cli import same_json
from tokenfab import api
from tokenfab.api import cost_sensitivity, market, sweep
from tokenfab.api import operations as ops
from tokenfab.cli.main import app
from tokenfab.cli.tco import TCO_FLAGS
from tokenfab.core.errors import TokenfabError
from tokenfab.economics import cost as cost_mod
from tokenfab.economics import tco as tco_mod
from tokenfab.perf import memory, serving

ROOT = Path(__file__).resolve().parents[1]
ENVELOPE = {"schema_version", "operation", "inputs", "sources", "definitions", "notes", "warnings"}


def _same_values(result: dict, library: dict, skip: tuple[str, ...] = ()) -> None:
    """Every field of the library's own dict is in the result with the same JSON value."""
    lib = same_json(library)
    for k, v in lib.items():
        if k in skip:
            continue
        assert k in result, k
        assert result[k] == v, k


def test_fit_is_the_memory_model_with_the_envelope():
    req = api.FitRequest(model="llama-3.1-70b", hardware="h100-sxm", users=16, context=8192, gpus=4)
    r = api.fit(req)
    d = r.to_dict()
    _same_values(d, memory.fit("llama-3.1-70b", "h100-sxm", users=16, context=8192, gpus=4).to_dict())
    assert set(d) >= ENVELOPE and d["operation"] == "fit" and d["schema_version"] == api.SCHEMA_VERSION
    assert d["inputs"] == req.model_dump(mode="json") and d["inputs"]["users"] == 16
    assert d["sources"] and all(isinstance(v, str) for v in d["sources"].values())
    assert set(d) == set(ops.FitResult.model_fields)  # typed: every field declared, none extra


def test_estimate_is_the_serving_model_with_the_envelope():
    req = api.EstimateRequest(model="llama-3.1-70b", hardware="h100-sxm", gpus=4, isl=2048, osl=256, concurrency=32)
    d = api.estimate(req).to_dict()
    lib = serving.estimate("llama-3.1-70b", "h100-sxm", gpus=4, isl=2048, osl=256, concurrency=32).to_dict()
    _same_values(d, lib)
    assert d["operation"] == "estimate" and d["definitions"] == serving.DEFINITIONS
    assert d["sources"]["calibration"] == lib["calibration"]["sources"]
    assert set(d) == set(ops.EstimateResult.model_fields)


def test_an_overloaded_estimate_has_null_latencies_and_a_warning_not_infinities():
    r = api.estimate(api.EstimateRequest(model="llama-3.1-8b", hardware="h100-sxm", gpus=1, rate_rps=1000.0))
    assert r.overloaded and r.overload_message.startswith("overloaded")
    text = json.dumps(r.to_dict(), allow_nan=False)  # no NaN/inf anywhere
    assert "Infinity" not in text


def test_tco_inputs_hold_every_input_the_figure_used():
    r = api.tco(api.TcoRequest(hardware="h100-sxm", preset="owned-hyperscaler", pue=1.2))
    lib = tco_mod.tco("h100-sxm", "owned-hyperscaler", pue=1.2).to_dict()
    _same_values(r.to_dict(), lib, skip=("inputs",))
    resolved = same_json(lib["inputs"])
    assert {k: r.inputs[k] for k in resolved} == resolved and r.inputs["pue"] == 1.2
    assert r.inputs["hardware"] == "h100-sxm" and r.inputs["preset"] == "owned-hyperscaler"
    assert r.sources["pue"] == "user"


def test_tco_request_takes_every_tco_input():
    """The request's TCO fields are exactly the library's inputs (tco.INPUT_FIELDS): nothing the library takes is
    missing, nothing it does not take is accepted."""
    own = set(ops.TcoRequest.model_fields) - {"hardware", "preset", "hardware_files"}
    assert own == set(tco_mod.INPUT_FIELDS)


def test_cost_prices_the_request_tco_at_the_throughput():
    req = api.CostRequest(hardware="b200", total_tokens_per_s_per_gpu=2500.0, prefill_gpu_time_share=0.3)
    c = api.cost(req)
    lib = cost_mod.cost_for_hardware("b200", total_tokens_per_s_per_gpu=2500.0, prefill_gpu_time_share=0.3).to_dict()
    _same_values(c.to_dict(), lib)
    assert c.tco.usd_per_gpu_hour == pytest.approx(c.usd_per_gpu_hour, rel=1e-15)
    # $/M tokens = $ per busy GPU-hour / (tokens/s x 3,600 s) x 1e6 (docs/tco.md)
    assert c.usd_per_mtok_total == pytest.approx(c.usd_per_gpu_hour / (2500.0 * 3600) * 1e6, rel=1e-12)


def test_cost_without_a_throughput_names_the_field():
    with pytest.raises(TokenfabError) as e:
        api.cost(api.CostRequest(hardware="b200"))
    assert e.value.field == "total_tokens_per_s_per_gpu"


@pytest.mark.parametrize(
    "values, field",
    [
        ({"users": "abc"}, "users"),
        ({"userz": 1}, "userz"),
        ({"context": float("nan")}, "context"),
        ({"chip_memory_gib": math.inf}, "chip_memory_gib"),
        ({"include_overheads": "maybe"}, "include_overheads"),
    ],
)
def test_a_bad_request_value_is_a_tokenfab_error_naming_the_field(values, field):
    with pytest.raises(TokenfabError) as e:
        api.FitRequest.build(model="llama-3.1-8b", hardware="h100-sxm", **values)
    assert e.value.field == field
    assert "\n" not in str(e.value)  # one line, not pydantic's report


def test_range_checks_stay_in_the_library_and_name_the_field():
    with pytest.raises(TokenfabError) as e:
        api.fit(api.FitRequest(model="llama-3.1-8b", hardware="h100-sxm", users=0))
    assert e.value.field == "users"


def test_requests_are_frozen():
    req = api.FitRequest(model="llama-3.1-8b", hardware="h100-sxm")
    with pytest.raises(Exception):  # noqa: B017 - pydantic's frozen-instance error
        req.users = 2  # type: ignore[misc]


def test_the_dashboard_requests_are_subsets_of_the_api_requests():
    """The dashboard accepts the API's inputs (fewer: no paths, no hardware files), with the same names."""
    from tokenfab.ui import requests as ui

    assert set(ui.FitRequest.model_fields) <= set(ops.FitRequest.model_fields)
    assert set(ui.EstimateRequest.model_fields) <= set(ops.EstimateRequest.model_fields)
    assert set(ui.TcoOverrides.model_fields) == set(tco_mod.INPUT_FIELDS)
    assert set(ui.TcoRequest.model_fields) - {"overrides"} <= set(ops.CostRequest.model_fields)


# each CLI option's parameter -> the request field it fills (parameters not listed fill the field of their own name)
CLI_TO_FIELD = {
    "hardware_file": "hardware_files",
    "no_overheads": "include_overheads",
    "rate": "rate_rps",
    "mtp": "mtp_draft_tokens",
    "mtp_acceptance": "mtp_acceptance_length",
    "prefix_hit": "prefix_hit_rate",
    "usd_per_gpu_hour": "price_usd_per_gpu_hour",
    "tokens_per_s_per_gpu": "total_tokens_per_s_per_gpu",
    "no_mtp": "spec",  # --no-mtp and --spec fill the one field ``spec`` (cli._search_opts.sweep_fields)
}
# estimate's --spec names one method (EstimateRequest.spec_method); the sweeps' --spec switches MTP per hardware
COMMAND_FIELDS = {
    "estimate": {"spec": "spec_method"},
    "sensitivity": {"swing": "swing_pct", "tokens_per_s_per_gpu": "tokens_per_s_per_gpu"},
    "prices": {"tier": "tiers", "plan_file": "plan", "usd_per_gpu_hour": "price_usd_per_gpu_hour"},
    "plan": {"csv_path": "csv"},
    "report": {"quiet": "quiet"},
    "bench-report": {"html_path": "html"},
    "calibrate": {},
    "bench": {"api_key_env": "api_key", "duration": "duration_s", "summary_path": "summary", "rate": "rate"},
}
# how to show the result, not an input (plan's --csv writes the result's csv_rows(); report's --quiet hides the bar)
PRESENTATION = {"as_json", "json_out", "breakdown", "wide", "plot", "list_models", "csv_path", "quiet"}


@pytest.mark.parametrize(
    "command, request_model",
    [
        ("fit", ops.FitRequest),
        ("estimate", ops.EstimateRequest),
        ("tco", ops.TcoRequest),
        ("cost", ops.CostRequest),
        ("frontier", sweep.FrontierRequest),
        ("sensitivity", cost_sensitivity.SensitivityRequest),
        ("prices", market.PricesRequest),
        ("plan", api.PlanRequest),
        ("report", api.ReportRequest),
        ("bench-report", api.BenchReportRequest),
        ("calibrate", api.CalibrateRequest),
        ("bench", api.BenchRequest),
    ],
)
def test_every_cli_option_fills_a_request_field(command, request_model):
    cmd = get_command(app).commands[command]  # type: ignore[attr-defined]
    params = {p.name for p in cmd.params} - PRESENTATION
    names = {**CLI_TO_FIELD, **COMMAND_FIELDS.get(command, {})}
    if "tco_overrides" in request_model.model_fields:  # a sweep takes the TCO flags as one mapping
        names.update(dict.fromkeys(TCO_FLAGS, "tco_overrides"))
    fields = {names.get(p, p) for p in params if p}
    assert fields <= set(request_model.model_fields), fields - set(request_model.model_fields)


@pytest.mark.parametrize(
    "argv, call",
    [
        (
            ["fit", "-m", "llama-3.1-70b", "-H", "h100-sxm", "--users", "8"],
            lambda: api.fit(api.FitRequest(model="llama-3.1-70b", hardware="h100-sxm", users=8)),
        ),
        (
            ["estimate", "-m", "llama-3.1-8b", "-H", "h100-sxm", "--gpus", "1", "--concurrency", "16"],
            lambda: api.estimate(
                api.EstimateRequest(model="llama-3.1-8b", hardware="h100-sxm", gpus=1, concurrency=16)
            ),
        ),
        (["tco", "-H", "b200", "--pue", "1.3"], lambda: api.tco(api.TcoRequest(hardware="b200", pue=1.3))),
        (
            ["cost", "-H", "b200", "--tokens-per-s-per-gpu", "1000"],
            lambda: api.cost(api.CostRequest(hardware="b200", total_tokens_per_s_per_gpu=1000.0)),
        ),
    ],
)
def test_the_json_of_a_command_is_the_api_result(argv, call):
    r = CliRunner().invoke(app, [*argv, "--json"])
    assert r.exit_code == 0, r.output
    got = json.loads(r.stdout)
    want = same_json(call().to_dict())
    assert got == want


def test_the_published_json_schemas_are_current():
    r = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "json_schemas.py"), "--check"], capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr
    schema = json.loads((ROOT / "docs" / "schemas" / "estimate.result.json").read_text())
    assert set(schema["properties"]) >= ENVELOPE and "ttft_ms" in schema["properties"]
    assert schema["properties"]["ttft_ms"]["description"] == serving.DEFINITIONS["ttft_ms"]
    req = json.loads((ROOT / "docs" / "schemas" / "fit.request.json").read_text())
    assert req["properties"]["context"]["unit"] == "tokens" and req["additionalProperties"] is False


def _timing_free(d: dict) -> dict:
    return {k: v for k, v in d.items() if k not in ("elapsed_s", "configurations_per_s")}


def test_frontier_is_the_search_with_the_envelope():
    from tokenfab import search

    req = api.FrontierRequest(model="llama-3.1-8b", hardware="h100-sxm, b200", mode="agg", target_interactivity=80)
    assert req.hardware == ["h100-sxm", "b200"]  # a flag's comma-separated text is the list
    d = api.frontier(req).to_dict()
    lib = search.frontier("llama-3.1-8b", ["h100-sxm", "b200"], mode="agg", target_interactivity=80).to_dict()
    _same_values(_timing_free(d), _timing_free(lib))
    assert d["operation"] == "frontier" and d["inputs"]["hardware"] == ["h100-sxm", "b200"]
    assert set(d) == set(sweep.FrontierResult.model_fields)


def test_recommend_and_budget_are_the_fleet_reports_with_the_envelope():
    from tokenfab.planning import fleet

    kw = {"isl": 1024, "osl": 256}
    r = api.recommend(api.RecommendRequest(model="llama-3.1-8b", hardware=["h100-sxm"], rate_rps=20.0, **kw))
    lib = fleet.recommend_report("llama-3.1-8b", ["h100-sxm"], rate_rps=20.0, **kw).to_dict()
    _same_values(_timing_free(r.to_dict()), _timing_free(lib))
    assert r.demand is not None and r.demand["requests_per_s"] == pytest.approx(20.0)
    assert r.demand["tokens_per_s"] == pytest.approx(20.0 * (1024 + 256)) and r.budget is None
    b = api.budget(api.BudgetRequest(model="llama-3.1-8b", hardware=["h100-sxm"], power_mw=2.0, **kw))
    lib = fleet.budget_report("llama-3.1-8b", ["h100-sxm"], power_mw=2.0, **kw).to_dict()
    _same_values(_timing_free(b.to_dict()), _timing_free(lib))
    assert b.budget == {"power_mw": 2.0} and b.demand is None and b.operation == "budget"


def test_a_sweep_request_refuses_an_unknown_tco_input():
    with pytest.raises(TokenfabError) as e:
        api.FrontierRequest.build(model="llama-3.1-8b", hardware="h100-sxm", tco_overrides={"pue_typo": 1.2})
    assert e.value.field == "tco_overrides" and "pue_typo" in str(e.value)


def test_recommend_cli_options_fill_the_recommend_or_budget_request():
    cmd = get_command(app).commands["recommend"]  # type: ignore[attr-defined]
    params = {p.name for p in cmd.params} - PRESENTATION
    names = {**CLI_TO_FIELD, **dict.fromkeys(TCO_FLAGS, "tco_overrides")}
    fields = {names.get(p, p) for p in params if p}
    known = set(sweep.RecommendRequest.model_fields) | set(sweep.BudgetRequest.model_fields)
    assert fields <= known, fields - known


def test_the_dashboard_frontier_request_is_a_subset_of_the_api_request():
    from tokenfab.ui import requests as ui

    assert set(ui.FrontierRequest.model_fields) <= set(sweep.FrontierRequest.model_fields)


def test_the_docs_python_example_runs():
    """docs/api.md's Python block runs as written (a doc example that cannot run is a defect)."""
    import re

    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert blocks
    for code in blocks:
        exec(compile(code, "docs/api.md", "exec"), {})


def test_sensitivity_is_the_tornado_and_monte_carlo_of_the_request():
    from tokenfab.economics import sensitivity as sens

    req = api.SensitivityRequest(
        hardware="h100-sxm", tokens_per_s_per_gpu=1500.0, pue=1.4, monte_carlo=200, seed=3, price_usd_per_mtok=1.2
    )
    r = api.sensitivity(req)
    t = sens.tornado("h100-sxm", tokens_per_s_per_gpu=1500.0, tco_overrides={"pue": 1.4})
    assert r.tornado == same_json(t.to_dict()) and r.operating_point is None
    mc = sens.monte_carlo(
        "h100-sxm", tokens_per_s_per_gpu=1500.0, tco_overrides={"pue": 1.4}, n=200, seed=3, price_usd_per_mtok=1.2
    )
    assert r.monte_carlo == same_json(mc.to_dict())


@pytest.mark.parametrize(
    "values, field",
    [
        ({}, "tokens_per_s_per_gpu"),  # neither a throughput nor a model
        ({"tokens_per_s_per_gpu": 1000.0, "model": "llama-3.1-8b"}, "tokens_per_s_per_gpu"),  # both
        ({"tokens_per_s_per_gpu": 1000.0, "monte_carlo": -1}, "monte_carlo"),
        ({"tokens_per_s_per_gpu": 1000.0, "price_usd_per_mtok": 1.0}, "price_usd_per_mtok"),  # a price, no draws
    ],
)
def test_sensitivity_refuses_an_incomplete_request_naming_the_field(values, field):
    with pytest.raises(TokenfabError) as e:
        api.sensitivity(api.SensitivityRequest(hardware="h100-sxm", **values))
    assert e.value.field == field


def test_sensitivity_from_a_model_starts_at_its_tier():
    r = api.sensitivity(api.SensitivityRequest(hardware="h100-sxm", model="llama-3.1-8b", tier="bulk"))
    op = api.operating_point("llama-3.1-8b", "h100-sxm", isl=1024, osl=1024, tier="bulk")
    assert r.operating_point == same_json(op)
    assert r.tornado["tokens_per_s_per_gpu"] == pytest.approx(op["total_tokens_per_s_per_gpu"])


def test_prices_is_the_price_check_with_the_checkpoint_weights():
    from tokenfab.market import pricing

    r = api.prices(api.PricesRequest(model="llama-3.3-70b", tiers="goldilocks"))
    lib = pricing.price_check("llama-3.3-70b", None, tiers=["goldilocks"], weights="bf16").to_dict()
    _same_values(_timing_free(r.to_dict()), _timing_free(lib), skip=("operating_points",))
    assert r.weights == "bf16" and r.inputs["tiers"] == ["goldilocks"]
    with pytest.raises(TokenfabError) as e:
        api.prices(api.PricesRequest())
    assert e.value.field == "model"


def test_price_models_lists_open_and_closed_models():
    r = api.price_models()
    assert "llama-3.3-70b" in r.open and r.open["llama-3.3-70b"]
    assert all(v["stand_in"] for v in r.closed.values()) and r.price_data


def test_plan_is_the_planner_with_the_envelope_and_csv_rows():
    from tokenfab.planning import plan as planmod
    from tokenfab.planning.scenario import load_scenario

    path = str(ROOT / "examples" / "consumer_chat.yaml")
    r = api.plan(api.PlanRequest(scenario=path, months=2))
    lib = planmod.plan(load_scenario(path), months=2)
    _same_values(_timing_free(r.to_dict()), _timing_free(lib.to_dict()))
    assert r.operation == "plan" and r.inputs["months"] == 2
    assert r.csv_rows() == lib.to_rows()
    text = (ROOT / "examples" / "consumer_chat.yaml").read_text()
    t = api.plan(api.PlanRequest(scenario_text=text, source="pasted", months=2))
    assert t.best_hardware == r.best_hardware and t.scenario["source"] == "pasted"


def test_plan_needs_exactly_one_scenario():
    for values in ({}, {"scenario": "a.yaml", "scenario_text": "name: x"}):
        with pytest.raises(TokenfabError) as e:
            api.plan(api.PlanRequest(**values))
        assert e.value.field == "scenario"


def test_report_checks_its_output_before_planning(tmp_path):
    with pytest.raises(TokenfabError) as e:
        api.ReportRequest.build(scenario="examples/consumer_chat.yaml", output=str(tmp_path / "missing" / "r.html"))
    assert e.value.field == "output"
    out = tmp_path / "r.html"
    r = api.report(api.ReportRequest(scenario=str(ROOT / "examples" / "consumer_chat.yaml"), output=str(out), months=2))
    assert r.path == str(out) and r.size_bytes == out.stat().st_size > 10_000
    assert r.best_hardware == r.plan.best_hardware and "<html" in out.read_text()[:500].lower()


def test_every_operation_has_a_published_schema():
    """Each typed operation of tokenfab.api has its request and result schema in docs/schemas/."""
    names = {p.name.split(".")[0] for p in (ROOT / "docs" / "schemas").glob("*.json")}
    ops_in_api = {
        "fit", "estimate", "tco", "cost", "frontier", "recommend", "budget", "plan", "report", "prices",
        "price_models", "sensitivity", "bench_report", "calibrate", "run_bench",
    }  # fmt: skip
    assert ops_in_api <= names
    assert all(callable(getattr(api, op)) for op in ops_in_api)


@pytest.mark.parametrize("command", ["tco", "cost", "sensitivity", "frontier", "recommend"])
def test_every_command_that_prices_takes_every_tco_input_as_a_flag(command):
    """The same TCO flags everywhere: each TcoInputs field (but the wall-clock price, --usd-per-gpu-hour) is a flag
    of the same name on every command that prices a GPU-hour."""
    cmd = get_command(app).commands[command]  # type: ignore[attr-defined]
    flags = {o for p in cmd.params for o in getattr(p, "opts", [])}
    want = {"--" + f.replace("_", "-") for f in tco_mod.INPUT_FIELDS if f != "price_usd_per_gpu_hour"}
    assert want <= flags, want - flags
    assert "--usd-per-gpu-hour" in flags


def test_a_tco_flag_reaches_the_sweep():
    args = ["frontier", "-m", "llama-3.1-8b", "-H", "h100-sxm", "--mode", "agg", "--json"]
    base = json.loads(CliRunner().invoke(app, args).stdout)
    hot = json.loads(CliRunner().invoke(app, [*args, "--pue", "2.0"]).stdout)
    assert hot["inputs"]["tco_overrides"] == {"pue": 2.0} and base["inputs"]["tco_overrides"] is None
    assert hot["best"]["usd_per_mtok_total"] > base["best"]["usd_per_mtok_total"]


def test_fit_takes_the_lengths_of_estimate_instead_of_a_context():
    a = api.fit(api.FitRequest(model="llama-3.1-70b", hardware="h100-sxm", users=8, isl=6000, osl=2000))
    b = api.fit(api.FitRequest(model="llama-3.1-70b", hardware="h100-sxm", users=8, context=8000))
    assert a.context_tokens == b.context_tokens == 8000 and a.kv_cache_gib == b.kv_cache_gib
    assert api.fit(api.FitRequest(model="llama-3.1-70b", hardware="h100-sxm")).context_tokens == 4096
    with pytest.raises(TokenfabError) as e:
        api.fit(api.FitRequest(model="llama-3.1-70b", hardware="h100-sxm", context=8000, isl=10))
    assert e.value.field == "context"


def test_an_estimate_that_does_not_fit_carries_the_memory_breakdown():
    e = api.estimate(api.EstimateRequest(model="llama-3.1-70b", hardware="h100-sxm", gpus=1))
    assert not e.fits and e.memory_fit is not None and not e.memory_fit.fits
    lib = memory.fit("llama-3.1-70b", "h100-sxm", gpus=1, tp=e.tp, pp=e.pp, dp=e.dp, ep=e.ep, weights=e.weights)
    assert e.memory_fit.per_gpu == same_json(lib.to_dict())["per_gpu"]
    ok = api.estimate(api.EstimateRequest(model="llama-3.1-8b", hardware="h100-sxm", gpus=1))
    assert ok.fits and ok.memory_fit is None


def test_the_default_preset_is_a_flag_not_a_note_to_parse():
    t = api.tco(api.TcoRequest(hardware="h100-sxm"))
    assert t.preset_defaulted and t.notes[0] == tco_mod.DEFAULT_PRESET_NOTE
    assert not api.tco(api.TcoRequest(hardware="h100-sxm", preset="owned-neocloud")).preset_defaulted


def test_sensitivity_from_a_model_prices_its_operating_point_with_the_request_tco():
    """The operating point and the tornado price the same GPU-hour (the request's TCO inputs reach both)."""
    r = api.sensitivity(
        api.SensitivityRequest(hardware="h100-sxm", model="llama-3.1-8b", usd_per_kwh=0.5, utilization=0.3)
    )
    assert r.operating_point is not None
    assert r.operating_point["usd_per_mtok_total"] == pytest.approx(r.tornado["base_usd_per_mtok"], rel=1e-9)


def test_every_operation_fills_its_sources():
    path = str(ROOT / "examples" / "consumer_chat.yaml")
    results = [
        api.frontier(api.FrontierRequest(model="llama-3.1-8b", hardware=["h100-sxm", "mi300x"], mode="agg")),
        api.recommend(api.RecommendRequest(model="llama-3.1-8b", hardware=["h100-sxm"], rate_rps=5.0)),
        api.plan(api.PlanRequest(scenario=path, months=1)),
        api.prices(api.PricesRequest(model="llama-3.3-70b", tiers=["goldilocks"])),
        api.sensitivity(api.SensitivityRequest(hardware="h100-sxm", tokens_per_s_per_gpu=1000.0)),
    ]
    for r in results:
        assert r.sources and all(v for v in r.sources.values()), r.operation
    assert results[0].sources["calibration"]["mi300x"].startswith("prior")


def test_a_sweep_refuses_the_price_inside_its_tco_overrides():
    with pytest.raises(TokenfabError) as e:
        api.FrontierRequest.build(
            model="llama-3.1-8b",
            hardware="h100-sxm",
            price_usd_per_gpu_hour=2.0,
            tco_overrides={"price_usd_per_gpu_hour": 5.0},
        )
    assert e.value.field == "tco_overrides"


def test_true_or_false_is_not_a_number():
    with pytest.raises(TokenfabError) as e:
        api.TcoRequest.build(hardware="h100-sxm", pue=True)
    assert e.value.field == "pue" and "Value error" not in str(e.value)
    assert (
        api.FitRequest.build(model="llama-3.1-8b", hardware="h100-sxm", include_overheads=False).include_overheads
        is False
    )


@pytest.mark.parametrize(
    "call, field",
    [
        (
            lambda: api.frontier(
                api.FrontierRequest(model="llama-3.1-8b", hardware=["h100-sxm"], price_usd_per_gpu_hour=-1)
            ),
            "price_usd_per_gpu_hour",
        ),
        (
            lambda: api.sensitivity(
                api.SensitivityRequest(hardware="h100-sxm", tokens_per_s_per_gpu=1000.0, monte_carlo=10**9)
            ),
            "monte_carlo",
        ),
        (lambda: api.bench_report(api.BenchReportRequest(records=[{}], gpus=0)), "gpus"),
    ],
)
def test_errors_from_python_name_the_request_field_not_a_library_parameter_or_a_flag(call, field):
    with pytest.raises(TokenfabError) as e:
        call()
    assert e.value.field == field
