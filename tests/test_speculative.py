"""Speculative decoding (tokenfab.perf.speculative): acceptance through the published points of data/speculative.yaml,
the chained-acceptance interpolation by hand, resolve()'s validation and the draft costs."""

import numpy as np
import pytest
from scipy.optimize import brentq

from tokenfab.catalog.engines import get_engine
from tokenfab.catalog.models import get_model
from tokenfab.core.errors import TokenfabError
from tokenfab.perf import speculative as sp


def _chain(p1, d, k):
    """1 + p1 + p1 (p1 d) + ... : the mean accepted length of a chained draft with per-token rates p1 d^(i-1)."""
    total, prod = 1.0, 1.0
    for i in range(k):
        prod *= p1 * d**i
        total += prod
    return total


def test_published_points_and_their_sources():
    """DeepSeek-V3 MTP: 1.85 at one draft token (arXiv:2412.19437 sec. 5.4.3, the low end of 85-90%) and 3.20 at
    seven (nebius/MTP-DeepSeek-V3-0324); DeepSeek-R1 shares them; DeepSeek-V4-Pro borrows them for MTP (stand-in) and
    has its own DSpark figure (ROCm/ATOM recipes/DSpark.md: 5.45 at 7); MiniMax-M3 EAGLE3 3.20 at 3."""
    pts, src, stand = sp.published_points("deepseek-v3", "mtp")
    assert pts == {1: 1.85, 7: 3.20} and "arXiv:2412.19437" in src and stand is None
    assert sp.published_points("deepseek-r1", "mtp")[0] == pts
    pts4, _, stand4 = sp.published_points("deepseek-v4-pro", "mtp")
    assert pts4 == pts and stand4 == "deepseek-v3"
    dspark, src_d, _ = sp.published_points("deepseek-v4-pro", "dspark")
    assert dspark == {7: 5.45} and "ROCm/ATOM recipes/DSpark.md" in src_d
    assert sp.published_points("minimax-m3", "eagle3")[0] == {3: 3.20}
    assert sp.published_points("llama-3.1-8b", "mtp") == ({}, "", None)
    assert sp.published_points("minimax-m3", "mtp") == ({}, "", None)  # a method the entry does not list


def test_acceptance_length_passes_through_the_published_points():
    pts = {1: 1.85, 7: 3.20}
    assert sp.acceptance_length(pts, 1) == 1.85 and sp.acceptance_length(pts, 7) == 3.20
    assert sp.acceptance_length(pts, 0) == 1.0
    values = [sp.acceptance_length(pts, k) for k in range(1, 12)]
    assert values == sorted(values) and all(v <= 1 + k for k, v in enumerate(values, start=1))


def test_acceptance_between_published_points_by_hand():
    """p1 from the shortest point (1 + p1 = 1.85: p1 = 0.85), the decay d from the longest (the chain of seven
    reaches 3.20, solved here independently with Brent's method); k = 2 gives 1 + p1 + p1^2 d."""
    p1 = 0.85
    d = brentq(lambda x: _chain(p1, x, 7) - 3.20, 1e-6, 1.0, xtol=1e-14)
    assert sp.acceptance_length({1: 1.85, 7: 3.20}, 2) == pytest.approx(1 + p1 + p1 * p1 * d, rel=1e-9)
    assert sp.acceptance_length({1: 1.85, 7: 3.20}, 4) == pytest.approx(_chain(p1, d, 4), rel=1e-9)


def test_one_published_point_means_a_constant_rate():
    """{3: 3.20}: 1 + p + p^2 + p^3 = 3.2 (the real root of p^3 + p^2 + p - 2.2), so k = 1 gives 1 + p and k = 4 adds
    p^4; the length never exceeds 1 + k (a rate of 1: every draft accepted)."""
    p = next(r.real for r in np.roots([1, 1, 1, -2.2]) if abs(r.imag) < 1e-12)
    assert sp.acceptance_length({3: 3.2}, 1) == pytest.approx(1 + p, rel=1e-9)
    assert sp.acceptance_length({3: 3.2}, 4) == pytest.approx(3.2 + p**4, rel=1e-9)
    assert sp.acceptance_length({1: 2.0}, 3) == pytest.approx(4.0)
    with pytest.raises(TokenfabError, match="no acceptance figure"):
        sp.acceptance_length({}, 2)


