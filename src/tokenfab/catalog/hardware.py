"""Hardware catalog: chips and systems as data (src/tokenfab/data/hardware.yaml), every figure with source and as_of.

A user adds or overrides hardware with their own YAML/TOML file (``--hardware-file``) in the same format.
Units are in the field names: ``memory_capacity_gib`` (binary GiB: vendors' HBM "GB" are close to GiB, e.g. an
H100 "80 GB" shows 81,559 MiB), bandwidths in decimal TB/s and GB/s, peaks in dense TFLOP/s (never the
sparse marketing figure), power in W and kW.
"""

from __future__ import annotations

import difflib
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from tokenfab.core import units
from tokenfab.core.data import data_path, read_yaml
from tokenfab.core.errors import TokenfabError, UnknownKeyError
from tokenfab.core.files import HARDWARE
from tokenfab.core.inputs import MAX_GPUS

PRECISION_KEYS = ("bf16", "fp16", "fp8", "fp4", "int8", "int4")
MAX_CHIPS = MAX_GPUS  # chips in a node, rack, system or scale-up domain
MAX_PEAK_TFLOPS = 1e9  # a zettaFLOP/s on one chip

# fields that are figures (numbers with a source); the others are identity/metadata
FIGURE_FIELDS = (
    "memory_capacity_gib",
    "memory_bandwidth_tb_per_s",
    "sram_capacity_mib",
    "sram_bandwidth_tb_per_s",
    "peak_tflops",
    "tdp_w",
    "scaleup_domain_size",
    "scaleup_bandwidth_gb_per_s_per_direction",
    "scaleout_bandwidth_gb_per_s_per_direction",
    "chips_per_node",
    "chips_per_rack",
    "node_it_power_kw",
    "rack_it_power_kw",
    "price_usd_per_chip",
    "price_usd_per_system",
    "chips_per_system",
    "all_in_kw_per_chip",
    "scaleup_fabric",
)


class FigureSource(BaseModel):
    source: str
    as_of: str
    note: str | None = None


