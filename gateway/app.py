"""create_app: the gateway's routes, middleware, lifespan and per-request context, in
reading order."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import partial
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from strawberry.asgi import GraphQL

from resolvers.context import Context, Principal
from resolvers.graph import ENTITIES
from resolvers.loaders import Loaders
from sources.audit_store import AuditStore
from sources.base import Source
from sources.registry import Catalog, build_catalog
from sources.stats import CallStats

from .admission import Admission
from .audit import AccessRecord, AuditWriter, subject_key
from .auth import Authenticator, AuthSettings
from .extensions import AuditTrail, IntrospectionGate
from .graphiql import assets_route, offline_graphiql_html
from .policy import Policy, load_policy
from .schema import GatewaySchema, build_schema
from .settings import ConfigError, Settings

__all__ = ["GatewayGraphQL", "Runtime", "create_app"]

log = logging.getLogger("govgraph")


@dataclass
class Runtime:
    """What lives as long as the process: sources, policy, audit writer."""

    settings: Settings
    catalog: Catalog
    policy: Policy
    authenticator: Authenticator
    audit_key: bytes
    writer: AuditWriter | None = None


class GatewayGraphQL(GraphQL[Context, None]):
    def __init__(self, schema: GatewaySchema, runtime: Runtime) -> None:
        super().__init__(schema, graphql_ide="graphiql" if runtime.settings.gateway.graphiql else None)
        self.runtime = runtime
        self._ide_html = offline_graphiql_html()

    async def render_graphql_ide(self, request: Any) -> Response:
        return HTMLResponse(self._ide_html)

    async def get_context(self, request: Any, response: Any) -> Context:
        runtime = self.runtime
        state = request.scope.get("state", {})
        principal: Principal = state.get("principal") or Principal()
        access = AccessRecord(
            request_id=state.get("request_id", ""),
            client=principal.client_id,
            purpose=principal.purpose,
            case_id=principal.case_id,
            operator=principal.operator_id,
            operation=None,
            document_hash="",
        )
        return Context(
            loaders=Loaders(runtime.catalog, batching=runtime.settings.gateway.batching),
            principal=principal,
            access=access,
            audit_subject=partial(subject_key, runtime.audit_key),
            max_list_keys=runtime.settings.gateway.max_list_keys,
            request=request,
            response=response,
        )


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


def create_app(
    settings: Settings,
    *,
    stats: CallStats | None = None,
    instances: dict[str, Source] | None = None,
    policy: Policy | None = None,
) -> Starlette:
    """The ASGI app. `stats`, `instances` and `policy` let tests read call counts and plug in
    sources and policies; everything else comes from `settings`."""
    catalog = build_catalog(settings.sources, stats, instances)
    catalog.require(ENTITIES)
    holder: dict[str, Runtime] = {}
    trail = [lambda: AuditTrail(holder["runtime"].writer, settings.audit.mode == "sync")]
    schema = build_schema(extensions=[IntrospectionGate, *(trail if settings.audit.mode != "off" else [])])
    if policy is None:
        if settings.auth is None:
            raise ConfigError(f"{settings.path}: auth: the [auth] section (with policy = ...) is required")
        policy = load_policy(settings.auth.policy, schema.scopes)
    auth = settings.auth
    auth_settings = AuthSettings(
        audience=auth.audience if auth else "govgraph",
        issuer=auth.issuer if auth else None,
        hs256_secret=auth.hs256_secret if auth else None,
        public_keys=AuthSettings.key_files(dict(auth.public_keys)) if auth else (),
    )
    runtime = holder["runtime"] = Runtime(
        settings=settings,
        catalog=catalog,
        policy=policy,
        authenticator=Authenticator(auth_settings, lambda: runtime.policy),
        audit_key=settings.audit.subject_key.encode(),
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        audit = settings.audit
        store = None
        if audit.mode != "off" and audit.dsn:
            store = AuditStore(audit.dsn)
            await store.open()
            await store.install()
            runtime.writer = AuditWriter(
                store,
                runtime.audit_key,
                max_batch=audit.max_batch,
                max_wait=audit.max_wait,
                commit_timeout=audit.commit_timeout,
            )
            await runtime.writer.start()
        log.info(
            "serving %d sources: %s; audit %s", len(catalog.sources), ", ".join(catalog.sources), audit.mode
        )
        try:
            yield
        finally:
            if runtime.writer is not None:
                await runtime.writer.aclose()
            if store is not None:
                await store.aclose()
            await catalog.aclose()

    app = Starlette(
        routes=[
            Route("/graphql", GatewayGraphQL(schema, runtime)),
            Route("/healthz", healthz),
            assets_route(),
        ],
        middleware=[Middleware(Admission, authenticator=lambda: runtime.authenticator)],
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    app.state.catalog = catalog
    app.state.schema = schema
    return app
