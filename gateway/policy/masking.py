"""Masking rules for `masked` grants (after Hutool's DesensitizedUtil, the common
convention in Chinese government systems). A masked resident id never shows the
area or the birth date, so it cannot be re-identified from age and birthplace."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from resolvers.directives import MaskRule

__all__ = ["MASKS", "mask_address", "mask_identifier", "mask_name", "mask_phone", "mask_resident_id"]


def _keep(value: str, head: int, tail: int) -> str:
    if len(value) <= head + tail:
        return value[:1] + "*" * (len(value) - 1)
    return value[:head] + "*" * (len(value) - head - tail) + (value[-tail:] if tail else "")


def mask_resident_id(value: str) -> str:
    """`350211201903100312` → `3***************12`."""
    return _keep(value, 1, 2)


def mask_name(value: str) -> str:
    """`林小雨` → `林**`."""
    return value[:1] + "*" * (len(value) - 1)


def mask_phone(value: str) -> str:
    """`13800000001` → `138****0001`."""
    return _keep(value, 3, 4)


def mask_address(value: str) -> str:
    """The first third stays, at most six characters (city and district), never the street
    or door: `厦门市思明区湖滨南路388号` (14 characters) → `厦门市思**********`."""
    keep = min(6, max(1, len(value) // 3))
    return value[:keep] + "*" * (len(value) - keep)


def mask_student_number(value: str) -> str:
    """`G` + a resident id: the id part masked as an id."""
    return value[:1] + mask_resident_id(value[1:]) if value[:1].isalpha() else mask_resident_id(value)


def mask_identifier(value: str) -> str:
    """Registry numbers (household, permit, student, social insurance): first six, last two."""
    return _keep(value, 6, 2)


MASKS: dict[MaskRule, Callable[[Any], Any]] = {
    MaskRule.RESIDENT_ID: mask_resident_id,
    MaskRule.NAME: mask_name,
    MaskRule.PHONE: mask_phone,
    MaskRule.ADDRESS: mask_address,
    MaskRule.IDENTIFIER: mask_identifier,
    MaskRule.STUDENT_NUMBER: mask_student_number,
    MaskRule.WITHHOLD: lambda value: None,
}
