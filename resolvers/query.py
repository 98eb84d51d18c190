"""The root of the graph: look-ups by the keys departments share."""

from __future__ import annotations

from typing import Annotated

import strawberry
from graphql import GraphQLError

from .access_log import AccessEvent, access_log
from .context import Info
from .directives import list_size, max_length, scope
from .education import School, school_of
from .enterprise import Enterprise
from .household import Household
from .person import Person
from .scalars import CreditCode, ResidentId

__all__ = ["Query"]

# The root look-ups' link scopes, opened by a grant of any scope about the same kind of
# subject (that scope or one below it), so that a client reaches the fields it was granted;
# an enterprise's insured headcount does not open persons. tax.income is about a person,
# the other tax scopes about an enterprise.
_PERSON_DATA = (
    "person",
    "household",
    "education.student_status",
    "education.enrollment",
    "social_insurance",
    "tax.income",
)
_ENTERPRISE_DATA = ("enterprise", "tax.registration", "tax.rating", "tax.payments")


def _bounded(info: Info, keys: list[str], argument: str) -> None:
    limit = info.context.max_list_keys
    if len(keys) > limit:
        raise GraphQLError(
            f"{argument} takes at most {limit} keys, got {len(keys)}",
            extensions={
                "code": "OPERATION_LIMIT",
                "limit": "list_keys",
                "max": limit,
                "actual": len(keys),
                "argument": argument,
            },
        )


@strawberry.type
class Query:
    @strawberry.field(
        description="A person by resident id; null when the register has no such person.",
        directives=scope("person.*", opened_by=_PERSON_DATA),
    )
    async def person(self, info: Info, id: ResidentId) -> Person | None:
        r = await info.context.loaders.one("person", id)
        return None if r is None else Person.of(r)

    @strawberry.field(
        description="Persons by resident id, in the order asked; null for unknown ids.",
        directives=[*scope("person.*", opened_by=_PERSON_DATA), list_size(sized_by="ids")],
    )
    async def persons(self, info: Info, ids: list[ResidentId]) -> list[Person | None]:
        _bounded(info, list(ids), "ids")
        records = await info.context.loaders.each("person", list(ids))
        return [None if r is None else Person.of(r) for r in records]

    @strawberry.field(
        description="An enterprise by unified social credit code.",
        directives=scope("enterprise.*", opened_by=_ENTERPRISE_DATA),
    )
    async def enterprise(self, info: Info, credit_code: CreditCode) -> Enterprise | None:
        r = await info.context.loaders.one("enterprise", credit_code)
        return None if r is None else Enterprise.of(r)

    @strawberry.field(
        description="Enterprises by credit code, in the order asked; null for unknown codes.",
        directives=[*scope("enterprise.*", opened_by=_ENTERPRISE_DATA), list_size(sized_by="creditCodes")],
    )
    async def enterprises(self, info: Info, credit_codes: list[CreditCode]) -> list[Enterprise | None]:
        _bounded(info, list(credit_codes), "creditCodes")
        records = await info.context.loaders.each("enterprise", list(credit_codes))
        return [None if r is None else Enterprise.of(r) for r in records]

    @strawberry.field(description="A household by its number (户号).", directives=scope("household.register"))
    async def household(self, info: Info, number: Annotated[str, max_length(32)]) -> Household | None:
        r = await info.context.loaders.one("household", number.strip())
        return None if r is None else Household.of(r)

    @strawberry.field(
        description="Audit: who accessed this person or enterprise (by resident id or credit code).",
        directives=[*scope("audit.read"), list_size(100)],
    )
    async def access_log(self, info: Info, subject: Annotated[str, max_length(32)]) -> list[AccessEvent]:
        return await access_log(info, subject)

    @strawberry.field(
        description="A school by its identification code.", directives=scope("education.schools")
    )
    async def school(self, info: Info, code: Annotated[str, max_length(16)]) -> School | None:
        return await school_of(info, code.strip())
