"""Direct resolvers answer exactly as Strawberry's own would, and cover the hot fields."""

from __future__ import annotations

import strawberry
from graphql import GraphQLObjectType

from gateway.catalog.graph import graph_of
from gateway.compat import field_definition, graphql_schema, resolver_shape
from gateway.execution.direct import install_direct_resolvers
from gateway.execution.schema import CORE
from resolvers.context import Context
from resolvers.graph import CONFIG
from resolvers.loaders import Loaders
from tests.resolvers import city
from tests.resolvers.test_graph import FAMILY, SOCIAL

ENTERPRISE = """query($code: CreditCode!) { enterprise(creditCode: $code) {
  name status legalRepresentative { name } taxCreditRating { year grade }
  taxCreditAtLeast(grade: B) insuredHeadcount } }"""


WRONG = """query($id: ResidentId!) { person(id: $id) { name socialInsurance { status
  never: hasContributed(months: 0, within: 36) recent: contributions(from: "2026-04") { period } } } }"""
OK = ((FAMILY, {"id": city.CHILD}), (SOCIAL, {"id": city.FATHER}), (ENTERPRISE, {"code": city.EMPLOYER}))


async def _answers(
    schema: strawberry.Schema, cases: tuple[tuple[str, dict[str, str]], ...] = OK
) -> list[object]:
    out = []
    for query, variables in cases:
        context = Context(
            loaders=Loaders(city.catalog()),
            principal=city.EVERYTHING,
            today=city.TODAY,
            max_list_keys=5,
        )
        result = await schema.execute(query, variable_values=variables, context_value=context)
        out.append((result.data, [e.formatted for e in result.errors or []]))
    return out


def _graph(direct: bool) -> strawberry.Schema:
    """The graph without the field policy (whose wrappers hide the resolvers), with or
    without direct resolvers."""
    schema = strawberry.Schema(query=graph_of().query, config=CONFIG, extensions=CORE)
    if direct:
        install_direct_resolvers(schema)
    return schema


async def test_direct_resolvers_answer_as_strawberry_does() -> None:
    direct = _graph(direct=True)
    strawberry_only = _graph(direct=False)
    answers = await _answers(direct)
    assert all(data is not None and not errors for data, errors in answers), answers
    assert answers == await _answers(strawberry_only)
    wrong = await _answers(direct, ((WRONG, {"id": city.FATHER}),))
    assert wrong[0][1], wrong
    assert wrong[0][1][0]["extensions"]["code"] == "BAD_USER_INPUT", wrong
    assert wrong == await _answers(strawberry_only, ((WRONG, {"id": city.FATHER}),))


def test_every_field_with_scalar_or_enum_arguments_is_direct() -> None:
    schema = _graph(direct=True)
    kept, direct = [], 0
    for type_name, gtype in graphql_schema(schema).type_map.items():
        if not isinstance(gtype, GraphQLObjectType) or type_name.startswith("__"):
            continue
        for name, field in gtype.fields.items():
            definition = field_definition(field)
            if definition is not None and resolver_shape(definition) is not None:
                if getattr(field.resolve, "__module__", "") == "gateway.execution.direct":
                    direct += 1
                else:
                    kept.append(f"{type_name}.{name}")
    assert kept == []
    assert direct > 0
