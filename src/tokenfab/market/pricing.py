"""Provider price check: a provider's list price per million tokens beside tokenfab's modeled cost of serving the same
(or a comparable) open model on chosen hardware, and the implied gross margin.

- List prices come from the ``genai-prices`` package's bundled data (offline; never its network auto-update): input,
  cached-input (cache read) and output USD per million tokens of a (provider id, model id) in force today.
- data/price_models.yaml says which provider model ids serve which catalog model (``same-weights``,
  ``same-architecture``) and which open model stands in for a closed one (``comparable``).
- Modeled cost: ``search.frontier(open model, hardware, isl, osl, preset)``; its tier points (bulk = cheapest,
  goldilocks = cheapest at >= 50 tok/s/user, premium = fastest) give the busy $/GPU-hour and tokens/s per GPU, and
  ``cost.compute_cost`` turns them into $/M total, input, output, cached input and 3:1 blended.

Margins (USD per million tokens; margin % = margin / price):

- ``workload``: the provider's revenue per million tokens at the workload's mix, (ISL x input price + OSL x output
  price) / (ISL + OSL), minus tokenfab's $/M total tokens. Revenue and cost of the same GPU-hour: the verdict uses it.
- ``input``, ``output``, ``cached_input``, ``blended_3to1``: each price minus tokenfab's $/M of that kind. tokenfab
  follows InferenceX there: the whole GPU-hour is charged to each kind, so these costs are upper bounds and these
  margins lower bounds (they do not add up).

Verdict on the workload margin %: >= SUSTAINABLE_MARGIN_PCT "sustainable"; >= 0 "thin"; < 0 "below modeled cost -
subsidy or better efficiency than modeled".

Comparability: a list price buys an interactive API (tens of tokens/s per user or more); a modeled point far slower
than that (the bulk tier of a large model can be a few tokens/s per user) costs far less per token than serving the
API does, so its margin says nothing about the price. A row whose point is below COMPARABLE_FRACTION x
API_INTERACTIVITY_TOKENS_PER_S_PER_USER gets the verdict "not comparable" (its margin is still shown); a row between
that and API_INTERACTIVITY_TOKENS_PER_S_PER_USER keeps its verdict with a note that the cost is understated. When the
goldilocks tier is asked for but no point on a hardware reaches it, the cheapest point at the comparability floor
(COMPARABLE_FRACTION x API_INTERACTIVITY_TOKENS_PER_S_PER_USER tok/s/user) is compared in its place (tier
``>=25 tok/s/user``, ``instead_of: goldilocks``; else the fastest point reached, the premium tier), and a note says so.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Any, Optional, Sequence

from tokenfab import search as search
from tokenfab.catalog.models import get_model, model_keys
from tokenfab.core.data import data_path, read_yaml
from tokenfab.core.errors import TokenfabError, UnknownKeyError
from tokenfab.economics import cost as costmod
from tokenfab.economics import tco as tcomod

# [assumption] a gross margin below 30% of price is "thin": the modeled cost is only the cost of the GPU-hours at the
# operating point; sales, R&D, free tiers, support, idle capacity above the modeled utilization and peak headroom are
# paid out of gross margin (cloud software businesses report 60-80% gross margins; 30% is a low bar, not a citation).
SUSTAINABLE_MARGIN_PCT = 30.0
# [assumption] the interactivity an API user gets: tokenfab's goldilocks speed (search.GOLDILOCKS_INTERACTIVITY,
# 50 tok/s/user); hosted frontier APIs stream at about this speed or faster.
API_INTERACTIVITY_TOKENS_PER_S_PER_USER = float(search.GOLDILOCKS_INTERACTIVITY)
# [assumption] below half of it a modeled point is "far below" API interactivity: not comparable with a list price.
COMPARABLE_FRACTION = 0.5
NOT_COMPARABLE = "not comparable"
DEFAULT_HARDWARE = ("h100-sxm",)
DEFAULT_TIERS = ("goldilocks", "bulk")
TIERS = ("bulk", "goldilocks", "premium")
MATCH_KINDS = ("same-weights", "same-architecture", "comparable", "user-given")
VERDICTS = {
    "sustainable": f"price covers modeled cost with a gross margin of at least {SUSTAINABLE_MARGIN_PCT:g}%",
    "thin": f"price covers modeled cost, gross margin under {SUSTAINABLE_MARGIN_PCT:g}%",
    "below modeled cost - subsidy or better efficiency than modeled": "price is below tokenfab's modeled cost: the provider subsidises it, or serves more efficiently than modeled "
    "(other hardware, speculative decoding, better batching, cheaper capital or power)",
    NOT_COMPARABLE: "the modeled point is far slower per user than an API serves (below "
    f"{COMPARABLE_FRACTION:g} x {API_INTERACTIVITY_TOKENS_PER_S_PER_USER:g} tok/s/user): its cost is "
    "not the cost of what the price buys (margin shown, no verdict)",
}
DEFINITIONS = {
    "workload_price_usd_per_mtok": "(ISL x input price + OSL x output price) / (ISL + OSL): provider revenue per "
    "million tokens of this workload",
    "margin_usd_per_mtok": "provider price - tokenfab modeled cost, USD per million tokens (negative = loss)",
    "margin_pct": "margin / price x 100",
    "inferencex_convention": "tokenfab's input/output $/M charge the whole GPU-hour to that kind (InferenceX): "
    "costs are upper bounds, per-kind margins lower bounds",
}


# ---------------------------------------------------------------------------------------------------------------
# genai-prices (bundled data only)
# ---------------------------------------------------------------------------------------------------------------
def genai_prices_version() -> str:
    from importlib.metadata import version

    return version("genai-prices")


@lru_cache(maxsize=1)
def _providers() -> dict:
    """{provider id: Provider} from genai-prices' bundled data (offline)."""
    try:
        from genai_prices.data import providers
    except ImportError:  # pragma: no cover - a declared dependency
        raise TokenfabError(
            "the genai-prices package is needed for provider prices", field="prices", hint="pip install genai-prices"
        ) from None
    return {p.id: p for p in providers}


