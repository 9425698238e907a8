"""Issue 15: every named default assumption lives in one data file (data/assumptions.yaml) with its value, unit,
source and as-of date, and the code reads it through one accessor (tokenfab.core.assumptions)."""

from __future__ import annotations

import pytest

from tokenfab.core import assumptions as A
from tokenfab.core.errors import TokenfabError
from tokenfab.perf import memory, points


def _figures(node, path=()):
    if isinstance(node, dict) and "value" in node:
        yield path, node
        return
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _figures(v, (*path, k))


def test_every_figure_has_value_unit_source_and_date():
    figs = list(_figures(A.load_assumptions()))
    assert len(figs) >= 14
    for path, f in figs:
        assert set(f) >= {"value", "unit", "source", "as_of"}, path
        assert str(f["source"]).strip(), path
        assert "/work/" not in str(f["source"]) and "../shared" not in str(f["source"]), path


def test_code_constants_are_the_data():
    """The memory model's defaults are the data file's, not constants in code (vLLM's 0.9 memory utilization leaves
    10%; TensorRT-LLM's max_num_tokens 8192)."""
    assert memory.RUNTIME_OVERHEAD_FRACTION == A.value("memory", "runtime_overhead_fraction") == pytest.approx(0.10)
    assert memory.MAX_BATCH_TOKENS == A.value("memory", "max_batch_tokens") == 8192
    assert memory.SRAM_MAX_BATCH_TOKENS == points.SRAM_MAX_BATCH_TOKENS == A.value("memory", "sram_max_batch_tokens")
    assert A.value("memory", "activation_bytes_per_element") == memory.ACTIVATION_BYTES_PER_ELEMENT
    assert "vllm" in A.cite("memory", "runtime_overhead_fraction").lower()


def test_an_unknown_figure_is_an_error_that_names_it():
    with pytest.raises(TokenfabError) as e:
        A.value("memory", "no_such_thing")
    assert "memory.no_such_thing" in str(e.value)


@pytest.mark.parametrize(
    "constant, path",
    [
        ("tokenfab.economics.cost:CACHED_INPUT_COST_FRACTION", ("cost", "cached_input_cost_fraction")),
        ("tokenfab.economics.cost:BLEND_INPUT_OUTPUT_RATIO", ("cost", "blend_input_output_ratio")),
        ("tokenfab.planning.plan:DEFAULT_OUTPUT_COST_WEIGHT", ("cost", "output_cost_weight")),
        ("tokenfab.planning.scenario:DEFAULT_CACHE_TTL_S", ("caching", "cache_ttl_s")),
        ("tokenfab.planning.scenario:DEFAULT_HBM_WINDOW_S", ("caching", "hbm_window_s")),
        ("tokenfab.planning.scenario:BATCH_PEAK_TO_AVERAGE", ("demand", "batch_peak_to_average")),
        ("tokenfab.economics.sensitivity:DEFAULT_SWING_PCT", ("sensitivity", "swing_pct")),
        ("tokenfab.search.result:TIER_COST_TOLERANCE", ("search", "tier_cost_tolerance")),
        ("tokenfab.search.result:TIER_INTERACTIVITY_TOLERANCE", ("search", "tier_interactivity_tolerance")),
        ("tokenfab.search.result:TIE_OVERLAP", ("search", "tie_overlap")),
        ("tokenfab.search.space:SWEEP_MEMORY_FRACTION", ("search", "sweep_memory_fraction")),
        ("tokenfab.market.pricing:COMPARABLE_FRACTION", ("market", "comparable_fraction")),
        ("tokenfab.api.operations:DEFAULT_CONTEXT_TOKENS", ("demand", "fit_context_tokens")),
    ],
)
def test_the_economics_search_and_demand_defaults_are_the_data(constant, path):
    """Each of these defaults is read from data/assumptions.yaml (with its source), not written in code: changing
    the file changes the constant."""
    import importlib

    mod, name = constant.split(":")
    assert getattr(importlib.import_module(mod), name) == A.value(*path)
    assert A.cite(*path).strip()


def test_the_bundled_scenarios_state_their_own_peak_to_average_and_the_utilization_default_cites_them():
    """A scenario's diurnal source says its peak-to-average; it must be what its weights give (they said 'about 1.6'
    and 'about 2.2' for 1.76 and 2.45), and the utilization default's citation quotes those same figures."""
    import re
    from pathlib import Path

    import yaml

    root = Path(__file__).resolve().parents[1]
    util_src = yaml.safe_load((root / "src/tokenfab/data/tco_presets.yaml").read_text())["defaults"]["utilization"]
    for f in sorted((root / "examples").glob("*.yaml")):
        d = (yaml.safe_load(f.read_text()) or {}).get("diurnal") or {}
        if not d.get("hourly_weights"):
            continue
        w = d["hourly_weights"]
        ratio = max(w) / (sum(w) / len(w))
        m = re.search(r"= (\d+\.\d+)\)", d["source"])
        assert m and float(m.group(1)) == pytest.approx(ratio, abs=0.005), (f.name, d["source"], ratio)
        assert f"{ratio:.2f} (examples/{f.name}" in util_src["source"], f.name
