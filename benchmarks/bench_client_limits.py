"""How fast can tokenfab's benchmark client go on this machine, and how accurate are its timings near that limit?

Drives the local mock server (tokenfab.bench.mockserver, a subprocess on 127.0.0.1) with the real client
(tokenfab.bench.client, closed loop, duration-bounded levels):

1. requests/s: 1-token outputs, zero server delays, rising concurrency -> the most requests/s the client completes;
2. streamed tokens/s: 512-token outputs, zero delays -> the most output chunks (tokens) per second it parses;
3. timing error under load: the server configured with TTFT 50 ms and 10 ms between tokens (each token its own
   network write, as a real server streams), concurrency raised so the offered token rate goes from 2,500 to 20,000
   tokens/s; measured TTFT and TPOT vs the configured values, and tokens/s got vs offered.

Output lengths in (3) are uniform in [32, 64] tokens. With identical lengths every request of a level finishes in the
same instant and the next ones go out as one burst; the client spends ~0.5 ms of CPU sending each request, so the
last of a burst of c waits ~c x 0.5 ms, which shows up as TTFT (e.g. +40 ms at c = 64). Real servers rarely finish
requests in lockstep; the uniform lengths keep the sends spread as they would be.

Client and server share this machine's cores, so the limits are a lower bound for the client alone. A measurement is
trustworthy while the server under test streams well below the limit of (2) and the timing error of (3) at that
load is small against the latencies being measured.

Bounded: about 30 s in all (--level-s per level, 12 levels), loopback only. Run: python benchmarks/bench_client_limits.py
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from tokenfab.bench import client, metrics  # noqa: E402
from tokenfab.bench.mockserver import MockConfig, MockServerProcess  # noqa: E402
from tokenfab.bench.report import build_runs  # noqa: E402

TTFT_MS, ITL_MS = 50.0, 10.0


def sweep(srv: MockServerProcess, mock: dict, isl: int, osl: int, levels, level_s: float, tmp: Path, tag: str,
          length_dist: str = "fixed") -> list[dict]:
    srv.configure(mock)
    cfg = client.BenchConfig(url=srv.url, model="mock", isl=isl, osl=osl, levels=tuple(levels), duration_s=level_s,
                             warmup=min(levels), timeout_s=30, seed=1, length_dist=length_dist)
    outcome = client.run_benchmark(cfg, out_path=tmp / f"{tag}.jsonl")
    return build_runs(outcome.records)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--level-s", type=float, default=2.0, help="seconds per level")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    out: dict = {"machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
                 "configured": {"ttft_ms": TTFT_MS, "itl_ms": ITL_MS}, "definitions": metrics.DEFINITIONS}
    with tempfile.TemporaryDirectory() as d, MockServerProcess(MockConfig(), max_lifetime_s=120) as srv:
        tmp = Path(d)
        req = sweep(srv, {}, 16, 1, (1, 8, 32, 128), a.level_s, tmp, "req")
        tok = sweep(srv, {}, 16, 512, (1, 8, 32), a.level_s, tmp, "tok")
        max_tok = max(r["output_tokens_per_s"] or 0 for r in tok)
        per_stream = 1000.0 / ITL_MS  # tokens/s one stream offers once it is past its TTFT
        concs = (25, 50, 100, 200)
        lat = sweep(srv, {"ttft_ms": TTFT_MS, "itl_ms": ITL_MS}, 16, 64, concs, a.level_s, tmp, "lat", "uniform:0.5")
    out["requests_per_s"] = [{"concurrency": r["concurrency"], "requests_per_s": r["request_throughput_per_s"],
                              "failed": r["requests_failed"]} for r in req]
    out["tokens_per_s"] = [{"concurrency": r["concurrency"], "output_tokens_per_s": r["output_tokens_per_s"],
                            "failed": r["requests_failed"]} for r in tok]
    out["timing_error"] = [{
        "concurrency": r["concurrency"],
        "offered_tokens_per_s": r["concurrency"] * per_stream,
        "output_tokens_per_s": r["output_tokens_per_s"],
        "ttft_ms_p50": r["ttft_ms_p50"], "ttft_ms_p99": r["ttft_ms_p99"],
        "ttft_error_ms_p50": r["ttft_ms_p50"] - TTFT_MS, "ttft_error_ms_p99": r["ttft_ms_p99"] - TTFT_MS,
        "tpot_ms_p50": r["tpot_ms_p50"], "tpot_ms_p99": r["tpot_ms_p99"],
        "tpot_error_pct_p50": 100 * (r["tpot_ms_p50"] / ITL_MS - 1), "tpot_error_pct_p99": 100 * (r["tpot_ms_p99"] / ITL_MS - 1),
        "itl_ms_p99": r["itl_ms_p99"], "failed": r["requests_failed"]} for r in lat]
    out["max_requests_per_s"] = max(x["requests_per_s"] or 0 for x in out["requests_per_s"])
    out["max_output_tokens_per_s_coalesced"] = max_tok
    out["max_output_tokens_per_s_one_write_per_token"] = max(x["output_tokens_per_s"] or 0 for x in out["timing_error"])
    out["wall_s"] = time.perf_counter() - t0
    if a.json:
        print(json.dumps(out, indent=2))
        return 0
    print(f"tokenfab bench client limits ({out['machine']['cpus']} CPUs, Python {out['machine']['python']}; "
          f"client and mock server share the CPUs)\n")
    print("1) requests/s, 1-token outputs, zero server delay")
    print(f"   {'concurrency':>11} {'req/s':>9} {'failed':>6}")
    for x in out["requests_per_s"]:
        print(f"   {x['concurrency']:>11} {x['requests_per_s']:>9.0f} {x['failed']:>6}")
    print("\n2) streamed tokens/s, 512-token outputs, one token per SSE event, zero server delay (the server's writes")
    print("   coalesce, so the client parses many events per network read: an upper bound)")
    print(f"   {'concurrency':>11} {'tokens/s':>9} {'failed':>6}")
    for x in out["tokens_per_s"]:
        print(f"   {x['concurrency']:>11} {x['output_tokens_per_s']:>9.0f} {x['failed']:>6}")
    print(f"\n3) timing error, server set to TTFT {TTFT_MS:g} ms and {ITL_MS:g} ms between tokens, outputs of 32-64 tokens;")
    print("   offered tok/s = concurrency x 100 tok/s per stream (less while a stream waits for its first token)")
    print(f"   {'conc':>5} {'offered tok/s':>13} {'got tok/s':>9} {'TTFT p50':>9} {'TTFT p99':>9} {'TPOT p50':>9} "
          f"{'TPOT p99':>9} {'ITL p99':>8} {'failed':>6}")
    for x in out["timing_error"]:
        print(f"   {x['concurrency']:>5} {x['offered_tokens_per_s']:>13.0f} {x['output_tokens_per_s']:>9.0f} "
              f"{x['ttft_ms_p50']:>9.1f} {x['ttft_ms_p99']:>9.1f} {x['tpot_ms_p50']:>9.2f} {x['tpot_ms_p99']:>9.2f} "
              f"{x['itl_ms_p99']:>8.2f} {x['failed']:>6}")
    print(f"\nmax: {out['max_requests_per_s']:.0f} requests/s; {max_tok:.0f} tokens/s coalesced, "
          f"{out['max_output_tokens_per_s_one_write_per_token']:.0f} tokens/s with one write per token; "
          f"TTFT error = measured - {TTFT_MS:g} ms, TPOT error = measured / {ITL_MS:g} ms - 1.  ({out['wall_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
