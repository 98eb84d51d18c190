"""`govgraph check-config`: the configuration checked as `govgraph serve` checks it, every
mistake at once, without starting anything; with `--no-env`, without the environment.

Each step runs when what it needs could be read: the whole file, or, when it fails, each
section alone, so that the catalogue, the trusted documents and the policy are still
checked; each department's adapter on its own; the demo's published keys as serve
refuses them. When all of that passes, the app is built as serve builds it, so that
nothing serve refuses passes here. Only the policy store's check connects anywhere.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TypeVar

from gateway.access.auth import AuthSettings
from gateway.app import create_app
from gateway.audit.keys import checkpointer_for
from gateway.catalog.build import Graph
from gateway.catalog.graph import graph_of
from gateway.catalog.load import check_sources
from gateway.cli.common import Subparsers, add_config
from gateway.cli.findings import FAILED, Failed, Findings
from gateway.cli.plugins import published_keys
from gateway.cli.published import ALLOW_FLAG, in_use, published_keys_in_use, refusal
from gateway.compat import graphql_schema
from gateway.config.load import config_error
from gateway.config.settings import (
    AuthConfig,
    ConfigError,
    Settings,
    load_auth,
    load_catalog_path,
    load_documents_path,
    load_settings,
)
from gateway.config.variables import Variables
from gateway.execution.documents import Registry
from gateway.execution.schema import build_schema
from gateway.observability.tracing import Tracing
from gateway.policy.model import Policy, PolicyChecks, read_policy
from gateway.policystore.errors import PolicyStoreError
from gateway.policystore.snapshot import isolated_policy, snapshot_path
from gateway.policystore.store import PolicyStore
from sources.base import Source, SourceSpec
from sources.errors import SourceConfigError
from sources.registry import adapter_for, build_catalog

__all__ = ["register", "run"]

T = TypeVar("T")


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "check-config",
        help="check govgraph.toml, its catalogue, documents and policy as serve does, every mistake at once",
        description="Check the configuration as `govgraph serve` checks it before it starts, reporting"
        " every mistake (exit status 2) rather than the first, without starting anything.",
    )
    add_config(parser)
    parser.add_argument(
        "--no-env",
        action="store_true",
        help="check without the environment (where the secrets are not at hand): every ${VAR} reads as"
        " its default, or stands for a value that passes its key's checks; says what that leaves unchecked",
    )
    parser.add_argument(
        ALLOW_FLAG, action="store_true", help="as for serve: the demo's published keys are noted, not refused"
    )
    parser.set_defaults(func=run)


@dataclass
class _Checked:
    settings: Settings | Failed = FAILED
    graph: Graph | Failed = FAILED
    documents: Registry | Failed | None = None
    policy: Policy | Failed = FAILED

    def summary(self) -> str:
        """What was checked, counted (with --no-env, what could be)."""
        parts = []
        if not isinstance(self.settings, Failed):
            parts.append(f"{len(self.settings.sources)} sources")
        if not isinstance(policy := self.policy, Failed):
            parts += [f"{len(policy.purposes)} purposes", f"{len(policy.clients)} clients"]
            parts.append(f"{len(policy.grants)} grants")
        if not isinstance(self.documents, Failed):
            parts.append(f"{0 if self.documents is None else len(self.documents)} trusted documents")
        if not isinstance(graph := self.graph, Failed):
            catalog = graph.catalog
            parts.append(f"{len(catalog.resources)} catalogue resources of {len(catalog.files)} departments")
        return "ok: " + ", ".join(parts)


def run(args: argparse.Namespace) -> int:
    variables = Variables(os.environ, stand_in=args.no_env)
    found = Findings(stand_ins=args.no_env)
    checked = _check(args.config, variables, found, args.allow_demo_keys)
    unchecked = [*_not_read(variables), *found.unchecked] if args.no_env else found.unchecked
    for line in found.notes:
        print(f"govgraph: {line}", file=sys.stderr)
    for line in unchecked:
        print(f"govgraph: not checked: {line}", file=sys.stderr)
    if found.problems:
        raise ConfigError("\n".join(found.problems))
    print(checked.summary())
    return 0


def _check(config: str, variables: Variables, found: Findings, allow_published: bool) -> _Checked:
    checked = _Checked()
    settings = checked.settings = found.attempt(lambda: load_settings(config, variables))
    auth: AuthConfig | Failed | None
    if isinstance(settings, Failed):  # the sections that lead to other files, read alone
        auth = found.attempt(lambda: load_auth(config, variables))
        catalog = found.attempt(lambda: load_catalog_path(config, variables))
        documents = found.attempt(lambda: load_documents_path(config, variables))
    else:
        auth, catalog, documents = settings.auth, settings.catalog, settings.documents
        if auth is None:
            found.add(f"{config}: auth: the [auth] section (with policy = ...) is required")
    checks = _graph(checked, catalog, documents, found)
    stored = None
    if isinstance(auth, AuthConfig) and not isinstance(checks, Failed):
        checked.policy = found.attempt(lambda: checks.text(read_policy(auth.policy), auth.policy))
        stored = _store(auth, checks, variables, found)
    if isinstance(settings, Failed):
        return checked
    _sources(settings, checked.graph, found)
    _keys(settings, found)
    if not isinstance(checked.policy, Failed):
        _published(config, settings, checked.policy, variables, found, allow_published)
        checked.policy = stored or checked.policy  # the store's is the one served
    if not found.problems:  # the rest of what serve checks, as serve checks it
        found.attempt(lambda: _as_served(settings))
    return checked


def _graph(
    checked: _Checked, catalog: str | Failed | None, documents: str | Failed | None, found: Findings
) -> PolicyChecks | Failed:
    """The catalogue, the schema built from it and the trusted documents against that:
    what a policy is checked against."""
    if isinstance(catalog, Failed):
        return FAILED
    graph = checked.graph = found.attempt(lambda: graph_of(catalog))  # every mistake, file and line
    if isinstance(graph, Failed):
        return FAILED
    schema = found.attempt(lambda: build_schema(graph=graph))
    if isinstance(schema, Failed) or isinstance(documents, Failed):
        return FAILED
    if documents:
        checked.documents = found.attempt(lambda: Registry.load(Path(documents), graphql_schema(schema)))
    registry = checked.documents
    if isinstance(registry, Failed):
        return FAILED  # the policy's operations are checked against them
    return schema.policy_checks(None if registry is None else {d.name for d in registry})


def _sources(settings: Settings, graph: Graph | Failed, found: Findings) -> None:
    """Each department's adapter checks its own keys; then which source serves what."""

    located = partial(_located, settings.path)
    adapters = [found.attempt(located(partial(_adapter, spec))) for spec in settings.sources]
    if any(isinstance(a, Failed) for a in adapters) or isinstance(graph, Failed):
        return
    served = {s.name: set(s.entities) for s in settings.sources}
    catalog = found.attempt(located(lambda: build_catalog(settings.sources)))  # an entity served twice
    if isinstance(catalog, Failed):
        return
    # As start-up: a resource's entity no source serves, by its catalogue file and resource;
    # then what derivations load besides.
    if not isinstance(found.attempt(located(lambda: check_sources(graph.catalog, served))), Failed):
        found.attempt(located(lambda: catalog.require(graph.entities)))


