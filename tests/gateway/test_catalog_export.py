"""The resource catalogue as a product: `govgraph catalog` exports it as JSON that reads back
as the files, CSV with a row per item and Markdown that docs/catalog.md embeds, and the
root field `catalog` answers any authenticated client with the same."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import tomllib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from graphql import parse

from gateway.catalog.export import CSV_HEADER, as_json
from gateway.catalog.graph import graph_of
from gateway.catalog.listing import listing
from gateway.catalog.load import CatalogError
from gateway.catalog.markdown import section
from gateway.catalog.model import CatalogFile
from gateway.cli.main import main
from gateway.compat import graphql_schema
from gateway.execution.limits import measure
from gateway.execution.schema import build_schema
from tests import test_cli as cli

from .support import DEVELOPER, gateway, headers

ROOT = Path(__file__).parents[2]
FILES = sorted((ROOT / "catalog").glob("*.toml"))
TOML = {p.name: tomllib.loads(p.read_text(encoding="utf-8")) for p in FILES}

WHOLE = """{
  catalog {
    departments {
      code name nameEn
      resources {
        name title titleEn type many updateCycle sharing sensitivity conditions
        entries { field by through scope }
        items { name field title type sharing sensitivity scope mask conditions codes { code value } }
      }
    }
  }
}"""


def exported(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["catalog", *args]) == 0
    return capsys.readouterr().out


def items_of(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(resource, item, its table) of a catalogue file as TOML reads it."""
    return [
        (r, i, table)
        for r, resource in document.get("resources", {}).items()
        for i, table in resource.get("items", {}).items()
    ]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with gateway() as http:
        yield http


@pytest.fixture(scope="module")
def export() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(as_json(listing(graph_of().catalog)))
    return document


# JSON -------------------------------------------------------------------------------------


def test_the_json_export_reads_back_as_the_catalogue_files(capsys: pytest.CaptureFixture[str]) -> None:
    text = exported(capsys, "--format", "json")
    document = json.loads(text)
    assert [d["file"] for d in document["departments"]] == [p.name for p in FILES]
    for department in document["departments"]:
        declared = {"department": department["department"], "resources": department["resources"]}
        assert CatalogFile.model_validate(declared) == CatalogFile.model_validate(TOML[department["file"]])
        # Beside what the file says, what the gateway makes of it, for every resource and item.
        assert department["graph"].keys() == department["resources"].keys()
        for name, resource in department["resources"].items():
            assert department["graph"][name]["items"].keys() == resource.get("items", {}).keys()
    assert "\\u" not in text  # Chinese as it is written
    assert exported(capsys, "--format", "json") == text  # the same text every time


def test_the_json_export_has_the_graphql_coordinates_the_schema_has(export: dict[str, Any]) -> None:
    schema = graphql_schema(build_schema())
    fields = {
        f"{name}.{field}" for name, gtype in schema.type_map.items() for field in getattr(gtype, "fields", {})
    }
    seen = set()
    for department in export["departments"]:
        for resource in department["graph"].values():
            for entry in resource["entries"]:
                assert entry["field"] in fields, entry
                seen.add(entry["field"])
            for item in resource["items"].values():
                if item["field"] is not None:
                    assert item["field"] in fields, item
                    seen.add(item["field"])
    assert {"Query.person", "Query.persons", "Person.birthDate", "Person.guardians"} <= seen


# CSV --------------------------------------------------------------------------------------