def test_resolve_builds_the_config_from_published_figures():
    r1, trt = get_model("deepseek-r1"), get_engine("trtllm")
    assert sp.resolve(r1, trt, None) is sp.OFF and sp.resolve(r1, trt, "off") is sp.OFF and not sp.OFF.on
    c = sp.resolve(r1, trt, "auto")
    assert (c.method, c.draft_tokens, c.acceptance_length, c.draft_layers) == ("mtp", 1, 1.85, 1)
    assert c.on and not c.parallel_draft and c.label == "mtp k=1 (~1.85 tokens/round)"
    given = sp.resolve(r1, trt, "mtp", 2, 2.5)
    assert given.acceptance_length == 2.5 and given.source == "given"
    ds = sp.resolve(get_model("deepseek-v4-pro"), get_engine("atom"), "dspark", 7)
    assert ds.parallel_draft and ds.draft_layers == 3 and ds.acceptance_length == 5.45
    eagle = sp.resolve(get_model("minimax-m3"), get_engine("atom"), "eagle3", 3)
    assert eagle.acceptance_length == 3.20 and eagle.draft_layers == 1
    assert sp.resolve(get_model("glm-5.2"), get_engine("atom"), "mtp", 1).stand_in == "deepseek-v3"
    assert sp.OFF.to_dict()["acceptance_length"] == 1.0


def test_draft_layers_per_method():
    """An MTP module and an EAGLE-3 head are one decoder layer (DeepSeek-V3 sec. 2.2; arXiv:2503.01840); a DSpark
    drafter runs three stages (DeepSeek-V4-Pro-0813 config: dspark_target_layer_ids [58, 59, 60])."""
    assert sp.DRAFT_LAYERS == {"mtp": 1, "eagle3": 1, "dspark": 3}
    assert set(sp.DRAFT_LAYERS) == set(sp.METHODS) and {"dspark"} == sp.PARALLEL_DRAFT


@pytest.mark.parametrize(
    "model, engine, method, k, acc, field, needle",
    [
        ("llama-3.1-8b", "vllm", "mtp", 1, None, "spec_method", "ships no MTP layers"),  # no heads
        ("llama-3.1-8b", "vllm", "auto", 1, None, "spec_method", "has no MTP heads"),
        ("deepseek-v4-pro", "vllm", "dspark", 7, None, "spec_method", "does not run dspark"),  # engine lacks it
        ("deepseek-r1", "trtllm-legacy", "mtp", 1, None, "spec_method", "does not run mtp"),
        ("deepseek-r1", "trtllm", "medusa", 1, None, "spec_method", "unknown speculative-decoding method"),
        ("deepseek-r1", "trtllm", "mtp", 2, 3.5, "mtp_acceptance_length", "out of range"),  # above 1 + k
        ("deepseek-r1", "trtllm", "mtp", 2, 0.9, "mtp_acceptance_length", "out of range"),  # below 1
        ("deepseek-r1", "trtllm", "mtp", 2, float("nan"), "mtp_acceptance_length", "out of range"),
        ("deepseek-r1", "trtllm", "mtp", 0, None, "mtp_draft_tokens", "whole number"),
        ("deepseek-r1", "trtllm", "mtp", 17, None, "mtp_draft_tokens", "whole number"),
        ("deepseek-r1", "trtllm", "mtp", 1.5, None, "mtp_draft_tokens", "whole number"),
        ("deepseek-r1", "trtllm", "mtp", True, None, "mtp_draft_tokens", "whole number"),
        ("deepseek-r1", "trtllm", None, None, 1.5, "mtp_acceptance_length", "without speculative decoding"),
        ("llama-3.1-8b", "vllm", "eagle3", 3, None, "mtp_acceptance_length", "no published eagle3"),
    ],
)
def test_resolve_errors_name_the_field(model, engine, method, k, acc, field, needle):
    with pytest.raises(TokenfabError, match=needle) as e:
        sp.resolve(get_model(model), get_engine(engine), method, k, acc)
    assert e.value.field == field


def test_sweep_variants_only_where_model_and_engine_have_mtp():
    r1 = get_model("deepseek-r1")
    variants = sp.sweep_variants(r1, get_engine("trtllm"))
    assert [v.draft_tokens for v in variants] == [0, 1, 2, 3] and variants[0] is sp.OFF
    assert [v.acceptance_length for v in variants[1:]] == [
        sp.acceptance_length({1: 1.85, 7: 3.2}, k) for k in (1, 2, 3)
    ]
    assert sp.sweep_variants(r1, get_engine("trtllm-legacy")) == [sp.OFF]  # no MTP in that engine
    assert sp.sweep_variants(get_model("llama-3.1-8b"), get_engine("vllm")) == [sp.OFF]  # no heads
    assert sp.sweep_variants(r1, get_engine("trtllm"), enabled=False) == [sp.OFF]
