"""The application workflow (共享申请): a client's applicant applies for catalogue items for a
purpose; unconditional items (无条件共享) are approved once the application is complete,
conditional ones (有条件共享) wait for a reviewer of the providing department, due within
`review_days` working days; not-shared items (不予共享) cannot be applied for. No one
decides an application they made or made for a client they apply for.

Grants (revoke, renew) are in grants.py, roles in roles.py; every change is made and
audited as base.py says. The grant an application would make is checked first as every
gateway process checks the store (checks.py).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

from gateway.applications import records
from gateway.applications.base import Change, checked_text
from gateway.applications.checks import check_grant
from gateway.applications.errors import WorkflowError
from gateway.applications.grants import GrantActions
from gateway.applications.model import Application, ApplicationInput, GrantView, Roles
from gateway.applications.roles import RoleActions
from gateway.applications.workdays import add_working_days
from gateway.audit.record import PolicyChange
from gateway.policystore.changes import SYSTEM

__all__ = ["Workflow"]

AUTO = "无条件共享：申请要素齐全，自动批准 (unconditional items: approved on a complete application)"


class Workflow(GrantActions, RoleActions):
    # Reading ----------------------------------------------------------------------------

    async def roles(self, person: str) -> Roles:
        async with self._reading("read roles") as conn:
            return await records.roles_of(conn, person)

    async def applications(self, person: str, *, state: str | None = None) -> list[Application]:
        """What the person may see: their clients' applications, their departments', or all
        for auditors and administrators."""
        async with self._reading("read applications") as conn:
            roles = await records.roles_of(conn, person)
            where, args = _visible(roles, "a.client", "a.department")
            return await records.applications(conn, _narrowed(where, args, "a.state", state), *args)

    async def grants(self, person: str, client: str | None = None) -> list[GrantView]:
        async with self._reading("read grants") as conn:
            roles = await records.roles_of(conn, person)
            where, args = _visible(roles, "g.client", "a.department")
            return await records.grants(conn, _narrowed(where, args, "g.client", client), *args)

    # Applying and deciding ----------------------------------------------------------------

    async def apply(self, person: str, given: ApplicationInput) -> Application:
        given = replace(
            given,
            scenario=checked_text(given.scenario, "The scenario (应用场景)"),
            legal_basis=checked_text(given.legal_basis, "The legal basis"),
        )
        if not 1 <= given.period_days <= self.settings.max_period_days:
            raise WorkflowError(
                "BAD_USER_INPUT", f"The period must be 1 to {self.settings.max_period_days} days."
            )
        asked = self.index.resolve((*given.items, *given.masked_items))
        full = self.index.resolve(given.items).scopes if given.items else ()
        masked = tuple(s for s in asked.scopes if s not in full)
        now = dt.datetime.now(dt.UTC)
        settings = self.settings
        due = add_working_days(now, settings.review_days, settings.calendar, settings.timezone)
        async with self._changing("apply") as change:
            conn = change.conn
            roles = await records.roles_of(conn, person)
            if given.client not in roles.applicant:
                raise WorkflowError("FORBIDDEN", f"You do not apply for client {given.client!r}.")
            purposes = await conn.fetchval(
                "SELECT settings -> 'purposes' FROM client WHERE id = $1", given.client
            )
            if given.purpose not in (purposes or ()):
                raise WorkflowError(
                    "BAD_USER_INPUT",
                    f"Client {given.client!r} has no purpose {given.purpose!r}"
                    f" (it has: {', '.join(purposes or ())}).",
                )
            ident = await records.insert_application(
                conn,
                given,
                department=asked.department.code,
                full=full,
                masked=masked,
                conditional=asked.conditional,
                applicant=person,
                now=now,
                due_at=due if asked.conditional else None,
            )
            application = await _found(change, ident)
            await check_grant(conn, application, now, self.checks)  # complete, as a grant
            change.events.append(_event("apply", person, application, None))
            if not asked.conditional:
                application = await self._approve(change, application, SYSTEM, AUTO, now)
        return application

    async def review(self, person: str, ident: str, approve: bool, reason: str) -> Application:
        reason = checked_text(reason, "The reason")
        now = dt.datetime.now(dt.UTC)
        async with self._changing("review") as change:
            application = await records.application_of(change.conn, ident, lock=True)
            if application is None:
                raise WorkflowError("NOT_FOUND", f"No application {ident!r}.")
            roles = await records.roles_of(change.conn, person)
            if application.department not in roles.reviewer:
                raise WorkflowError(
                    "FORBIDDEN", f"Only a reviewer of {application.department} decides {ident}."
                )
            if person == application.applicant or application.client in roles.applicant:
                raise WorkflowError(
                    "FORBIDDEN", f"You applied for {application.client}: someone else decides {ident}."
                )
            if application.state != "pending":
                raise WorkflowError("CONFLICT", f"Application {ident} is already {application.state}.")
            if approve:
                return await self._approve(change, application, person, reason, now)
            await _decide(change, ident, "refused", person, reason, now)
            refused = await _found(change, ident)
            change.events.append(_event("refuse", person, refused, reason))
            return refused

    async def _approve(
        self, change: Change, application: Application, actor: str, reason: str, now: dt.datetime
    ) -> Application:
        await check_grant(change.conn, application, now, self.checks)
        await records.insert_grant(change.conn, application, actor, now)
        await _decide(change, application.id, "approved", actor, reason, now)
        approved = await _found(change, application.id)
        change.events.append(_event("approve", actor, approved, reason))
        return approved


def _narrowed(where: str, args: list[object], column: str, value: str | None) -> str:
    """`where`, and `column` equal to `value` when one is given (its argument added)."""
    if value is None:
        return where
    args.append(value)
    return f"({where}) AND {column} = ${len(args)}"


def _visible(roles: Roles, client_column: str, department_column: str) -> tuple[str, list[Any]]:
    if roles.auditor or roles.administrator:
        return "true", []
    if not roles.any:
        return "false", []
    return (
        f"({client_column} = ANY($1::text[]) OR {department_column} = ANY($2::text[]))",
        [sorted(roles.applicant), sorted(roles.reviewer)],
    )


async def _decide(change: Change, ident: str, state: str, actor: str, reason: str, now: dt.datetime) -> None:
    await change.conn.execute(
        "UPDATE application SET state = $2, decided_by = $3, decided_at = $4, reason = $5 WHERE id = $1",
        ident,
        state,
        actor,
        now,
        reason,
    )


async def _found(change: Change, ident: str) -> Application:
    found = await records.application_of(change.conn, ident)
    if found is None:  # read back in the transaction that wrote it
        raise WorkflowError("NOT_FOUND", f"No application {ident!r}.")
    return found


def _event(action: str, actor: str, application: Application, reason: str | None) -> PolicyChange:
    return PolicyChange(
        action=action,
        actor=actor,
        client=application.client,
        purpose=application.purpose,
        reference=application.id,
        basis=application.legal_basis,
        detail={
            "department": application.department,
            "items": list(application.items),
            "masked_items": list(application.masked_items),
            "full": list(application.full),
            "masked": list(application.masked),
            "pins": {k: dict(v) for k, v in application.pins.items()},
            "scenario": application.scenario,
            "period_days": application.period_days,
            "sharing": application.sharing,
            "state": application.state,
            "reason": reason,
        },
    )
