"""A fault soak: ``.venv/bin/python benchmarks/soak.py --duration 300`` (``--database postgresql``).

Starts ``asyncgate serve`` on loopback (a fresh database, ``--database`` as for ``run.py``;
durable commits, the default settings but for the tenant quotas, a callout timeout of
``--callout-timeout`` seconds and callout minutes of ``--minute`` seconds) and a receiver in a
process of its own (``receiver.py``) that misbehaves: it answers 500 or 503 to 20 % of the
callouts, answers nothing to 5 % until well past the callout timeout, and resets the connection
of 3 %, decided from ``--seed`` and each request's track ID (``soak-<n>``, the same on every
run) and attempt, so that a rerun meets the same faults. The tenant gets a signing secret,
callout settings of 3 attempts 1 minute apart, one definition per async event type to the
receiver, and a console user. Then, for ``--duration`` seconds, open loop at fixed rates:

- async account creations (``POST /v1/async/accounts``), each named with a marker of its own;
  one in 20 with a currency no account may have (``usd``), which fails when executed;
- synchronous writes: account creations, each with a marker of its own, and updates of them;
- synchronous reads: an account, an async request's status, the callout history;
- console reads, signed in: the dashboard, the requests, one request, the callout history;

while serve's worker process is killed with SIGKILL every ``--kill-every`` seconds (serve
restarts it), and the memory (RSS) of serve's processes is sampled every few seconds. Once
every request and callout is final (or ``--drain-timeout`` has passed), it reads the database
and the receiver's arrivals (by ``Zuora-Notification-Id``) and reports:

- async requests accepted; executed once (final, with one outcome event, and one account per
  marker for a creation that succeeded, none for one that failed); lost (accepted but missing,
  unfinished, or succeeded without its account: must be 0); executed twice (two accounts for a
  marker, or two outcome events: must be 0); run again after a kill (rolled back, not twice);
- synchronous creations answered 200 without exactly one account (must be 0);
- callouts: one delivery per outcome, none missing; delivered (and seen arriving with a 200),
  failed per the retry policy (every attempt made and failed), or neither (must be 0);
  redeliveries of a callout already answered 200, apart: after a kill (at least once) or not
  (must be 0); retries sooner than the policy's interval (must be 0);
- RSS of every process of serve at its start, after the warm-up and at its end (growth after
  the warm-up must stay under 10 %): the API's, and each life of the worker process;
- every 5xx the load saw (must be 0), and errors in the server's log.

It saves the figures to ``benchmarks/results/soak-<database>-latest.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import re
import secrets
import shutil
import signal
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import psutil
import uvloop
from database import BenchDatabase, add_options, check_options, open_database
from loadgen import KeptConnections, build_request
from machine import busy_cpu_seconds, children, describe, own_cpu_seconds
from receiver import OK_ANSWER, Arrival, Faults, ReceiverProcess, definition_body, server_settings
from run import SERVER_ENV, parse_setting
from server import Server, is_sender_process
from stats import distribution_ms

RESULTS = Path(__file__).parent / "results"
# Each async creation's Zuora-Track-Id: the same on every run, so that the receiver's faults
# strike the same requests on a rerun with the same seed.
TRACK_ID = "soak-{number}"
SUCCEEDED, FAILED = "Async Request Succeeded", "Async Request Failed"
FINAL_STATES = ("succeeded", "failed", "cancelled")
# One async creation in this many carries a currency no account may have: it fails when run.
FAILING_EVERY = 20
MAX_ATTEMPTS = 3
INTERVAL_MINUTES = 1
RSS_SAMPLE_SECONDS = 5.0
RSS_GROWTH_LIMIT = 0.10
ADMIN_EMAIL = "admin@example.com"
# How early a retry may arrive against the policy's interval (clock reads of two processes).
INTERVAL_TOLERANCE_SECONDS = 0.05
SERVER_ERROR_SAMPLES = 20
WINDOW_SECONDS = 5.0
CONNECTIONS = 32
# A line of the server's log that starts a record (not one of a traceback's).
LOG_RECORD = re.compile(r"^(\d{4}-\d\d-\d\d |INFO:|WARNING:|ERROR:|worker-|sender-)")
LOG_ERRORS_KEPT = 5
LOG_LINES_PER_ERROR = 80
CONSOLE_CONNECTIONS = 4


def parse_options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=300, help="seconds of load")
    parser.add_argument("--kill-every", type=float, default=60, help="seconds between SIGKILLs")
    parser.add_argument(
        "--warm-up", type=float, help="seconds of a process's life before its RSS counts (30)"
    )
    parser.add_argument("--async-rate", type=float, default=30, help="async creations/s")
    parser.add_argument("--write-rate", type=float, default=4, help="synchronous writes/s")
    parser.add_argument("--read-rate", type=float, default=10, help="synchronous reads/s")
    parser.add_argument("--console-rate", type=float, default=1, help="console pages/s")
    parser.add_argument("--seed", type=int, default=1, help="the receiver's faults")
    parser.add_argument("--fail", type=float, default=0.20, help="share answered 500 or 503")
    parser.add_argument("--hang", type=float, default=0.05, help="share never answered")
    parser.add_argument("--reset", type=float, default=0.03, help="share reset")
    parser.add_argument(
        "--callout-timeout", type=float, default=1.0, help="seconds (the server's setting)"
    )
    parser.add_argument(
        "--minute", type=float, default=2.0, help="seconds a callout interval minute lasts"
    )
    parser.add_argument(
        "--drain-timeout", type=float, default=300, help="longest wait for the end (s)"
    )
    parser.add_argument(
        "--set", action="append", default=[], metavar="NAME=VALUE", help="a server setting"
    )
    parser.add_argument("--keep", action="store_true", help="keep the bench's folder")
    add_options(parser)
    options = parser.parse_args()
    check_options(parser, options)
    if options.workers != 1:
        parser.error("the soak kills serve's own worker process, which serve restarts: one only")
    if options.warm_up is None:
        options.warm_up = min(30.0, options.kill_every / 2)
    return options


# -- the load -----------------------------------------------------------------------------------


@dataclass
class Load:
    """What the load generator sent and saw, per kind of request."""

    statuses: defaultdict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    transport_errors: Counter[str] = field(default_factory=Counter)
    latencies: defaultdict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    # (due, latency) of every answer, for the latency window by window.
    timeline: list[tuple[float, float]] = field(default_factory=list)
    started: float = 0.0  # time.monotonic() when the load began
    server_errors: list[dict[str, Any]] = field(default_factory=list)
    server_error_count: int = 0
    # Async request ID -> (marker, the state its execution must end in).
    accepted: dict[str, tuple[str, str]] = field(default_factory=dict)
    async_refused: Counter[int] = field(default_factory=Counter)
    # Marker -> account ID, of the synchronous creations answered 200.
    created: dict[str, str] = field(default_factory=dict)
    updated: int = 0

    def saw(self, kind: str, request: str, status: int, body: bytes, due: float) -> None:
        """An answer to a request that fell due at ``due`` (``time.monotonic()``)."""
        self.statuses[kind][status] += 1
        latency = time.monotonic() - due
        self.latencies[kind].append(latency)
        self.timeline.append((due, latency))
        if status >= 500:
            self.server_error_count += 1
            if len(self.server_errors) < SERVER_ERROR_SAMPLES:
                sample = {"kind": kind, "request": request, "status": status}
                self.server_errors.append(sample | {"body": body[:500].decode(errors="replace")})

    def figures(self) -> dict[str, Any]:
        return {
            "statuses": {k: dict(sorted(v.items())) for k, v in self.statuses.items()},
            "latency": {k: distribution_ms(v) for k, v in self.latencies.items()},
            "latency_by_window": self.windows(WINDOW_SECONDS),
            "transport_errors": dict(self.transport_errors),
            "server_errors": self.server_error_count,
            "server_error_samples": self.server_errors,
        }

    def windows(self, seconds: float) -> list[dict[str, Any]]:
        """Every answer's latency, by the window of the load it fell due in."""
        by_window: defaultdict[int, list[float]] = defaultdict(list)
        for due, latency in self.timeline:
            by_window[int((due - self.started) // seconds)].append(latency)
        return [
            {"from_s": window * seconds, "answers": len(by_window[window])}
            | distribution_ms(by_window[window])
            for window in sorted(by_window)
        ]


Send = Callable[[int, float], Awaitable[None]]


class LoadGenerator:
    """Open loop: each kind of request falls due at its own fixed rate, whatever the server
    does, and waits for a free connection (``loadgen.KeptConnections``); its latency counts
    from when it fell due. A request that gets no answer counts as a transport error."""

    def __init__(self, server: Server, token: str, console_cookie: str, load: Load) -> None:
        self.authority = f"{server.host}:{server.port}"
        self.api = KeptConnections(server.host, server.port, CONNECTIONS)
        self.console = KeptConnections(server.host, server.port, CONSOLE_CONNECTIONS)
        self.api_headers = {"Authorization": f"Bearer {token}"}
        self.console_headers = {"Cookie": console_cookie}
        self.load = load
        self.run_id = uuid.uuid4().hex[:8]
        self.requests_seen: list[str] = []

    async def offer(self, options: argparse.Namespace) -> None:
        self.load.started = time.monotonic()
        kinds: list[tuple[float, Send]] = [
            (options.async_rate, self.async_creation),
            (options.write_rate, self.sync_write),
            (options.read_rate, self.sync_read),
            (options.console_rate, self.console_read),
        ]
        try:
            async with asyncio.TaskGroup() as group:
                for rate, send in kinds:
                    if rate > 0:
                        group.create_task(self._at_rate(rate, options.duration, send))
        finally:
            self.api.close()
            self.console.close()

    async def _at_rate(self, rate: float, duration: float, send: Send) -> None:
        start = time.monotonic()
        sent: set[asyncio.Task[None]] = set()
        number = 0
        while number / rate < duration:
            due = start + number / rate
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            task = asyncio.create_task(self._guarded(send, number, due))
            sent.add(task)
            task.add_done_callback(sent.discard)
            number += 1
        if sent:
            await asyncio.wait(sent)

    async def _guarded(self, send: Send, number: int, due: float) -> None:
        try:
            await send(number, due)
        except (OSError, TimeoutError) as error:  # ConnectionError is an OSError
            self.load.transport_errors[f"{send.__name__}: {type(error).__name__}"] += 1

    async def call(
        self,
        kind: str,
        due: float,
        method: str,
        path: str,
        body: bytes = b"",
        **headers: str,
    ) -> tuple[int, bytes]:
        """One API request (the console's under ``kind`` "console read"), recorded."""
        connections, sent = self.api, dict(self.api_headers)
        if kind == "console read":
            connections, sent = self.console, dict(self.console_headers)
        if body:
            sent["Content-Type"] = "application/json"
        sent |= {name.replace("_", "-"): value for name, value in headers.items()}
        request = build_request(method, path, self.authority, sent, body)
        status, answer = await connections.exchange(request)
        self.load.saw(kind, f"{method} {path}", status, answer, due)
        return status, answer

    def marker(self, kind: str, number: int) -> str:
        return f"soak {self.run_id} {kind} {number}"

    async def async_creation(self, number: int, due: float) -> None:
        marker = self.marker("async", number)
        failing = number % FAILING_EVERY == FAILING_EVERY - 1
        body = _account(marker, currency="usd" if failing else "USD")
        status, answer = await self.call(
            "async accept",
            due,
            "POST",
            "/v1/async/accounts",
            body,
            Zuora_Track_Id=TRACK_ID.format(number=number),
        )
        if status == 202:
            request_id = orjson.loads(answer)["requestId"]
            self.load.accepted[request_id] = (marker, "failed" if failing else "succeeded")
            self.requests_seen.append(request_id)
        else:
            self.load.async_refused[status] += 1

    async def sync_write(self, number: int, due: float) -> None:
        created = list(self.load.created.values())
        if number % 2 and created:
            account = created[number % len(created)]
            update = orjson.dumps({"notes": f"update {number}"})
            status, _ = await self.call(
                "sync update", due, "PUT", f"/v1/accounts/{account}", update
            )
            self.load.updated += status == 200
            return
        marker = self.marker("sync", number)
        status, answer = await self.call(
            "sync create", due, "POST", "/v1/accounts", _account(marker)
        )
        if status == 200 and (created_account := orjson.loads(answer)).get("success"):
            self.load.created[marker] = created_account["accountId"]

    async def sync_read(self, number: int, due: float) -> None:
        created = list(self.load.created.values())
        choice = number % 3
        if choice == 0 and created:
            path = f"/v1/accounts/{created[number % len(created)]}"
        elif choice == 1 and self.requests_seen:
            path = f"/v1/async-requests/{self._recent_request(number)}"
        else:
            path = "/v1/notification-history/callout?failedOnly=false&pageSize=40"
        await self.call("sync read", due, "GET", path)

    async def console_read(self, number: int, due: float) -> None:
        pages = ["/console", "/console/requests", "/console/callouts/history"]
        if self.requests_seen:
            pages.append(f"/console/requests/{self._recent_request(number)}")
        await self.call("console read", due, "GET", pages[number % len(pages)])

    def _recent_request(self, number: int) -> str:
        """One of the last 50 requests accepted."""
        recent = self.requests_seen[-50:]
        return recent[number % len(recent)]


def _account(name: str, currency: str = "USD") -> bytes:
    return orjson.dumps(
        {
            "name": name,
            "currency": currency,
            "billToContact": {"firstName": "Ada", "lastName": "Lovelace", "workEmail": "a@x.io"},
        }
    )


# -- the faults and the memory ------------------------------------------------------------------


def worker_pid(server: Server, killed: set[int]) -> int | None:
    """serve's worker process (not its sender process, when it runs one), if running now and
    not one killed already (serve may not have reaped it yet)."""
    assert server.process is not None
    running = [
        pid
        for pid in children(server.process.pid)
        if pid not in killed and not is_sender_process(pid)
    ]
    return running[0] if running else None


async def kill_workers(server: Server, every: float, duration: float, kills: list[dict]) -> None:
    """SIGKILL serve's worker process every ``every`` seconds of the load (or as soon after as
    serve has restarted it)."""
    started = time.monotonic()
    killed: set[int] = set()
    number = 1
    while number * every < duration:
        await asyncio.sleep(started + number * every - time.monotonic())
        while (pid := worker_pid(server, killed)) is None:  # serve is restarting it
            if time.monotonic() - started >= duration:
                return
            await asyncio.sleep(0.1)
        os.kill(pid, signal.SIGKILL)
        killed.add(pid)
        kills.append(
            {"at": time.time(), "after_s": round(time.monotonic() - started, 1), "pid": pid}
        )
        number = max(number + 1, math.ceil((time.monotonic() - started) / every))


@dataclass
class Life:
    """One process of serve, from the first sample that saw it to the last."""

    pid: int
    role: str
    samples: list[tuple[float, int]] = field(default_factory=list)  # (monotonic, RSS bytes)


class MemorySampler:
    def __init__(self, server: Server) -> None:
        self.server = server
        self.lives: dict[int, Life] = {}

    def sample(self) -> None:
        assert self.server.process is not None
        api = self.server.process.pid
        now = time.monotonic()
        for pid in [api, *children(api)]:
            try:
                rss = psutil.Process(pid).memory_info().rss
            except psutil.NoSuchProcess:
                continue
            if not rss:  # killed, not yet reaped
                continue
            if pid not in self.lives:
                role = "API" if pid == api else "sender" if is_sender_process(pid) else "worker"
                self.lives[pid] = Life(pid, role)
            self.lives[pid].samples.append((now, rss))

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self.sample()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), RSS_SAMPLE_SECONDS)

    def figures(self, warm_up: float) -> list[dict[str, Any]]:
        rows = []
        for life in self.lives.values():
            (born, first), (last_seen, last) = life.samples[0], life.samples[-1]
            warm = next(((t, rss) for t, rss in life.samples if t - born >= warm_up), None)
            counted = warm is not None and last_seen > warm[0]
            rows.append(
                {
                    "process": life.role,
                    "pid": life.pid,
                    "lived_s": round(last_seen - born, 1),
                    "rss_start_mb": _mb(first),
                    "rss_warm_mb": _mb(warm[1]) if warm else None,
                    "rss_end_mb": _mb(last),
                    "growth_after_warm_up": round(last / warm[1] - 1, 4) if counted else None,
                }
            )
        return rows


