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

from gateway.config.tomllines import Lines, count, known, positive, strings, tables, text
from gateway.policy.grants import FULL, MASKED, parse_grants, with_families
from gateway.policy.pins import Pinnable, Pins
from gateway.policy.sharing import SharingRules
from sources.errors import ConfigError

__all__ = [
    "FULL",
    "MASKED",
    "Client",
    "Policy",
    "PolicyError",
    "Purpose",
    "load_policy",
    "parse_policy",
    "policy_from_tables",
    "read_policy",
    "with_families",
]

_CLIENT_ID = re.compile(r"[a-z][a-z0-9-]{0,62}")
_DISTRICT = re.compile(r"\d{6}")
_SHA256 = re.compile(r"[0-9a-f]{64}")

# What a client gets unless its table says otherwise (docs/authorization.md).
MAX_LOOKUP_IDS = 10  # ids per request when the grant masks the identifier
MISS_BUDGET = 100  # look-ups that find nothing the client may see, per miss window
MISS_WINDOW = 86_400.0  # seconds
VERDICT_WINDOW = 86_400.0  # seconds over which distinct verdict arguments per subject are counted
VERDICT_VARIANTS = 1  # distinct argument sets per (subject, verdict) within the window


class PolicyError(ConfigError):
    """A mistake in the policy file; `line` is 1-based (0 when unknown)."""

    def __init__(self, path: str, line: int, where: str, problem: str) -> None:
        super().__init__(f"{path}:{line}: {where}: {problem}" if line else f"{path}: {where}: {problem}")
        self.path, self.line, self.where, self.problem = path, line, where, problem


@dataclass(frozen=True)
class Purpose:
    name: str
    title: str
    legal_basis: str
    introspection: bool  # may read the schema (and use GraphiQL meaningfully)


@dataclass(frozen=True)
class Client:
    id: str
    name: str
    purposes: frozenset[str]
    jurisdiction: frozenset[str]  # district codes; empty means the whole city
    jwt_subject: str
    api_key_sha256: frozenset[str]
    persisted_only: bool = False  # only registered documents, sent by id
    rate: float | None = None  # requests per second; None: the gateway's default
    burst: int | None = None
    operations: frozenset[str] = frozenset()  # registered operations it may run; empty: any
    max_lookup_ids: int = MAX_LOOKUP_IDS
    miss_budget: int = MISS_BUDGET
    miss_window: float = MISS_WINDOW
    verdict_window: float = VERDICT_WINDOW
    verdict_variants: int = VERDICT_VARIANTS


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
    purposes = {name: _purpose(name, table, fail) for name, table in tables(raw, "purposes", fail).items()}
    if not purposes:
        raise fail("at least one purpose is required", "purposes")
    clients = {
        cid: _client(cid, table, purposes, fail) for cid, table in tables(raw, "clients", fail).items()
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


def _purpose(name: str, table: Mapping[str, Any], fail: Any) -> Purpose:
    known(table, {"title", "legal_basis", "introspection"}, fail, "purposes", name)
    introspection = table.get("introspection", False)
    if not isinstance(introspection, bool):
        raise fail("must be true or false", "purposes", name, "introspection")
    return Purpose(
        name=name,
        title=text(table, "title", fail, "purposes", name, default=name),
        legal_basis=text(table, "legal_basis", fail, "purposes", name),
        introspection=introspection,
    )


# One check per key of a client table, each naming its key: read top to bottom, not split.
def _client(cid: str, table: Mapping[str, Any], purposes: Mapping[str, Purpose], fail: Any) -> Client:  # noqa: C901
    where = ("clients", cid)
    if not _CLIENT_ID.fullmatch(cid):
        raise fail("client ids are lower-case letters, digits and hyphens", *where)
    keys = {
        "name",
        "purposes",
        "jurisdiction",
        "jwt_subject",
        "api_key_sha256",
        "persisted_only",
        "rate",
        "burst",
        "operations",
        "max_lookup_ids",
        "miss_budget",
        "miss_window",
        "verdict_window",
        "verdict_variants",
    }
    known(table, keys, fail, *where)
    persisted_only = table.get("persisted_only", False)
    if not isinstance(persisted_only, bool):
        raise fail("must be true or false", *where, "persisted_only")
    rate = table.get("rate")
    if rate is not None and (isinstance(rate, bool) or not isinstance(rate, int | float) or rate <= 0):
        raise fail("must be a positive number of requests per second", *where, "rate")
    burst = table.get("burst")
    if burst is not None and (isinstance(burst, bool) or not isinstance(burst, int) or burst < 1):
        raise fail("must be a whole number of requests, at least 1", *where, "burst")
    allowed = strings(table, "purposes", fail, *where)
    if not allowed:
        raise fail("at least one purpose is required", *where, "purposes")
    for purpose in allowed:
        if purpose not in purposes:
            raise fail(f"unknown purpose {purpose!r}", *where, "purposes")
    districts = strings(table, "jurisdiction", fail, *where)
    for code in districts:
        if not _DISTRICT.fullmatch(code):
            raise fail(f"{code!r} is not a six-digit district code", *where, "jurisdiction")
    operations = strings(table, "operations", fail, *where)
    if persisted_only and not operations:
        raise fail("a persisted_only client must list the registered operations it runs", *where)
    counts = {
        key: count(table, key, default, fail, *where)
        for key, default in (
            ("max_lookup_ids", MAX_LOOKUP_IDS),
            ("miss_budget", MISS_BUDGET),
            ("verdict_variants", VERDICT_VARIANTS),
        )
    }
    windows = {
        key: positive(table, key, default, fail, *where)
        for key, default in (("miss_window", MISS_WINDOW), ("verdict_window", VERDICT_WINDOW))
    }
    hashes = strings(table, "api_key_sha256", fail, *where)
    for digest in hashes:
        if not _SHA256.fullmatch(digest):
            raise fail(
                "each entry must be 64 lower-case hex digits (SHA-256 of the key)", *where, "api_key_sha256"
            )
    return Client(
        id=cid,
        name=text(table, "name", fail, *where, default=cid),
        purposes=frozenset(allowed),
        jurisdiction=frozenset(districts),
        jwt_subject=text(table, "jwt_subject", fail, *where, default=cid),
        api_key_sha256=frozenset(hashes),
        persisted_only=persisted_only,
        rate=None if rate is None else float(rate),
        burst=burst,
        operations=frozenset(operations),
        max_lookup_ids=counts["max_lookup_ids"],
        miss_budget=counts["miss_budget"],
        verdict_variants=counts["verdict_variants"],
        miss_window=windows["miss_window"],
        verdict_window=windows["verdict_window"],
    )
