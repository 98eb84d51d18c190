"""What several `govgraph` commands share: argument types, defaults, running a server."""

from __future__ import annotations

import argparse
import asyncio
import os
from collections.abc import Coroutine
from typing import Any, TypeAlias

import uvloop

from gateway.config.settings import parse_address
from sources.errors import SourceConfigError

__all__ = [
    "DATA_DIR_HELP",
    "DEFAULT_CONFIG",
    "DEFAULT_DATA_DIR",
    "OPS_HELP",
    "Subparsers",
    "add_config",
    "address",
    "data_dir_default",
    "run_on_uvloop",
]

# What each command module's `register(subparsers)` receives.
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"

DEFAULT_CONFIG = "govgraph.toml"
DEFAULT_DATA_DIR = ".govgraph"
DATA_DIR_HELP = "the demo's data directory (default %(default)s; $GOVGRAPH_DATA_DIR sets it)"
OPS_HELP = "address of /metrics and /readyz (default: [gateway] ops_listen of the config)"


def add_config(parser: argparse.ArgumentParser, help: str = "gateway configuration") -> None:
    parser.add_argument("--config", default=DEFAULT_CONFIG, help=f"{help} (default %(default)s)")


def data_dir_default() -> str:
    """The demo's data directory: `$GOVGRAPH_DATA_DIR`, else `.govgraph`."""
    return os.environ.get("GOVGRAPH_DATA_DIR", DEFAULT_DATA_DIR)


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
