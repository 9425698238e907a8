"""The library calls behind the dashboard's endpoints: plain functions run on the worker pool (tokenfab.ui.runner),
each checks its keys, calls the library and returns a JSON-ready dict. No formula lives here."""

from __future__ import annotations

from pathlib import Path

from tokenfab import __version__
from tokenfab.core import files
from tokenfab.core.errors import TokenfabError, UnknownKeyError
from tokenfab.ui.requests import (
    LIMITS,
    MAX_BENCH_LEVELS,
    MAX_HARDWARE,
    MAX_LAYOUTS,
    MAX_SCENARIO_FEATURES,
    MAX_SCENARIO_PERSONAS,
    UPLOAD_SOURCE,
    BenchParams,
    EstimateRequest,
    FitRequest,
    FrontierRequest,
    TcoRequest,
    hardware_key,
    model_key,
)
from tokenfab.ui.security import jsonable

# the repository's examples/ folder (scenario YAMLs); absent in an installed wheel, then the list is empty
EXAMPLES_DIR = Path(__file__).resolve().parents[3] / "examples"


def example_files() -> dict[str, Path]:
    """Scenario examples by key (file stem) from examples/*.yaml; users pick a key, never a path."""
    if not EXAMPLES_DIR.is_dir():
        return {}
    out = {}
    for p in sorted(EXAMPLES_DIR.iterdir()):
        if p.suffix in (".yaml", ".yml") and p.is_file() and not p.is_symlink():
            out[p.stem] = p
    return out


# ------------------------------------------------------------------------------------------------- library calls
# (plain functions run on the worker pool; each calls the library and returns a JSON-ready dict)
def meta() -> dict:
    from tokenfab.api import defaults
    from tokenfab.catalog import precision
    from tokenfab.catalog.engines import engine_keys, get_engine
    from tokenfab.catalog.hardware import catalog
    from tokenfab.catalog.models import get_model, model_keys
    from tokenfab.economics import tco
    from tokenfab.render import format as F
    from tokenfab.render import plots

    models = []
    for k in model_keys():
        m = get_model(k)
        models.append(
            {
                "key": k,
                "name": m.name,
                "native_weights": m.native_weights,
                "is_moe": m.is_moe,
                "max_context": m.max_position_embeddings,
            }
        )
    hw = [
        {
            "key": k,
            "name": h.name,
            "vendor": h.vendor,
            "kind": h.kind,
            "memory_capacity_gib": h.memory_capacity_gib,
            "sram_capacity_mib": h.sram_capacity_mib,
            "chips_per_node": h.chips_per_node,
        }
        for k, h in catalog().items()
    ]
    return {
        "version": __version__,
        "models": models,
        "hardware": hw,
        "precisions": {"weights": list(precision.WEIGHT_PRECISIONS), "kv": list(precision.KV_PRECISIONS)},
        "engines": [{"key": k, "name": get_engine(k).name} for k in engine_keys()],
        "presets": tco.preset_names(),
        "default_preset": tco.DEFAULT_PRESET,
        "tco_fields": [{"name": f, "label": F.label(f), "unit": tco.FIELD_UNITS.get(f, "")} for f in tco.INPUT_FIELDS],
        "tco_components": dict(tco.COMPONENT_DESCRIPTIONS),
        "examples": list(example_files()),
        "limits": LIMITS,
        "defaults": defaults.defaults(),  # the one set of defaults of every command (tokenfab.api.defaults)
        "labels": {k: v.get("label", "") for k, v in F.labels_data()["fields"].items()},
        "units": {k: v.get("unit", "") for k, v in F.labels_data()["fields"].items() if v.get("unit")},
        "terms": F.labels_data()["terms"],  # the glossary's plain sentences for the terms of art
        "colors": list(plots.COLORS),
    }


def run_fit(req: FitRequest) -> dict:
    from tokenfab import api
    from tokenfab.api import explain

    r = api.fit(
        api.FitRequest.build(
            **req.model_dump(exclude={"model", "hardware"}),
            model=model_key(req.model),
            hardware=hardware_key(req.hardware),
        )
    )
    out = r.to_dict()
    out["header"] = explain.fit_header(out, weights_given=req.weights is not None)
    out["explain"] = {"layout": explain.layout_note(out)}
    return out


def run_estimate(req: EstimateRequest) -> dict:
    from tokenfab import api
    from tokenfab.api import explain

    e = api.estimate(
        api.EstimateRequest.build(
            **req.model_dump(exclude={"model", "hardware", "concurrency"}),
            model=model_key(req.model),
            hardware=hardware_key(req.hardware),
            concurrency=req.concurrency_value(),
        )
    )
    out = e.to_dict()
    out["header"] = explain.estimate_header(out, weights_given=req.weights is not None, engine_given=bool(req.engine))
    lp = explain.largest_part(out.get("breakdown") or {})
    out["explain"] = {
        "bound": explain.bound_note(out),
        "largest_part": {"part": lp[0], "share": lp[1]} if lp else None,
        "not_fit": None if out["fits"] else explain.not_fit_text(out, out.get("memory_fit")),
    }
    return out


