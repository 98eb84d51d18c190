"""The sections of govgraph.toml that the gateway reads as they are written.

Each class is the section's only declaration: its keys, their types, defaults and
descriptions (which `govgraph config schema` gives editors). They are frozen pydantic
dataclasses, so code and tests build them with keywords and `dataclasses.replace` as
before, and every construction is checked the way the file is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic.dataclasses import dataclass

from gateway.config.values import (
    Address,
    Count,
    KeyPairs,
    LogLevel,
    OptionalPath,
    OptionalText,
    Origins,
    Positive,
    Ratio,
    RelativePath,
    Seconds,
    SecondsOrOff,
    SourceNames,
    Switch,
    Text,
    Whole,
    problem,
    required_with_redis,
)

__all__ = [
    "SECTION",
    "AuditSettings",
    "AuthConfig",
    "GatewaySettings",
    "HealthSettings",
    "LogSettings",
    "MetricsSettings",
    "RateSettings",
    "TracingSettings",
]

SECTION = ConfigDict(extra="forbid")


@dataclass(frozen=True, config=SECTION)
class GatewaySettings:
    """[gateway]: GraphiQL and batching switches; the listeners and what a connection may hold;
    the web origins that may call from a browser."""

    graphiql: Switch = Field(default=True, description="Serve GraphiQL at GET /graphql; false answers 404.")
    batching: Switch = Field(
        default=True,
        description="false sends one department call per key, only to measure what batching saves.",
    )
    executor: Literal["plan", "strawberry"] = Field(
        default="plan",
        description='How operations execute: "plan" (each operation planned once per grants, then run'
        ' breadth-first) or "strawberry" (graphql-core\'s resolver-per-field executor).',
    )
    plan_cache: Count = Field(
        default=1000,
        description="Plans kept per process (one per operation, grants and @include/@skip variables);"
        " the least recently used is dropped beyond it.",
    )
    gc_young: Whole = Field(
        default=50_000,
        description="Allocations between young garbage collections once serving; 0 keeps Python's default.",
    )
    ops_listen: Address = Field(
        default="127.0.0.1:9000",
        description="HOST:PORT of /metrics, /readyz and /healthz; never served on the public port.",
    )
    keepalive_timeout: Count = Field(
        default=5, description="Whole seconds an idle kept-alive connection stays open."
    )
    header_timeout: Positive = Field(
        default=10.0,
        description="Seconds a connection has to send a complete request head; then it is closed.",
    )
    max_connections: Count = Field(
        default=1000, description="Connections served at once per process; requests on further ones get 503."
    )
    drain_seconds: SecondsOrOff = Field(
        default=0.0,
        description="Seconds a stopping process goes on serving after SIGTERM or SIGINT, /readyz "
        "already 503, so that a load balancer stops sending before it stops accepting.",
    )
    shutdown_timeout: Positive = Field(
        default=20.0,
        description="Seconds the requests in flight have to finish after SIGTERM or SIGINT; then they "
        "are cancelled and the process stops (a service manager's stop timeout must be longer).",
    )
    graphiql_presets: OptionalPath = Field(
        default=None,
        description="A file of GraphiQL pre-fill presets (the demo writes one), relative to this file; "
        "none by default.",
    )
    cors_origins: Origins = Field(
        default=(),
        description="Web origins (scheme://host[:port]) whose pages may call /graphql from a browser (CORS); "
        "none by default: no CORS headers, cross-origin preflights refused.",
    )


@dataclass(frozen=True, config=SECTION)
class AuthConfig:
    """[auth]: the policy file, and what every token must carry; required to serve."""

    policy: RelativePath = Field(
        description="The policy file (purposes, clients, grants), relative to this file."
    )
    audience: Text = Field(default="govgraph", description="The `aud` claim every token must carry.")
    issuer: Text | None = Field(default=None, description="When set, the `iss` claim every token must carry.")
    hs256_secret: Text | None = Field(default=None, description="HS256 secret: the demo and tests only.")
    public_keys: KeyPairs = Field(
        default=(), description='PEM public keys by algorithm, e.g. { RS256 = "keys/issuer.pem" }.'
    )
    policy_poll: SecondsOrOff = Field(
        default=1.0,
        description="Seconds between checks of the policy file for changes; 0: only SIGHUP reloads.",
    )
    leeway: SecondsOrOff = Field(
        default=30.0, description="Seconds of clock skew tolerated on a token's exp, nbf and iat."
    )
    store: OptionalText = Field(
        default=None,
        description="PostgreSQL DSN of the policy store; when set it is the authority and `policy` "
        "is only the format `govgraph policy import` reads.",
    )
    store_schema: Text = Field(default="govgraph_policy", description="The policy store's schema.")
    store_check: Positive = Field(
        default=5.0,
        description="Seconds between checks of the store's version, beside its notifications.",
    )
    stale_after: Positive = Field(
        default=30.0,
        description="Seconds without reaching the policy store after which /readyz reports the policy stale.",
    )
    stale_drains: Switch = Field(
        default=False,
        description="A stale policy makes /readyz answer 503 (the load balancer drains the host); "
        "every host shares the store, so when it is down all of them drain at once.",
    )


@dataclass(frozen=True, config=SECTION)
class AuditSettings:
    """[audit]: the tamper-evident access log; required unless `mode = "off"` says there is none."""

    mode: Literal["sync", "async", "off"] = Field(
        default="sync",
        description="sync: data leaves only after its event commits; async: after it is queued; off.",
    )
    dsn: Text | None = Field(
        default=None,
        validate_default=True,
        description="PostgreSQL for the log; required unless mode is off.",
    )
    subject_key: str = Field(
        default="",
        validate_default=True,
        description="HMAC key (16 characters or more) that turns ids into audit subjects; "
        "required unless mode is off.",
    )
    max_batch: Count = Field(default=256, description="Events per group commit.")
    max_wait: Positive = Field(
        default=0.002,
        description="Seconds a commit waits for more events to group, while other operations are executing.",
    )
    commit_timeout: Positive = Field(
        default=2.0, description="Seconds a response waits for its event's commit before AUDIT_UNAVAILABLE."
    )
    suite: Literal["sha256-ed25519", "sm3-sm2"] = Field(
        default="sha256-ed25519",
        description="Chain hash, subject HMAC and checkpoint signature: SHA-256, HMAC-SHA-256, Ed25519; "
        "or SM3, HMAC-SM3, SM2 (GB/T 32905, 32918). Recorded per chain; new chains take a change.",
    )
    retain_months: Count = Field(
        default=36,
        description="Months kept in the database; `govgraph audit archive` moves older ones to files.",
    )
    checkpoints: OptionalText = Field(
        default=None,
        description="Where signed checkpoints go: a directory (a file per writer; relative to this "
        "file) or scheme://... for an installed sink. Unset: no checkpoints.",
    )
    checkpoint_key: OptionalPath = Field(
        default=None,
        validate_default=True,
        description="PEM private key (Ed25519, or SM2 for sm3-sm2) that signs checkpoints; "
        "required with checkpoints. Keep it out of the database's reach.",
    )
    checkpoint_interval: Positive = Field(
        default=10.0, description="Seconds between checkpoints of a writer whose chain has grown."
    )
    checkpoint_grace: Positive = Field(
        default=60.0,
        description="Seconds checkpointing may fail before personal-data requests get AUDIT_UNAVAILABLE.",
    )
    verify_keys: tuple[RelativePath, ...] = Field(
        default=(),
        description="PEM public keys `audit verify` trusts for checkpoints (old keys after a rotation); "
        "empty: the public half of checkpoint_key.",
    )

    @model_validator(mode="before")
    @classmethod
    def _off_reads_nothing_else(cls, data: Any) -> Any:
        # With the audit off, the section's other known keys are not read (an unknown key
        # is still a mistake): switching it off must not need a DSN or key to be valid.
        if isinstance(data, dict) and data.get("mode") == "off":
            known = set(cls.__dataclass_fields__)
            return {k: v for k, v in data.items() if k == "mode" or k not in known}
        return data

    @field_validator("dsn")
    @classmethod
    def _dsn_unless_off(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None and info.data.get("mode", "off") != "off":
            raise problem("is required")
        return value

    @field_validator("checkpoints")
    @classmethod
    def _directory_beside_the_file(cls, value: str | None, info: ValidationInfo) -> str | None:
        here = (info.context or {}).get("here")
        if value is None or "://" in value or here is None:
            return value
        return str(Path(here) / value)

    @field_validator("checkpoint_key")
    @classmethod
    def _key_with_checkpoints(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None and info.data.get("checkpoints") and info.data.get("mode", "off") != "off":
            raise problem("is required with checkpoints")
        return value

    @field_validator("subject_key")
    @classmethod
    def _key_unless_off(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("mode", "off") != "off":
            if not value:
                raise problem("is required")
            if len(value) < 16:
                raise problem("must be at least 16 characters")
        return value


@dataclass(frozen=True, config=SECTION)
class RateSettings:
    """[rate_limit]: per-client token buckets; a client's `rate`/`burst` in the policy override these."""

    backend: Literal["memory", "redis"] = Field(
        default="memory", description="memory: per process; redis: shared by every gateway process."
    )
    redis_url: OptionalText = Field(
        default=None,
        validate_default=True,
        description="Required with backend = redis, e.g. redis://redis:6379/0.",
    )
    rate: Positive = Field(default=50.0, description="Requests per second, sustained.")
    burst: Count = Field(default=100, description="Requests at once.")
    namespace: Text = Field(
        default="govgraph", description="Redis key prefix: gateways sharing it share the buckets."
    )

    _url_for_redis = field_validator("redis_url")(required_with_redis)


