"""The record cache in front of every source.

`CachedSource` is read-through: it looks every key up, asks its department for the
misses only (one call), and stores what came back. "No such record" (None, or [] for a
one-to-many entity) is stored too, as long as a record (or for `negative_ttl`, never
longer than the entity's own TTL). Only raw department records are cached; authorisation
and masking run after it, on every request.

Keys are `govgraph:v{version}:{source}:{entity}:{key}`: bumping `version` makes every
old entry unreachable (it simply expires). An entity with `cache = false`, or a TTL of
0 (entity, or source), is never cached.

Records are kept by aiocache, in memory (per process, bounded) or in Redis (shared by
every process); the stores, their serializer and what a Redis failure costs are in
sources/recordstores.py.
"""

from __future__ import annotations

import contextvars
from collections.abc import Sequence

from .base import CacheSpec, EntitySpec, Result, Source, SourceSpec
from .errors import BadSourceResponse, SourceConfigError
from .recordstores import MemoryStore, Miss, RedisStore, Store
from .stats import CallStats

__all__ = ["CachedSource", "RecordCache", "entity_ttls", "open_cache", "served_from_cache"]

_served: contextvars.ContextVar[bool] = contextvars.ContextVar("govgraph_served_from_cache", default=False)


def served_from_cache() -> bool:
    """Whether the last `CachedSource.fetch_many` awaited in this task was answered by the
    cache alone (no department call). Set at the start of every call, per task."""
    return _served.get()


class RecordCache:
    """The one cache shared by every source of a catalogue: its policy and its store."""

    def __init__(self, spec: CacheSpec, store: Store) -> None:
        self.spec = spec
        self.store = store
        self.hits = 0  # keys answered from the cache
        self.misses = 0  # keys the departments were asked for

    def prefix(self, source: str) -> str:
        return f"govgraph:v{self.spec.version}:{source}:"

    async def aclose(self) -> None:
        await self.store.aclose()


def open_cache(spec: CacheSpec) -> RecordCache | None:
    """The cache `[cache]` describes, or None when it is off. Nothing connects yet."""
    if spec.backend == "off":
        return None
    if spec.backend == "memory":
        return RecordCache(spec, MemoryStore(spec.max_entries, spec.max_mb * 1024 * 1024))
    if spec.backend == "redis":
        if not spec.redis_url:
            raise SourceConfigError("cache.redis_url", "is required when backend is redis")
        return RecordCache(spec, RedisStore(spec.redis_url))
    raise SourceConfigError("cache.backend", f"must be memory, redis or off, got {spec.backend!r}")


def entity_ttls(cache: CacheSpec, source: SourceSpec, entity: EntitySpec) -> tuple[float, float] | None:
    """(TTL of a record, TTL of "no such record") in seconds, or None: never cached.
    The entity's TTL wins over the source's, which wins over the cache's; a source TTL
    of 0 turns caching off for all its entities."""
    if not entity.cache or source.cache_ttl == 0:
        return None
    ttl = next(t for t in (entity.cache_ttl, source.cache_ttl, cache.ttl) if t is not None)
    if ttl <= 0:
        return None
    # Absence is never remembered longer than presence; by default exactly as long, so that
    # how soon a look-up goes back to its department does not tell absent from present.
    negative = ttl if cache.negative_ttl is None else min(cache.negative_ttl, ttl)
    return ttl, negative


class CachedSource:
    """A read-through cache in front of `inner` (module docstring); `stats` hears of every
    look-up's hits and misses."""

    def __init__(
        self, inner: Source, spec: SourceSpec, cache: RecordCache, stats: CallStats | None = None
    ) -> None:
        self.name = inner.name
        self.inner = inner
        self.cache = cache
        self._stats = stats
        self._prefix = cache.prefix(spec.name)
        self._ttls: dict[str, tuple[float, float]] = {}
        for name, entity in spec.entities.items():
            ttls = entity_ttls(cache.spec, spec, entity)
            if ttls is not None:
                self._ttls[name] = ttls

    async def fetch_many(self, entity: str, keys: Sequence[str]) -> list[Result]:
        _served.set(False)
        ttls = self._ttls.get(entity)
        if ttls is None or not keys:
            return await self.inner.fetch_many(entity, keys)
        prefix = f"{self._prefix}{entity}:"
        stored = await self.cache.store.get_many([prefix + k for k in keys])
        results: list[Result] = []
        missing: dict[str, list[int]] = {}  # key -> its positions in `keys`
        for i, (key, value) in enumerate(zip(keys, stored, strict=True)):
            if isinstance(value, Miss):
                missing.setdefault(key, []).append(i)
                results.append(None)
            else:
                results.append(value)
        misses = sum(len(p) for p in missing.values())
        self.cache.hits += len(keys) - misses
        self.cache.misses += misses
        if self._stats is not None:
            self._stats.cache_lookup(self.name, entity, len(keys) - misses, misses)
        if not missing:
            _served.set(True)
            return results
        wanted = list(missing)
        fetched = await self.inner.fetch_many(entity, wanted)
        if len(fetched) != len(wanted):
            raise BadSourceResponse(self.name, entity, f"{len(fetched)} results for {len(wanted)} keys")
        found: list[tuple[str, Result]] = []
        absent: list[tuple[str, Result]] = []
        for key, result in zip(wanted, fetched, strict=True):
            for i in missing[key]:
                results[i] = result
            (found if result else absent).append((prefix + key, result))
        await self.cache.store.set_many(found, ttls[0])
        await self.cache.store.set_many(absent, ttls[1])
        return results

    async def aclose(self) -> None:
        await self.inner.aclose()  # the shared cache is closed by its owner, the catalogue
