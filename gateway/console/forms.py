"""What the console's forms come to: typed values for the workflow, or a BAD_USER_INPUT
refusal naming the field. The workflow checks the rest (roles, items, text lengths)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import orjson

from gateway.applications.errors import WorkflowError
from gateway.applications.model import ApplicationInput

if TYPE_CHECKING:
    from gateway.console.view import Visit

__all__ = ["application_input", "item_names", "number"]

# Item names are separated by white space, commas or semicolons, Chinese ones included.
_SEPARATORS = re.compile(r"[\s,;，、；]+")
_MAX_NAMES = 100


def item_names(*texts: str) -> list[str]:
    """The names in `texts`, each once, in order."""
    seen: dict[str, None] = {}
    for text in texts:
        for name in _SEPARATORS.split(text):
            if name:
                seen.setdefault(name, None)
    if len(seen) > _MAX_NAMES:
        raise WorkflowError("BAD_USER_INPUT", f"Name at most {_MAX_NAMES} items in one application.")
    return list(seen)


def number(text: str, what: str) -> int:
    text = text.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 6:
        raise WorkflowError("BAD_USER_INPUT", f"{what}: a whole number of days, please.")
    return int(text)


def _pins(text: str) -> dict[str, Any]:
    if not text.strip():
        return {}
    try:
        pins = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise WorkflowError("BAD_USER_INPUT", f"The verdict arguments are not JSON: {exc}.") from exc
    if not isinstance(pins, dict) or not all(isinstance(v, dict) for v in pins.values()):
        raise WorkflowError(
            "BAD_USER_INPUT",
            'The verdict arguments: {"Type.field": {"argument": value}}, e.g. '
            '{"SocialInsurance.hasContributed": {"months": 24, "within": 36}}.',
        )
    return pins


def application_input(visit: Visit) -> ApplicationInput:
    return ApplicationInput(
        client=visit.field("client").strip(),
        purpose=visit.field("purpose").strip(),
        items=tuple(item_names(*visit.fields("item"), visit.field("items_text"))),
        scenario=visit.field("scenario"),
        legal_basis=visit.field("legal_basis"),
        period_days=number(visit.field("period_days"), "The period"),
        masked_items=tuple(item_names(visit.field("masked_text"))),
        pins=_pins(visit.field("pins")),
    )
