"""Assembles the strawberry schema: the graph, its scalars, the field policy and the
steps every operation goes through (gateway/app.py names them in order)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import replace
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext

from gateway.catalog.build import Graph
from gateway.catalog.graph import graph_of
from gateway.compat import graphql_schema
from gateway.config.limits import Limits
from gateway.execution.direct import install_direct_resolvers
from gateway.execution.errors import Hints, translate
from gateway.execution.hooks import LeanRunner
from gateway.execution.parse_cache import ParsedOnce
from gateway.execution.plan.cache import PlanCache
from gateway.execution.plan.executor import Configured, plan_executor
from gateway.execution.suggestions import Suggestions
from gateway.execution.textinput import TextInput, TextRules
from gateway.execution.validation_cache import ValidatedOnce
from gateway.execution.visible import VisibleSchemas
from gateway.policy.enforcement import PolicySurface, attach_policy
from gateway.policy.model import PolicyChecks
from resolvers.graph import CONFIG

__all__ = ["CORE", "GatewaySchema", "build_schema"]

# What every schema does, the gateway's or a test's: parse and validate once per
# document, then check text input against the schema's rules (after validation's verdict).
CORE: tuple[Callable[[], SchemaExtension], ...] = (ParsedOnce, ValidatedOnce, TextInput)


class GatewaySchema(strawberry.Schema):
    surface: PolicySurface = PolicySurface({}, {}, frozenset())
    text_rules: TextRules | None = None  # read by the TextInput step
    graph: Graph | None = None  # what it was built from
    visible: VisibleSchemas  # the schema each principal sees (introspection, hints)
    plans: PlanCache | None = None  # the plan executor's plans; None: graphql-core's executor

    @property
    def scopes(self) -> Mapping[str, frozenset[str]]:
        """Every scope the fields declare, with the link scopes a grant of it opens."""
        return self.surface.scopes

    def policy_checks(self, operations: Collection[str] | None = None) -> PolicyChecks:
        """What a policy is checked against in this schema (and, when there are documents,
        their operations' names)."""
        return PolicyChecks(self.scopes, self.surface.pinnable, operations, self.surface.sharing)

    def create_extensions_runner(
        self, execution_context: ExecutionContext, extensions: list[SchemaExtension]
    ) -> LeanRunner:
        return LeanRunner(execution_context=execution_context, extensions=extensions)

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # The list is the result's own: replacing items changes what the client gets.
        context = getattr(execution_context, "context", None)
        principal = getattr(context, "principal", None)
        hints: Hints | None = None  # graphql-core's, from the whole schema
        if principal is not None and not principal.may_introspect and execution_context is not None:
            hints = Suggestions(
                lambda: self.visible.for_principal(principal),
                execution_context.graphql_document,
                execution_context.variables,
                execution_context.operation_name,
            )
        errors[:] = sorted((translate(e, hints) for e in errors), key=_order)


def _order(error: GraphQLError) -> tuple[Any, ...]:
    """Field errors by path, then message: one order whatever order fields happened to fail
    in, so that an answer and its audit event's response hash do not depend on timing or on
    the executor. Request errors (no path) come first, in the order they were found."""
    if error.path is None:
        return (False,)
    return (True, [(isinstance(p, str), p) for p in error.path], error.message)


def build_schema(
    extensions: Sequence[Callable[[], SchemaExtension]] = CORE,
    *,
    text_chars: int = Limits.text_chars,
    graph: Graph | None = None,
    executor: str = "plan",
    plan_cache: int = 1000,
    **kwargs: Any,
) -> GatewaySchema:
    """`extensions` are the steps of an operation, in order (CORE when not given).
    `text_chars` is the longest String argument accepted where the argument declares no
    `@maxLength` (`[limits] text_chars`). `graph`: built from the catalogue ([catalog]
    path); the project's own catalogue when not given. `executor`: "plan" (plans cached,
    at most `plan_cache`) or "strawberry" (graphql-core's executor)."""
    graph = graph or graph_of()
    schema = GatewaySchema(
        query=graph.query,
        config=CONFIG,
        extensions=list(extensions),
        **kwargs,
    )
    schema.graph = graph
    schema.text_rules = TextRules(text_chars)
    install_direct_resolvers(schema)
    surface = attach_policy(schema)  # refuses a field declaring no @scope or @public
    withheld = graph.catalog.withheld(surface.scopes)
    schema.surface = replace(surface, sharing=replace(surface.sharing, withheld=withheld))
    schema.visible = VisibleSchemas(graphql_schema(schema))
    if executor == "plan":
        schema.plans = PlanCache(graphql_schema(schema), surface.rules, plan_cache)
        schema.execution_context_class = plan_executor(schema.plans)
    elif executor == "strawberry":
        schema.execution_context_class = Configured
    else:
        raise ValueError(f"executor {executor!r} is not plan or strawberry")
    return schema
