"""Calibration: profile resolution (fitted families and engines, the prior rules), validation of profiles, the loader
of the shipped measurements (benchmarks/data/*.csv), the fit on synthetic data made by the model itself, and the
provenance of the committed profile.

Nothing here depends on the fitted values of data/calibration.json (an interim fit that is refitted independently):
resolution and fitting are checked on profiles built in the test.
"""

import csv
import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest

from perf_support import WITH_OVERHEADS, make_profile
from tokenfab.catalog.calibration import (
    BOUNDS,
    ENGINE_PARAMS,
    FAMILY_PARAMS,
    FAMILY_PRIORS,
    MAX_EFFICIENCY,
    PARAM_NAMES,
    PRIOR,
    CalibrationProfile,
    check_params,
    load_profile,
    profile_from_dict,
    read_priors,
)
from tokenfab.catalog.hardware import get_hardware
from tokenfab.core.errors import TokenfabError
from tokenfab.perf.fitting import (
    Predictor,
    cross_validate,
    error_table,
    file_sha256,
    fit_profile,
    fit_user_params,
)
from tokenfab.perf.measurements import (
    BURST,
    DUPLICATE_METRICS,
    Measurement,
    Pool,
    Speculation,
    load_measurements,
)
from tokenfab.perf.points import resolved_cal

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = ROOT / "benchmarks" / "data"
DATA = sorted(DATA_DIR.glob("*.csv"))
NEW_MODELS = ("deepseek-v4-pro", "glm-5.2", "minimax-m3")  # added from their Hugging Face config.json (issue 11)


# ----------------------------------------------------------------------------------------------- resolution
def _fam(g, m, a, c):
    return {"gemm_efficiency": g, "memory_efficiency": m, "attention_efficiency": a, "comm_efficiency": c}


def _eng(step, layer, seq, lat, kern, moe_eff, front):
    return dict(zip(ENGINE_PARAMS, (step, layer, seq, lat, kern, moe_eff, front), strict=True))


@pytest.fixture()
def prof():
    return CalibrationProfile(
        shared={"gemm_tokens_half": 32.0, "moe_skew": 0.1, "pp_stage_overhead_us": 40.0, "disagg_overhead_ms": 15.0},
        families={
            "hopper": _fam(0.6, 0.8, 0.4, 0.5),
            "blackwell": _fam(0.4, 0.7, 0.5, 0.8),
            "cdna4": _fam(0.5, 0.6, 0.1, 0.4),
        },
        engines={
            "trtllm": _eng(1.0, 10.0, 4.0, 10.0, 1.0, 0.7, 5.0),
            "vllm": _eng(8.0, 40.0, 12.0, 11.0, 0.9, 0.6, 6.0),
            "sglang": _eng(2.0, 8.0, 6.0, 9.0, 0.8, 0.8, 70.0),
        },
        support={
            "families": {"hopper": {"rows": 600}},
            "engines": {"trtllm": {"rows": 300}},
            "pairs": {"hopper|trtllm": {"rows": 120, "sources": ["github:NVIDIA/TensorRT-LLM perf-overview.md"]}},
        },
    )


def test_a_fitted_family_and_engine_resolve_to_their_own_parameters(prof):
    params, st = prof.resolve(get_hardware("h100-sxm"), "trtllm")
    assert (st.hardware_profile, st.engine_profile) == ("fitted", "fitted")
    assert (st.hardware_family, st.engine) == ("hopper", "trtllm") and not st.any_prior
    for n, v in {**prof.families["hopper"], **prof.engines["trtllm"], **prof.shared}.items():
        assert getattr(params, n) == v, n
    # data support: family rows + engine rows with the pair's own rows counted once, the pair's rows and sources
    assert (
        st.rows == 900 - 120 and st.pair_rows == 120 and st.sources == ("github:NVIDIA/TensorRT-LLM perf-overview.md",)
    )
    assert st.to_dict()["sources"] == ["github:NVIDIA/TensorRT-LLM perf-overview.md"]
    assert st.label == "hopper:fitted / trtllm:fitted"


@pytest.mark.parametrize("hw, source", [("mi300x", "cdna4"), ("mi325x", "cdna4"), ("b300", "blackwell")])
def test_a_family_without_data_takes_its_stated_sibling(prof, hw, source):
    """catalog/calibration.py FAMILY_PRIOR_RULES: cdna3 takes the fitted cdna4 (same ROCm kernels and xGMI), an NVIDIA
    successor its predecessor; status prior, and the rule is said."""
    params, st = prof.resolve(get_hardware(hw), "vllm")
    assert st.hardware_profile == "prior" and st.engine_profile == "fitted" and st.any_prior
    assert st.hardware_rule == f"the fitted {source} family's parameters"
    for n, v in prof.families[source].items():
        assert getattr(params, n) == v


@pytest.mark.parametrize("hw, family", [("tpu-v6e", "tpu"), ("gaudi3", "gaudi"), ("groq-lpu", "sram")])
def test_an_unknown_family_takes_the_least_efficient_fitted_family(prof, hw, family):
    """A chip nobody has measured is no better than the worst-measured family, per parameter (never another vendor's
    best); SRAM chips then take their named priors (FAMILY_PRIORS)."""
    params, st = prof.resolve(get_hardware(hw), "vllm")
    assert st.hardware_family == family and st.hardware_profile == "prior"
    assert "least efficient fitted family (blackwell, cdna4, hopper)" in st.hardware_rule
    assert (params.gemm_efficiency, params.memory_efficiency) == (0.4, 0.6)
    assert (params.attention_efficiency, params.comm_efficiency) == (0.1, 0.4)
    if family == "sram":
        for n, v in FAMILY_PRIORS["sram"].items():
            assert getattr(params, n) == v, n
        assert "named priors for sram" in st.hardware_rule
    else:
        assert params.gemm_tokens_half == 32.0 and params.step_overhead_ms == 8.0  # shared and vllm's own


