"""Hand-checked metric functions of the harness (definitions: docs/metrics.md), records, prompts,
arrival processes, energy arithmetic and the report hooks. No server needed."""

from __future__ import annotations

import json
import math
import random
import sys
import types

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokenfab.bench import client, energy, metrics, prompts, records, report, schedule
from tokenfab.core.errors import TokenfabError


def rec(status="ok", ttft=100.0, e2el=1000.0, out=10, inp=50, itl=None, t0=0.0, t1=1.0, session="s", **kw):
    r = {
        "status": status,
        "ttft_ms": ttft,
        "e2el_ms": e2el,
        "output_tokens": out,
        "input_tokens": inp,
        "tpot_ms": metrics.tpot_ms(ttft, e2el, out) if status == "ok" else None,
        "itl_ms": itl or [],
        "t_start": t0,
        "t_end": t1,
        "session_id": session,
        "token_count_source": "usage",
        "error_kind": None if status == "ok" else "http_error",
    }
    r.update(kw)
    return r


# ---- TPOT, interactivity ----


def test_tpot_formula_hand_checked():
    # (E2EL - TTFT) / (out - 1) = (1000 - 100) / 9 = 100 ms
    assert metrics.tpot_ms(100.0, 1000.0, 10) == pytest.approx(100.0)
    assert metrics.tpot_ms(50.0, 250.0, 21) == pytest.approx(10.0)


@pytest.mark.parametrize("out", [0, 1, None])
def test_tpot_undefined_for_one_token_or_less(out):
    assert metrics.tpot_ms(100.0, 1000.0, out) is None


def test_one_token_requests_are_excluded_from_tpot_stats():
    recs = [rec(ttft=100, e2el=1000, out=10), rec(ttft=100, e2el=400, out=4), rec(ttft=100, e2el=100, out=1)]
    s = metrics.summarize_level(recs)
    # TPOTs 100 and 100 (the 1-token request has none): mean 100, not (100 + 100 + 0) / 3
    assert s["tpot_ms_mean"] == pytest.approx(100.0)
    assert s["tpot_excluded_requests"] == 1
    assert s["requests_ok"] == 3
    # TTFT includes all three
    assert s["ttft_ms_mean"] == pytest.approx(100.0)


def test_interactivity_is_1000_over_tpot():
    assert metrics.interactivity_tokens_per_s(20.0) == pytest.approx(50.0)
    assert metrics.interactivity_tokens_per_s(None) is None
    s = metrics.summarize_level(
        [rec(ttft=0, e2el=90, out=10), rec(ttft=0, e2el=180, out=10), rec(ttft=0, e2el=360, out=10)]
    )
    # TPOTs 10, 20, 40 ms -> 100, 50, 25 tok/s; median 50, mean 58.33
    assert s["tokens_per_s_per_user"] == pytest.approx(50.0)
    assert s["tokens_per_s_per_user_mean"] == pytest.approx(175 / 3)


# ---- ITL: pooled (vLLM) vs per-request mean (aiperf) ----


def test_itl_pooled_vs_per_request():
    a = [10.0, 10.0, 10.0, 10.0]
    b = [40.0]
    assert metrics.itl_pooled_ms([a, b]) == [10, 10, 10, 10, 40]
    assert metrics.itl_per_request_mean_ms([a, b, []]) == [10.0, 40.0]
    s = metrics.summarize_level([rec(itl=a), rec(itl=b)])
    assert s["itl_ms_mean"] == pytest.approx(80 / 5)  # pooled: every gap weighs the same
    assert s["itl_ms_p50"] == pytest.approx(10.0)
    assert s["itl_ms_per_request_mean_mean"] == pytest.approx(25.0)  # per request: every request weighs the same
    assert s["itl_ms_per_request_mean_p50"] == pytest.approx(25.0)


def test_itl_gaps_from_times():
    assert metrics.itl_gaps_ms([1.0, 1.010, 1.030]) == pytest.approx([10.0, 20.0])


# ---- percentiles ----


def test_percentiles_linear_interpolation():
    v = [1.0, 2.0, 3.0, 4.0]
    assert metrics.percentile(v, 50) == pytest.approx(2.5)
    assert metrics.percentile(v, 99) == pytest.approx(3.97)  # rank 0.99 x 3 = 2.97 -> 3 + 0.97 x (4 - 3)
    assert metrics.percentile(v, 90) == pytest.approx(3.7)
    assert metrics.percentile([], 50) is None
    d = metrics.describe([5.0, None, 7.0], "x")
    assert d == {"x_mean": 6.0, "x_p50": 6.0, "x_p90": pytest.approx(6.8), "x_p99": pytest.approx(6.98)}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 1e6, allow_nan=False), min_size=1, max_size=50), st.floats(0, 100), st.floats(0, 100))
