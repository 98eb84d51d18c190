"""The workflow a gateway process serves, built from its runtime: the catalogue and the
schema's declarations say what may be applied for; the audit writer records each change."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway.applications.items import ItemIndex
from gateway.applications.workflow import Workflow
from gateway.audit.record import AuditUnavailable, PolicyChange
from gateway.catalog.graph import graph_of
from gateway.compat import graphql_schema
from gateway.policy.declarations import read_declarations
from gateway.policystore.store import PolicyStore
from resolvers.graph import DERIVATIONS

if TYPE_CHECKING:
    from gateway.runtime import Runtime

__all__ = ["build_workflow"]


def build_workflow(runtime: Runtime, store: PolicyStore) -> Workflow:
    schema, settings = runtime.schema, runtime.settings
    graph = schema.graph or graph_of(settings.catalog)
    fields = read_declarations(graphql_schema(schema)).fields
    index = ItemIndex(graph.catalog, fields, DERIVATIONS, schema.surface.sharing)

    async def record(change: PolicyChange) -> None:
        if runtime.writer is None:
            if settings.audit.mode == "off":
                return  # no audit log is kept at all
            raise AuditUnavailable("the audit writer is not running")
        await runtime.writer.record_change(change)

    return Workflow(
        store,
        index,
        settings.applications,
        record,
        schema.scopes,
        pinnable=schema.surface.pinnable,
        operations=runtime.operations,
        sharing=schema.surface.sharing,
    )
