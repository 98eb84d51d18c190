"""GraphQL over HTTP: media types, methods, status codes and malformed requests; `/`."""

from __future__ import annotations

import pytest

from gateway.config.settings import GatewaySettings
from tests.resolvers.city import CHILD

from .support import DEVELOPER, gateway

QUERY = "query($id: ResidentId!) { person(id: $id) { name } }"


def code(response: object) -> str:
    body = response.json()  # type: ignore[attr-defined]
    return str(body["errors"][0]["extensions"]["code"])


async def test_post_json_and_get_both_answer_queries() -> None:
    async with gateway() as client:
        post = await client.post(
            "/graphql", json={"query": QUERY, "variables": {"id": CHILD}}, headers=DEVELOPER
        )
        get = await client.get(
            "/graphql", params={"query": QUERY, "variables": f'{{"id": "{CHILD}"}}'}, headers=DEVELOPER
        )
    assert post.status_code == get.status_code == 200
    assert post.json()["data"] == get.json()["data"] == {"person": {"name": "林小雨"}}
    assert post.headers["content-type"].startswith("application/json")


async def test_graphql_response_media_type_and_its_status_codes() -> None:
    accept = {**DEVELOPER, "Accept": "application/graphql-response+json"}
    async with gateway() as client:
        ok = await client.post("/graphql", json={"query": QUERY, "variables": {"id": CHILD}}, headers=accept)
        invalid = await client.post("/graphql", json={"query": "{ person { name } }"}, headers=accept)
        unparsable = await client.post("/graphql", json={"query": "{ person("}, headers=accept)
        plain = await client.post("/graphql", json={"query": "{ person("}, headers=DEVELOPER)
    assert ok.status_code == 200
    assert ok.headers["content-type"].startswith("application/graphql-response+json")
    assert invalid.status_code == 400
    assert code(invalid) == "BAD_USER_INPUT"
    assert unparsable.status_code == 400
    assert code(unparsable) == "BAD_USER_INPUT"
    assert plain.status_code == 200
    assert code(plain) == "BAD_USER_INPUT"


@pytest.mark.parametrize(
    ("content", "content_type", "status", "error"),
    [
        (b'{"query": "{ __typename }"}', "text/plain", 415, "UNSUPPORTED_MEDIA_TYPE"),
        (b"query=%7B__typename%7D", "application/x-www-form-urlencoded", 415, "UNSUPPORTED_MEDIA_TYPE"),
        (b'{"query": "{ __typename }"', "application/json", 400, "BAD_USER_INPUT"),
        (b'{"variables": {}}', "application/json", 400, "BAD_USER_INPUT"),
        (b'{"query": 42}', "application/json", 400, "BAD_USER_INPUT"),
        (b'{"query": "{ __typename }", "variables": [1]}', "application/json", 400, "BAD_USER_INPUT"),
        (b'{"query": "{ __typename }", "extensions": "x"}', "application/json", 400, "BAD_USER_INPUT"),
        (b'"just a string"', "application/json", 400, "BAD_USER_INPUT"),
        (b"[]", "application/json", 400, "BAD_USER_INPUT"),
        (b'{"query": "{ __typename }", "operationName": 7}', "application/json", 400, "BAD_USER_INPUT"),
    ],
)
async def test_malformed_requests_get_coded_json_errors(
    content: bytes, content_type: str, status: int, error: str
) -> None:
    async with gateway() as client:
        response = await client.post(
            "/graphql", content=content, headers={**DEVELOPER, "Content-Type": content_type}
        )
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/json")
    assert code(response) == error


async def test_unknown_operation_name_and_methods() -> None:
    async with gateway() as client:
        unknown = await client.post(
            "/graphql", json={"query": "query A { __typename }", "operationName": "B"}, headers=DEVELOPER
        )
        put = await client.put("/graphql", json={"query": "{ __typename }"}, headers=DEVELOPER)
        bad_variables = await client.get(
            "/graphql", params={"query": QUERY, "variables": "{not json"}, headers=DEVELOPER
        )
    assert code(unknown) == "BAD_USER_INPUT"
    assert put.status_code == 405
    assert code(put) == "METHOD_NOT_ALLOWED"
    assert bad_variables.status_code == 400
    assert code(bad_variables) == "BAD_USER_INPUT"


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "HEAD"])
async def test_other_methods_are_405_before_credentials_are_asked_for(method: str) -> None:
    async with gateway() as client:
        anonymous = await client.request(method, "/graphql")
        known = await client.request(method, "/graphql", headers=DEVELOPER)
    for response in (anonymous, known):
        assert response.status_code == 405
        assert response.headers["allow"] == "GET, POST, OPTIONS"
        if method != "HEAD":
            assert response.json() == {
                "errors": [
                    {
                        "message": f"{method} is not allowed on /graphql (allowed: GET, POST, OPTIONS).",
                        "extensions": {"code": "METHOD_NOT_ALLOWED"},
                    }
                ]
            }


async def test_options_says_what_is_allowed() -> None:
    async with gateway() as client:
        response = await client.options("/graphql")
    assert response.status_code == 204
    assert response.headers["allow"] == "GET, POST, OPTIONS"


# `/`: where people type the address ----------------------------------------------------------


async def test_the_root_sends_browsers_on_to_graphiql() -> None:
    async with gateway() as client:
        get = await client.get("/")
        head = await client.head("/")
        link = await client.get("/", params={"query": "{ __typename }"})
        post = await client.post("/", json={"query": "{ __typename }"})
    for response in (get, head):
        assert response.status_code == 307  # temporary: the GraphiQL switch can change
        assert response.headers["location"] == "/graphql"
    assert link.headers["location"] == "/graphql?query=%7B+__typename+%7D"
    assert post.status_code == 405
    assert post.headers["allow"] == "GET, HEAD"
    assert code(post) == "METHOD_NOT_ALLOWED"


async def test_without_graphiql_the_root_is_a_coded_404() -> None:
    async with gateway(gateway=GatewaySettings(graphiql=False)) as client:
        get = await client.get("/")
        head = await client.head("/")
    assert get.status_code == head.status_code == 404
    assert get.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert "location" not in get.headers
