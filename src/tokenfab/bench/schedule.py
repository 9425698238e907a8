"""When requests are sent: open-loop arrival offsets, ramps, the sweep's rates (pure functions).

* :func:`arrival_offsets_s` draws the gaps of an arrival process (exponential for Poisson, gamma with shape K, or
  constant), adds them up and then scales them so the last request is sent at ``n / rate`` seconds, exactly as
  ``vllm bench serve`` does (vllm/benchmarks/serve.py ``get_request``: "the sum of the gamma gaps would have a 1-2%
  gap from target_total_delay_s ... re-scale ... for stabilizing the throughput data from different random
  seeds"). Without it ``--rate 10`` with the default seed and count offered 8.9 req/s.
* :func:`ramp_offsets_s`: the rate rises linearly from ``start`` to ``end`` over the requests (vLLM's linear
  ramp-up: request i is drawn at rate start + (end - start) * i / (n - 1)); not rescaled, as vLLM.
* :func:`sweep_rates`: guidellm's sweep: a synchronous run (one request at a time) and a throughput run (all at
  once) bound the rates; ``k`` rates evenly spaced between them are then measured.

Send times come from these offsets and a fixed start; a client that falls behind sends late, never drifts: each
request's lateness is recorded as ``schedule_lag_ms``.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

from tokenfab.core.errors import TokenfabError

MAX_RATE_PER_S = 100_000.0  # the most req/s a level may ask for (one process sends at most a few thousand)


def parse_arrival(spec: str | None) -> tuple[str, float]:
    """``poisson`` -> ("gamma", 1); ``constant`` -> ("constant", 0); ``gamma:K`` -> ("gamma", K) (K < 1 burstier)."""
    s = (spec or "poisson").strip().lower()
    if s == "poisson":
        return ("gamma", 1.0)
    if s == "constant":
        return ("constant", 0.0)
    if s.startswith("gamma:"):
        try:
            k = float(s.split(":", 1)[1])
        except ValueError:
            k = float("nan")
        if 0 < k <= 1e6:
            return ("gamma", k)
    raise TokenfabError(
        "unknown arrival process",
        field="--arrival",
        expected="poisson, constant or gamma:K with 0 < K <= 1e6",
        got=spec,
    )


def _gaps(n: int, rate_at: Callable[[int], float], kind: str, k: float, rng: random.Random) -> list[float]:
    out = []
    for i in range(n):
        r = rate_at(i)
        if math.isinf(r):
            out.append(0.0)
        elif kind == "constant":
            out.append(1.0 / r)
        else:
            out.append(rng.gammavariate(k, 1.0 / (r * k)))
    return out


def _cumulate(gaps: list[float]) -> list[float]:
    t, out = 0.0, []
    for g in gaps:
        t += g
        out.append(t)
    return out


def arrival_offsets_s(n: int, rate_per_s: float, arrival: str, rng: random.Random) -> list[float]:
    """Send offsets (seconds from the level's start) of ``n`` open-loop requests at ``rate_per_s``, normalised so
    the last one is at ``n / rate_per_s`` (vLLM). ``inf``: all at 0."""
    kind, k = parse_arrival(arrival)
    if n <= 0:
        return []
    if math.isinf(rate_per_s):
        return [0.0] * n
    offs = _cumulate(_gaps(n, lambda i: rate_per_s, kind, k, rng))
    if offs[-1] > 0:
        scale = (n / rate_per_s) / offs[-1]
        offs = [o * scale for o in offs]
    return offs


def ramp_offsets_s(
    n: int, start_rate_per_s: float, end_rate_per_s: float, arrival: str, rng: random.Random
) -> list[float]:
    """Send offsets of ``n`` requests whose rate rises (or falls) linearly from start to end (vLLM linear ramp)."""
    kind, k = parse_arrival(arrival)
    if n <= 0:
        return []

    def rate_at(i: int) -> float:
        return start_rate_per_s + (end_rate_per_s - start_rate_per_s) * (i / (n - 1) if n > 1 else 1.0)

    return _cumulate(_gaps(n, rate_at, kind, k, rng))


def sweep_rates(synchronous_rate_per_s: float, max_rate_per_s: float, k: int) -> list[float]:
    """``k`` rates evenly spaced strictly between the synchronous rate and the saturation rate (guidellm's sweep
    places its constant-rate benchmarks between its synchronous and throughput runs the same way), each rounded to
    3 significant digits so level names stay readable."""
    if k < 1:
        raise TokenfabError("must be >= 1", field="--rate sweep:K", got=k)
    lo, hi = float(synchronous_rate_per_s), float(max_rate_per_s)
    if not (lo > 0 and hi > 0 and math.isfinite(lo) and math.isfinite(hi)):
        raise TokenfabError(
            "the sweep's bounding runs measured no throughput (did every request fail?)",
            field="--rate sweep",
            got=(lo, hi),
        )
    if hi < lo:
        lo, hi = hi, lo
    return [float(f"{lo + (hi - lo) * (i + 1) / (k + 1):.3g}") for i in range(k)]


def parse_rate(value: str, field: str = "--rate") -> tuple[str, tuple[float, ...]]:
    """One ``--rate`` list: ``"2,4,inf"`` -> ("open", (2, 4, inf)); ``"ramp:1:20"`` -> ("ramp", (1, 20));
    ``"sweep"`` or ``"sweep:K"`` -> ("sweep", (K,)) (K = 8 by default)."""
    s = (value or "").strip().lower()
    if s.startswith("ramp:"):
        parts = s.split(":")
        try:
            a, b = float(parts[1]), float(parts[2])
            ok = len(parts) == 3
        except (IndexError, ValueError):
            ok = False
        if not ok or not (0 < a <= MAX_RATE_PER_S and 0 < b <= MAX_RATE_PER_S):
            raise TokenfabError(
                "bad ramp", field=field, expected=f"ramp:START:END, req/s in (0, {MAX_RATE_PER_S:g}]", got=value
            )
        return "ramp", (a, b)
    if s == "sweep" or s.startswith("sweep:"):
        try:
            k = int(s.split(":", 1)[1]) if ":" in s else 8
        except ValueError:
            k = -1
        if not 2 <= k <= 64:
            raise TokenfabError(
                "bad sweep", field=field, expected="sweep or sweep:K with 2 <= K <= 64 rates", got=value
            )
        return "sweep", (float(k),)
    out = []
    for item in [v.strip() for v in s.split(",") if v.strip()]:
        try:
            r = float(item)
        except ValueError:
            r = float("nan")
        if not (r > 0 and (r <= MAX_RATE_PER_S or math.isinf(r))):
            raise TokenfabError(
                "not a speed" if field == "--trace-speed" else "not a rate",
                field=field,
                expected="speed-ups of the trace's own times > 0, comma-separated (1 = as recorded)"
                if field == "--trace-speed"
                else f"req/s in (0, {MAX_RATE_PER_S:g}] or inf, comma-separated; or ramp:START:END; or sweep[:K]",
                got=item,
            )
        if r in out:  # two levels of one rate would be merged into one level (their request ids collide)
            raise TokenfabError("given twice", field=field, expected="each level once", got=item)
        out.append(r)
    if not out:
        raise TokenfabError("empty list", field=field, expected="req/s values, comma-separated", got=value)
    return "open", tuple(out)
