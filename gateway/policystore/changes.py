"""The audit events of changes made by the clock: a grant's expiry, recorded by whichever
process claims it first (PolicyStore.claim_expired)."""

from __future__ import annotations

from collections.abc import Sequence

from gateway.audit.record import PolicyChange
from gateway.audit.writer import AuditWriter
from gateway.policystore.snapshot import GrantRow

__all__ = ["SYSTEM", "grant_detail", "record_expiries"]

SYSTEM = "system"  # the actor of what no person did: an expiry


def grant_detail(row: GrantRow) -> dict[str, object]:
    return {
        "grant": row.id,
        "full": list(row.full),
        "masked": list(row.masked),
        "pins": {coordinate: dict(values) for coordinate, values in row.pins.items()},
        "valid_from": row.valid_from.isoformat(),
        "expires_at": None if row.expires_at is None else row.expires_at.isoformat(),
    }


async def record_expiries(writer: AuditWriter | None, rows: Sequence[GrantRow]) -> None:
    """One event per expired grant; raises AuditUnavailable (the claim is then not kept)."""
    if writer is None:  # the audit log is off: nothing records anything
        return
    for row in rows:
        await writer.record_change(
            PolicyChange(
                action="expire",
                actor=SYSTEM,
                client=row.client,
                purpose=row.purpose,
                reference=row.application or f"grant {row.id}",
                basis=row.basis,
                detail={**grant_detail(row), "why": "the grant reached its expiry"},
            )
        )
