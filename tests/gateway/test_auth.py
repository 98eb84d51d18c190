"""Who is asking: every credential and purpose case over HTTP, each with its code."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import pytest_asyncio
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from gateway.app import create_app
from gateway.config.settings import AuthConfig, GatewaySettings, Settings
from tests.resolvers import city

POLICY = str(Path(__file__).parents[2] / "policy.toml")
SECRET = "test-secret-for-hs256-tokens-only"
QUERY = {"query": "query($id: ResidentId!) { person(id: $id) { name } }", "variables": {"id": city.CHILD}}


def keypair(kind: str) -> tuple[Any, str]:
    key: Any = (
        rsa.generate_private_key(65537, 2048) if kind == "RS256" else ec.generate_private_key(ec.SECP256R1())
    )
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return key, pem.decode()


RSA_KEY, RSA_PUBLIC = keypair("RS256")
EC_KEY, EC_PUBLIC = keypair("ES256")


def token(sub: str = "developer", *, key: Any = SECRET, alg: str = "HS256", **claims: Any) -> str:
    now = int(time.time())
    body = {"sub": sub, "aud": "govgraph", "iat": now, "exp": now + 300, **claims}
    return jwt.encode({k: v for k, v in body.items() if v is not None}, key, algorithm=alg)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def client(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[httpx.AsyncClient]:
    keys = tmp_path_factory.mktemp("keys")
    (keys / "rsa.pem").write_text(RSA_PUBLIC)
    (keys / "ec.pem").write_text(EC_PUBLIC)
    auth = AuthConfig(
        policy=POLICY,
        hs256_secret=SECRET,
        public_keys=(("RS256", str(keys / "rsa.pem")), ("ES256", str(keys / "ec.pem"))),
    )
    app = create_app(Settings(gateway=GatewaySettings(), sources=tuple(city.specs()), auth=auth))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
            yield http


async def post(
    client: httpx.AsyncClient, headers: dict[str, str], body: dict[str, Any] = QUERY
) -> httpx.Response:
    return await client.post("/graphql", json=body, headers=headers)


def refused(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert "data" not in body
    assert [e["extensions"]["code"] for e in body["errors"]] == [code]
    assert "林" not in response.text


DEV = {"X-Purpose": "development"}


async def test_valid_hs256_token_reads_data(client: httpx.AsyncClient) -> None:
    response = await post(client, {"Authorization": f"Bearer {token()}", **DEV})
    assert response.status_code == 200
    assert response.json()["data"]["person"]["name"] == "林小雨"
    assert len(response.headers["x-request-id"]) >= 8


@pytest.mark.parametrize(("alg", "key"), [("RS256", RSA_KEY), ("ES256", EC_KEY)])
async def test_tokens_signed_by_configured_public_keys_are_accepted(
    client: httpx.AsyncClient, alg: str, key: Any
) -> None:
    response = await post(client, {"Authorization": f"Bearer {token(key=key, alg=alg)}", **DEV})
    assert response.status_code == 200
    assert response.json()["data"]["person"]["name"] == "林小雨"


def other_rsa() -> Any:
    return rsa.generate_private_key(65537, 2048)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer not-a-jwt"},
        {"Authorization": "Basic ZGV2OnB3"},
        {"Authorization": f"Bearer {token(exp=int(time.time()) - 3600)}"},
        {"Authorization": f"Bearer {token(aud='another-gateway')}"},
        {"Authorization": f"Bearer {token(key='a-different-secret-of-enough-length')}"},
        {"Authorization": f"Bearer {token(sub='stranger')}"},
        {"Authorization": f"Bearer {token(exp=None)}"},
        {"Authorization": f"Bearer {token(key=other_rsa(), alg='RS256')}"},
        {
            "Authorization": "Bearer "
            + jwt.encode({"sub": "developer", "aud": "govgraph", "exp": 2**40}, None, "none")
        },
        {"X-API-Key": "not-a-key"},
    ],
    ids=[
        "none",
        "malformed",
        "basic",
        "expired",
        "audience",
        "signature",
        "unknown-client",
        "no-exp",
        "foreign-rsa",
        "alg-none",
        "api-key",
    ],
)
async def test_bad_credentials_are_401_without_data(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await post(client, {**headers, **DEV})
    refused(response, 401, "UNAUTHENTICATED")
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_api_key_stored_as_hash_authenticates(client: httpx.AsyncClient) -> None:
    response = await post(client, {"X-API-Key": "demo-only-developer-api-key", **DEV})
    assert response.status_code == 200
    assert response.json()["data"]["person"]["name"] == "林小雨"


async def test_purpose_is_required(client: httpx.AsyncClient) -> None:
    refused(await post(client, {"Authorization": f"Bearer {token()}"}), 403, "PURPOSE_REQUIRED")


def message(response: httpx.Response) -> str:
    (error,) = response.json()["errors"]
    return str(error["message"])


async def test_a_purpose_the_client_is_not_granted_is_refused(client: httpx.AsyncClient) -> None:
    headers = {"Authorization": f"Bearer {token('enrollment')}", "X-Purpose": "development"}
    response = await post(client, headers)
    refused(response, 403, "PURPOSE_NOT_ALLOWED")
    # It says what the client may declare instead: its own purposes, no other client's.
    said = message(response)
    assert said == "Purpose 'development' is not granted to this client; use one of: enrollment_review."
    for other in ("talent_subsidy", "household_survey", "enterprise_service", "audit"):
        assert other not in said


async def test_a_purpose_outside_the_tokens_scope_is_refused(client: httpx.AsyncClient) -> None:
    headers = {"Authorization": f"Bearer {token(scope='something_else')}", **DEV}
    response = await post(client, headers)
    refused(response, 403, "PURPOSE_NOT_ALLOWED")
    assert message(response) == (
        "Purpose 'development' is not granted to this token; the token allows none of its client's purposes."
    )
    # A token limited to some of its client's purposes names those only.
    response = await post(client, {"Authorization": f"Bearer {token(scope='development')}", "X-Purpose": "x"})
    assert message(response) == "Purpose 'x' is not granted to this client; use one of: development."


@pytest.mark.parametrize(
    "header", [("X-Case-Id", "案件-1".encode()), ("X-Operator-Id", b"x" * 200), ("X-Case-Id", b"a\x01b")]
)
async def test_case_and_operator_headers_are_checked(
    client: httpx.AsyncClient, header: tuple[str, bytes]
) -> None:
    headers: dict[str, Any] = {"Authorization": f"Bearer {token()}", **DEV, header[0]: header[1]}
    refused(await client.post("/graphql", json=QUERY, headers=headers), 400, "BAD_USER_INPUT")


INTROSPECTION = {"query": "{ __schema { queryType { name } } }"}


async def test_introspection_answers_every_client_with_its_own_graph(client: httpx.AsyncClient) -> None:
    # tests/gateway/test_visible_schema.py checks every client's graph field by field.
    dev = await post(client, {"Authorization": f"Bearer {token()}", **DEV}, INTROSPECTION)
    assert dev.json()["data"]["__schema"]["queryType"]["name"] == "Query"
    enrolment = {"Authorization": f"Bearer {token('enrollment')}", "X-Purpose": "enrollment_review"}
    body = (await post(client, enrolment, INTROSPECTION)).json()
    assert body == {"data": {"__schema": {"queryType": {"name": "Query"}}}}
    person = await post(client, enrolment, {"query": '{ __type(name: "Person") { fields { name } } }'})
    fields = {f["name"] for f in person.json()["data"]["__type"]["fields"]}
    assert {"name", "guardians", "studentStatus", "socialInsurance"} <= fields
    assert not fields & {"portrait", "incomeTax", "legalRepresentativeOf"}  # not granted
    hidden = await post(client, enrolment, {"query": '{ __type(name: "Contribution") { name } }'})
    assert hidden.json() == {"data": {"__type": None}}
    spread = "query { ...F } fragment F on Query { __schema { types { name } } }"
    types = {
        t["name"]
        for t in (await post(client, enrolment, {"query": spread})).json()["data"]["__schema"]["types"]
    }
    assert {"Person", "SocialInsurance"} <= types
    assert not types & {"Contribution", "TaxPayment", "AccessEvent"}
    typename = await post(client, enrolment, {"query": "{ __typename }"})
    assert typename.json()["data"] == {"__typename": "Query"}


async def test_graphiql_page_needs_no_credentials_but_shows_no_data(client: httpx.AsyncClient) -> None:
    page = await client.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "graphiql" in page.text.lower()
    assert city.CHILD not in page.text


async def test_get_queries_need_credentials_too(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", params={"query": "{ __typename }"})
    refused(response, 401, "UNAUTHENTICATED")
    # Asking for HTML gets the static GraphiQL page (which opens the link), never the answer.
    page = await client.get("/graphql", params={"query": "{ __typename }"}, headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "__typename" not in page.text


def now() -> int:
    return int(time.time())


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        ({"exp": -10}, None),  # expired 10 s ago: within the 30 s leeway
        ({"exp": -60}, "The token has expired."),
        ({"nbf": 10}, None),  # valid from 10 s ahead: this host's clock may be behind
        ({"nbf": 60}, "The token is not valid yet."),
        ({"iat": 10}, None),
        ({"iat": 60}, "The token is not valid yet."),
    ],
    ids=["exp-10s", "exp-60s", "nbf+10s", "nbf+60s", "iat+10s", "iat+60s"],
)
async def test_clock_skew_is_tolerated_up_to_the_leeway(
    client: httpx.AsyncClient, claims: dict[str, int], message: str | None
) -> None:
    skewed = token(**{claim: now() + seconds for claim, seconds in claims.items()})
    response = await post(client, {"Authorization": f"Bearer {skewed}", **DEV})
    if message is None:
        assert response.status_code == 200
        assert response.json()["data"]["person"]["name"] == "林小雨"
    else:
        refused(response, 401, "UNAUTHENTICATED")
        assert response.json()["errors"][0]["message"] == message


async def test_the_leeway_is_a_setting() -> None:
    auth = AuthConfig(policy=POLICY, hs256_secret=SECRET, leeway=0)
    app = create_app(Settings(gateway=GatewaySettings(), sources=tuple(city.specs()), auth=auth))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as strict:
            late = await post(strict, {"Authorization": f"Bearer {token(exp=now() - 10)}", **DEV})
            fresh = await post(strict, {"Authorization": f"Bearer {token()}", **DEV})
    refused(late, 401, "UNAUTHENTICATED")
    assert fresh.status_code == 200


async def test_a_token_verified_before_is_refused_once_it_expires() -> None:
    auth = AuthConfig(policy=POLICY, hs256_secret=SECRET, leeway=0)
    app = create_app(Settings(gateway=GatewaySettings(), sources=tuple(city.specs()), auth=auth))
    short = token(exp=now() + 2)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as strict:
            first = await post(strict, {"Authorization": f"Bearer {short}", **DEV})
            again = await post(strict, {"Authorization": f"Bearer {short}", **DEV})  # remembered
            await asyncio.sleep(2.2)
            late = await post(strict, {"Authorization": f"Bearer {short}", **DEV})
    assert first.status_code == again.status_code == 200
    refused(late, 401, "UNAUTHENTICATED")
    assert late.json()["errors"][0]["message"] == "The token has expired."
