"""The hardware catalog (src/tokenfab/data/hardware.yaml) and its loader (tokenfab.catalog.hardware)."""

from __future__ import annotations

import math
import re

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from tokenfab.catalog.hardware import (
    FIGURE_FIELDS,
    PRECISION_KEYS,
    HardwareSpec,
    catalog,
    get_hardware,
    load_catalog_file,
)
from tokenfab.core import units
from tokenfab.core.data import data_path
from tokenfab.core.errors import TokenfabError, UnknownKeyError

REQUIRED_KEYS = [
    "a100-sxm",
    "h100-sxm",
    "h100-pcie",
    "h200-sxm",
    "gh200",
    "b200",
    "b300",
    "gb200-nvl72",
    "gb300-nvl72",
    "mi300x",
    "mi325x",
    "mi355x",
    "gaudi3",
    "tpu-v5e",
    "tpu-v6e",
    "tpu7x",
    "l40s",
    "rtx-pro-6000",
    "groq-lpu",
    "cerebras-wse3",
]
# hardware keys the bundled calibration measurements use
CALIBRATION_KEYS = [
    "h100-sxm",
    "h200",
    "rtx-pro-6000",
    "a100-sxm",
    "h200-sxm",
    "b200",
    "l40s",
    "gb200-nvl72",
    "gh200-480gb",
]
ASOF = re.compile(r"^\d{4}-\d{2}(-\d{2})?$")


def _raw_catalog() -> dict:
    with open(data_path("hardware.yaml")) as f:
        return yaml.safe_load(f)


# ------------------------------------------------------------------------------------------ the bundled data
@pytest.mark.parametrize("key", REQUIRED_KEYS)
def test_every_required_key_loads(key):
    h = get_hardware(key)
    assert isinstance(h, HardwareSpec)
    assert h.key == key
    assert h.memory_bandwidth_tb_per_s > 0
    assert any(v for v in h.peak_tflops.values())
    assert h.cost_family in {
        "ampere",
        "ada",
        "hopper",
        "blackwell",
        "blackwell-ultra",
        "blackwell-pcie",
        "cdna3",
        "cdna4",
        "gaudi",
        "tpu",
        "sram",
    }


@pytest.mark.parametrize("key", CALIBRATION_KEYS)
def test_calibration_hardware_keys_resolve(key):
    assert get_hardware(key).memory_bandwidth_tb_per_s > 0


def test_every_figure_has_source_and_as_of():
    """Walk the raw YAML: every figure written there must come back with a source and a YYYY-MM date."""
    raw = _raw_catalog()
    cat = catalog()
    checked = 0
    for key, entry in raw.items():
        spec = cat[key]
        for field in FIGURE_FIELDS:
            if field not in entry:
                continue
            names = [f"peak_tflops.{p}" for p in spec.peak_tflops] if field == "peak_tflops" else [field]
            for name in names:
                src = spec.source_of(name)
                assert src is not None, f"{key}.{name} has no source"
                assert src.source and len(src.source) > 10, f"{key}.{name}: source too thin: {src.source!r}"
                assert ASOF.match(src.as_of), f"{key}.{name}: as_of {src.as_of!r} is not YYYY-MM"
                checked += 1
    assert checked > 250  # the walk really visited the catalog (273 figures when written)


def test_source_of_a_precision_falls_back_to_peak_tflops_source():
    h = get_hardware("h100-sxm")
    assert h.source_of("peak_tflops.fp8") == h.source_of("peak_tflops")
    # a precision with its own source keeps it
    b300 = get_hardware("b300")
    assert "glennklockwood" in b300.source_of("peak_tflops.fp4").source
    assert b300.source_of("peak_tflops.fp4") != b300.source_of("peak_tflops.bf16")


