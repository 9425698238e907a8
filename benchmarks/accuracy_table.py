"""The README's accuracy table, generated from the committed calibration profile (never typed by hand).

    python benchmarks/accuracy_table.py            # print the Markdown table
    python benchmarks/accuracy_table.py --write    # replace the table between the markers in README.md and
                                                   # docs/performance-model.md

The table shows, per vendor and metric class, the in-sample error beside the two out-of-sample errors that
benchmarks/calibrate.py stores in src/tokenfab/data/calibration.json (``meta.in_sample`` and
``meta.cross_validation``): leave-one-source-out (a whole published source unseen: its hardware family or engine
may have no other data, so this is the "new deployment" figure) and leave-one-model-out (a model unseen on known
hardware and engines), and the out-of-sample coverage of the p10-p90 bands. tests/test_accuracy_table.py checks the
README and docs/performance-model.md hold exactly this output.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROFILE = ROOT / "src" / "tokenfab" / "data" / "calibration.json"
README = ROOT / "README.md"
TARGET_FILES = (README, ROOT / "docs" / "performance-model.md")  # each holds the table between the markers
BEGIN = "<!-- accuracy-table:begin (python benchmarks/accuracy_table.py --write) -->"
END = "<!-- accuracy-table:end -->"
METRICS = (("throughput", "throughput per GPU"), ("tpot", "TPOT / ITL"), ("ttft", "TTFT"))


def _cell(s: dict | None) -> str:
    if not s or not s.get("n"):
        return "-"
    return f"{s['median_ape_pct']:.1f}% ({s['bias_pct']:+.0f}%)"


def table(profile: dict) -> str:
    meta = profile.get("meta") or {}
    ins = (meta.get("in_sample") or {}).get("by_vendor_metric", {})
    cv = meta.get("cross_validation") or {}
    loso = (cv.get("source") or {}).get("by_vendor_metric", {})
    lomo = (cv.get("model") or {}).get("by_vendor_metric", {})
    lines = [
        "| vendor | metric | rows | in sample | leave-one-model-out | leave-one-source-out |",
        "|---|---|---|---|---|---|",
    ]
    vendors = sorted({k.split(":")[0] for k in ins} | {k.split(":")[0] for k in loso})
    for v in vendors:
        for key, label in METRICS:
            k = f"{v}:{key}"
            n = (loso.get(k) or ins.get(k) or {}).get("n", 0)
            if not n:
                continue
            lines.append(f"| {v} | {label} | {n} | {_cell(ins.get(k))} | {_cell(lomo.get(k))} | {_cell(loso.get(k))} |")
    cov = (profile.get("uncertainty") or {}).get("coverage") or {}
    foot = (
        "\nCells: median absolute percentage error (signed bias: median predicted / measured - 1; + = the model "
        f"predicts more than measured). Fitted {meta.get('date', '?')} on {meta.get('rows_used', '?')} rows."
    )
    if cov:
        per = ", ".join(f"{k} {v:.0%}" for k, v in sorted((cov.get("by_metric") or {}).items()))
        foot += (
            f" Out-of-sample coverage of the p10-p90 bands: {cov['inside_p10_p90']:.0%} of {cov['rows']} held-out "
            f"rows ({per}; the target is 70-90%)."
        )
        by_group = cov.get("by_vendor_metric") or {}
        if by_group:
            foot += " By vendor and metric: " + ", ".join(f"{k} {v:.0%}" for k, v in sorted(by_group.items())) + "."
    return "\n".join(lines) + "\n" + foot


def block(profile: dict) -> str:
    return f"{BEGIN}\n{table(profile)}\n{END}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--write",
        action="store_true",
        help="replace the table between the markers in README.md and docs/performance-model.md",
    )
    ap.add_argument("--profile", default=str(PROFILE))
    a = ap.parse_args(argv)
    prof = json.loads(Path(a.profile).read_text(encoding="utf-8"))
    out = block(prof)
    if not a.write:
        print(out)
        return 0
    for path in TARGET_FILES:
        text = path.read_text(encoding="utf-8")
        if BEGIN not in text or END not in text:
            print(f"{path.name} has no {BEGIN!r} ... {END!r} markers", file=sys.stderr)
            return 1
        head, rest = text.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        path.write_text(head + out + tail, encoding="utf-8")
        print(f"{path.relative_to(ROOT)}: accuracy table updated")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
