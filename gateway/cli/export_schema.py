"""`govgraph export-schema`: the GraphQL SDL, as `schema.graphql` holds it."""

from __future__ import annotations

import argparse
import sys

from gateway.cli.common import Subparsers
from gateway.execution.schema import build_schema

__all__ = ["register", "run"]


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "export-schema", help="print the GraphQL SDL (schema.graphql is this output)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    sys.stdout.write(build_schema().as_str() + "\n")
    return 0
