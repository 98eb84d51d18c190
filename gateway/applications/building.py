"""The workflow over a policy store, built from the schema: the catalogue and the schema's
declarations say what may be applied for, the schema's checks what a grant must pass;
`record` commits each change's audit event (a gateway's writer, or a command's own)."""

from __future__ import annotations

from collections.abc import Collection

from gateway.applications.items import ItemIndex
from gateway.applications.workflow import Workflow
from gateway.audit.record import RecordChange
from gateway.catalog.graph import graph_of
from gateway.compat import graphql_schema
from gateway.config.workflow import ApplicationSettings
from gateway.execution.schema import GatewaySchema
from gateway.policy.declarations import read_declarations
from gateway.policystore.store import PolicyStore
from resolvers.graph import DERIVATIONS

__all__ = ["build_workflow"]


def build_workflow(
    store: PolicyStore,
    schema: GatewaySchema,
    settings: ApplicationSettings,
    record: RecordChange,
    *,
    catalog: str | None = None,
    operations: Collection[str] | None = None,
) -> Workflow:
    graph = schema.graph or graph_of(catalog)
    fields = read_declarations(graphql_schema(schema)).fields
    index = ItemIndex(graph.catalog, fields, DERIVATIONS, schema.surface.sharing)
    return Workflow(store, index, settings, record, schema.policy_checks(operations))
