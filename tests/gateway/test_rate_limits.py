"""Rate limits at the HTTP edge: 429 RATE_LIMITED with Retry-After, per client, in memory
and shared by several gateways through Redis."""

from __future__ import annotations

from typing import Any

import httpx

from gateway.access.ratelimit import RedisRateLimiter
from gateway.app import create_app
from gateway.config.settings import RateSettings
from tests.redis_server import unique_prefix
from tests.resolvers.city import CHILD

from .support import DEVELOPER, gateway, headers, settings

BODY = {"query": "query($id: ResidentId!) { person(id: $id) { name } }", "variables": {"id": CHILD}}
TIGHT = RateSettings(rate=0.5, burst=2)


def refused(response: httpx.Response) -> None:
    assert response.status_code == 429
    assert response.json() == {
        "errors": [
            {"message": "Over 0.5 requests per second; retry later.", "extensions": {"code": "RATE_LIMITED"}}
        ]
    }
    assert int(response.headers["retry-after"]) == 2  # one token at 0.5/s


async def test_a_client_over_its_burst_gets_429_with_retry_after() -> None:
    async with gateway(rate_limit=TIGHT) as client:
        answers = [await client.post("/graphql", json=BODY, headers=DEVELOPER) for _ in range(3)]
        other = await client.post("/graphql", json=BODY, headers=headers("enrollment", "enrollment_review"))
    assert [a.status_code for a in answers[:2]] == [200, 200]
    refused(answers[2])
    assert other.status_code == 200  # buckets are per client


async def test_a_client_rate_in_the_policy_overrides_the_default() -> None:
    # enterprise-desk has rate = 20, burst = 40 in policy.toml: far above TIGHT.
    desk = headers("enterprise-desk", "enterprise_service")
    async with gateway(rate_limit=TIGHT) as client:
        codes = [
            (await client.post("/graphql", json={"query": "{ __typename }"}, headers=desk)).status_code
            for _ in range(5)
        ]
    assert 429 not in codes


async def test_the_limit_holds_across_gateways_sharing_redis(redis_url: str) -> None:
    prefix = unique_prefix("rl:gateways")
    apps = [create_app(settings(rate_limit=TIGHT)) for _ in range(2)]
    clients: list[httpx.AsyncClient] = []
    contexts: list[Any] = []
    try:
        for app in apps:
            app.state.runtime.limiter = RedisRateLimiter(redis_url, prefix=prefix)
            context = app.router.lifespan_context(app)
            await context.__aenter__()
            contexts.append(context)
            clients.append(
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway")
            )
        statuses = []
        for i in range(4):  # alternate between the two gateways
            statuses.append((await clients[i % 2].post("/graphql", json=BODY, headers=DEVELOPER)).status_code)
        assert statuses == [200, 200, 429, 429]
        assert all(app.state.runtime.limiter.fallbacks == 0 for app in apps)  # Redis answered every time
    finally:
        for client in clients:
            await client.aclose()
        for context in contexts:
            await context.__aexit__(None, None, None)
