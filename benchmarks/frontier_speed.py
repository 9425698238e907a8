"""Speed of the design-space search: a full frontier for one model across 10 hardware types.

    PYTHONPATH=src python benchmarks/frontier_speed.py [--model llama-3.1-70b] [--weights fp8] [--repeats 5]

Runs tokenfab.search.frontier (aggregated + disaggregated, every GPU count, layout and concurrency of the sweep,
costs, tiers, the JSON result) and prints the configurations evaluated, the wall time of the first call in the
process (data files, calibration and TCO presets loaded) and of warm repeats, and configurations per second.
The budget is 2 s on a 2-core machine for import + first call; exit status 1 if it is exceeded. ``--cli`` also
times the whole ``tokenfab frontier --json`` command in a new process.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

# the ten hardware types the bundled TCO presets can price (owned-neocloud)
HARDWARE = (
    "h100-sxm",
    "h200-sxm",
    "b200",
    "b300",
    "gb200-nvl72",
    "gb300-nvl72",
    "mi300x",
    "mi325x",
    "mi355x",
    "gaudi3",
)
BUDGET_S = 2.0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="llama-3.1-70b")
    ap.add_argument("--weights", default="fp8")
    ap.add_argument("--isl", type=int, default=1024)
    ap.add_argument("--osl", type=int, default=1024)
    ap.add_argument("--hardware", default=",".join(HARDWARE))
    ap.add_argument("--mode", default="both")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--cli", action="store_true", help="also time the `tokenfab frontier --json` command end to end")
    a = ap.parse_args(argv)

    t_import = time.perf_counter()
    from tokenfab import search  # noqa: E402

    t_import = time.perf_counter() - t_import

    def run():
        t0 = time.perf_counter()
        res = search.frontier(a.model, a.hardware, isl=a.isl, osl=a.osl, weights=a.weights, mode=a.mode)
        d = res.to_dict()
        return time.perf_counter() - t0, res, d

    first, res, d = run()
    warm = [run()[0] for _ in range(max(0, a.repeats))]
    n = res.sweep.evaluated
    print(
        f"model {a.model} ({a.weights}), ISL {a.isl} / OSL {a.osl}, mode {a.mode}, "
        f"{len(res.sweep.hardware)} hardware types: {', '.join(h.key for h in res.sweep.hardware)}"
    )
    print(f"machine: {os.cpu_count()} CPU cores, Python {sys.version.split()[0]}")
    print(f"configurations evaluated: {n:,} (frontier points kept: {len(d['points'])})")
    print(f"import tokenfab.search: {t_import:.3f} s")
    print(f"first call (loads data, calibration, TCO): {first:.3f} s  -> {n / first:,.0f} configurations/s")
    if warm:
        med = statistics.median(warm)
        print(f"warm calls (median of {len(warm)}): {med:.3f} s  -> {n / med:,.0f} configurations/s")
    cold = t_import + first
    print(f"import + first call (a fresh process): {cold:.3f} s")
    if a.cli:
        import subprocess

        cmd = [
            sys.executable,
            "-m",
            "tokenfab.cli.main",
            "frontier",
            "--model",
            a.model,
            "--hardware",
            a.hardware,
            "--isl",
            str(a.isl),
            "--osl",
            str(a.osl),
            "--weights",
            a.weights,
            "--mode",
            a.mode,
            "--json",
        ]
        t0 = time.perf_counter()
        subprocess.run(
            cmd,
            check=True,
            stdout=subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")},
        )
        print(f"`tokenfab frontier ... --json` end to end (new process, all imports): {time.perf_counter() - t0:.3f} s")
    ok = cold <= BUDGET_S
    print(f"budget {BUDGET_S:.1f} s (import + first call): {'met' if ok else 'EXCEEDED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
