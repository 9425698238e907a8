"""Speculative decoding (MTP heads, EAGLE-3 drafts, DSpark block drafts): acceptance and what a round costs.

A verify round runs the target model on ``1 + k`` rows per sequence (k draft tokens) and keeps the accepted prefix
plus one bonus token: on average ``acceptance_length`` tokens (1 <= acceptance_length <= 1 + k). Drafting costs extra
passes before the verify: an MTP module or an EAGLE-3 draft is one decoder layer plus the lm_head, run ``k`` times
one token after another; a DSpark block drafter proposes its whole block in one parallel pass (ATOM recipes/DSpark.md:
"one parallel backbone pass + Markov head"). perf/serving.py charges both (the verify rows in every GEMM and
attention of the round, the draft passes on top).

Acceptance by model comes from data/speculative.yaml (published figures, each with its source and workload). Between
published draft lengths the mean accepted length follows a chained acceptance whose per-token rate decays
geometrically, ``p_i = p_1 d^(i-1)``, fitted through the published points (:func:`acceptance_length`); with one
published point the decay is 1 (a constant rate, as DeepSeek-V3 reports for its second token).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from tokenfab.catalog.engines import EngineSpec
from tokenfab.catalog.models import ModelSpec
from tokenfab.core.data import data_path, read_yaml
from tokenfab.core.errors import TokenfabError

METHODS = ("mtp", "eagle3", "dspark")
PARALLEL_DRAFT = {"dspark"}  # drafts the whole block in one pass
# decoder layers a draft runs per pass: an MTP module is one layer (DeepSeek-V3 sec. 2.2), an EAGLE-3 head one layer
# (arXiv:2503.01840), a DSpark drafter its stages (deepseek-ai/DeepSeek-V4-Pro-0813 config: dspark_target_layer_ids
# [58, 59, 60], three DSpark blocks)
DRAFT_LAYERS = {"mtp": 1, "eagle3": 1, "dspark": 3}
MAX_DRAFT_TOKENS = 16


@dataclass(frozen=True)
class SpecConfig:
    """One speculative-decoding setting: ``method`` None means off."""

    method: str | None = None
    draft_tokens: int = 0
    acceptance_length: float = 1.0
    source: str = ""  # where the acceptance figure comes from
    stand_in: str | None = None  # the model whose figure is used when this model has none
    draft_layers: int = 1  # decoder layers of the draft (MTP module, EAGLE-3 head, DSpark stages)

    @property
    def on(self) -> bool:
        return bool(self.method) and self.draft_tokens > 0

    @property
    def parallel_draft(self) -> bool:
        return self.method in PARALLEL_DRAFT

    @property
    def label(self) -> str:
        if not self.on:
            return "off"
        return f"{self.method} k={self.draft_tokens} (~{self.acceptance_length:.2f} tokens/round)"

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "draft_tokens": self.draft_tokens,
            "acceptance_length": self.acceptance_length if self.on else 1.0,
            "source": self.source,
            "stand_in": self.stand_in,
            "draft_layers": self.draft_layers,
        }


OFF = SpecConfig()


@lru_cache(maxsize=1)
def _table() -> dict:
    d = read_yaml(data_path("speculative.yaml"))
    return (d or {}).get("models", {}) if isinstance(d, dict) else {}


def _entry(model_key: str, depth: int = 0) -> dict | None:
    e = _table().get(model_key)
    if isinstance(e, dict) and "same_as" in e and depth < 4:
        base = _entry(str(e["same_as"]), depth + 1) or {}
        return {**base, **{k: v for k, v in e.items() if k != "same_as"}}
    return e


def published_points(model_key: str, method: str) -> tuple[dict[int, float], str, str | None]:
    """{draft tokens: accepted length}, the source text, and the stand-in model if the figures are borrowed."""
    e = _entry(model_key)
    if not e:
        return {}, "", None
    stand = None
    block = e
    if method != e.get("method") and method in (e.get("methods") or {}):
        block = e["methods"][method]
    elif method != e.get("method"):
        return {}, "", None
    pts = block.get("acceptance_length")
    if not pts and e.get("stand_in") and method == e.get("method"):
        stand = str(e["stand_in"])
        se = _entry(stand) or {}
        pts = se.get("acceptance_length")
    pts = pts or {}
    out = {int(k): float(v["value"] if isinstance(v, dict) else v) for k, v in pts.items()}
    src = "; ".join(str(v.get("source", "")) for v in pts.values() if isinstance(v, dict))
    return out, src, stand


def _chain(p1: float, d: float, k: int) -> float:
    total, prod = 1.0, 1.0
    for i in range(k):
        prod *= min(max(p1 * d**i, 0.0), 1.0)
        total += prod
    return total


def acceptance_length(points: dict[int, float], k: int) -> float:
    """Mean accepted length at ``k`` draft tokens from published points (see the module docstring)."""
    if k <= 0:
        return 1.0
    if not points:
        raise TokenfabError("no acceptance figure for this model and method", field="acceptance_length")
    if k in points:
        return points[k]
    ks = sorted(points)
    k1 = ks[0]
    # per-token rate p1 from the shortest published point at d = 1, then d from the longest one
    lo, hi = 0.0, 1.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if _chain(mid, 1.0, k1) < points[k1] else (lo, mid)
    p1 = 0.5 * (lo + hi)
    d = 1.0
    if len(ks) > 1:
        k2 = ks[-1]
        lo, hi = 0.0, 1.0
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if _chain(p1, mid, k2) < points[k2] else (lo, mid)
        d = 0.5 * (lo + hi)
    return float(min(_chain(p1, d, k), 1.0 + k))


def default_method(model: ModelSpec) -> str | None:
    """The speculative method a model ships heads for (MTP layers in its config), or a published draft."""
    e = _entry(model.key) or {}
    if model.mtp_layers > 0:
        return str(e.get("method", "mtp"))
    return None


def resolve(
    model: ModelSpec,
    engine: EngineSpec,
    method: str | None = None,
    draft_tokens: int | None = None,
    acceptance: float | None = None,
) -> SpecConfig:
    """A SpecConfig from user choices: ``method`` None / "off" = off; "auto" = the model's own heads (MTP) with
    k = draft_tokens (default 1). Validates against the engine's features and the published figures."""
    if method is None or str(method).lower() in ("off", "none", "false", "0"):
        if acceptance is not None:
            raise TokenfabError(
                "an acceptance length was given without speculative decoding",
                field="mtp_acceptance_length",
                expected="also give a method (--spec mtp|eagle3|dspark, or --mtp N for the model's MTP heads)",
                got=acceptance,
            )
        return OFF
    m = str(method).strip().lower()
    if m in ("auto", "on", "true", "1"):
        m = default_method(model) or ""
        if not m:
            raise TokenfabError(
                f"{model.key} has no MTP heads; speculative decoding needs a draft model (--spec eagle3 with "
                "--mtp-acceptance)",
                field="spec_method",
            )
    if m not in METHODS:
        raise TokenfabError(
            "unknown speculative-decoding method", field="spec_method", expected=", ".join(METHODS), got=method
        )
    if not engine.supports(m):
        raise TokenfabError(
            f"engine {engine.key} does not run {m} speculative decoding",
            field="spec_method",
            expected="one of: " + (", ".join(f for f in engine.features if f in METHODS) or "none for this engine"),
            got=m,
        )
    if m == "mtp" and model.mtp_layers <= 0:
        raise TokenfabError(f"{model.key} ships no MTP layers", field="spec_method", expected="eagle3 or dspark", got=m)
    k = 1 if draft_tokens is None else draft_tokens
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= k <= MAX_DRAFT_TOKENS:
        raise TokenfabError(
            "draft tokens must be a whole number", field="mtp_draft_tokens", expected=f"1..{MAX_DRAFT_TOKENS}", got=k
        )
    k = int(k)
    if acceptance is not None:
        a = float(acceptance)
        if not np.isfinite(a) or not 1.0 <= a <= 1.0 + k:
            raise TokenfabError(
                "acceptance length out of range",
                field="mtp_acceptance_length",
                expected=f"1 .. {1 + k}",
                got=acceptance,
            )
        return SpecConfig(m, k, a, "given", draft_layers=DRAFT_LAYERS[m])
    pts, src, stand = published_points(model.key, m)
    if not pts:
        raise TokenfabError(
            f"no published {m} acceptance figure for {model.key}: give --mtp-acceptance",
            field="mtp_acceptance_length",
        )
    return SpecConfig(m, k, acceptance_length(pts, k), src, stand, draft_layers=DRAFT_LAYERS[m])


def sweep_variants(
    model: ModelSpec, engine: EngineSpec, enabled: bool = True, draft_tokens: Iterable[int] = (1, 2, 3)
) -> list[SpecConfig]:
    """Off, and the model's own MTP at each draft length where the model ships heads and the engine runs MTP."""
    out = [OFF]
    if not enabled or model.mtp_layers <= 0 or not engine.supports("mtp"):
        return out
    pts, src, stand = published_points(model.key, "mtp")
    if not pts:
        return out
    for k in draft_tokens:
        out.append(SpecConfig("mtp", k, acceptance_length(pts, k), src, stand))
    return out
