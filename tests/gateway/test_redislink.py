"""One Redis pool per process and server: the rate limits, the tallies and the record cache
share it, and it closes with its last user."""

from __future__ import annotations

import uuid

from gateway.access.ratelimit import RedisRateLimiter
from gateway.access.tally import RedisTally
from sources.base import CacheSpec
from sources.cache import open_cache
from sources.sharedredis import PoolLease
from tests.redis_server import unique_prefix
from tests.sources.test_cache import Dept


async def held(url: str) -> object:
    """The pool a new user of `url` gets now (it gives its share back at once)."""
    lease = PoolLease(url)
    pool = lease.pool()
    await lease.aclose()
    return pool


async def test_rate_limits_tallies_and_the_record_cache_share_one_pool(redis_url: str) -> None:
    probe = PoolLease(redis_url)
    pool = probe.pool()
    prefix = unique_prefix("shared-pool")
    limiter = RedisRateLimiter(redis_url, prefix=f"{prefix}:rl:")
    tally = RedisTally(redis_url, prefix=f"{prefix}:tally:")
    cache = open_cache(CacheSpec(backend="redis", redis_url=redis_url, version=f"test-{uuid.uuid4().hex}"))
    assert cache is not None
    try:
        assert await limiter.acquire("client", 10, 10) == 0.0
        assert sum(count for count, _ in pool.get_connection_count()) >= 1  # the limiter's call
        assert await tally.reserve("client", 1, 5, 1.0) == 0.0
        await Dept(cache).fetch("person", ["nobody"])
        assert limiter.fallbacks == tally.fallbacks == 0
        assert cache.store.errors == 0
        await probe.aclose()
        await limiter.aclose()
        assert await held(redis_url) is pool  # the tallies and the cache still hold it
        await tally.aclose()
        assert await held(redis_url) is pool  # the cache does
    finally:
        await limiter.aclose()
        await tally.aclose()
        await cache.aclose()
    assert await held(redis_url) is not pool  # closed with its last user, a new one is made