def test_percentile_is_monotone_and_bounded(values, q1, q2):
    lo, hi = sorted((q1, q2))
    assert metrics.percentile(values, lo) <= metrics.percentile(values, hi) + 1e-9
    assert min(values) - 1e-9 <= metrics.percentile(values, lo) <= max(values) + 1e-9


@settings(max_examples=60, deadline=None)
@given(st.floats(0, 1e4), st.floats(0, 1e5), st.integers(2, 10_000))
def test_tpot_reconstructs_e2el(ttft, extra, out):
    e2el = ttft + extra
    assert metrics.tpot_ms(ttft, e2el, out) * (out - 1) + ttft == pytest.approx(e2el, rel=1e-9, abs=1e-9)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.floats(0.01, 1e3), min_size=1, max_size=8), min_size=1, max_size=8))
def test_pooled_mean_is_gap_weighted_per_request_mean(lists):
    pooled = metrics.itl_pooled_ms(lists)
    per = metrics.itl_per_request_mean_ms(lists)
    weighted = sum(m * len(g) for m, g in zip(per, lists, strict=False)) / sum(len(g) for g in lists)
    assert sum(pooled) / len(pooled) == pytest.approx(weighted, rel=1e-9)


# ---- throughput, duration, goodput ----


def test_throughput_over_benchmark_duration():
    recs = [
        rec(out=100, inp=1000, t0=10.0, t1=12.0),
        rec(out=300, inp=1000, t0=11.0, t1=14.0),
        rec(status="error", out=7, inp=1000, t0=11.0, t1=11.5),
    ]
    s = metrics.summarize_level(recs)
    assert s["duration_s"] == pytest.approx(4.0)  # 10.0 -> 14.0
    assert s["output_tokens_per_s"] == pytest.approx(400 / 4)  # failed request's tokens not counted
    assert s["total_tokens_per_s"] == pytest.approx(2400 / 4)
    assert s["requests_ok"] == 2 and s["requests_failed"] == 1
    assert s["errors"] == {"http_error": 1}


def test_duration_of_a_resumed_run_adds_sessions_not_the_gap():
    recs = [rec(t0=0, t1=10, session="a"), rec(t0=5, t1=8, session="a"), rec(t0=100, t1=105, session="b")]
    assert metrics.benchmark_duration_s(recs) == pytest.approx(15.0)


def test_goodput_counts_failures_as_misses():
    slo = metrics.parse_slo("ttft:200,tpot:150")
    recs = [
        rec(ttft=100, e2el=1000, out=10, t0=0, t1=2),  # TPOT 100: meets
        rec(ttft=150, e2el=150, out=1, t0=0, t1=2),  # 1 token: no TPOT, meets the TPOT SLO (as vLLM)
        rec(ttft=300, e2el=1000, out=10, t0=0, t1=2),  # TTFT 300 > 200: misses
        rec(ttft=100, e2el=2000, out=10, t0=0, t1=2),  # TPOT 211 > 150: misses
        rec(status="error", ttft=None, e2el=None, out=0, t0=0, t1=2),
    ]  # failed: misses
    g = metrics.goodput(recs, slo, duration_s=2.0)
    assert g["requests_meeting_slo"] == 2
    assert g["slo_attainment"] == pytest.approx(2 / 5)
    assert g["goodput_requests_per_s"] == pytest.approx(1.0)
    assert g["goodput_output_tokens_per_s"] == pytest.approx((10 + 1) / 2)
    assert metrics.summarize_level(recs, slo)["goodput"]["slo_attainment"] == pytest.approx(0.4)


def test_failed_request_never_meets_slo_even_with_good_times():
    r = rec(status="error", ttft=1.0, e2el=2.0, out=5)
    assert not metrics.meets_slo(r, {"ttft": 1000})


@pytest.mark.parametrize("bad", ["ttft", "ttft:abc", "latency:10", "tpot:-5", "ttft:0"])
def test_bad_slo_is_a_clear_error(bad):
    with pytest.raises(TokenfabError, match="--slo"):
        metrics.parse_slo(bad)


def test_definitions_name_the_conventions():
    d = metrics.DEFINITIONS
    assert "pooled" in d["itl_ms"] and "vLLM" in d["itl_ms"]
    assert "per request" in d["itl_ms_per_request_mean"]
    assert "(E2EL - TTFT) / (output_tokens - 1)" in d["tpot_ms"] and "excluded" in d["tpot_ms"]


