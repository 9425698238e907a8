"""The vLLM-named summary, percentile SLOs, warm-up/cool-down exclusion, usage-vs-chunks, per-second peaks and the
client self-check: hand-checked values and Hypothesis laws. Definitions: vllm/benchmarks/serve.py calculate_metrics
(TPOT over requests with > 1 output token; ITL pooled; throughput over the benchmark duration; goodput = requests
meeting every SLO / duration; std is numpy.std; percentiles numpy.percentile)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from test_bench_metrics import rec as _rec  # the record builder the metric tests share
from tokenfab.bench import metrics, records
from tokenfab.core.errors import TokenfabError


def rec(chunks=None, src="usage", **kw):
    r = _rec(token_count_source=src, **kw)
    r["chunks"] = r["output_tokens"] if chunks is None else chunks
    return r


def test_vllm_fields_hand_checked():
    recs = [
        rec(ttft=100, e2el=1000, out=10, inp=50, itl=[100.0] * 9, t0=0, t1=2),
        rec(ttft=300, e2el=600, out=4, inp=70, itl=[100.0] * 3, t0=1, t1=4),
        rec(status="error", ttft=None, e2el=None, out=0, t0=1, t1=1.5),
    ]
    v = metrics.summarize_level(recs, metrics.parse_slo("ttft:200"))["vllm"]
    assert v["duration"] == pytest.approx(4.0) and v["completed"] == 2 and v["failed"] == 1
    assert v["total_input_tokens"] == 120 and v["total_output_tokens"] == 14
    assert v["request_throughput"] == pytest.approx(0.5) and v["output_throughput"] == pytest.approx(3.5)
    assert v["total_token_throughput"] == pytest.approx(134 / 4)
    assert v["mean_ttft_ms"] == pytest.approx(200) and v["median_ttft_ms"] == pytest.approx(200)
    assert v["std_ttft_ms"] == pytest.approx(100)  # population std of 100 and 300
    assert v["mean_tpot_ms"] == pytest.approx(100) and v["p99_itl_ms"] == pytest.approx(100)
    assert v["request_goodput"] == pytest.approx(1 / 4)  # only the first meets TTFT <= 200
    assert v["p99_ttft_ms"] == pytest.approx(100 + 0.99 * 200)


def test_percentile_slos():
    s = metrics.parse_slo("ttft_ms:90:150,tpot_ms:50:120")
    assert dict(s) == {"ttft": 150.0, "tpot": 120.0} and s.percentiles == {"ttft": 90.0, "tpot": 50.0}
    recs = [rec(ttft=t, e2el=t + 900, out=10) for t in (100, 110, 120, 130, 140, 150, 160, 170, 180, 190)]
    g = metrics.goodput(recs, s, 1.0)
    assert g["percentile_slos"]["ttft"]["share_meeting"] == pytest.approx(0.6)
    assert not g["percentile_slos"]["ttft"]["met"] and g["percentile_slos"]["tpot"]["met"]
    assert g["slo_passed"] is False
    assert metrics.goodput(recs, metrics.parse_slo("ttft_ms:50:150"), 1.0)["slo_passed"] is True
    assert metrics.parse_slo("ttft:200").percentiles == {}


@pytest.mark.parametrize(
    "bad",
    [
        "ttft_ms:101:5",
        "ttft_ms:0:5",
        "ttft_ms:99:inf",
        "ttft:1,ttft:2",
        "ttft_ms:a:5",
        "itl_ms:99:5",
        "ttft_ms:99:5:1",
        "x" * 2000,
    ],
)
def test_bad_slo_strings(bad):
    with pytest.raises(TokenfabError, match="--slo"):
        metrics.parse_slo(bad)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=60))
def test_slo_fuzz_never_crashes(text):
    try:
        s = metrics.parse_slo(text)
    except TokenfabError:
        return
    assert all(v > 0 for v in s.values()) and all(0 < p <= 100 for p in s.percentiles.values())


def test_steady_state_by_count_and_time():
    recs = [rec(t0=float(i), t1=float(i) + 0.5) for i in range(10)]
    kept, w, c = metrics.steady_state(recs, ("n", 2), ("n", 3))
    assert (w, c) == (2, 3) and sorted(r["t_start"] for r in kept) == [2, 3, 4, 5, 6]
    kept, w, c = metrics.steady_state(recs, ("s", 2.5), ("s", 1.0))
    assert (w, c) == (3, 1)  # started before 2.5 s; ended after 9.5 - 1.0 = 8.5 s
    s = metrics.summarize_level(recs, warmup=("n", 2), cooldown=("n", 3))
    assert s["requests"] == 5 and s["excluded"] == {"warmup": 2, "cooldown": 3, "of": 10}
    assert metrics.parse_exclusion("30s", "--exclude-warmup") == ("s", 30.0)
    assert metrics.parse_exclusion("20", "--exclude-warmup") == ("n", 20.0)
    assert metrics.parse_exclusion("0", "--exclude-warmup") is None
    for bad in ("-1", "abc", "1.5", "nans", "1e9s"):
        with pytest.raises(TokenfabError, match="--exclude-warmup"):
            metrics.parse_exclusion(bad, "--exclude-warmup")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 100), min_size=1, max_size=30), st.integers(0, 40), st.integers(0, 40))
def test_steady_state_partitions_the_records(starts, nw, nc):
    recs = [rec(t0=t, t1=t + 1) for t in starts]
    kept, w, c = metrics.steady_state(recs, ("n", nw) if nw else None, ("n", nc) if nc else None)
    assert len(kept) + w + c == len(recs) and w == min(nw, len(recs))


def test_usage_vs_chunks_and_the_chunk_warning():
    four_per_chunk = [rec(out=40, chunks=10), rec(out=20, chunks=5)]
    u = metrics.usage_vs_chunks(four_per_chunk)
    assert u["tokens_per_chunk"] == pytest.approx(4.0) and u["difference_pct"] == pytest.approx(-75.0)
    s = metrics.summarize_level(four_per_chunk)
    assert any("4.00 tokens per chunk" in w for w in s["warnings"])
    s = metrics.summarize_level([rec(out=10, src="chunks")])
    assert s["token_counts_from_chunks"] == 1 and any("--tokenizer" in w for w in s["warnings"])
    assert metrics.summarize_level([rec()])["warnings"] == []


def test_per_second_peaks():
    # two requests: 10 tokens between 0.05 and 0.95 s, 4 tokens between 1.3 and 1.6 s (20 usage tokens: 5 a chunk)
    a = rec(ttft=50, itl=[100.0] * 9, out=10, t0=0.0, t1=1.0)
    b = rec(ttft=300, itl=[100.0] * 3, out=20, t0=1.0, t1=1.6)
    tok, conc = metrics.per_second_peaks([a, b])
    assert tok == pytest.approx(20)  # the second second holds b's 20 tokens; the first a's 10
    assert conc == 2  # both in flight during the second second


def test_client_selfcheck_flags_a_busy_client():
    ok = metrics.client_selfcheck(cpu_share=0.2, loop_lag_ms=[0.5] * 100, schedule_lag_ms=[0.3] * 50, mode="open")
    assert not ok["client_bound"] and ok["warning"] is None and ok["schedule_lag_ms_p50"] == pytest.approx(0.3)
    bad = metrics.client_selfcheck(cpu_share=0.95, loop_lag_ms=[30.0] * 100, schedule_lag_ms=[50.0] * 50, mode="open")
    assert bad["client_bound"] and "the client, not the server" in bad["warning"] and "--workers" in bad["warning"]


def test_hostile_records_do_not_crash_the_summary():
    lines = [
        '{"request_id": "a", "status": "ok", "ttft_ms": "fast", "itl_ms": [1, "x", null, 1e400], '
        '"output_tokens": -3, "t_start": "now", "rate": -1}',
        '{"request_id": 5}',
        '{"request_id": "b", "status": "ok", "ttft_ms": 10, "e2el_ms": 20, '
        '"output_tokens": 2, "input_tokens": 1, "t_start": 0, "t_end": 1, "itl_ms": [10]}',
        "[" * 100000,
    ]
    recs, bad = records.parse_records(lines)
    assert [r["request_id"] for r in recs] == ["a", "b"] and bad == 2
    assert recs[0]["ttft_ms"] is None and recs[0]["itl_ms"] == [1] and recs[0]["output_tokens"] is None
    s = metrics.summarize_level(recs)
    assert s["requests_ok"] == 2 and s["ttft_ms_p50"] == pytest.approx(10)
