"""Rows on their way to COPY: department row buffers, flushed in foreign-key order, and money values."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from .config import COLUMNS

__all__ = ["Chunk", "Row", "Sink", "money"]

Row = tuple[object, ...]
Chunk = tuple[str, str, list[Row]]  # (department, table, rows)


class Sink:
    """Row buffers of one department, flushed together so chunks keep foreign-key order."""

    def __init__(self, department: str) -> None:
        self.department = department
        self.rows: dict[str, list[Row]] = {table: [] for table in COLUMNS[department]}

    def drain(self, at: int = 0) -> Iterator[Chunk]:
        """Yield every non-empty buffer once any holds `at` rows (at=0: now)."""
        if at and max(map(len, self.rows.values())) < at:
            return
        for table, rows in self.rows.items():
            if rows:
                yield self.department, table, rows
                self.rows[table] = []


def money(value: float) -> Decimal:
    """A yuan amount as a numeric(…, 2) column stores it."""
    return Decimal(f"{value:.2f}")