# Dense peaks sit below the sparse marketing figure the source quotes; where the source says "dense is one-half of
# the sparse value" (2:4 structured sparsity) they must equal half of it (0.5% for rounding of the quoted figure).
SPARSE_CITED = [
    # (key, precision, sparse TFLOPS as published, published dense:sparse ratio or None)
    ("h100-sxm", "bf16", 1978.9, 2),  # NVIDIA H100 SXM datasheet: BF16 1,979 sparse / 989.4 dense
    ("h100-sxm", "fp8", 3957.8, 2),  # NVIDIA H100 SXM datasheet: FP8 3,958 sparse
    ("h100-pcie", "bf16", 1513, 2),  # NVIDIA H100 PCIe: BF16 1,513 "shown with sparsity"
    ("h100-pcie", "fp8", 3026, 2),  # NVIDIA H100 PCIe: FP8 3,026 "shown with sparsity"
    ("h200-sxm", "bf16", 1979, 2),  # NVIDIA H200 spec page: BF16 1,979 with sparsity
    ("h200-sxm", "fp8", 3958, 2),  # NVIDIA H200 spec page: FP8 3,958 with sparsity
    ("gh200", "bf16", 1979, 2),  # NVIDIA GH200 datasheet: BF16 1,979* (sparse) | 990
    ("a100-sxm", "bf16", 624, 2),  # NVIDIA A100 datasheet: BF16 624 sparse
    ("b200", "fp4", 18000, 2),  # NVIDIA Blackwell datasheet, HGX B200 per GPU: FP4 18 PF (sparse)
    ("b200", "bf16", 4500, 2),  # NVIDIA Blackwell datasheet, HGX B200 per GPU: FP16/BF16 4.5 PF (sparse)
    ("gb200-nvl72", "fp4", 20000, 2),  # NVIDIA Blackwell datasheet, GB200 NVL72 per GPU: FP4 20 PF (sparse)
    ("gb200-nvl72", "fp8", 10000, 2),  # NVIDIA Blackwell datasheet, GB200 NVL72 per GPU: FP8 10 PF (sparse)
    ("b300", "fp4", 18000, None),  # HGX B300: FP4 144 PF sparse / 105 PF dense per 8 GPUs (not 2:1)
    ("mi325x", "fp8", 5229.8, 2),  # AMD MI325X: FP8 5,229.8 with sparsity / 2,614.9
    ("mi355x", "fp4", 20100, 2),  # AMD MI355X: FP4/FP6 "20.1 PF" (sparse); The Register: 10 PF dense
    ("l40s", "bf16", 733, None),  # NVIDIA L40S datasheet prints BF16 "362.05 | 733" (sparse; not exactly 2:1)
    ("l40s", "fp8", 1466, 2),  # NVIDIA L40S datasheet: FP8 1,466 (sparse) / 733
    ("rtx-pro-6000", "fp4", 4000, 2),  # NVIDIA RTX PRO 6000 Blackwell: "4000 AI TOPS" = FP4 with sparsity
    ("cerebras-wse3", "fp16", 125000, 2),  # Cerebras: 125 PF "peak AI" (counts sparsity)
]


@pytest.mark.parametrize("key,prec,sparse,ratio", SPARSE_CITED)
def test_dense_peaks_are_below_the_sparse_marketing_figure(key, prec, sparse, ratio):
    dense = get_hardware(key).peak_tflops[prec]
    assert 0 < dense < sparse, f"{key} {prec}: {dense} is not a dense peak (sparse {sparse})"
    if ratio:
        assert dense == pytest.approx(sparse / ratio, rel=0.005), f"{key} {prec}: dense {dense} != {sparse}/{ratio}"


def test_blackwell_ultra_fp4():
    # HGX B300: 105 PF dense FP4 per 8 GPUs (glennklockwood.com B300 table: 13,125 per GPU);
    # GB300 NVL72: 1,080 PF dense FP4 per 72 GPUs (Verda) = 15,000 per GPU
    assert get_hardware("b300").peak_tflops["fp4"] == pytest.approx(105000 / 8)
    assert get_hardware("gb300-nvl72").peak_tflops["fp4"] == pytest.approx(1080000 / 72)


