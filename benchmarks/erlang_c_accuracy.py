"""Accuracy of tokenfab.perf.queueing.erlang_c's closed form (c > ERLANG_EXACT_MAX_SERVERS) against mpmath at 40
digits: Erlang-B = Poisson pmf(c; a) / P(Poisson(a) <= c), the CDF as mpmath's regularized upper incomplete gamma.

    pip install mpmath && python benchmarks/erlang_c_accuracy.py

Prints the relative error per (servers, utilization) and the worst one (3.6e-11 when it was written, at c = 1e12)."""

from __future__ import annotations

import time

from tokenfab.perf.queueing import erlang_c


def main() -> None:
    import mpmath as mp

    mp.mp.dps = 40
    worst = 0.0
    for c in (1025.0, 1e4, 1e6, 1e9, 1e12):
        for rho in (0.5, 0.9, 0.999, 0.999999, 1 - 1e-9) if c < 1e8 else (0.9999, 0.999999, 1 - 1e-9):
            t0 = time.perf_counter()
            got = erlang_c(c, c * rho)
            dt = time.perf_counter() - t0
            cc = mp.mpf(c)
            a = cc * mp.mpf(rho)
            q = mp.gammainc(cc + 1, a, mp.inf, regularized=True)
            b = mp.exp(-a + cc * mp.log(a) - mp.loggamma(cc + 1)) / q
            ref = float(b / (1 - (a / cc) * (1 - b)))
            rel = abs(got - ref) / ref if ref > 1e-300 else abs(got - ref)
            worst = max(worst, rel)
            print(
                f"c={c:9.3g} rho={rho:<12.10g} erlang_c={got:.12g} mpmath={ref:.12g} rel.err={rel:.2e} "
                f"({dt * 1e3:.2f} ms)"
            )
    print(f"worst relative error {worst:.2e}")
    assert worst < 1e-9, worst


if __name__ == "__main__":
    main()
