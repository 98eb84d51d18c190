"""Reading `catalog/*.toml` and checking the files against each other, the graph's named
types and the configured sources. Every mistake is reported at once, one line each, as
`FILE:LINE: resources.R.items.I.key: problem`: the file, the resource and the item."""

from __future__ import annotations

import tomllib
from collections.abc import Collection, Iterator, Mapping
from itertools import chain
from pathlib import Path

from pydantic import ValidationError

from gateway.catalog.catalog import Catalog, Declared
from gateway.catalog.errors import CatalogError
from gateway.catalog.model import CatalogFile, Sensitivity, Sharing
from gateway.catalog.naming import field_name
from gateway.catalog.types import BUILT_IN, parse_type
from gateway.config.load import located
from gateway.config.wording import problems

__all__ = ["CatalogError", "check_sources", "load_catalog"]

Found = list[tuple[str, str]]


def load_catalog(directory: str | Path, *, named: Collection[str], masks: Collection[str]) -> Catalog:
    """`named`: the types the graph declares outside the catalogue (enums, value types,
    scalars); `masks`: the mask rules."""
    directory = Path(directory)
    paths = sorted(directory.glob("*.toml"))
    if not paths:
        raise CatalogError(f"{directory}: no catalogue files (*.toml)")
    texts: dict[Path, str] = {}
    files: dict[Path, CatalogFile] = {}
    errors: list[str] = []
    for path in paths:
        try:
            texts[path] = path.read_text(encoding="utf-8")
            files[path] = CatalogFile.model_validate(tomllib.loads(texts[path]))
        except OSError as exc:
            errors.append(f"{path}: cannot read ({exc.strerror})")
        except tomllib.TOMLDecodeError as exc:
            errors.append(f"{path}: {exc}")
        except ValidationError as exc:
            errors.append(str(located(path, texts[path], problems(exc, CatalogFile))))
    if errors:
        raise CatalogError("\n".join(errors))
    catalog = Catalog.of(files)
    _raise(chain(_problems(catalog, set(named) | BUILT_IN, set(masks)), _safety(catalog)))
    return catalog


def check_sources(catalog: Catalog, served: Mapping[str, Collection[str]]) -> None:
    """Every resource's entity is served by a configured source (`served`: each source's
    entities): its department's, or another the entity has moved to."""
    entities = {e for names in served.values() for e in names}

    def problems() -> Iterator[tuple[Path, str, str]]:
        for resource in catalog.resources.values():
            if resource.entity not in entities:
                where = f"resources.{resource.name}" + (".entity" if resource.resource.entity else "")
                source = resource.department.source
                yield (
                    resource.path,
                    where,
                    f"no source serves entity {resource.entity!r} (its department's: [sources.{source}])",
                )

    _raise(problems())


def _raise(found: Iterator[tuple[Path, str, str]]) -> None:
    by_file: dict[Path, Found] = {}
    for path, where, problem in found:
        if (where, problem) not in by_file.setdefault(path, []):
            by_file[path].append((where, problem))
    if by_file:
        raise CatalogError(
            "\n".join(str(located(p, p.read_text(encoding="utf-8"), f)) for p, f in sorted(by_file.items()))
        )


