"""One JSON log line per /graphql request, with the X-Request-Id the client got, the
backend calls made for it, and no personal data."""

from __future__ import annotations

import json
import logging

import pytest

from gateway.config.settings import LogSettings, MetricsSettings
from gateway.observability.logs import JsonFormatter, TextFormatter
from sources.stats import CallStats
from tests.resolvers.city import CHILD, FATHER

from .support import DEVELOPER, gateway, headers

FAMILY = (
    "query Family($id: ResidentId!) { person(id: $id) {"
    " name guardians { name socialInsurance { status } } } }"
)


def request_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "govgraph.request"]


async def test_one_line_per_request_with_its_id_and_no_personal_data(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="govgraph.request")
    stats = CallStats()
    sent = headers(
        "enrollment", "enrollment_review", **{"X-Case-Id": "JM-2026-0042", "X-Operator-Id": "op-7"}
    )
    async with gateway(stats=stats) as client:
        response = await client.post(
            "/graphql", json={"query": FAMILY, "variables": {"id": CHILD}}, headers=sent
        )
    body = response.json()
    assert body["data"]["person"]["name"]
    (record,) = request_lines(caplog)
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == response.headers["x-request-id"]
    assert len(line["request_id"]) == 32
    assert line["logger"] == "govgraph.request"
    assert line["level"] == "INFO"
    assert line["message"] == "request"
    assert (line["client"], line["purpose"], line["operation"]) == (
        "enrollment",
        "enrollment_review",
        "other",
    )
    assert (line["outcome"], line["status"]) == ("denied", 200)
    assert line["duration_ms"] > 0
    assert line["errors"] == {"FORBIDDEN": 1}
    assert line["denied"] == {"social_insurance.status": 1}
    # Every backend call made for the request, per source, as the call statistics saw them.
    expected: dict[str, dict[str, int]] = {}
    for call in stats.recent:
        counts = expected.setdefault(call.source, {"calls": 0, "keys": 0})
        counts["calls"] += 1
        counts["keys"] += call.batch_size
    assert {name: {"calls": s["calls"], "keys": s["keys"]} for name, s in line["sources"].items()} == expected
    assert {name: s["status"] for name, s in line["sources"].items()} == body["extensions"]["sources"]
    assert all(s["failed"] == 0 for s in line["sources"].values())
    text = json.dumps(line, ensure_ascii=False)
    names = [body["data"]["person"]["name"], *(g["name"] for g in body["data"]["person"]["guardians"])]
    for secret in (CHILD, FATHER, "JM-2026-0042", "op-7", "guardians", "ResidentId", *names):
        assert secret not in text, secret


async def test_refusals_are_logged_and_carry_a_request_id(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="govgraph.request")
    async with gateway() as client:
        unauthenticated = await client.post("/graphql", json={"query": "{ __typename }"})
        no_purpose = await client.post(
            "/graphql",
            json={"query": "{ __typename }"},
            headers={"Authorization": DEVELOPER["Authorization"]},
        )
        unsupported = await client.post(
            "/graphql", content=b"{}", headers={**DEVELOPER, "content-type": "text/plain"}
        )
    lines = [json.loads(JsonFormatter().format(r)) for r in request_lines(caplog)]
    responses = [unauthenticated, no_purpose, unsupported]
    assert [r.status_code for r in responses] == [401, 403, 415]
    assert [(x["status"], x["outcome"], x["operation"]) for x in lines] == [
        (401, "unauthenticated", "none"),
        (403, "forbidden", "none"),
        (415, "rejected", "none"),
    ]
    assert [x["request_id"] for x in lines] == [r.headers["x-request-id"] for r in responses]
    assert len({x["request_id"] for x in lines}) == 3
    assert [x["client"] for x in lines] == [None, None, "developer"]
    assert all(r.headers.get_list("x-request-id") == [r.headers["x-request-id"]] for r in responses)


async def test_request_lines_can_be_turned_off(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="govgraph.request")
    async with gateway(logging=LogSettings(requests=False)) as client:
        response = await client.post("/graphql", json={"query": "{ __typename }"}, headers=DEVELOPER)
    assert response.status_code == 200
    assert response.headers["x-request-id"]
    assert request_lines(caplog) == []


async def test_the_request_id_is_sent_with_logs_and_metrics_off() -> None:
    async with gateway(logging=LogSettings(requests=False), metrics=MetricsSettings(enabled=False)) as client:
        answered = await client.post("/graphql", json={"query": "{ __typename }"}, headers=DEVELOPER)
        refused = await client.post("/graphql", json={"query": "{ __typename }"})
    assert answered.status_code == 200
    assert refused.status_code == 401
    ids = [r.headers.get_list("x-request-id") for r in (answered, refused)]
    assert all(len(i) == 1 and len(i[0]) == 32 for i in ids)
    assert ids[0] != ids[1]


def test_text_lines_append_the_fields() -> None:
    record = logging.LogRecord("govgraph.request", logging.INFO, __file__, 1, "request", None, None)
    record.fields = {"request_id": "abc", "status": 200}
    assert (
        TextFormatter().format(record).endswith('govgraph.request: request {"request_id":"abc","status":200}')
    )
    plain = logging.LogRecord("govgraph", logging.WARNING, __file__, 1, "a %s", ("b",), None)
    assert json.loads(JsonFormatter().format(plain))["message"] == "a b"
