"""The `govgraph` command: demo, serve, check-config, export-schema, token, documents, audit, samples."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import hashlib
import json
import logging
import os
import shlex
import sys
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import uvicorn
import uvloop

from gateway.access.auth import mint_token
from gateway.app import create_app
from gateway.audit.store import AuditStore, AuditStoreError
from gateway.audit.verify import subject_report, verify
from gateway.compat import graphql_schema
from gateway.config.settings import (
    ConfigError,
    Settings,
    load_audit,
    load_auth,
    load_documents_path,
    load_settings,
    parse_address,
)
from gateway.execution.documents import MANIFEST, DocumentError, Registry, build_manifest
from gateway.execution.schema import build_schema
from gateway.observability.logs import configure_logging
from gateway.policy.model import Policy, PolicyError, load_policy
from gateway.server.edge import address, serve
from gateway.server.workers import serve_workers
from resolvers.graph import ENTITIES
from sources.errors import SourceConfigError
from sources.registry import build_catalog

__all__ = ["main"]

log = logging.getLogger("govgraph")

DEFAULT_DATA_DIR = ".govgraph"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="govgraph", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    data_dir_help = "the demo's data directory (default %(default)s; $GOVGRAPH_DATA_DIR sets it)"
    ops_help = "address of /metrics and /readyz (default: [gateway] ops_listen of the config)"
    demo = sub.add_parser(
        "demo",
        help="run the gateway over the synthetic demo city",
        description="Start PostgreSQL (embedded, or the server at $DATABASE_URL) and the simulated "
        "departments, seed the demo city on the first run, and serve the gateway with GraphiQL. "
        "Ctrl-C stops every part.",
    )
    demo.add_argument(
        "--host", default="127.0.0.1", help="address the gateway listens on (default %(default)s)"
    )
    demo.add_argument("--port", type=int, default=8000, help="port of the gateway (default %(default)s)")
    demo.add_argument("--ops-listen", type=_address, metavar="HOST:PORT", help=ops_help)
    demo.add_argument("--config", default="govgraph.toml", help="gateway configuration (default %(default)s)")
    demo.add_argument(
        "--data-dir",
        default=os.environ.get("GOVGRAPH_DATA_DIR", DEFAULT_DATA_DIR),
        help=data_dir_help + ": the embedded PostgreSQL, the city, samples.json",
    )
    demo.add_argument("--persons", type=int, default=20_000, help="size of the city (default %(default)s)")
    demo.add_argument("--seed", type=int, default=20261126, help="seed of the city (default %(default)s)")
    demo.add_argument(
        "--latency-ms", type=float, default=0.0, help="delay added by each REST department (default 0)"
    )
    demo.add_argument("--seed-only", action="store_true", help="build the city, print timings, and exit")
    demo.add_argument(
        "--workers", type=int, default=1, help="gateway processes (with Redis for cache and limits)"
    )

    serve = sub.add_parser("serve", help="run the gateway against the departments in a config file")
    serve.add_argument(
        "--config", default="govgraph.toml", help="gateway configuration (default %(default)s)"
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default %(default)s)")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on (default %(default)s)")
    serve.add_argument("--workers", type=int, default=1, help="processes (share Redis and PostgreSQL)")
    serve.add_argument("--ops-listen", type=_address, metavar="HOST:PORT", help=ops_help)
    serve.add_argument(
        "--allow-demo-keys",
        action="store_true",
        help="start even with the demo's published keys (never in production)",
    )

    sub.add_parser("export-schema", help="print the GraphQL SDL (schema.graphql is this output)")

    check = sub.add_parser("check-config", help="validate govgraph.toml and the policy file")
    check.add_argument(
        "--config", default="govgraph.toml", help="gateway configuration (default %(default)s)"
    )

    token = sub.add_parser("token", help="mint a demo token and print the headers to send")
    token.add_argument("client", help="a client of the policy file, e.g. developer or enrollment")
    token.add_argument("--purpose", help="default: the client's first purpose")
    token.add_argument(
        "--ttl", type=_seconds, default=3600, help="seconds the token is valid, at least 1 (default 3600)"
    )
    token.add_argument(
        "--config", default="govgraph.toml", help="gateway configuration (default %(default)s)"
    )

    docs = sub.add_parser("documents", help="check trusted documents, or rewrite their manifest")
    docs.add_argument(
        "action", choices=["check", "manifest"], help="check: verify ids and validate; manifest: rewrite it"
    )
    docs.add_argument("--config", default="govgraph.toml", help="gateway configuration (default %(default)s)")

    audit = sub.add_parser("audit", help="verify the audit log, or list who accessed a subject")
    audit.add_argument(
        "action", choices=["verify", "subject"], help="verify: check the hash chains; subject: list accesses"
    )
    audit.add_argument("subject", nargs="?", help="resident id or credit code (for `subject`)")
    audit.add_argument(
        "--config",
        default="govgraph.toml",
        help="configuration whose [audit] section names the log (default %(default)s)",
    )

    samples = sub.add_parser("samples", help="print the demo city's sample ids as JSON")
    samples.add_argument(
        "--data-dir", default=os.environ.get("GOVGRAPH_DATA_DIR", DEFAULT_DATA_DIR), help=data_dir_help
    )
    return parser


def _address(text: str) -> tuple[str, int]:
    try:
        return parse_address(text)
    except SourceConfigError as exc:
        raise argparse.ArgumentTypeError(exc.problem) from None


def _seconds(text: str) -> int:
    """A positive whole number of seconds: a token valid for 0 s (or less) is refused on arrival."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number of seconds, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 second, got {value}")
    return value


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("pgserver").setLevel(logging.WARNING)  # its start-up chatter hides the demo's log
    try:
        if args.command == "export-schema":
            sys.stdout.write(build_schema().as_str() + "\n")
        elif args.command == "samples":
            return _samples(Path(args.data_dir))
        elif args.command == "check-config":
            return _check_config(args.config)
        elif args.command == "token":
            return _token(args.config, args.client, args.purpose, args.ttl)
        elif args.command == "documents":
            return _documents(args.config, args.action)
        elif args.command == "audit":
            return asyncio.run(_audit(args.config, args.action, args.subject))
        elif args.command == "serve":
            settings = load_settings(args.config)
            configure_logging(settings.logging)
            _check_serve(args.config, args.allow_demo_keys)
            ops = args.ops_listen or parse_address(settings.gateway.ops_listen)
            if args.workers > 1:
                serve_workers(args.config, args.host, args.port, args.workers, ops)
            else:
                _serving(_serve(args.config, args.host, args.port, ops))
        elif args.command == "demo":
            _serving(_demo(args))
    except (ConfigError, SourceConfigError, PolicyError, DocumentError) as exc:
        print(f"govgraph: configuration error: {exc}", file=sys.stderr)
        return 2
    return 0


