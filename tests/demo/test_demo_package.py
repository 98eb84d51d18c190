"""The demo as a package the gateway does not know: its command and published keys reach
`govgraph` through entry points, its GraphiQL presets through configuration."""

from __future__ import annotations

import hashlib
import json
import re
from importlib.metadata import entry_points
from pathlib import Path

import httpx

from demo.keys import AUDIT_SUBJECT_KEY, CONSOLE_SECRET, DEMO_API_KEY, HS256_SECRET
from demo.stack import DemoStack
from gateway.cli.plugins import COMMANDS, PUBLISHED_KEYS, published_keys
from sources.stats import CallStats
from tests.stack import demo_settings, gateway_app

ROOT = Path(__file__).parents[2]


def test_the_demo_declares_its_command_and_keys_as_entry_points() -> None:
    (command,) = [e for e in entry_points(group=COMMANDS) if e.name == "demo"]
    assert command.value == "demo.cli:register"
    (keys,) = [e for e in entry_points(group=PUBLISHED_KEYS) if e.name == "demo"]
    assert keys.value == "demo.keys:PUBLISHED_SHA256"
    published = published_keys()["demo"]
    for key in (DEMO_API_KEY, HS256_SECRET, AUDIT_SUBJECT_KEY, CONSOLE_SECRET):
        assert hashlib.sha256(key.encode()).hexdigest() in published


def test_the_published_keys_are_the_ones_the_sample_configuration_uses() -> None:
    """What the demo publishes is what govgraph.toml and policy.toml hold."""
    config = (ROOT / "govgraph.toml").read_text(encoding="utf-8")
    assert f"${{GOVGRAPH_JWT_SECRET:-{HS256_SECRET}}}" in config
    assert f"${{GOVGRAPH_AUDIT_KEY:-{AUDIT_SUBJECT_KEY}}}" in config
    assert f"${{GOVGRAPH_CONSOLE_SECRET:-{CONSOLE_SECRET}}}" in config
    policy = (ROOT / "policy.toml").read_text(encoding="utf-8")
    assert hashlib.sha256(DEMO_API_KEY.encode()).hexdigest() in policy


async def test_the_demo_city_opens_graphiql_on_its_own_samples(demo_city: DemoStack) -> None:
    env = demo_city.gateway_env()
    presets = Path(env["GOVGRAPH_GRAPHIQL_PRESETS"])
    assert presets.parent == demo_city.data_dir.resolve()
    assert demo_settings(env).gateway.graphiql_presets == str(presets)
    transport = httpx.ASGITransport(app=gateway_app(env, CallStats()))
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        page = await client.get("/graphql", headers={"Accept": "text/html"})
    found = re.search(r'<script type="application/json" id="govgraph-graphiql">(.*?)</script>', page.text)
    assert found is not None
    config = json.loads(found.group(1))
    assert json.loads(config["headers"]) == {"X-API-Key": DEMO_API_KEY, "X-Purpose": "development"}
    child = demo_city.samples["cases"]["family_child"][0]
    subject = next(t for t in config["tabs"] if "query SubjectAccess" in t["query"])
    assert json.loads(subject["variables"]) == {"subject": child}
