"""Serving metrics as pure functions over per-request records (definitions: docs/metrics.md).

The definitions follow ``vllm bench serve`` (vllm/benchmarks/serve.py ``calculate_metrics``): TTFT, TPOT over
requests with more than one output token, pooled ITL, E2EL, request/output/total-token throughput over the
benchmark duration, goodput of the requests meeting every SLO; :func:`vllm_fields` names them as vLLM's result
JSON does (``mean_ttft_ms``, ``median_ttft_ms``, ``p99_ttft_ms``, ``request_throughput``, ...).

A record is a dict as written to the JSONL (see :mod:`tokenfab.bench.records`): ``status`` ("ok" or "error"),
``ttft_ms``, ``e2el_ms``, ``tpot_ms``, ``itl_ms`` (list of gaps), ``input_tokens``, ``output_tokens``,
``t_start``/``t_end`` (wall-clock seconds) and ``session_id``. Times are in milliseconds unless the name says
otherwise. Percentiles use linear interpolation (``numpy.percentile``'s default, as ``vllm bench serve``).
"""

from __future__ import annotations

import itertools
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from tokenfab.core import units
from tokenfab.core.errors import TokenfabError

PERCENTILES = (50, 90, 99)
VLLM_PERCENTILES = (50, 90, 95, 99)  # the pNN_* fields of the vLLM-named summary

# The definitions printed with every result (JSON "definitions" key, table footnote).
DEFINITIONS: dict[str, str] = {
    "ttft_ms": "time to first token: from sending the request to the first streamed chunk that carries output "
    "(includes queueing and prefill)",
    "ttft_ms_from_schedule": "open loop only: TTFT measured from the request's scheduled arrival time, so a late "
    "send counts against the server (no coordinated omission)",
    "e2el_ms": "end-to-end latency: from sending the request to its last output chunk",
    "tpot_ms": "time per output token = (E2EL - TTFT) / (output_tokens - 1) per request, then mean/p50/p90/p99 over "
    "requests; requests with <= 1 output token are excluded (vLLM, SGLang, InferenceX)",
    "itl_ms": "inter-token latency, pooled: the gaps between successive output chunks of all requests, "
    "pooled before taking statistics (vLLM, SGLang)",
    "itl_ms_per_request_mean": "inter-token latency, per request: each request's mean gap, then statistics over "
    "requests (aiperf, guidellm)",
    "tokens_per_s_per_user": "interactivity = 1000 / TPOT_ms per request; the median over requests "
    "(InferenceX median_intvty); _mean is the mean",
    "output_tokens_per_s": "output tokens of completed requests / benchmark duration",
    "total_tokens_per_s": "(input + output tokens) of completed requests / benchmark duration",
    "duration_s": "from the first request sent to the last one finished, warm-up excluded; a resumed run adds the "
    "span of each session",
    "goodput": "requests/s and output tokens/s of requests that meet every SLO; failed requests count as not "
    "meeting it; a request with <= 1 output token has no TPOT and meets a TPOT SLO (as vLLM)",
    "slo_attainment": "requests meeting every SLO / all requests (failed included)",
    "token counts": "from the server's streamed usage (token_count_source=usage); else a local tokenizer "
    "(tokenizer); else one token per output chunk (chunks)",
    "percentiles": "linear interpolation between order statistics (numpy.percentile default, as vLLM)",
    "schedule_lag_ms": "how late each request was sent against its schedule: its arrival time (open loop), the end of "
    "the worker's previous request (closed loop), or the previous turn's end plus think time",
    "excluded": "--exclude-warmup / --exclude-cooldown: requests started in the first S seconds (or the first N sent) "
    "and requests ended in the last S seconds (or the last N sent) are left out of every statistic",
    "usage_vs_chunks": "for requests with a usage field: usage completion_tokens against the streamed chunks that "
    "carried text; tokens_per_chunk > 1 means the server batches tokens and ITL is per chunk",
}

SLO_KEYS = ("ttft", "tpot", "e2el")


# ---- per request ---------------------------------------------------------------------------------------------


def tpot_ms(
    ttft_ms: float | None, e2el_ms: float | None, output_tokens: int | None, chunks: int | None = None
) -> float | None:
    """(E2EL - TTFT) / (output_tokens - 1); None when undefined (<= 1 output token or a missing time) and when the
    reply came in fewer than 2 chunks with text (``chunks``): a server that does not stream sends every token at
    once, so the time between tokens was never observed (it is not 0)."""
    if ttft_ms is None or e2el_ms is None or output_tokens is None or output_tokens <= 1:
        return None
    if chunks is not None and chunks < 2:
        return None
    return (e2el_ms - ttft_ms) / (output_tokens - 1)


