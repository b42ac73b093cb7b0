"""``asyncgate serve`` runs its workers in a child process it supervises, as real processes.

The child executes what the API accepts, and is told of new requests at once; it is restarted
when it dies, stopped with ``serve`` (SIGTERM), and never outlives it (SIGKILL). Found as
``serve``'s child processes in Linux's /proc.
"""

from __future__ import annotations

import http.client
import os
import secrets
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import psutil
import pytest

from asyncgate.config import Settings
from tests.conftest import BACKEND
from tests.support.live_server import (
    LiveServer,
    children_of,
    free_port,
    is_running,
    stop_process,
    wait_until_ready,
)

pytestmark = pytest.mark.e2e

ASYNCGATE = Path(sys.executable).parent / "asyncgate"
# Bounds for a loaded machine; each usually takes a fraction of it.
START_TIMEOUT_SECONDS = 30
RUN_TIMEOUT_SECONDS = 10
GONE_TIMEOUT_SECONDS = 5
# The worker polls this rarely: only a wake-up can make it run a request promptly.
RARE_POLL_SECONDS = 30
WAKE_UP_LIMIT_SECONDS = 2.0  # typically well under 0.1 s
WORKER_READY = "is executing async requests"
SENDER_READY = "is delivering callouts"
LISTENING = "listening for new async requests"  # PostgreSQL's wake-ups are on
DEV_BANNER = "DEVELOPMENT MODE"

# What a test of processes alone shows is the same on either backend: the SQLite run shows it.
same_on_either_backend = pytest.mark.skipif(
    BACKEND != "sqlite", reason="processes alone, the same on either backend"
)


@dataclass
class Serve:
    process: subprocess.Popen
    server: LiveServer

    def log_count(self, text: str) -> int:
        return self.server.output().count(text)

    def wait_for_log(self, text: str, count: int = 1) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while self.log_count(text) < count:
            assert time.monotonic() < deadline, f"no {text!r} in the log:\n{self.server.output()}"
            time.sleep(0.05)

    def worker_pid(self) -> int:
        """The one worker process, once it executes requests."""
        self.wait_for_log(LISTENING if BACKEND == "postgresql" else WORKER_READY)
        children = children_of(self.process.pid)
        assert len(children) == 1, children
        command = command_of(children[0])
        assert b"worker" in command, command
        return children[0]

    def run_one_request(self, within: float) -> dict:
        """Accept an account creation; it must have succeeded within ``within`` seconds.
        Returns its status resource."""
        headers = self.server.bearer_headers()
        body = {
            "name": "Acme",
            "currency": "USD",
            "billToContact": {"firstName": "A", "lastName": "B"},
        }
        with httpx.Client(base_url=self.server.base_url, headers=headers, timeout=10) as http:
            accepted = http.post("/v1/async/accounts", json=body)
            accepted_at = time.monotonic()
            assert accepted.status_code == 202, accepted.text
            status_url = f"/v1/async-requests/{accepted.json()['requestId']}"
            while (status := http.get(status_url).json())["state"] != "succeeded":
                elapsed = time.monotonic() - accepted_at
                state = status["state"]
                assert elapsed < within, f"{state} after {elapsed:.2f} s:\n{self.server.output()}"
                time.sleep(0.01)
        return status


def wait_until_gone(pid: int) -> None:
    deadline = time.monotonic() + GONE_TIMEOUT_SECONDS
    while is_running(pid):
        assert time.monotonic() < deadline, f"process {pid} still runs"
        time.sleep(0.05)


