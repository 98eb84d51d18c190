"""The typed per-request context every resolver reads as `info.context`.

The gateway fills in who is asking (`principal`) and where accesses are recorded
(`access`); resolvers never read either: enforcement does, around them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import strawberry

from .loaders import Loaders

__all__ = ["AccessLog", "Context", "Info", "Principal", "RequestTally"]


@dataclass(frozen=True)
class Principal:
    """An authenticated client acting for one declared purpose."""

    client_id: str = "anonymous"
    purpose: str = "none"
    grants: Mapping[str, str] = field(default_factory=dict)  # scope -> "full" | "masked"
    jurisdiction: frozenset[str] = frozenset()  # district codes; empty: the whole city
    may_introspect: bool = False
    persisted_only: bool = False  # may run registered (trusted) documents only
    operations: frozenset[str] = frozenset()  # registered operations it may run by id; empty: any
    # Arguments fixed by the grant for verdict and summary fields, by field coordinate; a
    # field missing is not answered. None: any arguments (a purpose that explores).
    pins: Mapping[str, Mapping[str, object]] | None = None
    max_lookup_ids: int = 10  # ids per request, when the grant masks the identifier
    miss_budget: int = 100  # look-ups finding nothing visible, per miss_window seconds
    miss_window: float = 86_400.0
    verdict_window: float = 86_400.0  # distinct verdict arguments per subject, counted over this
    verdict_variants: int = 1
    case_id: str | None = None
    operator_id: str | None = None
    basis: str | None = None  # what the grant rests on: a legal basis or approval reference


class AccessLog(Protocol):
    """Where enforcement notes what a request read, looked up, concluded and was refused."""

    def read(self, subject: str, scope: str) -> None: ...

    def deny(self, path: str, scope: str) -> None: ...

    def lookup(self, subject: str, outcome: str) -> None: ...

    def conclude(self, subject: str, field: str, arguments: Mapping[str, object], value: object) -> None: ...


class _Discard:
    def read(self, subject: str, scope: str) -> None:
        return None

    def deny(self, path: str, scope: str) -> None:
        return None

    def lookup(self, subject: str, outcome: str) -> None:
        return None

    def conclude(self, subject: str, field: str, arguments: Mapping[str, object], value: object) -> None:
        return None


@dataclass
class RequestTally:
    """What one HTTP request has asked so far, across every operation of a batch: a batch
    of operations must not sidestep a per-request rule."""

    # Verdicts evaluated, by (subject, field coordinate): one argument set each, so aliases
    # and batches cannot sweep a verdict's arguments to rebuild the records behind it.
    # The value: (arguments, whether the client's window admitted them, once known).
    verdicts: dict[tuple[str, str], tuple[dict[str, Any], asyncio.Future[bool]]] = field(default_factory=dict)
    lookup_ids: int = 0  # ids looked up at the root by a client that sees them masked
    batch: bool = False  # the request is a batch of operations
    # The process's tallies (gateway/access/tally.py: miss budgets, verdict windows), shared by
    # every request; None where nothing counts across requests (pure graph tests).
    store: Any = None


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
    # Its hashes under every suite the log has used (its HMAC changes with the suite).
    audit_subjects: Callable[[str], tuple[str, ...]] | None = None
    max_list_keys: int = 100
    tally: RequestTally = field(default_factory=RequestTally)
    # The day "age" and "within the last N months" are counted from, in China Standard
    # Time whatever the server's zone; fixed in tests.
    today: dt.date = field(default_factory=lambda: dt.datetime.now(_CST).date())
    request: Any = None
    response: Any = None


Info = strawberry.Info[Context, None]
