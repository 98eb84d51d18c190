"""Grants, per client, with their state and expiry, and the revoke and renew forms where the
workflow allows them: reviewers for their department's grants, administrators for any, an
applicant may revoke (give up) their own client's. Auditors see every grant and change none."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from starlette.responses import Response

from gateway.applications.model import GrantView, Roles
from gateway.console.applying import names
from gateway.console.forms import number
from gateway.console.session import Flash

if TYPE_CHECKING:
    from gateway.console.view import Visit

__all__ = ["may", "page", "renew", "revoke"]


def may(roles: Roles, grant: GrantView, action: str) -> bool:
    """Whether the workflow lets `roles` revoke or renew `grant` (Workflow._grant_for's rule,
    so that a page offers no form it would refuse)."""
    if grant.revoked_at is not None:
        return False
    if roles.administrator or (grant.department is not None and grant.department in roles.reviewer):
        return True
    return action == "revoke" and grant.client in roles.applicant


async def page(visit: Visit) -> Response:
    every = await visit.workflow.grants(visit.subject)
    chosen = visit.field("client")
    by_client: dict[str, list[GrantView]] = {}
    for grant in sorted(every, key=lambda g: (g.client, g.id)):
        if not chosen or grant.client == chosen:
            by_client.setdefault(grant.client, []).append(grant)
    now = dt.datetime.now(dt.UTC)
    return visit.render(
        "grants.html",
        visit.texts("nav.grants"),
        by_client=by_client,
        client_ids=sorted({g.client for g in every}),
        chosen=chosen,
        states={g.id: g.state(now) for g in every},
        revocable={g.id for g in every if may(visit.roles, g, "revoke")},
        renewable={g.id for g in every if may(visit.roles, g, "renew")},
        **names(visit),
    )


async def revoke(visit: Visit) -> Response:
    ident = int(visit.request.path_params["id"])
    revoked = await visit.workflow.revoke(visit.subject, ident, visit.field("reason"))
    return visit.redirect("/grants", Flash("ok", visit.texts("grants.revoked", id=revoked.id)))


async def renew(visit: Visit) -> Response:
    ident = int(visit.request.path_params["id"])
    days = number(visit.field("days"), "Days")
    renewed = await visit.workflow.renew(visit.subject, ident, days, visit.field("reason"))
    until = visit.console.renderer.when(renewed.expires_at)
    return visit.redirect("/grants", Flash("ok", visit.texts("grants.renewed", id=renewed.id, until=until)))
