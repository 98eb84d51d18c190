"""Parsing, once per document text."""

from __future__ import annotations

from collections.abc import Iterator

from strawberry.extensions import ParserCache

__all__ = ["ParsedOnce"]


class ParsedOnce(ParserCache):
    """Strawberry's parser cache (shared by every operation of the process), leaving alone
    a document already parsed: a trusted document's, parsed at start-up."""

    def __init__(self) -> None:
        super().__init__(maxsize=512)

    def on_parse(self) -> Iterator[None]:
        if self.execution_context.graphql_document is not None:
            yield
            return
        yield from super().on_parse()
