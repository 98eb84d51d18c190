"""The leak suite, guessing: a client that sees identifiers masked cannot recover them by
trying ids. Every root look-up is audited with what it came to, misses are budgeted per
client (across processes through Redis), lists are short for masked clients, and for a
district-limited client an id held elsewhere answers exactly as one that exists nowhere."""

from __future__ import annotations

import asyncio
import logging
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY

from gateway.audit.record import subject_key
from gateway.config.settings import AuthConfig, RateSettings
from sources.base import CacheSpec, EntitySpec, SourceSpec
from sources.cache import entity_ttls
from sources.stats import CallStats
from tests.resolvers import city
from tests.resolvers.city import BOSS, CHILD, FATHER, rid

from .support import AUDIT_KEY, ROOT, SECRET, audit_events, audited, gateway, headers

GRID = headers("grid-worker", "household_survey")
# Valid ids (checksums right) that the city does not hold.
NOWHERE = [rid("350211", "19900101", n) for n in range(101, 131)]
PERSONS = "query($ids: [ResidentId!]!) { persons(ids: $ids) { name } }"
PERSON = "query Look($id: ResidentId!) { person(id: $id) { id name age } }"


def policy_with(tmp_path: Path, client: str, **keys: object) -> str:
    """The shipped policy with extra keys in one client's table."""
    text = (ROOT / "policy.toml").read_text(encoding="utf-8")
    lines = "".join(f"{k} = {v!r}\n".replace("'", '"') for k, v in keys.items())
    text = text.replace(f"[clients.{client}]\n", f"[clients.{client}]\n{lines}", 1)
    path = tmp_path / "policy.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def lookups(event: dict[str, Any]) -> dict[str, str]:
    return {s["subject"]: s["lookup"] for s in event["subjects"] if "lookup" in s}


def codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors", [])]


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_every_id_asked_is_audited_with_what_it_came_to(scratch_db: str) -> None:
    developer = headers("developer", "development")
    ids = [FATHER, NOWHERE[0], BOSS]
    async with gateway(**audited(scratch_db)) as client:
        found = await client.post(
            "/graphql", json={"query": PERSONS, "variables": {"ids": ids}}, headers=developer
        )
        grid = await client.post("/graphql", json={"query": PERSONS, "variables": {"ids": ids}}, headers=GRID)
        events = await audit_events(scratch_db)
    assert [p and p["name"] for p in found.json()["data"]["persons"]] == ["林建国", None, "王大伟"]
    key = AUDIT_KEY.encode()
    assert lookups(events[0]) == {
        subject_key(key, FATHER): "found",
        subject_key(key, NOWHERE[0]): "not_found",
        subject_key(key, BOSS): "found",
    }
    # The Jimei grid worker: BOSS is registered in Siming, so not hers to see.
    assert grid.json()["data"]["persons"][0] == {"name": "林**"}
    assert lookups(events[1]) == {
        subject_key(key, FATHER): "found",
        subject_key(key, NOWHERE[0]): "not_found",
        subject_key(key, BOSS): "out_of_jurisdiction",
    }
    nothing_read = [s for s in events[1]["subjects"] if s["lookup"] != "found"]
    assert all(s["scopes"] == [] for s in nothing_read)


async def test_a_lookup_that_was_never_made_is_audited_too(scratch_db: str) -> None:
    # The auditor may not look persons up at all: the attempt is on record as forbidden.
    async with gateway(**audited(scratch_db)) as client:
        body = {"query": PERSON, "variables": {"id": NOWHERE[1]}}
        response = await client.post("/graphql", json=body, headers=headers("auditor", "audit"))
        events = await audit_events(scratch_db)
    assert codes(response.json()) == ["FORBIDDEN"]
    assert lookups(events[-1]) == {subject_key(AUDIT_KEY.encode(), NOWHERE[1]): "forbidden"}


