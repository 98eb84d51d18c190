"""ResilientSource as a unit: a scripted inner source, a fake clock for the breaker."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import pytest

from sources.base import EntitySpec, Resilience, Result, SourceSpec
from sources.errors import (
    BadSourceResponse,
    SourceCircuitOpen,
    SourceError,
    SourceRejected,
    SourceTimeout,
    SourceUnavailable,
)
from sources.registry import build_catalog
from sources.resilience import BreakerState, CircuitBreaker, ResilientSource, call_deadline
from sources.stats import CallStats

Step = Exception | None  # None answers, an exception is raised


class Scripted:
    """A source that follows a script, one step per call (then answers), and records calls."""

    def __init__(self, *steps: Step, delay: float = 0.0) -> None:
        self.name = "dept"
        self.steps = list(steps)
        self.delay = delay
        self.calls = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.gate: asyncio.Event | None = None  # when set, calls wait for it
        self.entered = asyncio.Event()  # set by every call as it starts

    async def fetch_many(self, entity: str, keys: Sequence[str]) -> list[Result]:
        self.calls += 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        self.entered.set()
        try:
            step = self.steps.pop(0) if self.steps else None
            if self.gate is not None:
                await self.gate.wait()
            await asyncio.sleep(self.delay)
            if step is not None:
                raise step
            return [{"id": k} for k in keys]
        finally:
            self.in_flight -= 1

    async def aclose(self) -> None:
        return None


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def down() -> SourceUnavailable:
    return SourceUnavailable("dept", "e", "connection refused")


def policy(**overrides: Any) -> Resilience:
    values: dict[str, Any] = {
        "retries": 2,
        "retry_backoff": 0.001,
        "breaker_failures": 3,
        "breaker_cooldown": 10.0,
        "max_in_flight": 8,
        "connect_timeout": 0.05,
    }
    return Resilience(**(values | overrides))


def wrap(
    inner: Scripted, timeout: float = 1.0, clock: Clock | None = None, **overrides: Any
) -> ResilientSource:
    return ResilientSource(inner, timeout, policy(**overrides), clock=clock or Clock())


@pytest.mark.parametrize("error", [down(), SourceTimeout("dept", "e", "slow")])
async def test_unavailable_and_timeout_are_retried_up_to_the_limit(error: SourceError) -> None:
    inner = Scripted(error, error, error, error)
    src = wrap(inner, retries=2)
    with pytest.raises(type(error)):
        await src.fetch_many("e", ["a"])
    assert inner.calls == 3
    assert src.retries == 2


async def test_a_retry_that_succeeds_is_a_success() -> None:
    inner = Scripted(down())
    src = wrap(inner)
    assert await src.fetch_many("e", ["a"]) == [{"id": "a"}]
    assert inner.calls == 2
    assert src.retries == 1
    assert src.breaker.failures == 0


@pytest.mark.parametrize("error", [BadSourceResponse("dept", "e", "not JSON"), RuntimeError("bug")])
async def test_bad_answers_and_bugs_are_not_retried(error: Exception) -> None:
    inner = Scripted(error)
    src = wrap(inner)
    with pytest.raises(type(error)) as caught:
        await src.fetch_many("e", ["a"])
    assert caught.value is error  # a bug keeps its type, so the gateway logs it with an id
    assert inner.calls == 1
    assert src.retries == 0
    assert src.breaker.failures == 1


async def test_backoff_doubles_with_full_jitter() -> None:
    drawn: list[tuple[float, float]] = []
    slept: list[float] = []

    def uniform(low: float, high: float) -> float:
        drawn.append((low, high))
        return high

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    inner = Scripted(*[down()] * 4)
    src = ResilientSource(inner, 1.0, policy(retries=3, retry_backoff=0.01), sleep=sleep, uniform=uniform)
    with pytest.raises(SourceUnavailable):
        await src.fetch_many("e", ["a"])
    assert drawn == [(0.0, 0.01), (0.0, 0.02), (0.0, 0.04)]
    assert slept == [0.01, 0.02, 0.04]
    assert src.deadline == pytest.approx(1.0 + 0.07)  # timeout + the largest total backoff


async def test_retries_stop_before_the_deadline() -> None:
    # Attempts fail after 0.05 s; backoffs (at their maximum) are 0.02, 0.04, 0.08, 0.16, 0.32.
    # The fifth retry would start at 0.87 s, past the 0.72 s deadline, so it is not made.
    inner = Scripted(*[down()] * 10, delay=0.05)
    src = ResilientSource(inner, 0.1, policy(retries=5, retry_backoff=0.02), uniform=lambda low, high: high)
    assert src.deadline == pytest.approx(call_deadline(0.1, src.policy)) == pytest.approx(0.72)
    started = time.perf_counter()
    with pytest.raises(SourceUnavailable):
        await src.fetch_many("e", ["a"])
    elapsed = time.perf_counter() - started
    assert inner.calls <= 5
    assert src.retries == inner.calls - 1
    assert elapsed < src.deadline


async def test_an_attempt_that_hangs_ends_at_the_deadline() -> None:
    inner = Scripted(delay=30)
    src = wrap(inner, timeout=0.1, retry_backoff=0.05)  # deadline 0.1 + 0.05 * 3
    started = time.perf_counter()
    with pytest.raises(SourceTimeout) as caught:
        await src.fetch_many("e", ["a"])
    assert 0.25 <= time.perf_counter() - started < 0.6
    assert caught.value.code == "SOURCE_TIMEOUT"
    assert inner.calls == 1


async def test_waiting_for_a_slot_counts_against_the_deadline() -> None:
    inner = Scripted(delay=0.2)  # each call fits the 0.303 s deadline on its own
    src = wrap(inner, timeout=0.3, max_in_flight=1)
    first = await in_background(src, inner)
    t0 = time.perf_counter()
    with pytest.raises(SourceTimeout):  # 0.2 s waiting for the slot + 0.2 s answering
        await src.fetch_many("e", ["b"])
    assert 0.29 <= time.perf_counter() - t0 < 0.5
    assert await first == [{"id": "a"}]
    assert inner.max_in_flight == 1


async def test_in_flight_cap_holds_under_50_concurrent_calls() -> None:
    inner = Scripted(delay=0.01)
    src = wrap(inner, max_in_flight=5)
    results = await asyncio.gather(*(src.fetch_many("e", [str(i)]) for i in range(50)))
    assert results == [[{"id": str(i)}] for i in range(50)]
    assert inner.calls == 50
    assert inner.max_in_flight == 5


async def fail(src: ResilientSource, inner: Scripted, calls: int = 3) -> None:
    """Make `calls` calls fail, every attempt of each."""
    inner.steps = [down()] * (calls * (src.policy.retries + 1))
    for _ in range(calls):
        with pytest.raises(SourceUnavailable):
            await src.fetch_many("e", ["a"])


async def in_background(src: ResilientSource, inner: Scripted) -> asyncio.Task[list[Result]]:
    """A call that has reached the inner source."""
    inner.entered.clear()
    task = asyncio.create_task(src.fetch_many("e", ["a"]))
    await inner.entered.wait()
    return task


def state(src: ResilientSource | CircuitBreaker) -> BreakerState:
    return src.state  # a call, so mypy does not narrow the property between checks


async def test_breaker_opens_after_consecutive_failures_and_fails_fast() -> None:
    inner = Scripted()
    src = wrap(inner, retries=0)
    await fail(src, inner, calls=2)
    assert state(src) == "closed"
    await src.fetch_many("e", ["a"])  # a success resets the count
    await fail(src, inner)
    assert state(src) == "open"
    with pytest.raises(SourceCircuitOpen) as caught:
        await src.fetch_many("e", ["a"])
    assert caught.value.code == "SOURCE_CIRCUIT_OPEN"
    assert caught.value.source == "dept"
    assert inner.calls == 6
    assert src.rejections == 1


async def test_failures_are_counted_after_retries() -> None:
    inner = Scripted()
    src = wrap(inner, retries=2)
    inner.steps = [down(), down()]  # the third attempt answers
    for _ in range(4):
        await src.fetch_many("e", ["a"])
        inner.steps = [down(), down()]
    assert state(src) == "closed"
    assert src.retries == 8


async def test_half_open_trial_success_closes_the_breaker() -> None:
    clock = Clock()
    inner = Scripted()
    src = wrap(inner, clock=clock)
    await fail(src, inner)
    clock.now += 9.9
    assert state(src) == "open"
    clock.now += 0.2
    assert state(src) == "half_open"
    inner.gate = asyncio.Event()
    trial = await in_background(src, inner)
    calls = inner.calls
    with pytest.raises(SourceCircuitOpen):  # concurrent calls fail fast during the trial
        await src.fetch_many("e", ["b"])
    assert inner.calls == calls
    assert state(src) == "half_open"
    inner.gate.set()
    assert await trial == [{"id": "a"}]
    assert state(src) == "closed"


async def test_half_open_trial_failure_reopens_for_another_cooldown() -> None:
    clock = Clock()
    inner = Scripted()
    src = wrap(inner, clock=clock, retries=2)
    await fail(src, inner)
    clock.now += 10
    inner.steps = [down(), down()]
    with pytest.raises(SourceUnavailable):
        await src.fetch_many("e", ["a"])
    assert inner.calls == 10  # the trial is a single attempt, even with retries configured
    assert state(src) == "open"
    clock.now += 9.9
    with pytest.raises(SourceCircuitOpen):
        await src.fetch_many("e", ["a"])
    clock.now += 0.1
    inner.steps = []
    await src.fetch_many("e", ["a"])
    assert state(src) == "closed"


async def test_a_cancelled_trial_lets_the_next_call_try() -> None:
    clock = Clock()
    inner = Scripted()
    src = wrap(inner, clock=clock, retries=0)
    await fail(src, inner)
    clock.now += 10
    inner.gate = asyncio.Event()
    trial = await in_background(src, inner)
    trial.cancel()
    with pytest.raises(asyncio.CancelledError):
        await trial
    assert state(src) == "half_open"
    inner.gate = None
    await src.fetch_many("e", ["a"])
    assert state(src) == "closed"


def rejected() -> SourceRejected:
    return SourceRejected("dept", "e", "HTTP 422")


async def test_refused_keys_are_not_retried_and_never_open_the_breaker() -> None:
    inner = Scripted(*[rejected()] * 10)
    src = wrap(inner, retries=2)
    for _ in range(10):
        with pytest.raises(SourceRejected):
            await src.fetch_many("e", ["a"])
    assert inner.calls == 10
    assert src.retries == 0
    assert state(src) == "closed"
    assert src.breaker.failures == 0
    assert src.last_error is None  # nothing for /readyz to report


async def test_refusals_between_failures_neither_count_nor_reset_them() -> None:
    inner = Scripted(down(), rejected(), down(), rejected(), down())
    src = wrap(inner, retries=0)
    for _ in range(5):
        with pytest.raises(SourceError):
            await src.fetch_many("e", ["a"])
    assert state(src) == "open"
    assert src.last_error is not None
    assert src.last_error.code == "SOURCE_UNAVAILABLE"


async def test_a_refused_trial_leaves_the_trial_to_the_next_call() -> None:
    clock = Clock()
    inner = Scripted()
    src = wrap(inner, clock=clock, retries=0)
    await fail(src, inner)
    clock.now += 10
    inner.steps = [rejected()]
    with pytest.raises(SourceRejected):
        await src.fetch_many("e", ["a"])
    assert state(src) == "half_open"  # refused keys say nothing about the department
    await src.fetch_many("e", ["a"])
    assert state(src) == "closed"


def test_outcomes_from_before_a_state_change_are_ignored() -> None:
    clock = Clock()
    breaker = CircuitBreaker(threshold=1, cooldown=5, clock=clock)
    slow = breaker.admit()
    fast = breaker.admit()
    assert slow is not None
    assert fast is not None
    breaker.failed(fast)
    assert state(breaker) == "open"
    breaker.succeeded(slow)  # admitted while closed: says nothing about the department now
    assert state(breaker) == "open"
    clock.now += 5
    trial = breaker.admit()
    assert trial is not None
    assert trial.trial
    assert breaker.admit() is None
    breaker.succeeded(trial)
    breaker.failed(slow)
    assert state(breaker) == "closed"
    assert breaker.failures == 0


async def test_the_registry_counts_every_attempt_and_reports_breaker_states() -> None:
    stats = CallStats()
    spec = SourceSpec("dept", "memory", {"e": EntitySpec("e", "id")}, resilience=policy(breaker_failures=1))
    inner = Scripted(down())
    catalog = build_catalog([spec], stats, instances={"dept": inner})
    assert await catalog.routes["e"].source.fetch_many("e", ["a"]) == [{"id": "a"}]
    assert [c.outcome for c in stats.recent] == ["SOURCE_UNAVAILABLE", "ok"]
    assert catalog.health() == {"dept": "closed"}
    inner.steps = [down()] * 3
    with pytest.raises(SourceUnavailable):
        await catalog.routes["e"].source.fetch_many("e", ["a"])
    assert catalog.health() == {"dept": "open"}
    await catalog.aclose()
