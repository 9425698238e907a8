"""Reading user files safely, one loader per file kind, and checking output paths before any work starts.

Every input file goes through :func:`read_file_bytes` and :func:`decode_text`: a missing path (named), a folder, a
device or pipe (reading ``/dev/zero`` would never end), a file over its kind's size limit, binary data, text that is
not UTF-8 and an empty file are each a :class:`TokenfabError` naming the file and what was expected. Then:

- YAML (:func:`parse_yaml`: scenarios, hardware files): nesting depth bounded before the recursive parser runs;
  anchors and aliases either refused or bounded by the number of values they expand to (an alias bomb fails in
  milliseconds); one document; errors with line and column.
- JSON (:func:`parse_json`: calibration profiles, model ``config.json``): nesting depth bounded, non-finite numbers
  (``NaN``, ``Infinity``, ``1e999``) refused unless the kind allows them, integers of more than 4,300 digits refused.
- JSON lines (:func:`parse_jsonl_records`: ``tokenfab bench`` request records, also uploaded to the dashboard): a
  line that is not JSON (cut by a kill) is counted and skipped, as the harness does; a record whose values are of
  the wrong type, non-finite or out of range is an error naming the line and the field.

:func:`check_output_path` is the one check of an output path (``--csv``, ``-o``, ``--out``, ``--plot``), run before
any work. :func:`json_for_html` is JSON safe to inline in an HTML ``<script>`` element.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType
from typing import Any, NoReturn

from tokenfab.core.errors import TokenfabError, is_number

MIB = 2**20
NUL = b"\x00"
# size limits per kind: a scenario or hardware file is a few KB, a model config.json a few KB, a calibration profile
# a few KB; a benchmark's request records hold about 10 KB per request (its inter-token gaps)
MAX_YAML_BYTES = 4 * MIB  # keeps the (pure Python) YAML parse under a few seconds
MAX_JSON_BYTES = 16 * MIB
MAX_JSONL_BYTES = 1024 * MIB
MAX_JSONL_LINE_BYTES = 16 * MIB
MAX_DEPTH = 64  # nesting of mappings / lists in a YAML or JSON document (the deepest real file has about 6)
MAX_YAML_VALUES = 200_000  # values a YAML document may expand to through its aliases

SCENARIO = "a scenario YAML (see examples/ and docs/demand.md)"
HARDWARE = "a hardware YAML/TOML file (see docs/hardware.md)"
CALIBRATION = "a calibration profile JSON written by tokenfab calibrate"
MODEL_CONFIG = "a Hugging Face config.json"
BENCH_RECORDS = "a JSONL file of request records written by tokenfab bench"

StrPath = str | os.PathLike[str]  # a file path as callers give it (None and other values are refused by _path)


# ------------------------------------------------------------------------------------------------- bytes and text
def _path(path: object, field: str, kind: str) -> Path:
    if path is None or (isinstance(path, str) and not path.strip()):
        raise TokenfabError("no file given", field=field, expected=kind)
    if not isinstance(path, (str, os.PathLike)):
        raise TokenfabError("not a file path", field=field, expected=kind, got=path)
    s = os.fspath(path)
    if isinstance(s, bytes) or "\x00" in s:
        raise TokenfabError("not a valid file path", field=field, expected=kind, got=s)
    return Path(s).expanduser()


def input_file(path: StrPath, *, field: str, kind: str) -> Path:
    """The path of an existing regular file, or a TokenfabError naming the path (missing, folder, device)."""
    p = _path(path, field, kind)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise TokenfabError(f"file not found: {p}", field=field, expected=kind) from None
    except OSError as e:  # permission denied, name too long, a loop of links, ...
        raise TokenfabError(f"cannot read {p}: {e.strerror or e}", field=field, expected=kind) from None
    if stat.S_ISDIR(st.st_mode):
        raise TokenfabError(f"{p} is a folder, not a file", field=field, expected=kind)
    if not stat.S_ISREG(st.st_mode):
        raise TokenfabError(f"{p} is not a regular file (a device, pipe or socket)", field=field, expected=kind)
    return p


def read_file_bytes(path: StrPath, *, field: str, kind: str, max_bytes: int) -> bytes:
    """The bytes of a regular file of at most ``max_bytes`` (read no further than that)."""
    p = input_file(path, field=field, kind=kind)
    limit = f"the limit is {max_bytes / MIB:g} MiB"
    if p.stat().st_size > max_bytes:
        raise TokenfabError(f"{p} is too large ({p.stat().st_size:,} bytes; {limit})", field=field, expected=kind)
    try:
        with p.open("rb") as f:
            data = f.read(max_bytes + 1)
    except OSError as e:
        raise TokenfabError(f"cannot read {p}: {e.strerror or e}", field=field, expected=kind) from None
    if len(data) > max_bytes:
        raise TokenfabError(f"{p} is too large ({limit})", field=field, expected=kind)
    return data


def decode_text(data: bytes, *, field: str, kind: str, name: str = "the file", allow_empty: bool = False) -> str:
    """UTF-8 text (a BOM is dropped) from ``data``; binary data, other encodings and (unless ``allow_empty``) an
    empty file are errors that say where."""
    if b"\x00" in data:
        raise TokenfabError(
            f"{name} is binary, not text (a NUL byte at offset {data.index(NUL):,})", field=field, expected=kind
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        col = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise TokenfabError(
            f"{name} is not UTF-8 text (byte 0x{data[e.start]:02x} at line {line}, column {col})",
            field=field,
            expected=kind,
            hint="save it as UTF-8",
        ) from None
    if not allow_empty and not text.strip():
        raise TokenfabError(f"{name} is empty", field=field, expected=kind)
    return text


def read_text_file(path: StrPath, *, field: str, kind: str, max_bytes: int, allow_empty: bool = False) -> str:
    """UTF-8 text of a regular file within ``max_bytes`` (see :func:`read_file_bytes`, :func:`decode_text`)."""
    data = read_file_bytes(path, field=field, kind=kind, max_bytes=max_bytes)
    return decode_text(
        data, field=field, kind=kind, name=str(Path(os.fspath(path)).expanduser()), allow_empty=allow_empty
    )


# ------------------------------------------------------------------------------------------------- YAML
def _yaml() -> ModuleType:
    import yaml

    return yaml


def yaml_error(e: Exception, field: str, kind: str) -> TokenfabError:
    mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    problem = getattr(e, "problem", None) or str(e)
    err = TokenfabError(f"not valid YAML{where}: {problem}", field=field, expected=kind)
    err.line = mark.line + 1 if mark else None
    return err


def check_yaml_structure(text: str, *, field: str, kind: str, allow_aliases: bool, max_depth: int = MAX_DEPTH) -> bool:
    """Scan the YAML tokens (the scanner is not recursive): nesting depth at most ``max_depth``; anchors and
    aliases refused unless ``allow_aliases``. Returns whether the document has aliases."""
    yaml = _yaml()
    opens = (
        yaml.BlockMappingStartToken,
        yaml.BlockSequenceStartToken,
        yaml.FlowMappingStartToken,
        yaml.FlowSequenceStartToken,
    )
    closes = (yaml.BlockEndToken, yaml.FlowMappingEndToken, yaml.FlowSequenceEndToken)
    depth = 0
    aliases = False
    try:
        for tok in yaml.scan(text, Loader=yaml.SafeLoader):
            if isinstance(tok, opens):
                depth += 1
                if depth > max_depth:
                    raise TokenfabError(
                        f"nested too deeply (more than {max_depth} levels at line {tok.start_mark.line + 1})",
                        field=field,
                        expected=kind,
                    )
            elif isinstance(tok, closes):
                depth -= 1
            elif isinstance(tok, (yaml.AliasToken, yaml.AnchorToken)):
                if not allow_aliases:
                    raise TokenfabError(
                        f"YAML anchors and aliases (&name, *name) are not accepted (line {tok.start_mark.line + 1})",
                        field=field,
                        expected=kind,
                        hint="write the values out",
                    )
                aliases = True
    except yaml.YAMLError as e:
        raise yaml_error(e, field, kind) from None
    return aliases


def _expanded_size(root: Any, limit: int) -> int:  # root: a composed yaml.Node (PyYAML ships no types)
    """How many nodes the document holds once every alias is expanded (aliases share nodes; memoized, iterative)."""
    yaml = _yaml()
    size: dict[int, int] = {}
    stack = [(root, False)]
    while stack:
        node, done = stack.pop()
        if id(node) in size:
            continue
        if isinstance(node, yaml.ScalarNode):
            size[id(node)] = 1
            continue
        children = [c for kv in node.value for c in kv] if isinstance(node, yaml.MappingNode) else list(node.value)
        if done:
            size[id(node)] = min(limit + 1, 1 + sum(size.get(id(c), 0) for c in children))
        else:
            stack.append((node, True))
            stack.extend((c, False) for c in children if id(c) not in size)
    return size.get(id(root), 0)


def _duplicate_key(root: Any) -> tuple[str, int] | None:
    """The first key that a YAML mapping repeats (its text and 1-based line), walking the composed nodes once each
    (aliases are shared nodes); merge keys (``<<``) are YAML's own rule and left to it."""
    yaml = _yaml()
    seen: set[int] = set()
    stack = [root]
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        if isinstance(n, yaml.MappingNode):
            keys: set[str] = set()
            for k, v in n.value:
                if isinstance(k, yaml.ScalarNode) and k.tag != "tag:yaml.org,2002:merge":
                    if k.value in keys:
                        return str(k.value), int(k.start_mark.line) + 1
                    keys.add(k.value)
                stack.extend((k, v))
        elif isinstance(n, yaml.SequenceNode):
            stack.extend(n.value)
    return None


