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
import tempfile
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
# screenshots (every view and the report at 1400 and 800 px) go to a temporary folder so a test run leaves the
# checkout clean; to refresh the README's pictures: TOKENFAB_SCREENSHOTS=docs/screenshots python -m pytest
# tests/test_ui_browser.py
SCREENSHOTS = Path(
    os.environ.get("TOKENFAB_SCREENSHOTS") or Path(tempfile.gettempdir()) / "tokenfab-screenshots"
).resolve()
SKIP = os.environ.get("TOKENFAB_SKIP_BROWSER") == "1"
# how long a wait for the page may take, and the served dashboard's per-call limit in these tests: every view
# computes in a second or two on a quiet machine; a loaded 2-core CI machine may be 10x slower, and a wait or a
# limit that expires there fails a page that is right. A page that never gets there still fails (pytest-timeout).
WAIT_MS = 120_000
SERVER_TIME_LIMIT_S = 120.0

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


from _cli import same_json  # noqa: E402
from tokenfab.bench import report  # noqa: E402
from tokenfab.economics import tco  # noqa: E402
from tokenfab.economics.cost import compute_cost  # noqa: E402
from tokenfab.perf import memory, serving  # noqa: E402
from tokenfab.render import format as F  # noqa: E402
from tokenfab.ui.app import create_app  # noqa: E402


# ------------------------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def base_url():
    from _fuzz import live_server

    with live_server(create_app(time_limit_s=SERVER_TIME_LIMIT_S)) as port:
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
    pg.set_default_timeout(WAIT_MS)  # every wait of Playwright's (clicks, selectors, navigation)
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
    t.join(300)
    if failures:
        raise failures[0]
    assert not t.is_alive(), "the bench run did not finish"  # never a half-written results file
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
        timeout=WAIT_MS,
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


def assert_shown(page, view: str, key: str, expected: float, fmt=None) -> None:
    """The page shows ``expected`` as tokenfab.render.format writes it (``fmt``, default ``num``): the dashboard's
    numbers are the library's, in the same words as the CLI's."""
    fmt = fmt or F.num
    got = shown(page, view, key)
    assert got == fmt(expected), (key, got, fmt(expected), expected)


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


def pick_hardware(page, keys) -> None:
    """Pick exactly ``keys`` in the Frontier view's hardware chips with plain clicks (no modifier keys)."""
    for box in page.locator("#view-frontier .checklist input[type=checkbox]").all():
        want = box.get_attribute("value") in keys
        if box.is_checked() != want:
            box.evaluate("b => b.closest('label').click()")


WIDTHS = (1400, 800)
# what a person should not read: e+ / e- notation (1.227e+04), and (below) the JSON's snake_case field names
E_NOTATION = re.compile(r"\d\.?\d*[eE][+-]\d")
SNAKE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")


def field_names(*docs) -> set[str]:
    """Every snake_case key of the given JSON documents, recursively, and every field tokenfab labels."""
    out = {k for k in F.labels_data()["fields"] if "_" in k}

    def walk(x):
        if isinstance(x, dict):
            for k, v in x.items():
                if "_" in str(k):
                    out.add(str(k))
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)

    for d in docs:
        walk(d)
    return out


def field_names_in(text: str, names: set[str]) -> list[str]:
    """Field names shown as such in ``text`` (inside a path, a key path or a flag they are references, not labels)."""
    bad = []
    for m in SNAKE.finditer(text):
        before = text[m.start() - 1] if m.start() else " "
        after = text[m.end()] if m.end() < len(text) else " "
        if m.group(0) in names and before not in "./-*`'\"[" and after not in "./`'\"]":
            bad.append(m.group(0))
    return bad


CHART_GEOMETRY = """(root) => Array.from(root.querySelectorAll('.js-plotly-plot')).filter(g => g.offsetParent !== null)
  .map(g => {
    const box = (e) => { if (!e) return null; const r = e.getBoundingClientRect();
      return r.width || r.height ? {x: r.left, y: r.top, w: r.width, h: r.height} : null; };
    const fl = g._fullLayout || {};
    const axes = Object.keys(fl).filter(k => /^[xy]axis\\d*$/.test(k) && fl[k].visible !== false && fl[k]._id)
      .map(k => ({name: k, title: (fl[k].title && fl[k].title.text) || ''}));
    return {
      id: g.id,
      svg: box(g.querySelector('.main-svg')),
      container: box(g.parentElement),
      title: box(g.querySelector('.gtitle')),
      modebar: box(g.querySelector('.modebar')),
      legend: box(g.querySelector('g.legend')),
      items: Array.from(g.querySelectorAll('g.legend g.traces')).map(box).filter(b => b),
      axes,
      texts: Array.from(g.querySelectorAll('svg text')).map(t => t.textContent),
    };
  })"""


