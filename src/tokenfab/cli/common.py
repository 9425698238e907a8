"""Helpers shared by the CLI modules: output (JSON or Rich), parsing of list options."""
from __future__ import annotations

import dataclasses
import json
import math
import sys
from typing import Any, Callable

import numpy as np
from rich.console import Console

from ..errors import TokenfabError

console = Console()
err_console = Console(stderr=True)


def to_jsonable(obj: Any) -> Any:
    """Convert dataclasses, pydantic models, numpy scalars/arrays and non-finite floats to plain JSON values."""
    if hasattr(obj, "to_dict"):
        return to_jsonable(obj.to_dict())
    if hasattr(obj, "model_dump"):
        return to_jsonable(obj.model_dump())
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return to_jsonable(dataclasses.asdict(obj))
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return to_jsonable(obj.item())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(to_jsonable(obj), indent=2) + "\n")


def emit(obj: Any, as_json: bool, render: Callable[[Any], None]) -> None:
    if as_json:
        print_json(obj)
    else:
        render(obj)


def split_csv(value: str | None, field: str) -> list[str]:
    if value is None:
        return []
    items = [v.strip() for v in str(value).split(",") if v.strip()]
    if not items:
        raise TokenfabError("empty list", field=field, expected="a comma-separated list", got=value)
    return items


def parse_int_list(value: str, field: str) -> list[int]:
    out = []
    for item in split_csv(value, field):
        try:
            n = int(item)
        except ValueError:
            raise TokenfabError("not a whole number", field=field, expected="integers separated by commas", got=item) from None
        if n <= 0:
            raise TokenfabError("must be positive", field=field, expected="> 0", got=n)
        out.append(n)
    return out
