"""The app factory uvicorn workers import: `uvicorn gateway.asgi:app --factory`.

Each worker process builds its own app (sources, pools, audit writer) from the config
named by GOVGRAPH_CONFIG; they share only Redis (cache, rate limits) and PostgreSQL.
This serves the public app only: /metrics and /readyz (the operators' listener) and the
edge's limits come with `govgraph serve` (gateway/edge.py, gateway/ops.py).
"""

from __future__ import annotations

import os

from starlette.applications import Starlette

from .app import create_app
from .settings import load_settings

__all__ = ["app"]


def app() -> Starlette:
    return create_app(load_settings(os.environ.get("GOVGRAPH_CONFIG", "govgraph.toml")), serving=True)
