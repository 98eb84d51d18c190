"""govgraph.toml as a whole: the file's model, and the `Settings` the gateway runs with."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import Field, field_validator

from gateway.config.automatic import Automatic
from gateway.config.limits import Limits
from gateway.config.sections import (
    AuditSettings,
    AuthConfig,
    GatewaySettings,
    HealthSettings,
    LogSettings,
    MetricsSettings,
    RateSettings,
    TracingSettings,
)
from gateway.config.tables import CacheTable, CatalogTable, DocumentsTable, LimitsTable, SourceTable, Table
from gateway.config.values import SourceName, problem
from gateway.config.workflow import ApplicationSettings, ConsoleSettings
from sources.base import CacheSpec, SourceSpec
from sources.errors import SourceConfigError

__all__ = ["NO_AUDIT", "ConfigFile", "Settings"]

NO_AUDIT = AuditSettings(mode="off")  # the default of settings built in code (tests)


@dataclass(frozen=True)
class Settings:
    """What the gateway runs with: govgraph.toml read, checked and resolved."""

    gateway: GatewaySettings
    sources: tuple[SourceSpec, ...]
    auth: AuthConfig | None = None
    audit: AuditSettings = NO_AUDIT
    limits: Limits = field(default_factory=Limits)
    rate_limit: RateSettings = field(default_factory=RateSettings)
    cache: CacheSpec = field(default_factory=CacheSpec)
    documents: str | None = None  # directory of trusted documents (with manifest.json)
    automatic: Automatic = field(default_factory=Automatic)  # automatic persisted queries
    catalog: str | None = None  # directory of the resource catalogue; None: the project's own
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    health: HealthSettings = field(default_factory=HealthSettings)
    logging: LogSettings = field(default_factory=LogSettings)
    tracing: TracingSettings = field(default_factory=TracingSettings)
    applications: ApplicationSettings = field(default_factory=ApplicationSettings)
    console: ConsoleSettings = field(default_factory=ConsoleSettings)
    path: str = "<memory>"


class ConfigFile(Table):
    """govgraph.toml: the gateway's limits and the departments it federates.

    Strings may hold ${VAR} or ${VAR:-default}, replaced from the environment (numbers
    and switches too, as text); relative paths are relative to this file.
    """

    gateway: GatewaySettings = Field(default_factory=GatewaySettings)
    limits: LimitsTable = Field(default_factory=LimitsTable)
    rate_limit: RateSettings = Field(default_factory=RateSettings)
    cache: CacheTable = Field(default_factory=CacheTable)
    documents: DocumentsTable = Field(default_factory=DocumentsTable)
    catalog: CatalogTable = Field(default_factory=CatalogTable)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    health: HealthSettings = Field(default_factory=HealthSettings)
    logging: LogSettings = Field(default_factory=LogSettings)
    tracing: TracingSettings = Field(default_factory=TracingSettings)
    applications: ApplicationSettings = Field(default_factory=ApplicationSettings)
    console: ConsoleSettings = Field(default_factory=ConsoleSettings)
    auth: AuthConfig | None = None
    # Absent: the defaults (mode "sync"), which need a dsn and subject_key: a file that lost
    # its [audit] section must not serve personal data unaudited. `mode = "off"` says so.
    audit: AuditSettings = Field(default_factory=dict, validate_default=True)
    sources: dict[SourceName, SourceTable] = Field(
        default_factory=dict,
        validate_default=True,
        description="The departments, one table each, named in lower-case letters, digits and underscores.",
        json_schema_extra={"minProperties": 1},
    )

    @field_validator("sources")
    @classmethod
    def _some(cls, value: dict[str, SourceTable]) -> dict[str, SourceTable]:
        if not value:
            raise problem("at least one source is required")
        return value

    def settings(self, path: str) -> Settings:
        """The runtime settings; raises SourceConfigError for what only the whole file shows."""
        names = set(self.sources)
        unknown = sorted(set(self.health.required_sources or ()) - names)
        if unknown:
            raise SourceConfigError(
                "health.required_sources", f"names no configured source: {', '.join(unknown)}"
            )
        return Settings(
            gateway=self.gateway,
            sources=tuple(table.spec(name) for name, table in self.sources.items()),
            auth=self.auth,
            audit=self.audit,
            limits=self.limits.limits(),
            rate_limit=self.rate_limit,
            cache=self.cache.spec(),
            documents=self.documents.path,
            automatic=self.documents.automatic_settings(),
            catalog=self.catalog.path,
            metrics=self.metrics,
            health=self.health,
            logging=self.logging,
            tracing=self.tracing,
            applications=self.applications,
            console=self.console,
            path=path,
        )
