"""GB 11643 resident identity numbers and GB 32100 unified social credit codes.

Validation and generation live together so the synthetic city and the scalars agree
on exactly one definition of "valid".
"""

from __future__ import annotations

import datetime as dt
import re

__all__ = [
    "CREDIT_CODE_ALPHABET",
    "birth_date_of",
    "credit_code",
    "credit_code_check",
    "credit_code_problem",
    "org_code_check",
    "resident_id",
    "resident_id_check",
    "resident_id_problem",
]

_RID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_RID_CHECK = "10X98765432"
_RID_SHAPE = re.compile(r"[1-9]\d{5}(\d{8})\d{3}[\dX]")

CREDIT_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I, O, Z, S, V
_CC_INDEX = {c: i for i, c in enumerate(CREDIT_CODE_ALPHABET)}
_CC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_CC_SHAPE = re.compile(r"[1-9ANY][1-59]\d{6}[0-9A-HJ-NPQRTUWXY]{10}")
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def resident_id_check(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, _RID_WEIGHTS, strict=True))
    return _RID_CHECK[total % 11]


def resident_id(area: str, birth: dt.date, sequence: int) -> str:
    """The resident id of someone first registered in `area` (six digits), born on `birth`,
    with the sequence number `sequence` (1-999: odd for men, even for women)."""
    first17 = f"{area}{birth.year:04d}{birth.month:02d}{birth.day:02d}{sequence:03d}"
    return first17 + resident_id_check(first17)


def resident_id_problem(value: str) -> str | None:
    """Why `value` is not a valid resident id, or None when it is."""
    if len(value) != 18:
        return "must be 18 characters"
    match = _RID_SHAPE.fullmatch(value)
    if match is None:
        return "must be 17 digits and a digit or X"
    born = match.group(1)
    try:  # the date's constructor: a tenth of strptime's cost, on every id a request names
        dt.date(int(born[:4]), int(born[4:6]), int(born[6:]))
    except ValueError:
        return "has an impossible birth date"
    if resident_id_check(value[:17]) != value[17]:
        return "has a wrong check digit"
    return None


def birth_date_of(resident_id: str) -> dt.date:
    return dt.date(int(resident_id[6:10]), int(resident_id[10:12]), int(resident_id[12:14]))


def org_code_check(first8: str) -> str:
    """The GB 11714 check character of the organisation code inside a credit code."""
    total = sum(_ORG_ALPHABET.index(c) * w for c, w in zip(first8, _ORG_WEIGHTS, strict=True))
    r = 11 - total % 11
    return "X" if r == 10 else "0" if r == 11 else str(r)


def credit_code_check(first17: str) -> str:
    """The GB 32100 check character for the first 17 characters."""
    total = sum(_CC_INDEX[c] * w for c, w in zip(first17, _CC_WEIGHTS, strict=True))
    return CREDIT_CODE_ALPHABET[(31 - total % 31) % 31]


def credit_code(registrar: str, area: str, organisation: str) -> str:
    """The unified social credit code of the organisation code `organisation` (its eight
    characters, the check character is added), registered in `area` (six digits) by
    `registrar` (two characters: "91" an enterprise, "92" an individual business)."""
    first17 = registrar + area + organisation + org_code_check(organisation)
    return first17 + credit_code_check(first17)


def credit_code_problem(value: str) -> str | None:
    """Why `value` is not a valid unified social credit code, or None when it is."""
    if len(value) != 18:
        return "must be 18 characters"
    if _CC_SHAPE.fullmatch(value) is None:
        return "has characters outside GB 32100 (digits and capitals except I, O, Z, S, V)"
    org = value[8:17]
    if org[:8].isalnum() and org[8] != org_code_check(org[:8]):
        return "has a wrong organisation-code check character"
    if credit_code_check(value[:17]) != value[17]:
        return "has a wrong check character"
    return None
