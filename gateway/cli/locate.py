"""Where a command's configuration (and, for the demo's commands, the running demo) comes
from, so that every command works from any directory and says what it used.

The configuration is the first of: `--config FILE`, `$GOVGRAPH_CONFIG`, `govgraph.toml`
in the current directory; and, for the commands that work with the demo (`samples`,
`audit`, `policy`, `token`, `login`), the running demo's own. A file named by `--config`
or `$GOVGRAPH_CONFIG` must exist: a mistyped path is an error, never a silent fallback.
Those commands also take the running demo's data directory and, for variables the shell
does not set, the addresses it gave its gateway (departments, audit log, policy store).
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from gateway.cli import demo_state
from gateway.cli.demo_state import RunningDemo
from sources.errors import ConfigError

__all__ = [
    "CONFIG_ENV",
    "DATA_DIR_ENV",
    "DEFAULT_CONFIG",
    "DEFAULT_DATA_DIR",
    "Located",
    "find_config",
    "find_data_dir",
    "prepare",
    "using",
]

CONFIG_ENV = "GOVGRAPH_CONFIG"
DATA_DIR_ENV = "GOVGRAPH_DATA_DIR"
DEFAULT_CONFIG = "govgraph.toml"
DEFAULT_DATA_DIR = ".govgraph"


@dataclass(frozen=True)
class Located:
    path: Path  # absolute
    origin: str  # how it was found, as the `using` line says it


def find_config(
    given: str | None, demo: RunningDemo | None = None, *, required: bool = True, demo_aware: bool = False
) -> Located | None:
    """The configuration file a command reads; ConfigError naming every place looked at
    when `required` and none is found (`demo_aware`: the running demo's too)."""
    for origin, named in (("--config", given), (CONFIG_ENV, os.environ.get(CONFIG_ENV))):
        if named:
            path = Path(named).expanduser()
            if not path.is_file():
                problem = "is not a file" if path.exists() else "no such configuration file"
                raise ConfigError(f"{named}: {problem} (from {origin})")
            return Located(path.resolve(), origin)
    here = Path.cwd() / DEFAULT_CONFIG
    if here.is_file():
        return Located(here, "the current directory")
    if demo is not None and Path(demo.config).is_file():
        return Located(Path(demo.config), f"the demo running as pid {demo.pid}")
    if not required:
        return None
    demo_too = ", and no demo is running" if demo_aware else ""
    raise ConfigError(
        f"no configuration: give --config FILE, set {CONFIG_ENV}, or run where {DEFAULT_CONFIG} is "
        f"(there is none in {Path.cwd()}{demo_too})"
    )


def find_data_dir(given: str | None, demo: RunningDemo | None) -> str:
    """The demo's data directory: `--data-dir`, `$GOVGRAPH_DATA_DIR`, the running demo's,
    else `.govgraph` in the current directory."""
    if given:
        return given
    if named := os.environ.get(DATA_DIR_ENV):
        return named
    return demo.data_dir if demo is not None else DEFAULT_DATA_DIR


def prepare(args: argparse.Namespace) -> None:
    """Settle what the parsed command's options leave open, before it runs: `args.config`
    (for commands that read the configuration), `args.demo` and `args.data_dir` (for the
    demo's commands), saying on stderr what was used."""
    demo_aware = getattr(args, "uses_demo", False)
    demo = demo_state.running() if demo_aware else None
    args.demo = demo
    if demo is not None:
        _say(f"using the demo running as pid {demo.pid} (data in {demo.data_dir})")
    search = getattr(args, "config_search", None)
    if search is not None:
        located = find_config(args.config, demo, required=search == "required", demo_aware=demo_aware)
        args.config = None if located is None else str(located.path)
        args.config_said = None if located is None else using(located)
        # A server says it in its own log, whose lines a log shipper reads (JSON by default).
        if located is not None and not getattr(args, "logs_config", False):
            _say(args.config_said)
        if demo is not None and located is not None:
            _demo_addresses(demo, located.path)
    if getattr(args, "data_dir_search", False):
        args.data_dir = find_data_dir(args.data_dir, demo)


def _demo_addresses(demo: RunningDemo, config: Path) -> None:
    """The demo's addresses (its departments, audit log, policy store) for the variables the
    shell does not set, when the configuration is the demo's own: another file's `${VAR}`s
    are that deployment's, never the demo's."""
    if config.resolve() != Path(demo.config).resolve():
        _say(f"not using the demo's addresses: {config} is not its configuration")
        return
    filled = sorted(k for k in demo.environ if k not in os.environ)
    os.environ.update({k: demo.environ[k] for k in filled})  # the shell's own values win


def using(located: Located) -> str:
    return f"using configuration {located.path} (from {located.origin})"


def _say(line: str) -> None:
    print(f"govgraph: {line}", file=sys.stderr)
