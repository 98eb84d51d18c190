"""Policy reload: a changed file or SIGHUP puts a new policy in force without a restart;
a file with a mistake keeps the old one and says what is wrong."""

from __future__ import annotations

import asyncio
import copy
import logging
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from gateway.app import create_app
from gateway.config.settings import AuthConfig
from gateway.policy import reload
from gateway.policy.model import Policy, parse_policy, read_policy
from gateway.policy.reload import PolicyReloader, describe_changes
from sources.base import Result, Source
from sources.memory import MemorySource
from tests.gateway.support import ROOT, SECRET, headers, settings
from tests.ports import free_port
from tests.resolvers import city
from tests.waiting import until

SCOPES = city.SCHEMA.scopes
POLICY = """\
[purposes.review]
legal_basis = "test"

[clients.reviewer]
purposes = ["review"]

[clients.other]
purposes = ["review"]

[[grants]]
client = "reviewer"
purpose = "review"
basis = "approval T-1"
full = ["person.identity", "person.hukou"]

[[grants]]
client = "other"
purpose = "review"
full = ["person.identity"]
basis = "approval T-2"
"""
WITHOUT_HUKOU = POLICY.replace('full = ["person.identity", "person.hukou"]', 'full = ["person.identity"]')
WITHOUT_IDENTITY = POLICY.replace('full = ["person.identity", "person.hukou"]', 'full = ["person.hukou"]')
WITHOUT_OTHER = (
    POLICY.split("[clients.other]")[0]
    + '[[grants]]\nclient = "reviewer"\npurpose = "review"\nbasis = "approval T-1"\n'
    + 'full = ["person.identity", "person.hukou"]\n'
)
FULL_ANSWER = {"person": {"name": "林小雨", "hukouDistrict": {"code": "350211"}}}
QUERY = {
    "query": "query($id: ResidentId!) { person(id: $id) { name hukouDistrict { code } } }",
    "variables": {"id": city.CHILD},
}
REVIEWER = headers("reviewer", "review")
OTHER = headers("other", "review")
PREFIX = "policy not reloaded; the current policy stays in force: "


@pytest.fixture(autouse=True)
def policy_log(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="govgraph.policy")


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def replace(path: Path, text: str) -> None:
    """As editors and `sed -i` do: a new file renamed over the old one (a new inode)."""
    fresh = path.with_suffix(".tmp")
    fresh.write_text(text, encoding="utf-8")
    os.replace(fresh, path)


@asynccontextmanager
async def gateway(
    policy: Path, instances: dict[str, Source] | None = None, poll: float = 0.02
) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient]]:
    """`poll` 0: only SIGHUP reloads."""
    auth = AuthConfig(policy=str(policy), hs256_secret=SECRET, policy_poll=poll)
    app = create_app(settings(auth=auth), instances=instances)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
            yield app, http


