"""Reading the audit log back: `verify` streams every chain (bounded memory, whatever its
length) and reports the first break of each; `subject_report` answers "who accessed this
person, when, for what".

A chain is checked link by link (seq without gaps, prev_hash, each hash recomputed with the
chain's suite, the subject index), against its head in audit_writer, and against the signed
checkpoints kept outside the database: an event at a checkpointed seq must be the one that was
signed, and no checkpoint may lie beyond the chain's end. Months archived to files are read
from them (archive.py) or, without the files, taken on the database's record of them.
"""

from __future__ import annotations

import bisect
import collections
import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import orjson

from gateway.audit.checkpoint import Checkpoint
from gateway.audit.record import _HASHED, GENESIS, subject_keys
from gateway.audit.store import AuditStore, ChainHead, count_through
from gateway.audit.suite import Suite, Verifier, get_suite

__all__ = ["Anchors", "ChainCheck", "ChainResult", "Start", "VerifyReport", "check_chain", "subject_report"]

BATCH = 2000
_ORPHANS = "audit_subject rows for an event that does not exist"


@dataclass(frozen=True)
class Start:
    """Where a chain's reading begins: after `seq`, whose hash is `hash` (0 and the genesis
    hash for a whole chain; the end of its archived months, or of a verified checkpoint)."""

    seq: int = 0
    hash: str = GENESIS
    why: str = ""  # "archived", "verified before"
    archived: int = 0  # seqs up to this lie in archived months, never in the database


@dataclass
class ChainResult:
    writer_id: str
    suite: str = ""
    events: int = 0  # events read and checked
    problem: str | None = None  # the chain's first break
    notes: list[str] = field(default_factory=list)
    checkpoints: int = 0  # signed checkpoints matched to an event
    anchored: tuple[int, str] | None = None  # the last checkpoint matched: (seq, hash)
    unanchored: int = 0  # events after the last checkpoint


@dataclass
class VerifyReport:
    chains: int = 0
    events: int = 0
    checkpoints: int = 0
    problems: list[str] = field(default_factory=list)  # the first break of each broken chain
    notes: list[str] = field(default_factory=list)  # what was not checked, and why
    seconds: float = 0.0
    results: list[ChainResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, result: ChainResult) -> None:
        self.results.append(result)
        self.chains += 1
        self.events += result.events
        self.checkpoints += result.checkpoints
        self.notes.extend(result.notes)
        if result.problem is not None:
            self.problems.append(result.problem)


def _sorted_subjects(entries: object) -> list[tuple[str, list[str]]] | None:
    # The column may hold anything after tampering: what is not well-formed matches nothing.
    if not isinstance(entries, list) or not all(isinstance(e, (dict, tuple)) for e in entries):
        return None
    pairs = (e if isinstance(e, tuple) else (e.get("subject"), e.get("scopes")) for e in entries)
    return sorted((str(subject), [str(s) for s in scopes or []]) for subject, scopes in pairs)


def _index_matches(indexed: list[tuple[str, list[str]]], subjects: Any) -> bool:
    """The event's subjects are its index rows: as written both are in subject order, so a
    plain comparison settles it; anything else is compared sorted."""
    try:
        if [(e["subject"], e["scopes"]) for e in subjects] == indexed:
            return True
    except (TypeError, KeyError):
        return False
    sorted_subjects = _sorted_subjects(subjects)
    return sorted_subjects is not None and sorted_subjects == _sorted_subjects(indexed)


