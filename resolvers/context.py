"""The typed per-request context every resolver reads as `info.context`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import strawberry

from .loaders import Loaders

__all__ = ["Context", "Info", "Principal"]


@dataclass(frozen=True)
class Principal:
    """Who is asking and for what. Filled in by the gateway's authentication."""

    client_id: str = "anonymous"
    purpose: str | None = None


@dataclass
class Context:
    loaders: Loaders
    principal: Principal = field(default_factory=Principal)
    max_list_keys: int = 100
    # The day "age" and "within the last N months" are counted from; fixed in tests.
    today: dt.date = field(default_factory=dt.date.today)
    request: Any = None
    response: Any = None


Info = strawberry.Info[Context, None]
