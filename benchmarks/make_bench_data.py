"""Writes the bundled benchmark data: src/tokenfab/data/bench/conversations.jsonl and agentic_coding_trace.jsonl.

Both are synthetic and original to tokenfab (Apache-2.0, as the project): no text or timing is copied from ShareGPT
or any trace. The conversation set imitates the *shape* of ShareGPT-style chat data that serving benchmarks use:
mostly one or two user turns, some long sessions, user messages from a few words to several hundred, replies
usually longer than the question (log-normal lengths). The text is composed from sentence templates written for this
script, filled with topic words, so every conversation is distinct and readable but carries no real content. The
agentic coding trace imitates a coding agent: sessions that start with a large context (system prompt and repository
files), grow with each tool result, and produce short to medium outputs, with tool run time between calls.

Deterministic (seeded): python benchmarks/make_bench_data.py rewrites the same files.
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "src" / "tokenfab" / "data" / "bench"
AS_OF = "2026-12-04"
N_CONVERSATIONS = 240

TOPICS = {
    "cooking": [
        "sourdough starter",
        "cast iron pan",
        "risotto",
        "spice blend",
        "knife sharpening",
        "fermented hot sauce",
        "pressure cooker",
        "pie crust",
        "stock from bones",
        "weeknight curry",
    ],
    "travel": [
        "night train",
        "carry-on bag",
        "mountain hut",
        "city pass",
        "jet lag",
        "coastal road trip",
        "hostel",
        "ferry timetable",
        "travel insurance",
        "walking tour",
    ],
    "programming": [
        "race condition",
        "database index",
        "unit test",
        "memory leak",
        "REST endpoint",
        "regular expression",
        "build cache",
        "type checker",
        "retry policy",
        "log rotation",
    ],
    "gardening": [
        "tomato seedlings",
        "compost heap",
        "raised bed",
        "aphids",
        "drip irrigation",
        "pruning shears",
        "clay soil",
        "cover crop",
        "seed catalogue",
        "shade garden",
    ],
    "finance": [
        "emergency fund",
        "index fund",
        "household budget",
        "mortgage rate",
        "pension plan",
        "invoice",
        "currency exchange",
        "tax return",
        "savings goal",
        "credit card fee",
    ],
    "fitness": [
        "interval run",
        "rest day",
        "squat form",
        "rowing machine",
        "stretching routine",
        "protein intake",
        "marathon plan",
        "resistance band",
        "heart rate zone",
        "morning swim",
    ],
    "writing": [
        "short story",
        "opening line",
        "cover letter",
        "grant proposal",
        "book outline",
        "dialogue scene",
        "style guide",
        "newsletter",
        "poem draft",
        "product description",
    ],
    "science": [
        "photosynthesis",
        "tidal force",
        "enzyme",
        "plate tectonics",
        "black hole",
        "immune response",
        "greenhouse effect",
        "battery chemistry",
        "bird migration",
        "prime number",
    ],
    "music": [
        "chord progression",
        "metronome",
        "guitar string",
        "sight reading",
        "home studio",
        "drum pattern",
        "choir part",
        "piano pedal",
        "ear training",
        "song bridge",
    ],
    "home": [
        "leaking tap",
        "paint colour",
        "bookshelf",
        "draughty window",
        "smoke alarm",
        "laundry schedule",
        "boiler pressure",
        "tile grout",
        "extension cable",
        "storage boxes",
    ],
}

ASKS = [
    "How do I get started with a {t}?",
    "What is the best way to deal with a {t}?",
    "Can you explain how a {t} works in simple terms?",
    "I keep having trouble with my {t}. What am I doing wrong?",
    "Could you compare a {t} with a {u} for a beginner?",
    "Write a short checklist for a {t}.",
    "What should I know before I spend money on a {t}?",
    "Give me three ideas that involve a {t} and a {u}.",
    "Is it worth learning about {t} if I only have an hour a week?",
    "Summarise the main risks of a {t}.",
]
CONTEXT = [
    "I have tried a couple of things already and none of them stuck.",
    "My budget is small, so cheap options are better.",
    "I am a complete beginner and would like plain language.",
    "I have about a month before I need this to work.",
    "A friend told me the {u} matters more than the {t}, but I am not sure.",
    "Last time the {t} went badly and I want to avoid repeating that.",
    "I live in a small flat with little space.",
    "I would like to understand the reason behind each step, not only the steps.",
    "Please keep the answer practical; I will try it this weekend.",
    "I am doing this with two children helping.",
]
FOLLOWUPS = [
    "Thanks. What about the {u}?",
    "That helps. Can you go into more detail on the second point?",
    "What if the {t} still does not behave after that?",
    "Could you shorten that into a few lines I can print?",
    "Is there a common mistake people make at this stage?",
    "How would this change if I had twice the time?",
    "Can you give an example with real numbers?",
    "OK, and how do I know when it is done right?",
]
OPEN = [
    "Good question.",
    "Here is a practical way to think about it.",
    "Short answer first, then the details.",
    "There are a few things worth separating here.",
    "This depends on a couple of factors, so let us go step by step.",
]
BODY = [
    "Start with the {t} itself: keep it simple and change one thing at a time so you can see what helps.",
    "The {u} is often the part people overlook, and it affects the result more than it seems.",
    "A useful rule of thumb is to spend the first session observing rather than fixing.",
    "If something goes wrong, write down what you changed and when; patterns show up after a few tries.",
    "Most problems with a {t} come from doing too much at once rather than from a lack of skill.",
    "Budget a little time for preparation, because rushing that stage tends to cost more later.",
    "When you compare options, look at what each one costs to keep going, not only what it costs to start.",
    "It helps to set a small, concrete goal, such as one improvement per week, and to check it honestly.",
    "People who succeed with a {t} usually keep a short routine and adjust it slowly.",
    "For the {u}, a cheap version is fine at first; upgrade only when you know what limits you.",
    "Be careful with advice that promises quick results; steady practice beats a clever trick.",
    "If you are unsure, try the safer option first and move on once you understand the trade-offs.",
    "A second opinion from someone who has done it before can save you a lot of trial and error.",
    "Keep notes in one place so that the next attempt starts where the last one ended.",
    "Timing matters: the same step done too early or too late gives a very different result.",
    "Think of the {t} and the {u} as one system; a change in one shows up in the other.",
]
LIST_ITEMS = [
    "check the {t} before you begin",
    "prepare the {u} in advance",
    "keep a simple record of each attempt",
    "set aside a fixed time slot",
    "ask for feedback after the first try",
    "review what worked at the end of the week",
    "replace one habit at a time",
    "measure before and after",
    "tidy up as you go",
    "stop while it is still going well",
]
CLOSE = [
    "Let me know how it goes and I can help you adjust.",
    "If you share more details I can be more specific.",
    "That should be enough to get you started.",
    "Happy to go deeper on any of these points.",
]


def _lognormal_int(rng: random.Random, median: float, sigma: float, lo: int, hi: int) -> int:
    return max(lo, min(hi, int(round(median * math.exp(rng.gauss(0, sigma))))))


def _fill(s: str, t: str, u: str) -> str:
    return s.replace("{t}", t).replace("{u}", u)


def _words(text: str) -> int:
    return len(text.split())


def user_text(rng: random.Random, t: str, u: str, target: int, first: bool) -> str:
    parts = [_fill(rng.choice(ASKS if first else FOLLOWUPS), t, u)]
    while _words(" ".join(parts)) < target:
        parts.append(_fill(rng.choice(CONTEXT + BODY), t, u))
    return " ".join(parts)


def reply_text(rng: random.Random, t: str, u: str, target: int) -> str:
    parts = [rng.choice(OPEN)]
    n = 0
    while _words(" ".join(parts)) < target:
        n += 1
        if n % 5 == 0:
            items = rng.sample(LIST_ITEMS, 3)
            parts.append(
                "\n" + "\n".join(f"{i + 1}. {_fill(x, t, u).capitalize()}." for i, x in enumerate(items)) + "\n"
            )
        else:
            parts.append(_fill(rng.choice(BODY), t, u))
    parts.append(rng.choice(CLOSE))
    return " ".join(parts)


def conversations() -> list[dict]:
    rng = random.Random(20261204)
    out = []
    for i in range(N_CONVERSATIONS):
        topic = rng.choice(sorted(TOPICS))
        t, u = rng.sample(TOPICS[topic], 2)
        n_turns = rng.choices([1, 2, 3, 4, 6, 8], weights=[45, 25, 12, 8, 6, 4])[0]
        turns = []
        for k in range(n_turns):
            turns.append(
                {
                    "role": "user",
                    "text": user_text(rng, t, u, _lognormal_int(rng, 35 if k else 60, 0.9, 4, 700), k == 0),
                }
            )
            turns.append({"role": "assistant", "text": reply_text(rng, t, u, _lognormal_int(rng, 140, 0.7, 12, 1200))})
        out.append({"id": f"tf-conv-{i:04d}", "topic": topic, "turns": turns})
    return out


def agentic_trace() -> list[dict]:
    """Sessions of a coding agent: big first context, growing with tool output, short outputs, tool time between."""
    rng = random.Random(7)
    rows = []
    t_session = 0.0
    for s in range(36):
        t_session += rng.expovariate(1 / 15.0)
        t = t_session
        context = _lognormal_int(rng, 6000, 0.4, 2500, 20000)
        for _call in range(_lognormal_int(rng, 12, 0.6, 3, 40)):
            out_tok = _lognormal_int(rng, 180, 0.9, 8, 2500)
            rows.append(
                {
                    "timestamp_s": round(t, 3),
                    "input_tokens": context,
                    "output_tokens": out_tok,
                    "session": f"agent-{s:03d}",
                }
            )
            tool_s = _lognormal_int(rng, 3, 1.0, 0, 60) + rng.random()
            t += out_tok * 0.02 + 0.4 + tool_s  # generation at ~50 tok/s, then the tool runs
            context += out_tok + _lognormal_int(rng, 900, 1.0, 30, 12000)  # the reply and the tool result join it
            if context > 60000:
                break
    rows.sort(key=lambda r: r["timestamp_s"])
    return rows


META = {"license": "Apache-2.0", "as_of": AS_OF, "generator": "benchmarks/make_bench_data.py"}


def _write_jsonl(path: Path, meta: dict, rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8") as f:
        f.write(json.dumps({"_meta": {**META, **meta}}) + "\n")
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    conv = conversations()
    _write_jsonl(
        OUT / "conversations.jsonl",
        {
            "source": "synthetic, original to tokenfab (ShareGPT-like in shape "
            "only: turn counts and length distributions)",
            "conversations": len(conv),
        },
        conv,
    )
    rows = agentic_trace()
    _write_jsonl(
        OUT / "agentic_coding_trace.jsonl",
        {
            "source": "synthetic agentic coding sessions, original to "
            "tokenfab: context grows with each tool result; tool "
            "time between calls",
            "rows": len(rows),
            "fields": "timestamp_s, input_tokens, output_tokens, session",
        },
        rows,
    )
    print(f"wrote {len(conv)} conversations and {len(rows)} trace rows to {OUT}")


if __name__ == "__main__":
    main()
