"""What building the graph costs at start-up, from the resource catalogue and before it.

(a) The gateway's schema from catalog/*.toml, in the pieces `graph_of()` caches, called
    uncached each run: `load_catalog` (read and check the files), `build_graph` (the
    Strawberry types, with resolvers.graph's named types, values and derivations) and
    `build_schema(graph=...)` (the whole gateway schema, field policy attached).
(b) Each demo client's own schema, for policy.toml's grants, as introspection builds it
    (gateway/execution/visible.py, once per grant set, then kept; bench/visible_schema.py
    measures answering introspection from it).
(c) `build_schema()` at the revision before the catalogue (bench/before.py), in a process
    started in that revision's tree. Its types are defined when resolvers/ is imported,
    not in `build_schema()`, so
(d) compares fresh processes of both trees: importing gateway.execution.schema, then the
    first `build_schema()` (for today's tree, that is when the catalogue is read).

(a) to (c): median, min and max of `--runs` (default 20), and the first run of the
process; (d): of `--starts` fresh processes per tree (default 5), after one unmeasured
start that compiles the tree's bytecode.

    .venv/bin/python -m bench.schema_build [--runs 20] [--starts 5] [--json]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .before import OldTree, Unavailable, old_tree

__all__ = ["SchemaBuild", "Timing", "lines", "measure"]

REPO = Path(__file__).resolve().parents[1]
POLICY = REPO / "policy.toml"

# Run in a process of either tree (its working directory): (c) and (d).
_BUILDS = """
import json, sys, time
from gateway.execution.schema import build_schema
seconds = []
for _ in range(int(sys.argv[1])):
    started = time.perf_counter()
    build_schema()
    seconds.append(time.perf_counter() - started)
