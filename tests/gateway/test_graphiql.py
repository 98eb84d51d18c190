"""GraphiQL: served with every asset from the gateway itself, opening on the registered
operations, with the demo's headers only where the demo's key is accepted.

The demo's headers and examples reach the page as the demo gives them: a presets file
(demo/graphiql.py) named by `[gateway] graphiql_presets`."""

from __future__ import annotations

import hashlib
import json
import re
from base64 import b64encode
from pathlib import Path
from typing import Any

import httpx
import pytest

from demo.graphiql import write_presets
from demo.keys import DEMO_API_KEY
from gateway.app import create_app
from gateway.config.settings import AuthConfig, ConfigError, GatewaySettings, Settings, parse_settings
from gateway.http.graphiql import ASSETS
from gateway.policy.model import Policy, parse_policy
from tests.resolvers import city

ROOT = Path(__file__).parents[2]
EMPTY = Policy(purposes={}, clients={}, grants={})
DEMO_HEADERS = {"X-API-Key": DEMO_API_KEY, "X-Purpose": "development"}
OPERATIONS = [
    "EnrolmentReview",
    "EnterpriseProfile",
    "HouseholdPrefill",
    "PolicyCashingPrefill",
    "SubjectAccess",
    "TalentCheck",
]


def settings(
    graphiql: bool = True, secret: str = "test-secret-for-graphiql", presets: Path | None = None
) -> Settings:
    return Settings(
        gateway=GatewaySettings(
            graphiql=graphiql, graphiql_presets=None if presets is None else str(presets)
        ),
        sources=tuple(city.specs()),
        auth=AuthConfig(policy=str(ROOT / "policy.toml"), hs256_secret=secret),
        documents=str(ROOT / "documents"),
    )


async def get_page(app: Any) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        return await client.get("/graphql", headers={"Accept": "text/html"})


def operation(tab: dict[str, str]) -> str:
    found = re.search(r"^query (\w+)", tab["query"], re.MULTILINE)
    assert found is not None
    return found.group(1)


def page_config(page: httpx.Response) -> dict[str, Any]:
    found = re.search(r'<script type="application/json" id="govgraph-graphiql">(.*?)</script>', page.text)
    assert found is not None
    config: dict[str, Any] = json.loads(found.group(1))
    return config


async def test_graphiql_page_loads_nothing_from_elsewhere() -> None:
    app = create_app(settings())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        page = await client.get("/graphql", headers={"Accept": "text/html"})
        assert page.status_code == 200
        # The browser itself refuses anything from another origin.
        csp = page.headers["content-security-policy"]
        assert "default-src 'none'" in csp
        assert "script-src 'self';" in csp
        assert "connect-src 'self'" in csp
        assert not re.search(r"https?://", page.text)
        addresses = re.findall(r'(?:src|href)="([^"]*)"', page.text)
        assets = re.findall(r'(?:src|href)="(/graphiql-assets/[^"]+)"\s+integrity="([^"]+)"', page.text)
        assert len(assets) == 7
        assert set(addresses) == {path for path, _ in assets} | {"data:,"}
        for path, integrity in assets:
            asset = await client.get(path)
            assert asset.status_code == 200, path
            digest = "sha384-" + b64encode(hashlib.sha384(asset.content).digest()).decode()
            assert digest == integrity, path


def test_vendored_styles_and_scripts_point_nowhere_else() -> None:
    assert list(ASSETS.glob("*.css")), ASSETS  # something to check
    assert list(ASSETS.glob("*.js")), ASSETS
    for css in ASSETS.glob("*.css"):
        text = css.read_text(encoding="utf-8")
        assert "@import" not in text, css.name
        assert all(u.startswith("data:") for u in re.findall(r"url\(\s*['\"]?([^'\")]*)", text)), css.name
    for asset in [*ASSETS.glob("*.css"), *ASSETS.glob("*.js")]:
        for source_map in re.findall(r"sourceMappingURL=(\S+)", asset.read_text(encoding="utf-8")):
            assert "//" not in source_map, asset.name  # relative, so never fetched from elsewhere


