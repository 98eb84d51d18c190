"""The outermost middleware of /graphql: request id, one log line, request metrics.

It mints the request's id (the one in its audit event) before anything else runs, so
every response carries it in `X-Request-Id`, refusals included (it is always installed,
with logging and metrics off too); opens the request's
`Exchange` and counts the backend calls made for it; and when the response has gone,
writes one line to the `govgraph.request` log and updates the request metrics. The line
holds no personal data: no variables, ids, query text, case or operator ids, addresses.
The GraphiQL page (static, no data) is neither logged nor counted.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.http import paths
from gateway.observability.exchange import Exchange
from sources.stats import tally_calls

__all__ = ["RequestLog"]

log = logging.getLogger("govgraph.request")


class RequestLog:
    def __init__(
        self,
        app: ASGIApp,
        *,
        log_requests: bool = True,
        record: Callable[[Exchange], None] | None = None,
        path: str = paths.GRAPHQL,
    ) -> None:
        self.app = app
        self._log = log_requests
        self._record = record
        self._path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not paths.for_graphql(scope, self._path):
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        # Ours, never the client's: the audit log must not take a client's word for it.
        request_id = state["request_id"] = uuid.uuid4().hex
        header = (b"x-request-id", request_id.encode())
        status = 500  # unless a response starts: an exception escaped

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        if not self._log and self._record is None:  # the id only: nobody reads the exchange
            await self.app(scope, receive, sending)
            return
        exchange = state["exchange"] = Exchange(request_id)
        with tally_calls() as calls:
            try:
                await self.app(scope, receive, sending)
            finally:
                if not state.get("ide"):
                    exchange.close(status, state.get("principal"), calls)
                    self._finish(exchange)

    def _finish(self, exchange: Exchange) -> None:
        try:
            if self._record is not None:
                self._record(exchange)
            if self._log and log.isEnabledFor(logging.INFO):
                log.info("request", extra={"fields": exchange.log_fields()})
        except Exception:  # observing a request must never fail it
            log.exception("could not record request %s", exchange.request_id)
