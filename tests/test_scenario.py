"""Scenario YAML validation: every error names the field path and the YAML line (tokenfab.planning.scenario)."""

import pytest

from tokenfab.core.errors import TokenfabError
from tokenfab.planning.scenario import ScenarioError, load_scenario, parse_scenario_text

BASE = """\
name: test
horizon_months: 6
model: llama-3.1-8b
hardware: [h100-sxm]
personas:
  - name: users
    count: 1000
    active_share: 0.5
    sessions_per_day: 2
    requests_per_session: 5
    features: {chat: 1}
features:
  chat:
    kind: chat
    input_tokens: 1000
    output_tokens: 200
diurnal:
  peak_to_average: 2
"""


def err(text: str) -> ScenarioError:
    with pytest.raises(ScenarioError) as e:
        parse_scenario_text(text)
    return e.value


def test_valid_base_parses():
    sc = parse_scenario_text(BASE)
    assert sc.personas[0].count == 1000
    assert sc.features["chat"].tier_name == "goldilocks"
    assert sc.sla("chat")["ttft_ms"] == 2000.0
    assert sc.personas[0].billed_per_token  # no subscription -> billed per token


def test_negative_users_names_field_and_line():
    e = err(BASE.replace("count: 1000", "count: -5"))
    assert e.field == "personas[0].count"
    assert e.line == 7
    assert ">= 0" in str(e) and "line 7" in str(e)


def test_wrong_unit_names_conversion():
    text = BASE.replace("    output_tokens: 200\n", "    output_tokens: 200\n    ttft_ms: 500ms\n")
    e = err(text)
    assert e.field == "features.chat.ttft_ms"
    assert e.line == 17
    assert "wrong unit" in str(e) and "milliseconds" in str(e)
    e2 = err(text.replace("500ms", "2s"))
    assert "2000" in str(e2)  # 2 s = 2000 ms


def test_percent_into_share_field():
    e = err(BASE.replace("active_share: 0.5", "active_share: 50%"))
    assert e.field == "personas[0].active_share" and "0.5" in str(e)


def test_missing_field_points_at_parent_line():
    e = err(BASE.replace("    requests_per_session: 5\n", ""))
    assert e.field == "personas[0].requests_per_session"
    assert "missing" in str(e)
    assert e.line == 6  # the persona's first line


def test_unknown_model_and_hardware_suggest():
    e = err(BASE.replace("model: llama-3.1-8b", "model: llama-3.1-8"))
    assert e.field == "model" and e.line == 3 and "llama-3.1-8b" in str(e)
    e = err(BASE.replace("hardware: [h100-sxm]", "hardware: [h100-sxn]"))
    assert e.field == "hardware[0]" and e.line == 4 and "h100-sxm" in str(e)


def test_unknown_field_suggests_nearest():
    e = err(BASE.replace("sessions_per_day: 2", "sessions_per_day: 2\n    requests_per_sesion: 3"))
    assert "requests_per_session" in str(e)


def test_unknown_feature_in_persona():
    e = err(BASE.replace("features: {chat: 1}", "features: {chta: 1}"))
    assert e.field == "personas[0].features.chta" and "chat" in str(e)


def test_diurnal_needs_24_weights_or_ratio():
    e = err(BASE.replace("  peak_to_average: 2", "  hourly_weights: [1, 2, 3]"))
    assert "24" in str(e) and e.field.startswith("diurnal")
    e = err(BASE.replace("  peak_to_average: 2", "  peak_to_average: 0.5"))
    assert e.field == "diurnal.peak_to_average"


def test_s_curve_needs_its_parameters():
    e = err(BASE + "growth:\n  kind: s-curve\n  midpoint_month: 6\n")
    assert "steepness_per_month" in str(e) and e.line == 19


