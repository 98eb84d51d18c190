"""The shared vocabulary: one exception tree, one refusal envelope, one outcome taxonomy."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from demo.stack import DemoError
from gateway.access.auth import Authenticator, AuthSettings
from gateway.audit.errors import AuditStoreError, AuditUnavailable
from gateway.execution.documents import DocumentError
from gateway.execution.outcome import Outcome, audited, classify, refused, worst
from gateway.execution.schema import build_schema
from gateway.http.refusal import Refusal
from gateway.policy.model import PolicyError, load_policy
from sources.errors import ConfigError, GovgraphError, SourceConfigError, SourceError, SourceTimeout


@pytest.mark.parametrize(
    ("error", "parent"),
    [
        (ConfigError("x"), GovgraphError),
        (SourceConfigError("sources.x", "bad"), ConfigError),
        (PolicyError("policy.toml", 3, "clients.x", "bad"), ConfigError),
        (DocumentError("bad"), ConfigError),
        (SourceTimeout("s", "e", "slow"), SourceError),
        (SourceError("s", "e", "down"), GovgraphError),
        (Refusal(401, "UNAUTHENTICATED", "who?"), GovgraphError),
        (AuditStoreError("down"), GovgraphError),
        (AuditUnavailable("down"), GovgraphError),
        (DemoError("no PostgreSQL"), GovgraphError),
    ],
)
def test_every_error_is_a_govgraph_error(error: Exception, parent: type[Exception]) -> None:
    assert isinstance(error, parent)
    assert isinstance(error, GovgraphError)


def test_errors_carry_the_code_a_client_sees() -> None:
    assert SourceTimeout("s", "e", "slow").code == "SOURCE_TIMEOUT"
    assert AuditUnavailable("down").code == "AUDIT_UNAVAILABLE"
    assert Refusal(429, "RATE_LIMITED", "slow down").code == "RATE_LIMITED"
    assert GovgraphError("unexpected").code == "INTERNAL_SERVER_ERROR"


def test_a_refusal_is_one_envelope_with_its_headers() -> None:
    response = Refusal(429, "RATE_LIMITED", "Over 5 requests per second.", retry_after=3).response()
    assert response.status_code == 429
    assert response.headers["retry-after"] == "3"
    assert orjson.loads(response.body) == {
        "errors": [{"message": "Over 5 requests per second.", "extensions": {"code": "RATE_LIMITED"}}]
    }
    unauthenticated = Refusal(401, "UNAUTHENTICATED", "Credentials are required.").response()
    assert unauthenticated.headers["www-authenticate"].startswith("Bearer")
    too_large = Refusal(413, "OPERATION_LIMIT", "Too large.", limit="body_bytes").response()
    assert too_large.headers["connection"] == "close"
    assert orjson.loads(too_large.body)["errors"][0]["extensions"] == {
        "code": "OPERATION_LIMIT",
        "limit": "body_bytes",
    }


def test_admission_refuses_with_the_same_type() -> None:
    schema = build_schema()
    policy = load_policy(
        Path(__file__).parents[2] / "policy.toml", schema.scopes, pinnable=schema.surface.pinnable
    )
    with pytest.raises(Refusal) as refusal:
        Authenticator(AuthSettings(), lambda: policy).authenticate({})
    assert (refusal.value.status, refusal.value.code) == (401, "UNAUTHENTICATED")


def test_operation_outcomes() -> None:
    assert classify([], True) is Outcome.OK
    assert classify(["FORBIDDEN"], True) is Outcome.DENIED
    assert classify(["FORBIDDEN", "SOURCE_TIMEOUT"], True) is Outcome.PARTIAL
    assert classify(["OPERATION_LIMIT"], False) is Outcome.REJECTED
    assert classify(["INTERNAL_SERVER_ERROR"], False) is Outcome.ERROR
    assert classify(["FORBIDDEN", "AUDIT_UNAVAILABLE"], True) is Outcome.AUDIT_UNAVAILABLE


def test_the_audit_keeps_denied_for_what_released_nothing() -> None:
    assert audited(["FORBIDDEN"], True, released=False) is Outcome.DENIED
    assert audited(["FORBIDDEN"], True, released=True) is Outcome.PARTIAL
    assert audited(["SOURCE_UNAVAILABLE"], False, released=False) is Outcome.ERROR
    assert audited([], True, released=True) is Outcome.OK


def test_request_outcomes() -> None:
    assert worst([Outcome.OK, Outcome.PARTIAL, Outcome.DENIED], 200) is Outcome.PARTIAL
    assert worst([Outcome.OK], 503) is Outcome.ERROR
    assert worst([Outcome.AUDIT_UNAVAILABLE], 503) is Outcome.AUDIT_UNAVAILABLE
    assert [refused(s) for s in (200, 401, 403, 429, 400, 502)] == [
        Outcome.OK, Outcome.UNAUTHENTICATED, Outcome.FORBIDDEN, Outcome.RATE_LIMITED, Outcome.REJECTED,
        Outcome.ERROR,
    ]  # fmt: skip
