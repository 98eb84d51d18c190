"""Assembles the strawberry schema: the graph, its scalars, the field policy and the
gateway's per-operation extensions."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import ParserCache, SchemaExtension, ValidationCache
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from gateway.execution.direct import install_direct_resolvers
from gateway.execution.errors import translate
from gateway.execution.limits import Limits
from gateway.execution.textinput import TextInput, TextRules
from gateway.policy.enforcement import PolicySurface, attach_policy
from resolvers.graph import SCALARS, Query

__all__ = ["GatewaySchema", "build_schema"]


class _ParserCache(ParserCache):
    """Leaves a document already parsed (a trusted document's, parsed at start-up) alone."""

    def on_parse(self) -> Iterator[None]:
        if self.execution_context.graphql_document is not None:
            yield
            return
        yield from super().on_parse()


class _ValidationCache(ValidationCache):
    """Hands each operation its own copy of the cached error list: process_errors rewrites
    a result's errors for the client that asked (hints only for developers), which must
    not change what the next client with the same document is told."""

    def on_validate(self) -> Iterator[None]:
        ctx = self.execution_context
        errors = self.cached_validate_document(ctx.schema._schema, ctx.graphql_document, ctx.validation_rules)
        ctx.pre_execution_errors = list(errors)
        yield


class GatewaySchema(strawberry.Schema):
    surface: PolicySurface = PolicySurface({}, {}, frozenset())

    @property
    def scopes(self) -> Mapping[str, frozenset[str]]:
        """Every scope the fields declare, with the link scopes a grant of it opens."""
        return self.surface.scopes

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # The list is the result's own: replacing items changes what the client gets.
        context = getattr(execution_context, "context", None)
        principal = getattr(context, "principal", None)
        reveal = principal is None or principal.may_introspect
        errors[:] = [translate(e, reveal_schema=reveal) for e in errors]


def build_schema(
    extensions: Sequence[Callable[[], SchemaExtension]] = (),
    *,
    enforce: bool = True,
    text_chars: int = Limits.text_chars,
    **kwargs: Any,
) -> GatewaySchema:
    """`enforce=False` leaves the field policy off: only benchmarks measuring its cost use it.
    `text_chars` is the longest String argument accepted where the argument declares no
    `@maxLength` (`[limits] text_chars`)."""
    text = TextRules(text_chars)
    schema = GatewaySchema(
        query=Query,
        config=StrawberryConfig(scalar_map=SCALARS, auto_camel_case=True),
        extensions=[
            lambda: _ParserCache(maxsize=512),
            lambda: _ValidationCache(maxsize=512),
            lambda: TextInput(text),  # after validation's cache: it reads its verdict
            *extensions,
        ],
        **kwargs,
    )
    install_direct_resolvers(schema)
    schema.surface = attach_policy(schema, wrap=enforce)  # refuses a field declaring no @scope or @public
    return schema
