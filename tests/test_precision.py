"""Number formats (tokenfab.catalog.precision): bytes per parameter incl. block scales, compute fallbacks, KV
defaults."""

import pytest

from tokenfab.catalog import precision as P
from tokenfab.core.errors import TokenfabError


@pytest.mark.parametrize(
    "fmt, expected",
    [
        ("bf16", 2.0),
        ("fp8", 1.0 + 4 / 16384),  # one FP32 scale per 128x128 block (DeepSeek-V3 weight_block_size [128, 128])
        ("fp4", 0.5 + 1 / 16),  # NVFP4: one E4M3 scale per 16 values (NVIDIA "Introducing NVFP4", 2025)
        ("mxfp4", 0.5 + 1 / 32),  # OCP MX v1.0: one E8M0 scale per 32 values (gpt-oss checkpoints)
        ("int4", 0.5 + 4 / 128),  # AWQ/GPTQ group 128 with FP16 scale + zero
    ],
)
def test_bytes_per_param_include_block_scales(fmt, expected):
    assert P.bytes_per_param(fmt) == pytest.approx(expected)


def test_narrower_formats_never_take_more_bytes():
    order = ["bf16", "fp8", "fp4"]
    sizes = [P.bytes_per_param(f) for f in order]
    assert sizes == sorted(sizes, reverse=True)


def test_compute_format_falls_back_without_native_support():
    hopper = {"bf16": 989e12, "fp8": 1979e12}
    assert P.compute_format("fp8", hopper).native
    fp4 = P.compute_format("fp4", hopper)
    assert fp4.used == "fp8" and not fp4.native and "no fp4 speed-up" in fp4.warning
    ampere = {"bf16": 312e12, "int8": 624e12}
    assert P.compute_format("fp8", ampere).used == "bf16"
    assert P.compute_format("int4", ampere).used == "bf16"  # weight-only: W4A16


def test_default_kv_precision():
    assert P.default_kv_precision("bf16") == "bf16"
    assert P.default_kv_precision("fp16") == "fp16"
    assert P.default_kv_precision("fp8") == "fp8"
    assert P.default_kv_precision("fp4") == "fp8"


def test_unknown_precision_names_the_field_and_the_choices():
    with pytest.raises(TokenfabError) as e:
        P.bytes_per_param("fp3")
    assert e.value.field == "weights" and "bf16" in str(e.value)
    with pytest.raises(TokenfabError, match="kv"):
        P.kv_bytes_per_element("int3")
    with pytest.raises(TokenfabError, match="peak"):
        P.compute_format("bf16", {})
