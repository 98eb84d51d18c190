"""The record cache in front of every source; the only module that imports aiocache.

`CachedSource` is read-through: it looks every key up, asks its department for the
misses only (one call), and stores what came back. "No such record" (None, or [] for a
one-to-many entity) is stored too, as long as a record (or for `negative_ttl`, never
longer than the entity's own TTL). Values are stored as orjson bytes, so a cached None is
b"null" while a miss is None, and every hit is a fresh object: a caller that mutates a
record cannot change the cache. Only raw department records are cached; authorisation
and masking run after it, on every request.

Keys are `govgraph:v{version}:{source}:{entity}:{key}`: bumping `version` makes every
old entry unreachable (it simply expires). An entity with `cache = false`, or a TTL of
0 (entity, or source), is never cached.

Stores, behind one small facade (`Store`):
- `MemoryStore`: per process, an LRU bounded to `max_entries`, expiry checked on read
  (aiocache 0.12.3's memory cache is unbounded, keeps a timer per key and hands out
  references, so it is not used).
- `RedisStore`: aiocache over redis-py, shared by every gateway process; RESP2 so any
  server version works. The cache is an optimisation, never a dependency: a failure
  reads as a miss and writes as a no-op, Redis is then left alone for a second so an
  outage costs one timeout a second rather than one per request, and a warning is
  logged at most every 30 s. It never calls `clear()`: without a namespace that is a
  FLUSHDB of a database other processes share.
"""

from __future__ import annotations

import contextvars
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

import orjson
from aiocache import Cache
from aiocache.serializers import NullSerializer
from redis.asyncio import BlockingConnectionPool
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from .base import CacheSpec, EntitySpec, Result, Source, SourceSpec
from .errors import BadSourceResponse, SourceConfigError
from .stats import CallStats

__all__ = [
    "CachedSource",
    "MemoryStore",
    "RecordCache",
    "RedisStore",
    "Store",
    "entity_ttls",
    "open_cache",
    "served_from_cache",
]

log = logging.getLogger("govgraph.cache")

# Values that JSON would silently turn into strings must not be cached: a hit would then
# differ from a miss. Records carry dates as ISO strings, so this never happens by contract.
_DUMPS_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS

_served: contextvars.ContextVar[bool] = contextvars.ContextVar("govgraph_served_from_cache", default=False)


def served_from_cache() -> bool:
    """Whether the last `CachedSource.fetch_many` awaited in this task was answered by the
    cache alone (no department call). Set at the start of every call, per task."""
    return _served.get()


class Store(Protocol):
    """Bytes by key with a TTL. Never raises for the store's own failures: they are misses."""

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]: ...

    async def set_many(self, items: Sequence[tuple[str, bytes]], ttl: float) -> None: ...

    async def aclose(self) -> None: ...


