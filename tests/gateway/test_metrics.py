"""GET /metrics (on the operators' endpoints) after real requests through the in-process
gateway: each counter moves by exactly what the requests did."""

from __future__ import annotations

from collections.abc import Iterable

import httpx
from prometheus_client.parser import text_string_to_metric_families

from gateway.config.settings import AuditSettings, MetricsSettings
from tests.resolvers.city import BOSS, CHILD

from .support import DEVELOPER, ROOT, gateway_and_ops, headers
from .test_audit_trail import AUDIT_KEY

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
PERSON = "query($id: ResidentId!) { person(id: $id) { name } }"
FAMILY = (
    "query Family($id: ResidentId!) { person(id: $id) {"
    " name guardians { name socialInsurance { status } } } }"
)
ENROLMENT = headers("enrollment", "enrollment_review")


async def scrape(ops: httpx.AsyncClient) -> Samples:
    response = await ops.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    key = (name, frozenset(labels.items()))
    return after.get(key, 0.0) - before.get(key, 0.0)


def count(errors: Iterable[dict[str, object]], scope: str) -> int:
    return sum(1 for e in errors if e["extensions"] == {"code": "FORBIDDEN", "scope": scope})


async def test_requests_source_calls_and_cache_lookups_are_counted() -> None:
    async with gateway_and_ops() as (client, ops):
        before = await scrape(ops)
        body = {"query": PERSON, "variables": {"id": CHILD}}
        first = await client.post("/graphql", json=body, headers=DEVELOPER)
        second = await client.post("/graphql", json=body, headers=DEVELOPER)  # from the record cache
        refused = await client.post("/graphql", json=body)
        after = await scrape(ops)
    assert first.json()["extensions"]["sources"] == {"public_security": "ok"}
    assert second.json()["extensions"]["sources"] == {"public_security": "cached"}
    assert refused.status_code == 401
    developer = {"client": "developer", "purpose": "development"}
    assert (
        moved(before, after, "govgraph_requests_total", operation="anonymous", **developer, outcome="ok") == 2
    )
    assert (
        moved(
            before,
            after,
            "govgraph_requests_total",
            operation="none",
            client="none",
            purpose="none",
            outcome="unauthenticated",
        )
        == 1
    )
    assert moved(before, after, "govgraph_request_duration_seconds_count", operation="anonymous") == 2
    assert moved(before, after, "govgraph_request_duration_seconds_count", operation="none") == 1
    # One backend call of one key; the second request was answered by the cache.
    where = {"source": "public_security", "entity": "person"}
    assert moved(before, after, "govgraph_source_calls_total", **where, outcome="ok") == 1
    assert moved(before, after, "govgraph_source_batch_keys_count", **where) == 1
    assert moved(before, after, "govgraph_source_batch_keys_sum", **where) == 1
    assert moved(before, after, "govgraph_source_call_duration_seconds_count", **where) == 1
    assert moved(before, after, "govgraph_cache_lookups_total", **where, result="miss") == 1
    assert moved(before, after, "govgraph_cache_lookups_total", **where, result="hit") == 1
    assert (
        after[
            ("govgraph_source_breaker", frozenset({"source": "public_security", "state": "closed"}.items()))
        ]
        == 1
    )


