"""The limits step: what one operation may ask for, before any resolver runs
(gateway/execution/limits.py measures a document)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

from gateway.compat import graphql_schema
from gateway.execution.limits import limit_error, measured
from gateway.execution.step import Step

__all__ = ["OperationLimits"]


class OperationLimits(Step):
    """Depth, aliases, tokens and cost, checked once the document is valid; then the
    operation waits for its cost's share of the process's work budget."""

    _cost = 0

    def on_operation(self) -> Iterator[None]:
        self.execution_context.parse_options["max_tokens"] = self.runtime.settings.limits.tokens
        yield

    def on_validate(self) -> Iterator[None]:
        yield
        ctx = self.execution_context
        limits = self.runtime.settings.limits
        if ctx.pre_execution_errors or ctx.graphql_document is None:
            return  # invalid documents are refused by validation with their own errors
        depth, aliases, cost = measured(
            graphql_schema(ctx.schema), ctx.graphql_document, ctx.operation_name, ctx.variables or {}
        )
        for limit, maximum, actual in (
            ("depth", limits.depth, depth),
            ("aliases", limits.aliases, aliases),
            ("cost", limits.cost, cost),
        ):
            if actual > maximum:
                raise limit_error(limit, maximum, actual)
        self._cost = cost

    async def on_execute(self) -> AsyncIterator[None]:
        budget = self.runtime.budget
        held = await budget.acquire(self._cost)
        try:
            yield
        finally:
            budget.release(held)