print(json.dumps(seconds))
"""
_START = """
import json, time
started = time.perf_counter()
from gateway.execution.schema import build_schema
imported = time.perf_counter()
build_schema()
print(json.dumps([imported - started, time.perf_counter() - imported]))
"""


@dataclass
class Timing:
    label: str
    seconds: list[float]  # every run, in order
    note: str = ""

    def row(self) -> str:
        s = self.seconds
        if not s:
            return f"| {self.label} | – | – | – | – | {self.note} |"
        figures = (statistics.median(s), min(s), max(s), s[0])
        return f"| {self.label} | " + " | ".join(f"{x * 1000:.1f}" for x in figures) + f" | {self.note} |"

    @property
    def median(self) -> float | None:
        return statistics.median(self.seconds) if self.seconds else None


@dataclass
class SchemaBuild:
    runs: int
    starts: int
    catalogue: list[Timing] = field(default_factory=list)  # (a)
    clients: list[Timing] = field(default_factory=list)  # (b)
    before: list[Timing] = field(default_factory=list)  # (c)
    start_up: list[Timing] = field(default_factory=list)  # (d), both trees
    before_tree: str = ""  # the old revision, or why it was not measured

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> SchemaBuild:
        raw: dict[str, Any] = json.loads(text)

        def timings(key: str) -> list[Timing]:
            return [Timing(**t) for t in raw[key]]

        return cls(
            int(raw["runs"]),
            int(raw["starts"]),
            timings("catalogue"),
            timings("clients"),
            timings("before"),
            timings("start_up"),
            str(raw["before_tree"]),
        )


def _timed(runs: int, work: Callable[[], object]) -> list[float]:
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        seconds.append(time.perf_counter() - started)
    return seconds


def measure_catalogue(runs: int) -> list[Timing]:
    """(a), each piece timed in every run, a run building on its own pieces."""
    from gateway.catalog.build import build_graph
    from gateway.catalog.graph import DEFAULT_CATALOG
    from gateway.catalog.load import load_catalog
    from gateway.execution.schema import build_schema
    from resolvers.graph import DERIVATIONS, MASKS, NAMED, VALUES

    pieces: dict[str, list[float]] = {"load": [], "types": [], "schema": [], "total": []}
    for _ in range(runs):
        t0 = time.perf_counter()
        catalog = load_catalog(DEFAULT_CATALOG, named=NAMED, masks=MASKS)
        t1 = time.perf_counter()
        graph = build_graph(catalog, NAMED, VALUES, DERIVATIONS)
        t2 = time.perf_counter()
        build_schema(graph=graph)
        t3 = time.perf_counter()
        for key, seconds in zip(pieces, (t1 - t0, t2 - t1, t3 - t2, t3 - t0), strict=True):
            pieces[key].append(seconds)
    files = len(list(DEFAULT_CATALOG.glob("*.toml")))
    types = len(graph.types)
    return [
        Timing("load_catalog: read and check", pieces["load"], f"{files} files"),
        Timing("build_graph: the Strawberry types", pieces["types"], f"{types} types"),
        Timing("build_schema(graph=...): the gateway schema", pieces["schema"], "field policy attached"),
        Timing("**catalogue to schema**", pieces["total"], "what `graph_of()` and start-up pay once"),
    ]


def measure_clients(runs: int) -> list[Timing]:
    """(b): each (client, purpose) of policy.toml; a purpose that may introspect sees the
    whole schema, built by nobody."""
    from gateway.compat import graphql_schema
    from gateway.execution.schema import build_schema
    from gateway.execution.visible import VisibleSchemas, visible_schema
    from gateway.policy.model import load_policy

    schema = build_schema()
    schemas = VisibleSchemas(graphql_schema(schema))
    policy = load_policy(POLICY, schema.scopes)
    timings = []
    for (client, purpose), grants in policy.grants.items():
        label = f"{client} ({purpose})"
        if policy.purposes[purpose].introspection:
            timings.append(Timing(label, [], "the whole schema: nothing built"))
            continue
        shown = schemas.for_grants(grants)
        types = sum(1 for name in shown.type_map if not name.startswith("__"))
        seconds = _timed(runs, functools.partial(visible_schema, schemas.core, schemas.declarations, grants))
        timings.append(Timing(label, seconds, f"{types} types shown"))
    return timings


def _python(code: str, cwd: Path, env: Mapping[str, str], *args: str) -> Any:
    """What `code` prints (JSON), run by this interpreter in `cwd`."""
    # This interpreter and a fixed program of this module.
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code, *args],
        cwd=cwd,
        env=dict(env),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"python in {cwd} failed: {done.stderr.strip()[-500:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure_start(label: str, cwd: Path, env: Mapping[str, str], starts: int) -> list[Timing]:
    """(d) for one tree: `starts` fresh processes, after one that compiles the bytecode."""
    _python(_START, cwd, env)
    imports, builds, totals = [], [], []
    for _ in range(starts):
        imported, built = _python(_START, cwd, env)
        imports.append(imported)
        builds.append(built)
        totals.append(imported + built)
    return [
        Timing(f"{label}: import gateway.execution.schema", imports),
        Timing(f"{label}: first build_schema()", builds),
        Timing(f"**{label}: import + first schema**", totals),
    ]


def measure(runs: int = 20, starts: int = 5, log: Callable[[str], None] | None = None) -> SchemaBuild:
    say = log or (lambda m: print(f"[bench {time.strftime('%H:%M:%S')}] {m}", file=sys.stderr, flush=True))
    build = SchemaBuild(runs, starts)
    say(f"schema build: (a) catalogue to schema, {runs} runs")
    build.catalogue = measure_catalogue(runs)
    say(f"schema build: (b) each client's own schema, {runs} runs")
    build.clients = measure_clients(runs)
    with old_tree() as tree:
        if isinstance(tree, Unavailable):
            build.before_tree = f"not measured: {tree}"
            say(f"schema build: (c) skipped, the revision before the catalogue is unavailable: {tree}")
        else:
            build.before_tree = tree.describe()
            say(f"schema build: (c) build_schema() at {build.before_tree}, {runs} runs")
            build.before = [_before_builds(tree, runs)]
        if starts:
            say(f"schema build: (d) {starts} fresh processes per tree")
            build.start_up = measure_start("today", REPO, os.environ, starts)
            if isinstance(tree, OldTree):
                build.start_up += measure_start("before", tree.path, tree.env(os.environ), starts)
    return build


def _before_builds(tree: OldTree, runs: int) -> Timing:
    seconds: list[float] = _python(_BUILDS, tree.path, tree.env(os.environ), str(runs))
    return Timing(
        "build_schema() at the revision before", seconds, "types defined when resolvers/ is imported"
    )


def lines(build: SchemaBuild) -> list[str]:
    """Markdown: one table, (a) to (d), and what the catalogue costs."""
    header = [
        "| | median ms | min ms | max ms | first ms | |",
        "|---|---:|---:|---:|---:|---|",
    ]
    out = [
        f"(a) to (c): {build.runs} runs each in one process (first: the process's first run);"
        f" (d): {build.starts} fresh processes per tree. Before the catalogue: {build.before_tree}.",
        "",
        *header,
        "| **(a) from the catalogue** | | | | | |",
        *(t.row() for t in build.catalogue),
        "| **(b) each client's own schema** (built once per grant set) | | | | | |",
        *(t.row() for t in build.clients),
    ]
    if build.before:
        out += ["| **(c) before the catalogue** | | | | | |", *(t.row() for t in build.before)]
    if build.start_up:
        out += ["| **(d) a fresh process** (first: the first measured) | | | | | |"]
        out += [t.row() for t in build.start_up]
    out.append("")
    today = build.catalogue[-1].median if build.catalogue else None
    before = build.before[0].median if build.before else None
    if today is not None and before is not None:
        out += [
            f"Building the schema from the catalogue takes {today * 1000:.0f} ms (median), where"
            f" `build_schema()` took {before * 1000:.0f} ms before it; the types it builds were then"
            " made by importing resolvers/.",
        ]
        starts = {t.label: t.median for t in build.start_up}
        new, old = (
            starts.get("**today: import + first schema**"),
            starts.get("**before: import + first schema**"),
        )
        if new is not None and old is not None:
            out[-1] += (
                f" From a fresh process to a schema: {new * 1000:.0f} ms today, {old * 1000:.0f} ms"
                f" before ({(new - old) * 1000:+.0f} ms): what the catalogue (and everything else"
                " merged since) costs once per process at start-up."
            )
        out.append("")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=20, help="runs of (a) to (c)")
    parser.add_argument("--starts", type=int, default=5, help="fresh processes per tree for (d); 0 skips")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON (for bench.run)")
    args = parser.parse_args()
    build = measure(args.runs, args.starts)
    print(build.to_json() if args.json else "\n".join(lines(build)))


if __name__ == "__main__":
    main()
