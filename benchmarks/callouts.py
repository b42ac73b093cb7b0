"""Callout delivery under load: ``.venv/bin/python benchmarks/callouts.py``.

Starts ``asyncgate serve`` on loopback (a fresh database, ``--database``: a SQLite file by
default, or PostgreSQL, see ``database.py``; durable commits, the default settings but for the
tenant quotas; with ``--workers N``, N-1 ``asyncgate worker`` processes beside its own) and a
fast HTTPS receiver in a process of its own (``receiver.py``, its trustme CA trusted through
``ASYNCGATE_CALLOUT_CA_BUNDLE``), gives the tenant a signing secret and a notification
definition that sends every ``Async Request Succeeded`` to the receiver, then runs four phases
of async account creations, each until all their callouts have arrived:

- backlog: N creations sent as fast as the server accepts them (closed loop), so that the
  worker executes a backlog while it sends callouts, and accepts take their share of the CPUs;
- drain: N creations accepted by the API alone (``serve`` restarted without its worker
  process), then executed and called back by ``serve`` restarted as deployed: a backlog of
  accepted requests draining with nothing else running, as ``run.py`` measures its drain;
- steady: creations offered at a fixed rate for a fixed time (open loop);
- fan-out 2: the backlog again, with a second definition for the same event;
- isolation: creations offered at 200/s while one more definition sends every event to a
  second receiver (another origin) that answers only after 5 s: how the first receiver's
  callouts fare meanwhile (the hanging receiver's are not waited for).

Per phase it prints accepts/s and accept p99, the drain (completions per second, first to
last), callouts delivered per second (first to last arrival), how many arrived twice (by
``Zuora-Notification-Id``), the time from each request's completion (``completed_at`` at full
precision) to its callouts' arrival, and the CPU time per delivered callout of the worker
processes (all of them), the API process, the receiver and, when the bench runs it, the
PostgreSQL server.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from database import add_options, check_options, open_database
from loadgen import LoadGenerators, build_request
from machine import describe, own_cpu_seconds, process_cpu_seconds
from receiver import Arrival, ReceiverProcess, definition_body, server_settings
from run import ACCOUNT, SERVER_ENV, parse_setting
from server import Server, is_sender_process
from stats import distribution_ms, percentile

RESULTS = Path(__file__).parent / "results" / "callouts-latest.json"
HANGING_PATH = "/hanging"
ISOLATION_P99_TARGET_MS = 100.0
CALLOUTS_TARGET_RATE = 1000.0
DRAIN_TARGET_RATE = 2000.0
STEADY_P50_TARGET_MS = 10.0
STEADY_P99_TARGET_MS = 50.0
CPU_PER_CALLOUT_TARGET_MS = 0.8


@dataclass(frozen=True)
class Phase:
    name: str
    fanout: int
    requests: int | None = None  # closed loop: this many, as fast as accepted
    rate: float | None = None  # open loop: offered per second ...
    duration: float | None = None  # ... for this long
    # Another receiver, one that answers after 5 s, gets these events too (its callouts are
    # not waited for): the phase measures how the others fare meanwhile.
    beside_a_hanging_receiver: bool = False
    # Accepted by the API alone first, then drained by ``serve`` restarted as deployed.
    accepted_first: bool = False

    @property
    def track_id(self) -> str:
        return f"callouts-{self.name.replace(' ', '-')}"


def parse_options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backlog", type=int, default=20_000, help="creations of a backlog")
    parser.add_argument("--rate", type=float, default=500, help="offered/s in the steady phase")
    parser.add_argument("--duration", type=float, default=30, help="seconds of the steady phase")
    parser.add_argument("--connections", type=int, default=32, help="concurrent accepts")
    parser.add_argument("--timeout", type=float, default=300, help="seconds to wait per phase")
    parser.add_argument(
        "--phases",
        default="backlog,drain,steady,fan-out 2,isolation",
        help="which phases to run, comma-separated, in this order (isolation last)",
    )
    parser.add_argument(
        "--isolation-rate", type=float, default=200, help="offered/s in the isolation phase"
    )
    parser.add_argument(
        "--set", action="append", default=[], metavar="NAME=VALUE", help="a server setting"
    )
    add_options(parser)
    options = parser.parse_args()
    check_options(parser, options)
    return options


class CalloutBench:
    def __init__(
        self,
        server: Server,
        receiver: ReceiverProcess,
        load: LoadGenerators,
        hanging: ReceiverProcess | None = None,
    ) -> None:
        self.server = server
        self.receiver = receiver
        self.hanging = hanging
        self.load = load
        self.token = server.token()
        self.workers = server.workers
        self.definitions = 0
        self.hanging_defined = False

    def add_definition(self) -> None:
        """One more definition of the tenant's, to a path of its own on the receiver."""
        self.definitions += 1
        if self.definitions == 1:
            with httpx.Client(base_url=self.server.base_url, headers=self._headers()) as api:
                api.post("/notifications/callout-settings/signing-secret").raise_for_status()
        self._define(
            f"benchmark {self.definitions}", self.receiver.url(f"/bench/{self.definitions}")
        )

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def _define(self, name: str, url: str) -> None:
        with httpx.Client(base_url=self.server.base_url, headers=self._headers()) as api:
            api.post(
                "/notifications/notification-definitions", json=definition_body(name, url)
            ).raise_for_status()

    def run(self, phase: Phase, connections: int, timeout: float) -> dict[str, Any]:
        while self.definitions < phase.fanout:
            self.add_definition()
        if phase.beside_a_hanging_receiver and not self.hanging_defined:
            assert self.hanging is not None
            self._define("benchmark, hanging", self.hanging.url(HANGING_PATH))
            self.hanging_defined = True
        if phase.accepted_first:
            self.server.restart(workers=0)
        request = build_request(
            "POST",
            "/v1/async/accounts",
            f"{self.server.host}:{self.server.port}",
            {
                "Authorization": f"Bearer {self.token}",
                "Content-Type": "application/json",
                "Zuora-Track-Id": phase.track_id,
            },
            ACCOUNT,
        )
        workers = self.server.worker_pids()
        cpu_before = self._cpu(workers)
        started = time.time()
        accepted = self.load.run(
            host=self.server.host,
            port=self.server.port,
            request=request,
            duration=phase.duration or timeout,
            connections=connections,
            rate=phase.rate,
            max_requests=phase.requests,
        )
        if phase.accepted_first:
            self.server.restart(workers=self.workers)
            workers = self.server.worker_pids()
            # ``serve``'s processes counted from their start, imports included: a few
            # hundredths of a millisecond per callout too much rather than any work left out.
            restarted = ("worker", "sender", "api")
            cpu_before = {
                name: 0.0 if name in restarted else seconds
                for name, seconds in self._cpu(workers).items()
            }
        accepts = accepted.statuses[202]
        fanout = self.definitions  # at least the phase's: earlier phases may have added more
        arrivals = self.receiver.wait_for(accepts * fanout, timeout)
        if not self.hanging_defined:  # the hanging receiver's callouts take their time
            self._wait_until_delivered(timeout)
        cpu = {name: after - cpu_before[name] for name, after in self._cpu(workers).items()}
        completed = self.server.completion_times(phase.track_id)
        return figures(phase, fanout, accepted, accepts, started, arrivals, completed, cpu)

    def _cpu(self, workers: list[int]) -> dict[str, float]:
        """CPU time so far of the worker processes (``serve``'s and the others), the API, the
        receiver and the database server when the bench runs it (its backends included)."""
        cpu = {
            "worker": sum(own_cpu_seconds(pid) for pid in workers),
            "api": own_cpu_seconds(self.server.process.pid),
            "receiver": own_cpu_seconds(self.receiver.pid),
        }
        senders = [pid for pid in workers if is_sender_process(pid)]
        if senders:
            cpu["sender"] = sum(own_cpu_seconds(pid) for pid in senders)
        if self.server.database.server_pid is not None:
            cpu["database"] = process_cpu_seconds(self.server.database.server_pid)
        return cpu

    def _wait_until_delivered(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.server.unfinished() or self.server.undelivered():
            if time.monotonic() > deadline:
                raise SystemExit(f"callouts still undelivered after {timeout:g} s")
            time.sleep(0.1)


def figures(
    phase: Phase,
    fanout: int,
    accepted: Any,
    accepts: int,
    started: float,
    arrivals: list[Arrival],
    completed: dict[str, float],
    cpu: dict[str, float],
) -> dict[str, Any]:
    first: dict[str, Arrival] = {}
    times = Counter[str]()
    for arrival in arrivals:
        key = arrival.notification_id or ""
        times[key] += 1
        first.setdefault(key, arrival)
    delivered = len(first)
    moments = sorted(arrival.at for arrival in first.values())
    lags = [a.at - completed[a.request_id] for a in first.values() if a.request_id in completed]
    ends = sorted(completed.values())
    accept_latencies = sorted(accepted.latencies)
    return {
        "phase": phase.name,
        "fanout": fanout,
        "offered": "as fast as accepted" if phase.rate is None else f"{phase.rate:g}/s",
        "accepted": accepts,
        "refused": sum(accepted.statuses.values()) - accepts + accepted.errors,
        "accepts_per_second": _rate(accepts, accepted.last_answer - accepted.first_send),
        "accept_p99_ms": _ms(percentile(accept_latencies, 0.99)),
        "completions_per_second": _rate(len(ends), ends[-1] - ends[0] if ends else 0),
        "callouts_expected": accepts * fanout,
        "callouts_delivered": delivered,
        "callouts_sent_twice": sum(count > 1 for count in times.values()),
        "callouts_per_second": _rate(delivered, moments[-1] - moments[0] if moments else 0),
        "last_callout_after_start_s": round(moments[-1] - started, 1) if moments else None,
        "completion_to_arrival": distribution_ms(lags),
        "cpu_ms_per_callout": {
            name: round(seconds * 1000 / max(delivered, 1), 3) for name, seconds in cpu.items()
        },
    }


def _rate(count: int, seconds: float) -> float | None:
    return round(count / seconds) if seconds > 0 else None


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 2)


