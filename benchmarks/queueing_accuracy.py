"""Accuracy of the analytic M/D/c prefill-queue tail (tokenfab.perf.queueing) against its discrete-event simulation.

    PYTHONPATH=src python benchmarks/queueing_accuracy.py [--requests 200000] [--seed 1]

For each number of servers c and utilization rho: the p50 / p90 / p99 of the response time (wait + service, the part
of TTFT that queueing spreads) from the approximation and from a seeded simulation of Poisson arrivals with
deterministic service, their relative error, and the largest gap between the two wait CDFs (Kolmogorov distance).
The numbers are quoted in docs/search.md; tests/test_queueing.py asserts the tolerance on a subset.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from tokenfab.perf import queueing as Q  # noqa: E402

SERVERS = (1, 2, 4, 8, 16)
UTILIZATIONS = (0.3, 0.5, 0.7, 0.85, 0.9, 0.95)
QUANTILES = (0.5, 0.9, 0.99)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args(argv)
    service = 1.0
    print("| servers | rho | p50 err | p90 err | p99 err | KS distance |")
    print("|---:|---:|---:|---:|---:|---:|")
    worst = {q: 0.0 for q in QUANTILES}
    worst_ks = 0.0
    for c in SERVERS:
        for rho in UTILIZATIONS:
            lam = rho * c / service
            waits = np.sort(Q.simulate_mdc(lam, service, c, n_requests=a.requests, seed=a.seed))
            errs = []
            for q in QUANTILES:
                sim = np.quantile(waits, q) + service
                ana = Q.mdc_wait_quantile_s(q, lam, service, c) + service
                e = ana / sim - 1.0
                errs.append(e)
                worst[q] = max(worst[q], abs(e))
            ts = np.linspace(0.0, np.quantile(waits, 0.999), 400)
            emp = np.searchsorted(waits, ts, side="right") / waits.size
            ks = float(np.max(np.abs(emp - Q.mdc_wait_cdf(ts, lam, service, c))))
            worst_ks = max(worst_ks, ks)
            print(f"| {c} | {rho:.2f} | {errs[0]:+.1%} | {errs[1]:+.1%} | {errs[2]:+.1%} | {ks:.3f} |")
    print()
    print(
        "worst |relative error| of the response time: "
        + ", ".join(f"p{q * 100:g} {worst[q]:.1%}" for q in QUANTILES)
        + f"; worst KS distance of the wait CDF {worst_ks:.3f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
