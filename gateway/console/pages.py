"""The console's pages (server-rendered with Jinja2, plain forms)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.routing import BaseRoute

if TYPE_CHECKING:
    from gateway.runtime import Runtime

__all__ = ["page_routes"]


def page_routes(runtime: Runtime, prefix: str) -> list[BaseRoute]:
    return []
