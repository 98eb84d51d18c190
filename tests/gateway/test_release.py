"""A finished request leaves none of its records behind, whatever the garbage collector does.

graphql-core's execution context takes part in reference cycles that hold the request's
context; without the release, every record a request loaded stayed alive until the
collector's next full pass, which under load meant gigabytes.
"""

from __future__ import annotations

import gc
from collections.abc import Sequence

import httpx

from gateway.app import create_app
from resolvers.loaders import _EntityLoader
from sources.base import Result, SourceSpec
from sources.memory import MemorySource
from tests.resolvers import city

from .support import DEVELOPER, settings

FAMILY = """query($id: ResidentId!) { person(id: $id) {
  name household { members { person { name } } }
  guardians { name socialInsurance { status monthsContributed } } } }"""


def _loaded_records() -> int:
    return sum(len(o._cache) for o in gc.get_objects() if isinstance(o, _EntityLoader))


class Counting(MemorySource):
    """A department that notes, as it is asked, how many records the loaders hold."""

    def __init__(self, spec: SourceSpec) -> None:
        super().__init__(spec)
        self.held: list[int] = []

    async def fetch_many(self, entity: str, keys: Sequence[str]) -> list[Result]:
        self.held.append(_loaded_records())
        return await super().fetch_many(entity, keys)


async def test_records_are_released_when_the_answer_is_complete() -> None:
    spec = next(s for s in city.specs() if s.name == "social_insurance")
    counting = Counting(spec)  # asked last, for the guardians: the other records are loaded by then
    app = create_app(settings(), instances={"social_insurance": counting})
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as client,
    ):
        gc.collect()
        gc.disable()  # only reference counting may free what the request held
        try:
            before = _loaded_records()
            answer = await client.post(
                "/graphql", json={"query": FAMILY, "variables": {"id": city.CHILD}}, headers=DEVELOPER
            )
            body = answer.json()
            assert answer.status_code == 200, body
            assert body["data"]["person"]["guardians"], body
            assert counting.held
            assert max(counting.held) > before
            assert _loaded_records() == before  # ...and none are left
        finally:
            gc.enable()
