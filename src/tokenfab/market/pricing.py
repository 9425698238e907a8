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
- ``input``, ``output``, ``cached_input``, ``blended_3to1``: each price minus tokenfab's $/M of that kind, in the one
  per-token-kind convention (economics.cost.split_cost_by_token_kind: the prefill share of the point's GPU time
  charged to input tokens, the rest to output tokens). The kinds add up to the workload cost at the ISL:OSL mix, so
  the per-kind margins add up to the workload margin. ``per_kind="inferencex"`` gives InferenceX's whole
  GPU-hour-per-kind costs instead (labelled; they do not add up).

Verdict on the workload margin %: >= SUSTAINABLE_MARGIN_PCT "sustainable"; >= 0 "thin"; < 0 "below modeled cost -
subsidy or better efficiency than modeled". The modeled cost carries the performance model's error band (the point's
``uncertainty``: p10/p90 of $/M tokens from its throughput band, perf/uncertainty.py), so every margin carries its
p10/p90 (the margin's p10 is the price minus the cost's p90); where the verdict at the margin's p10 differs from the
verdict at its p90 (the band straddles 0% or SUSTAINABLE_MARGIN_PCT) the verdict is "can't tell", and
``verdict_band`` gives both ends.

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
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from yaml import YAMLError
from yaml import safe_load as yaml_safe_load

from tokenfab import search as search
from tokenfab.catalog.models import get_model, model_keys
from tokenfab.core import assumptions
from tokenfab.core.data import data_path, read_yaml
from tokenfab.core.errors import TokenfabError, UnknownKeyError
from tokenfab.economics import assumptions as econ
from tokenfab.economics import cost as costmod
from tokenfab.economics import tco as tcomod

# the margin line between "thin" and "sustainable": data/assumptions.yaml margins.target_gross_margin_pct (30%, an
# [assumption] stated there: the modeled cost is only the GPU fleet; sales, R&D, free tiers, support are paid from
# gross margin)
SUSTAINABLE_MARGIN_PCT = econ.TARGET_GROSS_MARGIN_PCT
# a price older than this is flagged stale (data/assumptions.yaml prices.stale_after_days, derived from Epoch AI's
# 9-900x per year price declines)
STALE_PRICE_AFTER_DAYS = econ.STALE_PRICE_AFTER_DAYS
# [assumption] the interactivity an API user gets: tokenfab's goldilocks speed (search.GOLDILOCKS_INTERACTIVITY,
# 50 tok/s/user); hosted frontier APIs stream at about this speed or faster.
API_INTERACTIVITY_TOKENS_PER_S_PER_USER = float(search.GOLDILOCKS_INTERACTIVITY)
# [assumption] below half of it a modeled point is "far below" API interactivity: not comparable with a list price.
COMPARABLE_FRACTION = assumptions.value("market", "comparable_fraction")  # data/assumptions.yaml, cited there
NOT_COMPARABLE = "not comparable"
CANT_TELL = "can't tell"
DEFAULT_HARDWARE = ("h100-sxm",)
DEFAULT_TIERS = ("goldilocks", "bulk")
TIERS = ("bulk", "goldilocks", "premium")
MATCH_KINDS = ("same-weights", "same-architecture", "comparable", "user-given")
VERDICTS = {
    "sustainable": f"price covers modeled cost with a gross margin of at least {SUSTAINABLE_MARGIN_PCT:g}%",
    "thin": f"price covers modeled cost, gross margin under {SUSTAINABLE_MARGIN_PCT:g}%",
    "below modeled cost - subsidy or better efficiency than modeled": "price is below tokenfab's modeled cost: the "
    "provider subsidises it, or serves more efficiently than modeled (other hardware, speculative decoding, better "
    "batching, cheaper capital or power)",
    NOT_COMPARABLE: "the modeled point is far slower per user than an API serves (below "
    f"{COMPARABLE_FRACTION:g} x {API_INTERACTIVITY_TOKENS_PER_S_PER_USER:g} tok/s/user): its cost is "
    "not the cost of what the price buys (margin shown, no verdict)",
    CANT_TELL: "the margin's p10-p90 band (from the modeled cost's error band) straddles a verdict line (0% or "
    f"{SUSTAINABLE_MARGIN_PCT:g}%): at the model's out-of-sample accuracy the price may be on either side "
    "(verdict_band gives the verdict at each end)",
}
DEFINITIONS = {
    "workload_price_usd_per_mtok": "(ISL x input price + OSL x output price) / (ISL + OSL): provider revenue per "
    "million tokens of this workload",
    "margin_usd_per_mtok": "provider price - tokenfab modeled cost, USD per million tokens (negative = loss)",
    "margin_pct": "margin / price x 100",
    "per_kind_convention": "how the modeled cost is split per token kind: gpu-time (default: prefill GPU time to "
    "input, decode to output; the kinds add up) or inferencex (whole GPU-hour per kind; they do not add up)",
    "price_data": "when the list prices are from: the genai-prices snapshot date (or a user price file's as_of) and "
    "whether it is stale",
    "uncertainty": "p10/p90 of a modeled cost and of its margin: the cost's band is the operating point's (its "
    "throughput band, perf/uncertainty.py); the margin's p10 = price - cost p90, its p90 = price - cost p10",
    "verdict_band": "the verdict at the margin's p10 and at its p90; they differ where the verdict is \"can't tell\"",
}