def errors(body: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    return [
        (".".join(map(str, e["path"])), e["extensions"]["code"], e["extensions"].get("scope"))
        for e in body.get("errors", [])
    ]


def answer(response: httpx.Response) -> tuple[Any, list[tuple[str, str, str | None]]]:
    body = response.json()
    return body.get("data"), errors(body)


def messages(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "govgraph.policy" and r.levelno == level]


async def test_a_revoked_grant_stops_working_without_a_restart(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write(tmp_path / "policy.toml", POLICY)
    async with gateway(path) as (app, http):
        runtime = app.state.runtime
        assert answer(await http.post("/graphql", json=QUERY, headers=REVIEWER)) == (FULL_ANSWER, [])
        old = runtime.policy

        write(path, WITHOUT_HUKOU)
        await until(lambda: runtime.policy is not old, "the new policy")

        after = (await http.post("/graphql", json=QUERY, headers=REVIEWER)).json()
        assert after["data"] == {"person": {"name": "林小雨", "hukouDistrict": None}}
        assert errors(after) == [("person.hukouDistrict", "FORBIDDEN", "person.hukou")]
    assert messages(caplog, logging.INFO) == [
        f"policy reloaded from {path}: clients changed: reviewer (grants)"
    ]


async def test_a_removed_client_is_rejected(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = write(tmp_path / "policy.toml", POLICY)
    async with gateway(path) as (app, http):
        runtime = app.state.runtime
        assert (await http.post("/graphql", json=QUERY, headers=OTHER)).status_code == 200
        old = runtime.policy

        replace(path, WITHOUT_OTHER)
        await until(lambda: runtime.policy is not old, "the new policy")

        refused = await http.post("/graphql", json=QUERY, headers=OTHER)
        assert refused.status_code == 401
        assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert answer(await http.post("/graphql", json=QUERY, headers=REVIEWER)) == (FULL_ANSWER, [])
    assert messages(caplog, logging.INFO) == [f"policy reloaded from {path}: clients removed: other"]


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (('legal_basis = "test"', "legal_basis = test"), ":2: syntax: Invalid value (at line 2, column 15)"),
        (
            ('full = ["person.identity"]', 'full = ["person.identiy"]'),
            ":19: grants.1.full: unknown scope 'person.identiy'",
        ),
        (('client = "other"', 'client = "otter"'), ":17: grants.1.client: unknown client 'otter'"),
    ],
)
async def test_an_invalid_file_keeps_the_old_policy_and_names_the_mistake(
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    edit: tuple[str, str],
    problem: str,
) -> None:
    reads: list[Path] = []

    def counted(path: Path) -> str:
        reads.append(path)
        return read_policy(path)

    monkeypatch.setattr(reload, "read_policy", counted)
    path = write(tmp_path / "policy.toml", POLICY)
    broken = POLICY.replace(*edit)
    assert broken != POLICY
    async with gateway(path) as (app, http):
        runtime = app.state.runtime
        old = runtime.policy

        write(path, broken)
        await until(lambda: messages(caplog, logging.ERROR), "the error to be logged")

        assert messages(caplog, logging.ERROR) == [f"{PREFIX}{path}{problem}"]
        assert runtime.policy is old
        assert answer(await http.post("/graphql", json=QUERY, headers=REVIEWER)) == (FULL_ANSWER, [])
        seen = len(reads)
        await until(lambda: len(reads) >= seen + 3, "three more reads")
        assert len(messages(caplog, logging.ERROR)) == 1  # reported once, not at every read

        write(path, WITHOUT_HUKOU)  # fixed: taken up
        await until(lambda: runtime.policy is not old, "the fixed policy")
        assert runtime.policy.grant("reviewer", "review").get("person.hukou") is None


async def test_an_unreadable_file_keeps_the_old_policy(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write(tmp_path / "policy.toml", POLICY)
    async with gateway(path) as (app, http):
        old = app.state.runtime.policy
        path.unlink()
        await until(lambda: messages(caplog, logging.ERROR), "the error to be logged")
        assert messages(caplog, logging.ERROR) == [
            f"{PREFIX}{path}: file: cannot read (No such file or directory)"
        ]
        assert app.state.runtime.policy is old
        assert answer(await http.post("/graphql", json=QUERY, headers=REVIEWER)) == (FULL_ANSWER, [])


async def test_sighup_reloads_every_gateway_in_the_process(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    first = write(tmp_path / "first.toml", POLICY)
    second = write(tmp_path / "second.toml", POLICY)
    hangups: list[int] = []

    def own(number: int, frame: object) -> None:
        hangups.append(number)

    original = signal.signal(signal.SIGHUP, own)
    try:
        await _sighup_both(first, second)
        assert hangups == []  # the gateways' handler took the signal while they ran
        assert signal.getsignal(signal.SIGHUP) is own  # and the process's own handler is back
        os.kill(os.getpid(), signal.SIGHUP)
        await until(lambda: hangups, "the process's handler")
    finally:
        signal.signal(signal.SIGHUP, original)
    assert sorted(messages(caplog, logging.INFO)) == sorted(
        [
            "SIGHUP: reloading the policy",
            f"policy reloaded from {first}: clients changed: reviewer (grants)",
            f"policy reloaded from {second}: clients removed: other",
        ]
    )


async def _sighup_both(first: Path, second: Path) -> None:
    async with gateway(first, poll=0) as (app, http), gateway(second, poll=0) as (other_app, _):
        runtimes = [app.state.runtime, other_app.state.runtime]
        olds = [r.policy for r in runtimes]
        if not (app.state.reloader.on_sighup and other_app.state.reloader.on_sighup):
            pytest.fail("the SIGHUP handler is not installed; sending SIGHUP would end this process")
        write(first, WITHOUT_HUKOU)
        write(second, WITHOUT_OTHER)

        os.kill(os.getpid(), signal.SIGHUP)
        await until(
            lambda: all(r.policy is not o for r, o in zip(runtimes, olds, strict=True)), "both reloads"
        )

        assert errors((await http.post("/graphql", json=QUERY, headers=REVIEWER)).json()) == [
            ("person.hukouDistrict", "FORBIDDEN", "person.hukou")
        ]
        assert set(runtimes[1].policy.clients) == {"reviewer"}


async def test_the_sighup_handler_rereads_an_unchanged_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write(tmp_path / "policy.toml", POLICY)
    async with gateway(path, poll=0) as (app, _):
        old = app.state.runtime.policy
        app.state.reloader.reload_soon()  # what the SIGHUP handler calls
        await until(lambda: messages(caplog, logging.INFO), "the reload")
        assert messages(caplog, logging.INFO) == [f"policy reloaded from {path}: no changes"]
        assert app.state.runtime.policy is old


SERVER = """\
import logging, sys
import uvicorn
from gateway.app import create_app
from gateway.config.settings import AuthConfig
from tests.gateway.support import SECRET, settings

logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
# policy_poll 0: only SIGHUP reloads
app = create_app(settings(auth=AuthConfig(policy=sys.argv[1], hs256_secret=SECRET, policy_poll=0)))
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
"""


async def test_sighup_reloads_a_served_gateway(tmp_path: Path) -> None:
    path = write(tmp_path / "policy.toml", POLICY)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "gateway.log"
    with log.open("w") as output:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", SERVER, str(path), str(port), cwd=ROOT, stderr=output
        )
    try:
        async with httpx.AsyncClient(base_url=url, timeout=10) as http:
            deadline = time.monotonic() + 60
            while True:
                assert process.returncode is None, "the gateway exited"
                try:
                    if (await http.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "the gateway did not start"
                await asyncio.sleep(0.1)
            assert errors((await http.post("/graphql", json=QUERY, headers=REVIEWER)).json()) == []

            write(path, WITHOUT_HUKOU)
            process.send_signal(signal.SIGHUP)

            async def revoked() -> bool:
                assert process.returncode is None, "SIGHUP ended the gateway"
                body = (await http.post("/graphql", json=QUERY, headers=REVIEWER)).json()
                return errors(body) == [("person.hukouDistrict", "FORBIDDEN", "person.hukou")]

            await until(revoked, "SIGHUP to reload the policy", interval=0.05)
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 30)
    assert (
        f"govgraph.policy: policy reloaded from {path}: clients changed: reviewer (grants)" in log.read_text()
    )


class Gated:
    """A department that holds every fetch until released: a request kept in flight."""

    def __init__(self, inner: Source) -> None:
        self.name = inner.name
        self._inner = inner
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    async def fetch_many(self, entity: str, keys: Sequence[str]) -> list[Result]:
        self.entered.set()
        await self.release.wait()
        return await self._inner.fetch_many(entity, keys)

    async def aclose(self) -> None:
        await self._inner.aclose()


async def test_a_request_in_flight_keeps_the_policy_it_started_with(tmp_path: Path) -> None:
    path = write(tmp_path / "policy.toml", POLICY)
    spec = next(s for s in city.specs() if s.name == "public_security")
    gated = Gated(MemorySource(spec))
    async with gateway(path, instances={"public_security": gated}) as (app, http):
        runtime = app.state.runtime
        old = runtime.policy
        started = asyncio.create_task(http.post("/graphql", json=QUERY, headers=REVIEWER))
        await asyncio.wait_for(gated.entered.wait(), 5)

        write(path, WITHOUT_IDENTITY)
        await until(lambda: runtime.policy is not old, "the new policy")
        gated.release.set()

        assert answer(await started) == (FULL_ANSWER, [])
        later = (await http.post("/graphql", json=QUERY, headers=REVIEWER)).json()
        assert errors(later) == [("person.name", "FORBIDDEN", "person.identity")]


class Recorder:
    """A policy holder that keeps every policy assigned to it."""

    def __init__(self, policy: Policy) -> None:
        self._policy = policy
        self.assigned: list[Policy] = []

    @property
    def policy(self) -> Policy:
        return self._policy

    @policy.setter
    def policy(self, value: Policy) -> None:
        self.assigned.append(value)
        self._policy = value


async def test_the_swap_is_one_assignment_of_a_complete_policy(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write(tmp_path / "policy.toml", POLICY)
    old = parse_policy(POLICY, SCOPES, str(path))
    untouched = copy.deepcopy(old)
    holder = Recorder(old)
    reloader = PolicyReloader(holder, SCOPES, interval=0.01)
    reloader.start()
    try:
        write(path, POLICY.replace("person.identity", "person.identiy"))
        await until(lambda: messages(caplog, logging.ERROR), "the refusal")
        assert holder.assigned == []
        write(path, WITHOUT_OTHER)
        await until(lambda: holder.assigned, "the swap")
        reloader.reload_soon()  # one more full reload cycle: a second assignment would show
        await until(lambda: any("no changes" in m for m in messages(caplog, logging.INFO)), "a re-read")
    finally:
        await reloader.aclose()
    assert holder.assigned == [parse_policy(WITHOUT_OTHER, SCOPES, str(path))]
    assert old == untouched  # the policy requests already hold was not edited in place


def test_an_in_memory_policy_is_not_watched() -> None:
    holder = Recorder(parse_policy(POLICY, SCOPES))
    assert PolicyReloader(holder, SCOPES).path is None


def test_the_reload_line_names_what_changed_and_no_secret() -> None:
    digest = "ab" * 32
    old = parse_policy(POLICY, SCOPES)
    new = parse_policy(
        WITHOUT_HUKOU.replace(
            "[clients.other]\n", f'[clients.other]\napi_key_sha256 = ["{digest}"]\n'
        ).replace('legal_basis = "test"', 'legal_basis = "statute"')
        + '\n[clients.third]\npurposes = ["review"]\n\n[[grants]]\nclient = "third"\npurpose = "review"\n',
        SCOPES,
    )
    line = describe_changes(old, new)
    assert line == (
        "clients added: third; clients changed: other (api_key_sha256), reviewer (grants); "
        "purposes changed: review (legal_basis)"
    )
    assert describe_changes(old, old) == "no changes to clients or purposes"
