"""What the graph declares for the gateway, next to its fields and types, and what the
gateway makes of it: deny by default at build, verdicts, link families, list sizes."""

from __future__ import annotations

from typing import Any

import pytest
import strawberry
from graphql import get_nullable_type, is_list_type, parse

from gateway.compat import declared, graphql_schema
from gateway.execution.limits import measure
from gateway.policy.declarations import object_types, read_declarations
from gateway.policy.enforcement import attach_policy
from resolvers.directives import ListSize, list_size, public, scope, verdict
from resolvers.subjects import Located, Subject
from tests.resolvers.city import SCHEMA


def test_every_field_of_the_graph_declares_a_scope_or_public() -> None:
    # The graph builds, so nothing is undeclared; what is public is this and nothing more:
    # districts' names, and the resource catalogue (what data exists, never whose).
    fields = read_declarations(graphql_schema(SCHEMA)).fields
    public = {c for c, f in fields.items() if f.scope is None}
    assert {c for c in public if not c.startswith("Catalog")} == {
        "District.code",
        "District.name",
        "District.inXiamen",
        "Query.catalog",
    }
    assert {c.partition(".")[0] for c in public if c.startswith("Catalog")} == {
        "Catalog",
        "CatalogDepartment",
        "CatalogResource",
        "CatalogEntry",
        "CatalogItem",
        "CatalogCode",
    }
    query = graphql_schema(SCHEMA).query_type
    assert query is not None
    assert all(fields[f"Query.{name}"].scope is not None for name in query.fields if name != "catalog")
    assert fields["Query.accessLog"].scope == "audit.read"


@strawberry.type
class Thing:
    label: str = strawberry.field(directives=scope("thing.label"))
    secret: str


@strawberry.type
class Open:
    @strawberry.field(directives=scope("thing.label"))
    def thing(self) -> Thing:
        return Thing(label="a", secret="b")


@strawberry.type
class Tag:
    text: str = strawberry.field(directives=scope("place.name"))


@strawberry.type(name="Query")
class Unscoped:
    @strawberry.field(directives=public())
    def count(self) -> int:
        return 1

    @strawberry.field
    def things(self) -> list[Tag]:
        return []


def test_a_field_without_a_declaration_does_not_build() -> None:
    with pytest.raises(TypeError, match=r"^Thing\.secret declares neither @scope nor @public"):
        attach_policy(strawberry.Schema(query=Open))


def test_a_root_field_without_a_declaration_does_not_build() -> None:
    with pytest.raises(TypeError, match=r"^Query\.things declares neither @scope nor @public"):
        attach_policy(strawberry.Schema(query=Unscoped))


@strawberry.type(name="Query")
class Both:
    x: str = strawberry.field(directives=[*scope("thing.label"), *public()])


@strawberry.type(name="Query")
class Half(Subject):
    yes: bool = strawberry.field(directives=verdict("thing.verdict"))
    subject_id: strawberry.Private[str]

    @strawberry.field(directives=scope("thing.verdict"))
    def no(self, n: int) -> bool:
        return n > 0


@strawberry.type(name="Query")
class Linked:
    a: str = strawberry.field(directives=scope("thing.*", opened_by=["thing"]))
    b: str = strawberry.field(directives=scope("thing.*", opened_by=["thing", "other"]))


@strawberry.type(name="Query")
class Typo:
    a: str = strawberry.field(directives=scope("thing.*", opened_by=["thnig"]))


@strawberry.type(name="Query")
class Loose:  # not a Subject: a verdict here would answer about nobody in particular
    @strawberry.field(directives=verdict("thing.verdict"))
    def ok(self, n: int) -> bool:
        return n > 0


@pytest.mark.parametrize(
    ("root", "problem"),
    [
        (Both, r"Query\.x declares both @scope and @public"),
        (Half, r"Query\.no: scope 'thing.verdict' declares @verdict or @summary none here but '@verdict'"),
        (
            Linked,
            r"Query\.b: scope 'thing\.\*' declares @openedBy 'thing other' here but 'thing'",
        ),
        (Typo, r"Query\.a: @openedBy 'thnig' names no declared scope"),
        (Loose, r"Query\.ok: a verdict or summary must be on a Subject type"),
    ],
)
def test_inconsistent_declarations_do_not_build(root: type, problem: str) -> None:
    with pytest.raises(TypeError, match=problem):
        attach_policy(strawberry.Schema(query=root))


