"""The dashboard in a real browser: uvicorn on 127.0.0.1 (a free port, a background thread) driven by Debian's
Chromium through Playwright. Each view is opened, its inputs changed, the numbers on the page compared with the
library's (computed here by calling it directly), its charts checked, and a screenshot saved to
test-artifacts/screenshots/<view>.png (or $TOKENFAB_SCREENSHOTS/<view>.png).

A missing Chromium or playwright package FAILS these tests with the command that installs it (the project's
scripts/test.sh runs `apt-get install -y chromium`); set TOKENFAB_SKIP_BROWSER=1 to skip them on purpose. No
browser is ever downloaded (`playwright install` is not used): Playwright drives the system's Chromium."""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

CHROMIUM_NAMES = ("chromium", "chromium-browser", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# screenshots go to test-artifacts/screenshots (git-ignored) so a test run leaves the checkout clean; to refresh the
# README's pictures: TOKENFAB_SCREENSHOTS=docs/screenshots python -m pytest tests/test_ui_browser.py
SCREENSHOTS = Path(
    os.environ.get("TOKENFAB_SCREENSHOTS") or Path(__file__).resolve().parents[1] / "test-artifacts" / "screenshots"
).resolve()
SKIP = os.environ.get("TOKENFAB_SKIP_BROWSER") == "1"

if SKIP:
    pytest.skip("TOKENFAB_SKIP_BROWSER=1: browser tests skipped on purpose", allow_module_level=True)


def find_chromium() -> str | None:
    """The system's Chromium (Debian's package), never a downloaded one; TOKENFAB_CHROMIUM names another binary."""
    if os.environ.get("TOKENFAB_CHROMIUM"):
        return shutil.which(os.environ["TOKENFAB_CHROMIUM"])
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


from tokenfab.bench import report  # noqa: E402
from tokenfab.economics import tco  # noqa: E402
from tokenfab.economics.cost import compute_cost  # noqa: E402
from tokenfab.perf import memory, serving
from tokenfab.ui.app import create_app, features  # noqa: E402


# ------------------------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def base_url():
    from _fuzz import live_server

    with live_server(create_app()) as port:
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def browser():
    chromium = find_chromium()
    if chromium is None:
        pytest.fail(
            "Chromium not found (looked for chromium, chromium-browser): install Debian's package with "
            "`apt-get install -y chromium` (scripts/test.sh does), or set TOKENFAB_SKIP_BROWSER=1 to skip "
            "the browser tests",
            pytrace=False,
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail(
            'the playwright Python package is missing: pip install -e ".[test]" (no browser download is '
            "needed: the tests drive the system's Chromium), or set TOKENFAB_SKIP_BROWSER=1",
            pytrace=False,
        )
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, base_url):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" and "status of 4" not in m.text else None)
    pg.base_url = base_url
    yield pg
    ctx.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture(scope="module")
def bench_results(tmp_path_factory):
    """A real results JSONL: `tokenfab bench`'s client against its local mock server (127.0.0.1)."""
    from tokenfab.bench.client import BenchConfig, run_benchmark
    from tokenfab.bench.mockserver import MockConfig, ThreadedMockServer

    out = tmp_path_factory.mktemp("bench") / "results.jsonl"
    failures: list[BaseException] = []

    def run():  # its own thread: Playwright's sync API keeps an event loop running in this one
        try:
            with ThreadedMockServer(MockConfig(ttft_ms=25, itl_ms=8)) as srv:
                run_benchmark(
                    BenchConfig(url=srv.url, model="mock", isl=64, osl=16, levels=(1, 4, 16), requests=8), out_path=out
                )
        except BaseException as e:  # noqa: BLE001 - re-raised below
            failures.append(e)

    t = threading.Thread(target=run, name="tokenfab-bench-run")
    t.start()
    t.join(60)
    if failures:
        raise failures[0]
    assert out.exists() and out.stat().st_size > 0, "the benchmark wrote no records"
    return out


# ------------------------------------------------------------------------------------------------- helpers
def open_view(page, view: str) -> None:
    page.goto(f"{page.base_url}/#{view}")
    page.wait_for_selector("body[data-ready='1']")
    page.wait_for_selector(f"#view-{view}.active")


def seq(page, view: str) -> int:
    return int(page.get_attribute(f"#view-{view}", "data-seq"))


def wait_result(page, view: str, after: int, status: str = "ok") -> None:
    """Wait until the view finished a computation started after ``after`` (data-seq) and nothing is pending."""
    page.wait_for_function(
        "([v, s]) => { const e = document.querySelector('#view-' + v);"
        " return Number(e.dataset.seq) > s && e.dataset.status !== 'busy'; }",
        arg=[view, after],
        timeout=20_000,
    )
    got = page.get_attribute(f"#view-{view}", "data-status")
    assert got == status, f"{view}: status {got}; error: {page.inner_text(f'#view-{view} .view-error')}"


def compute(page, view: str, status: str = "ok") -> None:
    before = seq(page, view)
    page.click(f"#view-{view} form button[type=submit]")
    wait_result(page, view, before, status)


def number(text: str) -> float:
    m = re.search(r"-?[\d,]*\.?\d+", text.replace("$", ""))
    assert m, f"no number in {text!r}"
    return float(m.group(0).replace(",", ""))


def shown(page, view: str, key: str) -> str:
    return page.locator(f"#view-{view} [data-out='{key}']").first.inner_text()


def assert_shown(page, view: str, key: str, expected: float, digits: int) -> None:
    """The page shows ``expected`` rounded to ``digits`` decimals."""
    got = number(shown(page, view, key))
    assert abs(got - expected) <= 0.5 * 10**-digits * 1.0001 + 1e-12, (key, got, expected)


def assert_charts(page, view: str, chart_ids: list[str]) -> None:
    """Each chart is a rendered Plotly graph (svg.main-svg) with at least one trace drawn."""
    for cid in chart_ids:
        assert page.locator(f"#view-{view} #{cid}.js-plotly-plot").count() == 1, cid
        assert page.locator(f"#{cid} svg.main-svg").count() >= 1, cid
        n_data = page.evaluate("id => (document.getElementById(id).data || []).length", cid)
        n_drawn = page.locator(f"#{cid} g.trace, #{cid} g.slice").count()
        assert n_data >= 1 and n_drawn >= 1, (cid, n_data, n_drawn)


def field_error(page, view: str, field: str) -> str:
    return page.locator(f"#view-{view} .field-error[data-error-for='{field}']").inner_text()


def screenshot(page, view: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{view}.png"), full_page=True)


# ------------------------------------------------------------------------------------------------- views
def test_fit_view(page):
    open_view(page, "fit")
    wait_result(page, "fit", 0)
    r = memory.fit("llama-3.1-70b", "h100-sxm", users=1, context=4096)
    assert_shown(page, "fit", "memory_per_gpu_gib", r.memory_per_gpu_gib, 2)
    assert shown(page, "fit", "message") == r.message

    page.fill("#view-fit input[name=users]", "32")
    page.fill("#view-fit input[name=context]", "8192")
    page.fill("#view-fit input[name=gpus]", "4")
    page.select_option("#view-fit select[name=kv]", "fp8")
    compute(page, "fit")
    r = memory.fit("llama-3.1-70b", "h100-sxm", users=32, context=8192, gpus=4, kv="fp8")
    for key, digits in (
        ("memory_per_gpu_gib", 2),
        ("capacity_per_gpu_gib", 2),
        ("headroom_per_gpu_gib", 2),
        ("max_concurrent_sequences", 0),
        ("chips_needed", 0),
        ("chips_needed_exact", 2),
        ("nodes_needed", 0),
        ("racks_needed", 0),
        ("weights_gib", 2),
        ("kv_cache_gib", 2),
    ):
        assert_shown(page, "fit", key, getattr(r, key), digits)
    assert number(shown(page, "fit", "gpus")) == r.gpus == 4
    assert shown(page, "fit", "message") == r.message
    assert_charts(page, "fit", ["fit-chart"])
    assert page.locator("#fit-chart g.point").count() == 4 * r.gpus  # 4 memory parts x one bar per GPU
    screenshot(page, "fit")

    page.fill("#view-fit input[name=users]", "0")
    compute(page, "fit", status="error")
    msg = field_error(page, "fit", "users")
    assert "users" in msg and "greater than or equal to 1" in msg
    assert "invalid" in page.get_attribute("#view-fit input[name=users]", "class")


def test_estimate_view(page):
    open_view(page, "estimate")
    wait_result(page, "estimate", 0)
    page.fill("#view-estimate input[name=gpus]", "4")
    page.fill("#view-estimate input[name=isl]", "2048")
    page.fill("#view-estimate input[name=osl]", "256")
    page.fill("#view-estimate input[name=concurrency]", "32")
    compute(page, "estimate")
    e = serving.estimate("llama-3.1-70b", "h100-sxm", gpus=4, isl=2048, osl=256, concurrency=32)
    for key, digits in (
        ("ttft_ms", 1),
        ("tpot_ms", 2),
        ("tokens_per_s_per_user", 1),
        ("output_tokens_per_s", 0),
        ("output_tokens_per_s_per_gpu", 0),
        ("total_tokens_per_s_per_gpu", 0),
        ("concurrency", 0),
        ("concurrency_cap", 0),
        ("memory_per_gpu_gib", 2),
        ("decode_step_ms", 2),
    ):
        assert_shown(page, "estimate", key, getattr(e, key), digits)
    assert shown(page, "estimate", "bound") == e.bound
    assert_charts(page, "estimate", ["estimate-chart"])
    # one bar per operator class that takes time in the decode step
    assert page.locator("#estimate-chart g.point").count() == sum(1 for v in e.breakdown.values() if v > 0)
    screenshot(page, "estimate")

    page.fill("#view-estimate input[name=gpus]", "3")
    page.fill("#view-estimate input[name=tp]", "3")
    compute(page, "estimate", status="error")
    assert "does not divide the 64 attention heads" in field_error(page, "estimate", "tp")


def test_frontier_view(page):
    open_view(page, "frontier")
    if not features()["frontier"]["available"]:
        banner = page.locator("#view-frontier .unavailable")
        assert banner.is_visible() and "not available in this build" in banner.inner_text()
        screenshot(page, "frontier")
        return
    wait_result(page, "frontier", 0)
    page.select_option("#view-frontier select[name=model]", "llama-3.1-8b")
    page.select_option("#view-frontier select[name=hardware]", ["h100-sxm", "b200", "mi300x"])
    page.select_option("#view-frontier select[name=mode]", "agg")
    page.fill("#view-frontier input[name=target_interactivity]", "120")
    compute(page, "frontier")
    from tokenfab import search

    f = search.frontier("llama-3.1-8b", ["h100-sxm", "b200", "mi300x"], mode="agg", target_interactivity=120)
    d = json.loads(json.dumps(f.to_dict(), default=float))
    rows = page.locator("#frontier-table tbody tr")
    assert rows.count() == len(d["at_target"]["results"]) == 3
    for i, res in enumerate(d["at_target"]["results"]):
        cells = rows.nth(i).locator("td")
        assert cells.nth(0).inner_text() == res["hardware"] and cells.nth(1).inner_text() == "agg"
        if res["total_tokens_per_s_per_gpu"] is not None:
            assert abs(number(cells.nth(2).inner_text()) - res["total_tokens_per_s_per_gpu"]) <= 0.05 + 1e-9
        if res["usd_per_mtok_total"] is not None:
            assert abs(number(cells.nth(3).inner_text()) - res["usd_per_mtok_total"]) <= 0.00005 + 1e-12
    for tier in ("bulk", "goldilocks", "premium"):
        p = d["tiers"][tier]
        card = page.locator(f"#view-frontier .card[data-tier='{tier}']")
        if p is None or p["usd_per_mtok_total"] is None:
            continue
        assert abs(number(card.locator(".value").inner_text()) - p["usd_per_mtok_total"]) <= 0.0005 + 1e-12
        assert p["hardware"] in card.inner_text()
    assert_charts(page, "frontier", ["frontier-chart", "frontier-cost-chart"])
    assert page.locator("#frontier-chart g.trace.scatter").count() == len(
        {(p["hardware"], p["mode"]) for p in d["points"]}
    )
    screenshot(page, "frontier")

    page.fill("#view-frontier input[name=target_interactivity]", "-5")
    compute(page, "frontier", status="error")
    assert "target_interactivity" in field_error(page, "frontier", "target_interactivity")


def test_tco_view(page):
    open_view(page, "tco")
    wait_result(page, "tco", 0)
    t = tco.tco("h100-sxm")
    assert_shown(page, "tco", "usd_per_gpu_hour", t.usd_per_gpu_hour, 3)

    before = seq(page, "tco")
    page.select_option("#view-tco select[name=hardware]", "h200-sxm")
    wait_result(page, "tco", before)
    before = seq(page, "tco")
    page.select_option("#view-tco select[name=preset]", "owned-hyperscaler")
    wait_result(page, "tco", before)
    before = seq(page, "tco")
    pue = page.locator("#tco-inputs input[name=pue]")
    pue.fill("1.25")
    pue.press("Tab")  # change event: the input becomes an override
    wait_result(page, "tco", before)
    page.fill("#view-tco input[name=total_tokens_per_s_per_gpu]", "2000")
    compute(page, "tco")
    t = tco.tco("h200-sxm", "owned-hyperscaler", pue=1.25)
    for key, digits in (
        ("usd_per_gpu_hour", 3),
        ("usd_per_gpu_hour_wallclock", 3),
        ("capex_usd_per_gpu_all_in", 0),
        ("life_spend_usd_per_gpu", 0),
        ("kw_per_gpu_all_in", 3),
        ("kw_per_gpu_it", 3),
    ):
        assert_shown(page, "tco", key, getattr(t, key), digits)
    c = compute_cost(t.usd_per_gpu_hour, total_tokens_per_s_per_gpu=2000)
    assert_shown(page, "tco", "usd_per_mtok_total", c.usd_per_mtok_total, 4)
    # every input is editable and shows its unit and its source
    rows = page.locator("#tco-inputs tbody tr")
    assert rows.count() == len(tco.INPUT_FIELDS)
    for i, name in enumerate(tco.INPUT_FIELDS):
        cells = rows.nth(i).locator("td")
        assert cells.nth(0).inner_text() == name
        assert cells.nth(1).locator("input").count() == 1
        assert cells.nth(2).inner_text() == tco.FIELD_UNITS[name]
        assert cells.nth(3).inner_text().strip()
    pue_row = page.locator("#tco-inputs tr[data-field='pue'] td")
    assert pue_row.nth(3).inner_text() == "user" and pue_row.nth(1).locator("input").input_value() == "1.25"
    wacc_src = page.locator("#tco-inputs tr[data-field='wacc'] td").nth(3).inner_text()
    assert wacc_src == t.sources["wacc"]
    assert_charts(page, "tco", ["tco-chart", "tco-share-chart"])
    screenshot(page, "tco")

    before = seq(page, "tco")
    pue = page.locator("#tco-inputs input[name=pue]")
    pue.fill("0.5")
    pue.press("Tab")
    wait_result(page, "tco", before, status="error")
    assert ">= 1" in page.locator("#tco-inputs .field-error[data-error-for='pue']").inner_text()


def compact_number(text: str) -> float:
    """A number shown in compact notation ("1.235B", "12.5M", "980")."""
    m = re.fullmatch(r"\s*(-?[\d.,]+)\s*([KMBT]?)\s*", text)
    assert m, f"not a compact number: {text!r}"
    return float(m.group(1).replace(",", "")) * {"": 1, "K": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}[m.group(2)]


def test_plan_view(page, tmp_path):
    open_view(page, "plan")
    if not features()["plan"]["available"]:
        banner = page.locator("#view-plan .unavailable")
        assert banner.is_visible() and "not available" in banner.inner_text()
        assert page.get_attribute("#view-plan", "data-status") == "unavailable"
        assert not page.locator("#view-plan form").is_visible()
        screenshot(page, "plan")
        return
    from tokenfab.planning import plan as planning
    from tokenfab.planning.scenario import parse_scenario_text
    from tokenfab.ui.app import example_files

    examples = example_files()
    key = "consumer_chat" if "consumer_chat" in examples else next(iter(examples))
    page.select_option("#view-plan select[name=example]", key)
    compute(page, "plan")
    text = examples[key].read_text(encoding="utf-8")
    from tokenfab.cli.common import to_jsonable

    d = to_jsonable(planning.plan(parse_scenario_text(text, source=f"examples/{key}.yaml")).to_dict())
    s = d["summary"]
    assert shown(page, "plan", "best_hardware") == (d["best_hardware"] or "none feasible")
    for key_, digits in (
        ("users", 0),
        ("gpus", 0),
        ("mw", 3),
        ("cost_usd_per_month", 0),
        ("usd_per_mtok_blended", 4),
        ("horizon_cost_usd", 0),
    ):
        if s.get(key_) is not None:
            assert_shown(page, "plan", key_, s[key_], digits)
    got = compact_number(shown(page, "plan", "tokens_per_day"))
    assert abs(got - s["tokens_per_day"]) <= 5e-4 * abs(s["tokens_per_day"]) + 1e-9
    rows = page.locator("#plan-table tbody tr")
    assert rows.count() == len(d["hardware"])
    for i, h in enumerate(d["hardware"]):
        cells = rows.nth(i).locator("td")
        assert cells.nth(0).inner_text() == h["hardware"]
        assert cells.nth(1).inner_text() == ("yes" if h["feasible"] else "no")
        if h["feasible"]:
            assert number(cells.nth(2).inner_text()) == h["totals"]["peak_gpus"]
            assert abs(number(cells.nth(4).inner_text()) - h["totals"]["cost_usd"]) <= 0.5 + 1e-9
    charts = ["plan-demand-chart", "plan-gpus-chart", "plan-money-chart", "plan-usdmtok-chart"]
    assert_charts(page, "plan", charts)
    n_feasible = sum(1 for h in d["hardware"] if h["feasible"])
    assert page.locator("#plan-gpus-chart g.trace.scatter").count() == n_feasible
    screenshot(page, "plan")

    # an uploaded scenario (the same example's text) gives the same plan; a broken one names its line
    upload = tmp_path / "mine.yaml"
    upload.write_text(text, encoding="utf-8")
    page.set_input_files("#view-plan input[name=file]", str(upload))
    compute(page, "plan")
    assert_shown(page, "plan", "users", s["users"], 0)
    bad = re.sub(r"(?m)^horizon_months:.*$", "horizon_months: 9999", text, count=1)
    assert bad != text
    page.set_input_files(
        "#view-plan input[name=file]",
        files=[{"name": "bad.yaml", "mimeType": "application/yaml", "buffer": bad.encode()}],
    )
    compute(page, "plan", status="error")
    banner = page.inner_text("#view-plan .view-error")
    assert "horizon_months" in banner and "line" in banner, banner
    page.set_input_files(
        "#view-plan input[name=file]",
        files=[{"name": "bad.yaml", "mimeType": "application/yaml", "buffer": b"name: [unclosed\n"}],
    )
    compute(page, "plan", status="error")
    assert "not valid YAML" in field_error(page, "plan", "file")


def test_bench_view(page, bench_results):
    open_view(page, "bench")
    page.set_input_files("#view-bench input[name=file]", str(bench_results))
    page.fill("#view-bench input[name=gpus]", "1")
    page.select_option("#view-bench select[name=hardware]", "h100-sxm")
    page.select_option("#view-bench select[name=model]", "llama-3.1-8b")
    compute(page, "bench")
    from tokenfab.bench.records import read_records

    recs, _ = read_records(bench_results)
    doc = report.report_doc(recs, gpus=1, hardware="h100-sxm")
    assert_shown(page, "bench", "usd_per_gpu_hour", doc["usd_per_gpu_hour"], 3)
    assert number(shown(page, "bench", "levels")) == len(doc["points"]) == 3
    assert number(shown(page, "bench", "records")) == len(recs)
    rows = page.locator("#bench-table tbody tr")
    assert rows.count() == 3
    for i, p in enumerate(doc["points"]):
        cells = rows.nth(i).locator("td")
        assert cells.nth(0).inner_text() == f"c={p['concurrency']}"
        run = doc["runs"][i]
        isl, osl = round(run["input_tokens"] / run["requests_ok"]), round(run["output_tokens"] / run["requests_ok"])
        e = serving.estimate("llama-3.1-8b", "h100-sxm", gpus=1, isl=isl, osl=osl, concurrency=p["concurrency"])
        # columns: level | user tok/s measured, predicted, error | total tok/s/GPU measured, predicted, error | ...
        assert abs(number(cells.nth(1).inner_text()) - p["tokens_per_s_per_user"]) <= 0.05 + 1e-9
        assert abs(number(cells.nth(2).inner_text()) - e.tokens_per_s_per_user) <= 0.05 + 1e-9
        assert abs(number(cells.nth(4).inner_text()) - p["total_tokens_per_s_per_gpu"]) <= 0.05 + 1e-9
        assert abs(number(cells.nth(5).inner_text()) - e.total_tokens_per_s_per_gpu) <= 0.05 + 1e-9
        err = 100 * (e.total_tokens_per_s_per_gpu / p["total_tokens_per_s_per_gpu"] - 1)
        assert abs(number(cells.nth(6).inner_text()) - err) <= 0.05 + 1e-9
    assert_charts(page, "bench", ["bench-chart", "bench-cost-chart"])
    assert page.locator("#bench-chart g.trace.scatter").count() == 2  # measured and predicted
    screenshot(page, "bench")

    # an upload over the 1 MiB limit: refused by the server, the message next to the file field
    page.set_input_files(
        "#view-bench input[name=file]",
        files=[{"name": "big.jsonl", "mimeType": "application/x-ndjson", "buffer": b'{"request_id": "x"}\n' * 60_000}],
    )
    compute(page, "bench", status="error")
    assert "too large" in field_error(page, "bench", "file")


def test_a_missing_chromium_fails_with_the_install_command(tmp_path):
    """Not a silent skip: without Chromium the browser tests fail and say how to install it."""
    import subprocess
    import sys

    env = dict(os.environ, TOKENFAB_CHROMIUM=str(tmp_path / "no-chromium-here"))
    env.pop("TOKENFAB_SKIP_BROWSER", None)
    res = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "test_plan_view", __file__],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode != 0, res.stdout
    assert "apt-get install -y chromium" in res.stdout and "TOKENFAB_SKIP_BROWSER=1" in res.stdout