@contextmanager
def serves(
    fresh_database_url: Callable[[str], str], folder: Callable[[], Path]
) -> Iterator[Callable[..., Serve]]:
    """``start(*options, **settings)``: ``asyncgate serve`` on a fresh database, in ``folder()``,
    once it answers ``/ready``. Whatever still runs on leaving is stopped."""
    started: list[Serve] = []

    def start(*options: str, **settings: object) -> Serve:
        cwd = folder()
        port = free_port()
        server = LiveServer(
            base_url=f"http://127.0.0.1:{port}",
            database_url=fresh_database_url("asyncgate_serve"),
            client_id=str(uuid.uuid4()),
            client_secret=secrets.token_urlsafe(30),
            log_path=cwd / f"serve-{len(started)}.log",
        )
        environment = {k: v for k, v in os.environ.items() if not k.startswith("ASYNCGATE_")}
        environment |= {
            "ASYNCGATE_DATABASE_URL": server.database_url,
            "ASYNCGATE_DATA_DIR": str(cwd / "data"),
            "ASYNCGATE_BOOTSTRAP_CLIENT_ID": server.client_id,
            "ASYNCGATE_BOOTSTRAP_CLIENT_SECRET": server.client_secret,
            **{f"ASYNCGATE_{name.upper()}": str(value) for name, value in settings.items()},
        }
        command = [str(ASYNCGATE), "serve", "--host", "127.0.0.1", "--port", str(port), *options]
        with server.log_path.open("wb") as log:
            process = subprocess.Popen(
                command, env=environment, cwd=cwd, stdout=log, stderr=subprocess.STDOUT
            )
        serve = Serve(process, server)
        started.append(serve)
        wait_until_ready(process, server)
        return serve

    try:
        yield start
    finally:
        for serve in started:
            workers = children_of(serve.process.pid)
            stop_process(serve.process)
            for pid in workers:  # only when a test failed
                if is_running(pid):
                    os.kill(pid, signal.SIGKILL)


@pytest.fixture
def start_serve(
    fresh_database_url: Callable[[str], str], tmp_path: Path
) -> Iterator[Callable[..., Serve]]:
    """``start_serve(*options, **settings)``: ``asyncgate serve`` on a fresh database, once it
    answers ``/ready``. Whatever still runs at the end of the test is stopped."""
    with serves(fresh_database_url, lambda: tmp_path) as start:
        yield start


