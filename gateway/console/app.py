"""The console's routes, mounted by the gateway at /console: the people's GraphQL API and
the server-rendered pages (pages.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.routing import BaseRoute, Route

from gateway.console.api import console_graphql
from gateway.console.pages import page_routes

if TYPE_CHECKING:
    from gateway.runtime import Runtime

__all__ = ["CONSOLE", "console_routes"]

CONSOLE = "/console"


def console_routes(runtime: Runtime) -> list[BaseRoute]:
    return [
        Route(f"{CONSOLE}/graphql", console_graphql(runtime), methods=["POST"]),
        *page_routes(runtime, CONSOLE),
    ]
