"""Runs that never trap the user: the server and model check before the first request, output paths checked first,
--overwrite, --resume says what it sends, a new load level into an existing --out is a new run, and the mock server
runs until stopped. Also the outputs: the vLLM-named summary JSON, CSV, the HTML report and calibrate's refusal."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tokenfab.bench.mockserver import MockConfig, MockServerProcess
from tokenfab.cli.main import app

runner = CliRunner()
SRC = str(Path(__file__).resolve().parents[1] / "src")


@pytest.fixture(scope="module")
def mock():
    with MockServerProcess(MockConfig(ttft_ms=2, itl_ms=1), max_lifetime_s=300) as srv:
        yield srv


def bench(mock, out, *args):
    return runner.invoke(
        app, ["bench", "--url", mock.url, "--model", "mock", "--isl", "16", "--osl", "6", "--out", str(out), *args]
    )


def test_wrong_model_is_one_line_exit_2_nothing_written(mock, tmp_path):
    out = tmp_path / "r.jsonl"
    r = runner.invoke(app, ["bench", "--url", mock.url, "--model", "mokc", "--concurrency", "1", "--out", str(out)])
    assert r.exit_code == 2, r.output
    assert "--model" in r.output and "'mokc'" in r.output and "mock" in r.output and "Traceback" not in r.output
    assert not out.exists()


def test_model_check_with_the_full_endpoint_url(tmp_path):
    # the models URL is derived from the endpoint URL; the model is checked against what the server lists
    with MockServerProcess(MockConfig(model="served"), max_lifetime_s=60) as srv:
        r = runner.invoke(
            app,
            [
                "bench",
                "--url",
                srv.url + "/v1/completions",
                "--model",
                "other",
                "--concurrency",
                "1",
                "--out",
                str(tmp_path / "r.jsonl"),
            ],
        )
        assert r.exit_code == 2 and "--model" in r.output


def test_output_path_checked_before_any_work(mock, tmp_path):
    (tmp_path / "dir.jsonl").mkdir()
    r = bench(mock, tmp_path / "dir.jsonl", "--concurrency", "1")
    assert r.exit_code == 2 and "--out" in r.output and "folder" in r.output
    r = bench(mock, tmp_path / "r.jsonl", "--concurrency", "1", "--csv", str(tmp_path))
    assert r.exit_code == 2 and "--csv" in r.output
    assert not (tmp_path / "r.jsonl").exists()


def test_rerun_names_both_ways_out_and_overwrite_starts_again(mock, tmp_path):
    out = tmp_path / "r.jsonl"
    mock.configure({"ttft_ms": 1, "itl_ms": 1})
    assert bench(mock, out, "--concurrency", "2", "--requests", "4").exit_code == 0
    r = bench(mock, out, "--concurrency", "2", "--requests", "4")
    assert r.exit_code == 2 and "--resume" in r.output and "--overwrite" in r.output
    r = bench(mock, out, "--concurrency", "2", "--requests", "4", "--overwrite", "--json")
    assert r.exit_code == 0, r.output
    assert len(out.read_text().splitlines()) == 4 and "--overwrite: removed 4" in r.output
    assert bench(mock, out, "--concurrency", "2", "--requests", "4", "--overwrite", "--resume").exit_code == 2


def test_a_new_load_level_is_a_new_run(mock, tmp_path):
    out = tmp_path / "r.jsonl"
    assert bench(mock, out, "--concurrency", "1", "--requests", "3").exit_code == 0
    r = bench(mock, out, "--concurrency", "2", "--requests", "3", "--json")
    assert r.exit_code == 0, r.output  # not refused as "already holds records of this run"
    runs = {json.loads(x)["run_id"] for x in out.read_text().splitlines()}
    assert len(runs) == 2
    r = bench(mock, out, "--concurrency", "4", "--requests", "3", "--resume")
    assert r.exit_code == 2 and "nothing to resume" in r.output  # never merged silently


def test_failed_run_is_not_a_trap(mock, tmp_path):
    out = tmp_path / "r.jsonl"
    mock.configure({"ttft_ms": 1, "itl_ms": 1, "fault_probs": {"http_500": 1.0}})
    r = bench(mock, out, "--concurrency", "1", "--requests", "3")
    assert r.exit_code == 1 and "--overwrite" in r.output  # every request failed: says the way out
    mock.configure({"ttft_ms": 1, "itl_ms": 1})
    r = bench(mock, out, "--concurrency", "1", "--requests", "3", "--overwrite", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["runs"][0]["requests_ok"] == 3


def test_mock_server_runs_until_stopped():
    import os

    env = {**os.environ, "PYTHONPATH": SRC}
    p = subprocess.Popen(
        [sys.executable, "-m", "tokenfab.bench.mockserver"], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert p.stdout.readline().startswith("MOCK_URL ")
        time.sleep(1.0)
        assert p.poll() is None  # no built-in lifetime
    finally:
        p.terminate()
        assert p.wait(10) == 0  # SIGTERM: a clean stop
    q = subprocess.Popen(
        [sys.executable, "-m", "tokenfab.bench.mockserver", "--lifetime-s", "0.5"],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert q.stdout.readline().startswith("MOCK_URL ")
    assert q.wait(10) == 0


def test_summary_json_uses_vllm_field_names_and_csv_and_selfcheck(mock, tmp_path):
    mock.configure({"ttft_ms": 2, "itl_ms": 1})
    summ, csvp = tmp_path / "s.json", tmp_path / "r.csv"
    r = bench(
        mock,
        tmp_path / "r.jsonl",
        "--concurrency",
        "2",
        "--requests",
        "6",
        "--slo",
        "ttft_ms:99:1000",
        "--summary",
        str(summ),
        "--csv",
        str(csvp),
    )
    assert r.exit_code == 0, r.output
    assert "client self-check c2: CPU" in r.output and "schedule lag p50" in r.output
    doc = json.loads(summ.read_text())
    (lv,) = doc["levels"]
    for k in (
        "duration",
        "completed",
        "failed",
        "total_input_tokens",
        "total_output_tokens",
        "request_throughput",
        "request_goodput",
        "output_throughput",
        "total_token_throughput",
        "mean_ttft_ms",
        "median_ttft_ms",
        "std_ttft_ms",
        "p99_ttft_ms",
        "mean_tpot_ms",
        "p99_itl_ms",
        "median_e2el_ms",
        "max_concurrency",
        "max_output_tokens_per_s",
        "max_concurrent_requests",
    ):
        assert k in lv, k
    assert lv["completed"] == 6 and lv["max_concurrency"] == 2 and lv["request_goodput"] > 0
    assert lv["mean_ttft_ms"] == pytest.approx(lv["tokenfab"]["ttft_ms_mean"])
    header = csvp.read_text().splitlines()[0].split(",")
    assert "mean_ttft_ms" in header and "request_throughput" in header and "ttft_ms_p50" in header


def test_bench_report_html_is_self_contained(mock, tmp_path):
    pytest.importorskip("plotly")
    mock.configure({"ttft_ms": 2, "itl_ms": 1})
    out = tmp_path / "r.jsonl"
    assert bench(mock, out, "--concurrency", "1,2", "--requests", "4").exit_code == 0
    html = tmp_path / "report.html"
    r = runner.invoke(
        app,
        [
            "bench-report",
            str(out),
            "--gpus",
            "1",
            "--hardware",
            "h100-sxm",
            "--usd-per-gpu-hour",
            "2",
            "--compare-model",
            "llama-3.1-8b",
            "--weights",
            "fp8",
            "--html",
            str(html),
        ],
    )
    assert r.exit_code == 0, r.output
    page = html.read_text()
    assert "TTFT distribution" in page and "TPOT distribution" in page and "Measured vs model" in page
    assert '<script src="http' not in page and "plotly" in page.lower() and len(page) > 1_000_000  # JS inline


def test_calibrate_refuses_a_fit_worse_than_the_base(monkeypatch, tmp_path, mock):
    from tokenfab.bench import modelcheck
    from tokenfab.catalog.calibration import load_profile

    mock.configure({"ttft_ms": 2, "itl_ms": 1})
    out = tmp_path / "r.jsonl"
    assert bench(mock, out, "--concurrency", "1,2", "--requests", "4").exit_code == 0

    def worse(runs, **kw):
        before, after = {"median_ape_pct": 10.0, "rms_log_error": 0.1}, {"median_ape_pct": 25.0, "rms_log_error": 0.3}
        return load_profile(None), {
            "hardware": "h100-sxm",
            "engine": "trtllm",
            "points": 6,
            "before": before,
            "after": after,
            "params": {},
            "warnings": [],
            "worse_than_base": modelcheck.fit_is_worse(before, after),
        }

    monkeypatch.setattr(modelcheck, "fit_from_runs", worse)
    prof = tmp_path / "cal.json"
    args = [
        "calibrate",
        str(out),
        "--model",
        "llama-3.1-8b",
        "--hardware",
        "h100-sxm",
        "--gpus",
        "1",
        "--out",
        str(prof),
    ]
    r = runner.invoke(app, args)
    assert r.exit_code == 1 and "worse than the base profile" in r.output and "--force" in r.output
    assert not prof.exists()
    r = runner.invoke(app, args + ["--force"])
    assert r.exit_code == 0 and prof.exists()
    assert not modelcheck.fit_is_worse({"rms_log_error": 0.3}, {"rms_log_error": 0.1})
