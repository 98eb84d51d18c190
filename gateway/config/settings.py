"""The only reader of configuration files and the environment.

`govgraph.toml` becomes frozen dataclasses here; every mistake stops start-up with a
message naming the file, the source and the key.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

from gateway.execution.limits import Limits
from sources.base import CacheSpec, EntitySpec, Resilience, SourceSpec
from sources.errors import ConfigError, SourceConfigError
from sources.options import Options

__all__ = [
    "AuditSettings",
    "AuthConfig",
    "ConfigError",
    "GatewaySettings",
    "HealthSettings",
    "LogSettings",
    "MetricsSettings",
    "RateSettings",
    "Settings",
    "TracingSettings",
    "load_auth",
    "load_documents_path",
    "load_settings",
    "parse_address",
    "parse_settings",
]

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_NAME = re.compile(r"[a-z][a-z0-9_]*")
_RESILIENCE_KEYS = {
    "retries",
    "retry_backoff",
    "breaker_failures",
    "breaker_cooldown",
    "max_in_flight",
    "connect_timeout",
}
_SOURCE_KEYS = {
    "kind",
    "max_batch_size",
    "timeout",
    "entities",
    "cache_ttl",
    "inject_latency_ms",
    *_RESILIENCE_KEYS,
}
_ENTITY_KEYS = {"key", "many", "cache", "cache_ttl"}

T = TypeVar("T")


@dataclass(frozen=True)
class GatewaySettings:
    graphiql: bool = True
    graphiql_presets: str | None = None  # JSON file: headers and example variables GraphiQL opens with
    batching: bool = True  # off only to measure a naive resolver's backend calls
    gc_young: int = 50_000  # allocations between young collections once serving; 0: Python's default
    # The HTTP edge (gateway/server/edge.py): what one process holds for its clients.
    ops_listen: str = "127.0.0.1:9000"  # /metrics, /readyz, /healthz: never on the public port
    keepalive_timeout: int = 5  # seconds an idle keep-alive connection is kept
    header_timeout: float = 10.0  # seconds from connecting (or keep-alive activity) to a complete head
    max_connections: int = 1000  # per process; requests on connections beyond it get 503


@dataclass(frozen=True)
class AuthConfig:
    policy: str  # path of the policy file
    audience: str = "govgraph"
    issuer: str | None = None
    hs256_secret: str | None = None  # demo and tests only
    public_keys: tuple[tuple[str, str], ...] = ()  # (algorithm, PEM file path)
    policy_poll: float = 1.0  # seconds between checks of the policy file for changes; 0: SIGHUP only
    leeway: float = 30.0  # seconds of clock skew tolerated on a token's exp, nbf and iat


@dataclass(frozen=True)
class AuditSettings:
    mode: str = "sync"  # sync: data leaves after its event commits; async: after it is queued; off
    dsn: str | None = None
    subject_key: str = ""
    max_batch: int = 256
    max_wait: float = 0.002  # seconds a commit waits for more events to group
    commit_timeout: float = 2.0


@dataclass(frozen=True)
class RateSettings:
    """Per-client token buckets; a client's `rate`/`burst` in the policy override these."""

    backend: str = "memory"  # memory: per process; redis: shared by every gateway process
    redis_url: str | None = None
    rate: float = 50.0  # requests per second, sustained
    burst: int = 100
    namespace: str = "govgraph"  # Redis key prefix: gateways sharing it share the buckets


@dataclass(frozen=True)
class MetricsSettings:
    enabled: bool = True  # GET /metrics, no credentials: restrict it at the network


@dataclass(frozen=True)
class HealthSettings:
    maintenance_file: str | None = None  # while this file exists /readyz answers 503
    required_sources: tuple[str, ...] | None = None  # an open breaker here is "not ready"; None: all
    audit_check_interval: float = 1.0  # seconds an audit store check is reused


@dataclass(frozen=True)
class LogSettings:
    format: str = "json"  # json: one JSON object a line; text: for people
    level: str = "INFO"
    requests: bool = True  # one line per /graphql request


