"""Positions in an answer being built: where a completed object or list sits, so that a
non-null error found after it was placed nulls the right ancestor."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError
from graphql.pyutils import Path

__all__ = ["ROOT", "Errors", "Slot", "under"]


class Slot:
    """Where a completed object or list sits: the position a non-null error below nulls."""

    __slots__ = ("container", "key", "nullable", "parent", "path")

    def __init__(
        self, container: Any, key: Any, path: Path | None, nullable: bool, parent: Slot | None
    ) -> None:
        self.container, self.key, self.path, self.nullable, self.parent = (
            container,
            key,
            path,
            nullable,
            parent,
        )


ROOT = Slot(None, None, None, False, None)


def under(path: Path | None, ancestor: Path | None) -> bool:
    """Whether `path` is `ancestor` or below it (None: the root, above everything)."""
    if ancestor is None:
        return True
    while path is not None:
        if path == ancestor:
            return True
        path = path.prev
    return False


class Errors:
    """Field errors as graphql-core collects them: each recorded with the position it
    nulled, and an error at or below a position already nulled dropped."""

    __slots__ = ("errors", "positions")

    def __init__(self) -> None:
        self.errors: list[GraphQLError] = []
        self.positions: set[Path | None] = set()

    def nulled(self, path: Path | None) -> bool:
        positions = self.positions
        while path is not None:
            if path in positions:
                return True
            path = path.prev
        return None in positions

    def add(self, error: GraphQLError, path: Path | None) -> None:
        if self.nulled(path):
            return
        self.positions.add(path)
        self.errors.append(error)
