"""Per-request loaders, one per entity, that batch a whole query level into one call.

Strawberry's DataLoader dispatches a batch on the next loop tick. Within one level of
a query, keys that were already cached resume their resolvers ticks earlier than keys
waiting on I/O, so one level became several backend calls. Here a per-request
scheduler dispatches pending batches when nothing of the request is in flight and its
resolvers have gone quiet: each (entity, level) costs one call, whatever was cached. A
batch held behind a slow department goes out after MAX_HOLD, so one slow branch costs
the others at most that.

A fresh `Loaders` is made for every request: a process-wide loader would serve one
caller's records to another and bind to the first event loop.

Whoever admitted the operation (the gateway's work budget) may listen through `WAITING`,
set in the operation's context: told `waiting()` when the request's batches have gone out
and its resolvers wait on departments, `working()` when a batch is back, so that an
operation waiting on a slow department need not hold back others that could use the CPU.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from contextvars import ContextVar
from typing import Protocol

from sources.base import Record, Result
from sources.cache import served_from_cache
from sources.registry import Catalog

__all__ = ["WAITING", "Loaders", "RequestFinished", "Waiting"]

Fetch = Callable[[list[str]], Awaitable[list[Result]]]
# Loop turns with no new loads before a batch goes out; each turn costs microseconds.
QUIET_TURNS = 3
# Longest a ready batch waits for other in-flight calls of its request, so that one slow
# department delays other branches by at most this much (seconds).
MAX_HOLD = 0.02


class Waiting(Protocol):
    """Hears when an operation waits on departments and when it works again."""

    def waiting(self) -> None: ...

    def working(self) -> None: ...


# The listener of the operation executing in this context, if any (the work budget's share).
WAITING: ContextVar[Waiting | None] = ContextVar("govgraph_loads_waiting", default=None)


class _Scheduler:
    def __init__(self) -> None:
        self.in_flight = 0
        self.waiting: dict[_EntityLoader, None] = {}  # insertion-ordered set
        self._activity = 0
        self._armed = False
        self._hold: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def wants_dispatch(self, loader: _EntityLoader) -> None:
        self.waiting[loader] = None
        self._activity += 1
        self._arm()
        if self.in_flight and self._hold is None:
            self._hold = asyncio.get_running_loop().call_later(MAX_HOLD, self._release)

    def _arm(self) -> None:
        if not self._armed and self.in_flight == 0 and self.waiting:
            self._armed = True
            asyncio.get_running_loop().call_soon(self._turn, self._activity, 0)

    def _release(self) -> None:
        """Held too long behind a slow call: dispatch what waits without it."""
        self._hold = None
        if self.waiting and not self._armed:
            self._armed = True
            asyncio.get_running_loop().call_soon(self._turn, self._activity, QUIET_TURNS - 1)

    def _turn(self, seen: int, quiet: int) -> None:
        if not self._armed:
            return  # dispatched already (`settled`)
        quiet = quiet + 1 if seen == self._activity else 0
        if quiet < QUIET_TURNS:
            asyncio.get_running_loop().call_soon(self._turn, self._activity, quiet)
            return
        self._dispatch()

    def settled(self) -> None:
        """The caller knows every resolver of the request is waiting on a load: dispatch
        without waiting for quiet turns, unless a call is in flight (its answer may bring
        keys of the same level)."""
        if self.waiting and self.in_flight == 0:
            self._dispatch()

    def _dispatch(self) -> None:
        self._armed = False
        if self._hold is not None:
            self._hold.cancel()
            self._hold = None
        loaders, self.waiting = list(self.waiting), {}
        for loader in loaders:
            for keys, futures in loader.take_batches():
                self.in_flight += 1
                task = asyncio.create_task(loader.run(keys, futures))
                self._tasks.add(task)
                task.add_done_callback(self._done)  # in this context: the same listener
        # Pending keys go out when the request's resolvers are quiet or settled: it now
        # waits on departments until a batch is back.
        listener = WAITING.get()
        if listener is not None and self.in_flight:
            listener.waiting()

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self.in_flight -= 1
        listener = WAITING.get()
        if listener is not None:
            listener.working()  # its resolvers resume with the batch
        self._arm()


class _EntityLoader:
    def __init__(self, scheduler: _Scheduler, fetch: Fetch, max_batch_size: int) -> None:
        self._scheduler = scheduler
        self._fetch = fetch
        self._max = max_batch_size
        self._cache: dict[str, asyncio.Future[Result]] = {}
        self._pending: list[str] = []

    def load(self, key: str) -> asyncio.Future[Result]:
        future = self._cache.get(key)
        if future is None:
            future = self._cache[key] = asyncio.get_running_loop().create_future()
            self._pending.append(key)
            self._scheduler.wants_dispatch(self)
        return future

    def forget(self) -> None:
        self._cache.clear()
        self._pending.clear()

    def take_batches(self) -> list[tuple[list[str], list[asyncio.Future[Result]]]]:
        """The pending keys in batches, each with its futures (taken now: a released
        request forgets its cache while a batch may still be on its way)."""
        keys, self._pending = self._pending, []
        batches = [keys[i : i + self._max] for i in range(0, len(keys), self._max)]
        return [(batch, [self._cache[k] for k in batch]) for batch in batches]

    async def run(self, keys: list[str], futures: list[asyncio.Future[Result]]) -> None:
        try:
            results = await self._fetch(keys)
            if len(results) != len(keys):  # a source broke its contract; never leave a field waiting
                raise RuntimeError(f"source answered {len(results)} results for {len(keys)} keys")
        except Exception as exc:  # delivered to every field that asked; the error layer codes it
            for f in futures:
                if not f.done():
                    f.set_exception(exc)
            return
        for f, result in zip(futures, results, strict=True):
            if not f.done():
                f.set_result(result)


def _shielded(pending: Awaitable[Result]) -> Awaitable[Result]:
    """What a field awaits for a shared future: when graphql-core cancels one field (a
    sibling failed), cancelling the future itself would fail every other field waiting
    for the same key. A settled future needs no shield (awaiting it does not suspend)."""
    if isinstance(pending, asyncio.Future) and not pending.done():
        return asyncio.shield(pending)
    return pending


def _seen(future: asyncio.Future[Result]) -> None:
    if not future.cancelled():
        future.exception()


class RequestFinished(RuntimeError):
    """A field asked for records after its request's answer was complete."""


