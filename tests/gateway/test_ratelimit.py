"""Token-bucket rate limits: in memory (fake clock), and shared through a real Redis."""

from __future__ import annotations

import asyncio
import logging
import math
import shutil
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import pytest_asyncio
import redis
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from gateway.access import ratelimit
from gateway.access.ratelimit import (
    MemoryRateLimiter,
    RateLimiter,
    RedisRateLimiter,
    _take,
    build_rate_limiter,
)
from tests.redis_server import RedisServer, unique_prefix


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


async def drain(limiter: RateLimiter, key: str, rate: float, burst: int, times: int) -> list[float]:
    return [await limiter.acquire(key, rate, burst) for _ in range(times)]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port  # nothing listens once the socket closes


# --- memory -----------------------------------------------------------------------------


async def test_memory_burst_then_refusal_with_exact_retry_after() -> None:
    clock = FakeClock()
    limiter = MemoryRateLimiter(clock=clock)
    assert await drain(limiter, "a", 0.5, 2, 3) == [0.0, 0.0, 2.0]  # one token per 2 s
    assert await limiter.acquire("a", 0.5, 2) == 2.0  # a refusal takes nothing
    clock.advance(0.5)
    assert await limiter.acquire("a", 0.5, 2) == pytest.approx(1.5)
    clock.advance(1.5)
    assert await limiter.acquire("a", 0.5, 2) == 0.0
    assert await limiter.acquire("a", 0.5, 2) == pytest.approx(2.0)


async def test_memory_refills_fractionally_and_never_beyond_burst() -> None:
    clock = FakeClock()
    limiter = MemoryRateLimiter(clock=clock)
    await drain(limiter, "a", 2.0, 3, 3)
    clock.advance(0.25)  # half a token
    assert await limiter.acquire("a", 2.0, 3) == pytest.approx(0.25)
    clock.advance(0.25)
    assert await limiter.acquire("a", 2.0, 3) == 0.0
    clock.advance(3600)  # a long idle refills to burst, not beyond
    waits = await drain(limiter, "a", 2.0, 3, 4)
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert waits[3] == pytest.approx(0.5)


@pytest.mark.parametrize("rate", [0.1, 1 / 3, 0.7, 7.0, 1000.0])
async def test_memory_retry_after_is_honest(rate: float) -> None:
    """Waiting exactly the advertised time is enough, and waiting visibly less is not."""
    clock = FakeClock(86_400.123)  # monotonic after a day of uptime: rounding, but not much
    limiter = MemoryRateLimiter(clock=clock)
    for _ in range(20):
        wait = await limiter.acquire("a", rate, 1)
        if wait == 0.0:
            wait = await limiter.acquire("a", rate, 1)
        assert wait > 0.0
        clock.advance(wait * 0.99)
        assert await limiter.acquire("a", rate, 1) > 0.0
        clock.advance(wait * 0.01)
        assert await limiter.acquire("a", rate, 1) == 0.0


async def test_memory_keys_are_independent() -> None:
    limiter = MemoryRateLimiter(clock=FakeClock())
    assert await drain(limiter, "a", 1.0, 2, 3) == [0.0, 0.0, 1.0]
    assert await drain(limiter, "b", 1.0, 2, 2) == [0.0, 0.0]
    assert await limiter.acquire("c", 0.1, 1) == 0.0  # each call's rate and burst apply


async def test_memory_evicts_least_recently_used_beyond_max_keys() -> None:
    limiter = MemoryRateLimiter(max_keys=3, clock=FakeClock())
    for key in "abc":
        assert await limiter.acquire(key, 0.001, 1) == 0.0
    assert await limiter.acquire("a", 0.001, 1) > 0  # a refusal counts as use: "b" is now oldest
    assert await limiter.acquire("d", 0.001, 1) == 0.0
    assert len(limiter) == 3
    assert await limiter.acquire("b", 0.001, 1) == 0.0  # forgotten, so new and full; evicts "c"
    assert await limiter.acquire("a", 0.001, 1) > 0  # kept
    assert await limiter.acquire("d", 0.001, 1) > 0  # kept
    for n in range(1000):
        await limiter.acquire(f"k{n}", 1.0, 5)
    assert len(limiter) == 3


async def test_memory_concurrent_acquires_allow_exactly_burst() -> None:
    limiter = MemoryRateLimiter(clock=FakeClock())
    waits = await asyncio.gather(*(limiter.acquire("a", 0.01, 10) for _ in range(50)))
    assert waits.count(0.0) == 10


@pytest.mark.parametrize(("rate", "burst"), [(0.0, 1), (-1.0, 1), (math.inf, 1), (math.nan, 1), (1.0, 0)])
async def test_nonsense_limits_are_rejected(rate: float, burst: int) -> None:
    memory = MemoryRateLimiter()
    redis_limiter = RedisRateLimiter(f"redis://127.0.0.1:{closed_port()}/0")
    try:
        for limiter in (memory, redis_limiter):
            with pytest.raises(ValueError, match=r"^(rate|burst) must be"):
                await limiter.acquire("a", rate, burst)
    finally:
        await redis_limiter.aclose()


