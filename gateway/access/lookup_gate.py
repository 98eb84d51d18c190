"""The look-up gate: an operation that would look ids up, refused whole (HTTP 429,
Retry-After) before any department is asked once the client's miss budget is spent
(gateway/policy/lookups.py audits and budgets each look-up)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionNode,
)

from gateway.execution.step import Step
from gateway.policy.lookups import budget_exceeded, budget_key
from resolvers.context import Context

__all__ = ["LookupGate"]


class LookupGate(Step):
    """Refuses an operation that would look ids up once the client's miss budget is spent:
    the whole operation, before any department is asked, with HTTP 429 and Retry-After."""

    async def on_execute(self) -> AsyncIterator[None]:
        ctx = self.execution_context
        context = ctx.context
        store = context.tally.store if isinstance(context, Context) else None
        if store is not None and self._looks_up(ctx.graphql_document, ctx.operation_name):
            principal = context.principal
            wait = await store.exhausted(budget_key(principal.client_id), principal.miss_budget)
            if wait > 0:
                # On record too: guessing on after the budget is spent is what an auditor looks for.
                context.access.deny("", "lookup_budget")
                if context.response is not None and not context.tally.batch:  # a batch answers the rest
                    context.response.status_code = 429
                    context.response.headers["retry-after"] = str(max(1, round(wait)))
                raise budget_exceeded(principal.client_id, principal.miss_budget, principal.miss_window, wait)
        yield

    def _looks_up(self, document: DocumentNode | None, operation_name: str | None) -> bool:
        roots = self.runtime.schema.surface.lookups  # the root fields that look subjects up by id
        if document is None:
            return False
        for definition in document.definitions:
            if not isinstance(definition, OperationDefinitionNode):
                continue
            name = definition.name.value if definition.name else None
            if operation_name is not None and name != operation_name:
                continue
            for selection in _root_fields(definition.selection_set.selections, document):
                if isinstance(selection, FieldNode) and selection.name.value in roots:
                    return True
        return False


def _root_fields(selections: Sequence[SelectionNode], document: DocumentNode) -> Iterator[SelectionNode]:
    """The operation's root selections, through fragments."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    stack, seen = list(selections), set()
    while stack:
        selection = stack.pop()
        if isinstance(selection, InlineFragmentNode):
            stack.extend(selection.selection_set.selections)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name not in seen and name in fragments:
                seen.add(name)
                stack.extend(fragments[name].selection_set.selections)
        else:
            yield selection
