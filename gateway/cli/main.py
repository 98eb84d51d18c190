"""The `govgraph` command: demo, serve, check-config, export-schema, catalog, token, documents, policy,
audit, samples."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from types import ModuleType

from gateway.cli import (
    audit,
    catalog,
    check_config,
    config,
    documents,
    export_schema,
    policy,
    samples,
    serve,
    token,
)
from gateway.cli.locate import prepare
from gateway.cli.plugins import command_registrars
from gateway.version import installed_version
from sources.errors import ConfigError

__all__ = ["main"]

# The gateway's own commands, in the order `--help` lists them. Each module has
# `register(subparsers)`, which adds its parser with `func=run`, and `run(args) -> int`.
COMMANDS: tuple[ModuleType, ...] = (
    serve, export_schema, catalog, check_config, config, token, documents, policy, audit, samples
)  # fmt: skip


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="govgraph", description=__doc__)
    top.add_argument("--version", action="version", version=f"govgraph {installed_version()}")
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
        prepare(args)  # the configuration, the running demo: found, and said on stderr
        code: int = args.func(args)
        sys.stdout.flush()  # here, so that a reader gone away is noticed inside this `try`
    except ConfigError as exc:  # the policy's, a source's and a document's mistakes included
        print(f"govgraph: configuration error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader closed the pipe (`govgraph token X | head -1`): what it did not read is
        # nobody's, so stop quietly. Standard output is pointed at /dev/null so that the
        # interpreter's own flush at exit does not fail again (the Python documentation's
        # recipe, "Note on SIGPIPE" in the signal module).
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    return code
