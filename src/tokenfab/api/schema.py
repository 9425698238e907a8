"""The typed seam of tokenfab: every operation of :mod:`tokenfab.api` takes one :class:`Request` and returns one
:class:`Result`. A result is the operation's own figures (the fields its JSON always had) plus the same envelope on
every operation:

- ``schema_version`` (:data:`SCHEMA_VERSION`: bumped when a field is renamed or changes meaning, CHANGELOG.md),
- ``operation`` (``fit``, ``estimate``, ``tco``, ``cost``),
- ``inputs`` (the request as given; null where the operation chose, its choice in the result's own fields),
- ``sources`` (where the figures come from: a public URL or a repository path per figure),
- ``definitions`` (field -> what it means, in words),
- ``notes`` and ``warnings`` (plain sentences; a warning is something the user should act on).

``result.model_dump(mode="json")`` is the command's ``--json`` output and the dashboard's answer; the JSON Schema of
each result is published in ``docs/schemas/`` (``python scripts/json_schemas.py`` writes it; a test checks it is
current). A request built from bad values raises :class:`~tokenfab.core.errors.TokenfabError` naming the field, as
every input error of the library does.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from tokenfab.core.errors import TokenfabError

SCHEMA_VERSION = 1

R = TypeVar("R", bound="Request")

_EXPECTED = {  # pydantic error type -> what the field takes, in words
    "int_parsing": "an integer",
    "int_type": "an integer",
    "int_from_float": "an integer",
    "float_parsing": "a number",
    "float_type": "a number",
    "finite_number": "a finite number",
    "bool_parsing": "true or false",
    "string_type": "text",
    "list_type": "a list",
    "extra_forbidden": "one of the request's fields",
}


class Request(BaseModel):
    """An operation's inputs: unknown fields are refused, text is stripped, NaN and infinities are refused, and
    true/false is not a number."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, allow_inf_nan=False, frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_as_number(cls, v: Any, info: ValidationInfo) -> Any:
        if isinstance(v, bool) and info.field_name:
            ann = str(cls.model_fields[info.field_name].annotation)
            if "bool" not in ann and ("float" in ann or "int" in ann):
                raise ValueError("true/false is not a number")
        return v

    @classmethod
    def build(cls: type[R], **values: Any) -> R:
        """The request from keyword values, with a validation error raised as a TokenfabError naming the field
        (``users``: ``Input should be a valid integer``), never as pydantic's multi-line report."""
        try:
            return cls(**values)
        except ValidationError as e:
            first = e.errors()[0]
            loc = [str(x) for x in first.get("loc", ()) if not isinstance(x, int)]
            field = loc[0] if loc else None
            if len(loc) > 1 and field in cls.model_fields and _is_mapping(cls.model_fields[field].annotation):
                field = loc[1]  # a key of a mapping field (tco_overrides.pue) is the input the user gave: pue
            got = first.get("input")
            msg = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
            raise TokenfabError(
                msg if first.get("type") != "extra_forbidden" else "unknown input",
                field=field,
                expected=_EXPECTED.get(str(first.get("type"))),
                got=got if isinstance(got, (str, int, float, bool)) else None,
            ) from None


def _is_mapping(annotation: Any) -> bool:
    """Whether a field's type is a dict (or a dict | None)."""
    return "dict[" in str(annotation)


class Result(BaseModel):
    """The envelope every operation's result carries (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int = Field(default=SCHEMA_VERSION, description="version of this result's fields (CHANGELOG.md)")
    operation: str = Field(description="the tokenfab.api operation that made this result")
    inputs: dict[str, Any] = Field(
        default_factory=dict,
        description="the request as given (null: the operation chose; what it chose is in the result's own fields)",
    )
    sources: dict[str, Any] = Field(
        default_factory=dict, description="where the figures come from (public URL or repository path per figure)"
    )
    definitions: dict[str, str] = Field(default_factory=dict, description="field -> what it means")
    notes: list[str] = Field(default_factory=list, description="plain sentences about how the figures were made")
    warnings: list[str] = Field(default_factory=list, description="things to act on before using the figures")

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready dump (``model_dump(mode="json")``; kept for callers of the older ``to_dict()``)."""
        return self.model_dump(mode="json")


def json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON Schema of a request or result model, with each result field's definition (its class's
    ``FIELD_DEFINITIONS``) as the field's description where the field has none."""
    schema = model.model_json_schema()
    defs = getattr(model, "FIELD_DEFINITIONS", {}) or {}
    for name, prop in schema.get("properties", {}).items():
        if name in defs and "description" not in prop:
            prop["description"] = defs[name]
    schema["$comment"] = f"tokenfab schema_version {SCHEMA_VERSION} (generated by scripts/json_schemas.py)"
    return schema


def unit_of(model: type[BaseModel], field: str | None) -> str | None:
    """The unit (or the allowed values) a field of ``model`` states in its schema extra, or None."""
    info = model.model_fields.get(field or "")
    extra = info.json_schema_extra if info is not None else None
    if isinstance(extra, dict):
        u = extra.get("unit")
        return str(u) if u else None
    return None


# library parameter -> the request field that carries it, where the names differ (errors name the request's field)
LIBRARY_NAMES = {
    "usd_per_gpu_hour": "price_usd_per_gpu_hour",
    "mtp": "spec",
    "speculative": "spec",
    "n": "monte_carlo",
    "hardware_list": "hardware",
}


@contextlib.contextmanager
def request_fields(names: Mapping[str, str] = LIBRARY_NAMES) -> Iterator[None]:
    """Inside, a TokenfabError naming a library parameter (``usd_per_gpu_hour``) names the request's field instead
    (``price_usd_per_gpu_hour``), so a Python caller reads the name it gave (the CLI then shows the flag)."""
    try:
        yield
    except TokenfabError as e:
        head = (e.field or "").split(".")[0]
        if head in names:
            e.with_field(names[head] + (e.field or "")[len(head) :])
        raise


def split_list(v: Any) -> Any:
    """``"h100-sxm, b200"`` (a flag's comma-separated text) is the list ``["h100-sxm", "b200"]``; anything else
    passes through to the field's own validation."""
    if isinstance(v, str):
        return [x.strip() for x in v.split(",") if x.strip()]
    return v


def described(description: str, unit: str | None = None, source: str | None = None, **kw: Any) -> Any:
    """A pydantic Field with a description and, in its JSON Schema, the field's ``unit`` and, for a default, the
    ``source`` of that default."""
    extra: dict[str, Any] = {}
    if unit:
        extra["unit"] = unit
    if source:
        extra["source"] = source
    return Field(description=description, json_schema_extra=extra or None, **kw)


__all__ = [
    "LIBRARY_NAMES",
    "SCHEMA_VERSION",
    "Request",
    "Result",
    "described",
    "json_schema",
    "request_fields",
    "split_list",
    "unit_of",
]
