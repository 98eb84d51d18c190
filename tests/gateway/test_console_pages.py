"""The console's pages over HTTP, in a gateway over the demo city with a policy store: the
security headers on every response, the session cookie, CSRF and origin checks that change
nothing, one-time login tickets, pages and forms refused across roles, an expired session,
both languages, and the whole round of applying, deciding, revoking and auditing."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import httpx
import pytest
import pytest_asyncio
from starlette.applications import Starlette

from demo.stack import DemoStack
from gateway.app import create_app
from gateway.audit.store import AuditStore
from gateway.console.people import mint_person_token
from gateway.console.security import CSP
from gateway.console.session import COOKIE, Session, SessionCodec
from sources.stats import CallStats
from tests.policy_store import (
    ADMIN,
    APPLICANT,
    AUDITOR,
    CONSOLE_AUDIENCE,
    CREDIT_REVIEWER,
    DEMO_SECRET,
    TAX_REVIEWER,
    console,
    seeded_store,
)
from tests.stack import client_headers, demo_settings, served

SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cache-control": "no-store",
}
CSP_TEXT = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
SCENARIO = "人才补贴申报时核验用人单位是否列入严重失信主体名单"
BASIS = "厦门市人才政策实施办法第十条"
PERSON_QUERY = "query Child($id: ResidentId!) { person(id: $id) { name } }"


@pytest_asyncio.fixture
async def gateway(demo_city: DemoStack, scratch_db: str) -> AsyncIterator[tuple[Starlette, str]]:
    """A served gateway over the demo city with a seeded policy store; its base URL."""
    store = await seeded_store(scratch_db)
    await store.aclose()
    env = {**demo_city.gateway_env(), "GOVGRAPH_POLICY_DSN": scratch_db, "GOVGRAPH_AUDIT_DSN": scratch_db}
    app = create_app(demo_settings(env), stats=CallStats())
    async with served(app) as url:
        yield app, url


def ticket_link(subject: str, name: str = "") -> str:
    """A login link's path, as the identity provider would issue it (one-time ticket)."""
    ticket = mint_person_token(DEMO_SECRET, subject, name or subject, CONSOLE_AUDIENCE, ticket=True)
    return f"/console/login?ticket={ticket}"


@asynccontextmanager
async def browser(url: str, subject: str | None = None) -> AsyncIterator[httpx.AsyncClient]:
    """A client with its own cookie jar, signed in through a login link when `subject` is given."""
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        if subject is not None:
            signed = await http.get(ticket_link(subject))
            assert signed.status_code == 303, signed.text
            assert signed.headers["location"] == "/console"
        yield http


def token_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


async def post_form(
    http: httpx.AsyncClient, page: str, action: str, data: dict[str, Any], **headers: str
) -> httpx.Response:
    """Post a form as the page at `page` would: with that page's CSRF token."""
    token = token_of((await http.get(page)).text)
    return await http.post(action, data={"csrf": token, **data}, headers=headers)


def assert_secured(response: httpx.Response) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, (response.url, name)


def code_shown(response: httpx.Response, code: str) -> bool:
    return f'<code class="code">{code}</code>' in response.text


def application_form(**changes: Any) -> dict[str, Any]:
    return {
        "client": "talent-policy",
        "purpose": "talent_subsidy",
        "item": ["serious_dishonesty"],
        "items_text": "",
        "masked_text": "",
        "scenario": SCENARIO,
        "legal_basis": BASIS,
        "period_days": "30",
        **changes,
    }


async def applications_of(url: str) -> list[dict[str, Any]]:
    """Every application, as the administrator sees them through the console's API."""
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        answer = await console(http, ADMIN, "{ applications { id state } }")
    found: list[dict[str, Any]] = answer["data"]["applications"]
    return found


async def apply(url: str) -> str:
    """A pending application of the talent-policy app for the dishonesty list; its id."""
    async with browser(url, APPLICANT) as http:
        before = {a["id"] for a in await applications_of(url)}
        done = await post_form(http, "/console/apply", "/console/apply", application_form())
        assert done.status_code == 303, done.text
        (ident,) = {a["id"] for a in await applications_of(url)} - before
        return ident


def test_the_policy_is_the_one_asked_for() -> None:
    assert CSP == CSP_TEXT


