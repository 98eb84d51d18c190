"""The executor strawberry runs operations with: a planned operation runs its plan
(runner.py), anything the planner does not execute runs on graphql-core's executor as
before. Strawberry stays the schema, parser, validator, introspection and the steps
around execution (gateway/app.py): only field execution changes."""

from __future__ import annotations

from typing import Any

from graphql import ExecutionResult, FieldNode, GraphQLField

from gateway.compat import CoreExecutor, get_argument_values
from gateway.execution.plan.cache import PlanCache
from gateway.execution.plan.runner import Runner
from gateway.observability import metrics
from resolvers.context import Context

__all__ = ["plan_executor"]


def _counter(executor: str, reason: str) -> Any:
    return metrics.EXECUTIONS.labels(executor, reason)


class _Planned(CoreExecutor):
    plans: PlanCache
    planned = _counter("plan", "planned")

    def execute_operation(self, serially: bool | None = None) -> Any:
        context = self.context_value
        if not isinstance(context, Context):
            found: Any = "no_context"
        elif not self.error_propagation:
            found = "error_propagation_disabled"
        else:
            found = self.plans.get(
                self.operation, self.fragments, self.variable_values, context.principal.grants
            )
        if isinstance(found, str):
            _counter("strawberry", found).inc()
            return super().execute_operation(serially)
        self.planned.inc()
        return self._run(found)

    async def _run(self, plan: Any) -> ExecutionResult:
        data, errors = await Runner(self, plan).run()
        return ExecutionResult(data, errors or None)

    def argument_values(self, definition: GraphQLField, node: FieldNode) -> dict[str, Any]:
        return get_argument_values(definition, node, self.variable_values, None, self.hide_suggestions)


def plan_executor(plans: PlanCache) -> type[CoreExecutor]:
    """The executor class for a schema whose plans `plans` caches."""
    return type("PlanExecutor", (_Planned,), {"plans": plans})


class Configured(CoreExecutor):
    """graphql-core's executor, chosen by configuration (`[gateway] executor = "strawberry"`)."""

    def execute_operation(self, serially: bool | None = None) -> Any:
        _counter("strawberry", "configured").inc()
        return super().execute_operation(serially)
