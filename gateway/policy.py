"""The policy file: purposes, clients and grants, validated with the line of any mistake.

A grant maps (client, purpose) to data scopes, each `full` or `masked`. Everything not
granted is denied. The policy is immutable once loaded; a reload builds a new one.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "FULL",
    "MASKED",
    "Client",
    "Policy",
    "PolicyError",
    "Purpose",
    "load_policy",
    "parse_policy",
    "read_policy",
    "with_families",
]

FULL = "full"
MASKED = "masked"

_CLIENT_ID = re.compile(r"[a-z][a-z0-9-]{0,62}")
_DISTRICT = re.compile(r"\d{6}")
_SHA256 = re.compile(r"[0-9a-f]{64}")


class PolicyError(Exception):
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


@dataclass(frozen=True)
class Policy:
    purposes: Mapping[str, Purpose]
    clients: Mapping[str, Client]
    grants: Mapping[tuple[str, str], Mapping[str, str]]  # (client, purpose) -> scope -> full | masked
    path: str = "<memory>"
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


class _Lines:
    """Finds the line of a dotted key in TOML text, for error messages.

    tomllib keeps no positions; scanning headers and keys is enough for files written
    by hand, which is what a policy file is.
    """

    _HEADER = re.compile(r"\s*(\[\[?)\s*([^\]]+?)\s*\]\]?")
    _KEY = re.compile(r"\s*([A-Za-z0-9_\-\"']+)\s*=")

    def __init__(self, text: str) -> None:
        self._tables: list[tuple[tuple[str, ...], int]] = []  # (table path, header line)
        self._keys: dict[tuple[str, ...], int] = {}
        current: tuple[str, ...] = ()
        counts: dict[tuple[str, ...], int] = {}
        for number, line in enumerate(text.splitlines(), start=1):
            if line.lstrip().startswith("#"):
                continue
            header = self._HEADER.match(line)
            if header:
                name = tuple(part.strip().strip("\"'") for part in header.group(2).split("."))
                if header.group(1) == "[[":
                    self._keys.setdefault(name, number)
                    index = counts.get(name, 0)
                    counts[name] = index + 1
                    name = (*name, str(index))
                current = name
                self._keys.setdefault(current, number)
                continue
            key = self._KEY.match(line)
            if key:
                self._keys.setdefault((*current, key.group(1).strip("\"'")), number)

    def of(self, *path: str | int) -> int:
        parts = tuple(str(p) for p in path)
        while parts:
            if parts in self._keys:
                return self._keys[parts]
            parts = parts[:-1]
        return 0


def load_policy(path: str | Path, scopes: Iterable[str]) -> Policy:
    """Read and validate a policy file against the scopes the schema declares."""
    return parse_policy(read_policy(path), frozenset(scopes), str(path))


def read_policy(path: str | Path) -> str:
    """The policy file's text; a file that cannot be read is a PolicyError like any mistake."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(str(path), 0, "file", f"cannot read ({exc.strerror})") from exc
    except UnicodeDecodeError as exc:
        raise PolicyError(str(path), 0, "file", f"not UTF-8 (byte {exc.start})") from exc


def parse_policy(text: str, scopes: frozenset[str], path: str = "<memory>") -> Policy:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = int(m.group(1)) if (m := re.search(r"line (\d+)", str(exc))) else 0
        raise PolicyError(path, line, "syntax", str(exc)) from exc
    lines = _Lines(text)

    def fail(problem: str, *where: str | int) -> PolicyError:
        return PolicyError(path, lines.of(*where), ".".join(str(w) for w in where), problem)

    _known(raw, {"purposes", "clients", "grants"}, fail)
    purposes = {name: _purpose(name, table, fail) for name, table in _tables(raw, "purposes", fail).items()}
    if not purposes:
        raise fail("at least one purpose is required", "purposes")
    clients = {
        cid: _client(cid, table, purposes, fail) for cid, table in _tables(raw, "clients", fail).items()
    }
    grants = _grants(raw.get("grants", []), clients, scopes, fail)
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
    return Policy(purposes, clients, grants, path)


def _known(table: Mapping[str, Any], known: set[str], fail: Any, *where: str | int) -> None:
    for key in table:
        if key not in known:
            raise fail(f"unknown key (expected one of: {', '.join(sorted(known))})", *where, key)


