"""Locating and reading the bundled data files (src/tokenfab/data)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import yaml

from tokenfab.core.errors import TokenfabError


def data_path(*parts: str) -> Path:
    return Path(str(resources.files("tokenfab").joinpath("data", *parts)))


def read_yaml(path: str | Path) -> object:
    p = Path(path)
    if not p.exists():
        raise TokenfabError("file not found", field="file", got=str(p))
    try:
        with p.open() as f:
            if p.suffix == ".toml":
                import tomllib

                return tomllib.loads(f.read())
            return yaml.safe_load(f)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise TokenfabError(f"not valid YAML{where}: {getattr(e, 'problem', e)}", field=str(p)) from None
    except Exception as e:  # tomllib.TOMLDecodeError
        raise TokenfabError(f"cannot parse: {e}", field=str(p)) from None
