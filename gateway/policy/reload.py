"""Policy reload: a changed policy file, or SIGHUP, puts a new policy in force without a restart.

The file is read and validated against the schema's scopes by the same functions as at
start-up (`read_policy`, `parse_policy`). Only a policy that passes replaces the old one,
in a single assignment to `holder.policy`, made on the event loop's thread. A file with a
mistake changes nothing: its error (file, line, key) is logged and the old policy stays.

Requests resolve their grants once, at admission (the Principal), so a request in flight
finishes under the policy it started with; the next request sees the new one.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import signal
import threading
from collections.abc import Callable, Collection, Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any, Protocol

from gateway.config.sections import AuthConfig
from gateway.policy.model import Policy, PolicyError, parse_policy, read_policy
from gateway.policy.pins import Pinnable
from gateway.policy.sharing import SharingRules

__all__ = ["POLL_INTERVAL", "PolicyHolder", "PolicyReloader", "describe_changes"]

# Seconds between reads of the policy file; 0 turns polling off (SIGHUP still reloads).
POLL_INTERVAL = AuthConfig.policy_poll

log = logging.getLogger("govgraph.policy")


class PolicyHolder(Protocol):
    policy: Policy


class PolicyReloader:
    """Watches the file `holder.policy` was loaded from; a policy built in memory is not watched.

    Why polling rather than inotify (watchfiles): the file is a few kilobytes, so reading
    and hashing it every second costs nothing and needs no extra thread or dependency; it
    works where inotify events never arrive (network file systems, volumes mounted into
    containers, Kubernetes ConfigMaps swapped by symlink), whether an editor rewrites the
    file in place or replaces it by rename, and a content hash sees an edit that keeps
    size and mtime. A change is applied once two consecutive reads agree, so a file
    caught half-written is neither put in force nor reported as broken.
    """

    def __init__(
        self,
        holder: PolicyHolder,
        scopes: Mapping[str, Collection[str]],
        interval: float | None = None,
        *,
        pinnable: Mapping[str, Pinnable] | None = None,
        operations: Collection[str] | None = None,
        sharing: SharingRules | None = None,
    ) -> None:
        self._holder = holder
        self._scopes = scopes  # each with the link scopes a grant of it opens
        self._pinnable, self._operations, self._sharing = pinnable, operations, sharing
        self.interval = POLL_INTERVAL if interval is None else interval
        path = holder.policy.path
        self.path: Path | None = None if path == "<memory>" else Path(path)
        self._seen: object = None  # the content (or read error) last acted on
        self._candidate: object = None  # a change seen once, applied when the next read agrees
        self._forced = False
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.on_sighup = False  # whether this process's SIGHUP reaches this reloader

    def start(self) -> None:
        if self.path is None or self._task is not None:
            return
        self._task = asyncio.get_running_loop().create_task(self._watch(), name="policy-reloader")
        self.on_sighup = _HANGUP.add(self)

    async def aclose(self) -> None:
        _HANGUP.discard(self)
        self.on_sighup = False
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def reload_soon(self) -> None:
        """Re-read the file now, whether or not it changed (what SIGHUP does)."""
        self._forced = True
        self._wake.set()

    async def _watch(self) -> None:
        while True:
            forced, self._forced = self._forced, False
            self._wake.clear()
            try:
                await self._look(forced)
            except Exception:  # the watcher must outlive any surprise; the old policy stays
                log.exception("policy reload failed; the current policy stays in force")
            timeout = self.interval if self.interval > 0 else None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    async def _look(self, forced: bool) -> None:
        if self.path is None:  # a policy built in memory: nothing to read
            return
        text: str | None = None
        error: PolicyError | None = None
        try:
            text = await asyncio.to_thread(read_policy, self.path)  # a slow disk must not stall requests
            seen = hashlib.sha256(text.encode()).hexdigest()
        except PolicyError as exc:
            error, seen = exc, str(exc)
        if not forced:
            if seen != self._candidate:
                self._candidate = seen  # new content: act once the next read agrees
                return
            if seen == self._seen:
                return  # already acted on
        self._seen = self._candidate = seen
        if text is not None:
            try:
                new = parse_policy(
                    text,
                    self._scopes,
                    str(self.path),
                    pinnable=self._pinnable,
                    operations=self._operations,
                    sharing=self._sharing,
                )
            except PolicyError as exc:
                error = exc
        if error is not None:
            log.error("policy not reloaded; the current policy stays in force: %s", error)
            return
        old = self._holder.policy
        if new == old:
            if forced:
                log.info("policy reloaded from %s: no changes", self.path)
            return
        # The swap: one assignment of a fully built, validated policy. Readers take
        # `holder.policy` once per request, so each sees the old object or the new one.
        self._holder.policy = new
        log.info("policy reloaded from %s: %s", self.path, describe_changes(old, new))


class _Hangup:
    """SIGHUP is process-wide and asyncio keeps one handler per signal, so one handler
    wakes every reloader in the process (tests run several gateways in one)."""

    def __init__(self) -> None:
        self._reloaders: list[PolicyReloader] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._previous: Any = None

    def add(self, reloader: PolicyReloader) -> bool:
        # Only the main thread may set signal handlers; a gateway served from another
        # thread (or on Windows) reloads on file changes only.
        if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGHUP"):
            return False
        if not self._reloaders:
            loop = asyncio.get_running_loop()
            previous = signal.getsignal(signal.SIGHUP)
            try:
                loop.add_signal_handler(signal.SIGHUP, self._fire)
            except (NotImplementedError, RuntimeError, ValueError):
                return False
            self._loop, self._previous = loop, previous
        self._reloaders.append(reloader)
        return True

    def discard(self, reloader: PolicyReloader) -> None:
        if reloader not in self._reloaders:
            return
        self._reloaders.remove(reloader)
        if not self._reloaders and self._loop is not None:
            self._loop.remove_signal_handler(signal.SIGHUP)
            if self._previous is not None:  # None: set outside Python; SIG_DFL stays
                signal.signal(signal.SIGHUP, self._previous)
            self._loop = self._previous = None

    def _fire(self) -> None:
        log.info("SIGHUP: reloading the policy")
        for reloader in self._reloaders:
            reloader.reload_soon()


_HANGUP = _Hangup()


def describe_changes(old: Policy, new: Policy) -> str:
    """What a reload changed, by client and purpose name: never a key hash or a secret."""
    parts = _diff("clients", old.clients, new.clients, lambda name: _client_changes(old, new, name))
    parts += _diff(
        "purposes", old.purposes, new.purposes, lambda name: _fields(old.purposes, new.purposes, name)
    )
    return "; ".join(parts) or "no changes to clients or purposes"


def _diff(
    label: str, before: Mapping[str, object], after: Mapping[str, object], changes: Callable[[str], list[str]]
) -> list[str]:
    changed = [f"{n} ({', '.join(w)})" for n in sorted(before.keys() & after.keys()) if (w := changes(n))]
    kinds = (
        ("added", sorted(after.keys() - before.keys())),
        ("removed", sorted(before.keys() - after.keys())),
        ("changed", changed),
    )
    return [f"{label} {kind}: {', '.join(names)}" for kind, names in kinds if names]


def _fields(before: Mapping[str, Any], after: Mapping[str, Any], name: str) -> list[str]:
    a, b = before[name], after[name]
    return [f.name for f in fields(a) if getattr(a, f.name) != getattr(b, f.name)]


def _client_changes(old: Policy, new: Policy, name: str) -> list[str]:
    what = _fields(old.clients, new.clients, name)
    if _grants_of(old, name) != _grants_of(new, name):
        what.append("grants")
    return what


def _grants_of(policy: Policy, client: str) -> Mapping[str, Mapping[str, str]]:
    return {purpose: levels for (cid, purpose), levels in policy.grants.items() if cid == client}
