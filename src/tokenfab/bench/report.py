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
from typing import Callable, Iterable, Mapping, Sequence

from tokenfab.core.errors import TokenfabError
from tokenfab.bench import metrics
from tokenfab.bench.records import group_by_level

# the keys every entry of "runs" holds (the --json contract), in display order
CONTRACT_KEYS = ("requests_ok", "requests_failed", "ttft_ms_mean", "ttft_ms_p50", "ttft_ms_p99", "tpot_ms_mean",
                 "tpot_ms_p50", "tpot_ms_p99", "e2el_ms_p50", "output_tokens_per_s", "total_tokens_per_s",
                 "tokens_per_s_per_user")


def _level_value(mode: str, level):
    if mode == "closed":
        return int(level)
    return math.inf if level == "inf" else float(level)


def build_runs(records: Iterable[Mapping], slo: Mapping[str, float] | None = None,
               energy: Mapping[str, dict] | None = None) -> list[dict]:
    """One summary per (run, mode, level), in the order the levels first appear in ``records``."""
    runs = []
    for (run, mode, level), recs in group_by_level(records).items():
        entry: dict = {"run_id": run, "mode": mode}
        if mode == "closed":
            entry["concurrency"] = int(level)
            tag = f"c{int(level)}"
        else:
            entry["rate"] = level
            tag = f"r{_level_value(mode, level):g}"
        entry.update(metrics.summarize_level(recs, slo))
        if energy is not None and tag in energy:
            entry["energy"] = energy[tag]
        runs.append(entry)
    return runs


def economics(runs: Sequence[Mapping], *, gpus: int, usd_per_gpu_hour: float,
              kw_per_gpu_all_in: float | None = None) -> list[dict]:
    """Measured points per level: tokens/s per GPU (total, output, input) against interactivity, with $/M tokens
    (total, output, input) and tokens/s per MW (total, output) when the all-in kW per GPU is known."""
    from tokenfab.economics import cost  # the one home of the cost formulas

    if not isinstance(gpus, int) or gpus < 1:
        raise TokenfabError("must be a whole number >= 1", field="--gpus", got=gpus)
    points = []
    for r in runs:
        total = (r.get("total_tokens_per_s") or 0.0) / gpus
        output = (r.get("output_tokens_per_s") or 0.0) / gpus
        inp = total - output
        p = {k: r[k] for k in ("run_id", "mode", "concurrency", "rate") if k in r}
        p.update({
            "requests_ok": r.get("requests_ok"),
            "requests_failed": r.get("requests_failed"),
            "tokens_per_s_per_user": r.get("tokens_per_s_per_user"),
            "tpot_ms_p50": r.get("tpot_ms_p50"),
            "ttft_ms_p50": r.get("ttft_ms_p50"),
            "total_tokens_per_s_per_gpu": total,
            "output_tokens_per_s_per_gpu": output,
            "input_tokens_per_s_per_gpu": inp,
            "usd_per_mtok_total": cost.usd_per_mtok(usd_per_gpu_hour, total) if total > 0 else None,
            "usd_per_mtok_output": cost.usd_per_mtok(usd_per_gpu_hour, output) if output > 0 else None,
            "usd_per_mtok_input": cost.usd_per_mtok(usd_per_gpu_hour, inp) if inp > 0 else None,
        })
        if kw_per_gpu_all_in:
            p["tokens_per_s_per_mw_total"] = cost.tokens_per_s_per_mw(total, kw_per_gpu_all_in)
            p["tokens_per_s_per_mw_output"] = cost.tokens_per_s_per_mw(output, kw_per_gpu_all_in)
            p["j_per_token_all_in"] = (cost.joules_per_token(kw_per_gpu_all_in * 1000.0, total) if total > 0 else None)
        energy = r.get("energy") or {}
        if energy.get("measured"):
            p["j_per_output_token_measured_gpu"] = energy.get("j_per_output_token")
        points.append(p)
    return points


def resolve_price(*, hardware: str | None = None, preset: str | None = None, usd_per_gpu_hour: float | None = None,
                  kw_per_gpu: float | None = None) -> tuple[float, float | None, dict | None]:
    """($ per GPU-hour, all-in kW per GPU or None, TCO summary or None) for a report.

    With ``hardware``: :func:`tokenfab.economics.tco.tco` (a preset, or ``usd_per_gpu_hour`` as a plain price) gives both the
    price and the all-in kW per GPU (``kw_per_gpu`` overrides the latter). Without it: the plain price only.
    """
    if preset is not None and usd_per_gpu_hour is not None:
        raise TokenfabError("give a preset or a price per GPU-hour, not both", field="--preset")
    for name, v in (("--usd-per-gpu-hour", usd_per_gpu_hour), ("--kw-per-gpu", kw_per_gpu)):
        if v is not None and not v > 0:
            raise TokenfabError("must be positive", field=name, got=v)
    if hardware is not None:
        from tokenfab.economics.tco import tco

        res = tco(hardware, preset=preset, usd_per_gpu_hour=usd_per_gpu_hour)
        doc = {"hardware": hardware, "preset": res.preset, "method": res.method, "usd_per_gpu_hour": res.usd_per_gpu_hour,
               "kw_per_gpu_all_in": res.kw_per_gpu_all_in, "notes": list(res.notes)}
        return res.usd_per_gpu_hour, (kw_per_gpu if kw_per_gpu is not None else res.kw_per_gpu_all_in), doc
    if preset is not None:
        raise TokenfabError("a TCO preset needs the hardware", field="--preset",
                            hint="add --hardware KEY, or give --usd-per-gpu-hour")
    if usd_per_gpu_hour is None:
        raise TokenfabError("no price", field="--usd-per-gpu-hour",
                            hint="give --usd-per-gpu-hour X, or --hardware H [--preset P]")
    return usd_per_gpu_hour, kw_per_gpu, None


REPORT_DEFINITIONS = {
    "usd_per_mtok": "usd_per_gpu_hour / (tokens_per_s_per_gpu x 3600 / 1e6), for total, output and input tokens/s per GPU",
    "tokens_per_s_per_mw": "tokens_per_s_per_gpu x 1000 / all-in kW per GPU",
    "tokens_per_s_per_gpu": "tokens/s of the benchmark / GPUs that served it",
}


def report_doc(records: Sequence[Mapping], *, gpus: int, hardware: str | None = None, preset: str | None = None,
               usd_per_gpu_hour: float | None = None, kw_per_gpu: float | None = None,
               slo: Mapping[str, float] | None = None) -> dict:
    """Everything ``tokenfab bench-report`` shows: per-level summaries, measured economic points, price source."""
    price, kw, tco_doc = resolve_price(hardware=hardware, preset=preset, usd_per_gpu_hour=usd_per_gpu_hour,
                                       kw_per_gpu=kw_per_gpu)
    if not records:
        raise TokenfabError("no request records", field="results")
    runs = build_runs(records, slo)
    doc = {"gpus": gpus, "usd_per_gpu_hour": price, "kw_per_gpu_all_in": kw, "tco": tco_doc,
           "points": economics(runs, gpus=gpus, usd_per_gpu_hour=price, kw_per_gpu_all_in=kw), "runs": runs,
           "definitions": {**metrics.DEFINITIONS, **REPORT_DEFINITIONS}}
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
        out.append(row)
    return out
