"""What lives as long as a gateway process: its sources, policy, documents, limiters and
audit writer, built once from the settings and the schema (`build_runtime`).

Every request reaches it through its context (`gateway/execution/step.py`): the
pipeline's steps read the policy, documents and writer in force now, so a reload that
replaces one is seen by the next operation without rebuilding anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from opentelemetry.sdk.trace.export import SpanExporter

from gateway.access.auth import Authenticator, AuthSettings
from gateway.access.ratelimit import RateLimiter, build_rate_limiter
from gateway.access.tally import Tally, build_tally
from gateway.applications.workflow import Workflow
from gateway.audit.store import AuditStore
from gateway.audit.suite import Suite, get_suite
from gateway.audit.writer import AuditWriter
from gateway.catalog.graph import graph_of
from gateway.catalog.load import check_sources
from gateway.compat import graphql_schema
from gateway.config.load import config_error
from gateway.config.settings import ConfigError, Settings
from gateway.execution.budget import WorkBudget
from gateway.execution.documents import Registry
from gateway.execution.persisted import PersistedQueries, build_persisted
from gateway.execution.schema import GatewaySchema
from gateway.observability.exchange import OperationNames
from gateway.observability.tracing import Tracing
from gateway.policy.model import Policy, load_policy
from gateway.policystore.follower import StoreFollower
from gateway.policystore.store import PolicyStore
from sources.base import Source
from sources.errors import SourceConfigError
from sources.registry import Catalog, build_catalog
from sources.stats import CallStats

__all__ = ["Runtime", "build_runtime"]


@dataclass
class Runtime:
    settings: Settings
    schema: GatewaySchema
    catalog: Catalog
    policy: Policy
    authenticator: Authenticator
    audit_key: bytes
    audit_suite: Suite  # the suite this process's chain uses
    documents: Registry
    operations: frozenset[str] | None  # registered operation names, when documents are configured
    limiter: RateLimiter
    tally: Tally  # miss budgets and verdict windows, shared like the rate limits
    budget: WorkBudget  # cost executing at once in this process, shared by every request
    persisted: PersistedQueries  # automatic persisted queries, in the record cache's backend
    names: OperationNames = field(init=False)  # operation labels for logs, metrics and spans
    tracing: Tracing | None = None
    writer: AuditWriter | None = None  # started by the lifespan when the audit is on
    follower: StoreFollower | None = None  # started by the lifespan when a policy store is configured
    policy_store: PolicyStore | None = None  # opened by the lifespan with the follower
    audit_store: AuditStore | None = None  # opened by the lifespan with the writer
    workflow: Workflow | None = None  # applications and grants, when there is a policy store

    def __post_init__(self) -> None:
        self.names = OperationNames(lambda: self.documents)

    def __setattr__(self, name: str, value: object) -> None:
        super().__setattr__(name, value)
        if name == "policy" and self.__dict__.get("schema") is not None and self.schema.plans is not None:
            # Plans are keyed by grants, so an old plan is never wrong; they are dropped so
            # that plans of grants no longer in force do not wait for eviction.
            self.schema.plans.clear()


def build_runtime(
    settings: Settings,
    schema: GatewaySchema,
    *,
    stats: CallStats | None = None,
    instances: dict[str, Source] | None = None,
    policy: Policy | None = None,
    span_exporter: SpanExporter | None = None,
) -> Runtime:
    """Everything but what the lifespan starts (the audit writer, reloads, tracing export).
    `stats`, `instances`, `policy` and `span_exporter` are the tests' ways in."""
    graph = schema.graph or graph_of(settings.catalog)
    try:  # adapters check their own keys here: their mistakes name the file and line too
        catalog = build_catalog(settings.sources, stats, instances, cache=settings.cache)
        # A resource's entity no source serves is named by its catalogue file and resource.
        check_sources(graph.catalog, {s.name: set(s.entities) for s in settings.sources})
        catalog.require(graph.entities)  # and what derivations load besides
    except SourceConfigError as exc:
        raise config_error(settings.path, exc) from exc
    documents = (
        Registry.load(Path(settings.documents), graphql_schema(schema))
        if settings.documents
        else Registry.empty()
    )
    operations = frozenset(d.name for d in documents) if settings.documents else None
    if policy is None:
        policy = _policy(settings, schema, operations)
    shared = settings.rate_limit
    runtime = Runtime(
        settings=settings,
        schema=schema,
        catalog=catalog,
        policy=policy,
        authenticator=Authenticator(_auth_settings(settings), lambda: runtime.policy),
        audit_key=settings.audit.subject_key.encode(),
        audit_suite=get_suite(settings.audit.suite),
        documents=documents,
        operations=operations,
        limiter=build_rate_limiter(shared.backend, shared.redis_url, f"{shared.namespace}:rl:"),
        tally=build_tally(shared.backend, shared.redis_url, f"{shared.namespace}:tally:"),
        budget=WorkBudget(settings.limits.concurrent_cost),
        persisted=build_persisted(
            settings.automatic, settings.cache.backend, settings.cache.redis_url, shared.namespace
        ),
        tracing=Tracing(settings.tracing, span_exporter) if settings.tracing.enabled else None,
    )
    return runtime


def _policy(settings: Settings, schema: GatewaySchema, operations: frozenset[str] | None) -> Policy:
    auth = settings.auth
    if auth is None:
        raise ConfigError(f"{settings.path}: auth: the [auth] section (with policy = ...) is required")
    if auth.store:
        # Nobody is admitted until the lifespan has read the store (it stops start-up if it cannot).
        return Policy({}, {}, {}, path="policy store (not read yet)")
    return load_policy(
        auth.policy,
        schema.scopes,
        pinnable=schema.surface.pinnable,
        operations=operations,
        sharing=schema.surface.sharing,
    )


def _auth_settings(settings: Settings) -> AuthSettings:
    auth = settings.auth
    if auth is None:
        return AuthSettings()
    console = settings.console.audience if settings.console.enabled else None
    if console == auth.audience:
        raise ConfigError(
            f"{settings.path}: console.audience: must differ from auth.audience ({auth.audience!r}): "
            "a person's sign-in token must never be a client's"
        )
    try:
        public_keys = AuthSettings.key_files(dict(auth.public_keys))
    except ConfigError as exc:  # a missing or unreadable PEM file stops start-up naming it
        raise ConfigError(f"{settings.path}: {exc}") from exc
    return AuthSettings(
        audience=auth.audience,
        issuer=auth.issuer,
        hs256_secret=auth.hs256_secret,
        public_keys=public_keys,
        leeway=auth.leeway,
        exclusive=() if console is None else (console,),
    )