def interactivity_tokens_per_s(tpot_ms_value: float | None) -> float | None:
    """Tokens/s one user sees: 1000 / TPOT_ms (InferenceX's interactivity); None when TPOT is undefined or 0."""
    if tpot_ms_value is None or tpot_ms_value <= 0:
        return None
    return units.MS_PER_S / tpot_ms_value


def itl_gaps_ms(chunk_times_s: Sequence[float]) -> list[float]:
    """Gaps between successive output chunks, in ms, from their arrival times in seconds."""
    return [(b - a) * units.MS_PER_S for a, b in itertools.pairwise(chunk_times_s)]


def token_times_s(record: Mapping) -> list[float]:
    """Wall-clock arrival times of a record's output chunks, rebuilt from t_start, ttft_ms and itl_ms."""
    if record.get("ttft_ms") is None or record.get("t_start") is None:
        return []
    t = record["t_start"] + record["ttft_ms"] / units.MS_PER_S
    out = [t]
    for gap in record.get("itl_ms") or ():
        t += gap / units.MS_PER_S
        out.append(t)
    return out


# ---- statistics ----------------------------------------------------------------------------------------------


def percentile(values: Sequence[float | None], q: float) -> float | None:
    """The q-th percentile (0..100) with linear interpolation; None for no values."""
    vals = [v for v in values if v is not None]
    if not vals:
        return None
    return float(np.percentile(np.asarray(vals, dtype=float), q))


def describe(values: Iterable[float | None], prefix: str, percentiles: Sequence[int] = PERCENTILES) -> dict:
    """``{prefix_mean, prefix_p50, ...}`` over the non-None values (None entries when there are none)."""
    vals = [float(v) for v in values if v is not None]
    out = {f"{prefix}_mean": float(np.mean(vals)) if vals else None}
    for q in percentiles:
        out[f"{prefix}_p{q}"] = percentile(vals, q)
    return out


def itl_pooled_ms(itl_lists: Iterable[Sequence[float]]) -> list[float]:
    """All gaps of all requests in one list (vLLM/SGLang convention)."""
    return [g for gaps in itl_lists for g in gaps]


def itl_per_request_mean_ms(itl_lists: Iterable[Sequence[float]]) -> list[float]:
    """One mean gap per request that has any gap (aiperf/guidellm convention)."""
    return [float(np.mean(gaps)) for gaps in itl_lists if len(gaps) > 0]


# ---- throughput, SLOs ----------------------------------------------------------------------------------------


def benchmark_duration_s(records: Iterable[Mapping]) -> float:
    """Sum over sessions of (last t_end - first t_start); a resumed run does not count the time it was stopped."""
    spans: dict[str, list[float]] = {}
    for r in records:
        if r.get("t_start") is None or r.get("t_end") is None:
            continue
        s = spans.setdefault(str(r.get("session_id")), [math.inf, -math.inf])
        s[0] = min(s[0], r["t_start"])
        s[1] = max(s[1], r["t_end"])
    return float(sum(max(0.0, hi - lo) for lo, hi in spans.values()))


def tokens_per_s(tokens: float, duration_s: float) -> float | None:
    return tokens / duration_s if duration_s > 0 else None


class Slos(dict[str, float]):
    """SLO limits by key (``{"ttft": 500.0}``, milliseconds) and, in ``percentiles``, the share of requests that must
    meet each (``{"ttft": 99.0}``); a key without a percentile is a per-request limit only (vLLM's --goodput)."""

    def __init__(
        self,
        limits: Mapping[str, float] | Iterable[tuple[str, float]] = (),
        percentiles: Mapping[str, float] | None = None,
    ) -> None:
        super().__init__(limits)
        self.percentiles: dict[str, float] = dict(percentiles or {})


