"""The configuration's public names: the settings the gateway runs with and their readers.

The models live beside this module (sections.py, tables.py, file.py), reading the file in
load.py, the editor schema in schema.py; other packages import from here.
"""

from __future__ import annotations

from gateway.config.file import Settings
from gateway.config.load import (
    ConfigError,
    load_audit,
    load_auth,
    load_catalog_path,
    load_documents_path,
    load_section,
    load_settings,
    parse_settings,
)
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
from gateway.config.values import parse_address
from gateway.config.workflow import ApplicationSettings, ConsoleSettings

__all__ = [
    "ApplicationSettings",
    "AuditSettings",
    "AuthConfig",
    "ConfigError",
    "ConsoleSettings",
    "GatewaySettings",
    "HealthSettings",
    "LogSettings",
    "MetricsSettings",
    "RateSettings",
    "Settings",
    "TracingSettings",
    "load_audit",
    "load_auth",
    "load_catalog_path",
    "load_documents_path",
    "load_section",
    "load_settings",
    "parse_address",
    "parse_settings",
]