class HardwareSpec(BaseModel):
    """One chip (or one chip of a rack-scale system). Classes bundle inputs; formulas live in other modules."""

    # every figure finite (NaN and inf pass pydantic's bounds unless told otherwise) and below a bound far above any
    # chip (a petabyte of HBM, a zettaFLOP/s, a million chips in a domain): no figure can overflow the arithmetic
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    key: str = Field(min_length=1, max_length=200)
    name: str
    vendor: str
    kind: Literal["gpu", "tpu", "accelerator", "sram"] = "gpu"  # "sram": SRAM-only chip (weights in on-chip SRAM)
    memory_capacity_gib: float = Field(ge=0, le=1e6)  # off-chip memory (HBM/GDDR); 0 for SRAM-only chips
    memory_bandwidth_tb_per_s: float = Field(gt=0, le=1e6)  # the memory weights stream from (HBM, or SRAM)
    sram_capacity_mib: float = Field(default=0, ge=0, le=1e9)
    sram_bandwidth_tb_per_s: float | None = Field(default=None, gt=0, le=1e6)
    peak_tflops: dict[str, float | None]  # dense peak per precision; missing/None = no native support
    tdp_w: float | None = Field(default=None, gt=0, le=1e7)
    scaleup_domain_size: int = Field(default=1, ge=1, le=MAX_CHIPS)  # chips in one scale-up (NVLink/xGMI/ICI) domain
    # how the scale-up domain connects its chips: which all-reduce algorithms exist (perf/comm.py FABRIC_ALGORITHMS)
    scaleup_fabric: Literal["nvswitch-sharp", "nvswitch", "mesh", "pcie", "torus", "direct", "none"] | None = None
    scaleup_bandwidth_gb_per_s_per_direction: float = Field(default=0, ge=0, le=1e9)  # per chip
    scaleout_bandwidth_gb_per_s_per_direction: float = Field(default=0, ge=0, le=1e9)  # per chip (NICs)
    chips_per_node: int = Field(default=8, ge=1, le=MAX_CHIPS)
    chips_per_rack: int = Field(default=32, ge=1, le=MAX_CHIPS)
    node_it_power_kw: float | None = Field(default=None, gt=0, le=1e6)
    rack_it_power_kw: float | None = Field(default=None, gt=0, le=1e6)
    price_usd_per_chip: float | None = Field(default=None, gt=0, le=1e9)
    price_usd_per_system: float | None = Field(default=None, gt=0, le=1e12)
    chips_per_system: int | None = Field(default=None, ge=1, le=MAX_CHIPS)
    all_in_kw_per_chip: float | None = Field(default=None, gt=0, le=1e4)  # InferenceX all-in provisioned kW
    cost_family: str | None = None  # which calibration family applies (e.g. "hopper", "blackwell")
    aliases: list[str] = Field(default_factory=list)  # other keys that resolve to this entry (e.g. "h200")
    notes: str = ""
    sources: dict[str, FigureSource] = Field(default_factory=dict)

    @field_validator("peak_tflops")
    @classmethod
    def _check_peaks(cls, v: dict[str, float | None]) -> dict[str, float | None]:
        for k, x in v.items():
            if k not in PRECISION_KEYS:
                raise ValueError(f"unknown precision {k!r}; use {', '.join(PRECISION_KEYS)}")
            if x is not None and not 0 < x <= MAX_PEAK_TFLOPS:
                raise ValueError(f"peak for {k} must be > 0 and <= {MAX_PEAK_TFLOPS:g}, or omitted; got {x!r}")
        if not any(v.values()):
            raise ValueError("at least one precision needs a peak")
        return v

    @field_validator("aliases")
    @classmethod
    def _check_aliases(cls, v: list[str]) -> list[str]:
        out = []
        for a in v:
            a = str(a).strip().lower()
            if not a:
                raise ValueError("an alias must be a non-empty string")
            out.append(a)
        return out

    # ---- derived quantities in base units (bytes, bytes/s, FLOP/s, W) ----
    @property
    def memory_capacity_bytes(self) -> float:
        return self.memory_capacity_gib * units.GIB

    @property
    def sram_capacity_bytes(self) -> float:
        return self.sram_capacity_mib * units.MIB

    @property
    def weight_memory_bytes(self) -> float:
        """Where weights and KV live: HBM, or on-chip SRAM for SRAM-only chips."""
        return self.sram_capacity_bytes if self.kind == "sram" else self.memory_capacity_bytes

    @property
    def memory_bandwidth_bytes_per_s(self) -> float:
        return self.memory_bandwidth_tb_per_s * units.TB_PER_S

    @property
    def scaleup_bandwidth_bytes_per_s(self) -> float:
        return self.scaleup_bandwidth_gb_per_s_per_direction * units.GB_PER_S

    @property
    def scaleout_bandwidth_bytes_per_s(self) -> float:
        return self.scaleout_bandwidth_gb_per_s_per_direction * units.GB_PER_S

    @property
    def peak_flops_per_s(self) -> dict[str, float]:
        return {k: v * units.TFLOPS for k, v in self.peak_tflops.items() if v}

    def source_of(self, field: str) -> FigureSource | None:
        """Source of a figure; ``peak_tflops.fp8`` falls back to the source of ``peak_tflops``."""
        if field in self.sources:
            return self.sources[field]
        if "." in field:
            return self.sources.get(field.split(".", 1)[0])
        return None


_FIGURE_KEYS = {"value", "source", "as_of", "note"}


def _figure(val: dict[str, Any], default_src: object, default_asof: object, where: str) -> tuple[object, dict]:
    """Split a ``{value, source, as_of, note}`` mapping into its value and its source record."""
    extra = set(val) - _FIGURE_KEYS
    if extra:
        raise TokenfabError(
            f"unknown key(s) {sorted(extra)} in a sourced figure", field=where, expected="value, source, as_of, note"
        )
    src = val.get("source", default_src)
    asof = val.get("as_of", default_asof)
    rec = {
        "source": None if src is None else str(src),
        "as_of": None if asof is None else str(asof),
        "note": val.get("note"),
    }
    return val["value"], rec


