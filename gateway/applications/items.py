"""What an application may ask for, from the catalogue and the schema: a resource by name
(its shared items), one item (`resource.item`), or a field by coordinate (`Type.field`, for
verdicts and summaries); each comes to a scope, the department that provides it and its
sharing class. Not-shared items (不予共享) cannot be asked for."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from gateway.applications.errors import WorkflowError
from gateway.catalog.catalog import Catalog
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
        # scope -> its department's code, from the items that declare it and what derivations read
        self.provider: dict[str, str] = {}
        for declared in catalog.resources.values():
            for _, item in declared.shared():
                scope = declared.scope(item)
                if scope is not None:
                    self.provider.setdefault(scope, declared.department.code)
        for derivation in derivations:
            for read in derivation.reads:
                reads = catalog.resources.get(read.partition(".")[0])
                if reads is not None:
                    self.provider.setdefault(derivation.scope, reads.department.code)

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
