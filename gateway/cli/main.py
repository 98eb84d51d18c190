"""The `govgraph` command: demo, serve, check-config, export-schema, token, documents, audit, samples."""

from __future__ import annotations

import argparse
import logging
import sys
from types import ModuleType

from gateway.cli import audit, check_config, documents, export_schema, samples, serve, token
from gateway.cli.plugins import command_registrars
from gateway.config.settings import ConfigError
from gateway.execution.documents import DocumentError
from gateway.policy.model import PolicyError
from sources.errors import SourceConfigError

__all__ = ["main"]

# The gateway's own commands, in the order `--help` lists them. Each module has
# `register(subparsers)`, which adds its parser with `func=run`, and `run(args) -> int`.
COMMANDS: tuple[ModuleType, ...] = (serve, export_schema, check_config, token, documents, audit, samples)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="govgraph", description=__doc__)
    subparsers = top.add_subparsers(dest="command", required=True)
    # Installed packages' commands (entry points `govgraph.commands`, e.g. the demo's)
    # come first: `govgraph demo` is where a newcomer starts.
    for register in command_registrars():
        register(subparsers)
    for command in COMMANDS:
        command.register(subparsers)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        code: int = args.func(args)
    except (ConfigError, SourceConfigError, PolicyError, DocumentError) as exc:
        print(f"govgraph: configuration error: {exc}", file=sys.stderr)
        return 2
    return code
