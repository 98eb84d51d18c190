"""The demo's GraphiQL presets: the developer's headers and, for each registered
operation, example variables from the city's sample ids.

`DemoStack.start()` writes them to `graphiql-presets.json` in the data directory and
points `[gateway] graphiql_presets` at it (GOVGRAPH_GRAPHIQL_PRESETS); the gateway
reads any such file, knowing nothing of the demo.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .keys import DEMO_API_KEY, DEMO_PURPOSE

__all__ = ["DEFAULT_CASES", "PRESETS_FILE", "presets", "write_presets"]

PRESETS_FILE = "graphiql-presets.json"

Cases = Mapping[str, Sequence[str]]

# Sample ids of the default demo city (seed 20261126, 20,000 persons), for a case the
# current city has no example of; `govgraph samples` lists the current city's.
DEFAULT_CASES: Cases = {
    "family_child": ["350203201408264925", "350206201110079486", "350205201311023474"],
    "changed_employer": ["350203197812054285"],
    "enterprise_with_arrears": ["91350211MAUQEMC596"],
    "jimei_household": ["350211004775577"],
    "clean_enterprise": ["91350206MATJQUEBXH"],
}

# Example variables for the registered operations (documents/), from the sample cases.
_EXAMPLES: dict[str, Callable[[Cases], dict[str, object]]] = {
    "EnrolmentReview": lambda c: {"ids": list(c["family_child"][:3])},
    "EnterpriseProfile": lambda c: {"creditCode": c["enterprise_with_arrears"][0]},
    "HouseholdPrefill": lambda c: {"number": c["jimei_household"][0]},
    "PolicyCashingPrefill": lambda c: {"creditCode": c["clean_enterprise"][0]},
    "SubjectAccess": lambda c: {"subject": c["family_child"][0]},
    "TalentCheck": lambda c: {"id": c["changed_employer"][0], "months": 24, "within": 36},
}


def presets(samples: Mapping[str, Any]) -> dict[str, object]:
    """The presets for a city whose samples (what `govgraph samples` prints) are given."""
    found = samples.get("cases")
    found = found if isinstance(found, dict) else {}
    # A case the city leaves empty falls back as a whole, so no list mixes two cities.
    cases = {**DEFAULT_CASES, **{k: v for k, v in found.items() if isinstance(v, list) and v}}
    return {
        "headers": {"X-API-Key": DEMO_API_KEY, "X-Purpose": DEMO_PURPOSE},
        "variables": {name: example(cases) for name, example in _EXAMPLES.items()},
    }


def write_presets(data_dir: Path, samples: Mapping[str, Any]) -> Path:
    path = data_dir / PRESETS_FILE
    path.write_text(json.dumps(presets(samples), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path