def test_an_engine_without_data_takes_prior_from_or_the_median(prof):
    hw = get_hardware("h100-sxm")
    params, st = prof.resolve(hw, "dynamo-trtllm")  # engines.yaml prior_from: trtllm
    assert st.engine_profile == "prior" and st.engine_rule == "the fitted trtllm engine's parameters"
    assert {n: getattr(params, n) for n in ENGINE_PARAMS} == prof.engines["trtllm"]
    bare = dataclasses.replace(prof, support={})  # no record of where the engines were measured
    for engine in ("generic", "atom"):  # prior_from: median / none
        params, st = bare.resolve(hw, engine)
        assert st.engine_profile == "prior"
        assert st.engine_rule == "the median of the fitted engines (sglang, trtllm, vllm)"
        assert params.step_overhead_ms == 2.0 and params.ttft_overhead_ms == 6.0 and params.kernel_efficiency == 0.9
        assert params.gemm_efficiency == 0.6  # the family stays hopper's


def test_an_engine_without_data_takes_the_engines_measured_on_its_platform(prof):
    """The median of the fitted engines that ran on the same hardware family (a step's launch, graph-replay and
    kernel-library costs belong to the platform as much as to the engine), else on the same vendor's hardware, else
    all fitted engines; the rule says which."""
    p = dataclasses.replace(
        prof,
        support={"pairs": {"hopper|trtllm": {"rows": 1}, "hopper|sglang": {"rows": 1}, "cdna4|vllm": {"rows": 1}}},
    )
    params, st = p.resolve(get_hardware("h100-sxm"), "generic")
    assert st.engine_rule == "the median of the fitted engines measured on hopper (sglang, trtllm)"
    assert params.step_overhead_ms == pytest.approx(1.5) and params.ttft_overhead_ms == pytest.approx(37.5)
    params, st = p.resolve(get_hardware("mi355x"), "atom")  # atom is not fitted in this profile
    assert st.engine_rule == "the median of the fitted engines measured on cdna4 (vllm)"
    assert {n: getattr(params, n) for n in ENGINE_PARAMS} == prof.engines["vllm"]
    params, st = p.resolve(get_hardware("b200"), "generic")  # no engine ran on blackwell: NVIDIA's engines
    assert st.engine_rule == "the median of the fitted engines measured on NVIDIA hardware (sglang, trtllm)"
    assert params.step_overhead_ms == pytest.approx(1.5)  # median of trtllm's 1 and sglang's 2, not vllm's 8
    params, st = p.resolve(get_hardware("tpu-v6e"), "generic")  # nobody measured a TPU: every fitted engine
    assert st.engine_rule == "the median of the fitted engines (sglang, trtllm, vllm)"
    assert params.step_overhead_ms == 2.0
    # a pair naming an engine the profile does not hold is ignored
    q = dataclasses.replace(p, support={"pairs": {"cdna4|atom": {"rows": 1}}})
    assert q.resolve(get_hardware("mi355x"), "generic")[1].engine_rule == (
        "the median of the fitted engines (sglang, trtllm, vllm)"
    )


def test_an_engine_measured_only_on_another_vendors_hardware_is_a_prior_there(prof):
    """vLLM fitted on MI355X runs on an H100 with another runtime and kernel library (CUDA, not HIP/AITER): there it
    is an engine without measurements (the engines measured on that platform, status prior, said in the rule), not
    its ROCm overheads with a fitted label; on its own vendor's hardware it keeps its fit."""
    p = dataclasses.replace(
        prof,
        support={"pairs": {"hopper|trtllm": {"rows": 1}, "hopper|sglang": {"rows": 1}, "cdna4|vllm": {"rows": 1}}},
    )
    params, st = p.resolve(get_hardware("h100-sxm"), "vllm")
    assert st.engine_profile == "prior" and st.any_prior
    assert st.engine_rule == (
        "vllm was measured only on AMD hardware: the median of the fitted engines measured on hopper (sglang, trtllm)"
    )
    assert params.step_overhead_ms == pytest.approx(1.5)  # trtllm's 1 and sglang's 2, not vllm's 8
    params, st = p.resolve(get_hardware("mi355x"), "vllm")
    assert st.engine_profile == "fitted" and params.step_overhead_ms == 8.0
    params, st = p.resolve(get_hardware("mi355x"), "sglang")  # measured on NVIDIA only
    assert st.engine_profile == "prior" and params.step_overhead_ms == 8.0  # the engines measured on cdna4: vllm
    params, st = p.resolve(get_hardware("gaudi3"), "vllm")  # nobody measured Intel: every fitted engine
    assert (
        st.engine_rule
        == "vllm was measured only on AMD hardware: the median of the fitted engines (sglang, trtllm, vllm)"
    )
    # a profile without support pairs (a hand-written one) keeps the engine's own parameters as fitted
    assert dataclasses.replace(p, support={}).resolve(get_hardware("h100-sxm"), "vllm")[1].engine_profile == "fitted"


@pytest.mark.parametrize("hw", ["rtx-pro-6000", "a100-sxm", "l40s"])
def test_a_family_without_data_of_a_measured_vendor_takes_that_vendors_median(prof, hw):
    """An NVIDIA family without measurements (no stated sibling) takes, per parameter, the median of the fitted NVIDIA
    families (hopper, blackwell): same CUDA stack and kernel libraries; never the AMD family's values."""
    params, st = prof.resolve(get_hardware(hw), "trtllm")
    assert st.hardware_profile == "prior"
    assert st.hardware_rule == "per parameter the median of the fitted NVIDIA families (blackwell, hopper)"
    # median of two = their mean: gemm (0.6, 0.4), memory (0.8, 0.7), attention (0.4, 0.5), comm (0.5, 0.8)
    assert params.gemm_efficiency == pytest.approx(0.5) and params.memory_efficiency == pytest.approx(0.75)
    assert params.attention_efficiency == pytest.approx(0.45) and params.comm_efficiency == pytest.approx(0.65)
    # with one NVIDIA family fitted, the median is that family's values
    one = dataclasses.replace(prof, families={k: v for k, v in prof.families.items() if k != "blackwell"})
    params, st = one.resolve(get_hardware(hw), "trtllm")
    assert st.hardware_rule == "per parameter the median of the fitted NVIDIA families (hopper)"
    assert {n: getattr(params, n) for n in FAMILY_PARAMS} == prof.families["hopper"]
    # with no NVIDIA family fitted it is no better than the least efficient fitted family (here the only one: cdna4)
    amd_only = dataclasses.replace(prof, families={"cdna4": prof.families["cdna4"]})
    params, st = amd_only.resolve(get_hardware(hw), "trtllm")
    assert "least efficient fitted family (cdna4)" in st.hardware_rule


