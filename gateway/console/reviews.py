"""The reviewer's page: the applications waiting for their departments, soonest due first
(overdue ones marked), each with approve and refuse and a reason the workflow requires;
below, what was decided lately."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from starlette.responses import Response

from gateway.applications.errors import WorkflowError
from gateway.console.applying import names
from gateway.console.catalogue import named
from gateway.console.session import Flash

if TYPE_CHECKING:
    from gateway.console.view import Visit

__all__ = ["decide", "page"]

_DECIDED = 20  # the latest decisions shown
_LATE = dt.datetime.max.replace(tzinfo=dt.UTC)


async def page(visit: Visit) -> Response:
    departments = visit.roles.reviewer
    theirs = [a for a in await visit.workflow.applications(visit.subject) if a.department in departments]
    pending = sorted((a for a in theirs if a.state == "pending"), key=lambda a: (a.due_at or _LATE, a.id))
    decided = sorted(
        (a for a in theirs if a.state != "pending"),
        key=lambda a: a.decided_at or a.submitted_at,
        reverse=True,
    )
    return visit.render(
        "reviews.html",
        visit.texts("nav.reviews"),
        pending=pending,
        decided=decided[:_DECIDED],
        items={a.id: named(visit, [*a.items, *a.masked_items]) for a in pending},
        now=dt.datetime.now(dt.UTC),
        **names(visit),
    )


async def decide(visit: Visit) -> Response:
    ident = str(visit.request.path_params["id"])
    decision = visit.field("decision")
    if decision not in ("approve", "refuse"):
        raise WorkflowError("BAD_USER_INPUT", "Approve or refuse the application.")
    decided = await visit.workflow.review(visit.subject, ident, decision == "approve", visit.field("reason"))
    state = visit.texts(f"state.{decided.state}")
    return visit.redirect("/reviews", Flash("ok", visit.texts("reviews.done", id=decided.id, state=state)))
