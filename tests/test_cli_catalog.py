"""``tokenfab catalog hardware`` / ``tokenfab catalog models`` through the real Typer app."""

from __future__ import annotations

import json
import sys

import pytest
import yaml
from typer.testing import CliRunner

from _cli import invoke

pytestmark = pytest.mark.usefixtures("wide_console")

REQUIRED_KEYS = [
    "a100-sxm",
    "h100-sxm",
    "h100-pcie",
    "h200-sxm",
    "gh200",
    "b200",
    "b300",
    "gb200-nvl72",
    "gb300-nvl72",
    "mi300x",
    "mi325x",
    "mi355x",
    "gaudi3",
    "tpu-v5e",
    "tpu-v6e",
    "tpu7x",
    "l40s",
    "rtx-pro-6000",
    "groq-lpu",
    "cerebras-wse3",
]

runner = CliRunner()


def _user_file(tmp_path, name, entries: dict):
    p = tmp_path / name
    p.write_text(yaml.safe_dump(entries))
    return str(p)


def _chip(**over):
    d = {
        "name": "Acme X1",
        "vendor": "Acme",
        "source": "unit test",
        "as_of": "2025-01",
        "memory_capacity_gib": 64,
        "memory_bandwidth_tb_per_s": 2.0,
        "peak_tflops": {"bf16": 500},
    }
    d.update(over)
    return d


def test_hardware_table_lists_every_chip():
    r = invoke("catalog", "hardware")
    assert r.exit_code == 0, r.output
    for key in REQUIRED_KEYS:
        assert key in r.output
    assert "989.4" in r.output  # H100 SXM dense BF16
    assert "(SRAM)" in r.output  # SRAM chips show their on-chip capacity