def test_reference_values_against_published_numbers():
    # NVIDIA H100 SXM datasheet (via glennklockwood.com): BF16 989.4 TFLOPS dense, 3.35 TB/s, 700 W
    h100 = get_hardware("h100-sxm")
    assert h100.peak_tflops["bf16"] == pytest.approx(989.4)
    assert h100.memory_bandwidth_tb_per_s == pytest.approx(3.35)
    assert h100.tdp_w == 700
    assert h100.scaleup_bandwidth_gb_per_s_per_direction == 450  # 900 GB/s bidirectional NVLink4
    # NVIDIA H100 PCIe: BF16 1,513 sparse -> 756.5 dense; >2,000 GB/s; 350 W
    pcie = get_hardware("h100-pcie")
    assert pcie.peak_tflops["bf16"] == pytest.approx(756.5)
    assert pcie.memory_bandwidth_tb_per_s == pytest.approx(2.0)
    assert (
        pcie.scaleup_domain_size == 8
    )  # no NVSwitch: the 8 GPUs of a PCIe server talk over PCIe (the scale-up figure)
    assert pcie.scaleup_bandwidth_gb_per_s_per_direction == 64  # PCIe Gen5 x16
    # NVIDIA GH200 datasheet: 96 GB HBM3 at 4 TB/s or 144 GB HBM3e at 4.9 TB/s
    assert get_hardware("gh200").memory_bandwidth_tb_per_s == pytest.approx(4.9)
    assert get_hardware("gh200-480gb").memory_bandwidth_tb_per_s == pytest.approx(4.0)
    assert get_hardware("gh200-480gb").memory_capacity_gib == 96
    # AMD MI325X: BF16 1,307.4 dense, FP8 2,614.9 dense, 1,000 W
    mi325 = get_hardware("mi325x")
    assert (mi325.peak_tflops["bf16"], mi325.peak_tflops["fp8"], mi325.tdp_w) == (1307.4, 2614.9, 1000)
    # Google TPU v5e docs: 819 GBps HBM2, 197 TFLOPs bf16; 400 GBps bidirectional ICI
    v5e = get_hardware("tpu-v5e")
    assert v5e.memory_bandwidth_tb_per_s == pytest.approx(0.819)
    assert v5e.scaleup_bandwidth_gb_per_s_per_direction == 200
    # Intel Gaudi docs: 21 x 200 Gb/s scale-up = 525 GB/s, 3 x 200 Gb/s scale-out = 75 GB/s, per direction
    g3 = get_hardware("gaudi3")
    assert (g3.scaleup_bandwidth_gb_per_s_per_direction, g3.scaleout_bandwidth_gb_per_s_per_direction) == (525, 75)
    # ConnectX-8 800 Gb/s per GPU on Blackwell Ultra; ConnectX-7 400 Gb/s on Hopper
    assert get_hardware("gb300-nvl72").scaleout_bandwidth_gb_per_s_per_direction == 100
    assert get_hardware("h100-sxm").scaleout_bandwidth_gb_per_s_per_direction == 50


def test_inferencex_all_in_kw_per_gpu():
    # metrics.md: InferenceX all-in kW per GPU
    expected = {
        "h100-sxm": 1.73,
        "h200-sxm": 1.73,
        "b200": 2.17,
        "b300": 2.17,
        "gb200-nvl72": 2.10,
        "gb300-nvl72": 2.10,
        "mi300x": 1.79,
        "mi325x": 2.18,
        "mi355x": 2.65,
    }
    for key, kw in expected.items():
        assert get_hardware(key).all_in_kw_per_chip == pytest.approx(kw), key


def test_precisions_the_chip_lacks_are_absent():
    assert "fp8" not in get_hardware("a100-sxm").peak_tflops  # Ampere has no FP8 tensor cores
    assert "fp8" not in get_hardware("tpu-v5e").peak_tflops
    for key in ("a100-sxm", "h100-sxm", "h100-pcie", "h200-sxm", "gh200", "gh200-96gb", "mi300x", "mi325x", "l40s"):
        assert "fp4" not in get_hardware(key).peak_tflops, key  # no native FP4 before Blackwell / CDNA4
    for key in ("b200", "b300", "gb200-nvl72", "gb300-nvl72", "mi355x", "rtx-pro-6000"):
        assert get_hardware(key).peak_tflops["fp4"] > 0, key