@pytest.mark.parametrize("engine, source", [("trtllm", "trtllm-legacy"), ("trtllm-legacy", "trtllm")])
def test_one_tensorrt_llm_runtime_without_data_takes_the_others_fit(prof, engine, source):
    """engines.yaml prior_from: the PyTorch-backend and the C++-runtime TensorRT-LLM share their kernels."""
    engines = {"trtllm-legacy": prof.engines["sglang"], **{k: v for k, v in prof.engines.items() if k != "trtllm"}}
    if engine == "trtllm-legacy":
        engines = {k: v for k, v in prof.engines.items() if k != "sglang"}
    p = dataclasses.replace(prof, engines=engines)
    params, st = p.resolve(get_hardware("h100-sxm"), engine)
    assert st.engine_profile == "prior" and st.engine_rule == f"the fitted {source} engine's parameters"
    assert {n: getattr(params, n) for n in ENGINE_PARAMS} == engines[source]


def test_prior_from_is_followed_to_the_first_fitted_engine(prof):
    """dynamo-trtllm -> trtllm (not fitted here) -> trtllm-legacy (fitted): the chain is followed, each key once."""
    engines = {"trtllm-legacy": prof.engines["sglang"], "vllm": prof.engines["vllm"]}
    p = dataclasses.replace(prof, engines=engines)
    params, st = p.resolve(get_hardware("h100-sxm"), "dynamo-trtllm")
    assert st.engine_rule == "the fitted trtllm-legacy engine's parameters"
    assert {n: getattr(params, n) for n in ENGINE_PARAMS} == engines["trtllm-legacy"]
    # trtllm <-> trtllm-legacy with neither fitted: no loop, the median of the fitted engines
    p = dataclasses.replace(prof, engines={"vllm": prof.engines["vllm"]})
    assert p.resolve(get_hardware("h100-sxm"), "trtllm")[1].engine_rule == "the median of the fitted engines (vllm)"


@pytest.mark.parametrize(
    "widen", ["wide", -1.0, float("nan"), {"AMD:tpot": "x"}, {"AMD:tpot": 0.0}, True, [1.0], 0.4, {"AMD:tpot": 8.5}]
)
def test_a_profiles_band_scale_must_be_a_positive_number_or_a_mapping_of_them(widen):
    """uncertainty.widen of a loaded profile: within [1/2 x 1, 2 x 4] = [0.5, 8] of the fit's range (the rule of
    check_params), one number or a mapping of them."""
    with pytest.raises(TokenfabError) as e:
        profile_from_dict({"shared": {}, "uncertainty": {"widen": widen}}, source="my.json")
    assert e.value.field == "my.json.uncertainty.widen"


def test_a_profiles_band_scale_may_be_one_number_or_one_per_group():
    for widen in (1.9, {"AMD:tpot": 1.8, "NVIDIA:tpot": 1.0}):
        assert profile_from_dict({"shared": {}, "uncertainty": {"widen": widen}}).uncertainty["widen"] == widen


def test_an_empty_profile_is_the_physical_prior_and_a_user_entry_wins():
    empty = CalibrationProfile()
    params, st = empty.resolve(get_hardware("h100-sxm"), "vllm")
    assert params.to_dict() == PRIOR
    assert st.hardware_rule == "the physical prior (no fitted family)"
    assert st.engine_rule == "the physical prior (no fitted engine)"
    user = CalibrationProfile(hardware={"h100-sxm": {"memory_efficiency": 0.55}})
    params, st = user.resolve(get_hardware("h100-sxm"), "vllm")
    assert (st.hardware_profile, st.engine_profile) == ("user", "user") and params.memory_efficiency == 0.55
    assert user.resolve(get_hardware("h200-sxm"), "vllm")[1].hardware_profile == "prior"  # only that hardware


def test_the_engines_kernel_efficiency_folds_into_the_family_capped():
    """points.resolved_cal: gemm / memory / attention efficiency x kernel_efficiency, never above MAX_EFFICIENCY."""
    prof = make_profile(family=_fam(0.5, 0.9, 0.4, 0.7), engine={"kernel_efficiency": 1.2})
    cal, st = resolved_cal(prof, get_hardware("h100-sxm"), "vllm")
    assert cal["gemm_efficiency"] == pytest.approx(0.6) and cal["attention_efficiency"] == pytest.approx(0.48)
    assert cal["memory_efficiency"] == MAX_EFFICIENCY  # 0.9 x 1.2 = 1.08 capped
    assert cal["kernel_efficiency"] == 1.0 and cal["comm_efficiency"] == 0.7
    assert set(cal) == set(PARAM_NAMES) and st.hardware_profile == "fitted"


# ----------------------------------------------------------------------------------------------- validation
def test_check_params_names_the_field():
    assert check_params({"memory_efficiency": 0.8, "step_overhead_ms": 0}, where="x") == {
        "memory_efficiency": 0.8,
        "step_overhead_ms": 0.0,
    }
    with pytest.raises(TokenfabError, match="unknown calibration parameter") as e:
        check_params({"speed": 1.0}, where="calibration.families.hopper")
    assert e.value.field == "calibration.families.hopper"
    lo, hi = BOUNDS["memory_efficiency"]
    for bad in (7.0, -0.1, float("nan"), float("inf"), True, "0.8"):
        with pytest.raises(TokenfabError, match="physical range") as e:
            check_params({"memory_efficiency": bad}, where="prof")
        assert e.value.field == "prof.memory_efficiency" and e.value.expected == f"about [{lo}, {hi}]"
    with pytest.raises(TokenfabError, match="mapping"):
        check_params([0.8], where="prof")


