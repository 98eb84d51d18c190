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

import collections
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from gateway.audit.record import _HASHED, GENESIS
from gateway.audit.store import ChainHead
from gateway.audit.suite import Suite

if TYPE_CHECKING:
    from gateway.audit.anchors import Anchors

__all__ = ["ChainCheck", "ChainResult", "Start", "VerifyReport"]

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
