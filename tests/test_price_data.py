"""Current prices: the genai-prices snapshot date on every `prices` output, a user price file (validated), stale-price
warnings past the cited age, prices that do not depend on the hour tokenfab runs."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from typer.testing import CliRunner

from tokenfab.cli.main import app
from tokenfab.core.errors import TokenfabError
from tokenfab.economics import assumptions as econ
from tokenfab.market import pricing

runner = CliRunner()
TODAY = dt.date.today()


def test_snapshot_date_and_age():
    s = pricing.genai_prices_snapshot()
    d = dt.date.fromisoformat(s["snapshot_date"])
    assert d <= TODAY and s["age_days"] == (TODAY - d).days
    assert s["version"] == pricing.genai_prices_version() and s["stale_after_days"] == econ.STALE_PRICE_AFTER_DAYS
    assert s["stale"] == (s["age_days"] > econ.STALE_PRICE_AFTER_DAYS)
    # evaluated as if it were a year later, the same data are stale
    later = pricing.genai_prices_snapshot(d + dt.timedelta(days=365))
    assert later["snapshot_date"] == s["snapshot_date"] and later["stale"]


def test_stale_age_is_cited():
    f = econ.figure("prices", "stale_after_days")
    assert f["value"] == 90 and "epoch.ai" in f["source"] and f["as_of"]


def test_observation_dates_not_schedules():
    txt = "Rates checked on 2026-10-19. Introductory rates apply through 2031-12-31."
    assert pricing._observed_dates(txt) == [dt.date(2026, 10, 19)]


def test_time_of_day_tariff_gives_the_same_price_whatever_the_hour():
    """DeepSeek's deepseek-chat has an off-peak tariff (UTC 16:30-00:30) in the bundled data: the price shown is the
    standard one at any hour, the off-peak one is reported beside it."""
    a = pricing.list_price("deepseek", "deepseek-chat", when=dt.datetime(2026, 11, 1, 3, 0, tzinfo=dt.UTC))
    b = pricing.list_price("deepseek", "deepseek-chat", when=dt.datetime(2026, 11, 1, 20, 0, tzinfo=dt.UTC))
    assert a.input_usd_per_mtok == b.input_usd_per_mtok and a.time_of_day
    assert a.off_peak["input_usd_per_mtok"] < a.input_usd_per_mtok


def _write(tmp_path, text, name="p.yaml"):
    p = tmp_path / name
    p.write_text(text)
    return p


GOOD = """\
prices:
  - model: llama-3.3-70b
    provider: acme
    provider_model: llama-3.3-70b-instruct
    input_usd_per_mtok: 0.40
    output_usd_per_mtok: 0.80
    as_of: "{as_of}"
    source: "acme quote 2026-11"
