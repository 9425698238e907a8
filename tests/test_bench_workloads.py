"""Workloads and rate shapes: what each plans (pure), the bundled data (license, shape), hostile input files, and
end to end against the mock with injected faults: for every workload and rate shape, every request has exactly one
record (0 lost, 0 duplicated), cut streams count as failures, and --resume completes an interrupted run."""

from __future__ import annotations

import json
import os
import random
import signal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokenfab.bench import client, metrics, schedule, workloads
from tokenfab.bench.mockserver import MockConfig, MockServerProcess
from tokenfab.bench.prompts import WordListPrompts
from tokenfab.core.errors import TokenfabError

SRC = WordListPrompts()


@pytest.fixture(scope="module")
def mock():
    with MockServerProcess(MockConfig(), max_lifetime_s=300) as srv:
        yield srv


# ---- plans (pure) ----


def test_bundled_data_is_licensed_and_shaped():
    for path in (workloads.BUNDLED_CONVERSATIONS, workloads.BUNDLED_TRACE):
        meta = json.loads(path.open(encoding="utf-8").readline())["_meta"]
        assert meta["license"] == "Apache-2.0" and meta["as_of"] and "synthetic" in meta["source"]
    convs = workloads.load_conversations()
    assert len(convs) >= 200
    assert all(c[0][0] == "user" and c[1][0] == "assistant" for c in convs)
    lens = sorted(len(c[0][1].split()) for c in convs)
    assert lens[0] < 20 and lens[-1] > 300  # varied lengths
    assert sum(1 for c in convs if len(c) > 2) > 50  # multi-turn sessions exist
    tr = workloads.TraceWorkload(SRC)
    assert len(tr) > 300 and len({r.session for r in tr.rows}) > 10
    assert (workloads.DATA_DIR / "README.md").read_text().count("Apache-2.0") >= 2