def test_profile_from_dict_names_the_field():
    with pytest.raises(TokenfabError, match="needs 'shared', 'families', 'engines' or 'hardware'") as e:
        profile_from_dict({"default": {"memory_efficiency": 0.8}}, source="my.json")
    assert e.value.field == "my.json"
    with pytest.raises(TokenfabError, match="families parameters must be") as e:
        profile_from_dict({"families": {"hopper": {"step_overhead_ms": 1.0}}})
    assert e.value.field == "calibration.families.hopper"
    with pytest.raises(TokenfabError, match="engines parameters must be") as e:
        profile_from_dict({"engines": {"vllm": {"memory_efficiency": 0.8}}})
    assert e.value.field == "calibration.engines.vllm"
    with pytest.raises(TokenfabError, match="must be a mapping") as e:
        profile_from_dict({"families": ["hopper"]})
    assert e.value.field == "calibration.families"
    with pytest.raises(TokenfabError) as e:
        profile_from_dict({"shared": {"moe_skew": 9.0}})
    assert e.value.field == "calibration.shared.moe_skew"
    # a profile survives its own round trip
    again = profile_from_dict(json.loads(json.dumps(WITH_OVERHEADS.to_dict())))
    assert again.families == WITH_OVERHEADS.families and again.engines == WITH_OVERHEADS.engines


def test_bad_profile_files_are_clear_errors(tmp_path):
    p = tmp_path / "bad.json"
    p.write_text(json.dumps({"families": {"hopper": {"memory_efficiency": 7.0}}}))
    with pytest.raises(TokenfabError, match="memory_efficiency") as e:
        load_profile(p)
    assert e.value.field == f"{p.resolve()}.families.hopper.memory_efficiency"
    p2 = tmp_path / "broken.json"
    p2.write_text("{not json")
    with pytest.raises(TokenfabError, match=r"not valid JSON: .* \(line 1\)"):
        load_profile(p2)
    p3 = tmp_path / "binary.json"
    p3.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(TokenfabError, match="UTF-8"):
        load_profile(p3)
    with pytest.raises(TokenfabError, match="not found") as e:
        load_profile(tmp_path / "missing.json")
    assert e.value.field == "calibration"


# ----------------------------------------------------------------------------------------------- the committed profile
def test_bundled_profile_records_its_provenance():
    prof = load_profile()
    meta = prof.meta
    assert meta["script"] == "benchmarks/calibrate.py" and meta["date"]
    fitted_on = meta["fitted_on"] if isinstance(meta["fitted_on"], list) else [meta["fitted_on"]]
    assert fitted_on and all((DATA_DIR / name).is_file() for name in fitted_on)
    # only families and engines the shipped data has rows for are fitted; every other one is a stated prior
    rows, _ = load_measurements(*DATA)
    assert set(prof.families) <= {m.family for m in rows} and set(prof.engines) <= {m.engine for m in rows}
    assert prof.status_for(get_hardware("tpu-v6e")).hardware_profile == "prior"


def test_committed_profile_was_fitted_on_the_shipped_data():
    """The profile's data_sha256 names every file it was fitted on; each matches benchmarks/data/ byte for byte, and
    the row count it used is what the loader uses on those files (a stale profile fails here)."""
    meta = load_profile().meta
    if not isinstance(meta.get("data_sha256"), dict):
        pytest.skip("the committed profile records no per-file data_sha256")
    for name, sha in meta["data_sha256"].items():
        assert file_sha256(DATA_DIR / name) == sha, name
    if "rows_used" in meta:
        _, rep = load_measurements(*(DATA_DIR / n for n in meta["data_sha256"]))
        assert rep.used == meta["rows_used"]


# ----------------------------------------------------------------------------------------------- the loader
@pytest.fixture(scope="module")
def loaded():
    return load_measurements(*DATA)


def _csv_rows():
    out = []
    for p in DATA:
        with p.open(newline="", encoding="utf-8") as f:
            out.extend(csv.DictReader(f))
    return out


def test_loader_counts_every_row_used_or_skipped_with_its_reason(loaded):
    rows, rep = loaded
    raw = _csv_rows()
    assert rep.files == [p.name for p in DATA] and rep.rows_read == len(raw) > 2000
    assert rep.used == len(rows) and rep.used + sum(rep.skipped.values()) == rep.rows_read
    # recounted from the CSV text: duplicated system totals and burst runs are the reasons rows are skipped
    dup = sum(r["metric"] in DUPLICATE_METRICS for r in raw)
    burst = sum(
        r["scenario"] == "online_rate" and "request_rate=INF" in r["notes"] and r["metric"] not in DUPLICATE_METRICS
        for r in raw
    )
    assert dict(rep.skipped) == {"duplicate": dup, "burst": burst} and dup > 0 and burst > 0
    assert len(rep.skipped_ids["burst"]) == burst and not rep.unknown_models
    summary = rep.summary()
    assert f"{rep.rows_read} rows read from {len(DATA)} file(s), {rep.used} used" in summary
    assert f"{burst} {BURST}" in summary
    assert all(math.isfinite(m.value) and m.value > 0 for m in rows)


def test_loader_engines_sources_and_the_new_models(loaded):
    rows, _ = loaded
    assert {m.engine for m in rows} == {"trtllm", "trtllm-legacy", "atom", "vllm", "sglang"}
    assert {m.family for m in rows} >= {"hopper", "blackwell", "cdna4", "ampere", "ada"}
    groups = {m.source_group for m in rows}
    assert len(groups) == 11
    assert "github:ROCm/ATOM recipes/DSpark.md@fc31863 [atom]" in groups
    assert "github:SemiAnalysisAI/InferenceX benchmarks/multi_node/results/minimax-m2.5/@006dbc6 [vllm]" in groups
    assert (
        "github:NVIDIA/TensorRT-LLM docs/source/performance/perf-overview.md@258c754 online [trtllm-legacy]" in groups
    )
    new = [m for m in rows if m.model in NEW_MODELS]
    assert len(new) == 206 and {m.engine for m in new} == {"atom"} and {m.hardware for m in new} == {"mi355x"}
    assert {m.weights for m in rows if m.model == "minimax-m3"} <= {"mxfp4+fp8", "fp8"}  # 4-bit experts only