def report(result: dict[str, Any]) -> None:
    lag = result["completion_to_arrival"]
    cpu = result["cpu_ms_per_callout"]
    print(
        f"\n{result['phase']}: {result['accepted']:,} creations, {result['offered']}, "
        f"fan-out {result['fanout']}"
    )
    print(
        f"  accepted {result['accepts_per_second']}/s (p99 {result['accept_p99_ms']} ms, "
        f"refused {result['refused']}); drained at {result['completions_per_second']}/s"
    )
    print(
        f"  callouts delivered {result['callouts_delivered']:,} of "
        f"{result['callouts_expected']:,} (sent twice: {result['callouts_sent_twice']}), "
        f"{result['callouts_per_second']}/s first to last arrival"
    )
    print(
        f"  completion -> arrival: p50 {lag['p50_ms']} ms, p99 {lag['p99_ms']} ms, "
        f"max {lag['max_ms']} ms"
    )
    names = {
        "worker": "worker",
        "sender": "of which the sender process",
        "api": "API",
        "receiver": "receiver",
        "database": "database",
    }
    shown = ", ".join(f"{names[name]} {ms} ms" for name, ms in cpu.items())
    print(f"  CPU per delivered callout: {shown}")


def targets(results: list[dict[str, Any]]) -> list[tuple[str, bool]]:
    checks = []
    for result in results:
        name = result["phase"]
        worker_cpu = result["cpu_ms_per_callout"]["worker"]
        if name != "isolation":  # its worker also sends to the hanging receiver
            checks.append(
                (
                    f"{name}: worker CPU per callout {worker_cpu} ms <= "
                    f"{CPU_PER_CALLOUT_TARGET_MS}",
                    worker_cpu <= CPU_PER_CALLOUT_TARGET_MS,
                )
            )
        checks.append(
            (
                f"{name}: every callout exactly once",
                result["callouts_delivered"] == result["callouts_expected"]
                and result["callouts_sent_twice"] == 0,
            )
        )
        if result["offered"] == "as fast as accepted":
            rate, drain = result["callouts_per_second"] or 0, result["completions_per_second"] or 0
            checks.append((f"{name}: {rate} callouts/s >= {CALLOUTS_TARGET_RATE:g}", rate >= 1000))
            if name == "drain":  # a backlog already accepted, as run.py measures its drain
                checks.append((f"{name}: drain {drain}/s >= {DRAIN_TARGET_RATE:g}", drain >= 2000))
        elif name == "isolation":
            p99 = result["completion_to_arrival"]["p99_ms"] or 0
            target = ISOLATION_P99_TARGET_MS
            checks.append((f"{name}: p99 {p99} ms <= {target:g}", p99 <= target))
        else:
            lag = result["completion_to_arrival"]
            p50, p99 = lag["p50_ms"] or 0, lag["p99_ms"] or 0
            checks.append((f"{name}: p50 {p50} ms <= {STEADY_P50_TARGET_MS:g}", p50 <= 10))
            checks.append((f"{name}: p99 {p99} ms <= {STEADY_P99_TARGET_MS:g}", p99 <= 50))
    return checks


