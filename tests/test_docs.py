"""The documentation keeps up with the code: every configuration key, environment variable
and error code is documented, links and module paths resolve, and
publishing a department works exactly as docs/publishing-a-department.md says."""

from __future__ import annotations

import ast
import datetime as dt
import importlib.util
import json
import re
import shlex
import shutil
import textwrap
import tomllib
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import asyncpg
import httpx
import pytest
from aiohttp import web
from graphql import ObjectTypeDefinitionNode, parse, print_ast

from demo.stack import DemoStack
from gateway.app import create_app
from gateway.catalog.graph import graph_of
from gateway.cli.main import main as govgraph_main
from gateway.compat import graphql_schema
from gateway.config.schema import section_keys
from gateway.config.settings import load_settings, parse_settings
from gateway.execution.documents import MANIFEST, build_manifest
from gateway.execution.schema import build_schema
from sources.errors import SourceConfigError
from sources.options import Options
from sources.registry import KINDS, adapter_for, build_catalog
from sources.stats import CallStats

from .stack import client_headers, served

ROOT = Path(__file__).parents[1]
DOCS = ROOT / "docs"
CONFIG = ROOT / "govgraph.toml"
PAGES = [*sorted(DOCS.rglob("*.md")), ROOT / "README.md", ROOT / "examples" / "README.md"]
# The demo reads variables of its own (DATABASE_URL), documented beside the gateway's.
CODE = [
    p
    for package in ("gateway", "resolvers", "sources", "demo")
    for p in sorted((ROOT / package).rglob("*.py"))
]

_CODE_NAME = re.compile(r"[A-Z]+(?:_[A-Z]+)*")
_ENV_READERS = ("os.environ.get", "os.getenv")
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}")


def fenced(text: str, language: str) -> list[str]:
    """The bodies of the ```language blocks of a Markdown page, in order."""
    return re.findall(rf"^```{language}\n(.*?)^```", text, flags=re.DOTALL | re.MULTILINE)


# Configuration keys ---------------------------------------------------------------------


def _section(where: str) -> str:
    """`sources.tax.entities.taxpayer` -> `sources.NAME.entities.ENTITY`."""
    where = re.sub(r"^sources\.[^.]+", "sources.NAME", where)
    return re.sub(r"^sources\.NAME\.entities\.[^.]+", "sources.NAME.entities.ENTITY", where)


def accepted_keys(monkeypatch: pytest.MonkeyPatch) -> dict[str, set[str]]:
    """Every key the configuration accepts, by section (`[sources.NAME] kind=http` for an
    adapter's own keys), as the code validates them: the settings models' keys, and the
    keys of each `Options` view an adapter reads its own table through, recorded while an
    adapter is built for each source of `govgraph.toml`."""
    seen: dict[str, set[str]] = section_keys()
    kind: list[str] = []
    original = Options.__init__

    def recording(self: Options, where: str, table: Any, known: set[str]) -> None:
        label = _section(where) + (f" kind={kind[0]}" if kind else "")
        seen.setdefault(label, set()).update(known)
        original(self, where, table, known)

    monkeypatch.setattr(Options, "__init__", recording)
    text = CONFIG.read_text(encoding="utf-8")
    placeholders = {
        var: "http://127.0.0.1:9" if var.endswith("_URL") else "postgresql://placeholder@127.0.0.1/x"
        for var, default in _ENV_REF.findall(text)
        if not default
    }
    settings = parse_settings(tomllib.loads(text), placeholders, str(CONFIG))
    for spec in settings.sources:
        kind[:] = [spec.kind]
        adapter_for(spec)(spec)  # adapters read their own options; nothing connects yet
    return seen