def test_loader_parses_speculation(loaded):
    rows, _ = loaded
    spec = {(m.model, m.speculation) for m in rows if m.speculation}
    # DSpark: ATOM recipes/DSpark.md states the mean accepted length; EAGLE3: 1 + the mean of the accepted-token
    # distribution {0: 14.40%, 1: 12.00%, 2: 12.73%, 3: 60.87%} = 1 + 2.2007; MTP rows state only the draft length
    assert ("deepseek-v4-pro", Speculation("dspark", 7, 5.45)) in spec
    eagle = [s for mdl, s in spec if s.method == "eagle3"]
    assert len(eagle) == 1 and eagle[0].draft_tokens == 3
    assert eagle[0].acceptance_length == pytest.approx(1 + (0.12 + 2 * 0.1273 + 3 * 0.6087) / 1.0, rel=1e-9)
    assert eagle[0].acceptance_length == pytest.approx(3.2, abs=0.001)
    assert {s for _, s in spec if s.method == "mtp"} == {Speculation("mtp", 3, None)}


def test_loader_parses_disaggregated_pools(loaded):
    """Layout columns that read ``prefill X / decode Y``: decode pool as ``pool``, prefill pool apart; the GPUs split
    evenly when the layouts leave it open; per-GPU figures divide by both pools."""
    rows, _ = loaded
    pools = {(m.model, m.engine, m.pool, m.prefill_pool) for m in rows if m.disaggregated}
    assert pools == {
        ("glm-5.2", "atom", Pool(4, 4, 1, 1, 1), Pool(4, 1, 4, 1, 1)),  # prefill PP4 x TP1, decode TP4
        ("minimax-m2.5", "vllm", Pool(8, 8, 1, 1, 8), Pool(8, 8, 1, 1, 8)),  # 1P + 1D of 8 GPUs
    }
    assert all(m.gpus == m.pool.gpus + m.prefill_pool.gpus for m in rows if m.disaggregated)
    assert sum(m.disaggregated for m in rows) == 100


def test_every_loaded_row_can_be_predicted(loaded):
    """The Predictor evaluates every row (the new models and mixed-precision checkpoints included): finite positive
    figures, except latencies of open-loop rates the model calls overloaded (no steady state, TTFT unbounded)."""
    rows, _ = loaded
    pred = Predictor(rows, WITH_OVERHEADS).predict()
    ok = np.isfinite(pred) & (pred > 0)
    bad = [m for m, good in zip(rows, ok, strict=True) if not good]
    assert len(bad) < 0.01 * len(rows)
    assert all(m.scenario == "online_rate" and m.quantity in ("ttft_ms", "e2el_ms") for m in bad)
    assert all(np.isinf(pred[~ok]))


def test_error_table_by_hand():
    """APE = |pred / meas - 1|; bias = exp(median ln(pred / meas)) - 1: predictions 110, 90, 100 of 100 give median
    APE 10% and no bias; 125 and 80 of 100 give a median APE of 22.5%."""
    base = _synthetic_row("x", "llama-3.1-8b", 1, 128, 128, None, "output_tokens_per_s_per_gpu")
    rows = [dataclasses.replace(base, id=str(i), value=100.0) for i in range(3)]
    et = error_table(rows, np.array([110.0, 90.0, 100.0]))
    assert et["overall"]["n"] == 3 and et["overall"]["median_ape_pct"] == pytest.approx(10.0)
    assert et["overall"]["bias_pct"] == pytest.approx(0.0, abs=1e-9)
    assert et["by_metric_class"]["throughput"]["n"] == 3
    et2 = error_table(rows[:2], np.array([125.0, 80.0]))
    assert et2["overall"]["median_ape_pct"] == pytest.approx(22.5)
    assert et2["overall"]["bias_pct"] == pytest.approx(0.0, abs=1e-9)  # sqrt(1.25 x 0.8) = 1
    assert error_table(rows[:1], np.array([np.inf]))["unscored_overloaded"] == 1


# ----------------------------------------------------------------------------------------------- the fit
def _synthetic_row(rid, model, tp, isl, osl, conc, quantity, statistic="mean"):
    return Measurement(
        id=rid,
        source="synthetic",
        source_group="synthetic [vllm]",
        model=model,
        hardware="h100-sxm",
        family="hopper",
        engine="vllm",
        scenario="offline" if conc is None else "fixed_concurrency",
        quantity=quantity,
        statistic=statistic,
        value=1.0,
        pool=Pool(tp, tp),
        prefill_pool=None,
        weights="fp8",
        kv="fp8",
        isl=float(isl),
        osl=float(osl),
        length_ratio=1.0,
        concurrency=conc,
        rate_rps=None,
        speculation=None,
    )


SYNTHETIC_RUNS = [
    ("llama-3.1-8b", 1, 128, 128, None),
    ("llama-3.1-8b", 1, 2048, 2048, None),
    ("llama-3.1-70b", 4, 1024, 1024, 8.0),
    ("llama-3.1-70b", 4, 1024, 1024, 128.0),
    ("llama-3.1-8b", 1, 512, 512, 1.0),
    ("llama-3.1-8b", 1, 128, 2048, 64.0),
    ("llama-3.1-8b", 1, 4096, 128, 16.0),
    ("llama-3.1-70b", 8, 2048, 256, 32.0),
]
TRUTH = {"gemm_efficiency": 0.55, "memory_efficiency": 0.65, "step_overhead_ms": 2.5}


