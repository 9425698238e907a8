"""The sweep: every (hardware, layout, concurrency, precision, MTP, mode) configuration evaluated as columns."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from tokenfab.catalog import precision as prec
from tokenfab.catalog.calibration import load_profile
from tokenfab.catalog.hardware import HardwareSpec
from tokenfab.catalog.models import ModelSpec, get_model
from tokenfab.core.errors import TokenfabError, require_int
from tokenfab.core.inputs import check_input, check_sweep_request
from tokenfab.economics import cost as costmod
from tokenfab.economics import tco as tcomod
from tokenfab.perf import queueing as Q
from tokenfab.perf.serving import concurrency_cap, serve
from tokenfab.search.disagg import _disagg_columns, _prefill_candidates
from tokenfab.search.space import (
    MODES,
    _layout_arrays,
    _take,
    concurrency_ladder,
    gpu_ladder,
    layouts,
    mtp_variants,
    resolve_hardware,
    resolve_modes,
    resolve_weights,
)

DEFINITIONS = {
    "tokens_per_s_per_user": "interactivity = 1000 / TPOT_ms (InferenceX's x-axis)",
    "total_tokens_per_s_per_gpu": "(input + output) tokens/s over all GPUs (prefill + decode GPUs when disaggregated)",
    "output_tokens_per_s_per_gpu": "output tokens/s over all GPUs",
    "ttft_ms": "time to first token at the SLA percentile (queueing under Poisson arrivals at the point's load)",
    "ttft_mean_ms": "mean time to first token",
    "tpot_ms": "time per output token (its percentile equals its mean: it averages over OSL - 1 steps)",
    "e2el_ms": "end-to-end latency at the SLA percentile = TTFT at the percentile + (OSL - 1) x TPOT",
    "slo_attainment": "fraction of requests meeting every SLO at the point's load",
    "goodput_requests_per_s": "requests/s that meet every SLO = requests/s x SLO attainment (per replica)",
    "usd_per_mtok_total": "USD per million (input + output) tokens = $/GPU-h / (total tok/s per GPU x 3600 / 1e6)",
    "usd_per_mtok_input": "USD per million input tokens (whole GPU-hour charged to input tokens, InferenceX)",
    "usd_per_mtok_output": "USD per million output tokens (whole GPU-hour charged to output tokens, InferenceX)",
    "tokens_per_s_per_mw": "total tok/s per GPU x 1000 / all-in kW per GPU",
    "pareto": "a point is kept if no other point of the same hardware and mode has both higher tokens/s per user "
    "and higher total tokens/s per GPU",
}


# ----------------------------------------------------------------------------------------------- inputs
@dataclass(frozen=True)
class SLA:
    """Service-level limits (ms; None = no limit) at a percentile (None = mean values)."""

    ttft_max_ms: float | None = None
    tpot_max_ms: float | None = None
    e2el_max_ms: float | None = None
    min_interactivity: float | None = None  # tokens/s per user
    percentile: float | None = 0.9

    @classmethod
    def make(
        cls, *, ttft_max_ms=None, tpot_max_ms=None, e2el_max_ms=None, min_interactivity=None, percentile=None
    ) -> "SLA":
        for name, v in (
            ("ttft_max_ms", ttft_max_ms),
            ("tpot_max_ms", tpot_max_ms),
            ("e2el_max_ms", e2el_max_ms),
            ("min_interactivity", min_interactivity),
        ):
            check_input(name, v)
        q = Q.parse_percentile(Q.DEFAULT_PERCENTILE if percentile is None else percentile)
        return cls(ttft_max_ms, tpot_max_ms, e2el_max_ms, min_interactivity, q)

    @property
    def label(self) -> str:
        return Q.percentile_label(self.percentile)

    @property
    def any(self) -> bool:
        return any(
            v is not None for v in (self.ttft_max_ms, self.tpot_max_ms, self.e2el_max_ms, self.min_interactivity)
        )

    def to_dict(self) -> dict:
        return {
            "ttft_max_ms": self.ttft_max_ms,
            "tpot_max_ms": self.tpot_max_ms,
            "e2el_max_ms": self.e2el_max_ms,
            "min_interactivity": self.min_interactivity,
            "percentile": self.label,
        }


# ----------------------------------------------------------------------------------------------- the sweep
@dataclass
class Sweep:
    """Every evaluated configuration as columns (one element per configuration)."""

    model: ModelSpec
    isl: int
    osl: int
    hardware: list[HardwareSpec]
    weights: list[str]
    modes: tuple[str, ...]
    cols: dict[str, np.ndarray]
    evaluated: int
    elapsed_s: float
    sla: SLA
    costs: dict[str, dict | None] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    calibration: dict[str, str] = field(default_factory=dict)  # per hardware: which calibration parameters applied

    def __len__(self) -> int:
        return int(self.cols["hw"].size)

    @property
    def valid(self) -> np.ndarray:
        c = self.cols
        return (
            np.isfinite(c["tpot_ms"])
            & np.isfinite(c["ttft_ms"])
            & (c["total_tokens_per_s_per_gpu"] > 0)
            & (c["tokens_per_s_per_user"] > 0)
        )

    def sla_mask(self, sla: SLA | None = None) -> np.ndarray:
        s = sla or self.sla
        c = self.cols
        m = self.valid.copy()
        if s.ttft_max_ms is not None:
            m &= c["ttft_ms"] <= s.ttft_max_ms
        if s.tpot_max_ms is not None:
            m &= c["tpot_ms"] <= s.tpot_max_ms
        if s.e2el_max_ms is not None:
            m &= c["e2el_ms"] <= s.e2el_max_ms
        if s.min_interactivity is not None:
            m &= c["tokens_per_s_per_user"] >= s.min_interactivity
        return m

    def hw_key(self, i: int) -> str:
        return self.hardware[int(self.cols["hw"][i])].key

    def config(self, i: int) -> dict:
        c = self.cols
        g = lambda k: c[k][i].item()  # noqa: E731
        k_mtp = int(g("mtp_draft_tokens"))
        mtp = {"draft_tokens": k_mtp, "acceptance_length": g("mtp_acceptance_length")} if k_mtp else None
        w = self.weights[int(g("weights"))]
        base = {
            "mode": MODES[int(g("mode"))],
            "gpus": int(g("gpus")),
            "tp": int(g("tp")),
            "pp": int(g("pp")),
            "dp": int(g("dp")),
            "ep": int(g("ep")),
            "weights": w,
            "kv": prec.default_kv_precision(w),
            "concurrency": int(round(g("concurrency"))),
            "mtp": mtp,
        }
        if int(g("mode")) == 1:
            x, y = int(g("p_replicas")), int(g("d_replicas"))
            pg, dg = int(g("p_gpus")), int(g("d_gpus"))
            base.update(
                {
                    "prefill": {
                        "gpus": pg,
                        "tp": int(g("p_tp")),
                        "pp": int(g("p_pp")),
                        "dp": int(g("p_dp")),
                        "ep": int(g("p_ep")),
                        "replicas": x,
                        "gpus_total": x * pg,
                        "utilization": g("p_util"),
                        "latency_ms": g("p_latency_ms"),
                    },
                    "decode": {
                        "gpus": dg,
                        "tp": int(g("tp")),
                        "pp": int(g("pp")),
                        "dp": int(g("dp")),
                        "ep": int(g("ep")),
                        "replicas": y,
                        "gpus_total": y * dg,
                        "concurrency_per_replica": int(round(g("d_concurrency"))),
                    },
                    "ratio": f"{x}:{y}",
                    "prefill_gpus": x * pg,
                    "decode_gpus": y * dg,
                    "kv_transfer_ms": g("kv_transfer_ms"),
                    "kv_link": "scale-up" if g("kv_scaleup") else "scale-out",
                }
            )
        else:
            base["replicas"] = 1
        return base

    def point(self, i: int) -> dict:
        c = self.cols
        f = lambda k: _num(c[k][i])  # noqa: E731
        return {
            "hardware": self.hw_key(i),
            "mode": MODES[int(c["mode"][i])],
            "config": self.config(i),
            "tokens_per_s_per_user": f("tokens_per_s_per_user"),
            "total_tokens_per_s_per_gpu": f("total_tokens_per_s_per_gpu"),
            "output_tokens_per_s_per_gpu": f("output_tokens_per_s_per_gpu"),
            "input_tokens_per_s_per_gpu": f("input_tokens_per_s_per_gpu"),
            "percentile": self.sla.label,
            "ttft_ms": f("ttft_ms"),
            "ttft_mean_ms": f("ttft_mean_ms"),
            "tpot_ms": f("tpot_ms"),
            "e2el_ms": f("e2el_ms"),
            "e2el_mean_ms": f("e2el_mean_ms"),
            "requests_per_s": f("requests_per_s"),
            "slo_attainment": f("slo_attainment"),
            "goodput_requests_per_s": f("goodput_requests_per_s"),
            "usd_per_gpu_hour": f("usd_per_gpu_hour"),
            "usd_per_mtok_total": f("usd_per_mtok_total"),
            "usd_per_mtok_input": f("usd_per_mtok_input"),
            "usd_per_mtok_output": f("usd_per_mtok_output"),
            "tokens_per_s_per_mw": f("tokens_per_s_per_mw"),
            "bound": str(c["bound"][i]),
        }


def _num(v):
    v = float(v)
    return v if math.isfinite(v) else None


def _cost_table(hws: Sequence[HardwareSpec], preset, usd_per_gpu_hour, hardware_files=None):
    """Per hardware: $/busy GPU-hour, wall-clock $/GPU-hour and all-in kW from tco.tco (None where TCO cannot price
    the hardware: the points keep their performance, their cost is null, and a warning says why)."""
    if preset is not None:
        names = tcomod.preset_names()
        if str(preset).strip().lower() not in names:
            from tokenfab.core.errors import UnknownKeyError

            raise UnknownKeyError("preset", str(preset), names, field="preset")
    check_input("usd_per_gpu_hour", usd_per_gpu_hour)
    tcomod.check_price_and_preset(preset, usd_per_gpu_hour)
    out: dict[str, dict | None] = {}
    warns: list[str] = []
    for hw in hws:
        try:
            r = tcomod.tco(hw.key, preset, usd_per_gpu_hour, hardware_files=hardware_files)
        except TokenfabError as e:
            out[hw.key] = None
            reason = str(e).split(". ")[0]
            warns.append(f"{hw.key}: cost unknown ({reason}); give --usd-per-gpu-hour to price it")
            continue
        out[hw.key] = {
            "usd_per_gpu_hour": r.usd_per_gpu_hour,
            "usd_per_gpu_hour_wallclock": r.usd_per_gpu_hour_wallclock,
            "utilization": r.utilization,
            "kw_per_gpu_all_in": r.kw_per_gpu_all_in,
            "kw_per_gpu_it": r.kw_per_gpu_it,
            "preset": r.preset,
            "method": r.method,
        }
    return out, warns


def _safe_usd_per_mtok(usd_h, tps):
    usd_h = np.asarray(usd_h, dtype=float)
    tps = np.asarray(tps, dtype=float)
    ok = np.isfinite(usd_h) & np.isfinite(tps) & (tps > 0) & (usd_h >= 0)
    out = np.full(tps.shape, np.nan)
    if ok.any():
        out[ok] = costmod.usd_per_mtok(usd_h[ok], tps[ok])
    return out


def _safe_tokens_per_s_per_mw(tps, kw):
    tps = np.asarray(tps, dtype=float)
    kw = np.asarray(kw, dtype=float)
    ok = np.isfinite(kw) & (kw > 0) & np.isfinite(tps) & (tps >= 0)
    out = np.full(tps.shape, np.nan)
    if ok.any():
        out[ok] = costmod.tokens_per_s_per_mw(tps[ok], kw[ok])
    return out


def attach_costs(sw: Sweep, costs: dict[str, dict | None]) -> None:
    """$ per M tokens (total, input, output) and tokens/s per MW on every point."""
    c = sw.cols
    usd = np.array(
        [(costs.get(h.key) or {}).get("usd_per_gpu_hour", np.nan) for h in sw.hardware] + [np.nan], dtype=float
    )
    kw = np.array(
        [((costs.get(h.key) or {}).get("kw_per_gpu_all_in") or np.nan) for h in sw.hardware] + [np.nan], dtype=float
    )
    hw = c["hw"].astype(int)
    usd_p, kw_p = usd[hw], kw[hw]
    c["usd_per_gpu_hour"] = usd_p
    c["kw_per_gpu_all_in"] = kw_p
    c["usd_per_mtok_total"] = _safe_usd_per_mtok(usd_p, c["total_tokens_per_s_per_gpu"])
    c["usd_per_mtok_input"] = _safe_usd_per_mtok(usd_p, c["input_tokens_per_s_per_gpu"])
    c["usd_per_mtok_output"] = _safe_usd_per_mtok(usd_p, c["output_tokens_per_s_per_gpu"])
    c["tokens_per_s_per_mw"] = _safe_tokens_per_s_per_mw(c["total_tokens_per_s_per_gpu"], kw_p)
    sw.costs = costs


def _validate_lengths(model: ModelSpec, isl, osl) -> tuple[int, int]:
    isl = require_int("isl", isl, minimum=1)
    osl = require_int("osl", osl, minimum=1)
    if model.max_position_embeddings and isl + osl > model.max_position_embeddings:
        raise TokenfabError(
            f"ISL + OSL exceeds {model.key}'s maximum context of {model.max_position_embeddings}",
            field="isl",
            expected=f"isl + osl <= {model.max_position_embeddings}",
            got=isl + osl,
        )
    return isl, osl


def _finish_queueing(cols: dict, osl: int, sla: SLA) -> None:
    """Tail TTFT/E2EL at the SLA percentile, SLO attainment and goodput (queueing.py), in place."""
    q = sla.percentile
    params = Q.mdc_params(cols["q_lam"], cols["q_service_s"], cols["q_servers"])
    mean = cols["ttft_mean_ms"]
    cols["ttft_ms"] = Q.ttft_quantile_ms(q, mean, params=params) if q is not None else mean.copy()
    cols["e2el_ms"] = cols["ttft_ms"] + (osl - 1.0) * cols["tpot_ms"]
    cols["prefill_queue_utilization"] = params.utilization
    att = Q.slo_attainment(
        mean,
        cols["tpot_ms"],
        osl,
        params=params,
        ttft_max_ms=sla.ttft_max_ms,
        tpot_max_ms=sla.tpot_max_ms,
        e2el_max_ms=sla.e2el_max_ms,
    )
    cols["slo_attainment"] = att
    cols["goodput_requests_per_s"] = Q.goodput_rps(cols["requests_per_s"], att)


_INT_COLS = (
    "hw",
    "mode",
    "weights",
    "tp",
    "pp",
    "dp",
    "ep",
    "gpus",
    "mtp_draft_tokens",
    "p_tp",
    "p_pp",
    "p_dp",
    "p_ep",
    "p_gpus",
    "p_replicas",
    "d_replicas",
    "d_gpus",
)


def sweep(
    model,
    hardware,
    *,
    isl: int = 1024,
    osl: int = 1024,
    weights=None,
    gpus: int | None = None,
    mode="both",
    mtp: bool = True,
    sla: SLA | None = None,
    calibration=None,
    hardware_files=None,
    prefix_hit_rate: float = 0.0,
) -> Sweep:
    """Evaluate every configuration of ``model`` on ``hardware`` (see the module docstring). Costs are attached by
    :func:`attach_costs`; the frontier by :func:`frontier`."""
    t0 = time.perf_counter()
    check_sweep_request(hardware=hardware, isl=isl, osl=osl, gpus=gpus, prefix_hit_rate=prefix_hit_rate)
    m = get_model(model)
    hws = resolve_hardware(hardware, hardware_files)
    isl, osl = _validate_lengths(m, isl, osl)
    ws = resolve_weights(m, weights)
    modes = resolve_modes(mode)
    sla = sla or SLA.make()
    if gpus is not None:
        gpus = require_int("gpus", gpus, minimum=1)
    profile = load_profile(calibration)
    warns: list[str] = []

    # ---- layouts (per hardware, union over the weight precisions of the GPU ladder)
    L_hw, L_tp, L_pp, L_dp, L_ep = [], [], [], [], []
    for h, hw in enumerate(hws):
        for n in gpu_ladder(m, hw, ws, gpus):
            for lay in layouts(m, hw, n, fixed=gpus is not None):
                L_hw.append(h)
                L_tp.append(lay.tp)
                L_pp.append(lay.pp)
                L_dp.append(lay.dp)
                L_ep.append(lay.ep)
        if gpus is not None and not layouts(m, hw, gpus, fixed=True):
            warns.append(
                f"{hw.key}: no valid TP/PP/DP layout of {gpus} GPUs for {m.key} "
                f"({m.max_q_heads} attention heads, scale-up domain {hw.scaleup_domain_size})"
            )
    L_hw = np.asarray(L_hw, dtype=int)
    chunks: list[dict] = []
    evaluated = 0
    variants = mtp_variants(m, mtp)
    kv_ctx = isl + osl
    for wi, w in enumerate(ws):
        kv = prec.default_kv_precision(w)
        if L_hw.size == 0:
            break
        paL = _layout_arrays(hws, w, profile, L_hw, L_tp, L_pp, L_dp, L_ep)
        cap = concurrency_cap(m, w, kv, paL, kv_ctx)
        idx, conc = concurrency_ladder(cap, paL.dp)
        if idx.size == 0:
            continue
        paP = _take(paL, idx)
        layout_cols = {
            "hw": L_hw[idx],
            "tp": paP.tp,
            "pp": paP.pp,
            "dp": paP.dp,
            "ep": paP.ep,
            "gpus": paP.tp * paP.pp * paP.dp,
        }
        pre = None
        if "disagg" in modes:
            pre = _prefill_candidates(m, w, kv, paL, L_hw, isl, prefix_hit_rate)
        for k_mtp, acc in variants:
            if "agg" in modes:
                r = serve(
                    m,
                    w,
                    kv,
                    paP,
                    isl=isl,
                    osl=osl,
                    concurrency=conc,
                    mtp_draft_tokens=k_mtp,
                    mtp_acceptance_length=acc,
                    prefix_hit_rate=prefix_hit_rate,
                )
                evaluated += idx.size
                chunks.append(_agg_columns(r, layout_cols, conc, wi, k_mtp, acc))
            if "disagg" in modes and pre is not None and pre["hw"].size:
                r = serve(
                    m,
                    w,
                    kv,
                    paP,
                    isl=isl,
                    osl=osl,
                    concurrency=conc,
                    mtp_draft_tokens=k_mtp,
                    mtp_acceptance_length=acc,
                    prefix_hit_rate=(isl - 1.0) / isl,
                )
                cols, n_pairs = _disagg_columns(m, kv, r, layout_cols, paP, conc, pre, isl, osl, wi, k_mtp, acc)
                evaluated += n_pairs
                if cols is not None:
                    chunks.append(cols)
    if chunks:
        keys = set.intersection(*(set(ch) for ch in chunks))
        cols = {k: np.concatenate([np.asarray(ch[k]) for ch in chunks]) for k in keys}
    else:
        cols = {
            k: np.zeros(0)
            for k in (
                "hw",
                "mode",
                "tpot_ms",
                "ttft_mean_ms",
                "total_tokens_per_s_per_gpu",
                "tokens_per_s_per_user",
                "requests_per_s",
                "q_lam",
                "q_service_s",
                "q_servers",
                "output_tokens_per_s_per_gpu",
                "input_tokens_per_s_per_gpu",
                "e2el_mean_ms",
            )
        }
        cols["bound"] = np.zeros(0, dtype="<U13")
    for k in _INT_COLS:
        if k in cols:
            cols[k] = cols[k].astype(int)
    _finish_queueing(cols, osl, sla)
    for h, hw in enumerate(hws):
        hm = cols["hw"] == h
        if not np.any(hm & np.isfinite(cols["tpot_ms"]) & (cols["total_tokens_per_s_per_gpu"] > 0)):
            n_txt = (
                f"{gpus} GPUs" if gpus is not None else f"up to {max(gpu_ladder(m, hw, ws)) if L_hw.size else '?'} GPUs"
            )
            warns.append(f"{hw.key}: {m.key} does not fit on {n_txt} at {', '.join(ws)} with ISL+OSL {kv_ctx}")
    sw = Sweep(
        model=m,
        isl=isl,
        osl=osl,
        hardware=hws,
        weights=ws,
        modes=modes,
        cols=cols,
        evaluated=int(evaluated),
        elapsed_s=0.0,
        sla=sla,
        warnings=warns,
        calibration={hw.key: profile.source_for(hw) for hw in hws},
    )
    sw.elapsed_s = time.perf_counter() - t0
    return sw


def _agg_columns(r: dict, lc: dict, conc, wi: int, k_mtp: int, acc: float) -> dict:
    n = conc.size
    fits = np.asarray(r["fits"], dtype=bool)
    t_pf = np.asarray(r["prefill_ms"], dtype=float) / 1e3
    rho = np.clip(np.asarray(r["prefill_share"], dtype=float), 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        lam = np.where(t_pf > 0, rho / t_pf, 0.0)
    cols = {
        **lc,
        "mode": np.zeros(n),
        "weights": np.full(n, wi),
        "concurrency": np.asarray(r["concurrency"], dtype=float),
        "mtp_draft_tokens": np.full(n, k_mtp),
        "mtp_acceptance_length": np.full(n, acc if k_mtp else 1.0),
        "ttft_mean_ms": np.where(fits, r["ttft_ms"], np.inf),
        "tpot_ms": np.where(fits, r["tpot_ms"], np.inf),
        "e2el_mean_ms": np.where(fits, r["e2el_ms"], np.inf),
        "tokens_per_s_per_user": np.where(fits, r["tokens_per_s_per_user"], 0.0),
        "total_tokens_per_s_per_gpu": r["total_tokens_per_s_per_gpu"],
        "output_tokens_per_s_per_gpu": r["output_tokens_per_s_per_gpu"],
        "input_tokens_per_s_per_gpu": r["input_tokens_per_s_per_gpu"],
        "requests_per_s": r["requests_per_s"],
        "bound": np.asarray(r["bound"]).astype("<U13"),
        # the prefill queue of one DP rank: M/D/1 with service = one request's prefill, at the prefill share
        "q_lam": lam,
        "q_service_s": np.where(t_pf > 0, t_pf, 1.0),
        "q_servers": np.ones(n),
    }
    for k in ("p_tp", "p_pp", "p_dp", "p_ep", "p_gpus", "p_replicas", "d_replicas", "d_gpus"):
        cols[k] = np.zeros(n)
    for k in ("p_util", "p_latency_ms", "kv_transfer_ms", "kv_scaleup", "d_concurrency"):
        cols[k] = np.full(n, np.nan)
    return cols


def layout_text(cfg: dict) -> str:
    """``TP8 PP2 DP4 EP32``, or ``P 3x[TP1] + D 7x[TP8]`` for a disaggregated unit (for tables and messages)."""

    def lay(c):
        s = f"TP{c['tp']}"
        if c["pp"] > 1:
            s += f" PP{c['pp']}"
        if c["dp"] > 1:
            s += f" DP{c['dp']}"
        if c["ep"] > 1:
            s += f" EP{c['ep']}"
        return s

    if cfg.get("mode") == "disagg":
        p, d = cfg["prefill"], cfg["decode"]
        return f"P {p['replicas']}x[{lay(p)}] + D {d['replicas']}x[{lay(d)}]"
    return lay(cfg)
