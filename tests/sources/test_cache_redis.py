"""The record cache on Redis: the behaviour test_cache.py checks on memory, records shared
by processes, the pool shared with the rate limits, and an outage that costs nothing
but the department calls."""

from __future__ import annotations

import asyncio
import logging
import socket
import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from redis.asyncio import Redis

from sources.base import CacheSpec
from sources.cache import RecordCache, open_cache, served_from_cache
from sources.recordstores import RedisStore
from sources.sharedredis import PoolLease
from tests.sources.test_cache import (
    DATA,
    Clock,
    Dept,
    check_bypass,
    check_hit_partial_and_negative,
    check_mutation_does_not_reach_the_cache,
)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest_asyncio.fixture
async def redis_version(redis_url: str) -> AsyncIterator[str]:
    """A cache version no other test or run uses; its keys are deleted afterwards."""
    version = f"test-{uuid.uuid4().hex}"
    yield version
    client = Redis.from_url(redis_url, protocol=2)
    try:
        keys = [k async for k in client.scan_iter(match=f"govgraph:v{version}:*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@pytest_asyncio.fixture
async def redis_cache(redis_url: str, redis_version: str) -> AsyncIterator[RecordCache]:
    cache = open_cache(CacheSpec(backend="redis", redis_url=redis_url, version=redis_version))
    assert cache is not None
    yield cache
    await cache.aclose()


async def test_redis_hits_partial_hits_and_negative_answers(redis_cache: RecordCache) -> None:
    await check_hit_partial_and_negative(redis_cache)
    assert isinstance(redis_cache.store, RedisStore)
    assert redis_cache.store.errors == 0


async def test_redis_hands_out_copies(redis_cache: RecordCache) -> None:
    await check_mutation_does_not_reach_the_cache(redis_cache)


async def test_redis_entities_that_must_not_be_cached_are_not(redis_cache: RecordCache) -> None:
    await check_bypass(redis_cache)


async def test_redis_entries_expire(redis_url: str, redis_version: str) -> None:
    cache = open_cache(
        CacheSpec(backend="redis", redis_url=redis_url, version=redis_version, ttl=0.2, negative_ttl=0.1)
    )
    assert cache is not None
    try:
        dept = Dept(cache)
        await dept.fetch("person", ["p1", "nobody"])
        await dept.fetch("person", ["p1", "nobody"])
        assert dept.asked() == [2]
        await asyncio.sleep(0.3)
        await dept.fetch("person", ["p1", "nobody"])
        assert dept.asked() == [2, 2]
    finally:
        await cache.aclose()


async def test_redis_keys_carry_the_version(redis_url: str, redis_version: str) -> None:
    first = open_cache(CacheSpec(backend="redis", redis_url=redis_url, version=redis_version))
    bumped = open_cache(CacheSpec(backend="redis", redis_url=redis_url, version=redis_version + "-2"))
    assert first is not None
    assert bumped is not None
    client = Redis.from_url(redis_url, protocol=2)
    try:
        await Dept(first).fetch("person", ["p1"])
        assert await client.exists(f"govgraph:v{redis_version}:dept:person:p1") == 1
        assert 0 < await client.pttl(f"govgraph:v{redis_version}:dept:person:p1") <= 60_000
        again = Dept(bumped)
        await again.fetch("person", ["p1"])
        assert again.asked() == [1]
    finally:
        await client.delete(f"govgraph:v{redis_version}-2:dept:person:p1")
        await client.aclose()
        await first.aclose()
        await bumped.aclose()


async def test_two_processes_share_records_through_redis(redis_url: str, redis_version: str) -> None:
    spec = CacheSpec(backend="redis", redis_url=redis_url, version=redis_version)
    one, two = open_cache(spec), open_cache(spec)  # as two gateway processes would have
    assert one is not None
    assert two is not None
    try:
        first, second = Dept(one), Dept(two)
        assert await first.fetch("person", ["p1", "nobody"]) == [DATA["person"]["p1"], None]
        assert await second.fetch("person", ["p1", "nobody"]) == [DATA["person"]["p1"], None]
        assert served_from_cache()
        assert first.asked() == [2]
        assert second.asked() == []
    finally:
        await one.aclose()
        await two.aclose()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_unreachable_redis_degrades_to_the_department(
    clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"redis://user:secret@127.0.0.1:{closed_port()}/0"
    store = RedisStore(url, clock=clock)
    cache = RecordCache(CacheSpec(backend="redis", redis_url=url), store)
    dept = Dept(cache)
    try:
        with caplog.at_level(logging.WARNING, logger="govgraph.cache"):
            assert await dept.fetch("person", ["p1"]) == [DATA["person"]["p1"]]
            assert await dept.fetch("person", ["p1"]) == [DATA["person"]["p1"]]  # paused: not tried
            clock.now += 1.5
            assert await dept.fetch("person", ["p1", "p2"]) == [DATA["person"]["p1"], DATA["person"]["p2"]]
        assert dept.asked() == [1, 1, 2]
        assert store.errors == 2  # one read a pause; the write of a failed read's answer is skipped
        warnings = [r.getMessage() for r in caplog.records if r.name == "govgraph.cache"]
        assert len(warnings) == 1  # at most one warning every 30 s
        assert "unavailable" in warnings[0]
        assert "secret" not in warnings[0]
    finally:
        await cache.aclose()


async def test_the_cache_shares_the_process_pool_and_gives_its_share_back(
    redis_url: str, redis_version: str
) -> None:
    limiter = PoolLease(redis_url)  # as the rate limiter and the tallies hold it
    pool = limiter.pool()
    assert sum(count for count, _ in pool.get_connection_count()) == 0
    cache = open_cache(CacheSpec(backend="redis", redis_url=redis_url, version=redis_version))
    assert cache is not None
    await Dept(cache).fetch("person", ["p1"])
    assert sum(count for count, _ in pool.get_connection_count()) >= 1  # the cache's calls used it
    await cache.aclose()
    other = PoolLease(redis_url)
    assert other.pool() is pool  # still the process's pool: the limiter holds it
    await other.aclose()
    await limiter.aclose()  # the last user: the pool is closed and forgotten
    again = PoolLease(redis_url)
    assert again.pool() is not pool
    await again.aclose()
