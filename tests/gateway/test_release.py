"""A finished request leaves none of its records behind, whatever the garbage collector does.

graphql-core's execution context takes part in reference cycles that hold the request's
context; without the release, every record a request loaded stayed alive until the
collector's next full pass, which under load meant gigabytes.
"""

from __future__ import annotations

import gc

from resolvers.loaders import _EntityLoader
from tests.resolvers import city

from .support import DEVELOPER, gateway

FAMILY = """query($id: ResidentId!) { person(id: $id) {
  name household { members { person { name } } }
  guardians { name socialInsurance { status monthsContributed } } } }"""


def _loaded_records() -> int:
    return sum(len(o._cache) for o in gc.get_objects() if isinstance(o, _EntityLoader))


async def test_records_are_released_when_the_answer_is_complete() -> None:
    async with gateway() as client:
        gc.collect()
        gc.disable()  # only reference counting may free what the request held
        try:
            before = _loaded_records()
            answer = await client.post(
                "/graphql", json={"query": FAMILY, "variables": {"id": city.CHILD}}, headers=DEVELOPER
            )
            body = answer.json()
            assert answer.status_code == 200 and body["data"]["person"]["guardians"], body
            assert _loaded_records() == before
        finally:
            gc.enable()
