"""GraphiQL served from the package, so it works on a network with no internet.

The page is ours: it loads GraphiQL 3.8.3, React and the explorer plugin from
`static/graphiql` (with integrity hashes), and `govgraph-graphiql.js` opens one tab per
registered operation with variables and request headers. These are templates to fill in,
unless `[gateway] graphiql_presets` names a JSON file of headers and example variables
(the demo writes one for its city):

    {"headers": {"X-API-Key": "...", "X-Purpose": "..."},
     "variables": {"OperationName": {"id": "..."}}}

A Content-Security-Policy keeps the browser from loading or sending anything to another
origin.
"""

from __future__ import annotations

import hashlib
import json
from base64 import b64encode
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from graphql import OperationDefinitionNode, value_from_ast_untyped
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from gateway.config.settings import ConfigError
from gateway.execution.documents import Document
from gateway.policy.model import Policy

__all__ = [
    "ASSETS",
    "CSP",
    "PREFIX",
    "Presets",
    "assets_route",
    "graphiql_page",
    "load_presets",
    "page_wanted",
]

ASSETS = Path(__file__).parent / "static" / "graphiql"
PREFIX = "/graphiql-assets"

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
# `govgraph token CLIENT` prints a demo client's headers. The docs show the graph
# those headers' client and purpose may see (masked fields say so); after changing
# them, re-fetch the schema (the circular arrow on the left). Ctrl-Enter runs a query.
"""

_HEADERS = {"Authorization": "Bearer ", "X-Purpose": ""}  # to fill in, without presets

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


@dataclass(frozen=True)
class Presets:
    """What GraphiQL opens with (`[gateway] graphiql_presets`, a JSON file): request
    headers, and example variables by operation name."""

    headers: Mapping[str, str]
    variables: Mapping[str, Mapping[str, object]]


def load_presets(path: str) -> Presets:
    """Read once at start-up, so a missing or malformed file stops it, naming the file."""
    where = f"gateway.graphiql_presets ({path})"
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read ({exc.strerror})") from exc
    except ValueError as exc:
        raise ConfigError(f"{where}: not JSON ({exc})") from exc
    if not isinstance(raw, dict) or not set(raw) <= {"headers", "variables"}:
        raise ConfigError(f'{where}: must be an object with "headers" and/or "variables"')
    headers, variables = raw.get("headers", {}), raw.get("variables", {})
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        raise ConfigError(f'{where}: "headers" must map header names to strings')
    if not isinstance(variables, dict) or not all(isinstance(v, dict) for v in variables.values()):
        raise ConfigError(f'{where}: "variables" must map operation names to objects')
    return Presets(headers=headers, variables=variables)


def page_wanted(method: str, accept: str) -> bool:
    """A browser opening /graphql (a navigation asks for HTML), `?query=` link or not: the
    page, never an execution. API clients ask for JSON (or anything, */*) and execute."""
    return method == "GET" and "text/html" in accept


def assets_route() -> Mount:
    return Mount(PREFIX, app=StaticFiles(directory=ASSETS), name="graphiql-assets")


def graphiql_page(documents: Iterable[Document], policy: Policy, presets: Presets | None = None) -> str:
    """The GraphiQL page: a tab per registered operation, headers to start from."""
    applied = presets if presets is not None and _accepted(presets, policy) else None
    ready = applied is not None and bool(applied.headers)  # a tab runs as it opens
    headers = applied.headers if applied is not None and ready else _HEADERS
    examples = applied.variables if applied is not None else {}
    header_text = json.dumps(headers, indent=2)
    tabs = [
        {"query": d.text, "variables": _json(_variables(d, examples)), "headers": header_text}
        for d in documents
    ]
    config = {
        "tabs": tabs,
        "headers": header_text,
        "defaultQuery": _HELP,
        # With preset headers a tab is ready to run; otherwise they are the first thing to fill in.
        "editorTools": "variables" if ready else "headers",
    }
    return _TEMPLATE.format(
        styles="\n".join(_tag(name) for name in _STYLES),
        scripts="\n".join(_tag(name) for name in _SCRIPTS),
        config=_json(config, indent=None).replace("<", "\\u003c"),  # cannot close the script element
    )


def _accepted(presets: Presets, policy: Policy) -> bool:
    """Presets that carry an API key apply while the policy accepts it: the page never offers
    a key the gateway would refuse, and a policy reloaded without it gets plain templates."""
    keys = [v for k, v in presets.headers.items() if k.lower() == "x-api-key"]
    return all(policy.client_by_key_hash(hashlib.sha256(k.encode()).hexdigest()) is not None for k in keys)


def _variables(document: Document, examples: Mapping[str, Mapping[str, object]]) -> Mapping[str, object]:
    example = examples.get(document.name)
    if example is not None:
        return example
    # Otherwise every variable, with its default or null, for the user to fill in.
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
