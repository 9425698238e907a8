"""Frontier, tiers and the explanation of an infeasible SLA (Python API of `tokenfab frontier`)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from tokenfab.catalog import precision as prec
from tokenfab.core.errors import TokenfabError
from tokenfab.core.inputs import check_inputs
from tokenfab.economics import assumptions as _assumptions
from tokenfab.economics import cost as costmod
from tokenfab.economics import tco as tcomod
from tokenfab.perf import uncertainty as unc
from tokenfab.perf.memory import no_scale_out
from tokenfab.perf.uncertainty import scaled_band
from tokenfab.search.disagg import DISAGG_PREFILL_UTILIZATIONS
from tokenfab.search.evaluate import DEFINITIONS, SLA, Sweep, _cost_table, attach_costs, layout_text, sweep
from tokenfab.search.pareto import pareto_mask, steffen_interpolate
from tokenfab.search.space import MAX_PP, MODES, resolve_hardware

# [assumption] near-ties in the tier picks and `best` go to the fewest GPUs per replica (or per x:y unit): a point
# within 1% of the lowest $/M (bulk, goldilocks, best) or within 2% of the highest interactivity (premium) is as good
# a pick, below what the model resolves (its calibration error is several %), and a smaller unit is easier to deploy.
# Token tiers are interactivity bands with cited anchors (data/assumptions.yaml ``tiers``): bulk = the cheapest point
# (batch APIs sell no speed), goldilocks = the cheapest point at >= 50 tok/s/user (the standard interactive tier),
# premium = the cheapest point at >= 80 tok/s/user (what OpenAI sells as Priority processing: "99% > 80 tokens per
# second"), not the batch-1 extreme, which is reported separately as ``fastest``.
GOLDILOCKS_INTERACTIVITY = float(_assumptions.TIER_FLOORS_TOKENS_PER_S_PER_USER["goldilocks"])
PREMIUM_INTERACTIVITY = float(_assumptions.TIER_FLOORS_TOKENS_PER_S_PER_USER["premium"])
TIER_COST_TOLERANCE = _assumptions.value("search", "tier_cost_tolerance")
# [assumption] two options are a tie when their p10-p90 bands of the compared figure overlap by more than this share
# of the narrower band: the model cannot tell them apart at its out-of-sample accuracy (perf/uncertainty.py)
TIE_OVERLAP = _assumptions.value("search", "tie_overlap")  # data/assumptions.yaml, cited there
TIE_RULE = (
    f"options whose p10-p90 bands overlap by more than {TIE_OVERLAP:.0%} of the narrower band are a tie with the "
    "cheapest: the model cannot rank them at its out-of-sample accuracy"
)


def _finite_median(values: np.ndarray) -> float:
    """Median of the finite entries, NaN when there are none (no warning for an all-NaN slice)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    return float(np.median(v)) if v.size else float("nan")


