"""Serving metrics as pure functions over per-request records (definitions: shared/reference/metrics.md).

A record is a dict as written to the JSONL (see :mod:`tokenfab.bench.records`): ``status`` ("ok" or "error"),
``ttft_ms``, ``e2el_ms``, ``tpot_ms``, ``itl_ms`` (list of gaps), ``input_tokens``, ``output_tokens``,
``t_start``/``t_end`` (wall-clock seconds) and ``session_id``. Times are in milliseconds unless the name says
otherwise. Percentiles use linear interpolation (``numpy.percentile``'s default, as ``vllm bench serve``).
"""
from __future__ import annotations

import math
from collections import Counter
from typing import Iterable, Mapping, Sequence

import numpy as np

from tokenfab.core import units
from tokenfab.core.errors import TokenfabError

PERCENTILES = (50, 90, 99)

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
}

SLO_KEYS = ("ttft", "tpot", "e2el")


# ---- per request ---------------------------------------------------------------------------------------------

def tpot_ms(ttft_ms: float | None, e2el_ms: float | None, output_tokens: int | None) -> float | None:
    """(E2EL - TTFT) / (output_tokens - 1); None when undefined (<= 1 output token or a missing time)."""
    if ttft_ms is None or e2el_ms is None or output_tokens is None or output_tokens <= 1:
        return None
    return (e2el_ms - ttft_ms) / (output_tokens - 1)


def interactivity_tokens_per_s(tpot_ms_value: float | None) -> float | None:
    """Tokens/s one user sees: 1000 / TPOT_ms (InferenceX's interactivity); None when TPOT is undefined or 0."""
    if tpot_ms_value is None or tpot_ms_value <= 0:
        return None
    return units.MS_PER_S / tpot_ms_value


def itl_gaps_ms(chunk_times_s: Sequence[float]) -> list[float]:
    """Gaps between successive output chunks, in ms, from their arrival times in seconds."""
    return [(b - a) * units.MS_PER_S for a, b in zip(chunk_times_s, chunk_times_s[1:])]


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

def percentile(values: Sequence[float], q: float) -> float | None:
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


def parse_slo(spec: str | None) -> dict[str, float]:
    """``"ttft:2000,tpot:50"`` -> ``{"ttft": 2000.0, "tpot": 50.0}`` (milliseconds; keys ttft, tpot, e2el)."""
    if not spec:
        return {}
    out: dict[str, float] = {}
    for part in spec.split(","):
        key, sep, val = part.strip().partition(":")
        key = key.strip().lower().removesuffix("_ms")
        try:
            ms = float(val)
        except ValueError:
            ms = float("nan")
        if not sep or key not in SLO_KEYS or not ms > 0:
            raise TokenfabError("bad SLO", field="--slo", expected="KEY:MS pairs like ttft:2000,tpot:50 with KEY in "
                                + ", ".join(SLO_KEYS), got=part.strip())
        out[key] = ms
    return out


def meets_slo(record: Mapping, slo: Mapping[str, float]) -> bool:
    """True when the request succeeded and every SLO holds; an undefined TPOT (<= 1 token) meets a TPOT SLO."""
    if record.get("status") != "ok":
        return False
    for key, limit_ms in slo.items():
        value = record.get(f"{key}_ms")
        if value is None and key == "tpot":
            continue
        if value is None or value > limit_ms:
            return False
    return True


def goodput(records: Sequence[Mapping], slo: Mapping[str, float], duration_s: float) -> dict:
    """Goodput (requests/s and output tokens/s meeting every SLO) and SLO attainment; failures count as misses."""
    good = [r for r in records if meets_slo(r, slo)]
    n = len(records)
    return {
        "slo": dict(slo),
        "requests_meeting_slo": len(good),
        "slo_attainment": len(good) / n if n else None,
        "goodput_requests_per_s": tokens_per_s(len(good), duration_s),
        "goodput_output_tokens_per_s": tokens_per_s(sum(r.get("output_tokens") or 0 for r in good), duration_s),
    }


# ---- one level ---------------------------------------------------------------------------------------------

def summarize_level(records: Sequence[Mapping], slo: Mapping[str, float] | None = None) -> dict:
    """Everything tokenfab reports for one concurrency or rate level, from that level's request records."""
    ok = [r for r in records if r.get("status") == "ok"]
    failed = [r for r in records if r.get("status") != "ok"]
    duration = benchmark_duration_s(records)
    in_tok = sum(r.get("input_tokens") or 0 for r in ok)
    out_tok = sum(r.get("output_tokens") or 0 for r in ok)
    tpots = [r.get("tpot_ms") for r in ok]
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
    out["tokens_per_s_per_user"] = percentile([v for v in intvty if v is not None], 50)
    vals = [v for v in intvty if v is not None]
    out["tokens_per_s_per_user_mean"] = float(np.mean(vals)) if vals else None
    out["tpot_excluded_requests"] = sum(1 for t in tpots if t is None)
    out["token_count_source"] = dict(sorted(Counter(r.get("token_count_source") or "none" for r in ok).items()))
    if slo:
        out["goodput"] = goodput(records, slo, duration)
    return out
