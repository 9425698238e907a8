"""Published measurements as typed rows: the loader for the calibration CSV schema (benchmarks/data/README.md).

One row is one metric of one benchmark run. :func:`load_measurements` reads any number of such files and returns
:class:`Measurement` rows plus a :class:`LoadReport` that counts and names every row it could not use (a model the
catalog lacks, a duplicate system total, a burst run without a steady state) -- nothing is dropped silently.

What a row carries beyond the CSV columns, parsed from its text fields:

- ``engine``: the engine profile key (``trtllm``, ``trtllm-legacy``, ``vllm``, ``sglang``, ``atom``) from the free-text
  engine column (:data:`ENGINE_PATTERNS`).
- ``quantity`` / ``statistic``: what is measured (``output_tokens_per_s_per_gpu``, ``total_tokens_per_s_per_gpu``,
  ``ttft_ms``, ``tpot_ms``, ``itl_ms``, ``e2el_ms``) and how it is summarised (``mean``, ``median``, ``p99``).
- the layout: TP, PP, attention-DP, EP per pool, and for disaggregated runs the prefill and decode pools.
- speculative decoding: method (``mtp``, ``eagle3``, ``dspark``), draft tokens, and the acceptance the source states.
- ``source_group``: the document a row comes from (repository path and commit, and the engine) -- the unit that
  leave-one-source-out cross-validation holds out.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from tokenfab.catalog import precision as prec
from tokenfab.catalog.hardware import get_hardware
from tokenfab.catalog.models import get_model
from tokenfab.core.errors import TokenfabError

# free-text engine column -> engine profile key (data/engines.yaml); first match wins
ENGINE_PATTERNS: tuple[tuple[str, str], ...] = (
    (r"TensorRT-LLM ~?v?1\.|TensorRT-LLM.*PyTorch backend", "trtllm"),
    (r"TensorRT-LLM v0\.", "trtllm-legacy"),
    (r"\bATOM\b", "atom"),
    (r"\bvLLM\b", "vllm"),
    (r"\bSGLang\b", "sglang"),
    (r"Dynamo", "dynamo-trtllm"),
)

# CSV metric -> (quantity, statistic); metrics not listed duplicate another row (system totals, request/s)
METRICS: dict[str, tuple[str, str]] = {
    "output_tokens_per_s_per_gpu": ("output_tokens_per_s_per_gpu", "mean"),
    "total_tokens_per_s_per_gpu": ("total_tokens_per_s_per_gpu", "mean"),
    "ttft_ms_mean": ("ttft_ms", "mean"),
    "ttft_ms_median": ("ttft_ms", "median"),
    "ttft_ms_p99": ("ttft_ms", "p99"),
    "tpot_ms_mean": ("tpot_ms", "mean"),
    "tpot_ms_median": ("tpot_ms", "median"),
    "tpot_ms_p99": ("tpot_ms", "p99"),
    "itl_ms_mean": ("itl_ms", "mean"),
    "itl_ms_median": ("itl_ms", "median"),
    "e2el_ms_mean": ("e2el_ms", "mean"),
}
DUPLICATE_METRICS = ("output_tokens_per_s", "request_per_s", "total_tokens_per_s")

BURST = "burst (request_rate=INF with no concurrency limit: every request sent at once, no steady state)"
SKIP_REASONS = {
    "duplicate": "system total or request rate that duplicates a per-GPU row",
    "model": "model not in the catalog",
    "hardware": "hardware not in the catalog",
    "burst": BURST,
    "rate": "open-loop row without a request rate in its notes",
    "metric": "metric the model does not predict",
    "engine": "engine not recognised",
}


@dataclass(frozen=True)
class Pool:
    """One pool of a deployment: GPUs per replica and how they are laid out."""

    gpus: int
    tp: int
    pp: int = 1
    dp: int = 1  # attention data-parallel ranks (each rank runs attention at TP)
    ep: int = 1  # expert-parallel degree (1: experts split by tensor parallelism)


@dataclass(frozen=True)
class Speculation:
    method: str  # mtp | eagle3 | dspark
    draft_tokens: int
    acceptance_length: float | None = None  # tokens per verify step the source states (None: not stated)


@dataclass(frozen=True)
class Measurement:
    id: str
    source: str
    source_group: str
    model: str
    hardware: str
    family: str
    engine: str
    scenario: str
    quantity: str
    statistic: str
    value: float
    pool: Pool  # aggregated deployment, or the decode pool when disaggregated
    prefill_pool: Pool | None  # disaggregated runs only
    weights: str
    kv: str
    isl: float
    osl: float
    length_ratio: float  # lengths drawn uniformly from [ratio x L, L]; 1.0 = fixed
    concurrency: float | None  # closed loop; None with rate None: offline (as many as fit)
    rate_rps: float | None  # open loop (Poisson)
    speculation: Speculation | None
    engine_overrides: tuple[tuple[str, float], ...] = ()  # engine settings the run states (max_seqs, ...)
    prompts_per_slot: float | None = None  # closed loop: requests sent = this x concurrency (all at once at start)
    notes: str = ""

    @property
    def disaggregated(self) -> bool:
        return self.prefill_pool is not None

    @property
    def gpus(self) -> int:
        return self.pool.gpus + (self.prefill_pool.gpus if self.prefill_pool else 0)

    @property
    def metric(self) -> str:
        return f"{self.quantity}:{self.statistic}"

    @property
    def metric_class(self) -> str:
        """throughput | ttft | tpot (ITL and E2E latency count with TPOT: they are per-token decode figures)."""
        if "tokens_per_s" in self.quantity:
            return "throughput"
        return "ttft" if self.quantity == "ttft_ms" else "tpot"


@dataclass
class LoadReport:
    files: list[str] = field(default_factory=list)
    rows_read: int = 0
    used: int = 0
    skipped: Counter = field(default_factory=Counter)  # reason key -> rows
    skipped_ids: dict[str, list[str]] = field(default_factory=dict)  # reason key -> row ids
    unknown_models: Counter = field(default_factory=Counter)

    def skip(self, reason: str, row_id: str) -> None:
        self.skipped[reason] += 1
        self.skipped_ids.setdefault(reason, []).append(row_id)

    def summary(self) -> str:
        parts = [f"{n} {SKIP_REASONS.get(k, k)}" for k, n in sorted(self.skipped.items(), key=lambda kv: -kv[1])]
        models = ", ".join(f"{m} ({n} rows)" for m, n in self.unknown_models.most_common())
        text = f"{self.rows_read} rows read from {len(self.files)} file(s), {self.used} used"
        if parts:
            text += "; skipped: " + "; ".join(parts)
        if models:
            text += f". Models the catalog lacks: {models}"
        return text


def engine_key(text: str) -> str | None:
    for pattern, key in ENGINE_PATTERNS:
        if re.search(pattern, text):
            return key
    return None


def parse_weights(text: str) -> str:
    """The precision key of a free-text weights column: mixed MoE checkpoints (4-bit routed experts, 8-bit
    everything else) become ``mxfp4+fp8`` / ``nvfp4+fp8``; MXFP8 (1 byte + a scale per 32) counts as fp8."""
    t = text.strip().lower()
    experts_4bit = re.search(r"\b(mx|nv)?fp4\b[^;]*expert|experts?[^;]*\b(mx|nv)?fp4\b|fp4 routed experts", t)
    if experts_4bit and ("fp8" in t or "ptpc" in t):
        return "nvfp4+fp8" if "nvfp4" in t else "mxfp4+fp8"
    first = re.split(r"[\s(]", t, maxsplit=1)[0]
    if first == "mxfp8":
        return "fp8"
    return prec.normalize(first, field="weights")


def _split_pools(value: str) -> tuple[str, str] | None:
    m = re.match(r"\s*prefill\s+(\d+)\s*/\s*decode\s+(\d+)\s*$", value or "")
    return (m.group(1), m.group(2)) if m else None


def _int(value: str, default: int = 1) -> int:
    v = (value or "").strip()
    return int(float(v)) if v else default


def _pools(r: dict) -> tuple[Pool, Pool | None]:
    """Aggregated pool, or (decode pool, prefill pool) when any layout column reads ``prefill X / decode Y``."""
    gpus = _int(r["num_gpus"])
    cols = {k: _split_pools(r.get(k, "")) for k in ("tp", "pp", "ep")}
    dp_attn = str(r.get("dp_attention", "")).strip().lower() == "true"
    if any(cols.values()):

        def side(i: int) -> dict:
            return {k: int(v[i]) if v else _int(r.get(k, "")) for k, v in cols.items()}

        p, d = side(0), side(1)
        # the two pools split the GPUs evenly unless the layout says otherwise (1P + 1D of one node each)
        pg = p["tp"] * p["pp"]
        dg = d["tp"] * d["pp"]
        if pg + dg != gpus:
            pg = dg = gpus // 2
        return (
            Pool(dg, d["tp"], d["pp"], 1, d["ep"] if d["ep"] > 1 else 1),
            Pool(pg, p["tp"], p["pp"], 1, p["ep"] if p["ep"] > 1 else 1),
        )
    tp, pp = _int(r["tp"]), _int(r["pp"])
    ep = _int(r.get("ep", ""), 1)
    dp = max(1, gpus // (tp * pp))
    if dp_attn:
        # `--tp N --enable-dp-attention` (SGLang/ATOM): N attention-DP ranks of TP1; experts over all N GPUs
        dp, tp = dp * tp, 1
        ep = ep if ep > 1 else (dp if re.search(r"--enable-expert-parallel|\bEP\d", r.get("notes", "")) else 1)
    return Pool(gpus, tp, pp, dp, ep), None


def _speculation(notes: str) -> Speculation | None:
    n = notes
    if re.search(r"\bno (speculative decoding|MTP)\b|no MTP/spec|no DPA/MTP", n, re.I):
        return None
    k = re.search(r"--num-speculative-tokens (\d+)", n)
    if re.search(r"\bDSpark speculative", n):
        stated = re.search(r"mean accepted length ([0-9.]+)", n)
        return Speculation("dspark", int(k.group(1)) if k else 7, float(stated.group(1)) if stated else None)
    if re.search(r"EAGLE-?3 speculative", n):
        dist = re.search(r"accepted-token distribution \{([^}]*)\}", n)
        acc = None
        drafts = 3
        if dist:
            pairs = [(int(a), float(b.strip("%")) / 100.0) for a, b in re.findall(r"(\d+):([0-9.]+%)", dist.group(1))]
            if pairs:
                drafts = max(a for a, _ in pairs)
                acc = 1.0 + sum(a * w for a, w in pairs) / max(sum(w for _, w in pairs), 1e-9)
        return Speculation("eagle3", int(k.group(1)) if k else drafts, acc)
    if re.search(r"MTP speculative decoding|--method mtp", n):
        return Speculation("mtp", int(k.group(1)) if k else 1, None)
    return None


# engine settings a run's notes state, as PointArrays fields (and how to turn the text into the value)
OVERRIDE_PATTERNS: tuple[tuple[str, str, float], ...] = (
    (r"max-num-seqs[ =](\d+)", "max_seqs", 1.0),
    (r"max-num-batched-tokens[ =](\d+)", "max_batch_tokens", 1.0),
    (r"--mem-frac(?:tion-static)?[ =]([0-9.]+)", "memory_fraction", 1.0),
)
# quantized all-reduce (AMD quick reduce): INT4 payload + one scale per 32 elements per 16-bit byte
QUICK_REDUCE_BYTES = {"INT4": 0.25 + 1.0 / 32, "INT6": 0.375 + 1.0 / 32, "INT8": 0.5 + 1.0 / 32}


def engine_overrides(notes: str) -> tuple[tuple[str, float], ...]:
    out = {}
    for pattern, name, scale in OVERRIDE_PATTERNS:
        m = re.search(pattern, notes)
        if m:
            out[name] = float(m.group(1)) * scale
    q = re.search(r"QUICK_REDUCE_QUANTIZATION=(INT\d)", notes)
    if q and q.group(1) in QUICK_REDUCE_BYTES:
        out["allreduce_bytes_factor"] = QUICK_REDUCE_BYTES[q.group(1)]
    return tuple(sorted(out.items()))


def prompts_per_slot(notes: str, concurrency: float | None) -> float | None:
    m = re.search(r"num_prompts=(\d+)\*conc|\((\d+)\*conc\)", notes)
    if m:
        return float(m.group(1) or m.group(2))
    m = re.search(r"num_prompts=(\d+)", notes)
    if m and concurrency:
        return float(m.group(1)) / concurrency
    return None


def _length_ratio(r: dict) -> float:
    text = f"{r.get('length_dist', '')} {r.get('notes', '')}"
    m = re.search(r"range[-_ ]ratio[ =]*([0-9.]+)", text, re.I) or re.search(r"RANDOM_RANGE_RATIO=([0-9.]+)", text)
    if m:
        return float(m.group(1))
    return 0.8 if "uniform [" in str(r.get("length_dist", "")) else 1.0


def source_group(r: dict, engine: str) -> str:
    """The document a row comes from: ``repository:path@commit`` (section left out) plus the engine."""
    src = r["source"].split(" section")[0].split(" (")[0].strip()
    m = re.match(r"(github:[^ ]+ [^ ]+) @([0-9a-f]{7})", src)
    doc = f"{m.group(1)}@{m.group(2)}" if m else src
    # one result file per load level (InferenceX, benchmark JSONL): the run is the folder
    doc = re.sub(r"/[^/ ]+\.jsonl?(?=@|$)", "/", doc)
    if "Online Serving" in r["source"]:
        doc += " online"
    return f"{doc} [{engine}]"


def load_measurements(*paths: str | Path) -> tuple[list[Measurement], LoadReport]:
    """Read calibration CSVs (benchmarks/data/README.md) into rows the model can predict, and a report of the rest."""
    rep = LoadReport()
    out: list[Measurement] = []
    for path in paths:
        p = Path(path)
        if not p.is_file():
            raise TokenfabError("measurements file not found", field="data", got=str(p))
        rep.files.append(p.name)
        with p.open(newline="", encoding="utf-8") as f:
            for r in csv.DictReader(f):
                rep.rows_read += 1
                m = _row(r, rep)
                if m is not None:
                    out.append(m)
    rep.used = len(out)
    return out, rep


def _row(r: dict, rep: LoadReport) -> Measurement | None:
    rid = r["id"]
    metric = r["metric"]
    if metric in DUPLICATE_METRICS:
        rep.skip("duplicate", rid)
        return None
    if metric not in METRICS:
        rep.skip("metric", rid)
        return None
    engine = engine_key(r.get("engine", ""))
    if engine is None:
        rep.skip("engine", rid)
        return None
    try:
        model = get_model(r["model"])
    except TokenfabError:
        rep.skip("model", rid)
        rep.unknown_models[r["model"]] += 1
        return None
    try:
        hw = get_hardware(r["hardware"])
    except TokenfabError:
        rep.skip("hardware", rid)
        return None
    notes = r.get("notes", "")
    rate = conc = None
    scenario = r["scenario"]
    if scenario == "online_rate":
        if re.search(r"request_rate=INF", notes):
            rep.skip("burst", rid)
            return None
        mm = re.search(r"request_rate=([0-9.]+)", notes)
        if not mm:
            rep.skip("rate", rid)
            return None
        rate = float(mm.group(1))
    elif r.get("concurrency") and r["concurrency"] != "max":
        conc = float(r["concurrency"])
    weights = parse_weights(r["weights"])
    kv = (r.get("kv") or "").strip().lower() or prec.default_kv_precision(weights)
    pool, prefill = _pools(r)
    quantity, statistic = METRICS[metric]
    return Measurement(
        id=rid,
        source=r["source"],
        source_group=source_group(r, engine),
        model=model.key,
        hardware=hw.key,
        family=hw.cost_family or "default",
        engine=engine,
        scenario=scenario,
        quantity=quantity,
        statistic=statistic,
        value=float(r["value"]),
        pool=pool,
        prefill_pool=prefill,
        weights=weights,
        kv=kv,
        isl=float(r["isl"]),
        osl=float(r["osl"]),
        length_ratio=_length_ratio(r),
        concurrency=conc,
        rate_rps=rate,
        speculation=_speculation(notes),
        engine_overrides=engine_overrides(notes),
        prompts_per_slot=prompts_per_slot(notes, conc) if conc else None,
        notes=notes,
    )
