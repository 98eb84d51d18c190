"""The audit trail through the gateway: one event per data-bearing operation, committed
before the answer leaves; no answer when the audit database is down."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import subprocess
import sys
import time
import tomllib
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import jwt
import pytest
import pytest_asyncio

from gateway.app import create_app
from gateway.audit.record import canonical_hash, subject_key
from gateway.config.settings import AuditSettings, AuthConfig, GatewaySettings, Settings
from sources.base import EntitySpec, SourceSpec
from tests.resolvers import city
from tests.resolvers.city import CHILD, FATHER
from tests.waiting import until

ROOT = Path(__file__).parents[2]
SECRET = "test-secret-for-hs256-tokens-only"
AUDIT_KEY = "test-audit-subject-key-0123456789"


# Module-level headers are minted when pytest collects, and the suite runs for several minutes
# more: tokens that outlive it, so a late test is never refused for an expired one.
TOKEN_SECONDS = 3 * 3600


def headers(client: str, purpose: str, **extra: str) -> dict[str, str]:
    now = int(time.time())
    claims = {"sub": client, "aud": "govgraph", "exp": now + TOKEN_SECONDS}
    return {"Authorization": "Bearer " + jwt.encode(claims, SECRET, "HS256"), "X-Purpose": purpose, **extra}


def settings(audit_dsn: str) -> Settings:
    audit_source = SourceSpec(
        "audit",
        "postgres",
        {"access_log": EntitySpec("access_log", "subject", many=True, options={"table": "access_log"})},
        {"dsn": audit_dsn, "pool_size": 2},
    )
    specs = [s for s in city.specs() if s.name != "audit"] + [audit_source]
    return Settings(
        gateway=GatewaySettings(),
        sources=tuple(specs),
        auth=AuthConfig(policy=str(ROOT / "policy.toml"), hs256_secret=SECRET),
        audit=AuditSettings(mode="sync", dsn=audit_dsn, subject_key=AUDIT_KEY, commit_timeout=1.0),
    )


@pytest_asyncio.fixture
async def gateway(scratch_db: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings(scratch_db))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
            yield http


async def events(dsn: str) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(dsn)
    try:
        return [dict(r) for r in await conn.fetch("SELECT * FROM audit_event ORDER BY seq")]
    finally:
        await conn.close()


FAMILY = (
    "query Family($id: ResidentId!) { person(id: $id) {"
    " name guardians { name socialInsurance { status } } } }"
)


async def test_each_data_operation_writes_one_event(gateway: httpx.AsyncClient, scratch_db: str) -> None:
    sent = headers(
        "enrollment", "enrollment_review", **{"X-Case-Id": "JM-2026-0042", "X-Operator-Id": "op-7"}
    )
    response = await gateway.post(
        "/graphql", json={"query": FAMILY, "variables": {"id": CHILD}}, headers=sent
    )
    body = response.json()
    (event,) = await events(scratch_db)
    assert (event["client"], event["purpose"], event["case_id"], event["operator"]) == (
        "enrollment", "enrollment_review", "JM-2026-0042", "op-7",
    )  # fmt: skip
    assert event["operation"] == "Family"
    assert event["request_id"] == response.headers["x-request-id"]
    subjects = {s["subject"]: s["scopes"] for s in json.loads(event["subjects"])}
    assert subjects[subject_key(AUDIT_KEY.encode(), CHILD)] == [
        "person.*",
        "person.family",
        "person.identity",
    ]
    # The enrolment platform holds verdict scopes: it reaches socialInsurance, not its status.
    assert subjects[subject_key(AUDIT_KEY.encode(), FATHER)] == ["person.identity", "social_insurance.*"]
    assert json.loads(event["denied"]) == [
        {"path": "person.guardians.0.socialInsurance.status", "scope": "social_insurance.status"},
    ]
    assert event["outcome"] == "partial"
    assert event["response_hash"] == canonical_hash({"data": body["data"], "errors": body["errors"]})
    assert CHILD not in json.dumps(event, default=str)
    # The grant's basis, as policy.toml states it: its scopes hold conditional items.
    grants = tomllib.loads((ROOT / "policy.toml").read_text(encoding="utf-8"))["grants"]
    (grant,) = [g for g in grants if g["client"] == "enrollment"]
    assert grant["basis"]
    assert event["basis"] == grant["basis"]


async def test_operations_that_read_no_subject_write_nothing(
    gateway: httpx.AsyncClient, scratch_db: str
) -> None:
    document = '{ __typename school(code: "3502110001") { name } }'
    response = await gateway.post(
        "/graphql", json={"query": document}, headers=headers("developer", "development")
    )
    assert response.json()["data"]["school"]["name"]
    assert await events(scratch_db) == []


async def test_the_auditor_sees_who_accessed_a_person(gateway: httpx.AsyncClient) -> None:
    enrolment = headers("enrollment", "enrollment_review", **{"X-Case-Id": "C-1"})
    await gateway.post("/graphql", json={"query": FAMILY, "variables": {"id": CHILD}}, headers=enrolment)
    document = "query($s: String!) { accessLog(subject: $s) { client purpose caseId scopes outcome } }"
    auditor = headers("auditor", "audit")
    log = (
        await gateway.post("/graphql", json={"query": document, "variables": {"s": CHILD}}, headers=auditor)
    ).json()
    assert log["data"]["accessLog"] == [
        {"client": "enrollment", "purpose": "enrollment_review", "caseId": "C-1",
         "scopes": ["person.*", "person.family", "person.identity"], "outcome": "partial"},
    ]  # fmt: skip
    other = headers("developer", "development")
    denied = (
        await gateway.post("/graphql", json={"query": document, "variables": {"s": CHILD}}, headers=other)
    ).json()
    assert denied["data"] is None
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"


@pytest.mark.slow
async def test_audit_database_down_means_no_data_then_recovery(tmp_path: Path) -> None:
    from pgserver.postgres_server import get_server

    server = get_server(tmp_path / "auditpg", cleanup_mode="stop")
    dsn = server.get_uri()
    app = create_app(settings(dsn))
    query = {"query": FAMILY, "variables": {"id": CHILD}}
    sent = headers("developer", "development")
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
                assert (await http.post("/graphql", json=query, headers=sent)).status_code == 200
                before = len(await events(dsn))
                server.cleanup()  # stops the audit database
                down = await http.post("/graphql", json=query, headers=sent)
                assert down.status_code == 503
                assert "data" not in down.json()  # withheld: as if nothing ran
                assert [e["extensions"]["code"] for e in down.json()["errors"]] == ["AUDIT_UNAVAILABLE"]
                assert "林" not in down.text
                strict = await http.post(
                    "/graphql", json=query, headers={**sent, "Accept": "application/graphql-response+json"}
                )
                assert strict.status_code == 503  # the request's own status, not a client error's 400
                assert "data" not in strict.json()
                server = get_server(tmp_path / "auditpg", cleanup_mode="stop")  # it returns

                async def answered() -> bool:  # the pool replaces its dead connections as they fail
                    return (await http.post("/graphql", json=query, headers=sent)).status_code == 200

                await until(answered, "the gateway to answer once the audit database is back", interval=0.2)
                after = await events(dsn)
                assert len(after) == before + 1  # the refused requests left nothing behind
                assert [e["seq"] for e in after] == list(range(1, len(after) + 1))
    finally:
        server.cleanup()


ACCESS_LOG = (
    "query($s: String!) { accessLog(subject: $s) {"
    " time client purpose caseId operator operation scopes outcome basis requestId } }"
)


async def ask(dsn: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    """One auditor's query through a gateway over the audit log at `dsn`."""
    app = create_app(settings(dsn))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
            response = await http.post(
                "/graphql", json={"query": query, "variables": variables}, headers=headers("auditor", "audit")
            )
    answer: dict[str, Any] = response.json()
    return answer