async def test_denied_fields_by_scope_and_operations_by_trusted_name() -> None:
    manifest = (ROOT / "documents" / "manifest.json").read_text()
    assert "EnrolmentReview" in manifest
    async with gateway_and_ops() as (client, ops):
        before = await scrape(ops)
        denied = (
            await client.post(
                "/graphql", json={"query": FAMILY, "variables": {"id": CHILD}}, headers=ENROLMENT
            )
        ).json()
        trusted = (
            await client.post(
                "/graphql",
                json={
                    "documentId": "sha256:1fb5bf8797a133bc59635e276f47340d099947245a041ee1b72c3b249217d91c",
                    "variables": {"ids": [CHILD]},
                },
                headers=ENROLMENT,
            )
        ).json()
        # A registered name on another text is not that operation; its label stays bounded.
        impostor = await client.post(
            "/graphql", json={"query": "query EnrolmentReview { __typename }"}, headers=ENROLMENT
        )
        unknown = await client.post("/graphql", json={"documentId": "sha256:" + "0" * 64}, headers=ENROLMENT)
        after = await scrape(ops)
    status_denials = count(denied["errors"], "social_insurance.status")
    assert status_denials == 1
    assert len(denied["errors"]) == status_denials
    assert "errors" not in trusted
    assert trusted["data"]["persons"][0]["id"] == CHILD
    assert impostor.json()["data"] == {"__typename": "Query"}
    assert unknown.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    enrolment = {"client": "enrollment", "purpose": "enrollment_review"}
    requests = "govgraph_requests_total"
    assert moved(before, after, requests, operation="other", **enrolment, outcome="denied") == 1
    assert moved(before, after, requests, operation="EnrolmentReview", **enrolment, outcome="ok") == 1
    assert moved(before, after, requests, operation="other", **enrolment, outcome="ok") == 1
    assert moved(before, after, requests, operation="anonymous", **enrolment, outcome="rejected") == 1
    assert moved(before, after, "govgraph_denied_fields_total", scope="social_insurance.status") == 1
    assert moved(before, after, "govgraph_graphql_errors_total", code="FORBIDDEN") == 1
    assert moved(before, after, "govgraph_graphql_errors_total", code="PERSISTED_QUERY_NOT_FOUND") == 1
    assert not any("EnrolmentReview { __typename" in str(labels) for _, labels in after)


async def test_jurisdiction_refusals_count_without_a_scope() -> None:
    grid = headers("grid-worker", "household_survey")  # Jimei only; BOSS is registered in Siming
    async with gateway_and_ops() as (client, ops):
        before = await scrape(ops)
        body = (
            await client.post("/graphql", json={"query": PERSON, "variables": {"id": BOSS}}, headers=grid)
        ).json()
        after = await scrape(ops)
    assert body["data"] == {"person": None}
    (refused,) = body["errors"]
    assert refused["extensions"] == {"code": "FORBIDDEN"}
    assert refused["path"] == ["person"]
    assert moved(before, after, "govgraph_denied_fields_total", scope="jurisdiction") == 1
    assert moved(before, after, "govgraph_graphql_errors_total", code="FORBIDDEN") == 1


async def test_a_batch_counts_each_operation_and_times_the_request_once() -> None:
    batch = [{"query": PERSON, "variables": {"id": CHILD}}, {"query": "{ nope }"}]
    async with gateway_and_ops() as (client, ops):
        before = await scrape(ops)
        response = await client.post("/graphql", json=batch, headers=DEVELOPER)
        after = await scrape(ops)
    assert [("errors" in r) for r in response.json()] == [False, True]
    developer = {"client": "developer", "purpose": "development"}
    assert (
        moved(before, after, "govgraph_requests_total", operation="anonymous", **developer, outcome="ok") == 1
    )
    assert (
        moved(
            before, after, "govgraph_requests_total", operation="anonymous", **developer, outcome="rejected"
        )
        == 1
    )
    assert moved(before, after, "govgraph_request_duration_seconds_count", operation="batch") == 1


async def test_metrics_can_be_turned_off() -> None:
    async with gateway_and_ops(metrics=MetricsSettings(enabled=False)) as (client, ops):
        response = await ops.get("/metrics")
        answered = await client.post(
            "/graphql", json={"query": PERSON, "variables": {"id": CHILD}}, headers=DEVELOPER
        )
        ready = await ops.get("/readyz")
    assert response.status_code == 404
    assert ready.status_code == 200
    assert answered.status_code == 200
    assert answered.headers["x-request-id"]


async def test_audit_commits_and_queue_are_measured(scratch_db: str) -> None:
    audit = AuditSettings(mode="sync", dsn=scratch_db, subject_key=AUDIT_KEY, commit_timeout=2.0)
    async with gateway_and_ops(audit=audit) as (client, ops):
        before = await scrape(ops)
        for _ in range(3):
            response = await client.post(
                "/graphql", json={"query": PERSON, "variables": {"id": CHILD}}, headers=DEVELOPER
            )
            assert response.json()["data"]["person"]["name"]
        after = await scrape(ops)
    assert moved(before, after, "govgraph_audit_events_total", outcome="committed") == 3
    commits = moved(before, after, "govgraph_audit_commit_duration_seconds_count", outcome="ok")
    assert 1 <= commits <= 3  # sequential requests: usually one commit each
    assert moved(before, after, "govgraph_audit_events_total", outcome="failed") == 0
    assert after[("govgraph_audit_queue_depth", frozenset())] == 0
