"""The policy file: the shipped one is valid, and every mistake names its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.policy.model import FULL, MASKED, PolicyError, load_policy, parse_policy
from tests.resolvers.city import SCHEMA

SHIPPED = Path(__file__).parents[2] / "policy.toml"
SCOPES = SCHEMA.scopes

BASE = """\
[purposes.review]
legal_basis = "law"

[clients.app]
purposes = ["review"]

[[grants]]
client = "app"
purpose = "review"
full = ["person.identity"]
"""


def test_shipped_policy_has_the_demo_clients() -> None:
    policy = load_policy(SHIPPED, SCOPES)
    assert set(policy.clients) == {
        "enrollment",
        "talent-policy",
        "grid-worker",
        "enterprise-desk",
        "developer",
        "auditor",
    }
    assert policy.clients["grid-worker"].jurisdiction == {"350211"}
    talent = policy.grant("talent-policy", "talent_subsidy")
    assert talent["social_insurance.verdict"] == FULL
    assert "social_insurance.records" not in talent
    assert policy.grant("grid-worker", "household_survey")["person.identity"] == MASKED
    assert policy.purposes["development"].introspection
    assert not policy.purposes["audit"].introspection


def test_every_scope_is_granted_to_the_developer_or_auditor() -> None:
    policy = load_policy(SHIPPED, SCOPES)
    granted = set(policy.grant("developer", "development")) | set(policy.grant("auditor", "audit"))
    assert granted >= set(SCOPES)


@pytest.mark.parametrize(
    ("edit", "line", "fragment"),
    [
        (
            ('full = ["person.identity"]', 'full = ["person.identiy"]'),
            10,
            "grants.0.full: unknown scope 'person.identiy'",
        ),
        (
            ('purposes = ["review"]', 'purposes = ["reveiw"]'),
            5,
            "clients.app.purposes: unknown purpose 'reveiw'",
        ),
        (
            ('legal_basis = "law"', 'legal_basis = ""'),
            2,
            "purposes.review.legal_basis: must be a non-empty string",
        ),
        (('client = "app"', 'client = "ap"'), 8, "grants.0.client: unknown client 'ap'"),
        (
            ("[clients.app]\n", '[clients.app]\njurisdiction = ["3502"]\n'),
            5,
            "'3502' is not a six-digit district code",
        ),
        (("[clients.app]\n", '[clients.app]\ncolour = "red"\n'), 5, "clients.app.colour: unknown key"),
        (
            ('full = ["person.identity"]', 'full = ["person.identity"]\nmasked = ["person.identity"]'),
            11,
            "granted twice",
        ),
        (("[clients.app]", "[clients.App]"), 4, "client ids are lower-case"),
        (('purpose = "review"\n', 'purpose = "other"\n'), 9, "is not allowed purpose 'other'"),
        (("[[grants]]", "[[grant]]"), 7, "grant: unknown key; did you mean 'grants'?"),
        (
            ('purposes = ["review"]', 'purpose = ["review"]'),
            5,
            "purpose: unknown key; did you mean 'purposes'?",
        ),
        (('legal_basis = "law"', "legal_basis = law"), 2, "syntax"),
    ],
)
def test_mistakes_name_their_line(edit: tuple[str, str], line: int, fragment: str) -> None:
    text = BASE.replace(*edit)
    assert text != BASE
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, SCOPES, "policy.toml")
    assert caught.value.line == line, str(caught.value)
    assert fragment in str(caught.value)
    assert str(caught.value).startswith(f"policy.toml:{line}:")


def test_a_purpose_without_a_grant_is_refused() -> None:
    text = (
        BASE.replace('purposes = ["review"]', 'purposes = ["review", "extra"]')
        + '\n[purposes.extra]\nlegal_basis = "x"\n'
    )
    with pytest.raises(
        PolicyError, match=r"policy.toml:4: clients.app: purpose 'extra' has no \[\[grants\]\] entry"
    ):
        parse_policy(text, SCOPES, "policy.toml")


def test_second_grant_names_its_own_line() -> None:
    text = BASE + '\n[[grants]]\nclient = "app"\npurpose = "review"\n'
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, SCOPES, "policy.toml")
    assert caught.value.line == 12
    assert "a second grant" in str(caught.value)
