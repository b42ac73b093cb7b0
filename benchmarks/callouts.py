"""Callout delivery under load: ``.venv/bin/python benchmarks/callouts.py``.

Starts ``asyncgate serve`` on loopback (a fresh SQLite database, durable commits) and a local
HTTPS receiver in a process of its own (a trustme certificate the server trusts through
``ASYNCGATE_CALLOUT_CA_BUNDLE``), makes a tenant's notification definition send every
``Async Request Succeeded`` to the receiver, signed (the tenant has a signing secret), and runs
two phases of async account creations, each until all their callouts have arrived:

- backlog: N creations sent as fast as the server accepts them, so the worker process executes
  a backlog while it sends callouts;
- steady: M creations offered at a fixed rate the worker keeps up with.

Per phase it prints delivered callouts per second (first to last arrival) and the time from
each request's completion (its ``completed_at``, the ``completeTime`` of its callout at full
precision) to the arrival of its callout at the receiver.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

import httpx
import orjson
from machine import describe
from run import ACCOUNT, SERVER_ENV, parse_setting
from server import Server, free_port
from stats import distribution_ms

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.support.receiver import Receiver

PATH = "/bench"


@dataclass(frozen=True)
class Phase:
    name: str
    requests: int
    rate: float | None  # offered per second; None: as fast as accepted

    @property
    def track_id(self) -> str:
        return f"callouts-{self.name}"


def parse_options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backlog", type=int, default=2000, help="creations of the backlog phase")
    parser.add_argument("--steady", type=int, default=500, help="creations of the steady phase")
    parser.add_argument("--rate", type=float, default=40, help="offered/s in the steady phase")
    parser.add_argument("--connections", type=int, default=16, help="concurrent accepts")
    parser.add_argument("--timeout", type=float, default=300, help="seconds to wait per phase")
    parser.add_argument(
        "--set", action="append", default=[], metavar="NAME=VALUE", help="a server setting"
    )
    return parser.parse_args()


def receive(port: int, ca_path: str, expected: int, timeout: float, results: Connection) -> None:
    """The receiver process: writes its CA for the server, says it is ready, and sends back
    ``(request ID, arrival time)`` of every callout once ``expected`` have arrived."""
    import trustme

    ca = trustme.CA()
    ca.cert_pem.write_to_path(ca_path)
    with Receiver("127.0.0.1", port, ca.issue_cert("127.0.0.1")) as receiver:
        results.send("ready")
        try:
            arrivals = receiver.wait_for(PATH, expected, timeout=timeout)
        except AssertionError:
            arrivals = receiver.arrivals(PATH)
        results.send([(orjson.loads(a.body)["request"]["id"], a.at) for a in arrivals])


async def push(server: Server, token: str, phase: Phase, connections: int) -> float:
    """Send the phase's creations; returns how long accepting them took."""
    headers = {
        "Authorization": f"Bearer {token}",
        "Zuora-Track-Id": phase.track_id,
        "Content-Type": "application/json",
    }
    limits = httpx.Limits(max_connections=connections)
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=server.base_url, limits=limits, timeout=30) as http:

        async def one(number: int) -> None:
            if phase.rate is not None:
                await asyncio.sleep(max(0.0, started + number / phase.rate - time.monotonic()))
            answer = await http.post("/v1/async/accounts", content=ACCOUNT, headers=headers)
            answer.raise_for_status()

        if phase.rate is None:
            numbers = iter(range(phase.requests))

            async def one_connection() -> None:
                for number in numbers:
                    await one(number)

            await asyncio.gather(*(one_connection() for _ in range(connections)))
        else:
            await asyncio.gather(*(one(number) for number in range(phase.requests)))
    return time.monotonic() - started