# ---------------------------------------------------------------------------------------------------------------
# genai-prices (bundled data only)
# ---------------------------------------------------------------------------------------------------------------
def genai_prices_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("genai-prices")
    except PackageNotFoundError:  # pragma: no cover - a declared dependency
        return "not installed"


@lru_cache(maxsize=1)
def _providers() -> dict:
    """{provider id: Provider} from genai-prices' bundled data (offline). Robust to the package's layout: the
    ``genai_prices.data.providers`` list, else the bundled snapshot (``data_snapshot.get_snapshot().providers``)."""
    try:
        try:
            from genai_prices.data import providers
        except ImportError:
            from genai_prices.data_snapshot import get_snapshot

            providers = get_snapshot().providers
    except ImportError:  # pragma: no cover - a declared dependency
        raise TokenfabError(
            "the genai-prices package is needed for provider prices", field="prices", hint="pip install genai-prices"
        ) from None
    return {p.id: p for p in providers}


def provider_ids() -> list[str]:
    return sorted(_providers())


_ISO_DATE = re.compile(r"\b(20\d\d)-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])\b")


def _dates_in(text) -> list[_dt.date]:
    out = []
    for y, m, d in _ISO_DATE.findall(str(text or "")):
        try:
            out.append(_dt.date(int(y), int(m), int(d)))
        except ValueError:
            continue
    return out


# a date in a price comment is an observation date (when the data were checked) when one of these words comes
# shortly before it; other dates in comments are schedules ("introductory rates apply through ...")
_OBSERVED = re.compile(r"(checked|verified|as of|observed|listed|launched|updated|added|released)", re.IGNORECASE)


def _observed_dates(text) -> list[_dt.date]:
    out = []
    t = str(text or "")
    for mt in _ISO_DATE.finditer(t):
        if _OBSERVED.search(t[max(0, mt.start() - 40) : mt.start()]):
            out += _dates_in(mt.group(0))
    return out


@lru_cache(maxsize=8)
def _latest_data_date(today: _dt.date) -> _dt.date | None:
    """The latest observation date in the bundled data's price comments ('checked on', 'as of', 'launched on' ...)
    not after ``today`` (scheduled price changes and 'rates apply through' dates are not observations)."""
    dates: list[_dt.date] = []
    for p in _providers().values():
        dates += _observed_dates(getattr(p, "price_comments", None))
        for m in getattr(p, "models", []) or []:
            dates += _observed_dates(getattr(m, "price_comments", None))
    past = [d for d in dates if d <= today]
    return max(past) if past else None


def genai_prices_snapshot(today: _dt.date | None = None) -> dict:
    """When the bundled genai-prices data are from: the package version, the snapshot date (the latest observation
    date the bundled data state - 'checked on', 'as of', 'launched on' in the price comments - not after
    ``today``), its age in days and whether it is stale (older than STALE_PRICE_AFTER_DAYS, cited in
    data/assumptions.yaml)."""
    today = today or _dt.date.today()
    snap = _latest_data_date(today)
    age = (today - snap).days if snap else None
    return {
        "package": "genai-prices",
        "version": genai_prices_version(),
        "snapshot_date": snap.isoformat() if snap else None,
        "snapshot_basis": "the latest observation date in the bundled data's price comments ('checked on', 'as of', "
        "'launched on'), not after today; tokenfab never calls the package's network auto-update",
        "age_days": age,
        "stale_after_days": STALE_PRICE_AFTER_DAYS,
        "stale_after_days_source": econ.cite("prices", "stale_after_days"),
        "stale": bool(age is None or age > STALE_PRICE_AFTER_DAYS),
    }


