"""The `govgraph` command: demo, serve, export-schema, samples."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import time
from pathlib import Path

import uvicorn

from sources.errors import SourceConfigError

from .app import create_app
from .schema import build_schema
from .settings import ConfigError, load_settings

__all__ = ["main"]

log = logging.getLogger("govgraph")

DEFAULT_DATA_DIR = ".govgraph"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="govgraph", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="run the gateway over the synthetic demo city")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--config", default="govgraph.toml")
    demo.add_argument("--data-dir", default=os.environ.get("GOVGRAPH_DATA_DIR", DEFAULT_DATA_DIR))
    demo.add_argument("--persons", type=int, default=20_000, help="size of the city (default 20000)")
    demo.add_argument("--seed", type=int, default=20261126)
    demo.add_argument("--latency-ms", type=float, default=0.0, help="delay added by each REST department")
    demo.add_argument("--seed-only", action="store_true", help="build the city, print timings, and exit")

    serve = sub.add_parser("serve", help="run the gateway against the departments in a config file")
    serve.add_argument("--config", default="govgraph.toml")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)

    sub.add_parser("export-schema", help="print the GraphQL SDL (schema.graphql is this output)")

    samples = sub.add_parser("samples", help="print the demo city's sample ids as JSON")
    samples.add_argument("--data-dir", default=os.environ.get("GOVGRAPH_DATA_DIR", DEFAULT_DATA_DIR))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        if args.command == "export-schema":
            sys.stdout.write(build_schema().as_str() + "\n")
        elif args.command == "samples":
            return _samples(Path(args.data_dir))
        elif args.command == "serve":
            asyncio.run(_serve(args.config, args.host, args.port))
        elif args.command == "demo":
            asyncio.run(_demo(args))
    except (ConfigError, SourceConfigError) as exc:
        print(f"govgraph: configuration error: {exc}", file=sys.stderr)
        return 2
    return 0


def _samples(data_dir: Path) -> int:
    path = data_dir / "samples.json"
    if not path.exists():
        print(f"govgraph: no samples at {path}; run `make demo` first", file=sys.stderr)
        return 1
    sys.stdout.write(path.read_text(encoding="utf-8"))
    return 0


async def _serve(config: str, host: str, port: int) -> None:
    app = create_app(load_settings(config))
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="info"))
    await server.serve()


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
        if args.seed_only:
            print(json.dumps({"seed_seconds": stack.seed_seconds, "persons": args.persons}))
            return
        app = create_app(settings)
        _announce(stack, args.host, args.port, time.perf_counter() - started)
        server = uvicorn.Server(uvicorn.Config(app, host=args.host, port=args.port, log_level="info"))
        await server.serve()
    finally:
        await stack.stop()


def _announce(stack: object, host: str, port: int, seconds: float) -> None:
    from demo.stack import DemoStack

    assert isinstance(stack, DemoStack)
    cases = stack.samples.get("cases", {})
    lines = [f"demo city ready in {seconds:.1f}s (data in {stack.data_dir})"]
    lines += [f"  department {name}: {where}" for name, where in stack.describe().items()]
    lines.append(f"  sample ids: {stack.samples_path}  (or: govgraph samples)")
    for case in ("family_child", "migrant_child", "duplicate_application", "d_rated_enterprise", "household"):
        ids = cases.get(case) or []
        if ids:
            lines.append(f"    {case}: {', '.join(map(str, ids[:3]))}")
    lines.append(f"  GraphiQL: http://{host}:{port}/graphql")
    log.info("\n".join(lines))
