"""The resource catalogue: the graph it builds keeps the hand-written graph's fields, its
mistakes are named by file, line, resource and item, and its sharing classes bind grants."""

from __future__ import annotations

import re
import shutil
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
from graphql import parse, print_ast
from graphql.language import ObjectTypeDefinitionNode

from gateway.catalog.graph import graph_of
from gateway.catalog.load import CatalogError, check_sources, load_catalog
from gateway.catalog.shape import converter
from gateway.execution.schema import build_schema
from gateway.policy.model import PolicyError, parse_policy
from resolvers.graph import MASKS, NAMED
from tests.resolvers.city import CHILD

ROOT = Path(__file__).parents[2]
CATALOG = ROOT / "catalog"

Signature = tuple[str, tuple[tuple[str, str, str | None], ...], tuple[str, ...]]


def signatures(sdl: str) -> dict[str, Signature]:
    """Each object field's type, arguments (name, type, default) and directives but @shared."""
    found: dict[str, Signature] = {}
    for definition in parse(sdl).definitions:
        if not isinstance(definition, ObjectTypeDefinitionNode):
            continue
        for field in definition.fields or ():
            arguments = tuple(
                (a.name.value, print_ast(a.type), print_ast(a.default_value) if a.default_value else None)
                for a in field.arguments or ()
            )
            directives = tuple(print_ast(d) for d in field.directives or () if d.name.value != "shared")
            found[f"{definition.name.value}.{field.name.value}"] = (
                print_ast(field.type),
                arguments,
                directives,
            )
    return found


def openers(signature: Signature) -> tuple[Signature, set[str]]:
    """The signature without @openedBy, and the scopes @openedBy names."""
    kind, arguments, directives = signature
    opened = [d for d in directives if d.startswith("@openedBy")]
    named = set(opened[0].split('"')[1].split()) if opened else set()
    return (kind, arguments, tuple(d for d in directives if d not in opened)), named


def test_the_catalogue_keeps_every_field_of_the_hand_written_graph() -> None:
    before = signatures((ROOT / "tests/fixtures/schema-before-catalogue.graphql").read_text(encoding="utf-8"))
    after = signatures(build_schema().as_str())
    assert len(before) > 100
    missing = sorted(set(before) - set(after))
    assert missing == []
    for coordinate, signature in before.items():
        kept, opened = openers(signature)
        now, opens = openers(after[coordinate])
        assert now == kept, coordinate
        # New departments' scopes may open a root look-up too; none that did is dropped.
        assert opened <= opens, coordinate


def test_every_shared_item_shows_its_class_and_sensitivity_in_the_schema() -> None:
    sdl = build_schema().as_str()
    assert "directive @shared(sharing: SharingClass!, sensitivity: SensitivityClass!)" in sdl
    fields = {}
    for definition in parse(sdl).definitions:
        if isinstance(definition, ObjectTypeDefinitionNode):
            for field in definition.fields or ():
                fields[f"{definition.name.value}.{field.name.value}"] = field
    for path in sorted(CATALOG.glob("*.toml")):
        document = tomllib.loads(path.read_text(encoding="utf-8"))
        for resource in document["resources"].values():
            for name, item in resource.get("items", {}).items():
                sharing = item.get("sharing", resource["sharing"])
                if "type" not in resource or sharing == "not_shared":
                    continue
                head, *rest = name.split("_")
                field = fields[f"{resource['type']}.{head}{''.join(p.capitalize() for p in rest)}"]
                (shared,) = [d for d in field.directives or () if d.name.value == "shared"]
                sensitivity = item.get("sensitivity", resource["sensitivity"])
                assert print_ast(shared) == (
                    f"@shared(sharing: {sharing.upper()}, sensitivity: {sensitivity.upper()})"
                ), f"{path.name}: {name}"
                assert field.description is not None  # what GraphiQL's docs show
                assert item["title"] in field.description.value
                shown = {"unconditional": "无条件共享", "conditional": "有条件共享"}[sharing]
                assert f"{shown} ({sharing}) · {sensitivity}" in field.description.value


def not_shared_items() -> list[tuple[str, str]]:
    """(type or resource, field name) of every not-shared item, read from the files."""
    found = []
    for path in sorted(CATALOG.glob("*.toml")):
        for rname, resource in tomllib.loads(path.read_text(encoding="utf-8"))["resources"].items():
            for name, item in resource.get("items", {}).items():
                if item.get("sharing", resource["sharing"]) == "not_shared":
                    head, *rest = name.split("_")
                    found.append((resource.get("type", rname), head + "".join(p.capitalize() for p in rest)))
    return found


