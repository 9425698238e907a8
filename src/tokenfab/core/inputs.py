"""The stated range of every numeric input of the library's entry points, in one table, and the check that applies it.

Each entry point (``fit``, ``estimate``, ``frontier``, ``recommend``, ``plan``, ``sensitivity``, ...) passes its
arguments through :func:`check_inputs`, so a value outside its range is a :class:`TokenfabError` naming the
parameter (the CLI shows it as the flag, the dashboard as the form field) with what was expected. The upper bounds
are far beyond any real deployment; they exist so that no input can make a loop, an allocation or an integer grow
without bound (a bound that binds is almost always a unit mistake), and each says why it is there.
"""

from __future__ import annotations

from collections.abc import Sized
from dataclasses import dataclass
from typing import Any, Literal, cast, overload

from tokenfab.core.errors import TokenfabError, require_int, require_number

# ------------------------------------------------------------------------------------------------- limits
MAX_TOKENS = 10_000_000  # tokens in one request or sequence (ISL, OSL, context)
MAX_TOKENS_WHY = "10x the longest context window of any bundled model (1M tokens)"
MAX_GPUS = 1_000_000  # chips in one deployment, and each parallel degree
MAX_GPUS_WHY = "more chips than any cluster built (the largest announced hold about 200,000 GPUs)"
MAX_SEQUENCES = 10_000_000  # concurrent sequences / requests in flight
MAX_SEQUENCES_WHY = "far above the KV-cache capacity of any deployment"
MAX_RATE_RPS = 1e7  # requests per second of one demand
MAX_RATE_WHY = (
    "100x the busiest public service (web search, about 100,000 queries/s); a larger rate is almost always a unit "
    "mistake (requests per day given as per second?)"
)
MAX_MONTHS = 240  # months in a plan
MAX_MONTHS_WHY = "20 years: GPUs are depreciated over about 5, and a plan beyond 20 years says nothing"
MAX_DRAWS = 1_000_000  # Monte Carlo draws
MAX_DRAWS_WHY = (
    "the p5/p50/p95 of a million draws are within about 0.1% of their limit; more draws only cost memory "
    "(about 200 bytes per draw)"
)
MAX_USERS = 1e10  # users of a scenario in any month
MAX_USERS_WHY = "more than everyone on Earth (about 8 billion people)"
MAX_SWEEP_HARDWARE = 32  # hardware types in one frontier sweep / fleet search / plan
MAX_SWEEP_HARDWARE_WHY = "the bundled catalog has 21 chips; each hardware adds one sweep of thousands of configurations"
MAX_MTP_DRAFT_TOKENS = 16
MAX_USD_PER_GPU_HOUR = 1e4
MAX_LATENCY_MS = 1e9  # about 11.6 days
MAX_THROUGHPUT_PER_GPU = 1e9  # tokens/s per GPU
MIN_THROUGHPUT_PER_GPU = 1e-3  # tokens/s per GPU a user may give
MAX_INTERACTIVITY = 1e6  # tokens/s per user


@dataclass(frozen=True)
class Spec:
    """The range of one input: whole number or real, bounds (open or closed), and why the upper bound is there."""

    integer: bool
    lo: float | int | None
    hi: float | int | None
    lo_open: bool = False
    hi_open: bool = False
    why: str | None = None

    def check(self, name: str, value: float) -> float:
        if self.integer:
            # an integer spec's bounds are whole numbers (see _int)
            maximum = cast("int | None", self.hi)
            lo = int(self.lo if self.lo is not None else -(2**63))
            n = require_int(name, value, minimum=lo, maximum=maximum, why=self.why)
            return n
        return require_number(name, value, self.lo, self.hi, lo_open=self.lo_open, hi_open=self.hi_open, why=self.why)


def _int(lo: int, hi: int, why: str | None = None) -> Spec:
    return Spec(True, lo, hi, why=why)


def _pos(hi: float, why: str | None = None) -> Spec:
    return Spec(False, 0, hi, lo_open=True, why=why)


