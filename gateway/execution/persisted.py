"""Automatic persisted queries: query texts clients registered by their SHA-256 hash, as
Apollo Client and Hive send them, kept where the record cache keeps records.

A hash alone that is not known gets PERSISTED_QUERY_NOT_FOUND; the client retries with
the text and the hash, the text is checked against the hash, and once it has passed
validation and the limits it is kept, so that later requests send the hash alone. The
store is bounded in entries and in time: in memory, least recently used first; in Redis,
each text expires and an index (a sorted set by registration time) drops the oldest
beyond the bound (one Redis server or its replicas, not Redis Cluster: the eviction deletes
texts by name from a script). When Redis fails, the process's own memory store serves
meanwhile.
Registered (trusted) documents are not kept here: they are read at start-up
(gateway/execution/documents.py).
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

from redis.exceptions import RedisError

from gateway.access.redislink import RedisLink
from gateway.config.automatic import Automatic

__all__ = ["Automatic", "MemoryQueries", "PersistedQueries", "RedisQueries", "build_persisted"]

log = logging.getLogger("govgraph.persisted")

Clock = Callable[[], float]


class PersistedQueries(Protocol):
    async def get(self, digest: str) -> str | None:
        """The text registered under `digest` (lower-case hex SHA-256), or None."""
        ...

    async def put(self, digest: str, text: str) -> None:
        """Keep `text` under `digest` (already checked to be its hash)."""
        ...

    async def aclose(self) -> None: ...


class MemoryQueries:
    """Texts kept by this process, at most `max_entries`, least recently used evicted."""

    def __init__(self, automatic: Automatic, clock: Clock = time.monotonic) -> None:
        self._automatic, self._clock = automatic, clock
        self._texts: OrderedDict[str, tuple[str, float]] = OrderedDict()  # digest -> (text, expires)

    async def get(self, digest: str) -> str | None:
        entry = self._texts.get(digest)
        if entry is None:
            return None
        if entry[1] <= self._clock():
            del self._texts[digest]
            return None
        self._texts.move_to_end(digest)
        return entry[0]

    async def put(self, digest: str, text: str) -> None:
        self._texts[digest] = (text, self._clock() + self._automatic.ttl)
        self._texts.move_to_end(digest)
        while len(self._texts) > self._automatic.max_entries:
            self._texts.popitem(last=False)

    def __len__(self) -> int:
        return len(self._texts)

    async def aclose(self) -> None:
        self._texts.clear()


# KEYS[1] the text's key, KEYS[2] the index; ARGV text, ttl ms, now ms, max entries, prefix.
# The oldest registrations beyond the bound leave the index and lose their texts.
_PUT = """
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], KEYS[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', tonumber(ARGV[3]) - tonumber(ARGV[2]))
local over = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[4])
if over > 0 then
  for _, key in ipairs(redis.call('ZPOPMIN', KEYS[2], over)) do
    if string.sub(key, 1, string.len(ARGV[5])) == ARGV[5] then redis.call('DEL', key) end
  end
end
return 0
"""


class RedisQueries:
    """Texts in Redis, shared by every gateway process; falls back to `MemoryQueries`."""

    def __init__(self, url: str, automatic: Automatic, *, prefix: str, clock: Clock = time.time) -> None:
        self._automatic, self._prefix, self._clock = automatic, prefix, clock
        self._index = prefix + "index"
        self._fallback = MemoryQueries(automatic)
        self._link = RedisLink(
            url,
            log=log,
            what="automatic persisted queries fall back to per-process memory",
            shared="automatic persisted queries are shared",
        )

    async def get(self, digest: str) -> str | None:
        if self._link.usable():
            try:
                text = await self._link.client.get(self._prefix + digest)
            except (RedisError, OSError) as exc:
                self._link.failed(exc)
            else:
                self._link.answered()
                return text if text is None or isinstance(text, str) else bytes(text).decode("utf-8")
        self._link.fell_back()
        return await self._fallback.get(digest)

    async def put(self, digest: str, text: str) -> None:
        if self._link.usable():
            automatic = self._automatic
            try:
                await self._link.script(_PUT)(
                    keys=[self._prefix + digest, self._index],
                    args=[text, _ms(automatic.ttl), _ms(self._clock()), automatic.max_entries, self._prefix],
                )
            except (RedisError, OSError) as exc:
                self._link.failed(exc)
            else:
                self._link.answered()
                return
        self._link.fell_back()
        await self._fallback.put(digest, text)

    async def aclose(self) -> None:
        await self._fallback.aclose()
        await self._link.aclose()


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


def build_persisted(
    automatic: Automatic, backend: str, redis_url: str | None, namespace: str
) -> PersistedQueries:
    """The store of the record cache's backend: Redis when the cache is in Redis, else
    this process's memory (`[cache] backend = "off"` included: a text is not a record)."""
    if backend == "redis" and redis_url:
        return RedisQueries(redis_url, automatic, prefix=f"{namespace}:apq:")
    return MemoryQueries(automatic)