async def test_build_rate_limiter() -> None:
    memory = build_rate_limiter("memory", None)
    assert isinstance(memory, MemoryRateLimiter)
    shared = build_rate_limiter("redis", "redis://127.0.0.1:6379/0")  # connects lazily
    assert isinstance(shared, RedisRateLimiter)
    await shared.aclose()
    with pytest.raises(ValueError, match="needs a Redis URL"):
        build_rate_limiter("redis", None)
    with pytest.raises(ValueError, match=r"unknown rate limit backend 'dynamo'.*\"memory\" or \"redis\""):
        build_rate_limiter("dynamo", "redis://127.0.0.1:6379/0")


# --- Redis ------------------------------------------------------------------------------

LimiterFactory = Callable[..., RedisRateLimiter]


@pytest_asyncio.fixture
async def redis_client(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url, protocol=2)
    yield client
    await client.aclose()


@pytest_asyncio.fixture
async def limiters(redis_url: str, redis_client: Redis) -> AsyncIterator[tuple[str, LimiterFactory]]:
    """(this test's key prefix, a factory of limiters sharing it). Each limiter must have
    been served by Redis throughout, or the test would be measuring the fallback."""
    prefix = unique_prefix("rl:test")
    made: list[tuple[RedisRateLimiter, bool]] = []

    def make(*, strict: bool = True, **options: Any) -> RedisRateLimiter:
        # A generous timeout: a loaded test machine must not turn into a silent fallback.
        options = {"prefix": prefix, "socket_timeout": 2.0, **options}
        limiter = RedisRateLimiter(redis_url, **options)
        made.append((limiter, strict))
        return limiter

    yield prefix, make
    for limiter, _ in made:
        await limiter.aclose()
    keys = [key async for key in redis_client.scan_iter(match=prefix + "*")]
    if keys:
        await redis_client.delete(*keys)
    assert [limiter.fallbacks for limiter, strict in made if strict] == [0] * sum(s for _, s in made)


async def test_redis_burst_then_refusal_with_retry_after(limiters: tuple[str, LimiterFactory]) -> None:
    _, make = limiters
    limiter = make()
    waits = await drain(limiter, "a", 0.5, 2, 3)
    assert waits[:2] == [0.0, 0.0]
    assert 1.5 < waits[2] <= 2.0  # less by the real time since the bucket was full
    assert await drain(limiter, "b", 0.5, 2, 2) == [0.0, 0.0]  # another key, another bucket


async def test_redis_refills_over_time(limiters: tuple[str, LimiterFactory]) -> None:
    _, make = limiters
    limiter = make()
    assert await limiter.acquire("a", 20.0, 1) == 0.0
    wait = await limiter.acquire("a", 20.0, 1)
    assert 0.0 < wait <= 0.05
    await asyncio.sleep(wait)
    assert await limiter.acquire("a", 20.0, 1) == 0.0


@pytest.mark.parametrize("tokens", [0.0, 0.25, 0.999, 0.9999999999, 1.0, 1.5, 2.75])
async def test_redis_arithmetic_matches_memory(
    limiters: tuple[str, LimiterFactory], redis_client: Redis, tokens: float
) -> None:
    """The Lua script and `_take` agree to the last bit on a bucket with a known level
    (its timestamp in the future: a server clock that went back refills nothing)."""
    prefix, make = limiters
    limiter = make()
    rate, burst = 1 / 3, 3
    await redis_client.hset(prefix + "a", mapping={"tokens": repr(tokens), "ts": "4" + "0" * 15})  # 2096
    left, wait = _take(tokens, 0.0, rate, burst)
    assert await limiter.acquire("a", rate, burst) == wait
    if wait == 0.0:
        stored = await redis_client.hget(prefix + "a", "tokens")
        assert stored is not None
        assert float(stored) == left


async def test_redis_bucket_expires_once_it_would_be_full(
    limiters: tuple[str, LimiterFactory], redis_client: Redis
) -> None:
    prefix, make = limiters
    limiter = make()
    assert await limiter.acquire("slow", 0.01, 2) == 0.0  # 1 token short: full again in 100 s
    assert 99_000 < await redis_client.pttl(prefix + "slow") <= 100_000
    assert await limiter.acquire("fast", 100.0, 1) == 0.0  # full again in 10 ms
    await asyncio.sleep(0.1)
    assert await redis_client.exists(prefix + "fast") == 0


async def test_two_gateway_processes_share_one_bucket(limiters: tuple[str, LimiterFactory]) -> None:
    _, make = limiters
    first, second = make(), make()
    waits = [await (first if n % 2 else second).acquire("client", 0.001, 5) for n in range(8)]
    assert waits[:5] == [0.0] * 5
    assert all(wait > 0 for wait in waits[5:])
    assert await first.acquire("client", 0.001, 5) > 0
    assert await second.acquire("client", 0.001, 5) > 0