def parse_yaml(
    text: str,
    *,
    field: str,
    kind: str,
    allow_aliases: bool = True,
    max_depth: int = MAX_DEPTH,
    max_values: int = MAX_YAML_VALUES,
    with_node: bool = False,
) -> Any:  # the document (mappings, lists, scalars), or (document, node) with ``with_node``
    """One YAML document (safe loader) from ``text``: depth and aliases checked first (:func:`check_yaml_structure`),
    then at most ``max_values`` values once aliases are expanded. Returns the data (and the composed node with
    ``with_node``, for line numbers)."""
    yaml = _yaml()
    check_yaml_structure(text, field=field, kind=kind, allow_aliases=allow_aliases, max_depth=max_depth)
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        dup = _duplicate_key(node) if node is not None else None
        if dup is not None:
            raise TokenfabError(
                f"duplicate key {dup[0]!r} (line {dup[1]}): the later value would silently replace the earlier one",
                field=field,
                expected=kind,
                hint="keep one of them",
            )
        if node is not None and _expanded_size(node, max_values) > max_values:
            raise TokenfabError(
                f"the YAML expands to more than {max_values:,} values through its aliases (*name)",
                field=field,
                expected=kind,
                hint="write the values out",
            )
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as e:
        raise yaml_error(e, field, kind) from None
    except RecursionError:
        raise TokenfabError("nested too deeply", field=field, expected=kind) from None
    except ValueError as e:  # e.g. an integer of more than 4,300 digits
        if isinstance(e, TokenfabError):
            raise
        raise TokenfabError(f"cannot read a value: {e}", field=field, expected=kind) from None
    finally:
        loader.dispose()
    return (data, node) if with_node else data