def test_conversation_plans_follow_the_dataset():
    wl = workloads.ConversationWorkload(SRC, turns=3)
    convs = workloads.load_conversations()
    seen = set()
    for i in range(len(convs)):
        job = wl.job("c1", 0, i)
        ci = job.turns[0].meta["conversation"]
        seen.add(ci)
        assert job.turns[0].text == convs[ci][0][1]
        assert job.turns[0].max_tokens == len(convs[ci][1][1].split())  # the reply's length (word count)
        assert len(job.turns) == min(3, len(convs[ci]) // 2)
    assert len(seen) == len(convs)  # a level walks the set once


def test_sharegpt_format_is_accepted(tmp_path):
    p = tmp_path / "sg.jsonl"
    p.write_text(
        json.dumps(
            {"conversations": [{"from": "human", "value": "hi there"}, {"from": "gpt", "value": "hello to you"}]}
        )
        + "\n"
        + json.dumps({"conversations": [{"from": "gpt", "value": "orphan"}]})
        + "\n"
    )
    convs = workloads.load_conversations(str(p))
    assert convs == ((("user", "hi there"), ("assistant", "hello to you")),)


@pytest.mark.parametrize(
    "content, match",
    [
        ("not json\n", "not JSON"),
        ("[1, 2]\n", "not a JSON object"),
        ('{"turns": 5}\n', "no list of turns"),
        ('{"turns": [{"role": "user", "text": ""}]}\n', "non-empty"),
        ("\n\n", "no rows"),
    ],
)
def test_hostile_conversation_files(tmp_path, content, match):
    p = tmp_path / "c.jsonl"
    p.write_text(content)
    with pytest.raises(TokenfabError, match=match):
        workloads.load_conversations(str(p))


def test_turns_whose_role_is_not_a_string_are_skipped(tmp_path):
    """A role that is a list or a number is no role (skipped like an unknown one), never a crash."""
    p = tmp_path / "c.jsonl"
    p.write_text(
        '{"turns": [{"role": ["x"], "text": "a"}, {"role": "user", "text": "hi"}, {"role": "assistant", "text": "yo"}]}'
        '\n{"conversations": [{"from": 3, "value": "a"}, {"from": {"a": 1}, "value": "b"}]}\n'
    )
    assert workloads.load_conversations(str(p)) == ((("user", "hi"), ("assistant", "yo")),)


@pytest.mark.parametrize(
    "row",
    [
        {"timestamp_s": -1, "input_tokens": 5, "output_tokens": 5},
        {"timestamp_s": "x", "input_tokens": 5, "output_tokens": 5},
        {"timestamp_s": 0, "input_tokens": 0, "output_tokens": 5},
        {"timestamp_s": 0, "input_tokens": 5.5, "output_tokens": 5},
        {"timestamp_s": float("nan"), "input_tokens": 5, "output_tokens": 5},
        {"timestamp_s": 0, "input_tokens": 10**9, "output_tokens": 5},
        {"timestamp_s": 0, "input_tokens": True, "output_tokens": 5},
        {},
    ],
)
def test_hostile_trace_rows(row):
    with pytest.raises(TokenfabError, match="--trace"):
        workloads.parse_trace_rows([row])


def test_trace_sessions_share_their_prefix():
    rows = workloads.parse_trace_rows(
        [
            {"timestamp_s": 10, "input_tokens": 50, "output_tokens": 3, "session": "a"},
            {"timestamp_s": 12, "input_tokens": 80, "output_tokens": 3, "session": "a"},
            {"timestamp_s": 11, "input_tokens": 50, "output_tokens": 3, "session": "b"},
        ]
    )
    assert [r.timestamp_s for r in rows] == [0, 1, 2]
    wl = workloads.TraceWorkload.__new__(workloads.TraceWorkload)
    wl.source, wl.rows, wl._session_text = SRC, rows, {}
    a0, b0, a1 = (wl.job("t1x", 0, i).turns[0].text for i in range(3))
    assert a1.startswith(a0) and len(a1.split()) == 80 and not b0.startswith(a0[:40])


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 40), st.integers(1, 5), st.floats(0, 1))
def test_prefix_groups_share_exactly_their_prefix(prefix, groups, hit_rate):
    wl = workloads.PrefixWorkload(SRC, isl=prefix + 10, osl=4, prefix_tokens=prefix, groups=groups, hit_rate=hit_rate)
    jobs = [wl.job("c1", 3, i).turns[0] for i in range(40)]
    by_group: dict = {}
    for t in jobs:
        assert len(t.text.split()) == prefix + 10 and t.tokens == prefix + 10
        if t.meta["prefix_hit"]:
            by_group.setdefault(t.meta["prefix_group"], set()).add(" ".join(t.text.split()[:prefix]))
    assert all(len(v) == 1 for v in by_group.values())  # one prefix per group
    if hit_rate == 0:
        assert not by_group


def test_prefix_hit_rate_statistics():
    wl = workloads.PrefixWorkload(SRC, isl=20, osl=4, prefix_tokens=8, groups=4, hit_rate=0.7)
    hits = sum(wl.job("c1", 0, i).turns[0].meta["prefix_hit"] for i in range(2000))
    assert 0.65 < hits / 2000 < 0.75


@pytest.mark.parametrize(
    "kw, field",
    [
        (dict(workload="prefix", prefix_tokens=0), "--prefix-tokens"),
        (dict(workload="prefix", prefix_tokens=8, prefix_hit_rate=1.5), "--prefix-hit-rate"),
        (dict(turns=0), "--turns"),
        (dict(turns=3, think_time_s=float("inf")), "--think-time-s"),
        (dict(workload="conversations", dataset="/no/such.jsonl"), "--dataset"),
        (dict(workload="bogus"), "--workload"),
    ],
)
def test_workload_option_errors(kw, field):
    with pytest.raises(TokenfabError, match=field):
        cfg = client.BenchConfig(url="http://127.0.0.1:1", model="mock", isl=16, osl=4, **kw)
        client._workload(cfg)


