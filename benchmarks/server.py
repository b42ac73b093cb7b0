"""``asyncgate serve`` as a real child process on loopback, with more worker processes beside it
when asked, and what the benchmark reads of them.

The server runs on the bench's database (``database.py``: a fresh SQLite file or PostgreSQL),
the default (durable) settings, and a bootstrap OAuth client from the environment; nothing from
the caller's environment or a stray ``.env`` leaks in. With ``workers`` above 1, ``workers - 1``
``asyncgate worker`` processes run beside ``serve``'s own, with the same environment. The
benchmark reads the queue straight from the database (SQLite in WAL mode lets a reader look
while the server writes).

Both commands run as ``python -m asyncgate`` on the bench's interpreter: the server is the
``asyncgate`` that the bench imports (an installed one, or ``src`` on ``PYTHONPATH``).
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
from database import BenchDatabase
from machine import children, process_cpu_seconds

READY_TIMEOUT_SECONDS = 30
STOP_TIMEOUT_SECONDS = 15
# What ``asyncgate worker`` says once it claims requests.
WORKER_READY = b"is executing async requests"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def is_sender_process(pid: int) -> bool:
    """Whether ``pid`` is the sender process ``serve`` runs beside its worker process (with
    ``ASYNCGATE_SERVE_SENDER_PROCESS``)."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except FileNotFoundError:
        return False
    return b"sender" in command