async def test_every_response_carries_the_security_headers(
    gateway: tuple[Starlette, str], demo_city: DemoStack
) -> None:
    _, url = gateway
    async with browser(url) as anonymous:
        for path in (
            "/console",
            "/console/login",
            "/console/static/console.css",
            "/console/nope",
            "/console/grants",
        ):
            assert_secured(await anonymous.get(path))
        refused = await anonymous.post("/console/apply", data={"scenario": "x"})
        assert refused.status_code == 403
        assert_secured(refused)
    pages = {
        APPLICANT: [
            "/console",
            "/console/catalog",
            "/console/catalog?q=失信",
            "/console/apply",
            "/console/applications",
        ],
        CREDIT_REVIEWER: ["/console/reviews", "/console/grants", "/console/catalog"],
        AUDITOR: ["/console/audit", "/console/audit?client=talent-policy", "/console/audit?verify=1"],
        demo_city.samples["cases"]["family_child"][0]: ["/console/history", "/console/audit"],
    }
    for subject, paths in pages.items():
        async with browser(url, subject) as http:
            for path in paths:
                response = await http.get(path)
                assert response.status_code in (200, 403), (path, response.text)
                assert_secured(response)
            out = await post_form(http, "/console", "/console/logout", {})
            assert out.status_code == 303
            assert_secured(out)


async def test_session_cookie_attributes(gateway: tuple[Starlette, str]) -> None:
    _, url = gateway
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        signed = await http.get(ticket_link(APPLICANT))
        cookie = signed.headers["set-cookie"]
        assert cookie.startswith(f"{COOKIE}=")
        attributes = {a.strip().split("=")[0].lower(): a.strip() for a in cookie.split(";")[1:]}
        assert attributes["path"] == "Path=/console"
        assert attributes["samesite"] == "SameSite=strict"
        assert attributes["max-age"] == "Max-Age=1800"  # session_minutes = 30, re-issued on each page
        assert "httponly" in attributes
        assert "secure" not in attributes  # 127.0.0.1: loopback only
        # Served under a real name, the cookie is Secure; so is the language's.
        named = await http.get("/console/login?lang=en", headers={"Host": "console.xm.gov.cn"})
        cookies = named.headers.get_list("set-cookie")
        assert len(cookies) == 2
        assert all("Secure" in c and "HttpOnly" in c and "SameSite=strict" in c for c in cookies)


async def test_an_unset_or_short_session_secret_serves_no_page(demo_city: DemoStack, scratch_db: str) -> None:
    env = {**demo_city.gateway_env(), "GOVGRAPH_POLICY_DSN": scratch_db, "GOVGRAPH_AUDIT_DSN": scratch_db}
    settings = demo_settings(env)
    for secret in (None, "too-short-a-key"):
        app = create_app(replace(settings, console=replace(settings.console, session_secret=secret)))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
            for path in ("/console", ticket_link(APPLICANT)):
                response = await http.get(path)
                assert response.status_code == 503
                assert code_shown(response, "CONSOLE_NOT_CONFIGURED")
                assert "set-cookie" not in response.headers
                assert_secured(response)


async def test_forms_without_the_token_or_from_elsewhere_change_nothing(
    gateway: tuple[Starlette, str],
) -> None:
    _, url = gateway
    ident = await apply(url)
    async with browser(url, APPLICANT) as applicant, browser(url, CREDIT_REVIEWER) as reviewer:
        token = token_of((await applicant.get("/console/apply")).text)
        refusals = [
            await applicant.post("/console/apply", data=application_form()),  # no token
            await applicant.post("/console/apply", data={**application_form(), "csrf": token[::-1]}),
            await applicant.post(
                "/console/apply",
                data={**application_form(), "csrf": token},
                headers={"Origin": "https://evil.example"},
            ),
            await applicant.post(
                "/console/apply",
                data={**application_form(), "csrf": token},
                headers={"Sec-Fetch-Site": "cross-site"},
            ),
        ]
        decision = {"decision": "approve", "reason": "ok"}
        reviewer_token = token_of((await reviewer.get("/console/reviews")).text)
        refusals += [
            await reviewer.post(f"/console/reviews/{ident}", data=decision),
            await reviewer.post(f"/console/reviews/{ident}", data={**decision, "csrf": token}),  # another's
            await reviewer.post(
                f"/console/reviews/{ident}",
                data={**decision, "csrf": reviewer_token},
                headers={"Origin": f"{url.replace('127.0.0.1', 'localhost')}"},
            ),
        ]
        codes = [
            ("CSRF_TOKEN_INVALID" if code_shown(r, "CSRF_TOKEN_INVALID") else "CROSS_ORIGIN")
            for r in refusals
        ]
        assert [r.status_code for r in refusals] == [403] * 7
        assert codes == ["CSRF_TOKEN_INVALID"] * 2 + ["CROSS_ORIGIN"] * 2 + ["CSRF_TOKEN_INVALID"] * 2 + [
            "CROSS_ORIGIN"
        ]
        assert [a["state"] for a in await applications_of(url)] == ["pending"]
        # Browsers send `Origin: null` for their own forms under Referrer-Policy: no-referrer.
        accepted = await reviewer.post(
            f"/console/reviews/{ident}",
            data={**decision, "csrf": reviewer_token},
            headers={"Origin": "null", "Sec-Fetch-Site": "same-origin"},
        )
        assert accepted.status_code == 303
        assert [a["state"] for a in await applications_of(url)] == ["approved"]


