"""Text arguments are checked at the edge: control characters, unpaired surrogates and
over-long strings are BAD_USER_INPUT before any department is asked, by every route
(literals, variables, GET, batches), and the refusal names the argument or variable
without repeating the text."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx
import orjson
import pytest
import pytest_asyncio

from gateway.config.limits import Limits
from sources.stats import CallStats
from tests.resolvers import city
from tests.resolvers.city import FATHER, HOUSEHOLD

from .support import DEVELOPER, gateway, headers

STATS = CallStats()
MARKER = "evil-marker"  # part of every refused value: it must never come back


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with gateway(STATS) as http:
        yield http


def refused(response: httpx.Response, *fragments: str) -> list[dict[str, Any]]:
    """The errors of a whole-request refusal: BAD_USER_INPUT, no data, text not echoed."""
    body = response.json()
    assert body.get("data") is None, body
    errors: list[dict[str, Any]] = body["errors"]
    assert errors, errors
    assert {e["extensions"]["code"] for e in errors} == {"BAD_USER_INPUT"}, errors
    assert MARKER not in response.text
    for fragment in fragments:
        assert any(fragment in e["message"] for e in errors), (fragment, errors)
    return errors


# (GraphQL literal escape, the character as a Python str, how the message names it)
BAD = {
    "nul": ("\\u0000", "\x00", "control character (U+0000)"),
    "escape": ("\\u001B", "\x1b", "control character (U+001B)"),
    "carriage-return": ("\\r", "\r", "control character (U+000D)"),
    "backspace": ("\\b", "\b", "control character (U+0008)"),
    "delete": ("\\u007F", "\x7f", "control character (U+007F)"),
    "c1-next-line": ("\\u0085", "\x85", "control character (U+0085)"),
}


@pytest.mark.parametrize("kind", sorted(BAD))
async def test_control_characters_in_literals_are_refused_with_their_location(
    client: httpx.AsyncClient, kind: str
) -> None:
    escape, _, named = BAD[kind]
    STATS.reset()
    document = f'{{ household(number: "3502{escape}{MARKER}") {{ number }} }}'
    response = await client.post("/graphql", json={"query": document}, headers=DEVELOPER)
    (error,) = refused(response, "household(number:)", named)
    assert error["locations"] == [{"line": 1, "column": 21}]
    assert STATS.total() == 0


@pytest.mark.parametrize("kind", sorted(BAD))
async def test_control_characters_in_variables_are_refused(client: httpx.AsyncClient, kind: str) -> None:
    _, character, named = BAD[kind]
    STATS.reset()
    document = "query($code: String!) { school(code: $code) { name } }"
    response = await client.post(
        "/graphql",
        json={"query": document, "variables": {"code": f"35{character}{MARKER}"}},
        headers=DEVELOPER,
    )
    refused(response, "Variable $code", named)
    assert STATS.total() == 0


@pytest.mark.parametrize(
    ("document", "variables", "named"),
    [
        ("query($n: String!) { household(number: $n) { number } }", {"n": "3" * 33}, "$n is 33 characters"),
        ("query($c: String!) { school(code: $c) { name } }", {"c": "3" * 17}, "$c is 17 characters"),
        (
            "query($s: String!) { accessLog(subject: $s) { client } }",
            {"s": FATHER + " " * 15},
            "$s is 33 characters",
        ),
        (
            'query($id: ResidentId!) { person(id: $id) { hasHukouIn(district: "3502110") } }',
            {"id": FATHER},
            "hasHukouIn(district:) is 7 characters",
        ),
    ],
    ids=["household", "school", "accessLog", "hasHukouIn"],
)
async def test_strings_longer_than_the_declared_maximum_are_refused(
    client: httpx.AsyncClient, document: str, variables: dict[str, str], named: str
) -> None:
    STATS.reset()
    response = await client.post(
        "/graphql", json={"query": document, "variables": variables}, headers=DEVELOPER
    )
    (error,) = refused(response, named, "at most")
    assert error["extensions"]["max"] < error["extensions"]["actual"]
    assert STATS.total() == 0


async def test_arguments_without_a_declaration_get_the_default_maximum() -> None:
    document = "query($t: String!) { __type(name: $t) { name } }"
    body = {"query": document, "variables": {"t": "T" * 257}}
    async with gateway() as http:
        (error,) = refused(await http.post("/graphql", json=body, headers=DEVELOPER), "at most 256")
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "max": 256, "actual": 257}
    async with gateway(limits=replace(Limits(), text_chars=300)) as http:
        answer = (await http.post("/graphql", json=body, headers=DEVELOPER)).json()
        assert answer == {"data": {"__type": None}}


async def test_the_line_is_drawn_at_tab_newline_and_the_maximum_in_characters(
    client: httpx.AsyncClient,
) -> None:
    STATS.reset()
    document = "query($n: String!) { household(number: $n) { number } }"

    async def ask(number: str) -> httpx.Response:
        return await client.post(
            "/graphql", json={"query": document, "variables": {"n": number}}, headers=DEVELOPER
        )

    # Tab, newline and any script pass; the maximum counts characters, not UTF-8 bytes.
    for number in ("3502\t11", "3502\n11", "户号三五〇二", "😀" * 32, HOUSEHOLD):
        assert "errors" not in (await ask(number)).json(), number
    assert STATS.calls[("public_security", "household", "ok")] == 5
    refused(await ask("3502\r11"), "(U+000D) at character 5")
    refused(await ask("😀" * 33), "is 33 characters long")
    assert STATS.total() == 5


async def test_get_requests_are_checked(client: httpx.AsyncClient) -> None:
    STATS.reset()
    literal = {"query": f'{{ school(code: "35\\u0000{MARKER}") {{ name }} }}'}
    refused(await client.get("/graphql", params=literal, headers=DEVELOPER), "school(code:)", "U+0000")
    document = "query($c: String!) { school(code: $c) { name } }"
    variables = {"query": document, "variables": orjson.dumps({"c": "35\x07" + MARKER}).decode()}
    refused(await client.get("/graphql", params=variables, headers=DEVELOPER), "$c", "U+0007")
    long = {"query": document, "variables": orjson.dumps({"c": "3" * 100}).decode()}
    refused(await client.get("/graphql", params=long, headers=DEVELOPER), "$c is 100 characters")
    assert STATS.total() == 0


async def test_every_operation_of_a_batch_is_checked_on_its_own(client: httpx.AsyncClient) -> None:
    STATS.reset()
    document = "query($n: String!) { household(number: $n) { number } }"
    batch = [
        {"query": f'{{ household(number: "\\u0000{MARKER}") {{ number }} }}'},
        {"query": document, "variables": {"n": "\x00" + MARKER}},
        {"query": document, "variables": {"n": "9" * 40}},
    ]
    response = await client.post("/graphql", json=batch, headers=DEVELOPER)
    assert MARKER not in response.text
    answers = response.json()
    assert [a.get("data") for a in answers] == [None, None, None]
    assert [a["errors"][0]["extensions"]["code"] for a in answers] == ["BAD_USER_INPUT"] * 3
    assert STATS.total() == 0
    # A good operation beside a refused one is answered (a number nobody asked for yet,
    # so the department is asked, not the record cache).
    batch[0] = {"query": document, "variables": {"n": "350211000000777"}}
    answers = (await client.post("/graphql", json=batch, headers=DEVELOPER)).json()
    assert answers[0] == {"data": {"household": None}, "extensions": {"sources": {"public_security": "ok"}}}
    assert [a.get("data") for a in answers[1:]] == [None, None]
    assert STATS.calls == {("public_security", "household", "ok"): 1}


async def test_every_problem_is_reported_at_once(client: httpx.AsyncClient) -> None:
    STATS.reset()
    document = (
        'query($c: String!) { a: household(number: "\\u0000") { number } b: school(code: $c) { name }'
        ' c: school(code: "12345678901234567") { name } }'
    )
    response = await client.post(
        "/graphql", json={"query": document, "variables": {"c": "\x01"}}, headers=DEVELOPER
    )
    errors = refused(response)
    assert [e["message"].split(" ", 2)[1] for e in errors] == ["household(number:)", "school(code:)", "$c"]
    columns = [document.index('"\\u0000"') + 1, document.index('"1234') + 1]
    assert [e.get("locations") for e in errors] == [
        [{"line": 1, "column": columns[0]}],
        [{"line": 1, "column": columns[1]}],
        None,
    ]
    assert STATS.total() == 0


async def test_unpaired_surrogates_are_refused_saying_where(client: httpx.AsyncClient) -> None:
    """JSON can escape a lone surrogate (`\\ud800`); orjson refuses it, and the refusal
    says which variable holds one."""
    STATS.reset()
    document = "query($n: String!) { household(number: $n) { number } }"
    raw = b'{"query": "%s", "variables": {"n": "35\\ud800%s"}}' % (document.encode(), MARKER.encode())
    post = await client.post(
        "/graphql", content=raw, headers={**DEVELOPER, "Content-Type": "application/json"}
    )
    assert post.status_code == 400
    refused(post, "unpaired surrogate (U+D800) in `variables.n`")
    batch = b"[" + raw + b"," + raw.replace(b"\\ud800", b"\\udfff") + b"]"
    post = await client.post(
        "/graphql", content=batch, headers={**DEVELOPER, "Content-Type": "application/json"}
    )
    refused(post, "(U+D800) in `[0].variables.n`")
    params = {"query": document, "variables": '{"n": "\\udc00' + MARKER + '"}'}
    get = await client.get("/graphql", params=params, headers=DEVELOPER)
    refused(get, "unpaired surrogate (U+DC00) in `variables.n`")
    assert STATS.total() == 0


async def test_unpaired_surrogates_are_refused_in_process_too() -> None:
    """Callers that execute the schema directly (no JSON) meet the same check."""
    stats = CallStats()
    document = "query($n: String!) { household(number: $n) { number } }"
    result = await city.run(document, {"n": "35\ud800" + MARKER}, cat=city.catalog(stats))
    assert result.data is None
    assert result.errors is not None
    (error,) = result.errors
    assert error.extensions == {"code": "BAD_USER_INPUT"}
    assert "unpaired surrogate (U+D800) at character 3" in error.message
    assert MARKER not in error.message
    assert stats.total() == 0


async def test_one_clients_refused_document_says_the_same_to_the_next(client: httpx.AsyncClient) -> None:
    """The per-document plan is shared; what each client is told is built for it."""
    document = '{ household(number: "\\u0000") { number } nosuch }'
    first = await client.post("/graphql", json={"query": document}, headers=DEVELOPER)
    grid = headers("grid-worker", "household_survey")
    second = await client.post("/graphql", json={"query": document}, headers=grid)
    assert first.json()["errors"][0]["message"].startswith("Cannot query field 'nosuch'")
    assert second.json() == first.json()  # validation comes first, for every client
    document = '{ household(number: "\\u0000") { number } }'
    first = await client.post("/graphql", json={"query": document}, headers=DEVELOPER)
    second = await client.post("/graphql", json={"query": document}, headers=grid)
    assert second.json() == first.json()
    assert len(second.json()["errors"]) == 1