def provider_ids() -> list[str]:
    return sorted(_providers())


def _num(x) -> tuple[Optional[float], bool]:
    """A genai-prices price (Decimal, TieredPrices or None) -> (USD per M tokens, tiered?)."""
    if x is None:
        return None, False
    if isinstance(x, Decimal):
        return float(x), False
    base = getattr(x, "base", None)  # TieredPrices: the base tier (prompts below the first threshold)
    if base is not None:
        return float(base), True
    return float(x), False


def find_price_model(provider: str, model_id: str):
    """(Provider, ModelInfo) for a genai-prices provider id and model id: the exact id first, then the package's own
    matching (``Provider.find_model``), as calc_price does."""
    provs = _providers()
    p = provs.get(str(provider).strip().lower())
    if p is None:
        raise UnknownKeyError("price provider", str(provider), provs.keys(), field="provider")
    mid = str(model_id).strip()
    for m in p.models:
        if m.id == mid or m.id.lower() == mid.lower():
            return p, m
    m = p.find_model(mid.lower(), all_providers=list(provs.values()))
    if m is None:
        raise UnknownKeyError(f"model of provider {p.id!r}", mid, [x.id for x in p.models], field="provider_model")
    return p, m


@dataclass(frozen=True)
class ProviderPrice:
    """One provider's list price for one model, USD per million tokens (None: not priced)."""

    provider: str
    provider_name: str
    model_id: str
    model_name: Optional[str]
    input_usd_per_mtok: Optional[float]
    cached_input_usd_per_mtok: Optional[float]
    output_usd_per_mtok: Optional[float]
    match: str  # same-weights | same-architecture | comparable | user-given
    note: str = ""
    tiered: bool = False  # prices depend on prompt length: the base tier is shown
    deprecated: bool = False
    source: str = ""
    as_of: str = ""

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def list_price(
    provider: str, model_id: str, *, match: str = "user-given", note: str = "", when: _dt.datetime | None = None
) -> ProviderPrice:
    """The list price in force at ``when`` (default now) from genai-prices' bundled data."""
    p, m = find_price_model(provider, model_id)
    when = when or _dt.datetime.now(tz=_dt.timezone.utc)
    mp = m.get_prices(when)
    pin, t1 = _num(getattr(mp, "input_mtok", None))
    pcache, t2 = _num(getattr(mp, "cache_read_mtok", None))
    pout, t3 = _num(getattr(mp, "output_mtok", None))
    urls = ", ".join(p.pricing_urls or []) or "provider pricing page"
    return ProviderPrice(
        provider=p.id,
        provider_name=p.name,
        model_id=m.id,
        model_name=m.name,
        input_usd_per_mtok=pin,
        cached_input_usd_per_mtok=pcache,
        output_usd_per_mtok=pout,
        match=match,
        note="; ".join(x for x in (note, m.price_comments or "") if x),
        tiered=t1 or t2 or t3,
        deprecated=bool(m.deprecated),
        source=f"genai-prices {genai_prices_version()} bundled data ({urls})",
        as_of=f"price in force on {when.date().isoformat()} in the bundled data",
    )