async def test_the_page_needs_no_credentials_but_queries_do() -> None:
    app = create_app(settings())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        page = await client.get("/graphql", headers={"Accept": "text/html"})
        query = await client.post("/graphql", json={"query": "{ __typename }"})
    assert page.status_code == 200
    assert query.status_code == 401


async def test_a_link_with_a_query_opens_the_page_for_browsers_and_runs_for_clients() -> None:
    """`/graphql?query=...` from a browser (a navigation asks for HTML) is the page, which
    opens the link's query (tests/gateway/test_graphiql_browser.py); from an API client it is
    the query, with credentials as ever."""
    link = {"query": "{ __typename }", "variables": "{}", "operationName": "Q"}
    app = create_app(settings())
    transport = httpx.ASGITransport(app=app)
    browser = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        page = await client.get("/graphql", params=link, headers=browser)
        anonymous = await client.get("/graphql", params={"query": "{ __typename }"})
        api = await client.get("/graphql", params={"query": "{ __typename }"}, headers=DEMO_HEADERS)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "content-security-policy" in page.headers
    assert page_config(page) == page_config(await get_page(app))  # the link is read in the browser
    assert anonymous.status_code == 401
    assert api.status_code == 200
    assert api.json()["data"] == {"__typename": "Query"}


async def test_with_the_demo_key_the_tabs_are_ready_to_run(tmp_path: Path) -> None:
    presets = write_presets(tmp_path, {})  # a city with no samples
    config = page_config(await get_page(create_app(settings(presets=presets))))
    tabs = config["tabs"]
    assert [operation(t) for t in tabs] == OPERATIONS
    assert all(json.loads(t["headers"]) == DEMO_HEADERS for t in tabs)
    assert json.loads(config["headers"]) == DEMO_HEADERS  # for new tabs
    variables = {name: json.loads(t["variables"]) for name, t in zip(OPERATIONS, tabs, strict=True)}
    # The default demo city's ids (README: the first family_child of `govgraph samples`).
    assert variables["EnrolmentReview"]["ids"][0] == "350203201408264925"
    assert variables["TalentCheck"] == {"id": "350203197812054285", "months": 24, "within": 36}


async def test_the_examples_use_the_current_demo_citys_samples(tmp_path: Path) -> None:
    cases = {"family_child": ["350211201901280873", "350211202006164125"], "jimei_household": []}
    presets = write_presets(tmp_path, {"cases": cases})
    tabs = page_config(await get_page(create_app(settings(presets=presets))))["tabs"]
    variables = {name: json.loads(t["variables"]) for name, t in zip(OPERATIONS, tabs, strict=True)}
    assert variables["EnrolmentReview"] == {"ids": cases["family_child"]}
    assert variables["SubjectAccess"] == {"subject": "350211201901280873"}
    assert variables["HouseholdPrefill"] == {"number": "350211004775577"}  # an empty case: the default


async def test_without_the_demo_key_the_headers_are_a_template(tmp_path: Path) -> None:
    policy = (ROOT / "policy.toml").read_text(encoding="utf-8")
    without_key = re.sub(r"api_key_sha256 = \[[^]]*\]\n", "", policy)
    assert without_key != policy
    app = create_app(settings(presets=write_presets(tmp_path, {})))
    assert "demo-only" in (await get_page(app)).text
    # A policy reloaded without the demo's key: the page is rebuilt without it.
    app.state.runtime.policy = parse_policy(without_key, app.state.schema.scopes)
    page = await get_page(app)
    assert "demo-only" not in page.text
    config = page_config(page)
    assert json.loads(config["headers"]) == {"Authorization": "Bearer ", "X-Purpose": ""}
    assert config["editorTools"] == "headers"
    tabs = {operation(t): t for t in config["tabs"]}
    assert json.loads(tabs["EnrolmentReview"]["variables"]) == {"ids": None, "year": None}
    assert json.loads(tabs["TalentCheck"]["headers"]) == {"Authorization": "Bearer ", "X-Purpose": ""}