def test_audit_verify_and_subject_commands(tmp_path: Path, scratch_db: str) -> None:
    async def write_one() -> None:
        app = create_app(settings(scratch_db))
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
                await http.post("/graphql", json={"query": FAMILY, "variables": {"id": CHILD}},
                                headers=headers("enrollment", "enrollment_review"))  # fmt: skip

    asyncio.run(write_one())
    config = tmp_path / "govgraph.toml"
    config.write_text(
        f'[sources.m]\nkind = "memory"\n[sources.m.entities.e]\nkey = "id"\n'
        f'[audit]\ndsn = "{scratch_db}"\nsubject_key = "{AUDIT_KEY}"\n'
    )
    run = [sys.executable, "-m", "gateway", "audit"]
    ok = subprocess.run([*run, "verify", "--config", str(config)], capture_output=True, text=True, cwd=ROOT)
    assert ok.returncode == 0, ok.stderr
    assert "1 chains, 1 events: intact" in ok.stdout, ok.stderr
    report = subprocess.run(
        [*run, "subject", CHILD, "--config", str(config)], capture_output=True, text=True, cwd=ROOT
    )
    rows = json.loads(report.stdout)
    assert [(r["client"], r["purpose"]) for r in rows] == [("enrollment", "enrollment_review")]
    grants = tomllib.loads((ROOT / "policy.toml").read_text(encoding="utf-8"))["grants"]
    assert rows[0]["basis"] == next(g["basis"] for g in grants if g["client"] == "enrollment")
    # The auditor's query answers the same accesses under the same names, times in ISO 8601.
    (event,) = asyncio.run(ask(scratch_db, ACCESS_LOG, {"s": CHILD.lower()}))["data"]["accessLog"]
    assert {k: rows[0][k] for k in event} == event
    assert dt.datetime.fromisoformat(rows[0]["time"]).tzinfo is not None
    assert {"writerId", "seq"} <= rows[0].keys()  # and where the event sits in its chain

    async def tamper() -> None:
        conn = await asyncpg.connect(scratch_db)
        await conn.execute("ALTER TABLE audit_event DISABLE TRIGGER USER")
        await conn.execute("UPDATE audit_event SET purpose = 'talent_subsidy'")
        await conn.close()

    asyncio.run(tamper())
    broken = subprocess.run(
        [*run, "verify", "--config", str(config)], capture_output=True, text=True, cwd=ROOT
    )
    assert broken.returncode == 1
    assert "BROKEN" in broken.stdout