@dataclass
class Server:
    folder: Path
    database: BenchDatabase
    # Worker processes: serve's own and ``workers - 1`` more; 0 runs the API alone.
    workers: int = 1
    host: str = "127.0.0.1"
    port: int = field(default_factory=free_port)
    client_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(30))
    extra_env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen | None = None
    worker_processes: list[subprocess.Popen] = field(default_factory=list)

    @property
    def log_path(self) -> Path:
        return self.folder / "server.log"

    def worker_log_path(self, number: int) -> Path:
        return self.folder / f"worker-{number}.log"

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def env(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith("ASYNCGATE_")}
        env.update(
            ASYNCGATE_DATABASE_URL=self.database.url,
            ASYNCGATE_DATA_DIR=str(self.folder / "data"),
            ASYNCGATE_BOOTSTRAP_CLIENT_ID=self.client_id,
            ASYNCGATE_BOOTSTRAP_CLIENT_SECRET=self.client_secret,
            **self.extra_env,
        )
        if not self.workers:
            env["ASYNCGATE_SERVE_WORKERS"] = "false"
        return env

    def start(self) -> None:
        """``serve``, then (once it has migrated the database) the other worker processes."""
        self.process = self._spawn(
            ["serve", "--host", self.host, "--port", str(self.port)], self.log_path
        )
        self._wait_until_ready()
        logs = [self.worker_log_path(number) for number in range(2, self.workers + 1)]
        # Where each log stands: a restarted worker writes on after its earlier lives.
        offsets = [log.stat().st_size if log.exists() else 0 for log in logs]
        for log in logs:
            # Stdin open: the worker stops on its own should the bench die without stopping it.
            worker = self._spawn(["worker", "--until-stdin-closes"], log, stdin=subprocess.PIPE)
            self.worker_processes.append(worker)
        for worker, log, offset in zip(self.worker_processes, logs, offsets, strict=True):
            self._wait_until_working(worker, log, offset)

    def _spawn(
        self, arguments: list[str], log_path: Path, stdin: int | None = None
    ) -> subprocess.Popen:
        command = [sys.executable, "-m", "asyncgate", *arguments]
        with log_path.open("ab") as log:
            return subprocess.Popen(
                command,
                env=self.env(),
                cwd=self.folder,
                stdin=stdin,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def _wait_until_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        with httpx.Client(base_url=self.base_url, timeout=2) as http:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"asyncgate serve exited early:\n{self.output()}")
                try:
                    if http.get("/ready").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.05)
        raise RuntimeError(f"asyncgate serve was not ready in time:\n{self.output()}")

    def _wait_until_working(self, worker: subprocess.Popen, log: Path, offset: int) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if WORKER_READY in log.read_bytes()[offset:]:
                return
            if worker.poll() is not None:
                break
            time.sleep(0.05)
        output = log.read_bytes()[offset:].decode(errors="replace")
        raise RuntimeError(f"asyncgate worker did not start:\n{output}")

    def restart(self, workers: int | None = None) -> None:
        """Stop, then start again on the same database, with this many worker processes."""
        self.stop()
        if workers is not None:
            self.workers = workers
        self.port = free_port()
        self.start()

    def stop(self) -> None:
        """SIGTERM to every process at once; each finishes its batch, or is killed."""
        running = [p for p in (self.process, *self.worker_processes) if p and p.poll() is None]
        for process in running:
            process.send_signal(signal.SIGTERM)
        for process in running:
            try:
                process.wait(STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for worker in self.worker_processes:
            if worker.stdin:
                worker.stdin.close()
        self.worker_processes = []

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def token(self) -> str:
        response = httpx.post(
            f"{self.base_url}/oauth/token",
            data={
                "client_id": self.client_id,
                "client_secret": self.client_secret,
                "grant_type": "client_credentials",
            },
            timeout=10,
        )
        response.raise_for_status()
        return response.json()["access_token"]

    def worker_pids(self) -> list[int]:
        """The worker processes: serve's own and the others."""
        assert self.process is not None
        return [*children(self.process.pid), *(worker.pid for worker in self.worker_processes)]

    def cpu_seconds(self) -> float:
        """User + system CPU time so far of the service: ``serve`` (its worker process
        included), the other worker processes and, when the bench runs it, the database
        server (on SQLite the database is the server's own work)."""
        assert self.process is not None
        pids = [self.process.pid, *(worker.pid for worker in self.worker_processes)]
        if self.database.server_pid is not None:
            pids.append(self.database.server_pid)
        return sum(process_cpu_seconds(pid) for pid in pids)

    # -- the queue, read from the database -----------------------------------------------------

    def _query(self, sql: str, *params: object) -> list[tuple]:
        return self.database.query(sql, *params)

    def _epoch(self, stored: object) -> float | None:
        return None if stored is None else self.database.epoch(stored)

    def unfinished(self) -> int:
        (count,) = self._query(
            "SELECT count(*) FROM requests WHERE state IN ('queued', 'running')"
        )[0]
        return count

    def wait_until_drained(self, timeout: float, poll: float = 0.25) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.unfinished() == 0:
                return True
            time.sleep(poll)
        return self.unfinished() == 0

    def requests_tracked(self, track_id: str) -> list[tuple[str, float, float | None]]:
        """``(state, created, completed)`` of the requests sent with this track ID (epoch s)."""
        rows = self._query(
            "SELECT state, created_at, completed_at FROM requests WHERE track_id = ?",
            track_id,
        )
        return [
            (state, self._epoch(created), self._epoch(completed))
            for state, created, completed in rows
        ]

    def completion_times(self, track_id: str) -> dict[str, float]:
        """Request ID -> completion time (epoch s) of the finished requests with this track ID."""
        rows = self._query(
            "SELECT id, completed_at FROM requests WHERE track_id = ? AND completed_at IS NOT NULL",
            track_id,
        )
        return {request_id: self._epoch(completed) for request_id, completed in rows}

    def completions_between(self, start: float, end: float) -> list[float]:
        """Completion times (epoch s) of requests that succeeded within ``[start, end]``."""
        rows = self._query(
            "SELECT completed_at FROM requests WHERE state = 'succeeded' "
            "AND completed_at >= ? AND completed_at <= ?",
            datetime.fromtimestamp(start, UTC),
            datetime.fromtimestamp(end, UTC),
        )
        return sorted(self._epoch(completed) for (completed,) in rows)

    def undelivered(self) -> int:
        """Callout deliveries still to be sent (pending, or being sent)."""
        return self._query(
            "SELECT count(*) FROM callout_deliveries WHERE state IN ('pending', 'delivering')"
        )[0][0]

    def count_by_state(self) -> dict[str, int]:
        return dict(self._query("SELECT state, count(*) FROM requests GROUP BY state"))

    def accounts(self) -> int:
        return self._query("SELECT count(*) FROM accounts")[0][0]
