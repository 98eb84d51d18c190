"""The gateway's link to Redis, for the state every gateway process shares (rate-limit
buckets, look-up budgets, verdict windows, automatic persisted queries), with a
per-process fallback behind it.

The connections are the process's shared pool for the server (sources/sharedredis.py),
the one the record cache uses too; what a failure costs and how it is logged is
`Outage`'s.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from sources.sharedredis import PAUSE_AFTER_ERROR, TIMEOUT, WARN_EVERY, Outage, PoolLease

__all__ = ["RedisLink"]


class RedisLink(Outage):
    def __init__(
        self,
        url: str,
        *,
        log: logging.Logger,
        what: str,  # e.g. "rate limiting falls back to per-process buckets"
        shared: str,  # e.g. "rate limiting is shared"
        socket_timeout: float = TIMEOUT,
        pause_after_error: float = PAUSE_AFTER_ERROR,
        warn_every: float = WARN_EVERY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(
            url,
            log=log,
            what=what,
            shared=shared,
            pause_after_error=pause_after_error,
            warn_every=warn_every,
            clock=clock,
        )
        self._lease = PoolLease(url, timeout=socket_timeout)
        self._client: Redis | None = None
        self._scripts: dict[str, AsyncScript] = {}

    @property
    def client(self) -> Redis:
        """A client on the shared pool of the running event loop."""
        pool = self._lease.pool()
        if self._client is None or self._client.connection_pool is not pool:
            self._client, self._scripts = Redis(connection_pool=pool), {}
        return self._client

    def script(self, source: str) -> AsyncScript:
        """The Lua script `source`, run by EVALSHA (by EVAL when the server lacks it)."""
        client = self.client
        script = self._scripts.get(source)
        if script is None:
            script = self._scripts[source] = client.register_script(source)
        return script

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()  # its own connection, if any: the pool is the lease's
        await self._lease.aclose()
