"""Each client sees its own graph: introspection and "Did you mean" hints follow the
client's grants, while execution does not change.

What each client should see is worked out here from schema.graphql's declarations and
policy.toml's grants directly (`Expected`), not from the gateway's code."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass

import pytest
from graphql import (
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    get_introspection_query,
    get_named_type,
    is_specified_directive,
    specified_scalar_types,
    validate_schema,
)
from graphql import build_schema as from_sdl

from gateway.compat import graphql_schema
from gateway.execution.visible import MAX_SCHEMAS, VisibleSchemas, visible_schema
from gateway.policy.model import load_policy
from tests.gateway.support import ROOT
from tests.resolvers import city

SDL = from_sdl((ROOT / "schema.graphql").read_text(encoding="utf-8"))
POLICY = tomllib.loads((ROOT / "policy.toml").read_text(encoding="utf-8"))
INTROSPECTION = get_introspection_query(descriptions=True)
MASKED_NOTE = "Masked for this client:"
SCALARS = set(specified_scalar_types)
SCHEMA_CORE = graphql_schema(city.SCHEMA)  # the gateway's schema, as graphql-core holds it


def declared(field: GraphQLField) -> dict[str, dict[str, str]]:
    """The directives schema.graphql applies to `field`: name -> arguments."""
    assert field.ast_node is not None
    return {
        d.name.value: {a.name.value: getattr(a.value, "value", "") for a in d.arguments or ()}
        for d in field.ast_node.directives or ()
    }


def objects(schema: GraphQLSchema) -> dict[str, GraphQLObjectType]:
    return {
        name: t
        for name, t in schema.type_map.items()
        if isinstance(t, GraphQLObjectType) and not name.startswith("__")
    }


# Link scope -> the scopes its @openedBy names.
LINKS = {
    d["scope"]["name"]: d["openedBy"]["scopes"].split()
    for t in objects(SDL).values()
    for d in map(declared, t.fields.values())
    if "openedBy" in d
}
# Types the directive definitions use (they stay in every client's schema).
DIRECTIVE_TYPES = {
    get_named_type(a.type).name
    for d in SDL.directives
    if not is_specified_directive(d)
    for a in d.args.values()
}


@dataclass(frozen=True)
class Expected:
    """A client's graph, as schema.graphql and its grant say it should be."""

    fields: Mapping[str, frozenset[str]]  # object type -> its fields shown
    types: frozenset[str]  # every named type shown, built-in scalars left out
    masked: Mapping[tuple[str, str], str]  # (type, field) shown masked -> the mask rule

    @classmethod
    def everything(cls) -> Expected:
        fields = {name: frozenset(t.fields) for name, t in objects(SDL).items()}
        types = frozenset(n for n in SDL.type_map if not n.startswith("__")) - SCALARS
        return cls(fields, types, {})

    @classmethod
    def of(cls, full: list[str], masked: list[str]) -> Expected:
        levels = {**dict.fromkeys(full, "full"), **dict.fromkeys(masked, "masked")}

        def covers(opener: str, scope: str) -> bool:
            return scope == opener or scope.startswith(opener + ".")

        opened = {
            link for link, openers in LINKS.items() if any(covers(o, s) for o in openers for s in levels)
        }
        scopes = set(levels) | opened
        shown: dict[str, dict[str, GraphQLField]] = {
            name: {
                f: field
                for f, field in t.fields.items()
                if "public" in declared(field) or declared(field)["scope"]["name"] in scopes
            }
            for name, t in objects(SDL).items()
        }
        while True:  # a type left with no field goes, with the fields that lead to it
            empty = {name for name, fields in shown.items() if not fields}
            leading = [
                (name, f)
                for name, fields in shown.items()
                for f, field in fields.items()
                if get_named_type(field.type).name in empty
            ]
            if not leading:
                break
            for name, f in leading:
                del shown[name][f]
        reached: set[str] = set()
        pending: list[GraphQLNamedType] = [SDL.type_map["Query"]]
        while pending:
            t = pending.pop()
            if t.name in reached:
                continue
            reached.add(t.name)
            if isinstance(t, GraphQLObjectType):
                for field in shown[t.name].values():
                    pending.append(get_named_type(field.type))
                    pending.extend(get_named_type(a.type) for a in field.args.values())
            elif isinstance(t, GraphQLInputObjectType):
                pending.extend(get_named_type(f.type) for f in t.fields.values())
        masks = {
            (name, f): declared(field)["mask"]["rule"]
            for name, fields in shown.items()
            if name in reached
            for f, field in fields.items()
            if "mask" in declared(field) and levels.get(declared(field)["scope"]["name"]) == "masked"
        }
        fields = {name: frozenset(shown[name]) for name in reached if name in shown}
        return cls(fields, frozenset((reached | DIRECTIVE_TYPES) - SCALARS), masks)


