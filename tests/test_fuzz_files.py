"""Fuzz the file inputs (issue 14): every kind of file a user gives (scenario YAML, hardware YAML, calibration JSON,
model config.json, bench records JSONL, a --base profile) against a table of hostile files, and every output path
against hostile paths. Each is an exit-2 error naming the flag or the file, quickly (an alias bomb fails in
milliseconds, a FIFO or /dev/zero is refused without being read), never a traceback."""

from __future__ import annotations

import os
import sys

import pytest

from _fuzz import ALIAS_BOMB, assert_clean, bench_records, jsonl, run_cli

H = ("--hardware", "h100-sxm")
M8 = ("-m", "llama-3.1-8b")


def _hostile_files(d):
    """name -> path of a hostile file (made in folder d)."""
    out = {"missing": d / "missing.yaml", "folder": d / "folder", "markup-name": d / "[/bold]-missing.yaml"}
    (d / "folder").mkdir()
    contents = {
        "empty": b"",
        "whitespace": b"  \n\t\n",
        "binary": b"\x00\x01\x02garbage\xff\xfe",
        "latin-1": "name: caf\xe9\nx: 1\n".encode("latin-1"),
        "utf-16": "name: x\n".encode("utf-16"),
        "yaml-list": b"- a\n- b\n",
        "scalar": b"42\n",
        "json-list": b"[1, 2, 3]",
        "deep-yaml": b"a: " + b"[" * 5000 + b"]" * 5000 + b"\n",
        "deep-json": b"[" * 100_000 + b"]" * 100_000,
        "alias-bomb": ALIAS_BOMB.encode(),
        "two-documents": b"a: 1\n---\nb: 2\n",
        "python-tag": b"a: !!python/object/apply:os.system ['echo owned']\n",
        "huge-int": b"a: " + b"9" * 5000 + b"\n",
        "json-nan": b'{"default": {"gemm_efficiency": NaN}, "hidden_size": NaN}',
        "json-inf": b'{"default": {"gemm_efficiency": 1e999}, "hidden_size": Infinity}',
        "not-json": b"{nope",
        "markup": b"[/bold] [red]x \x1b[31m\n",
    }
    for name, data in contents.items():
        (d / f"{name}.dat").write_bytes(data)
        out[name] = d / f"{name}.dat"
    big = d / "oversized.dat"
    with big.open("wb") as f:  # sparse: over every kind's limit without writing a gigabyte
        f.truncate(1025 * 2**20)
    out["oversized"] = big
    if hasattr(os, "mkfifo"):
        os.mkfifo(d / "fifo")
        out["fifo"] = d / "fifo"
    if os.path.exists("/dev/zero"):
        out["dev-zero"] = "/dev/zero"
    loop = d / "loop"
    os.symlink(loop, loop)
    out["symlink-loop"] = loop
    return out


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    d = tmp_path_factory.mktemp("hostile_files")
    recs = d / "recs.jsonl"
    recs.write_text(jsonl(bench_records()))
    return _hostile_files(d), recs


# kind -> (command line with {f} for the file, {r} for good records, and what the error must name)
KINDS = {
    "scenario": (("plan", "{f}"), "scenario"),
    "hardware file": (("tco", *H, "--hardware-file", "{f}"), "--hardware-file"),
    "calibration": (("estimate", *M8, *H, "--calibration", "{f}"), "--calibration"),
    "model config": (("fit", "-m", "{f}", *H), "--model"),
    "bench records": (("bench-report", "{f}", "--gpus", "1", "--usd-per-gpu-hour", "2"), "results"),
    "calibrate records": (("calibrate", "{f}", *M8, *H, "--gpus", "1"), "results"),
    "calibrate --base": (("calibrate", "{r}", *M8, *H, "--gpus", "1", "--base", "{f}"), "--base"),
}
NAMES = [
    "missing", "folder", "markup-name", "empty", "whitespace", "binary", "latin-1", "utf-16", "yaml-list", "scalar",
    "json-list", "deep-yaml", "deep-json", "alias-bomb", "two-documents", "python-tag", "huge-int", "json-nan",
    "json-inf", "not-json", "markup", "oversized", "fifo", "dev-zero", "symlink-loop",
]  # fmt: skip


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("name", NAMES)
def test_hostile_files_are_errors_naming_the_flag(hostile, kind, name):
    files, recs = hostile
    if name not in files:
        pytest.skip(f"no {name} on this system")
    args, flag = KINDS[kind]
    path = str(files[name])
    r = run_cli(*[a.replace("{f}", path).replace("{r}", str(recs)) for a in args])
    assert_clean(r)
    assert r.exit_code == 2, (kind, name, r.stdout[-500:])
    err = r.stderr
    if kind == "scenario" and "(line " in err:  # a valid YAML mapping that is no scenario: the key path and line
        return
    assert flag in err or os.path.basename(path) in err, err


