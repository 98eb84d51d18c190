"""The workflow's SQL over the policy store's tables: applications, grants and roles read
and written on a connection the caller holds (inside `PolicyStore.change` to write)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import asyncpg

from gateway.applications.model import Application, ApplicationInput, GrantView, Roles

__all__ = [
    "application_of",
    "applications",
    "grant_of",
    "grants",
    "insert_application",
    "insert_grant",
    "roles_of",
]

_APPLICATION_COLUMNS = """
a.id, a.client, a.purpose, a.department, a.items, a.full_scopes, a.masked_scopes, a.pins, a.scenario,
a.legal_basis, a.period_days, a.sharing, a.applicant, a.submitted_at, a.due_at, a.state, a.decided_by,
a.decided_at, a.reason,
(SELECT g.id FROM "grant" g WHERE g.application = a.id ORDER BY g.id LIMIT 1) AS grant_id
"""

_GRANT_COLUMNS = """
g.id, g.client, g.purpose, g.full_scopes, g.masked_scopes, g.pins, g.basis, g.application, a.department,
g.origin, g.valid_from, g.expires_at, g.revoked_at, g.revoked_by, g.revoke_reason
"""


def _application(r: asyncpg.Record) -> Application:
    items = r["items"]
    return Application(
        id=r["id"],
        client=r["client"],
        purpose=r["purpose"],
        department=r["department"],
        items=tuple(items.get("full", ())),
        masked_items=tuple(items.get("masked", ())),
        full=tuple(r["full_scopes"]),
        masked=tuple(r["masked_scopes"]),
        pins=r["pins"],
        scenario=r["scenario"],
        legal_basis=r["legal_basis"],
        period_days=r["period_days"],
        sharing=r["sharing"],
        applicant=r["applicant"],
        submitted_at=r["submitted_at"],
        due_at=r["due_at"],
        state=r["state"],
        decided_by=r["decided_by"],
        decided_at=r["decided_at"],
        reason=r["reason"],
        grant=r["grant_id"],
    )


def _grant(r: asyncpg.Record) -> GrantView:
    return GrantView(
        id=r["id"],
        client=r["client"],
        purpose=r["purpose"],
        full=tuple(r["full_scopes"]),
        masked=tuple(r["masked_scopes"]),
        pins=r["pins"],
        basis=r["basis"],
        application=r["application"],
        department=r["department"],
        origin=r["origin"],
        valid_from=r["valid_from"],
        expires_at=r["expires_at"],
        revoked_at=r["revoked_at"],
        revoked_by=r["revoked_by"],
        revoke_reason=r["revoke_reason"],
    )


async def insert_application(
    conn: asyncpg.Connection,
    given: ApplicationInput,
    *,
    department: str,
    full: Sequence[str],
    masked: Sequence[str],
    conditional: bool,
    applicant: str,
    now: dt.datetime,
    due_at: dt.datetime | None,
) -> str:
    number = await conn.fetchval("SELECT nextval('application_number')")
    ident = f"GX-{now.year}-{number:06d}"
    await conn.execute(
        "INSERT INTO application (id, client, purpose, department, items, full_scopes, masked_scopes, pins, "
        "scenario, legal_basis, period_days, sharing, applicant, submitted_at, due_at, state) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 'pending')",
        ident,
        given.client,
        given.purpose,
        department,
        {"full": list(given.items), "masked": list(given.masked_items)},
        list(full),
        list(masked),
        {k: dict(v) for k, v in given.pins.items()},
        given.scenario,
        given.legal_basis,
        given.period_days,
        "conditional" if conditional else "unconditional",
        applicant,
        now,
        due_at,
    )
    return ident


async def insert_grant(
    conn: asyncpg.Connection, application: Application, actor: str, now: dt.datetime
) -> int:
    return int(
        await conn.fetchval(
            'INSERT INTO "grant" (client, purpose, full_scopes, masked_scopes, pins, basis, application, '
            "valid_from, expires_at, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
            "RETURNING id",
            application.client,
            application.purpose,
            list(application.full),
            list(application.masked),
            dict(application.pins),
            application.legal_basis,
            application.id,
            now,
            now + dt.timedelta(days=application.period_days),
            actor,
        )
    )


async def application_of(conn: asyncpg.Connection, ident: str, *, lock: bool = False) -> Application | None:
    lock_clause = " FOR UPDATE OF a" if lock else ""
    record = await conn.fetchrow(
        f"SELECT {_APPLICATION_COLUMNS} FROM application a WHERE a.id = $1{lock_clause}",  # noqa: S608 - constants
        ident,
    )
    return None if record is None else _application(record)


async def applications(
    conn: asyncpg.Connection, where: str = "true", *args: Any, limit: int = 500
) -> list[Application]:
    """`where` is SQL over `a` written by this package, never by a caller's text."""
    records = await conn.fetch(
        f"SELECT {_APPLICATION_COLUMNS} FROM application a WHERE {where} "  # noqa: S608 - see above
        f"ORDER BY a.submitted_at DESC LIMIT {int(limit)}",
        *args,
    )
    return [_application(r) for r in records]


async def grant_of(conn: asyncpg.Connection, ident: int, *, lock: bool = False) -> GrantView | None:
    lock_clause = " FOR UPDATE OF g" if lock else ""
    record = await conn.fetchrow(
        f'SELECT {_GRANT_COLUMNS} FROM "grant" g LEFT JOIN application a ON a.id = g.application '  # noqa: S608
        f"WHERE g.id = $1{lock_clause}",
        ident,
    )
    return None if record is None else _grant(record)


async def grants(conn: asyncpg.Connection, where: str = "true", *args: Any) -> list[GrantView]:
    """`where` is SQL over `g` and `a` written by this package, never by a caller's text."""
    records = await conn.fetch(
        f'SELECT {_GRANT_COLUMNS} FROM "grant" g LEFT JOIN application a ON a.id = g.application '  # noqa: S608
        f"WHERE {where} ORDER BY g.client, g.purpose, g.id",
        *args,
    )
    return [_grant(r) for r in records]


async def roles_of(conn: asyncpg.Connection, person: str) -> Roles:
    records = await conn.fetch("SELECT role, target, name FROM person_role WHERE person = $1", person)
    held: dict[str, set[str]] = {
        "applicant": set(),
        "reviewer": set(),
        "auditor": set(),
        "administrator": set(),
    }
    name = ""
    for r in records:
        held[r["role"]].add(r["target"])
        name = name or r["name"]
    return Roles(
        person=person,
        name=name,
        applicant=frozenset(held["applicant"]),
        reviewer=frozenset(held["reviewer"]),
        auditor=bool(held["auditor"]),
        administrator=bool(held["administrator"]),
    )
