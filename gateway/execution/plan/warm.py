"""Registered documents planned before the first request: for every grant of the policy
whose client may run them, so that no request of a registered operation pays for its
plan."""

from __future__ import annotations

from collections.abc import Iterable

from graphql import FragmentDefinitionNode, OperationDefinitionNode

from gateway.compat import FragmentDetails, VariableValues
from gateway.execution.documents import Document
from gateway.execution.plan.cache import PlanCache
from gateway.policy.model import Policy

__all__ = ["plan_documents"]


def plan_documents(plans: PlanCache, documents: Iterable[Document], policy: Policy) -> int:
    """Plans made (operations whose `@include`/`@skip` read variables wait for their first
    request: their plan depends on the values)."""
    made = 0
    for document in documents:
        definitions = document.node.definitions
        fragments = {
            d.name.value: FragmentDetails(d) for d in definitions if isinstance(d, FragmentDefinitionNode)
        }
        operations = [d for d in definitions if isinstance(d, OperationDefinitionNode)]
        for (client_id, _purpose), grants in policy.grants.items():
            client = policy.clients.get(client_id)
            if client is None or (client.operations and document.name not in client.operations):
                continue
            for operation in operations:
                if plans.conditions(operation, fragments):
                    continue
                plans.get(operation, fragments, VariableValues({}, {}), grants)
                made += 1
    return made
