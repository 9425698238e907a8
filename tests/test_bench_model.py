"""Benchmark results against the performance model: bench-report --compare-model, and tokenfab calibrate."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from tokenfab.bench.mockserver import MockConfig, MockServerProcess
from tokenfab.catalog.calibration import load_profile
from tokenfab.catalog.hardware import get_hardware
from tokenfab.cli.main import app
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
                "1,4",
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
    assert len(doc["comparison"]) == 2
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
    r = runner.invoke(
        app,
        [
            "calibrate",
            str(results),
            "--model",
            "llama-3.1-8b",
            "--hardware",
            "h100-sxm",
            "--gpus",
            "1",
            "--weights",
            "fp8",
            "--out",
            str(prof_path),
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    s = json.loads(r.stdout)
    assert s["after"]["median_ape_pct"] < s["before"]["median_ape_pct"]
    prof = load_profile(prof_path)
    assert "h100-sxm" in prof.hardware
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
