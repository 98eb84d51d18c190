"""A catalogue name and its field's name: items are snake_case in the files and camelCase
in the schema (Strawberry's own converter), attachments and look-ups are written as the
schema spells them. Names are single-underscore snake_case, so the two are one-to-one."""

from __future__ import annotations

from resolvers.graph import CONFIG

__all__ = ["field_name", "python_name"]


def field_name(name: str) -> str:
    """`birth_date` as the schema names its field: `birthDate`."""
    return CONFIG.name_converter.apply_naming_config(name)


def python_name(name: str) -> str:
    """`legalRepresentativeOf` as a Python attribute: `legal_representative_of`."""
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)
