"""`govgraph export-schema`: the GraphQL SDL, as `schema.graphql` holds it (with `--console`,
the console's API, as `console.graphql` holds it)."""

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
    parser.add_argument(
        "--console", action="store_true", help="the console's API at /console/graphql (console.graphql)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.console:
        from gateway.console.api import CONSOLE_SCHEMA  # only this command needs it

        sys.stdout.write(CONSOLE_SCHEMA.as_str() + "\n")
        return 0
    sys.stdout.write(build_schema().as_str() + "\n")
    return 0