_GPU = _int(1, MAX_GPUS, MAX_GPUS_WHY)
_LATENCY = _pos(MAX_LATENCY_MS, "about 11.6 days")
_INTERACTIVITY = _pos(MAX_INTERACTIVITY, "a million tokens/s per user")
# a throughput from a user: at least one token per thousand seconds (smaller ones turn $ per token into
# astronomical figures), at most a billion tokens/s per GPU
_THROUGHPUT = Spec(False, MIN_THROUGHPUT_PER_GPU, MAX_THROUGHPUT_PER_GPU, why="a billion tokens/s per GPU")

# library parameter name -> its range (the CLI flag and the dashboard field of each are mapped in their adapters)
SPECS: dict[str, Spec] = {
    "isl": _int(1, MAX_TOKENS, MAX_TOKENS_WHY),
    "osl": _int(1, MAX_TOKENS, MAX_TOKENS_WHY),
    "context": _int(1, MAX_TOKENS, MAX_TOKENS_WHY),
    "max_batch_tokens": _int(1, MAX_TOKENS, MAX_TOKENS_WHY),
    "users": _int(1, MAX_SEQUENCES, MAX_SEQUENCES_WHY),
    "concurrency": _int(1, MAX_SEQUENCES, MAX_SEQUENCES_WHY),
    "gpus": _GPU,
    "tp": _GPU,
    "pp": _GPU,
    "dp": _GPU,
    "ep": _GPU,
    "chips_per_node": _int(1, MAX_GPUS, MAX_GPUS_WHY),
    "chips_per_rack": _int(1, MAX_GPUS, MAX_GPUS_WHY),
    "racks": _int(1, 100_000, "100,000 racks: several GW at tens of kW each, beyond any campus announced"),
    "rate_rps": _pos(MAX_RATE_RPS, MAX_RATE_WHY),
    "tokens_per_day": _pos(MAX_RATE_RPS * 86_400 * 2 * MAX_TOKENS, "the request-rate bound at the longest requests"),
    "power_mw": _pos(1e5, "100 GW: 20x the largest AI campus announced"),
    "mtp_draft_tokens": _int(0, MAX_MTP_DRAFT_TOKENS, "speculative decoding drafts a handful of tokens per step"),
    "mtp_acceptance_length": Spec(False, 1.0, 1.0 + MAX_MTP_DRAFT_TOKENS),
    "prefix_hit_rate": Spec(False, 0.0, 1.0, hi_open=True),
    "params": _pos(1e15, "a quadrillion parameters: hundreds of times the largest published model"),
    # at least a MiB (the smallest SRAM chip holds hundreds): a vanishing capacity asks for astronomically many chips
    "chip_memory_gib": Spec(False, 1e-3, 1e6, why="a million GiB on one chip"),
    "runtime_overhead_fraction": Spec(False, 0.0, 1.0, hi_open=True),
    "ttft_max_ms": _LATENCY,
    "tpot_max_ms": _LATENCY,
    "e2el_max_ms": _LATENCY,
    "min_interactivity": _INTERACTIVITY,
    "target_interactivity": _INTERACTIVITY,
    "goldilocks_interactivity": _INTERACTIVITY,
    "usd_per_gpu_hour": Spec(False, 0.0, MAX_USD_PER_GPU_HOUR, why="far above any GPU rental price"),
    "months": _int(1, MAX_MONTHS, MAX_MONTHS_WHY),
    "n": _int(1, MAX_DRAWS, MAX_DRAWS_WHY),
    "seed": _int(0, 2**63 - 1),
    "swing_pct": Spec(False, 0.0, 100.0, lo_open=True, hi_open=True),
    "tokens_per_s_per_gpu": _THROUGHPUT,
    "total_tokens_per_s_per_gpu": _THROUGHPUT,
    "input_tokens_per_s_per_gpu": _THROUGHPUT,
    "output_tokens_per_s_per_gpu": _THROUGHPUT,
    "price_usd_per_mtok": _pos(1e6, "a million USD per million tokens"),
    "cached_input_cost_fraction": Spec(False, 0.0, 1.0),
    "kw_per_gpu": _pos(1e4, "10 MW per GPU"),
}


