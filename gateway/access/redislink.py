"""A Redis connection with a per-process fallback behind it, for the state every gateway
process shares (rate-limit buckets, look-up budgets, verdict windows).

Redis is an optimisation of reach, not a dependency: a caller asks `usable()` before
each call and falls back to its own in-process state when it is not, or when the call
fails (`failed`). After a failure Redis is left alone for `pause_after_error` seconds, so
an outage costs at most one timeout a pause, not one per request; the warning is logged
at most every `warn_every` seconds, and the recovery once after it.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

__all__ = ["RedisLink", "redact"]


def redact(url: str) -> str:
    """The URL without its password, for logs."""
    parts = urlsplit(url)
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if not at:
        return url
    user = userinfo.partition(":")[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{hostport}"))


class RedisLink:
    def __init__(
        self,
        url: str,
        *,
        log: logging.Logger,
        what: str,  # e.g. "rate limiting falls back to per-process buckets"
        shared: str,  # e.g. "rate limiting is shared"
        socket_timeout: float = 0.2,
        pause_after_error: float = 1.0,
        warn_every: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = redact(url)
        self.client = Redis.from_url(
            url,
            protocol=2,  # RESP2 works on every server version; RESP3 needs Redis 6
            socket_timeout=socket_timeout,
            socket_connect_timeout=socket_timeout,
            # One immediate retry on a broken connection (a pooled socket that died with a
            # restarted server); never on a timeout, when a script may already have run.
            retry=Retry(NoBackoff(), 1, (RedisConnectionError,)),
        )
        self._log, self._what, self._shared = log, what, shared
        self._pause_after_error = pause_after_error
        self._warn_every = warn_every
        self._clock = clock
        self._skip_until = -math.inf
        self._warned_at = -math.inf
        self._failures = 0  # since the last warning
        self._degraded = False  # a warning was logged and recovery not yet
        self.fallbacks = 0  # calls answered by the process's own state (for metrics and tests)

    def usable(self) -> bool:
        """Whether to try Redis now; when not, the caller falls back (and says so: `fell_back`)."""
        return self._clock() >= self._skip_until

    def fell_back(self) -> None:
        self.fallbacks += 1

    def failed(self, exc: Exception) -> None:
        now = self._clock()
        self._skip_until = now + self._pause_after_error
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

    async def aclose(self) -> None:
        await self.client.aclose()