def test_the_csv_has_a_bilingual_header_and_a_row_per_item(capsys: pytest.CaptureFixture[str]) -> None:
    rows = list(csv.reader(io.StringIO(exported(capsys, "--format", "csv"))))
    header, body = rows[0], rows[1:]
    assert tuple(header) == CSV_HEADER
    column = {name: n for n, name in enumerate(header)}
    for wanted in ("资源名称 resource", "信息项 item", "共享类型 sharing class", "提供单位 provider"):
        assert wanted in column
    # One row per item of every file, counted from the files as TOML reads them.
    expected = [(r, i) for document in TOML.values() for r, i, _ in items_of(document)]
    assert len(body) == len(expected)
    assert [
        (row[column["资源代码 resource code"]], row[column["信息项代码 item code"]]) for row in body
    ] == expected
    assert all(len(row) == len(header) for row in body)
    rows_by_item = dict(zip(expected, body, strict=True))
    for document in TOML.values():
        for r, i, table in items_of(document):
            row = rows_by_item[(r, i)]
            assert row[column["信息项 item"]] == table["title"]
            assert row[column["数据类型 data type"]] == table["type"]
            assert row[column["提供单位 provider"]] == document["department"]["name"]
            shown = [row[column[c]] for c in ("共享类型 sharing class", "共享方式 method", "接口字段 field")]
            if table.get("sharing") == "not_shared":
                assert shown == ["不予共享", "", ""]
            elif document["resources"][r].get("type"):
                assert shown[1:] == [
                    "接口 GraphQL",
                    f"{document['resources'][r]['type']}.{shown[2].split('.')[1]}",
                ]


# GraphQL ----------------------------------------------------------------------------------


async def query(client: httpx.AsyncClient, document: str, asking: dict[str, str], **variables: Any) -> Any:
    response = await client.post("/graphql", json={"query": document, "variables": variables}, headers=asking)
    body = response.json()
    assert "errors" not in body, body
    return body["data"]["catalog"]


async def test_the_catalog_query_answers_what_the_json_export_says(
    client: httpx.AsyncClient, export: dict[str, Any]
) -> None:
    answered = await query(client, WHOLE, DEVELOPER)
    assert [d["code"] for d in answered["departments"]] == [
        d["department"]["code"] for d in export["departments"]
    ]
    for department, exported_department in zip(answered["departments"], export["departments"], strict=True):
        assert department["code"] == exported_department["department"]["code"]
        graph = exported_department["graph"]
        assert [r["name"] for r in department["resources"]] == list(graph)
        for resource in department["resources"]:
            declared = exported_department["resources"][resource["name"]]
            assert (resource["title"], resource["updateCycle"]) == (
                declared["title"],
                declared["update_cycle"],
            )
            assert resource["entries"] == graph[resource["name"]]["entries"]
            items = graph[resource["name"]]["items"]
            assert [i["name"] for i in resource["items"]] == list(items)
            for item in resource["items"]:
                derived = items[item["name"]]
                assert item["field"] == derived["field"]
                assert item["sharing"] == derived["sharing"].upper()
                assert item["sensitivity"] == derived["sensitivity"].upper()
                assert (item["scope"], item["conditions"]) == (derived["scope"], derived["conditions"])


def test_the_catalog_query_shows_no_deployment_names() -> None:
    # Sources, their entities, record columns and files are the deployment's, not a client's.
    sdl = (ROOT / "schema.graphql").read_text(encoding="utf-8")
    for name, fields in (("CatalogDepartment", ("source", "file")), ("CatalogItem", ("source",))):
        body = sdl.split(f"type {name} {{")[1].split("}")[0]
        assert not any(f"\n  {f}:" in body for f in fields), name
    body = sdl.split("type CatalogResource {")[1].split("}")[0]
    assert not any(f"\n  {f}:" in body for f in ("entity", "key", "subject", "districts", "orderBy"))


async def test_any_client_reads_the_catalogue_whatever_its_grants(client: httpx.AsyncClient) -> None:
    # The auditor is granted audit.read only: the catalogue is reference data, not anyone's.
    answered = await query(client, "{ catalog { departments { code } } }", headers("auditor", "audit"))
    assert len(answered["departments"]) == len(FILES)
    anonymous = await client.post("/graphql", json={"query": "{ catalog { departments { code } } }"})
    assert anonymous.status_code == 401


