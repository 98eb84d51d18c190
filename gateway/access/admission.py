"""ASGI middleware in front of /graphql: credentials and purpose become a Principal
before any GraphQL work, or the request ends here with 401/403 and a coded error.

The GraphiQL page itself (a GET for HTML) carries no data and passes; the operations it
sends carry the headers set in its Headers tab like any other client's. The page is
static, so a link to it with `?query=` (a query to open in it) passes the view without its
query string: the page's script reads the link from the address bar, and the view can
only serve the page (strawberry executes a GET that has a `query`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.http import paths
from gateway.http.graphiql import page_wanted
from gateway.http.refusal import Refusal
from resolvers.context import Principal

if TYPE_CHECKING:
    from gateway.runtime import Runtime

__all__ = ["Admission"]


class Admission:
    def __init__(
        self,
        app: ASGIApp,
        runtime: Runtime,
        path: str = paths.GRAPHQL,
    ) -> None:
        self.app = app
        self._runtime = runtime  # the authenticator reads the policy in force per request
        self._path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not paths.for_graphql(scope, self._path):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        state = scope.setdefault("state", {})
        if page_wanted(scope["method"], headers.get("accept", "")):
            state["ide"] = True  # the GraphiQL page: static, no data
            await self.app({**scope, "query_string": b""}, receive, send)
            return
        try:
            principal = state["principal"] = self._runtime.authenticator.authenticate(headers)
            await self._within_rate(principal)
        except Refusal as refused:
            await refused.response()(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _within_rate(self, principal: Principal) -> None:
        client = self._runtime.authenticator.policy.clients[principal.client_id]
        rate = client.rate or self._runtime.settings.rate_limit.rate
        burst = client.burst or self._runtime.settings.rate_limit.burst
        wait = await self._runtime.limiter.acquire(principal.client_id, rate, burst)
        if wait > 0:
            message = f"Over {rate:g} requests per second; retry later."
            raise Refusal(429, "RATE_LIMITED", message, retry_after=math.ceil(wait))