@strawberry.type
class Place(Located):
    name: str = strawberry.field(directives=scope("place.name"))
    subject_id: strawberry.Private[str]

    def districts(self) -> tuple[str | None, ...]:
        return ("350211",)


@strawberry.type(name="Query")
class Places:
    @strawberry.field(directives=scope("place.*", opened_by=["place"]))
    def place(self, key: str) -> Place | None:
        return Place(name=key, subject_id=key)

    @strawberry.field(directives=scope("place.name"))
    def label(self, key: str) -> Tag | None:
        return None


@strawberry.type(name="Query")
class Wandering:
    @strawberry.field(directives=scope("place.name"))
    def everywhere(self) -> list[Place]:
        return []


def test_subject_types_make_root_look_ups_and_located_ones_must_be_looked_up() -> None:
    surface = attach_policy(strawberry.Schema(query=Places))
    assert surface.lookups == {"place"}  # `label` takes a key too, but answers no Subject
    assert surface.scopes == {"place.*": frozenset(), "place.name": {"place.*"}}
    with pytest.raises(TypeError, match=r"Query\.everywhere: a root field of a Located type must look up"):
        attach_policy(strawberry.Schema(query=Wandering))


@pytest.mark.parametrize(
    ("granted", "opens"),
    [
        ("social_insurance.verdict", {"person.*", "social_insurance.*"}),
        ("person.hukou.verdict", {"person.*"}),
        ("household.register", {"person.*"}),
        ("tax.income", {"person.*"}),  # about a person, unlike the other tax scopes
        ("tax.rating.verdict", {"enterprise.*"}),
        ("enterprise.insured_headcount", {"enterprise.*"}),  # not a person's social insurance
        ("enterprise.legal_representative", {"enterprise.*"}),
        ("education.schools", set()),
        ("audit.read", set()),
    ],
)
def test_link_families_come_from_the_links_declarations(granted: str, opens: set[str]) -> None:
    assert SCHEMA.scopes[granted] == opens


def test_verdicts_and_summaries_are_the_declared_ones() -> None:
    assert set(SCHEMA.surface.pinnable) == {
        "Person.hasHukouIn",
        "SocialInsurance.hasContributed",
        "SocialInsurance.monthsContributed",
        "Enterprise.taxCreditAtLeast",
    }


def test_list_sizes_are_declared_on_lists_and_sized_by_list_arguments() -> None:
    declared_on = []
    for type_name, gtype in object_types(graphql_schema(SCHEMA)):
        for name, field in gtype.fields.items():
            size = declared(field, ListSize)
            if size is None:
                continue
            declared_on.append(f"{type_name}.{name}")
            assert is_list_type(get_nullable_type(field.type))
            assert bool(size.assumed) != bool(size.sized_by)
            if size.sized_by:
                assert is_list_type(get_nullable_type(field.args[size.sized_by].type))
    assert {"Query.persons", "Query.enterprises", "SocialInsurance.contributions"} <= set(declared_on)


@strawberry.type(name="Query")
class Sized:
    @strawberry.field(directives=[*public(), list_size(7)])
    def seven(self) -> list[Tag]:
        return []

    @strawberry.field(directives=[*public(), list_size(sized_by="keys")])
    def keyed(self, keys: list[str]) -> list[Tag]:
        return []

    @strawberry.field(directives=public())
    def unsized(self) -> list[Tag]:
        return []


@pytest.mark.parametrize(
    ("document", "variables", "cost"),
    [
        ("{ seven { __typename } }", {}, 1 + 7),
        ('{ keyed(keys: ["a", "b", "c"]) { __typename } }', {}, 1 + 3),
        ("query($k: [String!]!) { keyed(keys: $k) { __typename } }", {"k": ["a", "b"]}, 1 + 2),
        ("{ unsized { __typename } }", {}, 1 + 10),
    ],
)
def test_the_cost_estimate_reads_list_sizes_from_the_declarations(
    document: str, variables: dict[str, Any], cost: int
) -> None:
    schema = strawberry.Schema(query=Sized)
    assert measure(graphql_schema(schema), parse(document), None, variables)[2] == cost
