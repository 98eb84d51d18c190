"""GB 11643 and GB 32100 validation, by known numbers and by property."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from resolvers.identifiers import (
    CREDIT_CODE_ALPHABET,
    birth_date_of,
    credit_code_check,
    credit_code_problem,
    org_code_check,
    resident_id_check,
    resident_id_problem,
)

# Published examples: the GB 11643 sample and a registered enterprise's code.
KNOWN_IDS = ["360426199101010071", "11010519491231002X"]
KNOWN_CODES = ["91110000600037341L"]


def test_known_numbers_are_valid() -> None:
    for value in KNOWN_IDS:
        assert resident_id_problem(value) is None, value
    assert credit_code_problem(KNOWN_CODES[0]) is None


def test_known_birth_date_is_read() -> None:
    assert birth_date_of("11010519491231002X") == dt.date(1949, 12, 31)


def test_resident_id_problems_are_specific() -> None:
    assert resident_id_problem("36042619910101007") == "must be 18 characters"
    assert resident_id_problem("36042619910101007A") == "must be 17 digits and a digit or X"
    assert resident_id_problem("360426199102300071") == "has an impossible birth date"
    assert resident_id_problem("360426199101010072") == "has a wrong check digit"


def test_credit_code_problems_are_specific() -> None:
    assert credit_code_problem("9111000060003734") == "must be 18 characters"
    assert credit_code_problem("91110000600037341I").startswith("has characters outside")
    assert credit_code_problem("91110000600037351L") == "has a wrong organisation-code check character"


dates = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2026, 12, 31))
areas = st.sampled_from(["350203", "350205", "350206", "350211", "350212", "350213", "350204", "360426"])


@st.composite
def resident_ids(draw: st.DrawFn) -> str:
    first17 = draw(areas) + draw(dates).strftime("%Y%m%d") + f"{draw(st.integers(0, 999)):03d}"
    return first17 + resident_id_check(first17)


@st.composite
def credit_codes(draw: st.DrawFn) -> str:
    org8 = "".join(draw(st.lists(st.sampled_from("0123456789ABCDEFGHJKLMNPQRTUWXY"), min_size=8, max_size=8)))
    first17 = (
        draw(st.sampled_from(["91", "92", "93", "12", "52"])) + draw(areas) + org8 + org_code_check(org8)
    )
    return first17 + credit_code_check(first17)


@given(resident_ids())
def test_generated_resident_ids_are_valid(value: str) -> None:
    assert resident_id_problem(value) is None


@given(resident_ids(), st.integers(0, 16), st.integers(1, 9))
def test_any_single_digit_change_is_caught(value: str, position: int, delta: int) -> None:
    changed = value[:position] + str((int(value[position]) + delta) % 10) + value[position + 1 :]
    assert resident_id_problem(changed) is not None


@given(resident_ids(), st.integers(0, 15))
def test_adjacent_transpositions_are_caught(value: str, position: int) -> None:
    a, b = value[position], value[position + 1]
    swapped = value[:position] + b + a + value[position + 2 :]
    assert (resident_id_problem(swapped) is None) == (a == b)


@given(credit_codes())
def test_generated_credit_codes_are_valid(value: str) -> None:
    assert credit_code_problem(value) is None


@given(credit_codes(), st.integers(0, 16), st.integers(1, 30))
def test_any_single_character_change_in_a_credit_code_is_caught(
    value: str, position: int, delta: int
) -> None:
    alphabet = CREDIT_CODE_ALPHABET
    replacement = alphabet[(alphabet.index(value[position]) + delta) % 31]
    changed = value[:position] + replacement + value[position + 1 :]
    assert credit_code_problem(changed) is not None