def test_sweep_rates_and_ramp():
    assert schedule.sweep_rates(1.0, 9.0, 3) == [3.0, 5.0, 7.0]  # strictly between, evenly spaced
    with pytest.raises(TokenfabError, match="sweep"):
        schedule.sweep_rates(0.0, 5.0, 3)
    offs = schedule.ramp_offsets_s(200, 5.0, 50.0, "constant", random.Random(0))
    gaps = [b - a for a, b in zip(offs, offs[1:], strict=False)]
    assert gaps[0] == pytest.approx(1 / (5 + 45 / 199)) and gaps[-1] == pytest.approx(1 / 50)
    assert all(b <= a + 1e-12 for a, b in zip(gaps, gaps[1:], strict=False))  # the rate only rises


@pytest.mark.parametrize(
    "value", ["ramp:1", "ramp:0:5", "ramp:a:b", "sweep:1", "sweep:100", "sweep:x", "0", "-2", "nan", "1e9", "", ","]
)
def test_bad_rate_specs(value):
    with pytest.raises(TokenfabError, match="--rate"):
        schedule.parse_rate(value)


def test_rate_specs():
    assert schedule.parse_rate("2,4,inf") == ("open", (2.0, 4.0, float("inf")))
    assert schedule.parse_rate("ramp:1:20") == ("ramp", (1.0, 20.0))
    assert schedule.parse_rate("sweep") == ("sweep", (8.0,)) and schedule.parse_rate("sweep:3") == ("sweep", (3.0,))


# ---- end to end, with faults: 0 lost, 0 duplicated ----

FAULTS = {"http_500": 0.1, "cut": 0.1, "garbage": 0.05, "no_usage": 0.05}


def _check_complete(outcome, expected_ids):
    ids = [r["request_id"] for r in outcome.records]
    assert len(ids) == len(set(ids)), "duplicated records"
    assert set(ids) == set(expected_ids), "lost records"
    cut = [r for r in outcome.records if r["error_kind"] == "stream_cut"]
    assert all(r["status"] == "error" for r in cut)


def _ids(cfg, mode, level, n, turns=None, level_end=None):
    if turns:
        return [client.request_id(mode, level, i, k, level_end) for i in range(n) for k in range(turns)]
    return [client.request_id(mode, level, i, None, level_end) for i in range(n)]


CASES = [
    ("random-closed", dict(levels=(3,)), "closed", 3, 12, None),
    (
        "conversations-open",
        dict(workload="conversations", osl=6, mode="open", levels=(200.0,)),
        "open",
        200.0,
        15,
        None,
    ),
    ("prefix-poisson", dict(workload="prefix", prefix_tokens=8, mode="open", levels=(150.0,)), "open", 150.0, 15, None),
    ("multiturn-chat", dict(endpoint="chat", turns=3, think_time_s=0.01, levels=(2,)), "closed", 2, 4, 3),
    ("ramp", dict(mode="ramp", levels=(50.0, 300.0)), "ramp", 50.0, 15, None),
    ("open-2-workers", dict(mode="open", levels=(200.0,), workers=2), "open", 200.0, 16, None),
]


@pytest.mark.parametrize("name, kw, mode, level, n, turns", CASES, ids=[c[0] for c in CASES])
def test_every_workload_and_shape_keeps_every_record_under_faults(mock, tmp_path, name, kw, mode, level, n, turns):
    mock.configure({"ttft_ms": 2, "itl_ms": 1, "fault_probs": FAULTS, "seed": 3, "cut_after_tokens": 1})
    base = dict(url=mock.url, model="mock", isl=16, osl=6, requests=n, timeout_s=5)
    base.update(kw)
    cfg = client.BenchConfig(**base)
    outcome = client.run_benchmark(cfg, out_path=tmp_path / "r.jsonl")
    level_end = kw["levels"][1] if mode == "ramp" else None
    _check_complete(outcome, _ids(cfg, mode, level, n, turns, level_end))
    lines = (tmp_path / "r.jsonl").read_text().splitlines()
    assert len(lines) == len(outcome.records)
    s = metrics.summarize_level(outcome.records)
    assert s["requests_failed"] > 0 and s["requests_ok"] > 0  # the faults happened and were bucketed
    assert set(s["errors"]) <= {"http_error", "stream_cut", "malformed_sse"}
    if name == "open-2-workers":
        assert {r["worker"] for r in outcome.records} == {0, 1}
    if turns:
        by_session: dict = {}
        for r in outcome.records:
            by_session.setdefault(r["index"], {})[r["turn"]] = r
        for turns_ in by_session.values():  # the history grows: each turn sends more than the one before
            ok = [turns_[k]["input_tokens"] for k in sorted(turns_) if turns_[k]["token_count_source"] == "usage"]
            assert ok == sorted(ok)