@dataclass(frozen=True)
class TracingSettings:
    enabled: bool = False
    exporter: str = "console"  # console | otlp (needs opentelemetry-exporter-otlp-proto-http)
    service_name: str = "govgraph"
    sample_ratio: float = 1.0  # of traces started here; a caller's sampled flag is followed


@dataclass(frozen=True)
class Settings:
    gateway: GatewaySettings
    sources: tuple[SourceSpec, ...]
    auth: AuthConfig | None = None
    audit: AuditSettings = AuditSettings(mode="off")
    limits: Limits = field(default_factory=Limits)
    rate_limit: RateSettings = field(default_factory=RateSettings)
    cache: CacheSpec = field(default_factory=CacheSpec)
    documents: str | None = None  # directory of trusted documents (with manifest.json)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    health: HealthSettings = field(default_factory=HealthSettings)
    logging: LogSettings = field(default_factory=LogSettings)
    tracing: TracingSettings = field(default_factory=TracingSettings)
    path: str = "<memory>"


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from exc


def load_settings(path: str | Path, environ: Mapping[str, str] | None = None) -> Settings:
    path = Path(path)
    raw = _read(path)
    try:
        return parse_settings(raw, os.environ if environ is None else environ, str(path))
    except SourceConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from exc


def load_documents_path(path: str | Path) -> str | None:
    """Only [documents] path: what checking trusted documents needs."""
    path = Path(path)
    table = _read(path).get("documents", {})
    value = table.get("path") if isinstance(table, dict) else None
    return None if not isinstance(value, str) else str(path.parent / value)


def load_auth(path: str | Path, environ: Mapping[str, str] | None = None) -> AuthConfig:
    """Only the [auth] section: what minting a token needs, without the departments' addresses."""
    path = Path(path)

    def build(table: Mapping[str, Any]) -> AuthConfig:
        if not table:
            raise SourceConfigError("auth", "the [auth] section (with policy = ...) is required")
        return _auth(table, path.parent)

    return _one_section(path, "auth", environ, build)


def load_audit(path: str | Path, environ: Mapping[str, str] | None = None) -> AuditSettings:
    """Only the [audit] section: what `govgraph audit` needs, beside a running gateway or not."""
    return _one_section(Path(path), "audit", environ, _audit)


def _one_section(
    path: Path, name: str, environ: Mapping[str, str] | None, build: Callable[[Mapping[str, Any]], T]
) -> T:
    raw = _read(path)
    try:
        table = _expand(
            Options("", raw, set(raw)).mapping(name), os.environ if environ is None else environ, name
        )
        return build(table)
    except SourceConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from exc


def parse_settings(raw: Mapping[str, Any], environ: Mapping[str, str], path: str = "<memory>") -> Settings:
    """Turn a parsed TOML document into settings; raises SourceConfigError naming the key."""
    top = Options(
        "",
        raw,
        {
            "gateway",
            "sources",
            "auth",
            "audit",
            "limits",
            "documents",
            "rate_limit",
            "cache",
            "metrics",
            "health",
            "logging",
            "tracing",
        },
    )
    gateway = _gateway(_expand(top.mapping("gateway"), environ, "gateway"), Path(path).parent)
    lim = Options(
        "limits", _expand(top.mapping("limits"), environ, "limits"), {f.name for f in fields(Limits)}
    )
    limits = Limits(**{f.name: lim.integer(f.name, getattr(Limits(), f.name)) for f in fields(Limits)})
    sources_table = top.mapping("sources")
    if not sources_table:
        raise SourceConfigError("sources", "at least one source is required")
    specs = tuple(
        _source(name, _expand(table, environ, f"sources.{name}"), name)
        for name, table in sources_table.items()
    )
    here = Path(path).parent
    auth = _auth(_expand(top.mapping("auth"), environ, "auth"), here) if "auth" in raw else None
    audit = _audit(_expand(top.mapping("audit"), environ, "audit"))
    rate_limit = _rate_limit(_expand(top.mapping("rate_limit"), environ, "rate_limit"))
    cache = _cache(_expand(top.mapping("cache"), environ, "cache"))
    docs_table = _expand(top.mapping("documents"), environ, "documents")
    docs = Options("documents", docs_table, {"path"})
    documents = str(here / docs.text("path")) if "path" in docs_table else None
    metrics = Options("metrics", _expand(top.mapping("metrics"), environ, "metrics"), {"enabled"})
    health = _health(_expand(top.mapping("health"), environ, "health"), here, [s.name for s in specs])
    return Settings(
        gateway=gateway,
        sources=specs,
        auth=auth,
        audit=audit,
        limits=limits,
        documents=documents,
        rate_limit=rate_limit,
        cache=cache,
        metrics=MetricsSettings(enabled=_switch(metrics, "enabled", True)),
        health=health,
        logging=_logging(_expand(top.mapping("logging"), environ, "logging")),
        tracing=_tracing(_expand(top.mapping("tracing"), environ, "tracing")),
        path=path,
    )


