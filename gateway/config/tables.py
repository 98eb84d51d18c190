"""The tables of govgraph.toml read into objects other packages own.

`[limits]`, `[cache]` and `[sources.X]` become `Limits`, `CacheSpec` and `SourceSpec`,
which belong to the packages that use them (`sources/` must not import the gateway), so
each table takes its defaults from those classes rather than restating them.
"""

from __future__ import annotations

from typing import Literal, cast

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from gateway.config.automatic import Automatic
from gateway.config.limits import Limits
from gateway.config.values import (
    Count,
    EntityName,
    OptionalText,
    Positive,
    RelativePath,
    Seconds,
    Switch,
    Text,
    Whole,
    problem,
    required_with_redis,
)
from sources.base import CacheSpec, EntitySpec, Resilience, SourceSpec

__all__ = [
    "CacheTable",
    "CatalogTable",
    "DocumentsTable",
    "EntityTable",
    "LimitsTable",
    "SourceTable",
    "Table",
]


class Table(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LimitsTable(Table):
    """[limits]: what one request may ask for; each refusal is OPERATION_LIMIT."""

    depth: Count = Field(default=Limits.depth, description="Nested selection levels, fragments followed.")
    aliases: Count = Field(default=Limits.aliases, description="Aliased fields in one operation.")
    tokens: Count = Field(default=Limits.tokens, description="Lexical tokens in the document.")
    cost: Count = Field(
        default=Limits.cost, description="Estimated fields resolved, list fields multiplied by their size."
    )
    list_keys: Count = Field(
        default=Limits.list_keys, description="Keys in one list argument, such as the ids of a root look-up."
    )
    batch: Count = Field(default=Limits.batch, description="Operations in one batched (JSON array) request.")
    body_bytes: Count = Field(default=Limits.body_bytes, description="Request body in bytes (413 beyond).")
    concurrent_cost: Count = Field(
        default=Limits.concurrent_cost,
        description="Cost executing at once per process; beyond it operations wait.",
    )
    text_chars: Count = Field(
        default=Limits.text_chars, description="Characters in a String argument without @maxLength(chars:)."
    )

    def limits(self) -> Limits:
        return Limits(**self.model_dump())


CacheBackend = Literal["memory", "redis", "off"]


class CacheTable(Table):
    """[cache]: raw department records, cached in front of every source."""

    backend: CacheBackend = Field(
        default=cast(CacheBackend, CacheSpec.backend),
        description="memory (per process, bounded), redis (shared) or off.",
    )
    redis_url: OptionalText = Field(
        default=CacheSpec.redis_url, validate_default=True, description="Required with backend = redis."
    )
    max_entries: Count = Field(
        default=CacheSpec.max_entries, description="Memory backend: records kept per process."
    )
    max_mb: Count = Field(
        default=CacheSpec.max_mb, description="Memory backend: megabytes of records per process."
    )
    ttl: Seconds = Field(
        default=CacheSpec.ttl, description="Seconds a record stays cached, unless a source or entity says."
    )
    negative_ttl: Seconds | None = Field(
        default=CacheSpec.negative_ttl,
        description="Seconds a 'no such record' answer is remembered; default: as long as a record.",
    )
    version: Text = Field(
        default=CacheSpec.version, description="Part of every key: bump it when records change shape."
    )

    @field_validator("redis_url")
    @classmethod
    def _url_for_redis(cls, value: str | None, info: ValidationInfo) -> str | None:
        return required_with_redis(value, info)

    def spec(self) -> CacheSpec:
        return CacheSpec(**self.model_dump())


class DocumentsTable(Table):
    """[documents]: registered (trusted) operations."""

    path: RelativePath | None = Field(
        default=None,
        description="Directory of .graphql files and their manifest.json, relative to this file.",
    )
    automatic: Switch = Field(
        default=Automatic.enabled,
        description="Automatic persisted queries (Apollo's): clients that are not persisted_only"
        " may register a query by its SHA-256 hash and then send the hash alone.",
    )
    automatic_entries: Count = Field(
        default=Automatic.max_entries,
        description="Query texts kept, in the record cache's backend (Redis: shared by every process).",
    )
    automatic_ttl: Seconds = Field(
        default=Automatic.ttl, description="Seconds a registered query text is kept."
    )

    def automatic_settings(self) -> Automatic:
        return Automatic(self.automatic, self.automatic_entries, self.automatic_ttl)


class CatalogTable(Table):
    """[catalog]: the resource catalogue the graph is built from (docs/catalog.md)."""

    path: RelativePath | None = Field(
        default=None,
        description="Directory of the departments' catalogue files (*.toml), relative to this file;"
        " the project's own catalogue when absent.",
    )


class EntityTable(BaseModel):
    """[sources.NAME.entities.ENTITY]: one entity a source serves. Other keys are the
    adapter's (table, path, ...), which the adapter checks."""

    model_config = ConfigDict(extra="allow", frozen=True)

    key: Text = Field(description="The record field that holds the key.")
    many: Switch = Field(default=EntitySpec.many, description="One key maps to a list of records.")
    cache: Switch = Field(default=EntitySpec.cache, description="false: never cached.")
    cache_ttl: Seconds | None = Field(
        default=EntitySpec.cache_ttl, description="Seconds its records stay cached; default: the source's."
    )

    def spec(self, name: str) -> EntitySpec:
        return EntitySpec(
            name=name,
            key=self.key,
            many=self.many,
            options=dict(self.model_extra or {}),
            cache=self.cache,
            cache_ttl=self.cache_ttl,
        )


class SourceTable(BaseModel):
    """[sources.NAME]: one department. Other keys are the adapter's (dsn, base_url, ...),
    which the adapter of `kind` checks."""

    model_config = ConfigDict(extra="allow", frozen=True)

    kind: Text = Field(description="The adapter: postgres, http or memory.")
    entities: dict[EntityName, EntityTable] = Field(
        default_factory=dict,
        validate_default=True,
        description="The entities this source serves.",
        json_schema_extra={"minProperties": 1},
    )
    max_batch_size: Count = Field(default=SourceSpec.max_batch_size, description="Keys per department call.")
    timeout: Positive = Field(
        default=SourceSpec.timeout, description="Seconds for one attempt, connecting included."
    )
    cache_ttl: Seconds | None = Field(
        default=SourceSpec.cache_ttl,
        description="Seconds its records stay cached; 0: never; default: [cache] ttl.",
    )
    inject_latency_ms: Seconds = Field(
        default=SourceSpec.inject_latency * 1000, description="Milliseconds added to every call: drills only."
    )
    retries: Whole = Field(default=Resilience.retries, description="Extra attempts after a failed read.")
    retry_backoff: Positive = Field(
        default=Resilience.retry_backoff, description="Seconds before the first retry."
    )
    breaker_failures: Count = Field(
        default=Resilience.breaker_failures,
        description="Consecutive failed calls that open the circuit breaker.",
    )
    breaker_cooldown: Positive = Field(
        default=Resilience.breaker_cooldown,
        description="Seconds the breaker stays open before one trial call.",
    )
    max_in_flight: Count = Field(
        default=Resilience.max_in_flight, description="Concurrent calls to this source from one process."
    )
    connect_timeout: Positive = Field(
        default=Resilience.connect_timeout, description="Seconds to open a connection."
    )

    @field_validator("entities")
    @classmethod
    def _some(cls, value: dict[str, EntityTable]) -> dict[str, EntityTable]:
        if not value:
            raise problem("at least one entity is required")
        return value

    def spec(self, name: str) -> SourceSpec:
        return SourceSpec(
            name=name,
            kind=self.kind,
            entities={e: table.spec(e) for e, table in self.entities.items()},
            options=dict(self.model_extra or {}),
            max_batch_size=self.max_batch_size,
            timeout=self.timeout,
            resilience=Resilience(
                retries=self.retries,
                retry_backoff=self.retry_backoff,
                breaker_failures=self.breaker_failures,
                breaker_cooldown=self.breaker_cooldown,
                max_in_flight=self.max_in_flight,
                connect_timeout=self.connect_timeout,
            ),
            cache_ttl=self.cache_ttl,
            inject_latency=self.inject_latency_ms / 1000,
        )
