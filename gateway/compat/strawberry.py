"""What the gateway uses of strawberry-graphql 0.341 that strawberry does not document.

Each name here has a test in tests/gateway/test_compat.py that fails when an upgrade
changes what it relies on; everything else in the gateway uses strawberry's public API.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from enum import Enum
from typing import Any, NamedTuple, Protocol, TypeVar

from cross_web import AsyncHTTPRequestAdapter
from graphql import GraphQLEnumType, GraphQLError, GraphQLField, GraphQLResolveInfo, GraphQLSchema
from starlette.requests import Request
from starlette.responses import Response
from strawberry import Schema
from strawberry.asgi import GraphQL
from strawberry.extensions import ValidationCache
from strawberry.extensions.context import (
    ExecutingContextManager,
    OperationContextManager,
    ParsingContextManager,
    ValidationContextManager,
    WrappedHook,
)
from strawberry.extensions.runner import SchemaExtensionsRunner
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext, validate_document
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types import ExecutionContext
from strawberry.types.field import StrawberryField

__all__ = [
    "CoreExecutor",
    "Execute",
    "ExecutingHooks",
    "ExtensionsRunner",
    "GraphQLView",
    "OperationHooks",
    "ParsingHooks",
    "ResolverShape",
    "StrawberryField",
    "ValidationHooks",
    "WrappedHook",
    "cached_validation",
    "field_definition",
    "graphql_schema",
    "info_maker",
    "provided_operation_name",
    "python_enum",
    "resolver_shape",
    "strawberry_definition",
    "validate_document",
]

ContextT = TypeVar("ContextT")
T = TypeVar("T")
RequestData = GraphQLRequestData | list[GraphQLRequestData]
# Runs an operation (or, as strawberry does, a whole batch) with the context given.
Execute = Callable[[Any, RequestData], Awaitable[Any]]


# The graphql-core executor strawberry runs operations with (`execution_context_class`):
# its resolve infos carry strawberry's operation extensions.
CoreExecutor = StrawberryGraphQLCoreExecutionContext

# What runs the steps' hooks (`Schema.create_extensions_runner`): one context manager per
# stage, entering each hook in `hooks` (`WrappedHook`s) and unwinding them in reverse.
ExtensionsRunner = SchemaExtensionsRunner
OperationHooks = OperationContextManager
ParsingHooks = ParsingContextManager
ValidationHooks = ValidationContextManager
ExecutingHooks = ExecutingContextManager


class _Extended(Protocol):
    @property
    def extensions(self) -> dict[str, Any]: ...


def graphql_schema(schema: Schema) -> GraphQLSchema:
    """The graphql-core schema strawberry built; strawberry has no public accessor."""
    core: GraphQLSchema = schema._schema
    return core


def strawberry_definition(element: _Extended) -> Any:
    """What strawberry built a graphql-core type, field, argument or input field from (its
    type definition, StrawberryField, StrawberryArgument...), or None."""
    extensions = element.extensions
    return extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF) if extensions else None


def declared(field: GraphQLField, directive: type[T]) -> T | None:
    """The `directive` a field of the built schema declares (a schema directive instance
    on its StrawberryField), or None."""
    definition = strawberry_definition(field)
    return next((d for d in getattr(definition, "directives", None) or () if isinstance(d, directive)), None)


def cached_validation(extension: ValidationCache) -> list[GraphQLError]:
    """The validation errors of `extension`'s operation from strawberry's shared LRU (the
    list the cache holds: copy it before changing it)."""
    ctx = extension.execution_context
    errors: list[GraphQLError] = extension.cached_validate_document(
        graphql_schema(ctx.schema), ctx.graphql_document, ctx.validation_rules
    )
    return errors


def provided_operation_name(context: ExecutionContext) -> str | None:
    """The `operationName` the request gave, or None; strawberry's public `operation_name`
    falls back to the document's first operation, which would run it unasked."""
    name: str | None = context._provided_operation_name
    return name


def field_definition(gfield: GraphQLField) -> StrawberryField | None:
    """The StrawberryField a graphql-core field was built from, if strawberry built it."""
    field = strawberry_definition(gfield)
    return field if isinstance(field, StrawberryField) else None


def python_enum(gtype: GraphQLEnumType) -> type[Enum] | None:
    """The Python enum a strawberry enum type wraps."""
    enum: type[Enum] | None = getattr(strawberry_definition(gtype), "wrapped_cls", None)
    return enum


def info_maker(schema: Schema, field: StrawberryField) -> Callable[[GraphQLResolveInfo[Any]], Any]:
    """Builds the `strawberry.Info` (the schema's `info_class`) a resolver of `field` is
    given, as strawberry's own resolver wrapper does: from private dataclass fields."""
    return functools.partial(schema.config.info_class, _field=field)


class ResolverShape(NamedTuple):
    """How to call a field's resolver function without strawberry's wrapper."""

    function: Callable[..., Any]  # descriptors (static and class methods) already bound
    takes_self: bool
    source_names: tuple[str, ...]  # parameters given the parent object (`strawberry.Parent`, root)
    info_name: str | None  # the parameter given `strawberry.Info`


def resolver_shape(field: StrawberryField) -> ResolverShape | None:
    """The shape of `field`'s own resolver, or None when it has none."""
    resolver = field.base_resolver
    if resolver is None:
        return None
    sources = (resolver.parent_parameter, resolver.root_parameter)
    return ResolverShape(
        function=resolver.wrapped_func,  # type: ignore[arg-type]  # bound by now
        takes_self=resolver.self_parameter is not None,
        source_names=tuple(p.name for p in sources if p is not None),
        info_name=resolver.info_parameter.name if resolver.info_parameter is not None else None,
    )


class GraphQLView(GraphQL[ContextT, None]):
    """strawberry's ASGI view, with the steps the gateway takes over that strawberry does not
    document as hooks given names of their own here:

    - `respond(request)`: the response to an HTTP request (strawberry's `run`);
    - `read_operations(request)`: the operation or batch a request carries
      (`parse_http_body`);
    - `execute_operations(request, sub_response, data, context, execute)`: runs them
      through `execute(context, data)`, strawberry's `execute_operation`, which may be
      called once per operation of a batch, each with its own context;
    - `finish_response(response, data, sub_response)`: the response once built
      (`create_response`).
    """

    async def respond(self, request: Request) -> Response:
        return await self.run(request)

    async def read_operations(self, request: AsyncHTTPRequestAdapter) -> RequestData:
        return await super().parse_http_body(request)

    async def execute_operations(
        self, request: Request, sub_response: Response, data: RequestData, context: ContextT, execute: Execute
    ) -> Any:
        return await execute(context, data)

    def finish_response(
        self,
        response: Response,
        data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        return response

    # strawberry's names, called by its `run`.

    async def parse_http_body(self, request: AsyncHTTPRequestAdapter) -> RequestData:
        return await self.read_operations(request)

    async def execute_operation(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        request_data: RequestData,
        context: ContextT,
        root_value: None,
        sub_response: Response,
    ) -> Any:
        parent = super().execute_operation

        async def execute(own: Any, data: RequestData) -> Any:
            return await parent(request, request_adapter, data, own, root_value, sub_response)

        return await self.execute_operations(request, sub_response, request_data, context, execute)

    def create_response(
        self, response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse], sub_response: Response
    ) -> Response:
        response = super().create_response(response_data, sub_response)
        return self.finish_response(response, response_data, sub_response)