def _switch(opts: Options, key: str, default: bool) -> bool:
    """A boolean, also written as "true"/"false" (what ${VAR} substitution yields)."""
    value = opts.raw(key)
    if value is None:
        return default
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if not isinstance(value, bool):
        raise SourceConfigError(opts.at(key), f"must be true or false, got {value!r}")
    return value


def _gateway(table: Mapping[str, Any], here: Path) -> GatewaySettings:
    opts = Options(
        "gateway",
        table,
        {
            "graphiql",
            "graphiql_presets",
            "batching",
            "gc_young",
            "ops_listen",
            "keepalive_timeout",
            "header_timeout",
            "max_connections",
        },
    )
    defaults = GatewaySettings()
    ops_listen = opts.text("ops_listen", defaults.ops_listen)
    parse_address(ops_listen, opts.at("ops_listen"))
    return GatewaySettings(
        graphiql=_switch(opts, "graphiql", True),
        # Relative to the config file; "" (an unset ${VAR:-}) is none.
        graphiql_presets=str(here / opts.text("graphiql_presets")) if opts.raw("graphiql_presets") else None,
        batching=_switch(opts, "batching", True),
        gc_young=opts.integer("gc_young", defaults.gc_young, minimum=0),
        ops_listen=ops_listen,
        keepalive_timeout=opts.integer("keepalive_timeout", defaults.keepalive_timeout),
        header_timeout=opts.number("header_timeout", defaults.header_timeout),
        max_connections=opts.integer("max_connections", defaults.max_connections),
    )


def parse_address(text: str, where: str = "address") -> tuple[str, int]:
    """`HOST:PORT` (`[::1]:9000` for IPv6) as (host, port); raises SourceConfigError."""
    host, _, port = text.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise SourceConfigError(where, f"must be HOST:PORT, e.g. 127.0.0.1:9000, got {text!r}")
    return host, int(port)


def _health(table: Mapping[str, Any], here: Path, sources: list[str]) -> HealthSettings:
    opts = Options("health", table, {"maintenance_file", "required_sources", "audit_check_interval"})
    maintenance = opts.raw("maintenance_file")
    required = opts.raw("required_sources")
    if required is not None:
        if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
            raise SourceConfigError(opts.at("required_sources"), "must be a list of source names")
        unknown = sorted(set(required) - set(sources))
        if unknown:
            raise SourceConfigError(
                opts.at("required_sources"), f"names no configured source: {', '.join(unknown)}"
            )
    interval = _seconds(opts, "audit_check_interval")
    return HealthSettings(
        maintenance_file=str(here / opts.text("maintenance_file")) if maintenance else None,
        required_sources=None if required is None else tuple(required),
        audit_check_interval=HealthSettings.audit_check_interval if interval is None else interval,
    )


def _logging(table: Mapping[str, Any]) -> LogSettings:
    opts = Options("logging", table, {"format", "level", "requests"})
    form = opts.text("format", "json")
    if form not in ("json", "text"):
        raise SourceConfigError("logging.format", f"must be json or text, got {form!r}")
    level = opts.text("level", "INFO").upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise SourceConfigError("logging.level", f"must be debug, info, warning or error, got {level!r}")
    return LogSettings(format=form, level=level, requests=_switch(opts, "requests", True))


