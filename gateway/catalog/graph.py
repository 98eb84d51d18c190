"""The graph of a catalogue directory, built once per directory and process: the
generated types are Strawberry types that every schema built from them shares."""

from __future__ import annotations

import functools
from pathlib import Path

from gateway.catalog.build import Graph, build_graph
from gateway.catalog.load import load_catalog
from resolvers.graph import DERIVATIONS, MASKS, NAMED, VALUES

__all__ = ["DEFAULT_CATALOG", "graph_of"]

# The project's own catalogue, beside the packages: what a graph is built from when no
# configuration names one (tests, the schema export).
DEFAULT_CATALOG = Path(__file__).resolve().parents[2] / "catalog"


@functools.cache
def _graph(directory: Path) -> Graph:
    catalog = load_catalog(directory, named=NAMED, masks=MASKS)
    return build_graph(catalog, NAMED, VALUES, DERIVATIONS)


def graph_of(directory: str | Path | None = None) -> Graph:
    """CatalogError (a ConfigError) naming every mistake when the catalogue is wrong."""
    return _graph(Path(directory or DEFAULT_CATALOG).resolve())
