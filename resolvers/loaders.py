"""Per-request DataLoaders, one per entity, each batching into one source call.

A fresh `Loaders` is made for every request: a process-wide loader would serve one
caller's records to another and bind to the first event loop.
"""

from __future__ import annotations

from collections.abc import Sequence

from strawberry.dataloader import DataLoader

from sources.base import Record, Result
from sources.registry import Catalog

__all__ = ["Loaders"]


class Loaders:
    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog
        self._loaders: dict[str, DataLoader[str, Result]] = {}

    def _loader(self, entity: str) -> DataLoader[str, Result]:
        loader = self._loaders.get(entity)
        if loader is None:
            route = self._catalog.routes[entity]

            async def load(keys: list[str]) -> Sequence[Result]:
                return await route.source.fetch_many(entity, keys)

            loader = DataLoader(load_fn=load, max_batch_size=route.max_batch_size)
            self._loaders[entity] = loader
        return loader

    async def one(self, entity: str, key: str | None) -> Record | None:
        """The record for `key` of a one-to-one entity, or None."""
        if key is None:
            return None
        result = await self._loader(entity).load(key)
        return result if isinstance(result, dict) else None

    async def many(self, entity: str, key: str | None) -> list[Record]:
        """The records for `key` of a one-to-many entity (empty when there are none)."""
        if key is None:
            return []
        result = await self._loader(entity).load(key)
        return result if isinstance(result, list) else []

    async def each(self, entity: str, keys: Sequence[str]) -> list[Record | None]:
        """One record or None per key of a one-to-one entity, in key order."""
        results = await self._loader(entity).load_many(keys)
        return [r if isinstance(r, dict) else None for r in results]