def _problems(  # noqa: C901 - one check per rule, each a line or two
    catalog: Catalog, named: set[str], masks: set[str]
) -> Iterator[tuple[Path, str, str]]:
    fields: dict[str, str] = {}  # coordinate -> who claims it
    roots: dict[str, str] = {}
    for resource in catalog.resources.values():
        path, r, at = resource.path, resource.resource, f"resources.{resource.name}"
        yield from _duplicates(catalog, resource)
        if r.type is not None and r.type in named:
            yield (
                path,
                f"{at}.type",
                f"{r.type} is one of the graph's own types (a scalar, code table or value)",
            )
        elif r.type is not None and r.type not in catalog.types:
            yield path, f"{at}.type", f"{r.type} has no resource declaring its items"
        home = catalog.types.get(r.type or "")
        for name, item in r.items.items():
            where = f"{at}.items.{name}"
            try:
                ref = parse_type(item.type)
            except ValueError as exc:
                yield path, f"{where}.type", str(exc)
                continue
            if ref.name not in named and ref.name not in catalog.types:
                yield (
                    path,
                    f"{where}.type",
                    f"unknown type {ref.name!r}: link to a type no resource declares?",
                )
            if item.mask is not None and item.mask not in masks:
                yield (
                    path,
                    f"{where}.mask",
                    f"unknown mask rule {item.mask!r} (one of {', '.join(sorted(masks))})",
                )
            if resource.sharing(item) is not Sharing.NOT_SHARED and resource.scope(item) is None:
                yield path, where, "has no scope (set scope on the item or its resource)"
            if item.codes is not None and ref.name in catalog.types:
                yield path, f"{where}.codes", "codes are for enum items"
            if home is resource and resource.sharing(item) is not Sharing.NOT_SHARED:
                claimed = f"{r.type}.{field_name(name)}"
                if claimed in fields:
                    yield path, where, f"{claimed} is also {fields[claimed]}"
                fields[claimed] = f"item {name} of resource {resource.name} ({path.name})"
        columns = resource.columns()
        for column, key in ((r.subject, "subject"), *((d, "districts") for d in r.districts)):
            if column is not None and column not in columns:
                yield path, f"{at}.{key}", f"{column!r} is not the column of any item of {resource.name}"
        for index, attach in enumerate(r.attach):
            where = f"{at}.attach[{index}]"
            parent = attach.field.partition(".")[0]
            if parent not in catalog.types:
                yield path, f"{where}.field", f"{parent} is not a catalogue type"
            elif attach.by not in catalog.types[parent].columns():
                yield path, f"{where}.by", f"{attach.by!r} is not the column of any item of {parent}"
            if attach.through is not None:
                link = r.items.get(attach.through)
                if link is None or parse_type(link.type).name not in catalog.types:
                    yield (
                        path,
                        f"{where}.through",
                        f"{attach.through!r} is not a link item of {resource.name}",
                    )
            elif r.type is None:
                yield path, where, "a resource without a type is attached only `through` one of its links"
            if attach.opens_lookup and catalog.types.get(parent) and not catalog.home(parent).resource.lookup:
                yield path, f"{where}.opens_lookup", f"{parent} has no root look-up to open"
            if attach.field in fields:
                yield path, f"{where}.field", f"{attach.field} is also {fields[attach.field]}"
            fields[attach.field] = f"attached by resource {resource.name} ({path.name})"
            if resource.scope_of(attach.scope) is None:
                yield path, where, "has no scope (set scope on the attachment or its resource)"
        if r.lookup is not None:
            if r.type is None or r.many or home is None:
                yield path, f"{at}.lookup", "only a resource with a type and one record per key is looked up"
            elif not any((i.source or n) == r.key for n, i in r.items.items()):
                yield path, f"{at}.key", f"{r.key!r} is no item's column: the look-up's argument has no type"
            for root in (r.lookup.one, r.lookup.many):
                if root is not None:
                    if root in roots:
                        yield path, f"{at}.lookup", f"Query.{root} is also {roots[root]}"
                    roots[root] = f"looked up in resource {resource.name} ({path.name})"


# Attributes every catalogue value has besides its items (shape.py, resolvers/subjects.py).
RESERVED = frozenset({"record", "subject_id", "districts"})


def _safety(catalog: Catalog) -> Iterator[tuple[Path, str, str]]:
    """What keeps data from leaking or going unaudited: no item shadows a value's own
    attributes; personal data names its subject; a link followed `through` is shared."""
    for resource in catalog.resources.values():
        path, r, at = resource.path, resource.resource, f"resources.{resource.name}"
        for name in sorted(RESERVED & set(r.items)):
            yield path, f"{at}.items.{name}", f"{name!r} is reserved (every value has it); rename the item"
        personal = r.sensitivity is not Sensitivity.GENERAL or any(
            resource.sensitivity(i) is not Sensitivity.GENERAL for _, i in resource.shared()
        )
        if r.type is not None and r.items and r.subject is None and (personal or r.districts):
            why = "districts are checked against a subject" if r.districts else "personal data is audited"
            yield path, f"{at}.subject", f"is required: {why} under the subject's id"
        for index, attach in enumerate(r.attach):
            item = r.items.get(attach.through or "")
            if item is not None and resource.sharing(item) is Sharing.NOT_SHARED:
                yield (
                    path,
                    f"{at}.attach[{index}].through",
                    f"{attach.through!r} is not shared: no field follows it",
                )


def _duplicates(catalog: Catalog, resource: Declared) -> Iterator[tuple[Path, str, str]]:
    for other in catalog.duplicates.get(resource.name, ())[1:]:
        yield other.path, f"resources.{resource.name}", f"also declared in {resource.path.name}"
    first = catalog.types.get(resource.resource.type or "")
    if resource.resource.items and first is not None and first is not resource:
        yield (
            resource.path,
            f"resources.{resource.name}.type",
            f"{first.resource.type} is already declared by resource {first.name} ({first.path.name})",
        )
