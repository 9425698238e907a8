"""Fuzz the dashboard (issue 14): every malformed body is a 4xx naming what was wrong (never a 500), a request from
another site is refused (Origin / Referer), generated bodies for every JSON endpoint are answered below 500 with
finite numbers, a malformed request does not drop the keep-alive connection, and the report's charts survive a
feature named ``<!--<script>``."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _fuzz import ALIAS_BOMB, assert_finite, bench_records, jsonl, live_server
from tokenfab.ui.app import create_app
from tokenfab.ui.security import InternalErrorMiddleware

BASE = "http://127.0.0.1"
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
FIT = {"model": "llama-3.1-8b", "hardware": "h100-sxm"}
JSON_CT = {"content-type": "application/json"}
RECS = jsonl(bench_records()).encode()  # a valid bench upload


def _scenario(**replace) -> bytes:
    text = (EXAMPLES / "enterprise_rag.yaml").read_text()
    for a, b in replace.items():
        assert a in text
        text = text.replace(a, b, 1)
    return text.encode()


# (method, path, keyword arguments of the request, expected status, field the error names or None)
MALFORMED = [
    ("post", "/api/fit", {"content": json.dumps(FIT), "headers": {"content-type": "text/plain"}}, 415, None),
    ("post", "/api/fit", {"data": {"model": "x"}}, 415, None),
    ("post", "/api/fit", {"content": b"[1, 2]", "headers": JSON_CT}, 400, None),
    ("post", "/api/fit", {"content": b"null", "headers": JSON_CT}, 400, None),
    ("post", "/api/fit", {"content": b'"x"', "headers": JSON_CT}, 400, None),
    ("post", "/api/fit", {"content": b"{nope", "headers": JSON_CT}, 400, None),
    ("post", "/api/fit", {"content": b"\xff\xfe\x00", "headers": JSON_CT}, 400, None),
    ("post", "/api/fit", {"content": b"[" * 50_000, "headers": JSON_CT}, 400, None),
    (
        "post",
        "/api/fit",
        {"content": b'{"model": "llama-3.1-8b", "hardware": "h100-sxm", "users": NaN}', "headers": JSON_CT},
        400,
        "users",
    ),
    (
        "post",
        "/api/fit",
        {"content": b'{"model": "llama-3.1-8b", "hardware": "h100-sxm", "context": 1e400}', "headers": JSON_CT},
        400,
        "context",
    ),
    ("post", "/api/fit", {"json": {**FIT, "users": "many"}}, 400, "users"),
    ("post", "/api/fit", {"json": {**FIT, "gpus": [8]}}, 400, "gpus"),
    ("post", "/api/fit", {"json": {**FIT, "evil": 1}}, 400, "evil"),
    ("post", "/api/fit", {"json": {**FIT, "model": "[/bold]"}}, 400, "model"),
    ("post", "/api/estimate", {"json": {**FIT, "concurrency": "lots"}}, 400, "concurrency"),
    ("post", "/api/estimate", {"json": {**FIT, "isl": -1}}, 400, "isl"),
    ("post", "/api/tco", {"content": b'{"hardware": "h100-sxm", "overrides": {"pue": 1e400}}', "headers": JSON_CT},
     400, "pue"),
    ("post", "/api/tco", {"json": {"hardware": "h100-sxm", "overrides": {"life_years": 1000}}}, 400, "life_years"),
    ("post", "/api/frontier", {"json": {"model": "llama-3.1-8b", "hardware": []}}, 400, "hardware"),
    ("post", "/api/plan", {"json": {"example": "../../etc/passwd"}}, 400, "example"),
    ("post", "/api/plan/upload", {"content": _scenario(**{"horizon_months: 24": "horizon_months: .inf"})}, 400,
     "horizon_months"),
    (
        "post",
        "/api/plan/upload",
        {"content": _scenario(**{"fixed_costs_usd_per_month: 80000": "fixed_costs_usd_per_month: .inf"})},
        400,
        "fixed_costs_usd_per_month",
    ),
    ("post", "/api/plan/upload", {"content": b"\x00\x01binary"}, 400, "file"),
    ("post", "/api/plan/upload", {"content": b""}, 400, "file"),
    ("post", "/api/plan/upload", {"content": ALIAS_BOMB.encode()}, 400, "file"),
    ("post", "/api/plan/upload", {"content": b"a: " + b"[" * 5000}, 400, "file"),
    ("post", "/api/plan/upload", {"content": b"- just\n- a list\n"}, 400, "file"),
    ("post", "/api/bench?gpus=1&usd_per_gpu_hour=2", {"content": b"\xff\xfe not utf-8"}, 400, "file"),
    ("post", "/api/bench?gpus=abc", {"content": RECS}, 400, "gpus"),
    ("post", "/api/bench?gpus=1&usd_per_gpu_hour=inf", {"content": RECS}, 400, "usd_per_gpu_hour"),
    ("post", "/api/bench?gpus=1&usd_per_gpu_hour=2",
     {"content": b'{"request_id": "a", "ttft_ms": "x", "mode": "closed", "concurrency": 1}\n'}, 400, "file"),
    ("post", "/api/bench?gpus=1&usd_per_gpu_hour=2", {"content": b'{"request_id": "a", "status": "ok"}\n'}, 400,
     "file"),
    ("post", "/api/bench?gpus=1&usd_per_gpu_hour=2", {"content": b"[[[[[[[[\n{}\n"}, 400, "file"),
    ("post", "/api/bench?gpus=1", {"content": b"x" * (2 << 20)}, 413, "file"),
]  # fmt: skip


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    "method, path, kw, status, field", MALFORMED, ids=[f"{m[1]}-{i}" for i, m in enumerate(MALFORMED)]
)
def test_malformed_bodies_are_4xx_naming_the_problem(client, method, path, kw, status, field):
    r = getattr(client, method)(path, **kw)
    assert r.status_code == status, (r.status_code, r.text[:500])
    body = r.json()
    assert body["error"]
    if field is not None:
        assert body["field"] == field, body


# ------------------------------------------------------------------------------------------------- same origin
@pytest.mark.parametrize(
    "headers, status",
    [
        ({"origin": "http://evil.example"}, 403),
        ({"origin": "null"}, 403),
        ({"origin": "http://127.0.0.1.evil.example"}, 403),
        ({"origin": "http://127.0.0.1:9999"}, 403),  # another port is another origin
        ({"referer": "http://evil.example/page"}, 403),
        ({"origin": "http://127.0.0.1"}, 200),
        ({"referer": "http://127.0.0.1/"}, 200),
        ({}, 200),  # no browser acting for another site (curl, scripts)
    ],
)
def test_posts_from_another_site_are_refused(client, headers, status):
    r = client.post("/api/fit", json=FIT, headers=headers)
    assert r.status_code == status, r.text[:300]
    if status == 403:
        assert "cross-site" in r.json()["error"]
    r = client.post("/api/plan/upload", content=b"text/plain body a page can send", headers=headers)
    assert (r.status_code == 403) == (status == 403)


def test_reads_from_another_site_are_not_refused(client):
    """GET changes nothing (and a browser does not let another site read the answer without CORS headers)."""
    r = client.get("/api/health", headers={"origin": "http://evil.example"})
    assert r.status_code == 200 and "access-control-allow-origin" not in r.headers


# ------------------------------------------------------------------------------------------------- generated bodies
_JSON_VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["max", "h100-sxm", "llama-3.1-8b", "fp8", "[/bold]", "<!--<script>", "", "x" * 200]),
    st.lists(st.integers(0, 10), max_size=3),
    st.dictionaries(st.sampled_from(["pue", "a"]), st.floats(allow_nan=False, allow_infinity=False), max_size=2),
)
FIELDS = {
    "/api/fit": ["gpus", "tp", "pp", "dp", "ep", "weights", "kv", "users", "context"],
    "/api/estimate": ["gpus", "tp", "pp", "dp", "ep", "weights", "kv", "isl", "osl", "concurrency"],
    "/api/tco": ["preset", "overrides", "total_tokens_per_s_per_gpu"],
}


@pytest.mark.timeout(600)
@pytest.mark.parametrize("path", sorted(FIELDS))
@settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_generated_bodies_are_answered_below_500_with_finite_numbers(client, path, data):
    base = {"hardware": "h100-sxm"} if path == "/api/tco" else dict(FIT)
    body = dict(base, **data.draw(st.dictionaries(st.sampled_from(FIELDS[path]), _JSON_VALUE, max_size=3)))
    r = client.post(path, json=body)
    assert r.status_code < 500, (body, r.status_code, r.text[:500])
    d = r.json()
    if r.status_code == 200:
        assert_finite(d, what=path)
    else:
        assert d["error"] and r.status_code in (400, 413, 415), d


@pytest.mark.timeout(600)
@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    st.dictionaries(
        st.sampled_from(
            ["isl", "osl", "gpus", "target_interactivity", "ttft_max_ms", "price_usd_per_gpu_hour", "mode"]
        ),
        _JSON_VALUE,
        max_size=2,
    )
)
def test_generated_frontier_bodies_are_answered_below_500(client, extra):
    r = client.post("/api/frontier", json={"model": "llama-3.1-8b", "hardware": ["h100-sxm"], "mode": "agg", **extra})
    assert r.status_code < 500, (extra, r.text[:500])
    if r.status_code == 200:
        assert_finite(r.json(), what="/api/frontier")


# ------------------------------------------------------------------------------------------------- keep-alive
@pytest.fixture(scope="module")
def server():
    with live_server(create_app()) as port:
        yield port


def _exchange(sock, port: int, method: str, path: str, body: bytes = b"", ctype: str = "application/json") -> int:
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: {ctype}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    sock.sendall(head.encode() + body)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection"
        data += chunk
    header, rest = data.split(b"\r\n\r\n", 1)
    lines = header.decode("latin-1").split("\r\n")
    length = next(int(h.split(":", 1)[1]) for h in lines if h.lower().startswith("content-length"))
    while len(rest) < length:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection mid-answer"
        rest += chunk
    assert not any(h.lower() == "connection: close" for h in lines), lines
    return int(lines[0].split()[1])


@pytest.mark.timeout(120)
def test_malformed_requests_keep_the_connection_alive(server):
    """One TCP connection: each malformed request gets its 4xx and the next request is served on the same
    connection (issue 14: a 500 dropped the keep-alive connection)."""
    with socket.create_connection(("127.0.0.1", server), timeout=60) as sock:
        assert _exchange(sock, server, "POST", "/api/fit", json.dumps(FIT).encode(), ctype="text/plain") == 415
        assert _exchange(sock, server, "POST", "/api/fit", b"{nope") == 400
        assert (
            _exchange(sock, server, "POST", "/api/bench?gpus=1", b'{"request_id": 1, "mode": 5}\n', "text/plain") == 400
        )
        assert (
            _exchange(
                sock,
                server,
                "POST",
                "/api/plan/upload",
                _scenario(**{"horizon_months: 24": "horizon_months: .nan"}),
                "text/plain",
            )
            == 400
        )
        assert _exchange(sock, server, "GET", "/api/health") == 200


def test_an_unexpected_exception_is_a_500_answer_not_a_dropped_connection():
    """The last line of defence (a bug): the exception becomes a JSON 500 and does not propagate to the server."""
    import asyncio

    async def broken(scope, receive, send):
        raise KeyError("a bug")

    sent: list[dict] = []

    async def send(message):
        sent.append(message)

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    asyncio.run(InternalErrorMiddleware(broken)({"type": "http", "path": "/x", "headers": []}, receive, send))
    assert sent[0]["status"] == 500 and b"KeyError" in sent[1]["body"]


# ------------------------------------------------------------------------------------------------- report in a browser
@pytest.mark.browser
@pytest.mark.timeout(300)
def test_the_report_draws_every_chart_with_a_hostile_feature_name(tmp_path):
    """A feature named ``<!--<script>`` (and ``</script>``) broke all 7 charts of the report: the chart data is
    now escaped for ``<``, so every chart is drawn and the names show as text."""
    import os
    import shutil

    import yaml

    from tokenfab.planning import plan as planning
    from tokenfab.planning.scenario import parse_scenario_text
    from tokenfab.render.report import write_report

    d = yaml.safe_load((EXAMPLES / "enterprise_rag.yaml").read_text())
    hostile = {name: f"<!--<script>{i}</script>" for i, name in enumerate(d["features"])}
    d["features"] = {hostile[k]: v for k, v in d["features"].items()}
    for p in d["personas"]:
        p["features"] = {hostile[k]: v for k, v in p["features"].items()}
    sc = parse_scenario_text(yaml.safe_dump(d), source="x.yaml")
    assert set(sc.features) == set(hostile.values())
    res = planning.plan(sc, months=3, hardware=["h100-sxm"])
    out = write_report(res, tmp_path / "report.html")
    html = out.read_text()
    n_charts = len(json.loads(html.split("const FIGS = ", 1)[1].split(";\n", 1)[0]))
    chromium = os.environ.get("TOKENFAB_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.fail("Chromium not found: apt-get install -y chromium (scripts/test.sh does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=["--headless", "--no-sandbox", "--disable-gpu"])
        page = b.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(out.as_uri())
        page.wait_for_function(f"document.querySelectorAll('.js-plotly-plot').length >= {n_charts}", timeout=60_000)
        drawn = page.evaluate("document.querySelectorAll('.js-plotly-plot').length")
        body = page.inner_text("body")
        b.close()
    assert n_charts >= 7 and drawn == n_charts and not errors, (n_charts, drawn, errors)
    assert "<!--<script>0</script>" in body  # the name shows as text
