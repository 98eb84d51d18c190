"""Custom scalars. Bad input is refused with BAD_USER_INPUT before any source is asked."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, NewType, TypeVar

import strawberry
from graphql import GraphQLError, ValueNode, value_from_ast_untyped

from .identifiers import credit_code_problem, resident_id_problem

__all__ = [
    "SCALARS",
    "CreditCode",
    "Month",
    "ResidentId",
    "month_key",
    "month_range",
    "parse_credit_code",
    "parse_resident_id",
    "parse_subject",
]

ResidentId = NewType("ResidentId", str)
CreditCode = NewType("CreditCode", str)
Month = NewType("Month", str)  # ISO "YYYY-MM"

T = TypeVar("T")

_MONTH = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")


def _bad(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": "BAD_USER_INPUT"})


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _literal(parse: Callable[[Any], T]) -> Callable[..., T]:
    """`parse` for a value written in the document: its refusal carries the literal's
    node, so that the client is told where it is (validation reports it as raised)."""

    def parse_literal(node: ValueNode, variables: dict[str, Any] | None = None) -> T:
        try:
            return parse(value_from_ast_untyped(node, variables))
        except GraphQLError as error:
            raise GraphQLError(error.message, node, extensions=error.extensions) from None

    return parse_literal


def parse_resident_id(value: Any) -> ResidentId:
    if not isinstance(value, str):
        raise _bad("ResidentId must be a string")
    problem = resident_id_problem(value.upper())
    if problem:
        raise _bad(f"ResidentId {_shown(value)} {problem}")
    return ResidentId(value.upper())


def parse_credit_code(value: Any) -> CreditCode:
    if not isinstance(value, str):
        raise _bad("CreditCode must be a string")
    problem = credit_code_problem(value.upper())
    if problem:
        raise _bad(f"CreditCode {_shown(value)} {problem}")
    return CreditCode(value.upper())


def parse_subject(value: Any) -> str:
    """A data subject's key, as the audit log is searched by it: a resident id or a credit
    code, upper-cased. Checked as `ResidentId` and `CreditCode` check theirs; refused
    with both reasons, since either was meant."""
    if not isinstance(value, str):
        raise _bad("subject must be a resident id or a credit code")
    text = value.strip().upper()
    as_person, as_enterprise = resident_id_problem(text), credit_code_problem(text)
    if as_person and as_enterprise:
        neither = f"is neither a ResidentId ({as_person}) nor a CreditCode ({as_enterprise})"
        raise _bad(f"subject {_shown(value)} {neither}")
    return text


def parse_month(value: Any) -> Month:
    if not isinstance(value, str) or not _MONTH.fullmatch(value):
        raise _bad(f"Month must be YYYY-MM, got {_shown(value)}")
    return Month(value)


def month_key(month: Month) -> str:
    """The departments' YYYYMM form of an ISO month."""
    return month[:4] + month[5:]


def month_range(first: Month | None, last: Month | None) -> tuple[str, str]:
    """The departments' YYYYMM bounds of an optional [first, last], open where None."""
    return ("000000" if first is None else month_key(first), "999999" if last is None else month_key(last))


def month_of(key: str) -> Month:
    """The ISO month of a department's YYYYMM."""
    return Month(f"{key[:4]}-{key[4:6]}")


SCALARS: dict[object, Any] = {
    ResidentId: strawberry.scalar(
        name="ResidentId",
        description="Resident identity number (GB 11643): 18 characters, checksum verified.",
        serialize=str,
        parse_value=parse_resident_id,
        parse_literal=_literal(parse_resident_id),
    ),
    CreditCode: strawberry.scalar(
        name="CreditCode",
        description="Unified social credit code (GB 32100): 18 characters, both check characters verified.",
        serialize=str,
        parse_value=parse_credit_code,
        parse_literal=_literal(parse_credit_code),
    ),
    Month: strawberry.scalar(
        name="Month",
        description="A calendar month, ISO 8601 YYYY-MM.",
        serialize=str,
        parse_value=parse_month,
        parse_literal=_literal(parse_month),
    ),
}