def band_overlap(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Overlap of two [lo, hi] bands as a share of the narrower one (0: disjoint; 1: one contains the other)."""
    lo, hi = max(a[0], b[0]), min(a[1], b[1])
    width = min(a[1] - a[0], b[1] - b[0])
    if hi <= lo:
        return 0.0
    return 1.0 if width <= 0 else float((hi - lo) / width)


def tied_with(best: dict, rows: list[dict], key: str) -> list[dict]:
    """The rows whose band of ``key`` overlaps ``best``'s by more than TIE_OVERLAP (``best`` itself excluded)."""
    bb = (best.get("uncertainty") or {}).get(key)
    if not bb or bb.get("p10") is None or bb.get("p90") is None:
        return []
    out = []
    for r in rows:
        if r is best:
            continue
        rb = (r.get("uncertainty") or {}).get(key)
        if (
            rb
            and rb.get("p10") is not None
            and rb.get("p90") is not None
            and band_overlap((bb["p10"], bb["p90"]), (rb["p10"], rb["p90"])) > TIE_OVERLAP
        ):
            out.append(r)
    return out


def tie_report(best: dict | None, rows: list[dict], key: str, name=None) -> dict:
    """``{"tie": [names of the rows tied with best on key], "tie_rule": TIE_RULE}`` (:func:`tied_with`; ``name``
    labels a row, default its hardware)."""
    name = name or (lambda r: r["hardware"])
    tie = tied_with(best, rows, key) if best is not None else []
    return {"tie": [name(r) for r in tie], "tie_rule": TIE_RULE}


def prior_summary(calibration: dict, table: dict, mclass: str = "*", among=None) -> dict:
    """``{"prior_hardware": [...], "calibration_notes": [...]}`` of the hardware of ``calibration`` ({hardware:
    ProfileStatus dict}, optionally only those in ``among``) whose profile is a prior (perf/uncertainty.py)."""
    cal = {h: s for h, s in calibration.items() if among is None or h in among}
    return {
        "prior_hardware": [h for h, s in cal.items() if unc.is_prior(s)],
        "calibration_notes": unc.calibration_notes(cal, table, mclass),
    }


TIER_INTERACTIVITY_TOLERANCE = _assumptions.value("search", "tier_interactivity_tolerance")  # data/assumptions.yaml

# ----------------------------------------------------------------------------------------------- explain infeasible SLA
_LIMITS = (
    ("ttft_max_ms", "ttft_ms", "TTFT", "ms", np.less_equal, np.nanmin),
    ("tpot_max_ms", "tpot_ms", "TPOT", "ms", np.less_equal, np.nanmin),
    ("e2el_max_ms", "e2el_ms", "E2E latency", "ms", np.less_equal, np.nanmin),
    ("min_interactivity", "tokens_per_s_per_user", "interactivity", "tok/s/user", np.greater_equal, np.nanmax),
)


def explain_infeasible(sw: Sweep, sla: SLA | None = None) -> TokenfabError:
    """A clear error for an SLA nobody meets: which limit binds and the best achievable value of it."""
    sla = sla or sw.sla
    valid = sw.valid
    hw_list = ", ".join(h.key for h in sw.hardware)
    if not valid.any():
        # hardware whose instances are capped at its scale-up domain (no scale-out figure): more chips do not help
        capped = [h.key for h in sw.hardware if no_scale_out(h)]
        hint = "use more GPUs (--gpus), a narrower --weights precision, or hardware with more memory"
        if capped:
            hint = (
                f"{', '.join(capped)}: a model instance is not modelled beyond the scale-up domain (no scale-out "
                "bandwidth in the hardware entry), so more chips do not help; use a narrower --weights precision, a "
                "shorter context, or other hardware"
            ) + ("" if len(capped) == len(sw.hardware) else f"; for the others: {hint}")
        return TokenfabError(
            f"{sw.model.key} does not fit on any evaluated configuration of {hw_list} "
            f"(weights {', '.join(sw.weights)}, ISL+OSL {sw.isl + sw.osl})",
            field="hardware",
            hint=hint,
        )
    c = sw.cols
    active = [lim for lim in _LIMITS if getattr(sla, lim[0]) is not None]
    passes = {lim[0]: valid & lim[4](c[lim[1]], getattr(sla, lim[0])) for lim in active}
    pct = sla.label
    for name, col, label, unit, cmp, best_fn in active:
        others = valid.copy()
        for o in active:
            if o[0] != name:
                others &= passes[o[0]]
        pool = others if others.any() else valid
        if passes[name][pool].any():
            continue
        vals = np.where(pool, c[col], np.nan)
        best = float(best_fn(vals))
        near = np.flatnonzero(np.abs(vals - best) <= 1e-3 * abs(best))  # of the (near-)ties, the fewest GPUs
        i = int(near[np.argmin(c["gpus"][near])])
        cfg = sw.config(i)
        where = f"{sw.hw_key(i)} {cfg['mode']} {cfg['gpus']} GPUs {layout_text(cfg)}"
        limit = getattr(sla, name)
        qual = f" {pct}" if name in ("ttft_max_ms", "e2el_max_ms") else ""
        op = ">=" if cmp is np.greater_equal else "<="
        also = " while meeting the other limits" if others.any() and len(active) > 1 else ""
        gap = abs(best - limit)
        return TokenfabError(
            f"no configuration meets the SLA: the binding limit is {label}{qual} {op} {limit:g} {unit}; the best "
            f"achievable{qual} {label}{also} is {best:.4g} {unit}, {gap:.4g} {unit} ({gap / limit:.0%}) "
            f"{'below' if op == '>=' else 'over'} the limit ({where})",
            field=name,
            expected=f"{'<=' if op == '>=' else '>='} {best:.4g}",
            got=limit,
        )
    return TokenfabError("no configuration meets all SLA limits together", field="sla", got=sla.to_dict())


# ----------------------------------------------------------------------------------------------- frontier + tiers
@dataclass
class FrontierResult:
    sweep: Sweep
    frontier_idx: np.ndarray  # indices into sweep, all (hardware, mode) frontiers, sorted
    target_interactivity: float
    goldilocks_interactivity: float
    elapsed_s: float
    preset: str | None = None
    usd_per_gpu_hour_override: float | None = None
    target_given: bool = False  # the caller named a target interactivity (else the goldilocks default is used)

    # ---- derived views
    def points(self) -> list[dict]:
        return [self.sweep.point(int(i)) for i in self.frontier_idx]

    def groups(self) -> list[tuple[str, str, np.ndarray]]:
        """(hardware, mode, frontier indices sorted by interactivity) per (hardware, mode) that has a frontier."""
        c = self.sweep.cols
        out = []
        for h, hw in enumerate(self.sweep.hardware):
            for mi, mname in enumerate(MODES):
                ids = self.frontier_idx[(c["hw"][self.frontier_idx] == h) & (c["mode"][self.frontier_idx] == mi)]
                if ids.size:
                    out.append((hw.key, mname, ids[np.argsort(c["tokens_per_s_per_user"][ids])]))
        return out

    def tiers(self, ids: np.ndarray | None = None) -> dict:
        return token_tiers(self.sweep, self.frontier_idx if ids is None else ids, self.goldilocks_interactivity)

    def at_target(self) -> dict:
        sw = self.sweep
        c = sw.cols
        U = self.target_interactivity
        rows = []
        for hw_key, mname, ids in self.groups():
            x = c["tokens_per_s_per_user"][ids]
            y = c["total_tokens_per_s_per_gpu"][ids]
            row: dict[str, Any] = {"hardware": hw_key, "mode": mname, "target_interactivity": U}
            if x[-1] * (1 + 1e-12) < U:
                row.update(
                    {
                        "achievable": False,
                        "max_interactivity": float(x[-1]),
                        "total_tokens_per_s_per_gpu": None,
                        "note": f"the frontier reaches {x[-1]:.1f} tok/s/user at most",
                    }
                )
            else:
                clamped = x[0] > U
                val = float(y[0]) if clamped else float(steffen_interpolate(x, y, U))
                row.update({"achievable": True, "clamped": bool(clamped), "total_tokens_per_s_per_gpu": val})
                if clamped:
                    row["note"] = (
                        f"below the frontier's lowest interactivity ({x[0]:.1f} tok/s/user): the "
                        f"max-throughput point already serves faster than the target"
                    )
            tot = row["total_tokens_per_s_per_gpu"]
            cost = sw.costs.get(hw_key) or {}
            usd = cost.get("usd_per_gpu_hour")
            kw = cost.get("all_in_kw_per_gpu")
            frac_out = sw.osl / (sw.isl + sw.osl)
            if tot:
                row["output_tokens_per_s_per_gpu"] = tot * frac_out
                row["input_tokens_per_s_per_gpu"] = tot * (1 - frac_out)
            for key, share in (
                ("usd_per_mtok_total", 1.0),
                ("usd_per_mtok_input_inferencex", 1 - frac_out),
                ("usd_per_mtok_output_inferencex", frac_out),
            ):
                row[key] = float(costmod.usd_per_mtok(usd, tot * share)) if (tot and usd is not None) else None
            # the one per-token-kind split, at the prefill share interpolated linearly along the frontier
            pf = (
                np.interp(min(max(U, x[0]), x[-1]), x, np.asarray(c["prefill_gpu_time_share"][ids], dtype=float))
                if ("prefill_gpu_time_share" in c)
                else None
            )
            row["prefill_gpu_time_share"] = None if pf is None else float(pf)
            pk = (
                costmod.per_kind_usd_per_mtok(
                    usd,
                    input_tokens_per_s_per_gpu=tot * (1 - frac_out),
                    output_tokens_per_s_per_gpu=tot * frac_out,
                    prefill_gpu_time_share=float(np.clip(pf, 0.0, 1.0)),
                    cached_input_share=float(sw.prefix_hit_rate),
                )
                if (tot and usd is not None and pf is not None)
                else {}
            )
            for key in ("usd_per_mtok_input", "usd_per_mtok_cached_input", "usd_per_mtok_output"):
                row[key] = None if pk.get(key) is None else float(pk[key])
            row["tokens_per_s_per_mw"] = float(costmod.tokens_per_s_per_mw(tot, kw)) if (tot and kw) else None
            # the band of the interpolated figures: the frontier's own error-band factors (same bucket along it)
            lo = _finite_median(c["band_throughput_lo"][ids]) if "band_throughput_lo" in c else np.nan
            hi = _finite_median(c["band_throughput_hi"][ids]) if "band_throughput_hi" in c else np.nan
            row["uncertainty"] = {}
            if np.isfinite(lo) and np.isfinite(hi):
                for key, (metric, sign) in unc.SWEEP_FIGURES.items():
                    b = scaled_band(row[key], lo, hi, sign) if row.get(key) is not None else None
                    if b is not None and metric == "throughput":
                        row["uncertainty"][key] = b
            row["calibration"] = sw.calibration.get(hw_key, {})
            row["prior"] = bool(row["calibration"].get("prior", False))
            rows.append(row)
        priced = [r for r in rows if r.get("usd_per_mtok_total") is not None]
        cheapest = min(priced, key=lambda r: r["usd_per_mtok_total"]) if priced else None
        return {
            "target_interactivity": U,
            "method": "Steffen monotone cubic along each (hardware, mode) frontier",
            "results": rows,
            "cheapest": cheapest,
            **tie_report(cheapest, priced, "usd_per_mtok_total", lambda r: f"{r['hardware']} {r['mode']}"),
        }

    def best(self) -> dict | None:
        sw = self.sweep
        c = sw.cols
        ids = self.frontier_idx
        if not ids.size:
            return None
        crit = "lowest usd_per_mtok_total among points meeting the SLA"
        if self.target_given:
            sel = ids[c["tokens_per_s_per_user"][ids] >= self.target_interactivity]
            crit += f" with at least {self.target_interactivity:g} tok/s/user"
            if not sel.size:
                return None
            ids = sel
        i = cast(int, cheapest_point(sw, ids))  # ids is not empty: a row
        if not np.isfinite(c["usd_per_mtok_total"][ids]).any():
            crit = crit.replace("lowest usd_per_mtok_total", "highest total tokens/s per GPU (no cost known)")
        crit += f" (within {TIER_COST_TOLERANCE:.0%}: the fewest GPUs per replica)"
        p = sw.point(int(i))
        p["criterion"] = crit
        # the cheapest point of every other hardware under the same criterion: a tie when the bands overlap
        others = []
        for h in range(len(sw.hardware)):
            sel = ids[c["hw"][ids] == h]
            if sel.size and h != int(c["hw"][i]):
                j = cheapest_point(sw, sel)
                if j is not None:
                    others.append(sw.point(int(j)))
        p.update(tie_report(p, others, "usd_per_mtok_total", lambda o: f"{o['hardware']} {o['mode']}"))
        return p

    def by_hardware(self) -> dict:
        sw = self.sweep
        c = sw.cols
        out = {}
        for h, hw in enumerate(sw.hardware):
            ids = self.frontier_idx[c["hw"][self.frontier_idx] == h]
            n_eval = int(np.sum(c["hw"] == h))
            entry = {
                "frontier_points": int(ids.size),
                "configurations": n_eval,
                "feasible": int(np.sum((c["hw"] == h) & sw.sla_mask())),
                "cost": sw.costs.get(hw.key),
            }
            if ids.size:
                entry["tiers"] = token_tiers(sw, ids, self.goldilocks_interactivity)
            out[hw.key] = entry
        return out

    def to_dict(self) -> dict:
        sw = self.sweep
        return {
            "model": sw.model.key,
            "isl": sw.isl,
            "osl": sw.osl,
            "weights": list(sw.weights),
            "kv": [prec.default_kv_precision(w) for w in sw.weights],
            "modes": list(sw.modes),
            "sla": sw.sla.to_dict(),
            "preset": self.preset or tcomod.DEFAULT_PRESET,
            "usd_per_gpu_hour_override": self.usd_per_gpu_hour_override,
            "points": self.points(),
            "best": self.best(),
            "tiers": self.tiers(),
            "at_target": self.at_target(),
            "hardware": self.by_hardware(),
            "evaluated": sw.evaluated,
            "elapsed_s": self.elapsed_s,
            "configurations_per_s": sw.evaluated / self.elapsed_s if self.elapsed_s > 0 else None,
            "warnings": list(sw.warnings),
            "definitions": dict(DEFINITIONS),
            "calibration": dict(sw.calibration),
            **prior_summary(sw.calibration, sw.uncertainty_table, unc.model_class(sw.model)),
            "tie_rule": TIE_RULE,
            "assumptions": {
                "speculative": [s.to_dict() for s in sw.specs if s.on],
                "engines": {h.key: e.key for h, e in zip(sw.hardware, sw.engines, strict=False)},
                "goldilocks_interactivity": self.goldilocks_interactivity,
                "disagg_prefill_utilizations": list(DISAGG_PREFILL_UTILIZATIONS),
                "max_pp": MAX_PP,
                "queueing": "M/D/c prefill queue, Poisson arrivals at each point's throughput (docs/search.md)",
                "usd_per_gpu_hour": "per busy GPU-hour (tco.usd_per_gpu_hour: wall-clock / utilization)",
            },
        }


def _fewest_gpus_near(sw: Sweep, sel: np.ndarray, value: np.ndarray, rel_tol: float) -> int:
    """Of the rows ``sel`` whose ``value`` (higher is better) is within ``rel_tol`` of the best, the one with the fewest
    GPUs per replica (per x:y unit when disaggregated); ties on GPUs go to the best value."""
    v = np.where(np.isfinite(value), value, -np.inf)
    top = v.max()
    near = np.flatnonzero(v >= top - rel_tol * abs(top))
    g = sw.cols["gpus"][sel[near]]
    k = near[np.lexsort((-v[near], g))[0]]
    return int(sel[k])


def cheapest_point(sw: Sweep, sel, rel_tol: float = TIER_COST_TOLERANCE) -> int | None:
    """The cheapest of the rows ``sel`` ($/M total tokens; the highest total tokens/s per GPU when no cost is known),
    near-ties (within ``rel_tol``) going to the fewest GPUs per replica."""
    sel = np.asarray(sel, dtype=int)
    if not sel.size:
        return None
    c = sw.cols
    cost = c["usd_per_mtok_total"][sel]
    if np.isfinite(cost).any():
        return _fewest_gpus_near(sw, sel, -cost, rel_tol)
    return _fewest_gpus_near(sw, sel, c["total_tokens_per_s_per_gpu"][sel], rel_tol)


def most_interactive_point(sw: Sweep, sel, rel_tol: float = TIER_INTERACTIVITY_TOLERANCE) -> int | None:
    """The highest tokens/s per user of the rows ``sel``, near-ties (within ``rel_tol``) going to the fewest GPUs per
    replica (then the highest tokens/s per user, then the cheapest)."""
    sel = np.asarray(sel, dtype=int)
    if not sel.size:
        return None
    c = sw.cols
    xi = c["tokens_per_s_per_user"][sel]
    near = sel[xi >= xi.max() * (1 - rel_tol)]
    g = c["gpus"][near]
    near = near[g == g.min()]
    cost = np.nan_to_num(c["usd_per_mtok_total"][near], nan=np.inf)
    return int(near[np.lexsort((cost, -c["tokens_per_s_per_user"][near]))[0]])


def token_tiers(
    sw: Sweep,
    ids: np.ndarray,
    goldilocks_interactivity: float = GOLDILOCKS_INTERACTIVITY,
    premium_interactivity: float | None = None,
) -> dict:
    """Tiers as interactivity bands (floors in data/assumptions.yaml, cited there): bulk = the cheapest point ($/M
    total; max throughput per GPU when no cost is known); goldilocks = the cheapest point with at least
    ``goldilocks_interactivity`` tok/s/user; premium = the cheapest point with at least ``premium_interactivity``
    (default PREMIUM_INTERACTIVITY, or twice the goldilocks floor when that is higher) tok/s/user; ``fastest`` = the
    highest interactivity (the batch-1 extreme, no tier of its own). Near-ties go to the fewest GPUs per replica
    (:func:`cheapest_point`, :func:`most_interactive_point`)."""
    c = sw.cols
    ids = np.asarray(ids, dtype=int)
    prem = float(premium_interactivity) if premium_interactivity is not None else PREMIUM_INTERACTIVITY
    prem = max(prem, float(goldilocks_interactivity))
    # a tier's floor holds at the sweep's SLA percentile (1000 / its TPOT), as the providers' own tiers are stated
    # ("99% > 80 tokens per second"), not at the mean, which a p90 or p99 TPOT misses
    at = f"at the TPOT {sw.sla.label}" if sw.sla.percentile is not None else "at the mean TPOT"
    near = f"; within {TIER_COST_TOLERANCE:.0%} of the lowest cost, the fewest GPUs per replica"
    out: dict = {
        "goldilocks_interactivity": goldilocks_interactivity,
        "premium_interactivity": prem,
        "definitions": {
            "bulk": "cheapest $/M total tokens (max throughput; batch APIs sell no speed)" + near,
            "goldilocks": f"cheapest point with >= {goldilocks_interactivity:g} tok/s/user {at} (standard "
            "interactive tier)" + near,
            "premium": f"cheapest point with >= {prem:g} tok/s/user {at} (what providers sell as fast/priority)" + near,
            "fastest": f"highest tokens/s per user; within {TIER_INTERACTIVITY_TOLERANCE:.0%} "
            "of it, the fewest GPUs per replica, then the cheapest (the batch-1 extreme)",
        },
        "sources": {
            t: _assumptions.cite("tiers", t, "min_tokens_per_s_per_user") for t in ("bulk", "goldilocks", "premium")
        },
    }
    if not ids.size:
        return {**out, "bulk": None, "goldilocks": None, "premium": None, "fastest": None}
    with np.errstate(divide="ignore", invalid="ignore"):
        tps = np.where(c["tpot_ms"][ids] > 0, 1000.0 / c["tpot_ms"][ids], 0.0)
    b = cheapest_point(sw, ids)
    g = cheapest_point(sw, ids[tps >= goldilocks_interactivity])
    p = cheapest_point(sw, ids[tps >= prem])
    f = most_interactive_point(sw, ids)
    out["bulk"] = sw.point(b) if b is not None else None
    out["goldilocks"] = sw.point(g) if g is not None else None
    out["premium"] = sw.point(p) if p is not None else None
    out["fastest"] = sw.point(f) if f is not None else None
    if g is None:
        out["goldilocks_note"] = f"no point reaches {goldilocks_interactivity:g} tok/s/user ({at})"
    if p is None:
        out["premium_note"] = f"no point reaches {prem:g} tok/s/user ({at})"
    return out


def frontier_indices(sw: Sweep, mask: np.ndarray | None = None) -> np.ndarray:
    """Indices of the Pareto-optimal points per (hardware, mode) among ``mask`` (default: points meeting the SLA)."""
    c = sw.cols
    m = sw.sla_mask() if mask is None else mask
    out = []
    for h in range(len(sw.hardware)):
        for mi in range(len(MODES)):
            ids = np.flatnonzero(m & (c["hw"] == h) & (c["mode"] == mi))
            if not ids.size:
                continue
            keep = pareto_mask(c["tokens_per_s_per_user"][ids], c["total_tokens_per_s_per_gpu"][ids])
            sel = ids[keep]
            out.append(sel[np.argsort(c["tokens_per_s_per_user"][sel])])
    return np.concatenate(out) if out else np.zeros(0, dtype=int)


def frontier(
    model,
    hardware,
    *,
    isl: int = 1024,
    osl: int = 1024,
    weights=None,
    gpus: int | None = None,
    mode="both",
    ttft_max_ms=None,
    tpot_max_ms=None,
    e2el_max_ms=None,
    percentile=None,
    min_interactivity=None,
    target_interactivity=None,
    preset=None,
    usd_per_gpu_hour=None,
    calibration=None,
    hardware_files=None,
    mtp: bool | str | dict | None = True,
    goldilocks_interactivity: float = GOLDILOCKS_INTERACTIVITY,
    prefix_hit_rate: float = 0.0,
    raise_if_empty: bool = True,
    tco_overrides: dict | None = None,
    engine=None,
    prefill_hardware=None,
) -> FrontierResult:
    """The Pareto frontiers of ``model`` on each hardware (Python API of `tokenfab frontier`). ``engine``: a key,
    a mapping hardware key -> key, or None for each hardware's default; ``prefill_hardware``: disaggregated units with
    their prefill pool on these chips (each pool priced at its own TCO).

    Raises a TokenfabError naming the binding limit when no configuration meets the SLA."""
    t0 = time.perf_counter()
    sla = SLA.make(
        ttft_max_ms=ttft_max_ms,
        tpot_max_ms=tpot_max_ms,
        e2el_max_ms=e2el_max_ms,
        min_interactivity=min_interactivity,
        percentile=percentile,
    )
    check_inputs(target_interactivity=target_interactivity, goldilocks_interactivity=goldilocks_interactivity)
    hws = resolve_hardware(hardware, hardware_files)
    if prefill_hardware is not None:
        extra = [h for h in resolve_hardware(prefill_hardware, hardware_files) if h.key not in {x.key for x in hws}]
    else:
        extra = []
    costs, cwarn = _cost_table(hws + extra, preset, usd_per_gpu_hour, hardware_files, tco_overrides=tco_overrides)
    sw = sweep(
        model,
        hws,
        isl=isl,
        osl=osl,
        weights=weights,
        gpus=gpus,
        mode=mode,
        mtp=mtp,
        sla=sla,
        calibration=calibration,
        hardware_files=hardware_files,
        prefix_hit_rate=prefix_hit_rate,
        engine=engine,
        prefill_hardware=prefill_hardware,
    )
    sw.warnings.extend(cwarn)
    attach_costs(sw, costs)
    ids = frontier_indices(sw)
    if raise_if_empty and not ids.size:
        raise explain_infeasible(sw)
    res = FrontierResult(
        sweep=sw,
        frontier_idx=ids,
        target_interactivity=float(target_interactivity or goldilocks_interactivity),
        goldilocks_interactivity=float(goldilocks_interactivity),
        elapsed_s=time.perf_counter() - t0,
        preset=preset,
        usd_per_gpu_hour_override=usd_per_gpu_hour,
        target_given=target_interactivity is not None,
    )
    return res