# ---- prompts ----


def test_word_list_prompt_has_target_words_and_is_reproducible():
    src = prompts.WordListPrompts()
    p = src.make(1000, random.Random(3))
    assert len(p.text.split(" ")) == 1000 and p.tokens == 1000 and p.token_source == "word_list"
    assert p.text == src.make(1000, random.Random(3)).text
    assert all(w in prompts.ONE_TOKEN_WORDS for w in p.text.split(" "))
    assert len(set(prompts.ONE_TOKEN_WORDS)) == len(prompts.ONE_TOKEN_WORDS) == 512


def test_length_distribution():
    assert prompts.parse_length_dist("fixed") == 1.0
    assert prompts.parse_length_dist("uniform:0.8") == 0.8
    rng = random.Random(0)
    draws = [prompts.draw_length(1000, 0.8, rng) for _ in range(2000)]
    assert min(draws) >= 800 and max(draws) <= 1000 and len(set(draws)) > 150
    assert prompts.draw_length(1000, 1.0, rng) == 1000
    for bad in ("uniform:0", "uniform:1.5", "normal"):
        with pytest.raises(TokenfabError, match="--length-dist"):
            prompts.parse_length_dist(bad)


def test_requests_are_deterministic_and_differ_across_levels():
    cfg = client.BenchConfig(url="http://127.0.0.1:1", model="mock", isl=64, osl=32, length_dist="uniform:0.5", seed=7)
    src = prompts.WordListPrompts()
    a, b = client.make_request(cfg, 4, 3, src), client.make_request(cfg, 4, 3, src)
    assert (a.prompt, a.max_tokens) == (b.prompt, b.max_tokens) and a.request_id == "c4-000003"
    assert client.make_request(cfg, 8, 3, src).prompt != a.prompt  # no prefix-cache hits across levels
    assert 32 <= a.input_tokens <= 64 and 16 <= a.max_tokens <= 32


def test_tokenizer_prompts_are_exact(tmp_path):
    tokenizers = pytest.importorskip("tokenizers")
    from tokenizers import decoders, models, pre_tokenizers, trainers

    tok = tokenizers.Tokenizer(models.BPE(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    # a small vocabulary trained here, in which most words are several tokens (unlike the big BPE vocabularies)
    corpus = [" ".join(random.Random(i).choice(prompts.ONE_TOKEN_WORDS[:64]) for _ in range(50)) for i in range(50)]
    tok.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=300, special_tokens=["[UNK]"]))
    path = tmp_path / "tokenizer.json"
    tok.save(str(path))
    src = prompts.TokenizerPrompts(path)
    for n in (1, 17, 256):
        p = src.make(n, random.Random(n))
        assert p.tokens == n == src.count(p.text) and p.token_source == "tokenizer"
    assert src.count(" ".join(prompts.ONE_TOKEN_WORDS[64:96])) > 32  # words it never saw split: counting is real


def test_tokenizer_source_errors(tmp_path):
    with pytest.raises(TokenfabError, match="--tokenizer"):
        prompts.TokenizerPrompts(tmp_path / "missing.json")


# ---- arrivals ----


def _gaps(spec, n=5000):
    offs = schedule.arrival_offsets_s(n, 10.0, spec, random.Random(2))
    return [b - a for a, b in zip(offs, offs[1:], strict=False)]


def _cv(gaps):
    mean = sum(gaps) / len(gaps)
    return math.sqrt(sum((g - mean) ** 2 for g in gaps) / len(gaps)) / mean


def test_arrival_processes():
    assert schedule.arrival_offsets_s(4, 4.0, "constant", random.Random(0)) == pytest.approx([0.25, 0.5, 0.75, 1.0])
    for spec in ("poisson", "gamma:0.5", "gamma:4"):
        offs = schedule.arrival_offsets_s(20000, 10.0, spec, random.Random(1))
        assert offs[-1] == pytest.approx(20000 / 10.0)  # normalised as vLLM: the last send at n / rate
        assert all(b >= a for a, b in zip(offs, offs[1:], strict=False))
    assert _cv(_gaps("poisson")) == pytest.approx(1.0, rel=0.1)  # exponential gaps: CV 1
    assert _cv(_gaps("gamma:4")) == pytest.approx(0.5, rel=0.1)  # gamma shape K: CV 1/sqrt(K)
    assert _cv(_gaps("constant")) == pytest.approx(0.0, abs=1e-9)
    assert schedule.arrival_offsets_s(3, math.inf, "poisson", random.Random(0)) == [0, 0, 0]
    with pytest.raises(TokenfabError, match="--arrival"):
        client.parse_arrival("bursty")


