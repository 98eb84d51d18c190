"""The gateway as it was before the resource catalogue, for measuring it beside today's.

`old_tree()` extracts revision `BEFORE` (`git archive`) into a temporary directory, once
per run. Its own `bench.serve_variant gateway` (and its own `build_schema`) then run with
that directory as working directory and first on PYTHONPATH, so that its `gateway`,
`resolvers`, `sources` and `bench` packages are imported instead of this checkout's: the
venv's editable install maps those names to this checkout, but through a finder that
Python consults only after sys.path, and `old_tree()` checks where each would be
imported from before handing the tree out. Without git, or without the revision (a
tarball with no history), there is no tree, and the reason says why.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["AUDIT_SCHEMA", "BEFORE", "OldTree", "Unavailable", "extract", "old_tree", "own_audit", "revision"]

# The last revision whose graph is hand-written Strawberry types in resolvers/: the
# parent of fb3df5e, which builds the graph from catalog/*.toml. A name rather than
# HEAD~N, because later merges move HEAD; the short hash is what the history shows.
BEFORE = "34bd553"
REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("gateway", "resolvers", "sources", "bench")
# The old tree's audit store: a schema of its own in the demo city's audit database.
AUDIT_SCHEMA = "bench_before"


class Unavailable(Exception):
    """The old revision cannot be served here; the message says why."""


@dataclass(frozen=True)
class OldTree:
    path: Path
    commit: str  # the full hash BEFORE resolves to
    subject: str  # its commit message's first line

    def env(self, base: Mapping[str, str]) -> dict[str, str]:
        """`base` with the old tree first on PYTHONPATH."""
        paths = [str(self.path), *filter(None, [base.get("PYTHONPATH")])]
        return {**base, "PYTHONPATH": os.pathsep.join(paths)}

    def describe(self) -> str:
        return f"{self.commit[:7]} ({self.subject[:90]}{'…' if len(self.subject) > 90 else ''})"


async def own_audit(base: Mapping[str, str], checkpoints: Path) -> dict[str, str]:
    """`base` with the old tree's audit store in a schema of its own (`AUDIT_SCHEMA`, first
    on its search path) and its own checkpoint directory, `checkpoints`: the old tree writes
    the log's layout of its time (no monthly partitions), which today's tables refuse."""
    import asyncpg  # only where a bench serves the old tree

    dsn = base["GOVGRAPH_AUDIT_DSN"]
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {AUDIT_SCHEMA}")
    finally:
        await conn.close()
    await asyncio.to_thread(checkpoints.mkdir, parents=True, exist_ok=True)
    # asyncpg passes a DSN's unknown query parameters to the server as settings.
    separator = "&" if "?" in dsn else "?"
    return {
        **base,
        "GOVGRAPH_AUDIT_DSN": f"{dsn}{separator}search_path={AUDIT_SCHEMA}",
        "GOVGRAPH_AUDIT_CHECKPOINTS": str(checkpoints),
    }


def _git(*args: str) -> str:
    git = shutil.which("git")
    if git is None:
        raise Unavailable("git is not installed")
    # Fixed arguments (a revision named here, a path of our own), no shell.
    done = subprocess.run(  # noqa: S603
        [git, "-C", str(REPO), *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        problem = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        raise Unavailable(f"git {args[0]}: {problem}")
    return done.stdout.strip()


def revision() -> str:
    """This checkout's revision (`git describe --always --dirty`), or why it is unknown."""
    try:
        return _git("describe", "--always", "--dirty")
    except Unavailable as exc:
        return f"unknown ({exc})"


def extract(dest: Path, revision: str = BEFORE) -> OldTree:
    """`revision`'s files in `dest` (made if missing); Unavailable if git cannot give them
    or the old packages would not shadow this checkout's."""
    try:
        commit = _git("rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}")
    except Unavailable as exc:
        raise Unavailable(f"revision {revision} is not in {REPO} ({exc})") from None
    subject = _git("log", "-1", "--format=%s", commit)
    dest.mkdir(parents=True, exist_ok=True)
    archive = dest.parent / f"{dest.name}.tar"
    _git("archive", "--format=tar", "-o", str(archive), commit)
    try:
        with tarfile.open(archive) as tar:
            tar.extractall(dest, filter="data")
    except (OSError, tarfile.TarError) as exc:
        raise Unavailable(f"cannot extract {revision}: {exc}") from exc
    finally:
        archive.unlink(missing_ok=True)
    tree = OldTree(dest.resolve(), commit, subject)
    _check_shadowing(tree)
    return tree


def _check_shadowing(tree: OldTree) -> None:
    """Ask a Python started as the served variant is where each package would come from."""
    code = (
        "import importlib.util, json; print(json.dumps({n: importlib.util.find_spec(n).origin"
        f" for n in {PACKAGES!r}}}))"
    )
    # This interpreter, a fixed program; the old tree as working directory.
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code],
        cwd=tree.path,
        env=tree.env(os.environ),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise Unavailable(f"cannot import the old tree's packages: {done.stderr.strip()[-300:]}")
    origins: dict[str, str] = json.loads(done.stdout)
    for name, origin in origins.items():
        if not Path(origin).resolve().is_relative_to(tree.path):
            raise Unavailable(f"`{name}` would be imported from {origin}, not from the old tree")


@contextlib.contextmanager
def old_tree(revision: str = BEFORE) -> Iterator[OldTree | Unavailable]:
    """The extracted tree (removed afterwards), or why there is none."""
    with tempfile.TemporaryDirectory(prefix="govgraph-before-") as tmp:
        try:
            tree: OldTree | Unavailable = extract(Path(tmp) / "tree", revision)
        except Unavailable as exc:
            tree = exc
        yield tree


if __name__ == "__main__":
    with old_tree() as found:
        print(found if isinstance(found, Unavailable) else f"{found.describe()} in {found.path}")