async def test_a_login_ticket_works_once(gateway: tuple[Starlette, str]) -> None:
    _, url = gateway
    link = ticket_link(APPLICANT, "王申请")
    async with browser(url) as first, browser(url) as second:
        signed = await first.get(link)
        assert signed.status_code == 303
        assert "王申请" in (await first.get("/console")).text
        again = await second.get(link)
        assert again.status_code == 403
        assert code_shown(again, "TICKET_USED")
        assert (await second.get("/console/applications")).status_code == 401
        # A token without a jti is no ticket: refused in an address.
        plain = mint_person_token(DEMO_SECRET, APPLICANT, APPLICANT, CONSOLE_AUDIENCE)
        assert (await second.get(f"/console/login?ticket={plain}")).status_code == 403
        # Pasted into the sign-in form, a token signs in; a used ticket does not.
        pasted = await post_form(second, "/console/login", "/console/login", {"token": plain})
        assert pasted.status_code == 303
        assert (await second.get("/console/applications")).status_code == 200
    async with browser(url) as third:
        reused = await post_form(third, "/console/login", "/console/login", {"token": link.split("=", 1)[1]})
        assert reused.status_code == 403
        assert code_shown(reused, "TICKET_USED")
        forged = await post_form(third, "/console/login", "/console/login", {"token": plain[:-4] + "AAAA"})
        assert forged.status_code == 401
        assert code_shown(forged, "UNAUTHENTICATED")


async def test_pages_and_forms_of_another_role_are_refused(
    gateway: tuple[Starlette, str], demo_city: DemoStack
) -> None:
    _, url = gateway
    ident = await apply(url)
    resident = demo_city.samples["cases"]["family_child"][0]
    async with browser(url, APPLICANT) as applicant:
        # The applicant has no reviewer role: the page and its form are refused.
        assert (await applicant.get("/console/reviews")).status_code == 403
        posted = await post_form(
            applicant,
            "/console/apply",
            f"/console/reviews/{ident}",
            {"decision": "approve", "reason": "自批"},
        )
        assert posted.status_code == 403
        assert code_shown(posted, "FORBIDDEN")
    async with browser(url, TAX_REVIEWER) as tax:
        # A reviewer of another department sees no such application and may not decide it.
        assert ident not in (await tax.get("/console/reviews")).text
        decided = await post_form(
            tax, "/console/reviews", f"/console/reviews/{ident}", {"decision": "approve", "reason": "越权"}
        )
        assert (decided.status_code, decided.headers["location"]) == (303, "/console/reviews")
        shown = await tax.get("/console/reviews")
        assert code_shown(shown, "FORBIDDEN")
        assert "XM-XY" in shown.text
        assert "FORBIDDEN" not in (await tax.get("/console/reviews")).text  # shown once
        assert (await tax.get("/console/audit")).status_code == 403
    async with browser(url, resident) as citizen:
        home = await citizen.get("/console")
        assert 'href="/console/history"' in home.text
        assert 'href="/console/audit"' not in home.text
        assert 'href="/console/catalog"' not in home.text
        for page in ("/console/audit", "/console/reviews", "/console/catalog", "/console/grants"):
            assert (await citizen.get(page)).status_code == 403
        searched = await post_form(citizen, "/console/history", "/console/audit", {"subject": resident})
        assert searched.status_code == 403
    assert [a["state"] for a in await applications_of(url)] == ["pending"]