def test_a_not_shared_item_is_no_field_of_any_type() -> None:
    withheld = not_shared_items()
    assert withheld, "the project's catalogue declares not-shared items"
    sdl = build_schema().as_str()
    fields = signatures(sdl)
    for owner, name in withheld:
        assert f"{owner}.{name}" not in fields
        assert not any(c.endswith(f".{name}") and c.startswith(f"{owner}.") for c in fields)


def test_a_not_shared_item_cannot_be_queried() -> None:
    schema = build_schema()
    for owner, name in not_shared_items():
        if owner != "Person":
            continue
        result = schema.execute_sync(f'{{ person(id: "{CHILD}") {{ {name} }} }}')
        assert result.errors is not None
        assert f"Cannot query field '{name}' on type 'Person'" in result.errors[0].message


# Mistakes ------------------------------------------------------------------------------


def edited(tmp_path: Path, file: str, old: str, new: str) -> Path:
    directory = tmp_path / "catalog"
    shutil.copytree(CATALOG, directory)
    path = directory / file
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return directory


def load(directory: Path) -> None:
    load_catalog(directory, named=NAMED, masks=MASKS)


def line_of(directory: Path, file: str, fragment: str) -> int:
    lines = (directory / file).read_text(encoding="utf-8").splitlines()
    return next(n for n, line in enumerate(lines, start=1) if fragment in line)


@pytest.mark.parametrize(
    ("file", "old", "new", "where", "problem"),
    [
        (
            "market.toml",
            'year = { type = "Int!", title = "报告年度" }',
            'year = { type = "Integer!", title = "报告年度" }',
            "resources.annual_reports.items.year.type",
            "unknown type 'Integer'",
        ),
        (
            "public_security.toml",
            'household = { type = "Household",',
            'household = { type = "Householder",',
            "resources.person.items.household.type",
            "unknown type 'Householder': link to a type no resource declares?",
        ),
        (
            "market.toml",
            'attach = [{ field = "Enterprise.annualReports", by = "credit_code" }]',
            'attach = [{ field = "Company.annualReports", by = "credit_code" }]',
            "resources.annual_reports.attach[0].field",
            "Company is not a catalogue type",
        ),
        (
            "tax.toml",
            'attach = [{ field = "Enterprise.taxArrears",',
            'attach = [{ field = "Enterprise.taxRegistration",',
            "resources.arrears.attach[0].field",
            "Enterprise.taxRegistration is also attached by resource taxpayer (tax.toml)",
        ),
        (
            "market.toml",
            'district = { type = "District", title = "登记机关行政区划" }',
            'district = { type = "District", title = "登记机关行政区划" }\n'
            'taxRegistration = { type = "String", title = "x" }',
            "resources.enterprise.items.taxRegistration",
            "must match ^[a-z][a-z0-9]*(_[a-z0-9]+)*$, got 'taxRegistration'",  # snake_case names
        ),
        (
            "market.toml",
            'address = { type = "String", title = "住所" }',
            'address = { type = "String", title = "住所", mask = "STREET" }',
            "resources.enterprise.items.address.mask",
            "unknown mask rule 'STREET'",
        ),
        (
            "education.toml",
            'capacity = { type = "Int", title = "学位数" }',
            'capacity = { type = "Int", titel = "学位数" }',
            "resources.school.items.capacity.titel",
            "unknown key",
        ),
        (
            "tax.toml",
            'tax_type = { type = "String!", title = "税种" }',
            'tax_type = { type = "[String!", title = "税种" }',
            "resources.tax_payments.items.tax_type.type",
            "is not a type",
        ),
        (
            "education.toml",
            'subject = "person_id"\nscope = "education.student_status"',
            'subject = "student_id"\nscope = "education.student_status"',
            "resources.student_status.subject",
            "'student_id' is not the column of any item of student_status",
        ),
    ],
)
def test_a_mistake_names_file_line_resource_and_item(
    tmp_path: Path, file: str, old: str, new: str, where: str, problem: str
) -> None:
    directory = edited(tmp_path, file, old, new)
    with pytest.raises(CatalogError) as caught:
        load(directory)
    message = str(caught.value)
    (line,) = [m for m in message.splitlines() if f": {where}: " in m]
    assert line.startswith(f"{directory / file}:")
    assert problem in line
    expected_line = line_of(directory, file, new.splitlines()[-1].split("=")[0].strip() + " =")
    if where.endswith((".type", ".mask", ".titel", "taxRegistration")):
        assert line.startswith(f"{directory / file}:{expected_line}:"), line


def test_every_mistake_is_reported_at_once(tmp_path: Path) -> None:
    directory = edited(
        tmp_path, "market.toml", 'type = "Int!", title = "报告年度"', 'type = "Int!!", title = "x"'
    )
    path = directory / "social_insurance.toml"
    path.write_text(path.read_text(encoding="utf-8").replace('mask = "IDENTIFIER"', 'mask = "X"'), "utf-8")
    with pytest.raises(CatalogError) as caught:
        load(directory)
    lines = str(caught.value).splitlines()
    assert len(lines) == 2
    assert "market.toml" in lines[0]
    assert "resources.annual_reports.items.year.type: 'Int!!' is not a type" in lines[0]
    assert "social_insurance.toml" in lines[1]
    assert "resources.insured_person.items.number.mask: unknown mask rule 'X'" in lines[1]


