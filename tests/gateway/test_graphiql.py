"""GraphiQL is served with every asset from the gateway itself."""

from __future__ import annotations

import hashlib
import re
from base64 import b64encode

import httpx

from gateway.app import create_app
from gateway.policy import Policy
from gateway.settings import GatewaySettings, Settings
from tests.resolvers import city

EMPTY = Policy(purposes={}, clients={}, grants={})


async def test_graphiql_page_loads_nothing_from_elsewhere() -> None:
    app = create_app(Settings(gateway=GatewaySettings(), sources=tuple(city.specs())), policy=EMPTY)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        page = await client.get("/graphql", headers={"Accept": "text/html"})
        assert page.status_code == 200
        assets = re.findall(r'(?:src|href)="(/graphiql-assets/[^"]+)"\s+integrity="([^"]+)"', page.text)
        assert len(assets) == 7
        assert "https://" not in re.sub(r"https://github\.com[^\"']*", "", page.text.split("<body>")[0])
        for path, integrity in assets:
            asset = await client.get(path)
            assert asset.status_code == 200, path
            digest = "sha384-" + b64encode(hashlib.sha384(asset.content).digest()).decode()
            assert digest == integrity, path


async def test_graphiql_can_be_switched_off() -> None:
    app = create_app(
        Settings(gateway=GatewaySettings(graphiql=False), sources=tuple(city.specs())), policy=EMPTY
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        page = await client.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 404
