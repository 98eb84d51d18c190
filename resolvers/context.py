"""The typed per-request context every resolver reads as `info.context`.

The gateway fills in who is asking (`principal`) and where accesses are recorded
(`access`); resolvers never read either: enforcement does, around them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import strawberry

from .loaders import Loaders

__all__ = ["AccessLog", "Context", "Info", "Principal"]


@dataclass(frozen=True)
class Principal:
    """An authenticated client acting for one declared purpose."""

    client_id: str = "anonymous"
    purpose: str = "none"
    grants: Mapping[str, str] = field(default_factory=dict)  # scope -> "full" | "masked"
    jurisdiction: frozenset[str] = frozenset()  # district codes; empty: the whole city
    may_introspect: bool = False
    persisted_only: bool = False  # may run registered (trusted) documents only
    case_id: str | None = None
    operator_id: str | None = None


class AccessLog(Protocol):
    """Where enforcement notes what a request read and what it was refused."""

    def read(self, subject: str, scope: str) -> None: ...

    def deny(self, path: str, scope: str) -> None: ...


class _Discard:
    def read(self, subject: str, scope: str) -> None:
        return None

    def deny(self, path: str, scope: str) -> None:
        return None


_CST = dt.timezone(dt.timedelta(hours=8), "CST")


def _no_audit(identifier: str) -> str:
    raise LookupError("no audit log is configured")


@dataclass
class Context:
    loaders: Loaders
    principal: Principal = field(default_factory=Principal)
    access: AccessLog = field(default_factory=_Discard)
    # The audit log's keyed hash of an id, for the auditor's look-ups.
    audit_subject: Callable[[str], str] = _no_audit
    max_list_keys: int = 100
    # Verdicts evaluated in this request, by (subject, field): one evaluation each, so
    # aliases cannot sweep a verdict's arguments to rebuild the records behind it.
    verdicts: dict[tuple[str, str], object] = field(default_factory=dict)
    # The day "age" and "within the last N months" are counted from, in China Standard
    # Time whatever the server's zone; fixed in tests.
    today: dt.date = field(default_factory=lambda: dt.datetime.now(_CST).date())
    request: Any = None
    response: Any = None


Info = strawberry.Info[Context, None]