async def test_an_expired_session_is_refused(gateway: tuple[Starlette, str]) -> None:
    app, url = gateway
    settings = app.state.runtime.settings.console
    codec = SessionCodec(settings.session_secret, settings.session_minutes, "/console")
    session = Session.fresh(APPLICANT, APPLICANT)
    stale = codec.encode(session, now=time.time() - settings.session_minutes * 60 - 5)
    fresh = codec.encode(session)
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        for cookie, status in ((fresh, 200), (stale, 401)):
            page = await http.get("/console/applications", headers={"Cookie": f"{COOKIE}={cookie}"})
            assert page.status_code == status
        expired = await http.get("/console/applications", headers={"Cookie": f"{COOKIE}={stale}"})
        assert "会话已过期" in expired.text
        posted = await http.post(
            "/console/apply",
            data={**application_form(), "csrf": session.csrf},
            headers={"Cookie": f"{COOKIE}={stale}"},
        )
        assert posted.status_code == 403
    assert await applications_of(url) == []


async def test_chinese_by_default_and_english_on_request(
    gateway: tuple[Starlette, str], demo_city: DemoStack
) -> None:
    _, url = gateway
    await apply(url)
    pages = {
        APPLICANT: [
            "/console",
            "/console/catalog",
            "/console/apply",
            "/console/applications",
            "/console/grants",
        ],
        CREDIT_REVIEWER: ["/console/reviews"],
        AUDITOR: ["/console/audit?verify=1", "/console/audit?client=talent-policy"],
        ADMIN: ["/console/grants", "/console/applications"],
        demo_city.samples["cases"]["family_child"][0]: ["/console/history"],
    }
    for subject, paths in pages.items():
        async with browser(url, subject) as http:
            for path in paths:
                chinese = await http.get(path)
                assert chinese.status_code == 200, (path, chinese.text)
                assert '<html lang="zh-CN">' in chinese.text
                assert "退出" in chinese.text
                english = await http.get(path, params={"lang": "en"})
                assert '<html lang="en">' in english.text
                assert "Sign out" in english.text
                assert "govgraph_lang=en" in english.headers["set-cookie"]
                kept = await http.get(path)  # the cookie keeps the choice
                assert '<html lang="en">' in kept.text
                assert 'href="' + path.split("?")[0] in kept.text  # the switch link keeps the page
                await http.get(path, params={"lang": "zh"})
    async with browser(url) as anonymous:
        assert "登录" in (await anonymous.get("/console")).text
        assert "Sign in" in (await anonymous.get("/console", params={"lang": "en"})).text