def price_age_days(as_of: str | None, today: _dt.date | None = None) -> int | None:
    """Days between an ISO date (YYYY-MM-DD, or a text starting with one) and ``today`` (None when not a date)."""
    d = _dates_in(as_of or "")
    if not d:
        return None
    return ((today or _dt.date.today()) - d[0]).days


def _num(x) -> tuple[float | None, bool]:
    """A genai-prices price (Decimal, TieredPrices or None) -> (USD per M tokens, tiered?)."""
    if x is None:
        return None, False
    if isinstance(x, Decimal):
        return float(x), False
    base = getattr(x, "base", None)  # TieredPrices: the base tier (prompts below the first threshold)
    if base is not None:
        return float(base), True
    try:
        return float(x), False
    except (TypeError, ValueError):
        return None, False


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
    find = getattr(p, "find_model", None)
    m = find(mid.lower(), all_providers=list(provs.values())) if find else None
    if m is None:
        raise UnknownKeyError(f"model of provider {p.id!r}", mid, [x.id for x in p.models], field="provider_model")
    return p, m


# prices are read at these times of the day (UTC) so a time-of-day tariff gives the same answer whenever tokenfab runs
_DAY_TIMES_MIN = tuple(range(0, 24 * 60, 30))


def _prices_on(m, day: _dt.date) -> dict:
    """The price of model ``m`` in force on ``day`` at every half hour (UTC): {field: (max, min, tiered)}; a
    time-of-day tariff (off-peak hours) shows as max > min."""
    fields = ("input_mtok", "cache_read_mtok", "output_mtok")
    seen: dict[str, list] = {f: [] for f in fields}
    tiered = False
    for mins in _DAY_TIMES_MIN:
        when = _dt.datetime.combine(day, _dt.time(mins // 60, mins % 60), tzinfo=_dt.UTC)
        mp = m.get_prices(when)
        for f in fields:
            v, t = _num(getattr(mp, f, None))
            tiered = tiered or t
            if v is not None:
                seen[f].append(v)
    return {f: ((max(v), min(v)) if v else (None, None)) for f, v in seen.items()} | {"tiered": tiered}


@dataclass(frozen=True)
class ProviderPrice:
    """One provider's list price for one model, USD per million tokens (None: not priced). A time-of-day tariff shows
    its peak (standard) price here and the off-peak one in ``off_peak``."""

    provider: str
    provider_name: str
    model_id: str
    model_name: str | None
    input_usd_per_mtok: float | None
    cached_input_usd_per_mtok: float | None
    output_usd_per_mtok: float | None
    match: str  # same-weights | same-architecture | comparable | user-given
    note: str = ""
    tiered: bool = False  # prices depend on prompt length: the base tier is shown
    deprecated: bool = False
    source: str = ""
    as_of: str = ""
    data_as_of: str | None = None  # the date the price data are from (snapshot date, or the user file's as_of)
    age_days: int | None = None
    stale: bool = False
    time_of_day: bool = False  # the provider charges less at some hours of the day
    off_peak: dict | None = None  # {input_usd_per_mtok, cached_input_usd_per_mtok, output_usd_per_mtok}

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def list_price(
    provider: str, model_id: str, *, match: str = "user-given", note: str = "", when: _dt.datetime | None = None
) -> ProviderPrice:
    """The list price in force on the day of ``when`` (default today) from genai-prices' bundled data: read at every
    half hour of that day (UTC), so the answer does not depend on the hour tokenfab runs; a time-of-day tariff shows
    its peak (standard) price and the off-peak one."""
    p, m = find_price_model(provider, model_id)
    when = when or _dt.datetime.now(tz=_dt.UTC)
    day = when.date()
    pr = _prices_on(m, day)
    (pin, pin_lo), (pcache, pcache_lo), (pout, pout_lo) = pr["input_mtok"], pr["cache_read_mtok"], pr["output_mtok"]
    tod = any(hi is not None and lo is not None and hi > lo for hi, lo in (pr["input_mtok"], pr["output_mtok"]))
    urls = ", ".join(getattr(p, "pricing_urls", None) or []) or "provider pricing page"
    snap = genai_prices_snapshot(day)
    notes = [x for x in (note, getattr(m, "price_comments", None) or "") if x]
    if tod:
        notes.insert(0, f"time-of-day tariff: peak/standard price shown; off-peak input {pin_lo:g}, output {pout_lo:g}")
    return ProviderPrice(
        provider=p.id,
        provider_name=p.name,
        model_id=m.id,
        model_name=getattr(m, "name", None),
        input_usd_per_mtok=pin,
        cached_input_usd_per_mtok=pcache,
        output_usd_per_mtok=pout,
        match=match,
        note="; ".join(notes),
        tiered=pr["tiered"],
        deprecated=bool(getattr(m, "deprecated", False)),
        source=f"genai-prices {snap['version']} bundled data ({urls})",
        as_of=f"price in force on {day.isoformat()} in the bundled data (data snapshot {snap['snapshot_date']})",
        data_as_of=snap["snapshot_date"],
        age_days=snap["age_days"],
        stale=snap["stale"],
        time_of_day=tod,
        off_peak={
            "input_usd_per_mtok": pin_lo,
            "cached_input_usd_per_mtok": pcache_lo,
            "output_usd_per_mtok": pout_lo,
        }
        if tod
        else None,
    )


# ---------------------------------------------------------------------------------------------------------------
# user price file (--prices-file)
# ---------------------------------------------------------------------------------------------------------------
class UserPrice(BaseModel):
    """One price a user gives (``--prices-file``): for a catalog model (or closed model name), USD per M tokens."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field(min_length=1)
    provider: str = Field(min_length=1)
    provider_model: str | None = None
    input_usd_per_mtok: float = Field(ge=0, le=1e6, allow_inf_nan=False)
    cached_input_usd_per_mtok: float | None = Field(default=None, ge=0, le=1e6, allow_inf_nan=False)
    output_usd_per_mtok: float = Field(ge=0, le=1e6, allow_inf_nan=False)
    as_of: str
    source: str = Field(min_length=1)
    match: Literal["same-weights", "same-architecture", "comparable", "user-given"] = "user-given"
    note: str = ""

    @field_validator("as_of")
    @classmethod
    def _date(cls, v):
        try:
            d = _dt.date.fromisoformat(str(v))
        except ValueError:
            raise ValueError(f"must be a date YYYY-MM-DD, got {v!r}") from None
        if d > _dt.date.today():
            raise ValueError(f"is in the future ({v})")
        return d.isoformat()


def load_prices_file(path) -> list[UserPrice]:
    """Read and validate a user price file (YAML or JSON): ``prices: [{model, provider, input_usd_per_mtok,
    output_usd_per_mtok, as_of, source, ...}]`` (docs/pricing-and-sensitivity.md). Errors name the entry and field
    (``prices[2].output_usd_per_mtok``)."""
    import json
    from pathlib import Path

    pth = Path(str(path))
    if not pth.exists():
        raise TokenfabError("file not found", field="prices_file", got=str(pth))
    if pth.stat().st_size > 1_000_000:
        raise TokenfabError("price file too large", field="prices_file", expected="<= 1 MB", got=pth.stat().st_size)
    text = pth.read_text()
    try:
        raw = json.loads(text) if pth.suffix.lower() == ".json" else yaml_safe_load(text)
    except (ValueError, YAMLError) as e:  # yaml or json syntax (JSONDecodeError is a ValueError): one clear line
        raise TokenfabError(f"not valid {pth.suffix.lstrip('.') or 'YAML'}: {e}", field="prices_file") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("prices"), list):
        raise TokenfabError(
            "a price file is a mapping with a 'prices' list", field="prices_file", expected="prices: [{model: ...}]"
        )
    if len(raw["prices"]) > 10_000:
        raise TokenfabError("too many prices", field="prices", expected="<= 10000 entries", got=len(raw["prices"]))
    out = []
    for i, entry in enumerate(raw["prices"]):
        if not isinstance(entry, dict):
            raise TokenfabError("must be a mapping of fields", field=f"prices[{i}]", got=entry)
        try:
            out.append(UserPrice(**entry))
        except ValidationError as ve:
            err = ve.errors()[0]
            loc = ".".join(str(x) for x in err.get("loc", ()))
            msg = err.get("msg", "invalid value")
            raise TokenfabError(
                msg, field=f"prices[{i}].{loc}" if loc else f"prices[{i}]", got=err.get("input")
            ) from None
    return out


def user_price(u: UserPrice, today: _dt.date | None = None) -> ProviderPrice:
    age = price_age_days(u.as_of, today)
    return ProviderPrice(
        provider=u.provider,
        provider_name=u.provider,
        model_id=u.provider_model or u.model,
        model_name=None,
        input_usd_per_mtok=float(u.input_usd_per_mtok),
        cached_input_usd_per_mtok=None if u.cached_input_usd_per_mtok is None else float(u.cached_input_usd_per_mtok),
        output_usd_per_mtok=float(u.output_usd_per_mtok),
        match=u.match,
        note=u.note,
        source=f"user price file: {u.source}",
        as_of=f"user-given price, as of {u.as_of}",
        data_as_of=u.as_of,
        age_days=age,
        stale=bool(age is not None and age > STALE_PRICE_AFTER_DAYS),
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
    user_prices: Sequence[UserPrice] | None = None,
) -> tuple[Resolution, list[ProviderPrice]]:
    """The list prices for ``model`` (optionally of some providers only). ``provider_model`` looks up any genai-prices
    model id of ``provider`` (one provider) instead of the mapping. ``user_prices`` (load_prices_file) add the
    user's own prices for this model (and are the only prices when the mapping has none)."""
    res = resolve(model, compare_with=compare_with)
    mine = [
        user_price(u, (when or _dt.datetime.now(tz=_dt.UTC)).date())
        for u in (user_prices or [])
        if _same_model(u.model, res)
    ]
    if mine and not provider_model:
        provs = [
            p.strip().lower() for p in ([provider] if isinstance(provider, str) else (provider or [])) if p.strip()
        ]
        mine = [m for m in mine if not provs or m.provider.lower() in provs]
        try:
            res, listed = _listed_prices(res, provider=provider, when=when)
        except TokenfabError:
            listed = []
        if mine:
            return res, listed + mine
    return _listed_prices(res, provider=provider, provider_model=provider_model, when=when)


def _same_model(name: str, res: Resolution) -> bool:
    low = str(name).strip().lower()
    if low in (res.priced_model, str(res.requested).lower()):
        return True
    try:
        return get_model(name).key == res.priced_model
    except TokenfabError:
        return False


def _listed_prices(
    res: Resolution,
    *,
    provider: str | Sequence[str] | None = None,
    provider_model: str | None = None,
    when: _dt.datetime | None = None,
) -> tuple[Resolution, list[ProviderPrice]]:
    """The genai-prices list prices of a resolved model (see provider_prices)."""
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
                "(a genai-prices model id), your own prices with --prices-file, or use one of: "
                + ", ".join(priced_models())
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


def margin(price_usd_per_mtok: float | None, cost_usd_per_mtok: float | None) -> dict:
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


def cost_band_factors(point: dict) -> tuple[float, float] | None:
    """(p10, p90) of a point's $/M total tokens over its value (the operating point's ``uncertainty``), or None."""
    b = (point.get("uncertainty") or {}).get("usd_per_mtok_total") or {}
    v = point.get("usd_per_mtok_total")
    if not v or b.get("p10") is None or b.get("p90") is None:
        return None
    return float(b["p10"]) / float(v), float(b["p90"]) / float(v)


def margin_band(m: dict, factors: tuple[float, float] | None) -> dict:
    """``m`` (a :func:`margin` dict) with ``uncertainty``: p10/p90 of its cost (the cost x the band's factors) and of
    its margin (price - cost p90 .. price - cost p10, USD per M and % of price). No band: {}."""
    m = dict(m)
    price, cost = m["price_usd_per_mtok"], m["cost_usd_per_mtok"]
    if factors is None or cost is None:
        m["uncertainty"] = {}
        return m
    c10, c90 = cost * factors[0], cost * factors[1]
    band = {"cost_usd_per_mtok": {"p10": c10, "p90": c90}}
    if price is not None:
        hi_cost, lo_cost = margin(price, c90), margin(price, c10)
        band["margin_usd_per_mtok"] = {"p10": hi_cost["margin_usd_per_mtok"], "p90": lo_cost["margin_usd_per_mtok"]}
        if hi_cost["margin_pct"] is not None:
            band["margin_pct"] = {"p10": hi_cost["margin_pct"], "p90": lo_cost["margin_pct"]}
    m["uncertainty"] = band
    return m


def band_verdict(m: dict) -> tuple[str | None, dict | None]:
    """(verdict, verdict_band) of a margin with its band (:func:`margin_band`): the verdict at the margin's p10 and
    at its p90, and "can't tell" where they differ; without a band the point's verdict and None."""
    point = verdict(m["margin_pct"], m["margin_usd_per_mtok"])
    b = (m.get("uncertainty") or {}).get("margin_usd_per_mtok")
    if not b:
        return point, None
    pct = (m.get("uncertainty") or {}).get("margin_pct") or {}
    ends = {q: verdict(pct.get(q), b[q]) for q in ("p10", "p90")}
    return (ends["p10"] if ends["p10"] == ends["p90"] else CANT_TELL), ends


def verdict(margin_pct: float | None, margin_usd_per_mtok: float | None = None) -> str | None:
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


def compare(
    price: ProviderPrice, point: dict, *, isl: int, osl: int, per_kind: str = costmod.DEFAULT_PER_KIND_CONVENTION
) -> dict:
    """Margins of one provider price against one modeled operating point (a frontier point with usd_per_gpu_hour,
    input/output/total tokens/s per GPU and the prefill share of GPU time)."""
    c = costmod.compute_cost(
        point["usd_per_gpu_hour"],
        total_tokens_per_s_per_gpu=point["total_tokens_per_s_per_gpu"],
        input_tokens_per_s_per_gpu=point["input_tokens_per_s_per_gpu"],
        output_tokens_per_s_per_gpu=point["output_tokens_per_s_per_gpu"],
        prefill_gpu_time_share=point.get("prefill_gpu_time_share"),
        cached_input_share=point.get("cached_input_share") or 0.0,
        per_kind=per_kind,
    )
    pin, pout, pc = price.input_usd_per_mtok, price.output_usd_per_mtok, price.cached_input_usd_per_mtok
    out: dict[str, Any] = {
        "per_kind_convention": c.per_kind_convention,
        "modeled_usd_per_mtok": {
            "total": c.usd_per_mtok_total,
            "input": c.usd_per_mtok_input,
            "output": c.usd_per_mtok_output,
            "cached_input": c.usd_per_mtok_cached_input,
            "blended_3to1": c.usd_per_mtok_blended_3to1,
        },
        "input": margin(pin, c.usd_per_mtok_input),
        "output": margin(pout, c.usd_per_mtok_output),
        "cached_input": margin(pc, c.usd_per_mtok_cached_input),
    }
    if pin is not None and pout is not None and c.usd_per_mtok_blended_3to1 is not None:
        out["blended_3to1"] = margin(float(costmod.blended_usd_per_mtok(pin, pout)), c.usd_per_mtok_blended_3to1)
        out["workload"] = margin(workload_price_usd_per_mtok(pin, pout, isl, osl), c.usd_per_mtok_total)
    elif pin is not None and pout is not None:
        out["blended_3to1"] = margin(None, None)
        out["workload"] = margin(workload_price_usd_per_mtok(pin, pout, isl, osl), c.usd_per_mtok_total)
    else:
        out["blended_3to1"] = margin(None, c.usd_per_mtok_blended_3to1)
        out["workload"] = margin(None, c.usd_per_mtok_total)
    factors = cost_band_factors(point)
    for kind in ("input", "output", "cached_input", "blended_3to1", "workload"):
        out[kind] = margin_band(out[kind], factors)
    out["modeled_usd_per_mtok_band"] = {
        k: ({"p10": v * factors[0], "p90": v * factors[1]} if (factors and v is not None) else None)
        for k, v in out["modeled_usd_per_mtok"].items()
    }
    w = out["workload"]
    out["point_verdict"] = verdict(w["margin_pct"], w["margin_usd_per_mtok"])
    out["margin_verdict"], out["verdict_band"] = band_verdict(w)
    out["calibration"] = dict(point.get("calibration") or {})
    out["prior"] = bool(point.get("prior", out["calibration"].get("prior", False)))
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
    price_data: dict = field(default_factory=dict)  # genai_prices_snapshot(): when the list prices are from
    warnings: list[str] = field(default_factory=list)
    per_kind: str = costmod.DEFAULT_PER_KIND_CONVENTION
    utilization: float | None = None  # the utilization the modeled cost was priced at (None: the default)

    @property
    def prior_hardware(self) -> list[str]:
        """The hardware whose modeled cost rests on a prior profile (perf/uncertainty.py)."""
        return list(dict.fromkeys(r["hardware"] for r in self.rows if r.get("prior")))

    @property
    def calibration_notes(self) -> list[str]:
        """One plain-language line per hardware on a prior (its calibration ``note``)."""
        return list(
            dict.fromkeys(
                r["calibration"]["note"] for r in self.rows if r.get("prior") and r["calibration"].get("note")
            )
        )

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
            "price_data": dict(self.price_data),
            "per_kind_convention": self.per_kind,
            "per_kind_convention_text": costmod.PER_KIND_LABELS[self.per_kind],
            "utilization": self.utilization,
            "prior_hardware": self.prior_hardware,
            "calibration_notes": self.calibration_notes,
            "warnings": list(self.warnings),
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
        "usd_per_mtok_input",
        "usd_per_mtok_cached_input",
        "usd_per_mtok_output",
        "prefill_gpu_time_share",
        "ttft_ms",
        "tpot_ms",
        "utilization",
    )
    out: dict[str, Any] = {k: p.get(k) for k in keys}
    out["layout"] = search.layout_text(p["config"]) if p.get("config") else p.get("layout", "")
    out["uncertainty"] = {k: v for k, v in (p.get("uncertainty") or {}).items() if k in keys}
    out["calibration"] = dict(p.get("calibration") or {})
    out["prior"] = bool(p.get("prior", out["calibration"].get("prior", False)))
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
    utilization: float | None = None,
    prices_file=None,
    user_prices: Sequence[UserPrice] | None = None,
    per_kind: str = costmod.DEFAULT_PER_KIND_CONVENTION,
    at_points: dict | None = None,
    at_points_label: str = "plan",
    engine=None,
    speculative=True,
) -> PriceCheckResult:
    """Provider list prices for ``model`` beside tokenfab's modeled cost of the same (or a stand-in) open model on each
    ``hardware`` at each tier (frontier tiers under ``preset``), with margins and a verdict per pair.

    ``utilization`` prices the GPU-hour at that busy share (default: the one utilization default,
    tco.default_utilization()); ``prices_file`` / ``user_prices`` add the user's prices; ``at_points`` ({hardware:
    point}) compares at given operating points (e.g. a plan's, api.price_check_at_plan) instead of the frontier
    tiers, under the tier name ``at_points_label``. ``engine`` / ``speculative``: the serving engine and speculative
    decoding on/off of the modeled cost, one value or per hardware (search.per_hardware)."""
    tiers = [str(t).strip().lower() for t in tiers]
    for t in tiers:
        if t not in TIERS:
            raise UnknownKeyError("tier", t, TIERS, field="tier")
    per_kind = costmod.check_per_kind(per_kind)
    if utilization is not None:
        from tokenfab.core.errors import require_range

        require_range("utilization", utilization, 0.0, 1.0, lo_open=True)
    ups = list(user_prices or [])
    if prices_file is not None:
        ups += load_prices_file(prices_file)
    res, prices = provider_prices(
        model, provider=provider, provider_model=provider_model, compare_with=compare_with, when=when, user_prices=ups
    )
    today = (when or _dt.datetime.now(tz=_dt.UTC)).date()
    snap = genai_prices_snapshot(today)
    w, w_note = serving_weights(res.open_model, weights)
    notes: list[str] = [w_note]
    overrides = {"utilization": utilization} if utilization is not None else None
    points: dict[str, dict] = {}
    rows: list[dict] = []
    if at_points is not None:
        preset_name = preset or tcomod.DEFAULT_PRESET  # a plain price (below) names itself instead
        tier_sets = {hw: [(at_points_label, at_points_label, p)] for hw, p in at_points.items()}
        tiers = [at_points_label]
    else:
        hws = list(DEFAULT_HARDWARE) if not hardware else search.parse_list(hardware, "hardware")
        fr = search.frontier(
            res.open_model,
            hws,
            isl=isl,
            osl=osl,
            preset=preset,
            usd_per_gpu_hour=usd_per_gpu_hour,
            hardware_files=hardware_files,
            weights=w,
            tco_overrides=overrides,
            engine=engine,
            mtp=speculative,
        )
        preset_name = fr.preset or tcomod.DEFAULT_PRESET
        if not hardware:
            notes.append(f"no hardware given: {', '.join(DEFAULT_HARDWARE)}")
        tier_sets = _tier_points(fr, tiers, notes)
        basis = {h: (c or {}).get("utilization_basis") for h, c in fr.sweep.costs.items()}
        for h, b in basis.items():
            if b:
                notes.append(f"{h}: modeled cost {b}")
    if usd_per_gpu_hour is not None:
        preset_name = f"plain price {usd_per_gpu_hour:g} USD per GPU-hour"
    for hw, todo in tier_sets.items():
        points[hw] = {}
        for t, instead_of, p in todo:
            points[hw][t] = _point_summary(p) if p else None
            if not p:
                continue
            if p.get("usd_per_gpu_hour") is None:
                notes.append(f"{hw}: cost unknown (TCO cannot price it); give --usd-per-gpu-hour or a preset")
                points[hw][t] = None
                continue
            for pr in prices:
                cmp_ = compare(pr, p, isl=isl, osl=osl, per_kind=per_kind)
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
    if any(r["verdict"] == CANT_TELL for r in rows):
        notes.append(
            f"'{CANT_TELL}': the margin's p10-p90 band (the modeled cost's error band, perf/uncertainty.py) straddles "
            f"0% or {SUSTAINABLE_MARGIN_PCT:g}%; verdict_band gives the verdict at each end"
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
    if any(p.time_of_day for p in prices):
        notes.append("time-of-day tariffs: the peak (standard) price is shown; the off-peak one is in the note")
    if any(p.deprecated for p in prices):
        notes.append("some listed models are deprecated by the provider (price kept by genai-prices)")
    stale = [p for p in prices if p.stale]
    warnings = []
    if stale:
        warnings.append(
            f"stale prices (older than {STALE_PRICE_AFTER_DAYS:g} days, "
            "data/assumptions.yaml prices.stale_after_days): "
            + ", ".join(f"{p.provider}/{p.model_id} as of {p.data_as_of}" for p in stale)
            + "; give current ones with --prices-file"
        )
    notes.append(
        "per token kind: "
        + costmod.PER_KIND_LABELS[per_kind]
        + ("; the per-kind margins add up to the workload margin" if per_kind == "gpu-time" else "")
    )
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
        price_data=snap,
        warnings=warnings,
        per_kind=per_kind,
        utilization=utilization,
    )