def _tracing(table: Mapping[str, Any]) -> TracingSettings:
    opts = Options("tracing", table, {"enabled", "exporter", "service_name", "sample_ratio"})
    exporter = opts.text("exporter", "console")
    if exporter not in ("console", "otlp"):
        raise SourceConfigError("tracing.exporter", f"must be console or otlp, got {exporter!r}")
    ratio = opts.raw("sample_ratio")
    if ratio is not None:
        ratio = _seconds(opts, "sample_ratio")
        if ratio is None or ratio > 1:
            raise SourceConfigError(
                "tracing.sample_ratio", f"must be between 0 and 1, got {opts.raw('sample_ratio')!r}"
            )
    return TracingSettings(
        enabled=_switch(opts, "enabled", False),
        exporter=exporter,
        service_name=opts.text("service_name", "govgraph"),
        sample_ratio=1.0 if ratio is None else ratio,
    )


def _auth(table: Mapping[str, Any], here: Path) -> AuthConfig:
    opts = Options(
        "auth",
        table,
        {"policy", "audience", "issuer", "hs256_secret", "public_keys", "policy_poll", "leeway"},
    )
    keys = opts.mapping("public_keys")
    for alg, key_path in keys.items():
        if alg not in ("RS256", "ES256") or not isinstance(key_path, str):
            raise SourceConfigError(f"auth.public_keys.{alg}", "must map RS256 or ES256 to a PEM file path")
    return AuthConfig(
        policy=str(here / opts.text("policy")),
        audience=opts.text("audience", "govgraph"),
        issuer=opts.text("issuer") if "issuer" in table else None,
        hs256_secret=opts.text("hs256_secret") if "hs256_secret" in table else None,
        public_keys=tuple((alg, str(here / p)) for alg, p in keys.items()),
        policy_poll=opts.seconds_or_off("policy_poll", AuthConfig.policy_poll),
        leeway=opts.seconds_or_off("leeway", AuthConfig.leeway),
    )


def _cache(table: Mapping[str, Any]) -> CacheSpec:
    opts = Options(
        "cache", table, {"backend", "redis_url", "max_entries", "max_mb", "ttl", "negative_ttl", "version"}
    )
    backend = opts.text("backend", "memory")
    if backend not in ("memory", "redis", "off"):
        raise SourceConfigError("cache.backend", f"must be memory, redis or off, got {backend!r}")
    url = table.get("redis_url") or None
    if backend == "redis" and not url:
        raise SourceConfigError("cache.redis_url", "is required when backend is redis")
    defaults = CacheSpec()
    ttl, negative = _seconds(opts, "ttl"), _seconds(opts, "negative_ttl")
    return CacheSpec(
        backend=backend,
        redis_url=url,
        max_entries=opts.integer("max_entries", defaults.max_entries),
        max_mb=opts.integer("max_mb", defaults.max_mb),
        ttl=defaults.ttl if ttl is None else ttl,
        negative_ttl=defaults.negative_ttl if negative is None else negative,
        version=opts.text("version", defaults.version),
    )


def _rate_limit(table: Mapping[str, Any]) -> RateSettings:
    opts = Options("rate_limit", table, {"backend", "redis_url", "rate", "burst", "namespace"})
    backend = opts.text("backend", "memory")
    if backend not in ("memory", "redis"):
        raise SourceConfigError("rate_limit.backend", f"must be memory or redis, got {backend!r}")
    url = table.get("redis_url") or None
    if backend == "redis" and not url:
        raise SourceConfigError("rate_limit.redis_url", "is required when backend is redis")
    return RateSettings(
        backend=backend,
        redis_url=url,
        rate=opts.number("rate", 50.0),
        burst=opts.integer("burst", 100),
        namespace=opts.text("namespace", "govgraph"),
    )


