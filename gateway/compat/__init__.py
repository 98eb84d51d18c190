"""Every use the gateway makes of an undocumented or private part of strawberry-graphql,
graphql-core, Starlette or uvicorn goes through this package, so that upgrading one of
them means checking one place: the module named after it here, and its tests in
tests/gateway/test_compat.py, which fail when an upgrade changes what a name relies on.

Where a library's public API does the job it is used directly instead (for example
`strawberry.Schema.exception_handlers`, `StrawberryConfig.name_converter`).
"""

from gateway.compat.graphql import (
    FieldDetails,
    FragmentDetails,
    VariableValues,
    collect_fields,
    collect_subfields,
    get_argument_values,
)
from gateway.compat.starlette import route_path
from gateway.compat.strawberry import (
    CoreExecutor,
    Execute,
    ExecutingHooks,
    ExtensionsRunner,
    GraphQLView,
    OperationHooks,
    ParsingHooks,
    ResolverShape,
    StrawberryField,
    ValidationHooks,
    WrappedHook,
    cached_validation,
    declared,
    field_definition,
    graphql_schema,
    info_maker,
    provided_operation_name,
    python_enum,
    resolver_shape,
    strawberry_definition,
    validate_document,
)
from gateway.compat.uvicorn import HttpProtocol, QuietServer, SignalServer, Supervisor, bind

__all__ = [
    "CoreExecutor",
    "Execute",
    "ExecutingHooks",
    "ExtensionsRunner",
    "FieldDetails",
    "FragmentDetails",
    "GraphQLView",
    "HttpProtocol",
    "OperationHooks",
    "ParsingHooks",
    "QuietServer",
    "ResolverShape",
    "SignalServer",
    "StrawberryField",
    "Supervisor",
    "ValidationHooks",
    "VariableValues",
    "WrappedHook",
    "bind",
    "cached_validation",
    "collect_fields",
    "collect_subfields",
    "declared",
    "field_definition",
    "get_argument_values",
    "graphql_schema",
    "info_maker",
    "provided_operation_name",
    "python_enum",
    "resolver_shape",
    "route_path",
    "strawberry_definition",
    "validate_document",
]
