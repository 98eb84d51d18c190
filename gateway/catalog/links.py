"""The resolvers of catalogue links: an item that links to a type, a resource attached to
its parent by key, and an attachment followed `through` a link item. Each loads through
the request's loaders, so a whole query level is one batch per entity."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import strawberry

from gateway.catalog.shape import Shape
from resolvers.derivations import Entity

__all__ = ["attached_to", "link", "through"]


def _sorted(rows: list[Any], order_by: Sequence[str]) -> list[Any]:
    if not order_by:
        return rows
    # None last; equal keys keep the department's order.
    return sorted(rows, key=lambda r: tuple((r.get(c) is None, r.get(c)) for c in order_by))


def link(entity: str, column: str, shape: Shape) -> Callable[..., Any]:
    make = shape.make

    async def linked(self: Entity, info: strawberry.Info) -> Any:
        r = await info.context.loaders.one(entity, self.record.get(column))
        return None if r is None else make(r)

    return linked


def attached_to(
    entity: str, by: str, many: bool, order_by: Sequence[str], shape: Shape
) -> Callable[..., Any]:
    make = shape.make
    if many:

        async def rows(self: Entity, info: strawberry.Info) -> Any:
            found = await info.context.loaders.many(entity, self.record.get(by))
            return [make(r) for r in _sorted(found, order_by)]

        return rows

    async def one(self: Entity, info: strawberry.Info) -> Any:
        r = await info.context.loaders.one(entity, self.record.get(by))
        return None if r is None else make(r)

    return one


def through(
    entity: str, by: str, order_by: Sequence[str], followed: tuple[str, str], shape: Shape
) -> Callable[..., Any]:
    column, target = followed
    make = shape.make

    async def targets(self: Entity, info: strawberry.Info) -> Any:
        rows = _sorted(await info.context.loaders.many(entity, self.record.get(by)), order_by)
        found = await info.context.loaders.each(target, [r[column] for r in rows])
        return [make(r) for r in found if r is not None]

    return targets