def _tables(raw: Mapping[str, Any], key: str, fail: Any) -> dict[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise fail("must be tables, one per entry", key)
    return value


def _text(
    table: Mapping[str, Any], key: str, fail: Any, *where: str | int, default: str | None = None
) -> str:
    value = table.get(key, default)
    if not isinstance(value, str) or not value.strip():
        raise fail("must be a non-empty string", *where, key)
    return value


def _strings(table: Mapping[str, Any], key: str, fail: Any, *where: str | int) -> list[str]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise fail("must be a list of strings", *where, key)
    return value


def _purpose(name: str, table: Mapping[str, Any], fail: Any) -> Purpose:
    _known(table, {"title", "legal_basis", "introspection"}, fail, "purposes", name)
    introspection = table.get("introspection", False)
    if not isinstance(introspection, bool):
        raise fail("must be true or false", "purposes", name, "introspection")
    return Purpose(
        name=name,
        title=_text(table, "title", fail, "purposes", name, default=name),
        legal_basis=_text(table, "legal_basis", fail, "purposes", name),
        introspection=introspection,
    )


def _client(cid: str, table: Mapping[str, Any], purposes: Mapping[str, Purpose], fail: Any) -> Client:
    where = ("clients", cid)
    if not _CLIENT_ID.fullmatch(cid):
        raise fail("client ids are lower-case letters, digits and hyphens", *where)
    known = {
        "name",
        "purposes",
        "jurisdiction",
        "jwt_subject",
        "api_key_sha256",
        "persisted_only",
        "rate",
        "burst",
    }
    _known(table, known, fail, *where)
    persisted_only = table.get("persisted_only", False)
    if not isinstance(persisted_only, bool):
        raise fail("must be true or false", *where, "persisted_only")
    rate = table.get("rate")
    if rate is not None and (isinstance(rate, bool) or not isinstance(rate, int | float) or rate <= 0):
        raise fail("must be a positive number of requests per second", *where, "rate")
    burst = table.get("burst")
    if burst is not None and (isinstance(burst, bool) or not isinstance(burst, int) or burst < 1):
        raise fail("must be a whole number of requests, at least 1", *where, "burst")
    allowed = _strings(table, "purposes", fail, *where)
    if not allowed:
        raise fail("at least one purpose is required", *where, "purposes")
    for purpose in allowed:
        if purpose not in purposes:
            raise fail(f"unknown purpose {purpose!r}", *where, "purposes")
    districts = _strings(table, "jurisdiction", fail, *where)
    for code in districts:
        if not _DISTRICT.fullmatch(code):
            raise fail(f"{code!r} is not a six-digit district code", *where, "jurisdiction")
    hashes = _strings(table, "api_key_sha256", fail, *where)
    for digest in hashes:
        if not _SHA256.fullmatch(digest):
            raise fail(
                "each entry must be 64 lower-case hex digits (SHA-256 of the key)", *where, "api_key_sha256"
            )
    return Client(
        id=cid,
        name=_text(table, "name", fail, *where, default=cid),
        purposes=frozenset(allowed),
        jurisdiction=frozenset(districts),
        jwt_subject=_text(table, "jwt_subject", fail, *where, default=cid),
        api_key_sha256=frozenset(hashes),
        persisted_only=persisted_only,
        rate=None if rate is None else float(rate),
        burst=burst,
    )


def _grants(
    raw: Any, clients: Mapping[str, Client], scopes: frozenset[str], fail: Any
) -> dict[tuple[str, str], Mapping[str, str]]:
    if not isinstance(raw, list) or not all(isinstance(g, dict) for g in raw):
        raise fail("must be an array of tables ([[grants]])", "grants")
    grants: dict[tuple[str, str], Mapping[str, str]] = {}
    for index, grant in enumerate(raw):
        where = ("grants", index)
        _known(grant, {"client", "purpose", "full", "masked"}, fail, *where)
        client = clients.get(_text(grant, "client", fail, *where))
        if client is None:
            raise fail(f"unknown client {grant['client']!r}", *where, "client")
        purpose = _text(grant, "purpose", fail, *where)
        if purpose not in client.purposes:
            raise fail(f"client {client.id!r} is not allowed purpose {purpose!r}", *where, "purpose")
        if (client.id, purpose) in grants:
            raise fail(f"a second grant for ({client.id}, {purpose})", *where)
        levels: dict[str, str] = {}
        for level in (FULL, MASKED):
            for scope in _strings(grant, level, fail, *where):
                if scope not in scopes:
                    raise fail(f"unknown scope {scope!r}", *where, level)
                if scope in levels:
                    raise fail(f"scope {scope!r} granted twice", *where, level)
                levels[scope] = level
        grants[client.id, purpose] = with_families(levels)
    return grants


# The link scopes a granted scope opens: the root look-ups (`person.*`, `enterprise.*`) and
# links such as Person.socialInsurance (`social_insurance.*`), so that a verdict-only
# grant reaches its verdict. Only data about the same kind of subject opens a link:
# an enterprise's insured headcount does not open a person's social insurance.
_OPENS: Mapping[str, tuple[str, ...]] = {
    "person": ("person.*",),
    "household": ("person.*",),
    "education.student_status": ("person.*",),
    "education.enrollment": ("person.*",),
    "social_insurance": ("person.*", "social_insurance.*"),
    "tax.income": ("person.*",),
    "enterprise": ("enterprise.*",),
    "tax": ("enterprise.*",),
}


def with_families(levels: Mapping[str, str]) -> dict[str, str]:
    """`levels` plus the link scopes they open (see _OPENS)."""
    expanded = dict(levels)
    for scope in levels:
        family = scope.split(".")[0]
        for opened in _OPENS.get(scope) or _OPENS.get(family, ()):
            expanded.setdefault(opened, FULL)
    return expanded
