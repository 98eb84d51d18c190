"""The methods /graphql answers, checked before anything else is asked of the request: a
PUT is 405 whether or not it carries credentials, and a plain OPTIONS (not a CORS
preflight: gateway/http/cors.py answers those) says what is allowed."""

from __future__ import annotations

from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.http import paths
from gateway.http.refusal import Refusal

__all__ = ["MethodGate", "not_allowed"]

ALLOW = "GET, POST, OPTIONS"


def not_allowed(method: str, path: str, allow: str) -> Refusal:
    message = f"{method} is not allowed on {path} (allowed: {allow})."
    return Refusal(405, "METHOD_NOT_ALLOWED", message, allow=allow)


class MethodGate:
    def __init__(self, app: ASGIApp, path: str = paths.GRAPHQL) -> None:
        self.app = app
        self._path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] in ("GET", "POST")
            or not paths.for_graphql(scope, self._path)
        ):
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        if method == "OPTIONS":
            response = Response(status_code=204, headers={"Allow": ALLOW})
        else:
            response = not_allowed(method, self._path, ALLOW).response()
        await response(scope, receive, send)
