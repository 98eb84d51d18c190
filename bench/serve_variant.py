"""Serve the gateway in one of the variants the policy benchmark compares.

  bare          the graph alone: no authentication, no field policy, no audit
  policy        authentication, purpose and field policy; audit off
  policy+audit  everything, audit in sync mode (the default deployment)

Reads the demo stack's addresses from the environment, as govgraph.toml does.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.routing import Route
from strawberry.asgi import GraphQL

from gateway.app import create_app
from gateway.schema import build_schema
from gateway.settings import RateSettings, load_settings
from resolvers.context import Context
from resolvers.graph import ENTITIES
from resolvers.loaders import Loaders
from sources.registry import build_catalog

CONFIG = Path(__file__).parents[1] / "govgraph.toml"


def bare_app() -> Starlette:
    settings = load_settings(CONFIG)
    catalog = build_catalog(settings.sources)
    catalog.require(ENTITIES)

    class Bare(GraphQL[Context, None]):
        async def get_context(self, request: Any, response: Any) -> Context:
            return Context(loaders=Loaders(catalog), max_list_keys=settings.limits.list_keys)

    return Starlette(routes=[Route("/graphql", Bare(build_schema(enforce=False), graphql_ide=None))])


def app_for(variant: str) -> Starlette:
    if variant == "bare":
        return bare_app()
    # Benchmarks measure the gateway, not the per-client rate limit.
    settings = dataclasses.replace(load_settings(CONFIG), rate_limit=RateSettings(rate=1e9, burst=10**9))
    if variant == "policy":
        settings = dataclasses.replace(settings, audit=dataclasses.replace(settings.audit, mode="off"))
    return create_app(settings)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("variant", choices=["bare", "policy", "policy+audit"])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(
        app_for(args.variant), host="127.0.0.1", port=args.port, log_level="warning", access_log=False
    )


if __name__ == "__main__":
    main()
