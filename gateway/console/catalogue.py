"""The catalogue as applicants browse it: departments, their resources and items with each
item's sharing class (无条件 / 有条件 / 不予共享), searchable in Chinese and English, and the
verdicts and summaries each department's data yields. Ticked items go to the application
form (a GET form: nothing changes until the application is posted)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.responses import Response

from gateway.catalog.catalog import Catalog
from gateway.catalog.graph import graph_of
from gateway.catalog.listing import Listed, listing, matching
from gateway.catalog.naming import field_name
from gateway.catalog.query import SEARCH_CHARS
from resolvers.graph import DERIVATIONS

if TYPE_CHECKING:
    from gateway.console.view import Visit
    from gateway.runtime import Runtime

__all__ = ["Derived", "Named", "catalog_of", "derived", "named", "page"]


@dataclass(frozen=True)
class Derived:
    """A verdict or summary field applied for by its coordinate (`Type.field`)."""

    coordinate: str
    description: str
    department: str
    sharing: str  # unconditional | conditional


@dataclass(frozen=True)
class Named:
    """An item named in an application, with what the catalogue calls it."""

    name: str
    title: str
    sharing: str | None  # None for a name the catalogue does not know (the workflow says why)


def catalog_of(runtime: Runtime) -> Catalog:
    graph = runtime.schema.graph or graph_of(runtime.settings.catalog)
    return graph.catalog


def derived(visit: Visit) -> list[Derived]:
    provider = visit.workflow.index.provider
    conditional = visit.runtime.schema.surface.sharing.conditional
    found = []
    for d in DERIVATIONS:
        department = provider.get(d.scope)
        if d.on == "Query" or not d.reads or department is None:
            continue  # root fields (the auditor's) are not applied for through the catalogue
        sharing = "conditional" if d.scope in conditional else "unconditional"
        found.append(Derived(f"{d.on}.{field_name(d.name)}", d.description, department, sharing))
    return found


def named(visit: Visit, names: list[str]) -> list[Named]:
    catalog = catalog_of(visit.runtime)
    fields = {d.coordinate: d for d in derived(visit)}
    found = []
    for name in names:
        resource, _, item = name.partition(".")
        declared = catalog.resources.get(resource)
        if name in fields:
            found.append(Named(name, fields[name].description, fields[name].sharing))
        elif declared is not None and not item:
            found.append(Named(name, declared.resource.title, declared.strictest()[0].value))
        elif declared is not None and item in declared.resource.items:
            it = declared.resource.items[item]
            found.append(Named(name, f"{declared.resource.title} · {it.title}", declared.sharing(it).value))
        else:
            found.append(Named(name, "", None))
    return found


async def page(visit: Visit) -> Response:
    search = visit.field("q").strip()[:SEARCH_CHARS]
    chosen = visit.field("dept").strip()
    whole: Listed = listing(catalog_of(visit.runtime))
    matched = {d.department.code: d for d in matching(whole, search)}
    text = search.casefold()
    fields = derived(visit)
    sections = []
    for listed in whole:
        department = listed.department
        if chosen and department.code != chosen:
            continue
        named_whole = any(text in w.casefold() for w in listed.words())
        own = [
            f
            for f in fields
            if f.department == department.code
            and (named_whole or text in f"{f.coordinate} {f.description}".casefold())
        ]
        found = matched.get(department.code)
        if found is not None or own:
            sections.append((department, found.resources if found is not None else (), own))
    return visit.render(
        "catalog.html",
        visit.texts("nav.catalog"),
        departments=[d.department for d in whole],
        sections=sections,
        search=search,
        chosen=chosen,
    )
