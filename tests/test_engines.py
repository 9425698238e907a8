"""Serving engines as data (tokenfab.catalog.engines, data/engines.yaml): every engine loads with its sources,
inheritance, the default engine per vendor, unknown keys, and validation of the data file."""

import dataclasses

import pytest

from tokenfab.catalog import engines as E
from tokenfab.catalog.hardware import get_hardware
from tokenfab.core.errors import TokenfabError, UnknownKeyError

INHERITED = {"key", "name", "source", "default_for_vendors", "prior_from"}  # what a child never takes from its parent


@pytest.mark.parametrize("key", E.engine_keys())
def test_every_engine_loads_with_physical_values_and_sources(key):
    e = E.get_engine(key)
    assert e.key == key and e.name and e.source
    assert e.max_num_batched_tokens >= 1024 and e.max_num_seqs >= 1 and e.kv_block_tokens >= 1
    assert 0.5 <= e.kv_memory_fraction <= 1.0 and e.kv_memory_basis in ("total", "free")
    assert e.kv_reservation in ("on_demand", "max_length") and e.w4_compute in ("fp4", "fp8", "bf16")
    assert set(e.allreduce) <= {"ring", "two_shot", "one_shot", "nvls"} and "ring" in e.allreduce
    assert 0 < e.allreduce_bytes_factor <= 1.0 and e.ep_dispatch_bytes in (1.0, 2.0)
    assert set(e.features) <= set(E.FEATURES) and 0 < e.eplb_skew_factor <= 1.0
    assert e.sources  # the defaults cite where they come from
    assert E.get_engine(e) is e and E.get_engine(f" {key.upper()} ") == e


def test_engine_defaults_by_hand():
    """A few defaults whose sources engines.yaml names: TensorRT-LLM reserves the maximum length in 32-token pages of
    90% of the free memory and does not chunk by default; vLLM pages 16 tokens on demand in 90% of the chip; SGLang
    does not mix prefill into decode rounds; ATOM's budget is 16,384 tokens."""
    t, v, s, a = (E.get_engine(k) for k in ("trtllm", "vllm", "sglang", "atom"))
    assert (t.kv_reservation, t.kv_block_tokens, t.kv_memory_basis, t.chunked_prefill) == (
        "max_length",
        32,
        "free",
        False,
    )
    assert (v.kv_reservation, v.kv_block_tokens, v.kv_memory_basis, v.kv_memory_fraction) == (
        "on_demand",
        16,
        "total",
        0.9,
    )
    assert s.chunked_prefill and not s.mixed_batching and s.kv_block_tokens == 1
    assert a.max_num_batched_tokens == 16384 and a.supports("dspark") and not v.supports("dspark")
    assert "GUARANTEED_NO_EVICT" in t.sources["kv_reservation"]


def test_inheritance_takes_every_field_but_identity():
    """dynamo-trtllm inherits trtllm and generic inherits vllm: all scheduler and KV fields equal the parent's; name,
    source and vendor defaults are their own; prior_from says where their fitted parameters come from."""
    for child, parent in (("dynamo-trtllm", "trtllm"), ("generic", "vllm")):
        c, p = E.get_engine(child), E.get_engine(parent)
        differ = {f.name for f in dataclasses.fields(c) if getattr(c, f.name) != getattr(p, f.name)}
        assert differ <= INHERITED | {"features", "vendors", "sources"}, differ
        drop = lambda d: {k: v for k, v in d.items() if k != "vendors"}  # noqa: E731 (generic runs anywhere)
        assert c.name != p.name and drop(c.sources) == drop(p.sources)
    assert (
        E.get_engine("dynamo-trtllm").prior_from == "trtllm" and E.get_engine("dynamo-trtllm").default_for_vendors == ()
    )
    assert E.get_engine("generic").prior_from == "median"


@pytest.mark.parametrize(
    "hw, engine",
    [
        ("h100-sxm", "trtllm"),
        ("b200", "trtllm"),
        ("mi355x", "vllm"),
        ("gaudi3", "vllm"),
        ("tpu-v6e", "generic"),
        ("groq-lpu", "generic"),
        ("cerebras-wse3", "generic"),
    ],
)
def test_default_engine_per_vendor(hw, engine):
    h = get_hardware(hw)
    assert E.default_engine(h).key == engine
    for auto in (None, "", "auto", " Default "):
        assert E.resolve_engine(auto, h).key == engine
    assert E.resolve_engine("generic", h).key == "generic"  # the prior runs anywhere
    if h.vendor in ("NVIDIA", "AMD", "Intel", "Google"):  # docs.sglang.io hardware platforms
        assert E.resolve_engine("sglang", h).key == "sglang"


