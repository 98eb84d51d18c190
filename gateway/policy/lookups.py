"""Root look-ups by id (`person`, `persons`, `enterprise`, `household` ...): the one place a
client names a subject it has not been shown, hence the place guessing happens.

Every id asked is audited with what the look-up came to (`found`, `not_found`,
`out_of_jurisdiction`, `forbidden`, or `failed` when the department could not answer),
so that guessing is visible in the log. Two limits make it slow:

- a client whose grant does not show the identifier in full may ask at most
  `max_lookup_ids` ids in one HTTP request (aliases and batches included);
- every client has a miss budget: look-ups that find nothing it may see, per window,
  shared by every process through the tally store. A look-up is answered only while the
  budget has room for every id it asks to miss (taken atomically before the department
  is asked, what was found given back after), so the budget is never passed, however
  many look-ups run at once. Otherwise LOOKUP_BUDGET_EXCEEDED: the whole operation, with
  HTTP 429, when the budget was spent as the operation started (LookupGate), else the
  look-up field.

For a district-limited client an id registered elsewhere and an id that exists nowhere
are answered alike: the same FORBIDDEN error, the same audit event, the same wait.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from inspect import isawaitable
from typing import Any

from graphql import (
    GraphQLError,
    GraphQLResolveInfo,
)

from gateway.observability import metrics
from gateway.policy.forbidden import OUTSIDE, forbidden, path_of
from gateway.policy.model import FULL
from resolvers.context import Context
from sources.errors import SourceError

__all__ = ["budget_exceeded", "budget_key", "looked_up"]

log = logging.getLogger("govgraph.lookups")

Info = GraphQLResolveInfo[Context]
Resolver = Callable[..., Any]


def budget_key(client: str) -> str:
    return f"miss:{client}"


def budget_exceeded(client: str, budget: int, window: float, retry_after: float) -> GraphQLError:
    metrics.LOOKUP_BUDGET_EXCEEDED.labels(client).inc()
    log.warning(
        "look-up miss budget exhausted: client=%s budget=%d window=%ds retry_after=%ds",
        client,
        budget,
        window,
        retry_after,
    )
    return GraphQLError(
        f"This client's look-ups found nothing {budget} times within {window:g} s; wait before"
        " looking up more ids.",
        extensions={
            "code": "LOOKUP_BUDGET_EXCEEDED",
            "budget": budget,
            "window": window,
            "retryAfter": max(1, round(retry_after)),
        },
    )


def looked_up(
    resolve: Resolver, scope: str, argument: str, id_scopes: Collection[str], located: bool
) -> Resolver:
    """Wrap a root look-up of a Subject whose `argument` holds the id or ids; `id_scopes`
    are the scopes that show the identifier of the type it returns; `located`: the type is
    Located, so a district-limited client sees only those in its districts."""

    async def lookup(source: Any, info: Info, **args: Any) -> Any:
        principal, store = info.context.principal, info.context.tally.store
        asked = args[argument]
        keys = [str(k).strip() for k in (asked if isinstance(asked, list) else [asked])]
        await _admit(info, keys, scope, id_scopes)
        budget = budget_key(principal.client_id)
        misses = 0  # until the look-up is answered: a look-up that fails or is cancelled teaches nothing
        try:
            value = resolve(source, info, **args)
            if isawaitable(value):
                value = await value
            items = value if isinstance(value, list) else [value]
            districts = principal.jurisdiction if located else frozenset()
            outcomes = [_outcome(item, districts) for item in items]
            misses = sum(o != "found" for o in outcomes)
        except Exception as exc:
            # A department that failed is `failed`; a refusal of the request (too many keys) `forbidden`.
            _record(info, keys, "failed" if isinstance(exc, SourceError) else "forbidden")
            raise
        finally:
            if store is not None and misses < len(keys):
                await store.release(budget, len(keys) - misses)
        return _answer(info, scope, keys, value, items, outcomes, bool(districts))

    return lookup


async def _admit(info: Info, keys: list[str], scope: str, id_scopes: Collection[str]) -> None:
    """Refuses the look-up (recording every id as `forbidden`) unless the grant covers it,
    the request's id count allows it and the client's miss budget has room for every id
    to miss. That room is taken before the department is asked, in one atomic step, so
    concurrent look-ups (aliases, requests, processes) cannot together pass the budget;
    what is found is given back after."""
    principal, tally = info.context.principal, info.context.tally

    def refuse(error: GraphQLError, denied: str) -> GraphQLError:
        _record(info, keys, "forbidden")
        info.context.access.deny(path_of(info), denied)
        return error

    if scope not in principal.grants:
        raise refuse(forbidden(f"Not granted for this purpose: {scope}.", scope=scope), scope)
    if any(principal.grants.get(s) != FULL for s in id_scopes):
        tally.lookup_ids += len(keys)
        if tally.lookup_ids > principal.max_lookup_ids:
            raise refuse(_too_many(principal.max_lookup_ids, tally.lookup_ids), "max_lookup_ids")
    if tally.store is not None:
        budget, window = principal.miss_budget, principal.miss_window
        wait = await tally.store.reserve(budget_key(principal.client_id), len(keys), budget, window)
        if wait > 0:
            raise refuse(budget_exceeded(principal.client_id, budget, window, wait), "lookup_budget")


def _record(info: Info, keys: list[str], outcome: str) -> None:
    for key in keys:
        info.context.access.lookup(key, outcome)
        metrics.LOOKUPS.labels(info.context.principal.client_id, outcome).inc()


def _answer(
    info: Info, scope: str, keys: list[str], value: Any, items: list[Any], outcomes: list[str], limited: bool
) -> Any:
    """Records each id's outcome, then answers: with `limited` (a district-limited client,
    a Located type), an id outside the districts is refused as one that is not there."""
    access = info.context.access
    for key, item, outcome in zip(keys, items, outcomes, strict=False):
        access.lookup(key, outcome)
        # Metrics and logs say "miss" for both kinds of miss: only the audit tells them apart.
        metrics.LOOKUPS.labels(
            info.context.principal.client_id, "found" if outcome == "found" else "miss"
        ).inc()
        if outcome == "found":
            access.read(item.subject_id, scope)
    if not limited:
        return value
    # Not found and not yours look the same, to the client and in the log's shape.
    refused = [None if o == "found" else forbidden(OUTSIDE) for o in outcomes]
    if any(refused):
        access.deny(path_of(info), "jurisdiction")
    if not isinstance(value, list):
        if refused[0] is not None:
            raise refused[0]
        return value
    return [error or item for error, item in zip(refused, items, strict=True)]


def _outcome(item: Any, districts: frozenset[str]) -> str:
    """What a look-up came to; `districts` is empty unless the item is Located."""
    if item is None:
        return "not_found"
    if districts and districts.isdisjoint(item.districts()):
        return "out_of_jurisdiction"
    return "found"


def _too_many(maximum: int, actual: int) -> GraphQLError:
    return GraphQLError(
        f"A client that sees identifiers masked may look up at most {maximum} ids in one request,"
        f" got {actual}.",
        extensions={"code": "OPERATION_LIMIT", "limit": "max_lookup_ids", "max": maximum, "actual": actual},
    )