def _tier_points(fr, tiers: list[str], notes: list[str]) -> dict:
    """{hardware: [(tier, instead_of, point or None)]} of a frontier: the asked tiers, and when no point reaches the
    goldilocks speed the cheapest point at the comparability floor (else the fastest point reached) in its place."""
    by_hw = fr.by_hardware()
    out: dict = {}
    for hw in [h.key for h in fr.sweep.hardware]:
        tier_pts = (by_hw.get(hw) or {}).get("tiers") or {}
        todo = [(t, t, tier_pts.get(t)) for t in tiers]
        if "goldilocks" in tiers and not tier_pts.get("goldilocks"):
            floor = COMPARABLE_FRACTION * API_INTERACTIVITY_TOKENS_PER_S_PER_USER
            h = next(i for i, x in enumerate(fr.sweep.hardware) if x.key == hw)
            ids = fr.frontier_idx[fr.sweep.cols["hw"][fr.frontier_idx] == h]
            alt = search.token_tiers(fr.sweep, ids, floor).get("goldilocks") if ids.size else None
            name = f">={floor:g} tok/s/user"
            if alt is None:
                alt, name = tier_pts.get("fastest"), "fastest"
            if alt is not None:
                todo.append((name, "goldilocks", alt))
                notes.append(
                    f"{hw}: no point reaches the goldilocks {search.GOLDILOCKS_INTERACTIVITY:g} tok/s/user; "
                    "compared instead at the "
                    f"{'fastest point reached' if name == 'fastest' else 'cheapest point at ' + name} "
                    f"({alt['tokens_per_s_per_user']:.1f} tok/s/user)"
                )
        substituted = any(x[1] == "goldilocks" and x[0] != "goldilocks" for x in todo)
        for t, _, p in todo:
            if p is None and t in tiers and not (t == "goldilocks" and substituted):
                note = tier_pts.get(f"{t}_note") or "no frontier point meets it"
                notes.append(f"{hw}: no {t} point ({note})")
        out[hw] = todo
    return out


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
    "CANT_TELL",
    "margin_band",
    "band_verdict",
    "cost_band_factors",
    "price_check",
    "provider_ids",
    "genai_prices_version",
    "genai_prices_snapshot",
    "price_age_days",
    "load_prices_file",
    "user_price",
    "UserPrice",
    "STALE_PRICE_AFTER_DAYS",
]