class _UnbatchedLoader:
    """One backend call per load, no cache: what a resolver per field would cost."""

    def __init__(self, fetch: Fetch) -> None:
        self._fetch = fetch

    def load(self, key: str) -> Awaitable[Result]:
        return self._one(key)

    async def _one(self, key: str) -> Result:
        return (await self._fetch([key]))[0]


class Loaders:
    """`batching=False` gives one backend call per field, as a naive resolver makes;
    it exists to measure what batching saves."""

    def __init__(self, catalog: Catalog, batching: bool = True) -> None:
        self._catalog = catalog
        self._scheduler = _Scheduler() if batching else None
        self._loaders: dict[str, _EntityLoader | _UnbatchedLoader] = {}
        self._consulted: dict[str, str] = {}  # source -> "cached" | "ok" | "failed"
        self._released = False

    def _loader(self, entity: str) -> _EntityLoader | _UnbatchedLoader:
        loader = self._loaders.get(entity)
        if loader is None:
            if self._released:
                # graphql-core lets sibling fields of a failed non-null field run on after
                # the answer is sent; they must not start new department calls.
                raise RequestFinished(f"{entity}: the request is already answered")
            route = self._catalog.routes[entity]
            # The closure must not hold `self`: a cycle through it would keep every record
            # of the request alive until the garbage collector's next full pass.
            source, consulted = route.source, self._consulted

            async def fetch(keys: list[str]) -> list[Result]:
                try:
                    results = await source.fetch_many(entity, keys)
                except Exception:
                    consulted[source.name] = "failed"
                    raise
                # "cached" only while every call so far was answered by the cache alone.
                if consulted.get(source.name, "cached") == "cached":
                    consulted[source.name] = "cached" if served_from_cache() else "ok"
                return results

            if self._scheduler is None:
                loader = _UnbatchedLoader(fetch)
            else:
                loader = _EntityLoader(self._scheduler, fetch, route.max_batch_size)
            self._loaders[entity] = loader
        return loader

    def release(self) -> None:
        """Drop every record this request loaded. Call when its answer is complete: the
        executor's own reference cycles hold the context, and through it these records,
        until the garbage collector's next full pass; with many requests in flight that
        is hundreds of megabytes."""
        self._released = True
        for loader in self._loaders.values():
            if isinstance(loader, _EntityLoader):
                loader.forget()
        self._loaders.clear()

    def settled(self) -> None:
        """Every resolver of the request now waits on a load (a plan executor knows when):
        dispatch the pending batches at once rather than after quiet loop turns."""
        if self._scheduler is not None:
            self._scheduler.settled()

    def consulted(self) -> dict[str, str]:
        """Each source this request asked: "failed" if any call failed, else "cached" if the
        record cache answered every call (the department was not asked), else "ok"."""
        return dict(self._consulted)

    async def one(self, entity: str, key: str | None) -> Record | None:
        """The record for `key` of a one-to-one entity, or None."""
        if key is None:
            return None
        result = await _shielded(self._loader(entity).load(key))
        return result if isinstance(result, dict) else None

    async def many(self, entity: str, key: str | None) -> list[Record]:
        """The records for `key` of a one-to-many entity (empty when there are none)."""
        if key is None:
            return []
        result = await _shielded(self._loader(entity).load(key))
        return result if isinstance(result, list) else []

    async def each(self, entity: str, keys: Sequence[str]) -> list[Record | None]:
        """One record or None per key of a one-to-one entity, in key order."""
        loader = self._loader(entity)
        pending = [loader.load(k) for k in keys]  # all asked before any is awaited: one batch
        results: list[Result] = []
        try:
            for p in pending:
                results.append(await _shielded(p))
        except BaseException:
            # The keys not awaited fail alike (a failed batch fails each of its keys): their
            # outcome counts as seen, or asyncio logs "exception was never retrieved" for each.
            for p in pending[len(results) + 1 :]:
                if isinstance(p, asyncio.Future):
                    p.add_done_callback(_seen)
            raise
        return [r if isinstance(r, dict) else None for r in results]
