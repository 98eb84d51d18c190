"""What an application may ask for, from the catalogue and the schema: a resource by name
(its shared items), one item (`resource.item`), or a field by coordinate (`Type.field`, for
verdicts and summaries); each comes to a scope, the department that provides it and its
sharing class. Not-shared items (不予共享) cannot be asked for."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from gateway.applications.errors import WorkflowError
from gateway.catalog.catalog import Catalog
from gateway.catalog.errors import CatalogError
from gateway.catalog.model import Department, Sharing
from gateway.catalog.naming import field_name
from gateway.policy.declarations import FieldPolicy
from gateway.policy.sharing import SharingRules
from resolvers.derivations import Derivation

__all__ = ["Asked", "ItemIndex"]


@dataclass(frozen=True)
class Asked:
    """What an application's items come to."""

    scopes: tuple[str, ...]
    department: Department
    conditional: bool  # a scope holds a conditional item (有条件共享): a reviewer decides


def _providers(catalog: Catalog, derivations: Iterable[Derivation]) -> dict[str, str]:
    """Scope -> the department that decides applications for it: the one whose resource
    declares the scope as its own (an item of another department may carry it, as the
    student number, a resident id with a prefix, carries the identity scope); else the one
    department whose items carry it; for a derivation's scope, the department of what it
    reads. A scope several departments' items carry and no resource owns is a catalogue
    mistake: no one could decide it."""
    owners: dict[str, set[str]] = {}
    carriers: dict[str, set[str]] = {}
    for declared in catalog.resources.values():
        code = declared.department.code
        if declared.resource.scope is not None:
            owners.setdefault(declared.resource.scope, set()).add(code)
        for _, item in declared.shared():
            scope = declared.scope(item)
            if scope is not None:
                carriers.setdefault(scope, set()).add(code)
    for derivation in derivations:
        for read in derivation.reads:
            reads = catalog.resources.get(read.partition(".")[0])
            if reads is not None:
                carriers.setdefault(derivation.scope, set()).add(reads.department.code)
    provider: dict[str, str] = {}
    for scope in owners.keys() | carriers.keys():
        candidates = owners.get(scope) or carriers.get(scope, set())
        if len(candidates) != 1:
            raise CatalogError(
                f"scope {scope!r} is provided by {', '.join(sorted(candidates))}: a scope must belong to one "
                "department (declare it as the scope of that department's resource)"
            )
        provider[scope] = next(iter(candidates))
    return provider


class ItemIndex:
    def __init__(
        self,
        catalog: Catalog,
        fields: Mapping[str, FieldPolicy],
        derivations: Iterable[Derivation],
        sharing: SharingRules,
    ) -> None:
        self._catalog, self._fields, self._sharing = catalog, fields, sharing
        self.departments = {d.department.code: d.department for d in catalog.resources.values()}
        self.provider = _providers(catalog, derivations)

    def resolve(self, names: Iterable[str]) -> Asked:
        scopes: set[str] = set()
        for name in names:
            scopes |= self._scopes_of(name.strip())
        if not scopes:
            raise WorkflowError("BAD_USER_INPUT", "Name at least one catalogue resource or item.")
        for scope in sorted(scopes):
            refused = self._sharing.refusal(scope)
            if refused is not None:
                raise WorkflowError("NOT_SHARED", f"{refused}: it cannot be applied for.")
        departments = {self.provider.get(s) for s in scopes}
        if None in departments:
            unknown = sorted(s for s in scopes if s not in self.provider)
            raise WorkflowError("BAD_USER_INPUT", f"No department provides {', '.join(unknown)}.")
        if len(departments) > 1:
            raise WorkflowError(
                "BAD_USER_INPUT",
                "These items come from several departments ("
                + ", ".join(sorted(str(d) for d in departments))
                + "): apply to each department separately.",
            )
        department = self.departments[str(departments.pop())]
        conditional = bool(scopes & self._sharing.conditional)
        return Asked(tuple(sorted(scopes)), department, conditional)

    def _scopes_of(self, name: str) -> set[str]:
        if "." in name and name[:1].isupper():  # Type.field
            policy = self._fields.get(name)
            if policy is None or policy.scope is None:
                raise WorkflowError("BAD_USER_INPUT", f"{name!r} is no field that needs a grant.")
            return {policy.scope}
        resource_name, _, item_name = name.partition(".")
        declared = self._catalog.resources.get(resource_name)
        if declared is None:
            raise WorkflowError("BAD_USER_INPUT", f"The catalogue has no resource {resource_name!r}.")
        if not item_name:
            scopes = {declared.scope(i) for _, i in declared.shared()}
            return {s for s in scopes if s is not None}
        item = declared.resource.items.get(item_name)
        if item is None:
            raise WorkflowError("BAD_USER_INPUT", f"Resource {resource_name!r} has no item {item_name!r}.")
        if declared.sharing(item) is Sharing.NOT_SHARED:
            coordinate = f"{declared.resource.type or resource_name}.{field_name(item_name)}"
            raise WorkflowError(
                "NOT_SHARED", f"{name} ({coordinate}) is not shared (不予共享): it cannot be applied for."
            )
        scope = declared.scope(item)
        if scope is None:
            raise WorkflowError("BAD_USER_INPUT", f"{name} has no scope.")
        return {scope}