def _audit(table: Mapping[str, Any]) -> AuditSettings:
    opts = Options("audit", table, {"mode", "dsn", "subject_key", "max_batch", "max_wait", "commit_timeout"})
    mode = opts.text("mode", "sync")
    if mode not in ("sync", "async", "off"):
        raise SourceConfigError("audit.mode", f"must be sync, async or off, got {mode!r}")
    if mode == "off":
        return AuditSettings(mode="off")
    key = opts.text("subject_key")
    if len(key) < 16:
        raise SourceConfigError("audit.subject_key", "must be at least 16 characters")
    return AuditSettings(
        mode=mode,
        dsn=opts.text("dsn"),
        subject_key=key,
        max_batch=opts.integer("max_batch", 256),
        max_wait=opts.number("max_wait", 0.002),
        commit_timeout=opts.number("commit_timeout", 2.0),
    )


def _source(name: str, table: Any, where_name: str) -> SourceSpec:
    where = f"sources.{where_name}"
    if not _NAME.fullmatch(name):
        raise SourceConfigError(where, "source names are lower-case letters, digits and underscores")
    if not isinstance(table, dict):
        raise SourceConfigError(where, "must be a table")
    common = Options(where, {k: v for k, v in table.items() if k in _SOURCE_KEYS}, _SOURCE_KEYS)
    entities_table = common.mapping("entities")
    if not entities_table:
        raise SourceConfigError(f"{where}.entities", "at least one entity is required")
    entities = {e: _entity(f"{where}.entities.{e}", e, t) for e, t in entities_table.items()}
    defaults = Resilience()
    resilience = Resilience(
        retries=common.integer("retries", defaults.retries, minimum=0),
        retry_backoff=common.number("retry_backoff", defaults.retry_backoff),
        breaker_failures=common.integer("breaker_failures", defaults.breaker_failures),
        breaker_cooldown=common.number("breaker_cooldown", defaults.breaker_cooldown),
        max_in_flight=common.integer("max_in_flight", defaults.max_in_flight),
        connect_timeout=common.number("connect_timeout", defaults.connect_timeout),
    )
    return SourceSpec(
        name=name,
        kind=common.text("kind"),
        entities=entities,
        options={k: v for k, v in table.items() if k not in _SOURCE_KEYS},
        max_batch_size=common.integer("max_batch_size", 500),
        timeout=common.number("timeout", 5.0),
        resilience=resilience,
        cache_ttl=_seconds(common, "cache_ttl"),
        inject_latency=_seconds(common, "inject_latency_ms", 1000.0) or 0.0,
    )


def _seconds(opts: Options, key: str, per_second: float = 1.0) -> float | None:
    """An optional non-negative number (0 allowed: "off"), converted to seconds."""
    value = opts.raw(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise SourceConfigError(opts.at(key), f"must be a number of at least 0, got {value!r}")
    return float(value) / per_second


def _entity(where: str, name: str, table: Any) -> EntitySpec:
    if not _NAME.fullmatch(name):
        raise SourceConfigError(where, "entity names are lower-case letters, digits and underscores")
    if not isinstance(table, dict):
        raise SourceConfigError(where, "must be a table")
    common = Options(where, {k: v for k, v in table.items() if k in _ENTITY_KEYS}, _ENTITY_KEYS)
    return EntitySpec(
        name=name,
        key=common.text("key"),
        many=common.flag("many", False),
        options={k: v for k, v in table.items() if k not in _ENTITY_KEYS},
        cache=common.flag("cache", True),
        cache_ttl=_seconds(common, "cache_ttl"),
    )


def _expand(value: Any, environ: Mapping[str, str], where: str) -> Any:
    """Substitute ${VAR} and ${VAR:-default} in every string under `value`."""
    if isinstance(value, str):

        def sub(m: re.Match[str]) -> str:
            var, default = m.group(1), m.group(2)
            if var in environ:
                return environ[var]
            if default is not None:
                return default
            raise SourceConfigError(where, f"environment variable {var} is not set")

        return _ENV.sub(sub, value)
    if isinstance(value, dict):
        return {k: _expand(v, environ, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, environ, f"{where}[{i}]") for i, v in enumerate(value)]
    return value
