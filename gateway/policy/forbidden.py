"""What every field-level refusal shares: its code and where the audit records it."""

from __future__ import annotations

from graphql import GraphQLError, GraphQLResolveInfo

from resolvers.context import Context

__all__ = ["OUTSIDE", "forbidden", "path_of"]

# One message for "not in your districts" and "not there": the two must look alike.
OUTSIDE = "Outside this client's jurisdiction, or not found."


def forbidden(message: str, **extensions: object) -> GraphQLError:
    return GraphQLError(message, extensions={"code": "FORBIDDEN", **extensions})


def path_of(info: GraphQLResolveInfo[Context]) -> str:
    """The field's response path, dotted, as audit events record refusals."""
    return ".".join(str(p) for p in info.path.as_list())
