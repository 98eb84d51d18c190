"""`govgraph token`: mint a token with the configuration's HS256 secret, as headers."""

from __future__ import annotations

import argparse
import sys
import time

from gateway.access.auth import mint_token
from gateway.catalog.graph import graph_of
from gateway.cli.common import Subparsers, add_config
from gateway.config.settings import load_auth, load_catalog_path
from gateway.execution.schema import build_schema
from gateway.policy.model import load_policy

__all__ = ["register", "run"]


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser("token", help="mint a demo token and print the headers to send")
    parser.add_argument("client", help="a client of the policy file, e.g. developer or enrollment")
    parser.add_argument("--purpose", help="default: the client's first purpose")
    parser.add_argument(
        "--ttl", type=_seconds, default=3600, help="seconds the token is valid, at least 1 (default 3600)"
    )
    add_config(parser, demo=True)
    parser.set_defaults(func=run)


def _seconds(text: str) -> int:
    """A positive whole number of seconds: a token valid for 0 s (or less) is refused on arrival."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number of seconds, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 second, got {value}")
    return value


def run(args: argparse.Namespace) -> int:
    auth = load_auth(args.config)
    schema = build_schema(graph=graph_of(load_catalog_path(args.config)))
    policy = load_policy(
        auth.policy, schema.scopes, pinnable=schema.surface.pinnable, sharing=schema.surface.sharing
    )
    client = policy.clients.get(args.client)
    if client is None:
        print(
            f"govgraph: unknown client {args.client!r} (known: {', '.join(sorted(policy.clients))})",
            file=sys.stderr,
        )
        return 2
    purpose = args.purpose or sorted(client.purposes)[0]
    if purpose not in client.purposes:
        print(f"govgraph: client {args.client!r} is not granted purpose {purpose!r}", file=sys.stderr)
        return 2
    if not auth.hs256_secret:
        print(
            "govgraph: auth.hs256_secret is not set; tokens come from your identity provider", file=sys.stderr
        )
        return 2
    token = mint_token(auth.hs256_secret, client, auth.audience, args.ttl, [purpose], int(time.time()))
    print(f"Authorization: Bearer {token}")
    print(f"X-Purpose: {purpose}")
    return 0