async def test_redis_concurrent_acquires_allow_exactly_burst(limiters: tuple[str, LimiterFactory]) -> None:
    _, make = limiters
    first, second = make(), make()
    waits = await asyncio.gather(*((first, second)[n % 2].acquire("a", 0.01, 10) for n in range(50)))
    assert waits.count(0.0) == 10
    assert all(wait > 0 for wait in waits if wait != 0.0)


async def test_script_missing_from_the_server_is_sent_with_eval(
    limiters: tuple[str, LimiterFactory], monkeypatch: pytest.MonkeyPatch
) -> None:
    # As after a restart or SCRIPT FLUSH (not done here: the server may be shared).
    monkeypatch.setattr(ratelimit, "_SCRIPT_SHA", "0" * 40)
    _, make = limiters
    assert await drain(make(), "a", 0.001, 1, 2) == [0.0, pytest.approx(1000.0, abs=1)]


async def test_unreachable_redis_falls_back_to_memory_and_still_limits(
    caplog: pytest.LogCaptureFixture,
) -> None:
    limiter = RedisRateLimiter(f"redis://:secret@127.0.0.1:{closed_port()}/0")
    try:
        with caplog.at_level(logging.WARNING, logger="govgraph.ratelimit"):
            waits = await drain(limiter, "a", 1.0, 3, 4)
    finally:
        await limiter.aclose()
    assert waits[:3] == [0.0] * 3
    assert 0.5 < waits[3] <= 1.0
    assert limiter.fallbacks == 4
    [record] = [r for r in caplog.records if r.name == "govgraph.ratelimit"]
    assert "falls back to per-process buckets" in record.getMessage()
    assert "secret" not in record.getMessage()


async def test_fallback_warning_is_logged_at_most_every_30_seconds(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    limiter = RedisRateLimiter(f"redis://127.0.0.1:{closed_port()}/0", pause_after_error=0.0, clock=clock)
    try:
        with caplog.at_level(logging.WARNING, logger="govgraph.ratelimit"):
            for _ in range(5):
                await limiter.acquire("a", 100.0, 100)  # each call tries Redis (no pause)
            assert len(caplog.records) == 1
            clock.advance(29.0)
            await limiter.acquire("a", 100.0, 100)
            assert len(caplog.records) == 1
            clock.advance(1.0)
            await limiter.acquire("a", 100.0, 100)
    finally:
        await limiter.aclose()
    assert len(caplog.records) == 2
    assert "6 failure(s) since the last warning" in caplog.records[1].getMessage()


async def test_hung_redis_costs_one_short_timeout_then_is_left_alone() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # accept, never answer
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    limiter = RedisRateLimiter(f"redis://127.0.0.1:{port}/0", socket_timeout=0.2)
    try:
        started = time.monotonic()
        assert await limiter.acquire("a", 1.0, 1) == 0.0
        assert 0.15 < time.monotonic() - started < 1.0
        started = time.monotonic()
        assert await limiter.acquire("a", 1.0, 1) > 0  # still limited, by the fallback
        assert time.monotonic() - started < 0.05  # within the pause: Redis not asked
    finally:
        await limiter.aclose()
        server.close()
        await server.wait_closed()


async def test_redis_is_used_again_after_the_pause(
    limiters: tuple[str, LimiterFactory], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, make = limiters
    clock = FakeClock()
    limiter = make(clock=clock, pause_after_error=1.0, strict=False)
    real_run = limiter._run
    failures = iter([RedisConnectionError("connection reset")])

    def flaky(*args: str) -> Awaitable[bytes]:
        error = next(failures, None)
        if error is not None:
            raise error
        return real_run(*args)

    monkeypatch.setattr(limiter, "_run", flaky)
    assert await limiter.acquire("a", 0.001, 2) == 0.0  # memory
    assert await limiter.acquire("a", 0.001, 2) == 0.0  # memory, within the pause
    clock.advance(1.0)
    waits = await drain(limiter, "a", 0.001, 2, 3)  # Redis's own bucket: still full
    assert waits[:2] == [0.0, 0.0]
    assert waits[2] > 0
    assert limiter.fallbacks == 2


def test_spawned_redis_server_starts_answers_and_stops() -> None:
    executable = shutil.which("redis-server")
    if executable is None:
        pytest.skip("redis-server is not on PATH")
    server = RedisServer(executable)
    url = server.start()
    try:
        client = redis.Redis.from_url(url)
        try:
            assert client.ping()
            assert client.config_get("save") == {"save": ""}  # nothing persisted
            assert client.config_get("appendonly") == {"appendonly": "no"}
        finally:
            client.close()
    finally:
        server.stop()
    port = int(url.removeprefix("redis://127.0.0.1:").removesuffix("/0"))
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0
