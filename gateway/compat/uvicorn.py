"""What the gateway uses of uvicorn 0.54 that uvicorn does not document: its server's
signal handling, its `--workers` supervisor and its httptools protocol (tests in
tests/gateway/test_compat.py)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol, RequestResponseCycle
from uvicorn.server import ServerState
from uvicorn.supervisors import Multiprocess

__all__ = ["HttpProtocol", "QuietServer", "SignalServer", "Supervisor", "bind"]


class SignalServer(uvicorn.Server):
    """A server that stops at SIGINT or SIGTERM as uvicorn's does, without re-raising the
    signal once it has shut down (uvicorn does, so that its caller stops too); `on_exit`
    runs at the signal, before the requests in flight have finished. With `drain` seconds
    it goes on serving that long after the signal (`on_exit` already run) before it
    stops; a second signal stops it at once."""

    on_exit: Callable[[], None] | None = None
    drain: float = 0.0
    _draining: asyncio.TimerHandle | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self._draining is not None:
            self._draining.cancel()
        elif self.drain > 0 and not self.should_exit:
            self._exiting()
            # Signal handlers run in the main thread, where the server's loop runs.
            self._draining = asyncio.get_running_loop().call_later(self.drain, self._stop, sig, frame)
            return
        self._stop(sig, frame)

    def _stop(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        self._captured_signals.clear()
        self._exiting()

    def _exiting(self) -> None:
        if self.on_exit is not None:
            self.on_exit()


class QuietServer(uvicorn.Server):
    """A server that leaves signals to another (a process's public server, or the
    `--workers` supervisor) and is stopped by setting `should_exit`."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def bind(config: uvicorn.Config) -> socket.socket:
    """The listening socket `config` describes, inheritable by worker processes."""
    return config.bind_socket()


class Supervisor(Multiprocess):
    """uvicorn's `--workers` supervisor. `workers_gone(pids)` is told of the workers that
    uvicorn replaced or retired: died, restarted on SIGHUP, removed on SIGTTOU."""

    def worker_pids(self) -> set[int]:
        return {p.pid for p in list(self.processes) if p.pid is not None}

    def stopping(self) -> bool:
        return self.should_exit.is_set()

    def workers_gone(self, pids: set[int]) -> None:
        """Override to hear of workers that are gone."""

    def terminate_all(self) -> None:
        """Stop every worker, having closed the supervisor's own copy of the listening
        socket first: uvicorn keeps it open, so once the workers have closed theirs the
        kernel still completes connections that no process will accept, and resets them
        when the supervisor exits. Closed, the socket refuses new connections as soon as
        the workers stop accepting, and a load balancer sends those requests elsewhere."""
        for sock in self.sockets:
            sock.close()
        super().terminate_all()

    def _watched(self, step: Callable[[], None]) -> None:
        before = self.worker_pids()
        step()
        gone = before - self.worker_pids()
        if gone:
            self.workers_gone(gone)

    def handle_signals(self) -> None:
        self._watched(super().handle_signals)

    def keep_subprocess_alive(self) -> None:
        self._watched(super().keep_subprocess_alive)


class HttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, with the moments of a request and the actions on it a
    subclass needs under names of their own. Hooks, each a no-op here:

    - `request_begun()`: the first byte of a request (after the previous one) arrived;
    - `head_received()`: its request line and headers are complete (before uvicorn acts);
    - `request_received()`: its body is complete;
    - `response_closes(body_unread)`: a response that ends its connection has been
      sent; `body_unread` says the client is still sending the request's body. Closes
      the connection unless overridden.

    asyncio's protocol methods (`connection_made`, `data_received`, `connection_lost`)
    are overridden as usual, calling these first or last.
    """

    def __init__(
        self,
        config: uvicorn.Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)

    def request_begun(self) -> None:
        pass

    def head_received(self) -> None:
        pass

    def request_received(self) -> None:
        pass

    def response_closes(self, body_unread: bool) -> None:
        self.transport.close()

    def responding(self) -> bool:
        """Whether a response is in progress on this connection."""
        return self.cycle is not None and not self.cycle.response_complete

    def close_after_response(self) -> None:
        """Close the connection once the response in progress is sent."""
        if self.cycle is not None:
            self.cycle.keep_alive = False

    def refuse(self, status: int, message: bytes) -> None:
        """Answer `status` with a plain-text `message` outside any request, and close."""
        self.transport.write(
            STATUS_LINE[status]
            + b"content-type: text/plain; charset=utf-8\r\nconnection: close\r\n"
            + b"content-length: %d\r\n\r\n%s" % (len(message), message)
        )
        self.transport.close()

    # httptools calls these on the protocol: uvicorn hands its parser the protocol itself.

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.request_begun()

    def on_headers_complete(self) -> None:
        self.head_received()
        super().on_headers_complete()
        cycle = self.cycle
        if cycle is not None and cycle.scope is self.scope:  # the cycle uvicorn made for this head
            cycle.transport = _Closing(self, cycle)

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self.request_received()


class _Closing(asyncio.Transport):
    """The connection as a request's cycle sees it: its close goes to `response_closes`."""

    def __init__(self, protocol: HttpProtocol, cycle: RequestResponseCycle) -> None:
        super().__init__()
        self._protocol, self._cycle = protocol, cycle

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self._protocol.transport.write(data)

    def is_closing(self) -> bool:
        return self._protocol.transport.is_closing()

    def close(self) -> None:
        transport = self._protocol.transport
        self._protocol.response_closes(self._cycle.more_body and not transport.is_closing())
