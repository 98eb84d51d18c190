"""create_app: the gateway's routes, lifespan and per-request context, in reading order."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from strawberry.asgi import GraphQL

from resolvers.context import Context
from resolvers.graph import ENTITIES
from resolvers.loaders import Loaders
from sources.base import Source
from sources.registry import Catalog, build_catalog
from sources.stats import CallStats

from .graphiql import assets_route, offline_graphiql_html
from .schema import GatewaySchema, build_schema
from .settings import Settings

__all__ = ["GatewayGraphQL", "create_app"]

log = logging.getLogger("govgraph")


class GatewayGraphQL(GraphQL[Context, None]):
    def __init__(self, schema: GatewaySchema, settings: Settings) -> None:
        super().__init__(schema, graphql_ide="graphiql" if settings.gateway.graphiql else None)
        self.settings = settings
        self._ide_html = offline_graphiql_html()

    async def render_graphql_ide(self, request: Any) -> Response:
        return HTMLResponse(self._ide_html)

    async def get_context(self, request: Any, response: Any) -> Context:
        catalog: Catalog = request.app.state.catalog
        # Authentication and purpose binding will fill in the principal here.
        return Context(
            loaders=Loaders(catalog, batching=self.settings.gateway.batching),
            max_list_keys=self.settings.gateway.max_list_keys,
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
) -> Starlette:
    """The ASGI app. `stats` and `instances` let tests read call counts and plug sources in."""
    catalog = build_catalog(settings.sources, stats, instances)
    catalog.require(ENTITIES)
    schema = build_schema()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.catalog = catalog
        log.info("serving %d sources: %s", len(catalog.sources), ", ".join(catalog.sources))
        try:
            yield
        finally:
            await catalog.aclose()

    app = Starlette(
        routes=[
            Route("/graphql", GatewayGraphQL(schema, settings)),
            Route("/healthz", healthz),
            assets_route(),
        ],
        lifespan=lifespan,
    )
    app.state.catalog = catalog
    app.state.schema = schema
    return app
