"""What `audit verify` remembers between runs, beside the verifier: the store's id when it was
last verified, and per intact chain the last checkpoint verified (where `--since-checkpoint`
starts)."""

from __future__ import annotations

from pathlib import Path

import orjson

from gateway.audit.verify import ChainResult
from sources.sharedredis import redact  # a DSN without its password: which store a state is of

__all__ = ["load_state", "save_state"]


def load_state(path: Path, dsn: str) -> tuple[str, dict[str, tuple[int, str]]]:
    """(the store's id when it was last verified, per chain the last checkpoint verified)."""
    try:
        value = orjson.loads(path.read_bytes())
        if not isinstance(value, dict) or value.get("store") != redact(dsn):
            return "", {}
        chains = {str(w): (int(s), str(h)) for w, (s, h) in value.get("chains", {}).items()}
        return str(value.get("store_id", "")), chains
    except (OSError, orjson.JSONDecodeError, TypeError, ValueError, AttributeError):
        return "", {}


def save_state(path: Path, dsn: str, identity: str, results: list[ChainResult]) -> None:
    """Remember, per intact chain, the last checkpoint verified; a broken chain keeps its old entry."""
    _, chains = load_state(path, dsn)
    for result in results:
        if result.problem is None and result.anchored is not None:
            chains[result.writer_id] = result.anchored
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(
        orjson.dumps(
            {"store": redact(dsn), "store_id": identity, "chains": chains}, option=orjson.OPT_SORT_KEYS
        )
    )
    partial.replace(path)