def test_an_alias_bomb_fails_fast_and_says_why(hostile):
    files, _ = hostile
    r = run_cli("plan", str(files["alias-bomb"]))
    assert_clean(r, flag=str(files["alias-bomb"]))
    assert "aliases" in r.stderr and "200,000" in r.stderr


def test_a_missing_file_is_named(hostile):
    files, _ = hostile
    for args in (("tco", *H, "--hardware-file", str(files["missing"])), ("plan", str(files["missing"]))):
        r = run_cli(*args)
        assert_clean(r)
        assert "file not found" in r.stderr and str(files["missing"]) in r.stderr


# ------------------------------------------------------------------------------------------------- output paths
@pytest.fixture(scope="module")
def out_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("out_paths")
    (d / "folder").mkdir()
    (d / "a-file").write_text("x")
    return d


OUTPUTS = {
    "plan --csv": (("plan", "examples/enterprise_rag.yaml", "--hardware", "h100-sxm", "--csv", "{o}"), "--csv"),
    "report -o": (("report", "examples/enterprise_rag.yaml", "--hardware", "h100-sxm", "-q", "-o", "{o}"), "--output"),
    "calibrate -o": (("calibrate", "{r}", *M8, *H, "--gpus", "1", "-o", "{o}"), "--out"),
    "bench --out": (
        ("bench", "--url", "http://127.0.0.1:9", "--model", "m", "--concurrency", "1", "--out", "{o}"),
        "--out",
    ),
    "bench --csv": (
        ("bench", "--url", "http://127.0.0.1:9", "--model", "m", "--concurrency", "1", "--csv", "{o}"),
        "--csv",
    ),
    "frontier --plot": (("frontier", *M8, *H, "--plot", "{o}"), "--plot"),
    "sensitivity --plot": (("sensitivity", *H, "--tokens-per-s-per-gpu", "100", "--plot", "{o}"), "--plot"),
}
BAD_OUTPUTS = {
    "a folder": "{d}/folder",
    "under a file": "{d}/a-file/x.html",
    "missing folder": "/nonexistent-tokenfab-dir/deeper/x.html",
    "markup name": "/nonexistent-tokenfab-dir/[/bold]/x.html",
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("what", sorted(OUTPUTS))
@pytest.mark.parametrize("bad", sorted(BAD_OUTPUTS))
def test_bad_output_paths_fail_before_any_work(hostile, out_dir, what, bad):
    """The path is checked first: the error comes at once (no sweep, plan or benchmark runs) and names the flag."""
    _, recs = hostile
    args, flag = OUTPUTS[what]
    if what == "bench --out" and bad in ("missing folder", "markup name"):
        pytest.skip("bench --out creates missing folders (tokenfab.bench.records.RecordWriter)")
    target = BAD_OUTPUTS[bad].replace("{d}", str(out_dir))
    r = run_cli(*[a.replace("{o}", target).replace("{r}", str(recs)) for a in args])
    assert_clean(r, flag=flag)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX paths")
def test_a_wrong_suffix_is_refused_for_reports_and_charts(out_dir):
    assert_clean(run_cli("report", "examples/enterprise_rag.yaml", "-o", str(out_dir / "r.pdf")), flag="--output")
    assert_clean(run_cli("frontier", *M8, *H, "--plot", str(out_dir / "f.docx")), flag="--plot")


@pytest.mark.timeout(120)
def test_bench_prints_its_out_path_literally(tmp_path):
    """A --out path with Rich markup in its name never raises MarkupError: an unreachable server is one error line
    naming --url (checked before any record is written), and paths the command prints are printed literally."""
    r = run_cli("bench", "--url", "http://127.0.0.1:9", "--model", "m", "--concurrency", "1", "--requests", "1",
                "--out", str(tmp_path / "[bold]x[/bold].jsonl"))  # fmt: skip
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    assert r.exit_code != 0 and "--url" in r.stderr and "Traceback" not in r.stderr
    if "records in" in r.stderr:
        assert "[bold]x[/bold].jsonl" in r.stderr