@pytest.fixture(scope="module")
def synthetic():
    """Measurements made by the model itself under known parameters: the prior, except hopper's GEMM and memory
    efficiencies and vLLM's step overhead (TRUTH)."""
    truth = make_profile(
        family={k: v for k, v in TRUTH.items() if k in FAMILY_PARAMS},
        engine={k: v for k, v in TRUTH.items() if k in ENGINE_PARAMS},
        families=("hopper",),
        engines=("vllm",),
    )
    rows = [
        _synthetic_row(f"s{i}-{q}", m, tp, isl, osl, c, q)
        for i, (m, tp, isl, osl, c) in enumerate(SYNTHETIC_RUNS)
        for q in ("output_tokens_per_s_per_gpu", "tpot_ms", "ttft_ms")
    ]
    values = Predictor(rows, truth).predict()
    assert np.all(np.isfinite(values))
    return [dataclasses.replace(r, value=float(v)) for r, v in zip(rows, values, strict=True)]


@pytest.fixture(scope="module")
def fitted(synthetic):
    return fit_profile(synthetic, max_nfev=15)


def test_fit_recovers_known_parameters(synthetic, fitted):
    prof, info = fitted
    assert info["status"] >= 0 and not info["at_bounds"]  # 0: the evaluation budget spent (recovery checked below)
    hopper = prof.families["hopper"]
    assert hopper["gemm_efficiency"] == pytest.approx(TRUTH["gemm_efficiency"], rel=0.05)
    assert hopper["memory_efficiency"] == pytest.approx(TRUTH["memory_efficiency"], rel=0.05)
    assert prof.engines["vllm"]["step_overhead_ms"] == pytest.approx(TRUTH["step_overhead_ms"], rel=0.2)
    # starting from the prior (0.70 / 0.80 / 1 ms), the fit reproduces its own data
    start = error_table(synthetic, Predictor(synthetic, CalibrationProfile()).predict())["overall"]["median_ape_pct"]
    after = error_table(synthetic, Predictor(synthetic, prof).predict())["overall"]["median_ape_pct"]
    assert start > 10.0 and after < 2.0
    assert prof.support["families"]["hopper"]["rows"] == len(synthetic)
    assert prof.support["engines"]["vllm"]["sources"] == ["synthetic [vllm]"]


def test_fit_is_deterministic(synthetic, fitted):
    again, _ = fit_profile(synthetic, max_nfev=15)
    assert again.to_dict() == fitted[0].to_dict()


def test_a_warm_start_does_not_carry_a_parameter_the_rows_cannot_inform(synthetic, fitted):
    """A fit given a warm start (fit_profile(start=...); cross-validation folds started from the full fit until
    2026-12-07 and a user may pass one) on rows without TTFT. When the rows hold no TTFT row, nothing in them
    informs vLLM's TTFT overhead: the fold must give the prior's value, not the full fit's (which learned it from the
    held-out rows). The start here puts it at 60 ms (prior 5 ms); the fold's data has no TTFT."""
    full = fitted[0]
    start = dataclasses.replace(
        full, engines={**full.engines, "vllm": {**full.engines["vllm"], "ttft_overhead_ms": 60.0}}
    )
    no_ttft = [m for m in synthetic if m.metric_class != "ttft"]
    prof, info = fit_profile(no_ttft, start=start, max_nfev=3)
    assert "engines.vllm.ttft_overhead_ms" in info["uninformed"]
    assert prof.engines["vllm"]["ttft_overhead_ms"] == pytest.approx(PRIOR["ttft_overhead_ms"], rel=1e-4)
    # a parameter the rows do inform keeps its warm start's neighbourhood
    assert "families.hopper.gemm_efficiency" not in info["uninformed"]
    assert prof.families["hopper"]["gemm_efficiency"] == pytest.approx(TRUTH["gemm_efficiency"], rel=0.05)


def test_a_cross_validation_fold_is_fitted_from_the_prior_not_from_the_full_fit(synthetic, fitted):
    """Leave-one-model-out on the synthetic rows: each fold's predictions are those of a fit of its training rows
    from the prior with the same budget (cross_validate takes no start: a fold warm-started from the full fit, which
    saw its held-out rows, can stop near it and score them nearly in sample)."""
    cv = cross_validate(synthetic, kinds=("model",), max_nfev=15)["model"]
    held = [i for i, m in enumerate(synthetic) if m.model == "llama-3.1-70b"]
    train = [m for m in synthetic if m.model != "llama-3.1-70b"]
    alone, _ = fit_profile(train, max_nfev=15)
    expected = Predictor([synthetic[i] for i in held], alone).predict()
    np.testing.assert_allclose(cv["pred"][held], expected, rtol=1e-9)
    # and that fold's parameters are not the full fit's: the 8B rows alone pull them elsewhere
    assert alone.to_dict() != fitted[0].to_dict()


def test_user_calibration_recovers_known_parameters(synthetic):
    """tokenfab calibrate: only the named parameters of one (hardware, engine), everything else from the base."""
    hw = get_hardware("h100-sxm")
    names = ("gemm_efficiency", "memory_efficiency", "step_overhead_ms")
    prof, vals, info = fit_user_params(
        synthetic, base=CalibrationProfile(), hardware=hw, engine="vllm", names=names, max_nfev=40
    )
    assert info["status"] > 0 and set(vals) == set(names)
    assert vals["gemm_efficiency"] == pytest.approx(TRUTH["gemm_efficiency"], rel=0.03)
    assert vals["memory_efficiency"] == pytest.approx(TRUTH["memory_efficiency"], rel=0.03)
    assert vals["step_overhead_ms"] == pytest.approx(TRUTH["step_overhead_ms"], rel=0.05)
    params, st = prof.resolve(hw, "vllm")
    assert st.hardware_profile == "user" and params.memory_efficiency == vals["memory_efficiency"]
    assert prof.resolve(get_hardware("h200-sxm"), "vllm")[1].hardware_profile == "prior"


def _sources(spec):
    """Synthetic held-out rows: {source: (hardware, family, ln(measured / predicted) errors)}."""
    base = _synthetic_row("x", "llama-3.1-8b", 1, 128, 128, None, "output_tokens_per_s_per_gpu")
    rows, pred = [], []
    for src, (hw, fam, errs) in spec.items():
        for i, e in enumerate(errs):
            rows.append(
                dataclasses.replace(
                    base, id=f"{src}{i}", source=src, source_group=src, hardware=hw, family=fam, value=100.0
                )
            )
            pred.append(100.0 / math.exp(e))  # ln(measured / predicted) = e
    return rows, np.array(pred), np.zeros(len(pred), dtype=bool)