def _located(path: str, step: Callable[[], T]) -> Callable[[], T]:
    """`step`, its SourceConfigError named by the file's line, as start-up names it."""

    def run() -> T:
        try:
            return step()
        except SourceConfigError as exc:
            raise config_error(path, exc) from exc

    return run


def _adapter(spec: SourceSpec) -> Source:
    return adapter_for(spec)(spec)  # reads its own keys; nothing connects yet


def _keys(settings: Settings, found: Findings) -> None:
    if settings.auth is not None and settings.auth.public_keys:  # read as start-up reads them
        try:
            AuthSettings.key_files(dict(settings.auth.public_keys))
        except ConfigError as exc:
            found.add(f"{settings.path}: {exc}")
    if settings.tracing.enabled:  # its exporter's package may be missing
        found.attempt(lambda: Tracing(settings.tracing).shutdown())
    if settings.audit.mode != "off":  # the checkpoint key and sink, read as the writer reads them
        try:
            checkpointer_for(settings.audit)
        except ConfigError as exc:
            found.add(f"{settings.path}: {exc}")


def _published(
    config: str,
    settings: Settings,
    policy: Policy,
    variables: Variables,
    found: Findings,
    allowed: bool,
) -> None:
    """The demo's published keys, refused as serve refuses them; with --no-env, a key read
    as its variable's default is the default's problem only while the variable is unset."""
    # Serve checks the policy it starts with: none yet when a policy store is the authority.
    served = Policy({}, {}, {}) if settings.auth and settings.auth.store else policy
    refused: dict[str, list[str]] = {}
    for who, places in published_keys_in_use(settings, served, published_keys()).items():
        for place in places:
            if var := variables.defaulted.get(place):
                found.unchecked.append(
                    f"{place}: the default of ${{{var}}} is the {who}'s published key;"
                    f" serve refuses it unless {var} is set (or {ALLOW_FLAG} is given)"
                )
            else:
                refused.setdefault(who, []).append(place)
    if refused and allowed:
        found.notes.append(f"allowed by {ALLOW_FLAG}: {in_use(refused)}")
    elif refused:
        found.add(f"{config}: {refusal(refused)}")


def _store(auth: AuthConfig, checks: PolicyChecks, variables: Variables, found: Findings) -> Policy | None:
    """The policy store's policy, which must pass the same checks (it is the authority)."""
    var = variables.stood_in.get("auth.store") or variables.defaulted.get("auth.store")
    if var:
        found.unchecked.append(f"the policy store's grants ([auth] store comes from ${{{var}}})")
        return None
    if not auth.store:
        return None
    store = PolicyStore(auth.store, auth.store_schema)
    stored = found.attempt(lambda: asyncio.run(_stored(store, checks, auth.policy)))
    return None if isinstance(stored, Failed) else stored


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


def _as_served(settings: Settings) -> None:
    runtime = create_app(settings).state.runtime
    if runtime.tracing is not None:
        runtime.tracing.shutdown()


def _not_read(variables: Variables) -> list[str]:
    """What --no-env leaves unchecked: the values of the variables, which the file's keys
    were checked without."""
    kinds = {
        "stand for values of their keys' types": variables.stood_in,
        "read as their defaults": variables.defaulted,
    }
    lines = []
    for kind, by_key in kinds.items():
        if names := sorted(set(by_key.values())):
            lines.append(f"the values of {', '.join(names)}, which {kind} (--no-env)")
    return lines