@pytest.mark.parametrize("route", ["aliases", "batch", "get"])
async def test_a_masked_client_looks_up_few_ids_per_request(route: str) -> None:
    stats = CallStats()
    six = [FATHER, CHILD, *NOWHERE[2:6]]
    aliased = (
        "query($a: [ResidentId!]!, $b: [ResidentId!]!) {"
        " a: persons(ids: $a) { name } b: persons(ids: $b) { name } }"
    )
    async with gateway(stats) as client:
        if route == "aliases":
            body = {"query": aliased, "variables": {"a": six, "b": six}}
            answers = [(await client.post("/graphql", json=body, headers=GRID)).json()]
        elif route == "batch":
            one = {"query": PERSONS, "variables": {"ids": six}}
            answers = (await client.post("/graphql", json=[one, one], headers=GRID)).json()
        else:
            first = await client.get(
                "/graphql",
                params={"query": aliased, "variables": f'{{"a": {six!r}, "b": {six!r}}}'.replace("'", '"')},
                headers=GRID,
            )
            answers = [first.json()]
    errors = [e for a in answers for e in a.get("errors", [])]
    limited = [e for e in errors if e["extensions"]["code"] == "OPERATION_LIMIT"]
    # In a batch, the first operation stands: its four ids the city does not hold are, to the
    # grid worker, FORBIDDEN. Aliases share one operation, which the refused list ends
    # (persons is non-null), as any OPERATION_LIMIT on a list does.
    others = sorted(e["extensions"]["code"] for e in errors if e not in limited)
    assert others == (["FORBIDDEN"] * 4 if route == "batch" else [])
    assert len(limited) == 1
    assert limited[0]["extensions"] == {
        "code": "OPERATION_LIMIT",
        "limit": "max_lookup_ids",
        "max": 10,
        "actual": 12,
    }
    # The refused list never reached the department: one call, for the first six ids.
    assert [(c.entity, c.batch_size) for c in stats.recent if c.entity == "person"] == [("person", 6)]


async def test_an_unmasked_client_is_not_held_to_the_masked_list_size() -> None:
    twelve = [FATHER, CHILD, *NOWHERE[6:16]]
    async with gateway() as client:
        body = {"query": PERSONS, "variables": {"ids": twelve}}
        response = await client.post("/graphql", json=body, headers=headers("developer", "development"))
    assert "errors" not in response.json()
    assert len(response.json()["data"]["persons"]) == 12


