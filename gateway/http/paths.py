"""Where the public listener answers; every part that matches a path reads it here."""

from starlette.types import Scope

from gateway.compat import route_path

ROOT = "/"  # redirects to GRAPHQL while GraphiQL is on
GRAPHQL = "/graphql"  # the GraphQL endpoint (and the GraphiQL page, for browsers)
HEALTHZ = "/healthz"  # liveness; also on the operators' listener with /readyz and /metrics


def for_graphql(scope: Scope, path: str = GRAPHQL) -> bool:
    """An HTTP request for the GraphQL route. Matched on the path the router routes on
    (root_path removed), or a mounted gateway would let requests past without credentials."""
    return scope["type"] == "http" and route_path(scope).rstrip("/") == path