def test_a_resource_declared_twice_and_a_type_declared_twice(tmp_path: Path) -> None:
    directory = tmp_path / "catalog"
    shutil.copytree(CATALOG, directory)
    market = (directory / "market.toml").read_text(encoding="utf-8")
    annual = market[market.index("[resources.annual_reports]") :]
    extra = (directory / "tax.toml").read_text(encoding="utf-8") + "\n" + annual
    (directory / "tax.toml").write_text(extra, encoding="utf-8")
    copy = annual.replace("resources.annual_reports", "resources.reports_again")
    (directory / "education.toml").write_text(
        (directory / "education.toml").read_text(encoding="utf-8") + "\n" + copy, encoding="utf-8"
    )
    with pytest.raises(CatalogError) as caught:
        load(directory)
    message = str(caught.value)
    assert f"{directory / 'tax.toml'}:" in message
    assert "resources.annual_reports: also declared in market.toml" in message
    # Files are read in name order: education.toml's copy declares the type first.
    assert "AnnualReport is already declared by resource reports_again (education.toml)" in message
    assert "is also item" not in message  # the type's items are not claimed twice over


def test_an_entity_no_source_serves_is_named_with_its_resource() -> None:
    catalog = graph_of().catalog
    served = {"tax": {"taxpayer", "credit_ratings", "tax_payments", "arrears"}}
    with pytest.raises(CatalogError) as caught:
        check_sources(catalog, served)
    message = str(caught.value)
    assert "tax.toml" in message
    assert (
        "resources.income_tax: no source serves entity 'income_tax' (its department's: [sources.tax])"
        in message
    )
    assert "public_security.toml" in message


def test_a_derivation_on_a_type_the_catalogue_lacks_stops_the_build(tmp_path: Path) -> None:
    directory = edited(tmp_path, "social_insurance.toml", 'type = "SocialInsurance"', 'type = "Insured"')
    with pytest.raises(CatalogError, match="registered on SocialInsurance, which no catalogue resource"):
        graph_of(directory)


# Sharing classes bind grants -----------------------------------------------------------

POLICY = """
[purposes.review]
title = "Review"
legal_basis = "law"

[clients.app]
purposes = ["review"]

[[grants]]
client = "app"
purpose = "review"
{grant}
"""


def policy_of(grant: str) -> Callable[[], object]:
    schema = build_schema()

    def parsed() -> object:
        return parse_policy(
            POLICY.format(grant=grant), schema.scopes, "policy.toml", sharing=schema.surface.sharing
        )

    return parsed


def test_a_grant_of_a_conditional_scope_needs_a_basis() -> None:
    with pytest.raises(PolicyError) as caught:
        policy_of('full = ["person.identity", "education.schools"]')()
    assert caught.value.line == 9  # the grant's
    assert "grants conditional (有条件共享) scopes person.identity: it needs a basis" in str(caught.value)
    policy = policy_of('full = ["person.identity"]\nbasis = "approval 7"')()
    assert policy.basis("app", "review") == "approval 7"  # type: ignore[attr-defined]


def test_an_unconditional_scope_needs_no_basis() -> None:
    policy = policy_of('full = ["education.schools", "enterprise.registration"]')()
    assert policy.basis("app", "review") is None  # type: ignore[attr-defined]


def test_a_grant_naming_a_not_shared_item_is_refused() -> None:
    with pytest.raises(PolicyError) as caught:
        policy_of('full = ["Person.householdNo"]\nbasis = "approval 7"')()
    assert "'Person.householdNo' is not shared (不予共享; public_security.toml: " in str(caught.value)
    assert "resources.person.items.household_no" in str(caught.value)


def test_a_scope_only_not_shared_items_have_cannot_be_granted(tmp_path: Path) -> None:
    directory = edited(
        tmp_path,
        "public_security.toml",
        'household_no = { type = "String", title = "户号", sharing = "not_shared",',
        'household_no = { type = "String", title = "户号", sharing = "not_shared",'
        ' scope = "person.register_keys",',
    )
    schema = build_schema(graph=graph_of(directory))
    with pytest.raises(PolicyError) as caught:
        parse_policy(
            POLICY.format(grant='full = ["person.register_keys"]\nbasis = "x"'),
            schema.scopes,
            "policy.toml",
            sharing=schema.surface.sharing,
        )
    assert "'person.register_keys' is not shared (不予共享;" in str(caught.value)


