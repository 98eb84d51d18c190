"""The policy file: purposes, clients and grants, validated with the line of any mistake.

A grant maps (client, purpose) to data scopes, each `full` or `masked`. Everything not
granted is denied. The policy is immutable once loaded; a reload builds a new one.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "FULL",
    "MASKED",
    "REQUIRED",
    "Client",
    "Pinnable",
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

# What a client gets unless its table says otherwise (docs/authorization.md).
MAX_LOOKUP_IDS = 10  # ids per request when the grant masks the identifier
MISS_BUDGET = 100  # look-ups that find nothing the client may see, per miss window
MISS_WINDOW = 86_400.0  # seconds
VERDICT_WINDOW = 86_400.0  # seconds over which distinct verdict arguments per subject are counted
VERDICT_VARIANTS = 1  # distinct argument sets per (subject, verdict) within the window

REQUIRED = object()  # a Pinnable argument with no default: a pin must name its value


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
    operations: frozenset[str] = frozenset()  # registered operations it may run; empty: any
    max_lookup_ids: int = MAX_LOOKUP_IDS
    miss_budget: int = MISS_BUDGET
    miss_window: float = MISS_WINDOW
    verdict_window: float = VERDICT_WINDOW
    verdict_variants: int = VERDICT_VARIANTS


@dataclass(frozen=True)
class Pinnable:
    """A verdict or summary field, whose arguments a grant of its scope pins.

    `arguments` maps each GraphQL argument name to its default (REQUIRED when it has
    none); `normalize(name, value)` returns a policy or request value in one comparable
    form, raising ValueError for a value the argument does not accept."""

    scope: str
    arguments: Mapping[str, object]
    normalize: Callable[[str, object], object]


Pins = Mapping[str, Mapping[str, object]]  # field coordinate -> argument -> normalized value


@dataclass(frozen=True)
class Policy:
    purposes: Mapping[str, Purpose]
    clients: Mapping[str, Client]
    grants: Mapping[tuple[str, str], Mapping[str, str]]  # (client, purpose) -> scope -> full | masked
    path: str = "<memory>"
    pins: Mapping[tuple[str, str], Pins] = field(default_factory=dict)  # (client, purpose) -> pins
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

    def pinned(self, client: str, purpose: str) -> Pins:
        """The verdict and summary arguments the grant fixes, by field coordinate."""
        return self.pins.get((client, purpose), {})


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


def load_policy(
    path: str | Path,
    scopes: Iterable[str],
    *,
    pinnable: Mapping[str, Pinnable] | None = None,
    operations: Collection[str] | None = None,
) -> Policy:
    """Read and validate a policy file against the scopes the schema declares (and, when
    given, its pinnable fields and the registered operations' names)."""
    return parse_policy(
        read_policy(path), frozenset(scopes), str(path), pinnable=pinnable, operations=operations
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
    scopes: frozenset[str],
    path: str = "<memory>",
    *,
    pinnable: Mapping[str, Pinnable] | None = None,
    operations: Collection[str] | None = None,
) -> Policy:
    """Without `pinnable`, pins are checked for shape only; without `operations`, client
    `operations` are not checked against the registered documents."""
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
    if operations is not None:
        for client in clients.values():
            for name in sorted(client.operations - set(operations)):
                raise fail(f"no registered operation is named {name!r}", "clients", client.id, "operations")
    grants, pins = _grants(raw.get("grants", []), clients, purposes, scopes, pinnable, fail)
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
    return Policy(purposes, clients, grants, path, pins)


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
        "operations",
        "max_lookup_ids",
        "miss_budget",
        "miss_window",
        "verdict_window",
        "verdict_variants",
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
    operations = _strings(table, "operations", fail, *where)
    if persisted_only and not operations:
        raise fail("a persisted_only client must list the registered operations it runs", *where)
    counts = {
        key: _count(table, key, default, fail, *where)
        for key, default in (
            ("max_lookup_ids", MAX_LOOKUP_IDS),
            ("miss_budget", MISS_BUDGET),
            ("verdict_variants", VERDICT_VARIANTS),
        )
    }
    windows = {
        key: _positive(table, key, default, fail, *where)
        for key, default in (("miss_window", MISS_WINDOW), ("verdict_window", VERDICT_WINDOW))
    }
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
        operations=frozenset(operations),
        max_lookup_ids=counts["max_lookup_ids"],
        miss_budget=counts["miss_budget"],
        verdict_variants=counts["verdict_variants"],
        miss_window=windows["miss_window"],
        verdict_window=windows["verdict_window"],
    )