# ------------------------------------------------------------------------------------------------- JSON
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")


def json_depth(text: str) -> int:
    """The deepest nesting of ``[`` / ``{`` outside strings (a cheap scan before the recursive parser runs)."""
    depth = deepest = 0
    for m in _BRACKETS.finditer(_JSON_STRING.sub("", text)):
        if m.group() in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a number (JSON has no NaN or Infinity)")


def _finite_float(s: str) -> float:
    x = float(s)
    if not math.isfinite(x):
        raise ValueError(f"{s} is beyond the range of a number")
    return x


def parse_json(
    text: str, *, field: str, kind: str, allow_nonfinite: bool = False, max_depth: int = MAX_DEPTH, name: str = ""
) -> Any:  # a JSON document: objects, arrays, numbers, text
    """A JSON document from ``text``: nesting depth bounded, NaN/Infinity and overflowing numbers refused (unless
    ``allow_nonfinite``: some Hugging Face configs carry an ``Infinity`` in a field tokenfab does not use)."""
    if json_depth(text) > max_depth:
        raise TokenfabError(
            f"{name or 'the JSON'} is nested too deeply (more than {max_depth} levels)", field=field, expected=kind
        )
    kw: dict[str, Any] = {} if allow_nonfinite else {"parse_constant": _reject_constant, "parse_float": _finite_float}
    try:
        return json.loads(text, **kw)
    except json.JSONDecodeError as e:
        raise TokenfabError(
            f"{name or 'the file'} is not valid JSON: {e.msg} at line {e.lineno}, column {e.colno}",
            field=field,
            expected=kind,
        ) from None
    except RecursionError:
        raise TokenfabError("the JSON is nested too deeply", field=field, expected=kind) from None
    except ValueError as e:  # a refused constant, an overflowing float, an integer of more than 4,300 digits
        raise TokenfabError(f"not a valid number: {e}", field=field, expected=kind) from None


