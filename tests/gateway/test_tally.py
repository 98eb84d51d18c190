"""The tallies behind look-up budgets and verdict windows: the same answers in process
memory and in Redis (its Lua scripts), windows that expire, and a fallback when Redis is
unreachable."""

from __future__ import annotations

import asyncio
import gc
import logging
import tracemalloc
from collections.abc import AsyncIterator, Callable

import pytest
import pytest_asyncio
from redis.asyncio import Redis

from gateway.access.tally import MemoryTally, RedisTally, Tally, build_tally
from tests.redis_server import redis_url_or_skip, unique_prefix

from .test_ratelimit import closed_port

Clock = Callable[[], float]


class Manual:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest_asyncio.fixture(params=["memory", "redis"])
async def tally(request: pytest.FixtureRequest) -> AsyncIterator[Tally]:
    if request.param == "memory":
        made: Tally = MemoryTally()
    else:
        url = await redis_url_or_skip()
        made = RedisTally(url, prefix=unique_prefix("tally"), socket_timeout=2.0)
    yield made
    if isinstance(made, RedisTally):
        assert made.fallbacks == 0  # Redis answered throughout: the scripts were measured
    await made.aclose()


async def test_a_reservation_never_passes_the_limit(tally: Tally) -> None:
    assert await tally.reserve("c", 3, 5, 60) == 0.0
    assert await tally.exhausted("c", 5) == 0.0
    left = await tally.reserve("c", 3, 5, 60)  # 6 > 5: refused, nothing taken
    assert 59 < left <= 60
    assert await tally.reserve("c", 2, 5, 60) == 0.0  # exactly the limit
    assert 59 < await tally.exhausted("c", 5) <= 60
    await tally.release("c", 4)
    assert await tally.exhausted("c", 5) == 0.0
    assert await tally.reserve("c", 4, 5, 60) == 0.0
    await tally.release("c", 100)  # never below zero
    assert await tally.reserve("c", 5, 5, 60) == 0.0
    assert await tally.reserve("other", 5, 5, 60) == 0.0  # another key, another count


async def test_concurrent_reservations_share_the_limit(tally: Tally) -> None:
    taken = await asyncio.gather(*(tally.reserve("c", 1, 10, 60) for _ in range(50)))
    assert taken.count(0.0) == 10


async def test_a_set_admits_up_to_its_limit_and_its_members_again(tally: Tally) -> None:
    assert await tally.admit("v", "a", 2, 60)
    assert await tally.admit("v", "b", 2, 60)
    assert not await tally.admit("v", "c", 2, 60)
    assert await tally.admit("v", "a", 2, 60)  # already a member
    assert await tally.admit("w", "c", 2, 60)


async def test_windows_expire_in_redis(redis_url: str) -> None:
    prefix = unique_prefix("tally")
    tally = RedisTally(redis_url, prefix=prefix, socket_timeout=2.0)
    client = Redis.from_url(redis_url, protocol=2)
    try:
        await tally.reserve("c", 1, 5, 30)
        await tally.admit("v", "a", 1, 30)
        assert 29_000 < await client.pttl(prefix + "c") <= 30_000
        assert 29_000 < await client.pttl(prefix + "v") <= 30_000
        await tally.release("c", 1)
        assert 29_000 < await client.pttl(prefix + "c") <= 30_000  # a release keeps the window
        await tally.release("gone", 1)
        assert await client.exists(prefix + "gone") == 0  # nor makes a key that never expires
    finally:
        await client.delete(prefix + "c", prefix + "v")
        await client.aclose()
        await tally.aclose()


async def test_windows_expire_in_memory() -> None:
    clock = Manual()
    tally = MemoryTally(clock=clock)
    await tally.reserve("c", 5, 5, 30)
    await tally.admit("v", "a", 1, 30)
    clock.now += 29
    assert await tally.exhausted("c", 5) == pytest.approx(1.0)
    assert not await tally.admit("v", "b", 1, 30)
    clock.now += 1
    assert await tally.exhausted("c", 5) == 0.0
    assert await tally.admit("v", "b", 1, 30)


async def test_memory_tallies_keep_the_least_recently_used_and_little_of_each() -> None:
    """A client checking verdicts about many subjects opens a window per subject that stays
    a day: the process keeps at most `max_keys` of them, each in about 210 bytes."""
    tally = MemoryTally(max_keys=3, clock=Manual())
    for key in ("a", "b", "c"):
        assert await tally.admit(key, "x", 1, 60)
    assert not await tally.admit("a", "y", 1, 60)  # full, and now the most recently used
    assert await tally.admit("d", "x", 1, 60)  # evicts b
    assert not await tally.admit("a", "y", 1, 60)
    assert await tally.admit("b", "y", 1, 60)  # forgotten: a new window
    assert len(tally) == 3

    many = MemoryTally(max_keys=100_000)
    windows = [
        (f"verdict:talent:{i:064x}:SocialInsurance.hasContributed", f"{i:032x}") for i in range(20_000)
    ]
    gc.collect()
    tracemalloc.start()
    try:
        for window, member in windows:
            await many.admit(window, member, 2, 86_400)
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert len(many) == len(windows)
    assert held / len(windows) < 300


async def test_unreachable_redis_falls_back_to_this_process(caplog: pytest.LogCaptureFixture) -> None:
    tally = RedisTally(f"redis://:secret@127.0.0.1:{closed_port()}/0")
    try:
        with caplog.at_level(logging.WARNING, logger="govgraph.tally"):
            assert await tally.reserve("c", 2, 2, 60) == 0.0
            assert await tally.reserve("c", 1, 2, 60) > 0  # the process's own count still holds
    finally:
        await tally.aclose()
    assert tally.fallbacks == 2
    [record] = [r for r in caplog.records if r.name == "govgraph.tally"]
    assert "fall back to per-process tallies" in record.getMessage()
    assert "secret" not in record.getMessage()


def test_the_tally_follows_the_rate_limiter_backend() -> None:
    assert isinstance(build_tally("memory", None, "p:"), MemoryTally)
    assert isinstance(build_tally("redis", "redis://127.0.0.1:6379/0", "p:"), RedisTally)
