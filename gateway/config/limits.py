"""[limits]: what one request may ask for (gateway/execution/limits.py measures it)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Limits"]


@dataclass(frozen=True)
class Limits:
    depth: int = 12  # nested selections, fragments followed
    aliases: int = 30
    tokens: int = 3000
    cost: int = 20_000  # estimated fields resolved (lists as their @listSize declares)
    list_keys: int = 100  # keys in one list argument (the ids of a root look-up)
    batch: int = 10  # operations in one batched request
    body_bytes: int = 200_000  # request body
    concurrent_cost: int = 16_000  # cost executing at once in a process; beyond it operations wait
    text_chars: int = 256  # characters in a String argument without @maxLength (execution/textinput.py)