async def test_apply_review_grant_revoke_and_audit(
    gateway: tuple[Starlette, str], demo_city: DemoStack, scratch_db: str
) -> None:
    app, url = gateway
    async with browser(url, APPLICANT) as applicant:
        catalogue = await applicant.get("/console/catalog", params={"q": "严重失信"})
        assert 'value="serious_dishonesty"' in catalogue.text
        assert "有条件共享" in catalogue.text
        assert 'value="Enterprise.hasNoSeriousDishonesty"' in catalogue.text
        assert "<h2>厦门市公安局" not in catalogue.text  # the search kept only what it names
        english = await applicant.get("/console/catalog", params={"q": "dishonesty", "lang": "en"})
        assert 'value="serious_dishonesty"' in english.text
        by_department = await applicant.get("/console/catalog", params={"dept": "XM-SW", "lang": "zh"})
        assert "credit_ratings.grade" in by_department.text
        assert "serious_dishonesty" not in by_department.text
        form = await applicant.get("/console/apply", params={"item": "serious_dishonesty"})
        assert "严重失信主体名单" in form.text
        assert "talent_subsidy" in form.text

        # A refusal comes back on the form, with its code, as typed.
        refused = await post_form(
            applicant, "/console/apply", "/console/apply", application_form(item=["credit_warning.score"])
        )
        assert refused.status_code == 400
        assert code_shown(refused, "NOT_SHARED")
        assert SCENARIO in refused.text
        done = await post_form(applicant, "/console/apply", "/console/apply", application_form())
        assert done.headers["location"] == "/console/applications"
        listed = await applicant.get("/console/applications")
        assert "待审核" in listed.text
        assert "已提交" in listed.text
    (application,) = await applications_of(url)
    async with browser(url, CREDIT_REVIEWER) as reviewer:
        pending = await reviewer.get("/console/reviews")
        assert application["id"] in pending.text
        assert SCENARIO in pending.text
        blank = await post_form(
            reviewer,
            "/console/reviews",
            f"/console/reviews/{application['id']}",
            {"decision": "approve", "reason": " "},
        )
        assert blank.status_code == 303
        assert code_shown(await reviewer.get("/console/reviews"), "BAD_USER_INPUT")
        approved = await post_form(
            reviewer,
            "/console/reviews",
            f"/console/reviews/{application['id']}",
            {"decision": "approve", "reason": "用途明确"},
        )
        assert approved.status_code == 303
        assert "已批准" in (await reviewer.get("/console/reviews")).text
        grants = await reviewer.get("/console/grants", params={"client": "talent-policy"})
        grant = re.findall(r'action="/console/grants/(\d+)/revoke"', grants.text)
        assert len(grant) == 1, "the reviewer may revoke their department's grant, not the imported one"
        revoked = await post_form(
            reviewer, "/console/grants", f"/console/grants/{grant[0]}/revoke", {"reason": "用途已结束"}
        )
        assert revoked.status_code == 303
        after = await reviewer.get("/console/grants", params={"client": "talent-policy"})
        assert "已撤销" in after.text
        assert f"/console/grants/{grant[0]}/revoke" not in after.text
        again = await reviewer.post(
            f"/console/grants/{grant[0]}/renew",
            data={"csrf": token_of(after.text), "days": "30", "reason": "续期"},
        )
        assert again.status_code == 303
        assert code_shown(await reviewer.get("/console/grants"), "CONFLICT")

    # A client's read of a person, then the auditor's look-ups and the chain.
    child = demo_city.samples["cases"]["family_child"][0]
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        read = await http.post(
            "/graphql",
            json={"query": PERSON_QUERY, "variables": {"id": child}},
            headers=client_headers(app, "enrollment"),
        )
        assert read.json()["data"]["person"]["name"]
    async with browser(url, AUDITOR) as auditor:
        found = await post_form(
            auditor, "/console/audit", "/console/audit", {"subject": f" {child.lower()} "}
        )
        assert "Child" in found.text
        assert "XM-GX-2026-0012" in found.text
        assert "person.identity" in found.text
        by_client = await auditor.get("/console/audit", params={"client": "talent-policy"})
        assert "policy.revoke" in by_client.text
        assert "policy.approve" in by_client.text
        chain = await auditor.get("/console/audit", params={"verify": "1"})
        assert "完整" in chain.text
    store = AuditStore(scratch_db)
    try:
        events = await store.client_events("talent-policy", 10)
        watched = await store.client_events("console", 10)
    finally:
        await store.aclose()
    assert [e["operation"] for e in events[:3]] == ["policy.revoke", "policy.approve", "policy.apply"]
    assert events[0]["detail"]["reason"] == "用途已结束"
    # The auditor's look-up of the child is itself on record, as an access to the child.
    assert [(e["operation"], e["operator"]) for e in watched] == [("console.accessLog", AUDITOR)]


async def test_a_page_reached_from_another_site_reloads_itself(gateway: tuple[Starlette, str]) -> None:
    """Browsers withhold SameSite=Strict cookies from a navigation another site started: the
    page is answered with a reload of its own, and nothing is read or redeemed until then."""
    _, url = gateway
    link = ticket_link(APPLICANT)
    elsewhere = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"}
    async with browser(url) as http:
        bounced = await http.get(link, headers=elsewhere)
        assert bounced.status_code == 200
        assert f'<meta http-equiv="refresh" content="0; url={link}">' in bounced.text
        assert "set-cookie" not in bounced.headers
        assert_secured(bounced)
        signed = await http.get(link, headers={"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "navigate"})
        assert signed.status_code == 303  # the ticket was not used by the first visit
        assert (await http.get("/console/applications")).status_code == 200


@pytest.mark.parametrize("path", ["/console/", "/console/nope/deeper"])
async def test_unknown_pages(gateway: tuple[Starlette, str], path: str) -> None:
    _, url = gateway
    async with browser(url) as http:
        response = await http.get(path)
    if path.endswith("/"):
        assert (response.status_code, response.headers["location"]) == (308, "/console")
    else:
        assert response.status_code == 404
        assert code_shown(response, "NOT_FOUND")
    assert_secured(response)
