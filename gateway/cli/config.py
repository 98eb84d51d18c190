"""`govgraph config schema`: the JSON Schema of govgraph.toml, so that editors complete
and check the file (docs/configuration.md says how to point taplo or VS Code at it)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from gateway.config.schema import file_schema

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    config = subparsers.add_parser("config", help="the configuration file's JSON Schema, for editors")
    actions = config.add_subparsers(dest="config_command", required=True)
    schema = actions.add_parser(
        "schema",
        help="print the JSON Schema of govgraph.toml",
        description="Print the JSON Schema of govgraph.toml (draft 7), generated from the settings "
        "models: every section and key, with defaults and descriptions.",
    )
    schema.add_argument("-o", "--output", metavar="FILE", help="write it to FILE instead of standard output")
    config.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    text = json.dumps(file_schema(), indent=2, ensure_ascii=False) + "\n"
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0