def main() -> None:
    options = parse_options()
    every = {
        "backlog": Phase("backlog", 1, requests=options.backlog),
        "drain": Phase("drain", 1, requests=options.backlog, accepted_first=True),
        "steady": Phase("steady", 1, rate=options.rate, duration=options.duration),
        "fan-out 2": Phase("fan-out 2", 2, requests=options.backlog),
        "isolation": Phase(
            "isolation",
            1,
            rate=options.isolation_rate,
            duration=options.duration,
            beside_a_hanging_receiver=True,
        ),
    }
    phases = [every[name.strip()] for name in options.phases.split(",")]
    folder = Path(tempfile.mkdtemp(prefix="asyncgate-callouts-"))
    machine = describe()
    results = []
    load = LoadGenerators(1)
    try:
        with (
            ReceiverProcess(folder) as receiver,
            ReceiverProcess(folder, name="hanging", hanging=[HANGING_PATH]) as hanging,
            open_database(options.database, folder) as database,
        ):
            bundle = folder / "receivers-ca.pem"
            bundle.write_bytes(receiver.ca_path.read_bytes() + hanging.ca_path.read_bytes())
            settings = {
                **SERVER_ENV,
                **server_settings(bundle),
                **dict(map(parse_setting, options.set)),
            }
            server = Server(folder, database, workers=options.workers, extra_env=settings)
            try:
                server.start()
                bench = CalloutBench(server, receiver, load, hanging)
                described = database.describe()
                print(f"machine: {machine['cpus']} CPUs, {machine['cpu_model']}, ", end="")
                print(f"load {machine['load_average_at_start']}")
                print(f"database: {described}; worker processes: {options.workers}")
                print(f"settings: {options.set or 'defaults'}; {options.connections} connections")
                for phase in phases:
                    results.append(bench.run(phase, options.connections, options.timeout))
                    report(results[-1])
            finally:
                server.stop()
    finally:
        load.close()
        shutil.rmtree(folder, ignore_errors=True)
    print("\ntargets:")
    for label, held in targets(results):
        print(f"  {'PASS' if held else 'FAIL'}  {label}")
    RESULTS.write_text(
        json.dumps(
            {
                "machine": machine,
                "database": described,
                "worker_processes": options.workers,
                "settings": options.set,
                "phases": results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    sys.exit(main())