@overload
def check_input(name: str, value: None) -> None: ...
@overload
def check_input(name: str, value: float) -> float: ...
def check_input(name: str, value: float | None) -> float | None:
    """``value`` checked against the range of parameter ``name`` (None passes through): the int or float to use."""
    if value is None:
        return None
    return SPECS[name].check(name, value)


def check_inputs(**values: float | None) -> dict[str, Any]:
    """Every given (not None) value checked against its parameter's range; returns them normalized (ints as int)."""
    return {k: check_input(k, v) for k, v in values.items()}


def check_rate_rps(rate_rps: float, *, field: str = "rate_rps", source: str | None = None) -> float:
    """A request rate (given, or derived from tokens per day or a scenario) within :data:`MAX_RATE_RPS`."""
    r = require_number(field, rate_rps, 0, None)
    if r > MAX_RATE_RPS:
        raise TokenfabError(
            f"{source + ' gives ' if source else ''}a demand of {r:,.4g} requests/s, above the bound",
            field=field,
            expected=f"<= {MAX_RATE_RPS:,.0f} requests/s",
            hint=f"the bound is {MAX_RATE_WHY}",
        )
    return r


def hardware_count(hardware: object) -> int:
    """How many hardware a ``hardware`` argument names (a key, a comma-separated string or a list)."""
    if hardware is None:
        return 0
    if isinstance(hardware, str):
        return len([h for h in hardware.split(",") if h.strip()])
    try:
        return len(cast(Sized, hardware))  # a list or tuple of hardware; anything else counts as one
    except TypeError:
        return 1


def check_hardware_count(hardware: object, field: str = "hardware") -> None:
    """At most :data:`MAX_SWEEP_HARDWARE` hardware in one sweep."""
    n = hardware_count(hardware)
    if n > MAX_SWEEP_HARDWARE:
        raise TokenfabError(
            "too many hardware in one sweep",
            field=field,
            expected=f"<= {MAX_SWEEP_HARDWARE}",
            got=n,
            hint=f"the bound is there because {MAX_SWEEP_HARDWARE_WHY}",
        )


def check_mtp(
    mtp_draft_tokens: int | None, mtp_acceptance_length: float | None, *, acceptance_given: bool | None = None
) -> tuple[int, float]:
    """Speculative decoding inputs: draft tokens in [0, 16]; the acceptance length in [1, 1 + drafts], and an
    acceptance length other than 1 without draft tokens is a contradiction (``acceptance_given`` says whether the
    user set it at all: a CLI default of 1.0 is not a contradiction)."""
    # an integer spec: check_input returns an int
    k = cast(int, check_input("mtp_draft_tokens", mtp_draft_tokens if mtp_draft_tokens is not None else 0))
    if mtp_acceptance_length is None:
        return k, 1.0
    acc = check_input("mtp_acceptance_length", mtp_acceptance_length)
    given = acceptance_given if acceptance_given is not None else acc != 1.0
    if k == 0 and given:
        raise TokenfabError(
            "an acceptance length needs draft tokens",
            field="mtp_acceptance_length",
            expected="at least one draft token with it (--mtp N or a --spec method; mtp_draft_tokens in the API): "
            "tokens accepted per step, 1..1 + draft tokens",
            got=mtp_acceptance_length,
        )
    if acc > 1.0 + k:
        raise TokenfabError(
            "more tokens accepted per step than drafted + 1",
            field="mtp_acceptance_length",
            expected=f"a number in [1, {1 + k}] with {k} draft tokens",
            got=mtp_acceptance_length,
        )
    return k, acc