async def test_graphiql_can_be_switched_off() -> None:
    app = create_app(
        Settings(gateway=GatewaySettings(graphiql=False), sources=tuple(city.specs())), policy=EMPTY
    )
    page = await get_page(app)
    assert page.status_code == 404
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        link = await client.get("/graphql?query=%7B__typename%7D", headers={"Accept": "text/html"})
    assert link.status_code == 404  # a browser's link is never run instead
    assert link.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"


# [gateway] graphiql_presets: any deployment's, not only the demo's ------------------------

TEMPLATE = {"Authorization": "Bearer ", "X-Purpose": ""}


def presets_file(tmp_path: Path, presets: object) -> Path:
    path = tmp_path / "presets.json"
    path.write_text(json.dumps(presets), encoding="utf-8")
    return path


async def test_a_presets_file_is_what_the_page_opens_with(tmp_path: Path) -> None:
    headers = {"Authorization": "Bearer a-token-of-ours", "X-Purpose": "enrolment-review"}
    talent = {"id": "350203197812054285", "months": 12, "within": 24}
    path = presets_file(tmp_path, {"headers": headers, "variables": {"TalentCheck": talent}})
    config = page_config(await get_page(create_app(settings(presets=path))))
    tabs = {operation(t): t for t in config["tabs"]}
    assert json.loads(config["headers"]) == headers
    assert all(json.loads(t["headers"]) == headers for t in tabs.values())
    assert json.loads(tabs["TalentCheck"]["variables"]) == talent
    # An operation the presets say nothing of: its variables to fill in.
    assert json.loads(tabs["EnrolmentReview"]["variables"]) == {"ids": None, "year": None}
    assert config["editorTools"] == "variables"


async def test_without_presets_the_page_is_plain_though_the_demo_key_is_accepted() -> None:
    page = await get_page(create_app(settings()))  # policy.toml accepts the demo's key
    config = page_config(page)
    assert "demo-only" not in page.text
    assert json.loads(config["headers"]) == TEMPLATE
    assert config["editorTools"] == "headers"
    tabs = {operation(t): t for t in config["tabs"]}
    assert json.loads(tabs["TalentCheck"]["variables"]) == {"id": None, "months": None, "within": None}


async def test_presets_with_a_key_the_policy_refuses_are_not_offered(tmp_path: Path) -> None:
    headers = {"x-api-key": "a-key-no-client-has", "X-Purpose": "development"}
    path = presets_file(tmp_path, {"headers": headers, "variables": {"TalentCheck": {"id": "x"}}})
    page = await get_page(create_app(settings(presets=path)))
    config = page_config(page)
    assert "a-key-no-client-has" not in page.text
    assert json.loads(config["headers"]) == TEMPLATE
    tabs = {operation(t): t for t in config["tabs"]}
    assert json.loads(tabs["TalentCheck"]["variables"]) == {"id": None, "months": None, "within": None}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (None, "cannot read"),
        ("{", "not JSON"),
        ('{"tabs": []}', 'must be an object with "headers" and/or "variables"'),
        ('{"headers": {"X-Purpose": 1}}', '"headers" must map header names to strings'),
        ('{"variables": {"TalentCheck": [1]}}', '"variables" must map operation names to objects'),
    ],
)
def test_a_bad_presets_file_stops_start_up_naming_it(tmp_path: Path, text: str | None, problem: str) -> None:
    path = tmp_path / "presets.json"
    if text is not None:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        create_app(settings(presets=path))
    assert str(refused.value).startswith(f"gateway.graphiql_presets ({path}): {problem}")


def test_the_presets_path_is_relative_to_the_config_file(tmp_path: Path) -> None:
    def presets(value: str, environ: dict[str, str]) -> str | None:
        raw = {
            "gateway": {"graphiql_presets": value},
            "sources": {"tax": {"kind": "memory", "entities": {"taxpayer": {"key": "credit_code"}}}},
            "audit": {"mode": "off"},
        }
        return parse_settings(raw, environ, str(tmp_path / "govgraph.toml")).gateway.graphiql_presets

    assert presets("city/presets.json", {}) == str(tmp_path / "city" / "presets.json")
    assert presets("${PRESETS:-}", {"PRESETS": "/srv/presets.json"}) == "/srv/presets.json"
    assert presets("${PRESETS:-}", {}) is None  # unset: a plain page
