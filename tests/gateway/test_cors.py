"""CORS on /graphql (`[gateway] cors_origins`): preflights answered before credentials are
asked for, the headers on every answer an allowed page gets (refusals included), none for
any other origin or for the console, and origins checked as the file is read."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from gateway.config.settings import ConfigError, GatewaySettings, RateSettings, load_settings
from gateway.http.cors import MAX_AGE

from .support import DEVELOPER, gateway

APP = "https://enrol.example.gov.cn"
OTHER = "https://elsewhere.example.com"
QUERY = {"query": "{ __typename }"}
# What a browser app sends before a POST with its credentials and purpose.
PREFLIGHT = {
    "Origin": APP,
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization, content-type, x-purpose, x-case-id",
}


def code(response: httpx.Response) -> str:
    return str(response.json()["errors"][0]["extensions"]["code"])


def cors_headers(response: httpx.Response) -> set[str]:
    return {name for name in response.headers if name.startswith("access-control-")}


async def test_a_preflight_from_a_listed_origin_is_answered_without_credentials() -> None:
    async with gateway(gateway=GatewaySettings(cors_origins=(APP,))) as client:
        answer = await client.options("/graphql", headers=PREFLIGHT)
    assert answer.status_code == 204
    assert answer.headers["access-control-allow-origin"] == APP
    assert answer.headers["access-control-allow-methods"] == "GET, POST"
    allowed = {h.strip() for h in answer.headers["access-control-allow-headers"].split(",")}
    assert {
        "authorization",
        "content-type",
        "x-api-key",
        "x-purpose",
        "x-case-id",
        "x-operator-id",
    } <= allowed
    assert {"apollo-require-preflight", "x-request-id", "traceparent"} <= allowed
    assert answer.headers["access-control-max-age"] == str(MAX_AGE)
    assert "Origin" in answer.headers["vary"]
    assert "access-control-allow-credentials" not in answer.headers  # no cookies on /graphql


@pytest.mark.parametrize(
    ("preflight", "message"),
    [
        ({"Origin": OTHER}, f"Cross-origin requests from {OTHER} are not allowed."),
        (
            {"Access-Control-Request-Method": "PUT"},
            "PUT is not allowed from another origin; use GET or POST.",
        ),
        (
            {"Access-Control-Request-Headers": "x-purpose, x-forwarded-for"},
            "Header x-forwarded-for is not allowed from another origin.",
        ),
    ],
)
async def test_other_preflights_are_refused_with_a_code(preflight: dict[str, str], message: str) -> None:
    async with gateway(gateway=GatewaySettings(cors_origins=(APP,))) as client:
        answer = await client.options("/graphql", headers={**PREFLIGHT, **preflight})
    assert answer.status_code == 403
    assert answer.json() == {"errors": [{"message": message, "extensions": {"code": "CROSS_ORIGIN"}}]}
    assert "access-control-allow-origin" not in answer.headers


async def test_by_default_there_is_no_cors_at_all() -> None:
    async with gateway() as client:
        preflight = await client.options("/graphql", headers=PREFLIGHT)
        refused = await client.post("/graphql", json=QUERY, headers={"Origin": APP})
        answered = await client.post("/graphql", json=QUERY, headers={**DEVELOPER, "Origin": APP})
    assert preflight.status_code == 403
    assert code(preflight) == "CROSS_ORIGIN"
    assert refused.status_code == 401
    assert answered.status_code == 200
    for response in (preflight, refused, answered):
        assert cors_headers(response) == set()
        assert "origin" not in response.headers.get("vary", "").lower()


async def test_every_answer_to_a_listed_origin_is_readable_refusals_included() -> None:
    tight = RateSettings(rate=0.5, burst=1)
    async with gateway(gateway=GatewaySettings(cors_origins=(APP,)), rate_limit=tight) as client:
        origin = {"Origin": APP}
        answers = {
            "200": await client.post("/graphql", json=QUERY, headers={**DEVELOPER, **origin}),
            "429": await client.get("/graphql", params=QUERY, headers={**DEVELOPER, **origin}),
            "401": await client.post("/graphql", json=QUERY, headers=origin),
            "403": await client.post(
                "/graphql", json=QUERY, headers={"Authorization": DEVELOPER["Authorization"], **origin}
            ),
            "405": await client.put("/graphql", json=QUERY, headers=origin),
        }
    assert [str(a.status_code) for a in answers.values()] == list(answers)
    assert answers["429"].headers["retry-after"]
    for name, answer in answers.items():
        assert answer.headers["access-control-allow-origin"] == APP, name
        exposed = {h.strip() for h in answer.headers["access-control-expose-headers"].split(",")}
        assert exposed == {"x-request-id", "retry-after", "www-authenticate"}, name
        assert "Origin" in answer.headers["vary"], name
        assert answer.headers["x-request-id"], name


async def test_another_origin_gets_the_answer_but_no_cors_headers() -> None:
    async with gateway(gateway=GatewaySettings(cors_origins=(APP,))) as client:
        answer = await client.post("/graphql", json=QUERY, headers={**DEVELOPER, "Origin": OTHER})
        same = await client.post("/graphql", json=QUERY, headers=DEVELOPER)  # not from a page
    for response in (answer, same):
        assert response.status_code == 200
        assert cors_headers(response) == set()
        assert "Origin" in response.headers["vary"]  # a cache keeps answers per origin


async def test_the_console_is_left_out() -> None:
    async with gateway(gateway=GatewaySettings(cors_origins=(APP,))) as client:
        preflight = await client.options("/console/graphql", headers=PREFLIGHT)
        post = await client.post("/console/graphql", json=QUERY, headers={"Origin": APP})
        page = await client.get("/console", headers={"Origin": APP})
    for response in (preflight, post, page):
        assert cors_headers(response) == set(), response.request.url


# [gateway] cors_origins in the file ---------------------------------------------------------

CONFIG = """\
[gateway]
cors_origins = {origins}

