"""Validation, once per document."""

from __future__ import annotations

from collections.abc import Iterator

from strawberry.extensions import ValidationCache

from gateway.compat import cached_validation

__all__ = ["ValidatedOnce"]


class ValidatedOnce(ValidationCache):
    """Strawberry's validation cache, handing each operation its own copy of the cached
    error list: the schema's process_errors rewrites a result's errors for the client that
    asked (its "Did you mean" hints from its own graph), which must not change what the next
    client with the same document is told."""

    def __init__(self) -> None:
        super().__init__(maxsize=512)

    def on_validate(self) -> Iterator[None]:
        # A copy: the list the cache keeps must not change.
        self.execution_context.pre_execution_errors = list(cached_validation(self))
        yield
