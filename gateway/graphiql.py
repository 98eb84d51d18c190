"""GraphiQL served from the package, so it works on a network with no internet.

Strawberry's page loads its scripts from a CDN; the same files (byte for byte, so the
page's integrity hashes still hold) ship in `static/graphiql` and the page is
rewritten once to load them from the gateway itself.
"""

from __future__ import annotations

import re
from pathlib import Path

from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from strawberry.http.ides import get_graphql_ide_html

__all__ = ["ASSETS", "PREFIX", "assets_route", "offline_graphiql_html"]

ASSETS = Path(__file__).parent / "static" / "graphiql"
PREFIX = "/graphiql-assets"

_LOCAL = {
    "react@18.2.0/umd/react.production.min.js": "react.production.min.js",
    "react-dom@18.2.0/umd/react-dom.production.min.js": "react-dom.production.min.js",
    "js-cookie@3.0.5/dist/js.cookie.min.js": "js.cookie.min.js",
    "graphiql@3.8.3/graphiql.min.css": "graphiql.min.css",
    "@graphiql/plugin-explorer@1.0.2/dist/style.css": "plugin-explorer.css",
    "graphiql@3.8.3/graphiql.min.js": "graphiql.min.js",
    "@graphiql/plugin-explorer@1.0.2/dist/index.umd.js": "plugin-explorer.umd.js",
}
_CDN = re.compile(r"https://unpkg\.com/([^\"]+)")


def offline_graphiql_html() -> str:
    """Strawberry's GraphiQL page with every CDN address replaced by a packaged file."""

    def local(match: re.Match[str]) -> str:
        name = _LOCAL.get(match.group(1))
        if name is None:  # a new strawberry release loads something we do not ship
            raise RuntimeError(f"GraphiQL asset not packaged: {match.group(1)}")
        return f"{PREFIX}/{name}"

    return _CDN.sub(local, get_graphql_ide_html("graphiql"))


def assets_route() -> Mount:
    return Mount(PREFIX, app=StaticFiles(directory=ASSETS), name="graphiql-assets")