class MemoryStore:
    """An LRU with per-entry expiry, bounded by entries and by bytes (a person's record is
    a few hundred bytes, their contribution history tens of kilobytes, so a count alone
    does not bound memory); `clock` is injectable for tests."""

    OVERHEAD = 120  # bytes an entry costs beyond its key and value: the tuple, the dict slot

    def __init__(
        self, max_entries: int, max_bytes: int | None = None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.bytes = 0  # of what is held, OVERHEAD included
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()  # key -> (expires, value)

    def __len__(self) -> int:
        return len(self._entries)

    def _size(self, key: str, value: bytes) -> int:
        return len(key) + len(value) + self.OVERHEAD

    def _drop(self, key: str) -> None:
        _, value = self._entries.pop(key)
        self.bytes -= self._size(key, value)

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        now = self._clock()
        found: list[bytes | None] = []
        for key in keys:
            entry = self._entries.get(key)
            if entry is None or entry[0] <= now:
                if entry is not None:
                    self._drop(key)
                found.append(None)
                continue
            self._entries.move_to_end(key)
            found.append(entry[1])
        return found

    async def set_many(self, items: Sequence[tuple[str, bytes]], ttl: float) -> None:
        expires = self._clock() + ttl
        limit = self.max_bytes
        for key, value in items:
            if key in self._entries:
                self._drop(key)
            size = self._size(key, value)
            if limit is not None and size > limit:
                continue  # would evict everything else and still not fit
            self._entries[key] = (expires, value)
            self.bytes += size
        while self._entries and (
            len(self._entries) > self.max_entries or (limit is not None and self.bytes > limit)
        ):
            self._drop(next(iter(self._entries)))

    async def aclose(self) -> None:
        self._entries.clear()
        self.bytes = 0


class RedisStore:
    """aiocache's Redis backend, created on first use inside the running loop (a client
    made elsewhere would be bound to another loop), degrading to misses on any failure."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 0.25,
        pool_size: int = 64,
        pause_after_error: float = 1.0,
        warn_every: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        parts = urlsplit(url)
        try:
            port, db = parts.port or 6379, int(parts.path.strip("/") or 0)
        except ValueError as exc:
            raise SourceConfigError("cache.redis_url", f"has a bad port or database: {exc}") from None
        if parts.scheme not in ("redis", "rediss"):
            raise SourceConfigError("cache.redis_url", "must be a redis:// or rediss:// URL")
        self._where = f"{parts.hostname}:{port}"  # no credentials in logs
        pool_kwargs: dict[str, Any] = {
            "protocol": 2,  # redis-py 8 speaks RESP3 by default, which needs Redis >= 6
            "socket_timeout": timeout,
            "timeout": timeout,  # waiting for a pooled connection
            "retry": Retry(NoBackoff(), 0),  # a failure is a miss; retrying only adds latency
        }
        if parts.username:
            pool_kwargs["username"] = unquote(parts.username)
        self._options: dict[str, Any] = {
            "endpoint": parts.hostname or "127.0.0.1",
            "port": port,
            "db": db,
            "password": unquote(parts.password) if parts.password else None,
            "ssl": parts.scheme == "rediss",
            "timeout": timeout,
            "create_connection_timeout": timeout,
            "pool_max_size": pool_size,
            "connection_pool_class": BlockingConnectionPool,  # wait for a connection, don't fail
            "connection_pool_kwargs": pool_kwargs,
        }
        self._pause_after_error = pause_after_error
        self._warn_every = warn_every
        self._clock = clock
        self._cache: Any = None
        self._skip_until = -math.inf
        self._warned_at = -math.inf
        self._failures = 0  # since the last warning
        self.errors = 0  # failed operations, for metrics and tests

    def _client(self) -> Any:
        if self._cache is None:
            # Keys are built by CachedSource, so no namespace; values are bytes already.
            self._cache = Cache(Cache.REDIS, serializer=NullSerializer(encoding=None), **self._options)
        return self._cache

    def _available(self) -> bool:
        return self._clock() >= self._skip_until

    def _failed(self, exc: Exception) -> None:
        self.errors += 1
        self._failures += 1
        now = self._clock()
        self._skip_until = now + self._pause_after_error
        if now - self._warned_at >= self._warn_every:
            log.warning(
                "record cache at %s unavailable (%d failures): %s; asking the departments",
                self._where,
                self._failures,
                exc.__class__.__name__ + (f": {exc}" if str(exc) else ""),
            )
            self._warned_at = now
            self._failures = 0

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        if self._available():
            try:
                values: list[bytes | None] = await self._client().multi_get(list(keys))
                return values
            except Exception as exc:  # any cache failure is a miss, never an error
                self._failed(exc)
        return [None] * len(keys)

    async def set_many(self, items: Sequence[tuple[str, bytes]], ttl: float) -> None:
        if not items or not self._available():
            return
        try:
            # A float TTL makes aiocache use PEXPIRE (milliseconds) inside one MULTI.
            await self._client().multi_set(list(items), ttl=max(float(ttl), 0.001))
        except Exception as exc:  # an unwritten entry is a later miss
            self._failed(exc)

    async def aclose(self) -> None:
        cache, self._cache = self._cache, None
        if cache is not None:
            # aiocache's close() calls redis-py's deprecated close(); aclose() also closes the pool.
            await cache.client.aclose()


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
        for i, (key, raw) in enumerate(zip(keys, stored, strict=True)):
            if raw is None:
                missing.setdefault(key, []).append(i)
                results.append(None)
            else:
                results.append(orjson.loads(raw))
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
        found: list[tuple[str, bytes]] = []
        absent: list[tuple[str, bytes]] = []
        for key, result in zip(wanted, fetched, strict=True):
            for i in missing[key]:
                results[i] = result
            try:
                blob = orjson.dumps(result, option=_DUMPS_OPTIONS)
            except orjson.JSONEncodeError:
                continue  # not plain JSON: answered, but not cached
            (found if result else absent).append((prefix + key, blob))
        await self.cache.store.set_many(found, ttls[0])
        await self.cache.store.set_many(absent, ttls[1])
        return results

    async def aclose(self) -> None:
        await self.inner.aclose()  # the shared cache is closed by its owner, the catalogue