def test_the_band_margin_is_the_smallest_that_leaves_a_tenth_outside_on_each_side():
    """fitting.fit_band_margin on two synthetic sources: A's residuals spread -/+0.2, B's -/+0.6. Bands built from one
    source alone are too narrow for the other, so each side needs a margin > 0; with them at most 10% of the held-out
    rows fall below and 10% above (80% inside), and 1% less on a side leaves more outside it (the bisection's
    resolution is 0.001). Two sources alike need none."""
    from tokenfab.perf.fitting import band_coverage, fit_band_margin

    rows, pred, prior = _sources(
        {
            "A": ("h100-sxm", "hopper", np.linspace(-0.2, 0.2, 41)),
            "B": ("h100-sxm", "hopper", np.linspace(-0.6, 0.6, 41)),
        }
    )
    margin = fit_band_margin(rows, pred, prior, target=0.8)
    assert list(margin) == ["NVIDIA:throughput"]  # one group: H100 rows of a throughput metric
    m = margin["NVIDIA:throughput"]
    assert 0.0 < m["lo"] < 3.0 and 0.0 < m["hi"] < 3.0
    c = band_coverage(rows, pred, prior, margin=margin)
    assert c["inside_p10_p90"] >= 0.8
    assert c["below_by_vendor_metric"]["NVIDIA:throughput"] <= 0.1
    assert c["above_by_vendor_metric"]["NVIDIA:throughput"] <= 0.1
    for side, key in (("lo", "below_by_vendor_metric"), ("hi", "above_by_vendor_metric")):
        less = {"NVIDIA:throughput": {**m, side: m[side] * 0.99}}
        assert band_coverage(rows, pred, prior, margin=less)[key]["NVIDIA:throughput"] > 0.1, side
    same, pred2, prior2 = _sources(
        {
            "A": ("h100-sxm", "hopper", np.linspace(-0.2, 0.2, 41)),
            "B": ("h100-sxm", "hopper", np.linspace(-0.2, 0.2, 41)),
        }
    )
    assert fit_band_margin(same, pred2, prior2, target=0.8) == {"NVIDIA:throughput": {"lo": 0.0, "hi": 0.0}}


def test_each_vendor_and_metric_gets_the_margin_its_own_held_out_rows_need():
    """Per vendor:metric group: NVIDIA rows whose two sources agree need no margin; AMD rows whose sources disagree
    (-/+0.2 against -/+0.6) need one, and each group then leaves at most 10% outside on each side on its own (one
    margin for all would cover the AMD rows less than the total says)."""
    from tokenfab.perf.fitting import band_coverage, fit_band_margin

    rows, pred, prior = _sources(
        {
            "A": ("h100-sxm", "hopper", np.linspace(-0.2, 0.2, 41)),
            "B": ("h100-sxm", "hopper", np.linspace(-0.2, 0.2, 41)),
            "C": ("mi355x", "cdna4", np.linspace(-0.2, 0.2, 41)),
            "D": ("mi355x", "cdna4", np.linspace(-0.6, 0.6, 41)),
        }
    )
    margin = fit_band_margin(rows, pred, prior, target=0.8)
    assert margin["NVIDIA:throughput"] == {"lo": 0.0, "hi": 0.0}
    assert margin["AMD:throughput"]["lo"] > 0 and margin["AMD:throughput"]["hi"] > 0
    c = band_coverage(rows, pred, prior, margin=margin)
    for side in ("below", "above"):
        assert c[f"{side}_by_vendor_metric"]["AMD:throughput"] <= 0.1
    assert c["by_vendor_metric"]["NVIDIA:throughput"] >= 0.8 and c["by_vendor_metric"]["AMD:throughput"] >= 0.8


def test_each_side_of_the_band_gets_the_margin_of_its_own_misses():
    """Two sources spread -/+0.2 and one whose errors all lie below (-0.6 .. 0: the model overestimates there).
    Held out, that source falls below the others' bands, not above: the low side's margin is the larger, and each
    side then leaves at most 10% of the rows outside. Margins are additive (ln units): they reach a source whose
    errors sit elsewhere by what its misses need (a multiple of a narrow bucket's spread had to be large)."""
    from tokenfab.perf.fitting import band_coverage, fit_band_margin

    rows, pred, prior = _sources(
        {
            "A": ("h100-sxm", "hopper", np.linspace(-0.2, 0.2, 41)),
            "B": ("h100-sxm", "hopper", np.linspace(-0.2, 0.2, 41)),
            "C": ("h100-sxm", "hopper", np.linspace(-0.6, 0.0, 41)),
        }
    )
    m = fit_band_margin(rows, pred, prior, target=0.8)["NVIDIA:throughput"]
    assert m["lo"] > m["hi"] >= 0.0
    assert m["lo"] < 0.6  # never past the largest miss
    c = band_coverage(rows, pred, prior, margin={"NVIDIA:throughput": m})
    assert c["below_by_vendor_metric"]["NVIDIA:throughput"] <= 0.1
    assert c["above_by_vendor_metric"]["NVIDIA:throughput"] <= 0.1


