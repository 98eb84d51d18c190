"""Every script in examples/ runs as a user would run it, as a subprocess against a gateway
served over the demo city, and prints what its user needs. Expected values come from
the city's samples and its departments' databases, never from constants."""

from __future__ import annotations

import asyncio
import os
import re
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest_asyncio

from demo.stack import DemoStack
from sources.stats import CallStats

from .stack import gateway_app, served

ROOT = Path(__file__).parents[1]
DEVELOPER = {"X-API-Key": "demo-only-developer-api-key", "X-Purpose": "development"}


@pytest_asyncio.fixture(scope="module")
async def gateway(demo_city: DemoStack) -> AsyncIterator[str]:
    """The gateway over the demo city, on a loopback port: what `make demo` serves."""
    async with served(gateway_app(demo_city.gateway_env(), CallStats())) as url:
        yield url


async def run_example(
    gateway: str, city: DemoStack, script: str, *args: str, env: dict[str, str] | None = None
) -> tuple[int, str, str]:
    """Run examples/`script` with the demo's environment: its exit status, standard output
    and standard error."""
    environ = {k: v for k, v in os.environ.items() if k != "GOVGRAPH_JWT_SECRET"}  # the demo's secret
    environ |= {"GOVGRAPH_URL": gateway, "GOVGRAPH_DATA_DIR": str(city.data_dir), **(env or {})}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "examples" / script),
        *args,
        cwd=ROOT,
        env=environ,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def example(gateway: str, city: DemoStack, script: str, *args: str) -> str:
    """Run examples/`script`, which must get a whole answer; its standard output."""
    status, out, err = await run_example(gateway, city, script, *args)
    assert status == 0, err
    assert "refused" not in err, err
    return out


