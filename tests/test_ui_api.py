"""The dashboard's JSON API (tokenfab.ui.app) with FastAPI's TestClient: each endpoint returns what the library
returns for the same inputs; bad input is HTTP 400 naming the field; uploads are size-limited (413) and parsed in
memory; no user input reaches the file system; slow work hits the time limit (504) without blocking the server."""

from __future__ import annotations

import threading
import time

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from _cli import same_json
from _fuzz import bench_records  # closed-loop records as tokenfab bench writes them
from _fuzz import jsonl as jsonl_text
from tokenfab import api
from tokenfab.bench import report
from tokenfab.core.errors import TokenfabError
from tokenfab.economics import tco
from tokenfab.perf import memory, serving
from tokenfab.ui import app as ui_app
from tokenfab.ui import calls as ui_calls
from tokenfab.ui import requests as ui_requests
from tokenfab.ui import security as ui_security
from tokenfab.ui.app import create_app

BASE = "http://127.0.0.1"


PRESENTATION_KEYS = ("header", "explain")  # what the dashboard adds for a person: the settings line, explanations


def assert_close(got, want, rel: float = 1e-12, path: str = "") -> None:
    """Equal JSON values, numbers within ``rel`` (a worker process computes the same arrays with its own memory
    layout: NumPy's vectorized sums may differ in the last bit). At the top level the dashboard's presentation keys
    (the header line, explanations: tokenfab.api.explain) come on top of the library's result."""
    if path == "" and isinstance(got, dict) and isinstance(want, dict):
        assert isinstance(got.get("header", ""), str)
        got = {k: v for k, v in got.items() if k not in PRESENTATION_KEYS or k in want}
    if isinstance(want, dict):
        assert isinstance(got, dict) and set(got) == set(want), path
        for k in want:
            assert_close(got[k], want[k], rel, f"{path}.{k}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), path
        for i, (g, w) in enumerate(zip(got, want, strict=False)):
            assert_close(g, w, rel, f"{path}[{i}]")
    elif isinstance(want, float) and not isinstance(got, bool):
        assert got == pytest.approx(want, rel=rel, abs=1e-300), path
    else:
        assert got == want, path


@pytest.fixture(scope="module")
def inproc():
    """The dashboard with library calls on threads of this process: for tests that patch the library (a patch in
    this process does not reach a worker process)."""
    with TestClient(create_app(isolation="thread"), base_url=BASE) as c:
        yield c


def jsonl(records) -> bytes:
    return jsonl_text(records).encode()


# ------------------------------------------------------------------------------------------------- page, meta
def test_page_and_static_files_are_served_with_a_strict_csp(client):
    r = client.get("/")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    for tab in ("Fit", "Estimate", "Frontier", "TCO", "Plan", "Bench"):
        assert f'data-tab="{tab.lower()}"' in r.text
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    js = client.get("/static/app.js")
    assert js.status_code == 200 and "javascript" in js.headers["content-type"] and "/api/fit" in js.text
    assert client.get("/static/style.css").status_code == 200
    plotly_js = client.get("/static/plotly.min.js")  # the plotly package's own bundle: no CDN
    assert plotly_js.status_code == 200 and plotly_js.content == ui_app.plotly_js_path().read_bytes()


def test_meta_lists_the_catalogs_and_the_limits(client):
    from tokenfab.catalog.hardware import catalog
    from tokenfab.catalog.models import model_keys

    m = client.get("/api/meta").json()
    assert [x["key"] for x in m["models"]] == model_keys()
    assert [x["key"] for x in m["hardware"]] == list(catalog())
    assert m["presets"] == tco.preset_names() and m["default_preset"] == tco.DEFAULT_PRESET
    assert [f["name"] for f in m["tco_fields"]] == list(tco.INPUT_FIELDS)
    assert all(f["unit"] for f in m["tco_fields"])
    assert "features" not in m  # every view's library module ships with the package: nothing to switch off
    assert m["limits"]["max_body_bytes"] == 1 << 20


# ------------------------------------------------------------------------------------------------- library results
def test_fit_returns_the_library_result(client):
    body = {"model": "llama-3.1-70b", "hardware": "h100-sxm", "users": 16, "context": 8192, "gpus": 4}
    r = client.post("/api/fit", json=body)
    assert r.status_code == 200, r.text
    expected = api.fit(
        api.FitRequest(model="llama-3.1-70b", hardware="h100-sxm", users=16, context=8192, gpus=4)
    ).to_dict()
    assert_close(r.json(), same_json(expected))
    assert r.json()["per_gpu"]["weights_gib"] == pytest.approx(expected["per_gpu"]["weights_gib"])


def test_fit_accepts_a_hardware_alias_and_auto_layout(client):
    r = client.post("/api/fit", json={"model": "llama-3.1-8b", "hardware": "h200"})
    assert r.status_code == 200, r.text
    assert_close(
        r.json(),
        same_json(
            api.fit(api.FitRequest(model="llama-3.1-8b", hardware="h200-sxm")).to_dict()
            | {"inputs": r.json()["inputs"]}
        ),
    )
    assert r.json()["inputs"]["hardware"] == "h200-sxm"  # the alias resolved before the library call


def test_estimate_returns_the_library_result(client):
    body = {"model": "llama-3.1-70b", "hardware": "h100-sxm", "gpus": 4, "isl": 2048, "osl": 256, "concurrency": 32}
    r = client.post("/api/estimate", json=body)
    assert r.status_code == 200, r.text
    expected = api.estimate(
        api.EstimateRequest(model="llama-3.1-70b", hardware="h100-sxm", gpus=4, isl=2048, osl=256, concurrency=32)
    ).to_dict()
    assert_close(r.json(), same_json(expected))
    assert set(r.json()["breakdown"]) == set(expected["breakdown"])


def test_estimate_max_concurrency_is_the_default(client):
    r = client.post("/api/estimate", json={"model": "llama-3.1-8b", "hardware": "h100-sxm", "gpus": 1})
    assert r.status_code == 200, r.text
    expected = serving.estimate("llama-3.1-8b", "h100-sxm", gpus=1, concurrency="max").to_dict()
    assert r.json()["concurrency"] == pytest.approx(expected["concurrency"])


def test_tco_with_overrides_and_a_throughput_returns_the_library_result(client):
    body = {
        "hardware": "h100-sxm",
        "preset": "owned-hyperscaler",
        "overrides": {"pue": 1.2, "usd_per_kwh": 0.1},
        "total_tokens_per_s_per_gpu": 1500,
    }
    r = client.post("/api/tco", json=body)
    assert r.status_code == 200, r.text
    c = api.cost(
        api.CostRequest(
            hardware="h100-sxm", preset="owned-hyperscaler", pue=1.2, usd_per_kwh=0.1, total_tokens_per_s_per_gpu=1500
        )
    )
    d = r.json()
    for key, value in same_json(c.tco.to_dict()).items():
        assert_close(d[key], value, path=key)
    assert d["sources"]["pue"] == "user" and d["overrides"] == {"pue": 1.2, "usd_per_kwh": 0.1}
    assert_close(d["cost"], same_json(c.model_dump(mode="json", exclude={"tco"})))
    # the same figures as the library's own calls
    t = tco.tco("h100-sxm", "owned-hyperscaler", pue=1.2, usd_per_kwh=0.1)
    assert d["usd_per_gpu_hour"] == pytest.approx(t.usd_per_gpu_hour, rel=1e-12)
    assert d["cost"]["usd_per_mtok_total"] == pytest.approx(t.usd_per_gpu_hour / (1500 * 3600) * 1e6, rel=1e-12)


def test_tco_default_preset_and_plain_price(client):
    d = client.post("/api/tco", json={"hardware": "b200"}).json()
    assert d["preset"] == tco.DEFAULT_PRESET
    assert d["usd_per_gpu_hour"] == pytest.approx(tco.tco("b200").usd_per_gpu_hour)
    d = client.post("/api/tco", json={"hardware": "b200", "overrides": {"price_usd_per_gpu_hour": 3.5}}).json()
    # a rented hour is paid busy or idle: per busy hour, the price / the one utilization default
    assert d["method"] == "price" and d["usd_per_gpu_hour_wallclock"] == pytest.approx(3.5)
    assert d["usd_per_gpu_hour"] == pytest.approx(3.5 / tco.default_utilization())


def test_frontier_returns_the_library_result(client):
    body = {
        "model": "llama-3.1-8b",
        "hardware": ["h100-sxm", "b200"],
        "isl": 1024,
        "osl": 512,
        "mode": "agg",
        "target_interactivity": 80,
    }
    r = client.post("/api/frontier", json=body)
    assert r.status_code == 200, r.text
    from tokenfab import search

    expected = search.frontier(
        "llama-3.1-8b", ["h100-sxm", "b200"], isl=1024, osl=512, mode="agg", target_interactivity=80
    ).to_dict()
    d = r.json()
    tiers = [d["tiers"][t] for t in ("bulk", "goldilocks", "premium") if d["tiers"][t]]
    for p in [*d["points"], d["best"], *tiers]:  # the library's layout text added for display
        assert p.pop("layout") == search.layout_text(p["config"])
    for key in ("points", "tiers", "at_target", "best", "model", "weights", "modes"):
        assert_close(d[key], same_json(expected[key]), path=key)
    assert {p["hardware"] for p in d["points"]} == {"h100-sxm", "b200"}


def test_plan_lists_examples_and_plans_one(client):
    examples = client.get("/api/examples").json()
    assert examples["examples"] == list(ui_calls.example_files())
    assert examples["examples"], "examples/ holds scenario YAMLs"
    key = examples["examples"][0]
    r = client.post("/api/plan", json={"example": key})
    assert r.status_code == 200, r.text
    from tokenfab.planning import plan as planning
    from tokenfab.planning.scenario import parse_scenario_text

    path = ui_calls.example_files()[key]
    expected = same_json(planning.plan(parse_scenario_text(path.read_text(), source=f"examples/{path.name}")).to_dict())
    d = r.json()
    for k in ("months", "labels", "hardware", "best_hardware", "summary", "demand"):
        assert_close(d[k], expected[k], path=k)
    up = client.post("/api/plan/upload", content=path.read_bytes())
    assert up.status_code == 200, up.text
    assert up.json()["scenario"]["source"] == "upload"
    for k in ("hardware", "best_hardware", "summary"):
        assert_close(up.json()[k], d[k], path=k)


def test_bench_upload_gives_the_report_of_the_records(client):
    recs = bench_records()
    r = client.post("/api/bench?gpus=2&usd_per_gpu_hour=2.5", content=jsonl(recs) + b"not json\n")
    assert r.status_code == 200, r.text
    d = r.json()
    expected = report.report_doc(recs, gpus=2, usd_per_gpu_hour=2.5)
    assert_close(d["points"], same_json(expected["points"]))
    assert_close(d["runs"], same_json(expected["runs"]))
    assert d["records"] == len(recs) and d["unreadable_lines"] == 1 and d["comparison"] is None
    assert [p["concurrency"] for p in d["points"]] == [1, 4]
    assert "records" not in (d.get("inputs") or {})  # the upload is counted, not echoed back


def test_bench_compare_with_model_uses_serving_estimate(client):
    recs = bench_records(levels=(1, 8))
    r = client.post("/api/bench?gpus=1&hardware=h100-sxm&preset=owned-neocloud&model=llama-3.1-8b", content=jsonl(recs))
    assert r.status_code == 200, r.text
    cmp = r.json()["comparison"]
    assert cmp["model"] == "llama-3.1-8b" and cmp["hardware"] == "h100-sxm" and len(cmp["rows"]) == 2
    price = tco.tco("h100-sxm", "owned-neocloud").usd_per_gpu_hour
    assert r.json()["usd_per_gpu_hour"] == pytest.approx(price)
    assert cmp["lengths"] == [{"isl": 100, "osl": 20}] * 2  # each level's mean input/output tokens
    for row, c in zip(cmp["rows"], (1, 8), strict=False):
        e = serving.estimate("llama-3.1-8b", "h100-sxm", gpus=1, isl=100, osl=20, concurrency=c)
        assert row["concurrency"] == c
        assert row["tpot_ms_p50"]["predicted"] == pytest.approx(e.tpot_ms)
        assert row["total_tokens_per_s_per_gpu"]["predicted"] == pytest.approx(e.total_tokens_per_s_per_gpu)
        m = row["total_tokens_per_s_per_gpu"]["measured"]
        assert row["total_tokens_per_s_per_gpu"]["relative_error"] == pytest.approx(
            e.total_tokens_per_s_per_gpu / m - 1
        )


# ------------------------------------------------------------------------------------------------- validation -> 400
@pytest.mark.parametrize(
    "path,body,field",
    [
        ("/api/fit", {"model": "llama-3.1-70b", "hardware": "h100-sxm", "users": 0}, "users"),
        ("/api/fit", {"model": "llama-3.1-70b", "hardware": "h100-sxm", "context": "long"}, "context"),
        ("/api/fit", {"model": "llama-3.1-70b", "hardware": "h100-sxm", "gpus": 10**6}, "gpus"),
        ("/api/fit", {"model": "llama-3.1-70b", "hardware": "h100-sxm", "tp": 3}, "tp"),  # library: heads
        ("/api/fit", {"model": "llama-3.1-70b", "hardware": "h100-sxm", "weights": "fp3"}, "weights"),  # library
        ("/api/fit", {"model": "llama-3.1-70b", "hardware": "h100-sxm", "context": 10**6}, "context"),  # model max
        ("/api/fit", {"model": "llama-3.1-70b", "hardware": "h100-sxm", "bogus": 1}, "bogus"),
        ("/api/fit", {"model": "lama-3.1-70b", "hardware": "h100-sxm"}, "model"),
        ("/api/fit", {"model": "llama-3.1-70b", "hardware": "h1000"}, "hardware"),
        ("/api/estimate", {"model": "llama-3.1-70b", "hardware": "h100-sxm", "concurrency": "lots"}, "concurrency"),
        ("/api/estimate", {"model": "llama-3.1-70b", "hardware": "h100-sxm", "isl": 0}, "isl"),
        ("/api/estimate", {"model": "llama-3.1-70b", "hardware": "h100-sxm", "gpus": 4, "pp": 3}, "gpus"),
        ("/api/tco", {"hardware": "h100-sxm", "overrides": {"pue": 0.5}}, "pue"),  # library bound
        ("/api/tco", {"hardware": "h100-sxm", "overrides": {"utilization": 0}}, "utilization"),
        ("/api/tco", {"hardware": "h100-sxm", "overrides": {"made_up": 1}}, "made_up"),
        ("/api/tco", {"hardware": "h100-sxm", "preset": "cheap"}, "preset"),
        ("/api/tco", {"hardware": "groq-lpu", "preset": "inferencex-rental"}, "preset"),
        ("/api/frontier", {"model": "llama-3.1-8b", "hardware": ["h100-sxm"] * 7}, "hardware"),
        (
            "/api/frontier",
            {"model": "llama-3.1-8b", "hardware": ["h100-sxm"], "target_interactivity": -1},
            "target_interactivity",
        ),
    ],
)
def test_bad_input_is_400_naming_the_field(client, path, body, field):
    r = client.post(path, json=body)
    assert r.status_code == 400, r.text
    d = r.json()
    assert d["field"] == field, d
    assert d["error"] and field in d["error"]


def test_unknown_model_error_suggests_the_nearest_keys(client):
    d = client.post("/api/fit", json={"model": "llama-3.1-7b", "hardware": "h100-sxm"}).json()
    assert d["field"] == "model" and "llama-3.1-70b" in d["suggestions"]


def test_library_errors_carry_expected_and_got(client):
    d = client.post("/api/tco", json={"hardware": "h100-sxm", "overrides": {"pue": 0.5}}).json()
    assert d["field"] == "pue" and d["expected"] and d["got"] == 0.5
    assert d["expected"] in d["error"]  # the message the page shows names what was expected


def test_frontier_sweeps_over_the_layout_bound_are_refused(inproc, monkeypatch):
    client = inproc
    from tokenfab import search
    from tokenfab.catalog.models import get_model

    body = {"model": "deepseek-v3", "hardware": ["groq-lpu", "h100-sxm"], "mode": "agg"}
    n = ui_calls.frontier_layout_count("deepseek-v3", ["groq-lpu", "h100-sxm"], None, None)
    expected_n = 0
    m = get_model("deepseek-v3")
    for h in search.resolve_hardware(["groq-lpu", "h100-sxm"]):
        for g in search.gpu_ladder(m, h, search.resolve_weights(m, None)):
            expected_n += len(search.layouts(m, h, g))
    assert n == expected_n > 10
    monkeypatch.setattr(ui_calls, "MAX_LAYOUTS", n - 1)
    r = client.post("/api/frontier", json=body)
    assert r.status_code == 400 and r.json()["field"] == "hardware" and "too large" in r.json()["error"]
    assert r.json()["got"] == f"{n:,}"
    monkeypatch.setattr(ui_calls, "MAX_LAYOUTS", n)
    assert client.post("/api/frontier", json=body).status_code == 200


def test_every_bundled_frontier_fits_the_layout_bound():
    """The bound refuses only sweeps larger than any single bundled model on the MAX_HARDWARE largest catalogs."""
    from tokenfab.catalog.hardware import catalog
    from tokenfab.catalog.models import model_keys

    for model in model_keys():
        per_hw = sorted((ui_calls.frontier_layout_count(model, [h], None, None) for h in catalog()), reverse=True)
        assert sum(per_hw[: ui_requests.MAX_HARDWARE]) <= ui_requests.MAX_LAYOUTS, (model, per_hw[:6])


def test_validation_errors_say_what_was_expected(client):
    d = client.post("/api/fit", json={"model": "llama-3.1-8b", "hardware": "h100-sxm", "users": 0}).json()
    assert d["field"] == "users" and d["expected"] == ">= 1" and d["got"] == 0
    d = client.post("/api/frontier", json={"model": "llama-3.1-8b", "hardware": ["h100-sxm"], "mode": "x"}).json()
    assert d["field"] == "mode" and "'agg'" in d["expected"]


def test_invalid_json_body_is_400(client):
    r = client.post("/api/fit", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]


@pytest.mark.parametrize(
    "query,field",
    [
        ("gpus=0&usd_per_gpu_hour=2", "gpus"),
        ("usd_per_gpu_hour=2", "gpus"),
        ("gpus=1", "usd_per_gpu_hour"),  # no price (library: tokenfab.bench.report.resolve_price)
        ("gpus=1&usd_per_gpu_hour=-3", "usd_per_gpu_hour"),
        ("gpus=1&preset=owned-neocloud", "preset"),  # a preset needs the hardware
        ("gpus=1&hardware=h100-sxm&preset=owned-neocloud&usd_per_gpu_hour=2", "preset"),
        ("gpus=1&usd_per_gpu_hour=2&model=llama-3.1-8b", "hardware"),
        ("gpus=1&hardware=h100-sxm&model=/etc/passwd", "model"),
        ("gpus=1&usd_per_gpu_hour=2&sneaky=1", "sneaky"),
    ],
)
def test_bench_bad_parameters_are_400_naming_the_field(client, query, field):
    r = client.post(f"/api/bench?{query}", content=jsonl(bench_records(levels=(1,))))
    assert r.status_code == 400, r.text
    assert r.json()["field"] == field, r.json()


def test_bench_upload_without_records_is_400_on_the_file(client):
    r = client.post("/api/bench?gpus=1&usd_per_gpu_hour=2", content=b'{"no": "request id"}\n\xff\xfe')
    assert r.status_code == 400 and r.json()["field"] == "file"
    r = client.post("/api/bench?gpus=1&usd_per_gpu_hour=2", content=b"")
    assert r.status_code == 400 and r.json()["field"] == "file"


# ------------------------------------------------------------------------------------------------ uploads: size, memory
def test_uploads_over_the_limit_are_413(client):
    big = b'{"request_id": "x"}\n' * (2**20 // 20 + 10)
    assert len(big) > 2**20
    r = client.post("/api/bench?gpus=1&usd_per_gpu_hour=2", content=big)
    assert r.status_code == 413 and "1 MiB" in r.json()["error"] and r.json()["field"] == "file"
    assert client.post("/api/plan/upload", content=big).status_code == 413
    assert client.post("/api/fit", content=big, headers={"content-type": "application/json"}).status_code == 413

    def chunks():  # no Content-Length: counted while it streams in
        for _ in range(3):
            yield b"x" * (2**19 + 1)

    r = client.post("/api/bench?gpus=1&usd_per_gpu_hour=2", content=chunks())
    assert r.status_code == 413


def test_an_upload_just_under_the_limit_is_accepted():
    with TestClient(create_app(max_body_bytes=4096), base_url=BASE) as c:
        body = jsonl(bench_records(levels=(1,), per_level=2))
        assert len(body) < 4096
        assert c.post("/api/bench?gpus=1&usd_per_gpu_hour=2", content=body).status_code == 200
        assert c.post("/api/bench?gpus=1&usd_per_gpu_hour=2", content=body * 8).status_code == 413


def test_uploads_are_never_written_to_disk(inproc, monkeypatch, tmp_path):
    client = inproc
    import builtins
    import pathlib

    def no_write(*a, **k):
        raise AssertionError("the dashboard must not write files")

    real_open = builtins.open

    def guarded_open(file, mode="r", *a, **k):
        if any(ch in mode for ch in "wax+"):
            no_write()
        return real_open(file, mode, *a, **k)

    monkeypatch.setattr(builtins, "open", guarded_open)
    monkeypatch.setattr(pathlib.Path, "write_bytes", no_write)
    monkeypatch.setattr(pathlib.Path, "write_text", no_write)
    r = client.post("/api/bench?gpus=1&usd_per_gpu_hour=2", content=jsonl(bench_records()))
    assert r.status_code == 200


# ------------------------------------------------------------------------------------------------- no path traversal
@pytest.mark.parametrize(
    "url",
    [
        "/static/../app.py",
        "/static/%2e%2e/app.py",
        "/static/..%2fapp.py",
        "/static/%2e%2e%2f%2e%2e%2fpyproject.toml",
        "/static/../../../../etc/passwd",
        "/static/app.py",
        "/static/index.html/../app.py",
        "/static/.%2e/__init__.py",
        "/static//etc/passwd",
        "/static/%2fetc%2fpasswd",
    ],
)
def test_static_files_are_a_fixed_list(client, url):
    r = client.get(url)
    assert r.status_code == 404, (url, r.status_code)
    assert "root:" not in r.text and "def create_app" not in r.text


@pytest.mark.parametrize(
    "model",
    [
        "/etc/passwd",
        "../../src/tokenfab/data/models/Qwen--Qwen3-8B.config.json",
        "src/tokenfab/data/models",
        "~/config.json",
        "C:\\config.json",
    ],
)
def test_model_paths_are_refused_before_the_library_reads_them(inproc, monkeypatch, model):
    client = inproc
    from tokenfab.catalog import models

    def no_read(*a, **k):
        raise AssertionError("a path from the user reached the file system")

    monkeypatch.setattr(models, "load_config_path", no_read)
    for path, body in (
        ("/api/fit", {"model": model, "hardware": "h100-sxm"}),
        ("/api/estimate", {"model": model, "hardware": "h100-sxm"}),
    ):
        r = client.post(path, json=body)
        assert r.status_code == 400 and r.json()["field"] == "model"


def test_plan_examples_are_chosen_by_key_only(client):
    r = client.post("/api/plan", json={"example": "../../etc/passwd"})
    assert r.status_code == 400 and r.json()["field"] == "example"
    assert "root:" not in r.text


SCENARIO = """\
name: tiny
horizon_months: 3
model: {model}
hardware: [h100-sxm]
diurnal: {{peak_to_average: 2}}
features:
{features}
personas:
  - {{name: everyone, count: 1000, active_share: 0.5, sessions_per_day: 1, requests_per_session: 2,
     features: {{f0: 1}}}}
"""


def scenario_text(model="llama-3.1-8b", n_features=1, extra=""):
    feats = "".join(f"  f{i}: {{kind: chat, input_tokens: 500, output_tokens: 100}}\n" for i in range(n_features))
    return SCENARIO.format(model=model, features=feats) + extra


def test_scenario_text_is_parsed_by_the_library_with_the_dashboard_bounds():
    from tokenfab.planning.scenario import parse_scenario_text

    sc = ui_calls.scenario_from_text(scenario_text(), "upload")
    assert sc == parse_scenario_text(scenario_text(), source="upload")
    with pytest.raises(TokenfabError) as e:  # a path as the model is refused before the library reads it
        ui_calls.scenario_from_text(scenario_text(model="/etc/passwd"), "upload")
    assert e.value.field == "model"
    with pytest.raises(TokenfabError) as e:
        ui_calls.scenario_from_text(scenario_text(n_features=ui_requests.MAX_SCENARIO_FEATURES + 1), "upload")
    assert e.value.field == "features" and e.value.got == ui_requests.MAX_SCENARIO_FEATURES + 1
    ui_calls.scenario_from_text(scenario_text(n_features=ui_requests.MAX_SCENARIO_FEATURES), "upload")
    with pytest.raises(TokenfabError) as e:  # YAML aliases (billion-laughs) are refused
        ui_calls.scenario_from_text(scenario_text(extra="description: &a hi\nbogus: *a\n"), "upload")
    assert e.value.field == "file" and "aliases" in str(e.value)


def test_an_uploaded_scenario_s_unknown_hardware_carries_its_line():
    """The dashboard checked catalog keys without the scenario's line map: the CLI said (line 4), the page nothing."""
    with pytest.raises(TokenfabError) as e:
        ui_calls.scenario_from_text(scenario_text().replace("[h100-sxm]", "[h100-sxmm]"), "upload")
    assert e.value.field == "hardware[0]" and getattr(e.value, "line", None) == 4


def test_plan_upload_errors_name_the_file_or_the_scenario_field(client):
    r = client.post("/api/plan/upload", content=b"name: [unclosed\n")
    assert r.status_code == 400 and r.json()["field"] == "file" and "not valid YAML" in r.json()["error"]
    r = client.post(
        "/api/plan/upload", content=scenario_text().replace("horizon_months: 3", "horizon_months: 999").encode()
    )
    assert r.status_code == 400 and r.json()["field"] == "horizon_months" and "line 2" in r.json()["error"]
    r = client.post("/api/plan/upload", content=b"\xff\xfe not utf-8")
    assert r.status_code == 400 and r.json()["field"] == "file"
    r = client.post("/api/plan/upload", content=scenario_text().encode())
    assert r.status_code == 200, r.text
    assert r.json()["scenario"]["name"] == "tiny" and len(r.json()["months"]) == 3


def test_scenario_hardware_is_bounded():
    hw = "[" + "h100-sxm, h200-sxm, b200, b300, mi300x, mi325x, mi355x" + "]"
    text = scenario_text().replace("hardware: [h100-sxm]", f"hardware: {hw}")
    with pytest.raises(TokenfabError) as e:
        ui_calls.scenario_from_text(text, "upload")
    assert e.value.field == "hardware"


def test_hardware_is_a_catalog_key_only(client):
    r = client.post("/api/tco", json={"hardware": "/etc/passwd"})
    assert r.status_code == 400 and r.json()["field"] == "hardware" and "root:" not in r.text


# ------------------------------------------------------------------------------------------------- time limit, host
def test_in_thread_mode_slow_work_hits_the_time_limit_but_keeps_its_thread(monkeypatch):
    """isolation="thread" (tests that patch the library): the limit is answered, the thread cannot be stopped.

    The stuck call holds its thread for STUCK_S unless released, so a bound well under STUCK_S tells an answer at
    the limit (or at once, for "busy") from one that waited for the thread, with room for a loaded machine."""
    STUCK_S = 120.0
    release = threading.Event()

    def slow_fit(*a, **k):
        release.wait(STUCK_S)
        raise AssertionError("unreachable: released only at the end of the test")

    monkeypatch.setattr(memory, "fit", slow_fit)
    try:
        with TestClient(create_app(time_limit_s=0.3, workers=1, max_pending=1, isolation="thread"), base_url=BASE) as c:
            t0 = time.perf_counter()
            r = c.post("/api/fit", json={"model": "llama-3.1-8b", "hardware": "h100-sxm"})
            assert r.status_code == 504 and "0.3 s limit" in r.json()["error"]
            assert 0.29 <= time.perf_counter() - t0 < STUCK_S / 4  # at the limit, not after the thread
            t0 = time.perf_counter()
            assert c.get("/api/health").json()["ok"] is True  # the event loop still answers
            busy = c.post("/api/fit", json={"model": "llama-3.1-8b", "hardware": "h100-sxm"})
            assert busy.status_code == 503 and "busy" in busy.json()["error"]  # the worker thread is still stuck
            assert time.perf_counter() - t0 < STUCK_S / 4
            release.set()
    finally:
        release.set()  # never leave the thread stuck for STUCK_S, whatever failed


def test_a_worker_process_past_the_limit_is_stopped_and_replaced():
    """The process pool (the default): a call past its limit kills its worker, so its CPU is free at once, and the
    next call runs on a fresh worker (issue 14: two slow uploads held /api/fit for 338 s with threads)."""
    import _slow
    from tokenfab.ui.workers import CallFailed, CallTimeout, ProcessPool

    pool = ProcessPool(workers=1, time_limit_s=1.0, max_pending=2)
    try:
        first = pool.call_blocking(_slow.pid)
        t0 = time.perf_counter()
        with pytest.raises(CallTimeout):
            pool.call_blocking(_slow.spin, (60.0,))
        assert time.perf_counter() - t0 < 30  # the limit (1 s) plus a kill, with room for a loaded machine
        assert pool.killed == 1 and first not in pool.alive
        assert pool.call_blocking(_slow.add, (2, 3)) == 5  # a fresh worker
        assert pool.call_blocking(_slow.pid) != first
        with pytest.raises(CallFailed, match="KeyError"):  # a bug in a call is reported, the worker survives
            pool.call_blocking(_slow.fail)
        with pytest.raises(TokenfabError) as e:  # a user error keeps its field across the process boundary
            pool.call_blocking(ui_calls.model_key, ("no-such-model",))
        assert e.value.field == "model" and e.value.suggestions is not None
    finally:
        pool.close()
    assert not pool.alive


def test_a_request_past_the_limit_answers_504_and_frees_its_worker():
    with TestClient(create_app(time_limit_s=0.01, workers=1, max_pending=2), base_url=BASE) as c:
        body = {"model": "deepseek-v3", "hardware": ["h100-sxm", "h200-sxm", "b200"], "mode": "both"}
        r = c.post("/api/frontier", json=body)
        assert r.status_code == 504 and "stopped" in r.json()["error"]
        assert c.app.state.runner.pool.killed >= 1
        assert c.get("/api/health").json()["ok"] is True
        again = c.post("/api/frontier", json=body)  # not 503: the stopped worker was replaced
        assert again.status_code == 504


def test_requests_with_a_foreign_host_header_are_refused():
    with TestClient(create_app(), base_url="http://evil.example") as c:
        r = c.get("/api/meta")
        assert r.status_code == 400 and "Host" in r.json()["error"]
        assert c.get("/api/meta", headers={"host": "127.0.0.1.evil.example"}).status_code == 400
    with TestClient(create_app(), base_url="http://localhost:8050") as c:
        assert c.get("/api/health").status_code == 200
        assert c.get("/api/health", headers={"host": "[::1]:8050"}).status_code == 200
    assert ui_security.host_name("[::1]:8050") == "[::1]" and ui_security.host_name("127.0.0.1:80") == "127.0.0.1"


def test_unknown_routes_are_404_json(client):
    r = client.get("/api/nothing")
    assert r.status_code == 404 and r.json()["error"]


# ------------------------------------------------------------------------------------------------- CLI
def test_cli_ui_binds_to_loopback_by_default(monkeypatch):
    import uvicorn

    from tokenfab.cli.main import app

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda asgi, **kw: calls.append((asgi, kw)))
    res = CliRunner().invoke(app, ["ui"])
    assert res.exit_code == 0, res.output
    ((asgi, kw),) = calls
    assert kw["host"] == "127.0.0.1" and kw["port"] == 8050
    with TestClient(asgi, base_url="http://127.0.0.1:8050") as c:
        assert c.get("/api/health").status_code == 200
    res = CliRunner().invoke(app, ["ui", "--host", "0.0.0.0", "--port", "9000"])
    assert res.exit_code == 0 and calls[-1][1]["host"] == "0.0.0.0" and "no authentication" in res.output
    res = CliRunner().invoke(app, ["ui", "--port", "70000"])
    assert res.exit_code == 2 and "--port" in res.output


def test_allowed_hosts_follow_the_bind_address():
    from tokenfab.cli.ui import allowed_hosts_for

    assert allowed_hosts_for("127.0.0.1") == ("127.0.0.1", "localhost", "[::1]")
    assert allowed_hosts_for("10.0.0.5")[-1] == "10.0.0.5"
    assert allowed_hosts_for("0.0.0.0") is None


def test_a_null_overrides_mapping_names_its_field(client):
    """`overrides: null` gave an error with no field (the location's "overrides" was stripped even when it was the
    last part)."""
    r = client.post("/api/tco", json={"hardware": "h100-sxm", "overrides": None})
    assert r.status_code == 400 and r.json()["field"] == "overrides"


def test_a_non_finite_value_is_shown_as_sent():
    """A NaN a client sends was reported as `got: null` (JSON has no NaN): it is shown as text."""
    from tokenfab.ui.security import error_body

    assert error_body("x", "pue", got=float("nan"))["got"] == "nan"
    assert error_body("x", "pue", got=float("inf"))["got"] == "inf"
    assert error_body("x", "pue", got=1.5)["got"] == 1.5


def test_bench_compare_takes_the_engine_measured(client):
    """The dashboard's comparison always used the vendor's default engine while the CLI took --engine."""
    recs = bench_records(levels=(1,))
    q = "gpus=1&hardware=h100-sxm&usd_per_gpu_hour=2&model=llama-3.1-8b"
    r = client.post(f"/api/bench?{q}&engine=vllm", content=jsonl(recs))
    assert r.status_code == 200, r.text
    row = r.json()["comparison"]["rows"][0]
    e = serving.estimate("llama-3.1-8b", "h100-sxm", gpus=1, isl=100, osl=20, concurrency=1, engine="vllm")
    assert row["tpot_ms_p50"]["predicted"] == pytest.approx(e.tpot_ms)
    d = serving.estimate("llama-3.1-8b", "h100-sxm", gpus=1, isl=100, osl=20, concurrency=1)
    assert e.tpot_ms != pytest.approx(d.tpot_ms)  # the engine matters here, so the test can fail
    assert client.get("/api/meta").json()["engines"][0]["key"]


def test_estimate_and_frontier_take_an_engine(client):
    """The dashboard's Estimate and Frontier had no engine choice (vendor defaults only), unlike the CLI."""
    from tokenfab.search.result import frontier as lib_frontier

    body = {"model": "llama-3.1-8b", "hardware": "h100-sxm", "gpus": 1, "concurrency": 4, "engine": "vllm"}
    r = client.post("/api/estimate", json=body)
    assert r.status_code == 200, r.text
    e = serving.estimate("llama-3.1-8b", "h100-sxm", gpus=1, concurrency=4, engine="vllm")
    assert r.json()["engine"] == "vllm" and r.json()["tpot_ms"] == pytest.approx(e.tpot_ms)
    fr = client.post("/api/frontier", json={"model": "llama-3.1-8b", "hardware": ["h100-sxm"], "gpus": 1,
                                            "engine": "vllm", "mode": "agg"})  # fmt: skip
    assert fr.status_code == 200, fr.text
    lib = lib_frontier("llama-3.1-8b", ["h100-sxm"], gpus=1, engine="vllm", mode="agg")
    assert len(fr.json()["points"]) == len(lib.points())
    bad = client.post("/api/estimate", json={**body, "hardware": "mi300x", "engine": "trtllm"})
    assert bad.status_code == 400 and "engine" in bad.text
