"""A dict-backed source for graph tests and local experiments; product code, not a mock."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .base import Record, Result, SourceSpec
from .errors import BadSourceResponse

__all__ = ["MemorySource"]


class MemorySource:
    """Option `data`: {entity: {key: record or [records]}}. Tests may also pass `data=`."""

    def __init__(self, spec: SourceSpec, data: Mapping[str, Mapping[str, Result]] | None = None) -> None:
        self.name = spec.name
        self._entities = spec.entities
        raw = data if data is not None else spec.options.get("data", {})
        self._data: dict[str, dict[str, Result]] = {e: dict(raw.get(e, {})) for e in spec.entities}

    def put(self, entity: str, key: str, value: Record | list[Record]) -> None:
        self._data[entity][key] = value

    async def fetch_many(self, entity: str, keys: Sequence[str]) -> list[Result]:
        spec = self._entities.get(entity)
        if spec is None:
            raise BadSourceResponse(self.name, entity, "entity not configured for this source")
        table = self._data[entity]
        return [table.get(k, [] if spec.many else None) for k in keys]

    async def aclose(self) -> None:
        return None
