"""`/`, where people type the gateway's address: with GraphiQL on, a temporary redirect to
/graphql (temporary, because the switch can change and browsers keep permanent ones);
with it off, a coded 404 like GraphiQL's own."""

from __future__ import annotations

from starlette.responses import RedirectResponse
from starlette.types import Receive, Scope, Send

from gateway.http import paths
from gateway.http.methods import not_allowed
from gateway.http.refusal import Refusal

__all__ = ["Root"]

ALLOW = "GET, HEAD"


class Root:
    def __init__(self, graphiql: bool) -> None:
        self._graphiql = graphiql

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope["method"]
        if method not in ("GET", "HEAD"):
            response = not_allowed(method, paths.ROOT, ALLOW).response()
        elif self._graphiql:
            # Under the path the gateway is mounted at, with a `?query=` link kept.
            target = scope.get("root_path", "") + paths.GRAPHQL
            if scope["query_string"]:
                target += "?" + scope["query_string"].decode("latin-1")
            response = RedirectResponse(target, status_code=307)
        else:
            response = Refusal(404, "NOT_FOUND", "Nothing is served here; GraphQL is at /graphql.").response()
        await response(scope, receive, send)
