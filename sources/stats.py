"""Counts every backend call so tests can assert batching and /metrics can export it.

`CallStats` is also where the other source layers report what they see (breaker state
changes, calls refused by an open breaker, cache look-ups): it keeps its own totals and
forwards each event to an optional `listener` (the gateway's metrics), so nothing in
`sources/` knows how events are exported. With a `tracer`, every backend call is a span,
current while the adapter runs, so an HTTP adapter can propagate it.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import time
from collections import Counter, deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer

from .base import Result, Source
from .errors import SourceError

__all__ = ["Call", "CallStats", "CallTally", "CountedSource", "SourceListener", "tally_calls"]


@dataclass(frozen=True)
class Call:
    source: str
    entity: str
    batch_size: int
    latency: float  # seconds
    outcome: str  # "ok" or the SourceError code


class SourceListener(Protocol):
    """Receives every source event as it happens (e.g. to export metrics)."""

    def call(self, call: Call) -> None: ...

    def breaker(self, source: str, state: str) -> None: ...

    def short_circuit(self, source: str, entity: str) -> None: ...

    def cache_lookup(self, source: str, entity: str, hits: int, misses: int) -> None: ...


@dataclass
class CallTally:
    """Backend calls started on behalf of one request: source -> [calls, keys, failed calls]."""

    sources: dict[str, list[int]] = field(default_factory=dict)

    def add(self, call: Call) -> None:
        counts = self.sources.get(call.source)
        if counts is None:
            counts = self.sources[call.source] = [0, 0, 0]
        counts[0] += 1
        counts[1] += call.batch_size
        counts[2] += call.outcome != "ok"


# The request's tally. Loader and single-flight tasks copy their context from the request's
# task, so they all hold the same tally; a call another request started is not in it.
_tally: contextvars.ContextVar[CallTally | None] = contextvars.ContextVar("govgraph_call_tally", default=None)


@contextlib.contextmanager
def tally_calls() -> Iterator[CallTally]:
    """Count the backend calls made in this context (and tasks it starts) until exit."""
    tally = CallTally()
    token = _tally.set(tally)
    try:
        yield tally
    finally:
        _tally.reset(token)


class CallStats:
    """Totals per (source, entity, outcome) plus the most recent calls in order."""

    def __init__(self, keep: int = 10_000) -> None:
        self.recent: deque[Call] = deque(maxlen=keep)
        self.calls: Counter[tuple[str, str, str]] = Counter()
        self.keys: Counter[tuple[str, str]] = Counter()
        self.short_circuits: Counter[str] = Counter()  # calls refused by an open breaker, by source
        self.listener: SourceListener | None = None
        self.tracer: Tracer | None = None  # None: no spans, no cost

    def record(self, call: Call) -> None:
        self.recent.append(call)
        self.calls[call.source, call.entity, call.outcome] += 1
        self.keys[call.source, call.entity] += call.batch_size
        tally = _tally.get()
        if tally is not None:
            tally.add(call)
        if self.listener is not None:
            self.listener.call(call)

    def breaker_changed(self, source: str, state: str) -> None:
        if self.listener is not None:
            self.listener.breaker(source, state)

    def short_circuited(self, source: str, entity: str) -> None:
        self.short_circuits[source] += 1
        if self.listener is not None:
            self.listener.short_circuit(source, entity)

    def cache_lookup(self, source: str, entity: str, hits: int, misses: int) -> None:
        if self.listener is not None:
            self.listener.cache_lookup(source, entity, hits, misses)

    def total(self) -> int:
        return sum(self.calls.values())

    def reset(self) -> None:
        self.recent.clear()
        self.calls.clear()
        self.keys.clear()
        self.short_circuits.clear()


class CountedSource:
    """Wraps an adapter; sits innermost so only real backend calls are counted."""

    def __init__(self, inner: Source, stats: CallStats) -> None:
        self.name = inner.name
        self._inner = inner
        self._stats = stats

    async def fetch_many(self, entity: str, keys: Sequence[str]) -> list[Result]:
        tracer = self._stats.tracer
        if tracer is None:
            return await self._counted(entity, keys)
        attributes: dict[str, str | int] = {
            "govgraph.source": self.name,
            "govgraph.entity": entity,
            "govgraph.batch_size": len(keys),
        }
        with tracer.start_as_current_span(
            f"source {self.name}.{entity}",
            kind=SpanKind.CLIENT,
            attributes=attributes,
            record_exception=False,  # exception text may carry backend detail
            set_status_on_exception=False,
        ) as span:
            try:
                return await self._counted(entity, keys)
            except BaseException as exc:
                code = exc.code if isinstance(exc, SourceError) else type(exc).__name__
                span.set_status(Status(StatusCode.ERROR, code))
                span.set_attribute("govgraph.outcome", code)
                raise

    async def _counted(self, entity: str, keys: Sequence[str]) -> list[Result]:
        started = time.perf_counter()
        outcome = "ok"
        try:
            return await self._inner.fetch_many(entity, keys)
        except SourceError as exc:
            outcome = exc.code
            raise
        except asyncio.CancelledError:
            outcome = "cancelled"  # cut off at the call's deadline, or the request went away
            raise
        except Exception:
            outcome = "error"
            raise
        finally:
            self._stats.record(Call(self.name, entity, len(keys), time.perf_counter() - started, outcome))

    async def aclose(self) -> None:
        await self._inner.aclose()
