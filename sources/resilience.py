"""Per-source protection: an in-flight cap, bounded retries and a circuit breaker.

`ResilientSource` wraps any `Source` (in the registry: `ResilientSource(CountedSource(
adapter))`, so every retry is a counted backend call and the breaker sees each call's
outcome after its retries).

Deadline. A call may take at most `timeout + retry_backoff * (2**retries - 1)` seconds:
the source's own `timeout` for one attempt plus the largest total backoff that full
jitter can draw (5.15 s with the defaults). Waiting for an in-flight slot counts against
it. Each attempt is bounded by the adapter's own `timeout`; the wrapper only enforces the
call deadline, so an attempt that still has its full budget ends with the adapter's own
`SourceTimeout` rather than a cancellation.

Retries. Only `SourceUnavailable` and `SourceTimeout` are retried (a department that
answers badly will answer badly again), at most `retries` times, after
`uniform(0, retry_backoff * 2**n)` seconds for the n-th retry (full jitter, so a crowd
of gateways does not retry in step). A retry starts only if, after its backoff, at least
`min(connect_timeout, timeout)` remains: an attempt with no time to open a connection
only adds load. In practice fast failures (refused or reset connections, 5xx, connect
timeouts) are retried, and a read that used the whole `timeout` is not, which keeps the
worst-case latency near `timeout` instead of a multiple of it.

Breaker. `breaker_failures` consecutive failed calls (any `SourceError` but
`SourceRejected`, after retries) open it; while open, calls fail at once with
`SourceCircuitOpen`. After `breaker_cooldown` one trial call goes through (half-open) as
a single attempt, since a recovering department should not get a burst; others fail
fast meanwhile. Its success closes the breaker, its failure re-opens it for another
cooldown. Outcomes of calls admitted before the breaker last changed state are ignored,
so a slow call from the closed era cannot close or re-open it. A cancelled call counts
as no outcome, and so does a call the department refused (`SourceRejected`: bad keys,
one request's fault): otherwise a client could open a department's breaker for everyone
by sending bad keys.

Reporting. State changes (and calls refused while open) go to the catalogue's
`CallStats`, for metrics; the last failure is kept (code, detail, time) for /readyz
(refused keys are not a failure of the source, so they are not kept).
Details come from the adapters, which name exception types, never backend text.

Exceptions. The wrapper's own failures (deadline, circuit open) are `SourceError`s, and
adapters translate driver errors. Anything else from the inner source is a bug: it counts
as a failure for the breaker but is re-raised unchanged, not retried, so the gateway
reports it as an internal error with a logged error id instead of "department down".
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from .base import Resilience, Result, Source
from .errors import SourceCircuitOpen, SourceError, SourceRejected, SourceTimeout, SourceUnavailable
from .stats import CallStats

__all__ = ["BreakerState", "CircuitBreaker", "LastError", "Permit", "ResilientSource", "call_deadline"]

BreakerState = Literal["closed", "open", "half_open"]


def call_deadline(timeout: float, policy: Resilience) -> float:
    """Seconds one call may take: one attempt's timeout plus the largest total backoff."""
    return timeout + policy.retry_backoff * (2.0**policy.retries - 1)


@dataclass(frozen=True)
class LastError:
    """The most recent failed call of a source."""

    code: str  # the SourceError code, or INTERNAL for a bug in an adapter
    detail: str
    at: float  # time.time()


@dataclass(frozen=True)
class Permit:
    """Admission to call through a breaker; `generation` ties its outcome to one state."""

    generation: int
    trial: bool


class CircuitBreaker:
    """Consecutive-failure breaker with a cooldown and a single half-open trial."""

    def __init__(
        self,
        threshold: int,
        cooldown: float,
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[BreakerState], None] | None = None,
    ) -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self.failures = 0  # consecutive failed calls while closed
        self._clock = clock
        # Told of each change it makes: opened, closed, trial admitted or given up. The
        # cooldown running out is not an event: the state reads "half_open" from then on.
        self._on_change = on_change
        self._opened_at: float | None = None
        self._trial = False  # a half-open trial call is in flight
        self._generation = 0  # bumped on every open / close

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return "closed"
        if self._trial or self._clock() - self._opened_at >= self.cooldown:
            return "half_open"
        return "open"

    def admit(self) -> Permit | None:
        """A permit to call, or None when the call must fail fast."""
        state = self.state
        if state == "closed":
            return Permit(self._generation, trial=False)
        if state == "half_open" and not self._trial:
            self._trial = True
            self._changed()
            return Permit(self._generation, trial=True)
        return None

    def succeeded(self, permit: Permit) -> None:
        if permit.generation != self._generation:
            return
        if permit.trial:
            self._transition(None)
        self.failures = 0

    def failed(self, permit: Permit) -> None:
        if permit.generation != self._generation:
            return
        if permit.trial:
            self._transition(self._clock())
            return
        self.failures += 1
        if self.failures >= self.threshold:
            self._transition(self._clock())

    def released(self, permit: Permit) -> None:
        """The call ended without an outcome (cancelled): let another call be the trial."""
        if permit.trial and permit.generation == self._generation:
            self._trial = False
            self._changed()

    def _transition(self, opened_at: float | None) -> None:
        self._opened_at = opened_at
        self._trial = False
        self.failures = 0
        self._generation += 1
        self._changed()

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change(self.state)