def parse_slo(spec: str | None) -> Slos:
    """``"ttft_ms:99:500,tpot_ms:90:50"`` (key:percentile:limit) or ``"ttft:2000,tpot:50"`` (key:limit) ->
    :class:`Slos`; keys ttft, tpot, e2el (``_ms`` optional); limits in milliseconds."""
    out = Slos()
    if not spec:
        return out
    if len(spec) > 1000:
        raise TokenfabError("too long", field="--slo", expected="at most 1000 characters", got=spec[:40] + "...")
    for part in spec.split(","):
        bits = [b.strip() for b in part.strip().split(":")]
        key = bits[0].lower().removesuffix("_ms")
        pct = None
        try:
            if len(bits) == 2:
                ms = float(bits[1])
            elif len(bits) == 3:
                pct, ms = float(bits[1]), float(bits[2])
            else:
                ms = float("nan")
        except ValueError:
            ms = float("nan")
        ok = key in SLO_KEYS and ms > 0 and math.isfinite(ms) and key not in out
        if pct is not None:
            ok = ok and 0 < pct <= 100
        if not ok:
            raise TokenfabError(
                "bad SLO",
                field="--slo",
                expected="KEY:MS or KEY:PERCENTILE:MS pairs like "
                "ttft_ms:99:500,tpot_ms:90:50, each KEY once, KEY in " + ", ".join(SLO_KEYS),
                got=part.strip(),
            )
        out[key] = ms
        if pct is not None:
            out.percentiles[key] = pct
    return out


def one_chunk_reply(record: Mapping) -> bool:
    """A reply of several tokens that came in one chunk: its time between tokens was never observed."""
    return (record.get("chunks") or 0) == 1 and (record.get("output_tokens") or 0) > 1


def record_tpot_ms(record: Mapping) -> float | None:
    """A record's TPOT, None for a one-chunk reply whatever the file says (files written before 2026-12-08 stored
    0 for one)."""
    return None if one_chunk_reply(record) else record.get("tpot_ms")


def meets_slo(record: Mapping, slo: Mapping[str, float]) -> bool:
    """True when the request succeeded and every SLO holds; an undefined TPOT meets a TPOT SLO only for a reply of
    <= 1 token (one of many tokens sent in one chunk was never seen streaming: a miss)."""
    if record.get("status") != "ok":
        return False
    for key, limit_ms in slo.items():
        value = record_tpot_ms(record) if key == "tpot" else record.get(f"{key}_ms")
        if value is None and key == "tpot" and (record.get("output_tokens") or 0) <= 1:
            continue  # vLLM's rule: a one-token reply has no TPOT to miss (a reply in one chunk of many does)
        if value is None or value > limit_ms:
            return False
    return True


def goodput(records: Sequence[Mapping], slo: Mapping[str, float], duration_s: float) -> dict:
    """Goodput (requests/s and output tokens/s meeting every SLO) and SLO attainment; failures count as misses.

    With percentiles (:class:`Slos`), each key also says whether its share of requests at or under the limit (of
    all requests, failures counted as misses) reaches the percentile, and ``slo_passed`` whether all do."""
    good = [r for r in records if meets_slo(r, slo)]
    n = len(records)
    out = {
        "slo": dict(slo),
        "requests_meeting_slo": len(good),
        "slo_attainment": len(good) / n if n else None,
        "goodput_requests_per_s": tokens_per_s(len(good), duration_s),
        "goodput_output_tokens_per_s": tokens_per_s(sum(r.get("output_tokens") or 0 for r in good), duration_s),
    }
    pcts = getattr(slo, "percentiles", {})
    if pcts:
        per = {}
        for key, p in pcts.items():
            limit = slo[key]
            meets = sum(1 for r in records if meets_slo(r, {key: limit}))
            vals = [r.get(f"{key}_ms") for r in records if r.get("status") == "ok"]
            share = meets / n if n else 0.0
            per[key] = {
                "percentile": p,
                "limit_ms": limit,
                "value_ms": percentile(vals, p),
                "share_meeting": share,
                "met": bool(n) and share * 100 >= p - 1e-9,
            }
        out["percentile_slos"] = per
        out["slo_passed"] = all(v["met"] for v in per.values())
    return out


# ---- steady state, peaks, token-count checks ---------------------------------------------------------------


def parse_exclusion(spec: str | None, field: str) -> tuple[str, float] | None:
    """``"30s"`` -> ("s", 30.0) (seconds); ``"20"`` -> ("n", 20) (requests); None/"0" -> None."""
    if spec is None:
        return None
    s = str(spec).strip().lower()
    try:
        if s.endswith("s"):
            v, kind = float(s[:-1]), "s"
        else:
            v, kind = float(int(s)), "n"
    except ValueError:
        v, kind = float("nan"), "n"
    if not (math.isfinite(v) and 0 <= v <= (86400 if kind == "s" else 1_000_000)):
        raise TokenfabError(
            "bad exclusion",
            field=field,
            expected="seconds like 30s (<= 86400) or a request count like 20 (<= 1000000)",
            got=spec,
        )
    return None if v == 0 else (kind, v)


