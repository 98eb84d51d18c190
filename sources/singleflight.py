"""Identical in-flight fetches share one backend call.

When many requests ask for the same records at once (a cold cache, a popular person),
`SingleFlight` sends each (entity, key) to the department once: keys already in flight
wait for that call, the others go out together in one new call, registered until it
ends, and every caller gets its answers back in its own key order.

The shared call runs in its own task, so a caller that is cancelled (its request went
away) leaves it running for the others; only when no caller waits any more is it
cancelled, so the department is not kept busy for nobody. Errors reach every caller
of the call that failed. Nothing is kept after a call ends: this is not a cache.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from .base import Result, Source
from .errors import BadSourceResponse

__all__ = ["SingleFlight"]


class _Flight:
    """One backend call in flight, and how many callers still wait for it."""

    __slots__ = ("keys", "task", "waiters")

    def __init__(self, keys: list[str]) -> None:
        self.keys = keys
        self.waiters = 0
        self.task: asyncio.Task[list[Result]]


def _retrieve(task: asyncio.Task[list[Result]]) -> None:
    # A call whose callers all left (one of their other calls failed first) still ends;
    # reading its exception keeps asyncio from logging it as never retrieved.
    if not task.cancelled():
        task.exception()


class SingleFlight:
    """Coalesces concurrent fetches of the same (entity, key) into one call to `inner`."""

    def __init__(self, inner: Source) -> None:
        self.name = inner.name
        self.inner = inner
        self._flights: dict[tuple[str, str], tuple[_Flight, int]] = {}  # -> (call, position in it)

    def in_flight(self) -> int:
        """Keys currently being fetched (for tests and metrics)."""
        return len(self._flights)

    async def fetch_many(self, entity: str, keys: Sequence[str]) -> list[Result]:
        new = [k for k in dict.fromkeys(keys) if (entity, k) not in self._flights]
        if new:
            flight = _Flight(new)
            flight.task = asyncio.create_task(self._call(entity, flight))
            flight.task.add_done_callback(_retrieve)
            for i, key in enumerate(new):
                self._flights[entity, key] = (flight, i)
        where = [self._flights[entity, k] for k in keys]
        flights = list(dict.fromkeys(f for f, _ in where))
        for f in flights:
            f.waiters += 1
        try:
            for f in flights:
                await asyncio.shield(f.task)  # our cancellation must not cancel the shared call
        finally:
            for f in flights:
                f.waiters -= 1
                if f.waiters == 0 and not f.task.done():
                    self._forget(entity, f)  # a later caller starts afresh, not on a dying call
                    f.task.cancel()
        return [f.task.result()[i] for f, i in where]

    async def _call(self, entity: str, flight: _Flight) -> list[Result]:
        try:
            results = await self.inner.fetch_many(entity, flight.keys)
        finally:
            self._forget(entity, flight)
        if len(results) != len(flight.keys):
            raise BadSourceResponse(self.name, entity, f"{len(results)} results for {len(flight.keys)} keys")
        return results

    def _forget(self, entity: str, flight: _Flight) -> None:
        for key in flight.keys:
            entry = self._flights.get((entity, key))
            if entry is not None and entry[0] is flight:
                del self._flights[entity, key]

    async def aclose(self) -> None:
        for flight in {f for f, _ in self._flights.values()}:
            flight.task.cancel()
        self._flights.clear()
        await self.inner.aclose()
