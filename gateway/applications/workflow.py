"""The application workflow (共享申请): a client's applicant applies for catalogue items for a
purpose; unconditional items (无条件共享) are approved once the application is complete,
conditional ones (有条件共享) wait for a reviewer of the providing department, due within
`review_days` working days; not-shared items (不予共享) cannot be applied for. Reviewers
revoke and renew their department's grants; administrators manage roles.

Every change is one transaction of the policy store whose audit event is committed before
the transaction is: a change that could not be audited is not made. The policy each
gateway process builds from the store (gateway/policystore/) is checked here first, so an
approval can never leave the store holding a policy the gateways would refuse.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import replace
from typing import Any

import asyncpg

from gateway.applications import records
from gateway.applications.errors import WorkflowError
from gateway.applications.items import ItemIndex
from gateway.applications.model import ROLES, Application, ApplicationInput, GrantView, Roles
from gateway.applications.workdays import add_working_days
from gateway.audit.record import AuditUnavailable, PolicyChange
from gateway.config.sections import ApplicationSettings
from gateway.policy.model import PolicyError
from gateway.policy.pins import Pinnable
from gateway.policy.sharing import SharingRules
from gateway.policystore.changes import SYSTEM, grant_detail
from gateway.policystore.errors import PolicyStoreError
from gateway.policystore.snapshot import GrantRow, Snapshot, policy_at
from gateway.policystore.store import PolicyStore, read_snapshot

__all__ = ["Record", "Workflow"]

Record = Callable[[PolicyChange], Awaitable[None]]  # commits a change's audit event, or raises

_TEXT_LIMIT = 500
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
AUTO = "无条件共享：申请要素齐全，自动批准 (unconditional items: approved on a complete application)"


def _text(value: str, what: str) -> str:
    value = value.strip()
    if not value:
        raise WorkflowError("BAD_USER_INPUT", f"{what} is required.")
    if len(value) > _TEXT_LIMIT or _CONTROL.search(value):
        raise WorkflowError(
            "BAD_USER_INPUT", f"{what}: at most {_TEXT_LIMIT} characters, no control characters."
        )
    return value


class Workflow:
    def __init__(
        self,
        store: PolicyStore,
        index: ItemIndex,
        settings: ApplicationSettings,
        record: Record,
        scopes: Mapping[str, Collection[str]],
        *,
        pinnable: Mapping[str, Pinnable] | None = None,
        operations: Collection[str] | None = None,
        sharing: SharingRules | None = None,
    ) -> None:
        self.store, self.index, self.settings, self.record = store, index, settings, record
        self._scopes = scopes
        self._checks: dict[str, Any] = {"pinnable": pinnable, "operations": operations, "sharing": sharing}

    # Reading --------------------------------------------------------------------------

    async def roles(self, person: str) -> Roles:
        async with self._reading("read roles") as conn:
            return await records.roles_of(conn, person)

    async def applications(self, person: str, *, state: str | None = None) -> list[Application]:
        """What the person may see: their clients' applications, their departments', or all
        for auditors and administrators."""
        async with self._reading("read applications") as conn:
            roles = await records.roles_of(conn, person)
            where, args = self._visible(roles, "a.client", "a.department")
            if state is not None:
                args.append(state)
                where = f"({where}) AND a.state = ${len(args)}"
            return await records.applications(conn, where, *args)

    async def application(self, person: str, ident: str) -> Application:
        found = [a for a in await self.applications(person) if a.id == ident]
        if not found:
            raise WorkflowError("NOT_FOUND", f"No application {ident!r} that you may see.")
        return found[0]

    async def grants(self, person: str, client: str | None = None) -> list[GrantView]:
        async with self._reading("read grants") as conn:
            roles = await records.roles_of(conn, person)
            where, args = self._visible(roles, "g.client", "a.department")
            if client is not None:
                args.append(client)
                where = f"({where}) AND g.client = ${len(args)}"
            return await records.grants(conn, where, *args)

    @staticmethod
    def _visible(roles: Roles, client_column: str, department_column: str) -> tuple[str, list[Any]]:
        if roles.auditor or roles.administrator:
            return "true", []
        if not roles.any:
            return "false", []
        return (
            f"({client_column} = ANY($1::text[]) OR {department_column} = ANY($2::text[]))",
            [sorted(roles.applicant), sorted(roles.reviewer)],
        )

    # Applying and deciding ----------------------------------------------------------------

    async def apply(self, person: str, given: ApplicationInput) -> Application:
        given = replace(
            given,
            scenario=_text(given.scenario, "The scenario (应用场景)"),
            legal_basis=_text(given.legal_basis, "The legal basis"),
        )
        if not 1 <= given.period_days <= self.settings.max_period_days:
            raise WorkflowError(
                "BAD_USER_INPUT", f"The period must be 1 to {self.settings.max_period_days} days."
            )
        asked = self.index.resolve((*given.items, *given.masked_items))
        full = self.index.resolve(given.items).scopes if given.items else ()
        masked = tuple(s for s in asked.scopes if s not in full)
        now = dt.datetime.now(dt.UTC)
        due = None
        if asked.conditional:
            due = add_working_days(
                now, self.settings.review_days, self.settings.calendar, self.settings.timezone
            )
        async with self._changing("apply") as conn:
            roles = await records.roles_of(conn, person)
            if given.client not in roles.applicant:
                raise WorkflowError("FORBIDDEN", f"You do not apply for client {given.client!r}.")
            settings = await conn.fetchval("SELECT settings FROM client WHERE id = $1", given.client)
            if settings is None:
                raise WorkflowError("NOT_FOUND", f"No client {given.client!r}.")
            if given.purpose not in settings.get("purposes", ()):
                raise WorkflowError(
                    "BAD_USER_INPUT",
                    f"Client {given.client!r} has no purpose {given.purpose!r}"
                    f" (it has: {', '.join(settings.get('purposes', ()))}).",
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
                due_at=due,
            )
            application = await self._found(conn, ident)
            await self._check_grant(conn, application, now)  # complete: pins and basis as a grant needs
            await self.record(self._change("apply", person, application, None))
            if not asked.conditional:
                application = await self._approve(conn, application, SYSTEM, AUTO, now)
        return application

    async def review(self, person: str, ident: str, approve: bool, reason: str) -> Application:
        reason = _text(reason, "The reason")
        now = dt.datetime.now(dt.UTC)
        async with self._changing("review") as conn:
            application = await records.application_of(conn, ident, lock=True)
            if application is None:
                raise WorkflowError("NOT_FOUND", f"No application {ident!r}.")
            roles = await records.roles_of(conn, person)
            if application.department not in roles.reviewer:
                raise WorkflowError(
                    "FORBIDDEN",
                    f"Application {ident} is for department {application.department}: "
                    "only its reviewers decide it.",
                )
            if application.state != "pending":
                raise WorkflowError("CONFLICT", f"Application {ident} is already {application.state}.")
            if approve:
                return await self._approve(conn, application, person, reason, now)
            await conn.execute(
                "UPDATE application SET state = 'refused', decided_by = $2, decided_at = $3, reason = $4 "
                "WHERE id = $1",
                ident,
                person,
                now,
                reason,
            )
            refused = await self._found(conn, ident)
            await self.record(self._change("refuse", person, refused, reason))
            return refused

    async def _approve(
        self, conn: asyncpg.Connection, application: Application, actor: str, reason: str, now: dt.datetime
    ) -> Application:
        await self._check_grant(conn, application, now)
        await records.insert_grant(conn, application, actor, now)
        await conn.execute(
            "UPDATE application SET state = 'approved', decided_by = $2, decided_at = $3, reason = $4 "
            "WHERE id = $1",
            application.id,
            actor,
            now,
            reason,
        )
        approved = await self._found(conn, application.id)
        await self.record(self._change("approve", actor, approved, reason))
        return approved

    async def _check_grant(
        self, conn: asyncpg.Connection, application: Application, now: dt.datetime
    ) -> None:
        """The policy the gateways would build with this application's grant in force."""
        snapshot = await _snapshot(conn)
        row = GrantRow(
            id=0,
            client=application.client,
            purpose=application.purpose,
            full=application.full,
            masked=application.masked,
            pins=application.pins,
            basis=application.legal_basis,
            application=application.id,
            valid_from=now,
            expires_at=None,
        )
        try:
            policy_at(replace(snapshot, grants=(*snapshot.grants, row)), now, self._scopes, **self._checks)
        except PolicyError as exc:
            raise WorkflowError("BAD_USER_INPUT", f"The application is not complete: {exc.problem}") from exc

    # Grants ---------------------------------------------------------------------------

    async def revoke(self, person: str, grant: int, reason: str) -> GrantView:
        reason = _text(reason, "The reason")
        now = dt.datetime.now(dt.UTC)
        async with self._changing("revoke") as conn:
            found = await self._grant_for(conn, person, grant, "revoke", clients_too=True)
            if found.revoked_at is not None:
                raise WorkflowError("CONFLICT", f"Grant {grant} is already revoked.")
            await conn.execute(
                'UPDATE "grant" SET revoked_at = $2, revoked_by = $3, revoke_reason = $4 WHERE id = $1',
                grant,
                now,
                person,
                reason,
            )
            revoked = await records.grant_of(conn, grant)
            assert revoked is not None  # noqa: S101 - read back in the transaction that wrote it
            await self.record(self._grant_change("revoke", person, revoked, reason))
            return revoked

    async def renew(self, person: str, grant: int, days: int, reason: str) -> GrantView:
        reason = _text(reason, "The reason")
        if not 1 <= days <= self.settings.max_period_days:
            raise WorkflowError("BAD_USER_INPUT", f"Renew for 1 to {self.settings.max_period_days} days.")
        now = dt.datetime.now(dt.UTC)
        async with self._changing("renew") as conn:
            found = await self._grant_for(conn, person, grant, "renew", clients_too=False)
            if found.revoked_at is not None:
                raise WorkflowError("CONFLICT", f"Grant {grant} is revoked: apply again.")
            start = max(now, found.expires_at or now)
            await conn.execute(
                'UPDATE "grant" SET expires_at = $2, expiry_recorded = false WHERE id = $1',
                grant,
                start + dt.timedelta(days=days),
            )
            renewed = await records.grant_of(conn, grant)
            assert renewed is not None  # noqa: S101 - read back in the transaction that wrote it
            await self.record(self._grant_change("renew", person, renewed, reason))
            return renewed

    async def _grant_for(
        self, conn: asyncpg.Connection, person: str, grant: int, doing: str, *, clients_too: bool
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

    # Roles ----------------------------------------------------------------------------

    async def set_role(
        self, person: str, who: str, role: str, target: str, name: str, held: bool, *, bootstrap: bool = False
    ) -> Roles:
        """Grant or take away a role, as an administrator; `bootstrap` (the CLI's, for the first
        administrator, by whoever holds the store's credentials) needs none."""
        if role not in ROLES:
            raise WorkflowError("BAD_USER_INPUT", f"Roles are {', '.join(ROLES)}.")
        if (role in ("applicant", "reviewer")) != bool(target):
            raise WorkflowError(
                "BAD_USER_INPUT",
                "Applicants name a client and reviewers a department; other roles name none.",
            )
        if role == "reviewer" and target not in self.index.departments:
            raise WorkflowError(
                "BAD_USER_INPUT",
                f"No department {target!r} (known: {', '.join(sorted(self.index.departments))}).",
            )
        now = dt.datetime.now(dt.UTC)
        async with self._changing("change a role") as conn:
            actor = await records.roles_of(conn, person)
            if not actor.administrator and not bootstrap:
                raise WorkflowError("FORBIDDEN", "Only administrators grant and revoke roles.")
            if (
                role == "applicant"
                and await conn.fetchval("SELECT id FROM client WHERE id = $1", target) is None
            ):
                raise WorkflowError("NOT_FOUND", f"No client {target!r}.")
            if held:
                await conn.execute(
                    "INSERT INTO person_role (person, role, target, name, granted_by, granted_at) "
                    "VALUES ($1, $2, $3, $4, $5, $6) "
                    "ON CONFLICT (person, role, target) DO UPDATE SET name = $4",
                    who,
                    role,
                    target,
                    name,
                    person,
                    now,
                )
            else:
                await conn.execute(
                    "DELETE FROM person_role WHERE person = $1 AND role = $2 AND target = $3",
                    who,
                    role,
                    target,
                )
            await self.record(
                PolicyChange(
                    action="role_grant" if held else "role_revoke",
                    actor=person,
                    client=target if role == "applicant" else "-",
                    purpose="-",
                    reference=who,
                    basis=None,
                    detail={"person": who, "role": role, "target": target, "name": name},
                )
            )
            return await records.roles_of(conn, who)

    # Helpers --------------------------------------------------------------------------

    def _reading(self, doing: str) -> Any:
        return _translated(self.store.reading(doing))

    def _changing(self, doing: str) -> Any:
        return _translated(self.store.change(doing))

    async def _found(self, conn: asyncpg.Connection, ident: str) -> Application:
        found = await records.application_of(conn, ident)
        assert found is not None  # noqa: S101 - read back in the transaction that wrote it
        return found

    @staticmethod
    def _change(action: str, actor: str, application: Application, reason: str | None) -> PolicyChange:
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
                "scenario": application.scenario,
                "period_days": application.period_days,
                "sharing": application.sharing,
                "state": application.state,
                "reason": reason,
            },
        )

    @staticmethod
    def _grant_change(action: str, actor: str, grant: GrantView, reason: str) -> PolicyChange:
        row = GrantRow(
            grant.id, grant.client, grant.purpose, grant.full, grant.masked, {}, grant.basis,
            grant.application, grant.valid_from, grant.expires_at,
        )  # fmt: skip
        return PolicyChange(
            action=action,
            actor=actor,
            client=grant.client,
            purpose=grant.purpose,
            reference=grant.application or f"grant {grant.id}",
            basis=grant.basis,
            detail={**grant_detail(row), "reason": reason},
        )


class _translated:
    """A store connection context whose driver failures are WorkflowErrors for the caller."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    async def __aenter__(self) -> asyncpg.Connection:
        try:
            return await self._inner.__aenter__()
        except PolicyStoreError as exc:
            raise WorkflowError("POLICY_STORE_UNAVAILABLE", str(exc)) from exc

    async def __aexit__(self, *exc: Any) -> bool | None:
        try:
            handled: bool | None = await self._inner.__aexit__(*exc)
        except PolicyStoreError as error:
            raise WorkflowError("POLICY_STORE_UNAVAILABLE", str(error)) from error
        except AuditUnavailable as error:  # rolled back: a change that cannot be audited is not made
            raise WorkflowError(
                "AUDIT_UNAVAILABLE", f"The audit log cannot record this change: {error}"
            ) from error
        return handled


async def _snapshot(conn: asyncpg.Connection) -> Snapshot:
    """The store's content as this transaction sees it (to check a grant before it exists)."""
    return await read_snapshot(conn)