def test_poisson_rate_offered_is_the_rate_asked_for():
    # the issue: --rate 10 with the default seed and count offered 8.9 req/s, --rate 8 offered 8.6 (no normalisation)
    for rate in (8.0, 10.0):
        n = 300
        offs = schedule.arrival_offsets_s(n, rate, "poisson", random.Random(f"0:r{rate:g}:arrivals"))
        assert n / offs[-1] == pytest.approx(rate, rel=1e-9)


# ---- records ----


def test_record_writer_flushes_each_line_and_masks_secrets(tmp_path):
    path = tmp_path / "r.jsonl"
    w = records.RecordWriter(path, secrets=["sk-hidden"])
    w.write({"request_id": "a", "error": "key sk-hidden leaked"})
    # flushed: readable before close
    lines = path.read_text().splitlines()
    assert len(lines) == 1 and "sk-hidden" not in lines[0] and "***" in lines[0]
    w.close()


def test_read_records_survives_a_cut_line(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps({"request_id": "a"}) + "\n" + '{"request_id": "b", "sta')
    with records.RecordWriter(path) as w:  # a new line starts after the cut one
        w.write({"request_id": "c"})
    recs, bad = records.read_records(path)
    assert [r["request_id"] for r in recs] == ["a", "c"] and bad == 1


def test_run_id_is_stable_and_order_independent():
    assert records.run_id({"a": 1, "b": 2}) == records.run_id({"b": 2, "a": 1})
    assert records.run_id({"a": 1}) != records.run_id({"a": 2})
    cfg = client.BenchConfig(url="http://127.0.0.1:1", model="mock")
    assert "key" not in json.dumps(cfg.identity()).lower()


def test_endpoint_urls():
    def mk(url, ep="completions"):
        return client.BenchConfig(url=url, model="mock", endpoint=ep).endpoint_url()

    assert mk("http://h:8000") == "http://h:8000/v1/completions"
    assert mk("http://h:8000/v1/") == "http://h:8000/v1/completions"
    assert mk("http://h:8000", "chat") == "http://h:8000/v1/chat/completions"
    assert mk("http://h:8000/v1/chat/completions", "chat") == "http://h:8000/v1/chat/completions"
    with pytest.raises(TokenfabError, match="--endpoint"):
        mk("http://h", "embeddings")
    with pytest.raises(TokenfabError, match="--url"):
        mk("h:8000")


def test_default_request_counts():
    closed = client.BenchConfig(url="http://h", model="mock", levels=(16,))
    assert closed.level_requests(16) == 160  # InferenceX: 10 x concurrency
    opened = client.BenchConfig(url="http://h", model="mock", mode="open", levels=(4.0,))
    assert opened.level_requests(4.0) == 120 and opened.level_requests(0.5) == 50


def test_payload_controls_output_length():
    cfg = client.BenchConfig(url="http://h", model="mock", endpoint="chat")
    spec = client.RequestSpec("c1-000000", 0, "hello there", 2, "word_list", 77)
    body = client.build_payload(cfg, spec)
    assert body["max_tokens"] == 77 and body["ignore_eos"] is True and body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["messages"] == [{"role": "user", "content": "hello there"}]


# ---- energy ----


def test_tokens_in_window_spreads_usage_over_chunks():
    # 5 chunks at t = 10.1, 10.2, ..., 10.5; usage says 10 tokens (2 per chunk)
    r = rec(out=10, inp=100, ttft=100.0, itl=[100.0] * 4, t0=10.0)
    out_tok, total = energy.tokens_in_window([r], 10.25, 10.6)
    assert out_tok == pytest.approx(6.0)  # 3 of 5 chunks inside
    assert total == pytest.approx(6.0)  # first token (10.1) outside: its input tokens are not counted
    out_tok, total = energy.tokens_in_window([r], 10.0, 11.0)
    assert (out_tok, total) == (pytest.approx(10.0), pytest.approx(110.0))


def test_energy_summary_arithmetic():
    e = energy.energy_summary(
        window_energy_j=7000.0, window_s=10.0, idle_w=100.0, output_tokens=1000, total_tokens=3500, gpus=1
    )
    assert e["j_per_output_token"] == pytest.approx(7.0)
    assert e["j_per_token"] == pytest.approx(2.0)
    assert e["tokens_per_j"] == pytest.approx(0.5)
    assert e["j_per_output_token_net_of_idle"] == pytest.approx(6.0)  # (7000 - 100 x 10) / 1000
    assert e["mean_power_w_per_gpu"] == pytest.approx(700.0)
    assert energy.energy_j(1_000, 8_001_000) == pytest.approx(8000.0)


