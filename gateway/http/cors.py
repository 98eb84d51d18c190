"""CORS for /graphql: the web applications listed in `[gateway] cors_origins` may call the
gateway from their pages; no other origin may, and with none listed no response carries
a CORS header.

Our own rather than Starlette's CORSMiddleware, which would have to be wrapped anyway to
keep the console (same-origin, cookie-based) out of it, and which refuses a preflight
with a plain-text 400 where every other refusal of /graphql is a coded JSON error.

It sits outside admission and the method gate, so a preflight is answered before
credentials are asked for (a browser never sends them with one), and the refusals an
allowed page gets (401, 403, 405, 429) carry the headers it needs to read them.
"""

from __future__ import annotations

from collections.abc import Collection

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.http import paths
from gateway.http.refusal import Refusal

__all__ = ["ALLOWED_HEADERS", "EXPOSED_HEADERS", "MAX_AGE", "CrossOrigin"]

METHODS = ("GET", "POST")
# What clients send: credentials, purpose, case and operator, GraphQL clients' own headers
# (Apollo's CSRF guard and client names) and trace context; the CORS-safelisted ones too,
# for values outside their safelist (Content-Type: application/json is one).
ALLOWED_HEADERS = (
    "accept",
    "accept-language",
    "content-language",
    "content-type",
    "authorization",
    "x-api-key",
    "x-purpose",
    "x-case-id",
    "x-operator-id",
    "x-request-id",
    "apollo-require-preflight",
    "x-apollo-operation-name",
    "apollographql-client-name",
    "apollographql-client-version",
    "traceparent",
    "tracestate",
)
# What a page may read besides the safelisted ones: the id to quote, when to retry, why 401.
EXPOSED_HEADERS = ("x-request-id", "retry-after", "www-authenticate")
MAX_AGE = 600  # seconds a browser may reuse a preflight's answer

_PREFLIGHT_VARY = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"


class CrossOrigin:
    def __init__(self, app: ASGIApp, origins: Collection[str], path: str = paths.GRAPHQL) -> None:
        self.app = app
        self._origins = frozenset(origins)  # as browsers write them: validated at config load
        self._path = path
        self._allowed = frozenset(ALLOWED_HEADERS)
        self._exposed = ", ".join(EXPOSED_HEADERS)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or (not self._origins and scope["method"] != "OPTIONS")  # no CORS at all: nothing to add
            or not paths.for_graphql(scope, self._path)
        ):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        if scope["method"] == "OPTIONS" and origin is not None and "access-control-request-method" in headers:
            await self._preflight(origin, headers)(scope, receive, send)
            return
        if not self._origins:
            await self.app(scope, receive, send)  # a plain OPTIONS: the method gate answers it
            return
        allowed = origin if origin in self._origins else None

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer = MutableHeaders(scope=message)
                if allowed is not None:
                    answer["access-control-allow-origin"] = allowed
                    answer["access-control-expose-headers"] = self._exposed
                answer.add_vary_header("Origin")  # caches must not give one origin's answer to another
            await send(message)

        await self.app(scope, receive, sending)

    def _preflight(self, origin: str, headers: Headers) -> Response:
        method = headers["access-control-request-method"]
        asked = [h.strip().lower() for h in headers.get("access-control-request-headers", "").split(",")]
        unknown = sorted({h for h in asked if h} - self._allowed)
        if origin not in self._origins:
            refusal = f"Cross-origin requests from {origin} are not allowed."
        elif method not in METHODS:
            refusal = f"{method} is not allowed from another origin; use GET or POST."
        elif unknown:
            named = f"Headers {', '.join(unknown)} are" if len(unknown) > 1 else f"Header {unknown[0]} is"
            refusal = f"{named} not allowed from another origin."
        else:
            return Response(
                status_code=204,
                headers={
                    "Access-Control-Allow-Origin": origin,
                    "Access-Control-Allow-Methods": ", ".join(METHODS),
                    "Access-Control-Allow-Headers": ", ".join(ALLOWED_HEADERS),
                    "Access-Control-Max-Age": str(MAX_AGE),
                    "Vary": _PREFLIGHT_VARY,
                },
            )
        response = Refusal(403, "CROSS_ORIGIN", refusal).response()
        if self._origins:  # otherwise every preflight is refused alike
            response.headers["Vary"] = _PREFLIGHT_VARY
        return response
