"""`govgraph check-config`: validate a configuration and its policy as start-up does."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
from pathlib import Path

from gateway.catalog.graph import graph_of
from gateway.catalog.load import check_sources
from gateway.cli.common import Subparsers, add_config
from gateway.compat import graphql_schema
from gateway.config.settings import ConfigError, load_auth, load_settings
from gateway.execution.documents import Registry
from gateway.execution.schema import build_schema
from gateway.observability.tracing import Tracing
from gateway.policy.model import Policy, PolicyChecks, load_policy
from gateway.policystore.errors import PolicyStoreError
from gateway.policystore.snapshot import isolated_policy, snapshot_path
from gateway.policystore.store import PolicyStore
from sources.errors import SourceConfigError
from sources.registry import build_catalog

__all__ = ["register", "run"]


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser("check-config", help="validate govgraph.toml and the policy file")
    add_config(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = args.config
    settings = load_settings(config)
    auth = load_auth(config)
    graph = graph_of(settings.catalog)  # CatalogError names file, resource and item
    schema = build_schema(graph=graph)
    documents = (
        Registry.load(Path(settings.documents), graphql_schema(schema)) if settings.documents else None
    )
    # Checked as the gateway checks it at start-up: pins against the schema's verdicts,
    # client operations against the registered documents.
    policy = load_policy(
        auth.policy,
        schema.scopes,
        pinnable=schema.surface.pinnable,
        operations=None if documents is None else {d.name for d in documents},
        sharing=schema.surface.sharing,
    )
    try:
        sources = build_catalog(settings.sources)  # adapters validate their own options
        check_sources(graph.catalog, {s.name: set(s.entities) for s in settings.sources})
        sources.require(graph.entities)  # and what derivations load besides
    except SourceConfigError as exc:
        raise ConfigError(f"{config}: {exc}") from exc
    if settings.tracing.enabled:
        Tracing(settings.tracing).shutdown()  # its exporter's package may be missing
    if auth.store:  # the authority: its policy must pass the same checks
        operations = None if documents is None else {d.name for d in documents}
        checks = schema.policy_checks(operations)
        policy = asyncio.run(_stored(PolicyStore(auth.store, auth.store_schema), checks, policy.path))
    print(
        f"ok: {len(settings.sources)} sources, {len(policy.purposes)} purposes, "
        f"{len(policy.clients)} clients, {len(policy.grants)} grants, "
        f"{len(documents) if documents else 0} trusted documents, "
        f"{len(graph.catalog.resources)} catalogue resources of {len(graph.catalog.files)} departments"
    )
    return 0


async def _stored(store: PolicyStore, checks: PolicyChecks, file: str) -> Policy:
    try:
        snapshot = await store.snapshot()
    except PolicyStoreError as exc:
        raise ConfigError(f"{exc} (the policy file {file} was checked)") from exc
    finally:
        await store.aclose()
    policy, problems = isolated_policy(snapshot, dt.datetime.now(dt.UTC), checks)
    if problems:  # the gateways serve without these grants (denied): say so, as a mistake
        raise ConfigError(f"{snapshot_path(snapshot)}: grants left out: " + "; ".join(problems))
    return policy