def _normalize_entry(key: str, raw: dict, origin: str) -> dict:
    if not isinstance(raw, dict):
        raise TokenfabError("each hardware entry must be a mapping of fields", field=f"{origin}: {key}")
    entry = dict(raw)
    default_src = entry.pop("source", None)
    default_asof = entry.pop("as_of", None)
    default_rec = {
        "source": None if default_src is None else str(default_src),
        "as_of": None if default_asof is None else str(default_asof),
    }
    sources: dict[str, dict] = {}

    def _require(rec: dict, name: str) -> None:
        if rec["source"] is None or rec["as_of"] is None:
            raise TokenfabError(
                f"figure {name!r} has no source/as_of (give them on the entry or on the figure)",
                field=f"{origin}: {key}.{name}",
            )

    for f in FIGURE_FIELDS:
        if f not in entry:
            continue
        val = entry[f]
        if isinstance(val, dict) and "value" in val:
            entry[f], rec = _figure(val, default_src, default_asof, f"{origin}: {key}.{f}")
        else:
            rec = dict(default_rec)
        if f == "peak_tflops" and isinstance(entry[f], dict):
            # each precision may carry its own source: peak_tflops: {fp8: {value: .., source: .., as_of: ..}}
            peaks = {}
            for prec, pv in entry[f].items():
                if isinstance(pv, dict) and "value" in pv:
                    peaks[prec], prec_rec = _figure(pv, rec["source"], rec["as_of"], f"{origin}: {key}.{f}.{prec}")
                    _require(prec_rec, f"{f}.{prec}")
                    sources[f"{f}.{prec}"] = prec_rec
                else:
                    peaks[prec] = pv
                    _require(rec, f"{f}.{prec}")
            entry[f] = peaks
            if rec["source"] is not None and rec["as_of"] is not None:
                sources[f] = rec
            continue
        _require(rec, f)
        sources[f] = rec
    entry["sources"] = sources
    entry["key"] = key
    return entry


def load_catalog_file(path: str | Path, *, bundled: bool = False) -> dict[str, HardwareSpec]:
    """Read a YAML or TOML file of ``key -> fields`` (optionally under a top-level ``hardware:``)."""
    raw = read_yaml(path, field="hardware_files", kind=HARDWARE)
    if isinstance(raw, dict) and "hardware" in raw and isinstance(raw["hardware"], dict):
        raw = raw["hardware"]
    if not isinstance(raw, dict):
        raise TokenfabError(
            f"{path} holds a YAML {type(raw).__name__}, not a mapping of hardware key -> fields",
            field="hardware_files",
            expected=HARDWARE,
        )
    out = {}
    for key, fields in raw.items():
        k = str(key).strip().lower()
        entry = _normalize_entry(k, fields, str(path))
        _check_entry_values(entry, f"{path}: {key}", families=not bundled)
        try:
            out[k] = HardwareSpec(**entry)
        except ValidationError as e:
            errs = e.errors()
            # an unknown field first: a misspelt one also shows up as the real one missing
            err = next((x for x in errs if x.get("type") == "extra_forbidden"), errs[0])
            loc = ".".join(str(x) for x in err["loc"])
            got = err.get("input")
            msg = err["msg"]
            if err.get("type") == "extra_forbidden":
                close = difflib.get_close_matches(str(err["loc"][-1]), list(HardwareSpec.model_fields), n=1)
                msg = "unknown field" + (f" (did you mean {close[0]}?)" if close else "")
            raise TokenfabError(
                msg, field=f"{path}: {key}.{loc}", got=got if not isinstance(got, (dict, list)) else None
            ) from None
    for k, spec in out.items():
        for a in spec.aliases:
            if a in out and a != k:
                raise TokenfabError(f"alias {a!r} is also a key in the same file", field=f"{path}: {k}.aliases")
    return out


