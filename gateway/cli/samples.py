"""`govgraph samples`: the demo city's sample ids, as the demo wrote them (the running
demo's, from any directory: gateway/cli/locate.py)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gateway.cli.common import Subparsers, add_data_dir

__all__ = ["register", "run"]


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser("samples", help="print the demo city's sample ids as JSON")
    add_data_dir(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    path = Path(args.data_dir) / "samples.json"
    if not path.exists():
        elsewhere = "" if args.demo else " (no demo is running; --data-dir names another city)"
        print(f"govgraph: no samples at {path}{elsewhere}: run `make demo` first", file=sys.stderr)
        return 1
    sys.stdout.write(path.read_text(encoding="utf-8"))
    return 0