def steady_state(
    records: Sequence[Mapping], warmup: tuple[str, float] | None = None, cooldown: tuple[str, float] | None = None
) -> tuple[list[Mapping], int, int]:
    """(kept records, excluded as warm-up, excluded as cool-down). Warm-up: requests started in the first S seconds
    of the level (or the first N sent); cool-down: requests ended in its last S seconds (or the last N sent)."""
    recs = [r for r in records if r.get("t_start") is not None]
    no_time = [r for r in records if r.get("t_start") is None]
    if not recs or (warmup is None and cooldown is None):
        return list(records), 0, 0
    order = sorted(recs, key=lambda r: r["t_start"])
    drop_w: set[int] = set()
    drop_c: set[int] = set()
    if warmup is not None:
        kind, v = warmup
        if kind == "n":
            drop_w = {id(r) for r in order[: int(v)]}
        else:
            t0 = order[0]["t_start"]
            drop_w = {id(r) for r in order if r["t_start"] < t0 + v}
    if cooldown is not None:
        kind, v = cooldown
        if kind == "n":
            drop_c = {id(r) for r in order[len(order) - int(v) :]} if int(v) else set()
        else:
            t1 = max(r.get("t_end") or r["t_start"] for r in order)
            drop_c = {id(r) for r in order if (r.get("t_end") or r["t_start"]) > t1 - v}
    drop_c -= drop_w
    kept = [r for r in order if id(r) not in drop_w and id(r) not in drop_c] + no_time
    return kept, len(drop_w), len(drop_c)


def per_second_peaks(records: Sequence[Mapping]) -> tuple[float | None, int | None]:
    """(max output tokens in any 1-s bin, max requests in flight in any 1-s bin) from the first successful request's
    start, as vLLM's ``max_output_tokens_per_s`` and ``max_concurrent_requests`` (vllm/benchmarks/serve.py
    calculate_metrics: successful requests only). Tokens of a request are spread over its chunks."""
    ok = [r for r in records if r.get("status") == "ok" and r.get("t_start") is not None]
    if not ok:
        return None, None
    t0 = min(r["t_start"] for r in ok)
    tok: defaultdict[int, float] = defaultdict(float)
    conc: Counter[int] = Counter()
    for r in ok:
        a = int(r["t_start"] - t0)
        b = int((r.get("t_end") or r["t_start"]) - t0)
        for k in range(a, min(b, a + 100_000) + 1):
            conc[k] += 1
        times = token_times_s(r)
        if times:
            per = (r.get("output_tokens") or 0) / len(times)
            for t in times:
                tok[int(t - t0)] += per
    return (max(tok.values()) if tok else None), (max(conc.values()) if conc else None)


def usage_vs_chunks(records: Sequence[Mapping]) -> dict | None:
    """Usage-field output tokens against streamed chunks with text, over successful requests that had usage."""
    rs = [r for r in records if r.get("status") == "ok" and r.get("token_count_source") == "usage"]
    if not rs:
        return None
    tok = sum(r.get("output_tokens") or 0 for r in rs)
    chunks = sum(r.get("chunks") or 0 for r in rs)
    return {
        "requests": len(rs),
        "usage_output_tokens": tok,
        "streamed_chunks": chunks,
        "tokens_per_chunk": tok / chunks if chunks else None,
        "difference_pct": 100.0 * (chunks - tok) / tok if tok else None,
    }


def std(values: Iterable[float | None]) -> float | None:
    """Population standard deviation (numpy.std's default, as vLLM's std_*_ms)."""
    vals = [float(v) for v in values if v is not None]
    return float(np.std(vals)) if vals else None


