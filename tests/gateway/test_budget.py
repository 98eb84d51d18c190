"""The process's work budget: operations past it wait their turn, in order."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import ClassVar

import httpx

from gateway.app import create_app
from gateway.config.limits import Limits
from gateway.execution.budget import WorkBudget
from sources.base import Result
from sources.memory import MemorySource
from sources.stats import CallStats
from tests.resolvers import city
from tests.waiting import DEADLINE, until

from .support import DEVELOPER, settings


async def in_line(budget: WorkBudget, waiting: int) -> None:
    await until(lambda: budget.waiting == waiting, f"{waiting} operations waiting for the budget")


async def finished(*tasks: asyncio.Task[int]) -> None:
    """Wait for `tasks` to end, however they end (a result, an error, a cancellation)."""
    await asyncio.wait_for(asyncio.wait(tasks), DEADLINE)


async def test_operations_past_the_budget_wait_first_come_first_served() -> None:
    budget = WorkBudget(10)
    assert await budget.acquire(6) == 6
    big = asyncio.create_task(budget.acquire(6))
    small = asyncio.create_task(budget.acquire(1))  # would fit, but arrived after `big`
    await in_line(budget, 2)
    assert not big.done()
    assert not small.done()
    budget.release(6)
    await finished(big, small)
    assert big.result() == 6
    assert small.result() == 1
    assert budget.in_use == 7


async def test_an_operation_costlier_than_the_budget_runs_alone() -> None:
    budget = WorkBudget(10)
    assert await budget.acquire(3) == 3
    huge = asyncio.create_task(budget.acquire(50))
    await in_line(budget, 1)
    assert not huge.done()
    budget.release(3)
    await finished(huge)
    assert huge.result() == 10
    assert budget.in_use == 10


async def test_a_waiter_cancelled_just_before_its_turn_is_skipped() -> None:
    budget = WorkBudget(10)
    await budget.acquire(6)
    big = asyncio.create_task(budget.acquire(6))
    small = asyncio.create_task(budget.acquire(1))
    await in_line(budget, 2)
    big.cancel()
    budget.release(6)  # before `big` runs again to leave the line
    await finished(big, small)
    assert big.cancelled()
    assert small.result() == 1
    assert budget.in_use == 1
    assert budget.waiting == 0


async def test_a_caller_that_goes_away_while_waiting_leaves_no_trace() -> None:
    budget = WorkBudget(10)
    await budget.acquire(6)
    big = asyncio.create_task(budget.acquire(6))
    small = asyncio.create_task(budget.acquire(1))
    await in_line(budget, 2)
    big.cancel()  # the client disconnected
    await finished(big, small)
    assert big.cancelled()
    assert small.result() == 1
    assert budget.in_use == 7
    assert budget.waiting == 0


async def test_an_operation_waiting_on_departments_lends_its_share() -> None:
    budget = WorkBudget(10)  # and as much again lent by operations waiting on departments
    first = await budget.acquire(7)
    second = asyncio.create_task(budget.acquire(7))
    await in_line(budget, 1)
    first.waiting()  # every resolver of `first` waits on a department
    await finished(second)
    assert (budget.in_use, budget.lent) == (7, 7)
    third = asyncio.create_task(budget.acquire(7))
    await in_line(budget, 1)
    second.result().waiting()
    await asyncio.sleep(0)
    assert not third.done()  # 21 admitted would pass budget + lendable (20)
    first.working()  # its batch is back: it goes on
    assert (budget.in_use, budget.lent) == (7, 7)
    budget.release(first)
    await finished(third)
    assert (budget.in_use, budget.lent) == (7, 7)
    budget.release(second.result())  # released while waiting on its department
    assert (budget.in_use, budget.lent) == (7, 0)
    second.result().working()  # a batch landing after its operation ended changes nothing
    third.result().waiting()
    third.result().working()
    third.result().working()
    assert (budget.in_use, budget.lent) == (7, 0)
    budget.release(third.result())
    assert (budget.in_use, budget.lent) == (0, 0)


async def test_an_operation_back_from_its_department_goes_on_past_the_budget() -> None:
    budget = WorkBudget(10)
    first = await budget.acquire(8)
    first.waiting()
    second = await budget.acquire(8)
    first.working()
    assert (budget.in_use, budget.lent) == (16, 0)  # within budget + lendable
    third = asyncio.create_task(budget.acquire(3))
    await in_line(budget, 1)  # nothing more while the budget is passed
    budget.release(second)
    await asyncio.sleep(0)
    assert not third.done()  # 8 + 3 would still pass it
    budget.release(first)
    await finished(third)
    assert budget.in_use == 3


async def test_without_lending_an_operation_waiting_on_departments_keeps_its_share() -> None:
    budget = WorkBudget(10, lendable=0)
    first = await budget.acquire(6)
    second = asyncio.create_task(budget.acquire(6))
    await in_line(budget, 1)
    first.waiting()
    await asyncio.sleep(0)
    assert not second.done()
    first.working()
    budget.release(first)
    await finished(second)
    assert budget.in_use == 6


class Gate(MemorySource):
    opened = asyncio.Event()
    asked: ClassVar[list[str]] = []

    async def fetch_many(self, entity: str, keys: list[str]) -> list[Result]:  # type: ignore[override]
        self.asked.extend(keys)
        await self.opened.wait()
        return await super().fetch_many(entity, keys)


async def test_the_gateway_executes_within_its_budget() -> None:
    """With a budget of 1, one operation executes and, while it waits on its department,
    lends its share to one more; the third waits its turn before executing."""
    Gate.opened = asyncio.Event()
    Gate.asked.clear()
    stats = CallStats()
    specs = {s.name: s for s in city.specs()}
    app = create_app(
        settings(limits=replace(Limits(), concurrent_cost=1)),
        stats=stats,
        instances={"public_security": Gate(specs["public_security"])},
    )
    query = {"query": "query($id: ResidentId!) { person(id: $id) { name } }"}
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as client,
    ):
        budget = app.state.runtime.budget

        def ask(person: str) -> asyncio.Task[httpx.Response]:
            return asyncio.create_task(
                client.post("/graphql", json={**query, "variables": {"id": person}}, headers=DEVELOPER)
            )

        first = ask(city.CHILD)
        await until(lambda: Gate.asked, "the first operation to reach its department")
        assert (budget.in_use, budget.lent) == (0, 1)  # waiting on it, its share lent
        second = ask(city.FATHER)
        await until(lambda: len(Gate.asked) == 2, "the second operation to reach its department")
        third = ask(city.MOTHER)
        await in_line(budget, 1)  # the third waits its turn...
        assert len(Gate.asked) == 2  # ...before executing
        Gate.opened.set()
        names = {(await t).json()["data"]["person"]["name"] for t in (first, second, third)}
    assert names == {"林小雨", "林建国", "陈美玲"}
    assert len(Gate.asked) == 3
    assert stats.total() == 3
    assert (budget.in_use, budget.lent, budget.waiting) == (0, 0, 0)