# ---------------------------------------------------------------------------------------------------------------
# mapping: catalog model -> provider model ids
# ---------------------------------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _mapping_raw() -> dict:
    raw = read_yaml(data_path("price_models.yaml"))
    if not isinstance(raw, dict) or "models" not in raw:
        raise TokenfabError("malformed price mapping (needs 'models')", field="price_models.yaml")
    raw.setdefault("comparables", {})
    return raw


def price_mapping() -> dict:
    """The parsed data/price_models.yaml (models, comparables, source, as_of)."""
    import copy

    return copy.deepcopy(_mapping_raw())


def priced_models() -> list[str]:
    return sorted(_mapping_raw()["models"])


def closed_models() -> list[str]:
    return sorted(_mapping_raw()["comparables"])


@dataclass(frozen=True)
class Resolution:
    """What ``model`` means: the priced model, the open model whose cost is modeled and how they relate."""

    requested: str
    priced_model: str
    open_model: str
    kind: str  # open | closed
    entries: list[dict]
    rationale: str = ""
    mapping_source: str = ""
    mapping_as_of: str = ""


def resolve(model: str, *, compare_with: str | None = None) -> Resolution:
    """Resolve a catalog key (or alias) or a closed model name to its provider entries and the open model to cost."""
    raw = _mapping_raw()
    key = str(model).strip()
    low = key.lower()
    src, as_of = raw.get("source", ""), str(raw.get("as_of", ""))
    if low in raw["comparables"]:
        c = raw["comparables"][low]
        entries = [dict(e, match="comparable") for e in c["prices"]]
        open_model = compare_with or c["stand_in"]
        rat = c.get("rationale", "") if not compare_with else "stand-in chosen by the user (--compare-with)"
        return Resolution(low, low, get_model(open_model).key, "closed", entries, rat, src, as_of)
    if low in raw["models"]:
        cat_key = low
    else:
        try:
            cat_key = get_model(key).key
        except TokenfabError:
            known = sorted(set(raw["models"]) | set(raw["comparables"]) | set(model_keys()))
            raise UnknownKeyError("model", key, known, field="model") from None
    entries = [dict(e) for e in (raw["models"].get(cat_key) or {}).get("prices", [])]
    open_model = get_model(compare_with).key if compare_with else cat_key
    if compare_with and open_model != cat_key:
        entries = [dict(e, match="comparable") for e in entries]
    rat = f"cost of {open_model} used for {cat_key} (--compare-with)" if open_model != cat_key else ""
    return Resolution(key, cat_key, open_model, "open", entries, rat, src, as_of)


def provider_prices(
    model: str,
    *,
    provider: str | Sequence[str] | None = None,
    provider_model: str | None = None,
    compare_with: str | None = None,
    when: _dt.datetime | None = None,
) -> tuple[Resolution, list[ProviderPrice]]:
    """The list prices for ``model`` (optionally of some providers only). ``provider_model`` looks up any genai-prices
    model id of ``provider`` (one provider) instead of the mapping."""
    res = resolve(model, compare_with=compare_with)
    provs = [p.strip().lower() for p in ([provider] if isinstance(provider, str) else (provider or [])) if p.strip()]
    if provider_model:
        if len(provs) != 1:
            raise TokenfabError(
                "a provider model id needs exactly one provider",
                field="provider",
                expected="--provider P with --provider-model ID",
                got=provider,
            )
        return res, [
            list_price(
                provs[0],
                provider_model,
                match="user-given",
                when=when,
                note=f"mapped by the user to {res.priced_model}",
            )
        ]
    entries = res.entries
    if provs:
        for p in provs:
            if p not in _providers():
                raise UnknownKeyError("price provider", p, _providers().keys(), field="provider")
        entries = [e for e in entries if e["provider"] in provs]
        if not entries:
            have = sorted({e["provider"] for e in res.entries})
            raise TokenfabError(
                f"no mapped price of {res.priced_model} from {', '.join(provs)}",
                field="provider",
                expected="one of: " + (", ".join(have) or "(none mapped)"),
                got=",".join(provs),
                hint="or give --provider-model with a genai-prices model id of that provider",
            )
    if not entries:
        raise TokenfabError(
            f"no provider price data for {res.priced_model}",
            field="model",
            hint=(
                "data/price_models.yaml maps no provider to it; give --provider P --provider-model ID "
                "(a genai-prices model id), or use one of: " + ", ".join(priced_models())
            ),
        )
    return res, [
        list_price(e["provider"], e["model"], match=e.get("match", "same-weights"), note=e.get("note", ""), when=when)
        for e in entries
    ]


