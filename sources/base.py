"""The source contract: what every department adapter offers the graph."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["CacheSpec", "EntitySpec", "Record", "Resilience", "Result", "Source", "SourceSpec", "align"]

# A record is one JSON-shaped row as the department keeps it: dates are ISO strings.
Record = dict[str, Any]
# One result per key: a record, a list of records for one-to-many entities, or None.
Result = Record | list[Record] | None


@dataclass(frozen=True)
class EntitySpec:
    """One entity a source serves, e.g. `person` keyed by `id`."""

    name: str
    key: str  # the record field that holds the key
    many: bool = False  # one key -> a list of records (empty list: none)
    options: Mapping[str, Any] = field(default_factory=dict)  # adapter-specific
    cache: bool = True  # False: never cached (e.g. individual income tax)
    cache_ttl: float | None = None  # seconds; None: the source's


@dataclass(frozen=True)
class CacheSpec:
    """The shared record cache in front of every source (`[cache]` in govgraph.toml)."""

    backend: str = "memory"  # memory (per process, bounded) | redis (shared by all processes) | off
    redis_url: str | None = None
    max_entries: int = 100_000  # memory backend: entries kept, least recently used evicted
    max_mb: int = 64  # memory backend: megabytes of records kept (keys and values), LRU evicted
    ttl: float = 60.0  # seconds, unless a source or entity says otherwise
    # Seconds a "no such record" answer is remembered; None: as long as a record. A shorter
    # time lets a district-limited client tell by timing an absent id from one elsewhere.
    negative_ttl: float | None = None
    version: str = "1"  # part of every key: bump it when records change shape


@dataclass(frozen=True)
class Resilience:
    """How a source is protected from its department and the department from us."""

    retries: int = 2  # extra attempts after a connection error, timeout or 5xx (reads only)
    retry_backoff: float = 0.05  # seconds before the first retry; doubles each time, full jitter
    breaker_failures: int = 5  # consecutive failed calls that open the circuit breaker
    breaker_cooldown: float = 10.0  # seconds the breaker stays open before one trial call
    max_in_flight: int = 32  # concurrent calls to this source from one gateway process
    connect_timeout: float = 1.0  # seconds to open a connection (the total is `timeout`)


@dataclass(frozen=True)
class SourceSpec:
    """A department as configured; adapters validate `options` themselves."""

    name: str
    kind: str
    entities: Mapping[str, EntitySpec]
    options: Mapping[str, Any] = field(default_factory=dict)
    max_batch_size: int = 500
    timeout: float = 5.0  # seconds for one call, connection included
    resilience: Resilience = field(default_factory=Resilience)
    cache_ttl: float | None = None  # seconds records stay cached; None: the gateway's default; 0: off
    inject_latency: float = 0.0  # seconds added to every call: benchmarks and drills only


class Source(Protocol):
    """A department's system.

    `fetch_many` answers in the order of `keys`: for a one-to-one entity a record or
    None ("no such record"), for a one-to-many entity a list. Failures raise a
    `SourceError` subclass; no driver exception crosses this boundary.
    """

    name: str

    async def fetch_many(self, entity: str, keys: Sequence[str]) -> list[Result]: ...

    async def aclose(self) -> None: ...


def align(rows: Sequence[Record], keys: Sequence[str], key: str, many: bool) -> list[Result]:
    """Put a department's rows back in key order; duplicate keys get the same answer."""
    if many:
        grouped: dict[str, list[Record]] = {}
        for row in rows:
            grouped.setdefault(row[key], []).append(row)
        return [grouped.get(k, []) for k in keys]
    by_key = {row[key]: row for row in rows}
    return [by_key.get(k) for k in keys]
