"""The policy file: purposes, clients and grants, validated with the line of any mistake.

A grant maps (client, purpose) to data scopes, each `full` or `masked`. Everything not
granted is denied. The policy is immutable once loaded; a reload builds a new one.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway.config.tomllines import Lines, known, tables
from gateway.policy.clients import (
    MAX_LOOKUP_IDS,
    MISS_BUDGET,
    MISS_WINDOW,
    VERDICT_VARIANTS,
    VERDICT_WINDOW,
    Client,
    Purpose,
    parse_client,
    parse_purpose,
)
from gateway.policy.grants import FULL, MASKED, parse_grants, with_families
from gateway.policy.pins import Pinnable, Pins
from gateway.policy.sharing import SharingRules
from sources.errors import ConfigError

__all__ = [
    "FULL",
    "MASKED",
    "MAX_LOOKUP_IDS",
    "MISS_BUDGET",
    "MISS_WINDOW",
    "VERDICT_VARIANTS",
    "VERDICT_WINDOW",
    "Client",
    "Policy",
    "PolicyChecks",
    "PolicyError",
    "Purpose",
    "load_policy",
    "parse_policy",
    "policy_from_tables",
    "read_policy",
    "with_families",
]


class PolicyError(ConfigError):
    """A mistake in the policy file; `line` is 1-based (0 when unknown)."""

    def __init__(self, path: str, line: int, where: str, problem: str) -> None:
        super().__init__(f"{path}:{line}: {where}: {problem}" if line else f"{path}: {where}: {problem}")
        self.path, self.line, self.where, self.problem = path, line, where, problem


@dataclass(frozen=True)
class Policy:
    purposes: Mapping[str, Purpose]
    clients: Mapping[str, Client]
    grants: Mapping[tuple[str, str], Mapping[str, str]]  # (client, purpose) -> scope -> full | masked
    path: str = "<memory>"
    pins: Mapping[tuple[str, str], Pins] = field(default_factory=dict)  # (client, purpose) -> pins
    # (client, purpose) -> what the grant rests on: a legal basis or an approval reference.
    bases: Mapping[tuple[str, str], str] = field(default_factory=dict)
    _by_subject: dict[str, Client] = field(init=False, repr=False)
    _by_key: dict[str, Client] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # Looked up on every request: index once.
        object.__setattr__(self, "_by_subject", {c.jwt_subject: c for c in self.clients.values()})
        by_key = {digest: c for c in self.clients.values() for digest in c.api_key_sha256}
        object.__setattr__(self, "_by_key", by_key)

    def client_by_subject(self, subject: str) -> Client | None:
        return self._by_subject.get(subject)

    def client_by_key_hash(self, digest: str) -> Client | None:
        return self._by_key.get(digest)

    def grant(self, client: str, purpose: str) -> Mapping[str, str]:
        return self.grants.get((client, purpose), {})

    def basis(self, client: str, purpose: str) -> str | None:
        return self.bases.get((client, purpose))

    def pinned(self, client: str, purpose: str) -> Pins:
        """The verdict and summary arguments the grant fixes, by field coordinate."""
        return self.pins.get((client, purpose), {})


@dataclass(frozen=True)
class PolicyChecks:
    """What a policy is checked against, wherever it comes from (a file, the store, an
    application's would-be grant): the schema's scopes, each with the link scopes a grant of
    it opens, and when given its pinnable fields, the registered operations' names and what
    the catalogue asks of grants."""

    scopes: Mapping[str, Collection[str]]
    pinnable: Mapping[str, Pinnable] | None = None
    operations: Collection[str] | None = None
    sharing: SharingRules | None = None

    def text(self, text: str, path: str = "<memory>") -> Policy:
        return parse_policy(
            text, self.scopes, path, pinnable=self.pinnable, operations=self.operations, sharing=self.sharing
        )

    def tables(self, raw: Mapping[str, Any], lines: Lines, path: str) -> Policy:
        return policy_from_tables(
            raw,
            lines,
            self.scopes,
            path,
            pinnable=self.pinnable,
            operations=self.operations,
            sharing=self.sharing,
        )


def load_policy(
    path: str | Path,
    scopes: Mapping[str, Collection[str]],
    *,
    pinnable: Mapping[str, Pinnable] | None = None,
    operations: Collection[str] | None = None,
    sharing: SharingRules | None = None,
) -> Policy:
    """Read and validate a policy file against the scopes the schema declares, each with the
    link scopes a grant of it opens (and, when given, its pinnable fields, the
    registered operations' names and what the catalogue asks of grants)."""
    return parse_policy(
        read_policy(path), scopes, str(path), pinnable=pinnable, operations=operations, sharing=sharing
    )


def read_policy(path: str | Path) -> str:
    """The policy file's text; a file that cannot be read is a PolicyError like any mistake."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(str(path), 0, "file", f"cannot read ({exc.strerror})") from exc
    except UnicodeDecodeError as exc:
        raise PolicyError(str(path), 0, "file", f"not UTF-8 (byte {exc.start})") from exc


def parse_policy(
    text: str,
    scopes: Mapping[str, Collection[str]],
    path: str = "<memory>",
    *,
    pinnable: Mapping[str, Pinnable] | None = None,
    operations: Collection[str] | None = None,
    sharing: SharingRules | None = None,
) -> Policy:
    """Without `pinnable`, pins are checked for shape only; without `operations`, client
    `operations` are not checked against the registered documents; without `sharing`,
    grants are not checked against the catalogue's sharing classes."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = int(m.group(1)) if (m := re.search(r"line (\d+)", str(exc))) else 0
        raise PolicyError(path, line, "syntax", str(exc)) from exc
    return policy_from_tables(
        raw, Lines(text), scopes, path, pinnable=pinnable, operations=operations, sharing=sharing
    )


def policy_from_tables(
    raw: Mapping[str, Any],
    lines: Lines,
    scopes: Mapping[str, Collection[str]],
    path: str,
    *,
    pinnable: Mapping[str, Pinnable] | None = None,
    operations: Collection[str] | None = None,
    sharing: SharingRules | None = None,
) -> Policy:
    """The checks of `parse_policy` on tables already read: a policy file's, or the policy
    store's (which has no lines: `Lines("")`)."""

    def fail(problem: str, *where: str | int) -> PolicyError:
        return PolicyError(path, lines.of(*where), ".".join(str(w) for w in where), problem)

    known(raw, {"purposes", "clients", "grants"}, fail)
    purposes = {
        name: parse_purpose(name, table, fail) for name, table in tables(raw, "purposes", fail).items()
    }
    if not purposes:
        raise fail("at least one purpose is required", "purposes")
    clients = {
        cid: parse_client(cid, table, purposes, fail) for cid, table in tables(raw, "clients", fail).items()
    }
    if operations is not None:
        for client in clients.values():
            for name in sorted(client.operations - set(operations)):
                raise fail(f"no registered operation is named {name!r}", "clients", client.id, "operations")
    grants, pins, bases = parse_grants(
        raw.get("grants", []), clients, purposes, scopes, pinnable, fail, sharing
    )
    for client in clients.values():
        for purpose in sorted(client.purposes):
            if (client.id, purpose) not in grants:
                raise fail(
                    f"purpose {purpose!r} has no [[grants]] entry for this client", "clients", client.id
                )
    subjects: dict[str, str] = {}
    for client in clients.values():
        if client.jwt_subject in subjects:
            raise fail(f"jwt_subject also used by {subjects[client.jwt_subject]!r}", "clients", client.id)
        subjects[client.jwt_subject] = client.id
    return Policy(purposes, clients, grants, path, pins, bases)
