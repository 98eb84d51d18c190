"""GraphiQL in a real headless Chromium over the demo city, with every request to another
origin refused: the page, its scripts, fonts and queries all come from the gateway.

Skips without Debian's chromium; CI installs it and sets GOVGRAPH_REQUIRE_CHROMIUM=1,
which turns the skip into a failure.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import httpx
import pytest
from playwright.async_api import (
    Browser,
    ConsoleMessage,
    Request,
    Route,
    async_playwright,
    expect,
)

from demo.stack import DemoStack
from sources.stats import CallStats
from tests.gateway.test_graphiql import OPERATIONS as GRAPHIQL_TABS
from tests.stack import gateway_app, served

CHROMIUM = Path("/usr/bin/chromium")
INSTALLED = CHROMIUM.exists()
REQUIRED = os.environ.get("GOVGRAPH_REQUIRE_CHROMIUM") == "1"
MISSING = f"{CHROMIUM} is not installed (apt-get install chromium)"
DEV = {"X-API-Key": "demo-only-developer-api-key", "X-Purpose": "development"}
OPERATIONS = GRAPHIQL_TABS
WAIT = 20_000  # ms: the first answers warm the city's pools

pytestmark = [
    pytest.mark.slow,
    # Decided before the demo city starts; with REQUIRED the test runs and fails instead.
    pytest.mark.skipif(not INSTALLED and not REQUIRED, reason=MISSING),
]


async def names_of(url: str, ids: list[str]) -> list[str]:
    """The persons' names, asked over plain HTTP: what the browser must show."""
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.post(
            f"{url}/graphql",
            json={
                "query": "query($ids: [ResidentId!]!) { persons(ids: $ids) { name } }",
                "variables": {"ids": ids},
            },
            headers=DEV,
        )
    names = [p["name"] for p in response.json()["data"]["persons"]]
    assert all(names), names
    return names


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    if not INSTALLED:
        pytest.fail(f"GOVGRAPH_REQUIRE_CHROMIUM=1 but {MISSING}")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield browser
        finally:
            await browser.close()


def operation_sent(request: Request) -> list[str | None]:
    """The operation name a query GraphiQL runs goes out under (not its schema fetches)."""
    if request.method != "POST" or urlsplit(request.url).path != "/graphql":
        return []
    body = request.post_data_json
    name = body.get("operationName") if isinstance(body, dict) else None
    return [] if name == "IntrospectionQuery" else [name]


async def test_graphiql_runs_the_demo_operations_with_no_other_origin(demo_city: DemoStack) -> None:
    # The page's examples are this city's samples: the presets the demo stack wrote for it,
    # which its gateway_env() names.
    cases = demo_city.samples["cases"]
    child, worker, typed = cases["family_child"][0], cases["changed_employer"][0], cases["family_child"][5]
    elsewhere: list[str] = []
    sockets: list[str] = []
    errors: list[str] = []
    sent: list[str | None] = []  # operation names of the queries run, in order
    async with served(gateway_app(demo_city.gateway_env(), CallStats())) as url:
        names = await names_of(url, [child, worker, typed])
        origin = urlsplit(url)[:2]

        async def only_the_gateway(route: Route) -> None:
            if urlsplit(route.request.url)[:2] == origin:
                await route.continue_()
            else:
                elsewhere.append(route.request.url)
                await route.abort()

        # Two nets: the page's CSP stops a request to another origin before it is sent, and
        # Chromium reports that as a console error; anything CSP let through reaches the
        # route above, which refuses and records it.
        def console(message: ConsoleMessage) -> None:
            if message.type == "error":
                errors.append(message.text)

        async with chromium() as browser:
            context = await browser.new_context()
            await context.route("**/*", only_the_gateway)  # pages and workers alike
            page = await context.new_page()
            page.on("websocket", lambda ws: sockets.append(ws.url))
            page.on("console", console)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("request", lambda request: sent.extend(operation_sent(request)))
            await page.goto(f"{url}/graphql")

            tabs = page.locator(".graphiql-tab-button")
            await expect(tabs).to_have_text(OPERATIONS, timeout=WAIT)
            answer = page.locator(".graphiql-response")

            # The first registered operation as the page opens it: sample ids, demo headers.
            await page.locator(".graphiql-query-editor .CodeMirror").click()
            await page.keyboard.press("Control+Enter")
            await expect(answer).to_contain_text(names[0], timeout=WAIT)

            # Another one, picked from its tab and run at once with the execute button,
            # before GraphiQL has read the tab's operation name (100 ms after a change):
            # the request carries the tab's own operation, not the previous tab's.
            await tabs.filter(has_text="TalentCheck").click()
            await page.locator(".graphiql-execute-button").click()
            await expect(answer).to_contain_text(names[1], timeout=WAIT)

            # A query of one's own, in a new tab (which gets the demo headers too).
            await page.locator(".graphiql-tab-add").click()
            await page.locator(".graphiql-query-editor .CodeMirror").click()
            await page.keyboard.press("Control+A")
            await page.keyboard.insert_text(f'query Typed {{ person(id: "{typed}") {{ name age }} }}')
            await page.locator(".graphiql-execute-button").click()  # at once, as a tab switched to
            await expect(answer).to_contain_text(names[2], timeout=WAIT)
            assert sent == ["EnrolmentReview", "TalentCheck", "Typed"]

    assert elsewhere == [], "the page tried to reach another origin"
    assert sockets == []
    assert errors == [], "console errors (a CSP violation is one)"


async def test_a_link_opens_its_query_in_a_tab_of_its_own(demo_city: DemoStack) -> None:
    """GraphiQL's link convention: ?query=, &variables=, &operationName= open in a tab that
    runs the operation named, beside the registered ones; the same link again, or a reload,
    opens no second tab."""
    worker = demo_city.samples["cases"]["changed_employer"][0]
    document = (
        "query Age($id: ResidentId!) { person(id: $id) { age } }\n"
        "query Named($id: ResidentId!) { person(id: $id) { name } }"
    )
    link = {"query": document, "variables": json.dumps({"id": worker}), "operationName": "Named"}
    sent: list[str | None] = []
    async with served(gateway_app(demo_city.gateway_env(), CallStats())) as url, chromium() as browser:
        (name,) = await names_of(url, [worker])
        page = await (await browser.new_context()).new_page()
        page.on("request", lambda request: sent.extend(operation_sent(request)))
        await page.goto(f"{url}/graphql?{urlencode(link)}")

        tabs = page.locator(".graphiql-tab-button")
        active = page.locator(".graphiql-tab-active .graphiql-tab-button")
        answer = page.locator(".graphiql-response")
        await expect(tabs).to_have_text([*OPERATIONS, "Named"], timeout=WAIT)
        await expect(active).to_have_text("Named")
        await expect(page).to_have_url(f"{url}/graphql")  # read, then dropped from the address
        await page.keyboard.press("Control+Enter")  # the editor has the cursor in the operation named
        await expect(answer).to_contain_text(name, timeout=WAIT)
        assert sent == ["Named"]

        await tabs.filter(has_text="TalentCheck").click()
        await page.goto(f"{url}/graphql?{urlencode(link)}")
        await expect(active).to_have_text("Named", timeout=WAIT)
        await page.reload()
        await expect(active).to_have_text("Named", timeout=WAIT)
        await expect(tabs).to_have_text([*OPERATIONS, "Named"])
        await page.keyboard.press("Control+Enter")  # the tab's operation is still the one selected
        await expect(answer).to_contain_text(name, timeout=WAIT)
        assert sent == ["Named", "Named"]
