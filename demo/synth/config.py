"""What a city is made of: its config, its departments' tables, and the constants every phase shares."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

__all__ = ["CASES", "CHUNK", "COLUMNS", "DEPARTMENTS", "HISTORY", "LAST", "SAMPLE_SIZE", "CityConfig"]

DEPARTMENTS = ("public_security", "education", "social_insurance", "tax", "market", "licences", "credit")
# Column order of every table (the DDL in departments/sql is the contract); within a
# department, parent tables come first: the order chunks are flushed in.
COLUMNS: dict[str, dict[str, tuple[str, ...]]] = {
    department: {table: tuple(columns.split()) for table, columns in tables.items()}
    for department, tables in {
        "public_security": {
            "household": "number district address kind head_id registered_on",
            "person": "id name gender birth_date ethnicity phone household_no hukou_district hukou_address"
            " residence_district residence_address status",
            "household_member": "household_no person_id relation seq",
            "guardianship": "child_id guardian_id relation",
            "residence_permit": "person_id permit_no district address issued_on valid_until status",
            "portrait": "person_id ref captured_on",
        },
        "education": {
            "school": "code name district level address capacity",
            "student_status": "person_id student_no school_code grade class_no enrolled_month status boarding"
            " enrol_mode migrant_child",
            "enrollment_application": "application_no person_id year stage school_code district guardian_id"
            " submitted_at status",
        },
        "social_insurance": {
            "insured_person": "person_id si_no status first_insured_month current_employer updated_on",
            "contribution": "person_id period paid_month insurance_type base employer",
            "employer_headcount": "credit_code month headcount",
        },
        "tax": {
            "taxpayer": "credit_code taxpayer_no name kind tax_authority registered_on status",
            "credit_rating": "credit_code year grade score published_on",
            "tax_payment": "credit_code period tax_type amount paid_on",
            "arrears": "credit_code tax_type amount since",
            "income_tax_summary": "person_id year income tax_paid withholding_agent",
        },
        "market": {
            "enterprise": "credit_code name kind status legal_rep_id registered_capital established_on"
            " district address business_scope deregistered_on",
            "annual_report": "credit_code year submitted_on employees status",
        },
        "licences": {
            "enterprise_licence": "licence_no credit_code kind name issued_on valid_until authority status",
            "person_certificate": "certificate_no holder_id kind name issued_on valid_until authority status",
        },
        "credit": {
            "administrative_licence": "decision_no credit_code title category content decided_on valid_from"
            " valid_until authority",
            "administrative_penalty": "decision_no credit_code violation penalty_type amount basis decided_on"
            " authority publish_until",
            "serious_dishonesty": "credit_code list_name reason listed_on listed_by removed_on",
            "credit_warning": "credit_code level score assessed_on reasons",
        },
    }.items()
}
# The kinds of interesting case the samples document lists (at most SAMPLE_SIZE of each).
CASES = [
    "family_child", "migrant_child", "duplicate_application", "back_paid", "changed_employer",
    "d_rated_enterprise", "deregistered_enterprise", "enterprise_with_arrears", "household",
    "jimei_household", "school", "legal_representative", "licensed_enterprise", "certificate_holder",
    "clean_enterprise", "penalised_enterprise", "dishonest_enterprise", "delisted_enterprise",
]  # fmt: skip
SAMPLE_SIZE = 100
CHUNK = 50_000  # rows a table buffers before its department's chunks are flushed
HISTORY = 48  # months of contributions before as_of
LAST = HISTORY - 1  # index of the last history month


@dataclass(frozen=True)
class CityConfig:
    """What to generate: the same config always yields the same city."""

    seed: int = 20261126
    persons: int = 20_000  # approximate number of person rows
    as_of: dt.date = dt.date(2026, 9, 1)  # "today" of the city; history ends the month before
