"""What a type says about whose data its values are. A type declares it by deriving from
`Subject` or `Located`; the gateway reads the declaration once, when the schema is built,
and never looks for attributes by name.

- A `Subject`'s values are about one data subject (a person, an enterprise, a household):
  every field read on one is recorded under `subject_id` for the audit, a verdict on one
  is evaluated once per subject, and a root field that returns one by key is a look-up
  (audited per id asked, budgeted).
- A `Located` subject lives somewhere: a district-limited grant sees it only when one of
  its `districts()` is granted, and a root field may reach it only by a look-up by key, so
  that "not yours" is answered as "not there".
"""

from __future__ import annotations

__all__ = ["Located", "Subject"]


class Subject:
    # The declaring strawberry type holds it as `subject_id: strawberry.Private[str]`.
    subject_id: str


class Located(Subject):
    def districts(self) -> tuple[str | None, ...]:
        """The district codes a district-limited grant is checked against."""
        raise NotImplementedError
