"""The workflow over a policy store, built from the schema: the catalogue and the schema's
declarations say what may be applied for; `record` commits each change's audit event."""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

from gateway.applications.base import Record
from gateway.applications.items import ItemIndex
from gateway.applications.workflow import Workflow
from gateway.audit.record import AuditUnavailable, PolicyChange
from gateway.catalog.graph import graph_of
from gateway.compat import graphql_schema
from gateway.config.sections import ApplicationSettings
from gateway.execution.schema import GatewaySchema
from gateway.policy.declarations import read_declarations
from gateway.policystore.store import PolicyStore
from resolvers.graph import DERIVATIONS

if TYPE_CHECKING:
    from gateway.runtime import Runtime

__all__ = ["build_workflow", "runtime_workflow"]


def build_workflow(
    store: PolicyStore,
    schema: GatewaySchema,
    settings: ApplicationSettings,
    record: Record,
    *,
    catalog: str | None = None,
    operations: Collection[str] | None = None,
) -> Workflow:
    graph = schema.graph or graph_of(catalog)
    fields = read_declarations(graphql_schema(schema)).fields
    index = ItemIndex(graph.catalog, fields, DERIVATIONS, schema.surface.sharing)
    return Workflow(
        store,
        index,
        settings,
        record,
        schema.scopes,
        pinnable=schema.surface.pinnable,
        operations=operations,
        sharing=schema.surface.sharing,
    )


def runtime_workflow(runtime: Runtime, store: PolicyStore) -> Workflow:
    """A gateway process's: its audit writer records the changes."""
    settings = runtime.settings

    async def record(change: PolicyChange) -> None:
        if runtime.writer is None:
            if settings.audit.mode == "off":
                return  # no audit log is kept at all
            raise AuditUnavailable("the audit writer is not running")
        await runtime.writer.record_change(change)

    return build_workflow(
        store,
        runtime.schema,
        settings.applications,
        record,
        catalog=settings.catalog,
        operations=runtime.operations,
    )
