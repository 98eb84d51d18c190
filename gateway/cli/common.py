"""What several `govgraph` commands share: argument types, defaults, running a server."""

from __future__ import annotations

import argparse
import asyncio
import os
from collections.abc import Coroutine
from typing import Any, TypeAlias

import uvloop

from gateway.cli.locate import CONFIG_ENV, DATA_DIR_ENV, DEFAULT_CONFIG, DEFAULT_DATA_DIR
from gateway.config.settings import parse_address
from sources.errors import SourceConfigError

__all__ = [
    "OPS_HELP",
    "Subparsers",
    "add_config",
    "add_data_dir",
    "address",
    "data_dir_default",
    "run_on_uvloop",
]

# What each command module's `register(subparsers)` receives.
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"

OPS_HELP = "address of /metrics and /readyz (default: [gateway] ops_listen of the config)"


def add_config(
    parser: argparse.ArgumentParser,
    help: str = "gateway configuration",
    *,
    optional: bool = False,
    demo: bool = False,
) -> None:
    """`--config`, found as gateway/cli/locate.py says when not given (`optional`: the
    command can do without one; `demo`: the running demo's is the last resort)."""
    last = ", else the running demo's" if demo else ""
    parser.add_argument(
        "--config",
        metavar="FILE",
        help=f"{help} (default: ${CONFIG_ENV}, else {DEFAULT_CONFIG} in the current directory{last})",
    )
    parser.set_defaults(config_search="optional" if optional else "required")
    if demo:
        parser.set_defaults(uses_demo=True)


def add_data_dir(parser: argparse.ArgumentParser, help: str = "the demo's data directory") -> None:
    """`--data-dir` of a command that reads a demo's data, found as locate.py says."""
    parser.add_argument(
        "--data-dir",
        help=f"{help} (default: ${DATA_DIR_ENV}, else the running demo's, else {DEFAULT_DATA_DIR})",
    )
    parser.set_defaults(uses_demo=True, data_dir_search=True)


def data_dir_default() -> str:
    """Where `govgraph demo` keeps its data: `$GOVGRAPH_DATA_DIR`, else `.govgraph`."""
    return os.environ.get(DATA_DIR_ENV, DEFAULT_DATA_DIR)


def address(text: str) -> tuple[str, int]:
    """An argparse type for HOST:PORT."""
    try:
        return parse_address(text)
    except SourceConfigError as exc:
        raise argparse.ArgumentTypeError(exc.problem) from None


def run_on_uvloop(main: Coroutine[Any, Any, None]) -> None:
    """Run a server on uvloop: uvicorn's `loop` setting applies to `uvicorn.run` only, and
    these servers are started from our own coroutine."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main)
