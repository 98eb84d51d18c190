"""[metrics], [health], [logging] and [tracing]: defaults, the shipped file, and errors that
name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config.settings import (
    ConfigError,
    HealthSettings,
    LogSettings,
    MetricsSettings,
    TracingSettings,
    load_settings,
)

from .test_settings import ENV, SHIPPED

SOURCE = '[audit]\nmode = "off"\n[sources.tax]\nkind = "memory"\n[sources.tax.entities.t]\nkey = "k"\n'


def test_shipped_config_and_its_environment_switches(tmp_path: Path) -> None:
    shipped = load_settings(SHIPPED, ENV)
    assert shipped.metrics == MetricsSettings(enabled=True)
    assert shipped.logging == LogSettings(format="json", level="INFO", requests=True)
    assert shipped.tracing == TracingSettings(enabled=False, exporter="console")
    assert shipped.health.maintenance_file == str(SHIPPED.parent / ".govgraph" / "maintenance")
    assert shipped.health.required_sources is None
    switched = load_settings(
        SHIPPED,
        {
            **ENV,
            "GOVGRAPH_METRICS": "false",
            "GOVGRAPH_TRACING": "true",
            "GOVGRAPH_LOG_FORMAT": "text",
            "GOVGRAPH_MAINTENANCE_FILE": str(tmp_path / "drain"),
        },
    )
    assert switched.metrics.enabled is False
    assert switched.tracing.enabled is True
    assert switched.logging.format == "text"
    assert switched.health.maintenance_file == str(tmp_path / "drain")


def test_defaults_when_the_sections_are_absent(tmp_path: Path) -> None:
    path = tmp_path / "govgraph.toml"
    path.write_text(SOURCE)
    loaded = load_settings(path, {})
    assert loaded.metrics == MetricsSettings()
    assert loaded.health == HealthSettings()
    assert loaded.logging == LogSettings()
    assert loaded.tracing == TracingSettings()


def test_required_sources_relative_maintenance_file(tmp_path: Path) -> None:
    path = tmp_path / "govgraph.toml"
    path.write_text(SOURCE + '[health]\nmaintenance_file = "run/drain"\nrequired_sources = ["tax"]\n')
    health = load_settings(path, {}).health
    assert health.maintenance_file == str(tmp_path / "run" / "drain")
    assert health.required_sources == ("tax",)


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ('[metrics]\nenabled = "maybe"\n', "metrics.enabled: must be true or false"),
        ("[metrics]\npath = 1\n", "metrics.path: unknown key"),
        (
            '[health]\nrequired_sources = ["nope"]\n',
            "health.required_sources: names no configured source: nope",
        ),
        ('[health]\nrequired_sources = "tax"\n', "health.required_sources: must be a list of source names"),
        (
            "[health]\naudit_check_interval = -1\n",
            "health.audit_check_interval: must be a number of at least 0",
        ),
        ('[logging]\nformat = "xml"\n', "logging.format: must be json or text"),
        ('[logging]\nlevel = "loud"\n', "logging.level: must be debug, info, warning or error"),
        ('[tracing]\nexporter = "jaeger"\n', "tracing.exporter: must be console or otlp"),
        ("[tracing]\nsample_ratio = 2\n", "tracing.sample_ratio: must be between 0 and 1"),
    ],
)
def test_mistakes_name_the_key(tmp_path: Path, section: str, message: str) -> None:
    path = tmp_path / "govgraph.toml"
    path.write_text(SOURCE + section)
    with pytest.raises(ConfigError, match=message):
        load_settings(path, {})
