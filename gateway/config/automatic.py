"""`[documents]`'s automatic persisted queries (gateway/execution/persisted.py keeps them)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Automatic"]


@dataclass(frozen=True)
class Automatic:
    enabled: bool = True
    max_entries: int = 10_000  # texts kept, across every process sharing the store
    ttl: float = 86_400.0  # seconds a text is kept after it was registered
