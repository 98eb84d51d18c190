"""Trusted documents: the operations clients registered, by SHA-256 id.

A directory of `.graphql` files (one operation each) and `manifest.json` listing their
ids. At start-up every document is read, checked against its id, parsed and validated
against the schema once; a request that names a document by id runs the stored parse.
Clients marked `persisted_only` in the policy may run nothing else.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from graphql import DocumentNode, GraphQLError, OperationDefinitionNode, parse, validate
from graphql import GraphQLSchema as CoreSchema

from sources.errors import ConfigError

__all__ = ["MANIFEST", "Document", "DocumentError", "Registry", "build_manifest", "document_id"]

MANIFEST = "manifest.json"
FORMAT = "govgraph-trusted-documents/1"


class DocumentError(ConfigError):
    """A registered document is missing, altered, or invalid; names the file."""


def document_id(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Document:
    id: str
    name: str  # the operation name
    file: str
    text: str
    node: DocumentNode


def _load_one(directory: Path, file: str, schema: CoreSchema | None) -> Document:
    path = directory / file
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DocumentError(f"{path}: cannot read ({exc.strerror})") from exc
    try:
        node = parse(text)
    except GraphQLError as exc:
        raise DocumentError(f"{path}: {exc.message}") from exc
    operations = [d for d in node.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != 1 or operations[0].name is None:
        raise DocumentError(f"{path}: must hold exactly one named operation")
    if schema is not None:
        errors = validate(schema, node)
        if errors:
            raise DocumentError(f"{path}: {errors[0].message}")
    return Document(document_id(text), operations[0].name.value, file, text, node)


def build_manifest(directory: Path, schema: CoreSchema | None = None) -> dict[str, object]:
    """The manifest for every `.graphql` file in `directory` (validated when a schema is given)."""
    documents = [_load_one(directory, p.name, schema) for p in sorted(directory.glob("*.graphql"))]
    return {
        "format": FORMAT,
        "documents": [{"id": d.id, "name": d.name, "file": d.file} for d in documents],
    }


class Registry:
    def __init__(self, documents: dict[str, Document]) -> None:
        self._documents = documents

    @classmethod
    def empty(cls) -> Registry:
        return cls({})

    @classmethod
    def load(cls, directory: Path, schema: CoreSchema) -> Registry:
        """Read the manifest, check every file against its id, parse and validate each once."""
        manifest_path = directory / MANIFEST
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise DocumentError(f"{manifest_path}: cannot read ({exc})") from exc
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise DocumentError(
                f"{manifest_path}: not a {FORMAT} manifest (run `govgraph documents manifest`)"
            )
        documents: dict[str, Document] = {}
        for entry in manifest.get("documents", []):
            document = _load_one(directory, str(entry.get("file")), schema)
            if document.id != entry.get("id"):
                expected = entry.get("id")
                raise DocumentError(
                    f"{directory / document.file}: content does not match id {expected} in {MANIFEST}"
                )
            documents[document.id] = document
        return cls(documents)

    def get(self, identifier: str) -> Document | None:
        return self._documents.get(identifier.removeprefix("sha256:"))

    def __iter__(self) -> Iterator[Document]:
        return iter(self._documents.values())

    def __len__(self) -> int:
        return len(self._documents)
