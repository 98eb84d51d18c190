"""ASGI middleware in front of /graphql: credentials and purpose become a Principal
before any GraphQL work, or the request ends here with 401/403 and a coded error.

The GraphiQL page itself (a GET for HTML) carries no data and passes; the operations it
sends carry the headers set in its Headers tab like any other client's.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

import orjson
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .auth import Authenticator, AuthError

__all__ = ["Admission"]

_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{8,64}")


def error_body(code: str, message: str) -> bytes:
    return orjson.dumps({"errors": [{"message": message, "extensions": {"code": code}}]})


class Admission:
    def __init__(
        self, app: ASGIApp, authenticator: Callable[[], Authenticator], path: str = "/graphql"
    ) -> None:
        self.app = app
        self._authenticator = authenticator
        self._path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self._path:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        request_id = headers.get("x-request-id", "")
        if not _REQUEST_ID.fullmatch(request_id):
            request_id = uuid.uuid4().hex
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        if (
            scope["method"] == "GET"
            and "text/html" in headers.get("accept", "")
            and not scope["query_string"]
        ):
            await self.app(scope, receive, send)  # the GraphiQL page: static, no data
            return
        try:
            state["principal"] = self._authenticator().authenticate(headers)
        except AuthError as exc:
            await _refuse(send, exc, request_id)
            return
        await self.app(scope, receive, _with_request_id(send, request_id))


def _with_request_id(send: Send, request_id: str) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
        await send(message)

    return sending


async def _refuse(send: Send, exc: AuthError, request_id: str) -> None:
    body = error_body(exc.code, exc.message)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"x-request-id", request_id.encode()),
    ]
    if exc.status == 401:
        headers.append((b"www-authenticate", b'Bearer realm="govgraph"'))
    await send({"type": "http.response.start", "status": exc.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
