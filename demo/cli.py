"""`govgraph demo`: the gateway over the synthetic city, with its departments.

Registered with the `govgraph` command through the entry point `govgraph.commands`
(pyproject.toml), so the gateway finds it without naming the demo.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import logging
import os
import sys
import time
from pathlib import Path

import uvicorn

from gateway.access.auth import mint_token
from gateway.app import create_app
from gateway.cli import demo_state
from gateway.cli.common import (
    OPS_HELP,
    Subparsers,
    add_config,
    address,
    data_dir_default,
    run_on_uvloop,
)
from gateway.config.settings import Settings, load_settings, parse_address
from gateway.observability.logs import configure_logging
from gateway.policy.model import Policy
from gateway.server.edge import address as listen_address
from gateway.server.edge import serve

from .access import read_people
from .login import login_link
from .seeding import demo_policy
from .stack import DemoError, DemoStack
from .synth import CityConfig

__all__ = ["register", "run"]

log = logging.getLogger("govgraph")

# The sample cases the start-up announcement shows ids of.
_ANNOUNCED = (
    "family_child",
    "migrant_child",
    "duplicate_application",
    "d_rated_enterprise",
    "dishonest_enterprise",
    "household",
    "certificate_holder",
)


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run the gateway over the synthetic demo city",
        description="Start PostgreSQL (embedded, or the server at $DATABASE_URL) and the simulated "
        "departments, seed the demo city on the first run, and serve the gateway with GraphiQL. "
        "Ctrl-C stops every part.",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address the gateway listens on (default %(default)s)"
    )
    parser.add_argument("--port", type=int, default=8000, help="port of the gateway (default %(default)s)")
    parser.add_argument("--ops-listen", type=address, metavar="HOST:PORT", help=OPS_HELP)
    add_config(parser)
    parser.add_argument(
        "--data-dir",
        default=data_dir_default(),
        help="the demo's data directory (default %(default)s; $GOVGRAPH_DATA_DIR sets it): the"
        " embedded PostgreSQL, the city, samples.json, and demo.json while it runs",
    )
    parser.add_argument("--persons", type=int, default=20_000, help="size of the city (default %(default)s)")
    parser.add_argument("--seed", type=int, default=20261126, help="seed of the city (default %(default)s)")
    parser.add_argument(
        "--latency-ms", type=float, default=0.0, help="delay added by each REST department (default 0)"
    )
    parser.add_argument("--seed-only", action="store_true", help="build the city, print timings, and exit")
    parser.add_argument(
        "--workers", type=int, default=1, help="gateway processes (with Redis for cache and limits)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    logging.getLogger("pgserver").setLevel(logging.WARNING)  # its start-up chatter hides the demo's log
    try:
        run_on_uvloop(_demo(args))
    except DemoError as exc:
        print(f"govgraph: {exc}", file=sys.stderr)
        return 2
    return 0


async def _demo(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    stack = DemoStack(
        data_dir=Path(args.data_dir),
        database_url=os.environ.get("DATABASE_URL"),
        city=CityConfig(seed=args.seed, persons=args.persons),
        rest_latency=args.latency_ms / 1000,
    )
    await stack.start()
    try:
        os.environ.update(stack.gateway_env())
        # The demo's policy store lives beside its audit log (its own schema there).
        os.environ.setdefault("GOVGRAPH_POLICY_DSN", stack.audit_dsn)
        settings = load_settings(args.config)
        configure_logging(dataclasses.replace(settings.logging, format="text"))  # a person reads it
        if args.seed_only:
            print(json.dumps({"seed_seconds": stack.seed_seconds, "persons": args.persons}))
            return
        app = create_app(settings, serving=True)
        ops = args.ops_listen or parse_address(settings.gateway.ops_listen)
        policy = await demo_policy(stack, settings, app.state.runtime)
        seconds = time.perf_counter() - started
        _announce(stack, settings, policy, args.host, args.port, seconds, ops)
        running = _running(stack, args.config, args.host, args.port)
        try:  # where `govgraph samples`, `audit`, ... find this demo
            demo_state.announce(running)
        except OSError as exc:  # the demo runs on; only other directories' commands miss it
            log.warning("cannot note where this demo is (%s): commands elsewhere will not find it", exc)
        try:
            if args.workers > 1:
                await _workers(args, ops)
                return
            # uvicorn's own log format: the demo's reader knows it from uvicorn's documentation.
            await serve(app, settings, args.host, args.port, ops, log_config=uvicorn.config.LOGGING_CONFIG)
        finally:
            demo_state.withdraw(running)
    finally:
        await stack.stop()


def _running(stack: DemoStack, config: str, host: str, port: int) -> demo_state.RunningDemo:
    """This demo, as other commands find it: the variables it gave its gateway, the policy
    store's included (taken from the environment, where the shell may have set its own)."""
    environ = {**stack.gateway_env(), "GOVGRAPH_POLICY_DSN": os.environ["GOVGRAPH_POLICY_DSN"]}
    reach = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)  # noqa: S104 - what to connect to
    return demo_state.RunningDemo(
        pid=os.getpid(),
        data_dir=str(stack.data_dir.resolve()),
        config=str(Path(config).resolve()),
        gateway=f"http://{listen_address(reach, port)}",
        environ=environ,
    )