def test_trace_replay_keeps_times_and_records(mock, tmp_path):
    mock.configure({"ttft_ms": 1, "itl_ms": 0, "fault_probs": {"cut": 0.2}, "seed": 1})
    trace = tmp_path / "t.jsonl"
    rows = [
        {"timestamp_s": 100 + 0.05 * i, "input_tokens": 10 + i, "output_tokens": 3, "session": f"s{i % 2}"}
        for i in range(10)
    ]
    trace.write_text("\n".join(json.dumps(r) for r in rows))
    cfg = client.BenchConfig(
        url=mock.url, model="mock", workload="trace", trace=str(trace), mode="trace", levels=(2.0,), timeout_s=5
    )
    outcome = client.run_benchmark(cfg, out_path=tmp_path / "r.jsonl")
    _check_complete(outcome, [client.request_id("trace", 2.0, i) for i in range(10)])
    sched = sorted(r["t_scheduled"] for r in outcome.records)
    assert [b - a for a, b in zip(sched, sched[1:], strict=False)] == pytest.approx([0.025] * 9, abs=1e-6)  # 2x speed
    assert all(r["requested_input_tokens"] == 10 + r["index"] for r in outcome.records)


def test_sweep_finds_saturation_and_measures_below_it(mock, tmp_path):
    # 40 ms of mock delay a request: one at a time is at most ~26 req/s by construction, and 12 at once overlap
    # those delays, so saturation stays well above it even when a loaded machine makes the client's CPU work
    # (a few ms a request when quiet) several times slower
    mock.configure({"ttft_ms": 37, "itl_ms": 1})
    cfg = client.BenchConfig(
        url=mock.url, model="mock", isl=8, osl=4, mode="sweep", levels=(), sweep_rates=2, requests=12, timeout_s=5
    )
    outcome = client.run_benchmark(cfg, out_path=tmp_path / "r.jsonl")
    sw = outcome.sweep
    assert sw["saturation_rate_per_s"] > sw["synchronous_rate_per_s"] > 0
    assert sw["synchronous_rate_per_s"] <= 1000 / (37 + 3 - 2)  # each request >= 40 ms (less a timer tick)
    assert len(sw["rates_per_s"]) == 2
    assert all(sw["synchronous_rate_per_s"] < r < sw["saturation_rate_per_s"] for r in sw["rates_per_s"])
    tags = {r["request_id"].rsplit("-", 1)[0] for r in outcome.records}
    assert tags == {"c1", "rinf"} | {f"r{r:g}" for r in sw["rates_per_s"]}
    assert len(outcome.records) == 4 * 12 and all(r["status"] == "ok" for r in outcome.records)


def test_resume_of_a_multiturn_open_run(mock, tmp_path):
    mock.configure({"ttft_ms": 3, "itl_ms": 2})
    n, turns = 8, 2
    cfg = client.BenchConfig(
        url=mock.url, model="mock", isl=8, osl=4, mode="open", levels=(40.0,), requests=n, turns=turns, timeout_s=5
    )
    out = tmp_path / "r.jsonl"

    class StopAfter(client.ProgressHooks):
        seen = 0

        def record(self, rec):
            StopAfter.seen += 1
            if StopAfter.seen == 5:
                os.kill(os.getpid(), signal.SIGINT)

    first = client.run_benchmark(cfg, out_path=out, hooks=StopAfter())
    assert first.interrupted
    second = client.run_benchmark(cfg, out_path=out, resume=True)
    assert any("sending the" in m and "missing" in m for m in second.messages)
    ids = [json.loads(x)["request_id"] for x in out.read_text().splitlines()]
    assert len(ids) == len(set(ids)) == n * turns
