"""Direct field resolvers: Strawberry's per-call work, done once when the schema is built.

For every field with a resolver, Strawberry's wrapper builds the resolver's arguments on
each call: it converts every argument name (camelCase to snake_case, through the name
converter), inspects the resolver's parameters, chains field extensions, and wraps
async resolvers in one more coroutine. In a 50-child enrolment review that is several
hundred calls a request for the same few fields. Here each field whose arguments are
all scalars gets a resolver that calls the Python function with its parameter names
worked out in advance; graphql-core awaits an async resolver's coroutine itself.

Enum arguments are converted to their Python enum and list arguments copied here, as
Strawberry does. Fields this cannot serve exactly as Strawberry would (field extensions,
input-object, `Maybe`, relay-id or nested-list arguments, schema exception handlers)
keep Strawberry's resolver.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLList,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLScalarType,
    get_nullable_type,
)
from strawberry import Schema

from gateway.compat import (
    StrawberryField,
    field_definition,
    graphql_schema,
    info_maker,
    python_enum,
    resolver_shape,
)

__all__ = ["install_direct_resolvers"]

Resolver = Callable[..., Any]
Convert = Callable[[Any], Any]


def _copy(values: Any) -> Any:
    # graphql-core hands every request the same list for a default value: a resolver
    # must get its own, as Strawberry gives it.
    return None if values is None else list(values)


def _converter(argument: GraphQLArgument) -> Convert | bool | None:
    """None: the value passes as it is; a function: how to convert it; False: unsupported."""
    gtype: Any = get_nullable_type(argument.type)
    listed = isinstance(gtype, GraphQLList)
    item: Any = get_nullable_type(gtype.of_type) if listed else gtype
    if isinstance(item, GraphQLList):
        return False  # lists of lists: Strawberry's conversion, not ours
    if isinstance(item, GraphQLScalarType):
        if item.name in ("GlobalID", "ID"):
            return False  # relay ids become GlobalID objects in Strawberry
        return _copy if listed else None
    if not isinstance(item, GraphQLEnumType):
        return False
    enum = python_enum(item)
    if enum is None:
        return False
    if listed:
        return lambda values: None if values is None else [None if v is None else enum(v) for v in values]
    return lambda value: None if value is None else enum(value)


def _direct(
    schema: Schema, field: StrawberryField, names: dict[str, str], converts: dict[str, Convert]
) -> Resolver | None:
    shape = resolver_shape(field)
    if shape is None or field.extensions:
        return None
    function, takes_self, source_names, info_name = shape
    make_info = info_maker(schema, field)

    if not names and not source_names and info_name is not None and takes_self:
        # The common shape, `def field(self, info)`, without the general bookkeeping.
        def self_and_info(source: Any, info: GraphQLResolveInfo[Any]) -> Any:
            return function(source, **{info_name: make_info(info)})

        return self_and_info

    def general(source: Any, info: GraphQLResolveInfo[Any], **kwargs: Any) -> Any:
        arguments = {
            names[name]: converts[name](value) if name in converts else value
            for name, value in kwargs.items()
        }
        for name in source_names:
            arguments[name] = source
        if info_name is not None:
            arguments[info_name] = make_info(info)
        return function(source, **arguments) if takes_self else function(**arguments)

    return general


def install_direct_resolvers(schema: Schema) -> int:
    """Replace Strawberry's resolvers in `schema` where a direct one gives the same result;
    returns how many fields were replaced."""
    if schema.exception_handlers:
        return 0  # handlers wrap each resolver call; Strawberry's wrapper applies them
    converter = schema.config.name_converter
    replaced = 0
    for type_name, gtype in graphql_schema(schema).type_map.items():
        if not isinstance(gtype, GraphQLObjectType) or type_name.startswith("__"):
            continue
        for gfield in gtype.fields.values():
            field = field_definition(gfield)
            if field is None or any(a.is_maybe for a in field.arguments):
                continue  # Maybe[...] arguments arrive wrapped in Some: Strawberry's conversion
            found = {name: _converter(argument) for name, argument in gfield.args.items()}
            if any(c is False for c in found.values()):
                continue
            converts = {name: c for name, c in found.items() if callable(c)}
            names = {converter.from_argument(a): a.python_name for a in field.arguments}
            if set(names) != set(gfield.args):
                continue
            direct = _direct(schema, field, names, converts)
            if direct is not None:
                gfield.resolve = direct
                replaced += 1
    return replaced
