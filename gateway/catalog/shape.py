"""How a catalogue type's value is made from a department's record: each plain item
converted once and set as an attribute, the record kept for links and derivations."""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sources.base import Record

__all__ = ["Shape", "converter"]

Convert = Callable[[Any], Any]


@dataclass(frozen=True)
class Shape:
    cls: type
    items: tuple[tuple[str, str, Convert | None], ...]  # (attribute, column, conversion)
    subject: str | None  # the column naming the data subject
    make: Callable[[Record], Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "make", self._maker())

    def _maker(self) -> Callable[[Record], Any]:
        cls, items, subject = self.cls, self.items, self.subject
        new = object.__new__

        def make(record: Record) -> Any:
            value: Any = new(cls)
            attributes = value.__dict__
            for attribute, column, convert in items:
                raw = record.get(column)
                attributes[attribute] = raw if convert is None or raw is None else convert(raw)
            attributes["record"] = record
            if subject is not None:
                attributes["subject_id"] = record[subject]
            return value

        return make


def converter(target: Any, codes: Mapping[str, str] | None) -> Convert | None:
    """An enum item's conversion: the department's code (through `codes`, when the
    catalogue maps several codes to one value) to the member; unknown codes are null."""
    if not (isinstance(target, type) and issubclass(target, enum.Enum)):
        return None
    members: dict[Any, enum.Enum] = {m.value: m for m in target}
    for code, value in (codes or {}).items():
        # The schema's name of the value (MALE), or the code table's own value ("1").
        members[code] = target[value] if value in target.__members__ else target(value)
    return members.get
