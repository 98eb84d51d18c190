"""A policy file into the store (`govgraph policy import`) and the policy in force out of
it (`govgraph policy export`): policy.toml is the store's import and export format.

An import is checked as the gateway checks the file, then applied in one change:
purposes and clients are inserted or updated; the grants of an earlier import are revoked
and the file's are added. Grants that came from applications are kept.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import tomllib
from collections.abc import Awaitable, Callable
from typing import Any

import tomli_w

from gateway.audit.record import PolicyChange
from gateway.policy.model import Policy
from gateway.policystore.snapshot import tables_at
from gateway.policystore.store import PolicyStore

__all__ = ["Record", "export_policy", "import_policy"]

Record = Callable[[PolicyChange], Awaitable[None]]  # writes a change's audit event

_HEADER = """\
# govgraph policy, exported from the policy store (version {version}) at {at}.
# The grants in force at that instant, merged per client and purpose; each grant's
# expiry and the applications they came from are in the store (`govgraph policy grants`).
"""


async def import_policy(store: PolicyStore, text: str, checked: Policy, actor: str, record: Record) -> None:
    """Apply a policy file that `checked` (its parse) says is valid. `actor` is who imported
    it; `record` writes the change's audit event, before the change commits."""
    raw = tomllib.loads(text)
    now = dt.datetime.now(dt.UTC)
    async with store.change("import a policy file") as conn:
        for name, purpose in checked.purposes.items():
            await conn.execute(
                "INSERT INTO purpose (name, title, legal_basis, introspection) VALUES ($1, $2, $3, $4) "
                "ON CONFLICT (name) DO UPDATE SET title = $2, legal_basis = $3, introspection = $4",
                name,
                purpose.title,
                purpose.legal_basis,
                purpose.introspection,
            )
        for cid, table in raw.get("clients", {}).items():
            await conn.execute(
                "INSERT INTO client (id, settings) VALUES ($1, $2) "
                "ON CONFLICT (id) DO UPDATE SET settings = $2",
                cid,
                table,
            )
        revoked = await conn.fetchval(
            'WITH r AS (UPDATE "grant" SET revoked_at = $1, revoked_by = $2, revoke_reason = $3 '
            "WHERE origin = 'import' AND revoked_at IS NULL RETURNING 1) SELECT count(*) FROM r",
            now,
            actor,
            "replaced by a policy import",
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
                    "grants": [f"{g['client']}/{g['purpose']}" for g in raw.get("grants", [])],
                    "revoked_imported_grants": int(revoked),
                },
            )
        )


async def export_policy(store: PolicyStore) -> str:
    """The policy in force now as a policy file."""
    snapshot = await store.snapshot()
    now = dt.datetime.now(dt.UTC)
    tables: dict[str, Any] = tables_at(snapshot, now)
    for grant in tables["grants"]:
        if not grant["pins"]:
            del grant["pins"]
    header = _HEADER.format(version=snapshot.version, at=now.isoformat(timespec="seconds"))
    return header + "\n" + tomli_w.dumps(tables, multiline_strings=False)