def load_json_file(
    path: StrPath, *, field: str, kind: str, allow_nonfinite: bool = False, max_bytes: int = MAX_JSON_BYTES
) -> Any:  # a JSON document
    text = read_text_file(path, field=field, kind=kind, max_bytes=max_bytes)
    return parse_json(text, field=field, kind=kind, allow_nonfinite=allow_nonfinite, name=str(path))


def load_json_object(path: StrPath, *, field: str, kind: str, allow_nonfinite: bool = False) -> dict[str, Any]:
    """A JSON file whose top level is an object (a mapping of keys to values)."""
    data = load_json_file(path, field=field, kind=kind, allow_nonfinite=allow_nonfinite)
    if not isinstance(data, dict):
        raise TokenfabError(f"{path} holds a JSON {type(data).__name__}, not an object", field=field, expected=kind)
    return data


def load_calibration_json(path: StrPath, *, field: str = "calibration") -> dict[str, Any]:
    """A calibration profile file (``benchmarks/calibrate.py`` or ``tokenfab calibrate -o``): a JSON object with at
    least one parameter group (``shared``: name -> value; ``families`` / ``engines`` / ``hardware``: member -> name ->
    value) whose every value is a finite number. The parameters' names and ranges are checked by
    tokenfab.catalog.calibration."""
    d = load_json_object(path, field=field, kind=CALIBRATION)
    groups = ("shared", "families", "engines", "hardware")
    if not any(isinstance(d.get(g), dict) for g in groups):
        raise TokenfabError(f"{path} has no parameter set ({', '.join(groups)})", field=field, expected=CALIBRATION)
    for section in groups:
        block = d.get(section)
        if block is None:
            continue
        if not isinstance(block, dict):
            raise TokenfabError(f"'{section}' must be an object", field=f"{field}.{section}", expected=CALIBRATION)
        sets = {"": block} if section == "shared" else block
        for name, params in sets.items():
            where = f"{field}.{section}" + (f".{name}" if name else "")
            if not isinstance(params, dict):
                raise TokenfabError("must be an object of parameters", field=where, expected=CALIBRATION)
            for k, v in params.items():
                if not is_number(v) or not math.isfinite(float(v)):
                    raise TokenfabError("must be a finite number", field=f"{where}.{k}", got=v)
    return d


# ------------------------------------------------------------------------------------------------- JSON lines
# the numeric fields of a request record (tokenfab.bench.records; docs/bench.md): name -> (whole number, minimum)
RECORD_NUMBERS: dict[str, tuple[bool, float | None]] = {
    "ttft_ms": (False, 0.0),
    "tpot_ms": (False, 0.0),
    "e2el_ms": (False, 0.0),
    "ttft_ms_from_schedule": (False, None),
    "e2el_ms_from_schedule": (False, None),
    "send_lag_ms": (False, None),
    "input_tokens": (True, 0),
    "output_tokens": (True, 0),
    "requested_input_tokens": (True, 0),
    "requested_output_tokens": (True, 0),
    "chunks": (True, 0),
    "index": (True, 0),
    "http_status": (True, 0),
    "concurrency": (True, 1),
    "t_scheduled": (False, None),
    "t_start": (False, None),
    "t_first_token": (False, None),
    "t_end": (False, None),
    "trace_speed": (False, None),
    "rate_end": (False, None),
}
RECORD_MODES = ("closed", "open", "ramp", "trace")  # the load levels tokenfab bench writes (a sweep's are "open")
RECORD_TEXT = (
    "run_id",
    "session_id",
    "status",
    "mode",
    "error_kind",
    "error",
    "token_count_source",
    "input_token_source",
)
MAX_RECORD_NUMBER = 1e15  # ms, tokens or seconds since 1970: far beyond any benchmark
MIN_RECORD_MS = 1e-6  # a duration in ms is 0 or at least a nanosecond (finer is below any clock's resolution)


