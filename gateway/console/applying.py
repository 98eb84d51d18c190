"""The applicant's pages: the application form (共享申请: client, purpose, items, 应用场景,
legal basis, period) and the applications with their state, due date and overdue mark.
A refused application comes back as typed, with the refusal's code and message."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from gateway.applications.errors import WorkflowError
from gateway.console.catalogue import named
from gateway.console.forms import application_input, item_names
from gateway.console.session import Flash
from gateway.console.view import status_of

if TYPE_CHECKING:
    from gateway.console.view import Visit

__all__ = ["applications", "apply", "form", "names"]

_DEFAULT_DAYS = 365


def names(visit: Visit) -> dict[str, Any]:
    """How clients, purposes and departments are called on the pages."""
    policy, index = visit.runtime.policy, visit.workflow.index
    return {
        "clients": {cid: c.name for cid, c in policy.clients.items()},
        "purposes": {pid: p.title for pid, p in policy.purposes.items()},
        "departments": {
            code: (d.name if visit.texts.lang == "zh" else d.name_en) for code, d in index.departments.items()
        },
    }


def _form(visit: Visit, status: int = 200, **typed: str) -> Response:
    clients = sorted(visit.roles.applicant)
    client = visit.field("client") if visit.field("client") in clients else clients[0]
    known = visit.runtime.policy.clients.get(client)
    purposes = sorted(known.purposes) if known is not None else []
    items = item_names(*visit.fields("item"))
    limit = visit.runtime.settings.applications.max_period_days
    return visit.render(
        "apply.html",
        visit.texts("nav.apply"),
        status,
        client_ids=clients,
        client=client,
        purpose_ids=purposes,
        purpose=visit.field("purpose"),
        items=named(visit, items),
        typed={"period_days": str(min(_DEFAULT_DAYS, limit))} | typed,
        max_period=limit,
        **names(visit),
    )


async def form(visit: Visit) -> Response:
    return _form(visit)


async def apply(visit: Visit) -> Response:
    try:
        application = await visit.workflow.apply(visit.subject, application_input(visit))
    except WorkflowError as exc:
        visit.flash = Flash("error", exc.message, exc.code)
        typed = ("items_text", "masked_text", "scenario", "legal_basis", "period_days", "pins")
        return _form(visit, status_of(exc.code), **{key: visit.field(key) for key in typed})
    state = visit.texts(f"state.{application.state}")
    return visit.redirect(
        "/applications", Flash("ok", visit.texts("apply.done", id=application.id, state=state))
    )


async def applications(visit: Visit) -> Response:
    found = await visit.workflow.applications(visit.subject)
    found.sort(key=lambda a: a.submitted_at, reverse=True)
    return visit.render(
        "applications.html",
        visit.texts("nav.applications"),
        applications=found,
        now=dt.datetime.now(dt.UTC),
        may_apply=bool(visit.roles.applicant),
        **names(visit),
    )
