"""The header lines and plain sentences that explain a result to a person, shared by the CLI and the dashboard (each
takes the result's ``to_dict()``; numbers formatted by tokenfab.render.format, settings worded by
tokenfab.api.defaults, so a command and its dashboard view say the same thing in the same words)."""

from __future__ import annotations

from tokenfab.api import defaults as D
from tokenfab.render import format as F

SLA_LIMITS = ("ttft_max_ms", "tpot_max_ms", "e2el_max_ms", "min_interactivity")


def sla_text(sla: dict) -> str:
    """``TTFT p90 <= 2,000 ms, TPOT <= 30 ms`` from an SLA dict (search.SLA.to_dict); ``none`` without limits."""
    pct = sla["percentile"]
    parts = []
    if sla.get("ttft_max_ms") is not None:
        parts.append(f"TTFT {pct} <= {F.num(sla['ttft_max_ms'])} ms")
    if sla.get("tpot_max_ms") is not None:
        parts.append(f"TPOT <= {F.num(sla['tpot_max_ms'])} ms")
    if sla.get("e2el_max_ms") is not None:
        parts.append(f"E2E {pct} <= {F.num(sla['e2el_max_ms'])} ms")
    if sla.get("min_interactivity") is not None:
        parts.append(f"interactivity >= {F.num(sla['min_interactivity'])} tok/s/user")
    return ", ".join(parts) or "none"


def fit_header(r: dict, *, weights_given: bool = False, no_overheads: bool = False) -> str:
    """``llama-3.1-70b on h100-sxm · weights bf16 (the checkpoint's), KV bf16 · 1 user x 4,096 tokens of context``."""
    return D.header_line(
        f"{r['model']} on {r['hardware']}",
        D.precision_setting(r["weights_precision"], r["kv_precision"], weights_given=weights_given),
        f"{F.count(r['users'], 'user')} x {r['context_tokens']:,} tokens of context",
        "weights + KV only (--no-overheads)" if no_overheads else "",
    )


def layout_note(r: dict) -> str:
    """Why a fit's layout may use more chips than the memory alone needs (tokenfab.perf.memory.auto_parallelism:
    tensor parallelism over a power of two within a node that divides the attention heads, then pipeline stages)."""
    unit = "chip" if r["memory_kind"] == "SRAM" else "GPU"
    need, exact, gpus = r["chips_needed"], r["chips_needed_exact"], r["gpus"]
    if gpus > need:
        why = (
            "tensor parallelism runs over a power of two within a node that divides the attention heads, then "
            "pipeline stages, until each GPU holds its share (a TP rank may hold state whole, e.g. an MLA model's "
            "latent KV cache)"
            if unit == "GPU"
            else "whole nodes, tensor parallel within the scale-up domain, a pipeline no deeper than the layers"
        )
        return (
            f"memory alone needs {F.count(need, unit)} ({F.num(exact, 2)} exact); the layout uses "
            f"{F.count(gpus, unit)}: {why}"
        )
    pooled = (
        " with every chip's memory pooled (each data-parallel copy holds the weights: see the verdict)"
        if (r.get("dp", 1) > 1)
        else ""
    )
    if gpus < need:
        return f"this layout is {F.count(need - gpus, unit)} short of the {need:,} the memory needs{pooled}"
    return f"memory needs {F.count(need, unit)} ({F.num(exact, 2)} exact){pooled}"


def estimate_header(e: dict, *, weights_given: bool = False, engine_given: bool = False) -> str:
    """``llama-3.1-70b on 8 x h200-sxm · TP=8 PP=1 DP=1 EP=1 · weights fp8, KV fp8 · engine trtllm ...``."""
    return D.header_line(
        f"{e['model']} on {e['gpus']} x {e['hardware']}",
        f"TP={e['tp']} PP={e['pp']} DP={e['dp']} EP={e['ep']}",
        D.precision_setting(e["weights"], e["kv"], weights_given=weights_given),
        D.engine_setting(e["engine"], given=engine_given),
        f"ISL {e['isl']:,} / OSL {e['osl']:,} tokens",
        f"computed at {e['compute_precision']}",
    )


def largest_part(breakdown: dict) -> tuple[str, float] | None:
    """The operator class taking the largest share of a decode step, and its share."""
    parts = {k: v for k, v in breakdown.items() if v and v > 0}
    if not parts:
        return None
    k = max(parts, key=lambda name: parts[name])
    return k, parts[k] / sum(parts.values())


