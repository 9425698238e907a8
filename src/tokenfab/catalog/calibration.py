"""Calibration profiles: the performance model's efficiency and overhead parameters, fitted on measurements.

The bundled profile (data/calibration.json) is written by ``python benchmarks/calibrate.py`` from the published
measurements in benchmarks/data/. Parameters come in three groups, each physical and bounded (:data:`BOUNDS`):

- per hardware family (the chip's silicon and memory system), fitted where the family has measurements:
  ``gemm_efficiency`` (fraction of dense peak a large GEMM reaches), ``memory_efficiency`` (fraction of memory
  bandwidth streaming reads reach), ``attention_efficiency`` (fraction of peak attention kernels reach),
  ``comm_efficiency`` (fraction of link bandwidth collectives reach);
- per serving engine (its kernels, scheduler and runtime), fitted where the engine has measurements:
  ``step_overhead_ms`` (per forward step: scheduling, launches, CUDA-graph replay), ``seq_overhead_us`` (per running
  sequence per step: sampling, detokenisation, bookkeeping), ``layer_overhead_us`` (per layer per step: kernel
  launches and synchronisation the engine's graphs do not hide), ``comm_latency_us`` (per collective),
  ``kernel_efficiency`` (the engine's kernels relative to the family's: multiplies the three compute/memory
  efficiencies), ``moe_efficiency`` (grouped expert GEMMs relative to dense ones) and ``ttft_overhead_ms`` (per
  request before its first token streams: the API server, tokenisation, admission, the first detokenisation);
- shared: ``gemm_tokens_half`` (token rows at which a GEMM reaches half its efficiency: small GEMMs are inefficient),
  ``moe_skew`` (routing imbalance beyond chance, perf/moe.py), ``pp_stage_overhead_us`` (per pipeline stage per
  step: synchronisation and hand-off), ``disagg_overhead_ms`` (per request of disaggregated serving: the router and
  the KV connector's hand-shake before the transfer itself).

A (hardware, engine) pair resolves to one flat :class:`PerfParams`. Where a family or an engine has no measurements
the profile says so (status ``prior``) and uses a stated rule (:data:`FAMILY_PRIOR_RULES`; engines.yaml
``prior_from``): it never silently borrows another vendor's fitted efficiencies.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, cast

import numpy as np

from tokenfab.core.data import data_path, read_yaml
from tokenfab.core.errors import TokenfabError, is_number

if TYPE_CHECKING:
    from tokenfab.catalog.hardware import HardwareSpec

FAMILY_PARAMS = ("gemm_efficiency", "memory_efficiency", "attention_efficiency", "comm_efficiency")
ENGINE_PARAMS = (
    "step_overhead_ms",
    "layer_overhead_us",
    "seq_overhead_us",
    "comm_latency_us",
    "kernel_efficiency",
    "moe_efficiency",
    "ttft_overhead_ms",
)
SHARED_PARAMS = ("gemm_tokens_half", "moe_skew", "pp_stage_overhead_us", "disagg_overhead_ms")
PARAM_NAMES = FAMILY_PARAMS + ENGINE_PARAMS + SHARED_PARAMS

PRIORS_FILE = "perf_priors.yaml"


def read_priors(path: str | Path | None = None) -> dict:
    """The performance model's priors (data/perf_priors.yaml unless ``path``), checked: every parameter has a source
    and a finite value inside its finite bounds, the band-scale bounds and the efficiency cap are finite and ordered,
    and the named family priors set known parameters inside their bounds; anything else is a TokenfabError naming
    the entry."""
    path = data_path(PRIORS_FILE) if path is None else Path(path)
    raw = read_yaml(path, field=PRIORS_FILE)

    def bad(where: str, what: str, expected: str) -> TokenfabError:
        return TokenfabError(f"{path}: {what}", field=f"{PRIORS_FILE} {where}", expected=expected)

    def entry(where: str, table: object, key: str) -> dict:
        e = table.get(key) if isinstance(table, dict) else None
        if not isinstance(e, dict) or "value" not in e or "source" not in e:
            raise bad(where, f"{where} has no value and source", "an entry with a value and its source")
        return e

    def finite(x: object) -> bool:
        return is_number(x) and math.isfinite(cast(float, x))

    def ordered_pair(x: object) -> bool:
        return isinstance(x, list) and len(x) == 2 and all(finite(b) for b in x) and x[0] < x[1]

    if not isinstance(raw, dict) or not isinstance(raw.get("params"), dict):
        raise bad("params", "no 'params' table", "the performance model's priors")
    for name in PARAM_NAMES:
        where = f"params.{name}"
        e = entry(where, raw["params"], name)
        value, bounds = e["value"], e.get("bounds")
        if not ordered_pair(bounds):
            raise bad(where, f"{name}.bounds is {bounds!r}", "[lower, upper] with lower < upper")
        lo, hi = cast(list, bounds)
        if not (finite(value) and lo <= value <= hi):
            raise bad(where, f"{name}.value {value!r} is not inside its bounds {bounds}", "a number inside its bounds")
    scale = entry("band_scale_bounds", raw, "band_scale_bounds")["value"]
    if not (ordered_pair(scale) and scale[0] >= 1.0):
        raise bad("band_scale_bounds", f"band_scale_bounds is {scale!r}", "[lower, upper] with 1 <= lower < upper")
    cap = entry("max_efficiency", raw, "max_efficiency")["value"]
    if not (finite(cap) and 0.0 < cap <= 1.0):
        raise bad("max_efficiency", f"max_efficiency is {cap!r}", "a fraction of peak in (0, 1]")
    rules = entry("family_prior_rules", raw, "family_prior_rules")["value"]
    if not (isinstance(rules, dict) and all(isinstance(v, str) for v in rules.values()) and "default" in rules):
        raise bad("family_prior_rules", f"family_prior_rules is {rules!r}", "family: rule, with a 'default' rule")
    families = raw.get("family_priors")
    for fam in families if isinstance(families, dict) else ():
        where = f"family_priors.{fam}"
        values = entry(where, families, fam)["value"]
        if not isinstance(values, dict):
            raise bad(where, f"{where} is {values!r}", "parameter: value")
        for param, v in values.items():
            if param not in PARAM_NAMES or not (finite(v) and raw["params"][param]["bounds"][0] <= v):
                raise bad(where, f"{where}.{param} is {v!r}", "a known parameter at or above its lower bound")
    return raw


_PRIORS = read_priors()
# Physical prior before any fit (also the ridge's centre) and the bounds the fit keeps each parameter within, with
# their sources in data/perf_priors.yaml
PRIOR: dict[str, float] = {n: float(_PRIORS["params"][n]["value"]) for n in PARAM_NAMES}
BOUNDS: dict[str, tuple[float, float]] = {
    n: (float(_PRIORS["params"][n]["bounds"][0]), float(_PRIORS["params"][n]["bounds"][1])) for n in PARAM_NAMES
}
# the range of an error band's multiplicative scale (`widen`, profiles calibrated before 2026-12-07)
BAND_SCALE_BOUNDS: tuple[float, float] = (
    float(_PRIORS["band_scale_bounds"]["value"][0]),
    float(_PRIORS["band_scale_bounds"]["value"][1]),
)
# the range benchmarks/calibrate.py fits an error band's additive margins in (perf/fitting.py fit_band_margin)
BAND_MARGIN_BOUNDS: tuple[float, float] = (
    float(_PRIORS["band_margin_bounds"]["value"][0]),
    float(_PRIORS["band_margin_bounds"]["value"][1]),
)
# efficiencies after the engine multiplier never exceed this fraction of the hardware's peak
MAX_EFFICIENCY: float = float(_PRIORS["max_efficiency"]["value"])
# Hardware families without measurements: the rule that sets their parameters (status "prior" wherever shown; the
# rules and their reasons in data/perf_priors.yaml): an AMD family takes the fitted AMD family, an NVIDIA successor
# its predecessor; any other family of a vendor with fitted families the per-parameter median of that vendor's fitted
# families; a family of a vendor nobody has measured the LEAST efficient fitted family ("default"). The
# leave-one-source-out tables of benchmarks/calibrate.py test these rules.
FAMILY_PRIOR_RULES: dict[str, str] = dict(_PRIORS["family_prior_rules"]["value"])
# Named priors for families without measurements, applied after the rule above (SRAM-only chips)
FAMILY_PRIORS: dict[str, dict] = {k: dict(v["value"]) for k, v in (_PRIORS.get("family_priors") or {}).items()}


@dataclass(frozen=True)
class PerfParams:
    gemm_efficiency: float = PRIOR["gemm_efficiency"]
    memory_efficiency: float = PRIOR["memory_efficiency"]
    attention_efficiency: float = PRIOR["attention_efficiency"]
    comm_efficiency: float = PRIOR["comm_efficiency"]
    step_overhead_ms: float = PRIOR["step_overhead_ms"]
    seq_overhead_us: float = PRIOR["seq_overhead_us"]
    comm_latency_us: float = PRIOR["comm_latency_us"]
    kernel_efficiency: float = PRIOR["kernel_efficiency"]
    moe_efficiency: float = PRIOR["moe_efficiency"]
    ttft_overhead_ms: float = PRIOR["ttft_overhead_ms"]
    gemm_tokens_half: float = PRIOR["gemm_tokens_half"]
    layer_overhead_us: float = PRIOR["layer_overhead_us"]
    moe_skew: float = PRIOR["moe_skew"]
    pp_stage_overhead_us: float = PRIOR["pp_stage_overhead_us"]
    disagg_overhead_ms: float = PRIOR["disagg_overhead_ms"]

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict, base: PerfParams | None = None, *, where: str = "calibration") -> PerfParams:
        base = base or cls()
        return replace(base, **check_params(d, where=where))


def check_params(d: dict, *, where: str = "calibration") -> dict[str, float]:
    """Validated parameter values (known names, finite numbers about within their physical bounds)."""
    if not isinstance(d, dict):
        raise TokenfabError("a parameter set must be a mapping", field=where, got=type(d).__name__)
    unknown = set(d) - set(PARAM_NAMES)
    if unknown:
        raise TokenfabError(
            f"unknown calibration parameter(s) {sorted(unknown)}", field=where, expected=", ".join(PARAM_NAMES)
        )
    out = {}
    for k, v in d.items():
        lo, hi = BOUNDS[k]
        ok = isinstance(v, int | float) and not isinstance(v, bool) and np.isfinite(v)
        if not ok or not (lo * 0.5 <= v <= hi * 2 or (lo == 0 and 0 <= v <= hi * 2)):
            raise TokenfabError(
                "calibration value out of its physical range",
                field=f"{where}.{k}",
                expected=f"about [{lo}, {hi}]",
                got=v,
            )
        out[k] = float(v)
    return out


@dataclass(frozen=True)
class ProfileStatus:
    """Which parameters a (hardware, engine) pair rests on: fitted on measurements, or a prior."""

    hardware_family: str
    engine: str
    hardware_profile: str  # fitted | prior | user
    engine_profile: str  # fitted | prior | user
    hardware_rule: str = ""  # how a prior family was set
    engine_rule: str = ""
    rows: int = 0  # measurement rows behind the pair (family rows of any engine + engine rows of any family)
    pair_rows: int = 0  # rows of exactly this (family, engine)
    sources: tuple[str, ...] = ()
    # parameters of a fitted family or engine that no measurement informed (the fit left them at the prior: e.g. the
    # TTFT front end of an engine measured only for throughput), as "engine.ttft_overhead_ms"
    at_prior: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {
            "hardware_profile": self.hardware_profile,
            "engine_profile": self.engine_profile,
            "hardware_family": self.hardware_family,
            "engine": self.engine,
            "hardware_rule": self.hardware_rule,
            "engine_rule": self.engine_rule,
            "rows": self.rows,
            "pair_rows": self.pair_rows,
            "sources": list(self.sources),
            "parameters_at_prior": list(self.at_prior),
        }

    @property
    def label(self) -> str:
        return f"{self.hardware_family}:{self.hardware_profile} / {self.engine}:{self.engine_profile}"

    @property
    def any_prior(self) -> bool:
        return "prior" in (self.hardware_profile, self.engine_profile)


@dataclass
class CalibrationProfile:
    shared: dict[str, float] = field(default_factory=dict)
    families: dict[str, dict[str, float]] = field(default_factory=dict)
    engines: dict[str, dict[str, float]] = field(default_factory=dict)
    hardware: dict[str, dict[str, float]] = field(default_factory=dict)  # per hardware key (`tokenfab calibrate`)
    support: dict = field(default_factory=dict)  # rows / sources behind each family, engine and pair
    uncertainty: dict = field(default_factory=dict)  # out-of-sample error bands (perf/uncertainty.py)
    meta: dict = field(default_factory=dict)

    # ---- resolution
    def _family_params(self, fam: str, vendor: str = "") -> tuple[dict[str, float], str, str]:
        if fam in self.families:
            return dict(self.families[fam]), "fitted", ""
        rule = FAMILY_PRIOR_RULES.get(fam, FAMILY_PRIOR_RULES["default"])
        kin = sorted(f for f in self.families if vendor and family_vendor(f) == vendor)
        if rule in self.families:
            vals, how = dict(self.families[rule]), f"the fitted {rule} family's parameters"
        elif kin:
            vals = {n: float(np.median([self.families[f].get(n, PRIOR[n]) for f in kin])) for n in FAMILY_PARAMS}
            how = f"per parameter the median of the fitted {vendor} families (" + ", ".join(kin) + ")"
        elif self.families:
            vals = {n: float(min(v.get(n, PRIOR[n]) for v in self.families.values())) for n in FAMILY_PARAMS}
            how = "per parameter the least efficient fitted family (" + ", ".join(sorted(self.families)) + ")"
        else:
            vals, how = {n: PRIOR[n] for n in FAMILY_PARAMS}, "the physical prior (no fitted family)"
        return vals, "prior", how

    def _engines_measured_on(self, fam: str, vendor: str) -> tuple[list[str], str]:
        """The fitted engines an engine without measurements takes its median from, and how they were chosen: those
        measured on this hardware family, else on any family of its vendor, else all fitted engines. An engine's
        step, layer and sequence overheads belong to the platform as much as to the engine (the runtime's graph
        replay and launch costs, the kernel library: ROCm engines share HIP and AITER, CUDA ones CUDA graphs and
        their kernels), so the engines that ran on the same platform say more about a new one there than engines
        that ran elsewhere."""
        pairs = (self.support or {}).get("pairs") or {}
        on_fam: set[str] = set()
        on_vendor: set[str] = set()
        for key in pairs:
            f, _, e = str(key).partition("|")
            if e not in self.engines:
                continue
            if f == fam:
                on_fam.add(e)
            if vendor and family_vendor(f) == vendor:
                on_vendor.add(e)
        if on_fam:
            return sorted(on_fam), f"measured on {fam}"
        if on_vendor:
            return sorted(on_vendor), f"measured on {vendor} hardware"
        return sorted(self.engines), ""

    def _vendors_measured(self, engine: str) -> set[str]:
        """The hardware vendors a fitted engine was measured on (support pairs; empty when the profile has none)."""
        pairs = (self.support or {}).get("pairs") or {}
        return {family_vendor(f) for f, _, e in (str(k).partition("|") for k in pairs) if e == engine}

    def _engine_params(self, engine: str, fam: str = "", vendor: str = "") -> tuple[dict[str, float], str, str]:
        if engine in self.engines:
            measured = self._vendors_measured(engine)
            if not vendor or not measured or vendor in measured:
                return dict(self.engines[engine]), "fitted", ""
            # fitted only on another vendor's platform (vLLM measured on MI355X, run on an H100): its overheads and
            # kernel efficiencies there are the other runtime's and kernel library's (HIP/AITER vs CUDA), so it is
            # an engine without measurements here: the engines measured on this platform, when there are any
            away = ", ".join(sorted(measured))
            kin, where = self._engines_measured_on(fam, vendor)
            vals = {n: float(np.median([self.engines[k].get(n, PRIOR[n]) for k in kin])) for n in ENGINE_PARAMS}
            return (
                vals,
                "prior",
                f"{engine} was measured only on {away} hardware: the median of the fitted engines"
                + (f" {where}" if where else "")
                + f" ({', '.join(kin)})",
            )
        from tokenfab.catalog.engines import get_engine

        # follow prior_from to the first fitted engine (dynamo-trtllm -> trtllm -> trtllm-legacy), each key once
        src = get_engine(engine).prior_from if engine else "median"
        seen = {engine}
        while src and src != "median" and src not in self.engines and src not in seen:
            seen.add(src)
            try:
                src = get_engine(src).prior_from
            except TokenfabError:
                src = None
        if src and src != "median" and src in self.engines:
            return dict(self.engines[src]), "prior", f"the fitted {src} engine's parameters"
        if self.engines:
            kin, where = self._engines_measured_on(fam, vendor)
            vals = {n: float(np.median([self.engines[k].get(n, PRIOR[n]) for k in kin])) for n in ENGINE_PARAMS}
            what = "the median of the fitted engines" + (f" {where}" if where else "")
            return vals, "prior", what + " (" + ", ".join(kin) + ")"
        return {n: PRIOR[n] for n in ENGINE_PARAMS}, "prior", "the physical prior (no fitted engine)"

    def _user_entry(self, hw_key: str, engine: str) -> dict[str, float] | None:
        """The user calibration for ``hw_key`` served by ``engine``: ``tokenfab calibrate`` writes it under
        :func:`user_entry_key` (its engine's overheads are that engine's); an entry named by the hardware alone
        (written before 2026-12-08) applies to every engine."""
        entry = self.hardware.get(user_entry_key(hw_key, engine))
        return entry if entry is not None else self.hardware.get(hw_key)

    def user_calibration_note(self, pairs: list[tuple[str, str]]) -> str | None:
        """What a profile with user calibrations says about (hardware key, engine key) ``pairs``: which of them use
        their own measurements and which the bundled fit, so a user calibration is never silently unused. None when
        the profile holds no user calibration."""
        if not self.hardware:
            return None
        held = ", ".join(k.replace("|", " with ") for k in sorted(self.hardware))
        used = [f"{h} with {e}" for h, e in pairs if self._user_entry(h, e) is not None]
        unused = [f"{h} with {e}" for h, e in pairs if self._user_entry(h, e) is None]
        if not used:
            return (
                f"the calibration file's own measurements are for {held}: not for {', '.join(unused)}, which "
                f"{'uses' if len(unused) == 1 else 'use'} the bundled fit"
            )
        return f"user calibration (tokenfab calibrate) used for {', '.join(used)}" + (
            f"; {', '.join(unused)}: the bundled fit" if unused else ""
        )

    def resolve(self, hw: HardwareSpec, engine: str) -> tuple[PerfParams, ProfileStatus]:
        """Flat parameters and their status for ``hw`` (a HardwareSpec) served by ``engine`` (a key)."""
        fam = hw.cost_family or "default"
        user = self._user_entry(hw.key, engine)
        if user is not None:
            vals = {n: PRIOR[n] for n in PARAM_NAMES}
            vals.update(self.shared)
            vals.update(user)
            st = ProfileStatus(fam, engine, "user", "user", "a user calibration (tokenfab calibrate)", "")
            return PerfParams(**vals), st
        fvals, fstat, frule = self._family_params(fam, hw.vendor)
        evals, estat, erule = self._engine_params(engine, fam, hw.vendor)
        vals = {n: PRIOR[n] for n in PARAM_NAMES}
        vals.update(self.shared)
        vals.update(fvals)
        vals.update(evals)
        if fstat == "prior" and fam in FAMILY_PRIORS:
            vals.update(FAMILY_PRIORS[fam])
            frule += f"; named priors for {fam}: " + ", ".join(f"{k}={v:g}" for k, v in FAMILY_PRIORS[fam].items())
        sup = self.support or {}
        frows = int((sup.get("families", {}).get(fam) or {}).get("rows", 0))
        erows = int((sup.get("engines", {}).get(engine) or {}).get("rows", 0))
        prow = int((sup.get("pairs", {}).get(f"{fam}|{engine}") or {}).get("rows", 0))
        srcs = tuple((sup.get("pairs", {}).get(f"{fam}|{engine}") or {}).get("sources", ()))
        # rows behind the parameters: the family's and the engine's, the pair's own counted once
        st = ProfileStatus(
            fam,
            engine,
            fstat,
            estat,
            frule,
            erule,
            rows=frows + erows - prow,
            pair_rows=prow,
            sources=srcs,
            at_prior=self._uninformed(fam if fstat == "fitted" else None, engine if estat == "fitted" else None),
        )
        return PerfParams(**vals), st

    def _uninformed(self, family: str | None, engine: str | None) -> tuple[str, ...]:
        """The parameters of a fitted ``family`` / ``engine`` that the fit recorded as informed by no row
        (meta.fit.uninformed, perf/fitting.py fit_profile)."""
        meta: dict = self.meta if isinstance(self.meta, dict) else {}
        raw_fit = meta.get("fit")
        fit: dict = raw_fit if isinstance(raw_fit, dict) else {}
        names = fit.get("uninformed")
        out = []
        for n in names if isinstance(names, list) else []:
            # "shared.<param>" or "<families|engines>.<member>.<param>" (fit_profile's info["uninformed"])
            grp, _, rest = str(n).partition(".")
            member, _, param = rest.rpartition(".")
            if param not in PARAM_NAMES:
                continue
            if grp == "shared" and not member:
                out.append(f"shared.{param}")
            elif (grp == "families" and member == family) or (grp == "engines" and member == engine):
                out.append(f"{'family' if grp == 'families' else 'engine'}.{param}")
        return tuple(out)

    def params_for(self, hw: HardwareSpec, engine: str = "generic") -> PerfParams:
        return self.resolve(hw, engine)[0]

    def status_for(self, hw: HardwareSpec, engine: str = "generic") -> ProfileStatus:
        return self.resolve(hw, engine)[1]

    def source_for(self, hw: HardwareSpec, engine: str = "generic") -> str:
        return self.status_for(hw, engine).label

    # ---- persistence
    def to_dict(self) -> dict:
        return {
            "meta": self.meta,
            "shared": self.shared,
            "families": self.families,
            "engines": self.engines,
            "hardware": self.hardware,
            "support": self.support,
            "uncertainty": self.uncertainty,
        }

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n")


def user_entry_key(hw_key: str, engine: str) -> str:
    """The ``hardware`` entry of a user calibration of ``hw_key`` served by ``engine``."""
    return f"{hw_key}|{engine}"


@lru_cache(maxsize=1)
def family_vendors() -> dict[str, str]:
    """cost_family -> vendor of the bundled hardware catalog (the families a bundled calibration can be fitted on)."""
    from tokenfab.catalog.hardware import catalog

    return {h.cost_family: h.vendor for h in catalog().values() if h.cost_family}


def family_vendor(family: str) -> str:
    """The vendor of a hardware family (the bundled catalog's; a family it lacks is its own vendor)."""
    return family_vendors().get(family, family)


def profile_from_dict(d: dict, *, source: str = "") -> CalibrationProfile:
    where = source or "calibration"
    if not isinstance(d, dict) or not any(k in d for k in ("shared", "families", "engines", "hardware")):
        raise TokenfabError(
            "a calibration profile needs 'shared', 'families', 'engines' or 'hardware' parameter sets", field=where
        )

    def group(name: str, allowed: tuple[str, ...] | None) -> dict:
        raw = d.get(name) or {}
        if not isinstance(raw, dict):
            raise TokenfabError("must be a mapping", field=f"{where}.{name}")
        out = {}
        for k, v in raw.items():
            vals = check_params(v, where=f"{where}.{name}.{k}")
            if allowed is not None:
                extra = set(vals) - set(allowed)
                if extra:
                    raise TokenfabError(
                        f"{name} parameters must be {', '.join(allowed)}",
                        field=f"{where}.{name}.{k}",
                        got=sorted(extra),
                    )
            out[str(k)] = vals
        return out

    shared = check_params(d.get("shared") or {}, where=f"{where}.shared")
    unc_table = d.get("uncertainty") or {}
    if not isinstance(unc_table, dict):
        raise TokenfabError("must be a mapping", field=f"{where}.uncertainty")
    widen = unc_table.get("widen", 1.0)
    lo, hi = 0.5 * BAND_SCALE_BOUNDS[0], 2.0 * BAND_SCALE_BOUNDS[1]  # as check_params: [1/2 x low, 2 x high]
    entries = list(widen.values()) if isinstance(widen, dict) else [widen]
    # an entry: one number for both sides of a band, or {lo, hi} (uncertainty.side_scales)
    scales = [x for v in entries for x in ((v.get("lo"), v.get("hi")) if isinstance(v, dict) else (v,))]
    if not all(isinstance(v, int | float) and not isinstance(v, bool) and lo <= v <= hi for v in scales) or any(
        isinstance(v, dict) and set(v) != {"lo", "hi"} for v in entries
    ):
        raise TokenfabError(
            f"must be a number in [{lo:g}, {hi:g}] or a mapping of 'vendor:metric' to such numbers or to "
            "{lo: number, hi: number}",
            field=f"{where}.uncertainty.widen",
            got=widen,
        )
    margin = unc_table.get("margin", {})
    m_hi = 2.0 * BAND_MARGIN_BOUNDS[1]
    if not isinstance(margin, dict) or not all(
        isinstance(v, dict)
        and set(v) == {"lo", "hi"}
        and all(isinstance(x, int | float) and not isinstance(x, bool) and 0.0 <= x <= m_hi for x in v.values())
        for v in margin.values()
    ):
        raise TokenfabError(
            f"must be a mapping of 'vendor:metric' to {{lo: number, hi: number}}, each in [0, {m_hi:g}] (ln units)",
            field=f"{where}.uncertainty.margin",
            got=margin,
        )
    return CalibrationProfile(
        shared=shared,
        families=group("families", FAMILY_PARAMS),
        engines=group("engines", ENGINE_PARAMS),
        hardware=group("hardware", None),
        support=d.get("support") or {},
        uncertainty=unc_table,
        meta=d.get("meta") or {},
    )


@lru_cache(maxsize=8)
def _load(path: str) -> CalibrationProfile:
    p = Path(path)
    if not p.is_file():
        raise TokenfabError("calibration file not found", field="calibration", got=str(p))
    try:
        d = json.loads(p.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise TokenfabError("not a text (UTF-8) file", field="calibration", got=str(p)) from None
    except json.JSONDecodeError as e:
        raise TokenfabError(f"not valid JSON: {e.msg} (line {e.lineno})", field=str(p)) from None
    return profile_from_dict(d, source=str(p))


def bundled_profile_path() -> Path:
    return data_path("calibration.json")


def load_profile(path: str | Path | CalibrationProfile | None = None) -> CalibrationProfile:
    """The bundled profile, or a user's file (from `tokenfab calibrate`). The prior if none is bundled."""
    if isinstance(path, CalibrationProfile):
        return path
    if path is None:
        p = bundled_profile_path()
        if not p.exists():
            return CalibrationProfile(meta={"note": "uncalibrated prior"})
        return _load(str(p))
    return _load(str(Path(path).resolve()))
