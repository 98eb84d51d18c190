"""Roles are grants to people: applicant for a client, reviewer for a department, auditor,
administrator. Administrators give and take them, never their own; the first
administrator is made with `bootstrap` (`govgraph policy role --bootstrap`, by whoever
holds the store's credentials)."""

from __future__ import annotations

import datetime as dt

from gateway.applications import records
from gateway.applications.base import WorkflowBase, checked_text
from gateway.applications.errors import WorkflowError
from gateway.applications.model import ROLES, Roles
from gateway.audit.record import PolicyChange

__all__ = ["RoleActions"]


class RoleActions(WorkflowBase):
    async def set_role(
        self, person: str, who: str, role: str, target: str, name: str, held: bool, *, bootstrap: bool = False
    ) -> Roles:
        who = checked_text(who, "The person")
        name = name.strip() and checked_text(name, "The name")
        if role not in ROLES:
            raise WorkflowError("BAD_USER_INPUT", f"Roles are {', '.join(ROLES)}.")
        if (role in ("applicant", "reviewer")) != bool(target):
            raise WorkflowError(
                "BAD_USER_INPUT",
                "Applicants name a client and reviewers a department; other roles name none.",
            )
        if role == "reviewer" and target not in self.index.departments:
            known = ", ".join(sorted(self.index.departments))
            raise WorkflowError("BAD_USER_INPUT", f"No department {target!r} (known: {known}).")
        async with self._changing("change a role") as change:
            conn = change.conn
            actor = await records.roles_of(conn, person)
            if not bootstrap and not actor.administrator:
                raise WorkflowError("FORBIDDEN", "Only administrators give and take roles.")
            if not bootstrap and who == person:
                raise WorkflowError("FORBIDDEN", "Another administrator changes your roles.")
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
                    dt.datetime.now(dt.UTC),
                )
            else:
                await conn.execute(
                    "DELETE FROM person_role WHERE person = $1 AND role = $2 AND target = $3",
                    who,
                    role,
                    target,
                )
            change.events.append(
                PolicyChange(
                    action="role_grant" if held else "role_revoke",
                    actor=person,
                    client=target if role == "applicant" else "-",
                    purpose="-",
                    reference=who,
                    basis=None,
                    detail={
                        "person": who,
                        "role": role,
                        "target": target,
                        "name": name,
                        "bootstrap": bootstrap,
                    },
                )
            )
            return await records.roles_of(conn, who)
