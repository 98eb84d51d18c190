"""Whether the operators' listener and the public one would collide.

Both sockets are bound with SO_REUSEADDR before either listens, so two binds to one
address both succeed and only the second listen fails: until then the operators'
listener would answer the public port's clients (404 for /graphql, 200 for /healthz)
while the gateway starts, and then the process would stop. So an overlap is refused
before anything is bound.
"""

from __future__ import annotations

import ipaddress
import socket

from gateway.config.settings import ConfigError

__all__ = ["address", "separate"]

IP = ipaddress.IPv4Address | ipaddress.IPv6Address


def address(host: str, port: int) -> str:
    """HOST:PORT as written in a URL ([::1]:9000 for IPv6)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def separate(public: tuple[str, int], ops: tuple[str, int]) -> None:
    """Raise ConfigError if the operators' (host, port) overlaps the public one."""
    (host, port), (ops_host, ops_port) = public, ops
    if port != ops_port:
        return
    if host != ops_host:  # else no need to resolve anything
        theirs = _addresses(ops_host)
        if not any(_collide(a, b) for a in _addresses(host) for b in theirs):
            return
    raise ConfigError(
        f"gateway.ops_listen (or --ops-listen) {address(*ops)} overlaps the public address "
        f"(--host/--port) {address(*public)}: give the operators' endpoints another port"
    )


def _addresses(host: str) -> set[IP]:
    """What `host` listens on: the address itself, or what the name resolves to (none if
    it does not resolve; binding it will then fail and say so)."""
    try:
        return {_plain(ipaddress.ip_address(host))}
    except ValueError:
        pass
    try:
        found = socket.getaddrinfo(host or None, None, proto=socket.IPPROTO_TCP, flags=socket.AI_PASSIVE)
    except OSError:
        return set()
    return {_plain(ipaddress.ip_address(str(info[4][0]).split("%")[0])) for info in found}


def _plain(ip: IP) -> IP:
    """An IPv4 address written as IPv6 (::ffff:127.0.0.1) as the IPv4 address it is."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _collide(a: IP, b: IP) -> bool:
    if a == b:
        return True
    if a.is_unspecified and b.is_unspecified:
        return True  # 0.0.0.0 and ::, which takes IPv4 too where IPv6 sockets are dual-stack
    wild, other = (a, b) if a.is_unspecified else (b, a)
    if not wild.is_unspecified:
        return False
    return wild.version == 6 or other.version == 4  # 0.0.0.0 covers IPv4 only
