"""Benchmark results -> per-level summaries -> economics ($/M tokens, tokens/s per MW).

* :func:`build_runs` turns request records into one summary per load level (the ``runs`` of ``tokenfab bench
  --json``), recomputed from the records alone, so ``bench-report`` gives the same numbers from the JSONL.
* :func:`economics` turns each level into a measured point: throughput per GPU (total and output) against
  interactivity, with $/M tokens and tokens/s per MW from :mod:`tokenfab.economics.cost` (the formulas live there only).
* :func:`compare_with_model` is the hook for comparing measured points with the performance model: it takes any
  ``predict`` callable, so this module does not depend on the model.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from tokenfab.bench import metrics
from tokenfab.bench.records import group_by_level
from tokenfab.core.errors import TokenfabError

# the keys every entry of "runs" holds (the --json contract), in display order
CONTRACT_KEYS = (
    "requests_ok",
    "requests_failed",
    "ttft_ms_mean",
    "ttft_ms_p50",
    "ttft_ms_p99",
    "tpot_ms_mean",
    "tpot_ms_p50",
    "tpot_ms_p99",
    "e2el_ms_p50",
    "output_tokens_per_s",
    "total_tokens_per_s",
    "tokens_per_s_per_user",
)


def _level_value(mode: str, level: float | str | None) -> float:  # level: a record's concurrency or rate
    if level is None:  # a record whose level was not a valid number (records.clean_record made it None)
        return 0.0
    if mode == "closed":
        return int(level)
    return math.inf if level == "inf" else float(level)


def _tag(mode: str, level: float | str | None, recs: Sequence[Mapping]) -> str:
    from tokenfab.bench.client import level_tag

    if mode == "trace":
        return level_tag(mode, float(recs[0].get("trace_speed") or 1))
    return level_tag(mode, _level_value(mode, level), float(recs[0].get("rate_end") or 0) if mode == "ramp" else None)


def build_runs(
    records: Iterable[Mapping],
    slo: Mapping[str, float] | None = None,
    energy: Mapping[str, dict] | None = None,
    warmup: tuple[str, float] | None = None,
    cooldown: tuple[str, float] | None = None,
) -> list[dict]:
    """One summary per (run, mode, level), in the order the levels first appear in ``records``; ``warmup`` and
    ``cooldown`` exclusions (:func:`tokenfab.bench.metrics.steady_state`) apply per level."""
    runs = []
    for (run, mode, level), recs in group_by_level(records).items():
        entry: dict = {"run_id": run, "mode": mode}
        if mode == "closed":
            entry["concurrency"] = int(level) if level is not None else None
        elif mode == "trace":
            entry["trace_speed"] = recs[0].get("trace_speed")
        else:
            entry["rate"] = level
            if mode == "ramp":
                entry["rate_end"] = recs[0].get("rate_end")
        tag = _tag(mode, level, recs)
        entry["level"] = tag
        entry.update(metrics.summarize_level(recs, slo, warmup, cooldown))
        if energy is not None and tag in energy:
            entry["energy"] = energy[tag]
        runs.append(entry)
    return runs


def economics(
    runs: Sequence[Mapping],
    *,
    gpus: int,
    usd_per_gpu_hour: float,
    all_in_kw_per_gpu: float | None = None,
    prefill_gpu_time_share: float | None = None,
    per_kind: str = "gpu-time",
) -> list[dict]:
    """Measured points per level: tokens/s per GPU (total, output, input) against interactivity, with $/M tokens
    (total; input and output in the one per-token-kind convention of economics.cost, which needs the prefill share of
    GPU time, else None; InferenceX's whole-GPU-hour values as *_inferencex) and tokens/s per MW (total, output) when
    the all-in kW per GPU is known."""
    from tokenfab.economics import cost  # the one home of the cost formulas

    if not isinstance(gpus, int) or gpus < 1:
        raise TokenfabError("must be a whole number >= 1", field="--gpus", got=gpus)
    points = []
    for r in runs:
        total = (r.get("total_tokens_per_s") or 0.0) / gpus
        output = (r.get("output_tokens_per_s") or 0.0) / gpus
        inp = total - output
        p = {k: r[k] for k in ("run_id", "mode", "concurrency", "rate", "level") if k in r}
        p.update(
            {
                "requests_ok": r.get("requests_ok"),
                "requests_failed": r.get("requests_failed"),
                "tokens_per_s_per_user": r.get("tokens_per_s_per_user"),
                "tpot_ms_p50": r.get("tpot_ms_p50"),
                "ttft_ms_p50": r.get("ttft_ms_p50"),
                "total_tokens_per_s_per_gpu": total,
                "output_tokens_per_s_per_gpu": output,
                "input_tokens_per_s_per_gpu": inp,
                "usd_per_mtok_total": cost.usd_per_mtok(usd_per_gpu_hour, total) if total > 0 else None,
                "usd_per_mtok_output_inferencex": cost.usd_per_mtok(usd_per_gpu_hour, output) if output > 0 else None,
                "usd_per_mtok_input_inferencex": cost.usd_per_mtok(usd_per_gpu_hour, inp) if inp > 0 else None,
            }
        )
        pk = cost.per_kind_usd_per_mtok(
            usd_per_gpu_hour,
            input_tokens_per_s_per_gpu=max(inp, 0.0),
            output_tokens_per_s_per_gpu=max(output, 0.0),
            prefill_gpu_time_share=prefill_gpu_time_share,
            per_kind=per_kind,
        )
        p.update(
            {
                "usd_per_mtok_input": _finite(pk["usd_per_mtok_input"]),
                "usd_per_mtok_output": _finite(pk["usd_per_mtok_output"]),
                "per_kind_convention": pk["per_kind_convention"],
            }
        )
        if all_in_kw_per_gpu:
            p["tokens_per_s_per_mw_total"] = cost.tokens_per_s_per_mw(total, all_in_kw_per_gpu)
            p["tokens_per_s_per_mw_output"] = cost.tokens_per_s_per_mw(output, all_in_kw_per_gpu)
            p["j_per_token_all_in"] = cost.joules_per_token(all_in_kw_per_gpu * 1000.0, total) if total > 0 else None
        energy = r.get("energy") or {}
        if energy.get("measured"):
            p["j_per_output_token_measured_gpu"] = energy.get("j_per_output_token")
        points.append(p)
    return points


def _finite(v: float | None) -> float | None:
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None


def resolve_price(
    *,
    hardware: str | None = None,
    preset: str | None = None,
    usd_per_gpu_hour: float | None = None,
    kw_per_gpu: float | None = None,
    hardware_files: list[str] | tuple[str, ...] | None = None,
) -> tuple[float, float | None, dict | None]:
    """($ per GPU-hour, all-in kW per GPU or None, TCO summary or None) for a report.

    With ``hardware``: :func:`tokenfab.economics.tco.tco` (a preset, or ``usd_per_gpu_hour`` as a plain price) gives
    both the price and the all-in kW per GPU (``kw_per_gpu`` overrides the latter). Without it: the plain price only.
    """
    if preset is not None and usd_per_gpu_hour is not None:
        raise TokenfabError("give a preset or a price per GPU-hour, not both", field="--preset")
    for name, v in (("--usd-per-gpu-hour", usd_per_gpu_hour), ("--kw-per-gpu", kw_per_gpu)):
        if v is not None and not v > 0:
            raise TokenfabError("must be positive", field=name, got=v)
    if hardware is not None:
        from tokenfab.economics.tco import tco

        res = tco(hardware, preset=preset, usd_per_gpu_hour=usd_per_gpu_hour, hardware_files=hardware_files)
        doc = {
            "hardware": hardware,
            "preset": res.preset,
            "method": res.method,
            "usd_per_gpu_hour": res.usd_per_gpu_hour,
            "utilization": res.utilization,
            "utilization_basis": res.utilization_basis,
            "all_in_kw_per_gpu": res.all_in_kw_per_gpu,
            "notes": list(res.notes),
        }
        return res.usd_per_gpu_hour, (kw_per_gpu if kw_per_gpu is not None else res.all_in_kw_per_gpu), doc
    if preset is not None:
        raise TokenfabError(
            "a TCO preset needs the hardware", field="--preset", hint="add --hardware KEY, or give --usd-per-gpu-hour"
        )
    if usd_per_gpu_hour is None:
        raise TokenfabError(
            "no price", field="--usd-per-gpu-hour", hint="give --usd-per-gpu-hour X, or --hardware H [--preset P]"
        )
    return usd_per_gpu_hour, kw_per_gpu, None


REPORT_DEFINITIONS = {
    "usd_per_mtok": "usd_per_gpu_hour / (tokens_per_s_per_gpu x 3600 / 1e6) for the total; input and output split by "
    "GPU time (economics.cost.split_cost_by_token_kind, needs --prefill-gpu-time-share); "
    "*_inferencex: the whole GPU-hour per kind",
    "tokens_per_s_per_mw": "tokens_per_s_per_gpu x 1000 / all-in kW per GPU",
    "tokens_per_s_per_gpu": "tokens/s of the benchmark / GPUs that served it",
}


def report_doc(
    records: Sequence[Mapping],
    *,
    gpus: int,
    hardware: str | None = None,
    preset: str | None = None,
    usd_per_gpu_hour: float | None = None,
    kw_per_gpu: float | None = None,
    slo: Mapping[str, float] | None = None,
    warmup: tuple[str, float] | None = None,
    cooldown: tuple[str, float] | None = None,
    prefill_gpu_time_share: float | None = None,
    per_kind: str = "gpu-time",
    hardware_files: list[str] | tuple[str, ...] | None = None,
) -> dict:
    """Everything ``tokenfab bench-report`` shows: per-level summaries, measured economic points, price source
    (``hardware_files``: extra hardware YAML/TOML where ``hardware`` is defined)."""
    price, kw, tco_doc = resolve_price(
        hardware=hardware,
        preset=preset,
        usd_per_gpu_hour=usd_per_gpu_hour,
        kw_per_gpu=kw_per_gpu,
        hardware_files=hardware_files,
    )
    if not records:
        raise TokenfabError("no request records", field="results")
    runs = build_runs(records, slo, warmup=warmup, cooldown=cooldown)
    doc: dict[str, Any] = {
        "gpus": gpus,
        "usd_per_gpu_hour": price,
        "all_in_kw_per_gpu": kw,
        "tco": tco_doc,
        "points": economics(
            runs,
            gpus=gpus,
            usd_per_gpu_hour=price,
            all_in_kw_per_gpu=kw,
            prefill_gpu_time_share=prefill_gpu_time_share,
            per_kind=per_kind,
        ),
        "runs": runs,
        "definitions": {**metrics.DEFINITIONS, **REPORT_DEFINITIONS},
    }
    if kw is None:
        doc["tokens_per_s_per_mw"] = "not computed: no all-in kW per GPU (give --hardware or --kw-per-gpu)"
    return doc


def compare_with_model(points: Sequence[Mapping], predict: Callable[[Mapping], Mapping[str, float]]) -> list[dict]:
    """Measured vs predicted, point by point. ``predict(point)`` returns predicted values for any of the point's
    numeric keys (e.g. ``output_tokens_per_s_per_gpu``, ``tpot_ms_p50``); each shared key gets measured,
    predicted and the relative error (predicted / measured - 1).

    Hook for the performance model (``--compare-model``, ``tokenfab calibrate``): not wired here.
    """
    out = []
    for p in points:
        pred = dict(predict(p) or {})
        row = {k: p[k] for k in ("mode", "concurrency", "rate") if k in p}
        for key, pv in pred.items():
            mv = p.get(key)
            if isinstance(mv, (int, float)) and isinstance(pv, (int, float)):
                row[key] = {"measured": mv, "predicted": pv, "relative_error": (pv / mv - 1.0) if mv else None}
        if not pred:
            row["note"] = "not compared: the model predicts a steady state (a ramp or a trace replay has none)"
        out.append(row)
    return out


def summary_doc(
    runs: Sequence[Mapping],
    *,
    run_id: str | None,
    model: str | None = None,
    url: str | None = None,
    extra: Mapping | None = None,
) -> dict:
    """The summary JSON (``tokenfab bench --summary FILE``): one entry per level whose field names are those of
    ``vllm bench serve``'s result JSON where the metric is the same (``duration``, ``completed``, ``failed``,
    ``request_throughput``, ``request_goodput``, ``output_throughput``, ``total_token_throughput``,
    ``mean_/median_/std_/p50_/p90_/p95_/p99_{ttft,tpot,itl,e2el}_ms``, ``max_concurrency``, ``request_rate``),
    with tokenfab's own measures beside them under ``tokenfab``."""
    import datetime as _dt

    levels = []
    for r in runs:
        v = dict(r.get("vllm") or {})
        entry = {
            "level": r.get("level"),
            "mode": r.get("mode"),
            "max_concurrency": r.get("concurrency"),
            "request_rate": r.get("rate") if r.get("mode") in ("open", "ramp") else None,
        }
        entry.update(v)
        entry["tokenfab"] = {k: val for k, val in r.items() if k not in ("vllm",)}
        levels.append(entry)
    return {
        "tool": "tokenfab bench",
        "date": _dt.datetime.now().strftime("%Y%m%d-%H%M%S"),
        "run_id": run_id,
        "model_id": model,
        "base_url": url,
        **dict(extra or {}),
        "levels": levels,
        "field_names": "vllm bench serve result JSON (vllm/benchmarks/serve.py) where the metric is the same",
    }


def csv_rows(runs: Sequence[Mapping]) -> tuple[list[str], list[dict]]:
    """(columns, rows) of the per-level CSV: the contract keys first, then every other scalar, then vLLM's names."""
    scalar: list[str] = []
    for r in runs:
        for k, v in r.items():
            if not isinstance(v, (dict, list)) and k not in scalar:
                scalar.append(k)
    first = [k for k in ("level", "mode", "concurrency", "rate") if k in scalar] + list(CONTRACT_KEYS)
    vllm_cols: list[str] = []
    for r in runs:
        vllm_cols += [k for k in (r.get("vllm") or {}) if k not in vllm_cols and k not in scalar]
    err_cols = sorted({f"errors_{k}" for r in runs for k in (r.get("errors") or {})})
    cols = first + [k for k in scalar if k not in first] + vllm_cols + err_cols
    rows = []
    for r in runs:
        row = {k: r.get(k) for k in cols if k in r}
        row.update(r.get("vllm") or {})
        for k, v in (r.get("errors") or {}).items():
            row[f"errors_{k}"] = v
        rows.append({k: row.get(k) for k in cols})
    return cols, rows
