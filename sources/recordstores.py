"""Where the record cache (sources/cache.py) keeps records: aiocache caches, with one
serializer, behind one small interface (`Store`).

- `MemoryStore`: per process, an aiocache cache whose backend is an LRU bounded by
  entries and by bytes, with expiry checked on read. aiocache 0.12.3's own memory cache
  is unbounded and keeps a timer per key (its bounded LRU comes with 1.0); a person's
  record is a few hundred bytes, a contribution history tens of kilobytes, so a count
  alone would not bound memory either. The bytes counted are the bytes held: each value
  is kept as an exact-size copy (orjson returns its output in a buffer of at least 4 KiB
  that it does not shrink, so a 300-byte record serialized by orjson holds 4 KiB), and
  each entry is charged its key, its value and what the entry itself takes
  (`MemoryStore.OVERHEAD`, measured with tracemalloc: tests/sources/test_cache.py).
- `RedisStore`: aiocache's Redis cache, shared by every gateway process, on the
  process's one pool for the server (sources/sharedredis.py), the one the rate limits
  use. A failure reads as a miss and writes as a no-op (`Outage`). It never calls
  aiocache's `clear()` (without a namespace, a FLUSHDB of a database other processes
  share) nor its `close()` (which would close the shared pool).

Records are stored as orjson bytes (`RecordSerializer`): a stored "no such record" is
b"null" (or b"[]") while nothing stored loads as `MISS`, and every hit is a fresh object,
so a caller that mutates a record cannot change the cache.
"""

from __future__ import annotations

import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import orjson
from aiocache import RedisCache
from aiocache.base import BaseCache
from aiocache.serializers import BaseSerializer

from .base import Result
from .sharedredis import PAUSE_AFTER_ERROR, WARN_EVERY, Outage, PoolLease

__all__ = ["MISS", "MemoryStore", "Miss", "RecordSerializer", "RedisStore", "Store"]

log = logging.getLogger("govgraph.cache")

# Values that JSON would silently turn into strings must not be cached: a hit would then
# differ from a miss. Records carry dates as ISO strings, so this never happens by contract.
_DUMPS_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
OPERATION_TIMEOUT = 0.25  # seconds for a whole Redis read or write, waiting for a connection included


class Miss:
    """Nothing is stored under a key."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISS"


MISS = Miss()


class RecordSerializer(BaseSerializer):  # type: ignore[misc]  # aiocache is untyped
    DEFAULT_ENCODING = None  # bytes both ways: aiocache then hands Redis replies over undecoded

    def dumps(self, value: Result) -> bytes:
        return orjson.dumps(value, option=_DUMPS_OPTIONS)

    def loads(self, value: bytes | None) -> Result | Miss:
        return MISS if value is None else orjson.loads(value)


class Store(Protocol):
    """Records by key with a TTL. Never raises for the store's own failures: they are misses."""

    async def get_many(self, keys: Sequence[str]) -> list[Result | Miss]: ...

    async def set_many(self, items: Sequence[tuple[str, Result]], ttl: float) -> None: ...

    async def aclose(self) -> None: ...


async def _multi_set(cache: Any, items: Sequence[tuple[str, Result]], ttl: float) -> None:
    # A float TTL makes aiocache's Redis cache use PEXPIRE (milliseconds) inside one MULTI.
    ttl = max(float(ttl), 0.001)
    try:
        await cache.multi_set(list(items), ttl=ttl)
    except orjson.JSONEncodeError:  # serialized before anything is written
        plain = [(key, value) for key, value in items if _plain(value)]
        if plain:  # the others are answered, but not cached
            await cache.multi_set(plain, ttl=ttl)


def _plain(value: Result) -> bool:
    try:
        orjson.dumps(value, option=_DUMPS_OPTIONS)
    except orjson.JSONEncodeError:
        return False
    return True