def check_record(rec: dict[str, Any], *, field: str, line: int) -> None:
    """One request record's values: numbers finite, not bool, whole where they count, non-negative where they
    are durations or counts, t_end not before t_start; text fields text; the level (concurrency or rate) valid."""

    def bad(key: str, why: str, got: object) -> NoReturn:
        raise TokenfabError(f"line {line}: {key} {why}", field=field, expected=BENCH_RECORDS, got=got)

    rid = rec.get("request_id")
    if not isinstance(rid, (str, int)) or isinstance(rid, bool):
        bad("request_id", "must be text", rid)
    for k in RECORD_TEXT:
        v = rec.get(k)
        if v is not None and not isinstance(v, str):
            bad(k, "must be text", v)
    for k, (whole, lo) in RECORD_NUMBERS.items():
        v = rec.get(k)
        if v is None:
            continue
        if not is_number(v) or not math.isfinite(float(v)):
            bad(k, "must be a finite number", v)
        if abs(v) > MAX_RECORD_NUMBER:
            bad(k, f"must be at most {MAX_RECORD_NUMBER:g} in size (ms, tokens or seconds since 1970)", v)
        if whole and float(v) != int(v):
            bad(k, "must be a whole number", v)
        if lo is not None and v < lo:
            bad(k, f"must be >= {lo:g}", v)
        if k.endswith("_ms") and 0 < abs(v) < MIN_RECORD_MS:
            bad(k, f"must be 0 or at least {MIN_RECORD_MS:g} ms", v)
    itl = rec.get("itl_ms")
    if itl is not None:
        if not isinstance(itl, list):
            bad("itl_ms", "must be a list of numbers", itl)
        for x in itl:
            if not is_number(x) or not math.isfinite(float(x)) or x < 0 or x > MAX_RECORD_NUMBER:
                bad("itl_ms", "must hold finite numbers >= 0", x)
            if 0 < x < MIN_RECORD_MS:
                bad("itl_ms", f"must hold 0 or at least {MIN_RECORD_MS:g} ms", x)
    t0, t1 = rec.get("t_start"), rec.get("t_end")
    if t0 is not None and t1 is not None and t1 < t0:
        bad("t_end", f"is before t_start ({t0})", t1)
    mode = rec.get("mode")
    if mode not in RECORD_MODES:  # every record names its load level (closed loop, open loop, ramp, trace replay)
        bad("mode", "must be " + ", ".join(f"'{m}'" for m in RECORD_MODES), mode)
    if mode == "closed" and rec.get("concurrency") is None:
        bad("concurrency", "is missing (a closed-loop record names its concurrency)", None)
    rate: Any = rec.get("rate")  # a JSON value: checked below
    valid_rate = rate == "inf" or (is_number(rate) and math.isfinite(float(rate)) and 0 < rate <= 1e9)
    if (mode in ("open", "ramp") or rate is not None) and not valid_rate:
        bad("rate", "must be a request rate > 0 (or 'inf')", rate)
    for k, needed in (("rate_end", mode == "ramp"), ("trace_speed", mode == "trace")):
        level_value: Any = rec.get(k)
        if (needed or level_value is not None) and not (is_number(level_value) and 0 < float(level_value) <= 1e9):
            bad(k, f"must be a number > 0{' (a ' + str(mode) + ' record names it)' if needed else ''}", level_value)


def parse_jsonl_records(lines: Iterable[str], *, field: str = "results") -> tuple[list[dict[str, Any]], int]:
    """Request records from JSON lines and the number of lines that are not a record (a line cut by a kill, as
    tokenfab.bench.records.parse_records counts them). A record (an object with ``request_id``) with wrong values
    is an error naming the line and the field."""
    records: list[dict[str, Any]] = []
    bad = 0
    for n, line in enumerate(lines, 1):
        line = line.strip()
        if not line:
            continue
        if len(line) > MAX_JSONL_LINE_BYTES:
            raise TokenfabError(
                f"line {n} is longer than {MAX_JSONL_LINE_BYTES // MIB} MiB", field=field, expected=BENCH_RECORDS
            )
        if json_depth(line) > MAX_DEPTH:
            bad += 1
            continue
        try:
            obj = json.loads(line, parse_constant=_reject_constant, parse_float=_finite_float)
        except (ValueError, RecursionError):  # not JSON, or NaN/Infinity: a cut or corrupted line
            bad += 1
            continue
        if isinstance(obj, dict) and "request_id" in obj:
            check_record(obj, field=field, line=n)
            records.append(obj)
        else:
            bad += 1
    return records, bad


