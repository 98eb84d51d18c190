"""Validation, once per document."""

from __future__ import annotations

from collections.abc import Iterator

from strawberry.extensions import ValidationCache

from gateway.compat import cached_validation
from gateway.execution.errors import recoded

__all__ = ["ValidatedOnce"]


class ValidatedOnce(ValidationCache):
    """Strawberry's validation cache, handing each operation its own copies of the cached
    errors, coded GRAPHQL_VALIDATION_FAILED (a bad literal id's refusal included): the
    schema's process_errors rewrites a result's errors for the client that asked (its "Did
    you mean" hints from its own graph), which must not change what the next client with
    the same document is told."""

    def __init__(self) -> None:
        super().__init__(maxsize=512)

    def on_validate(self) -> Iterator[None]:
        errors = cached_validation(self)  # the cache's own list: never changed here
        self.execution_context.pre_execution_errors = [
            recoded(e, "GRAPHQL_VALIDATION_FAILED") for e in errors
        ]
        yield