# ---------------------------------------------------------------------------------------------------------------
# margin algebra (pure)
# ---------------------------------------------------------------------------------------------------------------
def workload_price_usd_per_mtok(input_usd_per_mtok: float, output_usd_per_mtok: float, isl: float, osl: float) -> float:
    """Provider revenue per million tokens of a workload: (ISL x input price + OSL x output price) / (ISL + OSL)."""
    return (isl * input_usd_per_mtok + osl * output_usd_per_mtok) / (isl + osl)


def margin(price_usd_per_mtok: Optional[float], cost_usd_per_mtok: Optional[float]) -> dict:
    """Gross margin of a price over a cost: USD per M tokens and % of price (None where either is missing)."""
    if price_usd_per_mtok is None or cost_usd_per_mtok is None:
        return {
            "price_usd_per_mtok": price_usd_per_mtok,
            "cost_usd_per_mtok": cost_usd_per_mtok,
            "margin_usd_per_mtok": None,
            "margin_pct": None,
        }
    m = price_usd_per_mtok - cost_usd_per_mtok
    pct = m / price_usd_per_mtok * 100.0 if price_usd_per_mtok > 0 else None
    return {
        "price_usd_per_mtok": price_usd_per_mtok,
        "cost_usd_per_mtok": cost_usd_per_mtok,
        "margin_usd_per_mtok": m,
        "margin_pct": pct,
    }


def verdict(margin_pct: Optional[float], margin_usd_per_mtok: Optional[float] = None) -> Optional[str]:
    """sustainable (>= SUSTAINABLE_MARGIN_PCT), thin (>= 0), or below modeled cost."""
    if margin_pct is None:
        if margin_usd_per_mtok is None:
            return None
        return "thin" if margin_usd_per_mtok >= 0 else list(VERDICTS)[2]
    if margin_pct >= SUSTAINABLE_MARGIN_PCT:
        return "sustainable"
    if margin_pct >= 0:
        return "thin"
    return list(VERDICTS)[2]


def comparability(tokens_per_s_per_user: float) -> dict:
    """Whether a modeled point is fast enough per user to be compared with an API list price: ``comparable`` False
    below COMPARABLE_FRACTION x API_INTERACTIVITY_TOKENS_PER_S_PER_USER; ``note`` says why (None at API speed)."""
    x = float(tokens_per_s_per_user)
    api = API_INTERACTIVITY_TOKENS_PER_S_PER_USER
    floor = COMPARABLE_FRACTION * api
    note = None
    if x < floor:
        note = (
            f"not comparable: modeled point at {x:.1f} tok/s/user, far below API interactivity (~{api:g}+ "
            f"tok/s/user); its cost per token is lower than serving the API costs"
        )
    elif x < api:
        note = (
            f"modeled point at {x:.1f} tok/s/user, below API interactivity (~{api:g}+ tok/s/user): the modeled "
            "cost is understated, the margin overstated"
        )
    return {
        "tokens_per_s_per_user": x,
        "api_interactivity_tokens_per_s_per_user": api,
        "comparable_min_tokens_per_s_per_user": floor,
        "comparable": x >= floor,
        "note": note,
    }


