"""Each configuration default is declared once: where another module needs the same
value (the audit writer, the policy reloader, token checks, rate limiter keys, the
objects `sources/` and the executor own), one side takes it from the other."""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import BaseModel

from gateway.access.auth import AuthSettings
from gateway.access.ratelimit import RedisRateLimiter, build_rate_limiter
from gateway.access.tally import RedisTally
from gateway.audit.writer import AuditWriter
from gateway.config.limits import Limits
from gateway.config.settings import AuditSettings, AuthConfig, GatewaySettings, RateSettings, parse_settings
from gateway.config.tables import CacheTable, EntityTable, LimitsTable, SourceTable
from gateway.policy.reload import POLL_INTERVAL, PolicyReloader
from sources.base import CacheSpec, EntitySpec, Resilience, SourceSpec
from sources.errors import SourceConfigError


def keyword_defaults(function: Callable[..., Any]) -> dict[str, Any]:
    return {
        name: p.default
        for name, p in inspect.signature(function).parameters.items()
        if p.default is not inspect.Parameter.empty
    }


def model_defaults(model: type[BaseModel]) -> dict[str, Any]:
    return {name: f.default for name, f in model.model_fields.items() if not f.is_required()}


def test_the_audit_writer_groups_commits_as_the_audit_section_says() -> None:
    defaults = keyword_defaults(AuditWriter.__init__)
    declared = AuditSettings(mode="off")  # every other key at its default
    for name in ("max_batch", "max_wait", "commit_timeout"):
        assert defaults[name] == getattr(declared, name)
    assert (declared.max_batch, declared.max_wait, declared.commit_timeout) == (256, 0.002, 2.0)


def test_token_and_reload_defaults_are_the_auth_sections() -> None:
    assert AuthSettings() == AuthSettings(audience=AuthConfig.audience, leeway=AuthConfig.leeway)
    assert AuthSettings().leeway == 30.0
    assert AuthSettings().audience == "govgraph"
    assert POLL_INTERVAL == AuthConfig.policy_poll == 1.0
    assert keyword_defaults(PolicyReloader.__init__)["interval"] is None  # None: POLL_INTERVAL


def test_redis_key_prefixes_start_with_the_rate_limit_namespace() -> None:
    namespace = RateSettings.namespace
    assert keyword_defaults(build_rate_limiter)["prefix"] == f"{namespace}:rl:"
    assert keyword_defaults(RedisRateLimiter.__init__)["prefix"] == f"{namespace}:rl:"
    assert keyword_defaults(RedisTally.__init__)["prefix"] == f"{namespace}:tally:"


@pytest.mark.parametrize(
    ("table", "owner"), [(LimitsTable, Limits), (CacheTable, CacheSpec), (EntityTable, EntitySpec)]
)
def test_tables_of_objects_owned_elsewhere_take_their_defaults(
    table: type[BaseModel], owner: type[Any]
) -> None:
    """A key added to Limits, CacheSpec or EntitySpec without its table would be a key
    the file cannot set: the fields must match, defaults included."""
    owned = {f.name: f.default for f in dataclasses.fields(owner) if f.name not in ("name", "options")}
    assert set(table.model_fields) == set(owned)
    for name, default in model_defaults(table).items():
        assert default == owned[name], name


def test_a_source_table_takes_its_defaults_from_the_source_spec() -> None:
    resilience = {f.name: f.default for f in dataclasses.fields(Resilience)}
    assert set(resilience) <= set(SourceTable.model_fields)
    minimal = SourceTable.model_validate({"kind": "memory", "entities": {"e": {"key": "id"}}})
    spec = minimal.spec("a")
    expected = SourceSpec(name="a", kind="memory", entities={"e": EntitySpec(name="e", key="id")})
    assert spec == expected
    assert spec.resilience == Resilience()


def test_absent_sections_are_the_runtime_defaults() -> None:
    raw = {"sources": {"a": {"kind": "memory", "entities": {"e": {"key": "id"}}}}, "audit": {"mode": "off"}}
    settings = parse_settings(raw, {})
    assert settings.gateway == GatewaySettings()
    assert settings.limits == Limits()
    assert settings.cache == CacheSpec()
    assert settings.rate_limit == RateSettings()
    assert settings.auth is None
    assert settings.audit == AuditSettings(mode="off")
    with pytest.raises(SourceConfigError, match="subject_key"):  # absent, [audit] is not off
        parse_settings({"sources": raw["sources"]}, {})
