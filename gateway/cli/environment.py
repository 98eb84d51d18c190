"""`govgraph serve --help`: the environment variables serving needs, listed after the
options: those the configuration it would read refers to (`${VAR}`), and those govgraph
itself reads. The help is written when asked for, so it lists the file `--config` (given
before `--help`), `$GOVGRAPH_CONFIG` or ./govgraph.toml names."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gateway.cli.locate import CONFIG_ENV, find_config
from gateway.config.load import load_references
from gateway.config.variables import Reference
from sources.errors import ConfigError

__all__ = ["add_help", "environment_help"]

# Read by govgraph's own code, whatever the configuration says.
FIXED = (
    (CONFIG_ENV, "the configuration when --config is not given; each worker loads it"),
    ("PROMETHEUS_MULTIPROC_DIR", "where the processes' metrics meet (set by --workers when unset)"),
    ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", 'with [tracing] exporter = "otlp": where spans go'),
    ("OTEL_EXPORTER_OTLP_ENDPOINT", "the same, when the first is unset"),
)
_WIDTH = 36


def environment_help(config: Path | None, problem: str = "no configuration found") -> str:
    """The lines after the options of `serve --help`."""
    lines = ["environment:"]
    if config is None:
        lines.append(f"  {problem}")
        lines.append("  so the configuration's own ${VAR}s are not listed (docs/configuration.md#environment")
        lines.append("  lists those of the shipped govgraph.toml)")
    else:
        try:
            found = load_references(config)
        except ConfigError as exc:
            found, lines = [], [*lines, f"  {config} cannot be read: {exc}"]
        if found:
            lines.append(f"  read by {config}:")
            listed = sorted(
                _by_variable(found).items(), key=lambda item: _optional(item[1])
            )  # required first
            lines += [_line(var, refs) for var, refs in listed]
    lines.append("  read by govgraph itself:")
    lines += [_row(var, meaning) for var, meaning in FIXED]
    return "\n".join(lines)


def _by_variable(found: Sequence[Reference]) -> dict[str, list[Reference]]:
    by: dict[str, list[Reference]] = {}
    for ref in found:
        by.setdefault(ref.var, []).append(ref)
    return by


# Keys whose default, where the file gives one, can only be a key for trying it out.
_SECRETS = frozenset({"auth.hs256_secret", "audit.subject_key", "console.session_secret"})


def _optional(refs: list[Reference]) -> bool:
    return all(r.has_default for r in refs) and not any(r.where in _SECRETS for r in refs)


def _line(var: str, refs: list[Reference]) -> str:
    if any(r.where in _SECRETS for r in refs) and all(r.has_default for r in refs):
        need = "required unless --allow-demo-keys (a published demo key is refused)"
    else:
        need = "optional" if _optional(refs) else "required"
    return _row(var, f"{need}: {', '.join(dict.fromkeys(r.where for r in refs))}")


def _row(name: str, meaning: str) -> str:
    return (
        f"    {name:<{_WIDTH}} {meaning}"
        if len(name) < _WIDTH
        else f"    {name}\n    {'':<{_WIDTH}} {meaning}"
    )


class _Help(argparse.Action):
    """-h/--help that finds the configuration as the command would, then prints."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, *_: Any) -> None:
        try:
            located = find_config(getattr(namespace, "config", None))
            parser.epilog = environment_help(None if located is None else located.path)
        except ConfigError as exc:
            parser.epilog = environment_help(None, str(exc))
        parser.print_help()
        parser.exit()


def add_help(parser: argparse.ArgumentParser) -> None:
    """Give `parser` (made with add_help=False) the help that lists the environment."""
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument(
        "-h", "--help", action=_Help, nargs=0, help="show this help, and the environment it reads"
    )