def compare(price: ProviderPrice, point: dict, *, isl: int, osl: int) -> dict:
    """Margins of one provider price against one modeled operating point (a frontier point with usd_per_gpu_hour and
    input/output/total tokens/s per GPU)."""
    c = costmod.compute_cost(
        point["usd_per_gpu_hour"],
        total_tokens_per_s_per_gpu=point["total_tokens_per_s_per_gpu"],
        input_tokens_per_s_per_gpu=point["input_tokens_per_s_per_gpu"],
        output_tokens_per_s_per_gpu=point["output_tokens_per_s_per_gpu"],
    )
    pin, pout, pc = price.input_usd_per_mtok, price.output_usd_per_mtok, price.cached_input_usd_per_mtok
    out: dict[str, Any] = {
        "modeled_usd_per_mtok": {
            "total": c.usd_per_mtok_total,
            "input": c.usd_per_mtok_input,
            "output": c.usd_per_mtok_output,
            "cached_input": c.usd_per_mtok_cached_input,
            "blended_3to1": c.usd_per_mtok_blended,
        },
        "input": margin(pin, c.usd_per_mtok_input),
        "output": margin(pout, c.usd_per_mtok_output),
        "cached_input": margin(pc, c.usd_per_mtok_cached_input),
    }
    if pin is not None and pout is not None:
        out["blended_3to1"] = margin(float(costmod.blended_usd_per_mtok(pin, pout)), c.usd_per_mtok_blended)
        out["workload"] = margin(workload_price_usd_per_mtok(pin, pout, isl, osl), c.usd_per_mtok_total)
    else:
        out["blended_3to1"] = margin(None, c.usd_per_mtok_blended)
        out["workload"] = margin(None, c.usd_per_mtok_total)
    w = out["workload"]
    out["margin_verdict"] = verdict(w["margin_pct"], w["margin_usd_per_mtok"])
    tps = point.get("tokens_per_s_per_user")  # None: speed unknown, judged on the margin alone
    out["comparability"] = comparability(tps) if tps is not None else None
    ok = out["comparability"] is None or out["comparability"]["comparable"]
    out["verdict"] = out["margin_verdict"] if ok else NOT_COMPARABLE
    out["verdict_note"] = out["comparability"]["note"] if out["comparability"] else None
    return out


# ---------------------------------------------------------------------------------------------------------------
# the check
# ---------------------------------------------------------------------------------------------------------------
@dataclass
class PriceCheckResult:
    resolution: Resolution
    prices: list[ProviderPrice]
    isl: int
    osl: int
    preset: str
    hardware: list[str]
    tiers: list[str]
    operating_points: dict  # {hardware: {tier: point or None}}
    rows: list[dict]
    notes: list[str] = field(default_factory=list)
    weights: str | None = None  # precision the modeled cost is computed at

    def to_dict(self) -> dict:
        r = self.resolution
        return {
            "model": r.requested,
            "priced_model": r.priced_model,
            "modeled_model": r.open_model,
            "kind": r.kind,
            "stand_in_rationale": r.rationale or None,
            "isl": self.isl,
            "osl": self.osl,
            "preset": self.preset,
            "weights": self.weights,
            "hardware": list(self.hardware),
            "tiers": list(self.tiers),
            "prices": [p.to_dict() for p in self.prices],
            "operating_points": self.operating_points,
            "comparisons": self.rows,
            "mapping": {"source": r.mapping_source, "as_of": r.mapping_as_of},
            "sustainable_margin_pct": SUSTAINABLE_MARGIN_PCT,
            "verdicts": dict(VERDICTS),
            "api_interactivity_tokens_per_s_per_user": API_INTERACTIVITY_TOKENS_PER_S_PER_USER,
            "comparable_min_tokens_per_s_per_user": COMPARABLE_FRACTION * API_INTERACTIVITY_TOKENS_PER_S_PER_USER,
            "definitions": dict(DEFINITIONS),
            "notes": list(self.notes),
        }


def _point_summary(p: dict) -> dict:
    keys = (
        "hardware",
        "mode",
        "tokens_per_s_per_user",
        "total_tokens_per_s_per_gpu",
        "input_tokens_per_s_per_gpu",
        "output_tokens_per_s_per_gpu",
        "usd_per_gpu_hour",
        "usd_per_mtok_total",
        "ttft_ms",
        "tpot_ms",
    )
    out = {k: p.get(k) for k in keys}
    out["layout"] = search.layout_text(p["config"])
    return out


