"""The catalogue's error: a ConfigError whose message has one line per mistake."""

from __future__ import annotations

from sources.errors import ConfigError

__all__ = ["CatalogError"]


class CatalogError(ConfigError):
    """The catalogue is wrong, or does not fit the graph's code; one line per mistake."""
