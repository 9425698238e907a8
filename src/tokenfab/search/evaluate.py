"""The sweep: every (hardware, layout, concurrency, precision, MTP, mode) configuration evaluated as columns."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from tokenfab.catalog import precision as prec
from tokenfab.catalog.calibration import load_profile
from tokenfab.catalog.engines import EngineSpec, engine_keys, get_engine
from tokenfab.catalog.hardware import HardwareSpec, redefined_note
from tokenfab.catalog.models import ModelSpec, get_model
from tokenfab.core.errors import TokenfabError, require_int, require_range
from tokenfab.core.inputs import check_input, check_sweep_request
from tokenfab.economics import cost as costmod
from tokenfab.economics import tco as tcomod
from tokenfab.perf import queueing as Q
from tokenfab.perf import speculative as spec
from tokenfab.perf import uncertainty as unc
from tokenfab.perf.roofline import BOUND_KEYS, bound_code, output_ceiling_per_gpu, physical_floor_s, tpot_floor_s
from tokenfab.perf.serving import concurrency_cap, serve
from tokenfab.search.disagg import _disagg_columns, _prefill_candidates
from tokenfab.search.space import (
    MODES,
    _layout_arrays,
    _take,
    concurrency_ladder,
    gpu_ladder,
    layouts,
    native_weights_for,
    resolve_engines,
    resolve_hardware,
    resolve_modes,
    resolve_speculation,
    resolve_weights,
    spec_variants,
)

SPEC_METHODS = (None, *spec.METHODS)

DEFINITIONS = {
    "tokens_per_s_per_user": "interactivity = 1000 / TPOT_ms (InferenceX's x-axis)",
    "total_tokens_per_s_per_gpu": "(input + output) tokens/s over all GPUs (prefill + decode GPUs when disaggregated)",
    "output_tokens_per_s_per_gpu": "output tokens/s over all GPUs",
    "ttft_ms": "time to first token at the SLA percentile (queueing under Poisson arrivals at the point's load)",
    "ttft_ms_mean": "mean time to first token",
    "tpot_ms": "time per output token at the SLA percentile: a request's mean gap over OSL - 1 rounds, from the mix "
    "of decode-only and mixed (prefill) rounds and the spread of accepted draft tokens (perf/scheduling.py)",
    "tpot_mean_ms": "mean time per output token",
    "e2el_ms": "end-to-end latency at the SLA percentile = TTFT at the percentile + (OSL - 1) x TPOT",
    "slo_attainment": "fraction of requests meeting every SLO at the point's load",
    "goodput_requests_per_s": "requests/s that meet every SLO = requests/s x SLO attainment (per replica)",
    "usd_per_mtok_total": "USD per million (input + output) tokens = $/GPU-h / (total tok/s per GPU x 3600 / 1e6)",
    "usd_per_mtok_input": "USD per million uncached input tokens: the prefill share of GPU time charged to input "
    "tokens (economics.cost.split_cost_by_token_kind)",
    "usd_per_mtok_cached_input": "USD per million cached input tokens = cached-input weight x usd_per_mtok_input",
    "usd_per_mtok_output": "USD per million output tokens: the decode share of GPU time charged to output tokens",
    "usd_per_mtok_input_inferencex": "InferenceX: the whole GPU-hour charged to input tokens (does not add up)",
    "usd_per_mtok_output_inferencex": "InferenceX: the whole GPU-hour charged to output tokens (does not add up)",
    "prefill_gpu_time_share": "share of GPU time in prefill: serve()'s prefill_time_share (aggregated, the "
    "estimate's figure); the prefill pool's share of the unit's GPUs, x prefill GPUs / (x prefill + y decode GPUs) "
    "(disaggregated: the pool is paid for busy or idle)",
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
    ) -> SLA:
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
    calibration: dict[str, dict] = field(default_factory=dict)  # per hardware: ProfileStatus of (hardware, engine)
    prefix_hit_rate: float = 0.0  # share of input tokens served from the prefix cache (cached input)
    engines: list[EngineSpec] = field(default_factory=list)  # per hardware (same order as ``hardware``)
    uncertainty_table: dict = field(default_factory=dict)  # the profile's error bands (perf/uncertainty.py)
    specs: list = field(default_factory=list)  # SpecConfig per spec index of the cols

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
        sp = self.specs[int(g("spec"))].to_dict() if "spec" in c and self.specs else None
        w = self.weights[int(g("weights"))]
        eng = self.engines[int(g("hw"))].key if self.engines else None
        base = {
            "mode": MODES[int(g("mode"))],
            "engine": eng,
            "speculative": sp if k_mtp else None,
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
                        "hardware": self.hardware[int(g("p_hw"))].key if "p_hw" in c else self.hw_key(i),
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
            "ttft_ms_mean": f("ttft_ms_mean"),
            "tpot_ms": f("tpot_ms"),
            "tpot_mean_ms": f("tpot_mean_ms") if "tpot_mean_ms" in c else None,
            "e2el_ms": f("e2el_ms"),
            "e2el_mean_ms": f("e2el_mean_ms"),
            "requests_per_s": f("requests_per_s"),
            "slo_attainment": f("slo_attainment"),
            "goodput_requests_per_s": f("goodput_requests_per_s"),
            "usd_per_gpu_hour": f("usd_per_gpu_hour"),
            "usd_per_mtok_total": f("usd_per_mtok_total"),
            "usd_per_mtok_input": f("usd_per_mtok_input"),
            "usd_per_mtok_cached_input": f("usd_per_mtok_cached_input") if "usd_per_mtok_cached_input" in c else None,
            "usd_per_mtok_output": f("usd_per_mtok_output"),
            "usd_per_mtok_input_inferencex": f("usd_per_mtok_input_inferencex")
            if "usd_per_mtok_input_inferencex" in c
            else None,
            "usd_per_mtok_output_inferencex": f("usd_per_mtok_output_inferencex")
            if "usd_per_mtok_output_inferencex" in c
            else None,
            "prefill_gpu_time_share": f("prefill_gpu_time_share") if "prefill_gpu_time_share" in c else None,
            "tokens_per_s_per_mw": f("tokens_per_s_per_mw"),
            "bound": BOUND_KEYS[int(c["bound"][i])],
            "uncertainty": {
                fig: {"p10": f(f"{fig}_p10"), "p90": f(f"{fig}_p90")}
                for fig in unc.SWEEP_FIGURES
                if f"{fig}_p10" in c and fig in c
            },
            "calibration": self.calibration.get(self.hw_key(i), {}),
            "prior": bool(self.calibration.get(self.hw_key(i), {}).get("prior", False)),
        }


def _num(v):
    v = float(v)
    return v if math.isfinite(v) else None


def _cost_table(hws: Sequence[HardwareSpec], preset, usd_per_gpu_hour, hardware_files=None, tco_overrides=None):
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
            r = tcomod.tco(hw.key, preset, usd_per_gpu_hour, hardware_files=hardware_files, **dict(tco_overrides or {}))
        except TokenfabError as e:
            if e.field in (tco_overrides or {}):  # the user's own TCO input is wrong: an error, not "cost unknown"
                raise
            # no price, but the power may be known (tokens/s per MW, a power budget need only it)
            kw_it, kw_all = tcomod.power_kw_per_gpu(
                hw.key, preset, usd_per_gpu_hour, hardware_files=hardware_files, **dict(tco_overrides or {})
            )
            out[hw.key] = {"all_in_kw_per_gpu": kw_all, "it_kw_per_gpu": kw_it, "priced": False} if kw_all else None
            reason = str(e).split(". ")[0]
            warns.append(f"{hw.key}: cost unknown ({reason}); give --usd-per-gpu-hour to price it")
            continue
        out[hw.key] = {
            "usd_per_gpu_hour": r.usd_per_gpu_hour,
            "usd_per_gpu_hour_wallclock": r.usd_per_gpu_hour_wallclock,
            "utilization": r.utilization,
            "all_in_kw_per_gpu": r.all_in_kw_per_gpu,
            "it_kw_per_gpu": r.it_kw_per_gpu,
            "preset": r.preset,
            "method": r.method,
            "utilization_basis": r.utilization_basis,
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
        [((costs.get(h.key) or {}).get("all_in_kw_per_gpu") or np.nan) for h in sw.hardware] + [np.nan], dtype=float
    )
    hw = c["hw"].astype(int)
    usd_p, kw_p = usd[hw], kw[hw]
    if "p_hw" in c and np.any(c["mode"] == 1):
        # a disaggregated unit whose prefill pool runs on other hardware: each pool at its own $/GPU-hour and kW
        dis = (c["mode"] == 1) & (c["p_hw"] != c["hw"])
        if dis.any():
            gp = c["p_replicas"][dis] * c["p_gpus"][dis]
            gd = c["d_replicas"][dis] * c["d_gpus"][dis]
            ph = c["p_hw"][dis].astype(int)
            usd_p = usd_p.copy()
            kw_p = kw_p.copy()
            usd_p[dis] = (gp * usd[ph] + gd * usd[hw[dis]]) / (gp + gd)
            kw_p[dis] = (gp * kw[ph] + gd * kw[hw[dis]]) / (gp + gd)
    c["usd_per_gpu_hour"] = usd_p
    c["all_in_kw_per_gpu"] = kw_p
    c["usd_per_mtok_total"] = _safe_usd_per_mtok(usd_p, c["total_tokens_per_s_per_gpu"])
    c["usd_per_mtok_input_inferencex"] = _safe_usd_per_mtok(usd_p, c["input_tokens_per_s_per_gpu"])
    c["usd_per_mtok_output_inferencex"] = _safe_usd_per_mtok(usd_p, c["output_tokens_per_s_per_gpu"])
    ok = np.isfinite(usd_p) & (usd_p >= 0)
    for k in ("usd_per_mtok_input", "usd_per_mtok_cached_input", "usd_per_mtok_output"):
        c[k] = np.full(usd_p.shape, np.nan)
    if ok.any() and "prefill_gpu_time_share" in c:
        pk = costmod.per_kind_usd_per_mtok(  # the one per-token-kind split (GPU time by phase)
            usd_p[ok],
            input_tokens_per_s_per_gpu=c["input_tokens_per_s_per_gpu"][ok],
            output_tokens_per_s_per_gpu=c["output_tokens_per_s_per_gpu"][ok],
            prefill_gpu_time_share=np.clip(c["prefill_gpu_time_share"][ok], 0.0, 1.0),
            cached_input_share=float(sw.prefix_hit_rate),
        )
        for k in ("usd_per_mtok_input", "usd_per_mtok_cached_input", "usd_per_mtok_output"):
            c[k][ok] = pk[k]
    c["tokens_per_s_per_mw"] = _safe_tokens_per_s_per_mw(c["total_tokens_per_s_per_gpu"], kw_p)
    sw.costs = costs
    attach_bands(sw)


def attach_bands(sw: Sweep) -> None:
    """p10 / p90 of every figure from the out-of-sample error bands of the profile (perf/uncertainty.py)."""
    cal = [sw.calibration.get(h.key, {}) for h in sw.hardware]
    unc.attach_sweep_bands(sw.cols, sw.uncertainty_table, cal, unc.model_class(sw.model))


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


def _prefill_floor_ms(m, w: str, kv: str, pre: dict, isl: int, osl: int, prefix_hit_rate: float) -> np.ndarray:
    """The prompt's prefill at every peak (roofline.physical_floor_s) on each prefill candidate: the floor of a
    disaggregated pair's TTFT (ms)."""
    if not pre["hw"].size:
        return np.zeros(0)
    pf_floor, _ = physical_floor_s(
        m, w, kv, pre["pa"], prompt_tokens=isl * (1.0 - prefix_hit_rate), context=isl + osl / 2.0
    )
    return np.broadcast_to(pf_floor, pre["hw"].shape) * 1e3


