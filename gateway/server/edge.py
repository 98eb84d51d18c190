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
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

import uvicorn
from starlette.applications import Starlette
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol, RequestResponseCycle
from uvicorn.server import ServerState

from gateway.config.settings import ConfigError, GatewaySettings, Settings
from gateway.http.ops import ops_app

__all__ = [
    "HEAD_BYTES",
    "LINGER",
    "EdgeConfig",
    "EdgeProtocol",
    "GatewayServer",
    "QuietServer",
    "address",
    "edge_config",
    "listen",
    "serve",
]

log = logging.getLogger("govgraph")

HEAD_BYTES = 64 * 1024  # request line and headers; a bearer token and a few headers need a few kB
LINGER = 5.0  # seconds a refused body is read and dropped, so its client gets the answer


class EdgeConfig(uvicorn.Config):
    """uvicorn's configuration plus what EdgeProtocol reads (pickled into `--workers` processes)."""

    def __init__(self, app: Any, *, header_timeout: float, **options: Any) -> None:
        super().__init__(app, **options)
        self.header_timeout = header_timeout


def edge_config(app: Any, gateway: GatewaySettings, **options: Any) -> EdgeConfig:
    """The uvicorn configuration every listener of `serve`, `serve --workers` and `demo` uses;
    `options` add to it or override it (host, port, workers, lifespan...)."""
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
    }
    return EdgeConfig(app, header_timeout=gateway.header_timeout, **{**settings, **options})


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


class EdgeProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline and a size limit for request heads."""

    def __init__(
        self,
        config: uvicorn.Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._head_timeout: float = getattr(config, "header_timeout", 10.0)
        self._head_timer: asyncio.TimerHandle | None = None
        self._in_head = False  # between a request's first byte (or the connection) and its last header
        self._head_bytes = 0
        self._linger_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_began()  # a connection that never sends a request is timed like a slow one

    def data_received(self, data: bytes) -> None:
        # Counted before parsing, so a head that completes in this chunk is never refused
        # for the body bytes that follow it.
        if self._in_head:
            self._head_bytes += len(data)
        super().data_received(data)
        if self._in_head and self._head_bytes > HEAD_BYTES and not self.transport.is_closing():
            self.logger.warning("Request head over %d bytes refused.", HEAD_BYTES)
            self._refuse(431, b"Request header fields too large.")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if not self._in_head:
            self._head_began()

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._cancel_head_timer()
        super().on_headers_complete()
        if self.cycle is not None and self.cycle.scope is self.scope:
            self.cycle.transport = _Lingering(self, self.cycle)

    def on_message_complete(self) -> None:
        super().on_message_complete()
        if self._linger_timer is not None:  # the refused body has all arrived: close now
            self.transport.close()

    def _close_after_body(self, cycle: RequestResponseCycle) -> None:
        """Close at once, unless the client is still sending a body it was answered
        before (413): closing a socket with unread data sends a reset, and the client
        would lose the answer. Its bytes are read and dropped until the body ends, for
        LINGER seconds at most, as nginx's lingering close does."""
        if not cycle.more_body or self.transport.is_closing():
            self.transport.close()
        elif self._linger_timer is None:
            self._linger_timer = self.loop.call_later(LINGER, self.transport.close)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        if self._linger_timer is not None:
            self._linger_timer.cancel()
        super().connection_lost(exc)

    def _head_began(self) -> None:
        self._in_head, self._head_bytes = True, 0
        self._cancel_head_timer()
        self._head_timer = self.loop.call_later(self._head_timeout, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.keep_alive = False  # a pipelined head is late: close after the answer in progress
        elif not self.transport.is_closing():
            self.transport.close()  # as nginx does: no response to a client that never asked

    def _refuse(self, status: int, message: bytes) -> None:
        self.transport.write(
            STATUS_LINE[status]
            + b"content-type: text/plain; charset=utf-8\r\nconnection: close\r\n"
            + b"content-length: %d\r\n\r\n%s" % (len(message), message)
        )
        self.transport.close()


class _Lingering(asyncio.Transport):
    """The connection as a request's cycle sees it: closing it goes through the protocol,
    which waits for a refused body to end (EdgeProtocol._close_after_body)."""

    def __init__(self, protocol: EdgeProtocol, cycle: RequestResponseCycle) -> None:
        super().__init__()
        self._protocol, self._cycle = protocol, cycle

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self._protocol.transport.write(data)

    def is_closing(self) -> bool:
        return self._protocol.transport.is_closing()

    def close(self) -> None:
        self._protocol._close_after_body(self._cycle)


class GatewayServer(uvicorn.Server):
    """The public server of a process. uvicorn re-raises SIGINT/SIGTERM once it has shut
    down; this one does not, so what runs after it (the operators' listener, the demo's
    departments and embedded PostgreSQL) stops cleanly. `on_exit` runs at the signal,
    before the requests in flight have finished."""

    on_exit: Callable[[], None] | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        self._captured_signals.clear()
        if self.on_exit is not None:
            self.on_exit()


class QuietServer(uvicorn.Server):
    """A server that leaves signals to another (the process's public server, or the
    `--workers` supervisor) and is stopped by setting `should_exit`."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve(
    app: Starlette, settings: Settings, host: str, port: int, ops: tuple[str, int], **options: Any
) -> None:
    """Serve `app` on host:port and its operators' endpoints on `ops`, in this process,
    until SIGINT or SIGTERM. From the signal on /readyz answers 503 while the requests in
    flight finish; the operators' listener stops last."""
    ops_socket = listen(*ops, "gateway.ops_listen (or --ops-listen)")
    public = GatewayServer(edge_config(app, settings.gateway, host=host, port=port, **options))
    readiness = app.state.readiness
    public.on_exit = lambda: setattr(readiness, "started", False)
    operators = QuietServer(edge_config(ops_app(app), settings.gateway, lifespan="off"))
    listening = asyncio.create_task(operators.serve(sockets=[ops_socket]))
    log.info("operators' endpoints (/metrics, /readyz, /healthz) on http://%s", address(*ops))
    try:
        await public.serve()
    finally:
        operators.should_exit = True
        await listening


def address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