def test_uniform_distribution_and_contradiction():
    sc = parse_scenario_text(
        BASE.replace("input_tokens: 1000", "input_tokens: {distribution: uniform, min: 100, max: 300}")
    )
    assert sc.features["chat"].input_tokens.max == 300
    e = err(BASE.replace("input_tokens: 1000", "input_tokens: {distribution: uniform, min: 300, max: 100}"))
    assert "below min" in str(e)


def test_unknown_tco_override_and_preset():
    e = err(BASE + "tco:\n  overrides: {usd_per_kwhh: 0.1}\n")
    assert e.field == "tco.overrides.usd_per_kwhh" and "usd_per_kwh" in str(e)
    e = err(BASE + "tco:\n  preset: owned-neo\n")
    assert "owned-neocloud" in str(e)


def test_not_yaml_and_not_mapping():
    assert "not valid YAML" in str(err("name: [unclosed\n"))
    assert err("- a\n- b\n").line == 1


def test_file_not_found(tmp_path):
    with pytest.raises(TokenfabError):
        load_scenario(tmp_path / "nope.yaml")


def test_month_labels():
    sc = parse_scenario_text(BASE + 'start_month: "2026-11"\n')
    assert sc.month_labels(4) == ["2026-11", "2026-12", "2027-01", "2027-02"]
    assert parse_scenario_text(BASE).month_labels(2) == ["M0", "M1"]


def test_weights_precision_validated_with_line():
    e = err(BASE.replace("model: llama-3.1-8b", "model: llama-3.1-8b\nweights: fp7"))
    assert e.field == "weights" and e.line == 4 and "fp8" in str(e)
    e = err(BASE.replace("    kind: chat", "    kind: chat\n    weights: q4"))
    assert e.field == "features.chat.weights" and e.line == 15


def test_feature_weights_resolution():
    text = BASE.replace("model: llama-3.1-8b", "model: llama-3.1-8b\nweights: FP8").replace(
        "diurnal:",
        """\
  other:
    kind: chat
    model: qwen3-8b
    input_tokens: 100
    output_tokens: 10
  own:
    kind: chat
    weights: fp4
    input_tokens: 100
    output_tokens: 10
diurnal:""",
    )
    sc = parse_scenario_text(text)
    assert sc.weights == "fp8"  # normalised
    assert sc.feature_weights("chat") == "fp8"  # the scenario's model: the scenario's weights
    assert sc.feature_weights("other") is None  # another model: its checkpoint's precision
    assert sc.feature_weights("own") == "fp4"


def test_a_mistyped_top_level_key_is_shown_with_its_suggestion_first():
    """`persona:` for `personas:` reported the missing `personas` at line 1; the unknown key, at its own line with
    "did you mean personas", explains both."""
    with pytest.raises(ScenarioError) as ei:
        parse_scenario_text(BASE.replace("personas:", "persona:", 1))
    assert ei.value.field == "persona" and "did you mean personas" in str(ei.value) and ei.value.line != 1


def test_an_engine_that_does_not_run_on_a_chip_names_its_line():
    """TensorRT-LLM for an AMD chip: refused at load with the `engine:` line (the plan refused it later, lineless)."""
    two = BASE.replace("hardware: [h100-sxm]", "hardware: [h100-sxm, mi300x]")
    e = err(two.replace("model: llama-3.1-8b", "model: llama-3.1-8b\nengine: trtllm"))
    assert e.field == "engine" and e.line == 4 and "mi300x" in str(e) and "vllm" in str(e)
    e = err(two.replace("model: llama-3.1-8b", "model: llama-3.1-8b\nengine:\n  h100-sxm: vllm\n  mi300x: trtllm"))
    assert e.field == "engine.mi300x" and e.line == 6
    e = err(two.replace("model: llama-3.1-8b", "model: llama-3.1-8b\nengine:\n  '*': trtllm"))
    assert e.field == "engine.*" and e.line == 5
    ok = two.replace("model: llama-3.1-8b", "model: llama-3.1-8b\nengine:\n  h100-sxm: trtllm")
    assert parse_scenario_text(ok).engine == {"h100-sxm": "trtllm"}
