"""Benchmark results against the performance model: bench-report --compare-model, and tokenfab calibrate."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from tokenfab.bench.mockserver import MockConfig, MockServerProcess
from tokenfab.catalog.calibration import load_profile
from tokenfab.catalog.hardware import get_hardware
from tokenfab.cli.main import app
from tokenfab.core.errors import TokenfabError
from tokenfab.perf.serving import estimate

runner = CliRunner()


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    # a server that behaves like a slow deployment: 30 ms TTFT and 9 ms between tokens at every load level
    out = tmp_path_factory.mktemp("bench") / "r.jsonl"
    with MockServerProcess(MockConfig(ttft_ms=30, itl_ms=9), max_lifetime_s=120) as srv:
        r = runner.invoke(
            app,
            [
                "bench",
                "--url",
                srv.url,
                "--model",
                "mock",
                "--isl",
                "64",
                "--osl",
                "24",
                "--concurrency",
                "1,2,4",  # 3 levels: 9 independent values for the 7 parameters calibrate fits
                "--requests",
                "8",
                "--out",
                str(out),
            ],
        )
        assert r.exit_code == 0, r.output
    return out


def test_compare_model_puts_prediction_beside_each_level(results):
    r = runner.invoke(
        app,
        [
            "bench-report",
            str(results),
            "--gpus",
            "1",
            "--hardware",
            "h100-sxm",
            "--usd-per-gpu-hour",
            "2.0",
            "--compare-model",
            "llama-3.1-8b",
            "--weights",
            "fp8",
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert len(doc["comparison"]) == 3
    for row, point in zip(doc["comparison"], doc["points"], strict=False):
        c = row["output_tokens_per_s_per_gpu"]
        assert c["measured"] == pytest.approx(point["output_tokens_per_s_per_gpu"])
        assert c["relative_error"] == pytest.approx(c["predicted"] / c["measured"] - 1)
        assert "tpot_ms_p50" in row
    table = runner.invoke(
        app,
        [
            "bench-report",
            str(results),
            "--gpus",
            "1",
            "--hardware",
            "h100-sxm",
            "--usd-per-gpu-hour",
            "2.0",
            "--compare-model",
            "llama-3.1-8b",
            "--weights",
            "fp8",
        ],
    )
    assert "measured vs predicted" in table.stdout


def test_calibrate_fits_and_estimate_uses_the_profile(results, tmp_path):
    prof_path = tmp_path / "cal.json"
    args = ["calibrate", str(results), "--model", "llama-3.1-8b", "--hardware", "h100-sxm", "--gpus", "1"]
    args += ["--weights", "fp8"]
    r = runner.invoke(app, [*args, "--out", str(prof_path), "--json"])
    assert r.exit_code == 0, r.output
    s = json.loads(r.stdout)
    assert s["after"]["rms_log_error"] < s["before"]["rms_log_error"]  # the error the fit minimizes
    # the text says it too, beside the median (which can move either way while the fitted error falls)
    t = runner.invoke(app, [*args, "--out", str(tmp_path / "cal2.json")])
    assert t.exit_code == 0 and f"rms log error {s['before']['rms_log_error']:.3f} -> " in " ".join(t.output.split())
    prof = load_profile(prof_path)
    assert "h100-sxm|trtllm" in prof.hardware  # the entry is for the engine measured (H100's default)
    # the saved profile says it is the user's fit, not the bundled one
    assert prof.meta["script"] == "tokenfab calibrate" and prof.meta["user_calibration"]["hardware"] == "h100-sxm"
    # and it keeps the bundled fit's record of parameters no measurement informed (other hardware still says so)
    assert "engines.trtllm.ttft_overhead_ms" in prof.meta["fit"]["uninformed"]
    assert prof.status_for(get_hardware("b200"), "trtllm").at_prior == ("engine.ttft_overhead_ms",)
    assert "warnings" in s
    base = estimate("llama-3.1-8b", "h100-sxm", gpus=1, weights="fp8", isl=64, osl=24, concurrency=1)
    cal = estimate(
        "llama-3.1-8b", "h100-sxm", gpus=1, weights="fp8", isl=64, osl=24, concurrency=1, calibration=str(prof_path)
    )
    assert cal.calibration["hardware_profile"] == "user" and cal.calibration["hardware_family"] == "hopper"
    # the mock's 9 ms between tokens is slower than the bundled model's H100 prediction: calibration moves TPOT up
    # towards it (the mock is not a physical 8B deployment, so the fit trades TPOT against TTFT and throughput)
    assert base.tpot_ms < 9.0 and cal.tpot_ms > base.tpot_ms * 1.2
    # other hardware keeps the bundled parameters
    other = estimate(
        "llama-3.1-8b", "h200-sxm", gpus=1, weights="fp8", isl=64, osl=24, concurrency=1, calibration=str(prof_path)
    )
    assert other.calibration["hardware_profile"] == "fitted" and other.calibration["hardware_family"] == "hopper"


def _synthetic_runs(truth, levels, noise):
    """Bench levels as tokenfab.bench.report.build_runs gives them, with the values a known profile predicts for
    llama-3.1-8b on one H100 (fp8, 512 in / 128 out), times a fixed noise pattern: data whose answer is known."""
    from tokenfab.bench.modelcheck import make_predictor

    runs = [
        {
            "run_id": "syn",
            "mode": "closed",
            "concurrency": c,
            "rate": None,
            "requests_ok": 10,
            "input_tokens": 5120,
            "output_tokens": 1280,
        }
        for c in levels
    ]
    predict = make_predictor(runs, model="llama-3.1-8b", hardware="h100-sxm", gpus=1, weights="fp8", calibration=truth)
    for i, r in enumerate(runs):
        p = predict(r)
        f = [1 + noise[(4 * i + k) % len(noise)] for k in range(4)]
        r.update(
            total_tokens_per_s=p["total_tokens_per_s_per_gpu"] * f[0],
            output_tokens_per_s=p["output_tokens_per_s_per_gpu"] * f[1],
            ttft_ms_mean=p["ttft_ms_p50"] * f[2],
            tpot_ms_mean=p["tpot_ms_p50"] * f[3],
        )
    return runs


def _truth_profile():
    """The bundled profile with H100 parameters of a slower deployment (known answer for the fit)."""
    from tokenfab.catalog.calibration import CalibrationProfile, PerfParams

    base = load_profile(None)
    vals = base.params_for(get_hardware("h100-sxm"), "trtllm").to_dict()
    vals.update(
        memory_efficiency=vals["memory_efficiency"] * 0.75,
        gemm_efficiency=vals["gemm_efficiency"] * 0.8,
        step_overhead_ms=vals["step_overhead_ms"] * 2 + 1.0,
    )
    return CalibrationProfile(
        shared=base.shared,
        families=base.families,
        engines=base.engines,
        hardware={**base.hardware, "h100-sxm": PerfParams(**vals).to_dict()},
        support=base.support,
        uncertainty=base.uncertainty,
        meta=dict(base.meta),
    ), vals


def test_calibrate_checks_the_fit_on_levels_it_did_not_see():
    """Measurements made by a known, slower H100 (plus +-4% noise): the fit moves towards the truth, and the held-out
    check (leave one level out) finds the refit predicts the levels it did not see better than the bundled profile."""
    from tokenfab.bench.modelcheck import fit_from_runs

    truth, vals = _truth_profile()
    runs = _synthetic_runs(truth, (1, 2, 4, 8, 16, 32), noise=(0.04, -0.03, 0.0, 0.02, -0.04, 0.01, 0.03))
    prof, s = fit_from_runs(runs, model="llama-3.1-8b", hardware="h100-sxm", gpus=1, weights="fp8")
    ho = s["held_out"]
    assert ho is not None and ho["folds"] == 6 and ho["fit"]["n"] == ho["base"]["n"] == s["points"] == 24
    assert ho["fit"]["rms_log_error"] < 0.5 * ho["base"]["rms_log_error"]
    assert ho["fit"]["median_ape_pct"] < ho["base"]["median_ape_pct"]
    assert s["after"]["rms_log_error"] <= ho["fit"]["rms_log_error"]  # in sample is never worse than held out here
    assert not s["worse_than_base"]
    base_mem = load_profile(None).params_for(get_hardware("h100-sxm"), "trtllm").memory_efficiency
    assert abs(s["params"]["memory_efficiency"] - vals["memory_efficiency"]) < abs(base_mem - vals["memory_efficiency"])
    assert prof.meta["user_calibration"]["errors"]["held_out"] == ho


def test_the_held_out_check_needs_three_levels_and_bounds_its_folds():
    from tokenfab.bench.modelcheck import MAX_HELD_OUT_FOLDS, fit_from_runs, level_folds
    from tokenfab.perf.measurements import Measurement, Pool

    truth, _ = _truth_profile()
    # two levels give 6 independent values (throughput, TTFT, TPOT each) for 7 parameters: refused, not fitted
    with pytest.raises(TokenfabError, match="6 independent measured value") as e:
        fit_from_runs(
            _synthetic_runs(truth, (1, 8), noise=(0.0,)),
            model="llama-3.1-8b",
            hardware="h100-sxm",
            gpus=1,
            weights="fp8",
        )
    assert e.value.field == "results" and "--concurrency 1,4,16" in str(e.value)
    _, s = fit_from_runs(
        _synthetic_runs(truth, (1, 4, 8), noise=(0.0,)),
        model="llama-3.1-8b",
        hardware="h100-sxm",
        gpus=1,
        weights="fp8",
    )
    assert s["held_out"] is not None and s["held_out"]["folds"] == 3

    def row(c, metric):
        return Measurement(
            id=f"r:closed:{c}:{metric}", source="s", source_group="s", model="llama-3.1-8b", hardware="h100-sxm",
            family="hopper", engine="trtllm", scenario="online_concurrency", quantity="ttft_ms", statistic="mean",
            value=1.0, pool=Pool(1, 1, 1, 1, 1), prefill_pool=None, weights="fp8", kv="fp8", isl=1.0, osl=1.0,
            length_ratio=1.0, concurrency=float(c), rate_rps=None, speculation=None,
        )  # fmt: skip

    rows = [row(c, m) for c in range(1, 26) for m in ("ttft", "tpot")]
    folds = level_folds(rows)
    assert len(folds) == MAX_HELD_OUT_FOLDS and sorted(i for f in folds for i in f) == list(range(len(rows)))
    for f in folds:  # a level's metrics stay together, and a fold holds neighbouring loads
        levels = {rows[i].concurrency for i in f}
        assert {i for i, r in enumerate(rows) if r.concurrency in levels} == set(f)
        assert max(levels) - min(levels) <= 2
    assert [len(f) for f in level_folds(rows[:6])] == [2, 2, 2]


def test_a_fit_is_judged_by_the_error_it_minimizes_on_levels_held_out():
    from tokenfab.bench.modelcheck import fit_is_worse

    before, after = {"rms_log_error": 0.30, "median_ape_pct": 10.0}, {"rms_log_error": 0.20, "median_ape_pct": 12.0}
    assert not fit_is_worse(before, after)  # the median moved up, the error the fit minimizes went down
    assert fit_is_worse(after, before)
    held = {"base": {"rms_log_error": 0.25}, "fit": {"rms_log_error": 0.27}}
    assert fit_is_worse(before, after, held)  # better in sample, worse on the levels it did not see: refused
    assert not fit_is_worse(after, before, {"base": {"rms_log_error": 0.25}, "fit": {"rms_log_error": 0.2}})
    assert fit_is_worse(before, {"n": 0})  # the fit scores nothing the base scores


def test_a_model_that_does_not_fit_the_layout_is_refused_not_fitted_or_compared(results, tmp_path):
    """calibrate on Llama-70B over one H100 compared nothing (n = 0), wrote a profile and exited 0; bench-report
    --compare-model showed -100% errors (a prediction of 0). Both now stop naming --gpus."""
    out = tmp_path / "c.json"
    base = ["--model", "llama-3.1-70b", "--hardware", "h100-sxm", "--gpus", "1"]
    r = runner.invoke(app, ["calibrate", str(results), *base, "--out", str(out)])
    assert r.exit_code == 2 and "--gpus" in r.output and "does not fit" in r.output and not out.exists()
    r = runner.invoke(
        app,
        ["bench-report", str(results), "--gpus", "1", "--hardware", "h100-sxm", "--compare-model", "llama-3.1-70b"],
    )
    assert r.exit_code == 2 and "--gpus" in r.output and "does not fit" in r.output and "-100%" not in r.output


def test_the_api_checks_the_profile_path_before_the_fit(results, tmp_path):
    """api.calibrate with ``out`` a folder or in a missing folder raised IsADirectoryError / FileNotFoundError after
    the fit had run; now a TokenfabError naming ``out`` before any work."""
    from tokenfab import api
    from tokenfab.api.bench import CalibrateRequest
    from tokenfab.core.errors import TokenfabError

    for out in (tmp_path, tmp_path / "missing" / "c.json"):
        with pytest.raises(TokenfabError) as e:
            api.calibrate(
                CalibrateRequest.build(
                    results=str(results), model="llama-3.1-8b", hardware="h100-sxm", gpus=1, out=str(out)
                )
            )
        assert e.value.field == "out"


def test_calibrate_says_when_it_pools_several_runs(results, tmp_path):
    """bench-report warns that a file holds several runs and asks for --run-id; calibrate fitted them together
    silently. It now warns too (and an unknown --run-id names the flag)."""
    lines = results.read_text().splitlines()
    other = [json.dumps({**json.loads(x), "run_id": "another-run"}) for x in lines if x.strip()]
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text("\n".join(lines + other) + "\n")
    args = ["--model", "llama-3.1-8b", "--hardware", "h100-sxm", "--gpus", "1", "--weights", "fp8"]
    r = runner.invoke(app, ["calibrate", str(mixed), *args, "--out", str(tmp_path / "c.json"), "--json"])
    assert r.exit_code == 0, r.output
    assert any("runs" in w and "--run-id" in w for w in json.loads(r.stdout)["warnings"])
    r = runner.invoke(app, ["calibrate", str(mixed), *args, "--run-id", "nope", "--out", str(tmp_path / "d.json")])
    assert r.exit_code == 2 and "--run-id" in r.output


def test_exclusions_that_leave_nothing_are_said_not_shown_as_zeros(results):
    """--exclude-warmup 100 on 8 requests showed 0.0 tok/s per GPU with no warning."""
    r = runner.invoke(
        app,
        ["bench-report", str(results), "--gpus", "1", "--usd-per-gpu-hour", "2", "--exclude-warmup", "100", "--json"],
    )
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    texts = [w for run in d["runs"] for w in run.get("warnings", [])] + list(d.get("warnings") or [])
    assert any("left out every request" in w for w in texts)
    t = runner.invoke(
        app, ["bench-report", str(results), "--gpus", "1", "--usd-per-gpu-hour", "2", "--exclude-warmup", "100"]
    )
    assert "left out every request" in " ".join(t.output.split())


def test_a_user_calibration_applies_to_the_engine_it_measured_and_says_where_it_does_not(results, tmp_path):
    """calibrate fitted a vLLM server's overheads as the default engine's and applied them to every engine on that
    hardware; a profile for other hardware was used silently nowhere. Now its entry is (hardware, engine) and every
    estimate or sweep that does not use it says so."""
    from tokenfab.search.result import frontier

    out = tmp_path / "cal.json"
    args = ["calibrate", str(results), "-m", "llama-3.1-8b", "-H", "h100-sxm", "--gpus", "1", "--weights", "fp8"]
    r = runner.invoke(app, [*args, "--engine", "vllm", "--out", str(out), "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["engine"] == "vllm" and doc["hardware"] == "h100-sxm"
    assert "h100-sxm|vllm" in json.loads(out.read_text())["hardware"]
    kw = dict(gpus=1, weights="fp8", isl=64, osl=24, concurrency=4, calibration=str(out))
    mine = estimate("llama-3.1-8b", "h100-sxm", engine="vllm", **kw)
    assert mine.calibration["hardware_profile"] == "user"
    assert not any("calibration file" in w for w in mine.warnings)
    other = estimate("llama-3.1-8b", "h100-sxm", engine="trtllm", **kw)
    assert other.calibration["hardware_profile"] == "fitted"
    assert any("for h100-sxm with vllm: not for h100-sxm with trtllm" in w for w in other.warnings)
    fr = frontier("llama-3.1-8b", ["h100-sxm", "h200-sxm"], isl=64, osl=24, engine="vllm", calibration=str(out))
    assert any("used for h100-sxm with vllm; h200-sxm with vllm: the bundled fit" in w for w in fr.sweep.warnings)


def test_a_calibration_written_before_engines_were_keyed_still_applies_to_every_engine(tmp_path):
    """Profiles from before 2026-12-08 key a user entry by the hardware alone: it keeps applying to every engine."""
    from tokenfab.catalog.calibration import load_profile

    base = load_profile(None)
    flat = base.params_for(get_hardware("h100-sxm"), "trtllm").to_dict()
    doc = base.to_dict()
    doc["hardware"] = {"h100-sxm": {**flat, "memory_efficiency": 0.3}}
    p = tmp_path / "old.json"
    p.write_text(json.dumps(doc))
    for engine in ("trtllm", "vllm"):
        e = estimate(
            "llama-3.1-8b", "h100-sxm", gpus=1, weights="fp8", concurrency=1, engine=engine, calibration=str(p)
        )
        assert e.calibration["hardware_profile"] == "user" and not any("calibration file" in w for w in e.warnings)