def _pair_physics(m, w, kv, cols, pre_floor_ms, dec_floor_ms, pa_d, conc_d, isl: int, osl: int, draft_tokens) -> None:
    """A disaggregated pair's physics, in place (the pairs' ``_d_index`` / ``_p_index`` columns are used and
    dropped): its prefill candidate's prompt floor, its decode point's step floor (``dec_floor_ms`` per decode point)
    and its decode pool's roofline ceiling (``pa_d`` at ``conc_d``) over the unit's GPUs, as a factor on the pair's
    modelled output tokens/s."""
    d_i, p_i = cols.pop("_d_index"), cols.pop("_p_index")
    cols[unc.physics_floor_column("ttft_ms")] = pre_floor_ms[p_i]
    cols[unc.physics_floor_column("tpot_ms")] = tpot_floor_s(dec_floor_ms[d_i], draft_tokens)
    ceil_d = output_ceiling_per_gpu(
        m, w, kv, pa_d, concurrency=conc_d, context=isl + osl / 2.0, draft_tokens=draft_tokens
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        cols["throughput_ceiling_factor"] = (
            cols["d_replicas"]
            * cols["d_gpus"]
            * np.broadcast_to(ceil_d, np.shape(conc_d))[d_i]
            / (np.asarray(cols["requests_per_s"], dtype=float) * osl)
        )


def _finish_queueing(cols: dict, osl: int, sla: SLA) -> None:
    """Tail TTFT/E2EL at the SLA percentile, SLO attainment and goodput (queueing.py), in place."""
    q = sla.percentile
    params = Q.mdc_params(cols["q_lam"], cols["q_service_s"], cols["q_servers"])
    mean = cols["ttft_ms_mean"]
    cols["ttft_ms"] = Q.ttft_quantile_ms(q, mean, params=params) if q is not None else mean.copy()
    if q is not None and "ttft_floor_ms" in cols:
        # the same bounds serve() puts on its quantiles (NaN where none apply: disaggregated units)
        lo = np.nan_to_num(cols["ttft_floor_ms"], nan=0.0)
        hi = np.nan_to_num(cols["ttft_ceiling_ms"], nan=np.inf)
        cols["ttft_ms"] = np.where(
            np.isfinite(cols["ttft_ms"]), np.clip(cols["ttft_ms"], lo, np.maximum(hi, lo)), cols["ttft_ms"]
        )
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
    "engine",
    "spec",
    "p_hw",
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
    mtp: bool | str | dict | None = True,
    sla: SLA | None = None,
    calibration=None,
    hardware_files=None,
    prefix_hit_rate: float = 0.0,
    engine=None,
    prefill_hardware=None,
) -> Sweep:
    """Evaluate every configuration of ``model`` on ``hardware`` (see the package docstring). ``engine``: a key, a
    mapping hardware key -> key, or None for each hardware's default. ``mtp``: speculative decoding with the model's
    MTP heads where the engine runs it (True / False, or per hardware key). ``prefill_hardware``: disaggregated units
    with their prefill pool on these chips and their decode pool on ``hardware`` (default: the same chips). Costs are
    attached by :func:`attach_costs`; the frontier by :func:`frontier`."""
    t0 = time.perf_counter()
    check_sweep_request(hardware=hardware, isl=isl, osl=osl, gpus=gpus, prefix_hit_rate=prefix_hit_rate)
    m = get_model(model)
    dec_hws = resolve_hardware(hardware, hardware_files)
    pre_hws = resolve_hardware(prefill_hardware, hardware_files) if prefill_hardware is not None else []
    hws = list(dec_hws) + [h for h in pre_hws if h.key not in {x.key for x in dec_hws}]
    isl, osl = _validate_lengths(m, isl, osl)
    ws = resolve_weights(m, weights)
    modes = resolve_modes(mode)
    if pre_hws and "disagg" not in modes:
        raise TokenfabError(
            "prefill hardware applies to disaggregated serving",
            field="prefill_hardware",
            expected="mode disagg or both",
        )
    sla = sla or SLA.make()
    require_range("prefix_hit_rate", prefix_hit_rate, 0.0, 1.0, hi_open=True)
    if gpus is not None:
        gpus = require_int("gpus", gpus, minimum=1)
    profile = load_profile(calibration)
    engines = resolve_engines(engine, hws)
    spec_on = resolve_speculation(mtp, hws)
    # which hardware a user calibration moves, and which keep the bundled fit
    user_note = profile.user_calibration_note([(h.key, e.key) for h, e in zip(hws, engines, strict=True)])
    warns: list[str] = [n for n in (user_note, redefined_note([h.key for h in hws], hardware_files)) if n]
    dec_idx = list(range(len(dec_hws)))
    pre_idx = [hws.index(next(h for h in hws if h.key == p.key)) for p in pre_hws] if pre_hws else dec_idx
    pairs = {d: (pre_idx if pre_hws else [d]) for d in dec_idx}
    # disaggregated serving only where both pools' engines run it (engines.yaml features: disagg)
    no_disagg = [hws[d].key for d in dec_idx if not engines[d].supports("disagg")]
    pairs = {
        d: ([p for p in ps if engines[p].supports("disagg")] if engines[d].supports("disagg") else [])
        for d, ps in pairs.items()
    }
    if modes == ("disagg",) and not any(pairs.values()):  # nothing left to sweep: say why, not "does not fit"
        named = sorted({f"{engines[i].key} on {hws[i].key}" for i in {*dec_idx, *pre_idx}})
        raise TokenfabError(
            "disaggregated serving needs an engine that runs it in both pools (engines.yaml features: disagg); "
            f"here: {', '.join(named)}",
            field="mode",
            expected="agg (or an engine with disagg: "
            + ", ".join(k for k in engine_keys() if get_engine(k).supports("disagg"))
            + ")",
            got="disagg",
        )
    if "disagg" in modes and no_disagg:
        warns.append(f"{', '.join(no_disagg)}: the engine does not run disaggregated serving; aggregated points only")

    # ---- precisions per hardware (FP4 only where the chip computes it natively)
    ws_hw: list[list[str]] = []
    for hw in hws:
        keep, notes = native_weights_for(hw, ws)
        ws_hw.append(keep)
        warns.extend(notes)
    # ---- layouts (per hardware, union over the weight precisions of the GPU ladder)
    hw_of_layout: list[int] = []
    L_tp, L_pp, L_dp, L_ep = [], [], [], []
    for h, hw in enumerate(hws):
        if not ws_hw[h]:
            continue
        for n in gpu_ladder(m, hw, ws_hw[h], gpus):
            for lay in layouts(m, hw, n, fixed=gpus is not None, engine=engines[h]):
                hw_of_layout.append(h)
                L_tp.append(lay.tp)
                L_pp.append(lay.pp)
                L_dp.append(lay.dp)
                L_ep.append(lay.ep)
        if gpus is not None and not layouts(m, hw, gpus, fixed=True, engine=engines[h]):
            warns.append(
                f"{hw.key}: no valid TP/PP/DP layout of {gpus} GPUs for {m.key} "
                f"({m.max_q_heads} attention heads, scale-up domain {hw.scaleup_domain_size}, engine {engines[h].key})"
            )
    L_hw = np.asarray(hw_of_layout, dtype=int)
    chunks: list[dict] = []
    evaluated = 0
    specs: list = [spec.OFF]
    spec_index: dict = {spec.OFF: 0}

    def spec_id(sc) -> int:
        if sc not in spec_index:
            spec_index[sc] = len(specs)
            specs.append(sc)
        return spec_index[sc]

    for wi, w in enumerate(ws):
        kv = prec.default_kv_precision(w)
        sel = np.flatnonzero([w in ws_hw[h] for h in L_hw]) if L_hw.size else np.zeros(0, dtype=int)
        if not sel.size:
            continue
        Lh = L_hw[sel]
        paL = _layout_arrays(
            hws,
            engines,
            w,
            kv,
            profile,
            Lh,
            np.asarray(L_tp)[sel],
            np.asarray(L_pp)[sel],
            np.asarray(L_dp)[sel],
            np.asarray(L_ep)[sel],
        )
        dmask = np.isin(Lh, dec_idx)
        cap = np.where(dmask, concurrency_cap(m, w, kv, paL, isl, osl), 0.0)
        idx, conc = concurrency_ladder(cap, paL.dp)
        pre = None
        pre_floor_ms = np.zeros(0)  # the prompt's prefill at every peak per prefill candidate
        if "disagg" in modes:
            pmask = np.isin(Lh, pre_idx)
            if pmask.any():
                pre = _prefill_candidates(m, w, kv, _take(paL, np.flatnonzero(pmask)), Lh[pmask], isl, prefix_hit_rate)
                pre_floor_ms = _prefill_floor_ms(m, w, kv, pre, isl, osl, prefix_hit_rate)
        if idx.size == 0:
            continue
        paP = _take(paL, idx)
        hw_pts = Lh[idx]
        # physics per layout (the prompt's prefill and one decode step at every peak): the bands' optimistic ends
        fl_pf, fl_dec = physical_floor_s(
            m, w, kv, paL, prompt_tokens=isl * (1.0 - prefix_hit_rate), context=isl + osl / 2.0
        )
        fl_pf, fl_dec = np.broadcast_to(fl_pf, Lh.shape)[idx] * 1e3, np.broadcast_to(fl_dec, Lh.shape)[idx] * 1e3
        layout_cols = {
            "hw": hw_pts,
            "engine": hw_pts,
            "tp": paP.tp,
            "pp": paP.pp,
            "dp": paP.dp,
            "ep": paP.ep,
            "gpus": paP.tp * paP.pp * paP.dp,
        }
        # speculative variants: per engine (and per hardware switch), evaluated with and without
        variant_sets: dict = {}
        for h in np.unique(hw_pts):
            on = spec_on[hws[h].key]
            for sc in spec_variants(m, engines[h], on):
                variant_sets.setdefault(sc, []).append(int(h))
        for sc, hs in variant_sets.items():
            sub = np.flatnonzero(np.isin(hw_pts, hs))
            if not sub.size:
                continue
            pa_s = _take(paP, sub)
            lc_s = {k: np.asarray(v)[sub] for k, v in layout_cols.items()}
            sv = {
                "mtp_draft_tokens": sc.draft_tokens,
                "mtp_acceptance_length": sc.acceptance_length if sc.on else 1.0,
                "spec": spec_id(sc),
            }
            skw = dict(
                draft_tokens=sc.draft_tokens,
                acceptance_length=sc.acceptance_length,
                parallel_draft=sc.parallel_draft,
                draft_layers=sc.draft_layers,
            )
            if "agg" in modes:
                r = serve(
                    m, w, kv, pa_s, isl=isl, osl=osl, concurrency=conc[sub], prefix_hit_rate=prefix_hit_rate, **skw
                )
                evaluated += sub.size
                ch = _agg_columns(r, lc_s, conc[sub], wi, sv, sla)
                # the physical floors in their own columns, not serve's ttft_floor_ms (its modelled own prompt)
                ch[unc.physics_floor_column("ttft_ms")] = fl_pf[sub]
                ch[unc.physics_floor_column("tpot_ms")] = tpot_floor_s(fl_dec[sub], sc.draft_tokens)
                with np.errstate(divide="ignore", invalid="ignore"):
                    ch["throughput_ceiling_factor"] = output_ceiling_per_gpu(
                        m, w, kv, pa_s, concurrency=conc[sub], context=isl + osl / 2.0, draft_tokens=sc.draft_tokens
                    ) / np.asarray(ch["output_tokens_per_s_per_gpu"], dtype=float)
                chunks.append(ch)
            if "disagg" in modes and pre is not None and pre["hw"].size:
                r = serve(m, w, kv, pa_s, isl=isl, osl=osl, concurrency=conc[sub], decode_only=True, **skw)
                cols, n_pairs = _disagg_columns(m, kv, r, lc_s, pa_s, conc[sub], pre, isl, osl, wi, sv, pairs)
                evaluated += n_pairs
                if cols is not None:
                    _pick_tpot(cols, r, sla, None)
                    _pair_physics(m, w, kv, cols, pre_floor_ms, fl_dec[sub], pa_s, conc[sub], isl, osl, sc.draft_tokens)
                    chunks.append(cols)
    if chunks:
        keys = set.intersection(*(set(ch) for ch in chunks))
        cols = {k: np.concatenate([np.asarray(ch[k]) for ch in chunks]) for k in keys}
    else:
        cols = {
            k: np.zeros(0)
            for k in (
                "hw",
                "engine",
                "spec",
                "mode",
                "tpot_ms",
                "tpot_mean_ms",
                "ttft_ms_mean",
                "total_tokens_per_s_per_gpu",
                "tokens_per_s_per_user",
                "requests_per_s",
                "q_lam",
                "q_service_s",
                "q_servers",
                "output_tokens_per_s_per_gpu",
                "input_tokens_per_s_per_gpu",
                "e2el_mean_ms",
                "gpus",
                "concurrency",
                "batch_per_rank",
            )
        }
        cols["bound"] = np.zeros(0, dtype=np.int8)
    for k in _INT_COLS:
        if k in cols:
            cols[k] = cols[k].astype(int)
    _finish_queueing(cols, osl, sla)
    for h in dec_idx:
        hw = hws[h]
        hm = cols["hw"] == h
        if ws_hw[h] and not np.any(hm & np.isfinite(cols["tpot_ms"]) & (cols["total_tokens_per_s_per_gpu"] > 0)):
            n_txt = (
                f"{gpus} GPUs"
                if gpus is not None
                else f"up to {max(gpu_ladder(m, hw, ws_hw[h])) if L_hw.size else '?'} GPUs"
            )
            warns.append(f"{hw.key}: {m.key} does not fit on {n_txt} at {', '.join(ws_hw[h])} with ISL+OSL {isl + osl}")
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
        calibration={
            hw.key: unc.annotate_status(
                hw.key, profile.status_for(hw, engines[h].key).to_dict(), profile.uncertainty or {}, unc.model_class(m)
            )
            for h, hw in enumerate(hws)
        },
        prefix_hit_rate=float(prefix_hit_rate),
        engines=engines,
        specs=specs,
        uncertainty_table=profile.uncertainty or {},
    )
    attach_bands(sw)
    sw.elapsed_s = time.perf_counter() - t0
    return sw