@pytest.fixture(scope="module")
def start_observed_serve(
    fresh_database_url: Callable[[str], str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[..., Serve]]:
    """``start_serve`` for the processes that tests only observe (none stops or kills them, nor
    depends on what another does with them): one process, each in a folder of its own, for all
    the module's tests that ask for the same options and settings."""
    shared: dict[tuple[object, ...], Serve] = {}
    with serves(fresh_database_url, lambda: tmp_path_factory.mktemp("serve")) as start:

        def start_observed(*options: str, **settings: object) -> Serve:
            key = (options, *sorted(settings.items()))
            if key not in shared:
                shared[key] = start(*options, **settings)
            return shared[key]

        yield start_observed


@pytest.fixture
def dev_serve(start_observed_serve: Callable[..., Serve]) -> Serve:
    """``serve --dev`` whose worker process polls rarely (only a wake-up can make it run a
    request promptly) and writes in the I/O class ``idle`` (the default, set explicitly)."""
    return start_observed_serve(
        "--dev", worker_poll_interval=RARE_POLL_SECONDS, worker_io_class="idle"
    )


@pytest.fixture
def serve_without_workers(start_observed_serve: Callable[..., Serve]) -> Serve:
    """``serve --no-workers`` that keeps an idle client connection open for 2 s."""
    return start_observed_serve("--no-workers", keep_alive_seconds=2)


@pytest.fixture
def niced_serve(start_observed_serve: Callable[..., Serve]) -> Serve:
    """``serve`` whose worker process lowers its priority by 7 and writes in the I/O class
    ``best-effort``."""
    return start_observed_serve(worker_niceness=7, worker_io_class="best-effort")


class TestServeWithWorkers:
    def test_accepted_requests_run_at_once_in_a_worker_process(self, dev_serve) -> None:
        serve = dev_serve
        serve.worker_pid()

        for _ in range(3):
            status = serve.run_one_request(within=WAKE_UP_LIMIT_SECONDS)
            assert status["attempts"] == 1
            assert status["response"]["status"] == 200
            assert status["resourceId"] == status["response"]["body"]["accountId"]

    @same_on_either_backend
    def test_the_worker_process_yields_the_cpu_to_the_api(self, niced_serve) -> None:
        serve = niced_serve
        worker = serve.worker_pid()
        api_niceness = os.getpriority(os.PRIO_PROCESS, serve.process.pid)
        assert os.getpriority(os.PRIO_PROCESS, worker) == min(api_niceness + 7, 19)

    @same_on_either_backend
    @pytest.mark.skipif(sys.platform != "linux", reason="I/O classes are Linux's")
    @pytest.mark.parametrize(
        ("serve_with_io_class", "expected"),
        [
            pytest.param("dev_serve", psutil.IOPRIO_CLASS_IDLE, id="idle"),
            pytest.param("niced_serve", psutil.IOPRIO_CLASS_NONE, id="best-effort"),
        ],
    )
    def test_the_worker_process_writes_to_disk_in_the_io_class_set(
        self, request, serve_with_io_class, expected
    ) -> None:
        # NONE is the best-effort class a process starts in, derived from its niceness.
        serve = request.getfixturevalue(serve_with_io_class)
        worker = serve.worker_pid()
        assert psutil.Process(worker).ionice().ioclass == expected
        assert psutil.Process(serve.process.pid).ionice().ioclass == psutil.IOPRIO_CLASS_NONE

    def test_a_killed_worker_process_is_restarted_and_runs_new_requests(self, start_serve) -> None:
        serve = start_serve()
        killed = serve.worker_pid()

        os.kill(killed, signal.SIGKILL)

        serve.wait_for_log(WORKER_READY, count=2)
        assert serve.worker_pid() != killed
        assert f"worker process {killed} was killed by SIGKILL; restarting" in serve.server.output()
        serve.run_one_request(within=RUN_TIMEOUT_SECONDS)

    @same_on_either_backend
    def test_sigterm_stops_serve_and_then_its_worker_process_cleanly(self, start_serve) -> None:
        serve = start_serve()
        worker = serve.worker_pid()

        assert stop_process(serve.process) is None

        assert not is_running(worker)
        output = serve.server.output()
        assert "stopping after the current batch" in output
        assert f"worker process {worker} stopped" in output
        assert "killing it" not in output

    @same_on_either_backend
    def test_the_worker_process_stops_when_serve_is_killed(self, start_serve) -> None:
        serve = start_serve()
        worker = serve.worker_pid()

        serve.process.kill()
        serve.process.wait()

        wait_until_gone(worker)
        assert "the serving process is gone" in serve.server.output()

    @same_on_either_backend
    def test_options_given_to_serve_reach_the_worker_process(self, dev_serve) -> None:
        serve = dev_serve
        serve.worker_pid()

        assert serve.log_count(DEV_BANNER) == 2, "serve and its worker both announce it"


@same_on_either_backend
class TestServeWithASenderProcess:
    def test_a_sender_process_runs_beside_the_worker_process(self, start_serve) -> None:
        serve = start_serve(serve_sender_process=True)
        serve.wait_for_log(WORKER_READY)
        serve.wait_for_log(SENDER_READY)

        commands = sorted(command_of(pid)[3] for pid in children_of(serve.process.pid))
        assert commands == [b"sender", b"worker"]
        serve.run_one_request(within=RUN_TIMEOUT_SECONDS)

    def test_with_no_room_for_its_socket_the_worker_process_sends_callouts_itself(
        self, start_serve, tmp_path, monkeypatch
    ) -> None:
        longer_than_a_socket_path = tmp_path / ("t" * 100)
        longer_than_a_socket_path.mkdir()
        monkeypatch.setenv("TMPDIR", str(longer_than_a_socket_path))
        serve = start_serve(serve_sender_process=True)

        serve.worker_pid()  # the one child
        serve.wait_for_log(SENDER_READY)  # its own sender
        assert "too long a path for a socket" in serve.server.output()


def command_of(pid: int) -> list[bytes]:
    return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")


@same_on_either_backend
class TestServeWithoutWorkers:
    def test_no_worker_process_is_started(self, serve_without_workers) -> None:
        serve = serve_without_workers

        # A worker process would have been started before the API answered /ready.
        assert children_of(serve.process.pid) == []


@same_on_either_backend
class TestIdleConnections:
    def test_an_idle_connection_stays_open_as_long_as_set_and_is_then_closed(
        self, serve_without_workers
    ) -> None:
        serve = serve_without_workers  # keeps idle connections open for 2 s
        connection = http.client.HTTPConnection(urlsplit(serve.server.base_url).netloc, timeout=10)
        try:
            assert answered(connection)
            opened = connection.sock
            time.sleep(0.5)  # idle for a quarter of the time set: still open, and used again
            assert answered(connection)
            assert connection.sock is opened
            time.sleep(3)  # idle for longer: closed by serve
            connection.sock.settimeout(1)
            assert connection.sock.recv(1) == b""
        finally:
            connection.close()

    def test_by_default_it_outlasts_the_idle_expiry_of_client_pools(self) -> None:
        httpx_idle_expiry = 5
        assert Settings().keep_alive_seconds > httpx_idle_expiry


def answered(connection: http.client.HTTPConnection) -> bool:
    """Whether a ``GET /health`` sent on ``connection`` is answered 200."""
    connection.request("GET", "/health")
    answer = connection.getresponse()
    answer.read()
    return answer.status == 200