def define_callout(server: Server, token: str, url: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=server.base_url, headers=headers) as api:
        api.post("/notifications/callout-settings/signing-secret").raise_for_status()
        api.post(
            "/notifications/notification-definitions",
            json={
                "name": "benchmark",
                "eventTypeName": "Async Request Succeeded",
                "calloutActive": True,
                "callout": {
                    "name": "benchmark",
                    "eventTypeName": "Async Request Succeeded",
                    "calloutBaseurl": url,
                    "httpMethod": "POST",
                    "requiredAuth": False,
                },
            },
        ).raise_for_status()


def wait_until_delivered(server: Server, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while server.unfinished() or server.undelivered():
        if time.monotonic() > deadline:
            raise SystemExit(f"callouts still undelivered after {timeout:g} s")
        time.sleep(0.2)


def main() -> None:
    options = parse_options()
    phases = [
        Phase("backlog", options.backlog, None),
        Phase("steady", options.steady, options.rate),
    ]
    folder = Path(tempfile.mkdtemp(prefix="asyncgate-callouts-"))
    receiver_port = free_port()
    ca_path = folder / "receiver-ca.pem"
    parent_end, child_end = multiprocessing.Pipe()
    expected = sum(phase.requests for phase in phases)
    timeout = options.timeout * len(phases)
    receiver = multiprocessing.Process(
        target=receive,
        args=(receiver_port, str(ca_path), expected, timeout, child_end),
        daemon=True,
    )
    receiver.start()
    assert parent_end.recv() == "ready"
    settings = {
        **SERVER_ENV,
        "ASYNCGATE_CALLOUT_ALLOW_PRIVATE_ADDRESSES": "true",
        "ASYNCGATE_CALLOUT_ALLOW_PORTS": "true",
        "ASYNCGATE_CALLOUT_CA_BUNDLE": str(ca_path),
        **dict(map(parse_setting, options.set)),
    }
    server = Server(folder, extra_env=settings)
    accepting: dict[str, float] = {}
    try:
        server.start()
        token = server.token()
        define_callout(server, token, f"https://127.0.0.1:{receiver_port}{PATH}")
        machine = describe()
        for phase in phases:
            accepting[phase.name] = asyncio.run(push(server, token, phase, options.connections))
            wait_until_delivered(server, options.timeout)
        arrivals = parent_end.recv()
        completed = {phase.name: server.completion_times(phase.track_id) for phase in phases}
    finally:
        server.stop()
        receiver.join(5)
    load = machine["load_average_at_start"]
    print(f"machine: {machine['cpus']} CPUs, {machine['cpu_model']}, load {load}")
    print(f"settings: {options.set or 'defaults'}; {options.connections} connections")
    for phase in phases:
        report(phase, accepting[phase.name], arrivals, completed[phase.name])
    shutil.rmtree(folder, ignore_errors=True)


def report(phase: Phase, accepting: float, arrivals, completed: dict[str, float]) -> None:
    first_arrival: dict[str, float] = {}
    repeats = Counter()
    for request_id, at in arrivals:
        if request_id in completed:
            repeats[request_id] += 1
            first_arrival.setdefault(request_id, at)
    times = sorted(first_arrival.values())
    offered = "as fast as accepted" if phase.rate is None else f"{phase.rate:g}/s offered"
    print(f"\n{phase.name}: {phase.requests} creations, {offered}")
    print(f"  accepted in {accepting:.1f} s ({phase.requests / accepting:.0f}/s)")
    print(
        f"  callouts delivered: {len(first_arrival)} of {phase.requests} "
        f"(sent twice: {sum(count > 1 for count in repeats.values())})"
    )
    if len(times) > 1:
        print(f"  delivered callouts per second: {len(times) / (times[-1] - times[0]):.0f}")
    figures = distribution_ms([at - completed[r] for r, at in first_arrival.items()])
    print(
        "  completion -> arrival: "
        f"p50 {figures['p50_ms']} ms, p99 {figures['p99_ms']} ms, max {figures['max_ms']} ms"
    )


if __name__ == "__main__":
    main()