def _pick_tpot(cols: dict, r: dict, sla: SLA, idx) -> None:
    """TPOT at the SLA percentile (the nearest computed one at or above it; the mean without a percentile)."""
    q = sla.percentile
    cols["tpot_mean_ms"] = cols["tpot_ms"].copy()
    if q is None:
        return
    key = "tpot_p50_ms" if q <= 0.5 else ("tpot_p90_ms" if q <= 0.9 else "tpot_p99_ms")
    if key in cols:
        cols["tpot_ms"] = np.maximum(np.asarray(cols[key], dtype=float), 0.0)


def _agg_columns(r: dict, lc: dict, conc, wi: int, sv: dict, sla: SLA) -> dict:
    n = conc.size
    fits = np.asarray(r["fits"], dtype=bool)
    svc = np.asarray(r["queue_service_s"], dtype=float)
    lam = np.asarray(r["queue_lambda_per_rank"], dtype=float)
    cols = {
        **lc,
        "mode": np.zeros(n),
        "weights": np.full(n, wi),
        "concurrency": np.asarray(r["concurrency"], dtype=float),
        **{k: np.full(n, v) for k, v in sv.items()},
        "ttft_ms_mean": np.where(fits, r["ttft_ms"], np.inf),
        "tpot_ms": np.where(fits, r["tpot_ms"], np.inf),
        "tpot_p50_ms": np.where(fits, r["tpot_p50_ms"], np.inf),
        "tpot_p90_ms": np.where(fits, r["tpot_p90_ms"], np.inf),
        "tpot_p99_ms": np.where(fits, r["tpot_p99_ms"], np.inf),
        "e2el_mean_ms": np.where(fits, r["e2el_ms"], np.inf),
        "tokens_per_s_per_user": np.where(fits, r["tokens_per_s_per_user"], 0.0),
        "total_tokens_per_s_per_gpu": r["total_tokens_per_s_per_gpu"],
        "output_tokens_per_s_per_gpu": r["output_tokens_per_s_per_gpu"],
        "input_tokens_per_s_per_gpu": r["input_tokens_per_s_per_gpu"],
        "requests_per_s": r["requests_per_s"],
        # the share of each replica's GPU time spent on prefill work (serve()'s prefill_time_share)
        "prefill_gpu_time_share": np.clip(np.asarray(r["prefill_time_share"], dtype=float), 0.0, 1.0),
        "bound": bound_code(r["bound"]),  # index into roofline.BOUND_KEYS
        # the prefill queue of one DP rank: M/D/1 with service = one request's prefill, at the rank's request rate
        "q_lam": np.where(svc > 0, lam, 0.0),
        "q_service_s": np.where(svc > 0, svc, 1.0),
        "q_servers": np.ones(n),
        "ttft_floor_ms": np.asarray(r["ttft_floor_ms"], dtype=float),
        "ttft_ceiling_ms": np.asarray(r["ttft_ceiling_ms"], dtype=float),
        "batch_per_rank": np.asarray(r["concurrency"], dtype=float) / np.maximum(lc["dp"], 1.0),
        "p_hw": np.asarray(lc["hw"]),
    }
    for k in ("p_tp", "p_pp", "p_dp", "p_ep", "p_gpus", "p_replicas", "d_replicas", "d_gpus"):
        cols[k] = np.zeros(n)
    for k in ("p_util", "p_latency_ms", "kv_transfer_ms", "kv_scaleup", "d_concurrency"):
        cols[k] = np.full(n, np.nan)
    _pick_tpot(cols, r, sla, None)
    return cols


def layout_text(cfg: dict) -> str:
    """``TP8 PP2 DP4 EP32``, or ``P 3x[TP1] + D 7x[TP8]`` for a disaggregated unit (for tables and messages). EP is
    shown where it is not 1, and beside DP always (``TP2 DP2 EP1``: the experts split by TP in each DP rank), so the
    text re-runs as the same layout in `estimate`."""

    def lay(c):
        s = f"TP{c['tp']}"
        if c["pp"] > 1:
            s += f" PP{c['pp']}"
        if c["dp"] > 1:
            s += f" DP{c['dp']}"
        if c["ep"] > 1 or c["dp"] > 1:  # EP1 beside DP: `estimate --dp` alone would take EP = TP x DP
            s += f" EP{c['ep']}"
        return s

    if cfg.get("mode") == "disagg":
        p, d = cfg["prefill"], cfg["decode"]
        return f"P {p['replicas']}x[{lay(p)}] + D {d['replicas']}x[{lay(d)}]"
    return lay(cfg)
