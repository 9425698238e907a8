"""Serving engines as data (src/tokenfab/data/engines.yaml): scheduler defaults, KV-cache policy, collectives and
features. The performance model reads an :class:`EngineSpec`; the fitted efficiencies and overheads of each engine
live in the calibration profile (catalog/calibration.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from tokenfab.core.data import data_path, read_yaml
from tokenfab.core.errors import TokenfabError, UnknownKeyError

FEATURES = ("mtp", "eagle3", "dspark", "dp_attention", "disagg", "eplb", "wide_ep")
# the closed vocabularies of engines.yaml (a typo is an error, not silently the default)
CHOICES = {
    "kv_memory_basis": ("total", "free"),
    "kv_reservation": ("on_demand", "max_length"),
    "allreduce": ("ring", "two_shot", "one_shot", "nvls"),
    "w4_compute": ("fp4", "fp8", "bf16"),
}
NUMERIC = (
    "max_num_batched_tokens",
    "max_num_seqs",
    "kv_block_tokens",
    "kv_memory_fraction",
    "allreduce_bytes_factor",
    "ep_dispatch_bytes",
    "eplb_skew_factor",
)


@dataclass(frozen=True)
class EngineSpec:
    key: str
    name: str
    max_num_batched_tokens: int
    max_num_seqs: int
    chunked_prefill: bool
    mixed_batching: bool  # prefill tokens and decodes share one step
    kv_block_tokens: int
    kv_memory_fraction: float
    kv_memory_basis: str  # total | free
    kv_reservation: str  # on_demand | max_length
    allreduce: tuple[str, ...]
    allreduce_bytes_factor: float
    ep_dispatch_bytes: float
    w4_compute: str  # fp4 | fp8 | bf16: the arithmetic 4-bit weights run at
    features: tuple[str, ...]
    eplb_skew_factor: float
    prior_from: str | None  # None: fitted when measured; a key: inherits that engine's parameters; "median"
    default_for_vendors: tuple[str, ...]
    vendors: tuple[str, ...] = ()  # hardware vendors it runs on; empty: any
    source: str = ""
    sources: dict[str, str] = field(default_factory=dict, hash=False, compare=False)

    def supports(self, feature: str) -> bool:
        return feature in self.features

    def runs_on(self, vendor: str) -> bool:
        """Whether the engine runs on ``vendor``'s hardware (engines.yaml ``vendors``; empty: any)."""
        return not self.vendors or vendor.strip().lower() in {v.lower() for v in self.vendors}


def _value(raw: dict[str, Any], name: str, key: str) -> tuple[Any, Any]:  # (value, source) as in engines.yaml
    v = raw.get(name)
    if isinstance(v, dict):
        return v.get("value"), v.get("source")
    return v, None


@lru_cache(maxsize=1)
def _raw() -> dict:
    d = read_yaml(data_path("engines.yaml"))
    if not isinstance(d, dict) or not isinstance(d.get("engines"), dict):
        raise TokenfabError("engines.yaml needs an 'engines' mapping", field="engines.yaml")
    return d["engines"]


def _entry(key: str, seen: tuple[str, ...] = ()) -> dict:
    raw = _raw()
    if key not in raw:
        raise UnknownKeyError("engine", key, raw.keys(), field="engine")
    e = dict(raw[key])
    parent = e.pop("inherits", None)
    if parent:
        if parent in seen:
            raise TokenfabError("engine inheritance loops", field=f"engines.{key}.inherits", got=parent)
        base = _entry(parent, (*seen, key))
        e = {**{k: v for k, v in base.items() if k not in ("name", "source", "default_for_vendors")}, **e}
    return e


def get_engine(key: str | EngineSpec) -> EngineSpec:
    """An engine by key (engines.yaml), or the spec itself."""
    if isinstance(key, EngineSpec):
        return key
    return _get_engine(str(key).strip().lower())