def _mb(value: int) -> float:
    return round(value / 2**20, 1)


# -- what happened, from the database and the receiver ------------------------------------------


def requests_outcome(database: BenchDatabase, load: Load) -> dict[str, Any]:
    rows = database.query(
        "SELECT r.id, r.state, a.attempts FROM requests r "
        "LEFT JOIN async_requests a ON a.id = r.id WHERE r.track_id LIKE ?",
        TRACK_ID.format(number="%"),
    )
    stored = {request_id: (state, attempts or 0) for request_id, state, attempts in rows}
    accounts = Counter(
        dict(
            database.query(
                "SELECT name, count(*) FROM accounts GROUP BY name HAVING name LIKE 'soak %'"
            )
        )
    )
    events = Counter[str]()
    for object_id, count in database.query(
        "SELECT object_id, count(*) FROM outbox_events GROUP BY object_id"
    ):
        events[object_id] = count
    once, lost, twice, wrong, run_again = [], [], [], [], 0
    for request_id, (marker, expected) in load.accepted.items():
        state, attempts = stored.get(request_id, (None, 0))
        made = accounts[marker]
        if made > 1 or events[request_id] > 1:
            twice.append(request_id)
        elif (
            state not in FINAL_STATES or not events[request_id] or (state, made) == ("succeeded", 0)
        ):
            lost.append(request_id)
        elif state != expected or (state == "failed" and made):
            wrong.append(request_id)
        else:
            once.append(request_id)
        run_again += attempts > 1
    created_wrongly = [m for m in load.created if accounts[m] != 1]
    return {
        "accepted": len(load.accepted),
        "refused_at_accept": dict(load.async_refused),
        "executed_once": len(once),
        "lost": len(lost),
        "executed_twice": len(twice),
        "wrong_outcome": len(wrong),
        "run_again_after_a_kill": run_again,
        "failed_as_meant": sum(load.accepted[r][1] == "failed" for r in once),
        "stored_but_not_seen_accepted": len(set(stored) - set(load.accepted)),
        "sync_created": len(load.created),
        "sync_created_without_exactly_one_account": len(created_wrongly),
        "sync_updated": load.updated,
        "examples": {"lost": lost[:5], "twice": twice[:5], "wrong": wrong[:5]},
    }


