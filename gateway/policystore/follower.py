"""Keeps a process's policy in step with the policy store.

A LISTEN on the store's channel wakes the follower the moment a change commits; a check
of the version every `check_interval` seconds catches what a lost connection missed. A
new version is read in one snapshot, checked like a policy file, and swapped in with one
assignment to `holder.policy`; a snapshot that fails the checks changes nothing. The
policy is rebuilt by the clock when a grant starts or expires, with no store involved, so
an expiry takes effect at its instant even while the store is unreachable. While the store
cannot be reached the last good policy stays in force; `stale` says when that has lasted
longer than `stale_after` seconds (/readyz reports it).

A (client, purpose) whose grants fail the checks is left without them (denied) while the
rest of the store's policy applies; a snapshot that fails as a whole (a client's mistake)
is not applied. `problems` says which, for /readyz and the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable, Sequence

from gateway.policy.model import Policy, PolicyChecks, PolicyError
from gateway.policy.reload import PolicyHolder, describe_changes
from gateway.policystore.errors import PolicyStoreError
from gateway.policystore.snapshot import GrantRow, Snapshot, isolated_policy
from gateway.policystore.store import PolicyStore

__all__ = ["StoreFollower"]

log = logging.getLogger("govgraph.policy")

Expired = Callable[[Sequence[GrantRow]], Awaitable[None]]


class StoreFollower:
    def __init__(
        self,
        holder: PolicyHolder,
        store: PolicyStore,
        checks: PolicyChecks,
        *,
        check_interval: float,
        stale_after: float,
        on_expired: Expired | None = None,
    ) -> None:
        self._holder, self._store, self._checks = holder, store, checks
        self.check_interval, self.stale_after = check_interval, stale_after
        self._on_expired = on_expired
        self.snapshot: Snapshot | None = None
        self.reached: float | None = None  # monotonic time the store last answered
        self._outage_logged = False
        self.problems: list[str] = []  # what of the store's content is not in force, and why
        self._refused: int | None = None  # a version refused as a whole
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._unlisten: Callable[[], Awaitable[None]] | None = None

    @property
    def version(self) -> int | None:
        """The version last read: the one in force, or one refused as a whole."""
        if self._refused is not None:
            return self._refused
        return None if self.snapshot is None else self.snapshot.version

    @property
    def age(self) -> float | None:
        """Seconds since the store last answered (None before it ever has)."""
        return None if self.reached is None else time.monotonic() - self.reached

    @property
    def stale(self) -> bool:
        age = self.age
        return age is None or age > self.stale_after

    async def start(self) -> None:
        """Read the policy once (a store that cannot be read, or whose policy is refused as a
        whole, stops start-up), then follow it."""
        await self._listen()
        snapshot = await self._store.snapshot()
        self.reached = time.monotonic()
        self._install(snapshot, *self._built(snapshot), f"policy store version {snapshot.version}")
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._follow(), name="policy-follower"),
            loop.create_task(self._clock(), name="policy-clock"),
        ]

    async def aclose(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        await self._stop_listening()

    async def _listen(self) -> None:
        await self._stop_listening()
        self._unlisten = await self._store.listen(self._wake.set, self._lost)

    def _lost(self) -> None:
        self._unlisten = None  # the connection is gone: listen again at the next check
        self._wake.set()

    async def _stop_listening(self) -> None:
        if self._unlisten is not None:
            stop, self._unlisten = self._unlisten, None
            await stop()

    async def _follow(self) -> None:
        while True:
            # Not listening (the store was lost): try again within a second, not a check interval.
            timeout = self.check_interval if self._unlisten is not None else min(self.check_interval, 1.0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
            self._wake.clear()
            try:
                await self._check()
            except Exception:  # the follower must outlive any surprise; the policy stays
                log.exception("policy check failed; the current policy stays in force")

    async def _clock(self) -> None:
        """Grants start and expire at their instant, whatever the store and the checks are doing."""
        while True:
            upcoming = None if self.snapshot is None else self.snapshot.next_change(dt.datetime.now(dt.UTC))
            if upcoming is None:
                await asyncio.sleep(1.0)  # a new snapshot may bring a start or an expiry
                continue
            wait = (upcoming - dt.datetime.now(dt.UTC)).total_seconds()
            if wait > 1.0:
                await asyncio.sleep(1.0)  # look again: a new snapshot may bring an earlier one
                continue
            await asyncio.sleep(max(wait, 0.0) + 0.001)
            try:
                self._rebuild()
            except Exception:
                log.exception("policy rebuild failed; the current policy stays in force")
            self._wake.set()  # a check now: it records the expiry in the audit log

    async def _check(self) -> None:
        try:
            if self._unlisten is None:
                await self._listen()
            version = await self._store.version()
            self.reached = time.monotonic()
            if self._outage_logged:
                log.info("policy store reachable again")
                self._outage_logged = False
            if version != self.version:
                self._apply(await self._store.snapshot())
        except PolicyStoreError as exc:
            if not self._outage_logged:
                log.error("policy store unreachable; the last good policy stays in force: %s", exc)
                self._outage_logged = True
            return
        if self._on_expired is not None:
            try:
                await self._store.claim_expired(dt.datetime.now(dt.UTC), self._on_expired)
            except Exception as exc:  # the next check tries again; the grant is out of force already
                log.warning("expired grants not recorded yet: %s", exc)

    def _built(self, snapshot: Snapshot) -> tuple[Policy, list[str]]:
        """The snapshot's policy now (PolicyError when refused as a whole)."""
        return isolated_policy(snapshot, dt.datetime.now(dt.UTC), self._checks)

    def _apply(self, snapshot: Snapshot) -> None:
        try:
            policy, problems = self._built(snapshot)
        except PolicyError as exc:
            self.problems = [f"version {snapshot.version} refused: {exc}"]
            log.error(
                "policy store version %d not applied; the current policy stays: %s", snapshot.version, exc
            )
            self._refused = snapshot.version  # not re-read until it changes again
            return
        for problem in problems:
            log.error("policy store version %d: grants left out (denied): %s", snapshot.version, problem)
        self._install(snapshot, policy, problems, f"policy store version {snapshot.version}")

    def _rebuild(self) -> None:
        if self.snapshot is None:
            return
        try:
            policy, problems = self._built(self.snapshot)
        except PolicyError as exc:
            log.error("policy not rebuilt at a grant's start or expiry; the current policy stays: %s", exc)
            return
        self._install(self.snapshot, policy, problems, "a grant started or expired")

    def _install(self, snapshot: Snapshot, policy: Policy, problems: list[str], why: str) -> None:
        self.snapshot, self.problems, self._refused = snapshot, problems, None
        old = self._holder.policy
        if policy == old:
            return
        self._holder.policy = policy  # one assignment: each request sees the old or the new
        log.info("policy in force: %s: %s", why, describe_changes(old, policy))
