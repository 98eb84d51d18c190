"""What `audit verify` and `audit synth` both do with their work: share it among processes
in groups of about equal size, and count it as it goes."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TypeVar

__all__ = ["Progress", "print_progress", "share"]

T = TypeVar("T")


def share(items: list[T], count: int, size: Callable[[T], int]) -> list[list[T]]:
    """`items` in at most `count` groups of about equal total size, largest first."""
    groups: list[list[T]] = [[] for _ in range(max(1, min(count, len(items))))]
    sizes = [0] * len(groups)
    for item in sorted(items, key=lambda i: -size(i)):
        smallest = sizes.index(min(sizes))
        groups[smallest].append(item)
        sizes[smallest] += size(item) + 1  # an empty item still costs a little
    return [g for g in groups if g]


class Progress:
    """Events done, told to `progress(done, total)` at most about twice a second."""

    def __init__(self, total: int, progress: Callable[[int, int], None] | None) -> None:
        self.done = 0
        self._total = total
        self._progress = progress
        self._shown = 0.0

    def add(self, events: int) -> None:
        self.done += events
        if self._progress is not None and time.monotonic() - self._shown > 0.5:
            self._shown = time.monotonic()
            self._progress(self.done, self._total)


def print_progress(done: int, total: int) -> None:
    """On a terminal: one line, rewritten in place."""
    share = f" ({100 * done // total}%)" if total else ""
    sys.stderr.write(f"\rverified {done:,} of {total:,} events{share}   ")
    sys.stderr.flush()