def _time_text(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat(timespec="microseconds")
    return value  # an archived event's time is already its hashed spelling


class Anchors:
    """One writer's signed checkpoints, read in the order they were appended (ascending seq),
    each signature checked with a trusted key before it counts."""

    def __init__(
        self,
        lines: Iterable[bytes],
        writer_id: str,
        suite: str,
        trusted: Mapping[str, Verifier],
        store: str = "",
    ) -> None:
        self._store = store
        self._lines = iter(lines)
        self._writer = writer_id
        self._suite = suite
        self._trusted = trusted
        self.problem: str | None = None
        self.next: Checkpoint | None = None
        self.read = 0
        self._advance()

    def _advance(self) -> None:
        previous = self.next
        self.next = None
        for number, line in enumerate(self._lines, start=self.read + 1):
            self.read = number
            where = f"writer {self._writer} checkpoint {number}"
            try:
                checkpoint = Checkpoint.parse(line)
            except ValueError as exc:
                self.problem = f"{where}: {exc}; the checkpoint log was altered"
                return
            verifier = self._trusted.get(checkpoint.key_id)
            if verifier is None:
                self.problem = f"{where}: signed with key {checkpoint.key_id}, which is not trusted"
                return
            try:
                good = verifier.verify(checkpoint.signature_bytes, checkpoint.payload())
            except ValueError:
                good = False
            if not good or checkpoint.writer_id != self._writer:
                self.problem = f"{where}: the signature does not match; the checkpoint was forged or altered"
                return
            if checkpoint.store != self._store:
                self.problem = f"{where}: signed for audit store {checkpoint.store!r}, not this one"
                return
            if checkpoint.suite != self._suite:
                self.problem = (
                    f"{where}: signed for suite {checkpoint.suite}, but the chain's recorded suite is "
                    f"{self._suite}; the chain's suite was altered"
                )
                return
            if previous is not None and checkpoint.seq == previous.seq:
                if checkpoint.hash == previous.hash:
                    continue  # the same head signed again (an append retried after it landed)
                self.problem = f"{where}: signs another hash for seq {checkpoint.seq} than the one before it"
                return
            if previous is not None and checkpoint.seq < previous.seq:
                self.problem = (
                    f"{where}: seq {checkpoint.seq} after seq {previous.seq}; the log was reordered"
                )
                return
            self.next = checkpoint
            return

    def skip_through(self, seq: int) -> int:
        """Pass the checkpoints at or before `seq` (before where reading starts); how many."""
        skipped = 0
        while self.next is not None and self.next.seq <= seq and self.problem is None:
            skipped += 1
            self._advance()
        return skipped

    def consume(self) -> Checkpoint:
        """The next checkpoint (the caller has seen `next` is not None), moving past it."""
        current = self.next
        if current is None:
            raise LookupError("no checkpoint left")
        self._advance()
        return current


class ChainCheck:
    """The running check of one chain, fed its events in seq order in batches."""

    def __init__(
        self,
        writer_id: str,
        suite: Suite,
        start: Start,
        anchors: Anchors | None,
        anchor_span: float | None = None,
    ) -> None:
        self.result = ChainResult(writer_id, suite.name)
        self.writer_id = writer_id
        self._digest = suite.digest
        self.last_seq = start.seq
        self.last_hash = start.hash
        self._anchors = anchors
        # Events more than `anchor_span` seconds older than the chain's last must lie under a
        # checkpoint: (time, seq) of the events still within the span, and the last seq past it.
        self._span = None if anchors is None or anchor_span is None else dt.timedelta(seconds=anchor_span)
        self._recent: collections.deque[tuple[dt.datetime, int]] = collections.deque()
        self._aged = self._start = start.seq
        if anchors is not None:
            self._anchor_start(anchors, start)
        self._anchor_seq = self._next_anchor()

    def _anchor_start(self, anchors: Anchors, start: Start) -> None:
        """Where reading starts after a checkpoint (a resume) or an archive's end, the
        checkpoint there must sign the hash reading starts from."""
        anchors.skip_through(start.seq - 1)
        signed = anchors.next
        if start.seq and signed is not None and signed.seq == start.seq and anchors.problem is None:
            anchors.consume()
            if signed.hash != start.hash:
                origin = "the archived months end" if start.why == "archived" else "reading starts"
                self.fail(
                    f"writer {self.writer_id} seq {start.seq}: {origin} at a hash the checkpoint of "
                    f"{signed.time} did not sign; the chain was rewritten"
                )
                return
            self.result.checkpoints += 1
            self.result.anchored = (start.seq, start.hash)
        elif start.why == "verified before":
            self.fail(
                f"writer {self.writer_id} seq {start.seq}: the resume point is not a signed checkpoint; "
                "the verify state was altered (run without --since-checkpoint)"
            )

    def _next_anchor(self) -> int:
        anchors = self._anchors
        if anchors is None:
            return -1
        if anchors.problem is not None:
            self.fail(anchors.problem)
            return -1
        return anchors.next.seq if anchors.next is not None else -1

    @property
    def broken(self) -> bool:
        return self.result.problem is not None

    def fail(self, problem: str) -> None:
        if self.result.problem is None:
            self.result.problem = problem

    def feed(
        self, rows: Iterable[Mapping[str, Any]], index: dict[int, list[tuple[str, list[str]]]] | None
    ) -> None:
        """Check `rows` (the next events); `index` maps their seqs to their audit_subject rows,
        None for events read from archive files (which have no index)."""
        if self.broken:
            return
        for row in rows:
            expected = self.last_seq + 1
            problem = self._link(row, expected, index)
            if problem is not None:
                self.fail(f"writer {self.writer_id} seq {expected}: {problem}")
                return
            self.result.events += 1
            if self._span is not None:
                self._age(row["time"], expected, self._span)
            if expected == self._anchor_seq:
                self._anchor(expected)
                if self.broken:
                    return
        if index:
            self.fail(f"writer {self.writer_id} seq {min(index)}: {_ORPHANS}")

    def _link(
        self, row: Mapping[str, Any], expected: int, index: dict[int, list[tuple[str, list[str]]]] | None
    ) -> str | None:
        """Why `row` is not the link after the last one, or None (and it becomes the last)."""
        seq = row["seq"]
        if seq != expected:
            return self._gap(seq)
        if row["prev_hash"] != self.last_hash:
            link = "the genesis hash" if expected == 1 else f"the hash of seq {expected - 1}"
            return f"prev_hash is not {link}; events were removed, inserted or reordered"
        hashed = {name: row[name] for name in _HASHED}
        for optional in ("basis", "detail"):
            if hashed[optional] is None:
                del hashed[optional]
        hashed["time"] = _time_text(hashed["time"])
        computed = self._digest(self.last_hash.encode() + orjson.dumps(hashed, option=orjson.OPT_SORT_KEYS))
        if computed != row["hash"]:
            return "hash does not match the event's content; the event was altered"
        if index is not None and not _index_matches(index.pop(seq, []), row["subjects"]):
            return "audit_subject rows do not match the event's subjects"
        self.last_seq, self.last_hash = seq, computed
        return None

    def _age(self, when: Any, seq: int, span: dt.timedelta) -> None:
        instant = when if isinstance(when, dt.datetime) else dt.datetime.fromisoformat(when)
        recent = self._recent
        recent.append((instant, seq))
        while recent and recent[0][0] < instant - span:
            self._aged = recent.popleft()[1]

    def _gap(self, seq: int) -> str:
        if self.result.events == 0:
            return (
                f"missing (the first event read is seq {seq}); events were deleted, "
                "or their month dropped without an archive"
            )
        return f"missing (the next event is seq {seq}); events were deleted or renumbered"

    def _anchor(self, seq: int) -> None:
        if self._anchors is None or self._anchors.next is None:
            return
        checkpoint = self._anchors.consume()
        if checkpoint.hash != self.last_hash:
            self.fail(
                f"writer {self.writer_id} seq {seq}: not the event signed in the checkpoint of "
                f"{checkpoint.time}; the chain was rewritten from here or earlier"
            )
            return
        self.result.checkpoints += 1
        self.result.anchored = (seq, self.last_hash)
        self._anchor_seq = self._next_anchor()

    def finish(self, head: ChainHead | None) -> ChainResult:
        """The end of the chain: its head, and no checkpoint beyond it."""
        result = self.result
        if self.broken:
            return result
        last = self.last_seq
        anchors = self._anchors
        if anchors is not None and anchors.next is not None:
            # The checkpoints were listed before the snapshot began: each covers commits it sees.
            beyond = anchors.next
            self.fail(
                f"writer {self.writer_id} seq {last}: the chain ends here, but the checkpoint of "
                f"{beyond.time} signed seq {beyond.seq}; the newest events were deleted (truncated)"
            )
            return result
        if anchors is not None and anchors.problem is not None:
            self.fail(anchors.problem)
            return result
        if head is None:
            self.fail(f"writer {self.writer_id} seq {last}: no audit_writer head for this chain")
        elif head.last_seq != last:
            self.fail(
                f"writer {self.writer_id} seq {head.last_seq}: the head says the chain ends at seq "
                f"{head.last_seq} but the last event is seq {last}; the newest events were deleted or added"
            )
        elif head.last_hash != self.last_hash:
            self.fail(f"writer {self.writer_id} seq {last}: the head's hash is not the last event's hash")
        anchored = result.anchored[0] if result.anchored else 0
        result.unanchored = last - anchored if anchors is not None else 0
        if self._span is not None and self._aged > max(anchored, self._start):
            self.fail(
                f"writer {self.writer_id} seq {anchored + 1}: events up to seq {self._aged} are more than "
                f"{self._span.total_seconds():g}s older than the chain's last, yet no checkpoint covers "
                "them; checkpoints were removed, or the store's id was changed"
            )
        return result


class _IndexReader:
    """A chain's audit_subject rows, fetched in step with its events."""

    def __init__(self, cursor: asyncpg.cursor.Cursor) -> None:
        self._cursor = cursor
        self._pending: list[asyncpg.Record] = []
        self._done = False

    async def through(self, seq: int) -> dict[int, list[tuple[str, list[str]]]]:
        """The rows of every event up to `seq`: seq -> [(subject, scopes)] in subject order."""
        while not self._done and (not self._pending or self._pending[-1]["seq"] <= seq):
            fetched = await self._cursor.fetch(BATCH * 2)
            self._done = len(fetched) < BATCH * 2
            self._pending.extend(fetched)
        cut = bisect.bisect_right(self._pending, seq, key=lambda r: r["seq"])
        taken, self._pending = self._pending[:cut], self._pending[cut:]
        grouped: dict[int, list[tuple[str, list[str]]]] = {}
        for seq_, subject, scopes in taken:
            grouped.setdefault(seq_, []).append((subject, scopes))
        return grouped


async def check_chain(
    conn: asyncpg.Connection,
    writer_id: str,
    head: ChainHead | None,
    start: Start,
    anchors: Anchors | None,
    archived: Iterable[Iterable[Mapping[str, Any]]] = (),
    progress: Callable[[int], None] | None = None,
    suite: str | None = None,
    anchor_span: float | None = None,
) -> ChainResult:
    """Check one chain: its archived events (batches from files) if given, then the database's
    from `start` on, inside a snapshot (AuditStore.snapshot). The suite is the head's, else
    `suite` (a chain whose head was deleted)."""
    name = head.suite if head is not None else suite or "sha256-ed25519"
    check = ChainCheck(writer_id, get_suite(name), start, anchors, anchor_span)
    for batch in archived:
        before = check.result.events
        check.feed(batch, None)
        if progress is not None:
            progress(check.result.events - before)
        if check.broken:
            return check.result
    if check.last_seq and not check.broken:
        await _nothing_before(conn, check, start)
    events = await conn.cursor(
        "SELECT * FROM audit_event WHERE writer_id = $1 AND seq > $2 ORDER BY seq", writer_id, check.last_seq
    )
    index = _IndexReader(
        await conn.cursor(
            "SELECT seq, subject, scopes FROM audit_subject WHERE writer_id = $1 AND seq > $2 "
            "ORDER BY seq, subject",
            writer_id,
            check.last_seq,
        )
    )
    while not check.broken:
        rows = await events.fetch(BATCH)
        if not rows:
            break
        check.feed(rows, await index.through(rows[-1]["seq"]))
        if progress is not None:
            progress(len(rows))
    if not check.broken:
        leftover = await index.through(2**62)
        if leftover:
            check.fail(f"writer {writer_id} seq {min(leftover)}: {_ORPHANS}")
    return check.finish(head)


async def _nothing_before(conn: asyncpg.Connection, check: ChainCheck, start: Start) -> None:
    """Reading the database starts after `check.last_seq`: what lies at or before it must be
    what should, or rows slipped in there would never be read. Archived seqs are not in the
    database at all; a resume point's seqs are there once each (their index rows are left to
    a full run)."""
    through = check.last_seq
    events, seqs, indexed = await count_through(conn, check.writer_id, through)
    expected = through - start.archived
    if events == expected and seqs == events and (expected or not indexed):
        return
    check.fail(
        f"writer {check.writer_id} seq {through}: the database holds {events} events and {indexed} index "
        f"rows at or before seq {through}, where {expected} events should be; rows were inserted "
        "there (or an archive did not finish: run `govgraph audit archive` again)"
    )


async def subject_report(
    store: AuditStore,
    secret: bytes,
    identifier: str,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> list[dict[str, Any]]:
    """Who accessed this person or enterprise, when, for what purpose and which scopes; newest
    first, from chains of every suite."""
    return await store.subject_events(subject_keys(secret, identifier), since=since, until=until)