def test_energy_meter_with_fake_nvml():
    state = {"mj": [1_000_000, 2_000_000]}

    class FakeNvml(types.SimpleNamespace):
        def nvmlInit(self):
            pass

        def nvmlShutdown(self):
            pass

        def nvmlDeviceGetCount(self):
            return 2

        def nvmlDeviceGetHandleByIndex(self, i):
            return i

        def nvmlDeviceGetTotalEnergyConsumption(self, h):
            state["mj"][h] += 700  # 0.7 J per read per GPU
            return state["mj"][h]

    m = energy.EnergyMeter(nvml=FakeNvml())
    assert m.available and m.gpus == 2
    a = m.read_mj()
    b = m.read_mj()
    assert b - a == 1400
    assert not energy.EnergyMeter([5], nvml=FakeNvml()).available


def test_energy_meter_says_why_not(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", None)  # import fails as if nvidia-ml-py were not installed
    m = energy.EnergyMeter()
    assert not m.available and "nvidia-ml-py" in m.reason
    assert energy.not_measured(m.reason)["reason"].startswith("energy not measured")

    class Broken:
        def nvmlInit(self):
            raise RuntimeError("NVML Shared Library Not Found")

    m = energy.EnergyMeter(nvml=Broken())
    assert not m.available and "Library Not Found" in m.reason


# ---- report ----


def _runs():
    recs = [
        dict(
            rec(out=100, inp=300, t0=0, t1=2), mode="closed", concurrency=4, rate=None, run_id="r", request_id=f"c4-{i}"
        )
        for i in range(4)
    ]
    return report.build_runs(recs)


def test_build_runs_contract_keys():
    runs = _runs()
    assert len(runs) == 1 and runs[0]["concurrency"] == 4
    assert set(report.CONTRACT_KEYS) <= set(runs[0])
    assert runs[0]["output_tokens_per_s"] == pytest.approx(400 / 2)


def test_compare_with_model_hook():
    points = [{"mode": "closed", "concurrency": 4, "output_tokens_per_s_per_gpu": 100.0, "tpot_ms_p50": 20.0}]
    rows = report.compare_with_model(points, lambda p: {"output_tokens_per_s_per_gpu": 110.0, "unknown": 1.0})
    assert rows[0]["output_tokens_per_s_per_gpu"]["relative_error"] == pytest.approx(0.10)
    assert "unknown" not in rows[0] and rows[0]["concurrency"] == 4


def test_economics_uses_the_cost_module():
    cost = pytest.importorskip("tokenfab.economics.cost")
    runs = _runs()  # 200 output tok/s, 800 total tok/s
    pts = report.economics(runs, gpus=2, usd_per_gpu_hour=2.0, all_in_kw_per_gpu=1.73)
    p = pts[0]
    assert p["total_tokens_per_s_per_gpu"] == pytest.approx(400.0)
    assert p["output_tokens_per_s_per_gpu"] == pytest.approx(100.0)
    # metrics.md: $/M = price / (tok/s/GPU x 3600 / 1e6) = 2 / (100 x 3600 / 1e6) = 5.556 (InferenceX, whole GPU-hour)
    assert p["usd_per_mtok_output_inferencex"] == pytest.approx(2.0 / (100 * 3600 / 1e6))
    # the GPU-time split needs the prefill share: not computed without it; with 25% prefill time:
    # output = 0.75 x 2 / (100 x 3600 / 1e6) = 4.167, input = 0.25 x 2 / (300 x 3600 / 1e6) = 0.463
    assert p["usd_per_mtok_output"] is None
    q = report.economics(runs, gpus=2, usd_per_gpu_hour=2.0, prefill_gpu_time_share=0.25)[0]
    assert q["usd_per_mtok_output"] == pytest.approx(0.75 * 2.0 / (100 * 3600 / 1e6))
    assert q["usd_per_mtok_input"] == pytest.approx(0.25 * 2.0 / (300 * 3600 / 1e6))
    assert p["usd_per_mtok_total"] == pytest.approx(2.0 / (400 * 3600 / 1e6))
    # tokens/s per MW = tok/s/GPU x 1000 / kW per GPU
    assert p["tokens_per_s_per_mw_total"] == pytest.approx(400 * 1000 / 1.73)
    assert p["usd_per_mtok_total"] == pytest.approx(cost.usd_per_mtok(2.0, 400.0))
