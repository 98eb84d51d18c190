"""The simulated departments of the demo city: their databases and REST services."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

__all__ = ["DEPARTMENTS", "REST_DEPARTMENTS", "SQL_DIR", "database_dsn", "database_of", "role_of"]

SQL_DIR = Path(__file__).parent / "sql"

# Every department keeps its own PostgreSQL database, owned by its own role.
DEPARTMENTS = ("public_security", "education", "social_insurance", "tax", "market", "licences", "credit")
# These answer over REST (aiohttp on loopback) in front of their databases.
REST_DEPARTMENTS = ("education", "social_insurance", "credit")


def database_of(department: str) -> str:
    return f"gg_{department}"


def role_of(department: str) -> str:
    return f"gg_{department}"


def database_dsn(dsn: str, database: str = "postgres") -> str:
    """`dsn` re-pointed at another database on the same server, as the same user."""
    parts = urlsplit(dsn)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, ""))
