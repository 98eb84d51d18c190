"""Assembles the strawberry schema: the graph, its scalars and the gateway's extensions."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from resolvers.graph import SCALARS, Query

from .errors import translate

__all__ = ["GatewaySchema", "build_schema"]


class GatewaySchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # The list is the result's own: replacing items changes what the client gets.
        errors[:] = [translate(e) for e in errors]


def build_schema(**kwargs: Any) -> GatewaySchema:
    return GatewaySchema(
        query=Query,
        config=StrawberryConfig(scalar_map=SCALARS, auto_camel_case=True),
        extensions=[lambda: ParserCache(maxsize=512), lambda: ValidationCache(maxsize=512)],
        **kwargs,
    )
