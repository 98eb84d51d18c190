"""Identical in-flight fetches share one backend call.

When many requests ask for the same records at once (a cold cache, a popular person),
`SingleFlight` sends each (entity, key) to the department once: keys already in flight
wait for that call, the others go out together in one new call, registered until it
ends, and every caller gets its answers back in its own key order.

The shared call runs in its own task, so a caller that is cancelled (its request went
away) leaves it running for the others; only when no caller waits any more is it
cancelled, so the department is not kept busy for nobody. Errors reach every caller
of the call that failed, with one exception: a refusal of the keys (`SourceRejected`)
reaches only callers that asked for every key of the refused call; a caller that
shared the call for some of its keys asks for those again in a call of its own, so one
request's bad keys never fail another's. Nothing is kept after a call ends: this is
not a cache.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from .base import Result, Source
from .errors import BadSourceResponse, SourceRejected

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
        asked = set(keys)
        refused: set[_Flight] = set()  # others' calls refused for keys we did not ask for
        try:
            for f in flights:
                try:
                    await asyncio.shield(f.task)  # our cancellation must not cancel the shared call
                except SourceRejected:
                    # A refusal belongs to the keys of that call; if it also carried keys we
                    # did not ask for, it may be another request's bad input, not ours.
                    if asked.issuperset(f.keys):
                        raise
                    refused.add(f)
        finally:
            for f in flights:
                f.waiters -= 1
                if f.waiters == 0 and not f.task.done():
                    self._forget(entity, f)  # a later caller starts afresh, not on a dying call
                    f.task.cancel()
        if not refused:
            return [f.task.result()[i] for f, i in where]
        # Our keys from those calls, asked again in a call of our own (not shared: it is
        # rare, and its refusal, if any, is then ours).
        again = list(dict.fromkeys(k for k, (f, _) in zip(keys, where, strict=True) if f in refused))
        answers = await self.inner.fetch_many(entity, again)
        if len(answers) != len(again):
            raise BadSourceResponse(self.name, entity, f"{len(answers)} results for {len(again)} keys")
        own = dict(zip(again, answers, strict=True))
        return [own[k] if f in refused else f.task.result()[i] for k, (f, i) in zip(keys, where, strict=True)]

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
