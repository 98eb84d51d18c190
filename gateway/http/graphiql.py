"""GraphiQL served from the package, so it works on a network with no internet.

The page is ours: it loads GraphiQL 3.8.3, React and the explorer plugin from
`static/graphiql` (with integrity hashes), and `govgraph-graphiql.js` opens one tab per
registered operation with example variables and request headers. Only a gateway that
accepts the demo's published developer key pre-fills that key and real sample ids;
any other gets empty header and variable templates. A Content-Security-Policy keeps the
browser from loading or sending anything to another origin.
"""

from __future__ import annotations

import hashlib
import json
import os
from base64 import b64encode
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cache
from pathlib import Path

from graphql import OperationDefinitionNode, value_from_ast_untyped
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from gateway.execution.documents import Document
from gateway.policy.model import Policy

__all__ = ["ASSETS", "CSP", "DEMO_API_KEY", "PREFIX", "assets_route", "graphiql_page"]

ASSETS = Path(__file__).parent / "static" / "graphiql"
PREFIX = "/graphiql-assets"
DEMO_API_KEY = "demo-only-developer-api-key"  # published in policy.toml; never valid in production

_STYLES = ("graphiql.min.css", "plugin-explorer.css")
_SCRIPTS = (
    "react.production.min.js",
    "react-dom.production.min.js",
    "graphiql.min.js",
    "plugin-explorer.umd.js",
    "govgraph-graphiql.js",
)
# Same origin only. GraphiQL's fonts are data: URLs inside its CSS; its components set
# inline styles, hence 'unsafe-inline' for styles (never for scripts).
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; font-src data:; "
    "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)

_HELP = """\
# govgraph GraphiQL. The registered operations are in the other tabs.
#
# Every request says who is asking and why, in the Headers tab below:
#   {"Authorization": "Bearer <token>", "X-Purpose": "<purpose>"}
# or, for a client with an API key:
#   {"X-API-Key": "<key>", "X-Purpose": "<purpose>"}
# `govgraph token CLIENT` prints a demo client's headers. After changing them,
# re-fetch the schema (the circular arrow on the left). Ctrl-Enter runs a query.
"""

_TEMPLATE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>govgraph · GraphiQL</title>
<link rel="icon" href="data:,">
{styles}
<style>body {{ margin: 0; overflow: hidden; }} #graphiql {{ height: 100vh; }}</style>
</head>
<body>
<div id="graphiql">Loading GraphiQL…</div>
<script type="application/json" id="govgraph-graphiql">{config}</script>
{scripts}
</body>
</html>
"""

Cases = Mapping[str, Sequence[str]]

# Sample ids of the default demo city (seed 20261126, 20,000 persons), for a demo with no
# samples file to read; `govgraph samples` lists the current city's.
_DEFAULT_CASES: Cases = {
    "family_child": ["350203201408264925", "350206201110079486", "350205201311023474"],
    "changed_employer": ["350203197812054285"],
    "enterprise_with_arrears": ["91350211MAUQEMC596"],
    "jimei_household": ["350211004775577"],
}

# Example variables for the demo's registered operations, from the city's sample cases.
_EXAMPLES: dict[str, Callable[[Cases], dict[str, object]]] = {
    "EnrolmentReview": lambda c: {"ids": list(c["family_child"][:3])},
    "EnterpriseProfile": lambda c: {"creditCode": c["enterprise_with_arrears"][0]},
    "HouseholdPrefill": lambda c: {"number": c["jimei_household"][0]},
    "SubjectAccess": lambda c: {"subject": c["family_child"][0]},
    "TalentCheck": lambda c: {"id": c["changed_employer"][0], "months": 24, "within": 36},
}


def assets_route() -> Mount:
    return Mount(PREFIX, app=StaticFiles(directory=ASSETS), name="graphiql-assets")


def graphiql_page(documents: Iterable[Document], policy: Policy) -> str:
    """The GraphiQL page: a tab per registered operation, headers to start from."""
    demo = policy.client_by_key_hash(hashlib.sha256(DEMO_API_KEY.encode()).hexdigest())
    if demo is not None:
        headers: dict[str, str] = {"X-API-Key": DEMO_API_KEY, "X-Purpose": sorted(demo.purposes)[0]}
        cases = _demo_cases()
    else:
        headers = {"Authorization": "Bearer ", "X-Purpose": ""}
        cases = None
    header_text = json.dumps(headers, indent=2)
    tabs = [
        {"query": d.text, "variables": _json(_variables(d, cases)), "headers": header_text} for d in documents
    ]
    config = {
        "tabs": tabs,
        "headers": header_text,
        "defaultQuery": _HELP,
        # With demo keys the headers are ready; otherwise they are the first thing to fill in.
        "editorTools": "variables" if demo is not None else "headers",
    }
    return _TEMPLATE.format(
        styles="\n".join(_tag(name) for name in _STYLES),
        scripts="\n".join(_tag(name) for name in _SCRIPTS),
        config=_json(config, indent=None).replace("<", "\\u003c"),  # cannot close the script element
    )


def _demo_cases() -> Cases:
    """The demo city's sample ids: the file `govgraph samples` prints when there is one
    (same place: GOVGRAPH_DATA_DIR or .govgraph), else the default city's."""
    path = Path(os.environ.get("GOVGRAPH_DATA_DIR", ".govgraph")) / "samples.json"
    try:
        found = json.loads(path.read_text(encoding="utf-8"))["cases"]
    except (OSError, ValueError, KeyError, TypeError):
        return _DEFAULT_CASES
    if not isinstance(found, dict):
        return _DEFAULT_CASES
    # A case the file leaves empty falls back as a whole, so no list mixes two cities.
    return {**_DEFAULT_CASES, **{k: v for k, v in found.items() if isinstance(v, list) and v}}


def _variables(document: Document, cases: Cases | None) -> dict[str, object]:
    example = _EXAMPLES.get(document.name)
    if cases is not None and example is not None:
        return example(cases)
    # Elsewhere: every variable, with its default or null, for the user to fill in.
    operation = next(d for d in document.node.definitions if isinstance(d, OperationDefinitionNode))
    return {
        v.variable.name.value: None if v.default_value is None else value_from_ast_untyped(v.default_value)
        for v in operation.variable_definitions or ()
    }


def _json(value: object, indent: int | None = 2) -> str:
    return json.dumps(value, ensure_ascii=False, indent=indent)


def _tag(name: str) -> str:
    src, integrity = f"{PREFIX}/{name}", _integrity(name)
    if name.endswith(".css"):
        return f'<link rel="stylesheet" href="{src}" integrity="{integrity}">'
    return f'<script src="{src}" integrity="{integrity}"></script>'


@cache
def _integrity(name: str) -> str:
    """Subresource-integrity hash of a packaged asset: a damaged or altered file is not run."""
    return "sha384-" + b64encode(hashlib.sha384((ASSETS / name).read_bytes()).digest()).decode()
