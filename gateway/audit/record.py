"""The audit log's events: what a request records while it executes (AccessRecord) and
how an event is hashed into its chain.

A request fills an AccessRecord while it executes; before its response is released the
gateway awaits `AuditWriter.record` (writer.py), which returns only once the event
is committed (or raises AuditUnavailable, which the gateway answers with
AUDIT_UNAVAILABLE, HTTP 503). Each event's hash covers its content and the previous
event's hash, so an altered, removed or reordered event breaks the chain; `verify`
(verify.py) finds the first break of every chain. Subjects are stored as keyed
HMACs, so the log does not become a copy of the register. SQL lives in
gateway/audit/store.py.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any
from uuid import uuid4

import orjson

from gateway.audit.errors import AuditUnavailable
from gateway.audit.store import EventRow
from gateway.audit.suite import DEFAULT_SUITE, SUITES, Suite, get_suite
from gateway.execution.outcome import Outcome

__all__ = [
    "GENESIS",
    "LOOKUPS",
    "OUTCOMES",
    "AccessRecord",
    "AuditUnavailable",
    "PolicyChange",
    "RecordChange",
    "access_fields",
    "canonical_hash",
    "change_fields",
    "event_hash",
    "link",
    "subject_entries",
    "subject_key",
    "subject_keys",
]

log = logging.getLogger("govgraph.audit")

GENESIS = "0" * 64
DEFAULT = get_suite(DEFAULT_SUITE)
# What an event may record (gateway/execution/outcome.py `audited`).
OUTCOMES = frozenset({Outcome.OK, Outcome.PARTIAL, Outcome.DENIED, Outcome.ERROR})
# What a root look-up by id came to, as the audit records it for the id asked.
LOOKUPS = ("found", "not_found", "out_of_jurisdiction", "forbidden", "failed")
MIN_SECRET_BYTES = 16  # a short key would let anyone enumerate the id space against the log
_HASHED = tuple(f.name for f in fields(EventRow) if f.name not in ("prev_hash", "hash"))


def subject_key(secret: bytes, identifier: str, suite: Suite = DEFAULT) -> str:
    """The keyed HMAC that stands for a person or enterprise id in the log (the suite's HMAC)."""
    return suite.mac(secret, identifier.encode())


def subject_keys(secret: bytes, identifier: str) -> tuple[str, ...]:
    """The id's HMAC under every suite, for look-ups across chains of different suites."""
    return tuple(subject_key(secret, identifier, suite) for suite in SUITES.values())


def canonical_hash(value: object) -> str:
    """sha256 of the canonical JSON of `value` (sorted keys), e.g. of a response."""
    return hashlib.sha256(orjson.dumps(value, option=orjson.OPT_SORT_KEYS)).hexdigest()


def event_hash(prev_hash: str, row_without_hashes: Mapping[str, Any], suite: Suite = DEFAULT) -> str:
    """One chain link: digest(prev_hash + canonical JSON of the event's other columns), with
    the chain's suite's hash (SHA-256 or SM3)."""
    body = orjson.dumps(dict(row_without_hashes), option=orjson.OPT_SORT_KEYS)
    return suite.digest(prev_hash.encode() + body)


def link(
    writer_id: str, head: tuple[int, str], drafts: Iterable[Mapping[str, Any]], suite: Suite = DEFAULT
) -> list[EventRow]:
    """Give each draft (an event's columns but its place in the chain) its seq and hashes, in
    order, after `head` (last seq, last hash): the one way rows are chained, whether the
    writer commits them or `audit synth` copies them in."""
    seq, prev = head
    rows = []
    for fields_ in drafts:
        seq += 1
        values = {**fields_, "writer_id": writer_id, "seq": seq, "prev_hash": prev}
        prev = values["hash"] = event_hash(prev, _hashed_fields(values), suite)
        rows.append(EventRow(**values))
    return rows


def _hashed_fields(values: Mapping[str, Any]) -> dict[str, Any]:
    """The columns an event's hash covers (all but prev_hash and hash), as they are hashed."""
    hashed: dict[str, Any] = {name: values.get(name) for name in _HASHED}
    for optional in ("basis", "detail"):
        if hashed.get(optional) is None:
            # Events without them hash as they did before the columns existed.
            del hashed[optional]
    # One spelling of the instant, whatever tzinfo object the driver hands back.
    hashed["time"] = hashed["time"].astimezone(dt.UTC).isoformat(timespec="microseconds")
    return hashed


def _text(value: str) -> str:
    # Request-supplied text PostgreSQL cannot store (NUL, lone surrogates) would fail the
    # whole batch, i.e. every concurrent request: replace it before it is hashed.
    if "\x00" in value or not value.isascii():
        value = value.replace("\x00", "\ufffd").encode("utf-8", "replace").decode("utf-8")
    return value


def _optional_text(value: str | None) -> str | None:
    return None if value is None else _text(value)


@dataclass
class AccessRecord:
    """What one request read and was refused; filled in by the gateway while it executes."""

    request_id: str
    client: str
    purpose: str
    case_id: str | None
    operator: str | None
    operation: str | None
    document_hash: str
    basis: str | None = None  # what the client's grant rests on (policy.toml `basis`)
    subjects: dict[str, set[str]] = field(default_factory=dict)  # raw identifier -> scopes read
    denied: list[tuple[str, str]] = field(default_factory=list)  # (path, scope)
    lookups: dict[str, str] = field(default_factory=dict)  # raw identifier asked at the root -> outcome
    # raw identifier -> verdicts and summaries concluded about it: field, arguments, value
    conclusions: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def read(self, subject: str, scope: str) -> None:
        scopes = self.subjects.get(subject)
        if scopes is None:
            self.subjects[subject] = {scope}
        else:
            scopes.add(scope)

    def deny(self, path: str, scope: str) -> None:
        self.denied.append((path, scope))

    def lookup(self, subject: str, outcome: str) -> None:
        if outcome not in LOOKUPS:
            raise ValueError(f"look-up outcome {outcome!r} is not one of {LOOKUPS}")
        if self.lookups.get(subject) != "found":  # asked twice: found once is what it came to
            self.lookups[subject] = outcome

    def conclude(self, subject: str, field: str, arguments: Mapping[str, Any], value: Any) -> None:
        entry = {"field": field, "arguments": dict(arguments), "value": value}
        concluded = self.conclusions.setdefault(subject, [])
        if entry not in concluded:
            concluded.append(entry)

    @property
    def touched(self) -> bool:
        """Only a request that looked a subject up, read one, or was refused a field writes
        an event: so every guess at an id is on record, found or not."""
        return bool(self.subjects or self.denied or self.lookups)


def subject_entries(
    secret: bytes, access: AccessRecord, suite: Suite = DEFAULT, key: Callable[[str], str] | None = None
) -> list[dict[str, Any]]:
    """One entry per subject the request touched, by keyed hash: the scopes read, and where
    they apply, what a root look-up of its id came to and the verdicts concluded about it.
    `key` computes the keyed hash in place of subject_key (e.g. from a cache of them)."""
    identifiers = set(access.subjects) | set(access.lookups) | set(access.conclusions)
    entries = []
    for ident in identifiers:
        entry: dict[str, Any] = {
            "subject": key(ident) if key is not None else subject_key(secret, ident, suite),
            "scopes": sorted(access.subjects.get(ident, ())),
        }
        if ident in access.lookups:
            entry["lookup"] = access.lookups[ident]
        if ident in access.conclusions:
            entry["verdicts"] = sorted(
                access.conclusions[ident],
                key=lambda c: orjson.dumps(c, option=orjson.OPT_SORT_KEYS, default=str),
            )
        entries.append(entry)
    return sorted(entries, key=lambda e: str(e["subject"]))


def access_fields(
    secret: bytes,
    access: AccessRecord,
    outcome: str,
    response_hash: str,
    now: dt.datetime,
    suite: Suite = DEFAULT,
    key: Callable[[str], str] | None = None,
) -> dict[str, Any]:
    """An audit event's columns for an access, all but its place in the chain: what the
    writer commits for a request, and what `audit synth` generates (`key` as for
    subject_entries)."""
    return {
        "time": now,
        "request_id": _text(access.request_id),
        "client": _text(access.client),
        "purpose": _text(access.purpose),
        "case_id": _optional_text(access.case_id),
        "operator": _optional_text(access.operator),
        "operation": _optional_text(access.operation),
        "document_hash": access.document_hash,
        "basis": _optional_text(access.basis),
        "subjects": subject_entries(secret, access, suite, key),
        # Sorted: an event's content must not depend on the order fields were refused in.
        "denied": [{"path": path, "scope": scope} for path, scope in sorted(access.denied)],
        "outcome": outcome,
        "response_hash": response_hash,
    }


@dataclass(frozen=True)
class PolicyChange:
    """A change to who may see what, recorded in the same chain as the accesses it governs:
    an application, a decision, a revocation, a renewal, an expiry, an import, a role."""

    action: str  # apply | approve | refuse | revoke | renew | expire | import | role_grant | role_revoke
    actor: str  # the person who made the change, or "system" (an expiry, the demo's seeding)
    client: str  # the client whose access changed ("-" for a role)
    purpose: str  # its purpose ("-" for a role)
    reference: str | None  # the application or grant the change concerns
    basis: str | None  # the legal basis or reason given
    detail: Mapping[str, Any]  # what changed: scopes, expiry, items, the reason


RecordChange = Callable[[PolicyChange], Awaitable[None]]  # commits a change's audit event, or raises


def change_fields(change: PolicyChange, now: dt.datetime) -> dict[str, Any]:
    """An audit event's columns for a policy change: no subjects, nothing denied, outcome ok;
    the detail's hash stands where an access's document and response hashes stand."""
    detail = orjson.loads(orjson.dumps(dict(change.detail)))  # as jsonb will hand it back
    digest = canonical_hash(detail)
    return {
        "time": now,
        "request_id": uuid4().hex,
        "client": _text(change.client),
        "purpose": _text(change.purpose),
        "case_id": _optional_text(change.reference),
        "operator": _text(change.actor),
        "operation": f"policy.{change.action}",
        "document_hash": digest,
        "basis": _optional_text(change.basis),
        "detail": detail,
        "subjects": [],
        "denied": [],
        "outcome": Outcome.OK,
        "response_hash": digest,
    }