def run_tco(req: TcoRequest) -> dict:
    """``tokenfab.api.tco`` of the page's inputs, or ``tokenfab.api.cost`` when a throughput is given (its TCO is the
    answer, its cost under ``cost``)."""
    from tokenfab import api
    from tokenfab.api import explain

    overrides = {k: v for k, v in req.overrides.model_dump().items() if v is not None}
    fields = {"hardware": hardware_key(req.hardware), "preset": req.preset or None, **overrides}
    if req.total_tokens_per_s_per_gpu is not None:
        c = api.cost(api.CostRequest.build(**fields, total_tokens_per_s_per_gpu=req.total_tokens_per_s_per_gpu))
        out = c.tco.to_dict()
        out["cost"] = c.model_dump(mode="json", exclude={"tco"})
    else:
        out = api.tco(api.TcoRequest.build(**fields)).to_dict()
    out["overrides"] = overrides
    out["header"] = explain.tco_header(out)
    return out


def parse_jsonl(body: bytes) -> tuple[list[dict], int]:
    """Request records from an uploaded JSONL, parsed in memory by the records loader of tokenfab.core.files
    (a record with a wrong value is a 400 naming its line and field)."""
    text = files.decode_text(body, field="file", kind=files.BENCH_RECORDS, name="the upload")
    return files.parse_jsonl_records(text.splitlines(), field="file")


def run_bench(params: BenchParams, body: bytes) -> dict:
    """``tokenfab.api.bench_report`` of the uploaded records (the model's prediction beside each level when a model
    is picked), in the page's shape: the comparison with its model, hardware, rows, lengths and a note."""
    from tokenfab import api
    from tokenfab.bench.records import REQUIRED_FIELDS

    recs, bad = parse_jsonl(body)
    if params.run_id:
        recs = [r for r in recs if r.get("run_id") == params.run_id]
    if not recs:
        raise TokenfabError(
            "no request records in the upload",
            field="file",
            expected="JSON lines with request_id, " + ", ".join(REQUIRED_FIELDS),
            got=f"{bad} unreadable lines",
        )
    hw = hardware_key(params.hardware) if params.hardware else None
    model = model_key(params.model) if params.model else None
    if model and hw is None:
        raise TokenfabError("comparing with the model needs the hardware", field="hardware")
    r = api.bench_report(
        api.BenchReportRequest.build(
            records=recs,
            gpus=params.gpus,
            hardware=hw,
            preset=params.preset or None,
            price_usd_per_gpu_hour=params.usd_per_gpu_hour,
            compare_model=model,
            weights=params.weights,
            kv=params.kv,
            engine=params.engine or None,
            tp=params.tp,
            pp=params.pp,
            dp=params.dp,
            max_compare_levels=MAX_BENCH_LEVELS,
        )
    )
    doc = r.model_dump(mode="json", exclude={"comparison", "level_lengths"})
    doc.update({"records": len(recs), "unreadable_lines": bad, "comparison": None})
    if model:
        doc["comparison"] = {
            "model": model,
            "hardware": hw,
            "rows": r.comparison,
            "lengths": r.level_lengths,
            "note": "predicted: tokenfab.perf.serving.estimate at each measured level's concurrency (or rate) and "
            "mean input/output lengths (tokenfab.bench.modelcheck); the model's mean TPOT/TTFT against the measured "
            "p50; error = predicted / measured - 1",
        }
    return doc


