"""The HTTP edge: the sockets a gateway process listens on and what each connection may hold.

A process listens on two addresses: the public one (/graphql, /healthz) and the
operators' one, `[gateway] ops_listen` (/metrics, /readyz, /healthz: gateway/http/ops.py).
Both are served by uvicorn with `EdgeProtocol`, which bounds what a client can make a
process hold:

- a request head (request line and headers) must be complete within `header_timeout`
  seconds of the connection opening, or of the first byte of the next request on a
  kept-alive connection, and within HEAD_BYTES; otherwise the connection is closed
  (431 for a head too large). uvicorn 0.54 has neither: its only timer runs between
  requests, so a connection that sends half a request line is kept for ever;
- an idle kept-alive connection is closed after `keepalive_timeout` seconds (uvicorn);
- at most `max_connections` connections per listener and process are served;
  requests on connections beyond that are answered 503 and their connection closed
  (uvicorn's `limit_concurrency`);
- request bodies are counted while they are read, and refused past `[limits]
  body_bytes` (gateway/http/view.py); the rest of a refused body is read and dropped for
  LINGER seconds at most, then the connection is closed.

What this takes from uvicorn beyond its public API (its protocol's request moments, its
servers' signal handling) is in gateway/compat/uvicorn.py.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any

import uvicorn
from starlette.applications import Starlette

from gateway.compat import HttpProtocol, QuietServer, SignalServer
from gateway.config.settings import ConfigError, GatewaySettings, Settings
from gateway.http.ops import ops_app
from gateway.server.addresses import address, separate

__all__ = [
    "HEAD_BYTES",
    "LINGER",
    "EdgeConfig",
    "EdgeProtocol",
    "address",
    "edge_config",
    "listen",
    "operators_server",
    "serve",
]

log = logging.getLogger("govgraph")
uvicorn_log = logging.getLogger("uvicorn.error")  # where uvicorn logs what its protocol refuses

HEAD_BYTES = 64 * 1024  # request line and headers; a bearer token and a few headers need a few kB
LINGER = 5.0  # seconds a refused body is read and dropped, so its client gets the answer


class EdgeConfig(uvicorn.Config):
    """uvicorn's configuration plus what EdgeProtocol reads (pickled into `--workers` processes)."""

    def __init__(self, app: Any, *, header_timeout: float, **options: Any) -> None:
        super().__init__(app, **options)
        self.header_timeout = header_timeout


def edge_config(app: Any, gateway: GatewaySettings, **options: Any) -> EdgeConfig:
    """The one uvicorn configuration of every listener: the public one of `serve`, of each
    `serve --workers` worker and of `demo`, and the operators' one; `options` add to it
    or override it (host, port, workers, lifespan...)."""
    settings: dict[str, Any] = {
        "http": EdgeProtocol,
        "loop": "uvloop",
        "log_level": "info",
        "log_config": None,  # uvicorn's records go to the root handler, in the configured format
        "access_log": False,  # query strings of GET requests can carry resident ids
        "timeout_keep_alive": gateway.keepalive_timeout,
        # uvicorn refuses a request once open connections (this one included) reach the
        # limit, so the limit is one more than the connections to serve.
        "limit_concurrency": gateway.max_connections + 1,
        # Without it uvicorn waits for ever for a request in flight (a client still sending
        # its body, a department that never answers), and a supervisor cannot know how
        # long a stop takes.
        "timeout_graceful_shutdown": gateway.shutdown_timeout,
    }
    return EdgeConfig(app, header_timeout=gateway.header_timeout, **{**settings, **options})


def operators_server(app: Starlette, gateway: GatewaySettings, sock: socket.socket) -> QuietServer:
    """The server of the operators' listener on `sock` (bound by `listen`): no lifespan of
    its own, signals left to the process's public server or to the supervisor."""
    host, port = sock.getsockname()[:2]
    log.info("operators' endpoints (/metrics, /readyz, /healthz) on http://%s", address(host, port))
    return QuietServer(edge_config(app, gateway, lifespan="off"))


def listen(host: str, port: int, where: str) -> socket.socket:
    """A bound socket, ready for a server to listen on; a taken address stops start-up
    naming the setting, before anything else has started."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"{where}: cannot listen on {host}:{port} ({exc.strerror})") from exc
    return sock


class EdgeProtocol(HttpProtocol):
    """uvicorn's httptools protocol with a deadline and a size limit for request heads."""

    def __init__(self, config: uvicorn.Config, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        self._head_timeout: float = getattr(config, "header_timeout", 10.0)
        self._wire: asyncio.Transport | None = None  # the connection, once made
        self._head_timer: asyncio.TimerHandle | None = None
        self._in_head = False  # between a request's first byte (or the connection) and its last header
        self._head_bytes = 0
        self._linger_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._wire = transport
        self._head_began()  # a connection that never sends a request is timed like a slow one

    def data_received(self, data: bytes) -> None:
        # Counted before parsing, so a head that completes in this chunk is never refused
        # for the body bytes that follow it.
        if self._in_head:
            self._head_bytes += len(data)
        super().data_received(data)
        wire = self._wire
        if self._in_head and self._head_bytes > HEAD_BYTES and wire is not None and not wire.is_closing():
            uvicorn_log.warning("Request head over %d bytes refused.", HEAD_BYTES)
            self.refuse(431, b"Request header fields too large.")

    def request_begun(self) -> None:
        if not self._in_head:
            self._head_began()

    def head_received(self) -> None:
        self._in_head = False
        self._cancel_head_timer()

    def request_received(self) -> None:
        if self._linger_timer is not None and self._wire is not None:
            self._wire.close()  # the refused body has all arrived: close now

    def response_closes(self, body_unread: bool) -> None:
        """Close at once, unless the client is still sending a body it was answered
        before (413): closing a socket with unread data sends a reset, and the client
        would lose the answer. Its bytes are read and dropped until the body ends, for
        LINGER seconds at most, as nginx's lingering close does."""
        if self._wire is None:
            return
        if not body_unread:
            self._wire.close()
        elif self._linger_timer is None:
            self._linger_timer = asyncio.get_running_loop().call_later(LINGER, self._wire.close)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        if self._linger_timer is not None:
            self._linger_timer.cancel()
        super().connection_lost(exc)

    def _head_began(self) -> None:
        self._in_head, self._head_bytes = True, 0
        self._cancel_head_timer()
        self._head_timer = asyncio.get_running_loop().call_later(self._head_timeout, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.responding():
            self.close_after_response()  # a pipelined head is late: close after the answer in progress
        elif self._wire is not None and not self._wire.is_closing():
            self._wire.close()  # as nginx does: no response to a client that never asked


async def serve(
    app: Starlette, settings: Settings, host: str, port: int, ops: tuple[str, int], **options: Any
) -> None:
    """Serve `app` on host:port and its operators' endpoints on `ops`, in this process,
    until SIGINT or SIGTERM. From the signal on /readyz answers 503; the process goes on
    serving for `[gateway] drain_seconds`, then stops accepting and lets the requests in
    flight finish; the operators' listener stops last."""
    separate((host, port), ops)
    ops_socket = listen(*ops, "gateway.ops_listen (or --ops-listen)")
    public = SignalServer(edge_config(app, settings.gateway, host=host, port=port, **options))
    readiness = app.state.readiness
    public.on_exit = lambda: setattr(readiness, "started", False)
    public.drain = settings.gateway.drain_seconds
    operators = operators_server(ops_app(app), settings.gateway, ops_socket)
    listening = asyncio.create_task(operators.serve(sockets=[ops_socket]))
    try:
        await public.serve()
    finally:
        operators.should_exit = True
        await listening
