"""Verdict and summary fields (declared `@verdict` or `@summary`): the answer
without the records behind it, so long as the arguments cannot be swept to rebuild those
records. Three rules hold that line:

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

import asyncio
import hashlib
from collections.abc import Callable, Mapping
from inspect import isawaitable
from typing import Any

import orjson
from graphql import GraphQLArgument, GraphQLError, GraphQLField, GraphQLResolveInfo, get_nullable_type
from graphql.pyutils import Undefined

from gateway.policy.forbidden import forbidden, path_of
from gateway.policy.pins import REQUIRED, Pinnable
from resolvers.context import Context

__all__ = ["concluded", "pinnable"]

Info = GraphQLResolveInfo[Context]
Resolver = Callable[..., Any]


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
    """A verdict refused, on record."""
    info.context.access.deny(path_of(info), scope)
    return forbidden(message, scope=scope, **extensions)


ONCE = "A verdict is evaluated once per subject and request."


async def _admitted(context: Context, subject: str, coordinate: str, values: Mapping[str, Any]) -> str | None:
    """Why this evaluation may not go ahead, or None: it must be the request's first for
    (subject, field) or have the same arguments, and the client's window must have room
    for its argument set. Later evaluations in the request wait for the first one's answer
    from the window, so an alias cannot overtake it."""
    tally, principal = context.tally, context.principal
    key = (subject, coordinate)
    entry = tally.verdicts.get(key)
    if entry is not None:
        first, admitted = entry
        if first != values:
            return "once"
        return None if await admitted else "window"
    admitted = asyncio.get_running_loop().create_future()
    tally.verdicts[key] = (dict(values), admitted)
    if tally.store is None:
        admitted.set_result(True)
        return None
    member = hashlib.sha256(orjson.dumps(values, option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]
    window = f"verdict:{principal.client_id}:{context.audit_subject(subject)}:{coordinate}"
    try:
        admitted.set_result(
            await tally.store.admit(window, member, principal.verdict_variants, principal.verdict_window)
        )
    finally:
        if not admitted.done():  # the store failed: nobody waiting on it is answered
            admitted.set_result(False)
    return None if admitted.result() else "window"


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
        if principal.pins is not None:  # None: a purpose that explores (development)
            pinned = principal.pins.get(coordinate)
            if values != pinned:
                raise _forbidden(
                    info,
                    scope,
                    f"This purpose may ask {coordinate} only with the arguments its grant pins.",
                    pinned=None if pinned is None else dict(pinned),
                )
        subject: str = source.subject_id  # a verdict is declared on a Subject (enforcement.py)
        refused = await _admitted(context, subject, coordinate, values)
        if refused == "once":
            raise _forbidden(info, scope, ONCE)
        if refused == "window":
            raise _forbidden(
                info,
                scope,
                f"{coordinate} was already answered about this subject with other arguments within"
                f" {principal.verdict_window:g} s.",
                window=principal.verdict_window,
                variants=principal.verdict_variants,
            )
        context.access.read(subject, scope)
        value = resolve(source, info, **args)
        if isawaitable(value):
            value = await value
        context.access.conclude(subject, coordinate, values, value)
        return value

    return conclude