def grant_of(client: str) -> tuple[str, Expected]:
    (grant,) = (g for g in POLICY["grants"] if g["client"] == client)
    purpose = grant["purpose"]
    if POLICY["purposes"][purpose].get("introspection", False):
        return purpose, Expected.everything()
    return purpose, Expected.of(grant.get("full", []), grant.get("masked", []))


CLIENTS = list(POLICY["clients"])


def test_every_client_of_the_policy_is_checked() -> None:
    assert CLIENTS == [
        "enrollment",
        "talent-policy",
        "grid-worker",
        "enterprise-desk",
        "developer",
        "auditor",
    ]
    # The oracle is not trivial: clients differ, and some see fields masked.
    graphs = [grant_of(c)[1] for c in CLIENTS]
    assert len({frozenset(g.fields.items()) for g in graphs}) == len(CLIENTS)
    assert all(g.fields["Query"] for g in graphs)
    assert grant_of("talent-policy")[1].masked[("Person", "phone")] == "PHONE"


def test_each_clients_schema_is_a_valid_schema() -> None:
    schemas = VisibleSchemas(SCHEMA_CORE)
    policy = load_policy(ROOT / "policy.toml", city.SCHEMA.scopes)
    for (client_id, purpose), grants in policy.grants.items():
        visible = schemas.for_grants(grants, policy.purposes[purpose].introspection)
        checked = GraphQLSchema(**{**visible.to_kwargs(), "assume_valid": False})
        assert validate_schema(checked) == [], client_id


def shown_by(schema: GraphQLSchema) -> Expected:
    fields = {name: frozenset(t.fields) for name, t in objects(schema).items()}
    types = frozenset(n for n in schema.type_map if not n.startswith("__")) - SCALARS
    masked = {
        (name, f): re.findall(rf"{MASKED_NOTE} (\w+) rule", field.description)[0]
        for name, t in objects(schema).items()
        for f, field in t.fields.items()
        if MASKED_NOTE in (field.description or "")
    }
    return Expected(fields, types, masked)


@pytest.mark.parametrize("level", ["full", "masked"])
def test_each_scope_granted_alone_shows_what_the_schema_file_says(level: str) -> None:
    # Single scopes reach what no shipped grant does: education.student_status without
    # education.schools leaves School with no field, so StudentStatus.school goes too.
    declarations = VisibleSchemas(SCHEMA_CORE).declarations
    for scope in sorted(city.SCHEMA.scopes):
        visible = visible_schema(SCHEMA_CORE, declarations, {scope: level})
        full, masked = ([scope], []) if level == "full" else ([], [scope])
        assert shown_by(visible) == Expected.of(full, masked), scope
    alone = shown_by(visible_schema(SCHEMA_CORE, declarations, {"education.student_status": "full"}))
    assert "School" not in alone.types
    assert alone.fields["StudentStatus"] == {
        "grade", "classNumber", "enrolledMonth", "status", "boarding", "enrolmentMode", "migrantChild"
    }  # fmt: skip


def test_each_clients_schema_is_what_its_grant_shows() -> None:
    schemas = VisibleSchemas(SCHEMA_CORE)
    policy = load_policy(ROOT / "policy.toml", city.SCHEMA.scopes)
    for (client_id, purpose), grants in policy.grants.items():
        visible = schemas.for_grants(grants, policy.purposes[purpose].introspection)
        assert shown_by(visible) == grant_of(client_id)[1], client_id


def test_one_schema_per_grant_set_kept_and_bounded() -> None:
    schemas = VisibleSchemas(SCHEMA_CORE)
    talent = {"person.identity": "full", "social_insurance.verdict": "full"}
    first = schemas.for_grants(talent)
    assert schemas.for_grants(dict(talent)) is first  # an equal mapping: the same schema
    assert schemas.for_grants({**talent, "person.contact": "masked"}) is not first
    assert schemas.for_grants({**talent, "social_insurance.verdict": "masked"}) is not first
    assert schemas.for_grants(talent, may_introspect=True) is SCHEMA_CORE
    assert schemas.cached() == 3
    scopes = sorted(city.SCHEMA.scopes)
    for n in range(MAX_SCHEMAS + 10):
        schemas.for_grants({scopes[n % len(scopes)]: "full", f"x{n}": "full"})
    assert schemas.cached() == MAX_SCHEMAS
    assert schemas.for_grants(talent) is not first  # evicted, built again


def test_the_builder_leaves_the_whole_schema_alone() -> None:
    before = {name: list(t.fields) for name, t in objects(SCHEMA_CORE).items()}
    fields = {name: dict(t.fields) for name, t in objects(SCHEMA_CORE).items()}
    visible = visible_schema(SCHEMA_CORE, VisibleSchemas(SCHEMA_CORE).declarations, {"audit.read": "full"})
    assert set(objects(visible)) == {"Query", "AccessEvent"}
    assert {name: list(t.fields) for name, t in objects(SCHEMA_CORE).items()} == before
    assert all(t.fields[f] is fields[name][f] for name, t in objects(SCHEMA_CORE).items() for f in t.fields)
