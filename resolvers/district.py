"""Administrative divisions (GB/T 2260), as far as the graph needs names for them."""

from __future__ import annotations

import strawberry

from .directives import public

__all__ = ["District", "district"]

# Xiamen's current districts and the historical codes still found in resident ids.
_NAMES = {
    "350200": "厦门市",
    "350202": "鼓浪屿区",
    "350203": "思明区",
    "350204": "开元区",
    "350205": "海沧区",
    "350206": "湖里区",
    "350211": "集美区",
    "350212": "同安区",
    "350213": "翔安区",
    "350221": "同安县",
}


@strawberry.type(description="An administrative division by its six-digit GB/T 2260 code.")
class District:
    # Public: the national table of divisions, the same for everyone. Whose district it is
    # is the linking field's data, under that field's scope (Person.hukouDistrict).
    code: str = strawberry.field(directives=public())
    name: str | None = strawberry.field(
        description="Known for Xiamen's codes; null elsewhere.", directives=public()
    )

    @strawberry.field(description="True for a district of Xiamen (3502xx).", directives=public())
    def in_xiamen(self) -> bool:
        return self.code.startswith("3502")


def district(code: str | None) -> District | None:
    return None if code is None else District(code=code, name=_NAMES.get(code))
