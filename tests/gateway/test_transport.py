"""GraphQL over HTTP: media types, methods, status codes and malformed requests; `/`."""

from __future__ import annotations

import httpx
import pytest

from gateway.app import create_app
from gateway.config.settings import GatewaySettings
from tests.resolvers.city import CHILD

from .support import DEVELOPER, gateway, settings

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
    assert invalid.status_code == unparsable.status_code == 400
    assert code(invalid) == "GRAPHQL_VALIDATION_FAILED"
    assert code(unparsable) == "GRAPHQL_PARSE_FAILED"
    assert plain.status_code == 200  # application/json: 200 for a request error, as the spec says
    assert code(plain) == "GRAPHQL_PARSE_FAILED"
    for response in (invalid, unparsable, plain):
        assert "data" not in response.json()  # nothing ran: no data entry at all


BAD_LITERAL = '{ person(id: "110101200001011234") { name } }'


@pytest.mark.parametrize(
    ("query", "code_", "where"),
    [
        ("{ person(id: ", "GRAPHQL_PARSE_FAILED", {"line": 1, "column": 14}),
        ("{\n  person { name }\n}", "GRAPHQL_VALIDATION_FAILED", {"line": 2, "column": 3}),
        ("{ persn { name } }", "GRAPHQL_VALIDATION_FAILED", {"line": 1, "column": 3}),
        (BAD_LITERAL, "GRAPHQL_VALIDATION_FAILED", {"line": 1, "column": 14}),
        (
            '{ enterprise(creditCode: "123") { name } }',
            "GRAPHQL_VALIDATION_FAILED",
            {"line": 1, "column": 26},
        ),
    ],
)
async def test_request_errors_have_codes_and_locations(query: str, code_: str, where: dict[str, int]) -> None:
    accept = {**DEVELOPER, "Accept": "application/graphql-response+json"}
    async with gateway() as client:
        response = await client.post("/graphql", json={"query": query}, headers=accept)
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == code_
    assert error["locations"] == [where]


async def test_a_bad_id_in_variables_is_bad_user_input_without_data() -> None:
    accept = {**DEVELOPER, "Accept": "application/graphql-response+json"}
    async with gateway() as client:
        response = await client.post(
            "/graphql", json={"query": QUERY, "variables": {"id": "123"}}, headers=accept
        )
    assert response.status_code == 400
    body = response.json()
    assert "data" not in body
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "must be 18 characters" in body["errors"][0]["message"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"query": "query A { __typename } query B { __typename }"}, "several operations (A, B)"),
        ({"query": "query A { __typename }", "operationName": "B"}, 'no operation named "B"'),
    ],
)
async def test_the_operation_to_run_must_be_unambiguous(body: dict[str, str], message: str) -> None:
    async with gateway() as client:
        plain = await client.post("/graphql", json=body, headers=DEVELOPER)
        strict = await client.post(
            "/graphql", json=body, headers={**DEVELOPER, "Accept": "application/graphql-response+json"}
        )
        named = await client.post("/graphql", json={**body, "operationName": "A"}, headers=DEVELOPER)
    assert (plain.status_code, strict.status_code) == (200, 400)
    for response in (plain, strict):
        assert "data" not in response.json()
        assert code(response) == "OPERATION_RESOLUTION_FAILURE"
        assert message in response.json()["errors"][0]["message"]
    assert named.json() == {"data": {"__typename": "Query"}}


async def test_a_mutation_sent_with_get_is_a_wrong_method() -> None:
    async with gateway() as client:
        response = await client.get(
            "/graphql", params={"query": "mutation { __typename }"}, headers=DEVELOPER
        )
    assert response.status_code == 405
    assert code(response) == "METHOD_NOT_ALLOWED"
    assert response.headers["allow"] == "POST"


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
    assert code(unknown) == "OPERATION_RESOLUTION_FAILURE"
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


class BrokenStore:
    """A persisted-query store that fails as a bug would."""

    async def get(self, digest: str) -> str | None:
        raise RuntimeError("not a client's doing")

    async def put(self, digest: str, text: str) -> None:
        raise RuntimeError("not a client's doing")

    async def aclose(self) -> None:
        return None


async def test_a_gateway_failure_before_execution_is_500_not_a_client_error() -> None:
    app = create_app(settings())
    app.state.runtime.persisted = BrokenStore()
    hashed = {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "a" * 64}}}
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as client,
    ):
        strict = await client.post(
            "/graphql", json=hashed, headers={**DEVELOPER, "Accept": "application/graphql-response+json"}
        )
        plain = await client.post("/graphql", json=hashed, headers=DEVELOPER)
    assert strict.status_code == 500
    assert code(strict) == code(plain) == "INTERNAL_SERVER_ERROR"
    assert "not a client's doing" not in strict.text
    assert plain.status_code == 200  # application/json: errors in the body, as ever
