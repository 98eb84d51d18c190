"""Loaders under cancellation and after their request is answered."""

from __future__ import annotations

import asyncio
import gc
from typing import ClassVar

import pytest

from resolvers.loaders import WAITING, Loaders, RequestFinished
from sources.base import Result
from sources.errors import SourceTimeout
from sources.memory import MemorySource
from sources.registry import build_catalog
from sources.stats import CallStats
from tests.waiting import until

from . import city


class Gate(MemorySource):
    """A department that answers only when the test opens the gate; `asked` holds the calls
    that reached it."""

    opened = asyncio.Event()
    asked: ClassVar[list[list[str]]] = []

    async def fetch_many(self, entity: str, keys: list[str]) -> list[Result]:  # type: ignore[override]
        self.asked.append(list(keys))
        await self.opened.wait()
        return await super().fetch_many(entity, keys)


@pytest.fixture
def gated() -> tuple[Loaders, CallStats]:
    Gate.opened = asyncio.Event()
    Gate.asked.clear()
    specs = {s.name: s for s in city.specs()}
    stats = CallStats()
    catalog = build_catalog(specs.values(), stats, {"public_security": Gate(specs["public_security"])})
    return Loaders(catalog), stats


async def test_a_cancelled_field_does_not_fail_others_waiting_for_the_same_record(
    gated: tuple[Loaders, CallStats],
) -> None:
    loaders, stats = gated
    cancelled = asyncio.create_task(loaders.one("person", city.CHILD))
    waiting = asyncio.create_task(loaders.one("person", city.CHILD))
    await until(lambda: Gate.asked, "the batch to reach the department")
    assert Gate.asked == [[city.CHILD]]  # both asked, one batch on its way
    cancelled.cancel()  # as graphql-core cancels a field whose sibling failed
    Gate.opened.set()
    person = await waiting
    assert person is not None
    assert person["name"] == "林小雨"
    assert cancelled.cancelled()
    assert stats.total() == 1


async def test_after_release_no_new_department_call_starts_and_a_batch_on_its_way_lands(
    gated: tuple[Loaders, CallStats],
) -> None:
    loaders, stats = gated
    on_its_way = asyncio.create_task(loaders.one("person", city.CHILD))
    await until(lambda: Gate.asked, "the batch to reach the department")
    loaders.release()  # the answer went out while a sibling's batch was still asked for
    with pytest.raises(RequestFinished):
        await loaders.one("household", "any")
    Gate.opened.set()
    person = await on_its_way  # no KeyError from the forgotten cache
    assert person is not None
    assert person["name"] == "林小雨"
    assert stats.total() == 1


class Listener:
    def __init__(self) -> None:
        self.heard: list[str] = []

    def waiting(self) -> None:
        self.heard.append("waiting")

    def working(self) -> None:
        self.heard.append("working")


async def test_the_operation_hears_when_its_loads_wait_on_a_department(
    gated: tuple[Loaders, CallStats],
) -> None:
    loaders, _ = gated
    listener = Listener()
    WAITING.set(listener)  # as the work budget does when it admits the operation
    child = asyncio.create_task(loaders.one("person", city.CHILD))
    father = asyncio.create_task(loaders.one("person", city.FATHER))
    await until(lambda: Gate.asked, "the batch to reach the department")
    assert listener.heard == ["waiting"]  # one batch, both keys, on its way
    Gate.opened.set()
    assert (await child, await father) != (None, None)
    await until(lambda: listener.heard == ["waiting", "working"], "the batch to come back")


class Failing(MemorySource):
    async def fetch_many(self, entity: str, keys: list[str]) -> list[Result]:  # type: ignore[override]
        raise SourceTimeout(self.name, entity, "no answer")


async def test_a_failed_batch_of_many_keys_leaves_no_failure_unseen() -> None:
    specs = {s.name: s for s in city.specs()}
    catalog = build_catalog(
        specs.values(), CallStats(), {"public_security": Failing(specs["public_security"])}
    )
    loop = asyncio.get_running_loop()
    reported: list[dict[str, object]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    try:
        loaders = Loaders(catalog)
        with pytest.raises(SourceTimeout):
            await loaders.each("person", [city.CHILD, city.FATHER, city.MOTHER])
        loaders.release()  # the request is answered: its futures are dropped
        del loaders
        for _ in range(3):
            await asyncio.sleep(0)
            gc.collect()
    finally:
        loop.set_exception_handler(previous)
    assert [c.get("message") for c in reported] == []
