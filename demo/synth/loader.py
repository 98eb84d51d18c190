"""Loading a city into its department databases with binary COPY."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import asyncpg

from .config import COLUMNS, DEPARTMENTS, CityConfig
from .generator import Synth

__all__ = ["seed"]


async def seed(dsns: Mapping[str, str], cfg: CityConfig) -> dict[str, object]:
    """Load a whole city into empty department databases and return its samples document.

    Chunks are generated in a worker thread while earlier chunks are copied, one
    connection per department, so Python and PostgreSQL work at the same time.
    """
    synth = Synth(cfg)
    chunks = synth.chunks()
    conns: dict[str, asyncpg.Connection] = {}
    pending: dict[str, asyncio.Task[str]] = {}
    try:
        for department in DEPARTMENTS:
            conns[department] = await asyncpg.connect(dsns[department])
        while (chunk := await asyncio.to_thread(next, chunks, None)) is not None:
            department, table, rows = chunk
            if department in pending:
                await pending[department]  # keeps each department's chunks in order
            pending[department] = asyncio.create_task(
                conns[department].copy_records_to_table(
                    table, records=rows, columns=list(COLUMNS[department][table])
                )
            )
        await asyncio.gather(*pending.values())
        await asyncio.gather(*(conn.execute("ANALYZE") for conn in conns.values()))
    finally:
        for task in pending.values():
            task.cancel()
        await asyncio.gather(*pending.values(), return_exceptions=True)
        await asyncio.gather(*(conn.close() for conn in conns.values()))
    return synth.samples()