@dataclass(frozen=True, config=SECTION)
class MetricsSettings:
    """[metrics]: Prometheus text at GET /metrics on the operators' listener."""

    enabled: Switch = Field(
        default=True,
        description="Serve /metrics (no credentials: keep ops_listen on the monitoring network).",
    )


@dataclass(frozen=True, config=SECTION)
class HealthSettings:
    """[health]: readiness (GET /readyz) on the operators' listener."""

    maintenance_file: OptionalPath = Field(
        default=None, description="While this file exists /readyz answers 503; relative to this file."
    )
    required_sources: SourceNames | None = Field(
        default=None, description="Sources whose open circuit breaker makes /readyz answer 503; default: all."
    )
    audit_check_interval: Seconds = Field(
        default=1.0, description="Seconds a check of the audit store is reused."
    )


@dataclass(frozen=True, config=SECTION)
class LogSettings:
    """[logging]: the log format and the request log."""

    format: Literal["json", "text"] = Field(
        default="json", description="json: one JSON object a line, for log shippers; text: for people."
    )
    level: LogLevel = Field(default="INFO", description="debug, info, warning or error.")
    requests: Switch = Field(
        default=True, description="One line per /graphql request; never variables, ids or query text."
    )


@dataclass(frozen=True, config=SECTION)
class TracingSettings:
    """[tracing]: OpenTelemetry spans per operation and per department call."""

    enabled: Switch = Field(default=False, description="Record spans; REST departments receive traceparent.")
    exporter: Literal["console", "otlp"] = Field(
        default="console",
        description="console (stdout) or otlp (needs opentelemetry-exporter-otlp-proto-http).",
    )
    service_name: Text = Field(default="govgraph", description="The service.name of the spans.")
    sample_ratio: Ratio = Field(
        default=1.0, description="Share of traces started here that are recorded (0 to 1), by trace id."
    )