def overlap(a, b, slack: float = 0.5) -> bool:
    return bool(a and b) and not (
        a["x"] + a["w"] <= b["x"] + slack
        or b["x"] + b["w"] <= a["x"] + slack
        or a["y"] + a["h"] <= b["y"] + slack
        or b["y"] + b["h"] <= a["y"] + slack
    )


def inside(a, b, slack: float = 1.0) -> bool:
    return (
        a["x"] >= b["x"] - slack
        and a["y"] >= b["y"] - slack
        and a["x"] + a["w"] <= b["x"] + b["w"] + slack
        and a["y"] + a["h"] <= b["y"] + b["h"] + slack
    )


def visual_checks(page, root: str, names: set[str], where: str) -> None:
    """Every chart under ``root``: its title clear of the Plotly toolbar, its legend inside the chart with no two
    entries on top of each other, a title on every axis, the chart no wider than its box and not collapsed to a
    sliver; and the visible text
    (page and charts) without e+ notation or snake_case field names."""
    charts = page.evaluate(CHART_GEOMETRY, page.locator(root).element_handle())
    problems: list[str] = []
    for c in charts:
        cid = f"{where} {c['id']}"
        if overlap(c["title"], c["modebar"]):
            problems.append(f"{cid}: the title runs under the toolbar")
        if c["legend"] and not inside(c["legend"], c["svg"]):
            problems.append(f"{cid}: the legend is cut off ({c['legend']} outside {c['svg']})")
        for i, a in enumerate(c["items"]):
            for b in c["items"][i + 1 :]:
                if overlap(a, b, slack=1.0):
                    problems.append(f"{cid}: legend entries overlap")
        for ax in c["axes"]:
            if not ax["title"].strip():
                problems.append(f"{cid}: {ax['name']} has no title")
        if not c["svg"] or c["svg"]["h"] < 150:  # a redraw that took its height from an empty box
            problems.append(f"{cid}: collapsed ({(c['svg'] or {}).get('h', 0):.0f} px high)")
        if c["svg"] and c["container"] and c["svg"]["w"] > c["container"]["w"] + 2:
            problems.append(f"{cid}: wider than its box ({c['svg']['w']:.0f} > {c['container']['w']:.0f} px)")
        text = " ".join(c["texts"])
        problems += [f"{cid}: e-notation {m!r}" for m in E_NOTATION.findall(text)]
        problems += [f"{cid}: field name {n!r}" for n in field_names_in(text, names)]
    visible = page.locator(root).inner_text()
    problems += [f"{where}: e-notation {m!r} in the text" for m in E_NOTATION.findall(visible)]
    problems += [f"{where}: field name {n!r} in the text" for n in field_names_in(visible, names)]
    assert not problems, "\n".join(problems)


def wait_charts_fit(page, root: str) -> None:
    """Wait until every chart under ``root`` has followed its box's width (Plotly redraws on resize)."""
    page.wait_for_function(
        "(sel) => Array.from(document.querySelectorAll(sel + ' .js-plotly-plot')).filter(g => g.offsetParent)"
        ".every(g => { const s = g.querySelector('.main-svg'); return s && "
        "s.getBoundingClientRect().width <= g.parentElement.getBoundingClientRect().width + 2; })",
        arg=root,
        timeout=WAIT_MS,
    )