class ResilientSource:
    """A `Source` with an in-flight cap, retries and a circuit breaker (module docstring).

    `clock` drives the breaker's cooldown, `sleep` and `uniform` the backoff; tests
    replace them. `retries` and `rejections` count retried attempts and calls refused
    while the circuit was open; `stats` hears of breaker changes and refusals.
    """

    def __init__(
        self,
        inner: Source,
        timeout: float,
        policy: Resilience,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        uniform: Callable[[float, float], float] = random.uniform,
        stats: CallStats | None = None,
    ) -> None:
        self.name = inner.name
        self.inner = inner
        self.policy = policy
        self.timeout = timeout
        self.deadline = call_deadline(timeout, policy)
        self._stats = stats
        self.breaker = CircuitBreaker(
            policy.breaker_failures,
            policy.breaker_cooldown,
            clock,
            None if stats is None else lambda state: stats.breaker_changed(self.name, state),
        )
        self.retries = 0
        self.rejections = 0
        self.last_error: LastError | None = None
        self._min_attempt = min(policy.connect_timeout, timeout)
        self._slots = asyncio.Semaphore(policy.max_in_flight)
        self._sleep = sleep
        self._uniform = uniform

    @property
    def state(self) -> BreakerState:
        return self.breaker.state

    async def fetch_many(self, entity: str, keys: Sequence[str]) -> list[Result]:
        permit = self.breaker.admit()
        if permit is None:
            self.rejections += 1
            if self._stats is not None:
                self._stats.short_circuited(self.name, entity)
            raise SourceCircuitOpen(
                self.name, entity, f"circuit open after {self.policy.breaker_failures} failures"
            )
        try:
            result = await self._with_retries(entity, keys, 0 if permit.trial else self.policy.retries)
        except SourceRejected:
            # The department answered and refused these keys: one request's bad input, which
            # must not open the breaker for everyone (nor, as a trial, close it). No outcome.
            self.breaker.released(permit)
            raise
        except Exception as exc:
            self.breaker.failed(permit)
            self.last_error = _last_error(exc)
            raise
        except BaseException:  # cancelled: no outcome, but a trial must not stay in flight
            self.breaker.released(permit)
            raise
        self.breaker.succeeded(permit)
        return result

    async def _with_retries(self, entity: str, keys: Sequence[str], retries: int) -> list[Result]:
        deadline = asyncio.get_running_loop().time() + self.deadline
        attempt = 0
        while True:
            try:
                return await self._attempt(entity, keys, deadline)
            except (SourceUnavailable, SourceTimeout):
                delay = self._backoff(attempt, deadline) if attempt < retries else None
                if delay is None:
                    raise
            attempt += 1
            self.retries += 1
            await self._sleep(delay)

    def _backoff(self, attempt: int, deadline: float) -> float | None:
        """Seconds before retry number `attempt + 1`, or None when it would not fit the deadline."""
        delay = self._uniform(0.0, self.policy.retry_backoff * 2.0**attempt)
        if asyncio.get_running_loop().time() + delay + self._min_attempt > deadline:
            return None
        return delay

    async def _attempt(self, entity: str, keys: Sequence[str], deadline: float) -> list[Result]:
        try:
            async with asyncio.timeout_at(deadline), self._slots:
                return await self.inner.fetch_many(entity, keys)
        except TimeoutError as exc:
            raise SourceTimeout(
                self.name, entity, f"no answer within the {self.deadline:g}s deadline"
            ) from exc

    async def aclose(self) -> None:
        await self.inner.aclose()


def _last_error(exc: Exception) -> LastError:
    if isinstance(exc, SourceError):
        return LastError(exc.code, exc.detail, time.time())
    return LastError("INTERNAL", type(exc).__name__, time.time())
