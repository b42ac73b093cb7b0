"""Callout delivery under load: ``.venv/bin/python benchmarks/callouts.py``.

Starts ``asyncgate serve`` on loopback (a fresh SQLite database, durable commits) and a local
HTTPS receiver in a process of its own (a trustme certificate the server trusts through
``ASYNCGATE_CALLOUT_CA_BUNDLE``), makes a tenant's notification definition send every
``Async Request Succeeded`` to the receiver (signed, as with a signing secret), pushes N async
account creations, and waits for their callouts. It prints delivered callouts per second (first
to last arrival) and the time from each request's completion (its ``completed_at``, the
``completeTime`` of its callout at full precision) to its callout's arrival at the receiver.
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
from multiprocessing.connection import Connection
from pathlib import Path

import httpx
import orjson
from machine import describe
from run import ACCOUNT, SERVER_ENV, _setting
from server import Server, free_port
from stats import distribution_ms

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.support.receiver import Receiver

TRACK_ID = "callout-bench"
PATH = "/bench"


def parse_options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="async account creations")
    parser.add_argument("--connections", type=int, default=16, help="concurrent accepts")
    parser.add_argument("--timeout", type=float, default=300, help="seconds to wait for callouts")
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


async def push(server: Server, token: str, requests: int, connections: int) -> float:
    """Send the creations; returns when the first was sent (epoch s)."""
    headers = {"Authorization": f"Bearer {token}", "Zuora-Track-Id": TRACK_ID}
    headers["Content-Type"] = "application/json"
    remaining = iter(range(requests))
    limits = httpx.Limits(max_connections=connections)
    async with httpx.AsyncClient(base_url=server.base_url, limits=limits, timeout=30) as http:

        async def one_client() -> None:
            for _ in remaining:
                answer = await http.post("/v1/async/accounts", content=ACCOUNT, headers=headers)
                answer.raise_for_status()

        started = time.time()
        await asyncio.gather(*(one_client() for _ in range(connections)))
    return started


def define_callout(server: Server, token: str, url: str) -> None:
    with httpx.Client(
        base_url=server.base_url, headers={"Authorization": f"Bearer {token}"}
    ) as api:
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


def main() -> None:
    options = parse_options()
    folder = Path(tempfile.mkdtemp(prefix="asyncgate-callouts-"))
    receiver_port = free_port()
    ca_path = folder / "receiver-ca.pem"
    parent_end, child_end = multiprocessing.Pipe()
    receiver = multiprocessing.Process(
        target=receive,
        args=(receiver_port, str(ca_path), options.requests, options.timeout, child_end),
        daemon=True,
    )
    receiver.start()
    assert parent_end.recv() == "ready"
    settings = {
        **SERVER_ENV,
        "ASYNCGATE_CALLOUT_ALLOW_PRIVATE_ADDRESSES": "true",
        "ASYNCGATE_CALLOUT_ALLOW_PORTS": "true",
        "ASYNCGATE_CALLOUT_CA_BUNDLE": str(ca_path),
        **dict(map(_setting, options.set)),
    }
    server = Server(folder, extra_env=settings)
    try:
        server.start()
        token = server.token()
        define_callout(server, token, f"https://127.0.0.1:{receiver_port}{PATH}")
        started = asyncio.run(push(server, token, options.requests, options.connections))
        pushed = time.time()
        arrivals = parent_end.recv()
        completed = server.completion_times(TRACK_ID)
    finally:
        server.stop()
        receiver.join(5)
    report(options, started, pushed, arrivals, completed)
    shutil.rmtree(folder, ignore_errors=True)


def report(options, started: float, pushed: float, arrivals, completed) -> None:
    first_arrival = {}
    for request_id, at in arrivals:
        first_arrival.setdefault(request_id, at)
    repeats = sum(count - 1 for count in Counter(r for r, _ in arrivals).values())
    times = sorted(first_arrival.values())
    if not times:
        raise SystemExit(f"no callout arrived within {options.timeout:g} s")
    latencies = [at - completed[r] for r, at in first_arrival.items() if r in completed]
    span = times[-1] - times[0] if len(times) > 1 else 0.0
    machine = describe()
    load = machine["load_average_at_start"]
    print(f"machine: {machine['cpus']} CPUs, {machine['cpu_model']}, load {load}")
    shown = options.set or "defaults"
    print(f"settings: {shown}; {options.requests} creations, {options.connections} connections")
    print(f"accepted in {pushed - started:.1f} s ({options.requests / (pushed - started):.0f}/s)")
    print(
        f"callouts delivered: {len(first_arrival)} of {options.requests} "
        f"(repeats: {repeats}), last {times[-1] - started:.1f} s after the first accept"
    )
    if span:
        print(f"delivered callouts per second (first to last arrival): {len(times) / span:.0f}")
    figures = distribution_ms(latencies)
    print(
        "completion -> arrival: "
        f"p50 {figures['p50_ms']} ms, p99 {figures['p99_ms']} ms, max {figures['max_ms']} ms"
    )


if __name__ == "__main__":
    main()