def callouts_outcome(
    database: BenchDatabase,
    load: Load,
    arrivals: list[Arrival],
    kills: list[dict],
    interval: float,
) -> dict[str, Any]:
    deliveries = {
        row[0]: row[1:]
        for row in database.query(
            "SELECT id, object_id, event_type, state, attempts, max_attempts "
            "FROM callout_deliveries"
        )
    }
    recorded: dict[str, list[bool]] = defaultdict(list)
    for delivery_id, succeeded in database.query(
        "SELECT delivery_id, succeeded FROM callout_attempts"
    ):
        recorded[delivery_id].append(bool(succeeded))
    final = {
        request_id
        for (request_id,) in database.query(
            "SELECT id FROM requests WHERE track_id LIKE ? AND state IN ('succeeded', 'failed')",
            TRACK_ID.format(number="%"),
        )
    }
    by_request = Counter(object_id for object_id, *_ in deliveries.values())
    arrived: dict[str | None, list[Arrival]] = defaultdict(list)
    for arrival in sorted(arrivals, key=lambda a: a.at):
        arrived[arrival.notification_id].append(arrival)
    kill_times = [kill["at"] for kill in kills]

    def kill_between(earlier: float, later: float) -> bool:
        return any(earlier <= at <= later for at in kill_times)

    states = Counter[str]()
    delivered_unseen, failed_per_policy, failed_otherwise, failed_after_a_200 = 0, 0, 0, 0
    redelivered_after_kill, redelivered_without_kill, early_retries = 0, 0, 0
    for delivery_id, (_, _, state, attempts, max_attempts) in deliveries.items():
        states[state] += 1
        seen = arrived.get(delivery_id, [])
        oks = [a.at for a in seen if a.answer == OK_ANSWER]
        if state == "delivered" and not oks:
            delivered_unseen += 1
        elif state == "failed":
            if attempts == max_attempts and not any(recorded[delivery_id]):
                failed_per_policy += 1
                failed_after_a_200 += bool(oks)  # a kill lost the record of that attempt
            else:
                failed_otherwise += 1
        for earlier, later in zip(oks, oks[1:], strict=False):
            if kill_between(earlier, later):
                redelivered_after_kill += 1
            else:
                redelivered_without_kill += 1
        for earlier, later in zip(seen, seen[1:], strict=False):
            gap = later.at - earlier.at
            if gap < interval - INTERVAL_TOLERANCE_SECONDS and not kill_between(
                earlier.at, later.at
            ):
                early_retries += 1
    answers = Counter(arrival.answer for arrival in arrivals)
    attempts_recorded = sum(len(r) for r in recorded.values())
    return {
        "outcomes": len(final),
        "deliveries": len(deliveries),
        "outcomes_without_a_delivery": len(final - set(by_request)),
        "outcomes_with_more_than_one": sum(count > 1 for count in by_request.values()),
        "states": dict(states),
        "unfinished": states["pending"] + states["delivering"],
        "delivered": states["delivered"],
        "delivered_never_seen_arriving": delivered_unseen,
        "failed_per_policy": failed_per_policy,
        "failed_per_policy_after_an_unrecorded_200": failed_after_a_200,
        "failed_against_policy": failed_otherwise,
        "redelivered_after_a_kill": redelivered_after_kill,
        "redelivered_without_a_kill": redelivered_without_kill,
        "retries_sooner_than_the_interval": early_retries,
        "arrivals": len(arrivals),
        "arrivals_by_answer": dict(answers),
        "arrivals_of_unknown_notifications": sum(
            len(seen) for nid, seen in arrived.items() if nid not in deliveries
        ),
        "attempts_recorded": attempts_recorded,
        "attempts_unrecorded": len(arrivals) - attempts_recorded,
        "retried_deliveries": sum(len(r) > 1 for r in recorded.values()),
    }