def test_sram_chips():
    for key in ("groq-lpu", "cerebras-wse3"):
        h = get_hardware(key)
        assert h.kind == "sram"
        assert h.memory_capacity_gib == 0
        assert h.sram_capacity_mib > 0
        assert h.memory_bandwidth_tb_per_s == h.sram_bandwidth_tb_per_s
        assert h.weight_memory_bytes == h.sram_capacity_mib * units.MIB
    assert get_hardware("groq-lpu").sram_capacity_mib == pytest.approx(
        230e6 / units.MIB
    )  # the vendor's 230 MB, decimal
    assert get_hardware("cerebras-wse3").sram_capacity_mib == pytest.approx(44e9 / units.MIB, rel=1e-6)  # 44 GB
    # a GPU keeps its weights in HBM even if it has on-die SRAM (Gaudi 3: 96 MB)
    g3 = get_hardware("gaudi3")
    assert g3.kind != "sram" and g3.weight_memory_bytes == 128 * units.GIB


@pytest.mark.parametrize("key", REQUIRED_KEYS + ["gh200-96gb"])
def test_catalog_laws(key):
    h = get_hardware(key)
    p = {k: v for k, v in h.peak_tflops.items() if v}
    # lower precision is never slower than higher precision on the same chip
    for lo, hi in (("fp8", "bf16"), ("fp4", "fp8"), ("fp8", "fp16")):
        if lo in p and hi in p:
            assert p[lo] >= p[hi], f"{key}: {lo} {p[lo]} < {hi} {p[hi]}"
    assert h.chips_per_rack >= h.chips_per_node
    if h.scaleup_domain_size > 1:
        assert h.scaleup_bandwidth_gb_per_s_per_direction > 0
    if h.all_in_kw_per_chip and h.tdp_w:
        assert h.all_in_kw_per_chip * units.KW > h.tdp_w  # all-in power includes the chip
    if h.price_usd_per_system and h.chips_per_system and h.price_usd_per_chip:
        assert h.price_usd_per_chip <= h.price_usd_per_system / h.chips_per_system * 1.2


def test_derived_quantities_are_in_base_units():
    h = get_hardware("h100-sxm")
    assert h.memory_bandwidth_bytes_per_s == pytest.approx(3.35e12)
    assert h.memory_capacity_bytes == 80 * 2**30
    assert h.peak_flops_per_s["bf16"] == pytest.approx(989.4e12)
    assert h.scaleup_bandwidth_bytes_per_s == pytest.approx(450e9)


# ------------------------------------------------------------------------------------------ lookup and aliases
def test_unknown_key_suggests_the_nearest():
    with pytest.raises(UnknownKeyError) as ei:
        get_hardware("h100sxm")
    assert "h100-sxm" in str(ei.value)
    assert ei.value.suggestions[0] == "h100-sxm"


def test_aliases_and_case_and_names_resolve():
    assert get_hardware("h200").key == "h200-sxm"
    assert get_hardware("GH200-480GB").key == "gh200-96gb"
    assert get_hardware(" H100-SXM ").key == "h100-sxm"
    assert get_hardware("NVIDIA H100 SXM5 80GB").key == "h100-sxm"
    spec = get_hardware("b200")
    assert get_hardware(spec) is spec


def test_alias_that_is_also_a_key_in_the_same_file_is_rejected(tmp_path):
    p = tmp_path / "hw.yaml"
    p.write_text(
        yaml.safe_dump(
            {
                "chip-a": _minimal(aliases=["chip-b"]),
                "chip-b": _minimal(),
            }
        )
    )
    with pytest.raises(TokenfabError, match="aliases"):
        load_catalog_file(p)


