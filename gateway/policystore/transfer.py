"""A policy file into the store (`govgraph policy import`) and the policy in force out of
it (`govgraph policy export`): policy.toml is the store's import and export format.

An import is checked as the gateway checks the file, then applied in one change: the
file's purposes and clients are in force, those it leaves out are removed (and their
clients' grants revoked); the grants of an earlier import are revoked and the file's
added; grants that came from applications are kept. The store as it will be is checked
before the change commits.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import tomllib
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import tomli_w

from gateway.audit.record import PolicyChange, RecordChange
from gateway.policy.model import Policy, PolicyChecks, PolicyError
from gateway.policystore.snapshot import Snapshot, isolated_policy, snapshot_path, tables_at
from gateway.policystore.store import PolicyStore, read_snapshot

__all__ = ["export_policy", "import_policy"]

_HEADER = """\
# govgraph policy, exported from the policy store (version {version}) at {at}.
# Its clients and purposes, and the grants imported from a policy file, merged per client
# and purpose. Grants from approved applications stay in the store, with their expiry.
"""


async def import_policy(
    store: PolicyStore, text: str, checked: Policy, actor: str, record: RecordChange, checks: PolicyChecks
) -> None:
    """Apply a policy file that `checked` (its parse) says is valid: in one change, checked
    again as a whole (`checks`: the scopes and what the gateway checks them with) before it
    commits. `actor` is who imported it; `record` writes the change's audit event."""
    raw = tomllib.loads(text)
    now = dt.datetime.now(dt.UTC)
    async with store.change("import a policy file") as conn:
        removed = await _replace_tables(conn, raw, checked, now)
        revoked = await conn.fetchval(
            'WITH r AS (UPDATE "grant" SET revoked_at = $1, revoked_by = $2, revoke_reason = $3 '
            "WHERE revoked_at IS NULL AND (origin = 'import' OR client = ANY($4::text[])) RETURNING 1) "
            "SELECT count(*) FROM r",
            now,
            actor,
            "replaced by a policy import",
            removed,
        )
        for grant in raw.get("grants", []):
            await conn.execute(
                'INSERT INTO "grant" (client, purpose, full_scopes, masked_scopes, pins, basis, valid_from, '
                "created_by, origin) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'import')",
                grant["client"],
                grant["purpose"],
                list(grant.get("full", [])),
                list(grant.get("masked", [])),
                grant.get("pins", {}),
                grant.get("basis"),
                now,
                actor,
            )
        # The store as it will be, checked as every gateway will check it (raises PolicyError).
        isolated_refusal(await read_snapshot(conn), now, checks)
        await record(
            PolicyChange(
                action="import",
                actor=actor,
                client="-",
                purpose="-",
                reference=checked.path,
                basis=None,
                detail={
                    "file_sha256": hashlib.sha256(text.encode()).hexdigest(),
                    "purposes": sorted(checked.purposes),
                    "clients": sorted(checked.clients),
                    "clients_removed": removed,
                    "grants": [f"{g['client']}/{g['purpose']}" for g in raw.get("grants", [])],
                    "grants_revoked": int(revoked),
                },
            )
        )


async def _replace_tables(conn: Any, raw: Mapping[str, Any], checked: Policy, now: dt.datetime) -> list[str]:
    """The file's purposes and clients in force; those it leaves out removed (kept for the
    record: applications name them). Returns the clients removed."""
    for name, purpose in checked.purposes.items():
        await conn.execute(
            "INSERT INTO purpose (name, title, legal_basis, introspection) VALUES ($1, $2, $3, $4) "
            "ON CONFLICT (name) DO UPDATE SET title = $2, legal_basis = $3, introspection = $4, "
            "removed_at = NULL",
            name,
            purpose.title,
            purpose.legal_basis,
            purpose.introspection,
        )
    for cid, table in raw.get("clients", {}).items():
        await conn.execute(
            "INSERT INTO client (id, settings) VALUES ($1, $2) "
            "ON CONFLICT (id) DO UPDATE SET settings = $2, removed_at = NULL",
            cid,
            table,
        )
    await conn.execute(
        "UPDATE purpose SET removed_at = $1 WHERE removed_at IS NULL AND NOT name = ANY($2::text[])",
        now,
        sorted(checked.purposes),
    )
    removed = await conn.fetch(
        "UPDATE client SET removed_at = $1 WHERE removed_at IS NULL AND NOT id = ANY($2::text[]) "
        "RETURNING id",
        now,
        sorted(checked.clients),
    )
    return sorted(r["id"] for r in removed)


def isolated_refusal(snapshot: Snapshot, now: dt.datetime, checks: PolicyChecks) -> None:
    """Raise the PolicyError a gateway would meet building this snapshot's policy, if any:
    a whole-snapshot mistake, or the first (client, purpose) it would deny."""
    _, problems = isolated_policy(snapshot, now, checks)
    if problems:
        raise PolicyError(snapshot_path(snapshot), 0, "grants", problems[0])


async def export_policy(store: PolicyStore) -> str:
    """The part of the policy a file manages (the imported grants in force) as a policy file;
    grants from applications are listed in comments, since a file cannot carry their expiry
    (importing them would make them permanent)."""
    snapshot = await store.snapshot()
    now = dt.datetime.now(dt.UTC)
    imported = replace(snapshot, grants=tuple(g for g in snapshot.grants if g.application is None))
    tables: dict[str, Any] = tables_at(imported, now)
    for grant in tables["grants"]:
        if not grant["pins"]:
            del grant["pins"]
    header = _HEADER.format(version=snapshot.version, at=now.isoformat(timespec="seconds"))
    applied = [g for g in snapshot.grants if g.application is not None and g.in_force(now)]
    notes = "".join(
        f"# {g.client}/{g.purpose}: {', '.join((*g.full, *(f'{m} (masked)' for m in g.masked)))}; "
        f"{g.application}, until {_until(g.expires_at)}\n"
        for g in applied
    )
    if notes:
        notes = "# Grants from approved applications in force (in the store, not in this file):\n" + notes
    return header + notes + "\n" + tomli_w.dumps(tables, multiline_strings=False)


def _until(moment: dt.datetime | None) -> str:
    return "revoked" if moment is None else moment.isoformat(timespec="seconds")
