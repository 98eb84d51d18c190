"""`govgraph samples`: the demo city's sample ids, as the demo wrote them."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gateway.cli.common import DATA_DIR_HELP, Subparsers, data_dir_default

__all__ = ["register", "run"]


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser("samples", help="print the demo city's sample ids as JSON")
    parser.add_argument("--data-dir", default=data_dir_default(), help=DATA_DIR_HELP)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    path = Path(args.data_dir) / "samples.json"
    if not path.exists():
        print(f"govgraph: no samples at {path}; run `make demo` first", file=sys.stderr)
        return 1
    sys.stdout.write(path.read_text(encoding="utf-8"))
    return 0
