"""gateway/compat/uvicorn.py against the installed uvicorn: signal handling, the `--workers`
supervisor and the httptools protocol, each on real servers and processes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import uvicorn
from starlette.types import Receive, Scope, Send

from gateway.compat import HttpProtocol, QuietServer, SignalServer, Supervisor, bind


async def hello(scope: Scope, receive: Receive, send: Send) -> None:
    """A plain ASGI app (workers import it by name)."""
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


def config(app: Any = hello, **options: Any) -> uvicorn.Config:
    return uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", log_config=None, **options)


def listening() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture
def sigint() -> Iterator[list[int]]:
    """SIGINT goes to a recorder during the test (the default would stop pytest)."""
    received: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda sig, frame: received.append(sig))
    try:
        yield received
    finally:
        signal.signal(signal.SIGINT, previous)


@contextlib.asynccontextmanager
async def serving(server: uvicorn.Server, sock: socket.socket) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started and not task.done():  # noqa: ASYNC110  # uvicorn sets a flag, no event
        await asyncio.sleep(0.01)
    try:
        yield task
    finally:
        server.should_exit = True
        await task


async def test_the_public_server_stops_at_a_signal_without_raising_it_again(sigint: list[int]) -> None:
    exits: list[bool] = []
    server = SignalServer(config())
    server.on_exit = lambda: exits.append(True)
    async with serving(server, listening()) as task:
        assert signal.getsignal(signal.SIGINT) == server.handle_exit
        signal.raise_signal(signal.SIGINT)
        await asyncio.wait_for(task, 5)
    assert exits == [True]
    assert sigint == []
    # uvicorn's own server raises the signal again once it has stopped:
    plain = uvicorn.Server(config())
    async with serving(plain, listening()):
        signal.raise_signal(signal.SIGINT)
    assert sigint == [signal.SIGINT]


async def test_the_quiet_server_leaves_signals_to_others(sigint: list[int]) -> None:
    server = QuietServer(config())
    async with serving(server, listening()):
        signal.raise_signal(signal.SIGINT)
        await asyncio.sleep(0.05)
        assert sigint == [signal.SIGINT]
        assert not server.should_exit


def test_bind_gives_an_inheritable_bound_socket() -> None:
    sock = bind(config())
    try:
        assert sock.getsockname()[1] > 0
        assert sock.get_inheritable()
    finally:
        sock.close()


@pytest.fixture
def supervisor_signals() -> Iterator[None]:
    """uvicorn's supervisor takes these signals over when it is made: given back after."""
    names = ("SIGINT", "SIGTERM", "SIGHUP", "SIGTTIN", "SIGTTOU")
    saved = {s: signal.getsignal(s) for s in (getattr(signal, n) for n in names)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


def test_the_supervisor_names_workers_that_died_or_were_replaced(supervisor_signals: None) -> None:
    gone: list[set[int]] = []

    class Watching(Supervisor):
        def workers_gone(self, pids: set[int]) -> None:
            gone.append(pids)

    workers = config("tests.gateway.test_compat_uvicorn:hello", workers=1)
    sock = bind(workers)
    supervisor = Watching(workers, [sock])
    try:
        supervisor.init_processes()
        (first,) = supervisor.worker_pids()
        os.kill(first, signal.SIGKILL)
        deadline = time.monotonic() + 20
        while not gone and time.monotonic() < deadline:
            supervisor.keep_subprocess_alive()  # as uvicorn's loop does, twice a second
            time.sleep(0.1)
        assert gone == [{first}]
        (second,) = supervisor.worker_pids()
        os.kill(os.getpid(), signal.SIGHUP)  # restart every worker, as an operator would
        time.sleep(0.05)
        supervisor.handle_signals()
        assert gone == [{first}, {second}]
        assert supervisor.worker_pids() - {first, second}
        assert not supervisor.stopping()
    finally:
        supervisor.should_exit.set()
        supervisor.terminate_all()
        supervisor.join_all()
        sock.close()


def test_a_stopping_supervisor_closes_its_listening_socket(supervisor_signals: None) -> None:
    """Else, once its workers have closed theirs, the kernel would still take connections
    that no process accepts; refused, a load balancer sends them to another host."""
    workers = config("tests.gateway.test_compat_uvicorn:hello", workers=1)
    sock = bind(workers)
    port = sock.getsockname()[1]
    supervisor = Supervisor(workers, [sock])
    try:
        supervisor.init_processes()
        deadline = time.monotonic() + 20
        while True:  # until the worker answers
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=5) as up:
                    up.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    if up.recv(1024).startswith(b"HTTP/1.1 200 "):
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "the worker did not start"
            time.sleep(0.1)
    finally:
        supervisor.should_exit.set()
        supervisor.terminate_all()
        supervisor.join_all()
    assert sock.fileno() == -1
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()


class Recording(HttpProtocol):
    """Records the hooks it is called at; refuses requests while REFUSE is set."""

    events: list[str] = []  # noqa: RUF012  # one connection at a time
    current: Recording | None = None
    refusing = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        Recording.current = self

    def request_begun(self) -> None:
        self.events.append("begun")
        if Recording.refusing:
            self.refuse(431, b"no")

    def head_received(self) -> None:
        self.events.append("head")

    def request_received(self) -> None:
        self.events.append("received")

    def response_closes(self, body_unread: bool) -> None:
        self.events.append(f"closes{' early' if body_unread else ''}")
        super().response_closes(body_unread)


async def answering(scope: Scope, receive: Receive, send: Send) -> None:
    """Answers at once, body unread; `/close` asks the protocol to close afterwards."""
    protocol = Recording.current
    assert protocol is not None
    Recording.events.append(f"responding={protocol.responding()}")
    if scope["path"] == "/close":
        protocol.close_after_response()
    await hello(scope, receive, send)


async def exchange(port: int, *requests: bytes) -> bytes:
    """Sends `requests` on one connection, each after the answer to the one before; what
    came back until the server closed it."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    answers = b""
    for i, request in enumerate(requests):
        writer.write(request)
        if i < len(requests) - 1:
            answers += await asyncio.wait_for(reader.readuntil(b"ok"), 5)
    answers += await asyncio.wait_for(reader.read(), 5)
    writer.close()
    return answers


async def test_the_protocol_hooks_and_actions() -> None:
    sock = listening()
    port = sock.getsockname()[1]
    server = QuietServer(config(answering, http=Recording))
    events = Recording.events
    async with serving(server, sock):
        kept = await exchange(
            port, b"GET /keep HTTP/1.1\r\nhost: t\r\n\r\n", b"GET /close HTTP/1.1\r\nhost: t\r\n\r\n"
        )
        assert kept.count(b"HTTP/1.1 200") == 2
        assert events == ["begun", "head", "received", "responding=True"] * 2 + ["closes"]
        events.clear()
        early = (
            b"POST /early HTTP/1.1\r\nhost: t\r\ncontent-length: 100\r\nconnection: close\r\n\r\n0123456789"
        )
        assert (await exchange(port, early)).startswith(b"HTTP/1.1 200")
        assert events == ["begun", "head", "responding=True", "closes early"]
        events.clear()
        Recording.refusing = True
        refused = await exchange(port, b"GET / HTTP/1.1\r\n")
        Recording.refusing = False
        assert refused.startswith(b"HTTP/1.1 431 ")
        assert refused.endswith(b"\r\n\r\nno")