def load_bench_records(path: StrPath, *, field: str = "results") -> tuple[list[dict[str, Any]], int]:
    """The request records of a ``tokenfab bench`` JSONL file (see :func:`parse_jsonl_records`); a file with no
    record at all is an error."""
    text = read_text_file(path, field=field, kind=BENCH_RECORDS, max_bytes=MAX_JSONL_BYTES)
    recs, bad = parse_jsonl_records(text.splitlines(), field=field)
    if not recs:
        raise TokenfabError(
            f"no request records in {path} ({bad:,} unreadable lines)", field=field, expected=BENCH_RECORDS
        )
    return recs, bad


# ------------------------------------------------------------------------------------------------- output paths
def check_output_path(
    path: StrPath,
    *,
    field: str,
    suffixes: tuple[str, ...] | None = None,
    kind: str = "a file path",
    append: bool = False,
    create_parents: bool = False,
) -> Path:
    """An output path, checked before any work starts: not empty, not a folder, its folder exists and is writable,
    and (with ``suffixes``) it ends in one of them. ``append``: an existing file is appended to (it must be a
    writable regular file). ``create_parents``: missing folders will be created (the nearest existing one must be a
    writable folder). Nothing is created here."""
    p = _path(path, field, kind)
    if suffixes and p.suffix.lower() not in suffixes:
        raise TokenfabError(
            "unknown file type", field=field, expected=f"a path ending in {', '.join(suffixes)}", got=str(p)
        )
    if p.is_dir():
        raise TokenfabError(f"{p} is a folder", field=field, expected=kind)
    parent = p.parent if str(p.parent) else Path(".")
    if create_parents:
        while not parent.exists() and parent != parent.parent:
            parent = parent.parent
    if not parent.exists():
        raise TokenfabError(f"folder not found: {parent}", field=field, expected=kind)
    if not parent.is_dir():
        raise TokenfabError(f"{parent} is not a folder", field=field, expected=kind)
    if p.exists():
        if append and not p.is_file():
            raise TokenfabError(f"{p} is not a regular file", field=field, expected=kind)
        if not os.access(p, os.W_OK):
            raise TokenfabError(f"{p} is not writable", field=field, expected=kind)
    elif not os.access(parent, os.W_OK | os.X_OK):
        raise TokenfabError(f"cannot write in {parent}", field=field, expected=kind)
    return p


# ------------------------------------------------------------------------------------------------- HTML
_HTML_UNSAFE = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def json_for_html(obj: Any) -> str:
    """JSON to inline in an HTML ``<script>`` element: ``<``, ``>``, ``&`` and the JavaScript line separators are
    written as ``\\u`` escapes, so no value can close the element (``</script>``), open a comment (``<!--``) or a
    nested script (``<script``) (the same values once parsed)."""
    text = json.dumps(obj, allow_nan=False)
    return re.sub("[<>&\u2028\u2029]", lambda m: _HTML_UNSAFE[m.group()], text)


__all__ = [
    "BENCH_RECORDS",
    "CALIBRATION",
    "HARDWARE",
    "MAX_DEPTH",
    "MAX_JSONL_BYTES",
    "MAX_JSON_BYTES",
    "MAX_YAML_BYTES",
    "MAX_YAML_VALUES",
    "MODEL_CONFIG",
    "SCENARIO",
    "check_output_path",
    "check_record",
    "check_yaml_structure",
    "decode_text",
    "input_file",
    "json_depth",
    "json_for_html",
    "load_bench_records",
    "load_calibration_json",
    "load_json_file",
    "load_json_object",
    "parse_json",
    "parse_jsonl_records",
    "parse_yaml",
    "read_file_bytes",
    "read_text_file",
]