[sources.tax]
kind = "memory"
[sources.tax.entities.taxpayer]
key = "credit_code"

[audit]
mode = "off"
"""


def origins(tmp_path: Path, value: str) -> tuple[str, ...]:
    path = tmp_path / "govgraph.toml"
    path.write_text(CONFIG.format(origins=value), encoding="utf-8")
    return load_settings(path, {}).gateway.cors_origins


def test_origins_are_read_as_browsers_write_them(tmp_path: Path) -> None:
    written = '["HTTPS://Enrol.Example.gov.cn:443", "http://127.0.0.1:5173", "http://[::1]:8080"]'
    assert origins(tmp_path, written) == (APP, "http://127.0.0.1:5173", "http://[::1]:8080")
    assert origins(tmp_path, "[]") == ()


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ('["*"]', "gateway.cors_origins[0]: '*' is not accepted"),
        (
            '["https://enrol.example.gov.cn/"]',
            "no path, query or fragment: write 'https://enrol.example.gov.cn'",
        ),
        ('["https://enrol.example.gov.cn/apply"]', "no path"),
        ('["enrol.example.gov.cn"]', "gateway.cors_origins[0]: must be an origin, scheme://host[:port]"),
        ('["https://ok.example", "ftp://files.example"]', "gateway.cors_origins[1]: must be an origin"),
        ('["https://*.example.gov.cn"]', "must be an origin"),
        ('["https://user@enrol.example.gov.cn"]', "must be an origin"),
        ('["https://enrol.example.gov.cn:0"]', "must be an origin"),
        ('["null"]', "must be an origin"),
        ('"https://enrol.example.gov.cn"', "gateway.cors_origins: must be a list of origins"),
    ],
)
def test_anything_but_an_origin_stops_start_up(tmp_path: Path, value: str, problem: str) -> None:
    with pytest.raises(ConfigError) as refused:
        origins(tmp_path, value)
    assert problem in str(refused.value)
    assert "govgraph.toml:2:" in str(refused.value)  # the line of the key
