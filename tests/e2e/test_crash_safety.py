"""Crash safety and scale-out of the async engine, with real processes on a fresh database.

A client streams async account creations while ``asyncgate serve`` is killed with SIGKILL and
restarted on the same database; afterwards every request that got a 202 has succeeded exactly
once: one account, one outbox event, and a second attempt only where a crash cut the first
short. A worker killed while a callout is in flight leaves it to the next worker, which sends
it again once the lease has expired; so does a sender process ``serve`` runs beside its worker
(``serve_sender_process``), which ``serve`` restarts. API processes and ``asyncgate worker``
processes also run apart on one database (two and two on PostgreSQL), and on PostgreSQL a
worker hears of a new request at once (LISTEN/NOTIFY) rather than at its next poll, also after
its listening connection was cut.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import secrets
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import orjson
import pytest
from sqlalchemy import select, text

from asyncgate.asyncreq.models import AsyncRequest, State
from asyncgate.asyncreq.queue import queue_for
from asyncgate.asyncreq.wakeup import APPLICATION_NAME
from asyncgate.billing.accounts.models import Account
from asyncgate.config import Settings
from asyncgate.db.base import utcnow
from asyncgate.db.engine import Database
from asyncgate.notifications.outbox import EventType, OutboxEvent
from tests.billing.api import account_body
from tests.conftest import BACKEND
from tests.support.live_server import (
    READY_TIMEOUT_SECONDS,
    LiveServer,
    children_of,
    free_port,
    stop_process,
    wait_until_ready,
)
from tests.support.receiver import Arrival, Receiver, Reply

pytestmark = pytest.mark.e2e
postgres_only = pytest.mark.skipif(
    BACKEND != "postgresql", reason="several claiming processes need PostgreSQL"
)

ASYNCGATE = Path(sys.executable).parent / "asyncgate"
IN_FLIGHT = 8  # requests the client keeps open at once
LEASE_SECONDS = 3  # short, so requests cut short by a crash are reclaimed quickly
SETTLE_TIMEOUT_SECONDS = 60  # a bound for a loaded machine; it usually takes a few seconds
LISTENING = "listening for new async requests"
DEFINITIONS = "/notifications/notification-definitions"
DELIVERING = "is delivering callouts"
# Workers of the scale-out deployment poll this rarely: only a wake-up can make them quick.
RARE_POLL_SECONDS = 30
# Far below the poll interval, with room for a loaded machine; typically under 0.1 s.
WAKE_UP_LIMIT_SECONDS = 2.0


# -- the processes ----------------------------------------------------------------------------


@dataclass
class Child:
    command: str
    process: subprocess.Popen
    log_path: Path
    killed: bool = False

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


class Deployment:
    """The ``asyncgate`` processes of one test, sharing one fresh database; ``stop()`` ends
    those still running and says which of them did not stop cleanly."""

    def __init__(self, folder: Path, database_url: str, **settings: object) -> None:
        self.folder = folder
        self.database_url = database_url
        self.client_id = str(uuid.uuid4())
        self.client_secret = secrets.token_urlsafe(30)
        environment = {k: v for k, v in os.environ.items() if not k.startswith("ASYNCGATE_")}
        self.environment = environment | {
            "ASYNCGATE_DATABASE_URL": database_url,
            "ASYNCGATE_DATA_DIR": str(folder / "data"),
            "ASYNCGATE_SECRET_KEY": secrets.token_urlsafe(32),
            "ASYNCGATE_BOOTSTRAP_CLIENT_ID": self.client_id,
            "ASYNCGATE_BOOTSTRAP_CLIENT_SECRET": self.client_secret,
            **{f"ASYNCGATE_{name.upper()}": str(value) for name, value in settings.items()},
        }
        self.children: list[Child] = []
        self._numbers = itertools.count(1)  # atomic: processes may start from several threads

    def _spawn(self, command: str, *arguments: str) -> Child:
        log_path = self.folder / f"{next(self._numbers):02d}-{command}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [str(ASYNCGATE), command, *arguments],
                env=self.environment,
                cwd=self.folder,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        child = Child(command, process, log_path)
        self.children.append(child)
        return child

    def start_api(self, port: int, *, workers: bool) -> Child:
        """``asyncgate serve`` on ``port``, once it answers ``/ready``."""
        child = self._spawn(
            "serve",
            *("--host", "127.0.0.1", "--port", str(port)),
            "--workers" if workers else "--no-workers",
        )
        server = LiveServer(
            base_url=f"http://127.0.0.1:{port}",
            database_url=self.database_url,
            client_id=self.client_id,
            client_secret=self.client_secret,
            log_path=child.log_path,
        )
        wait_until_ready(child.process, server)
        return child

    def start_worker(self, *, ready_line: str) -> Child:
        """``asyncgate worker``, once its log shows ``ready_line``."""
        child = self._spawn("worker")
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while ready_line not in child.output():
            if child.process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"asyncgate worker did not start:\n{child.output()}")
            time.sleep(0.05)
        return child

    def kill(self, child: Child) -> None:
        """SIGKILL, to the process and its own children (``serve``'s worker process): no
        shutdown of any kind, as in a crash or a power cut."""
        for pid in children_of(child.process.pid):
            os.kill(pid, signal.SIGKILL)
        child.process.send_signal(signal.SIGKILL)
        child.process.wait()
        child.killed = True

    def stop(self) -> list[str]:
        """SIGTERM every process still running; what went wrong with any of them."""
        troubles = []
        for child in self.children:
            if child.killed:
                continue
            if child.process.poll() is not None:
                trouble = f"it exited by itself with {child.process.returncode}"
            else:
                trouble = stop_process(child.process)
                if trouble is None and child.command == "worker" and child.process.returncode:
                    trouble = f"it exited with {child.process.returncode}, not 0"
            if trouble is not None:
                troubles.append(f"{child.log_path.name}: {trouble}:\n{child.output()}")
        return troubles

    def token(self, base_url: str) -> dict[str, str]:
        answer = httpx.post(
            f"{base_url}/oauth/token",
            data={
                "client_id": self.client_id,
                "client_secret": self.client_secret,
                "grant_type": "client_credentials",
            },
        )
        assert answer.status_code == 200, answer.text
        return {"Authorization": f"Bearer {answer.json()['access_token']}"}


@pytest.fixture
def deploy(
    fresh_database_url: Callable[[str], str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[..., Deployment]]:
    """Make a deployment on a fresh database; its processes end with the test."""
    deployments: list[Deployment] = []

    def make(**settings: object) -> Deployment:
        deployment = Deployment(
            tmp_path_factory.mktemp("deployment"), fresh_database_url("asyncgate_crash"), **settings
        )
        deployments.append(deployment)
        return deployment

    yield make
    troubles = [trouble for deployment in deployments for trouble in deployment.stop()]
    assert not troubles, "\n".join(troubles)


# -- the client ---------------------------------------------------------------------------------


@dataclass
class Ledger:
    """What the client knows: the requests that got a 202, and the names whose fate it cannot
    know (the connection failed before an answer: stored or not, either is correct)."""

    prefix: str = field(default_factory=lambda: f"crash-{uuid.uuid4().hex[:8]}")
    accepted: dict[str, str] = field(default_factory=dict)  # requestId -> account name
    unknown: set[str] = field(default_factory=set)
    refused: list[str] = field(default_factory=list)
    sent: int = 0

    def next_name(self) -> str:
        self.sent += 1
        return f"{self.prefix}-{self.sent:05d}"


async def send_account_creation(
    http: httpx.AsyncClient, base_url: str, headers: dict[str, str], ledger: Ledger
) -> str | None:
    """One ``POST /v1/async/accounts`` with a fresh name; returns its requestId when 202."""
    name = ledger.next_name()
    body = {
        "name": name,
        "currency": "USD",
        "billToContact": {"firstName": "Ada", "lastName": "Lovelace"},
    }
    try:
        answer = await http.post(f"{base_url}/v1/async/accounts", json=body, headers=headers)
    except httpx.TransportError:
        ledger.unknown.add(name)
        return None
    if answer.status_code != 202:
        ledger.refused.append(f"{name}: {answer.status_code} {answer.text}")
        return None
    request_id = answer.json()["requestId"]
    ledger.accepted[request_id] = name
    return request_id


async def stream(
    base_urls: list[str], headers: dict[str, str], ledger: Ledger, more: Callable[[], bool]
) -> None:
    """Keep ``IN_FLIGHT`` creations open, spread over ``base_urls``, while ``more()`` holds:
    through crashes and restarts."""

    async def one_client(http: httpx.AsyncClient, number: int) -> None:
        base_url = base_urls[number % len(base_urls)]
        while more():
            if await send_account_creation(http, base_url, headers, ledger) is None:
                await asyncio.sleep(0.1)  # the server is down: leave it the CPU to restart

    limits = httpx.Limits(max_connections=IN_FLIGHT)
    async with httpx.AsyncClient(timeout=10, limits=limits) as http:
        await asyncio.gather(*(one_client(http, number) for number in range(IN_FLIGHT)))


# -- what the database holds -------------------------------------------------------------------


@dataclass(frozen=True)
class Stored:
    requests: list[AsyncRequest]
    accounts: list[Account]
    events: list[OutboxEvent]


def name_in(request: AsyncRequest) -> str:
    return orjson.loads(request.body)["name"]


async def read_back(database_url: str, ledger: Ledger) -> Stored:
    """Wait until none of the ledger's requests is queued or running any more, then read what
    they left: the requests, the accounts with the ledger's names, and the requests' events."""
    database = Database(Settings(database_url=database_url, _env_file=None))
    queue = queue_for(database)
    try:
        deadline = time.monotonic() + SETTLE_TIMEOUT_SECONDS
        while True:
            async with database.transaction() as session:
                backlog = await queue.backlog(session, utcnow())
            if not backlog.queued + backlog.retrying + backlog.running:
                break
            if time.monotonic() > deadline:
                pytest.fail(f"requests still pending after {SETTLE_TIMEOUT_SECONDS} s: {backlog}")
            await asyncio.sleep(0.2)
        # Read only now: read with the backlog, a batch committed between the two statements
        # would leave requests seen running although the backlog is already empty.
        async with database.transaction() as session:
            every_request = (await session.scalars(select(AsyncRequest))).all()
            requests = [r for r in every_request if name_in(r).startswith(ledger.prefix)]
            accounts = await session.scalars(
                select(Account).where(Account.name.startswith(ledger.prefix))
            )
            events = await session.scalars(
                select(OutboxEvent).where(OutboxEvent.object_id.in_([r.id for r in requests]))
            )
            return Stored(requests, list(accounts.all()), list(events.all()))
    finally:
        queue.close()
        await database.dispose()


def assert_each_ran_exactly_once(stored: Stored, ledger: Ledger, *, crashes: int) -> None:
    """Every 202 succeeded exactly once, nothing else was stored but requests whose answer was
    lost, and only a crash explains a repeated attempt."""
    assert not ledger.refused, ledger.refused[:5]
    requests = {request.id: request for request in stored.requests}
    assert set(ledger.accepted) <= set(requests), "a request that got a 202 was lost"
    name_of = {request.id: name_in(request) for request in stored.requests}
    unaccounted = {name_of[i] for i in requests if i not in ledger.accepted} - ledger.unknown
    assert not unaccounted, f"stored, but never sent or answered 202: {sorted(unaccounted)[:5]}"

    states = Counter(request.state for request in stored.requests)
    assert states == {State.SUCCEEDED: len(requests)}, states

    # One account per stored request: none lost, none duplicated, each the request's own.
    names = Counter(account.name for account in stored.accounts)
    assert [name for name, count in names.items() if count > 1] == []
    assert set(names) == set(name_of.values())
    account_of = {account.name: account.id for account in stored.accounts}
    assert {i: account_of[name_of[i]] for i in requests} == {
        i: orjson.loads(request.response_body)["accountId"] for i, request in requests.items()
    }

    # One event per request, saying it succeeded with that account.
    events = Counter(event.object_id for event in stored.events)
    assert events == Counter(list(requests)), "not exactly one outbox event per request"
    for event in stored.events:
        assert event.event_type == EventType.ASYNC_REQUEST_SUCCEEDED
        assert event.payload["data"] == {"id": requests[event.object_id].resource_id}

    # A second attempt only after a crash took the first one's lease away.
    repeated = [r for r in stored.requests if r.attempts != 1]
    for request in repeated:
        assert 1 < request.attempts <= 1 + crashes, (request.id, request.attempts)
        assert "lease expired" in (request.last_error or ""), (request.id, request.last_error)


# -- the tests ------------------------------------------------------------------------------------


class TestKilledServer:
    async def test_every_accepted_request_succeeds_exactly_once_across_two_kills(
        self, deploy: Callable[..., Deployment]
    ) -> None:
        deployment = deploy(worker_lease=LEASE_SECONDS, retry_base_delay=0.2)
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        server = deployment.start_api(port, workers=True)
        headers = deployment.token(base_url)
        ledger = Ledger()
        done = asyncio.Event()
        client = asyncio.create_task(stream([base_url], headers, ledger, lambda: not done.is_set()))
        for _ in range(2):
            await asyncio.sleep(1)
            deployment.kill(server)
            server = await asyncio.to_thread(deployment.start_api, port, workers=True)
        await asyncio.sleep(1)  # a little more on the restarted server
        done.set()
        await client

        stored = await read_back(deployment.database_url, ledger)
        assert len(ledger.accepted) > 10, "the client hardly got a request in"
        assert_each_ran_exactly_once(stored, ledger, crashes=2)


class TestKilledWorkerMidCallout:
    async def test_a_callout_in_flight_is_sent_again_once_the_killed_workers_lease_expires(
        self, deploy: Callable[..., Deployment], callout_receiver: Receiver, tls_ca_bundle: Path
    ) -> None:
        deployment = with_leases_of_a_second(deploy, tls_ca_bundle)
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        deployment.start_api(port, workers=False)
        async with httpx.AsyncClient(base_url=base_url, headers=deployment.token(base_url)) as api:
            path = await define_a_hanging_callout(api, callout_receiver)
            worker = deployment.start_worker(ready_line=DELIVERING)
            accepted = await api.post("/v1/async/accounts", json=account_body())
            assert accepted.status_code == 202
            await asyncio.to_thread(callout_receiver.wait_for, path, 1)

            deployment.kill(worker)
            deployment.start_worker(ready_line=DELIVERING)
            first, second = await asyncio.to_thread(callout_receiver.wait_for, path, 2)
            history = await recorded_callouts(api)

        assert first.headers["zuora-request-id"] != second.headers["zuora-request-id"]
        assert_sent_again_after_the_lease(first, second, history)


class TestKilledSenderProcess:
    async def test_a_callout_handed_to_it_is_sent_again_by_the_sender_serve_restarts(
        self, deploy: Callable[..., Deployment], callout_receiver: Receiver, tls_ca_bundle: Path
    ) -> None:
        deployment = with_leases_of_a_second(deploy, tls_ca_bundle, serve_sender_process=True)
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        serve = deployment.start_api(port, workers=True)
        async with httpx.AsyncClient(base_url=base_url, headers=deployment.token(base_url)) as api:
            path = await define_a_hanging_callout(api, callout_receiver)
            accepted = await api.post("/v1/async/accounts", json=account_body())
            assert accepted.status_code == 202
            await asyncio.to_thread(callout_receiver.wait_for, path, 1)
            worker, sender = child_running(serve, "worker"), child_running(serve, "sender")

            os.kill(sender, signal.SIGKILL)
            first, second = await asyncio.to_thread(callout_receiver.wait_for, path, 2)
            history = await recorded_callouts(api)

        assert_sent_again_after_the_lease(first, second, history)
        assert f"sender process {sender} was killed by SIGKILL; restarting" in serve.output()
        assert child_running(serve, "worker") == worker  # execution went on untouched


def with_leases_of_a_second(
    deploy: Callable[..., Deployment], tls_ca_bundle: Path, **settings: object
) -> Deployment:
    """A deployment that sends callouts to the test receiver, whose leases expire after 1 s."""
    return deploy(
        worker_lease=1,
        callout_allow_private_addresses=True,
        callout_ca_bundle=tls_ca_bundle,
        **settings,
    )


async def define_a_hanging_callout(api: httpx.AsyncClient, receiver: Receiver) -> str:
    """A definition of every success, whose first callout gets no answer before the process
    sending it dies; returns the receiver's path."""
    path = receiver.new_path()
    receiver.script(path, Reply(delay=60))
    definition = {
        "name": f"crash {uuid.uuid4().hex[:8]}",
        "eventTypeName": EventType.ASYNC_REQUEST_SUCCEEDED,
        "calloutActive": True,
        "callout": {
            "name": "crash",
            "eventTypeName": EventType.ASYNC_REQUEST_SUCCEEDED,
            "calloutBaseurl": receiver.url(path),
            "httpMethod": "POST",
            "requiredAuth": False,
        },
    }
    defined = await api.post(DEFINITIONS, json=definition)
    assert defined.status_code == 200, defined.text
    return path


def assert_sent_again_after_the_lease(first: Arrival, second: Arrival, history: list) -> None:
    """The callout the dead process sent was sent again, as the same notification, once its
    lease had expired; the process that died recorded nothing, so the second attempt is the
    first one recorded."""
    assert first.headers["zuora-notification-id"] == second.headers["zuora-notification-id"]
    assert second.at - first.at >= 1
    assert [(row["attemptedNum"], row["responseCode"]) for row in history] == [("1", "200")]


def child_running(serve: Child, command: str) -> int:
    """The pid of ``serve``'s child process running ``asyncgate <command>``."""
    for pid in children_of(serve.process.pid):
        arguments = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        if command.encode() in arguments:
            return pid
    raise AssertionError(f"serve runs no {command} process: {serve.output()}")


async def recorded_callouts(api: httpx.AsyncClient) -> list[dict]:
    """The callout history, once it holds a row."""
    deadline = time.monotonic() + SETTLE_TIMEOUT_SECONDS
    while True:
        answer = await api.get("/v1/notification-history/callout", params={"failedOnly": "false"})
        rows = answer.json()["calloutHistories"]
        if rows or time.monotonic() > deadline:
            return rows
        await asyncio.sleep(0.05)


@pytest.fixture(scope="module")
def scale_out(
    fresh_database_url: Callable[[str], str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Deployment, list[str]]]:
    """Two API processes without workers and, apart, the workers: two on PostgreSQL (polling
    only every 30 s, so that wake-ups show), one on SQLite (its single claiming process)."""
    postgres = BACKEND == "postgresql"
    deployment = Deployment(
        tmp_path_factory.mktemp("scale-out"),
        fresh_database_url("asyncgate_scale"),
        worker_poll_interval=RARE_POLL_SECONDS if postgres else 0.5,
        worker_concurrency=2 if postgres else 1,
    )
    try:
        ports = [free_port(), free_port()]
        deployment.start_api(ports[0], workers=False)  # the first start bootstraps the database
        with ThreadPoolExecutor() as pool:
            starts = [pool.submit(deployment.start_api, ports[1], workers=False)]
            for _ in range(2 if postgres else 1):
                ready_line = LISTENING if postgres else "is executing async requests"
                starts.append(pool.submit(deployment.start_worker, ready_line=ready_line))
            for start in starts:
                start.result()
        yield deployment, [f"http://127.0.0.1:{port}" for port in ports]
    finally:
        troubles = deployment.stop()
    assert not troubles, "\n".join(troubles)


class TestSeparateWorkers:
    async def test_requests_spread_over_two_api_processes_each_run_exactly_once(
        self, scale_out: tuple[Deployment, list[str]]
    ) -> None:
        deployment, base_urls = scale_out
        headers = deployment.token(base_urls[0])
        ledger = Ledger()
        total = 400
        await stream(base_urls, headers, ledger, lambda: ledger.sent < total)

        assert len(ledger.accepted) == total, (ledger.unknown, ledger.refused[:5])
        stored = await read_back(deployment.database_url, ledger)
        assert_each_ran_exactly_once(stored, ledger, crashes=0)

    @postgres_only
    async def test_a_worker_runs_a_request_accepted_elsewhere_at_once(
        self, scale_out: tuple[Deployment, list[str]]
    ) -> None:
        deployment, base_urls = scale_out
        await assert_woken_promptly(deployment, base_urls)

    @postgres_only
    async def test_a_worker_still_wakes_at_once_after_its_listening_connection_was_cut(
        self, scale_out: tuple[Deployment, list[str]]
    ) -> None:
        deployment, base_urls = scale_out
        database = Database(Settings(database_url=deployment.database_url, _env_file=None))
        listeners = text(
            "SELECT pid FROM pg_stat_activity "
            "WHERE application_name = :name AND datname = current_database()"
        ).bindparams(name=APPLICATION_NAME)
        try:
            async with database.transaction() as session:
                cut = set((await session.scalars(listeners)).all())
                assert len(cut) == 2, "each worker should hold one listening connection"
                for pid in cut:
                    await session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            deadline = time.monotonic() + 10
            while True:
                async with database.transaction() as session:
                    now_listening = set((await session.scalars(listeners)).all())
                if len(now_listening - cut) == 2:
                    break
                assert time.monotonic() < deadline, "the workers did not listen again"
                await asyncio.sleep(0.1)
        finally:
            await database.dispose()
        await assert_woken_promptly(deployment, base_urls)


async def assert_woken_promptly(deployment: Deployment, base_urls: list[str]) -> None:
    """Requests accepted one at a time by either API process finish long before any poll."""
    headers = deployment.token(base_urls[0])
    ledger = Ledger()
    async with httpx.AsyncClient(timeout=10) as http:
        for number in range(6):
            base_url = base_urls[number % 2]
            request_id = await send_account_creation(http, base_url, headers, ledger)
            assert request_id is not None, (ledger.unknown, ledger.refused)
            accepted_at = time.monotonic()
            while True:
                status = await http.get(
                    f"{base_url}/v1/async-requests/{request_id}", headers=headers
                )
                elapsed = time.monotonic() - accepted_at
                if status.json()["state"] == State.SUCCEEDED:
                    break
                assert elapsed < WAKE_UP_LIMIT_SECONDS, (
                    f"not run after {elapsed:.2f} s: {status.text}"
                )
                await asyncio.sleep(0.01)
