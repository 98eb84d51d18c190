"""The catalogue in Markdown, for people: per department, per resource, where its records
enter the graph and a table of its items. docs/catalog.md holds it in a generated section,
between BEGIN and END, which `govgraph catalog --update-page` rewrites."""

from __future__ import annotations

from collections.abc import Iterator

from gateway.catalog.listing import Entry, Listed, ListedDepartment, ListedItem, ListedResource
from gateway.catalog.model import SHARING_TITLES, Sharing

__all__ = ["BEGIN", "END", "as_markdown", "section", "with_section"]

BEGIN = "<!-- catalog:begin -->"
END = "<!-- catalog:end -->"

_COLUMNS = ("item", "field", "title", "type", "sharing", "sensitivity", "scope", "mask", "conditions")


def _cell(text: str | None) -> str:
    """Text in a table cell: a pipe would end the cell, a newline the row."""
    if not text:
        return ""
    return " ".join(text.split()).replace("|", "\\|").replace("<", "&lt;")


def _code(text: str | None) -> str:
    return f"`{text}`" if text else "—"


def _conditions(item: ListedItem) -> str:
    # A resource's conditions hold for each of its conditional items: the resource's facts
    # say them once, rather than every row of the table again.
    if item.conditions is not None and item.item.conditions is None:
        return "the resource's"
    return _cell(item.conditions)


def _row(item: ListedItem) -> str:
    if item.sharing is Sharing.NOT_SHARED:
        sharing = f"**{SHARING_TITLES[item.sharing]}** (not shared)"
    else:
        sharing = SHARING_TITLES[item.sharing]
    cells = (
        _code(item.name),
        _code(item.field),
        _cell(item.item.title),
        _code(item.item.type),
        sharing,
        item.sensitivity.value,
        _code(item.scope),
        _code(item.item.mask) if item.item.mask else "",
        _conditions(item),
    )
    return "| " + " | ".join(cells) + " |"


def _entry(entry: Entry) -> str:
    if entry.field.startswith("Query."):
        return f"`{entry.field}({entry.by})`"
    through = f", through `{entry.through}`" if entry.through else ""
    return f"`{entry.field}` (by `{entry.by}`{through})"


def _facts(resource: ListedResource) -> Iterator[str]:
    r = resource.declared.resource
    if r.type is not None:
        yield f"- GraphQL type: `{r.type}`"
    elif any(e.through for e in resource.entries):
        yield "- GraphQL type: none; each record is followed through its link item"
    else:
        yield "- GraphQL type: none"
    if not resource.entries:
        yield "- reached through derived fields only (resolvers/)"
    lookups = [_entry(e) for e in resource.entries if e.field.startswith("Query.")]
    attached = [_entry(e) for e in resource.entries if not e.field.startswith("Query.")]
    if lookups:
        yield f"- looked up by: {', '.join(lookups)}"
    if attached:
        yield f"- attached at: {', '.join(attached)}"
    if r.many:
        size = f" (about {r.max})" if r.max is not None else ""
        order = f", ordered by {', '.join(f'`{c}`' for c in r.order_by)}" if r.order_by else ""
        yield f"- key: `{r.key}`, several records per key{size}{order}"
    else:
        yield f"- key: `{r.key}`, one record per key"
    yield f"- update cycle: {_cell(r.update_cycle)}"
    scope = f"; scope {_code(r.scope)}" if r.scope else ""
    yield f"- sharing: {SHARING_TITLES[r.sharing]} ({r.sharing.value}), {r.sensitivity.value}{scope}"
    if r.conditions:
        yield f"- conditions: {_cell(r.conditions)}"


def _resource(resource: ListedResource) -> Iterator[str]:
    r = resource.declared.resource
    yield f"#### {_cell(r.title)} · {_cell(r.title_en)} (`{resource.name}`)"
    yield ""
    if r.description:
        yield _cell(r.description)
        yield ""
    yield from _facts(resource)
    yield ""
    if resource.items:
        yield "| " + " | ".join(_COLUMNS) + " |"
        yield "|" + "---|" * len(_COLUMNS)
        yield from (_row(i) for i in resource.items)
        yield ""


def _department(department: ListedDepartment) -> Iterator[str]:
    d = department.department
    yield f"### {_cell(d.name)} · {_cell(d.name_en)}"
    yield ""
    yield f"Code `{d.code}`; file `{department.file}`; served by the source `{d.source}`."
    yield ""
    for resource in department.resources:
        yield from _resource(resource)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def as_markdown(listed: Listed) -> str:
    resources = [r for d in listed for r in d.resources]
    items = [i for r in resources for i in r.items]
    withheld = sum(i.sharing is Sharing.NOT_SHARED for i in items)
    lines = [
        "## 政务数据资源目录 · The resource catalogue",
        "",
        f"{_count(len(listed), 'department')}, {_count(len(resources), 'resource')},"
        f" {_count(len(items), 'data item')} ({withheld} not shared),"
        " as `govgraph catalog --format markdown` lists them.",
        "",
    ]
    for department in listed:
        lines.extend(_department(department))
    return "\n".join(lines)


def _bounds(page: str) -> tuple[int, int]:
    begin, end = page.find(BEGIN + "\n"), page.find(END)
    if begin < 0 or end < begin:
        raise ValueError(f"no generated section: the page needs the lines {BEGIN} and {END}")
    return begin + len(BEGIN) + 1, end


def section(page: str) -> str:
    """The page's generated section; ValueError when the page has none."""
    start, end = _bounds(page)
    return page[start:end]


def with_section(page: str, markdown: str) -> str:
    """The page with its generated section replaced by `markdown`."""
    start, end = _bounds(page)
    return page[:start] + markdown + page[end:]
