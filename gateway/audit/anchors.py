"""One writer's signed checkpoints as the verifier reads them: in the order they were appended,
each signature checked with a trusted key before it counts (checkpoint.py writes them)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from gateway.audit.checkpoint import Checkpoint
from gateway.audit.suite import Verifier

__all__ = ["Anchors"]


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