"""


def test_user_prices_are_added_and_compared(tmp_path):
    p = _write(tmp_path, GOOD.format(as_of=TODAY.isoformat()))
    r = pricing.price_check("llama-3.3-70b", "h100-sxm", provider="acme", prices_file=p, tiers=["bulk"])
    assert [x.provider for x in r.prices] == ["acme"]
    pr = r.prices[0]
    assert pr.match == "user-given" and pr.data_as_of == TODAY.isoformat() and not pr.stale
    assert r.rows and r.rows[0]["workload"]["price_usd_per_mtok"] == pytest.approx(0.6)  # 1024:1024 mix
    # with no provider filter the bundled prices are kept and the user's added
    r2 = pricing.price_check("llama-3.3-70b", "h100-sxm", prices_file=p, tiers=["bulk"])
    assert "acme" in {x.provider for x in r2.prices} and "together" in {x.provider for x in r2.prices}


def test_a_model_without_mapped_prices_can_be_priced_from_the_file(tmp_path):
    txt = GOOD.format(as_of=TODAY.isoformat()).replace("llama-3.3-70b\n", "qwen3-8b\n", 1)
    r = pricing.price_check("qwen3-8b", "h100-sxm", prices_file=_write(tmp_path, txt), tiers=["bulk"])
    assert [x.provider for x in r.prices] == ["acme"]


def test_stale_user_price_warns(tmp_path):
    old = (TODAY - dt.timedelta(days=int(econ.STALE_PRICE_AFTER_DAYS) + 30)).isoformat()
    r = pricing.price_check(
        "llama-3.3-70b",
        "h100-sxm",
        provider="acme",
        prices_file=_write(tmp_path, GOOD.format(as_of=old)),
        tiers=["bulk"],
    )
    assert r.prices[0].stale and any("stale" in w and "acme" in w for w in r.warnings)
    assert r.to_dict()["warnings"]


@pytest.mark.parametrize(
    "edit,field",
    [
        (("input_usd_per_mtok: 0.40", "input_usd_per_mtok: -1"), "prices[0].input_usd_per_mtok"),
        (("input_usd_per_mtok: 0.40", "input_usd_per_mtok: .nan"), "prices[0].input_usd_per_mtok"),
        (("output_usd_per_mtok: 0.80", "output_usd_per_mtok: .inf"), "prices[0].output_usd_per_mtok"),
        (("output_usd_per_mtok: 0.80", "output_usd_per_mtok: cheap"), "prices[0].output_usd_per_mtok"),
        (('    source: "acme quote 2026-11"\n', ""), "prices[0].source"),
        (("provider: acme", "provider: acme\n    colour: red"), "prices[0].colour"),
        (('as_of: "{d}"', 'as_of: "last week"'), "prices[0].as_of"),
        (('as_of: "{d}"', 'as_of: "2999-01-01"'), "prices[0].as_of"),
    ],
)
def test_bad_price_file_names_the_field(tmp_path, edit, field):
    txt = GOOD.format(as_of=TODAY.isoformat())
    old, new = edit
    txt = txt.replace(old.replace("{d}", TODAY.isoformat()), new)
    with pytest.raises(TokenfabError) as e:
        pricing.load_prices_file(_write(tmp_path, txt))
    assert e.value.field == field


def test_price_file_shape_errors(tmp_path):
    for txt in ("- 1\n- 2\n", "prices: 5\n", "prices: [1]\n", ": :\n  - ["):
        with pytest.raises(TokenfabError) as e:
            pricing.load_prices_file(_write(tmp_path, txt))
        assert e.value.field in ("prices_file", "prices[0]")
    with pytest.raises(TokenfabError) as e:
        pricing.load_prices_file(tmp_path / "missing.yaml")
    assert e.value.field == "prices_file"
    j = _write(tmp_path, json.dumps({"prices": [{"model": "x"}]}), "p.json")
    with pytest.raises(TokenfabError) as e:
        pricing.load_prices_file(j)
    assert e.value.field.startswith("prices[0].")


def test_every_prices_output_says_when_the_prices_are_from(tmp_path):
    snap = pricing.genai_prices_snapshot()["snapshot_date"]
    args = ["prices", "--model", "llama-3.3-70b", "--provider", "together", "--tier", "bulk"]
    r = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    assert f"list prices as of {snap}" in r.stdout.splitlines()[0]  # the header line
    assert f"bundled data as of {snap}" in r.stdout
    r = runner.invoke(app, args + ["--json"])
    d = json.loads(r.stdout)
    assert d["price_data"]["snapshot_date"] == snap and d["prices"][0]["data_as_of"] == snap
    r = runner.invoke(app, ["prices", "--list"])
    assert r.exit_code == 0 and f"as of {snap}" in r.stdout
    r = runner.invoke(app, ["prices", "--list", "--json"])
    assert json.loads(r.stdout)["price_data"]["snapshot_date"] == snap
    bad = _write(tmp_path, GOOD.format(as_of=TODAY.isoformat()).replace("0.40", "-3"))
    r = runner.invoke(app, args + ["--prices-file", str(bad)])
    assert r.exit_code == 2 and "prices[0].input_usd_per_mtok" in r.output and "Traceback" not in r.output


def test_mapping_has_no_deprecated_entries_the_package_replaced():
    """Entries the bundled data mark deprecated were dropped where a current provider serves the model; DeepSeek's
    first-party price is the V3.2 entry, not the early-2025 deepseek-chat rates."""
    mp = pricing.price_mapping()
    for model, v in mp["models"].items():
        for e in v["prices"]:
            p = pricing.list_price(e["provider"], e["model"])
            assert not p.deprecated, (model, e)
    ds = [e for e in mp["models"]["deepseek-v3"]["prices"] if e["provider"] == "deepseek"]
    assert ds and ds[0]["model"] == "deepseek-v3.2"
