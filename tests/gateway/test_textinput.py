"""gateway/execution/textinput.py on a schema with what the graph does not have yet: text in lists
and in input objects, with maxima declared on input fields."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
import strawberry
from graphql import parse
from strawberry.extensions import ValidationCache

from gateway.compat import graphql_schema
from gateway.execution.textcheck import text_problem, unpaired_surrogate
from gateway.execution.textinput import TextInput, TextRules
from resolvers.directives import MaxLength, max_length


@strawberry.input
class Filter:
    name: str = strawberry.field(directives=[MaxLength(chars=4)])
    tags: list[str] | None = None  # no declaration: the rules' default maximum


RESOLVED: list[str] = []


@strawberry.type
class Lookup:
    @strawberry.field
    def names(self, names: Annotated[list[str], max_length(6)]) -> int:
        RESOLVED.append("names")
        return len(names)

    @strawberry.field
    def find(self, where: list[Filter]) -> int:
        RESOLVED.append("find")
        return len(where)


NESTED = strawberry.Schema(
    query=Lookup, extensions=[lambda: ValidationCache(maxsize=16), lambda: TextInput(TextRules(10))]
)


@pytest.mark.parametrize(
    ("document", "variables", "message"),
    [
        ('{ names(names: ["ok", "toolong"]) }', {}, "Argument names(names:)[1] is 7 characters long"),
        ("query($n: [String!]!) { names(names: $n) }", {"n": ["ok", "\x00x"]}, "Variable $n[1] contains"),
        ("query($n: [String!]!) { names(names: $n) }", {"n": "\x00"}, "Variable $n contains"),
        ('query($n: String!) { names(names: ["a", $n]) }', {"n": "1234567"}, "$n is 7 characters"),
        ('{ find(where: [{name: "abcde"}]) }', {}, "Argument find(where:)[0].name is 5 characters"),
        (
            "query($w: [Filter!]!) { find(where: $w) }",
            {"w": [{"name": "ok", "tags": ["a", "b\x1f"]}]},
            "Variable $w[0].tags[1] contains a control character (U+001F)",
        ),
        (
            "query($x: String!) { find(where: {name: $x}) }",
            {"x": "abcde"},
            "$x is 5 characters long; at most 4",
        ),
        ('query($x: String! = "abcde") { find(where: {name: $x}) }', {}, "The default value of $x is 5"),
        ('query($t: [String!] = ["\\u0000"]) { find(where: {name: "a", tags: $t}) }', {}, "value of $t[0]"),
    ],
)
async def test_strings_nested_in_lists_and_input_objects(
    document: str, variables: dict[str, Any], message: str
) -> None:
    RESOLVED.clear()
    result = await NESTED.execute(document, variable_values=variables)
    assert result.data is None
    assert result.errors is not None
    (error,) = result.errors
    assert error.extensions is not None
    assert error.extensions["code"] == "BAD_USER_INPUT"
    assert message in error.message, error.message
    assert not RESOLVED


def test_text_problems_name_the_character_never_the_text() -> None:
    assert text_problem("3502\t11\n", 8) is None
    assert text_problem("户号", 2) is None
    assert text_problem("😀", 1) is None
    problem = text_problem("ab\rsecret", 32)
    assert problem is not None
    assert problem[0].startswith("contains a control character (U+000D) at character 3")
    problem = text_problem("a\udfffsecret", 32)
    assert problem is not None
    assert "unpaired surrogate (U+DFFF) at character 2" in problem[0]
    assert text_problem("abc", 2) == ("is 3 characters long; at most 2 are allowed", {"max": 2, "actual": 3})
    for problem in (text_problem("\x9fsecret", 32), text_problem("secret" * 9, 32)):
        assert problem is not None
        assert "secret" not in problem[0]


def test_unpaired_surrogates_are_found_with_their_path() -> None:
    assert unpaired_surrogate(b'{"variables": {"ids": ["a", "b\\ud800"]}}') == ("`variables.ids[1]`", 0xD800)
    assert unpaired_surrogate('{"n": "\\udc00"}', "variables") == ("`variables.n`", 0xDC00)
    assert unpaired_surrogate('{"a": {"\\ud800": 1}}') == ("a key in `a`", 0xD800)
    assert unpaired_surrogate('"\\ud800"') == ("the body", 0xD800)
    assert unpaired_surrogate('{"n": "\\ud83d\\ude00"}') is None  # a pair is one character
    assert unpaired_surrogate(b"{not json \\ud800") is None


def test_a_documents_plan_is_kept_and_each_check_builds_its_own_errors() -> None:
    rules = TextRules(10, maxsize=2)
    schema = graphql_schema(NESTED)
    query = '{ names(names: ["12345678"]) }'
    document = parse(query)
    first = rules.check(schema, query, document, None, None)
    first.clear()  # what one client's answer does to its errors...
    second = rules.check(schema, query, document, None, None)
    assert len(second) == 1
    assert "is 8 characters long" in second[0].message
    kept = rules.plan(schema, query, document)
    assert rules.plan(schema, query, document) is kept
    for other in ("{ a: names(names: []) }", "{ b: names(names: []) }"):  # the LRU holds two
        rules.plan(schema, other, parse(other))
    assert rules.plan(schema, query, document) is not kept