def check_concurrency(concurrency: int | str | None) -> int | Literal["max"]:
    """A concurrency: a whole number in range, or ``'max'`` (also when None: the largest that fits)."""
    if concurrency is None:
        return "max"
    if isinstance(concurrency, str):
        text = concurrency.strip().lower()
        if text == "max":
            return "max"
        if not text.isdigit():
            raise TokenfabError("must be a whole number or 'max'", field="concurrency", got=concurrency)
        concurrency = int(text)
    return cast(int, check_input("concurrency", concurrency))  # an integer spec: check_input returns an int


def check_serving_request(
    *,
    isl: int,
    osl: int,
    concurrency: int | str | None = None,
    rate_rps: float | None = None,
    mtp_draft_tokens: int | None = 0,
    mtp_acceptance_length: float | None = None,
    prefix_hit_rate: float | None = 0.0,
    **layout: int | None,
) -> dict[str, Any]:
    """The inputs of one serving estimate (``tokenfab estimate``): lengths, layout degrees, a concurrency
    (``'max'`` / None) or an open-loop rate but not both, speculative decoding (:func:`check_mtp`), the prefix-cache
    hit rate. Returns them normalized (concurrency ``'max'`` or an int)."""
    if rate_rps is not None and concurrency is not None:
        raise TokenfabError(
            "a request rate (open loop) and a concurrency (closed loop) contradict each other",
            field="concurrency",
            expected="a request rate or a concurrency, not both (--rate / --concurrency; API: rate_rps / concurrency)",
            got=concurrency,
        )
    out = check_inputs(isl=isl, osl=osl, rate_rps=rate_rps, prefix_hit_rate=prefix_hit_rate, **layout)
    out["concurrency"] = check_concurrency(concurrency)
    out["mtp_draft_tokens"], out["mtp_acceptance_length"] = check_mtp(
        mtp_draft_tokens, mtp_acceptance_length, acceptance_given=mtp_acceptance_length is not None
    )
    return out


def check_sweep_request(*, hardware: object = None, **values: float | None) -> dict[str, Any]:
    """The inputs shared by the design-space sweeps (frontier, recommend, budget, plan): at most
    :data:`MAX_SWEEP_HARDWARE` hardware and every numeric input in its range (:data:`SPECS`: lengths, GPUs, SLA
    limits, interactivity, price, prefix hit rate, ...)."""
    check_hardware_count(hardware)
    return check_inputs(**values)


def split_csv(value: str | None, field: str) -> list[str]:
    if value is None:
        return []
    items = [v.strip() for v in str(value).split(",") if v.strip()]
    if not items:
        raise TokenfabError("empty list", field=field, expected="a comma-separated list", got=value)
    return items


def parse_int_list(value: str, field: str, minimum: int = 1, maximum: int = 10**9) -> list[int]:
    """Whole numbers separated by commas, each in [minimum, maximum] (a GPU index starts at 0, a concurrency at 1);
    a number given twice is refused (two levels of one concurrency merged into one level)."""
    out: list[int] = []
    for item in split_csv(value, field):
        try:
            n = int(item)
        except ValueError:
            raise TokenfabError(
                "not a whole number", field=field, expected="integers separated by commas", got=item
            ) from None
        if not minimum <= n <= maximum:
            raise TokenfabError(
                "out of range", field=field, expected=f"whole numbers in [{minimum}, {maximum:,}]", got=n
            )
        if n in out:
            raise TokenfabError("given twice", field=field, expected="each value once", got=n)
        out.append(n)
    return out


__all__ = [
    "parse_int_list",
    "split_csv",
    "MAX_DRAWS",
    "MAX_GPUS",
    "MAX_MONTHS",
    "MAX_MTP_DRAFT_TOKENS",
    "MAX_RATE_RPS",
    "MAX_SEQUENCES",
    "MAX_SWEEP_HARDWARE",
    "MAX_TOKENS",
    "MAX_USERS",
    "SPECS",
    "Spec",
    "check_concurrency",
    "check_hardware_count",
    "check_input",
    "check_inputs",
    "check_mtp",
    "check_rate_rps",
    "check_serving_request",
    "check_sweep_request",
    "hardware_count",
]
