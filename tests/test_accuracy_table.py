"""The README's accuracy table is the one benchmarks/accuracy_table.py generates from the committed calibration
profile (so the quoted out-of-sample errors cannot drift from the fitted parameters)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _module():
    spec = importlib.util.spec_from_file_location("accuracy_table", ROOT / "benchmarks" / "accuracy_table.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_readme_accuracy_table_is_current():
    mod = _module()
    prof = json.loads((ROOT / "src" / "tokenfab" / "data" / "calibration.json").read_text(encoding="utf-8"))
    for path in mod.TARGET_FILES:
        text = path.read_text(encoding="utf-8")
        assert mod.block(prof) in text, f"{path.name}: run `python benchmarks/accuracy_table.py --write`"


def test_table_quotes_out_of_sample_columns():
    mod = _module()
    prof = json.loads((ROOT / "src" / "tokenfab" / "data" / "calibration.json").read_text(encoding="utf-8"))
    text = mod.table(prof)
    assert "leave-one-source-out" in text and "leave-one-model-out" in text
    # every vendor/metric row of the committed cross-validation appears with its row count
    loso = prof["meta"]["cross_validation"]["source"]["by_vendor_metric"]
    for key, s in loso.items():
        vendor, _, metric = key.partition(":")
        if metric in ("throughput", "tpot", "ttft") and s.get("n"):
            assert f"| {vendor} |" in text and f"| {s['n']} |" in text


def test_table_changes_with_the_profile():
    mod = _module()
    prof = json.loads((ROOT / "src" / "tokenfab" / "data" / "calibration.json").read_text(encoding="utf-8"))
    before = mod.table(prof)
    key = next(iter(prof["meta"]["cross_validation"]["source"]["by_vendor_metric"]))
    prof["meta"]["cross_validation"]["source"]["by_vendor_metric"][key]["median_ape_pct"] += 10.0
    assert mod.table(prof) != before
