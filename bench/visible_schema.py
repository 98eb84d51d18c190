"""What a client's own graph costs: building it for a grant set (once, then kept), and
answering the standard introspection query from it.

In process, no departments needed: the gateway's schema and the shipped policy.toml.
Each figure is the median of `--runs` (default 20) for each (client, purpose) grant.

    .venv/bin/python -m bench.visible_schema [--runs 20]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from graphql import execute_sync, get_introspection_query, parse

from gateway.compat import graphql_schema
from gateway.execution.schema import build_schema
from gateway.execution.visible import VisibleSchemas, visible_schema
from gateway.policy.model import load_policy

POLICY = Path(__file__).parents[1] / "policy.toml"


def median_ms(runs: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def measure(runs: int, schemas: VisibleSchemas, grants: Mapping[str, str], whole: bool) -> tuple[str, ...]:
    """Types shown, build, cached look-up and introspection query, for one grant."""
    introspection = parse(get_introspection_query(descriptions=True))
    shown = schemas.for_grants(grants, whole)
    build = median_ms(runs, lambda: visible_schema(schemas.core, schemas.declarations, grants))
    cached = median_ms(runs, lambda: schemas.for_grants(grants, whole))
    answer = median_ms(runs, lambda: execute_sync(shown, introspection))
    return (
        str(sum(1 for name in shown.type_map if not name.startswith("__"))),
        "— (the whole schema)" if whole else f"{build:.3f}",
        f"{cached * 1000:.1f} µs",
        f"{answer:.2f}",
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    schema = build_schema()
    schemas = VisibleSchemas(graphql_schema(schema))
    policy = load_policy(POLICY, schema.scopes)
    print(f"median of {args.runs} runs, ms\n")
    print("| client (purpose) | types shown | build | cached look-up | introspection query |")
    print("|---|---|---|---|---|")
    for (client, purpose), grants in policy.grants.items():
        figures = measure(args.runs, schemas, grants, policy.purposes[purpose].introspection)
        print(f"| {client} ({purpose}) | {' | '.join(figures)} |")


if __name__ == "__main__":
    main()
