"""The calibration-CSV loader's parsing helpers (tokenfab.perf.measurements) on the free-text columns of
benchmarks/data/*.csv, and a crafted file through load_measurements: every row used or skipped with its reason."""

import csv

import pytest

from tokenfab.core.errors import TokenfabError
from tokenfab.perf import measurements as ME


@pytest.mark.parametrize(
    "text, key",
    [
        ("fp8", "fp8"),
        ("bf16", "bf16"),
        ("fp4", "fp4"),
        ("fp8 (Qwen/Qwen3-235B-A22B-Instruct-2507-FP8)", "fp8"),
        ("fp8 (MiniMaxAI/MiniMax-M2.5 native FP8 checkpoint)", "fp8"),
        # MXFP8 (1 byte + a scale per 32 elements) counts as fp8
        ("mxfp8 (MoE experts; attention/first-3 dense MLP online-quantized to PTPC FP8)", "fp8"),
        # 4-bit routed experts, 8-bit everything else: a mixed checkpoint
        ('fp4 routed experts + fp8 (native DeepSeek-V4-Pro checkpoint; doc labels run "FP8")', "mxfp4+fp8"),
        ("mxfp4 experts (amd/GLM-5.2-MXFP4; non-expert linears online-quantized PTPC FP8)", "mxfp4+fp8"),
        ("mxfp4 (MoE experts; attention/dense MLP online-quantized to PTPC FP8)", "mxfp4+fp8"),  # MiniMax-M3 rows
        ("nvfp4 experts + fp8 attention", "nvfp4+fp8"),
        ("nvfp4", "nvfp4"),
        ("mxfp4 (whole checkpoint)", "mxfp4"),
    ],
)
def test_parse_weights_on_the_free_text_column(text, key):
    assert ME.parse_weights(text) == key


def test_parse_weights_rejects_an_unknown_precision():
    with pytest.raises(TokenfabError) as e:
        ME.parse_weights("fp6 experts")
    assert e.value.field == "weights"


@pytest.mark.parametrize(
    "text, key",
    [
        ("TensorRT-LLM ~v1.0 PyTorch backend (trtllm-bench throughput)", "trtllm"),
        ("TensorRT-LLM v1.2 (trtllm-serve)", "trtllm"),
        ("TensorRT-LLM v0.17 (TRT engine, trtllm-bench throughput)", "trtllm-legacy"),
        ("TensorRT-LLM v0.14.0 + Triton tensorrtllm_backend", "trtllm-legacy"),
        ("ATOM (ROCm/ATOM native OpenAI server) rocm/atom:latest", "atom"),
        ("vLLM ROCm nightly image vllm/vllm-openai-rocm:nightly", "vllm"),
        ("SGLang (lmsysorg/sglang:dev docker, ~Dec 2024)", "sglang"),
        ("NVIDIA Dynamo 0.4", "dynamo-trtllm"),
        ("llama.cpp server", None),
        ("vllmish fork", None),  # a word boundary, not a substring
    ],
)
def test_engine_key(text, key):
    assert ME.engine_key(text) == key


@pytest.mark.parametrize(
    "notes, conc, m",
    [
        ("benchmark ...; num_prompts=10*conc; request-rate inf", 4.0, 10.0),
        ("num_prompts=1024 (4*conc), request-rate inf", 256.0, 4.0),
        ("benchmark with num_prompts=1280 at concurrency 128", 128.0, 10.0),
        ("num_prompts=1280", None, None),  # a count without the concurrency says nothing per slot
        ("no protocol stated", 8.0, None),
    ],
)
def test_prompts_per_slot(notes, conc, m):
    assert ME.prompts_per_slot(notes, conc) == m


def test_engine_overrides_from_notes():
    """Settings a run states, as PointArrays fields; AMD quick reduce INT4 sends 4 bits + one 16-bit scale per 32
    elements per 16-bit element: 0.25 + 1/32 of the bytes."""
    notes = (
        "--max-model-len 16384 --max-num-batched-tokens 20000, AITER_QUICK_REDUCE_QUANTIZATION=INT4; max-num-seqs 128"
    )
    assert ME.engine_overrides(notes) == (
        ("allreduce_bytes_factor", 0.25 + 1 / 32),
        ("max_batch_tokens", 20000.0),
        ("max_seqs", 128.0),
    )
    assert ME.engine_overrides("--mem-fraction-static 0.87") == (("memory_fraction", 0.87),)
    assert ME.engine_overrides("--mem-frac=0.8") == (("memory_fraction", 0.8),)
    assert ME.engine_overrides("QUICK_REDUCE_QUANTIZATION=INT3") == ()  # not a known wire format: no override
    assert ME.engine_overrides("nothing stated") == ()


def test_source_group_is_the_document_and_the_engine():
    r = {"source": 'github:ROCm/ATOM recipes/DSpark.md @fc31863878a2c8b30d3a722f6ae2a6890f2f0fa1 section "Perf"'}
    assert ME.source_group(r, "atom") == "github:ROCm/ATOM recipes/DSpark.md@fc31863 [atom]"
    r = {"source": "github:SemiAnalysisAI/InferenceX benchmarks/results/minimax-m2.5/conc64.json @006dbc6aa"}
    assert (
        ME.source_group(r, "vllm") == "github:SemiAnalysisAI/InferenceX benchmarks/results/minimax-m2.5/@006dbc6 [vllm]"
    )


