"""Reading the audit log back: `verify` finds the first break of every chain, and
`subject_report` answers "who accessed this person, when, for what"."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gateway.audit.record import GENESIS, _hashed_fields, event_hash, subject_key
from gateway.audit.store import AuditStore, ChainHead, EventRow

__all__ = ["VerifyReport", "subject_report", "verify"]


@dataclass
class VerifyReport:
    chains: int = 0
    events: int = 0
    problems: list[str] = field(default_factory=list)  # the first break of each broken chain

    @property
    def ok(self) -> bool:
        return not self.problems


def _sorted_subjects(entries: object) -> list[tuple[str, list[str]]] | None:
    # The column may hold anything after tampering: what is not well-formed matches nothing.
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        return None
    return sorted((str(e.get("subject")), [str(s) for s in e.get("scopes") or []]) for e in entries)


def _first_break(
    writer_id: str, rows: list[EventRow], head: ChainHead | None, index: dict[int, list[dict[str, Any]]]
) -> str | None:
    prev = GENESIS
    for expected, row in enumerate(rows, start=1):
        where = f"writer {writer_id} seq {expected}"
        if row.seq != expected:
            return f"{where}: missing (the next event is seq {row.seq}); events were deleted or renumbered"
        if row.prev_hash != prev:
            link = "the genesis hash" if expected == 1 else f"the hash of seq {expected - 1}"
            return f"{where}: prev_hash is not {link}; events were removed, inserted or reordered"
        if event_hash(prev, _hashed_fields(vars(row))) != row.hash:
            return f"{where}: hash does not match the event's content; the event was altered"
        indexed = _sorted_subjects(index.pop(row.seq, []))
        if indexed is None or indexed != _sorted_subjects(row.subjects):
            return f"{where}: audit_subject rows do not match the event's subjects"
        prev = row.hash
    last_seq = rows[-1].seq if rows else 0
    if head is None:
        return f"writer {writer_id} seq {last_seq}: no audit_writer head for this chain"
    if head.last_seq != last_seq:
        return (
            f"writer {writer_id} seq {head.last_seq}: the head says the chain ends at seq {head.last_seq} "
            f"but the last event is seq {last_seq}; the newest events were deleted or added"
        )
    if head.last_hash != prev:
        return f"writer {writer_id} seq {last_seq}: the head's hash is not the last event's hash"
    if index:
        return f"writer {writer_id} seq {min(index)}: audit_subject rows for an event that does not exist"
    return None


async def verify(store: AuditStore) -> VerifyReport:
    """Check every chain in the store; report the first broken link of each."""
    report = VerifyReport()
    async for writer_id, rows, head in store.chains():
        report.chains += 1
        report.events += len(rows)
        # Index rows past what this snapshot saw belong to commits made since (verify may run live).
        through = max(rows[-1].seq if rows else 0, head.last_seq if head else 0)
        index = await store.subject_index(writer_id, through)
        problem = _first_break(writer_id, rows, head, index)
        if problem is not None:
            report.problems.append(problem)
    return report


async def subject_report(store: AuditStore, secret: bytes, identifier: str) -> list[dict[str, Any]]:
    """Who accessed this person or enterprise, when, for what purpose and which scopes; newest first."""
    return await store.subject_events(subject_key(secret, identifier))