@lru_cache(maxsize=32)
def _get_engine(k: str) -> EngineSpec:
    e = _entry(k)
    vals, srcs = {}, {}
    for name in NUMERIC + (
        "chunked_prefill",
        "mixed_batching",
        "kv_reservation",
        "kv_memory_basis",
        "allreduce",
        "w4_compute",
    ):
        v, s = _value(e, name, k)
        if v is None:
            raise TokenfabError("engine field missing", field=f"engines.{k}.{name}")
        vals[name] = v
        if s:
            srcs[name] = s
    for name in NUMERIC:
        v = vals[name]
        if not isinstance(v, int | float) or isinstance(v, bool) or not v > 0:
            raise TokenfabError("must be a positive number", field=f"engines.{k}.{name}", got=v)
    if not vals["kv_memory_fraction"] <= 1.0:
        raise TokenfabError(
            "a memory fraction is at most 1",
            field=f"engines.{k}.kv_memory_fraction",
            expected="(0, 1]",
            got=vals["kv_memory_fraction"],
        )
    for name, allowed in CHOICES.items():
        got = vals[name]
        items = got if name == "allreduce" else [got]
        if name == "allreduce" and (not isinstance(got, list | tuple) or not got):
            raise TokenfabError("a list of all-reduce algorithms", field=f"engines.{k}.{name}", got=got)
        bad_v = [x for x in items if x not in allowed]
        if bad_v:
            raise TokenfabError(
                f"unknown {name} value", field=f"engines.{k}.{name}", expected=", ".join(allowed), got=bad_v
            )
    vendors, vsrc = _value(e, "vendors", k)
    if vendors is None:
        raise TokenfabError("engine field missing", field=f"engines.{k}.vendors", expected="a list of hardware vendors")
    if not isinstance(vendors, list | tuple) or not all(isinstance(v, str) and v.strip() for v in vendors):
        raise TokenfabError("a list of vendor names", field=f"engines.{k}.vendors", got=vendors)
    if vsrc:
        srcs["vendors"] = vsrc
    feats = tuple(e.get("features") or ())
    bad = [f for f in feats if f not in FEATURES]
    if bad:
        raise TokenfabError(
            "unknown engine feature", field=f"engines.{k}.features", expected=", ".join(FEATURES), got=bad
        )
    return EngineSpec(
        key=k,
        name=str(e.get("name", k)),
        max_num_batched_tokens=int(vals["max_num_batched_tokens"]),
        max_num_seqs=int(vals["max_num_seqs"]),
        chunked_prefill=bool(vals["chunked_prefill"]),
        mixed_batching=bool(vals["mixed_batching"]),
        kv_block_tokens=int(vals["kv_block_tokens"]),
        kv_memory_fraction=float(vals["kv_memory_fraction"]),
        kv_memory_basis=str(vals["kv_memory_basis"]),
        kv_reservation=str(vals["kv_reservation"]),
        allreduce=tuple(vals["allreduce"]),
        allreduce_bytes_factor=float(vals["allreduce_bytes_factor"]),
        ep_dispatch_bytes=float(vals["ep_dispatch_bytes"]),
        w4_compute=str(vals["w4_compute"]),
        features=feats,
        eplb_skew_factor=float(vals["eplb_skew_factor"]),
        prior_from=e.get("prior_from"),
        default_for_vendors=tuple(e.get("default_for_vendors") or ()),
        vendors=tuple(str(v).strip() for v in vendors),
        source=str(e.get("source", "")),
        sources=srcs,
    )


def engine_keys() -> list[str]:
    return list(_raw())


def default_engine(hw: object) -> EngineSpec:  # a HardwareSpec, or anything with a ``vendor``
    """The engine a hardware's vendor is served with by default (engines.yaml ``default_for_vendors``)."""
    vendor = str(getattr(hw, "vendor", "") or "")
    for k in engine_keys():
        if vendor in (_raw()[k].get("default_for_vendors") or []):
            return get_engine(k)
    return get_engine("generic")


def resolve_engine(engine: str | EngineSpec | None, hw: object) -> EngineSpec:
    """``engine`` (a key, a spec, or None/"auto" for the hardware's default)."""
    if engine is None or (isinstance(engine, str) and engine.strip().lower() in ("", "auto", "default")):
        return default_engine(hw)
    eng = get_engine(engine)
    check_runs_on(eng, hw)
    return eng


def check_runs_on(engine: EngineSpec, hw: object) -> None:
    """Refuse an engine on a chip of a vendor it does not run on (TensorRT-LLM on an AMD GPU): the model would price
    a deployment nobody can build. ``hw`` is a HardwareSpec (or anything with ``key`` and ``vendor``)."""
    vendor = str(getattr(hw, "vendor", "") or "")
    if engine.runs_on(vendor):
        return
    fits = [k for k in engine_keys() if get_engine(k).runs_on(vendor)]
    raise TokenfabError(
        f"{engine.name} does not run on {vendor or 'this vendor'}'s hardware ({getattr(hw, 'key', hw)}): it runs on "
        f"{', '.join(engine.vendors)} hardware (engines.yaml vendors)",
        field="engine",
        expected=f"an engine for {vendor or 'this hardware'}: {', '.join(fits)} (per hardware: hw=engine,...)",
        got=engine.key,
    )


def engine_rows() -> list[dict[str, Any]]:
    """One row per bundled engine for ``tokenfab catalog engines``: what it runs on, where it is the default, its
    features, and whether the committed calibration fitted it (else where its parameters come from)."""
    from tokenfab.catalog.calibration import load_profile

    fitted = set(load_profile().engines)
    rows = []
    for k in engine_keys():
        e = get_engine(k)
        rows.append(
            {
                "key": k,
                "name": e.name,
                "runs_on": list(e.vendors) or ["any"],
                "default_for": list(e.default_for_vendors),
                "features": list(e.features),
                "parameters": "fitted"
                if k in fitted
                else (
                    f"prior from {e.prior_from}"
                    if e.prior_from and e.prior_from != "median"
                    else "prior: median of the engines fitted on the same hardware"
                ),
                "source": e.source,
                "runs_on_source": e.sources.get("vendors", ""),
            }
        )
    return rows