async def test_a_not_shared_item_is_listed_as_not_shared_and_has_no_field(client: httpx.AsyncClient) -> None:
    withheld = {
        (r, i)
        for document in TOML.values()
        for r, i, t in items_of(document)
        if t.get("sharing") == "not_shared"
    }
    assert withheld  # the project's catalogue withholds some items
    answered = await query(client, WHOLE, DEVELOPER)
    listed = {
        (r["name"], i["name"]): i
        for d in answered["departments"]
        for r in d["resources"]
        for i in r["items"]
        if i["sharing"] == "NOT_SHARED"
    }
    assert set(listed) == withheld
    assert all(i["field"] is None and i["scope"] is None for i in listed.values())


async def test_search_keeps_what_names_the_text(client: httpx.AsyncClient) -> None:
    document = (
        "query($s: String) { catalog(search: $s) { departments { code resources { name items { name } } } } }"
    )
    # A resource named (here by its English title, in any case) keeps all of its items.
    named = await query(client, document, DEVELOPER, s="  STUDENT status ")
    (education,) = named["departments"]
    (resource,) = education["resources"]
    assert resource["name"] == "student_status"
    assert [i["name"] for i in resource["items"]] == list(
        TOML["education.toml"]["resources"]["student_status"]["items"]
    )
    # Otherwise only the items named, with their resources and departments.
    title = TOML["education.toml"]["resources"]["enrollment_applications"]["items"]["guardian"]["title"]
    items = await query(client, document, DEVELOPER, s=title)
    kept = [
        (r["name"], [i["name"] for i in r["items"]]) for d in items["departments"] for r in d["resources"]
    ]
    assert ("enrollment_applications", ["guardian"]) in kept
    assert await query(client, document, DEVELOPER, s="no such thing") == {"departments": []}
    assert len((await query(client, document, DEVELOPER, s=""))["departments"]) == len(FILES)


async def test_a_long_search_is_refused_before_it_runs(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql",
        json={"query": '{ catalog(search: "%s") { departments { code } } }' % ("x" * 65)},
        headers=DEVELOPER,
    )
    assert {e["extensions"]["code"] for e in response.json()["errors"]} == {"BAD_USER_INPUT"}


async def test_the_whole_catalogue_is_estimated_at_no_less_than_it_answers(client: httpx.AsyncClient) -> None:
    answered = await query(client, WHOLE, DEVELOPER)

    def fields(value: Any) -> int:
        if isinstance(value, dict):
            return sum(1 + fields(v) for v in value.values())
        if isinstance(value, list):
            return sum(fields(v) for v in value)
        return 0

    cost = measure(graphql_schema(build_schema()), parse(WHOLE), None, {})[2]
    assert fields({"catalog": answered}) <= cost < 4 * fields({"catalog": answered})


def test_a_catalogue_type_may_not_take_the_catalog_querys_names(tmp_path: Path) -> None:
    for path in FILES:
        shutil.copy(path, tmp_path)
    (tmp_path / "zz_reference.toml").write_text(
        '[department]\ncode = "ZZ"\nname = "参考"\nname_en = "Reference"\nsource = "market"\n\n'
        '[resources.listing]\ntitle = "目录"\ntitle_en = "Listing"\ntype = "CatalogItem"\nkey = "code"\n'
        'update_cycle = "每年"\nscope = "reference.listing"\nsharing = "unconditional"\n'
        'sensitivity = "general"\n\n[resources.listing.items]\ncode = { type = "String!", title = "代码" }\n',
        encoding="utf-8",
    )
    with pytest.raises(CatalogError, match=r"zz_reference\.toml: resources\.listing\.type: CatalogItem"):
        graph_of(tmp_path)


# The command's mistakes ------------------------------------------------------------------


