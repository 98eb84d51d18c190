"""Property tests: whatever a client sends, the gateway answers below 500 and shows no
internal text (tracebacks, SQL, file paths, driver names)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.resolvers.city import CHILD, EMPLOYER

from .support import DEVELOPER, gateway

INTERNAL = (
    "Traceback",
    'File "',
    "asyncpg",
    "aiohttp",
    "SELECT ",
    "/work/",
    '.py"',
    "strawberry",
    "graphql.error",
)
FIELDS = [
    "name",
    "id",
    "age",
    "phone",
    "household { number }",
    "guardians { name }",
    "socialInsurance { status }",
    "studentStatus { grade }",
    "__typename",
    "nosuchfield",
    "hasContributed(months: 1, within: 2)",
]

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def documents(draw: st.DrawFn) -> str:
    fields = " ".join(draw(st.lists(st.sampled_from(FIELDS), min_size=1, max_size=5)))
    root = draw(
        st.sampled_from(
            ["person(id: $id)", "persons(ids: [$id])", "household(number: $n)", "enterprise(creditCode: $id)"]
        )
    )
    noise = draw(
        st.sampled_from(["", "{", "}", "(", "...", "@skip", "\u0000", "\ud7ff", "query", "fragment F on"])
    )
    return f"query Q($id: ResidentId!, $n: String) {{ {root} {{ {fields} }} }} {noise}"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with gateway() as http:
        yield http


def clean(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text
    for marker in INTERNAL:
        assert marker not in response.text, (marker, response.text)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=json_values)
async def test_any_json_body(client: httpx.AsyncClient, body: Any) -> None:
    clean(await client.post("/graphql", json=body, headers=DEVELOPER))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=300))
async def test_any_bytes(client: httpx.AsyncClient, raw: bytes) -> None:
    clean(
        await client.post("/graphql", content=raw, headers={**DEVELOPER, "Content-Type": "application/json"})
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    document=documents(),
    identifier=st.one_of(st.sampled_from([CHILD, EMPLOYER]), st.text(max_size=25), st.integers(), st.none()),
    number=st.one_of(st.none(), st.text(max_size=40)),
    operation=st.one_of(st.none(), st.just("Q"), st.text(max_size=5)),
)
async def test_any_query_and_variables(
    client: httpx.AsyncClient, document: str, identifier: Any, number: Any, operation: Any
) -> None:
    body = {"query": document, "variables": {"id": identifier, "n": number}, "operationName": operation}
    clean(await client.post("/graphql", json=body, headers=DEVELOPER))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=st.text(max_size=200), variables=st.text(max_size=50))
async def test_any_get_parameters(client: httpx.AsyncClient, query: str, variables: str) -> None:
    clean(await client.get("/graphql", params={"query": query, "variables": variables}, headers=DEVELOPER))


async def test_huge_strings_and_deep_nesting(client: httpx.AsyncClient) -> None:
    nested = "children { guardians { " * 30 + "name" + " } }" * 30
    deep = 'query { person(id: "' + CHILD + '") { guardians { ' + nested + " } } }"
    for body in (
        {"query": deep},
        {"query": "{ __typename }", "variables": {"x": "字" * 100_000}},
        {"query": "{ " * 5000},
        {"query": json.dumps(["x"] * 10)},
    ):
        clean(await client.post("/graphql", json=body, headers=DEVELOPER))