async def rows(dsn: str, sql: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


async def as_developer(gateway: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.post(
            f"{gateway}/graphql", json={"query": query, "variables": variables}, headers=DEVELOPER
        )
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body["errors"]
    return body["data"]  # type: ignore[no-any-return]


async def test_enrolment_review_prints_the_family_and_the_verdicts(
    gateway: str, demo_city: DemoStack
) -> None:
    child = demo_city.samples["cases"]["family_child"][0]
    people = demo_city.dsns["public_security"]
    (name,) = await rows(people, "SELECT name FROM person WHERE id = $1", child)
    guardians = await rows(
        people,
        "SELECT p.id, p.name FROM guardianship g JOIN person p ON p.id = g.guardian_id WHERE g.child_id = $1",
        child,
    )
    out = await example(gateway, demo_city, "enrolment_review.py")
    lines = out.splitlines()
    assert lines[0].startswith(f"{name['name']} {child}, age ")
    for g in guardians:
        line = next(x for x in lines if x.startswith(f"  guardian {g['name']} {g['id']}: "))
        assert "24 on-time months in the last 36: " in line or "not insured" in line
    assert re.search(r"^  checks: local hukou (yes|no); .* applications \d+ \(duplicates \d+\)$", out, re.M)
    # (`example` also checks that nothing was refused: the operation asks only what is granted)


async def test_talent_check_prints_a_verdict(gateway: str, demo_city: DemoStack) -> None:
    applicant = demo_city.samples["cases"]["back_paid"][0]
    data = await as_developer(
        gateway,
        """query($id: ResidentId!) { person(id: $id) { name socialInsurance {
             hasContributed(months: 24, within: 36)
             currentEmployer { name taxCreditAtLeast(grade: B) } } } }""",
        {"id": applicant},
    )
    person = data["person"]
    si = person["socialInsurance"]
    employer = si["currentEmployer"]
    eligible = si["hasContributed"] and employer is not None and employer["taxCreditAtLeast"]
    out = await example(gateway, demo_city, "talent_check.py")
    assert out.splitlines()[0] == f"{person['name']} {applicant}"
    assert f"24 on-time months within the last 36: {'yes' if si['hasContributed'] else 'no'}" in out
    if employer is not None:
        assert f"employer: {employer['name']} " in out
    assert out.rstrip().endswith(f"verdict: {'ELIGIBLE' if eligible else 'NOT ELIGIBLE'}")


async def test_household_prefill_masks_identifiers_and_stays_in_jimei(
    gateway: str, demo_city: DemoStack
) -> None:
    cases = demo_city.samples["cases"]
    number = cases["jimei_household"][0]
    members = await rows(
        demo_city.dsns["public_security"],
        "SELECT p.id, p.name FROM household_member m JOIN person p ON p.id = m.person_id"
        " WHERE m.household_no = $1",
        number,
    )
    out = await example(gateway, demo_city, "household_prefill.py")
    assert out.splitlines()[0].startswith(f"household {number[:6]}{'*' * 7}{number[-2:]} (")
    listed = re.findall(r"^  \S+: (\S+) (\S+), ", out, re.M)
    assert len(listed) == len(members)
    for name, masked_id in listed:
        assert re.fullmatch(r"\w\*+", name)
        assert re.fullmatch(r"\d\*{15}[\dX]{2}", masked_id)
    for m in members:  # neither a full id nor a full name leaves the gateway
        assert m["id"] not in out
        assert m["name"] not in out
    # Another district's household is refused: said on stderr, and the script fails.
    elsewhere = next(n for n in cases["household"] if not n.startswith("350211"))
    status, out, err = await run_example(gateway, demo_city, "household_prefill.py", elsewhere)
    assert status == 1
    assert out == ""
    assert err == "refused: household: FORBIDDEN (Outside this client's jurisdiction, or not found.)\n"


async def test_a_request_the_gateway_refuses_fails_the_script(gateway: str, demo_city: DemoStack) -> None:
    """A token the gateway does not accept (signed with another secret): HTTP 401, said
    with its code on stderr, exit status 1, nothing on stdout."""
    other = {"GOVGRAPH_JWT_SECRET": "not-the-gateways-secret-0123456789"}
    for script in ("talent_check.py", "enterprise_profile.py"):
        status, out, err = await run_example(gateway, demo_city, script, env=other)
        assert status == 1, (script, out, err)
        assert out == ""
        assert err.startswith("refused: HTTP 401 UNAUTHENTICATED: "), err
    unreachable = {"GOVGRAPH_URL": "http://127.0.0.1:9"}  # the discard port: nothing listens
    status, out, err = await run_example(gateway, demo_city, "subject_report.py", env=unreachable)
    assert status == 1
    assert err.startswith("not answered: cannot reach http://127.0.0.1:9 "), err


async def test_enterprise_profile_joins_market_tax_and_social_insurance(
    gateway: str, demo_city: DemoStack
) -> None:
    code = demo_city.samples["cases"]["d_rated_enterprise"][0]
    (enterprise,) = await rows(
        demo_city.dsns["market"], "SELECT name, legal_rep_id FROM enterprise WHERE credit_code = $1", code
    )
    (rep,) = await rows(
        demo_city.dsns["public_security"], "SELECT name FROM person WHERE id = $1", enterprise["legal_rep_id"]
    )
    grades = await rows(
        demo_city.dsns["tax"], "SELECT year, grade FROM credit_rating WHERE credit_code = $1", code
    )
    out = await example(gateway, demo_city, "enterprise_profile.py")
    assert out.splitlines()[0] == f"{enterprise['name']} {code}"
    assert f"legal representative {rep['name'][0]}{'*' * (len(rep['name']) - 1)}" in out
    ratings = next(line for line in out.splitlines() if "tax credit ratings:" in line)
    assert all(f"{g['year']} {g['grade']}" in ratings for g in grades)
    assert " D" in ratings
    assert re.search(r"^  insured headcount: \d+$", out, re.M)


async def test_policy_cashing_prefills_from_market_tax_credit_and_licences(
    gateway: str, demo_city: DemoStack
) -> None:
    cases = demo_city.samples["cases"]
    for sample, eligible in (("clean_enterprise", "yes"), ("dishonest_enterprise", "NO")):
        code = cases[sample][0]
        (enterprise,) = await rows(
            demo_city.dsns["market"], "SELECT name FROM enterprise WHERE credit_code = $1", code
        )
        (warning,) = await rows(
            demo_city.dsns["credit"], "SELECT level FROM credit_warning WHERE credit_code = $1", code
        )
        listed = await rows(
            demo_city.dsns["credit"],
            "SELECT 1 FROM serious_dishonesty WHERE credit_code = $1 AND removed_on IS NULL",
            code,
        )
        assert bool(listed) == (eligible == "NO")
        licences = await rows(
            demo_city.dsns["licences"],
            "SELECT kind, licence_no FROM enterprise_licence WHERE credit_code = $1",
            code,
        )
        out = await example(gateway, demo_city, "policy_cashing.py", code)
        assert out.splitlines()[0] == f"{enterprise['name']} {code}"
        assert f"  credit risk warning: {warning['level']} (assessed " in out
        assert f"    on no serious dishonesty list: {eligible}" in out
        shown = sorted(line.split(":")[0] for line in out.splitlines() if line.startswith("  licence "))
        assert shown == sorted(f"  licence {r['kind']} {r['licence_no']}" for r in licences)
        # (and `example` that nothing was refused: every field is granted to the desk)


async def test_subject_report_shows_the_enrolment_review(gateway: str, demo_city: DemoStack) -> None:
    child = demo_city.samples["cases"]["family_child"][1]
    case = f"ENR-TEST-{uuid.uuid4().hex[:8]}"
    await example(gateway, demo_city, "enrolment_review.py", child, "--case-id", case)
    out = await example(gateway, demo_city, "subject_report.py", child)
    assert out.splitlines()[0].endswith(f"accesses to {child}, newest first:")
    assert f"enrollment for enrollment_review case {case}: EnrolmentReview ok" in out