def documented_keys() -> dict[str, set[str]]:
    """docs/configuration.md: per heading such as ``[sources.NAME]`` with ``kind = "http"``,
    the keys in the first column of its table."""
    documented: dict[str, set[str]] = {}
    label = None
    for line in (DOCS / "configuration.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            section = re.search(r"`\[([^\]]+)\]`", line)
            kind = re.search(r'`kind = "(\w+)"`', line)
            label = None if section is None else section[1] + (f" kind={kind[1]}" if kind else "")
        elif label and (row := re.match(r"\|\s*`([a-z_0-9]+)`\s*\|", line)):
            documented.setdefault(label, set()).add(row[1])
    return documented


def test_every_configuration_key_is_documented(monkeypatch: pytest.MonkeyPatch) -> None:
    accepted, documented = accepted_keys(monkeypatch), documented_keys()
    sections = accepted.pop("")
    assert sections >= {"gateway", "sources", "auth", "audit"}
    for section in sections:
        assert any(d == section or d.startswith(f"{section}.") for d in documented), (
            f"docs/configuration.md has no `[{section}]` heading"
        )
    for label, keys in accepted.items():
        missing = keys - documented.get(label, set())
        assert not missing, f"docs/configuration.md, [{label}]: undocumented keys {sorted(missing)}"
        stale = documented.get(label, set()) - keys
        assert not stale, f"docs/configuration.md, [{label}]: keys the code does not accept {sorted(stale)}"
    for kind in KINDS:
        assert f"sources.NAME kind={kind}" in documented, f"no section for kind {kind!r}"


def _environment_reads(path: Path) -> Iterator[str]:
    """Names passed to os.environ.get / os.getenv / os.environ[...] (literals or module constants)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    constants = {
        t.id: n.value.value
        for n in tree.body
        if isinstance(n, ast.Assign) and isinstance(n.value, ast.Constant) and isinstance(n.value.value, str)
        for t in n.targets
        if isinstance(t, ast.Name)
    }

    def name(node: ast.expr) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        return constants.get(node.id) if isinstance(node, ast.Name) else None

    for node in ast.walk(tree):
        target = None
        if isinstance(node, ast.Call) and node.args and ast.unparse(node.func) in _ENV_READERS:
            target = name(node.args[0])
        elif isinstance(node, ast.Subscript) and ast.unparse(node.value) == "os.environ":
            target = name(node.slice)
        if target:
            yield target


def test_every_environment_variable_is_documented() -> None:
    variables = {var for var, _ in _ENV_REF.findall(CONFIG.read_text(encoding="utf-8"))}
    variables |= {var for path in CODE for var in _environment_reads(path)}
    assert {"GOVGRAPH_CONFIG", "DATABASE_URL", "GOVGRAPH_AUDIT_DSN"} <= variables
    page = (DOCS / "configuration.md").read_text(encoding="utf-8")
    missing = sorted(v for v in variables if f"`{v}`" not in page)
    assert not missing, f"docs/configuration.md does not mention {missing}"


# Error codes -------------------------------------------------------------------------------


# Calls that take a code without a status, and which argument it is.
_CODE_ARGUMENT = {"WorkflowError": 0, "_refused": 0, "recoded": 1}


def error_codes() -> set[str]:
    """The codes the code can put in `extensions.code`: values of a `"code"` key, the `code`
    attribute of source errors, codes given with an HTTP status (`Refusal(401, "…")`),
    codes mapped from HTTP statuses (`{404: "NOT_FOUND"}`) and the workflow's
    (`WorkflowError("CONFLICT", "…")`)."""

    def code(node: ast.expr | None) -> str | None:
        value = node.value if isinstance(node, ast.Constant) else None
        return value if isinstance(value, str) and _CODE_NAME.fullmatch(value) else None

    def status(node: ast.expr | None) -> bool:
        return isinstance(node, ast.Constant) and type(node.value) is int and 400 <= node.value < 600

    found: set[str | None] = set()
    for path in CODE:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Dict):
                for key, value in zip(node.keys, node.values, strict=True):
                    if (isinstance(key, ast.Constant) and key.value == "code") or status(key):
                        found.add(code(value))
            elif isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "code" for t in node.targets
            ):
                found.add(code(node.value))
            elif isinstance(node, ast.Call) and any(status(a) for a in node.args):
                found.update(code(a) for a in node.args)
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.args:
                # The workflow's refusals, WorkflowError(code, message), the documents'
                # step's, _refused(code, message), carry no status; recoded(error, code) codes
                # graphql-core's parse and validation errors.
                at = _CODE_ARGUMENT.get(node.func.id, len(node.args))
                found.add(code(node.args[at]) if at < len(node.args) else None)
    return {c for c in found if c}


def test_every_error_code_is_documented() -> None:
    codes = error_codes()
    assert {"UNAUTHENTICATED", "FORBIDDEN", "SOURCE_TIMEOUT", "INTERNAL_SERVER_ERROR"} <= codes
    table = set(re.findall(r"^\|\s*`([A-Z_]+)`\s*\|", (DOCS / "errors.md").read_text(encoding="utf-8"), re.M))
    assert codes - table == set(), "docs/errors.md does not list these codes"
    assert table - codes == set(), "docs/errors.md lists codes the code never returns"


def test_every_code_leads_to_the_module_that_raises_it() -> None:
    """docs/errors.md's "Where each code comes from": each code listed, each module named
    for it exists and holds the code, and no code is left out."""
    page = (DOCS / "errors.md").read_text(encoding="utf-8")
    section = page.split("## Where each code comes from", 1)[1].split("\n## ", 1)[0]
    listed: set[str] = set()
    for row in section.splitlines():
        if not row.startswith("| `"):
            continue
        codes_cell, where = row.split("|")[1:3]
        codes = re.findall(r"`([A-Z_]+)`", codes_cell)
        modules = re.findall(r"`((?:gateway|resolvers|sources)/[\w/]+\.py)`", where)
        assert codes, row
        assert modules, row
        for module in modules:
            text = (ROOT / module).read_text(encoding="utf-8")
            assert any(f'"{code}"' in text for code in codes), f"{module} holds none of {codes}"
        listed.update(codes)
    assert listed == error_codes(), sorted(listed ^ error_codes())


# Links and paths -----------------------------------------------------------------------------


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", lambda m: m.group(1) or "", heading.strip().lower())
    kept = "".join(c for c in text if c in " -" or unicodedata.category(c)[0] in "LN")
    return kept.replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    text = re.sub(r"^```.*?^```", "", page.read_text(encoding="utf-8"), flags=re.M | re.S)
    return {_slug(h) for h in re.findall(r"^#+ (.+)$", text, re.M)}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page: Path) -> None:
    text = re.sub(r"^```.*?^```", "", page.read_text(encoding="utf-8"), flags=re.M | re.S)
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        assert resolved.exists(), f"{page.relative_to(ROOT)}: broken link {target}"
        if anchor and resolved.suffix == ".md":
            assert anchor in _anchors(resolved), f"{page.relative_to(ROOT)}: no heading for {target}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_files_named_in_docs_exist(page: Path) -> None:
    named = re.findall(
        r"`((?:gateway|resolvers|sources|demo|tests|examples|documents|bench)/[\w./-]*)(?:::[^`]*)?`",
        page.read_text(encoding="utf-8"),
    )
    missing = [n for n in named if not (ROOT / n).exists()]
    assert not missing, f"{page.relative_to(ROOT)} names files that do not exist: {missing}"


# docs/publishing-a-department.md, followed step by step ----------------------------------

PUBLISHING = DOCS / "publishing-a-department.md"
POLICY = ROOT / "policy.toml"
DEMO_ROOT = "/path/to/govgraph"  # where the page's outputs put the project


def load_example(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"examples_{name}", ROOT / "examples" / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def apply_diff(diff: str, text: str) -> str:
    """Apply a one-hunk diff whose lines (context ' ', removed '-') are consecutive in `text`."""
    old = [line[1:] for line in diff.splitlines() if line[:1] in (" ", "-")]
    new = [line[1:] for line in diff.splitlines() if line[:1] in (" ", "+")]
    before, after = "\n".join(old) + "\n", "\n".join(new) + "\n"
    assert text.count(before) == 1, f"the page's diff no longer matches the file:\n{diff}"
    return text.replace(before, after)


def diff_from(page: str, first: str) -> str:
    """The page's ```diff block whose first (context) line is `first`."""
    (diff,) = [d for d in fenced(page, "diff") if d.splitlines()[0] == f" {first}"]
    return diff


def source_block(page: str) -> str:
    return next(b for b in fenced(page, "toml") if 'kind = "http"' in b)


def build_site(page: str, site: Path) -> Path:
    """The site the page lays out: copies of catalog/, govgraph.toml and policy.toml, with
    the centre's catalogue file, its source block and its grant; documents beside them.
    Returns the site's govgraph.toml."""
    shutil.copytree(ROOT / "catalog", site / "catalog")
    (catalogue,) = [b for b in fenced(page, "toml") if b.startswith("[department]")]
    (site / "catalog" / "migrant_services.toml").write_text(catalogue, encoding="utf-8")
    config = site / "govgraph.toml"
    config.write_text(CONFIG.read_text(encoding="utf-8") + "\n" + source_block(page), encoding="utf-8")
    grant = apply_diff(diff_from(page, 'client = "enrollment"'), POLICY.read_text(encoding="utf-8"))
    (site / "policy.toml").write_text(grant, encoding="utf-8")
    (site / "documents").symlink_to(ROOT / "documents")
    return config


def console(page: str, command: str) -> tuple[list[str], str]:
    """The ```console block running `govgraph <command>`: its arguments, and its output."""
    (block,) = [b for b in fenced(page, "console") if f"govgraph {command} " in b.splitlines()[0]]
    line, _, output = block.partition("\n")
    words = shlex.split(line.removeprefix("$ "))
    return words[next(i for i, w in enumerate(words) if w.endswith("bin/govgraph")) + 1 :], output


def govgraph(args: list[str], site: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """`govgraph ARGS` as the page runs it from the project directory (site/ is `site`), its
    paths as the page writes them (the project at /path/to/govgraph)."""
    capsys.readouterr()
    status = govgraph_main([a.replace("site/", f"{site}/") for a in args])
    out, err = capsys.readouterr()
    return status, out, err.replace(str(site.resolve().parent), DEMO_ROOT)


def _station(address: str) -> str:
    """The police station of an address, by the rule examples/migrant_services.py states:
    its district's branch, its road without the road word or a compass direction."""
    district, rest = address[6:9], address[9:]  # after 福建省厦门市
    road = rest[: next(i for i, c in enumerate(rest) if c.isdigit())]
    road = next((road[: -len(w)] for w in ("大道", "路", "道", "街") if road.endswith(w)), road)
    road = road[:-1] if road[-1] in "东西南北中" else road
    return f"厦门市公安局{district[:2]}分局{road}派出所"


def expected_registrations(permit: asyncpg.Record) -> list[dict[str, Any]]:
    """A permit holder's registrations as the page's query answers them, computed from
    the permit's row by the rule the centre's stand-in states (not by its code)."""
    serial = int(permit["permit_no"][-8:])
    renewed = permit["issued_on"] - dt.timedelta(days=183 + serial % 90)
    rows = [
        (
            renewed,
            permit["valid_until"],
            permit["status"],
            "租赁" if serial % 2 else ("自有", "单位宿舍", "租赁")[serial // 2 % 3],
        )
    ]
    if serial % 2:
        rows.insert(0, (renewed - dt.timedelta(days=365), renewed - dt.timedelta(days=1), "注销", "租赁"))
    address = permit["address"]
    return [
        {
            "number": f"{permit['district']}{on.year}{serial:08d}{n:02d}",
            "address": address,
            "district": {"name": address[6:9]},
            "housing": housing,
            "registeredOn": on.isoformat(),
            "validUntil": until.isoformat(),
            "status": status,
            "policeStation": _station(address),
        }
        for n, (on, until, status, housing) in enumerate(rows, start=1)
    ]


def _directives(sdl: str, type_name: str) -> dict[str, dict[str, dict[str, str]]]:
    """Per field of `type_name` in `sdl`: its directives and their arguments, as text."""
    (node,) = [
        d
        for d in parse(sdl).definitions
        if isinstance(d, ObjectTypeDefinitionNode) and d.name.value == type_name
    ]
    return {
        f.name.value: {
            d.name.value: {a.name.value: print_ast(a.value).strip('"') for a in d.arguments or ()}
            for d in f.directives or ()
        }
        for f in node.fields or ()
    }


def _same_directory(a: str | Path | None, b: Path) -> bool:
    return a is not None and Path(a).resolve() == b.resolve()


def _trimmed(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.splitlines())


def _camel(item: str) -> str:
    return re.sub(r"_([a-z])", lambda m: m[1].upper(), item)


async def _post(
    client: httpx.AsyncClient, url: str, query: str, headers: dict[str, str], ids: list[str] | None = None
) -> Any:
    sent: dict[str, Any] = {"query": query} if ids is None else {"query": query, "variables": {"ids": ids}}
    response = await client.post(f"{url}/graphql", json=sent, headers=headers)
    return response.json()


async def test_a_department_published_by_catalogue_as_documented(
    demo_city: DemoStack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    page = PUBLISHING.read_text(encoding="utf-8")
    site = tmp_path / "site"
    config = build_site(page, site)
    catalogue = tomllib.loads((site / "catalog" / "migrant_services.toml").read_text(encoding="utf-8"))
    (resource,) = catalogue["resources"].values()

    runner = web.AppRunner(load_example("migrant_services").department(demo_city.dsns["public_security"]))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    centre = f"http://127.0.0.1:{runner.addresses[0][1]}"
    children = demo_city.samples["cases"]["migrant_child"][:8]
    try:
        # The centre answers the page's request with the page's records.
        (request,) = fenced(page, "http")
        path = request.split()[1]
        (items,) = [json.loads(b) for b in fenced(page, "json") if b.startswith('{"items"')]
        async with httpx.AsyncClient(timeout=30) as client:
            response = await client.post(centre + path, content=request.split("\n\n", 1)[1])
        assert response.json() == items

        env = demo_city.gateway_env() | {"GOVGRAPH_MIGRANT_SERVICES_URL": centre}
        for var, value in env.items():
            monkeypatch.setenv(var, value)
        settings = load_settings(config, env)
        assert _same_directory(settings.catalog, site / "catalog"), (
            "the site's govgraph.toml reads its catalogue"
        )

        # The commands print what the page shows.
        for command in ("check-config", "catalog"):
            args, shown = console(page, command)
            status, out, err = govgraph(args, site, capsys)
            assert (status, err + out) == (0, shown), f"govgraph {command}"  # as a terminal shows both

        stats = CallStats()
        app = create_app(settings, stats=stats)
        # The served schema has the page's SDL, the catalogue's scope, sharing and masks.
        served_sdl = app.state.schema.as_str()
        for block in fenced(page, "graphql"):
            if not block.startswith("query "):
                assert _trimmed(block) in _trimmed(served_sdl), block
        shared = {"sharing": resource["sharing"].upper(), "sensitivity": resource["sensitivity"].upper()}
        fields = _directives(served_sdl, resource["type"])
        assert set(fields) == {_camel(i) for i in resource["items"]}
        for item, declared in resource["items"].items():
            directives = fields[_camel(item)]
            assert directives["scope"] == {"name": resource["scope"]}, item
            assert directives["shared"] == shared, item
            assert directives.get("mask") == ({"rule": declared["mask"]} if "mask" in declared else None), (
                item
            )
        (attached,) = resource["attach"]
        on, field = attached["field"].split(".")
        assert _directives(served_sdl, on)[field]["scope"] == {"name": resource["scope"]}

        query = next(q for q in fenced(page, "graphql") if q.startswith("query "))
        async with served(app) as url, httpx.AsyncClient(timeout=30) as client:
            conn = await asyncpg.connect(demo_city.dsns["public_security"])
            try:
                names = dict(
                    await conn.fetch("SELECT id, name FROM person WHERE id = ANY($1::text[])", children)
                )
                guardians = await conn.fetch(
                    "SELECT g.child_id, p.id, p.name, r.permit_no, r.district, r.address, r.issued_on,"
                    " r.valid_until, r.status FROM guardianship g JOIN person p ON p.id = g.guardian_id"
                    " LEFT JOIN residence_permit r ON r.person_id = g.guardian_id"
                    " WHERE g.child_id = ANY($1::text[])",
                    children,
                )
            finally:
                await conn.close()
            held = [g for g in guardians if g["permit_no"]]

            # A client without the grant: null and FORBIDDEN, as the page shows it.
            (refused,) = [b for b in fenced(page, "json") if '"FORBIDDEN"' in b]
            asked = re.search(r"`(\{ persons\(ids: \[\"(\d{17}[\dX])\"\]\).*?\})`", " ".join(page.split()))
            assert asked is not None, "the page no longer shows the talent-policy app's query"
            talent = client_headers(app, "talent-policy")
            one = held[0]
            body = await _post(client, url, asked[1].replace(asked[2], one["id"]), talent)
            shown = json.loads(refused)
            shown["data"]["persons"][0]["name"] = one["name"]
            assert body == shown

            # The granted client: every field as the database says.
            body = await _post(client, url, query, client_headers(app, "enrollment"), children)
    finally:
        await runner.cleanup()
    assert "errors" not in body, body.get("errors")
    assert body["extensions"]["sources"]["migrant_services"] == "ok"
    expected = [
        {
            "name": names[child],
            "guardians": sorted(
                (
                    {
                        "name": g["name"],
                        "residenceRegistrations": expected_registrations(g) if g["permit_no"] else [],
                    }
                    for g in guardians
                    if g["child_id"] == child
                ),
                key=lambda g: json.dumps(g, ensure_ascii=False),
            ),
        }
        for child in children
    ]
    for person in body["data"]["persons"]:
        person["guardians"].sort(key=lambda g: json.dumps(g, ensure_ascii=False))
    assert body["data"]["persons"] == expected
    counts = {len(expected_registrations(g)) for g in held}
    assert counts == {1, 2}, "the samples no longer show both a single and a renewed registration"
    # The answer the page shows is the first sample's: the tests' smaller city has the same one.
    (answer,) = [json.loads(b) for b in fenced(page, "json") if '"guardians"' in b]
    for person in answer["data"]["persons"]:
        person["guardians"].sort(key=lambda g: json.dumps(g, ensure_ascii=False))
    assert answer["data"]["persons"] == expected[:1], "the page's answer is not the first migrant_child's"


async def test_a_resource_moved_to_the_centre_as_documented(demo_city: DemoStack, tmp_path: Path) -> None:
    """The page's move: residence permits answered by the centre, the population register
    no longer asked, the answer the register's."""
    page = PUBLISHING.read_text(encoding="utf-8")
    config = build_site(page, tmp_path / "site")
    moved = config.with_name("govgraph.moved.toml")  # beside it: the same catalogue and policy
    text = config.read_text(encoding="utf-8")
    for first in ("[sources.public_security.entities]", "[sources.migrant_services.entities]"):
        text = apply_diff(diff_from(page, first), text)
    moved.write_text(text, encoding="utf-8")

    runner = web.AppRunner(load_example("migrant_services").department(demo_city.dsns["public_security"]))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    children = demo_city.samples["cases"]["migrant_child"][:5]
    try:
        env = demo_city.gateway_env() | {
            "GOVGRAPH_MIGRANT_SERVICES_URL": f"http://127.0.0.1:{runner.addresses[0][1]}"
        }
        stats = CallStats()
        app = create_app(load_settings(moved, env), stats=stats)
        query = (
            "query Permits($ids: [ResidentId!]!) {"
            " persons(ids: $ids) { guardians { residencePermit { number validUntil } } } }"
        )
        async with served(app) as url, httpx.AsyncClient(timeout=30) as client:
            body = await _post(client, url, query, client_headers(app, "enrollment"), children)
    finally:
        await runner.cleanup()
    assert "errors" not in body, body.get("errors")
    assert body["extensions"]["sources"]["migrant_services"] == "ok"
    answered = {
        (g["residencePermit"]["number"], g["residencePermit"]["validUntil"])
        for p in body["data"]["persons"]
        for g in p["guardians"]
        if g["residencePermit"]
    }
    conn = await asyncpg.connect(demo_city.dsns["public_security"])
    try:
        rows = await conn.fetch(
            "SELECT p.permit_no, p.valid_until FROM guardianship g"
            " JOIN residence_permit p ON p.person_id = g.guardian_id WHERE g.child_id = ANY($1::text[])",
            children,
        )
    finally:
        await conn.close()
    assert answered == {(r["permit_no"], r["valid_until"].isoformat()) for r in rows}
    assert answered
    asked = {(c.source, c.entity) for c in stats.recent}
    assert ("migrant_services", "residence_permit") in asked
    assert ("public_security", "residence_permit") not in asked


def test_the_mistakes_the_page_quotes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A misspelt mask rule, and an entity served twice or nowhere, stop start-up with the
    lines the page quotes."""
    source = PUBLISHING.read_text(encoding="utf-8")
    page = " ".join(source.split())  # a quoted message may wrap across lines
    site = tmp_path / "project" / "site"
    config = build_site(source, site)
    file = site / "catalog" / "migrant_services.toml"
    file.write_text(
        file.read_text(encoding="utf-8").replace('mask = "IDENTIFIER"', 'mask = "IDENTIFY"'), encoding="utf-8"
    )
    status, out, err = govgraph(["catalog", "--config", "site/govgraph.toml"], site, capsys)
    assert (status, out) == (2, "")
    using, error = err.strip().split("\n", 1)
    assert using == f"govgraph: using configuration {DEMO_ROOT}/site/govgraph.toml (from --config)"
    assert error in page

    text = config.read_text(encoding="utf-8")
    env = {var: "http://127.0.0.1:9" for var, default in _ENV_REF.findall(text) if not default}
    entities = graph_of(ROOT / "catalog").entities | {"residence_registrations"}

    def refusal(toml: str) -> str:
        settings = parse_settings(tomllib.loads(toml), env, str(config))
        with pytest.raises(SourceConfigError) as refused:
            build_catalog(settings.sources).require(entities)
        return str(refused.value)

    into = diff_from(source, "[sources.migrant_services.entities]")
    out_of = diff_from(source, "[sources.public_security.entities]")
    assert refusal(apply_diff(into, text)) in page  # served twice
    assert refusal(apply_diff(out_of, text)) in page  # served nowhere
    assert refusal(CONFIG.read_text(encoding="utf-8")) in page  # the centre's source left out


# docs/users/developer.md: registering an operation ---------------------------------------


def test_the_registered_operation_has_the_id_the_page_shows(tmp_path: Path) -> None:
    """The page's document, saved as shown, gets from `govgraph documents manifest` the id
    the page prints, and validates against the schema."""
    page = (DOCS / "users" / "developer.md").read_text(encoding="utf-8")
    (fence,) = [
        m
        for m in re.finditer(r"^( *)```graphql\n(.*?)^\1```", page, flags=re.DOTALL | re.MULTILINE)
        if "query GuardianCheck" in m[2]
    ]
    block = textwrap.dedent(fence[2])
    file = re.findall(r"`(\w+\.graphql)`", page[: fence.start()])[-1:]  # the last file named before it
    assert file == ["guardian_check.graphql"], "the page no longer names the file before its text"
    (tmp_path / file[0]).write_text(block, encoding="utf-8")
    manifest = build_manifest(tmp_path, graphql_schema(build_schema()))
    (entry,) = manifest["documents"]  # type: ignore[misc]
    assert entry == {"id": entry["id"], "name": "GuardianCheck", "file": file[0]}
    (shown,) = re.findall(r"^ *ok ([0-9a-f]{64}) GuardianCheck \(" + re.escape(file[0]) + r"\)$", page, re.M)
    assert shown == entry["id"], f"the page shows {shown}, {MANIFEST} would hold {entry['id']}"
    sent = re.findall(r'"documentId": "sha256:([0-9a-f…]+)"', page)
    assert sent
    assert all(entry["id"].startswith(s.rstrip("…")) for s in sent), sent
