"""Verdict and summary fields (`hasContributed`, `taxCreditAtLeast`, `monthsContributed`
...): the answer without the records behind it, so long as the arguments cannot be swept
to rebuild those records. Three rules hold that line:

- a grant pins the arguments (policy `pins`): any other argument is FORBIDDEN, with the
  pinned values in `extensions.pinned`;
- one argument set per (subject, field) per HTTP request, across aliases and every
  operation of a batch;
- at most `verdict_variants` distinct argument sets per (client, subject, field) within
  `verdict_window` seconds, counted across processes by the tally store.

Each evaluation is audited with its arguments and value, so a subject's report shows what
was concluded about them, not only that a field was read.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from inspect import isawaitable
from typing import Any

import orjson
from graphql import GraphQLArgument, GraphQLError, GraphQLField, GraphQLResolveInfo, get_nullable_type
from graphql.pyutils import Undefined

from resolvers.context import Context

from .policy import REQUIRED, Pinnable

__all__ = ["PINNABLE_SUFFIXES", "concluded", "pinnable"]

Info = GraphQLResolveInfo[Context]
Resolver = Callable[..., Any]

# Scopes whose fields answer about records rather than return them.
PINNABLE_SUFFIXES = (".verdict", ".summary")


def _external(argument: GraphQLArgument, value: Any) -> Any:
    """The argument's value as a client writes it (enum names, ISO months): one form for
    the policy's values and the request's."""
    return None if value is None else get_nullable_type(argument.type).serialize(value)  # type: ignore[union-attr]


def pinnable(scope: str, field: GraphQLField) -> Pinnable:
    arguments = dict(field.args)

    def normalize(name: str, value: object) -> object:
        argument = arguments[name]
        if value is None:
            return None
        try:
            parsed = get_nullable_type(argument.type).parse_value(value)  # type: ignore[union-attr,arg-type]
        except (GraphQLError, TypeError, ValueError) as exc:
            message = exc.message if isinstance(exc, GraphQLError) else str(exc)
            raise ValueError(f"{value!r} is not a {argument.type}: {message}") from exc
        return _external(argument, parsed)

    defaults = {
        name: REQUIRED if _no_default(a) else _external(a, a.default_value) for name, a in arguments.items()
    }
    return Pinnable(scope=scope, arguments=defaults, normalize=normalize)


def _no_default(argument: GraphQLArgument) -> bool:
    return argument.default_value is Undefined


def _forbidden(info: Info, scope: str, message: str, **extensions: object) -> GraphQLError:
    info.context.access.deny(".".join(str(p) for p in info.path.as_list()), scope)
    return GraphQLError(message, extensions={"code": "FORBIDDEN", "scope": scope, **extensions})


def concluded(
    resolve: Resolver, scope: str, coordinate: str, arguments: Mapping[str, GraphQLArgument]
) -> Resolver:
    """Wrap a verdict or summary field of `scope` named `coordinate` ("Type.field")."""

    async def conclude(source: Any, info: Info, **args: Any) -> Any:
        context = info.context
        principal = context.principal
        if scope not in principal.grants:
            raise _forbidden(info, scope, f"Not granted for this purpose: {scope}.")
        values = {name: _external(a, args.get(name)) for name, a in arguments.items()}
        pinned = principal.pins.get(coordinate)
        if pinned is not None and values != pinned:
            raise _forbidden(
                info,
                scope,
                f"This purpose may ask {coordinate} only with the arguments its grant pins.",
                pinned=dict(pinned),
            )
        subject: str = source._subject
        context.access.read(subject, scope)
        tally = context.tally
        first = tally.verdicts.setdefault((subject, coordinate), values)
        if first != values:
            raise _forbidden(info, scope, "A verdict is evaluated once per subject and request.")
        if tally.store is not None and first is values:  # the first evaluation in this request
            member = hashlib.sha256(orjson.dumps(values, option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]
            key = f"verdict:{principal.client_id}:{context.audit_subject(subject)}:{coordinate}"
            if not await tally.store.admit(key, member, principal.verdict_variants, principal.verdict_window):
                del tally.verdicts[subject, coordinate]
                raise _forbidden(
                    info,
                    scope,
                    f"{coordinate} was already answered about this subject with other arguments within"
                    f" {principal.verdict_window:g} s.",
                    window=principal.verdict_window,
                    variants=principal.verdict_variants,
                )
        value = resolve(source, info, **args)
        if isawaitable(value):
            value = await value
        context.access.conclude(subject, coordinate, values, value)
        return value

    return conclude
