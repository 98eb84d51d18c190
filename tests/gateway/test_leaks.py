"""The leak suite: a value a client is not granted never appears in any response, by
any route, and the department behind it is never asked."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import pytest_asyncio

from gateway.app import create_app
from gateway.config.settings import AuthConfig, GatewaySettings, Settings
from sources.stats import CallStats
from tests.resolvers import city
from tests.resolvers.city import CHILD, FATHER

POLICY = str(Path(__file__).parents[2] / "policy.toml")
SECRET = "test-secret-for-hs256-tokens-only"
STATS = CallStats()

# What the talent-policy app must never see: contribution records (it has the verdict
# only) and the father's full phone number and address (it has them masked).
SECRETS = ["8000.5", "202409", "2024-09", "13800000001", "杏林路1号"]


# Module-level headers are minted when pytest collects, and the suite runs for several minutes
# more: tokens that outlive it, so a late test is never refused for an expired one.
TOKEN_SECONDS = 3 * 3600


def headers(client: str, purpose: str) -> dict[str, str]:
    now = int(time.time())
    claims = {"sub": client, "aud": "govgraph", "exp": now + TOKEN_SECONDS, "scope": purpose}
    return {"Authorization": "Bearer " + jwt.encode(claims, SECRET, "HS256"), "X-Purpose": purpose}


TALENT = headers("talent-policy", "talent_subsidy")
ENROLMENT = headers("enrollment", "enrollment_review")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def client() -> AsyncIterator[httpx.AsyncClient]:
    auth = AuthConfig(policy=POLICY, hs256_secret=SECRET)
    app = create_app(Settings(gateway=GatewaySettings(), sources=tuple(city.specs()), auth=auth), stats=STATS)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
            yield http


ROUTES: dict[str, tuple[str, dict[str, Any]]] = {
    "direct": (
        "query($id: ResidentId!) { person(id: $id) { phone socialInsurance { contributions { base } } } }",
        {},
    ),
    "alias": (
        "query($id: ResidentId!) { p: person(id: $id) { t: phone s: socialInsurance { c:"
        " contributions { b: base period } } } }",
        {},
    ),
    "fragment": (
        "query($id: ResidentId!) { person(id: $id) { ...P } }"
        " fragment P on Person { phone hukouAddress socialInsurance { ...S } }"
        " fragment S on SocialInsurance { contributions { base period } }",
        {},
    ),
    "inline-fragment": (
        "query($id: ResidentId!) { person(id: $id) { ... on Person { phone socialInsurance {"
        " ... on SocialInsurance { contributions { base } } } } } }",
        {},
    ),
    "variables": (
        "query($id: ResidentId!, $from: Month) { person(id: $id) { socialInsurance {"
        " contributions(from: $from) { base period paidMonth } } } }",
        {"from": "2024-01"},
    ),
    "summary-instead": (
        "query($id: ResidentId!) { person(id: $id) { socialInsurance { monthsContributed"
        ' since: monthsContributed(since: "2024-09") } } }',
        {},
    ),
    "list": (
        "query($ids: [ResidentId!]!) { persons(ids: $ids) { socialInsurance { contributions { base } } } }",
        {"ids": [FATHER]},
    ),
    "bad-argument": (
        "query($id: ResidentId!) { person(id: $id) { socialInsurance {"
        ' contributions(from: "2024-9") { base } } } }',
        {},
    ),
    "typo": ("query($id: ResidentId!) { person(id: $id) { socialInsurance { contribution { base } } } }", {}),
}


def assert_clean(response: httpx.Response) -> None:
    exposed = response.text + " ".join(f"{k}:{v}" for k, v in response.headers.items())
    for value in SECRETS:
        assert value not in exposed, f"{value!r} leaked: {response.text}"


@pytest.mark.parametrize("route", sorted(ROUTES))
async def test_records_the_client_is_not_granted_never_leak(client: httpx.AsyncClient, route: str) -> None:
    document, variables = ROUTES[route]
    STATS.reset()
    response = await client.post(
        "/graphql", json={"query": document, "variables": {"id": FATHER, **variables}}, headers=TALENT
    )
    assert_clean(response)
    assert ("social_insurance", "contributions") not in {(c.source, c.entity) for c in STATS.recent}
    codes = {e["extensions"]["code"] for e in response.json().get("errors", [])}
    assert codes
    assert codes <= {"FORBIDDEN", "BAD_USER_INPUT", "GRAPHQL_VALIDATION_FAILED"}


async def test_nested_path_through_a_guardian(client: httpx.AsyncClient) -> None:
    document = """query($id: ResidentId!) { person(id: $id) { guardians {
        name phone socialInsurance { status contributions { base } currentEmployer { name } } } } }"""
    STATS.reset()
    response = await client.post(
        "/graphql", json={"query": document, "variables": {"id": CHILD}}, headers=ENROLMENT
    )
    assert_clean(response)
    body = response.json()
    assert body["data"]["person"]["guardians"][0]["name"] == "林建国"
    assert body["data"]["person"]["guardians"][0]["phone"] == "138****0001"
    # The enrolment platform holds verdict scopes: it may reach socialInsurance (one call for
    # the insured-person records), never the contribution records or the employer.
    called = {(c.source, c.entity) for c in STATS.recent}
    assert called.isdisjoint({("social_insurance", "contributions"), ("market", "enterprise")})
    errors = {(".".join(map(str, e["path"])), e["extensions"]["scope"]) for e in body["errors"]}
    assert ("person.guardians.0.socialInsurance.contributions", "social_insurance.records") in errors


async def test_batched_operations_do_not_leak(client: httpx.AsyncClient) -> None:
    document = "query($id: ResidentId!) { person(id: $id) { socialInsurance { contributions { base } } } }"
    batch = [{"query": document, "variables": {"id": FATHER}}] * 2
    response = await client.post("/graphql", json=batch, headers=TALENT)
    assert response.status_code >= 400 or "errors" in response.text
    assert_clean(response)


async def test_get_requests_do_not_leak(client: httpx.AsyncClient) -> None:
    document = (
        "query($id: ResidentId!) { person(id: $id) { phone socialInsurance { contributions { base } } } }"
    )
    params = {"query": document, "variables": f'{{"id": "{FATHER}"}}'}
    STATS.reset()
    response = await client.get("/graphql", params=params, headers=TALENT)
    assert_clean(response)
    # Executed, not turned away at the door: refused field by field, as a POST is.
    assert response.json()["data"]["person"]["phone"] == "138****0001"
    assert [e["extensions"]["code"] for e in response.json()["errors"]] == ["FORBIDDEN"]
    assert ("social_insurance", "contributions") not in {(c.source, c.entity) for c in STATS.recent}


async def test_error_messages_do_not_suggest_field_names_to_non_developers(client: httpx.AsyncClient) -> None:
    document = "query($id: ResidentId!) { person(id: $id) { socialInsurance { contribution { base } } } }"
    response = await client.post(
        "/graphql", json={"query": document, "variables": {"id": FATHER}}, headers=TALENT
    )
    assert "Did you mean" not in response.text
    assert "contributions" not in response.text


async def test_the_verdict_is_what_the_talent_app_gets(client: httpx.AsyncClient) -> None:
    # The father has 20 on-time months (city.ON_TIME), all within the last 36: short of the
    # talent policy's pinned 24.
    document = (
        "query($id: ResidentId!) { person(id: $id) { name socialInsurance { ok:"
        " hasContributed(months: 24, within: 36) } } }"
    )
    response = await client.post(
        "/graphql", json={"query": document, "variables": {"id": FATHER}}, headers=TALENT
    )
    body = response.json()
    assert body["data"] == {"person": {"name": "林建国", "socialInsurance": {"ok": False}}}
    assert "errors" not in body
    assert set(body["extensions"]["sources"]) == {"public_security", "social_insurance"}


async def test_cache_safety_full_then_masked_then_ungranted(client: httpx.AsyncClient) -> None:
    document = "query($id: ResidentId!) { person(id: $id) { phone } }"
    body = {"query": document, "variables": {"id": FATHER}}
    developer = await client.post("/graphql", json=body, headers=headers("developer", "development"))
    assert developer.json()["data"]["person"]["phone"] == "13800000001"
    talent = await client.post("/graphql", json=body, headers=TALENT)
    assert talent.json()["data"]["person"]["phone"] == "138****0001"
    desk = await client.post("/graphql", json=body, headers=headers("auditor", "audit"))
    assert desk.json()["data"]["person"] is None  # the auditor may not look persons up at all
    assert [e["extensions"]["code"] for e in desk.json()["errors"]] == ["FORBIDDEN"]
    assert "13800000001" not in talent.text + desk.text


async def test_the_student_number_is_an_id_and_masked_like_one(client: httpx.AsyncClient) -> None:
    document = "query($id: ResidentId!) { person(id: $id) { id studentStatus { studentNumber grade } } }"
    grid = headers("grid-worker", "household_survey")
    response = await client.post(
        "/graphql", json={"query": document, "variables": {"id": CHILD}}, headers=grid
    )
    person = response.json()["data"]["person"]
    assert person["studentStatus"] == {"studentNumber": "G" + CHILD[0] + "*" * 15 + CHILD[-2:], "grade": 1}
    assert CHILD not in response.text
    assert CHILD[6:14] not in response.text


async def test_enterprise_data_does_not_open_a_persons_social_insurance(client: httpx.AsyncClient) -> None:
    # The desk holds enterprise.insured_headcount (about enterprises), not social_insurance.*.
    STATS.reset()
    document = "query($id: ResidentId!) { person(id: $id) { socialInsurance { __typename } } }"
    desk = {**headers("enterprise-desk", "enterprise_service")}
    body = {"query": document, "variables": {"id": FATHER}}
    response = await client.post("/graphql", json=body, headers=desk)
    assert [e["extensions"]["code"] for e in response.json()["errors"]] == ["PERSISTED_QUERY_ID_REQUIRED"]
    from gateway.policy.model import load_policy, with_families

    policy = load_policy(POLICY, city.SCHEMA.scopes)
    desk = policy.grant("enterprise-desk", "enterprise_service")
    assert "social_insurance.*" not in with_families(desk, city.SCHEMA.scopes)


async def test_no_credentials_behind_a_root_path_is_refused() -> None:
    auth = AuthConfig(policy=POLICY, hs256_secret=SECRET)
    app = create_app(Settings(gateway=GatewaySettings(), sources=tuple(city.specs()), auth=auth))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, root_path="/api")
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
            body = {
                "query": "query($id: ResidentId!) { person(id: $id) { name } }",
                "variables": {"id": FATHER},
            }
            response = await http.post("/api/graphql", json=body)
    assert response.status_code == 401
    assert "林" not in response.text


TYPO_BELOW = "socialInsurance { contribution }"


@pytest.mark.parametrize("first", ["developer", "talent"])
async def test_validation_hints_depend_on_the_asker_not_on_who_asked_first(
    client: httpx.AsyncClient, first: str
) -> None:
    # A document text no other test sends, so the shared validation cache is cold.
    document = f"query Typo{first}($id: ResidentId!) {{ person(id: $id) {{ phon {TYPO_BELOW} }} }}"
    body = {"query": document, "variables": {"id": FATHER}}
    developer = headers("developer", "development")
    askers = {"developer": developer, "talent": TALENT}
    order = [first, *(name for name in askers if name != first)]
    by_client = {name: await client.post("/graphql", json=body, headers=askers[name]) for name in order}
    told = {name: [e["message"] for e in r.json()["errors"]] for name, r in by_client.items()}
    assert told["developer"] == [
        "Cannot query field 'phon' on type 'Person'. Did you mean 'phone'?",
        "Cannot query field 'contribution' on type 'SocialInsurance'. Did you mean 'contributions'?",
    ]
    # The talent app sees phone (masked), not the contribution records: hinted at what it can see only.
    assert told["talent"] == [
        "Cannot query field 'phon' on type 'Person'. Did you mean 'phone'?",
        "Cannot query field 'contribution' on type 'SocialInsurance'.",
    ]
    assert "contributions" not in by_client["talent"].text
    # Asked again, each still gets its own answer.
    again = await client.post("/graphql", json=body, headers=developer)
    assert again.json() == by_client["developer"].json()