def test_hardware_json():
    r = invoke("catalog", "hardware", "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert set(REQUIRED_KEYS) <= set(data["hardware"])
    h100 = data["hardware"]["h100-sxm"]
    assert h100["peak_tflops"]["bf16"] == 989.4
    assert h100["sources"]["memory_bandwidth_tb_per_s"]["as_of"]
    assert "fp8" not in data["hardware"]["a100-sxm"]["peak_tflops"]
    assert data["aliases"]["h200"] == "h200-sxm"
    assert data["aliases"]["gh200-480gb"] == "gh200-96gb"
    assert "GiB" in data["units"]["memory_capacity_gib"]


def test_one_chip_shows_every_figure_with_source():
    r = invoke("catalog", "hardware", "h100-sxm")
    assert r.exit_code == 0, r.output
    for text in (
        "peak_tflops.bf16",
        "989.4",
        "memory_bandwidth_tb_per_s",
        "as_of",
        "2023-03",
        "glennklockwood.com",
        "price_usd_per_chip",
        "Raymond James",
    ):
        assert text in r.output, text


def test_one_chip_json_lists_figures():
    r = invoke("catalog", "hardware", "gh200-480gb", "--json")  # an alias
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["key"] == "gh200-96gb"
    figs = {f["field"]: f for f in d["figures"]}
    assert figs["memory_bandwidth_tb_per_s"]["value"] == 4.0
    assert figs["peak_tflops.fp8"]["unit"].startswith("TFLOP/s")
    for f in d["figures"]:
        assert f["source"] and f["as_of"], f


def test_unknown_chip_is_one_clear_line():
    r = invoke("catalog", "hardware", "h100sxm")
    assert r.exit_code == 2
    assert "h100-sxm" in r.stderr  # the suggestion
    assert "Traceback" not in r.output


def test_hardware_file_is_repeatable_and_later_files_win(tmp_path):
    a = _user_file(
        tmp_path, "a.yaml", {"acme-x1": _chip(), "h100-sxm": _chip(name="H100 derated", memory_bandwidth_tb_per_s=3.0)}
    )
    b = _user_file(tmp_path, "b.yaml", {"acme-x1": _chip(memory_bandwidth_tb_per_s=2.5)})
    r = invoke("catalog", "hardware", "--json", "--hardware-file", a, "--hardware-file", b)
    assert r.exit_code == 0, r.output
    hw = json.loads(r.stdout)["hardware"]
    assert hw["acme-x1"]["memory_bandwidth_tb_per_s"] == 2.5
    assert hw["h100-sxm"]["name"] == "H100 derated"
    r = invoke("catalog", "hardware", "acme-x1", "--hardware-file", a)
    assert r.exit_code == 0 and "Acme X1" in r.output


def test_toml_hardware_file(tmp_path):
    p = tmp_path / "hw.toml"
    p.write_text(
        '[acme-t1]\nname = "Acme T1"\nvendor = "Acme"\nsource = "sheet"\nas_of = "2025-02"\n'
        "memory_capacity_gib = 32\nmemory_bandwidth_tb_per_s = 1.2\npeak_tflops = { bf16 = 250 }\n"
    )
    r = invoke("catalog", "hardware", "acme-t1", "--json", "--hardware-file", str(p))
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["peak_tflops"] == {"bf16": 250.0}


def test_bad_hardware_file_names_the_field(tmp_path):
    bad = _user_file(tmp_path, "bad.yaml", {"acme-bad": _chip(memory_bandwidth_tb_per_s=-3)})
    r = invoke("catalog", "hardware", "--hardware-file", bad)
    assert r.exit_code == 2
    assert "acme-bad.memory_bandwidth_tb_per_s" in r.stderr
    assert "Traceback" not in r.output
    r = invoke("catalog", "hardware", "--hardware-file", str(tmp_path / "missing.yaml"))
    assert r.exit_code == 2 and "file not found" in r.stderr


class _FakeModel:
    def __init__(self, key):
        self.key = key

    def to_dict(self):
        return {
            "key": self.key,
            "name": self.key.upper(),
            "family": "dense",
            "total_params_b": 8.03,
            "active_params_b": 8.03,
            "native_weights": "bf16",
            "max_position_embeddings": 131072,
        }


def test_models_command_uses_list_models(monkeypatch):
    import tokenfab.catalog.models

    monkeypatch.setattr(tokenfab.catalog.models, "list_models", lambda: [_FakeModel("m-one"), _FakeModel("m-two")])
    r = invoke("catalog", "models", "--json")
    assert r.exit_code == 0, r.output
    assert [m["key"] for m in json.loads(r.stdout)] == ["m-one", "m-two"]
    r = invoke("catalog", "models")
    assert r.exit_code == 0, r.output
    assert "m-two" in r.output and "131,072" in r.output


def test_models_command_without_a_models_module(monkeypatch):
    monkeypatch.setitem(
        sys.modules, "tokenfab.catalog.models", None
    )  # makes `import tokenfab.catalog.models` raise ImportError
    r = invoke("catalog", "models")
    assert r.exit_code == 2
    assert "model catalog is not available" in r.stderr


def test_catalog_engines_lists_where_each_engine_runs():
    """``tokenfab catalog engines`` (which the --engine help points to): every engine with the vendors it runs on,
    cited, and whether the committed calibration fitted it."""
    from tokenfab.catalog.engines import engine_keys

    r = invoke("catalog", "engines", "--json")
    assert r.exit_code == 0, r.output
    rows = {row["key"]: row for row in json.loads(r.stdout)}
    assert set(rows) == set(engine_keys())
    assert rows["trtllm"]["runs_on"] == ["NVIDIA"] and rows["atom"]["runs_on"] == ["AMD"]
    assert rows["generic"]["runs_on"] == ["any"] and rows["generic"]["parameters"].startswith("prior")
    assert rows["atom"]["parameters"] == "fitted" and rows["dynamo-trtllm"]["parameters"] == "prior from trtllm"
    assert all(row["runs_on_source"] for row in rows.values())
    r = invoke("catalog", "engines")
    assert r.exit_code == 0 and "runs on" in r.output and "TensorRT" in r.output


@pytest.mark.parametrize("what", ["hardware", "models"])
def test_list_at_80_columns_keeps_every_figure_whole(monkeypatch, what):
    """A narrow terminal hides the name column (and says so) instead of cutting figures over lines: a peak such as
    B200's 4,500 FP8 TFLOP/s printed as '4,' over '500' reads as two other numbers."""
    from tokenfab.catalog.hardware import catalog
    from tokenfab.catalog.models import list_models
    from tokenfab.cli import common

    monkeypatch.setattr(common.console, "_width", 80)
    r = invoke("catalog", what)
    assert r.exit_code == 0, r.output
    assert max(len(line) for line in r.output.splitlines()) <= 80
    if what == "hardware":
        for k, h in catalog().items():
            line = next(ln for ln in r.output.splitlines() if ln.split()[:1] == [k])
            fp8 = h.peak_tflops.get("fp8")
            if fp8:
                assert f"{fp8:,.0f}" in line or f"{fp8:,.4g}" in line, (k, line)
    else:
        for m in list_models():
            d = m.to_dict()
            line = next(ln for ln in r.output.splitlines() if ln.split()[:1] == [d["key"]])
            assert f"{d['max_position_embeddings']:,}" in line, line
    assert "hidden to fit 80 columns: name" in r.output
    r = invoke("catalog", what, "--wide")
    assert r.exit_code == 0 and "hidden to fit" not in r.output
    assert any(ln.split()[:2] == ["key", "name"] for ln in r.output.splitlines()), r.output


@pytest.mark.parametrize(
    "over, drop, field, text",
    [
        ({"memory_bandwith_tb_per_s": 2.0}, "memory_bandwidth_tb_per_s", "memory_bandwith_tb_per_s", "did you mean"),
        ({"memory_capacity_gib": True}, None, "memory_capacity_gib", "true/false is not a number"),  # was 1 GiB
        ({"cost_family": "hoper"}, None, "cost_family", "did you mean hopper"),  # was a family without data
    ],
)
def test_a_hardware_file_slip_is_named_not_absorbed(tmp_path, over, drop, field, text):
    chip = _chip(**over)
    if drop:
        chip.pop(drop)
    r = invoke("catalog", "hardware", "--hardware-file", _user_file(tmp_path, "c.yaml", {"acme-x1": chip}))
    assert r.exit_code == 2 and f"acme-x1.{field}" in r.output and text in r.output, r.output


def test_a_new_family_name_is_a_prior_not_a_typo(tmp_path):
    path = _user_file(tmp_path, "c.yaml", {"acme-x1": _chip(cost_family="acme-gen1")})
    assert invoke("catalog", "hardware", "acme-x1", "--hardware-file", path).exit_code == 0


def test_a_next_generation_family_name_is_not_a_typo(tmp_path):
    """cdna5 (after cdna4) and gaudi4 differ from known families in their digits only: new families, allowed."""
    for fam in ("cdna5", "gaudi4"):
        path = _user_file(tmp_path, f"{fam}.yaml", {"acme-x1": _chip(cost_family=fam)})
        assert invoke("catalog", "hardware", "acme-x1", "--hardware-file", path).exit_code == 0


def test_a_bundled_chip_redefined_by_a_file_is_named(tmp_path):
    """A hardware file that redefines a bundled key replaced it silently."""
    from tokenfab.perf.serving import estimate

    path = _user_file(tmp_path, "o.yaml", {"h100-sxm": _chip(name="My H100", peak_tflops={"bf16": 989.4})})
    e = estimate("llama-3.1-8b", "h100-sxm", gpus=1, concurrency=1, hardware_files=[path])
    assert any("h100-sxm is the definition in" in w and "replaces the bundled entry" in w for w in e.warnings)
    plain = estimate("llama-3.1-8b", "h100-sxm", gpus=1, concurrency=1)
    assert not any("replaces the bundled entry" in w for w in plain.warnings)