async def test_misses_are_budgeted_and_the_budget_refuses_then_stops_the_client(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    auth = AuthConfig(policy=policy_with(tmp_path, "grid-worker", miss_budget=5), hs256_secret=SECRET)
    stats = CallStats()
    refused_before = metric("govgraph_lookup_budget_exceeded_total", client="grid-worker")
    async with gateway(stats, auth=auth) as client:

        async def ask(ids: list[str]) -> httpx.Response:
            return await client.post(
                "/graphql", json={"query": PERSONS, "variables": {"ids": ids}}, headers=GRID
            )

        first = await ask([FATHER, *NOWHERE[16:20]])  # 4 misses of 5
        found = await ask([FATHER])  # finding costs nothing
        calls = len(stats.recent)
        with caplog.at_level(logging.WARNING, logger="govgraph.lookups"):
            second = await ask(NOWHERE[20:22])  # no room for 2 more misses: refused unasked
            last = await ask(NOWHERE[22:23])  # room for 1: the fifth miss
            third = await ask([FATHER])  # spent: the whole operation is refused
            aliased = await client.post(  # a look-up beside other fields: that field is refused
                "/graphql",
                json={
                    "query": '{ s: school(code: "3502110001") { name } p: person(id: "'
                    + FATHER
                    + '") { name } }'
                },
                headers=GRID,
            )
            batch = await client.post(
                "/graphql", json=[{"query": PERSONS, "variables": {"ids": [FATHER]}}] * 2, headers=GRID
            )
        calls_after = len(stats.recent)
    assert batch.status_code == 200  # a batch answers each operation; the refusal is in each
    assert [codes(body) for body in batch.json()] == [["LOOKUP_BUDGET_EXCEEDED"]] * 2
    assert [p and p["name"] for p in first.json()["data"]["persons"]] == ["林**", None, None, None, None]
    assert codes(first.json()) == ["FORBIDDEN"] * 4  # the Jimei grid worker: not found is not hers
    assert "errors" not in found.json()
    assert second.status_code == 200
    assert codes(second.json()) == ["LOOKUP_BUDGET_EXCEEDED"]
    assert codes(last.json()) == ["FORBIDDEN"]
    assert third.status_code == 429
    assert int(third.headers["retry-after"]) > 3600
    assert third.json().get("data") is None
    extensions = third.json()["errors"][0]["extensions"]
    assert extensions["code"] == "LOOKUP_BUDGET_EXCEEDED"
    assert extensions["budget"] == 5
    assert aliased.status_code == 429
    assert codes(aliased.json()) == ["LOOKUP_BUDGET_EXCEEDED"]
    assert calls_after == calls + 1  # only `last` reached the department
    assert metric("govgraph_lookup_budget_exceeded_total", client="grid-worker") == refused_before + 5
    assert any("miss budget exhausted: client=grid-worker" in r.getMessage() for r in caplog.records)


async def test_concurrent_lookups_cannot_pass_the_budget_together(tmp_path: Path) -> None:
    auth = AuthConfig(policy=policy_with(tmp_path, "grid-worker", miss_budget=30), hs256_secret=SECRET)
    guesses = [rid("350211", "19910101", n) for n in range(101, 501)]
    async with gateway(auth=auth) as client:

        async def guess(ids: list[str]) -> dict[str, Any]:
            body = {"query": PERSONS, "variables": {"ids": ids}}
            answer: dict[str, Any] = (await client.post("/graphql", json=body, headers=GRID)).json()
            return answer

        answers = await asyncio.gather(*(guess(guesses[i : i + 10]) for i in range(0, 400, 10)))
    answered = sum(len((a.get("data") or {}).get("persons") or []) for a in answers)
    refused = sum(codes(a).count("LOOKUP_BUDGET_EXCEEDED") for a in answers)
    assert answered == 30
    assert refused == 37


async def test_the_miss_budget_is_shared_by_processes_through_redis(tmp_path: Path, redis_url: str) -> None:
    auth = AuthConfig(policy=policy_with(tmp_path, "grid-worker", miss_budget=3), hs256_secret=SECRET)
    namespace = f"test-{uuid.uuid4().hex}"  # budgets live a day: a fresh one for each run
    shared = RateSettings(backend="redis", redis_url=redis_url, namespace=namespace)
    body = {"query": PERSONS, "variables": {"ids": NOWHERE[23:26]}}
    async with gateway(auth=auth, rate_limit=shared) as one, gateway(auth=auth, rate_limit=shared) as two:
        spent = await one.post("/graphql", json=body, headers=GRID)
        elsewhere = await two.post(
            "/graphql", json={"query": PERSON, "variables": {"id": FATHER}}, headers=GRID
        )
    assert spent.json()["data"] == {"persons": [None, None, None]}
    assert elsewhere.status_code == 429
    assert codes(elsewhere.json()) == ["LOOKUP_BUDGET_EXCEEDED"]


def shape(response: httpx.Response) -> tuple[int, str, dict[str, str]]:
    volatile = {"x-request-id", "content-length"}
    return (
        response.status_code,
        response.text,
        {k: v for k, v in response.headers.items() if k not in volatile},
    )


@pytest.mark.parametrize("repeat", [1, 2])  # the second time, the person elsewhere is in the cache
async def test_held_elsewhere_and_held_nowhere_answer_alike(scratch_db: str, repeat: int) -> None:
    stats = CallStats()
    async with gateway(stats, **audited(scratch_db)) as client:
        answers = []
        for _ in range(repeat):
            for who in (BOSS, NOWHERE[26]):
                body = {"query": PERSON, "variables": {"id": who}}
                answers.append(await client.post("/graphql", json=body, headers=GRID))
        events = await audit_events(scratch_db)
    elsewhere, nowhere = answers[-2:]
    assert shape(elsewhere) == shape(nowhere)
    assert elsewhere.json()["extensions"] == {"sources": {"public_security": "ok"}}  # never "cached"
    assert codes(elsewhere.json()) == ["FORBIDDEN"]
    first, second = events[-2:]
    comparable = ("client", "purpose", "outcome", "denied", "operation", "document_hash", "response_hash")
    assert {k: first[k] for k in comparable} == {k: second[k] for k in comparable}
    assert [len(e["subjects"]) for e in (first, second)] == [1, 1]
    assert [s["scopes"] for e in (first, second) for s in e["subjects"]] == [[], []]


def test_the_root_lookups_are_the_fields_that_answer_one_subject_per_key() -> None:
    # accessLog takes an id too, but answers events about it: reading the log is not guessing.
    assert city.SCHEMA.surface.lookups == {"person", "persons", "enterprise", "enterprises", "household"}


def test_absence_is_cached_as_long_as_presence_by_default() -> None:
    source = SourceSpec("public_security", "memory", {"person": EntitySpec("person", "id")}, {})
    assert entity_ttls(CacheSpec(ttl=60.0), source, source.entities["person"]) == (60.0, 60.0)
