"""One client's bad input cannot take a department down for everyone.

The education department runs as a real REST service on loopback and validates school
codes itself (ten digits), answering 422 otherwise. A code like "BAD-7" passes the
gateway's own text checks, so it reaches the department: a thousand such requests from
one client are that client's errors (SOURCE_REJECTED) and nothing more: the breaker
stays closed, /readyz stays ready, and another client's answers do not change.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestServer

from gateway.config.settings import RateSettings
from sources.base import CacheSpec, EntitySpec, Resilience, SourceSpec
from sources.stats import CallStats
from tests.resolvers import city
from tests.resolvers.city import SCHOOL

from .support import DEVELOPER, gateway_and_ops, headers

REQUESTS = 1000
WAVE = 50
ENDPOINTS = {  # entity -> (path, record key, one-to-many)
    "school": ("/v1/schools:batchGet", "code", False),
    "student_status": ("/v1/student_status:batchGet", "person_id", False),
    "enrollment_applications": ("/v1/enrollment_applications:batchGet", "person_id", True),
}


class Education:
    """The city's education records over REST; school codes are checked as the department's
    own service would, refusing a malformed one with 422 and its own (internal) words."""

    def __init__(self) -> None:
        self.refused = 0

    def handler(self, entity: str) -> Any:
        table = city.DATA["education"][entity]

        async def batch_get(request: web.Request) -> web.StreamResponse:
            keys = (await request.json())["keys"]
            if entity == "school" and not all(re.fullmatch(r"\d{10}", k) for k in keys):
                self.refused += 1
                return web.json_response({"error": "ORA-01722: invalid number in XXJ_SCHOOL"}, status=422)
            items: list[Any] = []
            for key in keys:
                found = table.get(key)
                items.extend(found if isinstance(found, list) else [found] if found else [])
            return web.json_response({"items": items})

        return batch_get


@pytest_asyncio.fixture
async def education() -> AsyncIterator[tuple[Education, str]]:
    dept = Education()
    app = web.Application()
    for entity, (path, _, _) in ENDPOINTS.items():
        app.router.add_post(path, dept.handler(entity))
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield dept, str(server.make_url("")).rstrip("/")
    await server.close()


def sources(url: str) -> tuple[SourceSpec, ...]:
    entities = {
        name: EntitySpec(name, key, many=many, options={"path": path})
        for name, (path, key, many) in ENDPOINTS.items()
    }
    rest = SourceSpec(
        "education",
        "http",
        entities,
        {"base_url": url},
        resilience=Resilience(retries=2, retry_backoff=0.001, breaker_failures=5, breaker_cooldown=10.0),
    )
    return (*(s for s in city.specs() if s.name != "education"), rest)


async def test_a_thousand_refused_requests_leave_the_department_to_everyone_else(
    education: tuple[Education, str],
) -> None:
    dept, url = education
    stats = CallStats()
    bad = "query($code: String!) { school(code: $code) { name } }"
    good = {"query": f'{{ school(code: "{SCHOOL}") {{ name }} }}'}
    enrolment = headers("enrollment", "enrollment_review")
    async with gateway_and_ops(
        stats,
        sources=sources(url),
        cache=CacheSpec(backend="off"),  # every good answer comes from the department itself
        rate_limit=RateSettings(rate=100_000, burst=100_000),
    ) as (http, ops):
        baseline = (await http.post("/graphql", json=good, headers=enrolment)).json()
        assert baseline["data"] == {"school": {"name": city.DATA["education"]["school"][SCHOOL]["name"]}}

        refusals: list[httpx.Response] = []
        answers: list[Any] = []
        for start in range(0, REQUESTS, WAVE):
            wave = [
                http.post(
                    "/graphql", json={"query": bad, "variables": {"code": f"BAD-{i}"}}, headers=DEVELOPER
                )
                for i in range(start, start + WAVE)
            ]
            *responses, answer = await asyncio.gather(
                *wave, http.post("/graphql", json=good, headers=enrolment)
            )
            refusals.extend(responses)
            answers.append(answer.json())
        ready = await ops.get("/readyz")

    assert answers == [baseline] * (REQUESTS // WAVE)
    for response in refusals:
        body = response.json()
        assert body["data"] == {"school": None}
        assert body["errors"] == [
            {
                "message": "The education department refused this request's input.",
                "locations": [{"line": 1, "column": 25}],
                "path": ["school"],
                "extensions": {"code": "SOURCE_REJECTED", "source": "education"},
            }
        ]
        assert "ORA-" not in response.text
        assert "422" not in response.text
    assert ready.status_code == 200, ready.json()
    assert ready.json()["sources"]["education"] == {"state": "closed", "required": True, "last_error": None}
    assert dept.refused == REQUESTS  # each refused once: not retried
    assert stats.calls["education", "school", "SOURCE_REJECTED"] == REQUESTS
    assert stats.short_circuits["education"] == 0
