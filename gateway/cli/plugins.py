"""What installed packages add to the gateway, found through entry points, so the gateway
names none of them: `govgraph` commands, and keys they publish that no deployment may use.

- group `govgraph.commands`: `name = "package.module:register"`, a `register(subparsers)`
  like the gateway's own command modules';
- group `govgraph.published_keys`: `name = "package.module:HASHES"`, the SHA-256 hex
  digests of secrets published with that package (in its sample configuration and docs).

An entry point whose own module is not installed is left out, so a command is absent
rather than broken; any other import error is a bug and is raised.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from importlib.metadata import EntryPoint, entry_points
from typing import cast

from gateway.cli.common import Subparsers

__all__ = ["COMMANDS", "PUBLISHED_KEYS", "command_registrars", "published_keys"]

COMMANDS = "govgraph.commands"
PUBLISHED_KEYS = "govgraph.published_keys"


def command_registrars() -> list[Callable[[Subparsers], None]]:
    """The `register` functions of the installed command entry points, by name."""
    found: list[Callable[[Subparsers], None]] = []
    for entry in _installed(COMMANDS):
        register = _load(entry)
        if register is None:
            continue
        if not callable(register):
            raise TypeError(f"entry point {COMMANDS} {entry.name} = {entry.value} is not callable")
        found.append(cast(Callable[[Subparsers], None], register))
    return found


def published_keys() -> dict[str, frozenset[str]]:
    """Publisher (the entry point's name) -> SHA-256 hex digests of its published secrets."""
    found: dict[str, frozenset[str]] = {}
    for entry in _installed(PUBLISHED_KEYS):
        hashes = _load(entry)
        if hashes is None:
            continue
        if isinstance(hashes, str) or not isinstance(hashes, Iterable):
            raise TypeError(f"entry point {PUBLISHED_KEYS} {entry.name} = {entry.value} is not a collection")
        found[entry.name] = frozenset(str(h).lower() for h in hashes)
    return found


def _installed(group: str) -> list[EntryPoint]:
    # A distribution found twice on the path (an editable install and its build) lists
    # the same entry point twice.
    return sorted({(e.name, e.value): e for e in entry_points(group=group)}.values(), key=lambda e: e.name)


def _load(entry: EntryPoint) -> object:
    try:
        return entry.load()
    except ModuleNotFoundError as exc:
        module = entry.module
        if exc.name is not None and (module == exc.name or module.startswith(exc.name + ".")):
            return None
        raise