def test_an_unknown_format_is_a_usage_error() -> None:
    done = cli.govgraph("catalog", "--format", "xml")
    assert done.returncode == 2
    assert "invalid choice: 'xml'" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_wrong_catalogue_prints_each_mistake_and_exits_2(tmp_path: Path) -> None:
    directory = tmp_path / "catalog"
    directory.mkdir()
    for path in FILES:
        shutil.copy(path, directory)
    wrong = directory / "zz_wrong.toml"
    wrong.write_text(
        '[department]\ncode = "ZZ"\nname = "错误"\nname_en = "Wrong"\nsource = "market"\n\n'
        '[resources.wrong]\ntitle = "错误"\ntitle_en = "Wrong"\ntype = "Wrong"\nkey = "code"\n'
        'update_cycle = "每年"\nscope = "wrong.items"\nsharing = "unconditional"\nsensitivity = "general"\n\n'
        "[resources.wrong.items]\n"
        'code = { type = "String!", title = "代码" }\n'
        'count = { type = "Integer", title = "数量" }\n'
        'name = { type = "String", title = "名称", mask = "SCRAMBLE" }\n',
        encoding="utf-8",
    )
    config = tmp_path / "govgraph.toml"
    config.write_text('[catalog]\npath = "catalog"\n', encoding="utf-8")
    done = cli.govgraph("catalog", "--config", str(config))
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
    lines = wrong.read_text(encoding="utf-8").splitlines()

    def line(start: str) -> int:
        return next(n for n, text in enumerate(lines, 1) if text.startswith(start))

    assert (
        f"{wrong}:{line('count = {')}: resources.wrong.items.count.type: unknown type 'Integer'"
        in done.stderr
    )
    assert (
        f"{wrong}:{line('name = {')}: resources.wrong.items.name.mask: unknown mask rule 'SCRAMBLE'"
        in done.stderr
    )


def test_a_configuration_that_cannot_be_read_is_named(tmp_path: Path) -> None:
    done = cli.govgraph("catalog", "--config", str(tmp_path / "absent.toml"))
    assert done.returncode == 2
    assert f"{tmp_path / 'absent.toml'}: no such configuration file (from --config)" in done.stderr
    (tmp_path / "unreadable.toml").mkdir()  # there, but not a file to read
    done = cli.govgraph("catalog", "--config", str(tmp_path / "unreadable.toml"))
    assert done.returncode == 2
    assert f"{tmp_path / 'unreadable.toml'}: is not a file (from --config)" in done.stderr


# docs/catalog.md --------------------------------------------------------------------------


def test_the_docs_hold_the_catalogue_as_the_command_prints_it() -> None:
    done = cli.govgraph("catalog", "--format", "markdown")
    assert done.returncode == 0, done.stderr
    page = ROOT / "docs" / "catalog.md"
    assert section(page.read_text(encoding="utf-8")) == done.stdout, (
        "docs/catalog.md's generated section is not the catalogue: run `make catalog-docs`"
    )


def test_the_markdown_marks_not_shared_items_and_where_records_enter(
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = exported(capsys)
    row = next(line for line in text.splitlines() if line.startswith("| `household_no` |"))
    assert "| — |" in row
    assert "**不予共享** (not shared)" in row
    assert "- looked up by: `Query.person(id)`, `Query.persons(ids)`" in text
    assert "- attached at: `Person.guardians` (by `id`, through `guardian`)" in text
    assert re.search(r"^\| `birth_date` \| `Person\.birthDate` \| 出生日期 \| `Date` \|", text, re.M)


def test_the_page_section_is_rewritten_in_place(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = tmp_path / "page.md"
    page.write_text("# Page\n\n<!-- catalog:begin -->\nold\n<!-- catalog:end -->\nafter\n", encoding="utf-8")
    assert main(["catalog", "--update-page", str(page)]) == 0
    text = page.read_text(encoding="utf-8")
    assert text.startswith("# Page\n\n<!-- catalog:begin -->\n## 政务数据资源目录")
    assert text.endswith("<!-- catalog:end -->\nafter\n")
    capsys.readouterr()
    assert section(text) == exported(capsys)
    page.write_text("# No section\n", encoding="utf-8")
    assert main(["catalog", "--update-page", str(page)]) == 2
    assert "catalog:begin" in capsys.readouterr().err