def test_a_resource_cannot_take_the_name_of_a_type_of_the_graph(tmp_path: Path) -> None:
    directory = edited(tmp_path, "education.toml", 'type = "School"', 'type = "District"')
    with pytest.raises(CatalogError) as caught:
        load(directory)
    assert "resources.school.type: District is one of the graph's own types" in str(caught.value)


def test_a_looked_up_key_must_be_an_item(tmp_path: Path) -> None:
    directory = edited(tmp_path, "education.toml", 'key = "code"', 'key = "school_code"')
    with pytest.raises(CatalogError) as caught:
        load(directory)
    assert "resources.school.key: 'school_code' is no item's column" in str(caught.value)


def test_a_code_mapped_to_no_enum_value_is_named(tmp_path: Path) -> None:
    directory = edited(tmp_path, "market.toml", '"吊销" = "REVOKED"', '"吊销" = "STRUCK_OFF"')
    with pytest.raises(
        CatalogError, match=r"登记状态 \(EnterpriseStatus\): codes: 'STRUCK_OFF' is not a valid"
    ):
        graph_of(directory)


def test_an_attachment_that_opens_a_look_up_needs_one(tmp_path: Path) -> None:
    directory = edited(
        tmp_path,
        "tax.toml",
        'attach = [{ field = "Enterprise.taxArrears", by = "credit_code",',
        'attach = [{ field = "TaxRegistration.arrears", by = "credit_code", opens_lookup = true,',
    )
    with pytest.raises(CatalogError, match=r"attach\[0\]\.opens_lookup: TaxRegistration has no root look-up"):
        load(directory)


def test_a_department_s_attachment_opens_the_root_look_up() -> None:
    sdl = signatures(build_schema().as_str())
    (opened,) = [d for d in sdl["Query.enterprise"][2] if d.startswith("@openedBy")]
    credit = tomllib.loads((CATALOG / "credit.toml").read_text(encoding="utf-8"))
    scopes = [r["scope"] for r in credit["resources"].values() if r["attach"][0].get("opens_lookup")]
    assert scopes
    assert all(f" {s} " in opened.replace('"', " ") for s in scopes)


@pytest.mark.parametrize(
    ("file", "old", "new", "problem"),
    [
        (
            "market.toml",
            'address = { type = "String", title = "住所" }',
            'record = { type = "String", title = "住所", source = "address" }',
            "resources.enterprise.items.record: 'record' is reserved (every value has it)",
        ),
        (
            "public_security.toml",
            'guardian = { type = "Person", title = "监护人", source = "guardian_id" }',
            'guardian = { type = "Person", title = "监护人", source = "guardian_id",'
            ' sharing = "not_shared" }',
            "resources.guardians.attach[0].through: 'guardian' is not shared: no field follows it",
        ),
        (
            "licences.toml",
            'subject = "holder_id"\n',
            "",
            "resources.person_certificates.subject: is required: personal data is audited",
        ),
    ],
)
def test_nothing_is_read_unaudited_or_past_its_sharing_class(
    tmp_path: Path, file: str, old: str, new: str, problem: str
) -> None:
    with pytest.raises(CatalogError, match=re.escape(problem)):
        load(edited(tmp_path, file, old, new))


def test_a_look_up_may_not_take_the_gateway_s_root_field(tmp_path: Path) -> None:
    directory = edited(
        tmp_path, "education.toml", 'lookup = { one = "school",', 'lookup = { one = "catalog",'
    )
    with pytest.raises(CatalogError, match=r"Query\.catalog is looked up by a catalogue resource"):
        graph_of(directory)


def test_codes_may_name_the_enum_value_as_the_schema_does(tmp_path: Path) -> None:
    old = 'gender = { type = "Gender", title = "性别" }'
    new = 'gender = { type = "Gender", title = "性别", codes = { "男" = "MALE", "女" = "2" } }'
    directory = edited(tmp_path, "public_security.toml", old, new)
    graph = graph_of(directory)
    (item,) = [i for n, i in graph.catalog.resources["person"].resource.items.items() if n == "gender"]
    assert item.codes == {"男": "MALE", "女": "2"}
    gender = NAMED["Gender"]
    convert = converter(gender, item.codes)
    assert convert is not None
    assert (convert("男"), convert("女"), convert("1"), convert("9")) == (
        gender.MALE,
        gender.FEMALE,
        gender.MALE,
        None,
    )


def test_a_derivation_takes_the_class_of_what_it_reads() -> None:
    sdl = build_schema().as_str()
    age = next(line for line in sdl.splitlines() if line.strip().startswith("age:"))
    assert "sensitivity: PERSONAL" in age  # the birth date's, not the student number's MINOR
    months = next(line for line in sdl.splitlines() if line.strip().startswith("monthsContributed"))
    assert "sensitivity: SENSITIVE" in months  # the contributions'
