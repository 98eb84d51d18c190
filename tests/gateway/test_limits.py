"""Operation limits: each refusal names the limit, its maximum and the actual figure."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest

from gateway.config.limits import Limits
from sources.stats import CallStats
from tests.resolvers.city import CHILD, FATHER, rid

from .support import DEVELOPER, gateway

SMALL = Limits(depth=4, aliases=3, tokens=200, cost=300, list_keys=5, batch=2, body_bytes=2000)


def limit_of(body: dict[str, Any]) -> dict[str, Any]:
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "OPERATION_LIMIT"
    return dict(error["extensions"])


@pytest.mark.parametrize(
    ("document", "variables", "limit", "actual"),
    [
        (
            "query($id: ResidentId!) { person(id: $id) { guardians { children { guardians { name } } } } }",
            {"id": CHILD},
            "depth",
            5,
        ),
        (
            "query($id: ResidentId!) { person(id: $id) { a: name b: name c: name d: name } }",
            {"id": CHILD},
            "aliases",
            4,
        ),
        (
            "query($id: ResidentId!) { person(id: $id) { ...F } }"
            " fragment F on Person { x: name y: age z: id w: gender }",
            {"id": CHILD},
            "aliases",
            4,
        ),
        (
            "query($id: ResidentId!) { person(id: $id) {"
            " socialInsurance { contributions { period paidMonth base } } } }",
            {"id": FATHER},
            "cost",
            303,
        ),
    ],
)
async def test_documents_over_a_limit_are_refused_before_any_source(
    document: str, variables: dict[str, Any], limit: str, actual: int
) -> None:
    stats = CallStats()
    async with gateway(stats, limits=SMALL) as client:
        body = (
            await client.post("/graphql", json={"query": document, "variables": variables}, headers=DEVELOPER)
        ).json()
    assert limit_of(body) == {
        "code": "OPERATION_LIMIT",
        "limit": limit,
        "max": getattr(SMALL, limit),
        "actual": actual,
    }
    assert body.get("data") is None
    assert stats.total() == 0


async def test_cost_counts_the_keys_of_list_arguments() -> None:
    ids = [rid("350203", "20000101", i) for i in range(5)]
    document = """query($ids: [ResidentId!]!) { persons(ids: $ids) {
        guardians { name socialInsurance { status contributions { period } } } } }"""
    async with gateway(limits=replace(SMALL, depth=10)) as client:
        one = await client.post(
            "/graphql", json={"query": document, "variables": {"ids": ids[:1]}}, headers=DEVELOPER
        )
        five = await client.post(
            "/graphql", json={"query": document, "variables": {"ids": ids}}, headers=DEVELOPER
        )
    assert "errors" not in one.json()
    # contributions: 1 + 100 x 1; socialInsurance: 1 + 1 + 101; a guardian: 1 + 103;
    # guardians: 1 + 2 x 104; persons: 1 + keys x 209
    assert limit_of(five.json()) == {
        "code": "OPERATION_LIMIT",
        "limit": "cost",
        "max": 300,
        "actual": 1 + 5 * 209,
    }


async def test_tokens_are_limited_by_the_parser() -> None:
    document = "{ " + " ".join(f"f{i}: __typename" for i in range(70)) + " }"  # 212 tokens
    async with gateway(limits=SMALL) as client:
        body = (await client.post("/graphql", json={"query": document}, headers=DEVELOPER)).json()
    assert limit_of(body) == {"code": "OPERATION_LIMIT", "limit": "tokens", "max": 200}


async def test_list_keys_batch_and_body_size() -> None:
    ids = [rid("350203", "20000101", i) for i in range(6)]
    async with gateway(limits=SMALL) as client:
        keys = await client.post(
            "/graphql",
            json={
                "query": "query($i: [ResidentId!]!) { persons(ids: $i) { name } }",
                "variables": {"i": ids},
            },
            headers=DEVELOPER,
        )
        batch = await client.post("/graphql", json=[{"query": "{ __typename }"}] * 3, headers=DEVELOPER)
        body = await client.post(
            "/graphql",
            content=b'{"query": "' + b" " * 3000 + b'{ __typename }"}',
            headers={**DEVELOPER, "Content-Type": "application/json"},
        )
    assert limit_of(keys.json()) == {
        "code": "OPERATION_LIMIT",
        "limit": "list_keys",
        "max": 5,
        "actual": 6,
        "argument": "ids",
    }
    assert batch.status_code == 400
    assert limit_of(batch.json()) == {
        "code": "OPERATION_LIMIT",
        "limit": "batch",
        "max": 2,
        "actual": 3,
    }
    assert body.status_code == 413
    assert limit_of(body.json())["limit"] == "body_bytes"


async def test_a_batch_within_the_limit_runs_each_operation() -> None:
    document = "query($id: ResidentId!) { person(id: $id) { name } }"
    async with gateway(limits=SMALL) as client:
        response = await client.post(
            "/graphql",
            json=[
                {"query": document, "variables": {"id": CHILD}},
                {"query": document, "variables": {"id": FATHER}},
            ],
            headers=DEVELOPER,
        )
    assert [r["data"]["person"]["name"] for r in response.json()] == ["林小雨", "林建国"]


class Body:
    """A request body sent in `chunk`-byte pieces, counting the pieces the gateway read."""

    def __init__(self, size: int, chunk: int = 500) -> None:
        self.size, self.chunk, self.read = size, chunk, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for _ in range(0, self.size, self.chunk):
            self.read += 1
            yield b" " * self.chunk


async def test_a_declared_body_over_the_limit_is_refused_before_it_is_read() -> None:
    body = Body(1_000_000)
    async with gateway(limits=SMALL) as client:
        response = await client.post(
            "/graphql",
            content=body,
            headers={**DEVELOPER, "Content-Type": "application/json", "Content-Length": "1000000"},
        )
    assert response.status_code == 413
    assert body.read == 0
    assert limit_of(response.json()) == {
        "code": "OPERATION_LIMIT",
        "limit": "body_bytes",
        "max": 2000,
        "actual": 1_000_000,
    }
    assert response.headers["connection"] == "close"  # the rest of it is not waited for


async def test_a_chunked_body_is_refused_as_soon_as_it_passes_the_limit() -> None:
    body = Body(1_000_000)
    async with gateway(limits=SMALL) as client:
        response = await client.post(
            "/graphql", content=body, headers={**DEVELOPER, "Content-Type": "application/json"}
        )
    assert response.status_code == 413
    assert body.read == 5  # 2,500 bytes: the first piece past 2,000
    assert limit_of(response.json()) == {
        "code": "OPERATION_LIMIT",
        "limit": "body_bytes",
        "max": 2000,
        "actual": 2500,
    }