def _what(res: Resolution, pr: ProviderPrice, hw: str, tier: str, p: dict, preset_name: str, isl: int, osl: int) -> str:
    if res.kind == "closed":
        served = f"{pr.model_id} (closed)"
        modeled = f"its open stand-in {res.open_model}"
    else:
        served = f"{pr.model_id} ({pr.match} of {res.priced_model})"
        modeled = res.open_model if res.open_model == res.priced_model else f"the stand-in {res.open_model}"
    return (
        f"{pr.provider}'s list price for {served} vs tokenfab's modeled cost of {modeled} "
        f"({p.get('weights') or (p.get('config') or {}).get('weights') or 'checkpoint'} weights) on {hw} at the {tier} "
        f"tier ({p['tokens_per_s_per_user']:.0f} tok/s/user, {p['total_tokens_per_s_per_gpu']:.0f} tok/s/GPU) "
        f"under {preset_name}, ISL {isl} / OSL {osl}"
    )


# the precision API providers commonly serve open models at when the checkpoint is 16-bit: 8-bit (e.g. Together's
# "Turbo" endpoints are FP8, Fireworks serves FP8 by default; NVIDIA publishes FP8 checkpoints of the Llama models)
PROVIDER_DEFAULT_WEIGHTS = "fp8"


def serving_weights(model: str, weights: str | None) -> tuple[str, str]:
    """The weights precision the modeled cost uses, and a note saying which and why."""
    from tokenfab.catalog.models import get_model
    from tokenfab.catalog.precision import normalize

    if weights:
        w = normalize(weights, field="weights")
        return w, f"modeled at {w} weights (--weights)"
    native = get_model(model).native_weights
    if native in ("bf16", "fp16", "fp32"):
        return PROVIDER_DEFAULT_WEIGHTS, (
            f"modeled at {PROVIDER_DEFAULT_WEIGHTS} weights, the precision providers "
            f"commonly serve 16-bit checkpoints at (checkpoint: {native}; pass "
            f"--weights {native} to model the checkpoint's precision)"
        )
    return native, f"modeled at the checkpoint's {native} weights"