# ----------------------------------------------------------------------------------------------- the loader
HEADER = [
    "id",
    "source",
    "model",
    "hardware",
    "num_gpus",
    "tp",
    "pp",
    "ep",
    "dp_attention",
    "weights",
    "kv",
    "engine",
    "isl",
    "osl",
    "length_dist",
    "concurrency",
    "scenario",
    "metric",
    "value",
    "ttft_slo_ms",
    "tpot_slo_ms",
    "notes",
]
GOOD = {
    "source": "github:example/repo bench.md @0123456789abcdef",
    "model": "llama-3.1-8b",
    "hardware": "h100-sxm",
    "num_gpus": "1",
    "tp": "1",
    "pp": "1",
    "ep": "",
    "dp_attention": "false",
    "weights": "fp8",
    "kv": "",
    "engine": "vLLM 0.9",
    "isl": "1000",
    "osl": "500",
    "length_dist": "fixed",
    "concurrency": "16",
    "scenario": "online_concurrency",
    "metric": "output_tokens_per_s_per_gpu",
    "value": "1234.5",
    "ttft_slo_ms": "",
    "tpot_slo_ms": "",
    "notes": "num_prompts=10*conc",
}


def _write(path, rows):
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=HEADER)
        w.writeheader()
        for i, r in enumerate(rows):
            w.writerow({**GOOD, "id": f"r{i}", **r})


def test_loader_uses_or_names_every_row(tmp_path):
    p = tmp_path / "m.csv"
    _write(
        p,
        [
            {},  # used
            {"metric": "tpot_ms_p99", "value": "12.5"},  # used
            {"scenario": "online_rate", "concurrency": "", "notes": "request_rate=4"},  # used, open loop
            {"metric": "output_tokens_per_s"},  # the system total duplicates the per-GPU row
            {"metric": "gpu_power_w"},  # not a predicted metric
            {"engine": "llama.cpp"},
            {"model": "gpt-9"},
            {"model": "gpt-9", "metric": "ttft_ms_mean"},
            {"hardware": "h900"},
            {"scenario": "online_rate", "notes": "request_rate=INF"},  # burst
            {"scenario": "online_rate", "notes": "no rate given"},
        ],
    )
    rows, rep = ME.load_measurements(p)
    assert rep.rows_read == 11 and rep.used == len(rows) == 3
    assert dict(rep.skipped) == {
        "duplicate": 1,
        "metric": 1,
        "engine": 1,
        "model": 2,
        "hardware": 1,
        "burst": 1,
        "rate": 1,
    }
    assert rep.skipped_ids["model"] == ["r6", "r7"] and rep.unknown_models == {"gpt-9": 2}
    assert "Models the catalog lacks: gpt-9 (2 rows)" in rep.summary()
    a, b, c = rows
    assert (a.quantity, a.statistic, a.metric_class, a.value) == (
        "output_tokens_per_s_per_gpu",
        "mean",
        "throughput",
        1234.5,
    )
    assert (b.quantity, b.statistic, b.metric_class) == ("tpot_ms", "p99", "tpot")
    assert a.engine == "vllm" and a.family == "hopper" and a.kv == "fp8" and a.concurrency == 16.0
    assert a.prompts_per_slot == 10.0 and a.pool == ME.Pool(1, 1) and a.speculation is None
    assert c.rate_rps == 4.0 and c.concurrency is None and c.prompts_per_slot is None
    assert a.source_group == "github:example/repo bench.md@0123456 [vllm]"


def test_loader_layouts_and_speculation(tmp_path):
    """--tp N --enable-dp-attention: N attention-DP ranks of TP1, experts over all N GPUs with expert parallelism;
    a disaggregated layout column; speculative decoding from the notes."""
    p = tmp_path / "m.csv"
    moe = {"model": "qwen3-30b-a3b", "num_gpus": "8", "tp": "8", "engine": "SGLang"}
    _write(
        p,
        [
            {**moe, "dp_attention": "true", "notes": "--enable-expert-parallel"},
            {**moe, "ep": "8"},
            {**moe, "tp": "prefill 8 / decode 4", "num_gpus": "12", "notes": "1P+1D"},
            {**moe, "notes": "EAGLE3 speculative decoding; accepted-token distribution {0:50%,1:50%}"},
            {**moe, "notes": "MTP speculative decoding, --num-speculative-tokens 2"},
            {**moe, "notes": "no MTP; --num-speculative-tokens 2"},
        ],
    )
    rows, rep = ME.load_measurements(p)
    assert rep.used == 6
    assert rows[0].pool == ME.Pool(8, 1, 1, 8, 8)
    assert rows[1].pool == ME.Pool(8, 8, 1, 1, 8)
    assert rows[2].pool == ME.Pool(4, 4) and rows[2].prefill_pool == ME.Pool(8, 8) and rows[2].gpus == 12
    assert rows[3].speculation == ME.Speculation("eagle3", 1, 1.5)
    assert rows[4].speculation == ME.Speculation("mtp", 2, None)
    assert rows[5].speculation is None


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(TokenfabError, match="not found") as e:
        ME.load_measurements(tmp_path / "none.csv")
    assert e.value.field == "data"
