"""A real ``asyncgate serve`` process, as end-to-end tests start and stop it."""

from __future__ import annotations

import dataclasses
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

READY_TIMEOUT_SECONDS = 30
STOP_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class LiveServer:
    base_url: str
    database_url: str
    client_id: str
    client_secret: str
    log_path: Path
    # The server's environment: a command given it works on the server's database.
    environment: dict[str, str] = field(default_factory=dict, repr=False)
    pid: int | None = None  # ``asyncgate serve``'s, when started by ``running_server``

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def bearer_headers(self) -> dict[str, str]:
        """An ``Authorization`` header with a new token of the bootstrap client."""
        answer = httpx.post(
            f"{self.base_url}/oauth/token",
            data={
                "client_id": self.client_id,
                "client_secret": self.client_secret,
                "grant_type": "client_credentials",
            },
        )
        assert answer.status_code == 200, answer.text
        return {"Authorization": f"Bearer {answer.json()['access_token']}"}


@contextmanager
def running_server(folder: Path, database_url: str, **settings: str) -> Iterator[LiveServer]:
    """``asyncgate serve`` on a free loopback port and a fresh database, with tenant
    ``default`` bootstrapped with a known OAuth client, and ``settings`` (``ASYNCGATE_*``
    names) besides; stopped, and checked to stop cleanly, on leaving."""
    port = free_port()
    client_id, client_secret = str(uuid.uuid4()), secrets.token_urlsafe(30)  # the SDK's 42
    # Only our settings: nothing from the caller's environment or a stray .env (cwd is fresh).
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("ASYNCGATE_")
    }
    environment.update(
        {
            "ASYNCGATE_DATABASE_URL": database_url,
            "ASYNCGATE_DATA_DIR": str(folder / "data"),
            "ASYNCGATE_BOOTSTRAP_CLIENT_ID": client_id,
            "ASYNCGATE_BOOTSTRAP_CLIENT_SECRET": client_secret,
        }
        | settings
    )
    server = LiveServer(
        base_url=f"http://127.0.0.1:{port}",
        database_url=database_url,
        client_id=client_id,
        client_secret=client_secret,
        log_path=folder / "server.log",
        environment=environment,
    )
    command = [
        str(Path(sys.executable).parent / "asyncgate"),
        *("serve", "--host", "127.0.0.1", "--port", str(port)),
    ]
    with server.log_path.open("wb") as log:
        process = subprocess.Popen(
            command, env=environment, cwd=folder, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        server = dataclasses.replace(server, pid=process.pid)
        wait_until_ready(process, server)
        yield server
    finally:
        trouble = stop_process(process)
    assert trouble is None, f"asyncgate serve did not stop cleanly: {trouble}:\n{server.output()}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_ready(process: subprocess.Popen, server: LiveServer) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    with httpx.Client(base_url=server.base_url, timeout=2) as http:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(
                    f"asyncgate serve exited with {process.returncode} before it was ready:\n"
                    f"{server.output()}"
                )
            try:
                if http.get("/ready").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
    pytest.fail(
        f"asyncgate serve was not ready within {READY_TIMEOUT_SECONDS} s:\n{server.output()}"
    )


def stop_process(process: subprocess.Popen) -> str | None:
    """SIGTERM, then SIGKILL if it lingers; returns what went wrong, or None for a clean stop."""
    if process.poll() is not None:
        return f"it had already exited with {process.returncode}"
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return f"it was still running {STOP_TIMEOUT_SECONDS} s after SIGTERM and was killed"
    # uvicorn re-raises the signal it caught once its graceful shutdown is done.
    if process.returncode not in (0, -signal.SIGTERM):
        return f"it exited with {process.returncode}"
    return None


def is_running(pid: int) -> bool:
    """Whether process ``pid`` exists and has not exited (an unreaped zombie has)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def children_of(pid: int) -> list[int]:
    """The running processes whose parent is ``pid`` (read from Linux's /proc)."""
    children = []
    for stat_path in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat_path.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue  # it exited meanwhile
        state, parent = fields[0], int(fields[1])
        if parent == pid and state != "Z":
            children.append(int(stat_path.parent.name))
    return children