def server_log_errors(server: Server) -> dict[str, Any]:
    """ERROR lines of the server's log (its processes' together), each with the traceback
    that follows it."""
    text = server.output()
    errors: list[list[str]] = []
    for line in text.splitlines():
        if re.search(r"\b(ERROR|CRITICAL)\b", line):
            errors.append([line])
        elif errors and not LOG_RECORD.match(line) and len(errors[-1]) < LOG_LINES_PER_ERROR:
            errors[-1].append(line)  # the traceback goes on
    return {
        "error_lines": len(errors),
        "tracebacks": text.count("Traceback (most recent call last)"),
        "worker_starts": len(re.findall(r"worker process \d+ started", text)),
        "examples": ["\n".join(error) for error in errors[:LOG_ERRORS_KEPT]],
    }


# -- running it ---------------------------------------------------------------------------------


class Soak:
    def __init__(
        self,
        options: argparse.Namespace,
        server: Server,
        receiver: ReceiverProcess,
        password: str,
    ) -> None:
        self.options = options
        self.server = server
        self.receiver = receiver
        self.cpu: dict[str, float] = {}  # share of one CPU during the load, per process
        self.password = password  # the console administrator's
        self.load = Load()
        self.kills: list[dict] = []
        self.memory = MemorySampler(server)

    async def run(self) -> None:
        token = self.server.token()
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=self.server.base_url, headers=headers) as api:
            await self.set_up(api)
        async with httpx.AsyncClient(base_url=self.server.base_url) as console:
            await sign_in(console, self.password)
            cookie = "; ".join(f"{c.name}={c.value}" for c in console.cookies.jar)
        stop = asyncio.Event()
        sampler = asyncio.create_task(self.memory.run(stop))
        killer = asyncio.create_task(
            kill_workers(self.server, self.options.kill_every, self.options.duration, self.kills)
        )
        generator = LoadGenerator(self.server, token, cookie, self.load)
        cpu_before, started = self.cpu_seconds(), time.monotonic()
        await generator.offer(self.options)
        elapsed = time.monotonic() - started
        self.cpu = {
            name: round(100 * (after - cpu_before[name]) / elapsed, 1)
            for name, after in self.cpu_seconds().items()
        }
        self.cpu["others"] = round(self.cpu.pop("machine") - sum(self.cpu.values()), 1)
        await killer
        self.load_ended = time.monotonic()
        await asyncio.to_thread(self.wait_until_final)
        self.final_at = time.monotonic()
        self.memory.sample()
        stop.set()
        await sampler

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time so far: of the service (serve and its children, the database server when
        the bench runs it), the receiver, this process (the load), and the whole machine."""
        return {
            "service": self.server.cpu_seconds(),
            "receiver": own_cpu_seconds(self.receiver.pid),
            "load generator": own_cpu_seconds(os.getpid()),
            "machine": busy_cpu_seconds(),
        }

    async def set_up(self, api: httpx.AsyncClient) -> None:
        """Callout settings, a signing secret, and a definition per event type to the
        receiver."""
        settings = {"maxAttempts": MAX_ATTEMPTS, "minIntervalMinutes": INTERVAL_MINUTES}
        (await api.put("/notifications/callout-settings", json=settings)).raise_for_status()
        (await api.post("/notifications/callout-settings/signing-secret")).raise_for_status()
        for event_type, path in ((SUCCEEDED, "/soak/succeeded"), (FAILED, "/soak/failed")):
            body = definition_body(f"soak: {event_type}", self.receiver.url(path), event_type)
            (
                await api.post("/notifications/notification-definitions", json=body)
            ).raise_for_status()

    def wait_until_final(self) -> None:
        deadline = time.monotonic() + self.options.drain_timeout
        while time.monotonic() < deadline:
            if not self.server.unfinished() and not self.server.undelivered():
                return
            time.sleep(1)


async def sign_in(console: httpx.AsyncClient, password: str) -> None:
    page = await console.get("/console/sign-in")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, "no CSRF token on the sign-in page"
    answer = await console.post(
        "/console/sign-in",
        data={
            "csrf_token": token.group(1),
            "tenant": "default",
            "email": ADMIN_EMAIL,
            "password": password,
        },
    )
    if answer.status_code != 303:
        raise SystemExit(f"the console's sign-in answered {answer.status_code}")


def checks(figures: dict[str, Any]) -> list[tuple[str, bool]]:
    requests, callouts, load = figures["requests"], figures["callouts"], figures["load"]
    zero = [
        ("async requests lost", requests["lost"]),
        ("async requests executed twice", requests["executed_twice"]),
        ("async requests with another outcome than meant", requests["wrong_outcome"]),
        (
            "sync creations without exactly one account",
            requests["sync_created_without_exactly_one_account"],
        ),
        ("outcomes without their callout's delivery", callouts["outcomes_without_a_delivery"]),
        ("callouts unfinished", callouts["unfinished"]),
        (
            "callouts recorded delivered, never seen answered 200",
            callouts["delivered_never_seen_arriving"],
        ),
        ("callouts failed against the retry policy", callouts["failed_against_policy"]),
        ("callouts answered 200 again without a kill", callouts["redelivered_without_a_kill"]),
        ("retries sooner than the policy's interval", callouts["retries_sooner_than_the_interval"]),
        (
            "arrivals of notifications the database does not know",
            callouts["arrivals_of_unknown_notifications"],
        ),
        ("5xx answers", load["server_errors"]),
        ("requests without an answer", sum(load["transport_errors"].values())),
    ]
    result = [(f"{name}: {count}", count == 0) for name, count in zero]
    starts, kills = figures["server_log"]["worker_starts"], len(figures["kills"])
    result.append((f"worker process started {starts} times for {kills} kills", starts == kills + 1))
    for row in figures["memory"]:
        growth = row["growth_after_warm_up"]
        if growth is not None:
            name = f"{row['process']} {row['pid']} RSS growth after warm-up {growth:+.1%}"
            result.append((name, growth < RSS_GROWTH_LIMIT))
    return result


def report(figures: dict[str, Any]) -> None:
    requests, callouts, load = figures["requests"], figures["callouts"], figures["load"]
    print(f"\nload ({figures['duration_s']:g} s), answers by status:")
    for kind, statuses in load["statuses"].items():
        p99 = load["latency"][kind]["p99_ms"]
        print(f"  {kind:14} {statuses}  p99 {p99} ms")
    print(
        "  latency by window (s: p50/p99/max ms): "
        + ", ".join(
            f"{w['from_s']:g}: {w['p50_ms']}/{w['p99_ms']}/{w['max_ms']}"
            for w in load["latency_by_window"]
        )
    )
    if load["transport_errors"]:
        print(f"  without an answer: {load['transport_errors']}")
    print(f"  kills: {[kill['after_s'] for kill in figures['kills']]} s")
    print(f"  CPU during the load, % of one CPU: {figures['cpu_pct_during_load']}")
    print(f"  all final {figures['final_after_s']} s after the load ended")
    print(
        "\nasync requests: " + ", ".join(f"{k} {v}" for k, v in requests.items() if k != "examples")
    )
    print("callouts: " + ", ".join(f"{k} {v}" for k, v in callouts.items()))
    print("\nRSS (MB): process, pid, lived s, at start, after warm-up, at end, growth")
    for row in figures["memory"]:
        print("  " + ", ".join(str(value) for value in row.values()))
    log = figures["server_log"]
    print(
        f"\nserver log: {log['error_lines']} ERROR lines, {log['tracebacks']} tracebacks, "
        f"{log['worker_starts']} worker starts"
    )
    for line in log["examples"]:
        print(f"  {line}")
    for sample in load["server_error_samples"]:
        print(f"  5xx: {sample}")
    print("\nchecks:")
    for label, held in checks(figures):
        print(f"  {'PASS' if held else 'FAIL'}  {label}")


def main() -> int:
    options = parse_options()
    folder = Path(tempfile.mkdtemp(prefix="asyncgate-soak-"))
    faults = Faults(
        seed=options.seed,
        fail=options.fail,
        hang=options.hang,
        reset=options.reset,
        hang_seconds=options.callout_timeout * 3,
    )
    password = secrets.token_urlsafe(16)
    machine = describe()
    backend = "sqlite" if options.database == "sqlite" else "postgresql"
    try:
        with (
            ReceiverProcess(folder, faults=faults) as receiver,
            open_database(options.database, folder) as database,
        ):
            settings = {
                **SERVER_ENV,
                **server_settings(receiver.ca_path),
                "ASYNCGATE_CALLOUT_TIMEOUT": str(options.callout_timeout),
                "ASYNCGATE_CALLOUT_INTERVAL_UNIT": str(options.minute),
                "ASYNCGATE_BOOTSTRAP_ADMIN_PASSWORD": password,
                "ASYNCGATE_CONSOLE_SECURE_COOKIES": "false",  # the console over plain HTTP
                **dict(map(parse_setting, options.set)),
            }
            server = Server(folder, database, extra_env=settings)
            try:
                server.start()
                described = database.describe()
                print(f"machine: {machine['cpus']} CPUs, load {machine['load_average_at_start']}")
                print(f"database: {described}")
                soak = Soak(options, server, receiver, password)
                uvloop.run(soak.run())
                figures = {
                    "machine": machine,
                    "database": described,
                    # The backend, not a URL: one given may hold a password.
                    "options": vars(options) | {"database": backend},
                    "duration_s": options.duration,
                    "final_after_s": round(soak.final_at - soak.load_ended, 1),
                    "kills": soak.kills,
                    "cpu_pct_during_load": soak.cpu,
                    "load": soak.load.figures(),
                    "requests": requests_outcome(database, soak.load),
                    "callouts": callouts_outcome(
                        database,
                        soak.load,
                        receiver.take(),
                        soak.kills,
                        INTERVAL_MINUTES * options.minute,
                    ),
                    "memory": soak.memory.figures(options.warm_up),
                    "server_log": server_log_errors(server),
                }
            finally:
                server.stop()
    finally:
        if options.keep:
            print(f"kept: {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    report(figures)
    (RESULTS / f"soak-{backend}-latest.json").write_text(json.dumps(figures, indent=2))
    failed = [label for label, held in checks(figures) if not held]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
