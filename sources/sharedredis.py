"""One Redis connection pool per process and server, shared by everything that talks to
Redis: the record cache (sources/recordstores.py) and the gateway's rate limits and
tallies (gateway/access/redislink.py). It lives in sources/ because the gateway may import
sources and not the other way round.

A pool's connections speak RESP2 (any server version; redis-py 8 defaults to RESP3,
which needs Redis 6), time out after `TIMEOUT` seconds, and are retried once at once on
a broken connection (a pooled socket that died with a restarted server), never on a
timeout, when a script may already have run. At most `MAX_CONNECTIONS` are open per
process and server; a caller waits at most `TIMEOUT` for a free one.

Redis is an optimisation, never a dependency: `Outage` is what every user does when it
fails (fall back for `pause_after_error` seconds, warn at most every `warn_every`).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from redis.asyncio import BlockingConnectionPool
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from .errors import SourceConfigError

__all__ = ["MAX_CONNECTIONS", "PAUSE_AFTER_ERROR", "TIMEOUT", "WARN_EVERY", "Outage", "PoolLease", "redact"]

TIMEOUT = 0.2  # seconds: connecting, each reply, and waiting for a free connection
MAX_CONNECTIONS = 64  # per process and server
PAUSE_AFTER_ERROR = 1.0  # seconds Redis is left alone after a failed call
WARN_EVERY = 30.0  # seconds between warnings while Redis stays down


def redact(url: str) -> str:
    """The URL without its password, for logs."""
    parts = urlsplit(url)
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if not at:
        return url
    user = userinfo.partition(":")[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{hostport}"))


def check_url(url: str, where: str) -> None:
    """A redis:// or rediss:// URL with a numeric port and database, or SourceConfigError
    naming the setting `where`."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss"):
        raise SourceConfigError(where, "must be a redis:// or rediss:// URL")
    try:
        _ = parts.port, int(parts.path.strip("/") or 0)
    except ValueError as exc:
        raise SourceConfigError(where, f"has a bad port or database: {exc}") from None


@dataclass
class _Shared:
    loop: asyncio.AbstractEventLoop
    pool: BlockingConnectionPool
    users: int = 0


_POOLS: dict[tuple[int, str, float], _Shared] = {}


class PoolLease:
    """One user's share of the process's pool for a Redis server. `pool()` is the pool of
    the running event loop (made on first use: connections belong to one loop);
    `aclose()` gives the share back, and the last user's closes the pool."""

    def __init__(self, url: str, *, timeout: float = TIMEOUT, where: str = "redis_url") -> None:
        check_url(url, where)
        self.url, self.timeout = url, timeout
        self._held: _Shared | None = None

    def pool(self) -> BlockingConnectionPool:
        loop = asyncio.get_running_loop()
        held = self._held
        if held is not None and held.loop is loop:
            return held.pool
        if held is not None:
            self._give_back(held)  # used from a new loop: the old one's connections are left
        key = (id(loop), self.url, self.timeout)
        shared = _POOLS.get(key)
        if shared is None or shared.loop is not loop:
            shared = _POOLS[key] = _Shared(loop, _new_pool(self.url, self.timeout))
        shared.users += 1
        self._held = shared
        return shared.pool

    async def aclose(self) -> None:
        held, self._held = self._held, None
        if held is not None and self._give_back(held) and held.loop is asyncio.get_running_loop():
            await held.pool.aclose()

    def _give_back(self, held: _Shared) -> bool:
        """True when that was the pool's last user."""
        held.users -= 1
        if held.users > 0:
            return False
        key = (id(held.loop), self.url, self.timeout)
        if _POOLS.get(key) is held:
            del _POOLS[key]
        return True


def _new_pool(url: str, timeout: float) -> BlockingConnectionPool:
    pool: BlockingConnectionPool = BlockingConnectionPool.from_url(
        url,
        max_connections=MAX_CONNECTIONS,
        timeout=timeout,  # waiting for a free connection
        protocol=2,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 1, (RedisConnectionError,)),
    )
    return pool


class Outage:
    """When to ask Redis and what to say when it fails. A caller asks `usable()` before
    each call and falls back to its own state when it is not (`fell_back`), or when the
    call fails (`failed`); after a failure Redis is left alone for `pause_after_error`
    seconds, so an outage costs at most one timeout a pause, not one per request. The
    warning is logged at most every `warn_every` seconds, the recovery once after it."""

    def __init__(
        self,
        url: str,
        *,
        log: logging.Logger,
        what: str,  # e.g. "rate limiting falls back to per-process buckets"
        shared: str,  # e.g. "rate limiting is shared"
        pause_after_error: float = PAUSE_AFTER_ERROR,
        warn_every: float = WARN_EVERY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = redact(url)
        self._log, self._what, self._shared = log, what, shared
        self._pause_after_error = pause_after_error
        self._warn_every = warn_every
        self._clock = clock
        self._skip_until = -math.inf
        self._warned_at = -math.inf
        self._failures = 0  # since the last warning
        self._degraded = False  # a warning was logged and recovery not yet
        self.errors = 0  # failed calls (for metrics and tests)
        self.fallbacks = 0  # calls answered without Redis (for metrics and tests)

    def usable(self) -> bool:
        """Whether to try Redis now; when not, the caller falls back (and says so: `fell_back`)."""
        return self._clock() >= self._skip_until

    def fell_back(self) -> None:
        self.fallbacks += 1

    def failed(self, exc: Exception) -> None:
        now = self._clock()
        self._skip_until = now + self._pause_after_error
        self.errors += 1
        self._failures += 1
        if now - self._warned_at >= self._warn_every:
            self._log.warning(
                "%s: Redis at %s failed (%s: %s; %d failure(s) since the last warning)",
                self._what,
                self.url,
                type(exc).__name__,
                exc,
                self._failures,
            )
            self._warned_at = now
            self._failures = 0
            self._degraded = True  # so recovery is logged once per warning, not once per flap

    def answered(self) -> None:
        if self._degraded:
            self._degraded = False
            self._log.info("%s through Redis at %s again", self._shared, self.url)
