"""Cost per token and energy per token from a $/GPU-hour and a throughput per GPU (pure, NumPy-vectorized).

Definitions follow SemiAnalysis InferenceX (/work/shared/reference/metrics.md, "Cost and power"):

- $ per M tokens = usd_per_gpu_hour / (tokens_per_s_per_gpu x 3600 / 1e6), computed separately on total, input and
  output throughput per GPU. Each of input/output charges the *whole* GPU-hour to that kind of token, so the three
  do not add up; with only a total throughput, the input and output costs equal the total cost.
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
from typing import Any, Optional

import numpy as np

from tokenfab.core import units
from tokenfab.core.errors import TokenfabError

# Cached prompt tokens billed at 10% of the input price: Mistral prompt caching ("billed at 10% of the standard
# input token price", docs.mistral.ai), Anthropic cache reads 0.1x base input (docs via portkey.ai / Anthropic
# pricing), OpenAI "input token costs [cut] by up to 90%" (openai-cookbook Prompt_Caching_201). A price-list ratio
# used as a cost ratio: an assumption (the cost of a cache hit is the KV read/transfer, far below prefill).
CACHED_INPUT_COST_FRACTION = 0.1
# Artificial Analysis blends prices as a 3:1 weighted average of input and output token prices
# (artificialanalysis.ai/methodology, as applied by Epoch AI's LLM price data insight).
BLEND_INPUT_OUTPUT_RATIO = 3.0

DEFINITIONS = {
    "usd_per_mtok_total": "USD per million tokens (input + output) = $/GPU-h / (total tok/s per GPU x 3600 / 1e6)",
    "usd_per_mtok_input": "USD per million input tokens, whole GPU-hour charged to input tok/s per GPU (InferenceX)",
    "usd_per_mtok_output": "USD per million output tokens, whole GPU-hour charged to output tok/s per GPU (InferenceX)",
    "usd_per_mtok_cached_input": "USD per million cached input tokens = cached fraction x usd_per_mtok_input",
    "usd_per_mtok_blended": "3:1 (input:output) weighted mean of input and output USD per million tokens",
    "tokens_per_s_per_mw": "total tok/s per GPU x 1000 / all-in kW per GPU (per MW of facility power)",
    "tokens_per_s_per_mw_it": "total tok/s per GPU x 1000 / IT kW per GPU",
    "joules_per_token": "all-in W per GPU / total tok/s per GPU",
    "joules_per_token_it": "IT W per GPU / total tok/s per GPU",
    "tokens_per_usd_per_w": "total tok/s / ($/GPU-h / 3600) / all-in W per GPU: tokens per dollar per watt",
}


def _arr(x, field: str, *, allow_zero: bool = False) -> np.ndarray:
    try:
        a = np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        raise TokenfabError("not a number", field=field, expected="a number or an array of numbers", got=x) from None
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


@dataclass(frozen=True)
class CostResult:
    """Cost and energy per token; arrays where the inputs were arrays. None where an input (kW) was not given."""

    usd_per_gpu_hour: Any
    tokens_per_s_per_gpu_total: Any
    tokens_per_s_per_gpu_input: Any
    tokens_per_s_per_gpu_output: Any
    usd_per_mtok_total: Any
    usd_per_mtok_input: Any
    usd_per_mtok_output: Any
    usd_per_mtok_cached_input: Any
    usd_per_mtok_blended: Any
    cached_input_cost_fraction: float
    blend_input_output_ratio: float
    split: str  # "total-only" or "input-output"
    kw_per_gpu_all_in: Any = None
    kw_per_gpu_it: Any = None
    tokens_per_s_per_mw: Any = None
    tokens_per_s_per_mw_it: Any = None
    joules_per_token: Any = None
    joules_per_token_it: Any = None
    tokens_per_usd_per_w: Any = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "notes"}
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
    kw_per_gpu_all_in=None,
    kw_per_gpu_it=None,
    cached_input_cost_fraction: float = CACHED_INPUT_COST_FRACTION,
    blend_input_output_ratio: float = BLEND_INPUT_OUTPUT_RATIO,
) -> CostResult:
    """Every cost/energy-per-token metric from a $/GPU-hour (per busy hour) and busy throughput per GPU.

    Give ``total_tokens_per_s_per_gpu``, or input and output throughput per GPU (then total = input + output, which
    holds when every GPU serves both; for disaggregated serving give the total, i.e. all tokens / all GPUs, too)."""
    notes: list[str] = []
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
    if input_tokens_per_s_per_gpu is not None:
        tin = _arr(input_tokens_per_s_per_gpu, "input_tokens_per_s_per_gpu")
        tout = _arr(output_tokens_per_s_per_gpu, "output_tokens_per_s_per_gpu")
        if total_tokens_per_s_per_gpu is None:
            total = tin + tout
            notes.append(
                "total tokens/s per GPU = input + output (every GPU serves both; for disaggregated "
                "serving pass the total: all tokens / all GPUs)"
            )
        else:
            total = _arr(total_tokens_per_s_per_gpu, "total_tokens_per_s_per_gpu")
            check_total_throughput(total, tin, tout)
        split = "input-output"
        notes.append(
            "input and output $/M each charge the whole GPU-hour to that token kind (InferenceX); "
            "they do not add up to the total"
        )
    elif total_tokens_per_s_per_gpu is not None:
        total = _arr(total_tokens_per_s_per_gpu, "total_tokens_per_s_per_gpu")
        tin = tout = total
        split = "total-only"
        notes.append("only total throughput given: input and output $/M equal the total $/M")
    else:
        raise TokenfabError(
            "no throughput given",
            field="tokens_per_s_per_gpu",
            expected="total tokens/s per GPU, or input and output tokens/s per GPU",
        )

    cost_total = usd_per_mtok(price, total)
    cost_in = usd_per_mtok(price, tin)
    cost_out = usd_per_mtok(price, tout)
    cost_cached = _out(frac * np.asarray(cost_in))
    cost_blend = blended_usd_per_mtok(cost_in, cost_out, ratio)
    notes.append(
        f"cached input: cached prompt tokens skip prefill, charged at {frac:g} x the input cost "
        "(price-list ratio used as an assumption)"
    )
    notes.append(f"blended: {ratio:g}:1 input:output weighted mean of input and output $/M (Artificial Analysis)")

    mw = mw_it = jpt = jpt_it = tpuw = None
    kw_all = kw_it = None
    if kw_per_gpu_all_in is not None:
        kw_all = _arr(kw_per_gpu_all_in, "kw_per_gpu_all_in")
        mw = tokens_per_s_per_mw(total, kw_all)
        jpt = joules_per_token(kw_all * units.KW, total)
        if np.all(price > 0):
            tpuw = tokens_per_usd_per_w(total, price, kw_all * units.KW)
    else:
        notes.append("no all-in kW per GPU: tokens/s per MW, J/token and tokens per $ per W not computed")
    if kw_per_gpu_it is not None:
        kw_it = _arr(kw_per_gpu_it, "kw_per_gpu_it")
        mw_it = tokens_per_s_per_mw(total, kw_it)
        jpt_it = joules_per_token(kw_it * units.KW, total)
    if kw_all is not None or kw_it is not None:
        notes.append("power is provisioned (maximum) kW per GPU, so J/token is an upper bound at full load")

    return CostResult(
        usd_per_gpu_hour=_out(price),
        tokens_per_s_per_gpu_total=_out(total),
        tokens_per_s_per_gpu_input=_out(tin),
        tokens_per_s_per_gpu_output=_out(tout),
        usd_per_mtok_total=cost_total,
        usd_per_mtok_input=cost_in,
        usd_per_mtok_output=cost_out,
        usd_per_mtok_cached_input=cost_cached,
        usd_per_mtok_blended=cost_blend,
        cached_input_cost_fraction=frac,
        blend_input_output_ratio=ratio,
        split=split,
        kw_per_gpu_all_in=None if kw_all is None else _out(kw_all),
        kw_per_gpu_it=None if kw_it is None else _out(kw_it),
        tokens_per_s_per_mw=mw,
        tokens_per_s_per_mw_it=mw_it,
        joules_per_token=jpt,
        joules_per_token_it=jpt_it,
        tokens_per_usd_per_w=tpuw,
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
        kw_per_gpu_all_in=t.kw_per_gpu_all_in,
        kw_per_gpu_it=t.kw_per_gpu_it,
        cached_input_cost_fraction=cached_input_cost_fraction,
    )
