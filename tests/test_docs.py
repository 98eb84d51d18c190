"""The documentation keeps up with the code: every configuration key, environment variable
and error code is documented, links and module paths resolve, and adding a department
works exactly as docs/adding-a-source.md says."""

from __future__ import annotations

import ast
import importlib.util
import re
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

from demo.stack import DemoStack
from gateway.app import create_app
from gateway.catalog.graph import graph_of
from gateway.compat import graphql_schema
from gateway.config.schema import section_keys
from gateway.config.settings import load_settings, parse_settings
from gateway.execution.documents import MANIFEST, build_manifest
from gateway.execution.schema import build_schema
from sources.errors import SourceConfigError
from sources.options import Options
from sources.registry import KINDS, adapter_for, build_catalog
from sources.stats import CallStats

from .stack import served

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


def error_codes() -> set[str]:
    """The codes the code can put in `extensions.code`: values of a `"code"` key, the `code`
    attribute of source errors, codes given with an HTTP status (`Refusal(401, "…")`)
    and codes mapped from HTTP statuses (`{404: "NOT_FOUND"}`)."""

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


# docs/adding-a-source.md, followed step by step ------------------------------------------


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
    assert text.count(before) == 1, "the page's diff no longer matches govgraph.toml"
    return text.replace(before, after)


async def test_a_department_added_by_configuration_as_documented(
    demo_city: DemoStack, tmp_path: Path
) -> None:
    page = (DOCS / "adding-a-source.md").read_text(encoding="utf-8")
    (diff,) = fenced(page, "diff")
    block = next(b for b in fenced(page, "toml") if 'kind = "http"' in b)
    config = tmp_path / "govgraph.local.toml"
    config.write_text(apply_diff(diff, CONFIG.read_text(encoding="utf-8")) + "\n" + block, encoding="utf-8")
    for shared in ("policy.toml", "documents"):  # beside the file, as the page says
        (tmp_path / shared).symlink_to(ROOT / shared)

    runner = web.AppRunner(load_example("migrant_services").department(demo_city.dsns["public_security"]))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        env = demo_city.gateway_env() | {
            "GOVGRAPH_MIGRANT_SERVICES_URL": f"http://127.0.0.1:{runner.addresses[0][1]}"
        }
        settings = load_settings(config, env)
        assert "migrant_services" in [s.name for s in settings.sources]
        stats = CallStats()
        children = demo_city.samples["cases"]["migrant_child"][:5]
        query = next(q for q in fenced(page, "graphql") if "residencePermit" in q)
        async with served(create_app(settings, stats=stats)) as url, httpx.AsyncClient(timeout=30) as client:
            response = await client.post(
                f"{url}/graphql",
                json={"query": query, "variables": {"ids": children}},
                headers={"X-API-Key": "demo-only-developer-api-key", "X-Purpose": "development"},
            )
    finally:
        await runner.cleanup()
    body = response.json()
    assert "errors" not in body, body.get("errors")
    assert body["extensions"]["sources"]["migrant_services"] == "ok"
    answered = {
        g["residencePermit"]["number"]
        for p in body["data"]["persons"]
        for g in p["guardians"]
        if g["residencePermit"]
    }
    conn = await asyncpg.connect(demo_city.dsns["public_security"])
    try:
        expected = {
            r["permit_no"]
            for r in await conn.fetch(
                "SELECT p.permit_no FROM guardianship g"
                " JOIN residence_permit p ON p.person_id = g.guardian_id WHERE g.child_id = ANY($1::text[])",
                children,
            )
        }
    finally:
        await conn.close()
    assert answered == expected
    assert expected
    asked = {(c.source, c.entity) for c in stats.recent}
    assert ("migrant_services", "residence_permit") in asked
    assert ("public_security", "residence_permit") not in asked


def test_the_configuration_mistakes_the_page_quotes(tmp_path: Path) -> None:
    """Serving the entity twice, or nowhere, stops start-up with the messages the page quotes."""
    source = (DOCS / "adding-a-source.md").read_text(encoding="utf-8")
    page = " ".join(source.split())  # a quoted message may wrap across lines
    (diff,) = fenced(source, "diff")
    block = next(b for b in fenced(source, "toml") if 'kind = "http"' in b)
    text = CONFIG.read_text(encoding="utf-8")
    env = {var: "http://127.0.0.1:9" for var, default in _ENV_REF.findall(text + block) if not default}

    def refusal(toml: str) -> str:
        settings = parse_settings(tomllib.loads(toml), env, str(tmp_path / "govgraph.local.toml"))
        with pytest.raises(SourceConfigError) as refused:
            build_catalog(settings.sources).require(graph_of().entities)
        return str(refused.value)

    assert refusal(text + "\n" + block) in page
    assert refusal(apply_diff(diff, text)) in page


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
