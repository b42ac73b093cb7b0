"""asyncgate next to a Celery + Redis peer, in one sitting: ``make bench-peer``.

Runs, one after the other on the same machine and against the same HTTPS receiver
(``receiver.py``, in a process of its own), the same work on three systems:

- **asyncgate**: ``asyncgate serve`` (its API and its worker process) on a fresh SQLite file,
  durable commits, tenant quotas off, one notification definition sending every ``Async
  Request Succeeded`` to the receiver (as ``callouts.py`` sets it up);
- **peer**: the Celery + Redis build in ``peer/`` (FastAPI on uvicorn publishes a task per
  request; a Celery worker, ``acks_late``, inserts the account with SQLAlchemy into a SQLite
  file with durable commits and posts the callout with httpx), its Redis as shipped
  (``appendfsync everysec``: an accepted request can be lost in a crash);
- **peer-durable**: the same, its Redis with ``appendfsync always`` (an accepted request is
  on disk, as in asyncgate).

Each gets a warm-up (executed, not counted), then a backlog of N async account creations sent
closed loop as fast as accepted, with the same load generator and connection count, and the
benchmark waits until every callout has arrived and the system is idle. Per system it prints
accepts/s and accept p99; end-to-end callouts/s (N over first accept sent to last callout
arrived); callouts/s from first to last arrival; callouts missing or sent twice; accounts
created; and the CPU time per request of the system's own processes. Then the ratios
asyncgate / peer for accepts/s and end-to-end callouts/s, with the target: at least 4 times
the durable peer on both. It saves everything to ``benchmarks/results/peer-latest.json``.

Redis, Celery and redis-py are bench-only: ``peer/setup.sh`` installs them.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, Self

import httpx
import redis
from callouts import CalloutBench
from database import SqliteDatabase
from loadgen import LoadGenerators, Result, build_request
from machine import busy_cpu_seconds, children, describe, own_cpu_seconds, process_cpu_seconds
from receiver import Arrival, ReceiverProcess, free_port, server_settings
from run import ACCOUNT, SERVER_ENV, parse_setting
from server import Server
from stats import distribution_ms

PEER = Path(__file__).parent / "peer"
RESULTS = Path(__file__).parent / "results" / "peer-latest.json"
SYSTEMS = ("asyncgate", "peer", "peer-durable")
TARGET_RATIO = 4.0
# Above this many CPUs' worth of other processes' work during a system's run, it is flagged.
BUSY_MACHINE_CPUS = 0.25
READY_SECONDS = 30
STOP_SECONDS = 15


def parse_options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20_000, help="creations per system")
    parser.add_argument("--connections", type=int, default=32, help="concurrent accepts")
    parser.add_argument("--warm-up", type=int, default=500, help="creations before measuring")
    parser.add_argument(
        "--timeout", type=float, default=600, help="seconds to wait for a system's callouts"
    )
    parser.add_argument(
        "--set", action="append", default=[], metavar="NAME=VALUE", help="an asyncgate setting"
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=SYSTEMS,
        help="run this system only (repeatable); all three by default",
    )
    parser.add_argument(
        "--pool", default="threads", choices=("threads", "prefork", "solo"), help="the Celery pool"
    )
    parser.add_argument("--concurrency", type=int, default=8, help="Celery worker concurrency")
    parser.add_argument("--prefetch", type=int, default=4, help="worker_prefetch_multiplier")
    parser.add_argument("--keep", action="store_true", help="keep the databases and logs")
    return parser.parse_args()


class System(Protocol):
    name: str
    host: str

    @property
    def port(self) -> int: ...

    def request(self) -> bytes: ...

    def cpu(self) -> dict[str, float]: ...

    def idle(self) -> bool: ...

    def accounts(self) -> int: ...

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc: object) -> None: ...


class Asyncgate:
    """``asyncgate serve`` as ``callouts.py`` runs it, with one definition to the receiver."""

    name = "asyncgate"
    host = "127.0.0.1"

    def __init__(
        self, folder: Path, receiver: ReceiverProcess, load: LoadGenerators, settings: list[str]
    ) -> None:
        folder.mkdir()
        env = {
            **SERVER_ENV,
            **server_settings(receiver.ca_path),
            **dict(map(parse_setting, settings)),
        }
        database = SqliteDatabase(folder / "asyncgate.db")
        self.server = Server(folder, database, host=self.host, extra_env=env)
        self.receiver = receiver
        self.load = load
        self.token = ""

    @property
    def port(self) -> int:
        return self.server.port

    def __enter__(self) -> Self:
        try:
            self.server.start()
            bench = CalloutBench(self.server, self.receiver, self.load)
            bench.add_definition()
            self.token = bench.token
        except BaseException:
            self.server.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()

    def request(self) -> bytes:
        return _request(self, self.token)

    def cpu(self) -> dict[str, float]:
        assert self.server.process is not None
        pid = self.server.process.pid
        return {
            "api": own_cpu_seconds(pid),
            "worker": sum(process_cpu_seconds(child) for child in children(pid)),
        }

    def idle(self) -> bool:
        return not self.server.unfinished() and not self.server.undelivered()

    def accounts(self) -> int:
        return self.server.accounts()


class RedisServer:
    """A throwaway ``redis-server`` on a free loopback port: no snapshots, the append-only
    file on, fsynced as ``appendfsync`` says."""

    host = "127.0.0.1"

    def __init__(self, folder: Path, appendfsync: str) -> None:
        self.folder = folder
        self.appendfsync = appendfsync
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.client = redis.Redis(host=self.host, port=self.port, socket_timeout=5)

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    def __enter__(self) -> Self:
        self.folder.mkdir()
        command = [
            shutil.which("redis-server") or "redis-server",
            *("--bind", self.host, "--port", str(self.port), "--dir", str(self.folder)),
            *("--save", "", "--appendonly", "yes", "--appendfsync", self.appendfsync),
            *("--logfile", str(self.folder / "redis.log")),
        ]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + READY_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited early: see {self.folder}/redis.log")
            try:
                if self.client.ping():
                    return self
            except redis.ConnectionError:
                time.sleep(0.05)
        self.__exit__()
        raise RuntimeError("redis-server was not ready in time")

    def __exit__(self, *exc: object) -> None:
        self.client.close()
        _stop(self.process)

    def pending(self) -> int:
        """Tasks not yet acknowledged: queued, or taken by a worker (kombu's ``unacked``)."""
        return self.client.llen("celery") + self.client.hlen("unacked")


class Peer:
    """The Celery + Redis peer: its Redis, its API (uvicorn) and its Celery worker."""

    host = "127.0.0.1"

    def __init__(
        self,
        name: str,
        folder: Path,
        receiver: ReceiverProcess,
        appendfsync: str,
        options: argparse.Namespace,
    ) -> None:
        self.name = name
        self.folder = folder
        self.receiver = receiver
        self.options = options
        self.port = free_port()
        self.redis = RedisServer(folder / "redis", appendfsync)
        self.api: subprocess.Popen | None = None
        self.worker: subprocess.Popen | None = None

    @property
    def database_path(self) -> Path:
        return self.folder / "peer.db"

    def env(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith("PEER_")}
        path = [str(PEER), *filter(None, [env.get("PYTHONPATH")])]
        key = base64.b64encode(secrets.token_bytes(24)).decode()
        env.update(
            PYTHONPATH=os.pathsep.join(path),
            PEER_BROKER_URL=self.redis.url,
            PEER_DATABASE=str(self.database_path),
            PEER_CALLOUT_URL=self.receiver.url("/bench/peer"),
            PEER_CA_BUNDLE=str(self.receiver.ca_path),
            PEER_SIGNING_SECRET=f"whsec_{key}",
            PEER_PREFETCH=str(self.options.prefetch),
        )
        return env

    def __enter__(self) -> Self:
        self.folder.mkdir()
        self.redis.__enter__()
        try:
            self._start()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _start(self) -> None:
        python, env, log = sys.executable, self.env(), self.folder / "peer.log"
        with log.open("ab") as output:
            self.worker = subprocess.Popen(
                [
                    *(python, "-m", "celery", "--app", "tasks", "worker"),
                    *("--pool", self.options.pool, "--concurrency", str(self.options.concurrency)),
                    *("--loglevel", "WARNING", "--without-gossip", "--without-mingle"),
                    "--without-heartbeat",
                ],
                cwd=self.folder,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
            self.api = subprocess.Popen(
                [
                    *(python, "-m", "uvicorn", "app:app", "--host", self.host),
                    *("--port", str(self.port), "--loop", "uvloop", "--http", "httptools"),
                    *("--no-access-log", "--log-level", "warning"),
                ],
                cwd=self.folder,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + READY_SECONDS
        with httpx.Client(base_url=f"http://{self.host}:{self.port}", timeout=2) as http:
            while time.monotonic() < deadline:
                if self.api.poll() is not None or self.worker.poll() is not None:
                    raise RuntimeError(f"the peer exited early:\n{log.read_text()}")
                try:
                    if http.get("/health").status_code == 200:
                        return
                except httpx.TransportError:
                    time.sleep(0.05)
        raise RuntimeError(f"the peer was not ready in time:\n{log.read_text()}")

    def __exit__(self, *exc: object) -> None:
        _stop(self.api)
        _stop(self.worker)  # a warm shutdown: running tasks finish first
        self.redis.__exit__()

    def request(self) -> bytes:
        return _request(self, secrets.token_urlsafe(30))

    def cpu(self) -> dict[str, float]:
        assert self.api is not None and self.worker is not None and self.redis.process
        return {
            "api": process_cpu_seconds(self.api.pid),
            "worker": process_cpu_seconds(self.worker.pid),
            "broker": process_cpu_seconds(self.redis.process.pid),
        }

    def idle(self) -> bool:
        return self.redis.pending() == 0

    def accounts(self) -> int:
        connection = sqlite3.connect(f"file:{self.database_path}?mode=ro", uri=True, timeout=30)
        try:
            return connection.execute("SELECT count(*) FROM accounts").fetchone()[0]
        finally:
            connection.close()


def _request(system: System, token: str) -> bytes:
    return build_request(
        "POST",
        "/v1/async/accounts",
        f"{system.host}:{system.port}",
        {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        ACCOUNT,
    )


def _stop(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def backlog(
    system: System,
    receiver: ReceiverProcess,
    load: LoadGenerators,
    requests: int,
    connections: int,
    timeout: float,
) -> tuple[Result, list[Arrival]]:
    """``requests`` creations as fast as accepted, then every callout that arrived until all
    had, the system was idle, or ``timeout`` seconds passed."""
    accepted = load.run(
        host=system.host,
        port=system.port,
        request=system.request(),
        duration=timeout,
        connections=connections,
        max_requests=requests,
    )
    deadline = time.monotonic() + timeout
    arrivals = receiver.wait_for(accepted.statuses[202], timeout)
    while not system.idle() and time.monotonic() < deadline:
        time.sleep(0.1)
    return accepted, arrivals + receiver.take()  # and whatever arrived twice meanwhile


def measure(
    system: System,
    receiver: ReceiverProcess,
    load: LoadGenerators,
    options: argparse.Namespace,
) -> dict[str, Any]:
    if options.warm_up:
        backlog(system, receiver, load, options.warm_up, options.connections, options.timeout)
    accounts_before = system.accounts()
    cpu_before = {**system.cpu(), "receiver": own_cpu_seconds(receiver.pid)}
    busy_before = busy_cpu_seconds()
    # The load generator counts in CLOCK_MONOTONIC, the receiver in wall-clock time.
    wall_minus_monotonic = time.time() - time.monotonic()
    started = time.monotonic()
    accepted, arrivals = backlog(
        system, receiver, load, options.requests, options.connections, options.timeout
    )
    wall = time.monotonic() - started
    cpu = {
        name: seconds - cpu_before[name]
        for name, seconds in {**system.cpu(), "receiver": own_cpu_seconds(receiver.pid)}.items()
    }
    others = busy_cpu_seconds() - busy_before - sum(cpu.values()) - accepted.cpu_seconds
    return figures(
        system.name,
        accepted,
        arrivals,
        first_send=accepted.first_send + wall_minus_monotonic,
        accounts=system.accounts() - accounts_before,
        cpu=cpu,
        load_cpu=accepted.cpu_seconds,
        others_share=others / wall if wall > 0 else 0.0,
    )


def figures(
    name: str,
    accepted: Result,
    arrivals: list[Arrival],
    *,
    first_send: float,
    accounts: int,
    cpu: dict[str, float],
    load_cpu: float,
    others_share: float,
) -> dict[str, Any]:
    accepts = accepted.statuses[202]
    times = Counter(arrival.notification_id for arrival in arrivals)
    first: dict[str | None, Arrival] = {}
    for arrival in arrivals:
        first.setdefault(arrival.notification_id, arrival)
    per_request = Counter(arrival.request_id for arrival in first.values())
    moments = sorted(arrival.at for arrival in first.values())
    delivered = len(per_request)
    system_cpu = {key: value for key, value in cpu.items() if key != "receiver"}
    return {
        "system": name,
        "requests": sum(accepted.statuses.values()) + accepted.errors,
        "accepted": accepts,
        "refused": sum(accepted.statuses.values()) - accepts + accepted.errors,
        "accepts_per_second": _rate(accepts, accepted.last_answer - accepted.first_send),
        "accept_latency": distribution_ms(accepted.latencies),
        "accept_p99_ms": distribution_ms(accepted.latencies)["p99_ms"],
        "callouts_delivered": delivered,
        "callouts_missing": accepts - delivered,
        "callouts_sent_twice": sum(count > 1 for count in times.values()),
        "requests_with_two_notifications": sum(count > 1 for count in per_request.values()),
        "accounts_created": accounts,
        "end_to_end_per_second": _rate(delivered, moments[-1] - first_send if moments else 0),
        "end_to_end_seconds": round(moments[-1] - first_send, 2) if moments else None,
        "callouts_per_second": _rate(delivered, moments[-1] - moments[0] if moments else 0),
        "cpu_ms_per_request": {
            **{key: _per(value, accepts) for key, value in system_cpu.items()},
            "total": _per(sum(system_cpu.values()), accepts),
        },
        "receiver_cpu_ms_per_callout": _per(cpu["receiver"], delivered),
        "load_generator_cpu_ms_per_request": _per(load_cpu, accepts),
        "other_processes_cpu_share": round(others_share, 2),
    }


def _rate(count: int, seconds: float) -> float | None:
    return round(count / seconds, 1) if seconds > 0 else None


def _per(seconds: float, count: int) -> float:
    return round(seconds * 1000 / max(count, 1), 3)


def exactly_once(result: dict[str, Any]) -> bool:
    return (
        result["callouts_missing"] == 0
        and result["callouts_sent_twice"] == 0
        and result["requests_with_two_notifications"] == 0
        and result["accounts_created"] == result["accepted"]
        and result["refused"] == 0
    )


def ratios(results: dict[str, dict[str, Any]]) -> dict[str, dict[str, float | None]]:
    """asyncgate / each peer, for accepts/s and end-to-end callouts/s."""
    ours = results.get("asyncgate")
    found: dict[str, dict[str, float | None]] = {}
    for name in ("peer", "peer-durable"):
        peer = results.get(name)
        if ours is None or peer is None:
            continue
        found[name] = {
            key: round(ours[key] / peer[key], 2) if ours[key] and peer[key] else None
            for key in ("accepts_per_second", "end_to_end_per_second")
        }
    return found


def targets(
    results: dict[str, dict[str, Any]], found: dict[str, dict[str, float | None]]
) -> list[tuple[str, bool]]:
    checks = [
        (f"{name}: every accepted request created once, its callout arrived once", exactly_once(r))
        for name, r in results.items()
    ]
    durable = found.get("peer-durable")
    if durable is not None:
        for key, label in (
            ("accepts_per_second", "accepts/s"),
            ("end_to_end_per_second", "end-to-end callouts/s"),
        ):
            ratio = durable[key] or 0.0
            checks.append(
                (
                    f"{label}: asyncgate / durable peer {ratio:g}x >= {TARGET_RATIO:g}x",
                    ratio >= TARGET_RATIO,
                )
            )
    return checks


ROWS = (
    ("accepted", "accepted", "{:,}"),
    ("accepts/s", "accepts_per_second", "{:,.0f}"),
    ("accept p50 ms", None, "{}"),
    ("accept p99 ms", "accept_p99_ms", "{}"),
    ("end-to-end callouts/s", "end_to_end_per_second", "{:,.0f}"),
    ("  first accept -> last callout s", "end_to_end_seconds", "{}"),
    ("callouts/s, first to last arrival", "callouts_per_second", "{:,.0f}"),
    ("callouts missing", "callouts_missing", "{}"),
    ("callouts sent twice", "callouts_sent_twice", "{}"),
    ("accounts created", "accounts_created", "{:,}"),
    ("CPU ms per request, API", ("cpu_ms_per_request", "api"), "{}"),
    ("  worker", ("cpu_ms_per_request", "worker"), "{}"),
    ("  broker (Redis)", ("cpu_ms_per_request", "broker"), "{}"),
    ("  total", ("cpu_ms_per_request", "total"), "{}"),
    ("receiver CPU ms per callout", "receiver_cpu_ms_per_callout", "{}"),
    ("other processes, CPUs busy", "other_processes_cpu_share", "{}"),
)


def report(results: dict[str, dict[str, Any]], found: dict[str, dict[str, float | None]]) -> None:
    names = list(results)
    print(f"\n{'':34}" + "".join(f"{name:>14}" for name in names))
    for label, key, form in ROWS:
        cells = []
        for name in names:
            result = results[name]
            if key is None:
                value = result["accept_latency"]["p50_ms"]
            elif isinstance(key, tuple):
                value = result[key[0]].get(key[1])
            else:
                value = result[key]
            cells.append("-" if value is None else form.format(value))
        print(f"{label:34}" + "".join(f"{cell:>14}" for cell in cells))
    for name, result in results.items():
        if result["other_processes_cpu_share"] > BUSY_MACHINE_CPUS:
            print(
                f"note: other processes kept {result['other_processes_cpu_share']} CPUs busy "
                f"during {name}'s run: its figures are lower than on a quiet machine"
            )
    for name, ratio in found.items():
        print(
            f"\nasyncgate / {name}: accepts/s {ratio['accepts_per_second']}x, "
            f"end-to-end callouts/s {ratio['end_to_end_per_second']}x"
        )


def main() -> int:
    options = parse_options()
    chosen = [name for name in SYSTEMS if name in (options.only or SYSTEMS)]
    folder = Path(tempfile.mkdtemp(prefix="asyncgate-peer-"))
    started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    machine = describe()
    print(f"machine: {machine['cpus']} CPUs, {machine['cpu_model']}, ", end="")
    print(f"load {machine['load_average_at_start']}")
    print(
        f"{options.requests:,} creations per system, {options.connections} connections; "
        f"asyncgate settings: {options.set or 'defaults'}; Celery pool {options.pool}, "
        f"concurrency {options.concurrency}, prefetch {options.prefetch}"
    )
    results: dict[str, dict[str, Any]] = {}
    load = LoadGenerators(1)
    try:
        with ReceiverProcess(folder) as receiver:
            for name in chosen:
                system: System
                if name == "asyncgate":
                    system = Asyncgate(folder / name, receiver, load, options.set)
                else:
                    fsync = "always" if name == "peer-durable" else "everysec"
                    system = Peer(name, folder / name, receiver, fsync, options)
                print(f"{name} ...", end=" ", flush=True)
                began = time.monotonic()
                with system:
                    results[name] = measure(system, receiver, load, options)
                print(f"{time.monotonic() - began:.0f} s", flush=True)
    finally:
        load.close()
        if options.keep:
            print(f"databases and logs kept in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    found = ratios(results)
    report(results, found)
    checks = targets(results, found)
    print("\ntargets:")
    for label, held in checks:
        print(f"  {'PASS' if held else 'FAIL'}  {label}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "started": started,
                "machine": machine,
                "options": {
                    key: value for key, value in vars(options).items() if key not in ("keep",)
                },
                "systems": results,
                "ratios": found,
                "targets": [{"check": label, "held": held} for label, held in checks],
            },
            indent=2,
        )
        + "\n"
    )
    print(f"figures saved to {RESULTS}")
    # A figure below its target is a finding; a system that lost or doubled work is a failure.
    return 0 if all(exactly_once(result) for result in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
