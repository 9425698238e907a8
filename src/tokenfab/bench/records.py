"""Per-request records: one JSON object per line, appended and flushed as each request finishes.

A run is identified by ``run_id``, a hash of the settings that define what is measured (URL, model, endpoint,
workload, lengths, load levels, request count or duration, seed, ...; never the API key): a new load level is a new
run. ``--resume`` reads the file back,
keeps the records of the same ``run_id`` and skips their ``request_id`` s: an interrupted run loses at most the
requests that were in flight. Every record written by one process carries the same ``session_id``, so the benchmark
duration of a resumed run is the sum of each session's span (see :func:`tokenfab.bench.metrics.benchmark_duration_s`).

Flushing hands each line to the operating system, so it survives the process being killed (not a power cut).
"""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path

from tokenfab.core.errors import TokenfabError

# every record holds at least these (the JSONL contract); failed requests hold None for the times
REQUIRED_FIELDS = ("status", "ttft_ms", "tpot_ms", "e2el_ms", "input_tokens", "output_tokens", "token_count_source")


def run_id(settings: Mapping) -> str:
    """A stable 16-hex-digit id of a run's defining settings (order-independent)."""
    blob = json.dumps(settings, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def new_session_id() -> str:
    return uuid.uuid4().hex[:12]


class RecordWriter:
    """Appends records to a JSONL file, one flushed line each. ``secrets`` are masked if they ever appear."""

    def __init__(self, path: str | Path, secrets: Iterable[str] = ()):
        self.path = Path(path)
        self._secrets = [s for s in secrets if s]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        needs_newline = False
        if self.path.exists() and self.path.stat().st_size > 0:
            with self.path.open("rb") as f:
                f.seek(-1, 2)
                needs_newline = f.read(1) != b"\n"  # a line cut by a kill: start ours on a fresh line
        self._f = self.path.open("a", encoding="utf-8")
        if needs_newline:
            self._f.write("\n")
        self.written = 0

    def write(self, record: Mapping) -> None:
        line = json.dumps(record, separators=(",", ":"), allow_nan=False, default=str)
        for s in self._secrets:
            line = line.replace(s, "***")
        self._f.write(line + "\n")
        self._f.flush()
        self.written += 1

    def close(self) -> None:
        if not self._f.closed:
            self._f.close()

    def __enter__(self) -> RecordWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_NUMBER_FIELDS = (
    "ttft_ms",
    "tpot_ms",
    "e2el_ms",
    "ttft_ms_from_schedule",
    "e2el_ms_from_schedule",
    "schedule_lag_ms",
    "send_lag_ms",
    "t_scheduled",
    "t_start",
    "t_first_token",
    "t_end",
    "trace_speed",
    "rate_end",
)
_COUNT_FIELDS = ("input_tokens", "output_tokens", "chunks", "index", "concurrency", "http_status")
MAX_ITL_GAPS = 1_000_000


def _finite(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def clean_record(obj: dict) -> dict:
    """A record read from a file, made safe for the statistics: numbers that are not finite numbers become None,
    counts that are not non-negative whole numbers become None, ``itl_ms`` keeps finite gaps only, ``status`` is
    "ok" only when it says so, and a ``rate`` is a positive number or "inf"."""
    r = dict(obj)
    for k in _NUMBER_FIELDS:
        if k in r and not _finite(r[k]):
            r[k] = None
    for k in _COUNT_FIELDS:
        if k in r and not (isinstance(r[k], int) and not isinstance(r[k], bool) and r[k] >= 0):
            r[k] = None
    itl = r.get("itl_ms")
    r["itl_ms"] = [g for g in itl[:MAX_ITL_GAPS] if _finite(g)] if isinstance(itl, list) else []
    if r.get("status") != "ok":
        r["status"] = "error"
    if not isinstance(r.get("mode"), str):
        r["mode"] = None
    rate = r.get("rate")
    if rate is not None and rate != "inf" and not (_finite(rate) and rate > 0):
        r["rate"] = None
    for k in ("run_id", "session_id", "error_kind", "token_count_source"):
        if k in r and r[k] is not None and not isinstance(r[k], str):
            r[k] = str(r[k])[:200]
    return r


def parse_records(lines: Iterable[str]) -> tuple[list[dict], int]:
    """Records from JSONL lines, and the number of non-blank lines that are not a record (e.g. one cut by a kill)."""
    records, bad = [], 0
    for line in lines:
        line = line.strip()
        if not line:
            continue
        try:
            obj = json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            bad += 1
            continue
        if isinstance(obj, dict) and isinstance(obj.get("request_id"), str):
            records.append(clean_record(obj))
        else:
            bad += 1
    return records, bad


def read_records(path: str | Path) -> tuple[list[dict], int]:
    """All records in a JSONL file and the number of lines that could not be read (see :func:`parse_records`)."""
    p = Path(path)
    if not p.is_file():
        raise TokenfabError(
            "file not found", field="results", expected="a JSONL file written by tokenfab bench", got=str(p)
        )
    with p.open(encoding="utf-8", errors="replace") as f:
        return parse_records(f)


def completed_request_ids(records: Iterable[Mapping], run: str) -> set[str]:
    """Request ids of ``run`` that already have a record (succeeded or failed: both are final outcomes)."""
    return {r["request_id"] for r in records if r.get("run_id") == run}


def level_key(record: Mapping) -> tuple:
    """(run_id, mode, level) a record belongs to."""
    mode = record.get("mode")
    if mode == "closed":
        return (record.get("run_id"), mode, record.get("concurrency"))
    if mode == "trace":
        return (record.get("run_id"), mode, record.get("trace_speed"))
    return (record.get("run_id"), mode, record.get("rate"))


def group_by_level(records: Iterable[Mapping]) -> dict[tuple, list[dict]]:
    """Records grouped by (run_id, mode, level), in first-seen order."""
    out: dict[tuple, list[dict]] = {}
    for r in records:
        out.setdefault(level_key(r), []).append(dict(r))
    return out
