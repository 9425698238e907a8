"""The HTML report (tokenfab.render.report): self-contained, with its charts and key numbers, user text escaped."""

import json
import re

import pytest

from test_planning import PRICED
from tokenfab.core.errors import TokenfabError
from tokenfab.planning import plan as P
from tokenfab.planning.scenario import parse_scenario_text
from tokenfab.render import format as F
from tokenfab.render import report as R


@pytest.fixture(scope="module")
def res():
    text = PRICED.replace("name: test", 'name: "<script>alert(1)</script> & Co"')
    return P.plan(parse_scenario_text(text), months=4, hardware=["h100-sxm", "mi300x"])


@pytest.fixture(scope="module")
def page(res):
    return R.render_html(res)


def _figs(page: str) -> dict:
    m = re.search(r"const FIGS = (.*?);\nfor", page, re.S)
    return json.loads(m.group(1).replace("<\\/", "</"))


def test_self_contained_with_plotly_inline(page):
    from plotly.offline import get_plotlyjs

    js = get_plotlyjs()
    assert js in page  # plotly.js itself is inline
    rest = page.replace(js, "")
    assert "<script src=" not in rest and "http://" not in rest and "https://" not in rest
    assert rest.count("<script") == 2  # the inline library and the chart data


def test_user_text_is_escaped(page):
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in page


def test_charts_present_and_valid(page):
    import plotly.graph_objects as go

    figs = _figs(page)
    for cid in ("chart-fleet", "chart-cost", "chart-tokens", "chart-unit-cost", "chart-pareto", "chart-breakdown"):
        assert f'id="{cid}"' in page
        go.Figure(figs[cid])  # plotly accepts the figure
        assert figs[cid]["data"]
    # the Pareto chart has the frontier and the operating points
    names = [t["name"] for t in figs["chart-pareto"]["data"]]
    assert any("operating point" in n for n in names) and any(n.endswith(" (aggregated)") for n in names)
    for t in figs["chart-pareto"]["data"]:  # frontiers are points joined by straight lines, not steps
        if t.get("mode") == "lines+markers":
            assert t["line"]["shape"] == "linear"


def test_tornado_when_sensitivity_is_available(page):
    pytest.importorskip("tokenfab.economics.sensitivity")
    assert 'id="chart-tornado"' in page
    assert _figs(page)["chart-tornado"]["data"]


def test_tornado_base_is_the_summary_fleet_only_cost(res):
    """The tornado's base and the summary's 'GPU fleet alone' are one figure: the tornado once priced the serving GPUs
    alone (not the prompt-cache GPUs) at a utilization by requests, 11% below the summary on consumer_chat."""
    pytest.importorskip("tokenfab.economics.sensitivity")
    t = R.tornado_data(res, res.to_dict())
    assert t is not None
    assert t["result"]["base_usd_per_mtok"] == pytest.approx(res.summary()["usd_per_mtok_fleet_only"], rel=1e-9)


def test_key_numbers_in_executive_summary(res, page):
    s = res.summary()
    assert "Executive summary" in page
    assert f"{s['gpus']:,} GPUs" in page
    assert F.usd(s["usd_per_mtok_blended"]) in page
    assert f"{s['gross_margin_pct']:,.0f}%" in page
    assert f"{F.usd(s['breakeven_usd_per_mtok'])} per M" in page
    for sentence in s["sentences"]:
        assert R.esc(sentence) in page


def test_write_report(res, tmp_path):
    p = R.write_report(res, tmp_path / "r.html")
    assert p.read_text().startswith("<!DOCTYPE html>")
    with pytest.raises(TokenfabError):
        R.write_report(res, tmp_path / "r.pdf")


def test_a_band_reads_as_a_range_in_one_style():
    """Report cells showed "$6,173,052-$11.2M" (two styles) and "-2,992%--2,434%" (a dash beside a minus)."""
    from tokenfab.render import format as F
    from tokenfab.render.report import _band_note, _range_cell

    assert _range_cell(6_173_052, 11_200_000, F.usd) == " ($6.17M to $11.2M)"
    assert _range_cell(224_878, 280_639, F.usd) == " ($224,878 to $280,639)"
    assert _band_note({"p10": -2992.0, "p90": -2434.0}, F.pct_value) == "; p10-p90 -2,992% to -2,434%"