@pytest.mark.parametrize(
    "hw, engine",
    [
        ("mi355x", "trtllm"),  # TensorRT-LLM is CUDA only
        ("mi300x", "dynamo-trtllm"),  # inherits TensorRT-LLM's vendors
        ("h100-sxm", "atom"),  # ATOM is ROCm only
        ("b200", "atom"),
        ("groq-lpu", "vllm"),  # Groq and Cerebras run their own compiled stacks
        ("cerebras-wse3", "sglang"),
        ("gaudi3", "trtllm-legacy"),
    ],
)
def test_an_engine_is_refused_on_hardware_it_does_not_run_on(hw, engine):
    """Pricing TensorRT-LLM on an MI355X would be a deployment nobody can build: refused, naming the flag, the
    vendor and the engines that do run there (engines.yaml ``vendors``, each cited)."""
    h = get_hardware(hw)
    with pytest.raises(TokenfabError) as e:
        E.resolve_engine(engine, h)
    assert e.value.field == "engine" and h.vendor in str(e.value) and h.key in str(e.value)
    ok = [k for k in E.engine_keys() if E.get_engine(k).runs_on(h.vendor)]
    assert "generic" in ok and engine not in ok and ", ".join(ok) in str(e.value)
    for k in ok:  # every engine it suggests is accepted
        assert E.resolve_engine(k, h).key == k


def test_every_engine_cites_the_vendors_it_runs_on():
    for k in E.engine_keys():
        e = E.get_engine(k)
        assert "vendors" in e.sources, k
        assert e.runs_on("NVIDIA") or e.runs_on("AMD"), k
    assert E.get_engine("generic").vendors == () and E.get_engine("generic").runs_on("Nobody")
    assert E.get_engine("atom").vendors == ("AMD",) and not E.get_engine("trtllm").runs_on("amd")


def test_a_vendor_without_a_default_gets_generic():
    class Hw:
        vendor = "Nobody"

    assert E.default_engine(Hw()).key == "generic"


def test_unknown_engine_suggests_the_nearest():
    with pytest.raises(UnknownKeyError) as e:
        E.get_engine("vlm")
    assert e.value.field == "engine" and e.value.suggestions[0] == "vllm" and "did you mean vllm" in str(e.value)
    with pytest.raises(UnknownKeyError, match="known: "):
        E.get_engine("zzzzzz")


@pytest.fixture()
def fake_engines(monkeypatch):
    """Swap engines.yaml for a dict (the loaders are cached: cleared around the test)."""
    base = dict(E._raw()["vllm"])

    def install(entries: dict):
        monkeypatch.setattr(E, "_raw", lambda: entries)
        E._get_engine.cache_clear()

    yield base, install
    monkeypatch.undo()
    E._get_engine.cache_clear()


@pytest.mark.parametrize(
    "entries, field, needle",
    [
        ({"a": {"inherits": "b"}, "b": {"inherits": "a"}}, "engines.b.inherits", "loops"),  # b closes it
        ({"a": {"name": "A"}}, "engines.a.max_num_batched_tokens", "field missing"),
        ({"a": "BASE|max_num_seqs=0"}, "engines.a.max_num_seqs", "positive"),
        ({"a": "BASE|kv_memory_fraction=true"}, "engines.a.kv_memory_fraction", "positive"),
        ({"a": "BASE|features=warp_drive"}, "engines.a.features", "unknown engine feature"),
        ({"a": {"inherits": "nope"}}, "engine", "unknown engine 'nope'"),
        ({"a": "BASE|vendors=-"}, "engines.a.vendors", "field missing"),
        ({"a": "BASE|vendors=NVIDIA"}, "engines.a.vendors", "a list of vendor names"),
    ],
)
def test_bad_engine_data_names_the_field(fake_engines, entries, field, needle):
    base, install = fake_engines
    out = {}
    for k, v in entries.items():
        if isinstance(v, str) and v.startswith("BASE|"):
            name, value = v.split("|", 1)[1].split("=")
            parsed = {"0": 0, "true": True}.get(value, [value] if name == "features" else value)
            v = {k2: v2 for k2, v2 in {**base, name: parsed}.items() if v2 != "-"}
        out[k] = v
    install(out)
    with pytest.raises(TokenfabError, match=needle) as e:
        E.get_engine("a")
    assert e.value.field == field
