"""Free loopback ports for the processes a test starts.

The ports a test asks for together are told apart while all their sockets are still
bound, so two of them are never the same port: a port closed and asked for again can
be handed out twice (a gateway given one port for both its public and its operators'
listener stops at start-up, and until then answers /graphql with the operators' 404).
Another process can still take a port before the test's process binds it."""

from __future__ import annotations

import contextlib
import socket

__all__ = ["free_port", "free_ports"]


def free_ports(count: int) -> list[int]:
    """`count` distinct ports that were free a moment ago."""
    with contextlib.ExitStack() as held:
        sockets = [held.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]


def free_port() -> int:
    return free_ports(1)[0]
