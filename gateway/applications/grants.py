"""Revoking and renewing grants. A department's reviewers (and administrators) revoke and
renew the grants its approvals made; a client's applicants may give up their own client's;
an imported grant (policy.toml's) is an administrator's. A renewal extends a grant still in
force by up to `max_period_days`; an expired one takes a new application."""

from __future__ import annotations

import datetime as dt

import asyncpg

from gateway.applications import records
from gateway.applications.base import Change, WorkflowBase, checked_text
from gateway.applications.errors import WorkflowError
from gateway.applications.model import GrantView
from gateway.audit.record import PolicyChange
from gateway.policystore.changes import grant_detail

__all__ = ["GrantActions"]


class GrantActions(WorkflowBase):
    async def revoke(self, person: str, grant: int, reason: str) -> GrantView:
        reason = checked_text(reason, "The reason")
        now = dt.datetime.now(dt.UTC)
        async with self._changing("revoke") as change:
            found = await _grant_for(change.conn, person, grant, "revoke", clients_too=True)
            if found.revoked_at is not None:
                raise WorkflowError("CONFLICT", f"Grant {grant} is already revoked.")
            await change.conn.execute(
                'UPDATE "grant" SET revoked_at = $2, revoked_by = $3, revoke_reason = $4 WHERE id = $1',
                grant,
                now,
                person,
                reason,
            )
            return await _changed(change, "revoke", person, grant, reason)

    async def renew(self, person: str, grant: int, days: int, reason: str) -> GrantView:
        reason = checked_text(reason, "The reason")
        if not 1 <= days <= self.settings.max_period_days:
            raise WorkflowError("BAD_USER_INPUT", f"Renew for 1 to {self.settings.max_period_days} days.")
        now = dt.datetime.now(dt.UTC)
        async with self._changing("renew") as change:
            found = await _grant_for(change.conn, person, grant, "renew", clients_too=False)
            if found.revoked_at is not None or (found.expires_at is not None and found.expires_at <= now):
                raise WorkflowError("CONFLICT", f"Grant {grant} is no longer in force: apply again.")
            if found.expires_at is None:
                raise WorkflowError("CONFLICT", f"Grant {grant} does not expire: there is nothing to renew.")
            await change.conn.execute(
                'UPDATE "grant" SET expires_at = $2 WHERE id = $1',
                grant,
                found.expires_at + dt.timedelta(days=days),
            )
            return await _changed(change, "renew", person, grant, reason)


async def _grant_for(
    conn: asyncpg.Connection, person: str, grant: int, doing: str, *, clients_too: bool
) -> GrantView:
    found = await records.grant_of(conn, grant, lock=True)
    if found is None:
        raise WorkflowError("NOT_FOUND", f"No grant {grant}.")
    roles = await records.roles_of(conn, person)
    allowed = roles.administrator or (found.department is not None and found.department in roles.reviewer)
    if clients_too and found.client in roles.applicant:
        allowed = True  # a client may give up its own grant
    if not allowed:
        raise WorkflowError(
            "FORBIDDEN", f"You may not {doing} grant {grant}: it is not your department's or client's."
        )
    return found


async def _changed(change: Change, action: str, actor: str, grant: int, reason: str) -> GrantView:
    view = await records.grant_of(change.conn, grant)
    if view is None:  # read back in the transaction that wrote it
        raise WorkflowError("NOT_FOUND", f"No grant {grant}.")
    change.events.append(
        PolicyChange(
            action=action,
            actor=actor,
            client=view.client,
            purpose=view.purpose,
            reference=view.application or f"grant {view.id}",
            basis=view.basis,
            detail={**grant_detail(view.as_row()), "reason": reason},
        )
    )
    return view
