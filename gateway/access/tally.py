"""Per-client tallies that must hold across every gateway process: the look-up miss
budget (a counter per client and window) and the verdict window (the distinct argument
sets per client, subject and verdict). Kept in process memory, or in Redis when the rate
limiter is (`[rate_limit] backend = "redis"`), so that adding processes does not multiply
what a client may try.

Every operation is atomic on one key (a Lua script in Redis), so concurrent requests, in
one process or many, cannot together pass a limit that each checked. When Redis fails,
each call falls back to the process's own tallies (gateway/access/redislink.py).
"""

from __future__ import annotations

import hashlib
import logging
import struct
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Protocol

from redis.exceptions import RedisError

from gateway.access.redislink import RedisLink
from gateway.config.sections import RateSettings
from sources.sharedredis import PAUSE_AFTER_ERROR, TIMEOUT, WARN_EVERY

__all__ = ["MemoryTally", "RedisTally", "Tally", "build_tally"]

log = logging.getLogger("govgraph.tally")

Clock = Callable[[], float]


class Tally(Protocol):
    async def exhausted(self, key: str, limit: int) -> float:
        """0.0 while counter `key` is below `limit`, else the seconds until its window ends."""
        ...

    async def reserve(self, key: str, amount: int, limit: int, window: float) -> float:
        """Add `amount` to counter `key` unless the total would pass `limit`, atomically.
        Returns 0.0 when added, otherwise the seconds until the counter's window ends. A
        counter starts at its first addition and is forgotten `window` seconds later."""
        ...

    async def release(self, key: str, amount: int) -> None:
        """Take back `amount` reserved but not used (never below zero)."""
        ...

    async def admit(self, key: str, member: str, limit: int, window: float) -> bool:
        """Whether `member` is, or may join, set `key` without it holding more than `limit`
        members. A set starts at its first member and is forgotten `window` seconds later."""
        ...

    async def aclose(self) -> None: ...


class MemoryTally:
    """Tallies of this process; at most `max_keys` counters and `max_keys` sets, least
    recently used evicted first.

    Entries are kept compact, because a client that checks verdicts about many subjects
    opens a window per (subject, verdict) and each stays a day: a key is kept as a 16-byte
    digest of its name, a set as one bytes object (when it ends, then a 16-byte digest per
    member). An entry takes about 210 bytes of process memory (keys and members as
    strings, with a set object, took about 610), so `max_keys` sets take about 21 MB."""

    def __init__(self, *, max_keys: int = 100_000, clock: Clock = time.monotonic) -> None:
        self._max_keys = max_keys
        self._clock = clock
        self._counters: OrderedDict[bytes, tuple[int, float]] = OrderedDict()  # key -> (count, ends)
        self._sets: OrderedDict[bytes, bytes] = OrderedDict()  # key -> ends, then member digests

    def __len__(self) -> int:
        return len(self._counters) + len(self._sets)

    def _counter(self, key: bytes) -> tuple[int, float] | None:
        entry = self._counters.get(key)
        if entry is None:
            return None
        if entry[1] <= self._clock():
            del self._counters[key]
            return None
        self._counters.move_to_end(key)
        return entry

    def _bound(self, table: OrderedDict[bytes, Any]) -> None:
        while len(table) > self._max_keys:
            table.popitem(last=False)

    async def exhausted(self, key: str, limit: int) -> float:
        entry = self._counter(_digest(key))
        if entry is None or entry[0] < limit:
            return 0.0
        return max(entry[1] - self._clock(), 1e-3)

    async def reserve(self, key: str, amount: int, limit: int, window: float) -> float:
        now = self._clock()
        digest = _digest(key)
        count, ends = self._counter(digest) or (0, now + window)
        if count + amount > limit:
            return max(ends - now, 1e-3)
        self._counters[digest] = (count + amount, ends)
        self._bound(self._counters)
        return 0.0

    async def release(self, key: str, amount: int) -> None:
        digest = _digest(key)
        entry = self._counter(digest)
        if entry is not None:
            self._counters[digest] = (max(0, entry[0] - amount), entry[1])

    async def admit(self, key: str, member: str, limit: int, window: float) -> bool:
        digest, joining = _digest(key), _digest(member)
        now = self._clock()
        entry = self._sets.get(digest)
        if entry is not None and _ENDS.unpack_from(entry)[0] <= now:
            del self._sets[digest]
            entry = None
        if entry is None:
            entry = _ENDS.pack(now + window)
        members = range(_ENDS.size, len(entry), _DIGEST)
        if not any(entry[i : i + _DIGEST] == joining for i in members):
            if len(members) >= limit:
                self._sets.move_to_end(digest)
                return False
            entry += joining
        self._sets[digest] = entry
        self._sets.move_to_end(digest)
        self._bound(self._sets)
        return True

    async def aclose(self) -> None:
        self._counters.clear()
        self._sets.clear()


