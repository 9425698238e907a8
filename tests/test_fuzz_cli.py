"""Fuzz the CLI (issue 14): every command, a table of the hostile inputs the issue found (each now an exit-2 error
naming the flag, or a literal print) plus generated ones (Hypothesis, derandomized), all under the laws of
tests/_fuzz.assert_clean: exit 0 or 2, no traceback, the flag named, no NaN/inf/overflowed integer, no escape
sequence or markup error from user text.

The work is bounded by the inputs' stated limits (tokenfab.core.inputs); the per-test timeout (pytest-timeout,
generous for a loaded 2-core machine) catches a runaway computation instead of a wall-clock assertion."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _fuzz import (
    HOSTILE_TEXT,
    assert_clean,
    bench_records,
    hostile_number_text,
    jsonl,
    obviously_invalid,
    run_cli,
)
from tokenfab.core.data import data_path

FAST = settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=8, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])

H = ("--hardware", "h100-sxm")
M8 = ("-m", "llama-3.1-8b")
CAL = str(data_path("calibration.json"))


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("fuzz_cli")
    (d / "recs.jsonl").write_text(jsonl(bench_records()))
    bad = bench_records()
    bad[3]["ttft_ms"] = "fast"
    (d / "bad_recs.jsonl").write_text(jsonl(bad))
    (d / "nan_recs.jsonl").write_text(jsonl(bench_records()).replace('"ttft_ms": 50.0', '"ttft_ms": NaN', 1))
    (d / "folder").mkdir()
    (d / "blob.bin").write_bytes(b"\x00\x01\xff\xfe" * 64)
    import yaml

    chip = yaml.safe_load(Path("examples/hardware/my_chips.yaml").read_text())["my-gpu"]
    (d / "many_chips.yaml").write_text(yaml.safe_dump({f"chip-{i}": dict(chip, name=f"chip {i}") for i in range(40)}))
    return d


# ------------------------------------------------------------------------------------------------- the issue's table
# (command and arguments, the flag the error must name); {d} is the module's temporary folder
CASES = [
    # non-finite numbers and the field the error blames (pue=inf must not say usd_per_gpu_hour)
    (("tco", *H, "--life-years", "inf"), "--life-years"),
    (("tco", *H, "--pue", "inf"), "--pue"),
    (("tco", *H, "--pue", "nan"), "--pue"),
    (("tco", *H, "--usd-per-kwh", "inf"), "--usd-per-kwh"),
    (("tco", *H, "--capex-usd-per-gpu", "inf"), "--capex-usd-per-gpu"),
    (("tco", *H, "--utilization", "0"), "--utilization"),
    (("cost", *H, "--pue", "inf", "--tokens-per-s-per-gpu", "100"), "--pue"),
    (("cost", *H, "--tokens-per-s-per-gpu", "nan"), "--tokens-per-s-per-gpu"),
    (("fit", *M8, *H, "--params", "nan"), "--params"),
    (("fit", *M8, *H, "--chip-memory-gib", "inf"), "--chip-memory-gib"),
    (("fit", *M8, *H, "--users", "0"), "--users"),
    (("fit", *M8, *H, "--context", "100000000"), "--context"),
    # layout parameters
    (("fit", "-m", "llama-3.1-70b", *H, "--chips-per-rack", "0"), "--chips-per-rack"),
    (("fit", "-m", "llama-3.1-70b", *H, "--chips-per-rack", "-8"), "--chips-per-rack"),
    (("fit", *M8, *H, "--gpus", "-1"), "--gpus"),
    (("fit", *M8, *H, "--tp", "99999999999999999999"), "--tp"),
    # contradictions
    (("estimate", *M8, *H, "--rate", "5", "--concurrency", "8"), "--concurrency"),
    (("estimate", *M8, *H, "--mtp-acceptance", "2.5"), "--mtp-acceptance"),
    (("estimate", *M8, *H, "--mtp", "2", "--mtp-acceptance", "4"), "--mtp-acceptance"),
    (("tco", *H, "--usd-per-gpu-hour", "2", "--capex-usd-per-gpu", "30000"), "--capex-usd-per-gpu"),
    (("tco", *H, "--usd-per-gpu-hour", "2", "--preset", "owned-neocloud"), "--usd-per-gpu-hour"),
    (("frontier", *M8, *H, "--preset", "owned-hyperscaler", "--usd-per-gpu-hour", "2"), "--usd-per-gpu-hour"),
    (
        (
            "cost",
            *H,
            "--tokens-per-s-per-gpu",
            "100",
            "--input-tokens-per-s-per-gpu",
            "500",
            "--output-tokens-per-s-per-gpu",
            "500",
        ),
        "--tokens-per-s-per-gpu",
    ),
    (("recommend", *M8, *H, "--rate", "5", "--power-mw", "1"), "budget"),
    # bounded work: stated maxima
    (("estimate", *M8, *H, "--rate", "1e15"), "--rate"),
    (("estimate", "-m", "llama-3.1-70b", *H, "--gpus", "8", "--rate", "10000"), "--rate"),
    (("estimate", *M8, *H, "--prefix-hit", "1.5"), "--prefix-hit"),
    (("estimate", *M8, *H, "--isl", "0"), "--isl"),
    (("estimate", *M8, *H, "--concurrency", "lots"), "--concurrency"),
    (("estimate", *M8, *H, "--mtp", "1000"), "--mtp"),
    (("recommend", *M8, *H, "--rate", "1e15"), "--rate"),
    (("recommend", *M8, *H, "--rate", "nan"), "--rate"),
    (("recommend", *M8, *H, "--tokens-per-day", "1e30"), "--tokens-per-day"),
    (("recommend", *M8, *H, "--racks", "-1"), "--racks"),
    (("recommend", *M8, *H, "--power-mw", "inf"), "--power-mw"),
    (("frontier", *M8, *H, "--gpus", "0"), "--gpus"),
    (("frontier", *M8, *H, "--ttft-max-ms", "nan"), "--ttft-max-ms"),
    (("frontier", *M8, *H, "--target-interactivity", "inf"), "--target-interactivity"),
    (("frontier", *M8, *H, "--percentile", "p100"), "percentile"),
    (
        (
            "frontier",
            *M8,
            "--hardware-file",
            "{d}/many_chips.yaml",
            "--hardware",
            ",".join(f"chip-{i}" for i in range(40)),
        ),
        "--hardware",
    ),
    (("plan", "examples/consumer_chat.yaml", "--months", "100000"), "--months"),
    (("plan", "examples/consumer_chat.yaml", "--months", "0"), "--months"),
    (("sensitivity", *H, "--tokens-per-s-per-gpu", "1000", "--monte-carlo", "1000000000"), "--monte-carlo"),
    (("sensitivity", *H, "--tokens-per-s-per-gpu", "1000", "--swing", "150"), "--swing"),
    (("sensitivity", *H, "--tokens-per-s-per-gpu", "1000", "--monte-carlo", "10", "--seed", "-1"), "--seed"),
    (("sensitivity", *H, "--tokens-per-s-per-gpu", "1000", "--pue", "nan"), "--pue"),
    (("prices", "-m", "llama-3.3-70b", "--isl", "0"), "--isl"),
    (("prices", "--plan", "examples/consumer_chat.yaml", "--plan-months", "0"), "--plan-months"),  # was --months
    # output paths checked before any work starts
    (("plan", "examples/consumer_chat.yaml", "--csv", "/nonexistent-dir/plan.csv"), "--csv"),
    (("plan", "examples/consumer_chat.yaml", "--csv", "{d}/folder"), "--csv"),
    (("report", "examples/consumer_chat.yaml", "-o", "{d}/report.txt"), "--output"),
    (("report", "examples/consumer_chat.yaml", "-o", "/nonexistent-dir/r.html"), "--output"),
    (("frontier", *M8, *H, "--plot", "/nonexistent-dir/f.html"), "--plot"),
    (("frontier", *M8, *H, "--plot", "{d}/f.gif"), "--plot"),
    (("sensitivity", *H, "--tokens-per-s-per-gpu", "1000", "--plot", "{d}/folder"), "--plot"),
    (("calibrate", "{d}/recs.jsonl", *M8, *H, "--gpus", "1", "-o", "/nonexistent-dir/c.json"), "--out"),
    (("bench", "--url", "http://127.0.0.1:9", "--model", "m", "--concurrency", "1", "--out", "{d}/folder"), "--out"),
    (
        ("bench", "--url", "http://127.0.0.1:9", "--model", "m", "--concurrency", "1", "--csv", "/nonexistent-dir/x"),
        "--csv",
    ),
    # files: missing (named), folder, binary, malformed records
    (("estimate", *M8, *H, "--calibration", "{d}/folder"), "--calibration"),
    (("estimate", *M8, *H, "--calibration", "{d}/blob.bin"), "--calibration"),
    (("estimate", *M8, *H, "--calibration", "{d}/none.json"), "none.json"),
    (("tco", *H, "--hardware-file", "{d}/none.yaml"), "none.yaml"),
    (("fit", "-m", "{d}/folder", *H), "--model"),
    (("fit", "-m", "", *H), "--model"),  # was the current folder's config.json
    (("fit", "-m", "{d}/blob.bin", *H), "--model"),
    (("plan", "{d}/folder"), "scenario"),
    (("plan", "{d}/blob.bin"), "scenario"),
    (("bench-report", "{d}/none.jsonl", "--gpus", "1"), "none.jsonl"),
    (("bench-report", "{d}/bad_recs.jsonl", "--gpus", "1"), "ttft_ms"),
    (("bench-report", "{d}/nan_recs.jsonl", "--gpus", "1", "--usd-per-gpu-hour", "2"), None),
    (("bench-report", "{d}/recs.jsonl", "--gpus", "0"), "--gpus"),
    (("bench-report", "{d}/recs.jsonl", "--gpus", "1", "--html", "/nonexistent-dir/x.html"), "--html"),
    (("bench", "--url", "http://127.0.0.1:9", "--model", "m", "--concurrency", "4,4"), "--concurrency"),
    (("bench", "--url", "http://127.0.0.1:9", "--model", "m", "--rate", "2,2"), "--rate"),
    (
        ("bench", "--url", "http://127.0.0.1:9", "--model", "m", "--concurrency", "1", "--gpu-index", "-1"),
        "--gpu-index",
    ),
    (("calibrate", "{d}/blob.bin", *M8, *H, "--gpus", "1"), "results"),
    (("calibrate", "{d}/recs.jsonl", *M8, *H, "--gpus", "1", "--base", "{d}/folder"), "--base"),
    (("bench", "--url", "notaurl", "--model", "m", "--concurrency", "1", "--out", "{d}/o.jsonl"), "--url"),
    (("bench", "--url", "http://u:pw@127.0.0.1:9", "--model", "m", "--concurrency", "1"), "--url"),
    (("ui", "--port", "0"), "--port"),
    (("ui", "--host", "[/bold]"), "--host"),
]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("args, flag", CASES, ids=[" ".join(a)[:70] for a, _ in CASES])
def test_the_issues_hostile_inputs_are_errors_naming_the_flag(files, args, flag):
    args = [a.replace("{d}", str(files)) for a in args]
    assert_clean(run_cli(*args), flag=flag)


def test_an_overloaded_rate_says_the_max_sustainable_rate():
    r = run_cli("estimate", "-m", "llama-3.1-70b", *H, "--gpus", "8", "--rate", "10000")
    assert_clean(r, flag="--rate")
    assert "max sustainable rate is" in r.stderr and "inf" not in r.stderr.split("max sustainable")[1]


def test_a_sustainable_rate_is_answered():
    r = run_cli("estimate", "-m", "llama-3.1-70b", *H, "--gpus", "8", "--rate", "1", "--json")
    assert_clean(r)
    d = json.loads(r.stdout)
    assert d["overloaded"] is False and d["ttft_ms"] > 0


# ------------------------------------------------------------------------------------------------- markup, escapes
@pytest.mark.parametrize("text", HOSTILE_TEXT, ids=range(len(HOSTILE_TEXT)))
def test_user_text_is_printed_literally(text):
    """A model key, hardware key or path with markup or escapes: the error quotes it literally (markup kept,
    control characters dropped), never a MarkupError or an escape sequence on the terminal."""
    r = run_cli("fit", "-m", text, *H)
    assert_clean(r, flag="--model")
    visible = "".join(ch for ch in text if ch.isprintable())[:60]
    if "\x1b" not in text and "\u202e" not in text:
        assert visible[:40] in r.stderr.replace("\n", "")
    r = run_cli("tco", "--hardware", text)
    assert_clean(r, flag="--hardware")


def test_markup_in_a_model_key_is_not_eaten():
    r = run_cli("fit", "-m", "[red]x", *H)
    assert_clean(r, flag="--model", literal="'[red]x'")


def test_markup_in_a_url_does_not_crash_the_error_printer():
    r = run_cli("bench", "--url", "notaurl", "--model", "m", "--concurrency", "1")
    assert_clean(r, flag="--url", literal="[/v1]")


# ------------------------------------------------------------------------------------------------- generated inputs
def _flags_of(command: str) -> list[str]:
    """The numeric flags of a command (int or float options), from the command itself."""
    import typing

    from typer.main import get_command

    from tokenfab.cli.main import app

    cmd = get_command(app).commands[command]
    out = []
    for p in cmd.params:
        ann = getattr(getattr(p, "type_descriptor", None), "annotation", None)
        kinds = {ann, *typing.get_args(ann)}
        if kinds & {int, float} and any(o.startswith("--") for o in p.opts):
            out.append(next(o for o in p.opts if o.startswith("--")))
    assert out, f"no numeric flag found on {command}"
    return out


BASE_ARGS = {
    "fit": ("fit", *M8, *H, "--json"),
    "estimate": ("estimate", *M8, *H, "--json"),
    "tco": ("tco", *H, "--json"),
    "cost": ("cost", *H, "--tokens-per-s-per-gpu", "1000", "--json"),
    "sensitivity": ("sensitivity", *H, "--tokens-per-s-per-gpu", "1000", "--json"),
}
SLOW_BASE_ARGS = {
    "frontier": ("frontier", *M8, *H, "--mode", "agg", "--json"),
    "recommend": ("recommend", *M8, *H, "--mode", "agg", "--rate", "2", "--json"),
    "plan": ("plan", "examples/enterprise_rag.yaml", "--hardware", "h100-sxm", "--json"),
}
# flags whose value is given once by BASE_ARGS (a second, generated value would repeat the option)
_GIVEN = {"--tokens-per-s-per-gpu", "--rate"}
# flags that go in pairs: alone, the error names the missing partner
_PAIRED = {"--input-tokens-per-s-per-gpu", "--output-tokens-per-s-per-gpu", "--mtp-acceptance"}


def _generated(command: str, base: tuple[str, ...], flag: str, value: str):
    r = run_cli(*base, flag, value)
    named = r.exit_code == 2 and obviously_invalid(value) and "Usage" not in r.stderr and flag not in _PAIRED
    assert_clean(r, flag=flag if named else None)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("command", sorted(BASE_ARGS))
@FAST
@given(data=st.data())
def test_generated_numbers_in_every_numeric_flag(command, data):
    flags = [f for f in _flags_of(command) if f not in _GIVEN]
    flag = data.draw(st.sampled_from(flags), label="flag")
    value = data.draw(hostile_number_text(), label="value")
    if command == "sensitivity" and flag == "--monte-carlo":
        value = value if obviously_invalid(value) else "1000"  # a valid count: keep the run short
    _generated(command, BASE_ARGS[command], flag, value)


@pytest.mark.timeout(600)
@pytest.mark.parametrize("command", sorted(SLOW_BASE_ARGS))
@SLOW
@given(data=st.data())
def test_generated_numbers_in_the_sweep_commands(command, data):
    flags = [f for f in _flags_of(command) if f not in _GIVEN]
    flag = data.draw(st.sampled_from(flags), label="flag")
    value = data.draw(st.sampled_from(["nan", "inf", "-1", "0", "1e308", "abc", "[/]", "1e-320"]), label="value")
    _generated(command, SLOW_BASE_ARGS[command], flag, value)


@FAST
@given(st.sampled_from(HOSTILE_TEXT), st.sampled_from(["fit", "estimate", "tco", "catalog"]))
def test_generated_text_in_key_arguments(text, command):
    args = {
        "fit": ("fit", "-m", "llama-3.1-8b", "--hardware", text),
        "estimate": ("estimate", "-m", text, *H),
        "tco": ("tco", *H, "--preset", text),
        "catalog": ("catalog", "hardware", text),
    }[command]
    r = run_cli(*args)
    assert_clean(r)
    assert r.exit_code == 2


# ------------------------------------------------------------------------------------------------- valid inputs
def test_valid_runs_of_every_command_are_finite(files, tmp_path):
    """The second law at the CLI: valid inputs give exit 0 and finite numbers (JSON where there is --json)."""
    cases = [
        ("catalog", "hardware", "--json"),
        ("catalog", "hardware", "h100-sxm"),
        ("catalog", "models", "--json"),
        ("fit", *M8, *H, "--json"),
        ("fit", *M8, *H),
        ("tco", *H, "--json"),
        ("tco", *H),
        ("cost", *H, "--tokens-per-s-per-gpu", "1000", "--json"),
        ("estimate", *M8, *H, "--json"),
        ("estimate", *M8, *H, "--rate", "1"),
        ("frontier", *M8, *H, "--mode", "agg"),
        ("recommend", *M8, *H, "--rate", "1e6", "--mode", "agg", "--json"),
        (
            "plan",
            "examples/enterprise_rag.yaml",
            "--hardware",
            "h100-sxm",
            "--months",
            "3",
            "--csv",
            str(tmp_path / "p.csv"),
        ),
        (
            "report",
            "examples/enterprise_rag.yaml",
            "--hardware",
            "h100-sxm",
            "--months",
            "2",
            "-q",
            "-o",
            str(tmp_path / "r.html"),
        ),
        (
            "sensitivity",
            *H,
            "--tokens-per-s-per-gpu",
            "1000",
            "--monte-carlo",
            "2000",
            "--price-usd-per-mtok",
            "0.5",
            "--json",
        ),
        ("bench-report", str(files / "recs.jsonl"), "--gpus", "1", "--usd-per-gpu-hour", "2", "--json"),
    ]
    for args in cases:
        assert_clean(run_cli(*args))
    assert (tmp_path / "p.csv").stat().st_size > 0 and (tmp_path / "r.html").stat().st_size > 0


# ------------------------------------------------------------------------------------------------- install hints
def _hints_in_the_sources() -> list[str]:
    import re
    from pathlib import Path

    src = Path(__file__).resolve().parents[1] / "src" / "tokenfab"
    found = set()
    for p in src.rglob("*.py"):
        for m in re.finditer(r"pip install [^\"\n)]+(?:\))?", p.read_text()):
            found.add(m.group().rstrip(" ,.'\""))
    return sorted(found)


def test_every_install_hint_prints_intact(capsys):
    """Each hint in the sources and each extra of pyproject.toml goes through the CLI's error printer unchanged
    (Rich markup would eat ``[plot]``)."""
    import tomllib
    from pathlib import Path

    from tokenfab.cli import common
    from tokenfab.core.errors import TokenfabError, install_hint

    extras = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())["project"]
    hints = [install_hint(x) for x in extras["optional-dependencies"]] + _hints_in_the_sources()
    assert any("tokenfab[plot]" in h for h in hints) and any("tokenfab[tokenizer]" in h for h in hints)
    for hint in hints:
        common.print_error(TokenfabError("missing", field="x", hint=hint))
        err = capsys.readouterr().err.replace("\n", "")
        hint_text = hint.split("pip install")[-1].strip().strip("'\"")
        assert hint_text.split()[0] in err, (hint, err)


@pytest.mark.parametrize(
    "args, module, extra",
    [
        (("frontier", *M8, *H, "--mode", "agg", "--plot", "{tmp}/f.html"), "plotly", "plot"),
        (
            (
                "report",
                "examples/enterprise_rag.yaml",
                "--months",
                "1",
                "--hardware",
                "h100-sxm",
                "-q",
                "-o",
                "{tmp}/r.html",
            ),
            "plotly",
            "plot",
        ),
        (("ui",), "uvicorn", "ui"),
    ],
)
def test_a_missing_extra_names_its_install_command_intact(monkeypatch, tmp_path, args, module, extra):
    for name in list(sys.modules):
        if name == module or name.startswith(module + "."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, module, None)  # import raises ModuleNotFoundError
    r = run_cli(*[a.replace("{tmp}", str(tmp_path)) for a in args])
    assert_clean(r)
    assert r.exit_code == 2 and f"tokenfab[{extra}]" in r.stderr, r.stderr


@pytest.mark.timeout(300)
@pytest.mark.parametrize("text", ["[/]", "[red]x", "\x1b[31mred\x1b]0;t\x07", "<!--<script>", "[bold]b[/bold]\u202e"])
def test_hostile_names_in_a_scenario_print_literally(tmp_path, text):
    """Scenario, persona and feature names with markup or escapes: plan prints them literally (no MarkupError, no
    escape sequence), the report writes them escaped."""
    from pathlib import Path

    import yaml

    d = yaml.safe_load(Path("examples/enterprise_rag.yaml").read_text())
    d["name"] = f"scenario {text}"
    first = next(iter(d["features"]))
    d["features"] = {(f"{text} {k}" if k == first else k): v for k, v in d["features"].items()}
    for p in d["personas"]:
        p["name"] = f"{text} {p['name']}"
        p["features"] = {(f"{text} {k}" if k == first else k): v for k, v in p["features"].items()}
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(d))
    r = run_cli("plan", str(path), "--months", "2", "--hardware", "h100-sxm")
    printable = "".join(ch for ch in text if ch.isprintable() and ch != "\u202e")
    assert_clean(r)
    assert r.exit_code == 0 and (printable.split("\x1b")[0] in r.stdout or "\x1b" in text)
    r = run_cli("report", str(path), "--months", "2", "--hardware", "h100-sxm", "-q", "-o", str(tmp_path / "r.html"))
    assert_clean(r)
    assert r.exit_code == 0


@pytest.mark.parametrize("args, flag, typed", [
    (("estimate", *M8, *H, "--tp", "1e9"), "--tp", "'1e9'"),
    (("estimate", *M8, *H, "--isl=nan"), "--isl", "'nan'"),
    (("fit", *M8, *H, "--users", "[bold]x[/bold]"), "--users", "'[bold]x[/bold]'"),
])  # fmt: skip
def test_a_value_a_flag_cannot_take_is_quoted_back(args, flag, typed):
    """The error '--tp: Input should be a valid integer' did not say what was typed."""
    r = run_cli(*args)
    assert_clean(r, flag=flag)
    assert f"(got {typed})" in r.stderr