def _count(table: Mapping[str, Any], key: str, default: int, fail: Any, *where: str | int) -> int:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise fail("must be a whole number, at least 1", *where, key)
    return value


def _positive(table: Mapping[str, Any], key: str, default: float, fail: Any, *where: str | int) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise fail("must be a positive number of seconds", *where, key)
    return float(value)


def _grants(
    raw: Any,
    clients: Mapping[str, Client],
    purposes: Mapping[str, Purpose],
    scopes: frozenset[str],
    pinnable: Mapping[str, Pinnable] | None,
    fail: Any,
) -> tuple[dict[tuple[str, str], Mapping[str, str]], dict[tuple[str, str], Pins]]:
    if not isinstance(raw, list) or not all(isinstance(g, dict) for g in raw):
        raise fail("must be an array of tables ([[grants]])", "grants")
    grants: dict[tuple[str, str], Mapping[str, str]] = {}
    pins: dict[tuple[str, str], Pins] = {}
    for index, grant in enumerate(raw):
        where = ("grants", index)
        _known(grant, {"client", "purpose", "full", "masked", "pins"}, fail, *where)
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
        pins[client.id, purpose] = _pins(
            grant.get("pins", {}), levels, purposes[purpose].introspection, pinnable, fail, *where
        )
    return grants, pins


def _pins(
    raw: Any,
    levels: Mapping[str, str],
    exploring: bool,
    pinnable: Mapping[str, Pinnable] | None,
    fail: Any,
    *where: str | int,
) -> Pins:
    """A grant's pinned verdict arguments. Every pinnable field of a granted scope must be
    pinned, except for a purpose that explores the schema (the demo's development one)."""
    if not isinstance(raw, dict) or not all(isinstance(v, dict) for v in raw.values()):
        raise fail('must be a table of field = { argument = value } (e.g. "Type.field" = { n = 1 })', *where)
    at = (*where, "pins")
    if pinnable is None:  # no schema to check against: keep the values as written
        return {coordinate: dict(values) for coordinate, values in raw.items()}
    pins: dict[str, Mapping[str, object]] = {}
    for coordinate, values in raw.items():
        spec = pinnable.get(coordinate)
        if spec is None:
            known = ", ".join(sorted(pinnable))
            raise fail(f"{coordinate!r} is not a verdict or summary field (pinnable: {known})", *at)
        if spec.scope not in levels:
            raise fail(f"{coordinate!r} pins a field of {spec.scope!r}, which this grant lacks", *at)
        fixed: dict[str, object] = {}
        for name, default in spec.arguments.items():
            value = values.get(name, default)
            if value is REQUIRED:
                raise fail(f"{coordinate}: argument {name!r} has no default and must be pinned", *at)
            try:
                fixed[name] = spec.normalize(name, value)
            except ValueError as exc:
                raise fail(f"{coordinate}: argument {name!r}: {exc}", *at) from exc
        for name in values:
            if name not in spec.arguments:
                raise fail(f"{coordinate}: no argument {name!r} (has: {', '.join(spec.arguments)})", *at)
        pins[coordinate] = fixed
    if not exploring:
        for coordinate, spec in sorted(pinnable.items()):
            if spec.scope in levels and spec.arguments and coordinate not in pins:
                raise fail(
                    f"{spec.scope!r} is granted, so {coordinate} must be pinned"
                    f" (arguments: {', '.join(spec.arguments)})",
                    *where,
                )
    return pins


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
