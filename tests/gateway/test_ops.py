"""The operators' endpoints are not on the public app, and the `--workers` supervisor's
/readyz decides for the whole process group from its workers' answers."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from gateway.config.settings import HealthSettings
from gateway.http.ops import fleet_readiness

from .support import DEVELOPER, gateway_and_ops, settings


async def test_metrics_and_readiness_are_served_to_operators_only() -> None:
    async with gateway_and_ops() as (public, ops):
        answered = await public.post("/graphql", json={"query": "{ __typename }"}, headers=DEVELOPER)
        hidden = {path: (await public.get(path)).status_code for path in ("/metrics", "/readyz")}
        alive = await public.get("/healthz")
        metrics = await ops.get("/metrics")
        ready = await ops.get("/readyz")
        ops_alive = await ops.get("/healthz")
        graphql = await ops.post("/graphql", json={"query": "{ __typename }"}, headers=DEVELOPER)
    assert answered.status_code == 200
    assert hidden == {"/metrics": 404, "/readyz": 404}
    # Alive, and which release: the installed distribution's version, on both listeners.
    assert alive.json() == ops_alive.json() == {"status": "ok", "version": version("govgraph")}
    assert metrics.status_code == 200
    assert any(f.name == "govgraph_requests" for f in text_string_to_metric_families(metrics.text))
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"
    assert graphql.status_code == 404  # and the operators' listener serves no data


def worker(status: int, *reasons: str) -> dict[str, Any]:
    """A worker's answer, as gateway.http.ops.answer_supervisor gives it."""
    body = {"status": "ready" if status == 200 else "not_ready", "reasons": list(reasons), "pid": 0}
    return {"status": status, "body": body}


def test_the_group_is_ready_when_every_answering_worker_is() -> None:
    status, body = fleet_readiness(settings(), {11: worker(200), 12: worker(200)}, stopping=False)
    assert status == 200
    assert body["status"] == "ready"
    assert body["reasons"] == []
    assert set(body["workers"]) == {"11", "12"}
    assert body["workers"]["11"]["status"] == "ready"


def test_one_worker_not_ready_makes_the_group_not_ready() -> None:
    answers = {11: worker(200), 12: worker(503, "source social_insurance")}
    status, body = fleet_readiness(settings(), answers, stopping=False)
    assert status == 503
    assert body["status"] == "not_ready"
    assert body["reasons"] == ["worker 12: source social_insurance"]


def test_a_worker_that_does_not_answer_is_listed_but_does_not_decide_alone() -> None:
    status, body = fleet_readiness(settings(), {11: worker(200), 12: None}, stopping=False)
    assert status == 200
    assert body["workers"]["12"] == {"status": "not_answering"}
    status, body = fleet_readiness(settings(), {11: None, 12: None}, stopping=False)
    assert status == 503
    assert body["reasons"] == ["no worker ready"]


def test_maintenance_and_shutdown_drain_the_group(tmp_path: Path) -> None:
    switch = tmp_path / "maintenance"
    switch.touch()
    drained = settings(health=HealthSettings(maintenance_file=str(switch)))
    answers = {11: worker(503, "maintenance"), 12: None}  # the supervisor decides even unanswered
    status, body = fleet_readiness(drained, answers, stopping=False)
    assert status == 503
    assert body["status"] == "maintenance"
    assert body["reasons"] == ["maintenance"]
    status, body = fleet_readiness(settings(), {11: worker(200)}, stopping=True)
    assert status == 503
    assert body["reasons"] == ["stopping"]
