"""bench-report and calibrate on hardware a user defines in a --hardware-file (the CLI's one vocabulary: every
command that names hardware takes the files that define it)."""

import json

import yaml

from _cli import invoke
from _fuzz import bench_records, jsonl
from tokenfab.catalog.hardware import get_hardware


def _files(tmp_path):
    """A hardware file with ``acme-h100``: the catalog's H100 SXM under a new key (so the model has its figures),
    and a results file of closed-loop records."""
    spec = get_hardware("h100-sxm").model_dump(exclude_none=True)
    for k in ("key", "sources", "aliases", "notes"):
        spec.pop(k, None)
    spec.update(name="Acme H100 (user file)", source="unit test: a copy of the catalog's h100-sxm", as_of="2026-12")
    hw = tmp_path / "hw.yaml"
    hw.write_text(yaml.safe_dump({"acme-h100": spec}), encoding="utf-8")
    res = tmp_path / "results.jsonl"
    res.write_text(jsonl(bench_records(levels=(1, 4, 8))), encoding="utf-8")
    return str(hw), str(res)


def test_bench_report_prices_and_predicts_user_hardware(tmp_path):
    hw, res = _files(tmp_path)
    args = ["bench-report", res, "--gpus", "1", "-H", "acme-h100", "--usd-per-gpu-hour", "2", "--json"]
    r = invoke(*args, "--hardware-file", hw, "--compare-model", "llama-3.1-8b")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["tco"]["hardware"] == "acme-h100" and doc["comparison"]
    missing = invoke(*args)
    assert missing.exit_code == 2 and "acme-h100" in missing.stderr and "Traceback" not in missing.output


def test_calibrate_fits_user_hardware(tmp_path):
    hw, res = _files(tmp_path)
    out = tmp_path / "cal.json"
    args = ["calibrate", res, "-m", "llama-3.1-8b", "-H", "acme-h100", "--gpus", "1", "-o", str(out), "--force"]
    r = invoke(*args, "--hardware-file", hw, "--json")
    assert r.exit_code == 0, r.output
    assert "acme-h100|trtllm" in json.loads(out.read_text())["hardware"]
    missing = invoke(*args)
    assert missing.exit_code == 2 and "acme-h100" in missing.stderr
