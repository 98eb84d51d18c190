"""CORS as Chromium applies it: a page from a listed origin calls /graphql with its
credentials and reads the answer, refusals and their request ids included; a page from
an origin not listed cannot read anything.

Skips without Debian's chromium unless GOVGRAPH_REQUIRE_CHROMIUM=1 (as the GraphiQL
browser test does)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from gateway.app import create_app
from tests.gateway.test_graphiql_browser import INSTALLED, MISSING, REQUIRED, chromium
from tests.stack import served

from .support import DEVELOPER, settings

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not INSTALLED and not REQUIRED, reason=MISSING)]

# Run in the page: a POST with the headers given, and what the page can read of the answer.
CALL = """async ([url, headers]) => {
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: {"Content-Type": "application/json", ...headers},
      body: JSON.stringify({query: "{ __typename }"}),
    });
    const body = await response.json();
    return {status: response.status, body, requestId: response.headers.get("x-request-id")};
  } catch (error) {
    return {failed: String(error)};
  }
}"""


def web_application() -> Starlette:
    """Another origin's page: any page will do, the test script runs in it."""
    return Starlette(routes=[Route("/", lambda request: HTMLResponse("<!doctype html><title>app</title>"))])


async def test_a_listed_origin_reads_answers_and_refusals_another_reads_nothing() -> None:
    async with served(web_application()) as page_origin, served(web_application()) as other_origin:
        listed = settings()
        listed = replace(listed, gateway=replace(listed.gateway, cors_origins=(page_origin,)))
        async with served(create_app(listed)) as gateway, chromium() as browser:
            endpoint = f"{gateway}/graphql"
            page = await (await browser.new_context()).new_page()
            await page.goto(page_origin)
            answer: dict[str, Any] = await page.evaluate(CALL, [endpoint, DEVELOPER])
            refusal: dict[str, Any] = await page.evaluate(
                CALL, [endpoint, {"Authorization": DEVELOPER["Authorization"]}]
            )
            await page.goto(other_origin)
            elsewhere: dict[str, Any] = await page.evaluate(CALL, [endpoint, DEVELOPER])

    assert answer["status"] == 200
    assert answer["body"]["data"] == {"__typename": "Query"}
    assert answer["requestId"]  # exposed to the page
    assert refusal["status"] == 403
    assert refusal["body"]["errors"][0]["extensions"]["code"] == "PURPOSE_REQUIRED"
    assert refusal["requestId"]
    assert "failed" in elsewhere, elsewhere  # the preflight is refused: the page learns nothing
