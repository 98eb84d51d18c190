"""`govgraph audit synth`: fill an audit store with a synthetic city's events."""

from __future__ import annotations

import argparse
import sys

from gateway.cli.common import Subparsers

__all__ = ["register"]


def register(actions: Subparsers) -> None:
    synth = actions.add_parser("synth", help="fill the audit store with a synthetic city's events")
    synth.add_argument("--events", type=int, required=True, help="how many events")
    synth.set_defaults(func=run_synth)


def run_synth(args: argparse.Namespace) -> int:
    print("govgraph: audit synth is not built yet", file=sys.stderr)
    return 2
