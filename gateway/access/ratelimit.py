"""Per-client rate limits: a token bucket per key, kept in process memory or shared by
every gateway process through Redis.

A bucket holds up to `burst` tokens and refills at `rate` tokens a second; a request
takes one. A new bucket starts full, so a client's first `burst` requests always pass.
`acquire` returns 0.0 when a token was taken, otherwise the seconds until one will be
there (callers round it up for `Retry-After`). A refused request takes nothing.

Both backends run the same arithmetic (`_take` here, the Lua script for Redis): tokens
are fractional, so a rate of 0.5/s means one request every two seconds, exactly.

The Redis backend is an optimisation of fairness, not a dependency: when Redis is down
or slow, each call falls back to a per-process bucket (so a client may get up to one
limit per gateway process) instead of failing the request.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

from redis.exceptions import NoScriptError, RedisError

from gateway.access.redislink import RedisLink
from gateway.config.sections import RateSettings
from sources.sharedredis import PAUSE_AFTER_ERROR, TIMEOUT, WARN_EVERY

__all__ = ["MemoryRateLimiter", "RateLimiter", "RedisRateLimiter", "build_rate_limiter"]

log = logging.getLogger("govgraph.ratelimit")

Clock = Callable[[], float]

# Accept a bucket this close to one token (a millionth early, at most): `now + retry_after`
# computed in floating point may land a hair short of the refill it promised, and the
# retry must then succeed.
_EPSILON = 1e-6


class RateLimiter(Protocol):
    async def acquire(self, key: str, rate: float, burst: int) -> float:
        """Take one token from bucket `key` (refilling `rate` tokens/second up to `burst`).
        Returns 0.0 when allowed, otherwise the seconds until a token is available (> 0)."""
        ...

    async def aclose(self) -> None: ...


def _check(rate: float, burst: int) -> None:
    if not (math.isfinite(rate) and rate > 0):
        raise ValueError(f"rate must be a positive number of tokens per second, not {rate!r}")
    if burst < 1:
        raise ValueError(f"burst must be at least 1, not {burst!r}")


def _take(tokens: float | None, elapsed: float, rate: float, burst: int) -> tuple[float, float]:
    """One acquire on a bucket holding `tokens` (None: no bucket yet) `elapsed` seconds ago.
    Returns (tokens left, wait); wait 0.0 means a token was taken. Mirrored in `_SCRIPT`."""
    level = float(burst) if tokens is None else min(float(burst), tokens + max(0.0, elapsed) * rate)
    if level < 1.0 - _EPSILON:
        return level, (1.0 - level) / rate
    return max(0.0, level - 1.0), 0.0


class MemoryRateLimiter:
    """Buckets in this process. At most `max_keys` are kept, least recently used evicted
    first (an evicted bucket comes back full, which only ever errs towards allowing)."""

    def __init__(self, *, max_keys: int = 100_000, clock: Clock = time.monotonic) -> None:
        if max_keys < 1:
            raise ValueError(f"max_keys must be at least 1, not {max_keys!r}")
        self._max_keys = max_keys
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key → (tokens, at)

    def __len__(self) -> int:
        return len(self._buckets)

    async def acquire(self, key: str, rate: float, burst: int) -> float:
        _check(rate, burst)
        now = self._clock()
        state = self._buckets.get(key)
        if state is None:
            tokens, wait = _take(None, 0.0, rate, burst)
        else:
            tokens, wait = _take(state[0], now - state[1], rate, burst)
        if wait == 0.0:
            # A refusal leaves the stored state alone: refilling from the old time gives the same level.
            self._buckets[key] = (tokens, now)
        self._buckets.move_to_end(key)
        while len(self._buckets) > self._max_keys:
            self._buckets.popitem(last=False)
        return wait

    async def aclose(self) -> None:
        self._buckets.clear()


# Redis >= 4. KEYS[1]: the bucket, a hash {tokens, ts}; ARGV: rate, burst, epsilon. Returns the
# wait as a string ("0" when allowed), because Redis would truncate a Lua number to an integer.
# The clock is the server's TIME in integer microseconds (exact in a double), so gateway
# clocks never matter; the key expires once it would have refilled, when it is no
# different from a missing (full) bucket.
_SCRIPT = """
if redis.replicate_commands then redis.replicate_commands() end -- TIME before a write (Redis < 5)
local rate, burst, eps = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local level = burst
if state[1] and state[2] then
  local elapsed = math.max(0, now - tonumber(state[2])) / 1000000
  level = math.min(burst, tonumber(state[1]) + elapsed * rate)
