"""One place that turns every execution error into a coded, client-safe error.

Department failures (and departments' refusals of a request's input) keep their code
and name the source; deliberate errors keep their code; anything unexpected becomes
INTERNAL_SERVER_ERROR with an error id that matches exactly one log line holding the
detail. No backend text reaches a client.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable

from graphql import GraphQLError

from sources.errors import SourceError, SourceRejected

__all__ = ["Hints", "recoded", "translate", "without_suggestion"]

log = logging.getLogger("govgraph.errors")

_TOKENS = re.compile(r"Document contains more than (\d+) tokens")
_SUGGESTION = re.compile(r"\s*Did you mean .*\?$", re.DOTALL)

# For a document error whose message ends in graphql-core's "Did you mean ...?", the
# message the client is given instead (gateway/execution/suggestions.py).
Hints = Callable[[GraphQLError], str]

_SOURCE_MESSAGES = {
    "SOURCE_TIMEOUT": "The {source} department did not answer in time.",
    "SOURCE_UNAVAILABLE": "The {source} department is unavailable.",
    "SOURCE_CIRCUIT_OPEN": "The {source} department is failing; not asked for now.",
    "SOURCE_REJECTED": "The {source} department refused this request's input.",
}


def _with(error: GraphQLError, message: str, extensions: dict[str, object]) -> GraphQLError:
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions=extensions,
    )


def recoded(error: GraphQLError, code: str) -> GraphQLError:
    """`error`, where it is, coded `code` (its other extensions kept)."""
    return GraphQLError(
        error.message,
        error.nodes,
        error.source,
        error.positions,
        error.path,
        error.original_error,
        extensions={**(error.extensions or {}), "code": code},
    )


def without_suggestion(message: str) -> str:
    """`message` without graphql-core's "Did you mean ...?" at its end."""
    return _SUGGESTION.sub("", message)


def _hinted(error: GraphQLError, hints: Hints | None) -> str:
    if hints is not None and _SUGGESTION.search(error.message):
        return hints(error)
    return error.message


def translate(error: GraphQLError, hints: Hints | None = None) -> GraphQLError:
    """The error a client may see for `error`, logging what it must not.

    graphql-core's "Did you mean ...?" hints name what the whole schema holds; with
    `hints`, a document error's message is what `hints` makes of it instead (the hints the
    client's own graph gives, so that they never name a field it cannot see)."""
    original = error.original_error
    if isinstance(original, SourceError):
        # A refusal is the client's doing, not a department in trouble: no warning.
        level = logging.INFO if isinstance(original, SourceRejected) else logging.WARNING
        log.log(level, "source error at %s: %s", error.path, original)
        message = _SOURCE_MESSAGES.get(original.code, _SOURCE_MESSAGES["SOURCE_UNAVAILABLE"])
        return _with(
            error, message.format(source=original.source), {"code": original.code, "source": original.source}
        )
    code = error.extensions.get("code") if error.extensions else None
    if code == "GRAPHQL_VALIDATION_FAILED":
        log.info("invalid document: %s", error.message)
        return _with(error, _hinted(error, hints), error.extensions or {})
    if code is not None:
        log.debug("refused: %s (%s)", error.message, code)
        return error
    tokens = _TOKENS.search(error.message)
    if tokens is not None and original is None:
        maximum = int(tokens.group(1))
        return _with(
            error,
            f"The operation exceeds the tokens limit of {maximum}.",
            {"code": "OPERATION_LIMIT", "limit": "tokens", "max": maximum},
        )
    if original is None or isinstance(original, GraphQLError):
        # graphql-core's own refusals of the request's input (variables' values): syntax
        # and validation errors are coded when they are found (gateway/execution/parse_cache.py).
        log.info("bad input: %s", error.message)
        return _with(error, _hinted(error, hints), {"code": "BAD_USER_INPUT"})
    error_id = uuid.uuid4().hex[:16]
    log.error("internal error %s at %s", error_id, error.path, exc_info=original)
    return _with(error, "Internal server error.", {"code": "INTERNAL_SERVER_ERROR", "errorId": error_id})