def _check_config(config: str) -> int:
    settings = load_settings(config)
    auth = load_auth(config)
    schema = build_schema()
    core = graphql_schema(schema)
    documents = Registry.load(Path(settings.documents), core) if settings.documents else None
    # Checked as the gateway checks it at start-up: pins against the schema's verdicts,
    # client operations against the registered documents.
    policy = load_policy(
        auth.policy,
        schema.scopes,
        pinnable=schema.surface.pinnable,
        operations=None if documents is None else {d.name for d in documents},
    )
    try:
        build_catalog(settings.sources).require(ENTITIES)  # adapters validate their own options
    except SourceConfigError as exc:
        raise ConfigError(f"{config}: {exc}") from exc
    print(
        f"ok: {len(settings.sources)} sources, {len(policy.purposes)} purposes, "
        f"{len(policy.clients)} clients, {len(policy.grants)} grants, "
        f"{len(documents) if documents else 0} trusted documents"
    )
    return 0


def _token(config: str, client_id: str, purpose: str | None, ttl: int) -> int:
    auth = load_auth(config)
    schema = build_schema()
    policy = load_policy(auth.policy, schema.scopes, pinnable=schema.surface.pinnable)
    client = policy.clients.get(client_id)
    if client is None:
        print(
            f"govgraph: unknown client {client_id!r} (known: {', '.join(sorted(policy.clients))})",
            file=sys.stderr,
        )
        return 2
    purpose = purpose or sorted(client.purposes)[0]
    if purpose not in client.purposes:
        print(f"govgraph: client {client_id!r} is not granted purpose {purpose!r}", file=sys.stderr)
        return 2
    if not auth.hs256_secret:
        print(
            "govgraph: auth.hs256_secret is not set; tokens come from your identity provider", file=sys.stderr
        )
        return 2
    token = mint_token(auth.hs256_secret, client, auth.audience, ttl, [purpose], int(time.time()))
    print(f"Authorization: Bearer {token}")
    print(f"X-Purpose: {purpose}")
    return 0