end
if level < 1 - eps then
  return string.format('%.17g', (1 - level) / rate)
end
local tokens = math.max(0, level - 1)
redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens), 'ts', string.format('%.17g', now))
local ttl_ms = math.min(math.ceil((burst - tokens) / rate * 1000), 1e15)
redis.call('PEXPIRE', KEYS[1], string.format('%d', math.max(1, ttl_ms)))
return '0'
"""
_SCRIPT_SHA = hashlib.sha1(_SCRIPT.encode(), usedforsecurity=False).hexdigest()  # EVALSHA's name


class RedisRateLimiter:
    """Buckets in Redis, shared by every gateway process, updated atomically by one script.

    Failures fall back to an in-process `MemoryRateLimiter`; after one, Redis is left
    alone for `pause_after_error` seconds so an outage costs at most one timeout a
    pause, not one per request. The warning is logged at most every `warn_every` s.
    """

    def __init__(
        self,
        url: str,
        *,
        prefix: str = f"{RateSettings.namespace}:rl:",
        socket_timeout: float = TIMEOUT,
        pause_after_error: float = PAUSE_AFTER_ERROR,
        warn_every: float = WARN_EVERY,
        max_keys: int = 100_000,
        clock: Clock = time.monotonic,
    ) -> None:
        self._prefix = prefix
        self._fallback = MemoryRateLimiter(max_keys=max_keys, clock=clock)
        self._link = RedisLink(
            url,
            log=log,
            what="rate limiting falls back to per-process buckets",
            shared="rate limiting is shared",
            socket_timeout=socket_timeout,
            pause_after_error=pause_after_error,
            warn_every=warn_every,
            clock=clock,
        )

    @property
    def fallbacks(self) -> int:
        """Calls answered by the in-process buckets (for metrics and tests)."""
        return self._link.fallbacks

    async def acquire(self, key: str, rate: float, burst: int) -> float:
        _check(rate, burst)
        if self._link.usable():
            try:
                wait = float(await self._run(self._prefix + key, repr(float(rate)), str(burst)))
            except (RedisError, OSError) as exc:  # OSError: socket errors redis-py lets through
                self._link.failed(exc)
            else:
                self._link.answered()
                return wait
        self._link.fell_back()
        return await self._fallback.acquire(key, rate, burst)

    async def _run(self, key: str, rate: str, burst: str) -> bytes:
        args = (key, rate, burst, repr(_EPSILON))
        client = self._link.client
        try:
            reply: bytes = await client.evalsha(_SCRIPT_SHA, 1, *args)
        except NoScriptError:
            # A fresh or flushed server: EVAL runs the script and caches it for the next EVALSHA.
            reply = await client.eval(_SCRIPT, 1, *args)
        return reply

    async def aclose(self) -> None:
        await self._link.aclose()
        await self._fallback.aclose()


def build_rate_limiter(
    backend: str, redis_url: str | None, prefix: str = f"{RateSettings.namespace}:rl:"
) -> RateLimiter:
    """The limiter a configuration names: backend "memory" or "redis" (which needs redis_url)."""
    if backend == "memory":
        return MemoryRateLimiter()
    if backend == "redis":
        if not redis_url:
            raise ValueError('rate limit backend "redis" needs a Redis URL (e.g. redis://127.0.0.1:6379/0)')
        return RedisRateLimiter(redis_url, prefix=prefix)
    raise ValueError(f'unknown rate limit backend {backend!r}: expected "memory" or "redis"')
