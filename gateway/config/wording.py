"""pydantic's validation errors as govgraph's configuration messages: the dotted key and
a problem worded as it always has been (`must be int, got 'soon'`, `is required`), with
a "did you mean" for an unknown key."""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Callable
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from sources.options import unknown_key

__all__ = ["dotted", "known_keys", "problems"]

_UNKNOWN = ("extra_forbidden", "unexpected_keyword_argument")
_REQUIRED = ("missing", "missing_keyword_argument", "missing_positional_argument")
_TYPES = {
    "int_type": "int",
    "int_parsing": "int",
    "int_from_float": "int",
    "float_type": "float",
    "float_parsing": "float",
    "string_type": "str",
}
_TABLE = ("dict_type", "model_type", "model_attributes_type", "dataclass_type", "dataclass_args_type")
_LIST = ("list_type", "tuple_type", "iterable_type")


def problems(error: ValidationError, root: type, prefix: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """(dotted key, problem) for each failure; `root` is the model validated, `prefix`
    the keys above it (`("auth",)` when only [auth] was read)."""
    return [_one(e, root, prefix) for e in error.errors(include_url=False)]


# A value of the right type that breaks the field's constraint: (value, ctx) -> problem.
_CONSTRAINTS: dict[str, Callable[[Any, dict[str, Any]], str]] = {
    "string_pattern_mismatch": lambda value, ctx: f"must match {ctx['pattern']}, got {value!r}",
    "string_too_short": lambda value, ctx: "must not be empty",
    "greater_than_equal": lambda value, ctx: f"must be at least {ctx['ge']}, got {value}",
    "greater_than": lambda value, ctx: (
        f"must be positive, got {value}" if ctx["gt"] == 0 else f"must exceed {ctx['gt']}"
    ),
    "less_than_equal": lambda value, ctx: f"must be at most {ctx['le']}, got {value}",
    "literal_error": lambda value, ctx: f"must be {str(ctx['expected']).replace(chr(39), '')}, got {value!r}",
}


def _one(error: ErrorDetails, root: type, prefix: tuple[str, ...]) -> tuple[str, str]:
    loc = tuple(str(p) if not isinstance(p, int) else p for p in error["loc"])
    keys = tuple(p for p in loc if p != "[key]")  # a bad table name is reported at the name
    where = dotted((*prefix, *keys))
    kind, value, ctx = error["type"], error.get("input"), error.get("ctx") or {}
    if kind in _UNKNOWN:
        return where, unknown_key(str(keys[-1]), known_keys(root, keys[:-1]))
    if kind in _REQUIRED:
        return where, "is required"
    if kind in _TYPES:
        return where, f"must be {_TYPES[kind]}, got {value!r}"
    if kind in ("bool_type", "bool_parsing"):
        return where, f"must be true or false, got {value!r}"
    if kind in _CONSTRAINTS:
        return where, _CONSTRAINTS[kind](value, ctx)
    if kind in _TABLE:
        return where, f"must be a table, got {value!r}"
    if kind in _LIST:
        return where, f"must be a list, got {value!r}"
    return where, error["msg"]


def dotted(keys: tuple[str | int, ...]) -> str:
    """`("sources", "tax", "timeout")` as `sources.tax.timeout`; list positions as `[i]`."""
    text = ""
    for key in keys:
        text += f"[{key}]" if isinstance(key, int) else (f".{key}" if text else key)
    return text


def known_keys(root: type, keys: tuple[str | int, ...]) -> list[str]:
    """The keys of the table at `keys` under the model `root`, sorted."""
    table: Any = root
    for key in keys:
        table = _field_types(table).get(str(key))
        if table is None:
            return []
    return sorted(_field_types(table))


def _field_types(table: Any) -> dict[str, Any]:
    """A model's or pydantic dataclass's field names and their types (None removed)."""
    if isinstance(table, type) and issubclass(table, BaseModel):
        fields = {name: f.annotation for name, f in table.model_fields.items()}
    elif dataclasses.is_dataclass(table) and isinstance(table, type):
        fields = {name: f.annotation for name, f in getattr(table, "__pydantic_fields__", {}).items()}
    else:
        return {}
    return {name: _without_none(t) for name, t in fields.items()}


def _without_none(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, types.UnionType):
        rest = [a for a in get_args(annotation) if a is not type(None)]
        return rest[0] if len(rest) == 1 else annotation
    return annotation
