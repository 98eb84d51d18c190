"""Queries generated over the schema for the differential test: root look-ups by ids that
exist, do not exist or are malformed, nested selections with aliases, fragments and
`@include`/`@skip` on a variable, arguments from typed pools."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    get_named_type,
    get_nullable_type,
    parse,
    validate,
)
from graphql.pyutils import Undefined
from hypothesis import assume
from hypothesis import strategies as st

from gateway.compat import graphql_schema
from gateway.execution.schema import GatewaySchema
from resolvers.identifiers import resident_id_check
from tests.gateway.differential import Faults

__all__ = ["Pools", "operations"]

_PERSON_CASES = ("family_child", "migrant_child", "back_paid", "changed_employer", "legal_representative")
_ENTERPRISE_CASES = (
    "d_rated_enterprise",
    "deregistered_enterprise",
    "enterprise_with_arrears",
    "licensed_enterprise",
    "penalised_enterprise",
    "dishonest_enterprise",
    "delisted_enterprise",
)


def _unknown_person() -> str:
    first17 = "35021119990101" + "999"
    return first17 + resident_id_check(first17)


@dataclass(frozen=True)
class Pools:
    """Values for arguments and variables, by GraphQL type name."""

    values: Mapping[str, tuple[Any, ...]]
    entities: tuple[str, ...]

    @classmethod
    def of(cls, samples: Mapping[str, Any]) -> Pools:
        cases = samples["cases"]

        def some(names: tuple[str, ...], each: int) -> tuple[str, ...]:
            return tuple(v for n in names for v in cases.get(n, [])[:each])

        persons = (*some(_PERSON_CASES, 3), _unknown_person(), "350211199901010000")
        enterprises = (*some(_ENTERPRISE_CASES, 2), "91350211MA2Y00000X")
        strings = (*some(("household", "jimei_household"), 3), *some(("school",), 2), "350211", "350203", "")
        values = {
            "ResidentId": persons,
            "CreditCode": enterprises,
            "String": strings,
            "ID": strings,
            "Int": (2025, 2026, 24, 36, 12, 1, 0, -3),
            "Boolean": (True, False),
            "Month": ("2025-01", "2026-06", "2024-09"),
            "Date": ("2026-09-01",),
        }
        return cls(values, ())

    def pool(self, gtype: Any) -> tuple[Any, ...] | None:
        named = get_named_type(gtype)
        if isinstance(named, GraphQLEnumType):
            return tuple(named.values)
        return self.values.get(named.name)

    def variables(self, declared: tuple[tuple[str, str], ...], index: int) -> dict[str, Any] | None:
        """Values for an operation's variables (type as written), chosen by `index`."""
        out: dict[str, Any] = {}
        for n, (name, written) in enumerate(declared):
            base = written.strip("[]!")
            pool = self.values.get(base)
            if pool is None:
                return None
            pick = pool[(index + n) % len(pool)]
            out[name] = (
                [pool[(index + n + k) % len(pool)] for k in range(3)] if written.startswith("[") else pick
            )
        return out

    def faults(self) -> st.SearchStrategy[Faults]:
        people = self.values["ResidentId"][:4]
        return st.one_of(
            st.just(Faults()),
            st.just(Faults()),
            st.builds(
                Faults,
                entities=st.frozensets(
                    st.sampled_from(
                        ["contributions", "person", "credit_ratings", "enterprise", "household", "guardians"]
                    ),
                    max_size=2,
                ),
            ),
            st.builds(Faults, keys=st.frozensets(st.sampled_from(people), min_size=1, max_size=1)),
        )


def _literal(value: Any, gtype: Any) -> str:
    nullable = get_nullable_type(gtype)
    if isinstance(nullable, GraphQLList):
        return "[" + ", ".join(_literal(v, nullable.of_type) for v in value) + "]"
    if isinstance(get_named_type(gtype), GraphQLEnumType):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, ensure_ascii=False)


@st.composite
def _value(draw: st.DrawFn, gtype: GraphQLInputType, pools: Pools) -> Any:
    pool = pools.pool(gtype)
    if pool is None:
        return None
    nullable = get_nullable_type(gtype)
    if isinstance(nullable, GraphQLList):
        return draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3))
    return draw(st.sampled_from(pool))


class _Writer:
    def __init__(self, pools: Pools) -> None:
        self.pools = pools
        self.fragments: list[str] = []
        self.aliases = 0
        self.flag = False

    def arguments(self, draw: st.DrawFn, field: GraphQLField) -> str | None:
        written = []
        for name, argument in field.args.items():
            required = isinstance(argument.type, GraphQLNonNull) and argument.default_value is Undefined
            if not required and not draw(st.booleans()):
                continue
            value = draw(_value(argument.type, self.pools))
            if value is None:
                if required:
                    return None
                continue
            written.append(f"{name}: {_literal(value, argument.type)}")
        return f"({', '.join(written)})" if written else ""

    def selection(self, draw: st.DrawFn, gtype: GraphQLObjectType, depth: int) -> str:
        names = sorted(gtype.fields)
        chosen = draw(st.lists(st.sampled_from(names), min_size=1, max_size=6, unique=True))
        parts = []
        for name in chosen:
            field = gtype.fields[name]
            named = get_named_type(field.type)
            sub = ""
            if isinstance(named, GraphQLObjectType):
                if depth == 0:
                    continue
                sub = " { " + self.selection(draw, named, depth - 1) + " }"
            arguments = self.arguments(draw, field)
            if arguments is None:
                continue
            text = f"{name}{arguments}"
            if draw(st.integers(0, 9)) == 0:
                self.aliases += 1
                text = f"a{self.aliases}: {text}"
            roll = draw(st.integers(0, 19))
            if roll in (0, 1):
                self.flag = True
                text += " @include(if: $flag)" if roll == 0 else " @skip(if: $flag)"
            text += sub
            if roll == 2:
                text = f"... on {gtype.name} {{ {text} }}"
            elif roll == 3:
                fragment = f"F{len(self.fragments)}"
                self.fragments.append(f"fragment {fragment} on {gtype.name} {{ {text} }}")
                text = f"...{fragment}"
            parts.append(text)
        if not parts or draw(st.integers(0, 9)) == 0:
            parts.append("__typename")
        return " ".join(parts)


@st.composite
def operations(draw: st.DrawFn, schema: GatewaySchema, pools: Pools) -> tuple[str, dict[str, Any]]:
    core = graphql_schema(schema)
    query = core.query_type
    assert query is not None
    writer = _Writer(pools)
    roots = sorted(n for n, f in query.fields.items() if n != "catalog" or draw(st.integers(0, 20)) == 0)
    parts = []
    for name in draw(st.lists(st.sampled_from(roots), min_size=1, max_size=3)):
        field = query.fields[name]
        arguments = writer.arguments(draw, field)
        named = get_named_type(field.type)
        if arguments is None or not isinstance(named, GraphQLObjectType):
            continue
        writer.aliases += 1
        depth = draw(st.integers(0, 3))
        parts.append(f"r{writer.aliases}: {name}{arguments} {{ {writer.selection(draw, named, depth)} }}")
    assume(parts)
    header = "query Generated($flag: Boolean!)" if writer.flag else "query Generated"
    text = f"{header} {{ {' '.join(parts)} }} " + " ".join(writer.fragments)
    errors = validate(core, parse(text))
    assume(not errors)
    return text, ({"flag": draw(st.booleans())} if writer.flag else {})