def test_a_user_key_wins_over_a_bundled_alias(tmp_path):
    p = tmp_path / "hw.yaml"
    p.write_text(yaml.safe_dump({"h200": _minimal(name="My H200 NVL", memory_bandwidth_tb_per_s=4.8)}))
    assert get_hardware("h200", [p]).name == "My H200 NVL"
    assert get_hardware("h200").key == "h200-sxm"


# ------------------------------------------------------------------------------------------ user files
def _minimal(**over) -> dict:
    d = {
        "name": "Test Chip",
        "vendor": "Acme",
        "source": "unit test",
        "as_of": "2025-01",
        "memory_capacity_gib": 64,
        "memory_bandwidth_tb_per_s": 2.0,
        "peak_tflops": {"bf16": 500, "fp8": 1000},
    }
    d.update(over)
    return d


def test_user_yaml_adds_a_chip_and_overrides_one(tmp_path):
    p = tmp_path / "my_hw.yaml"
    p.write_text(
        yaml.safe_dump(
            {
                "acme-x1": _minimal(),
                "h100-sxm": _minimal(
                    name="H100 SXM (derated)",
                    memory_capacity_gib=80,
                    memory_bandwidth_tb_per_s=3.0,
                    peak_tflops={"bf16": 900, "fp8": {"value": 1800, "source": "our GEMM sweep", "as_of": "2025-05"}},
                ),
            }
        )
    )
    cat = catalog([str(p)])
    assert cat["acme-x1"].vendor == "Acme"
    assert cat["acme-x1"].source_of("memory_capacity_gib").source == "unit test"
    h = cat["h100-sxm"]
    assert h.name == "H100 SXM (derated)" and h.memory_bandwidth_tb_per_s == 3.0
    assert h.source_of("peak_tflops.fp8").source == "our GEMM sweep"
    assert h.source_of("peak_tflops.bf16").source == "unit test"
    assert get_hardware("acme-x1", [p]).key == "acme-x1"
    # a single path works as well as a list of paths
    assert get_hardware("acme-x1", str(p)).key == "acme-x1"
    # the bundled catalog is untouched
    assert get_hardware("h100-sxm").memory_bandwidth_tb_per_s == pytest.approx(3.35)
    with pytest.raises(UnknownKeyError):
        get_hardware("acme-x1")


def test_later_user_files_win(tmp_path):
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text(yaml.safe_dump({"acme-x1": _minimal(memory_bandwidth_tb_per_s=1.0)}))
    b.write_text(yaml.safe_dump({"acme-x1": _minimal(memory_bandwidth_tb_per_s=2.5)}))
    assert catalog([a, b])["acme-x1"].memory_bandwidth_tb_per_s == 2.5
    assert catalog([b, a])["acme-x1"].memory_bandwidth_tb_per_s == 1.0


def test_user_toml_file(tmp_path):
    p = tmp_path / "my_hw.toml"
    p.write_text(
        "[acme-t1]\n"
        'name = "Acme T1"\nvendor = "Acme"\nsource = "vendor sheet"\nas_of = "2025-02"\n'
        "memory_capacity_gib = 32\nmemory_bandwidth_tb_per_s = 1.2\n"
        "peak_tflops = { bf16 = 250, int8 = 500 }\n"
        'tdp_w = { value = 300, source = "measured at the wall", as_of = "2025-03" }\n'
    )
    h = get_hardware("acme-t1", [p])
    assert h.peak_tflops == {"bf16": 250, "int8": 500}
    assert h.tdp_w == 300 and h.source_of("tdp_w").source == "measured at the wall"
    assert h.source_of("memory_capacity_gib").as_of == "2025-02"


def test_hardware_section_wrapper_is_accepted(tmp_path):
    p = tmp_path / "hw.yaml"
    p.write_text(yaml.safe_dump({"hardware": {"acme-x2": _minimal()}}))
    assert "acme-x2" in load_catalog_file(p)


