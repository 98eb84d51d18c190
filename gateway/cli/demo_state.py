"""A running `govgraph demo`, as other commands find it: where its data, configuration,
gateway and audit log are, so that `govgraph samples`, `audit`, `policy`, `token` and
`login` work from any directory without pasted variables.

The demo writes `demo.json` into its data directory when its city is up, and a pointer to
that file in a per-user place: `$XDG_RUNTIME_DIR/govgraph/demo.json` (a tmpfs the login
session owns, emptied at logout), else `$XDG_CACHE_HOME/govgraph/demo.json` (by default
`~/.cache/govgraph/demo.json`). Both are removed when the demo stops; a demo killed
without stopping leaves them behind, so a reader trusts them only while the process
they name is alive (and, where /proc tells, is the same process, not a later one given
its number), and only when they are this user's own and no one else may write them. Of
the variables the demo gave its gateway, a reader takes only departments', stores' and
presets' addresses (`GOVGRAPH_*_DSN`, `GOVGRAPH_*_URL`, `GOVGRAPH_GRAPHIQL_PRESETS`), never
what chooses a configuration or code. The most recently started demo is the one found.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
from dataclasses import asdict, dataclass, field
from pathlib import Path

__all__ = ["STATE_FILE", "RunningDemo", "announce", "pointer_path", "running", "withdraw"]

STATE_FILE = "demo.json"  # in the demo's data directory
# The demo's variables a command may take: addresses, and where its audit checkpoints and
# their key lie (`audit verify` checks against them); nothing that picks a file to run.
_ADDRESS = re.compile(
    r"GOVGRAPH_[A-Z0-9_]+_(?:DSN|URL)|GOVGRAPH_GRAPHIQL_PRESETS|GOVGRAPH_AUDIT_CHECKPOINTS?(?:_KEY)?"
)


@dataclass(frozen=True)
class RunningDemo:
    pid: int
    data_dir: str  # absolute
    config: str  # absolute path of the configuration it serves
    gateway: str  # the gateway's URL, e.g. http://127.0.0.1:8000
    environ: dict[str, str] = field(default_factory=dict)  # what it set for its gateway: addresses

    @property
    def state_path(self) -> Path:
        return Path(self.data_dir) / STATE_FILE


def pointer_path() -> Path:
    """Where the pointer to the running demo's state file is, for this user."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and Path(runtime).is_dir():
        return Path(runtime) / "govgraph" / STATE_FILE
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "govgraph" / STATE_FILE


def announce(demo: RunningDemo) -> None:
    """Write the state file and the pointer. Readable by this user only: it holds the
    departments' and the audit log's addresses."""
    _write(demo.state_path, {**asdict(demo), "started": _started(demo.pid)})
    pointer = pointer_path()
    pointer.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    _write(pointer, {"pid": demo.pid, "state": str(demo.state_path)})


def withdraw(demo: RunningDemo) -> None:
    """Remove what `announce` wrote, unless a later demo has written over it."""
    for path in (pointer_path(), demo.state_path):
        if _read(path).get("pid") == demo.pid:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


def running() -> RunningDemo | None:
    """The demo the pointer names, while its process is alive; None otherwise."""
    pointer = _read(pointer_path())
    pid, state = pointer.get("pid"), pointer.get("state")
    if not isinstance(pid, int) or not isinstance(state, str) or not _alive(pid):
        return None
    found = _read(Path(state))
    if found.get("started") != _started(pid):
        return None  # the process that wrote it is gone; another has its number now
    texts = [found.get(k) for k in ("data_dir", "config", "gateway")]
    environ = found.get("environ")
    if found.get("pid") != pid or not all(isinstance(t, str) for t in texts) or not isinstance(environ, dict):
        return None  # another demo's, or not written by this version: as if absent
    data_dir, config, gateway = (str(t) for t in texts)
    addresses = {str(k): str(v) for k, v in environ.items() if _ADDRESS.fullmatch(str(k))}
    return RunningDemo(pid, data_dir, config, gateway, addresses)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # no signal is sent: only whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, and is someone else's
        return True
    return True


def _started(pid: int) -> str | None:
    """When the process started (clock ticks since boot, /proc/PID/stat's 22nd field);
    None where there is no /proc."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    except OSError:
        return None
    return stat.rpartition(")")[2].split()[19]  # fields after the command name start at 3


def _read(path: Path) -> dict[str, object]:
    """The JSON object in `path`, if this user wrote it and no one else may change it (nor
    its directory); otherwise empty, as if absent."""
    try:
        if not all(_own(p) for p in (path, path.parent)):
            return {}
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def _own(path: Path) -> bool:
    status = path.stat()
    return status.st_uid == os.getuid() and not status.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _write(path: Path, content: dict[str, object]) -> None:
    """Whole or not at all: a reader never sees half a file."""
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        json.dump(content, file, indent=2)
    partial.replace(path)
