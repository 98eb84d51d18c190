"""What commands print as JSON: camelCase keys and ISO 8601 times, as the GraphQL APIs
answer (`govgraph policy` as the console's API, `govgraph audit subject` as `accessLog`)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

__all__ = ["as_json", "plain"]


def as_json(value: Any) -> str:
    return json.dumps(plain(value), ensure_ascii=False, indent=2)


def plain(value: Any) -> Any:
    """`value` as JSON types: dataclasses and dicts with camelCase keys, sets sorted,
    dates and times in ISO 8601."""
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {_camel(k): plain(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, dict):
        return {_camel(str(k)): plain(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return sorted(plain(v) for v in value)
    if isinstance(value, dt.date):  # datetimes included
        return value.isoformat()
    return value


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)