BOUND_WORDS = {
    "compute": "arithmetic limits the operators that take most of the step",
    "memory": "reading the weights and the KV cache limits the operators that take most of the step",
    "communication": "transfers between GPUs take most of the step",
    "overhead": "the engine's fixed cost per step (scheduling, kernel launches) takes most of it",
}


def bound_note(e: dict) -> str:
    """The estimate's ``bound`` next to the bars it is read with: the bound names what limits the operators taking
    most of a decode step; the bars group the same time by operator class (so a step limited by memory can have
    communication as its largest bar)."""
    lp = largest_part(e.get("breakdown") or {})
    text = BOUND_WORDS.get(e["bound"], F.explain("bound"))
    if lp:
        text += f"; the bars group the step by operator class instead (largest: {F.label(lp[0])}, {F.pct(lp[1])})"
    return text


def not_fit_text(e: dict, fit: dict | None) -> str:
    """Why a configuration does not fit, with one size and its breakdown per GPU: the estimate's warning (weights +
    activations against what the engine may use) and the same parts from tokenfab.perf.memory.fit (``fit``)."""
    w = next((x for x in e.get("warnings") or [] if x.startswith("does not fit")), "does not fit")
    fit_d = fit or {}
    pg = fit_d.get("per_gpu") or {}
    if not pg:
        return w + "."
    return (
        f"{w}. Per GPU: weights {F.gib(pg['weights_gib'])} + activations {F.gib(pg['activations_gib'])}; the runtime "
        f"reserve of {F.gib(pg['runtime_overhead_gib'])} of the {F.gib(fit_d['capacity_per_gpu_gib'])} is not usable."
    )


def tco_header(t: dict, *, utilization_given: bool = False) -> str:
    """``h100-sxm · TCO owned-neocloud (default), utilization 50% (default)`` (a plain price: ``$2.10 per GPU-hour
    (given)``), from a TcoResult's to_dict()."""
    no_preset = bool(t.get("preset_defaulted"))
    src = t.get("sources") or {}
    price = (
        (t.get("inputs") or {}).get("price_usd_per_gpu_hour") if src.get("price_usd_per_gpu_hour") == "user" else None
    )
    return D.header_line(
        t["hardware"],
        D.tco_setting(
            t["preset"],
            t["utilization"],
            preset_given=not no_preset,
            utilization_given=utilization_given or not str(src.get("utilization", "default")).startswith("default"),
            price=price,
        ),
    )


def search_header(d: dict, hardware, engines: dict, *, given: dict, preset, utilization=None, extra=()) -> str:
    """The first line of a frontier / fleet result: model and hardware, workload, precision, engines, SLA, TCO and
    utilization, each marked when it is the default."""
    pct = d["sla"]["percentile"]
    return D.header_line(
        f"{d['model']} on {', '.join(hardware)}",
        f"ISL {d['isl']:,} / OSL {d['osl']:,} tokens",
        D.precision_setting(d.get("weights") or ["?"], d.get("kv") or ["?"], weights_given=given.get("weights", False)),
        D.engine_setting(engines, given=given.get("engine", False)) if engines else "",
        *extra,
        f"SLA {sla_text(d['sla'])}" if any(d["sla"].get(k) is not None for k in SLA_LIMITS) else "no latency limit",
        f"latency at {pct}" + ("" if given.get("percentile") else " (default)"),
        D.tco_setting(
            preset,
            utilization,
            preset_given=given.get("preset", False),
            utilization_given=given.get("utilization", False),
            price=d.get("usd_per_gpu_hour_override") or given.get("usd_per_gpu_hour"),
        ),
    )


def frontier_header(d: dict, *, given: dict) -> str:
    """The header line of a FrontierResult's to_dict() (tokenfab frontier, the dashboard's Frontier view)."""
    hw_costs = d.get("hardware") or {}
    util = next((((c or {}).get("cost") or {}).get("utilization") for c in hw_costs.values()), None)
    return search_header(
        d,
        list(hw_costs),
        (d.get("assumptions") or {}).get("engines") or {},
        given=given,
        preset=d.get("preset"),
        utilization=util,
        extra=(f"modes {', '.join(d['modes'])}",),
    )


__all__ = [
    "SLA_LIMITS",
    "BOUND_WORDS",
    "bound_note",
    "estimate_header",
    "fit_header",
    "frontier_header",
    "largest_part",
    "layout_note",
    "not_fit_text",
    "search_header",
    "sla_text",
    "tco_header",
]
