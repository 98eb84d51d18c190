"""The one place field policy is applied: resolvers are wrapped when the schema is built.

Every field declares `@scope` or `@public` (declarations.py; the schema does not build
otherwise). For every field with a `@scope` the wrapper, before anything is fetched,
looks the scope up in the principal's grants (resolved once per request, so the check
is one dict lookup): not granted → `null` with FORBIDDEN and the resolver, hence its
loader, never runs; granted `masked` → the value is masked by the field's `@mask` rule.
Fields returning a `Located` type (resolvers/subjects.py) are checked against the
principal's jurisdiction after they resolve. Root look-ups of a `Subject` by key are
wrapped by lookups.py (audited per id asked, budgeted), `@verdict` and `@summary`
fields by verdicts.py (pinned arguments, once per subject). Resolvers never
check permissions themselves.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from dataclasses import field as declared_field
from inspect import isawaitable
from typing import Any

from graphql import (
    GraphQLError,
    GraphQLObjectType,
    GraphQLResolveInfo,
    default_field_resolver,
    get_named_type,
    get_nullable_type,
    is_list_type,
)

from gateway.compat import graphql_schema, strawberry_definition
from gateway.policy.declarations import FieldPolicy, object_types, read_declarations
from gateway.policy.forbidden import OUTSIDE, forbidden, path_of
from gateway.policy.lookups import looked_up
from gateway.policy.masking import MASKS
from gateway.policy.model import MASKED
from gateway.policy.pins import Pinnable
from gateway.policy.sharing import SharingRules
from gateway.policy.verdicts import concluded, pinnable
from resolvers.context import Context
from resolvers.directives import MaskRule
from resolvers.subjects import Located, Subject

__all__ = ["FieldRule", "PolicySurface", "attach_policy"]

Info = GraphQLResolveInfo[Context]

Resolver = Callable[..., Any]


def _scoped(
    resolve: Resolver, scope: str, mask: Callable[[Any], Any] | None, about_subject: bool
) -> Resolver:
    """`about_subject`: the field is on a Subject, whose reads are recorded for the audit."""

    def guarded(source: Any, info: Info, **args: Any) -> Any:
        context: Context = info.context
        level = context.principal.grants.get(scope)
        if level is None:
            context.access.deny(path_of(info), scope)
            raise forbidden(f"Not granted for this purpose: {scope}.", scope=scope)
        if about_subject:
            context.access.read(source.subject_id, scope)
        value = resolve(source, info, **args)
        if mask is None or level != MASKED:
            return value
        if isawaitable(value):
            return _masked_later(value, mask)
        return None if value is None else mask(value)

    return guarded


async def _masked_later(value: Awaitable[Any], mask: Callable[[Any], Any]) -> Any:
    result = await value
    return None if result is None else mask(result)


def _within(value: Any, districts: frozenset[str], info: Info) -> Any:
    if isinstance(value, list):
        return [_within(item, districts, info) for item in value]
    if value is None or not districts.isdisjoint(value.districts()):
        return value
    info.context.access.deny(path_of(info), "jurisdiction")
    return forbidden(OUTSIDE)


def _jurisdiction(resolve: Resolver) -> Resolver:
    """Links to Located subjects (root look-ups are lookups.py's)."""

    def checked(source: Any, info: Info, **args: Any) -> Any:
        districts = info.context.principal.jurisdiction
        value = resolve(source, info, **args)
        if not districts:
            return value
        if isawaitable(value):
            return _checked_later(value, districts, info)
        return _raise_single(_within(value, districts, info))

    return checked


async def _checked_later(value: Awaitable[Any], districts: frozenset[str], info: Info) -> Any:
    return _raise_single(_within(await value, districts, info))


def _raise_single(value: Any) -> Any:
    # A refused single value is raised so it is reported at the field's own path;
    # in a list, graphql-core reports each refused item at its index.
    if isinstance(value, GraphQLError):
        raise value
    return value


@dataclass(frozen=True)
class FieldRule:
    """How policy applies to one field, as its resolver was wrapped: what a plan executor
    needs to apply the same rule without calling the wrapper (gateway/execution/plan)."""

    kind: str  # "plain" (_scoped, jurisdiction), "lookup" (lookups.py) or "conclusion" (verdicts.py)
    scope: str | None  # None: @public
    mask: Callable[[Any], Any] | None  # applied for a `masked` grant
    about_subject: bool  # reads are recorded under the parent's subject_id
    located: bool  # jurisdiction applies to what it returns
    resolve: Resolver  # the wrapped resolver, policy included


@dataclass(frozen=True)
class PolicySurface:
    """What the policy can name in a schema, found while its resolvers are wrapped."""

    # Every scope the fields declare -> the link scopes a grant of it opens.
    scopes: Mapping[str, frozenset[str]]
    pinnable: Mapping[str, Pinnable]  # verdict and summary fields with arguments, by coordinate
    lookups: frozenset[str]  # root fields that look a subject up by id
    sharing: SharingRules = declared_field(default_factory=SharingRules)  # what the catalogue asks of grants
    rules: Mapping[str, FieldRule] = declared_field(default_factory=dict)  # every field's, by coordinate


def _origin(gtype: Any) -> type | None:
    """The Python class a schema type was declared by."""
    origin = getattr(strawberry_definition(get_named_type(gtype)), "origin", None)
    return origin if isinstance(origin, type) else None


def _is(origin: type | None, declared: type) -> bool:
    return origin is not None and issubclass(origin, declared)


def _id_scopes(gtype: GraphQLObjectType, fields: Mapping[str, FieldPolicy]) -> frozenset[str]:
    """The scopes of the fields that show a type's identifiers (masked as ids are)."""
    ids = (MaskRule.RESIDENT_ID, MaskRule.IDENTIFIER)
    declared = (fields[f"{gtype.name}.{name}"] for name in gtype.fields)
    return frozenset(f.scope for f in declared if f.scope is not None and f.mask in ids)


def _by_key(field: Any) -> bool:
    """A look-up by key: one argument, and one answer per key (a list for a list of keys)."""
    if len(field.args) != 1:
        return False
    argument = next(iter(field.args.values()))
    return is_list_type(get_nullable_type(field.type)) == is_list_type(get_nullable_type(argument.type))


def attach_policy(schema: Any) -> PolicySurface:
    """Wrap the resolvers of `schema` (a strawberry.Schema); returns what policy may name.
    Raises TypeError naming a field whose declarations are missing or inconsistent."""
    core = graphql_schema(schema)
    declarations = read_declarations(core)
    pins: dict[str, Pinnable] = {}
    lookups: set[str] = set()
    rules: dict[str, FieldRule] = {}
    for type_name, gtype in object_types(core):
        root = gtype is core.query_type
        about_subject = _is(_origin(gtype), Subject)
        for name, field in gtype.fields.items():
            coordinate = f"{type_name}.{name}"
            declared = declarations.fields[coordinate]
            scope, rule = declared.scope, declared.mask
            resolve = field.resolve or default_field_resolver
            returns = _origin(field.type)
            located = _is(returns, Located)
            keyed = root and scope is not None and _is(returns, Subject) and _by_key(field)
            if root and scope is not None and located and not keyed:
                # Only a look-up answers "not yours" as it answers "not there".
                raise TypeError(f"{coordinate}: a root field of a Located type must look up by key")
            named = get_named_type(field.type)
            kind, mask = "plain", None
            if keyed and scope is not None and isinstance(named, GraphQLObjectType):
                # Audited per id, budgeted, jurisdiction applied (lookups.py).
                id_scopes = _id_scopes(named, declarations.fields)
                resolve = looked_up(resolve, scope, next(iter(field.args)), id_scopes, located)
                lookups.add(name)
                kind = "lookup"
            elif declared.conclusion is not None and field.args and scope is not None:
                # read_declarations has refused a @verdict or @summary without a @scope.
                if rule is not None:
                    raise TypeError(f"{coordinate}: a verdict or summary has nothing to mask")
                if not about_subject:
                    raise TypeError(f"{coordinate}: a verdict or summary must be on a Subject type")
                pins[coordinate] = pinnable(scope, field)
                resolve = concluded(resolve, scope, coordinate, field.args)  # pinned (verdicts.py)
                kind = "conclusion"
            else:
                if located:
                    resolve = _jurisdiction(resolve)
                if scope is not None:
                    mask = None if rule is None else MASKS[rule]
                    resolve = _scoped(resolve, scope, mask, about_subject)
            field.resolve = resolve
            rules[coordinate] = FieldRule(kind, scope, mask, about_subject, located, resolve)
    conditional = frozenset(p.scope for p in declarations.fields.values() if p.conditional and p.scope)
    return PolicySurface(declarations.opens, pins, frozenset(lookups), SharingRules(conditional), rules)
