"""The console's pages (server-rendered with Jinja2, plain forms, no scripts), their routes,
and the ones every visitor has: the start page, signing in and out, a resident's "who
accessed my data". The role pages are in catalogue.py, applying.py, reviews.py, grants.py
and auditing.py; how each request is served (session, CSRF, roles) in view.py."""

from __future__ import annotations

import datetime as dt
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from gateway.applications.base import store_unavailable
from gateway.console import applying, auditing, catalogue, grants, reviews
from gateway.console.history import access_history
from gateway.console.navigation import (
    ANYONE,
    APPLICANT,
    APPLICATIONS,
    AUDITOR,
    GRANTS,
    NAV,
    REVIEWER,
    SIGNED_IN,
)
from gateway.console.people import person_of, redeem_ticket
from gateway.console.security import secured
from gateway.console.session import Flash, Session
from gateway.console.view import Console, Visit, sign_in_page
from gateway.http.refusal import Refusal
from gateway.policystore.errors import PolicyStoreError

if TYPE_CHECKING:
    from gateway.runtime import Runtime

__all__ = ["page_routes"]

STYLESHEET = "static/console.css"
POST = ["POST"]


def page_routes(runtime: Runtime, prefix: str) -> list[BaseRoute]:
    console = Console(runtime, prefix)
    page = console.page
    return [
        Route(prefix, page(home, ANYONE)),
        Route(f"{prefix}/login", page(login_link, ANYONE)),
        Route(f"{prefix}/login", page(login, ANYONE), methods=POST),
        Route(f"{prefix}/logout", page(logout, ANYONE), methods=POST),
        Route(f"{prefix}/{STYLESHEET}", stylesheet),
        Route(f"{prefix}/catalog", page(catalogue.page, APPLICANT)),
        Route(f"{prefix}/apply", page(applying.form, APPLICANT)),
        Route(f"{prefix}/apply", page(applying.apply, APPLICANT), methods=POST),
        Route(f"{prefix}/applications", page(applying.applications, APPLICATIONS)),
        Route(f"{prefix}/reviews", page(reviews.page, REVIEWER)),
        Route(f"{prefix}/reviews/{{id}}", page(reviews.decide, REVIEWER, back="/reviews"), methods=POST),
        Route(f"{prefix}/grants", page(grants.page, GRANTS)),
        Route(
            f"{prefix}/grants/{{id:int}}/revoke", page(grants.revoke, GRANTS, back="/grants"), methods=POST
        ),
        Route(f"{prefix}/grants/{{id:int}}/renew", page(grants.renew, GRANTS, back="/grants"), methods=POST),
        Route(f"{prefix}/audit", page(auditing.page, AUDITOR), methods=["GET", "POST"]),
        Route(f"{prefix}/history", page(history, SIGNED_IN)),
        # Anything else under the prefix: our 404, with our headers.
        Route(f"{prefix}/{{rest:path}}", page(not_found, ANYONE), methods=["GET", "POST"]),
    ]


async def home(visit: Visit) -> Response:
    if not visit.session.signed_in:
        return sign_in_page(visit)
    cards = [key for key, _, need in NAV if need.allows(visit.roles)]
    pending = overdue = 0
    if visit.roles.reviewer:
        now = dt.datetime.now(dt.UTC)
        waiting = [
            a
            for a in await visit.workflow.applications(visit.subject, state="pending")
            if a.department in visit.roles.reviewer
        ]
        pending, overdue = len(waiting), sum(a.overdue(now) for a in waiting)
    return visit.render("home.html", visit.texts("nav.home"), cards=cards, pending=pending, overdue=overdue)


async def login_link(visit: Visit) -> Response:
    """A login link's one-time ticket: verified, redeemed (never twice), then a 303 so the
    ticket leaves the address bar."""
    ticket = visit.field("ticket")
    if not ticket:
        return visit.redirect("") if visit.session.signed_in else sign_in_page(visit)
    # A token that is no ticket (no jti) is refused here too: a reusable token in an address
    # would stay in the browser's history.
    return await _sign_in(visit, ticket, ticket=True)


async def login(visit: Visit) -> Response:
    """A token pasted from the identity provider; a ticket pasted here is still used once."""
    return await _sign_in(visit, visit.field("token").strip(), ticket=False)


async def _sign_in(visit: Visit, token: str, *, ticket: bool) -> Response:
    runtime = visit.runtime
    try:
        person, claims = person_of(runtime.authenticator, token, runtime.settings.console.audience)
    except Refusal as refused:
        return sign_in_page(visit, refused.status, refused.message, refused.code)
    if (ticket or "jti" in claims) and not await _redeemed(runtime, claims):
        return sign_in_page(visit, 403, visit.texts("error.ticket"), "TICKET_USED")
    visit.session = Session.fresh(person.subject, person.name)  # a new CSRF token too
    return visit.redirect("")


async def _redeemed(runtime: Runtime, claims: dict[str, object]) -> bool:
    if runtime.policy_store is None:
        return False
    try:
        return await redeem_ticket(runtime.policy_store, claims)
    except PolicyStoreError as exc:
        raise store_unavailable(exc) from exc


async def logout(visit: Visit) -> Response:
    visit.session = Session.fresh()  # anonymous, with a new token
    return visit.redirect("", Flash("ok", visit.texts("signin.done")))


async def history(visit: Visit) -> Response:
    rows = await access_history(visit.runtime, visit.subject)
    return visit.render("history.html", visit.texts("nav.history"), rows=rows)


async def not_found(visit: Visit) -> Response:
    if not visit.request.path_params.get("rest"):
        return RedirectResponse(visit.console.prefix, status_code=308)  # "/console/" is "/console"
    return visit.refused(404, "NOT_FOUND", visit.texts("error.notfound"))


@cache
def _css() -> bytes:
    return (resources.files("gateway.console") / STYLESHEET).read_bytes()


async def stylesheet(request: Request) -> Response:
    return secured(Response(_css(), media_type="text/css"))
