"""`govgraph serve`: the gateway over the departments of a configuration file."""

from __future__ import annotations

import argparse
import logging

from gateway.app import create_app
from gateway.cli.common import OPS_HELP, Subparsers, add_config, address, run_on_uvloop
from gateway.cli.environment import add_help
from gateway.cli.plugins import published_keys
from gateway.cli.published import ALLOW_FLAG, published_keys_in_use, refusal
from gateway.config.settings import ConfigError, Settings, load_settings, parse_address
from gateway.observability.logs import configure_logging
from gateway.server.addresses import separate
from gateway.server.edge import serve
from gateway.server.workers import serve_workers

__all__ = ["register", "run"]

log = logging.getLogger("govgraph")


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run the gateway against the departments in a config file",
        description="Serve the gateway over the departments of the configuration. It refuses to start\n"
        "on any mistake `govgraph check-config` reports. The environment it reads is listed\n"
        "below, for the configuration it would use (give --config before --help for another).",
        add_help=False,
    )
    add_help(parser)  # lists the configuration's ${VAR}s: computed when --help is asked for
    add_config(parser)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default %(default)s)")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on (default %(default)s)")
    parser.add_argument("--workers", type=int, default=1, help="processes (share Redis and PostgreSQL)")
    parser.add_argument("--ops-listen", type=address, metavar="HOST:PORT", help=OPS_HELP)
    parser.add_argument(
        ALLOW_FLAG,
        action="store_true",
        help="start even with the demo's published keys (never in production)",
    )
    parser.set_defaults(func=run, logs_config=True)


def run(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    configure_logging(settings.logging)
    log.info("%s", args.config_said)  # which configuration, as a line of the server's own log
    ops = args.ops_listen or parse_address(settings.gateway.ops_listen)
    separate((args.host, args.port), ops)  # before the app is built (the servers check again)
    _check(settings, args.allow_demo_keys)
    if args.workers > 1:
        serve_workers(args.config, args.host, args.port, args.workers, ops)  # each worker reads it
    else:
        run_on_uvloop(_serve(settings, args.host, args.port, ops))
    return 0


def _check(settings: Settings, allow_published: bool) -> None:
    """Build the app once in the parent: a bad config or published keys stop start-up here."""
    runtime = create_app(settings).state.runtime
    found = published_keys_in_use(settings, runtime.policy, published_keys())
    if found and not allow_published:
        raise ConfigError(f"{settings.path}: {refusal(found)}")


async def _serve(settings: Settings, host: str, port: int, ops: tuple[str, int]) -> None:
    await serve(create_app(settings, serving=True), settings, host, port, ops)
