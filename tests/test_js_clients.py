"""JavaScript clients against a gateway served over real HTTP: the graphql-http audit
(every MUST and SHOULD of GraphQL over HTTP) and Apollo Client's automatic persisted
queries. Both are the npm packages in tests/js (installed by `make test` with `npm ci`).

Skip without Node.js or the packages; CI sets GOVGRAPH_REQUIRE_NODE=1 so that there they
fail instead.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from gateway.app import create_app
from tests.gateway.support import DEVELOPER, headers, settings
from tests.resolvers.city import CHILD
from tests.stack import served

JS = Path(__file__).parent / "js"
NODE = shutil.which("node")
INSTALLED = NODE is not None and (JS / "node_modules" / "graphql-http").is_dir()
REQUIRED = os.environ.get("GOVGRAPH_REQUIRE_NODE") == "1"
MISSING = "Node.js or tests/js/node_modules is missing (make test runs `npm ci` in tests/js)"
DESK = headers("enterprise-desk", "enterprise_service")

pytestmark = pytest.mark.skipif(not INSTALLED and not REQUIRED, reason=MISSING)


@pytest_asyncio.fixture
async def url() -> AsyncIterator[str]:
    if not INSTALLED:
        pytest.fail(f"GOVGRAPH_REQUIRE_NODE=1 but {MISSING}")
    app = create_app(settings())  # automatic persisted queries in this process's memory
    async with served(app) as base:
        yield f"{base}/graphql"


async def node(script: str, *args: str) -> str:
    assert NODE is not None
    done = await asyncio.to_thread(
        subprocess.run, [NODE, str(JS / script), *args], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


async def test_graphql_http_audit_passes_every_must_and_should(url: str) -> None:
    lines = (await node("audit.mjs", url, json.dumps(DEVELOPER))).splitlines()
    audits = [json.loads(line) for line in lines]
    assert len(audits) >= 30  # the audit ran in full
    failed = [a for a in audits if a["name"].startswith(("MUST", "SHOULD")) and a["status"] != "ok"]
    assert failed == []
    assert {a["status"] for a in audits} == {"ok"}  # the MAYs too


async def apollo(url: str, client: dict[str, str], method: str) -> dict[str, Any]:
    output = await node("apollo.mjs", url, json.dumps(client), json.dumps({"id": CHILD}), method)
    result: dict[str, Any] = json.loads(output)
    return result


@pytest.mark.parametrize("method", ["post", "get"])
async def test_apollo_client_registers_a_hash_then_sends_it_alone(url: str, method: str) -> None:
    run = await apollo(url, DEVELOPER, method)
    first, retry, second = run["exchanges"]
    assert (first["hasQuery"], first["codes"]) == (False, ["PERSISTED_QUERY_NOT_FOUND"])
    assert (retry["hasQuery"], retry["status"], retry["codes"]) == (True, 200, [])
    assert (second["hasQuery"], second["status"], second["codes"]) == (False, 200, [])
    assert second["method"] == method.upper()
    assert run["results"] == [{"data": {"person": {"__typename": "Person", "name": "林小雨"}}}] * 2


async def test_apollo_client_of_a_persisted_only_client_never_sends_its_text(url: str) -> None:
    run = await apollo(url, DESK, "post")
    assert [e["codes"] for e in run["exchanges"]] == [["PERSISTED_QUERY_NOT_IN_LIST"]] * 2
    assert not any(e["hasQuery"] for e in run["exchanges"])  # no retry with the text
    assert all("error" in r for r in run["results"])