def screenshot(page, view: str, names: set[str] | None = None, root: str | None = None) -> None:
    """Screenshots of the view at 1400 and 800 px (SCREENSHOTS/<view>-<width>.png; <view>.png at 1400 for the
    README), each width checked by :func:`visual_checks`."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    root = root or f"#view-{view}"
    names = names if names is not None else field_names()
    for w in WIDTHS:
        page.set_viewport_size({"width": w, "height": 1000})
        page.evaluate("() => window.dispatchEvent(new Event('resize'))")
        wait_charts_fit(page, root)
        page.screenshot(path=str(SCREENSHOTS / f"{view}-{w}.png"), full_page=True)
        if w == WIDTHS[0]:
            page.screenshot(path=str(SCREENSHOTS / f"{view}.png"), full_page=True)
        visual_checks(page, root, names, f"{view} at {w} px")
    page.set_viewport_size({"width": WIDTHS[0], "height": 1000})


# ------------------------------------------------------------------------------------------------- views
def test_fit_view(page):
    open_view(page, "fit")
    wait_result(page, "fit", 0)
    r = memory.fit("llama-3.1-70b", "h100-sxm", users=1, context=4096)
    assert_shown(page, "fit", "memory_per_gpu_gib", r.memory_per_gpu_gib)
    assert shown(page, "fit", "message") == r.message

    page.fill("#view-fit input[name=users]", "32")
    page.fill("#view-fit input[name=context]", "8192")
    page.fill("#view-fit input[name=gpus]", "4")
    page.select_option("#view-fit select[name=kv]", "fp8")
    compute(page, "fit")
    r = memory.fit("llama-3.1-70b", "h100-sxm", users=32, context=8192, gpus=4, kv="fp8")
    for key in (
        "memory_per_gpu_gib",
        "capacity_per_gpu_gib",
        "headroom_per_gpu_gib",
        "max_concurrent_sequences",
        "chips_needed",
        "nodes_needed",
        "racks_needed",
        "weights_gib",
        "kv_cache_gib",
    ):
        assert_shown(page, "fit", key, getattr(r, key))
    assert_shown(page, "fit", "chips_needed_exact", r.chips_needed_exact, lambda x: F.num(x, 2))
    assert number(shown(page, "fit", "gpus")) == r.gpus == 4
    # the layout is explained against the chips the memory alone needs, and the settings line names the defaults
    from tokenfab.api import explain

    assert shown(page, "fit", "layout_note") == explain.layout_note(same_json(r.to_dict()))
    assert "(the checkpoint's)" in shown(page, "fit", "header")
    assert shown(page, "fit", "message") == r.message
    assert_charts(page, "fit", ["fit-chart"])
    assert page.locator("#fit-chart g.point").count() == 4 * r.gpus  # 4 memory parts x one bar per GPU
    screenshot(page, "fit", field_names(same_json(r.to_dict())))

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
    for key in (
        "ttft_ms",
        "tpot_ms",
        "tokens_per_s_per_user",
        "output_tokens_per_s",
        "output_tokens_per_s_per_gpu",
        "total_tokens_per_s_per_gpu",
        "concurrency",
        "concurrency_cap",
        "memory_per_gpu_gib",
        "decode_step_ms",
    ):
        assert_shown(page, "estimate", key, getattr(e, key))
    assert shown(page, "estimate", "bound") == e.bound
    # the bound is read beside the bars: the largest bar is named next to it, in the same words as the CLI
    from tokenfab.api import explain

    part, share = explain.largest_part(e.breakdown)
    assert shown(page, "estimate", "largest_part") == f"{F.label(part)} ({F.pct(share)})"
    assert shown(page, "estimate", "bound_note") == explain.bound_note(same_json(e.to_dict()))
    assert_charts(page, "estimate", ["estimate-chart"])
    # one bar per operator class that takes time in the decode step
    assert page.locator("#estimate-chart g.point").count() == sum(1 for v in e.breakdown.values() if v > 0)
    screenshot(page, "estimate", field_names(same_json(e.to_dict())))

    page.fill("#view-estimate input[name=gpus]", "3")
    page.fill("#view-estimate input[name=tp]", "3")
    compute(page, "estimate", status="error")
    assert "does not divide the 64 attention heads" in field_error(page, "estimate", "tp")


def test_frontier_view(page):
    open_view(page, "frontier")
    wait_result(page, "frontier", 0)
    page.select_option("#view-frontier select[name=model]", "llama-3.1-8b")
    pick_hardware(page, ["h100-sxm", "b200", "mi300x"])
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
        assert cells.nth(2).inner_text() == F.num(res["total_tokens_per_s_per_gpu"])
        assert cells.nth(3).inner_text() == F.num(res["usd_per_mtok_total"])
        assert cells.nth(6).inner_text() == F.si(res["tokens_per_s_per_mw"])  # tokens/s per MW as in the CLI
    for tier in ("bulk", "goldilocks", "premium"):
        p = d["tiers"][tier]
        card = page.locator(f"#view-frontier .card[data-tier='{tier}']")
        if p is None or p["usd_per_mtok_total"] is None:
            continue
        assert card.locator(".value").inner_text() == F.usd(p["usd_per_mtok_total"])
        assert p["hardware"] in card.inner_text()
    assert_charts(page, "frontier", ["frontier-chart", "frontier-cost-chart"])
    curves = page.evaluate(
        "() => document.getElementById('frontier-chart').data.filter(t => t.mode === 'lines+markers')"
        ".map(t => t.line.shape)"
    )
    assert len(curves) == len({(p["hardware"], p["mode"]) for p in d["points"]})
    assert set(curves) == {"linear"}  # points joined by lines, not steps
    bands = page.evaluate("() => document.getElementById('frontier-chart').data.filter(t => t.fill).length")
    assert bands == len(curves)  # every frontier has its p10-p90 band
    screenshot(page, "frontier", field_names(d))

    page.fill("#view-frontier input[name=target_interactivity]", "-5")
    compute(page, "frontier", status="error")
    assert "target_interactivity" in field_error(page, "frontier", "target_interactivity")


def test_tco_view(page):
    open_view(page, "tco")
    wait_result(page, "tco", 0)
    t = tco.tco("h100-sxm")
    assert_shown(page, "tco", "usd_per_gpu_hour", t.usd_per_gpu_hour, F.usd)

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
    for key, fmt in (
        ("usd_per_gpu_hour", F.usd),
        ("usd_per_gpu_hour_wallclock", F.usd),
        ("capex_usd_per_gpu_all_in", F.usd),
        ("life_spend_usd_per_gpu", F.usd),
        ("all_in_kw_per_gpu", F.num),
        ("it_kw_per_gpu", F.num),
    ):
        assert_shown(page, "tco", key, getattr(t, key), fmt)
    c = compute_cost(t.usd_per_gpu_hour, total_tokens_per_s_per_gpu=2000)
    assert_shown(page, "tco", "usd_per_mtok_total", c.usd_per_mtok_total, F.usd)
    # every input is editable and shows its unit and its source
    rows = page.locator("#tco-inputs tbody tr")
    assert rows.count() == len(tco.INPUT_FIELDS)
    for i, name in enumerate(tco.INPUT_FIELDS):
        cells = rows.nth(i).locator("td")
        assert cells.nth(0).inner_text() == F.label(name)  # a label, never the field name
        assert cells.nth(1).locator("input").count() == 1
        assert cells.nth(2).inner_text() == tco.FIELD_UNITS[name].replace("USD", "$")
        assert cells.nth(3).inner_text().strip()
        if tco.FIELD_UNITS[name].startswith("USD"):  # dollar inputs say so in the box
            assert cells.nth(1).locator(".prefix").inner_text() == "$"
    pue_row = page.locator("#tco-inputs tr[data-field='pue'] td")
    assert (
        pue_row.nth(3).inner_text() == "you (edited here)" and pue_row.nth(1).locator("input").input_value() == "1.25"
    )
    wacc_src = page.locator("#tco-inputs tr[data-field='wacc'] td").nth(3).inner_text()
    assert wacc_src == F.humanize(t.sources["wacc"])
    assert_charts(page, "tco", ["tco-chart", "tco-share-chart"])
    screenshot(page, "tco", field_names(same_json(t.to_dict())))

    before = seq(page, "tco")
    pue = page.locator("#tco-inputs input[name=pue]")
    pue.fill("0.5")
    pue.press("Tab")
    wait_result(page, "tco", before, status="error")
    assert ">= 1" in page.locator("#tco-inputs .field-error[data-error-for='pue']").inner_text()


def test_plan_view(page, tmp_path):
    open_view(page, "plan")
    from tokenfab.planning import plan as planning
    from tokenfab.planning.scenario import parse_scenario_text
    from tokenfab.ui.calls import example_files

    examples = example_files()
    key = "consumer_chat" if "consumer_chat" in examples else next(iter(examples))
    page.select_option("#view-plan select[name=example]", key)
    compute(page, "plan")
    text = examples[key].read_text(encoding="utf-8")
    from tokenfab.cli.common import to_jsonable

    d = to_jsonable(planning.plan(parse_scenario_text(text, source=f"examples/{key}.yaml")).to_dict())
    s = d["summary"]
    assert shown(page, "plan", "best_hardware") == (d["best_hardware"] or "none feasible")
    for key_, fmt in (
        ("users", F.num),
        ("gpus", F.num),
        ("mw", F.num),
        ("cost_usd_per_month", F.usd),
        ("usd_per_mtok_blended", F.usd),
        ("horizon_cost_usd", F.usd),
        ("tokens_per_day", F.si),
    ):
        if s.get(key_) is not None:
            assert_shown(page, "plan", key_, s[key_], fmt)
    rows = page.locator("#plan-table tbody tr")
    assert rows.count() == len(d["hardware"])
    for i, h in enumerate(d["hardware"]):
        cells = rows.nth(i).locator("td")
        assert cells.nth(0).inner_text() == h["hardware"]
        assert cells.nth(1).inner_text() == ("yes" if h["feasible"] else "no")
        if h["feasible"]:
            assert cells.nth(2).inner_text() == F.num(h["totals"]["peak_gpus"])
            assert cells.nth(4).inner_text() == F.usd(h["totals"]["cost_usd"])
    charts = ["plan-demand-chart", "plan-gpus-chart", "plan-money-chart", "plan-usdmtok-chart"]
    assert_charts(page, "plan", charts)
    n_feasible = sum(1 for h in d["hardware"] if h["feasible"])
    # one line per feasible hardware (in the legend) and, with its p10-p90 GPUs, two band edges (not in the legend)
    assert page.locator("#plan-gpus-chart g.legend g.traces").count() == n_feasible
    banded = sum(1 for h in d["hardware"] if h["feasible"] and h["monthly"].get("gpus_p10"))
    assert page.locator("#plan-gpus-chart g.trace.scatter").count() == n_feasible + 2 * banded
    screenshot(page, "plan", field_names(d))

    # an uploaded scenario (the same example's text) gives the same plan; a broken one names its line
    upload = tmp_path / "mine.yaml"
    upload.write_text(text, encoding="utf-8")
    page.set_input_files("#view-plan input[name=file]", str(upload))
    compute(page, "plan")
    assert_shown(page, "plan", "users", s["users"])
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
    assert_shown(page, "bench", "usd_per_gpu_hour", doc["usd_per_gpu_hour"], F.usd)
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
    screenshot(page, "bench", field_names(same_json(doc)))

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


# ------------------------------------------------------------------------------------------------- static pages
def _cli(args: list[str]) -> None:
    from typer.testing import CliRunner

    from tokenfab.cli.main import app

    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output


def _static_page_checks(page, path: Path, name: str) -> None:
    """A page written by the CLI (report, --plot), opened from disk: screenshots and visual checks at 1400 and 800
    px, no JavaScript errors (the page fixture)."""
    page.goto(path.resolve().as_uri())
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot .main-svg').length > 0", timeout=WAIT_MS)
    screenshot(page, name, field_names(), root="main")


def test_report_page(page, tmp_path):
    """`tokenfab report` (the README's first command): every chart and table readable at 1400 and 800 px."""
    out = tmp_path / "report.html"
    _cli(["report", str(Path(__file__).resolve().parents[1] / "examples" / "consumer_chat.yaml"), "-o", str(out)])
    _static_page_checks(page, out, "report")
    assert page.locator("#summary").count() == 1 and page.locator("#rests-on").count() == 1
    assert page.locator("main .js-plotly-plot").count() >= 4


def test_frontier_and_sensitivity_plot_pages(page, tmp_path):
    """The CLI's --plot pages: the Pareto frontier (points joined by lines) and the tornado with its Monte Carlo."""
    fr = tmp_path / "frontier.html"
    _cli(["frontier", "-m", "llama-3.1-8b", "--hardware", "h100-sxm,b200", "--plot", str(fr)])
    _static_page_checks(page, fr, "frontier-plot")
    se = tmp_path / "sens.html"
    _cli(["sensitivity", "--hardware", "h100-sxm", "--model", "llama-3.1-8b", "--monte-carlo", "2000", "--seed", "1",
          "--plot", str(se)])  # fmt: skip
    _static_page_checks(page, se, "sensitivity-plot")
