"""Each client sees its own graph: introspection and "Did you mean" hints follow the
client's grants, while execution does not change.

What each client should see is worked out here from schema.graphql's declarations and
policy.toml's grants directly (`Expected`), not from the gateway's code."""

from __future__ import annotations

import re
import tomllib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
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

from gateway.app import create_app
from gateway.compat import graphql_schema
from gateway.config.settings import AuthConfig
from gateway.execution.visible import MAX_SCHEMAS, VisibleSchemas, visible_schema
from gateway.policy.model import load_policy
from tests.gateway.support import ROOT, SECRET, headers, settings
from tests.resolvers import city
from tests.resolvers.city import FATHER
from tests.waiting import until

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


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def client(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[httpx.AsyncClient]:
    # The enterprise desk runs registered operations only: here it may send text too, so
    # that its introspection can be asked (its grants are the shipped ones).
    text = (ROOT / "policy.toml").read_text(encoding="utf-8")
    assert "persisted_only = true" in text
    policy = tmp_path_factory.mktemp("policy") / "policy.toml"
    policy.write_text(text.replace("persisted_only = true", "persisted_only = false"), encoding="utf-8")
    auth = AuthConfig(policy=str(policy), hs256_secret=SECRET)
    app = create_app(settings(auth=auth))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
            yield http


async def introspect(http: httpx.AsyncClient, client: str, purpose: str) -> dict[str, Any]:
    response = await http.post("/graphql", json={"query": INTROSPECTION}, headers=headers(client, purpose))
    body = response.json()
    assert "errors" not in body, body
    schema: dict[str, Any] = body["data"]["__schema"]
    return schema


@pytest.mark.parametrize("name", CLIENTS)
async def test_introspection_shows_exactly_what_the_grants_show(client: httpx.AsyncClient, name: str) -> None:
    purpose, expected = grant_of(name)
    schema = await introspect(client, name, purpose)
    types = {t["name"]: t for t in schema["types"] if not t["name"].startswith("__")}
    assert set(types) - SCALARS == expected.types
    shown = {n: frozenset(f["name"] for f in t["fields"]) for n, t in types.items() if t["kind"] == "OBJECT"}
    assert shown == expected.fields
    assert schema["queryType"]["name"] == "Query"
    masked: dict[tuple[str, str], str] = {}
    for type_name, fields in shown.items():
        for field in types[type_name]["fields"]:
            declared_field = objects(SDL)[type_name].fields[field["name"]]
            # Arguments go with their field, and stay whole.
            assert [a["name"] for a in field["args"]] == list(declared_field.args)
            description = field["description"] or ""
            if MASKED_NOTE in description:
                masked[type_name, field["name"]] = re.findall(rf"{MASKED_NOTE} (\w+) rule", description)[0]
            assert description.startswith(declared_field.description or "")
        assert fields  # no object type left empty
    assert masked == expected.masked


async def test_masked_fields_are_marked_for_graphiqls_docs(client: httpx.AsyncClient) -> None:
    document = '{ __type(name: "Person") { fields { name description } } }'
    grid = headers("grid-worker", "household_survey")
    response = await client.post("/graphql", json={"query": document}, headers=grid)
    fields = {f["name"]: f["description"] for f in response.json()["data"]["__type"]["fields"]}
    declared = {name: field.description for name, field in objects(SDL)["Person"].fields.items()}

    def marked(field: str, rule: str) -> str:
        note = f"Masked for this client: {rule} rule (docs/authorization.md)."
        return f"{declared[field]}\n\n{note}" if declared[field] else note

    assert fields["name"] == marked("name", "NAME")
    assert fields["residenceAddress"] == marked("residenceAddress", "ADDRESS")
    assert declared["residenceAddress"]  # a description kept, the note below it
    assert fields["hukouDistrict"] == declared["hukouDistrict"]  # granted in full
    assert fields["age"] == declared["age"]  # masked scope, no mask rule: shown as it is, not marked


async def test_the_development_purpose_sees_every_type_of_the_schema_file(client: httpx.AsyncClient) -> None:
    schema = await introspect(client, "developer", "development")
    named = {t["name"] for t in schema["types"]}
    assert set(SDL.type_map) - named == set()
    assert MASKED_NOTE not in str(schema)
    # Query.accessLog included, though the developer is not granted audit.read.
    query = next(t for t in schema["types"] if t["name"] == "Query")
    assert {f["name"] for f in query["fields"]} == set(SDL.type_map["Query"].fields)  # type: ignore[attr-defined]


async def test_hidden_types_are_not_found_by_name(client: httpx.AsyncClient) -> None:
    talent = headers("talent-policy", "talent_subsidy")
    for name in ("Contribution", "TaxPayment", "AccessEvent", "IncomeTaxSummary", "InsuranceType"):
        document = f'{{ __type(name: "{name}") {{ name fields {{ name }} }} }}'
        response = await client.post("/graphql", json={"query": document}, headers=talent)
        assert response.json() == {"data": {"__type": None}}, name
    shown = await client.post(
        "/graphql", json={"query": '{ __type(name: "SocialInsurance") { name } }'}, headers=talent
    )
    assert shown.json() == {"data": {"__type": {"name": "SocialInsurance"}}}


def typo_documents() -> list[str]:
    """One fragment per object type of the whole schema, each field of it misspelt; a few
    documents, each under graphql-core's 100 validation errors."""
    misspelt = {f + "x" for t in objects(SDL).values() for f in t.fields}
    assert not misspelt & {f for t in objects(SDL).values() for f in t.fields}
    documents: list[list[str]] = [[]]
    errors = 0
    for name, t in objects(SDL).items():
        if errors + len(t.fields) + 1 > 90:
            documents.append([])
            errors = 0
        documents[-1].append(f"fragment T{name} on {name} {{ {' '.join(f + 'x' for f in t.fields)} }}")
        errors += len(t.fields) + 1  # each field, and the fragment is never used
    return ["query Typos { __typename }\n" + "\n".join(fragments) for fragments in documents]


@pytest.mark.parametrize("name", CLIENTS)
async def test_suggestions_name_only_fields_the_client_sees(client: httpx.AsyncClient, name: str) -> None:
    purpose, expected = grant_of(name)
    told: list[dict[str, Any]] = []
    for document in typo_documents():
        response = await client.post("/graphql", json={"query": document}, headers=headers(name, purpose))
        told.extend(response.json()["errors"])
    suggested: dict[tuple[str, str], list[str]] = {}
    for error in told:
        assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
        found = re.fullmatch(
            r"Cannot query field '(\w+)x' on type '(\w+)'\.(?: Did you mean (.*)\?)?", error["message"]
        )
        if found is None:
            assert error["message"].startswith("Fragment "), error  # "... is never used."
            continue
        field, type_name, hint = found.groups()
        suggested[type_name, field] = re.findall(r"'(\w+)'", hint or "")
    assert len(suggested) == sum(len(t.fields) for t in objects(SDL).values())  # every typo reported
    for (type_name, field), names in suggested.items():
        shown = expected.fields.get(type_name, frozenset())
        assert set(names) <= shown, (type_name, field, names)
        if field in shown:
            assert field in names, (type_name, field)  # what it can see is still suggested


async def test_enum_values_are_suggested_only_from_enums_the_client_sees(client: httpx.AsyncClient) -> None:
    document = (
        "query($id: ResidentId!, $t: InsuranceType!)"
        " { person(id: $id) { socialInsurance { monthsContributed(type: $t) } } }"
    )
    body = {"query": document, "variables": {"id": FATHER, "t": "PENSON"}}
    # The enrolment app may ask monthsContributed(type:), the talent app may not.
    enrolment = await client.post("/graphql", json=body, headers=headers("enrollment", "enrollment_review"))
    talent = await client.post("/graphql", json=body, headers=headers("talent-policy", "talent_subsidy"))
    (told,) = enrolment.json()["errors"]
    assert told["message"].endswith("Did you mean the enum value 'PENSION'?")
    (untold,) = talent.json()["errors"]
    assert untold["message"] == told["message"].split(" Did you mean")[0]
    assert "PENSION" not in talent.text


async def test_execution_does_not_follow_the_visible_schema(client: httpx.AsyncClient) -> None:
    # contributions is hidden from the talent app, yet validates and answers null with FORBIDDEN.
    document = (
        "query($id: ResidentId!) { person(id: $id) { name socialInsurance { contributions { base } } } }"
    )
    body = {"query": document, "variables": {"id": FATHER}}
    response = await client.post("/graphql", json=body, headers=headers("talent-policy", "talent_subsidy"))
    answer = response.json()
    assert answer["data"] == {"person": {"name": "林建国", "socialInsurance": {"contributions": None}}}
    assert [(e["path"], e["extensions"]) for e in answer["errors"]] == [
        (
            ["person", "socialInsurance", "contributions"],
            {"code": "FORBIDDEN", "scope": "social_insurance.records"},
        )
    ]


async def test_a_document_mixing_introspection_and_data(client: httpx.AsyncClient) -> None:
    document = """query Mixed($id: ResidentId!) {
      before: __type(name: "Contribution") { name }
      person(id: $id) { name socialInsurance { contributions { base } } }
      ...Schema
      __typename
    }
    fragment Schema on Query { types: __schema { types { name } } person(id: $id) { phone } }"""
    body = {"query": document, "variables": {"id": FATHER}}
    response = await client.post("/graphql", json=body, headers=headers("talent-policy", "talent_subsidy"))
    answer = response.json()
    data = answer["data"]
    assert list(data) == ["before", "person", "types", "__typename"]
    # Introspection from the talent app's graph...
    assert data["before"] is None
    names = {t["name"] for t in data["types"]["types"]}
    assert "SocialInsurance" in names
    assert "Contribution" not in names
    assert data["__typename"] == "Query"
    # ... data exactly as without it.
    assert data["person"] == {
        "name": "林建国",
        "phone": "138****0001",
        "socialInsurance": {"contributions": None},
    }
    assert [e["extensions"]["code"] for e in answer["errors"]] == ["FORBIDDEN"]


async def test_a_variable_of_a_hidden_type_never_leaves_the_whole_schema_s_answer(
    client: httpx.AsyncClient,
) -> None:
    document = """query Mixed($id: ResidentId!, $t: InsuranceType) {
      __schema { types { name } }
      person(id: $id) { name socialInsurance { contributions(type: $t) { base } } }
    }"""
    body = {"query": document, "variables": {"id": FATHER, "t": "PENSION"}}
    response = await client.post("/graphql", json=body, headers=headers("talent-policy", "talent_subsidy"))
    answer = response.json()
    assert answer.get("data") is None
    assert "InsuranceType" in answer["errors"][0]["message"]
    assert "Contribution" not in response.text


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
    # The auditor's own type, and the catalogue's (@public reference data).
    catalogue = {n for n in objects(SCHEMA_CORE) if n.startswith("Catalog")}
    assert catalogue
    assert set(objects(visible)) == {"Query", "AccessEvent"} | catalogue
    assert {name: list(t.fields) for name, t in objects(SCHEMA_CORE).items()} == before
    assert all(t.fields[f] is fields[name][f] for name, t in objects(SCHEMA_CORE).items() for f in t.fields)


async def test_a_grant_changed_by_a_reload_changes_what_introspection_shows(tmp_path: Path) -> None:
    text = (ROOT / "policy.toml").read_text(encoding="utf-8")
    grant = '"social_insurance.status", "social_insurance.verdict"'
    assert grant in text
    path = tmp_path / "policy.toml"
    path.write_text(text, encoding="utf-8")
    auth = AuthConfig(policy=str(path), hs256_secret=SECRET, policy_poll=0.02)
    app = create_app(settings(auth=auth))
    talent = headers("talent-policy", "talent_subsidy")
    document = {"query": '{ __type(name: "SocialInsurance") { fields { name } } }'}
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://gateway") as http,
    ):
        runtime, schemas = app.state.runtime, app.state.schema.visible
        before = (await http.post("/graphql", json=document, headers=talent)).json()["data"]["__type"]
        assert {f["name"] for f in before["fields"]} == {
                "number", "status", "firstInsuredMonth", "currentEmployer", "hasContributed"
            }  # fmt: skip
        old, kept = runtime.policy, schemas.cached()

        path.write_text(text.replace(grant, '"social_insurance.verdict"'), encoding="utf-8")
        await until(lambda: runtime.policy is not old, "the new policy")

        after = (await http.post("/graphql", json=document, headers=talent)).json()["data"]["__type"]
        assert {f["name"] for f in after["fields"]} == {"hasContributed"}
        assert schemas.cached() == kept + 1  # a new grant set, a new schema