def vllm_fields(
    ok: Sequence[Mapping],
    failed: int,
    duration_s: float,
    slo: Mapping[str, float] | None = None,
    peaks: tuple[float | None, int | None] = (None, None),
    percentiles: Sequence[int] = VLLM_PERCENTILES,
) -> dict:
    """The level's summary under ``vllm bench serve``'s result-JSON names, for the metrics both define the same way."""
    in_tok = sum(r.get("input_tokens") or 0 for r in ok)
    out_tok = sum(r.get("output_tokens") or 0 for r in ok)
    out = {
        "duration": duration_s,
        "completed": len(ok),
        "failed": failed,
        "total_input_tokens": in_tok,
        "total_output_tokens": out_tok,
        "request_throughput": tokens_per_s(len(ok), duration_s),
        "request_goodput": tokens_per_s(sum(1 for r in ok if meets_slo(r, slo)), duration_s) if slo else None,
        "output_throughput": tokens_per_s(out_tok, duration_s),
        "total_token_throughput": tokens_per_s(in_tok + out_tok, duration_s),
        "max_output_tokens_per_s": peaks[0],
        "max_concurrent_requests": peaks[1],
    }
    series: dict[str, Sequence[float | None]] = {
        "ttft": [r.get("ttft_ms") for r in ok],
        "tpot": [r.get("tpot_ms") for r in ok],
        "itl": itl_pooled_ms(r.get("itl_ms") or [] for r in ok),
        "e2el": [r.get("e2el_ms") for r in ok],
    }
    for name, values in series.items():
        vals = [v for v in values if v is not None]
        out[f"mean_{name}_ms"] = float(np.mean(vals)) if vals else None
        out[f"median_{name}_ms"] = percentile(vals, 50)
        out[f"std_{name}_ms"] = std(vals)
        for q in percentiles:
            out[f"p{q}_{name}_ms"] = percentile(vals, q)
    return out


CLIENT_CPU_SHARE_WARN = 0.80  # of one core: the event loop is near saturation, timestamps wait for it
SCHEDULE_LAG_P99_WARN_MS = 10.0
LOOP_LAG_P99_WARN_MS = 10.0


def client_selfcheck(
    *,
    cpu_share: float,
    loop_lag_ms: Sequence[float],
    schedule_lag_ms: Sequence[float | None],
    mode: str,
    **info: Any,
) -> dict:
    """The client's own cost over a level and whether it, not the server, limited the measurement: CPU share of the
    busiest client process (1.0 = a core saturated), p50/p99 schedule lag, p99 event-loop lag (how late a 10 ms timer
    fired: a read waits that long for its timestamp)."""
    lag = [v for v in schedule_lag_ms if v is not None]
    p50, p99 = percentile(lag, 50), percentile(lag, 99)
    loop99 = percentile(list(loop_lag_ms), 99)
    reasons = []
    if cpu_share >= CLIENT_CPU_SHARE_WARN:
        reasons.append(f"client CPU {100 * cpu_share:.0f}% of a core")
    if p99 is not None and p99 > SCHEDULE_LAG_P99_WARN_MS:
        reasons.append(f"p99 schedule lag {p99:.1f} ms")
    if loop99 is not None and loop99 > LOOP_LAG_P99_WARN_MS:
        reasons.append(f"p99 event-loop lag {loop99:.1f} ms")
    return {
        "client_cpu_share_pct": 100.0 * cpu_share,
        "schedule_lag_ms_p50": p50,
        "schedule_lag_ms_p99": p99,
        "event_loop_lag_ms_p99": loop99,
        "client_bound": bool(reasons),
        "warning": (
            "the client, not the server, may be the bottleneck (" + "; ".join(reasons) + "): timings include "
            "client delay; use --workers N, fewer requests in flight, or a bigger client machine"
        )
        if reasons
        else None,
        "mode": mode,
        **info,
    }


# ---- one level ---------------------------------------------------------------------------------------------