class MemoryStore(BaseCache):  # type: ignore[misc]  # aiocache is untyped
    """The memory store, and the aiocache backend under it: an LRU bounded by entries and
    bytes with per-entry expiry; `clock` is injectable for tests."""

    NAME = "bounded-memory"
    # Bytes an entry costs beyond the characters of its key and the bytes of its value: the
    # key's and the value's object headers (49 + 33), the (expires, value) tuple and its float
    # (56 + 24) and the entry's share of the ordered dict (about 70).
    OVERHEAD = 232

    def __init__(
        self, max_entries: int, max_bytes: int | None = None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__(serializer=RecordSerializer(), timeout=None)  # nothing here waits
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.bytes = 0  # of what is held, OVERHEAD included
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()  # key -> (expires, value)

    def __len__(self) -> int:
        return len(self._entries)

    async def get_many(self, keys: Sequence[str]) -> list[Result | Miss]:
        # Straight to the backend: aiocache's multi_get wraps it in three more coroutines (its
        # timeout, its AIOCACHE_DISABLE switch, its plugins), none of which this store uses;
        # three keys read in about 3 µs instead of 13.
        loads = self._serializer.loads
        return [loads(value) for value in self._lookup(keys)]

    async def set_many(self, items: Sequence[tuple[str, Result]], ttl: float) -> None:
        if items:
            await _multi_set(self, items, ttl)

    async def aclose(self) -> None:
        self._entries.clear()
        self.bytes = 0

    # The backend: what aiocache's public methods call, with keys built and values serialized.

    def _size(self, key: str, value: bytes) -> int:
        return len(key) + len(value) + self.OVERHEAD

    def _drop(self, key: str) -> None:
        _, value = self._entries.pop(key)
        self.bytes -= self._size(key, value)

    async def _multi_get(self, keys: list[str], encoding: str | None = None, _conn: Any = None) -> list[Any]:
        return self._lookup(keys)

    def _lookup(self, keys: Sequence[str]) -> list[bytes | None]:
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

    async def _get(self, key: str, encoding: str | None = None, _conn: Any = None) -> Any:
        return (await self._multi_get([key]))[0]

    async def _multi_set(
        self, pairs: list[tuple[str, bytes]], ttl: float | None = None, _conn: Any = None
    ) -> bool:
        expires = self._clock() + ttl if ttl else math.inf
        limit = self.max_bytes
        for key, serialized in pairs:
            if key in self._entries:
                self._drop(key)
            size = self._size(key, serialized)
            if limit is not None and size > limit:
                continue  # would evict everything else and still not fit
            # An exact-size copy: what orjson returns keeps a buffer of at least 4 KiB.
            value = memoryview(serialized).tobytes()
            self._entries[key] = (expires, value)
            self.bytes += size
        while self._entries and (
            len(self._entries) > self.max_entries or (limit is not None and self.bytes > limit)
        ):
            self._drop(next(iter(self._entries)))
        return True

    async def _set(
        self, key: str, value: bytes, ttl: float | None = None, _cas_token: Any = None, _conn: Any = None
    ) -> bool:
        return await self._multi_set([(key, value)], ttl)

    async def _exists(self, key: str, _conn: Any = None) -> bool:
        return (await self._multi_get([key]))[0] is not None

    async def _delete(self, key: str, _conn: Any = None) -> int:
        if key not in self._entries:
            return 0
        self._drop(key)
        return 1

    async def _clear(self, namespace: str | None = None, _conn: Any = None) -> bool:
        for key in [k for k in self._entries if namespace is None or k.startswith(namespace)]:
            self._drop(key)
        return True


class RedisStore:
    """aiocache's Redis cache on the process's shared pool, made in the running event loop
    (connections belong to one loop)."""

    def __init__(
        self,
        url: str,
        *,
        pause_after_error: float = PAUSE_AFTER_ERROR,
        warn_every: float = WARN_EVERY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lease = PoolLease(url, where="cache.redis_url")
        self._outage = Outage(
            url,
            log=log,
            what="record cache unavailable, the departments are asked",
            shared="records are cached",
            pause_after_error=pause_after_error,
            warn_every=warn_every,
            clock=clock,
        )
        self._cache: Any = None
        self._pool: Any = None

    @property
    def errors(self) -> int:
        """Failed reads and writes (for metrics and tests)."""
        return self._outage.errors

    def _client(self) -> Any:
        pool = self._lease.pool()
        if self._cache is None or self._pool is not pool:
            # Keys are built by CachedSource, so no namespace; aiocache builds its client on
            # the pool its `connection_pool_class` returns: the shared one.
            self._cache = RedisCache(
                serializer=RecordSerializer(),
                timeout=OPERATION_TIMEOUT,
                connection_pool_class=lambda **_: pool,
            )
            self._pool = pool
        return self._cache

    async def get_many(self, keys: Sequence[str]) -> list[Result | Miss]:
        if self._outage.usable():
            try:
                found: list[Result | Miss] = await self._client().multi_get(list(keys))
            except Exception as exc:  # any cache failure is a miss, never an error
                self._outage.failed(exc)
            else:
                self._outage.answered()
                return found
        return [MISS] * len(keys)

    async def set_many(self, items: Sequence[tuple[str, Result]], ttl: float) -> None:
        if not items or not self._outage.usable():
            return
        try:
            await _multi_set(self._client(), items, ttl)
        except Exception as exc:  # an unwritten entry is a later miss
            self._outage.failed(exc)
        else:
            self._outage.answered()

    async def aclose(self) -> None:
        self._cache = self._pool = None
        await self._lease.aclose()