def _documents(config: str, action: str) -> int:
    directory = load_documents_path(config)
    if directory is None:
        print(f"govgraph: {config} has no [documents] path", file=sys.stderr)
        return 2
    schema = graphql_schema(build_schema())
    if action == "manifest":
        manifest = build_manifest(Path(directory), schema)
        (Path(directory) / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {Path(directory) / MANIFEST}: {len(manifest['documents'])} documents")  # type: ignore[arg-type]
        return 0
    registry = Registry.load(Path(directory), schema)
    listed = {d.file for d in registry}
    unlisted = sorted(p.name for p in Path(directory).glob("*.graphql") if p.name not in listed)
    for document in registry:
        print(f"ok {document.id} {document.name} ({document.file})")
    if unlisted:
        print(
            f"not in {MANIFEST}: {', '.join(unlisted)} (run `govgraph documents manifest`)", file=sys.stderr
        )
        return 1
    return 0


async def _audit(config: str, action: str, subject: str | None) -> int:
    audit = load_audit(config)  # not the departments': this runs where only the audit store is known
    if audit.dsn is None:
        print("govgraph: the audit log is off in this configuration", file=sys.stderr)
        return 2
    store = AuditStore(audit.dsn)
    try:
        await store.open()
        return await _audit_action(store, audit.subject_key, action, subject)
    except AuditStoreError as exc:  # unreachable, or no audit log installed there
        print(f"govgraph: {exc}", file=sys.stderr)
        return 1
    finally:
        await store.aclose()


async def _audit_action(store: AuditStore, subject_key: str, action: str, subject: str | None) -> int:
    if action == "verify":
        report = await verify(store)
        for problem in report.problems:
            print(problem)
        print(f"{report.chains} chains, {report.events} events: {'intact' if report.ok else 'BROKEN'}")
        return 0 if report.ok else 1
    if not subject:
        print("govgraph: audit subject needs a resident id or credit code", file=sys.stderr)
        return 2
    rows = await subject_report(store, subject_key.encode(), subject.strip().upper())
    print(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
    return 0


def _samples(data_dir: Path) -> int:
    path = data_dir / "samples.json"
    if not path.exists():
        print(f"govgraph: no samples at {path}; run `make demo` first", file=sys.stderr)
        return 1
    sys.stdout.write(path.read_text(encoding="utf-8"))
    return 0


DEMO_KEY_PREFIX = "demo-only"


def demo_keys(settings: Settings, policy: Policy) -> list[str]:
    """Where the configuration still uses the demo's published keys."""
    found = []
    if settings.auth and (settings.auth.hs256_secret or "").startswith(DEMO_KEY_PREFIX):
        found.append("auth.hs256_secret")
    if settings.audit.mode != "off" and settings.audit.subject_key.startswith(DEMO_KEY_PREFIX):
        found.append("audit.subject_key")
    demo_api_key = hashlib.sha256(f"{DEMO_KEY_PREFIX}-developer-api-key".encode()).hexdigest()
    found += [
        f"policy clients.{c.id}.api_key_sha256"
        for c in policy.clients.values()
        if demo_api_key in c.api_key_sha256
    ]
    return found


def _serving(main: Coroutine[Any, Any, None]) -> None:
    """Run a server on uvloop: uvicorn's `loop` setting applies to `uvicorn.run` only, and
    these servers are started from our own coroutine."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main)


def _check_serve(config: str, allow_demo_keys: bool) -> None:
    """Build the app once in the parent: a bad config or the demo's keys stop start-up here."""
    runtime = create_app(load_settings(config)).state.runtime
    found = demo_keys(runtime.settings, runtime.policy)
    if found and not allow_demo_keys:
        raise ConfigError(
            f"{config}: the demo's published keys are in use ({', '.join(found)}); set your own"
        )


async def _serve(config: str, host: str, port: int, ops: tuple[str, int]) -> None:
    settings = load_settings(config)
    await serve(create_app(settings, serving=True), settings, host, port, ops)


async def _demo(args: argparse.Namespace) -> None:
    from demo.stack import DemoStack  # the only place the gateway touches the demo
    from demo.synth import CityConfig

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
        settings = load_settings(args.config)
        configure_logging(dataclasses.replace(settings.logging, format="text"))  # a person reads it
        if args.seed_only:
            print(json.dumps({"seed_seconds": stack.seed_seconds, "persons": args.persons}))
            return
        app = create_app(settings, serving=True)
        ops = args.ops_listen or parse_address(settings.gateway.ops_listen)
        policy, seconds = app.state.runtime.policy, time.perf_counter() - started
        _announce(stack, settings, policy, args.host, args.port, seconds, ops)
        if args.workers > 1:
            await _demo_workers(args, ops)
            return
        # uvicorn's own log format: the demo's reader knows it from uvicorn's documentation.
        await serve(app, settings, args.host, args.port, ops, log_config=uvicorn.config.LOGGING_CONFIG)
    finally:
        await stack.stop()


async def _demo_workers(args: argparse.Namespace, ops: tuple[str, int]) -> None:
    """Several gateway processes over this process's departments (they inherit the env)."""
    command = [sys.executable, "-m", "gateway", "serve", "--config", args.config, "--host", args.host]
    command += ["--port", str(args.port), "--workers", str(args.workers), "--allow-demo-keys"]
    command += ["--ops-listen", address(*ops)]
    process = await asyncio.create_subprocess_exec(*command)
    try:
        await process.wait()
    finally:
        if process.returncode is None:
            process.terminate()
            await process.wait()


def _quoted(value: str) -> str:
    """`value` in single quotes for a POSIX shell, always (a DSN holds `?` and `&`)."""
    return "'" + value.replace("'", "'\"'\"'") + "'"


def _announce(
    stack: object,
    settings: Settings,
    policy: Policy,
    host: str,
    port: int,
    seconds: float,
    ops: tuple[str, int],
) -> None:
    from demo.stack import DemoStack

    assert isinstance(stack, DemoStack)
    cases = stack.samples.get("cases", {})
    lines = [f"demo city ready in {seconds:.1f}s (data in {stack.data_dir})"]
    lines += [f"  department {name}: {where}" for name, where in stack.describe().items()]
    samples = "govgraph samples"
    if stack.data_dir != Path(DEFAULT_DATA_DIR):  # elsewhere, `samples` must be told where
        samples += f" --data-dir {shlex.quote(str(stack.data_dir))}"
    lines.append(f"  sample ids: {stack.samples_path}  (or: {samples})")
    for case in ("family_child", "migrant_child", "duplicate_application", "d_rated_enterprise", "household"):
        ids = cases.get(case) or []
        if ids:
            lines.append(f"    {case}: {', '.join(map(str, ids[:3]))}")
    lines.append(f"  GraphiQL: http://{host}:{port}/graphql  (paste a client's headers into its Headers tab)")
    where = address(*ops)
    lines.append(f"  operators: http://{where}/metrics and http://{where}/readyz  (not on the public port)")
    if settings.audit.mode != "off":
        dsn = stack.gateway_env()["GOVGRAPH_AUDIT_DSN"]
        lines.append(f"  audit: export GOVGRAPH_AUDIT_DSN={_quoted(dsn)}  (for `govgraph audit`)")
    secret = settings.auth.hs256_secret if settings.auth else None
    if secret and settings.auth:
        lines.append("  demo clients (tokens valid 12 hours; `govgraph token CLIENT` mints more):")
        for client in policy.clients.values():
            purpose = sorted(client.purposes)[0]
            token = mint_token(secret, client, settings.auth.audience, 12 * 3600, [purpose], int(time.time()))
            headers = json.dumps({"Authorization": f"Bearer {token}", "X-Purpose": purpose})
            lines.append(f"    {client.id}: {headers}")
    log.info("\n".join(lines))
