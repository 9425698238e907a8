"""Locating and reading the bundled data files (src/tokenfab/data) and YAML/TOML data files of the same format."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from tokenfab.core.errors import TokenfabError
from tokenfab.core.files import MAX_YAML_BYTES, parse_yaml, read_text_file


def data_path(*parts: str) -> Path:
    return Path(str(resources.files("tokenfab").joinpath("data", *parts)))


def read_yaml(path: str | Path, *, field: str = "file", kind: str = "a YAML or TOML file") -> object:
    """A YAML (or, by its ``.toml`` suffix, TOML) file through the safe loaders of tokenfab.core.files: a missing
    path, a folder, binary or non-UTF-8 data, an empty file, too deep a nesting or an alias bomb are a TokenfabError
    naming ``field`` and the file."""
    text = read_text_file(path, field=field, kind=kind, max_bytes=MAX_YAML_BYTES)
    if Path(path).suffix == ".toml":
        import tomllib

        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise TokenfabError(f"{path}: not valid TOML: {e}", field=field, expected=kind) from None
        except RecursionError:
            raise TokenfabError(f"{path}: nested too deeply", field=field, expected=kind) from None
    return parse_yaml(text, field=field, kind=f"{kind} ({path})")
