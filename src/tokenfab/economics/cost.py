"""Cost per token and energy per token from a $/GPU-hour and a throughput per GPU (pure, NumPy-vectorized).

- $ per M tokens = usd_per_gpu_hour / (tokens_per_s_per_gpu x 3600 / 1e6) (SemiAnalysis InferenceX's definition,
  inferencex.semianalysis.com).
- Per token kind, one convention everywhere (:func:`split_cost_by_token_kind`, the only place the split is computed):
  the GPU time spent in prefill is charged to input tokens, the rest (decode) to output tokens; within prefill a
  cached input token weighs CACHED_INPUT_COST_FRACTION of an uncached one. The input, cached-input and output $/M
  add up to the total at the token mix: (uncached x $in + cached x $cached + output x $out) = cost. The prefill share
  of GPU time comes from the performance model (serve()'s prefill_share for aggregated serving, the prefill pool's
  share of GPUs for disaggregated serving).
- InferenceX's convention is kept as an alternative (``per_kind="inferencex"``, fields ``*_inferencex``): the
  whole GPU-hour is charged to each kind (input tok/s, output tok/s per GPU), so the kinds do not add up.
- tokens/s per MW = tokens_per_s_per_gpu x 1000 / kW per GPU (all-in provisioned power: GPU, host, network,
  cooling and distribution losses; ``_it`` variants use IT power).
- J/token = W per GPU / tokens/s per GPU (all-in W, so J/token x tokens/s per MW = 1e6).
- tokens per $ per W ("tokens per dollar per watt"): tokens/s / ($ per s) / W per GPU (all-in W).
- Cached input: cached prompt tokens skip prefill; charged at CACHED_INPUT_COST_FRACTION of the input cost.
- Blended: BLEND_INPUT_OUTPUT_RATIO (3:1) weighted mean of input and output $/M, as Artificial Analysis blends prices.

The $/GPU-hour to pass is TcoResult.usd_per_gpu_hour (per busy GPU-hour) and the throughput the busy throughput.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tokenfab.core import assumptions, units
from tokenfab.core.errors import TokenfabError

# the cost of a cached input token / an uncached one (data/assumptions.yaml cost.cached_input_cost_fraction, cited)
CACHED_INPUT_COST_FRACTION = assumptions.value("cost", "cached_input_cost_fraction")
# the per-token-kind conventions: GPU time by phase (default), or InferenceX's whole GPU-hour per kind
PER_KIND_CONVENTIONS = ("gpu-time", "inferencex")
DEFAULT_PER_KIND_CONVENTION = "gpu-time"
PER_KIND_LABELS = {
    "gpu-time": "GPU time by phase: prefill time charged to input tokens (cached ones at the cached-input weight), "
    "decode time to output tokens; the kinds add up to the total at the token mix",
    "inferencex": "InferenceX convention: the whole GPU-hour charged to each kind (input tok/s, output tok/s per "
    "GPU); the kinds do not add up",
}
# input tokens per output token in a blended price (data/assumptions.yaml cost.blend_input_output_ratio, cited)
BLEND_INPUT_OUTPUT_RATIO = assumptions.value("cost", "blend_input_output_ratio")

DEFINITIONS = {
    "usd_per_mtok_total": "USD per million tokens (input + output) = $/GPU-h / (total tok/s per GPU x 3600 / 1e6)",
    "usd_per_mtok_input": "USD per million uncached input tokens under per_kind_convention (default gpu-time: the "
    "prefill share of GPU time over input tokens)",
    "usd_per_mtok_output": "USD per million output tokens under per_kind_convention (default gpu-time: the decode "
    "share of GPU time over output tokens)",
    "usd_per_mtok_cached_input": "USD per million cached input tokens = cached-input weight x usd_per_mtok_input",
    "usd_per_mtok_input_inferencex": "InferenceX: whole GPU-hour / input tokens per GPU-hour (does not add up)",
    "usd_per_mtok_output_inferencex": "InferenceX: whole GPU-hour / output tokens per GPU-hour (does not add up)",
    "prefill_gpu_time_share": "share of the GPU time spent in prefill (from the performance model), 0..1",
    "usd_per_mtok_blended_3to1": "3:1 (input:output) weighted mean of input and output USD per million tokens",
    "tokens_per_s_per_mw": "total tok/s per GPU x 1000 / all-in kW per GPU (per MW of facility power)",
    "tokens_per_s_per_mw_it": "total tok/s per GPU x 1000 / IT kW per GPU",
    "joules_per_token": "all-in W per GPU / total tok/s per GPU",
    "joules_per_token_it": "IT W per GPU / total tok/s per GPU",
    "tokens_per_usd_per_w": "total tok/s / ($/GPU-h / 3600) / all-in W per GPU: tokens per dollar per watt",
}


# upper bounds of the physical inputs (a larger value is a unit mistake, and products of it would overflow)
MAX_KW_PER_GPU = 1e4  # 10 MW per GPU
MAX_TOKENS_PER_S_PER_GPU = 1e9


def _arr(x, field: str, *, allow_zero: bool = False, maximum: float | None = None) -> np.ndarray:
    try:
        a = np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        raise TokenfabError("not a number", field=field, expected="a number or an array of numbers", got=x) from None
    if maximum is not None and np.any(np.isfinite(a) & (a > maximum)):
        raise TokenfabError(
            "above the physical bound", field=field, expected=f"<= {maximum:g}", got=float(np.max(a[np.isfinite(a)]))
        )
    bad = ~np.isfinite(a) | ((a < 0) if allow_zero else (a <= 0))
    if np.any(bad):
        got = a[bad].flat[0] if a.ndim else float(a)
        raise TokenfabError(
            "must be " + ("non-negative" if allow_zero else "positive"),
            field=field,
            expected=">= 0" if allow_zero else "> 0",
            got=float(got),
        )
    return a


def _fraction(x, field: str) -> np.ndarray:
    """:func:`_arr` (finite, >= 0) and at most 1, the field named."""
    a = _arr(x, field, allow_zero=True)
    if np.any(a > 1):
        raise TokenfabError("out of range", field=field, expected="0..1", got=float(np.max(a)))
    return a


def _out(a):
    a = np.asarray(a, dtype=float)
    return float(a) if a.ndim == 0 else a


def usd_per_mtok(usd_per_gpu_hour, tokens_per_s_per_gpu):
    """USD per million tokens = usd_per_gpu_hour / (tokens_per_s_per_gpu x 3600 / 1e6)."""
    price = _arr(usd_per_gpu_hour, "usd_per_gpu_hour", allow_zero=True)
    tps = _arr(tokens_per_s_per_gpu, "tokens_per_s_per_gpu")
    return _out(price / (tps * units.S_PER_HOUR / units.MTOK))


def tokens_per_s_per_mw(tokens_per_s_per_gpu, kw_per_gpu):
    """Tokens per second per MW = tokens_per_s_per_gpu x 1000 / kW per GPU."""
    tps = _arr(tokens_per_s_per_gpu, "tokens_per_s_per_gpu", allow_zero=True)
    kw = _arr(kw_per_gpu, "kw_per_gpu")
    return _out(tps * (units.MW / units.KW) / kw)


def joules_per_token(w_per_gpu, tokens_per_s_per_gpu):
    """Joules per token = W per GPU / tokens per second per GPU."""
    w = _arr(w_per_gpu, "w_per_gpu", allow_zero=True)
    tps = _arr(tokens_per_s_per_gpu, "tokens_per_s_per_gpu")
    return _out(w / tps)


def tokens_per_usd_per_w(tokens_per_s_per_gpu, usd_per_gpu_hour, w_per_gpu):
    """Tokens per dollar per watt: tokens/s / ($ per s) / W = tps x 3600 / usd_per_gpu_hour / W."""
    tps = _arr(tokens_per_s_per_gpu, "tokens_per_s_per_gpu", allow_zero=True)
    price = _arr(usd_per_gpu_hour, "usd_per_gpu_hour")
    w = _arr(w_per_gpu, "w_per_gpu")
    return _out(tps * units.S_PER_HOUR / price / w)


def blended_usd_per_mtok(input_usd_per_mtok, output_usd_per_mtok, input_output_ratio=BLEND_INPUT_OUTPUT_RATIO):
    """Weighted mean (ratio:1) of input and output USD per million tokens."""
    i = _arr(input_usd_per_mtok, "input_usd_per_mtok", allow_zero=True)
    o = _arr(output_usd_per_mtok, "output_usd_per_mtok", allow_zero=True)
    r = _arr(input_output_ratio, "input_output_ratio", allow_zero=True)
    return _out((r * i + o) / (r + 1.0))


def split_cost_by_token_kind(
    cost_usd,
    *,
    input_tokens,
    output_tokens,
    prefill_gpu_time_share,
    cached_input_tokens=0.0,
    cached_input_cost_fraction=CACHED_INPUT_COST_FRACTION,
    cache_cost_usd=0.0,
) -> dict:
    """Split a cost over token kinds by the GPU time each phase uses (the one per-token-kind convention).

    ``cost_usd`` is spent while serving ``input_tokens`` (all input tokens, ``cached_input_tokens`` of them from the
    prefix cache) and ``output_tokens``; ``prefill_gpu_time_share`` s of the GPU time is prefill. Then
    prefill cost = s x cost, decode cost = (1 - s) x cost;
    $/M input = prefill cost / (uncached + w x cached) x 1e6, $/M cached input = w x $/M input (w the cached-input
    weight) + cache cost / cached x 1e6 (``cache_cost_usd``: what holding the prompt cache costs, e.g. GPUs added
    for its KV in HBM), $/M output = decode cost / output x 1e6, $/M total = (cost + cache cost) / (input + output)
    x 1e6. Every kind's tokens x its $/M add back to cost + cache cost. Element-wise over arrays (NaN where a kind
    has no tokens)."""
    cost = _arr(cost_usd, "cost_usd", allow_zero=True)
    tin = _arr(input_tokens, "input_tokens", allow_zero=True)
    tout = _arr(output_tokens, "output_tokens", allow_zero=True)
    tc = _arr(cached_input_tokens, "cached_input_tokens", allow_zero=True)
    s = _fraction(prefill_gpu_time_share, "prefill_gpu_time_share")
    w = _fraction(cached_input_cost_fraction, "cached_input_cost_fraction")
    if np.any(tc > tin * (1 + 1e-12)):
        raise TokenfabError(
            "more cached input tokens than input tokens", field="cached_input_tokens", expected="<= input_tokens"
        )
    cache = _arr(cache_cost_usd, "cache_cost_usd", allow_zero=True)
    # a cache cost with (next to) no cached tokens to carry it is charged with prefill instead, so the kinds still
    # add up
    has_cached = tc > 1e-9 * np.maximum(tin, 1.0)
    cache_cached = np.where(has_cached, cache, 0.0)
    prefill = s * cost + (cache - cache_cached)
    decode = cost - s * cost
    weighted_in = (tin - tc) + w * tc
    # every input token cached and cached tokens weighing nothing (w = 0): the prefill cost goes with the cached ones
    w_pos = weighted_in > 1e-12 * np.maximum(tin, 1.0)
    no_weight = ~w_pos & has_cached
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        c_in = (
            np.where(w_pos, prefill / np.where(w_pos, weighted_in, 1.0), np.where(no_weight, 0.0, np.nan)) * units.MTOK
        )
        per_cached = np.where(
            has_cached, (cache_cached + np.where(no_weight, prefill, 0.0)) / np.where(has_cached, tc, 1.0), 0.0
        )
        c_cache = per_cached * units.MTOK
        c_out = np.where(tout > 0, decode / tout, np.nan) * units.MTOK
        c_tot = np.where(tin + tout > 0, (cost + cache) / (tin + tout), np.nan) * units.MTOK
    return {
        "usd_per_mtok_input": _out(c_in),
        "usd_per_mtok_cached_input": _out(w * c_in + c_cache),
        "usd_per_mtok_output": _out(c_out),
        "usd_per_mtok_total": _out(c_tot),
        "prefill_cost_usd": _out(prefill),
        "decode_cost_usd": _out(decode),
        "cache_cost_usd": _out(cache_cached),
    }


def per_kind_usd_per_mtok(
    usd_per_gpu_hour,
    *,
    input_tokens_per_s_per_gpu,
    output_tokens_per_s_per_gpu,
    prefill_gpu_time_share=None,
    cached_input_share=0.0,
    cached_input_cost_fraction=CACHED_INPUT_COST_FRACTION,
    per_kind: str = DEFAULT_PER_KIND_CONVENTION,
) -> dict:
    """$/M input, cached input and output tokens of one operating point (a busy GPU-hour and the tokens it serves)
    under ``per_kind`` ("gpu-time": :func:`split_cost_by_token_kind` of one GPU-hour; "inferencex": the whole
    GPU-hour per kind). ``cached_input_share`` is the share of input tokens read from the prefix cache. Values are
    None (gpu-time) when no prefill share is known."""
    conv = check_per_kind(per_kind)
    price = _arr(usd_per_gpu_hour, "usd_per_gpu_hour", allow_zero=True)
    tin = _arr(input_tokens_per_s_per_gpu, "input_tokens_per_s_per_gpu", allow_zero=True)
    tout = _arr(output_tokens_per_s_per_gpu, "output_tokens_per_s_per_gpu", allow_zero=True)
    h = _fraction(cached_input_share, "cached_input_share")
    if conv == "inferencex":
        with np.errstate(divide="ignore", invalid="ignore"):
            c_in = np.where(tin > 0, price / (tin * units.S_PER_HOUR / units.MTOK), np.nan)
            c_out = np.where(tout > 0, price / (tout * units.S_PER_HOUR / units.MTOK), np.nan)
        return {
            "usd_per_mtok_input": _out(c_in),
            "usd_per_mtok_cached_input": _out(float(cached_input_cost_fraction) * c_in),
            "usd_per_mtok_output": _out(c_out),
            "per_kind_convention": conv,
        }
    if prefill_gpu_time_share is None:
        return {
            "usd_per_mtok_input": None,
            "usd_per_mtok_cached_input": None,
            "usd_per_mtok_output": None,
            "per_kind_convention": conv,
        }
    sp = split_cost_by_token_kind(
        price,
        input_tokens=tin * units.S_PER_HOUR,
        output_tokens=tout * units.S_PER_HOUR,
        cached_input_tokens=tin * h * units.S_PER_HOUR,
        prefill_gpu_time_share=prefill_gpu_time_share,
        cached_input_cost_fraction=cached_input_cost_fraction,
    )
    return {
        "usd_per_mtok_input": sp["usd_per_mtok_input"],
        "usd_per_mtok_cached_input": sp["usd_per_mtok_cached_input"],
        "usd_per_mtok_output": sp["usd_per_mtok_output"],
        "per_kind_convention": conv,
    }


def check_per_kind(per_kind) -> str:
    """The per-token-kind convention name, validated (field ``per_kind``)."""
    c = str(per_kind or DEFAULT_PER_KIND_CONVENTION).strip().lower()
    if c not in PER_KIND_CONVENTIONS:
        raise TokenfabError(
            "unknown per-token-kind convention", field="per_kind", expected=" or ".join(PER_KIND_CONVENTIONS), got=c
        )
    return c


@dataclass(frozen=True)
class CostResult:
    """Cost and energy per token; arrays where the inputs were arrays. None where an input (kW, the prefill share
    of GPU time) was not given."""

    usd_per_gpu_hour: Any
    tokens_per_s_per_gpu_total: Any
    tokens_per_s_per_gpu_input: Any
    tokens_per_s_per_gpu_output: Any
    usd_per_mtok_total: Any
    usd_per_mtok_input: Any
    usd_per_mtok_output: Any
    usd_per_mtok_cached_input: Any
    usd_per_mtok_blended_3to1: Any
    cached_input_cost_fraction: float
    blend_input_output_ratio: float
    split: str  # "total-only" or "input-output"
    all_in_kw_per_gpu: Any = None
    it_kw_per_gpu: Any = None
    tokens_per_s_per_mw: Any = None
    tokens_per_s_per_mw_it: Any = None
    joules_per_token: Any = None
    joules_per_token_it: Any = None
    tokens_per_usd_per_w: Any = None
    per_kind_convention: str = DEFAULT_PER_KIND_CONVENTION
    prefill_gpu_time_share: Any = None
    cached_input_share: Any = 0.0
    usd_per_mtok_input_inferencex: Any = None
    usd_per_mtok_output_inferencex: Any = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "notes"}
        d["per_kind_convention_text"] = PER_KIND_LABELS[self.per_kind_convention]
        d["definitions"] = dict(DEFINITIONS)
        d["notes"] = list(self.notes)
        return d


def check_total_throughput(total, tin, tout) -> None:
    """A total given with input and output throughput must agree with them: equal to input + output (every GPU
    serves both), or between them (disaggregated serving: total = all tokens / all GPUs is the mediant of input per
    prefill GPU and output per decode GPU, so it lies between the two). Anything else contradicts them."""
    total, tin, tout = np.broadcast_arrays(np.asarray(total, float), np.asarray(tin, float), np.asarray(tout, float))
    rel = 1e-6
    summed = np.abs(total - (tin + tout)) <= rel * (tin + tout)
    between = (total >= np.minimum(tin, tout) * (1 - rel)) & (total <= np.maximum(tin, tout) * (1 + rel))
    bad = ~(summed | between)
    if np.any(bad):
        i = np.flatnonzero(bad.ravel())[0]
        t, a, b = total.ravel()[i], tin.ravel()[i], tout.ravel()[i]
        raise TokenfabError(
            f"the total contradicts input {a:g} + output {b:g} tokens/s per GPU",
            field="total_tokens_per_s_per_gpu",
            expected=f"{a + b:g} (input + output), or between {min(a, b):g} and {max(a, b):g} (disaggregated: all "
            "tokens / all GPUs), or leave it out",
            got=float(t),
        )


def compute_cost(
    usd_per_gpu_hour,
    *,
    total_tokens_per_s_per_gpu=None,
    input_tokens_per_s_per_gpu=None,
    output_tokens_per_s_per_gpu=None,
    all_in_kw_per_gpu=None,
    it_kw_per_gpu=None,
    cached_input_cost_fraction: float = CACHED_INPUT_COST_FRACTION,
    blend_input_output_ratio: float = BLEND_INPUT_OUTPUT_RATIO,
    prefill_gpu_time_share=None,
    cached_input_share=0.0,
    per_kind: str = DEFAULT_PER_KIND_CONVENTION,
) -> CostResult:
    """Every cost/energy-per-token metric from a $/GPU-hour (per busy hour) and busy throughput per GPU.

    Give ``total_tokens_per_s_per_gpu``, or input and output throughput per GPU (then total = input + output, which
    holds when every GPU serves both; for disaggregated serving give the total, i.e. all tokens / all GPUs, too).
    Per token kind (``per_kind``): "gpu-time" (default) needs ``prefill_gpu_time_share`` (the share of GPU time in
    prefill, from the performance model: ``tokenfab estimate`` / ``frontier``) and the input/output split; without
    it the per-kind costs are None and a note says what to give. "inferencex" charges the whole GPU-hour to each
    kind. The InferenceX values are always in ``usd_per_mtok_input_inferencex`` / ``_output_inferencex``."""
    notes: list[str] = []
    conv = check_per_kind(per_kind)
    price = _arr(usd_per_gpu_hour, "usd_per_gpu_hour", allow_zero=True)
    frac = float(_arr(cached_input_cost_fraction, "cached_input_cost_fraction", allow_zero=True))
    if frac > 1:
        raise TokenfabError("out of range", field="cached_input_cost_fraction", expected="a value in [0, 1]", got=frac)
    ratio = float(_arr(blend_input_output_ratio, "blend_input_output_ratio", allow_zero=True))

    if (input_tokens_per_s_per_gpu is None) != (output_tokens_per_s_per_gpu is None):
        missing = "output_tokens_per_s_per_gpu" if output_tokens_per_s_per_gpu is None else "input_tokens_per_s_per_gpu"
        raise TokenfabError(
            "input and output throughput go together",
            field=missing,
            expected="both input and output tokens/s per GPU, or a total",
        )
    tin: np.ndarray | None
    tout: np.ndarray | None
    if input_tokens_per_s_per_gpu is not None:
        tin = _arr(input_tokens_per_s_per_gpu, "input_tokens_per_s_per_gpu", maximum=MAX_TOKENS_PER_S_PER_GPU)
        tout = _arr(output_tokens_per_s_per_gpu, "output_tokens_per_s_per_gpu", maximum=MAX_TOKENS_PER_S_PER_GPU)
        if total_tokens_per_s_per_gpu is None:
            total = tin + tout
            notes.append(
                "total tokens/s per GPU = input + output (every GPU serves both; for disaggregated "
                "serving pass the total: all tokens / all GPUs)"
            )
        else:
            total = _arr(total_tokens_per_s_per_gpu, "total_tokens_per_s_per_gpu", maximum=MAX_TOKENS_PER_S_PER_GPU)
            check_total_throughput(total, tin, tout)
        split = "input-output"
    elif total_tokens_per_s_per_gpu is not None:
        total = _arr(total_tokens_per_s_per_gpu, "total_tokens_per_s_per_gpu", maximum=MAX_TOKENS_PER_S_PER_GPU)
        tin = tout = None  # the split is unknown: no per-kind figure can be made from a total alone
        split = "total-only"
    else:
        raise TokenfabError(
            "no throughput given",
            field="tokens_per_s_per_gpu",
            expected="total tokens/s per GPU, or input and output tokens/s per GPU",
        )

    cost_total = usd_per_mtok(price, total)
    ix_in = None if tin is None else usd_per_mtok(price, tin)
    ix_out = None if tout is None else usd_per_mtok(price, tout)
    share = None
    if prefill_gpu_time_share is not None:
        share = _fraction(prefill_gpu_time_share, "prefill_gpu_time_share")  # a share: 0..1, whatever is given
    h = _fraction(cached_input_share, "cached_input_share")
    if conv == "inferencex" and tin is not None:
        cost_in, cost_out = ix_in, ix_out
        cost_cached = _out(frac * np.asarray(cost_in))
        notes.append("per token kind: " + PER_KIND_LABELS["inferencex"])
    elif conv == "inferencex":
        cost_in = cost_out = cost_cached = None
        notes.append(
            "per-kind $/M not computed: InferenceX's convention divides the GPU-hour by input and by output tokens/s "
            "per GPU, and only a total was given (give --input-tokens-per-s-per-gpu and --output-tokens-per-s-per-gpu)"
        )
    elif tin is None or tout is None or share is None:
        cost_in = cost_out = cost_cached = None
        notes.append(
            "per-kind $/M not computed: the GPU-time split needs "
            + ("input and output tokens/s per GPU and " if split == "total-only" else "")
            + "the prefill share of GPU time (--prefill-gpu-time-share, from tokenfab estimate / frontier); "
            "--per-kind inferencex gives InferenceX's whole-GPU-hour-per-kind values"
        )
    else:
        pk = per_kind_usd_per_mtok(
            price,
            input_tokens_per_s_per_gpu=tin * np.asarray(total) / (tin + tout),
            output_tokens_per_s_per_gpu=tout * np.asarray(total) / (tin + tout),
            prefill_gpu_time_share=share,
            cached_input_share=h,
            cached_input_cost_fraction=frac,
        )
        cost_in, cost_cached, cost_out = (
            pk["usd_per_mtok_input"],
            pk["usd_per_mtok_cached_input"],
            pk["usd_per_mtok_output"],
        )
        notes.append("per token kind: " + PER_KIND_LABELS["gpu-time"])
    cost_blend = blended_usd_per_mtok(cost_in, cost_out, ratio) if cost_in is not None else None
    notes.append(
        f"cached input: a cached prompt token skips prefill, weighted {frac:g} x an uncached one "
        "(price-list ratio used as an assumption)"
    )
    notes.append(f"blended: {ratio:g}:1 input:output weighted mean of input and output $/M (Artificial Analysis)")

    mw = mw_it = jpt = jpt_it = tpuw = None
    kw_all = kw_it = None
    if all_in_kw_per_gpu is not None:
        kw_all = _arr(all_in_kw_per_gpu, "all_in_kw_per_gpu", maximum=MAX_KW_PER_GPU)
        mw = tokens_per_s_per_mw(total, kw_all)
        jpt = joules_per_token(kw_all * units.KW, total)
        if np.all(price > 0):
            tpuw = tokens_per_usd_per_w(total, price, kw_all * units.KW)
    else:
        notes.append("no all-in kW per GPU: tokens/s per MW, J/token and tokens per $ per W not computed")
    if it_kw_per_gpu is not None:
        kw_it = _arr(it_kw_per_gpu, "it_kw_per_gpu", maximum=MAX_KW_PER_GPU)
        mw_it = tokens_per_s_per_mw(total, kw_it)
        jpt_it = joules_per_token(kw_it * units.KW, total)
    if kw_all is not None or kw_it is not None:
        notes.append("power is provisioned (maximum) kW per GPU, so J/token is an upper bound at full load")

    return CostResult(
        usd_per_gpu_hour=_out(price),
        tokens_per_s_per_gpu_total=_out(total),
        tokens_per_s_per_gpu_input=None if tin is None else _out(tin),
        tokens_per_s_per_gpu_output=None if tout is None else _out(tout),
        usd_per_mtok_total=cost_total,
        usd_per_mtok_input=cost_in,
        usd_per_mtok_output=cost_out,
        usd_per_mtok_cached_input=cost_cached,
        usd_per_mtok_blended_3to1=cost_blend,
        cached_input_cost_fraction=frac,
        blend_input_output_ratio=ratio,
        split=split,
        all_in_kw_per_gpu=None if kw_all is None else _out(kw_all),
        it_kw_per_gpu=None if kw_it is None else _out(kw_it),
        tokens_per_s_per_mw=mw,
        tokens_per_s_per_mw_it=mw_it,
        joules_per_token=jpt,
        joules_per_token_it=jpt_it,
        tokens_per_usd_per_w=tpuw,
        per_kind_convention=conv,
        prefill_gpu_time_share=None if share is None else _out(share),
        cached_input_share=_out(h),
        usd_per_mtok_input_inferencex=ix_in,
        usd_per_mtok_output_inferencex=ix_out,
        notes=notes,
    )


def cost_for_hardware(
    hardware,
    *,
    total_tokens_per_s_per_gpu=None,
    input_tokens_per_s_per_gpu=None,
    output_tokens_per_s_per_gpu=None,
    preset: str | None = None,
    usd_per_gpu_hour=None,
    cached_input_cost_fraction: float = CACHED_INPUT_COST_FRACTION,
    hardware_files=None,
    prefill_gpu_time_share=None,
    cached_input_share=0.0,
    per_kind: str = DEFAULT_PER_KIND_CONVENTION,
    **tco_overrides,
) -> CostResult:
    """`tokenfab cost --hardware H [--preset P]` in one call: the $/busy GPU-hour from tco.tco(hardware, preset,
    overrides) (or a plain rental ``usd_per_gpu_hour``), then compute_cost with that hardware's kW per GPU."""
    from tokenfab.economics.tco import tco

    t = tco(hardware, preset, usd_per_gpu_hour, hardware_files=hardware_files, **tco_overrides)
    return compute_cost(
        t.usd_per_gpu_hour,
        total_tokens_per_s_per_gpu=total_tokens_per_s_per_gpu,
        input_tokens_per_s_per_gpu=input_tokens_per_s_per_gpu,
        output_tokens_per_s_per_gpu=output_tokens_per_s_per_gpu,
        all_in_kw_per_gpu=t.all_in_kw_per_gpu,
        it_kw_per_gpu=t.it_kw_per_gpu,
        cached_input_cost_fraction=cached_input_cost_fraction,
        prefill_gpu_time_share=prefill_gpu_time_share,
        cached_input_share=cached_input_share,
        per_kind=per_kind,
    )
