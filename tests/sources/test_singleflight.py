"""SingleFlight: concurrent fetches of the same keys share one backend call."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from sources.base import Result
from sources.errors import BadSourceResponse, SourceRejected, SourceUnavailable
from sources.singleflight import SingleFlight
from sources.stats import CallStats, CountedSource
from tests.waiting import DEADLINE, until


class Gated:
    """A department whose calls wait for `gate`, then answer (or raise `error`)."""

    def __init__(self) -> None:
        self.name = "dept"
        self.gate = asyncio.Event()
        self.calls: list[list[str]] = []
        self.cancelled = 0
        self.error: Exception | None = None
        self.fail_keys: set[str] = set()  # calls for these keys raise `error`
        self.short = False  # answer one result too few

    async def fetch_many(self, entity: str, keys: Sequence[str]) -> list[Result]:
        self.calls.append(list(keys))
        try:
            await self.gate.wait()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        if self.error is not None and (not self.fail_keys or self.fail_keys & set(keys)):
            raise self.error
        return answers(keys, entity)[: len(keys) - self.short]

    async def aclose(self) -> None:
        return None


def answers(keys: Sequence[str], entity: str = "person") -> list[Result]:
    return [{"id": k, "entity": entity} for k in keys]


async def asked(dept: Gated, calls: int) -> None:
    """Wait until `calls` calls have reached the department (and wait at its gate)."""
    await until(lambda: len(dept.calls) >= calls, f"{calls} calls to reach the department")


async def finished(*tasks: asyncio.Task[list[Result]]) -> None:
    """Wait for `tasks` to end, however they end."""
    await asyncio.wait_for(asyncio.wait(tasks), DEADLINE)


async def test_twenty_overlapping_fetches_ask_each_key_once() -> None:
    dept, stats = Gated(), CallStats()
    flight = SingleFlight(CountedSource(dept, stats))
    wanted = [[f"k{i % 5}", f"k{(i + 1) % 5}"] for i in range(20)]
    tasks = [asyncio.create_task(flight.fetch_many("person", keys)) for keys in wanted]
    await asked(dept, 4)
    # The first caller sends k0, k1; each next one only the key nobody has in flight yet.
    assert dept.calls == [["k0", "k1"], ["k2"], ["k3"], ["k4"]]
    assert flight.in_flight() == 5
    dept.gate.set()
    assert await asyncio.gather(*tasks) == [answers(keys) for keys in wanted]
    assert stats.total() == 4
    assert stats.keys["dept", "person"] == 5
    assert flight.in_flight() == 0  # nothing kept: a later fetch asks again
    assert await flight.fetch_many("person", ["k0"]) == answers(["k0"])
    assert stats.total() == 5


async def test_identical_fetches_share_one_call_and_keep_their_own_order() -> None:
    dept = Gated()
    flight = SingleFlight(dept)
    same = [asyncio.create_task(flight.fetch_many("person", ["a", "b"])) for _ in range(20)]
    mixed = asyncio.create_task(flight.fetch_many("person", ["b", "c", "a", "c"]))
    other_entity = asyncio.create_task(flight.fetch_many("school", ["a"]))
    await asked(dept, 3)
    dept.gate.set()
    assert await asyncio.gather(*same) == [answers(["a", "b"])] * 20
    assert await mixed == answers(["b", "c", "a", "c"])
    assert await other_entity == answers(["a"], "school")
    assert dept.calls == [["a", "b"], ["c"], ["a"]]  # same key, other entity: its own call


async def test_an_error_reaches_every_waiter() -> None:
    dept = Gated()
    # Only the shared call fails: each caller's own call for its x key answers.
    dept.error, dept.fail_keys = SourceUnavailable("dept", "person", "down"), {"a"}
    flight = SingleFlight(dept)
    tasks = [asyncio.create_task(flight.fetch_many("person", ["a", f"x{i}"])) for i in range(10)]
    await asked(dept, 10)
    assert dept.calls == [["a", "x0"]] + [[f"x{i}"] for i in range(1, 10)]  # "a" asked once, shared
    dept.gate.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(r, SourceUnavailable) for r in results)
    assert flight.in_flight() == 0


async def test_a_cancelled_waiter_does_not_cancel_the_call_for_others() -> None:
    dept = Gated()
    flight = SingleFlight(dept)
    first = asyncio.create_task(flight.fetch_many("person", ["a"]))  # it started the call
    others = [asyncio.create_task(flight.fetch_many("person", ["a"])) for _ in range(2)]
    await asked(dept, 1)  # the others joined the call before it went out
    first.cancel()
    await finished(first)
    assert first.cancelled()
    assert dept.cancelled == 0
    dept.gate.set()
    assert await asyncio.gather(*others) == [answers(["a"])] * 2
    assert dept.calls == [["a"]]
    assert flight.in_flight() == 0


async def test_a_call_nobody_waits_for_any_more_is_cancelled_and_forgotten() -> None:
    dept = Gated()
    flight = SingleFlight(dept)
    tasks = [asyncio.create_task(flight.fetch_many("person", ["a", "b"])) for _ in range(3)]
    await asked(dept, 1)
    for task in tasks:
        task.cancel()
    await finished(*tasks)
    await until(lambda: dept.cancelled, "the department's call to be cancelled")
    assert dept.cancelled == 1
    assert flight.in_flight() == 0
    dept.gate.set()
    assert await flight.fetch_many("person", ["a"]) == answers(["a"])  # a fresh call
    assert dept.calls == [["a", "b"], ["a"]]


async def test_a_waiter_leaving_on_one_failure_leaves_its_other_call_to_the_rest() -> None:
    dept = Gated()
    dept.error, dept.fail_keys = SourceUnavailable("dept", "person", "down"), {"a"}
    flight = SingleFlight(dept)
    holder = asyncio.create_task(flight.fetch_many("person", ["b"]))
    await asked(dept, 1)
    joined = asyncio.create_task(flight.fetch_many("person", ["a", "b"]))  # new call for a, joins b
    await asked(dept, 2)
    dept.gate.set()
    with pytest.raises(SourceUnavailable):
        await joined
    assert await holder == answers(["b"])
    assert dept.calls == [["b"], ["a"]]
    assert dept.cancelled == 0
    assert flight.in_flight() == 0


async def test_a_refusal_reaches_only_callers_that_asked_for_every_key_of_the_call() -> None:
    dept = Gated()
    dept.error, dept.fail_keys = SourceRejected("dept", "person", "HTTP 422"), {"bad"}
    flight = SingleFlight(dept)
    sender = asyncio.create_task(flight.fetch_many("person", ["bad", "a"]))
    await asked(dept, 1)
    same = asyncio.create_task(flight.fetch_many("person", ["a", "bad"]))  # the identical call
    other = asyncio.create_task(flight.fetch_many("person", ["a", "b"]))  # shares "a" only
    await asked(dept, 2)  # `other`'s call for "b"; `same` joined the first
    dept.gate.set()
    for caller in (sender, same):
        with pytest.raises(SourceRejected):
            await caller
    # The other request is not failed by keys it never sent: it asks for "a" on its own.
    assert await other == answers(["a", "b"])
    assert dept.calls == [["bad", "a"], ["b"], ["a"]]
    assert flight.in_flight() == 0


async def test_a_short_answer_is_a_bad_response() -> None:
    dept = Gated()
    dept.short = True
    dept.gate.set()
    flight = SingleFlight(dept)
    with pytest.raises(BadSourceResponse, match="1 results for 2 keys"):
        await flight.fetch_many("person", ["a", "b"])
    assert flight.in_flight() == 0
