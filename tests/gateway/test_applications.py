"""The application workflow through the console's GraphQL API, in a gateway over the demo
city with a policy store: apply, review, revoke, renew, roles, and the audit of each."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import asyncpg
import httpx
import jwt
import pytest_asyncio
from starlette.applications import Starlette

from demo.stack import DemoStack
from gateway.app import create_app
from gateway.audit.store import AuditStore
from gateway.audit.sweep import verify
from gateway.console.people import mint_person_token
from sources.stats import CallStats
from tests.gateway.support import chains
from tests.policy_store import (
    APPLICANT,
    APPLY,
    CONSOLE_AUDIENCE,
    CREDIT_REVIEWER,
    DEMO_SECRET,
    RENEW,
    REVIEW,
    REVOKE,
    TAX_REVIEWER,
    codes,
    console,
    person,
    seeded_store,
)
from tests.stack import client_headers, demo_settings, served
from tests.tcp_proxy import proxied
from tests.waiting import until

DISHONESTY = """query ($c: CreditCode!) { enterprise(creditCode: $c) { seriousDishonesty { listName } } }"""


@pytest_asyncio.fixture
async def gateway(
    demo_city: DemoStack, scratch_db: str
) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient]]:
    store = await seeded_store(scratch_db)
    await store.aclose()
    env = {**demo_city.gateway_env(), "GOVGRAPH_POLICY_DSN": scratch_db, "GOVGRAPH_AUDIT_DSN": scratch_db}
    app = create_app(demo_settings(env), stats=CallStats())
    async with served(app) as url, httpx.AsyncClient(base_url=url, timeout=10) as http:
        yield app, http


def talent_application(**changes: Any) -> dict[str, Any]:
    return {
        "input": {
            "client": "talent-policy",
            "purpose": "talent_subsidy",
            "items": ["serious_dishonesty"],
            "scenario": "人才补贴申报时核验用人单位是否列入严重失信主体名单",
            "legalBasis": "厦门市人才政策实施办法第十条",
            "periodDays": 30,
            **changes,
        }
    }


async def query_dishonesty(app: Starlette, http: httpx.AsyncClient, code: str) -> dict[str, Any]:
    response = await http.post(
        "/graphql",
        json={"query": DISHONESTY, "variables": {"c": code}},
        headers=client_headers(app, "talent-policy"),
    )
    answer: dict[str, Any] = response.json()
    return answer


async def test_apply_approve_query_revoke(
    gateway: tuple[Starlette, httpx.AsyncClient], demo_city: DemoStack, scratch_db: str
) -> None:
    app, http = gateway
    code = demo_city.samples["cases"]["dishonest_enterprise"][0]
    before = await query_dishonesty(app, http, code)
    assert codes(before) == ["FORBIDDEN"]

    applied = (await console(http, APPLICANT, APPLY, talent_application()))["data"]["applyForAccess"]
    assert applied["state"] == "pending"
    assert applied["sharing"] == "conditional"
    assert applied["department"] == "XM-XY"
    assert applied["scopes"] == ["credit.dishonesty"]
    assert applied["dueAt"] is not None
    assert not applied["overdue"]

    # A reviewer of another department cannot decide it; nor can the applicant.
    for outsider in (TAX_REVIEWER, APPLICANT):
        refused = await console(
            http, outsider, REVIEW, {"id": applied["id"], "approve": True, "reason": "ok"}
        )
        assert codes(refused) == ["FORBIDDEN"]

    approved = await console(
        http, CREDIT_REVIEWER, REVIEW, {"id": applied["id"], "approve": True, "reason": "用途明确"}
    )
    decided = approved["data"]["reviewApplication"]
    assert (decided["state"], decided["decidedBy"]) == ("approved", CREDIT_REVIEWER)
    started = time.monotonic()
    await until(
        lambda: _answered(app, http, code), "the approved grant to serve the query", within=1.0, interval=0.02
    )
    assert time.monotonic() - started < 1.0

    # The access event names the approval its grant came from.
    accesses = [e for e in await _events(scratch_db) if e["client"] == "talent-policy" and e["subjects"]]
    assert applied["id"] in (accesses[-1]["basis"] or "")

    again = await console(
        http, CREDIT_REVIEWER, REVIEW, {"id": applied["id"], "approve": False, "reason": "x"}
    )
    assert codes(again) == ["CONFLICT"]

    revoked = await console(http, CREDIT_REVIEWER, REVOKE, {"id": decided["grant"], "reason": "用途已结束"})
    assert revoked["data"]["revokeGrant"]["state"] == "revoked"
    await until(
        lambda: _refused(app, http, code), "the revocation to refuse the query", within=1.0, interval=0.02
    )

    events = await _policy_events(scratch_db)
    assert [e["operation"] for e in events][-3:] == ["policy.apply", "policy.approve", "policy.revoke"]
    assert (events[-2]["operator"], events[-2]["case_id"]) == (CREDIT_REVIEWER, applied["id"])
    assert events[-1]["detail"]["reason"] == "用途已结束"


async def _answered(app: Starlette, http: httpx.AsyncClient, code: str) -> bool:
    answer = await query_dishonesty(app, http, code)
    return not answer.get("errors") and bool(answer["data"]["enterprise"]["seriousDishonesty"])


async def _refused(app: Starlette, http: httpx.AsyncClient, code: str) -> bool:
    return codes(await query_dishonesty(app, http, code)) == ["FORBIDDEN"]


async def _events(dsn: str) -> list[dict[str, Any]]:
    """Every event of the audit log, oldest first, once its chains verify."""
    store = AuditStore(dsn)
    try:
        events = []
        for _, rows, _ in await chains(store):
            events += [vars(r) for r in rows]
        report = await verify(store)
        assert report.ok, report.problems
        return sorted(events, key=lambda e: e["time"])
    finally:
        await store.aclose()


async def _policy_events(dsn: str) -> list[dict[str, Any]]:
    return [e for e in await _events(dsn) if (e["operation"] or "").startswith("policy.")]


async def test_a_rewritten_decision_breaks_the_chain(
    gateway: tuple[Starlette, httpx.AsyncClient], scratch_db: str
) -> None:
    _, http = gateway
    applied = (await console(http, APPLICANT, APPLY, talent_application()))["data"]["applyForAccess"]
    await console(
        http, CREDIT_REVIEWER, REVIEW, {"id": applied["id"], "approve": False, "reason": "用途不明"}
    )
    refusal = [e for e in await _policy_events(scratch_db) if e["operation"] == "policy.refuse"]
    assert refusal[0]["detail"]["reason"] == "用途不明"
    conn = await asyncpg.connect(scratch_db)
    try:  # what an owner can do: bypass the append-only triggers and edit the reason
        await conn.execute("SET session_replication_role = replica")
        await conn.execute(
            "UPDATE audit_event SET detail = jsonb_set(detail, '{reason}', to_jsonb('用途明确'::text)) "
            "WHERE operation = 'policy.refuse'"
        )
    finally:
        await conn.close()
    store = AuditStore(scratch_db)
    try:
        report = await verify(store)
    finally:
        await store.aclose()
    assert not report.ok
    assert f"seq {refusal[0]['seq']}: hash does not match" in report.problems[0]


async def test_refusal_renewal_and_what_cannot_be_applied_for(
    gateway: tuple[Starlette, httpx.AsyncClient],
) -> None:
    app, http = gateway
    applied = (await console(http, APPLICANT, APPLY, talent_application()))["data"]["applyForAccess"]
    refused = await console(
        http, CREDIT_REVIEWER, REVIEW, {"id": applied["id"], "approve": False, "reason": "用途与名单无关"}
    )
    assert refused["data"]["reviewApplication"] == {
        "id": applied["id"],
        "state": "refused",
        "reason": "用途与名单无关",
        "decidedBy": CREDIT_REVIEWER,
        "grant": None,
    }
    # A not-shared item (the credit score), by item or by its resource's hidden scope.
    not_shared = await console(http, APPLICANT, APPLY, talent_application(items=["credit_warning.score"]))
    assert codes(not_shared) == ["NOT_SHARED"]
    # Items of two departments in one application; a client the applicant does not apply for.
    mixed = await console(
        http, APPLICANT, APPLY, talent_application(items=["serious_dishonesty", "credit_ratings"])
    )
    assert codes(mixed) == ["BAD_USER_INPUT"]
    assert "each department separately" in mixed["errors"][0]["message"]
    other = await console(
        http, APPLICANT, APPLY, talent_application(client="grid-worker", purpose="household_survey")
    )
    assert codes(other) == ["FORBIDDEN"]
    blank = await console(http, APPLICANT, APPLY, talent_application(scenario="  "))
    assert codes(blank) == ["BAD_USER_INPUT"]
    # Two mutations and no operationName: neither runs (not the first, as a bare executor would).
    both = await console(http, APPLICANT, APPLY + REVIEW, talent_application())
    assert codes(both) == ["OPERATION_RESOLUTION_FAILURE"]
    assert "data" not in both
    typo = await console(http, APPLICANT, "{ me { subjekt } }")
    assert codes(typo) == ["GRAPHQL_VALIDATION_FAILED"]
    assert typo["errors"][0]["locations"] == [{"line": 1, "column": 8}]

    # Each endpoint takes only its own audience's tokens: a person's is no client's, and back.
    as_client = await http.post(
        "/console/graphql", json={"query": "{ me { subject } }"}, headers=client_headers(app, "talent-policy")
    )
    assert (as_client.status_code, as_client.json()["errors"][0]["extensions"]["code"]) == (
        401,
        "UNAUTHENTICATED",
    )
    as_person = await http.post(
        "/graphql",
        json={"query": "{ __typename }"},
        headers={**person(APPLICANT), "X-Purpose": "talent_subsidy"},
    )
    assert as_person.status_code == 401
    big = await http.post("/console/graphql", content=b" " * 300_000, headers=person(APPLICANT))
    assert big.status_code == 413

    # Unconditional items are approved at once, by the system, and can be renewed.
    public = (await console(http, APPLICANT, APPLY, talent_application(items=["administrative_penalties"])))[
        "data"
    ]
    auto = public["applyForAccess"]
    assert (auto["state"], auto["sharing"], auto["dueAt"]) == ("approved", "unconditional", None)
    renewed = await console(http, CREDIT_REVIEWER, RENEW, {"id": auto["grant"], "days": 90, "reason": "续期"})
    assert renewed["data"]["renewGrant"]["state"] == "active"
    not_theirs = await console(http, TAX_REVIEWER, RENEW, {"id": auto["grant"], "days": 90, "reason": "续期"})
    assert codes(not_theirs) == ["FORBIDDEN"]


async def test_an_unreachable_store_keeps_serving_turns_stale_then_catches_up(
    demo_city: DemoStack, scratch_db: str
) -> None:
    store = await seeded_store(scratch_db)
    code = demo_city.samples["cases"]["dishonest_enterprise"][0]
    async with proxied(scratch_db) as (proxy, through):
        env = {**demo_city.gateway_env(), "GOVGRAPH_POLICY_DSN": through, "GOVGRAPH_AUDIT_DSN": scratch_db}
        settings = demo_settings(env)
        assert settings.auth is not None
        auth = replace(settings.auth, store_check=0.2, stale_after=0.6, stale_drains=True)
        app = create_app(replace(settings, auth=auth), stats=CallStats())
        async with served(app) as url, httpx.AsyncClient(base_url=url, timeout=10) as http:
            readiness = app.state.readiness
            assert (await readiness.report())[1]["policy"]["stale"] is False
            proxy.sever()
            await until(lambda: _stale(readiness), "/readyz to report the policy stale", within=3.0)
            status, body = await readiness.report()
            assert status == 503
            assert "policy stale" in body["reasons"]
            # The last good policy still serves: the talent-policy app reads what it was granted.
            served_answer = await http.post(
                "/graphql",
                json={
                    "query": "query ($c: CreditCode!) { enterprise(creditCode: $c) { name } }",
                    "variables": {"c": code},
                },
                headers=client_headers(app, "talent-policy"),
            )
            assert served_answer.json()["data"]["enterprise"]["name"]
            # A grant made meanwhile (on the store directly) applies once the store is back.
            async with store.change("grant while the gateway cannot see the store") as conn:
                await conn.execute(
                    'INSERT INTO "grant" (client, purpose, full_scopes, masked_scopes, basis, valid_from, '
                    "created_by) VALUES ('talent-policy', 'talent_subsidy', '{credit.dishonesty}', '{}', "
                    "'test', now(), 'test')"
                )
            assert codes(await query_dishonesty(app, http, code)) == ["FORBIDDEN"]
            proxy.restore()
            await until(
                lambda: _answered(app, http, code), "the grant to apply once the store is back", within=3.0
            )
            assert (await readiness.report())[1]["policy"]["stale"] is False
    await store.aclose()


async def _stale(readiness: Any) -> bool:
    return bool((await readiness.report())[1]["policy"]["stale"])


async def test_no_one_decides_their_own_application(
    gateway: tuple[Starlette, httpx.AsyncClient], scratch_db: str
) -> None:
    _, http = gateway
    # The credit centre's reviewer is made an applicant for talent-policy too.
    conn = await asyncpg.connect(scratch_db)
    try:
        await conn.execute(
            "INSERT INTO govgraph_policy.person_role (person, role, target, granted_by, granted_at) "
            "VALUES ($1, 'applicant', 'talent-policy', 'test', now())",
            CREDIT_REVIEWER,
        )
    finally:
        await conn.close()
    applied = (await console(http, CREDIT_REVIEWER, APPLY, talent_application()))["data"]["applyForAccess"]
    own = await console(http, CREDIT_REVIEWER, REVIEW, {"id": applied["id"], "approve": True, "reason": "ok"})
    assert codes(own) == ["FORBIDDEN"]
    assert "someone else decides" in own["errors"][0]["message"]


async def test_a_person_token_naming_a_client_opens_nothing_of_the_client(
    gateway: tuple[Starlette, httpx.AsyncClient],
) -> None:
    _, http = gateway
    # The person's `sub` is a client's jwt_subject: the audience, not the subject, refuses it.
    response = await http.post(
        "/graphql",
        json={"query": "{ __typename }"},
        headers={**person("talent-policy"), "X-Purpose": "talent_subsidy"},
    )
    assert response.status_code == 401
    assert response.json()["errors"][0]["message"] == "The token is for another audience."
    both = mint_person_token(DEMO_SECRET, "talent-policy", "x", CONSOLE_AUDIENCE)
    claims = jwt.decode(both, DEMO_SECRET, algorithms=["HS256"], audience=CONSOLE_AUDIENCE)
    claims["aud"] = [CONSOLE_AUDIENCE, "govgraph"]  # a token for both endpoints opens neither
    double = {
        "Authorization": "Bearer " + jwt.encode(claims, DEMO_SECRET, "HS256"),
        "X-Purpose": "talent_subsidy",
    }
    assert (await http.post("/graphql", json={"query": "{ __typename }"}, headers=double)).status_code == 401
    console_answer = await http.post("/console/graphql", json={"query": "{ me { subject } }"}, headers=double)
    assert console_answer.status_code == 401


async def test_a_change_the_audit_cannot_record_is_not_made(
    gateway: tuple[Starlette, httpx.AsyncClient], scratch_db: str
) -> None:
    app, http = gateway
    await app.state.runtime.writer.aclose()  # the audit log stops taking events
    refused = await console(http, APPLICANT, APPLY, talent_application())
    assert codes(refused) == ["AUDIT_UNAVAILABLE"]
    conn = await asyncpg.connect(scratch_db)
    try:
        assert await conn.fetchval("SELECT count(*) FROM govgraph_policy.application") == 0
    finally:
        await conn.close()


async def test_an_approved_grant_stops_at_its_expiry_and_the_expiry_is_recorded(
    gateway: tuple[Starlette, httpx.AsyncClient], demo_city: DemoStack, scratch_db: str
) -> None:
    app, http = gateway
    code = demo_city.samples["cases"]["dishonest_enterprise"][0]
    applied = (await console(http, APPLICANT, APPLY, talent_application()))["data"]["applyForAccess"]
    decision = {"id": applied["id"], "approve": True, "reason": "用途明确"}
    grant = (await console(http, CREDIT_REVIEWER, REVIEW, decision))["data"]["reviewApplication"]["grant"]
    await until(lambda: _answered(app, http, code), "the grant in force", within=1.0)
    # The period is whole days; the test brings the expiry to a second from now.
    conn = await asyncpg.connect(scratch_db)
    try:
        expires = await conn.fetchval(
            "UPDATE govgraph_policy.\"grant\" SET expires_at = now() + interval '1 second' WHERE id = $1 "
            "RETURNING expires_at",
            grant,
        )
        await conn.execute(
            "UPDATE govgraph_policy.policy_version SET version = version + 1"
        )  # as a change does
        await conn.execute("SELECT pg_notify('govgraph_policy', 'test')")
    finally:
        await conn.close()
    await until(
        lambda: _refused(app, http, code), "the grant to stop at its expiry", within=3.0, interval=0.02
    )
    assert time.time() >= expires.timestamp()
    assert time.time() - expires.timestamp() < 0.5  # at its instant, not at a later check

    async def recorded() -> bool:
        return any(e["operation"] == "policy.expire" for e in await _policy_events(scratch_db))

    await until(recorded, "the expiry in the audit log", within=3.0, interval=0.1)
    expiry = next(e for e in await _policy_events(scratch_db) if e["operation"] == "policy.expire")
    assert (expiry["operator"], expiry["case_id"]) == ("system", applied["id"])