def price_check(
    model: str,
    hardware: str | Sequence[str] | None = None,
    *,
    provider=None,
    provider_model: str | None = None,
    compare_with: str | None = None,
    preset: str | None = None,
    usd_per_gpu_hour: float | None = None,
    isl: int = 1024,
    osl: int = 1024,
    tiers: Sequence[str] = DEFAULT_TIERS,
    hardware_files=None,
    when: _dt.datetime | None = None,
    weights: str | None = None,
) -> PriceCheckResult:
    """Provider list prices for ``model`` beside tokenfab's modeled cost of the same (or a stand-in) open model on each
    ``hardware`` at each tier (frontier tiers under ``preset``), with margins and a verdict per pair."""
    tiers = [str(t).strip().lower() for t in tiers]
    for t in tiers:
        if t not in TIERS:
            raise UnknownKeyError("tier", t, TIERS, field="tier")
    res, prices = provider_prices(
        model, provider=provider, provider_model=provider_model, compare_with=compare_with, when=when
    )
    hws = list(DEFAULT_HARDWARE) if not hardware else search.parse_list(hardware, "hardware")
    w, w_note = serving_weights(res.open_model, weights)
    fr = search.frontier(
        res.open_model,
        hws,
        isl=isl,
        osl=osl,
        preset=preset,
        usd_per_gpu_hour=usd_per_gpu_hour,
        hardware_files=hardware_files,
        weights=w,
    )
    preset_name = fr.preset or tcomod.DEFAULT_PRESET
    notes: list[str] = [w_note]
    if not hardware:
        notes.append(f"no hardware given: {', '.join(DEFAULT_HARDWARE)}")
    if usd_per_gpu_hour is not None:
        preset_name = f"plain price {usd_per_gpu_hour:g} USD per GPU-hour"
    by_hw = fr.by_hardware()
    points: dict[str, dict] = {}
    rows: list[dict] = []
    for hw in [h.key for h in fr.sweep.hardware]:
        tier_pts = (by_hw.get(hw) or {}).get("tiers") or {}
        points[hw] = {}
        todo = [(t, t) for t in tiers]
        if "goldilocks" in tiers and not tier_pts.get("goldilocks"):
            floor = COMPARABLE_FRACTION * API_INTERACTIVITY_TOKENS_PER_S_PER_USER
            h = next(i for i, x in enumerate(fr.sweep.hardware) if x.key == hw)
            ids = fr.frontier_idx[fr.sweep.cols["hw"][fr.frontier_idx] == h]
            alt = search.token_tiers(fr.sweep, ids, floor).get("goldilocks") if ids.size else None
            name = f">={floor:g} tok/s/user"
            if alt is None and "premium" not in tiers:
                alt, name = tier_pts.get("premium"), "premium"
            if alt is not None:
                tier_pts = {**tier_pts, name: alt}
                todo.append((name, "goldilocks"))
                notes.append(
                    f"{hw}: no point reaches the goldilocks {search.GOLDILOCKS_INTERACTIVITY:g} tok/s/user; "
                    f"compared instead at the {'fastest point reached' if name == 'premium' else 'cheapest point at ' + name} "
                    f"({alt['tokens_per_s_per_user']:.1f} tok/s/user)"
                )
        for t, instead_of in todo:
            p = tier_pts.get(t)
            points[hw][t] = _point_summary(p) if p else None
            if not p:
                if not (t == "goldilocks" and any(x[1] == t and x[0] != t for x in todo)):
                    notes.append(f"{hw}: no {t} point (no frontier point meets it)")
                continue
            if p.get("usd_per_gpu_hour") is None:
                notes.append(f"{hw}: cost unknown (TCO cannot price it); give --usd-per-gpu-hour")
                points[hw][t] = None
                continue
            for pr in prices:
                cmp_ = compare(pr, p, isl=isl, osl=osl)
                rows.append(
                    {
                        "provider": pr.provider,
                        "provider_model": pr.model_id,
                        "match": pr.match,
                        "hardware": hw,
                        "tier": t,
                        "instead_of": instead_of if instead_of != t else None,
                        "tokens_per_s_per_user": p["tokens_per_s_per_user"],
                        "what_is_compared": _what(res, pr, hw, t, p, preset_name, isl, osl),
                        **cmp_,
                    }
                )
    if any(r["verdict"] == NOT_COMPARABLE for r in rows):
        notes.append(
            f"rows below {COMPARABLE_FRACTION * API_INTERACTIVITY_TOKENS_PER_S_PER_USER:g} tok/s/user are "
            f"'{NOT_COMPARABLE}': an API user gets ~{API_INTERACTIVITY_TOKENS_PER_S_PER_USER:g}+ tok/s; "
            "their margin compares the price with a batch-speed cost"
        )
    if res.kind == "closed":
        notes.append(
            f"{res.priced_model} is closed: its size and serving stack are not public; the modeled cost is "
            f"of the open stand-in {res.open_model} ({res.rationale}), a reference point, not its real cost"
        )
    sram = sorted({p.provider for p in prices if p.provider in ("groq", "cerebras")})
    if sram:
        notes.append(
            f"{', '.join(sram)} serve on their own SRAM-based chips; the modeled cost is for the hardware "
            f"chosen here ({', '.join(points)})"
        )
    if any(p.tiered for p in prices):
        notes.append("tiered prices (by prompt length): the base tier is shown")
    if any(p.deprecated for p in prices):
        notes.append("some listed models are deprecated by the provider (price kept by genai-prices)")
    notes.append("verdict on the workload margin: provider revenue at the ISL:OSL mix vs tokenfab's $/M total tokens")
    return PriceCheckResult(
        resolution=res,
        prices=prices,
        isl=int(isl),
        osl=int(osl),
        preset=preset_name,
        hardware=list(points),
        tiers=tiers,
        operating_points=points,
        rows=rows,
        notes=notes,
        weights=w,
    )


__all__ = [
    "SUSTAINABLE_MARGIN_PCT",
    "VERDICTS",
    "ProviderPrice",
    "PriceCheckResult",
    "Resolution",
    "list_price",
    "find_price_model",
    "provider_prices",
    "resolve",
    "price_mapping",
    "priced_models",
    "closed_models",
    "margin",
    "verdict",
    "compare",
    "comparability",
    "workload_price_usd_per_mtok",
    "API_INTERACTIVITY_TOKENS_PER_S_PER_USER",
    "COMPARABLE_FRACTION",
    "NOT_COMPARABLE",
    "price_check",
    "provider_ids",
    "genai_prices_version",
]
