"""Which part of each chain archived months hold: from the database's record of them, or from
an archive directory checked against that record; and that a chain's months follow each other."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from gateway.audit.archive import ArchiveError, ChainSpan, Manifest, read_manifests
from gateway.audit.record import GENESIS

__all__ = ["Spans", "archive_spans", "continuity", "recorded_spans"]

Spans = dict[str, list[tuple[str, ChainSpan]]]  # writer id -> (month, its part of the chain), oldest first


def recorded_spans(recorded: list[dict[str, Any]]) -> Spans:
    spans: dict[str, list[tuple[str, ChainSpan]]] = {}
    for row in recorded:
        manifest = Manifest.loads(orjson.dumps(row["manifest"]))
        for writer_id, span in manifest.chains.items():
            spans.setdefault(writer_id, []).append((manifest.month, span))
    return spans


def archive_spans(
    directory: Path, recorded: list[dict[str, Any]], problems: list[str], notes: list[str]
) -> Spans:
    """The chains' archived spans from the files, each month's manifest checked against the one
    the database recorded when it dropped the month."""
    try:
        found = {m.month: (m, digest) for m, digest in read_manifests(directory)}
    except ArchiveError as exc:
        problems.append(f"archive {directory}: {exc}")
        return {}
    spans: dict[str, list[tuple[str, ChainSpan]]] = {}
    for row in recorded:
        month = f"{row['month']:%Y-%m}"
        if month not in found:
            problems.append(f"archive {directory}: {month} was archived but is not there")
        elif found[month][1] != row["manifest_digest"]:
            problems.append(
                f"archive {directory}: the manifest of {month} is not the one recorded when it was "
                "archived; it was altered"
            )
    for month, (manifest, _) in sorted(found.items()):
        if month not in {f"{r['month']:%Y-%m}" for r in recorded}:
            notes.append(f"archive {directory}: {month} is not recorded as archived from this store")
            continue
        for writer_id, span in manifest.chains.items():
            spans.setdefault(writer_id, []).append((month, span))
    return spans


def continuity(writer_id: str, spans: list[tuple[str, ChainSpan]]) -> str | None:
    """Archived months of one chain follow each other from its first event."""
    last_seq, last_hash = 0, GENESIS
    for month, span in spans:
        if span.first_seq != last_seq + 1 or span.first_prev_hash != last_hash:
            return (
                f"writer {writer_id} seq {last_seq + 1}: missing from the archive (its {month} part "
                f"begins at seq {span.first_seq}); a month was dropped without an archive"
            )
        last_seq, last_hash = span.last_seq, span.last_hash
    return None
