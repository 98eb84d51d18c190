"""Months of the audit log: the partitions of audit_event and audit_subject, by UTC month.

A month's partition is named after it (`audit_event_p2026_12`) and holds events whose
time falls in [first instant of the month, first instant of the next) in UTC. The writer
keeps the current month and the next ones created ahead, so no commit waits for DDL at
midnight on the first of a month.
"""

from __future__ import annotations

import datetime as dt
import re

__all__ = [
    "PARTITIONED",
    "Month",
    "month_of",
    "months_between",
    "parse_month",
    "partition_ddl",
    "partition_name",
]

PARTITIONED = ("audit_event", "audit_subject")
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_PARTITION = re.compile(r"^audit_(?:event|subject)_p(\d{4})_(\d{2})$")

Month = dt.date  # the first day of a month


def month_of(instant: dt.datetime) -> Month:
    utc = instant.astimezone(dt.UTC)
    return dt.date(utc.year, utc.month, 1)


def next_month(month: Month, by: int = 1) -> Month:
    index = month.year * 12 + month.month - 1 + by
    return dt.date(index // 12, index % 12 + 1, 1)


def months_between(first: Month, last: Month) -> list[Month]:
    """first, ..., last (both included)."""
    months = []
    month = first
    while month <= last:
        months.append(month)
        month = next_month(month)
    return months


def parse_month(text: str) -> Month:
    """YYYY-MM, as `audit archive --before` takes it; ValueError otherwise."""
    found = _MONTH.match(text.strip())
    if found is None:
        raise ValueError(f"{text!r} is not a month written YYYY-MM")
    return dt.date(int(found.group(1)), int(found.group(2)), 1)


def month_from_partition(name: str) -> Month | None:
    found = _PARTITION.match(name)
    return None if found is None else dt.date(int(found.group(1)), int(found.group(2)), 1)


def partition_name(table: str, month: Month) -> str:
    return f"{table}_p{month.year:04d}_{month.month:02d}"


def start_of(month: Month) -> dt.datetime:
    return dt.datetime(month.year, month.month, 1, tzinfo=dt.UTC)


def partition_ddl(month: Month) -> str:
    """Both tables' partitions of one month, unless they exist. Each is created on its own and
    then attached, which locks the parent only against other schema changes (commits and
    readers go on; CREATE TABLE ... PARTITION OF would wait for every reader and hold every
    commit behind it). Row triggers are cloned from the parent on attach; a TRUNCATE of the
    partition itself fires only the partition's own trigger."""
    lower, upper = start_of(month).isoformat(), start_of(next_month(month)).isoformat()
    statements = []
    for table in PARTITIONED:
        name = partition_name(table, month)
        statements.append(
            "DO $$ BEGIN\n"
            f"IF to_regclass('{name}') IS NULL THEN\n"
            f"  CREATE TABLE {name} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS);\n"
            f"  ALTER TABLE {table} ATTACH PARTITION {name} FOR VALUES FROM ('{lower}') TO ('{upper}');\n"
            f"  CREATE TRIGGER {name}_no_truncate BEFORE TRUNCATE ON {name}\n"
            "    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();\n"
            "END IF;\n"
            "END $$;"
        )
    return "\n".join(statements)
