"""How every console page is served, in one place: the security headers, the language, the
session (re-issued on each page), a POST's origin and CSRF token checked before anything
is read or changed, the sign-in and role a page needs, and a workflow refusal shown with
its code (after a redirect for a form, on the page otherwise), never as a 500.

A page is a handler taking a `Visit` (the request with its session, roles and words) and
the `Need` it serves; `Console.page` wraps it.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from gateway.applications.errors import WorkflowError
from gateway.applications.model import Roles
from gateway.applications.workflow import Workflow
from gateway.audit.errors import AuditStoreError
from gateway.console.i18n import LANGS, Texts, language, remember_language
from gateway.console.navigation import NAV, Need
from gateway.console.render import Renderer
from gateway.console.security import foreign_post, matching_token, secured
from gateway.console.session import MIN_SECRET, Flash, Session, SessionCodec

if TYPE_CHECKING:
    from gateway.runtime import Runtime

__all__ = ["Console", "Visit", "sign_in_page", "status_of"]


log = logging.getLogger("govgraph.console")

# What a browser says of a request from another site's page (Sec-Fetch-Site).
_ELSEWHERE = frozenset({"cross-site", "same-site"})
_STATUS = {"FORBIDDEN": 403, "NOT_FOUND": 404, "CONFLICT": 409, "POLICY_STORE_UNAVAILABLE": 503}


def status_of(code: str) -> int:
    """The HTTP status a page refused with a workflow code answers with."""
    return _STATUS.get(code, 400)


@dataclass
class Visit:
    request: Request
    console: Console
    session: Session  # replaced by sign-in and sign-out; issued again with the response
    texts: Texts
    roles: Roles
    form: FormData | None = None
    flash: Flash | None = None  # the message this page shows (from the previous one)

    @property
    def runtime(self) -> Runtime:
        return self.console.runtime

    @property
    def workflow(self) -> Workflow:
        workflow = self.console.runtime.workflow
        if workflow is None:  # the console refuses every page without one (Console._serve)
            raise WorkflowError("POLICY_STORE_UNAVAILABLE", "The console needs a policy store.")
        return workflow

    @property
    def subject(self) -> str:
        return self.session.subject or ""

    def field(self, name: str) -> str:
        value = self.form.get(name) if self.form is not None else self.request.query_params.get(name)
        return value if isinstance(value, str) else ""

    def fields(self, name: str) -> list[str]:
        source = self.form if self.form is not None else self.request.query_params
        return [v for v in source.getlist(name) if isinstance(v, str)]

    def render(self, template: str, title: str, status: int = 200, **values: Any) -> Response:
        html = self.console.page_html(self.request, self.texts, template, title, values, self)
        return HTMLResponse(html, status_code=status)

    def redirect(self, path: str, flash: Flash | None = None) -> Response:
        """After a form: see the page (303), with what the form did shown once."""
        self.session = replace(self.session, flash=flash)
        return RedirectResponse(self.console.prefix + path, status_code=303)

    def refused(self, status: int, code: str, message: str) -> Response:
        return self.render("error.html", self.texts("error.title"), status, code=code, message=message)


Handler = Callable[[Visit], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]


class Console:
    def __init__(self, runtime: Runtime, prefix: str) -> None:
        self.runtime, self.prefix = runtime, prefix
        settings = runtime.settings
        self.renderer = Renderer(settings.applications.timezone)
        secret = settings.console.session_secret or ""
        self.codec = (
            SessionCodec(secret, settings.console.session_minutes, prefix)
            if len(secret) >= MIN_SECRET
            else None
        )

    def page(self, handler: Handler, need: Need, *, back: str | None = None) -> Endpoint:
        """`handler` as an endpoint for people with `need`; `back`: the page a refused form
        returns to, with the refusal shown there."""

        async def endpoint(request: Request) -> Response:
            try:
                return secured(await self._serve(request, handler, need, back))
            except Exception:  # a bug: logged with an id the page shows, never a traceback
                error_id = uuid.uuid4().hex[:16]
                log.exception("console: internal error %s at %s", error_id, request.url.path)
                texts = Texts(language(request)[0])
                message = f"Internal error {error_id}."
                return secured(self._bare(request, texts, 500, "INTERNAL_SERVER_ERROR", message))

        return endpoint

    async def _serve(self, request: Request, handler: Handler, need: Need, back: str | None) -> Response:
        lang, chosen = language(request)
        texts = Texts(lang)
        if self.codec is None:
            return self._bare(request, texts, 503, "CONSOLE_NOT_CONFIGURED", texts("error.secret"))
        if self.runtime.workflow is None:
            return self._bare(request, texts, 503, "POLICY_STORE_REQUIRED", texts("error.store"))
        if request.method == "GET" and request.headers.get("sec-fetch-site") in _ELSEWHERE:
            return self._bounce(request, texts)
        session, stale = self.codec.read(request)
        form = None
        if request.method == "POST":
            if foreign_post(request):
                return self._bare(request, texts, 403, "CROSS_ORIGIN", texts("error.origin"))
            declared = request.headers.get("content-length", "")
            if not declared.isdigit() or int(declared) > self.runtime.settings.limits.body_bytes:
                # A form is small: one without a length, or over the gateway's body limit, is not read.
                return self._bare(request, texts, 413, "OPERATION_LIMIT", texts("error.body"))
            try:
                form = await request.form(max_files=0, max_fields=200)
            except HTTPException as exc:  # a malformed body
                return self._bare(request, texts, 400, "BAD_USER_INPUT", str(exc.detail))
            if session is None or not matching_token(session.csrf, form.get("csrf")):
                return self._bare(request, texts, 403, "CSRF_TOKEN_INVALID", texts("error.csrf"))
        flash, session = (session or Session.fresh()).taking_flash()
        visit = Visit(request, self, session, texts, Roles(person=""), form, flash)
        response = await self._visit(visit, handler, need, stale, back)
        self.codec.write(response, request, visit.session)
        if chosen:
            remember_language(response, request, lang, self.prefix)
        return response

    async def _visit(
        self, visit: Visit, handler: Handler, need: Need, stale: bool, back: str | None
    ) -> Response:
        texts = visit.texts
        if need.signed_in and not visit.session.signed_in:
            note = texts("signin.expired") if stale else texts("signin.required")
            return sign_in_page(visit, 401, note)
        try:
            if visit.session.signed_in:
                visit.roles = await visit.workflow.roles(visit.subject)
            if not need.allows(visit.roles):
                return visit.refused(403, "FORBIDDEN", texts("error.role", role=texts(need.role)))
            return await handler(visit)
        except WorkflowError as exc:
            if visit.form is not None and back is not None:
                return visit.redirect(back, Flash("error", exc.message, exc.code))
            return visit.refused(status_of(exc.code), exc.code, exc.message)
        except AuditStoreError as exc:
            log.error("console: audit store: %s", exc)  # its host and the driver's words stay here
            return visit.refused(503, "AUDIT_UNAVAILABLE", texts("error.audit"))

    def page_html(
        self,
        request: Request,
        texts: Texts,
        template: str,
        title: str,
        values: dict[str, Any],
        visit: Visit | None = None,
    ) -> str:
        """A page; without a visit (a refusal before the session is trusted), no navigation."""
        path = request.url.path
        other = LANGS[1 - LANGS.index(texts.lang)]
        query = {k: v for k, v in request.query_params.items() if k != "lang"} | {"lang": other}
        nav = []
        if visit is not None and visit.session.signed_in:
            nav = [(key, self.prefix + href) for key, href, need in NAV if need.allows(visit.roles)]
        return self.renderer.render(
            template,
            {
                "t": texts,
                "lang": texts.lang,
                "prefix": self.prefix,
                "title": title,
                "here": path,
                "nav": nav,
                "switch": f"{path}?{urlencode(query)}",
                "session": visit.session if visit is not None else None,
                "roles": visit.roles if visit is not None else None,
                "flash": visit.flash if visit is not None else None,
                **values,
            },
        )

    def _bounce(self, request: Request, texts: Texts) -> Response:
        """A link followed from another site (a login link in an e-mail): the browser withheld
        the SameSite=Strict cookies, and would for every page reached from it by redirects.
        The page reloads itself from here, as a navigation of our own, and the cookies come;
        nothing was read or changed (a login ticket is redeemed on the second visit)."""
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return HTMLResponse(
            self.page_html(request, texts, "bounce.html", texts("bounce.title"), {"target": target})
        )

    def _bare(self, request: Request, texts: Texts, status: int, code: str, message: str) -> Response:
        """A refusal before the session is trusted: no navigation, the cookie untouched."""
        values: dict[str, Any] = {"code": code, "message": message}
        return HTMLResponse(
            self.page_html(request, texts, "error.html", texts("error.title"), values), status
        )


def sign_in_page(
    visit: Visit, status: int = 200, note: str | None = None, code: str | None = None
) -> Response:
    return visit.render("signin.html", visit.texts("signin.title"), status, note=note, code=code)
