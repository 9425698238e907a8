"""plan, report and prices --plan on hardware a user defines in a --hardware-file: the scenario may name it, and
the sweeps, the TCO and the report use it."""

import json
from pathlib import Path

import yaml

from _cli import invoke
from tokenfab.catalog.hardware import get_hardware

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "consumer_chat.yaml"


def _hw_file(tmp_path) -> str:
    """``acme-h100``: the catalog's H100 SXM (with its prices and power) under a new key."""
    spec = get_hardware("h100-sxm").model_dump(exclude_none=True)
    for k in ("key", "sources", "aliases", "notes"):
        spec.pop(k, None)
    spec.update(name="Acme H100 (user file)", source="unit test: a copy of the catalog's h100-sxm", as_of="2026-12")
    p = tmp_path / "hw.yaml"
    p.write_text(yaml.safe_dump({"acme-h100": spec}), encoding="utf-8")
    return str(p)


def test_plan_and_report_on_user_hardware(tmp_path):
    hw = _hw_file(tmp_path)
    base = ["--months", "3", "-H", "acme-h100,h100-sxm"]
    r = invoke("plan", str(EXAMPLE), *base, "--hardware-file", hw, "--json")
    assert r.exit_code == 0, r.output
    plans = {h["hardware"]: h for h in json.loads(r.stdout)["hardware"]}
    assert set(plans) == {"acme-h100", "h100-sxm"}
    a, b = plans["acme-h100"], plans["h100-sxm"]
    assert a["feasible"] and b["feasible"]
    # the same chip under another key: the same fleet, and the same cost up to the h100-sxm's own fitted parameters
    # (the copy uses its family's)
    assert a["totals"]["peak_gpus"] == b["totals"]["peak_gpus"]
    assert abs(a["totals"]["cost_usd"] / b["totals"]["cost_usd"] - 1) < 0.05
    out = tmp_path / "r.html"
    r = invoke("report", str(EXAMPLE), *base, "--hardware-file", hw, "-o", str(out), "--quiet")
    assert r.exit_code == 0, r.output
    assert "acme-h100" in out.read_text(encoding="utf-8")


def test_without_the_file_the_key_is_refused_clearly(tmp_path):
    r = invoke("plan", str(EXAMPLE), "--months", "3", "-H", "acme-h100", "--json")
    assert r.exit_code == 2 and "acme-h100" in r.stderr and "Traceback" not in r.output


def test_a_bad_hardware_file_names_the_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("acme-bad: {name: x}\n", encoding="utf-8")
    r = invoke("plan", str(EXAMPLE), "--months", "3", "--hardware-file", str(bad), "--json")
    assert r.exit_code == 2 and "bad.yaml" in r.stderr and "Traceback" not in r.output


def test_prices_at_a_plan_on_user_hardware(tmp_path):
    hw = _hw_file(tmp_path)
    r = invoke(
        "prices", "--plan", str(EXAMPLE), "--plan-months", "3", "-H", "acme-h100", "--hardware-file", hw, "--json"
    )
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["hardware"] == ["acme-h100"] and "acme-h100" in d["operating_points"]


def test_an_unknown_key_in_the_scenarios_hardware_list_names_the_scenario_field(tmp_path):
    """The scenario's own ``hardware:`` list is a key path with a line, not the --hardware flag."""
    text = EXAMPLE.read_text(encoding="utf-8")
    lines = [("hardware: [acme-nope]" if x.startswith("hardware:") else x) for x in text.splitlines()]
    sc = tmp_path / "sc.yaml"
    sc.write_text("\n".join(lines) + "\n", encoding="utf-8")
    r = invoke("plan", str(sc), "--months", "2", "--json")
    assert r.exit_code == 2 and "hardware[0]" in r.stderr and "--hardware" not in r.stderr and "line " in r.stderr
