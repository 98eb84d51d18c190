"""The console API's types: applications, grants, the signed-in person, a resident's
accesses, and the application form."""

from __future__ import annotations

import datetime as dt
from typing import cast

import strawberry
from strawberry.scalars import JSON

from gateway.applications.model import Application as ApplicationRecord
from gateway.applications.model import GrantView

__all__ = ["AccessToMe", "Application", "ApplyInput", "Grant", "Me"]


@strawberry.type(description="A person signed in to the console, with the roles the policy store gives them.")
class Me:
    subject: str
    name: str
    roles: list[str]


@strawberry.type(description="An application for access (共享申请).")
class Application:
    id: str
    client: str
    purpose: str
    department: str
    items: list[str]
    masked_items: list[str]
    scopes: list[str] = strawberry.field(description="The scopes granted in full on approval.")
    masked_scopes: list[str]
    pins: JSON
    scenario: str = strawberry.field(description="应用场景: what the data is used for.")
    legal_basis: str
    period_days: int
    sharing: str = strawberry.field(description="unconditional (无条件共享) or conditional (有条件共享).")
    applicant: str
    submitted_at: dt.datetime
    due_at: dt.datetime | None
    overdue: bool
    state: str = strawberry.field(description="pending, approved or refused.")
    decided_by: str | None
    decided_at: dt.datetime | None
    reason: str | None
    grant: int | None

    @classmethod
    def of(cls, a: ApplicationRecord) -> Application:
        return cls(
            id=a.id, client=a.client, purpose=a.purpose, department=a.department, items=list(a.items),
            masked_items=list(a.masked_items), scopes=list(a.full), masked_scopes=list(a.masked),
            pins=cast(JSON, dict(a.pins)), scenario=a.scenario, legal_basis=a.legal_basis,
            period_days=a.period_days,
            sharing=a.sharing, applicant=a.applicant, submitted_at=a.submitted_at, due_at=a.due_at,
            overdue=a.overdue(dt.datetime.now(dt.UTC)), state=a.state, decided_by=a.decided_by,
            decided_at=a.decided_at, reason=a.reason, grant=a.grant,
        )  # fmt: skip


@strawberry.type(description="A grant: scopes a client may read for a purpose, and what it rests on.")
class Grant:
    id: int
    client: str
    purpose: str
    scopes: list[str]
    masked_scopes: list[str]
    basis: str | None
    application: str | None
    department: str | None
    origin: str = strawberry.field(description="import (policy file) or application.")
    valid_from: dt.datetime
    expires_at: dt.datetime | None
    state: str = strawberry.field(description="active, expired or revoked.")
    revoked_at: dt.datetime | None
    revoked_by: str | None
    revoke_reason: str | None

    @classmethod
    def of(cls, g: GrantView) -> Grant:
        return cls(
            id=g.id, client=g.client, purpose=g.purpose, scopes=list(g.full), masked_scopes=list(g.masked),
            basis=g.basis, application=g.application, department=g.department, origin=g.origin,
            valid_from=g.valid_from, expires_at=g.expires_at, state=g.state(dt.datetime.now(dt.UTC)),
            revoked_at=g.revoked_at, revoked_by=g.revoked_by, revoke_reason=g.revoke_reason,
        )  # fmt: skip


@strawberry.type(description="One access to the signed-in resident's record.")
class AccessToMe:
    time: dt.datetime
    client: str
    client_name: str
    purpose: str
    purpose_title: str
    basis: str | None = strawberry.field(description="The approval or legal basis the access rested on.")
    scopes: list[str]
    outcome: str
    verdicts: JSON


@strawberry.input(description="An application: catalogue items for a client's purpose.")
class ApplyInput:
    client: str
    purpose: str
    items: list[str] = strawberry.field(
        description='Catalogue resources ("serious_dishonesty"), items ("person.name") or verdict '
        'fields ("Enterprise.hasNoSeriousDishonesty"), to be seen in full.'
    )
    scenario: str = strawberry.field(description="应用场景: what the data is used for.")
    legal_basis: str
    period_days: int = 365
    masked_items: list[str] = strawberry.field(default_factory=list, description="Items to be seen masked.")
    pins: JSON | None = None
