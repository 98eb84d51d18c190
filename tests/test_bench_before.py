"""The benchmark's `before` variant and schema build figures: the old tree shadows this
checkout's packages, a missing revision is a reason rather than a failure, and the
report shows `before` beside `gateway` and the build times (no departments, no timing)."""

from __future__ import annotations

import os
from pathlib import Path

import asyncpg
import pytest

from bench.before import AUDIT_SCHEMA, BEFORE, Unavailable, extract, old_tree, own_audit
from bench.drive import Run
from bench.report import Case, Results, write
from bench.schema_build import SchemaBuild, Timing


def test_the_old_tree_is_the_revision_before_the_catalogue(tmp_path: Path) -> None:
    try:
        tree = extract(tmp_path / "tree")
    except Unavailable as exc:  # a checkout without history
        pytest.skip(str(exc))
    assert tree.commit.startswith(BEFORE)
    assert (tree.path / "resolvers" / "graph.py").exists()
    assert not (tree.path / "catalog").exists()
    assert tree.env({"PYTHONPATH": "elsewhere"})["PYTHONPATH"] == os.pathsep.join(
        [str(tree.path), "elsewhere"]
    )


def test_a_missing_revision_is_a_reason() -> None:
    with old_tree("0000000") as tree:
        assert isinstance(tree, Unavailable)
        assert "0000000" in str(tree)


def _run(rps: float) -> Run:
    return Run(requests=int(rps * 3), elapsed=3.0, latencies=[0.01] * int(rps * 3))


def test_the_report_puts_before_beside_gateway(tmp_path: Path) -> None:
    results = Results(
        "bench.run", "now", 5.0, 20_000, 20_000, 3.0, 0.3, [1], revision="abc1234", before="34bd553 (x)"
    )
    results.cases += [
        Case("gateway", "talent_check", 1, _run(110.0)),
        Case("before", "talent_check", 1, _run(100.0)),
    ]
    results.schema_build = SchemaBuild.from_json(
        SchemaBuild(
            20,
            3,
            catalogue=[Timing("**catalogue to schema**", [0.2, 0.19, 0.21])],
            before=[Timing("build_schema() at the revision before", [0.02])],
            before_tree="34bd553 (x)",
        ).to_json()
    )
    out = tmp_path / "results.md"
    write(results, out)
    text = out.read_text(encoding="utf-8")
    assert "## Before and after the catalogue" in text
    assert "| talent_check | 1 | 100.0 | 110.0 | 1.10 |" in text
    assert "| **catalogue to schema** | 200.0 | 190.0 | 210.0 | 200.0 |" in text
    assert "takes 200 ms (median), where `build_schema()` took 20 ms before it" in text


def test_a_skipped_before_says_why(tmp_path: Path) -> None:
    results = Results("bench.run", "now", 5.0, 20_000, 20_000, 3.0, 0.3, [1], before="not measured: no git")
    out = tmp_path / "results.md"
    write(results, out)
    assert "`before`: not measured: no git." in out.read_text(encoding="utf-8")


async def test_the_old_tree_keeps_its_audit_store_apart(scratch_db: str, tmp_path: Path) -> None:
    # Its revision writes the log's layout of its time, which today's tables would refuse.
    env = await own_audit({"GOVGRAPH_AUDIT_DSN": scratch_db, "OTHER": "kept"}, tmp_path / "checkpoints")
    assert env["OTHER"] == "kept"
    assert env["GOVGRAPH_AUDIT_CHECKPOINTS"] == str(tmp_path / "checkpoints")
    assert (tmp_path / "checkpoints").is_dir()
    conn = await asyncpg.connect(env["GOVGRAPH_AUDIT_DSN"])
    try:
        assert await conn.fetchval("SHOW search_path") == AUDIT_SCHEMA
        await conn.execute("CREATE TABLE audit_event (x int)")  # unqualified: the old tree's DDL
        assert await conn.fetchval("SELECT to_regclass($1)::text", f"{AUDIT_SCHEMA}.audit_event")
        assert await conn.fetchval("SELECT to_regclass('public.audit_event')") is None
    finally:
        await conn.close()
    again = await own_audit(env | {"GOVGRAPH_AUDIT_DSN": scratch_db}, tmp_path / "checkpoints")
    assert again["GOVGRAPH_AUDIT_DSN"] == env["GOVGRAPH_AUDIT_DSN"]  # a second run reuses it
