"""What the gateway uses of Starlette 1.10 that Starlette does not document (tests in
tests/gateway/test_compat.py)."""

from __future__ import annotations

from starlette._utils import get_route_path
from starlette.types import Scope

__all__ = ["route_path"]


def route_path(scope: Scope) -> str:
    """The path Starlette's router matches routes on: the request's path without the
    `root_path` it is mounted under. Starlette's own function, so a middleware matches
    exactly what the router will route."""
    return get_route_path(scope)