_DIGEST = 16  # bytes of a key's or a member's digest: collisions are never expected
_ENDS = struct.Struct("<d")  # when a set is forgotten, on the process's clock


def _digest(name: str) -> bytes:
    return hashlib.blake2b(name.encode(), digest_size=_DIGEST).digest()


# KEYS[1] counter; ARGV amount, limit, window ms. Returns 0 when added, else ms left.
_RESERVE = """
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if used + tonumber(ARGV[1]) > tonumber(ARGV[2]) then
  local left = redis.call('PTTL', KEYS[1])
  if left < 1 then left = 1 end
  return left
end
redis.call('INCRBY', KEYS[1], ARGV[1])
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return 0
"""

# KEYS[1] counter; ARGV amount. Never below zero, never a key without its expiry.
_RELEASE = """
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if used == 0 then return 0 end
local left = used - tonumber(ARGV[1])
if left < 0 then left = 0 end
redis.call('SET', KEYS[1], left, 'KEEPTTL')
return left
"""

# KEYS[1] set; ARGV member, limit, window ms. Returns 1 when the member is or became a member.
_ADMIT = """
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return 1 end
if redis.call('SCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('SADD', KEYS[1], ARGV[1])
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return 1
"""


class RedisTally:
    """Tallies in Redis, shared by every gateway process; falls back to `MemoryTally`."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str = f"{RateSettings.namespace}:tally:",
        socket_timeout: float = TIMEOUT,
        pause_after_error: float = PAUSE_AFTER_ERROR,
        warn_every: float = WARN_EVERY,
        clock: Clock = time.monotonic,
    ) -> None:
        self._prefix = prefix
        self._fallback = MemoryTally(clock=clock)
        self._link = RedisLink(
            url,
            log=log,
            what="look-up budgets and verdict windows fall back to per-process tallies",
            shared="look-up budgets and verdict windows are shared",
            socket_timeout=socket_timeout,
            pause_after_error=pause_after_error,
            warn_every=warn_every,
            clock=clock,
        )

    async def exhausted(self, key: str, limit: int) -> float:
        if self._link.usable():
            try:
                async with self._link.client.pipeline(transaction=True) as pipe:
                    pipe.get(self._prefix + key)
                    pipe.pttl(self._prefix + key)
                    used, left = await pipe.execute()
            except (RedisError, OSError) as exc:
                self._link.failed(exc)
            else:
                self._link.answered()
                return 0.0 if used is None or int(used) < limit else max(int(left), 1) / 1000
        self._link.fell_back()
        return await self._fallback.exhausted(key, limit)

    async def reserve(self, key: str, amount: int, limit: int, window: float) -> float:
        if self._link.usable():
            try:
                reserve = self._link.script(_RESERVE)
                left = await reserve(keys=[self._prefix + key], args=[amount, limit, _ms(window)])
            except (RedisError, OSError) as exc:
                self._link.failed(exc)
            else:
                self._link.answered()
                return int(left) / 1000
        self._link.fell_back()
        return await self._fallback.reserve(key, amount, limit, window)

    async def release(self, key: str, amount: int) -> None:
        if self._link.usable():
            try:
                await self._link.script(_RELEASE)(keys=[self._prefix + key], args=[amount])
            except (RedisError, OSError) as exc:
                self._link.failed(exc)
            else:
                self._link.answered()
                return
        self._link.fell_back()
        await self._fallback.release(key, amount)

    async def admit(self, key: str, member: str, limit: int, window: float) -> bool:
        if self._link.usable():
            try:
                admit = self._link.script(_ADMIT)
                admitted = await admit(keys=[self._prefix + key], args=[member, limit, _ms(window)])
            except (RedisError, OSError) as exc:
                self._link.failed(exc)
            else:
                self._link.answered()
                return bool(admitted)
        self._link.fell_back()
        return await self._fallback.admit(key, member, limit, window)

    @property
    def fallbacks(self) -> int:
        """Calls answered by this process's own tallies (for tests)."""
        return self._link.fallbacks

    async def aclose(self) -> None:
        await self._link.aclose()
        await self._fallback.aclose()


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


def build_tally(backend: str, redis_url: str | None, prefix: str) -> Tally:
    """Where the tallies live: as the rate limiter's buckets do (`memory` or `redis`)."""
    if backend == "redis" and redis_url:
        return RedisTally(redis_url, prefix=prefix)
    return MemoryTally()