def test_a_fitted_profile_names_the_parameters_no_measurement_informed():
    """The committed fit has no TTFT measurement of the trtllm engine (TensorRT-LLM v1.0's tables are offline
    throughput), so its TTFT front end stays at the prior: the status of a fitted (blackwell, trtllm) pair says so,
    and an estimate warns. trtllm-legacy has TTFT rows (the v0.14 online table): nothing of it is at the prior."""
    prof = load_profile()
    assert "engines.trtllm.ttft_overhead_ms" in prof.meta["fit"]["uninformed"]
    st = prof.status_for(get_hardware("b200"), "trtllm")
    assert st.engine_profile == "fitted" and st.at_prior == ("engine.ttft_overhead_ms",)
    assert st.to_dict()["parameters_at_prior"] == ["engine.ttft_overhead_ms"]
    assert prof.status_for(get_hardware("h100-sxm"), "trtllm-legacy").at_prior == ()
    # a profile without the record (an older file, a user profile) names none
    assert CalibrationProfile(engines={"trtllm": {}}).status_for(get_hardware("b200"), "trtllm").at_prior == ()
    import tokenfab

    e = tokenfab.estimate("llama-3.1-8b", "b200", engine="trtllm", concurrency=4)
    assert any("engine.ttft_overhead_ms" in w and "prior" in w for w in e.warnings)
    assert e.calibration["parameters_at_prior"] == ["engine.ttft_overhead_ms"]
    e = tokenfab.estimate("llama-3.1-8b", "h100-sxm", engine="trtllm-legacy", concurrency=4)
    assert not any("parameters_at_prior" in w for w in e.warnings)


@pytest.mark.parametrize(
    "meta",
    [
        "text",
        ["a"],
        {"fit": "text"},
        {"fit": {"uninformed": "engines.trtllm.ttft_overhead_ms"}},
        {"fit": {"uninformed": [3, None, "nonsense", "engines.trtllm.bogus_param", "engines.trtllm"]}},
    ],
)
def test_a_malformed_fit_record_names_no_parameter_and_does_not_crash(meta):
    """meta.fit.uninformed comes from a file: anything but a list of "<group>.<member>.<known parameter>" names is
    ignored (no parameter is claimed to be at its prior, nothing crashes)."""
    prof = CalibrationProfile(engines={"trtllm": {}}, meta=meta)
    assert prof.status_for(get_hardware("b200"), "trtllm").at_prior == ()


def test_shared_parameters_at_the_prior_are_named_for_every_pair():
    prof = CalibrationProfile(
        engines={"trtllm": {}}, meta={"fit": {"uninformed": ["shared.disagg_overhead_ms", "shared.nonsense"]}}
    )
    assert prof.status_for(get_hardware("b200"), "trtllm").at_prior == ("shared.disagg_overhead_ms",)


def test_a_moe_model_on_an_engine_whose_expert_kernels_were_never_measured_says_so():
    """SGLang was measured on a dense model only: its expert efficiency is the prior. A MoE model's throughput on it
    therefore rests on a prior (the note and the sensitivity band say so); a dense model's does not, and no warning
    names the expert parameter for it."""
    import tokenfab
    from tokenfab.economics.sensitivity import model_error_band

    moe = tokenfab.estimate("mixtral-8x7b", "h100-sxm", engine="sglang", gpus=2)
    assert moe.calibration["note"] and "engine.moe_efficiency" in moe.calibration["note"]
    assert moe.uncertainty["output_tokens_per_s_per_gpu"]["bucket"] == "prior:throughput"
    assert any("engine.moe_efficiency" in w for w in moe.warnings)
    band = model_error_band("h100-sxm", engine="sglang", model="mixtral-8x7b")
    assert band["bucket"] == "prior:throughput" and band["note"]
    dense = tokenfab.estimate("llama-3.1-8b", "h100-sxm", engine="sglang", gpus=1)
    assert dense.calibration["note"] is None
    assert not any("engine.moe_efficiency" in w for w in dense.warnings)
    assert not dense.uncertainty["output_tokens_per_s_per_gpu"]["bucket"].startswith("prior")


def test_the_prior_and_its_bounds_are_data_with_a_source_for_every_parameter():
    """PRIOR and BOUNDS come from data/perf_priors.yaml: every parameter has a cited source and a prior inside its
    bounds, and the module's constants are what the file says."""
    raw = read_priors()
    assert raw["as_of"]
    for name in PARAM_NAMES:
        entry = raw["params"][name]
        assert len(entry["source"]) > 20, name
        assert PRIOR[name] == entry["value"]
        assert BOUNDS[name] == tuple(entry["bounds"])
        assert BOUNDS[name][0] <= PRIOR[name] <= BOUNDS[name][1]


@pytest.mark.parametrize(
    "change, message",
    [
        ({"value": 2.0}, "not inside its bounds"),
        ({"value": float("nan")}, "not inside its bounds"),
        ({"bounds": [0.1]}, "bounds is"),
        ({"bounds": [0.1, float("inf")]}, "bounds is"),
        ({"source": None}, None),
    ],
)
def test_a_broken_priors_file_is_refused_naming_the_parameter(tmp_path, change, message):
    import yaml

    raw = read_priors()
    entry = dict(raw["params"]["gemm_efficiency"])
    for k, v in change.items():
        if v is None:
            entry.pop(k)
        else:
            entry[k] = v
    raw["params"]["gemm_efficiency"] = entry
    path = tmp_path / "perf_priors.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(TokenfabError) as e:
        read_priors(path)
    assert e.value.field == "perf_priors.yaml params.gemm_efficiency"
    if message:
        assert message in str(e.value)


@pytest.mark.parametrize(
    "section, value, field",
    [
        ("band_scale_bounds", [0.5, 4.0], "band_scale_bounds"),  # a band is never narrower than its residuals
        ("band_scale_bounds", [4.0, 1.0], "band_scale_bounds"),
        ("max_efficiency", 1.5, "max_efficiency"),  # above the chip's peak
        ("family_prior_rules", {"cdna3": "cdna4"}, "family_prior_rules"),  # no default rule
        ("family_priors", {"sram": {"value": {"no_such_param": 1.0}, "source": "x"}}, "family_priors.sram"),
        ("family_priors", {"sram": {"value": {"comm_latency_us": 0.0}, "source": "x"}}, "family_priors.sram"),
    ],
)
def test_a_broken_priors_section_is_refused_naming_it(tmp_path, section, value, field):
    import yaml

    raw = read_priors()
    raw[section] = value if section == "family_priors" else {**raw[section], "value": value}
    path = tmp_path / "perf_priors.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(TokenfabError) as e:
        read_priors(path)
    assert e.value.field == f"perf_priors.yaml {field}"