async def _workers(args: argparse.Namespace, ops: tuple[str, int]) -> None:
    """Several gateway processes over this process's departments (they inherit the env)."""
    command = [sys.executable, "-m", "gateway", "serve", "--config", args.config, "--host", args.host]
    command += ["--port", str(args.port), "--workers", str(args.workers), "--allow-demo-keys"]
    command += ["--ops-listen", listen_address(*ops)]
    process = await asyncio.create_subprocess_exec(*command)
    try:
        await process.wait()
    finally:
        if process.returncode is None:
            process.terminate()
            await process.wait()


def _announce(
    stack: DemoStack,
    settings: Settings,
    policy: Policy,
    host: str,
    port: int,
    seconds: float,
    ops: tuple[str, int],
) -> None:
    cases = stack.samples.get("cases", {})
    lines = [f"demo city ready in {seconds:.1f}s (data in {stack.data_dir})"]
    lines += [f"  department {name}: {where}" for name, where in stack.describe().items()]
    lines.append(f"  sample ids: {stack.samples_path}  (or: govgraph samples, from any directory)")
    for case in _ANNOUNCED:
        ids = cases.get(case) or []
        if ids:
            lines.append(f"    {case}: {', '.join(map(str, ids[:3]))}")
    lines.append(f"  GraphiQL: http://{host}:{port}/graphql  (paste a client's headers into its Headers tab)")
    where = listen_address(*ops)
    lines.append(f"  operators: http://{where}/metrics and http://{where}/readyz  (not on the public port)")
    if settings.audit.mode != "off":
        dsn = stack.gateway_env()["GOVGRAPH_AUDIT_DSN"]
        lines.append(f"  audit log: {dsn}  (`govgraph audit verify`, `govgraph audit subject ID` find it)")
        if settings.audit.checkpoints:
            every = f"{settings.audit.checkpoint_interval:g}"
            lines.append(f"  audit checkpoints: {settings.audit.checkpoints}  (signed every {every} s)")
    secret = settings.auth.hs256_secret if settings.auth else None
    people = read_people(stack.data_dir)
    if secret and people:
        lines.append(f"  console: http://{host}:{port}/console  (one-time login links, valid an hour;")
        lines.append("    `govgraph login ROLE` prints more)")
        for person in people:
            link = login_link(
                f"http://{host}:{port}", secret, settings.console.audience, person.subject, person.name, 60
            )
            lines.append(f"    {person.role} ({person.name}): {link}")
    if secret and settings.auth:
        lines.append("  demo clients (tokens valid 12 hours; `govgraph token CLIENT` mints more):")
        for client in policy.clients.values():
            purpose = sorted(client.purposes)[0]
            token = mint_token(secret, client, settings.auth.audience, 12 * 3600, [purpose], int(time.time()))
            headers = json.dumps({"Authorization": f"Bearer {token}", "X-Purpose": purpose})
            lines.append(f"    {client.id}: {headers}")
    log.info("\n".join(lines))