def _check_entry_values(entry: dict, where: str, *, families: bool = True) -> None:
    """What pydantic's number coercion lets through: true/false as a number (``memory_capacity_gib: true`` read as
    1 GiB), and a ``cost_family`` one letter from a known family (``hoper``: silently a family without data)."""
    for name, v in entry.items():
        field = HardwareSpec.model_fields.get(name)
        if field is None or not isinstance(v, bool):
            continue
        ann = str(field.annotation)
        if ("float" in ann or "int" in ann) and "bool" not in ann:
            raise TokenfabError("true/false is not a number", field=f"{where}.{name}", got=v)
    fam = entry.get("cost_family")
    if families and isinstance(fam, str) and fam:  # (a user file's: the bundled catalog defines the families)
        known = known_families()
        close = difflib.get_close_matches(fam, sorted(known), n=1, cutoff=0.8)
        # a next generation's name differs in its digits only (cdna5, gaudi4): a new family, not a typo
        if close and re.sub(r"\d", "", fam) == re.sub(r"\d", "", close[0]):
            close = []
        if fam not in known and close:
            raise TokenfabError(
                f"unknown cost_family {fam!r} (did you mean {close[0]}?)",
                field=f"{where}.cost_family",
                expected=f"a calibration family ({', '.join(sorted(known))}), or a new family's own distinct name "
                "(it then rests on the prior rules)",
                got=fam,
            )


def known_families() -> set[str]:
    """The calibration families the bundled catalog names, and those its prior rules know."""
    from tokenfab.catalog.calibration import FAMILY_PRIOR_RULES

    fams = {str(h.cost_family) for h in _bundled().values() if h.cost_family}
    return fams | {str(k) for k in FAMILY_PRIOR_RULES if k != "default"}


@lru_cache(maxsize=1)
def _bundled() -> dict[str, HardwareSpec]:
    return load_catalog_file(data_path("hardware.yaml"), bundled=True)


def _as_files(hardware_files: tuple[str, ...] | list[str] | str | Path | None) -> tuple[str, ...]:
    if hardware_files is None:
        return ()
    if isinstance(hardware_files, (str, Path)):  # one path, not a sequence of characters
        return (str(hardware_files),)
    return tuple(str(f) for f in hardware_files)


def catalog(hardware_files: tuple[str, ...] | list[str] | str | Path | None = None) -> dict[str, HardwareSpec]:
    """The bundled catalog, with user files layered on top (later files win, entry by entry)."""
    cat = dict(_bundled())
    for f in _as_files(hardware_files):
        cat.update(load_catalog_file(f))
    return cat


def redefined_note(
    keys: list[str], hardware_files: tuple[str, ...] | list[str] | str | Path | None = None
) -> str | None:
    """A sentence naming the bundled hardware among ``keys`` that a user file redefines (the file's entry replaces
    the bundled one entry by entry, later files winning), None when none is: a replaced chip is never silent."""
    files = _as_files(hardware_files)
    if not files:
        return None
    bundled = _bundled()
    where: dict[str, str] = {}
    for f in files:
        for k in load_catalog_file(f):
            if k in bundled:
                where[k] = f
    hit = [k for k in dict.fromkeys(keys) if k in where]
    if not hit:
        return None
    return "; ".join(f"{k} is the definition in {where[k]} (it replaces the bundled entry)" for k in hit)


def alias_map(cat: dict[str, HardwareSpec]) -> dict[str, str]:
    """alias -> key. A real key always wins over an alias of the same spelling."""
    out: dict[str, str] = {}
    for k, spec in cat.items():
        for a in spec.aliases:
            if a not in cat:
                out[a] = k
    return out


def get_hardware(
    key: str | HardwareSpec, hardware_files: tuple[str, ...] | list[str] | str | Path | None = None
) -> HardwareSpec:
    """A catalog key (``h100-sxm``), one of its aliases (``h200``), or its full name (``NVIDIA H100 SXM5 80GB``)."""
    if isinstance(key, HardwareSpec):
        return key
    cat = catalog(hardware_files)
    k = str(key).strip().lower()
    if k in cat:
        return cat[k]
    aliases = alias_map(cat)
    if k in aliases:
        return cat[aliases[k]]
    names = {h.name.lower(): kk for kk, h in cat.items()}
    if k in names:
        return cat[names[k]]
    raise UnknownKeyError("hardware", str(key), list(cat.keys()) + list(aliases), field="hardware")
