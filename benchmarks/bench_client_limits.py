"""How much does tokenfab's benchmark client distort what it measures, and how fast can it go? Side by side with
``vllm bench serve`` where it is installed.

Two loopback servers with known timings, each in its own process:

* ``project``: tokenfab's mock (tokenfab.bench.mockserver, uvloop when installed);
* ``plain``: a minimal server written here on plain asyncio streams (no uvloop), so the figures do not depend on
  tokenfab's own server.

Measured:

1. TTFT error at concurrency 1, 8, 32, 64 with the server set to TTFT 200 ms and 20 ms per token (32-token outputs,
   one SSE event per token): measured mean / p99 TTFT minus 200 ms;
2. a near-zero-latency server (no delays, 8-token outputs) at concurrency 64: requests/s and mean TTFT;
3. open loop at 200, 1,000 and 2,000 req/s offered (Poisson, 4 s of arrivals each, near-zero-latency server):
   requests/s sustained, its error against the offered rate, failures and p99 schedule lag.

``vllm bench serve`` (found on PATH or with --vllm PATH) runs the same settings against the plain server with a
small local tokenizer made here (it needs one; nothing is downloaded). Without it, those columns are skipped and the
peer figures quoted in docs/bench.md come from issue 16's measurements on the same kind of machine.

Bounded: about 2 minutes without vLLM (each vLLM run adds ~20 s of its start-up), loopback only.
Run: python benchmarks/bench_client_limits.py [--json] [--vllm /path/to/vllm] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from tokenfab.bench import client, metrics
from tokenfab.bench.mockserver import MockConfig, MockServerProcess

TTFT_MS, ITL_MS, OSL = 200.0, 20.0, 32
CONCURRENCIES = (1, 8, 32, 64)
RATES = (200.0, 1000.0, 2000.0)


# ---- the plain asyncio mock -------------------------------------------------------------------------------------


async def _plain_handle(reader, writer, cfg):
    loop = asyncio.get_running_loop()
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            body = json.loads(await reader.readexactly(length)) if length else {}
            if head.startswith(b"GET"):
                payload = json.dumps({"data": [{"id": cfg["model"]}]}).encode()
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                    % (len(payload), payload)
                )
                continue
            t0 = loop.time()
            n = int(body.get("max_tokens") or 16)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
            for i in range(n):
                delay = t0 + (cfg["ttft_ms"] + i * cfg["itl_ms"]) / 1000 - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                fin = ',"finish_reason":"length"' if i == n - 1 else ',"finish_reason":null'
                ev = b'data: {"choices":[{"index":0,"text":" tok"%s}]}\n\n' % fin.encode()
                writer.write(b"%x\r\n%s\r\n" % (len(ev), ev))
            usage = json.dumps(
                {"choices": [], "usage": {"prompt_tokens": 16, "completion_tokens": n, "total_tokens": 16 + n}}
            ).encode()
            ev = b"data: " + usage + b"\n\ndata: [DONE]\n\n"
            writer.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(ev), ev))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, ValueError):
        pass
    finally:
        writer.close()


def serve_plain(cfg: dict) -> None:
    async def main():
        server = await asyncio.start_server(lambda r, w: _plain_handle(r, w, cfg), "127.0.0.1", 0, backlog=4096)
        print(f"MOCK_URL http://127.0.0.1:{server.sockets[0].getsockname()[1]}", flush=True)
        await asyncio.sleep(cfg.get("lifetime_s", 900))

    asyncio.run(main())


class PlainServer:
    def __init__(self, cfg: dict):
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--serve-plain", json.dumps(cfg)], stdout=subprocess.PIPE, text=True
        )
        self.url = self.proc.stdout.readline().split()[1]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait(5)


# ---- runs -------------------------------------------------------------------------------------------------------


def tokenfab_run(url: str, mode: str, level: float, n: int, osl: int, tmp: Path, workers: int = 1) -> dict:
    cfg = client.BenchConfig(
        url=url,
        model="mock",
        isl=16,
        osl=osl,
        mode=mode,
        levels=(level,),
        requests=n,
        timeout_s=30,
        seed=1,
        workers=workers,
    )
    out = tmp / f"tf-{mode}-{level:g}-{workers}-{time.monotonic_ns()}.jsonl"
    o = client.run_benchmark(cfg, out_path=out)
    s = metrics.summarize_level(o.records)
    sc = next(iter(o.selfcheck.values()))
    return {
        "completed": s["requests_ok"],
        "failed": s["requests_failed"],
        "mean_ttft_ms": s["ttft_ms_mean"],
        "p99_ttft_ms": s["ttft_ms_p99"],
        "request_throughput": s["request_throughput_per_s"],
        "schedule_lag_ms_p99": sc["schedule_lag_ms_p99"],
        "client_cpu_share_pct": sc["client_cpu_share_pct"],
    }


def _tiny_tokenizer(folder: Path) -> Path:
    from tokenizers import Tokenizer, models, pre_tokenizers

    vocab = {"[UNK]": 0, **{w: i + 1 for i, w in enumerate(["tok", "the", "and", "with", "data", "model"])}}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    folder.mkdir(parents=True, exist_ok=True)
    tok.save(str(folder / "tokenizer.json"))
    (folder / "tokenizer_config.json").write_text(
        json.dumps({"tokenizer_class": "PreTrainedTokenizerFast", "unk_token": "[UNK]", "model_max_length": 100000})
    )
    return folder


def vllm_run(
    vllm: str, url: str, tokdir: Path, *, concurrency: int | None, rate: float | None, n: int, osl: int, tmp: Path
) -> dict | None:
    name = f"v-{time.monotonic_ns()}.json"
    cmd = [
        vllm,
        "bench",
        "serve",
        "--backend",
        "openai",
        "--base-url",
        url,
        "--endpoint",
        "/v1/completions",
        "--model",
        "mock",
        "--tokenizer",
        str(tokdir),
        "--dataset-name",
        "random",
        "--random-input-len",
        "16",
        "--random-output-len",
        str(osl),
        "--num-prompts",
        str(n),
        "--ignore-eos",
        "--save-result",
        "--result-dir",
        str(tmp),
        "--result-filename",
        name,
        "--seed",
        "1",
        "--request-rate",
        "inf" if rate is None else str(rate),
    ]
    if concurrency is not None:
        cmd += ["--max-concurrency", str(concurrency)]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        return None
    f = tmp / name
    if p.returncode != 0 or not f.exists():
        sys.stderr.write(f"vllm bench serve failed ({p.returncode}): {p.stderr[-600:]}\n")
        return None
    d = json.loads(f.read_text())
    return {
        "completed": d.get("completed"),
        "failed": d.get("failed", n - (d.get("completed") or 0)),
        "mean_ttft_ms": d.get("mean_ttft_ms"),
        "p99_ttft_ms": d.get("p99_ttft_ms"),
        "request_throughput": d.get("request_throughput"),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--vllm", default=shutil.which("vllm"), help="path of the vllm command (default: on PATH)")
    ap.add_argument("--no-vllm", action="store_true")
    ap.add_argument("--quick", action="store_true", help="fewer requests (a smoke run)")
    ap.add_argument("--serve-plain", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.serve_plain:
        serve_plain(json.loads(a.serve_plain))
        return 0
    vllm = None if a.no_vllm else a.vllm
    t_start = time.perf_counter()
    res: dict = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "configured": {"ttft_ms": TTFT_MS, "itl_ms": ITL_MS, "osl": OSL},
        "vllm": vllm,
        "ttft_error": [],
        "near_zero": [],
        "open_loop": [],
    }
    scale = 0.25 if a.quick else 1.0
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        tokdir = _tiny_tokenizer(tmp / "tok") if vllm else None
        slow = {"model": "mock", "ttft_ms": TTFT_MS, "itl_ms": ITL_MS}
        fast = {"model": "mock", "ttft_ms": 0.0, "itl_ms": 0.0}
        with (
            MockServerProcess(MockConfig(ttft_ms=TTFT_MS, itl_ms=ITL_MS), max_lifetime_s=900) as proj,
            PlainServer(slow) as plain,
        ):
            for c in CONCURRENCIES:
                n = max(8, int(4 * c * scale))
                row = {"concurrency": c, "requests": n}
                for name, url in (("project", proj.url), ("plain", plain.url)):
                    r = tokenfab_run(url, "closed", c, n, OSL, tmp)
                    row[f"tokenfab_{name}"] = {
                        **r,
                        "ttft_error_ms": r["mean_ttft_ms"] - TTFT_MS,
                        "p99_ttft_error_ms": r["p99_ttft_ms"] - TTFT_MS,
                    }
                if vllm:
                    v = vllm_run(vllm, plain.url, tokdir, concurrency=c, rate=None, n=n, osl=OSL, tmp=tmp)
                    if v:
                        row["vllm_plain"] = {
                            **v,
                            "ttft_error_ms": v["mean_ttft_ms"] - TTFT_MS,
                            "p99_ttft_error_ms": v["p99_ttft_ms"] - TTFT_MS,
                        }
                res["ttft_error"].append(row)
        with MockServerProcess(MockConfig(), max_lifetime_s=900) as proj, PlainServer(fast) as plain:
            n = int(2000 * scale)
            row = {"concurrency": 64, "requests": n}
            for name, url in (("project", proj.url), ("plain", plain.url)):
                row[f"tokenfab_{name}"] = tokenfab_run(url, "closed", 64, n, 8, tmp)
            if vllm:
                row["vllm_plain"] = vllm_run(vllm, plain.url, tokdir, concurrency=64, rate=None, n=n, osl=8, tmp=tmp)
            res["near_zero"].append(row)
            for rate in RATES:
                n = int(rate * 4 * scale)
                row = {"offered_rate_per_s": rate, "requests": n}
                for name, url in (("project", proj.url), ("plain", plain.url)):
                    r = tokenfab_run(url, "open", rate, n, 8, tmp)
                    row[f"tokenfab_{name}"] = {**r, "rate_error_pct": 100 * ((r["request_throughput"] or 0) / rate - 1)}
                if rate >= 1000:
                    r = tokenfab_run(plain.url, "open", rate, n, 8, tmp, workers=2)
                    row["tokenfab_plain_2_workers"] = {
                        **r,
                        "rate_error_pct": 100 * ((r["request_throughput"] or 0) / rate - 1),
                    }
                if vllm:
                    v = vllm_run(vllm, plain.url, tokdir, concurrency=None, rate=rate, n=n, osl=8, tmp=tmp)
                    if v:
                        row["vllm_plain"] = {**v, "rate_error_pct": 100 * ((v["request_throughput"] or 0) / rate - 1)}
                res["open_loop"].append(row)
    res["wall_s"] = time.perf_counter() - t_start
    if a.json:
        print(json.dumps(res, indent=2))
        return 0
    _print(res)
    return 0


def _f(v, d=1):
    return "-" if v is None else f"{v:,.{d}f}"


def _print(res: dict) -> None:
    print(
        f"tokenfab bench client limits ({res['machine']['cpus']} CPUs, Python {res['machine']['python']}; client and "
        f"server share the CPUs); vllm bench serve: {res['vllm'] or 'not installed'}\n"
    )
    print(f"1) TTFT error, server TTFT {TTFT_MS:g} ms + {ITL_MS:g} ms/token, {OSL}-token outputs (mean / p99, ms)")
    cols = ("tokenfab_project", "tokenfab_plain", "vllm_plain")
    print(f"   {'conc':>4} " + " ".join(f"{c:>22}" for c in cols))
    for row in res["ttft_error"]:
        cells = []
        for c in cols:
            x = row.get(c)
            cells.append(f"{_f(x['ttft_error_ms']):>9} / {_f(x['p99_ttft_error_ms']):>8}" if x else f"{'-':>20}")
        print(f"   {row['concurrency']:>4} " + " ".join(f"{c:>22}" for c in cells))
    print("\n2) near-zero-latency server, concurrency 64, 8-token outputs (req/s, mean TTFT ms)")
    for row in res["near_zero"]:
        for c in cols:
            x = row.get(c)
            if x:
                print(
                    f"   {c:>18}: {_f(x['request_throughput'], 0):>7} req/s, mean TTFT {_f(x['mean_ttft_ms'])} ms, "
                    f"failed {x['failed']}"
                )
    print("\n3) open loop, near-zero-latency server, 8-token outputs, Poisson arrivals")
    for row in res["open_loop"]:
        for c in ("tokenfab_project", "tokenfab_plain", "tokenfab_plain_2_workers", "vllm_plain"):
            x = row.get(c)
            if x:
                extra = (
                    (
                        f", p99 schedule lag {_f(x.get('schedule_lag_ms_p99'), 2)} ms, client CPU "
                        f"{_f(x.get('client_cpu_share_pct'), 0)}%"
                    )
                    if "schedule_lag_ms_p99" in x
                    else ""
                )
                print(
                    f"   {row['offered_rate_per_s']:>6g}/s {c:>24}: {_f(x['request_throughput'], 0):>6} req/s "
                    f"({x['rate_error_pct']:+.1f}%), {x['completed']} ok, {x['failed']} failed{extra}"
                )
    print(f"\n({res['wall_s']:.0f} s)")


if __name__ == "__main__":
    sys.exit(main())
