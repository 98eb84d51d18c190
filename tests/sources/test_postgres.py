"""The postgres adapter against a real PostgreSQL server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
import pytest_asyncio

from sources.base import EntitySpec, SourceSpec
from sources.errors import SourceConfigError, SourceTimeout, SourceUnavailable
from sources.postgres import PostgresSource, keep_session

DDL = """
CREATE TABLE thing (code text PRIMARY KEY, label text, made_on date, price numeric(8,2), secret text);
CREATE TABLE part (thing_code text, seq int, name text);
CREATE VIEW slow_thing AS SELECT t.* FROM thing t, (SELECT pg_sleep(0.5)) s;
INSERT INTO thing VALUES ('a', 'Alpha', '2024-02-29', 12.50, 's1'), ('b', 'Beta', NULL, NULL, 's2'),
                         ('c', '丙', '2020-01-01', 0, 's3');
INSERT INTO part VALUES ('a', 2, 'a2'), ('a', 1, 'a1'), ('c', 1, 'c1');
"""


def spec(dsn: str, **entities: dict[str, Any]) -> SourceSpec:
    made = {
        name: EntitySpec(name, key=opts.pop("key"), many=opts.pop("many", False), options=opts)
        for name, opts in entities.items()
    }
    return SourceSpec("dept", "postgres", made, {"dsn": dsn, "pool_size": 2}, timeout=0.3)


@pytest_asyncio.fixture
async def dsn(scratch_db: str) -> AsyncIterator[str]:
    conn = await asyncpg.connect(scratch_db)
    await conn.execute(DDL)
    await conn.close()
    yield scratch_db


async def test_rows_come_back_in_key_order_with_duplicates_and_misses(dsn: str) -> None:
    source = PostgresSource(spec(dsn, thing={"key": "code", "table": "thing"}))
    try:
        result = await source.fetch_many("thing", ["c", "zz", "a", "c"])
    finally:
        await source.aclose()
    assert [r and r["code"] for r in result] == ["c", None, "a", "c"]
    a = result[2]
    assert isinstance(a, dict)
    assert a == {"code": "a", "label": "Alpha", "made_on": "2024-02-29", "price": 12.5, "secret": "s1"}


async def test_many_groups_rows_per_key_in_configured_order(dsn: str) -> None:
    source = PostgresSource(
        spec(dsn, parts={"key": "thing_code", "table": "part", "many": True, "order_by": ["seq"]})
    )
    try:
        result = await source.fetch_many("parts", ["a", "b", "c"])
    finally:
        await source.aclose()
    assert result == [
        [{"thing_code": "a", "seq": 1, "name": "a1"}, {"thing_code": "a", "seq": 2, "name": "a2"}],
        [],
        [{"thing_code": "c", "seq": 1, "name": "c1"}],
    ]


async def test_columns_limit_what_leaves_the_department(dsn: str) -> None:
    source = PostgresSource(spec(dsn, thing={"key": "code", "table": "thing", "columns": ["code", "label"]}))
    try:
        (row,) = await source.fetch_many("thing", ["b"])
    finally:
        await source.aclose()
    assert row == {"code": "b", "label": "Beta"}


async def test_large_batches_keep_their_shape(dsn: str) -> None:
    source = PostgresSource(spec(dsn, thing={"key": "code", "table": "thing"}))
    keys = [("a", "b", "c", "nope")[i % 4] for i in range(2000)]
    try:
        result = await source.fetch_many("thing", keys)
    finally:
        await source.aclose()
    assert [None if r is None else r["code"] for r in result] == [None if k == "nope" else k for k in keys]


async def test_slow_query_is_a_timeout(dsn: str) -> None:
    source = PostgresSource(spec(dsn, thing={"key": "code", "table": "slow_thing"}))
    try:
        with pytest.raises(SourceTimeout) as caught:
            await source.fetch_many("thing", ["a"])
    finally:
        await source.aclose()
    assert caught.value.source == "dept"
    assert caught.value.code == "SOURCE_TIMEOUT"


async def test_unreachable_server_is_unavailable_and_names_no_driver() -> None:
    source = PostgresSource(spec("postgresql://nobody@127.0.0.1:1/none", thing={"key": "code", "table": "t"}))
    with pytest.raises(SourceUnavailable) as caught:
        await source.fetch_many("thing", ["a"])
    await source.aclose()
    assert caught.value.entity == "thing"
    assert caught.value.__cause__ is not None  # the driver error is kept for the log


async def test_missing_table_is_unavailable(dsn: str) -> None:
    source = PostgresSource(spec(dsn, thing={"key": "code", "table": "no_such_table"}))
    try:
        with pytest.raises(SourceUnavailable):
            await source.fetch_many("thing", ["a"])
    finally:
        await source.aclose()


async def test_terminated_connections_fail_then_recover(dsn: str) -> None:
    source = PostgresSource(spec(dsn, thing={"key": "code", "table": "thing"}))
    try:
        assert (await source.fetch_many("thing", ["a"]))[0] is not None
        conn = await asyncpg.connect(dsn)
        terminated = await conn.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE application_name = 'govgraph' AND datname = current_database()"
        )
        await conn.close()
        assert terminated, "the source had no connection to cut"
        outcomes = []
        for _ in range(3):
            try:
                outcomes.append((await source.fetch_many("thing", ["a"]))[0] is not None)
            except SourceUnavailable:
                outcomes.append(False)
        assert outcomes[-1] is True  # the pool replaces dead connections
    finally:
        await source.aclose()


@pytest.mark.parametrize(
    ("entity", "where"),
    [
        ({"key": "code"}, "sources.dept.entities.thing.table"),
        ({"key": "code", "table": "thing; DROP TABLE x"}, "sources.dept.entities.thing.table"),
        ({"key": "code", "table": "thing", "colour": "red"}, "sources.dept.entities.thing.colour"),
        ({"key": "code", "table": "thing", "columns": ["label"]}, "sources.dept.entities.thing.columns"),
    ],
)
def test_bad_entity_config_names_the_key(entity: dict[str, Any], where: str) -> None:
    with pytest.raises(SourceConfigError) as caught:
        PostgresSource(spec("postgresql://x@/y", thing=dict(entity)))
    assert caught.value.where == where


def test_missing_dsn_names_the_source() -> None:
    bad = SourceSpec("tax", "postgres", {"t": EntitySpec("t", "k", options={"table": "t"})}, {})
    with pytest.raises(SourceConfigError, match=r"sources\.tax\.dsn: is required"):
        PostgresSource(bad)


async def test_keep_session_skips_the_reset_query_but_still_rolls_back(scratch_db: str) -> None:
    pool = await asyncpg.create_pool(scratch_db, min_size=1, max_size=1, reset=keep_session)
    try:
        async with pool.acquire() as conn:
            backend = await conn.fetchval("SELECT pg_backend_pid()")
            await conn.execute("SET application_name = 'kept'")  # what a reset query would undo
            await conn.execute("BEGIN")  # left open: asyncpg rolls it back on release
            await conn.execute("CREATE TABLE never_committed (x int)")
        async with pool.acquire() as conn:
            assert await conn.fetchval("SELECT pg_backend_pid()") == backend  # the same session
            assert await conn.fetchval("SHOW application_name") == "kept"  # no RESET ALL ran
            assert not conn.is_in_transaction()
            assert await conn.fetchval("SELECT to_regclass('never_committed')") is None
    finally:
        await pool.close()
