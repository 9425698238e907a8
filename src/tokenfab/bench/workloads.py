"""What each request asks for: the workloads (prompts, lengths, sessions) of a benchmark.

A workload turns (level, job index) into a :class:`JobPlan`: one or more turns, each with its new user text, the
input tokens the source vouches for and ``max_tokens``. A job of several turns is a session: turn k is sent
``think_time_s`` after turn k-1 ended, with the conversation so far (the replies the server actually sent) as
history, so a server's prefix cache sees what a chat user gives it.

* ``random``: n words of the one-token word list (exact for the big BPE vocabularies; see :mod:`.prompts`) or, with
  a ``tokenizer.json``, text of exactly n tokens; lengths from ``--isl``/``--osl``/``--length-dist``.
* ``conversations``: the bundled ShareGPT-like conversation set (``data/bench/conversations.jsonl``, Apache-2.0, see
  its README) or a JSONL of the same shape; the first user turn is the prompt and the reply's length the output
  length (``vllm bench serve --dataset-name sharegpt``); with ``--turns T`` up to T user turns per session.
* ``prefix``: shared-prefix groups for prompt-cache measurements: ``groups`` prefixes of ``prefix_tokens`` tokens;
  each request takes its group's prefix with probability ``hit_rate`` (else a prefix of its own, a miss) and adds
  ``isl - prefix_tokens`` tokens of its own.
* ``trace``: replay a JSONL of ``{"timestamp_s", "input_tokens", "output_tokens", "session"}`` rows at their times.
  Calls of one session share their beginning (each call's prompt is the first ``input_tokens`` words of that
  session's text), as an agent's calls re-send the growing context. An agentic coding trace ships as
  ``data/bench/agentic_coding_trace.jsonl``.

Every prompt is reproducible from (seed, level, index).
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Protocol, cast

from tokenfab.bench.prompts import ONE_TOKEN_WORDS, PromptSource, draw_length, parse_length_dist
from tokenfab.core.errors import TokenfabError

WORKLOADS = ("random", "conversations", "prefix", "trace")
MAX_TURNS = 64
MAX_DATASET_ROWS = 200_000  # rows read from a user's JSONL (conversations or trace)
MAX_TEXT_CHARS = 200_000  # one turn's text in a user's JSONL
MAX_TOKENS_PER_REQUEST = 1_000_000
DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "bench"
BUNDLED_CONVERSATIONS = DATA_DIR / "conversations.jsonl"
BUNDLED_TRACE = DATA_DIR / "agentic_coding_trace.jsonl"


@dataclass
class TurnPlan:
    text: str  # the new user text of this turn (the whole prompt for a single turn)
    tokens: int  # input tokens of ``text`` the source vouches for
    token_source: str
    max_tokens: int
    think_time_s: float = 0.0  # wait after the previous turn of the session ended
    meta: dict = field(default_factory=dict)  # recorded with the request (prefix group, conversation id, ...)


@dataclass
class JobPlan:
    index: int
    turns: list[TurnPlan]
    offset_s: float | None = None  # trace replay: the send time from the trace (seconds from its start)


class Workload(Protocol):
    """What the client needs of a workload: the plan of job ``index`` at a level (``tag``) for a seed."""

    def job(self, tag: str, seed: int, index: int) -> JobPlan: ...


def _word_text(n: int, rng: random.Random) -> str:
    return " ".join(rng.choices(ONE_TOKEN_WORDS, k=n))


def _check_int(name: str, v: int, lo: int, hi: int) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise TokenfabError("out of range", field=name, expected=f"a whole number in [{lo}, {hi}]", got=v)
    return v


class RandomWorkload:
    """Random word prompts of ``isl`` tokens, ``osl`` output tokens (drawn per ``length_dist``)."""

    name = "random"

    def __init__(
        self,
        source: PromptSource,
        *,
        isl: int,
        osl: int,
        length_dist: str = "fixed",
        turns: int = 1,
        think_time_s: float = 0.0,
    ) -> None:
        self.source, self.isl, self.osl, self.turns, self.think_time_s = source, isl, osl, turns, think_time_s
        self.low = parse_length_dist(length_dist)

    def job(self, tag: str, seed: int, index: int) -> JobPlan:
        turns = []
        for k in range(self.turns):
            key = f"{seed}:{tag}:{index}" if k == 0 else f"{seed}:{tag}:{index}:t{k}"
            rng = random.Random(key)
            isl = draw_length(self.isl, self.low, rng)
            osl = draw_length(self.osl, self.low, rng)
            p = self.source.make(isl, rng)
            turns.append(TurnPlan(p.text, p.tokens, p.token_source, osl, self.think_time_s if k else 0.0))
        return JobPlan(index, turns)


def _read_jsonl(path: Path, field_name: str) -> list[dict]:
    if not path.is_file():
        raise TokenfabError("file not found", field=field_name, expected="a JSONL file", got=str(path))
    rows: list[dict] = []
    with path.open(encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            if len(rows) >= MAX_DATASET_ROWS:
                raise TokenfabError(
                    "too many rows", field=field_name, expected=f"<= {MAX_DATASET_ROWS} rows", got=str(path)
                )
            try:
                obj = json.loads(line)
            except (ValueError, RecursionError):
                raise TokenfabError(f"line {n} is not JSON", field=field_name, got=line[:80]) from None
            if not isinstance(obj, dict):
                raise TokenfabError(f"line {n} is not a JSON object", field=field_name, got=line[:80])
            if "_meta" in obj:
                continue
            rows.append(obj)
    if not rows:
        raise TokenfabError("no rows", field=field_name, expected="at least one JSON object per line", got=str(path))
    return rows


def _text(v: object, field_name: str, where: str) -> str:
    if not isinstance(v, str) or not v.strip():
        raise TokenfabError(f"{where}: text must be a non-empty string", field=field_name, got=str(v)[:60])
    return v[:MAX_TEXT_CHARS]


_ROLE_ALIASES: dict[object, str] = {"human": "user", "gpt": "assistant", "chatgpt": "assistant"}


@lru_cache(maxsize=8)
def load_conversations(path: str | None = None) -> tuple[tuple[tuple[str, str], ...], ...]:
    """Conversations as tuples of (role, text), roles alternating user/assistant, each starting with a user turn.

    Accepts tokenfab's shape ``{"id", "turns": [{"role": "user"|"assistant", "text"}]}`` and ShareGPT's
    ``{"conversations": [{"from": "human"|"gpt", "value"}]}``. Conversations without a user turn followed by a reply
    are skipped (as vLLM skips ShareGPT rows with fewer than two turns)."""
    p = Path(path) if path else BUNDLED_CONVERSATIONS
    field_name = "--dataset"
    out = []
    for i, row in enumerate(_read_jsonl(p, field_name)):
        raw = row.get("turns", row.get("conversations"))
        if not isinstance(raw, list):
            raise TokenfabError(
                f"row {i + 1} has no list of turns",
                field=field_name,
                expected='{"turns": [{"role": "user", "text": ...}, ...]}',
                got=str(row)[:80],
            )
        turns: list[tuple[str, str]] = []
        for t in raw[: 2 * MAX_TURNS]:
            if not isinstance(t, dict):
                continue
            role = t.get("role", t.get("from"))
            role = _ROLE_ALIASES.get(role, role) if isinstance(role, str) else None  # a list or number: not a role
            if role not in ("user", "assistant"):
                continue
            text = _text(t.get("text", t.get("value")), field_name, f"row {i + 1}")
            if turns and turns[-1][0] == role:
                continue  # keep the alternation
            if not turns and role != "user":
                continue
            turns.append((role, text))
        if len(turns) >= 2:
            out.append(tuple(turns[: len(turns) // 2 * 2]))
    if not out:
        raise TokenfabError("no conversation with a user turn and a reply", field=field_name, got=str(p))
    return tuple(out)


class ConversationWorkload:
    """Prompts and output lengths from a conversation set; ``turns`` > 1 replays that many user turns per session."""

    name = "conversations"

    def __init__(
        self,
        source: PromptSource,
        *,
        dataset: str | None = None,
        turns: int = 1,
        think_time_s: float = 0.0,
        osl: int | None = None,
    ) -> None:
        self.source, self.turns, self.think_time_s, self.osl = source, turns, think_time_s, osl
        self.convs = load_conversations(dataset)
        self.count = getattr(source, "count", lambda text: None)

    def _tokens(self, text: str) -> tuple[int, str]:
        n = self.count(text)
        return (n, "tokenizer") if n is not None else (max(1, len(text.split())), "word_count")

    def job(self, tag: str, seed: int, index: int) -> JobPlan:
        # a permutation of the set per (seed): requests walk it in order, so a level sees each conversation once
        order = _permutation(len(self.convs), seed)
        ci = order[index % len(self.convs)]
        conv = self.convs[ci]
        turns = []
        for k in range(min(self.turns, len(conv) // 2)):
            user, reply = conv[2 * k][1], conv[2 * k + 1][1]
            n_in, src = self._tokens(user)
            n_out = self.osl if self.osl is not None else max(1, self._tokens(reply)[0])
            turns.append(
                TurnPlan(
                    user,
                    n_in,
                    src,
                    min(n_out, MAX_TOKENS_PER_REQUEST),
                    self.think_time_s if k else 0.0,
                    {"conversation": ci},
                )
            )
        return JobPlan(index, turns)


@lru_cache(maxsize=16)
def _permutation(n: int, seed: int) -> tuple[int, ...]:
    idx = list(range(n))
    random.Random(f"{seed}:conversations").shuffle(idx)
    return tuple(idx)


class PrefixWorkload:
    """Shared-prefix groups: ``groups`` prefixes of ``prefix_tokens`` tokens; a request uses its group's prefix with
    probability ``hit_rate`` (else one of its own), then ``isl - prefix_tokens`` tokens of its own."""

    name = "prefix"

    def __init__(
        self,
        source: PromptSource,
        *,
        isl: int,
        osl: int,
        prefix_tokens: int,
        groups: int,
        hit_rate: float,
        length_dist: str = "fixed",
    ) -> None:
        if not 1 <= prefix_tokens < isl:
            raise TokenfabError(
                "the shared prefix must be shorter than the prompt",
                field="--prefix-tokens",
                expected=f"1 <= tokens < --isl ({isl})",
                got=prefix_tokens,
            )
        self.source, self.isl, self.osl = source, isl, osl
        self.prefix_tokens, self.groups, self.hit_rate = prefix_tokens, groups, hit_rate
        self.low = parse_length_dist(length_dist)
        self._prefixes: dict[tuple[int, int], tuple[str, int]] = {}

    def _prefix(self, seed: int, group: int) -> tuple[str, int]:
        key = (seed, group)
        if key not in self._prefixes:
            p = self.source.make(self.prefix_tokens, random.Random(f"{seed}:prefix:{group}"))
            self._prefixes[key] = (p.text, p.tokens)
        return self._prefixes[key]

    def job(self, tag: str, seed: int, index: int) -> JobPlan:
        rng = random.Random(f"{seed}:{tag}:{index}")
        group = rng.randrange(self.groups)
        hit = rng.random() < self.hit_rate
        if hit:
            prefix, n_prefix = self._prefix(seed, group)
        else:
            p = self.source.make(self.prefix_tokens, rng)
            prefix, n_prefix = p.text, p.tokens
        isl = draw_length(self.isl, self.low, rng)
        osl = draw_length(self.osl, self.low, rng)
        suffix = self.source.make(max(1, isl - self.prefix_tokens), rng)
        meta = {"prefix_group": group if hit else None, "prefix_hit": hit, "prefix_tokens": n_prefix}
        return JobPlan(
            index, [TurnPlan(prefix + " " + suffix.text, n_prefix + suffix.tokens, suffix.token_source, osl, 0.0, meta)]
        )


@dataclass(frozen=True)
class TraceRow:
    timestamp_s: float
    input_tokens: int
    output_tokens: int
    session: str


def parse_trace_rows(rows: list[dict], field_name: str = "--trace") -> list[TraceRow]:
    """Validated trace rows sorted by time; timestamps are made relative to the first."""
    out = []
    for i, r in enumerate(rows):
        try:
            ts = float(r.get("timestamp_s", r.get("timestamp")))  # type: ignore[arg-type]  # None: TypeError below
            n_in, n_out = r.get("input_tokens"), r.get("output_tokens")
            ok = (
                math.isfinite(ts)
                and ts >= 0
                and isinstance(n_in, int)
                and isinstance(n_out, int)
                and not isinstance(n_in, bool)
                and not isinstance(n_out, bool)
                and 1 <= n_in <= MAX_TOKENS_PER_REQUEST
                and 1 <= n_out <= MAX_TOKENS_PER_REQUEST
            )
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise TokenfabError(
                f"row {i + 1} is not a trace row",
                field=field_name,
                expected='{"timestamp_s": >= 0, "input_tokens": 1..1e6, "output_tokens": 1..1e6, "session": optional}',
                got=str(r)[:100],
            )
        # ok: both counts are ints (checked above)
        out.append(TraceRow(ts, cast(int, n_in), cast(int, n_out), str(r.get("session", f"row{i}"))[:200]))
    out.sort(key=lambda x: x.timestamp_s)
    t0 = out[0].timestamp_s
    return [TraceRow(x.timestamp_s - t0, x.input_tokens, x.output_tokens, x.session) for x in out]


class TraceWorkload:
    """Replays trace rows; the level is the speed-up (2 = twice as fast as recorded)."""

    name = "trace"

    def __init__(self, source: PromptSource, *, trace: str | None = None) -> None:
        self.source = source
        self.path = Path(trace) if trace else BUNDLED_TRACE
        self.rows = parse_trace_rows(_read_jsonl(self.path, "--trace"))
        self._session_text: dict[tuple[int, str], tuple[str, ...]] = {}

    def __len__(self) -> int:
        return len(self.rows)

    def _words(self, seed: int, session: str, n: int) -> str:
        key = (seed, session)
        words = self._session_text.get(key, ())
        if len(words) < n:
            rng = random.Random(f"{seed}:session:{session}:{len(words)}")
            words = words + tuple(rng.choices(ONE_TOKEN_WORDS, k=max(n - len(words), 1024)))
            self._session_text[key] = words
        return " ".join(words[:n])

    def job(self, tag: str, seed: int, index: int) -> JobPlan:
        r = self.rows[index]
        text = self._words(seed, r.session, r.input_tokens)
        src = getattr(self.source, "token_source", "word_list")
        return JobPlan(
            index,
            [
                TurnPlan(
                    text,
                    r.input_tokens,
                    "word_list" if src == "word_list" else "word_count",
                    r.output_tokens,
                    0.0,
                    {"session": r.session},
                )
            ],
            offset_s=r.timestamp_s,
        )


def make_workload(
    name: str,
    source: PromptSource,
    *,
    isl: int | None,
    osl: int | None,
    length_dist: str = "fixed",
    turns: int = 1,
    think_time_s: float = 0.0,
    dataset: str | None = None,
    prefix_tokens: int = 0,
    prefix_groups: int = 1,
    prefix_hit_rate: float = 1.0,
    trace: str | None = None,
) -> RandomWorkload | ConversationWorkload | PrefixWorkload | TraceWorkload:
    """The workload object for ``--workload NAME`` (validated)."""
    if name not in WORKLOADS:
        raise TokenfabError("unknown workload", field="--workload", expected=", ".join(WORKLOADS), got=name)
    _check_int("--turns", turns, 1, MAX_TURNS)
    if not (isinstance(think_time_s, (int, float)) and math.isfinite(think_time_s) and 0 <= think_time_s <= 3600):
        raise TokenfabError("out of range", field="--think-time-s", expected="seconds in [0, 3600]", got=think_time_s)
    if name == "random":
        return RandomWorkload(
            source, isl=isl or 1024, osl=osl or 1024, length_dist=length_dist, turns=turns, think_time_s=think_time_s
        )
    if name == "conversations":
        return ConversationWorkload(source, dataset=dataset, turns=turns, think_time_s=think_time_s, osl=osl)
    if name == "prefix":
        _check_int("--prefix-groups", prefix_groups, 1, 100_000)
        if not (isinstance(prefix_hit_rate, (int, float)) and 0 <= prefix_hit_rate <= 1):
            raise TokenfabError(
                "out of range", field="--prefix-hit-rate", expected="a fraction in [0, 1]", got=prefix_hit_rate
            )
        return PrefixWorkload(
            source,
            isl=isl or 1024,
            osl=osl or 1024,
            prefix_tokens=prefix_tokens,
            groups=prefix_groups,
            hit_rate=float(prefix_hit_rate),
            length_dist=length_dist,
        )
    return TraceWorkload(source, trace=trace)
