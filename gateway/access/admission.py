"""ASGI middleware in front of /graphql: credentials and purpose become a Principal
before any GraphQL work, or the request ends here with 401/403 and a coded error.

The GraphiQL page itself (a GET for HTML) carries no data and passes; the operations it
sends carry the headers set in its Headers tab like any other client's.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import orjson
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.access.auth import Authenticator, AuthError
from gateway.access.ratelimit import RateLimiter
from gateway.compat import route_path
from gateway.config.settings import RateSettings
from resolvers.context import Principal

__all__ = ["Admission"]


def for_graphql(scope: Scope, path: str) -> bool:
    """An HTTP request for the GraphQL route. Matched on the path the router routes on
    (root_path removed), or a mounted gateway would let requests past without credentials."""
    return scope["type"] == "http" and route_path(scope).rstrip("/") == path


def error_body(code: str, message: str) -> bytes:
    return orjson.dumps({"errors": [{"message": message, "extensions": {"code": code}}]})


class Admission:
    def __init__(
        self,
        app: ASGIApp,
        authenticator: Callable[[], Authenticator],
        limiter: Callable[[], RateLimiter],
        default_rate: RateSettings,
        path: str = "/graphql",
    ) -> None:
        self.app = app
        self._authenticator = authenticator
        self._limiter = limiter
        self._default = default_rate
        self._path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not for_graphql(scope, self._path):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        state = scope.setdefault("state", {})
        if (
            scope["method"] == "GET"
            and "text/html" in headers.get("accept", "")
            and not scope["query_string"]
        ):
            state["ide"] = True  # the GraphiQL page: static, no data
            await self.app(scope, receive, send)
            return
        try:
            principal = state["principal"] = self._authenticator().authenticate(headers)
            await self._within_rate(principal)
        except AuthError as exc:
            await _refuse(send, exc)
            return
        await self.app(scope, receive, send)

    async def _within_rate(self, principal: Principal) -> None:
        client = self._authenticator().policy.clients[principal.client_id]
        rate = client.rate or self._default.rate
        burst = client.burst or self._default.burst
        wait = await self._limiter().acquire(principal.client_id, rate, burst)
        if wait > 0:
            message = f"Over {rate:g} requests per second; retry later."
            raise AuthError(429, "RATE_LIMITED", message, retry_after=math.ceil(wait))


async def _refuse(send: Send, exc: AuthError) -> None:
    body = error_body(exc.code, exc.message)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if exc.status == 401:
        headers.append((b"www-authenticate", b'Bearer realm="govgraph"'))
    if exc.retry_after is not None:
        headers.append((b"retry-after", str(exc.retry_after).encode()))
    await send({"type": "http.response.start", "status": exc.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