@pytest.mark.parametrize(
    "entry,field_hint,msg_hint",
    [
        (_minimal(memory_bandwidth_tb_per_s=-1.0), "memory_bandwidth_tb_per_s", "greater than 0"),
        (_minimal(peak_tflops={"bf16": 100, "fp6": 200}), "peak_tflops", "fp6"),
        (_minimal(peak_tflops={"bf16": -5}), "peak_tflops", "> 0"),
        ({k: v for k, v in _minimal().items() if k != "source"}, "memory_capacity_gib", "source"),
        (_minimal(tdp_w={"value": 300, "sorce": "typo"}), "tdp_w", "sorce"),
        (_minimal(scaleup_domain_size=0), "scaleup_domain_size", "greater than or equal to 1"),
        (_minimal(colour="red"), "colour", "unknown field"),
    ],
)
def test_bad_user_file_names_the_field(tmp_path, entry, field_hint, msg_hint):
    p = tmp_path / "bad.yaml"
    p.write_text(yaml.safe_dump({"bad-chip": entry}))
    with pytest.raises(TokenfabError) as ei:
        load_catalog_file(p)
    msg = str(ei.value)
    assert "bad-chip" in msg and field_hint in msg and msg_hint in msg, msg
    assert ei.value.field and field_hint in ei.value.field


def test_missing_source_on_one_figure_only(tmp_path):
    entry = {k: v for k, v in _minimal().items() if k not in ("source", "as_of")}
    entry["memory_capacity_gib"] = {"value": 64, "source": "s", "as_of": "2025-01"}
    entry["memory_bandwidth_tb_per_s"] = {"value": 2.0, "source": "s", "as_of": "2025-01"}
    entry["peak_tflops"] = {"bf16": {"value": 500, "source": "s", "as_of": "2025-01"}, "fp8": 1000}
    p = tmp_path / "bad.yaml"
    p.write_text(yaml.safe_dump({"half-sourced": entry}))
    with pytest.raises(TokenfabError, match=r"half-sourced\.peak_tflops\.fp8"):
        load_catalog_file(p)


def test_unreadable_files(tmp_path):
    with pytest.raises(TokenfabError, match="file not found"):
        load_catalog_file(tmp_path / "nope.yaml")
    p = tmp_path / "broken.yaml"
    p.write_text("a: [1, 2\n")
    with pytest.raises(TokenfabError, match="not valid YAML"):
        load_catalog_file(p)
    q = tmp_path / "list.yaml"
    q.write_text("- 1\n- 2\n")
    with pytest.raises(TokenfabError, match="mapping"):
        load_catalog_file(q)


@settings(max_examples=40, deadline=None)
@given(bw=st.floats(min_value=-1e3, max_value=1e5, allow_nan=False, allow_infinity=False))
def test_bandwidth_is_kept_exactly_when_positive_and_rejected_otherwise(tmp_path_factory, bw):
    p = tmp_path_factory.mktemp("hw") / "hw.yaml"
    p.write_text(yaml.safe_dump({"acme-p": _minimal(memory_bandwidth_tb_per_s=bw)}))
    if bw > 0:
        h = load_catalog_file(p)["acme-p"]
        assert h.memory_bandwidth_tb_per_s == bw
        assert math.isclose(h.memory_bandwidth_bytes_per_s, bw * 1e12)
    else:
        with pytest.raises(TokenfabError, match="memory_bandwidth_tb_per_s"):
            load_catalog_file(p)


def test_precision_keys_cover_the_catalog():
    for h in catalog().values():
        assert set(h.peak_tflops) <= set(PRECISION_KEYS)


def test_the_documented_example_hardware_file_works_end_to_end():
    """examples/hardware/my_chips.yaml (docs/hardware.md) loads, estimates and prices."""
    from pathlib import Path

    from tokenfab.economics.tco import tco
    from tokenfab.perf.serving import estimate

    f = str(Path(__file__).resolve().parents[1] / "examples" / "hardware" / "my_chips.yaml")
    e = estimate("llama-3.1-8b", "my-gpu", hardware_files=[f], weights="fp8", concurrency=8)
    assert e.fits and e.tpot_ms > 0
    t = tco("my-gpu", hardware_files=[f])
    assert t.method == "owned" and t.usd_per_gpu_hour > 0