def summarize_level(
    records: Sequence[Mapping],
    slo: Mapping[str, float] | None = None,
    warmup: tuple[str, float] | None = None,
    cooldown: tuple[str, float] | None = None,
) -> dict:
    """Everything tokenfab reports for one load level, from that level's request records: tokenfab's names, the
    same metrics under vLLM's names (:func:`vllm_fields`), schedule lag, token-count checks and warnings."""
    all_n = len(records)
    records, ex_w, ex_c = steady_state(records, warmup, cooldown)
    ok = [r for r in records if r.get("status") == "ok"]
    failed = [r for r in records if r.get("status") != "ok"]
    duration = benchmark_duration_s(records)
    in_tok = sum(r.get("input_tokens") or 0 for r in ok)
    out_tok = sum(r.get("output_tokens") or 0 for r in ok)
    tpots = [record_tpot_ms(r) for r in ok]
    intvty = [interactivity_tokens_per_s(t) for t in tpots]
    itls = [r.get("itl_ms") or [] for r in ok]
    out: dict = {
        "requests": len(records),
        "requests_ok": len(ok),
        "requests_failed": len(failed),
        "errors": dict(sorted(Counter(r.get("error_kind") or "unknown" for r in failed).items())),
        "duration_s": duration,
        "input_tokens": in_tok,
        "output_tokens": out_tok,
        "request_throughput_per_s": tokens_per_s(len(ok), duration),
        "output_tokens_per_s": tokens_per_s(out_tok, duration),
        "total_tokens_per_s": tokens_per_s(in_tok + out_tok, duration),
    }
    out.update(describe((r.get("ttft_ms") for r in ok), "ttft_ms"))
    out.update(describe(tpots, "tpot_ms"))
    out.update(describe((r.get("e2el_ms") for r in ok), "e2el_ms"))
    out.update(describe(itl_pooled_ms(itls), "itl_ms"))
    out.update(describe(itl_per_request_mean_ms(itls), "itl_ms_per_request_mean"))
    sched = [r.get("ttft_ms_from_schedule") for r in ok]
    if any(v is not None for v in sched):
        out.update(describe(sched, "ttft_ms_from_schedule"))
        out.update(describe((r.get("e2el_ms_from_schedule") for r in ok), "e2el_ms_from_schedule"))
    lag = [r.get("schedule_lag_ms", r.get("send_lag_ms")) for r in records]
    if any(v is not None for v in lag):
        out.update(describe(lag, "schedule_lag_ms"))
    out["tokens_per_s_per_user"] = percentile([v for v in intvty if v is not None], 50)
    vals = [v for v in intvty if v is not None]
    out["tokens_per_s_per_user_mean"] = float(np.mean(vals)) if vals else None
    out["tpot_excluded_requests"] = sum(1 for t in tpots if t is None)
    out["token_count_source"] = dict(sorted(Counter(r.get("token_count_source") or "none" for r in ok).items()))
    from_chunks = out["token_count_source"].get("chunks", 0)
    out["token_counts_from_chunks"] = from_chunks
    out["usage_vs_chunks"] = usage_vs_chunks(ok)
    warnings = []
    if from_chunks:
        warnings.append(
            f"{from_chunks} of {len(ok)} requests had no usage field and no --tokenizer: their output "
            "tokens are counted as one per streamed chunk, which undercounts (and makes TPOT and tokens/s "
            "wrong) when the server sends several tokens per chunk; pass --tokenizer tokenizer.json"
        )
    one_chunk = sum(1 for r in ok if one_chunk_reply(r))
    if one_chunk:
        warnings.append(
            f"{one_chunk} of {len(ok)} requests arrived in one chunk holding several tokens (the server did not "
            "stream them): their TTFT is the whole reply's time, their TPOT and ITL were never observed (left out; "
            "a TPOT SLO counts them as misses)"
        )
    bad_usage = [r for r in ok if isinstance(r.get("usage_rejected"), dict) and r["usage_rejected"]]
    if bad_usage:
        keys = sorted({k for r in bad_usage for k in r["usage_rejected"]})
        warnings.append(
            f"{len(bad_usage)} of {len(ok)} requests reported usage counts that cannot be true ({', '.join(keys)}: "
            "negative, above 10 million, not whole, or 0 beside streamed text): counted from the tokenizer, the "
            "streamed chunks or the prompt sent instead"
        )
    uvc = out["usage_vs_chunks"]
    if uvc and uvc["tokens_per_chunk"] is not None and abs(uvc["tokens_per_chunk"] - 1) > 0.05:
        warnings.append(
            f"the server sent {uvc['tokens_per_chunk']:.2f} tokens per chunk (usage vs chunks): ITL is per "
            "chunk, not per token; TPOT uses usage and is per token"
        )
    if (ex_w or ex_c) and ex_w + ex_c >= all_n:  # nothing left to measure: say so rather than show zeros
        warnings.append(
            f"--exclude-warmup / --exclude-cooldown left out every request of this level ({ex_w} + {ex_c} of "
            f"{all_n}): its figures measure nothing; exclude fewer"
        )
    out["warnings"] = warnings
    if ex_w or ex_c:
        out["excluded"] = {"warmup": ex_w, "cooldown": ex_c, "of": all_n}
    if slo:
        out["goodput"] = goodput(records, slo, duration)
    out["vllm"] = vllm_fields(ok, len(failed), duration, slo, per_second_peaks(records))
    return out
