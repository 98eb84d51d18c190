"""`govgraph catalog`: the resource catalogue the graph is built from, as Markdown, CSV or
JSON, checked as start-up checks it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gateway.catalog.export import FORMATS
from gateway.catalog.graph import graph_of
from gateway.catalog.listing import listing, matching
from gateway.catalog.markdown import as_markdown, with_section
from gateway.cli.common import Subparsers, add_config
from gateway.config.settings import load_catalog_path

__all__ = ["register", "run"]


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "catalog",
        help="print the resource catalogue (departments, resources, data items) as Markdown, CSV or JSON",
        description="Print the resource catalogue the graph is built from: the directory [catalog] path"
        " of the configuration names, or, without a configuration, the project's own catalog/. Its"
        " mistakes are reported as start-up reports them.",
    )
    add_config(
        parser, "gateway configuration whose [catalog] path is read (only that section)", optional=True
    )
    parser.add_argument("--format", choices=sorted(FORMATS), default="markdown", help="(default %(default)s)")
    parser.add_argument("--search", help="only what names this text in a title, name or GraphQL field")
    parser.add_argument(
        "--update-page",
        metavar="FILE",
        help="rewrite the generated section of a Markdown page (between <!-- catalog:begin --> and"
        " <!-- catalog:end -->) with the whole catalogue instead of printing it (make catalog-docs)",
    )
    parser.set_defaults(func=run)


def _directory(config: str | None) -> str | None:
    """The configuration's [catalog] path; None (the project's own) without one."""
    return None if config is None else load_catalog_path(config)


def _update(page: Path, markdown: str) -> int:
    try:
        text = page.read_text(encoding="utf-8")
        updated = with_section(text, markdown)
    except (OSError, ValueError) as exc:
        print(f"govgraph: {page}: {exc}", file=sys.stderr)
        return 2
    if updated == text:
        print(f"{page}: the catalogue section is current")
    else:
        page.write_text(updated, encoding="utf-8")
        print(f"{page}: the catalogue section is rewritten")
    return 0


def run(args: argparse.Namespace) -> int:
    catalog = graph_of(_directory(args.config)).catalog  # CatalogError names file, resource and item
    listed = listing(catalog)
    if args.update_page:
        if args.format != "markdown" or args.search:
            print("govgraph: --update-page writes the whole catalogue in Markdown", file=sys.stderr)
            return 2
        return _update(Path(args.update_page), as_markdown(listed))
    sys.stdout.write(FORMATS[args.format](matching(listed, args.search)))
    return 0
