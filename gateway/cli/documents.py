"""`govgraph documents`: check the trusted documents, or rewrite their manifest."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from gateway.cli.common import Subparsers, add_config
from gateway.compat import graphql_schema
from gateway.config.settings import load_documents_path
from gateway.execution.documents import MANIFEST, Registry, build_manifest
from gateway.execution.schema import build_schema

__all__ = ["register", "run"]


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser("documents", help="check trusted documents, or rewrite their manifest")
    parser.add_argument(
        "action", choices=["check", "manifest"], help="check: verify ids and validate; manifest: rewrite it"
    )
    add_config(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    directory = load_documents_path(args.config)
    if directory is None:
        print(f"govgraph: {args.config} has no [documents] path", file=sys.stderr)
        return 2
    schema = graphql_schema(build_schema())
    if args.action == "manifest":
        manifest = build_manifest(Path(directory), schema)
        (Path(directory) / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {Path(directory) / MANIFEST}: {len(manifest['documents'])} documents")  # type: ignore[arg-type]
        return 0
    registry = Registry.load(Path(directory), schema)
    listed = {d.file for d in registry}
    unlisted = sorted(p.name for p in Path(directory).glob("*.graphql") if p.name not in listed)
    for document in registry:
        print(f"ok {document.id} {document.name} ({document.file})")
    if unlisted:
        print(
            f"not in {MANIFEST}: {', '.join(unlisted)} (run `govgraph documents manifest`)", file=sys.stderr
        )
        return 1
    return 0