@pytest.mark.parametrize(
    "subject",
    [CHILD[:-1] + ("0" if CHILD[-1] != "0" else "1"), "91350203MA63W6263", "not-an-id", CHILD + "1"],
    ids=["check-digit", "short-credit-code", "words", "long"],
)
def test_audit_subject_refuses_what_the_auditors_query_refuses(
    tmp_path: Path, scratch_db: str, subject: str
) -> None:
    (error,) = asyncio.run(ask(scratch_db, ACCESS_LOG, {"s": subject}))["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    config = tmp_path / "govgraph.toml"
    config.write_text(f'[sources.m]\nkind = "memory"\n[audit]\ndsn = "{scratch_db}"\nsubject_key = "k"\n')
    out = subprocess.run(
        [sys.executable, "-m", "gateway", "audit", "subject", subject, "--config", str(config)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert out.returncode == 2
    assert out.stderr.splitlines()[-1] == f"govgraph: audit subject: {error['message']}"
    assert out.stdout == ""


async def test_a_bare_existence_check_is_audited(gateway: httpx.AsyncClient, scratch_db: str) -> None:
    document = "query($ids: [ResidentId!]!) { persons(ids: $ids) { __typename } }"
    talent = headers("talent-policy", "talent_subsidy")
    response = await gateway.post(
        "/graphql", json={"query": document, "variables": {"ids": [CHILD, FATHER]}}, headers=talent
    )
    assert response.json()["data"]["persons"] == [{"__typename": "Person"}, {"__typename": "Person"}]
    (event,) = await events(scratch_db)
    subjects = {s["subject"]: s["scopes"] for s in json.loads(event["subjects"])}
    assert subjects == {subject_key(AUDIT_KEY.encode(), i): ["person.*"] for i in (CHILD, FATHER)}


async def test_an_empty_access_log_look_up_is_audited(gateway: httpx.AsyncClient, scratch_db: str) -> None:
    document = "query($s: String!) { accessLog(subject: $s) { client } }"
    response = await gateway.post(
        "/graphql", json={"query": document, "variables": {"s": FATHER}}, headers=headers("auditor", "audit")
    )
    assert response.json()["data"] == {"accessLog": []}
    (event,) = await events(scratch_db)
    assert (event["client"], json.loads(event["subjects"])) == (
        "auditor",
        [{"subject": subject_key(AUDIT_KEY.encode(), FATHER), "scopes": ["audit.read"]}],
    )


async def test_an_operation_alone_does_not_wait_for_others_to_join_its_commit(scratch_db: str) -> None:
    # A commit would wait a minute for more events; operations in flight say when they
    # are done, so a lone one (or the last of a group) is committed at once.
    base = settings(scratch_db)
    app = create_app(replace(base, audit=replace(base.audit, max_wait=60.0)))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
            sent = headers("enrollment", "enrollment_review")
            family = {"query": FAMILY, "variables": {"id": CHILD}}
            response = await asyncio.wait_for(http.post("/graphql", json=family, headers=sent), 20)
            assert response.json()["data"]["person"]["name"]
            others = [
                family,
                {"query": '{ school(code: "3502110001") { name } }'},  # reads no subject
                {"query": "{ person(id: "},  # does not parse
                {"query": "{ nothing }"},  # does not validate
            ]
            answers = await asyncio.wait_for(
                asyncio.gather(*(http.post("/graphql", json=o, headers=sent) for o in others * 3)), 20
            )
            assert answers[0].json()["data"]["person"]["name"]
            assert answers[1].json()["data"]["school"]["name"]
            assert [bool(a.json().get("errors")) for a in answers[2:4]] == [True, True]
            writer = app.state.runtime.writer
            assert writer.operations_open == 0
            assert writer.stats.events == 4