def scenario_from_text(text: str, source: str):
    """A validated tokenfab.planning.scenario.Scenario from YAML text, safe for text from a user: no YAML anchors or
    aliases (no alias bombs), and model / hardware keys checked against the catalogs *before* the library resolves them
    (``get_model`` would read a path), at most MAX_HARDWARE hardware, MAX_SCENARIO_FEATURES features,
    MAX_SCENARIO_PERSONAS personas and MAX_LAYOUTS layouts per model's sweep."""
    from tokenfab.planning import scenario as scen

    try:
        sc = scen.parse_scenario_text(text, source=source, check_references=False, allow_aliases=False)
    except TokenfabError as e:
        if e.field == source:  # the parser names the document itself: the page's file / example field
            e.with_field("file" if source == UPLOAD_SOURCE else "example")
        raise
    lines = scen.scenario_lines(sc)

    def at_line(check, key, field: str, loc: tuple):
        """A catalog key check whose error carries the scenario's line, as the CLI's does."""
        try:
            return check(key, field=field)
        except TokenfabError as e:
            raise scen.ScenarioError(str(e).split(": ", 1)[-1], field=field, line=scen.line_for(lines, loc)) from None

    at_line(model_key, sc.model, "model", ("model",))
    for name, f in sc.features.items():
        if f.model:
            at_line(model_key, f.model, f"features.{name}.model", ("features", name, "model"))
    if len(sc.hardware) > MAX_HARDWARE:
        raise TokenfabError(
            "too many hardware to plan over", field="hardware", expected=f"<= {MAX_HARDWARE}", got=len(sc.hardware)
        )
    for i, h in enumerate(sc.hardware):
        at_line(hardware_key, h, f"hardware[{i}]", ("hardware", i))
    for what, items, most in (
        ("features", sc.features, MAX_SCENARIO_FEATURES),
        ("personas", sc.personas, MAX_SCENARIO_PERSONAS),
    ):
        if len(items) > most:
            raise TokenfabError(
                f"too many {what} for the dashboard",
                field=what,
                expected=f"<= {most}",
                got=len(items),
                hint="run `tokenfab plan` for larger scenarios",
            )
    hws = [hardware_key(h) for h in sc.hardware]
    for m, w in sorted(
        {(model_key(sc.feature_model(name)), sc.feature_weights(name)) for name in sc.features},
        key=lambda mw: (mw[0], mw[1] or ""),
    ):
        n = frontier_layout_count(m, hws, w, None)
        if n > MAX_LAYOUTS:
            raise TokenfabError(
                "the plan's sweep is too large for the dashboard",
                field="hardware",
                expected=f"<= {MAX_LAYOUTS:,} parallel layouts per model",
                got=f"{n:,}",
            )
    return sc


def run_plan_example(key: str) -> dict:
    files = example_files()
    if key not in files:
        raise UnknownKeyError("example", key, files, field="example")
    return plan_from_text(files[key].read_text(encoding="utf-8"), source=f"examples/{files[key].name}")


def plan_from_text(text: str, source: str) -> dict:
    """tokenfab.planning.plan of a scenario given as YAML text (PlanResult.to_dict(), schema in docs/demand.md)."""
    from tokenfab import api
    from tokenfab.render.report import plan_header

    scenario_from_text(text, source)  # the dashboard's own checks first (no aliases, keys only, size limits)
    out = api.plan(api.PlanRequest(scenario_text=text, source=source)).to_dict()
    out["header"] = plan_header(out)
    return out


def frontier_layout_count(model: str, hws: list[str], weights: str | None, gpus: int | None) -> int:
    """How many (hardware, TP, PP, DP, EP) layouts the frontier sweep would evaluate, counted with the search's own
    enumeration (``search.gpu_ladder`` and ``search.layouts``) before any of them is evaluated."""
    from tokenfab import search
    from tokenfab.catalog.models import get_model

    m = get_model(model)
    ws = search.resolve_weights(m, weights)
    n = 0
    for hw in search.resolve_hardware(hws):
        for g in search.gpu_ladder(m, hw, ws, gpus):
            n += len(search.layouts(m, hw, g, fixed=gpus is not None))
    return n


def run_frontier(req: FrontierRequest) -> dict:
    from tokenfab import search

    hws = []
    for h in req.hardware:
        k = hardware_key(h)
        if k not in hws:
            hws.append(k)
    model = model_key(req.model)
    n_layouts = frontier_layout_count(model, hws, req.weights, req.gpus)
    if n_layouts > MAX_LAYOUTS:
        raise TokenfabError(
            "the sweep is too large for the dashboard",
            field="gpus" if req.gpus else "hardware",
            expected=f"<= {MAX_LAYOUTS:,} parallel layouts",
            got=f"{n_layouts:,}",
            hint="pick fewer hardware or a GPU count with fewer divisors, or run `tokenfab frontier`",
        )
    from tokenfab import api

    r = api.frontier(
        api.FrontierRequest.build(
            **req.model_dump(exclude={"model", "hardware", "preset"}),
            model=model,
            hardware=hws,
            preset=req.preset or None,
        )
    )
    d = r.to_dict()
    tiers = d.get("tiers") or {}
    for p in [*d.get("points", []), d.get("best"), *(tiers.get(t) for t in ("bulk", "goldilocks", "premium"))]:
        if isinstance(p, dict) and isinstance(p.get("config"), dict):
            p["layout"] = search.layout_text(p["config"])  # the library's text (TP8 PP2 ..., P 3x[..] + D 7x[..])
    from tokenfab.api import explain
    from tokenfab.economics.tco import DEFAULT_PRESET

    out = jsonable(d)
    out["header"] = explain.frontier_header(
        out, given={"weights": req.weights is not None, "preset": bool(req.preset) and req.preset != DEFAULT_PRESET}
    )
    return out
