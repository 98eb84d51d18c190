"""What became of an operation or a request: the one vocabulary of outcomes that audit
events, metrics labels, log lines and trace spans share.

Operations:  ok · denied (answered; its only errors are policy refusals) · partial
             (answered with other errors, e.g. a department down) · rejected (refused
             before execution: bad document, limits, unknown trusted document) · error ·
             audit_unavailable
Requests refused before any operation ran (admission): unauthenticated · forbidden ·
rate_limited; a request's outcome is otherwise its worst operation's.

The audit records what was released, so it keeps `denied` for an operation that released
nothing (`audited`).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from enum import StrEnum

from graphql import GraphQLError

__all__ = [
    "REFUSED_BEFORE_EXECUTION",
    "Outcome",
    "audited",
    "classify",
    "refused",
    "request_error",
    "request_error_status",
    "worst",
]


class Outcome(StrEnum):  # in order of severity: a batch reports its worst operation
    OK = "ok"
    DENIED = "denied"
    PARTIAL = "partial"
    REJECTED = "rejected"
    ERROR = "error"
    AUDIT_UNAVAILABLE = "audit_unavailable"
    UNAUTHENTICATED = "unauthenticated"
    FORBIDDEN = "forbidden"
    RATE_LIMITED = "rate_limited"


_OPERATION = list(Outcome)[:6]
# Codes of refusals decided before anything is fetched.
REFUSED_BEFORE_EXECUTION = frozenset(
    {
        "BAD_USER_INPUT",
        "GRAPHQL_PARSE_FAILED",
        "GRAPHQL_VALIDATION_FAILED",
        "OPERATION_RESOLUTION_FAILURE",
        "OPERATION_LIMIT",
        "PERSISTED_QUERY_NOT_FOUND",
        "PERSISTED_QUERY_NOT_SUPPORTED",
        "PERSISTED_QUERY_NOT_IN_LIST",
        "PERSISTED_QUERY_ID_REQUIRED",
        "FORBIDDEN",
    }
)
_ADMISSION = {401: Outcome.UNAUTHENTICATED, 403: Outcome.FORBIDDEN, 429: Outcome.RATE_LIMITED}


def request_error(data: object, errors: Sequence[GraphQLError] | None) -> bool:
    """Whether an answer is a request error, where nothing ran (the document refused, the
    operation not chosen, the variables refused, the operation refused as a whole): no
    data, and no error at a field (field errors have a path). Such an answer has no `data`
    entry; `data: null` means the operation ran and a non-null field failed."""
    return data is None and bool(errors) and all(e.path is None for e in errors or ())


def request_error_status(codes: Collection[object]) -> int:
    """The HTTP status of a request error with these codes, where the media type lets the
    status speak (application/graphql-response+json): 400 when the request is at fault,
    500 when the gateway is (INTERNAL_SERVER_ERROR, or any code not decided before
    execution)."""
    return 400 if codes and set(codes) <= REFUSED_BEFORE_EXECUTION else 500


def classify(codes: Collection[object], has_data: bool) -> Outcome:
    """An operation's outcome from its errors' codes and whether it answered with data."""
    if not codes:
        return Outcome.OK
    kinds = set(codes)
    if "AUDIT_UNAVAILABLE" in kinds:
        return Outcome.AUDIT_UNAVAILABLE
    if not has_data:
        return Outcome.REJECTED if kinds <= REFUSED_BEFORE_EXECUTION else Outcome.ERROR
    return Outcome.DENIED if kinds == {"FORBIDDEN"} else Outcome.PARTIAL


def audited(codes: Collection[object], has_data: bool, released: bool) -> Outcome:
    """The outcome an audit event records: `denied` only when every error is a refusal and
    nothing about a subject was released; otherwise answered or not."""
    if not codes:
        return Outcome.OK
    if set(codes) == {"FORBIDDEN"} and not released:
        return Outcome.DENIED
    return Outcome.PARTIAL if has_data else Outcome.ERROR


def worst(outcomes: Collection[Outcome], status: int) -> Outcome:
    """A request's outcome from its operations' (a 5xx answer is an error whatever they say)."""
    most = max(outcomes, key=_OPERATION.index)
    return Outcome.ERROR if status >= 500 and most is not Outcome.AUDIT_UNAVAILABLE else most


def refused(status: int) -> Outcome:
    """A request that ran no operation."""
    if status < 400:
        return Outcome.OK
    return _ADMISSION.get(status, Outcome.REJECTED if status < 500 else Outcome.ERROR)
