"""Conversions from the departments' JSON values to graph values, None-safe."""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

__all__ = ["as_date", "as_datetime", "as_decimal"]


def as_date(value: Any) -> dt.date | None:
    return None if value is None else dt.date.fromisoformat(value[:10])


def as_datetime(value: Any) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromisoformat(value)


def as_decimal(value: Any) -> decimal.Decimal | None:
    # str() keeps what the department sent; Decimal(float) would show binary noise.
    return None if value is None else decimal.Decimal(str(value))
