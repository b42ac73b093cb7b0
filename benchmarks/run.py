"""Benchmark asyncgate over real sockets: ``make bench`` (``--quick`` for a 30 s run).

Starts ``asyncgate serve`` on a free loopback port with a fresh database (``--database``: a SQLite
file, by default, or PostgreSQL, see ``database.py``; durable commits either way), the default
settings but for the tenant quotas (see ``SERVER_ENV``) and, with ``--workers N``, N-1
``asyncgate worker`` processes beside its own; takes a token for the bootstrap client, and
measures in one run:

- ``GET /health``, ``POST /v1/accounts`` and ``POST /v1/async/accounts``, each open loop at fixed
  offered rates (latency from the instant each request was due) and closed loop at saturation,
  the server as deployed (`asyncgate serve`: the API and its worker process, and the other
  worker processes); the async phases follow a warm-up of async accepts that are executed but
  not counted;
- for async requests, accept-to-succeeded time (``createTime`` to ``completeTime`` of the requests
  accepted at a fixed rate), and the completions per second of the workers draining a backlog
  (accepted by the server restarted without workers, then drained by it restarted as deployed,
  so that the drain is the workers' alone).

It prints the figures next to the targets and saves them to ``benchmarks/results/latest.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from database import BenchDatabase, add_options, check_options, open_database
from loadgen import LoadGenerators, build_request
from machine import busy_cpu_seconds, describe, fsync_ms
from profiler import PhaseProfiler
from report import phases_table, queue_table, settings_table, targets_table
from server import Server
from stats import distribution_ms, phase_figures

from asyncgate.config import Settings

RESULTS = Path(__file__).parent / "results" / "latest.json"
ACCOUNT = orjson.dumps(
    {
        "name": "Benchmark Industries",
        "currency": "USD",
        "billToContact": {"firstName": "Ada", "lastName": "Lovelace", "workEmail": "a@example.com"},
    }
)
# The tenant quotas are a policy (50,000 requests a minute by default, async executions
# included): left on, they would cap the figures below what the engine can do.
SERVER_ENV = {
    "ASYNCGATE_TENANT_REQUESTS_PER_MINUTE": "0",
    "ASYNCGATE_TENANT_REQUESTS_PER_HOUR": "0",
    "ASYNCGATE_TENANT_REQUESTS_PER_DAY": "0",
}
ACCEPT_P99_TARGET_MS = 10.0
ACCEPT_TARGET_RATE = 1000.0
CAPACITY_TARGET_RATIO = 0.5
COMPLETIONS_TARGET_RPS = 1000.0
# Above this much CPU used by other processes during a phase, the run is flagged.
BUSY_MACHINE_PCT = 25.0
# A drain figure resting on fewer completions than this is mostly start-up and tail.
MIN_DRAIN_SAMPLE = 500
ASYNC = "POST /v1/async/accounts"
ASYNC_API_ONLY = "POST /v1/async/accounts (API only)"
HEALTH = "GET /health"
SYNC = "POST /v1/accounts"

PROFILES = {
    "full": {
        "duration": 5.0,
        "warm_up": 3.0,
        "health_rates": "1000,2000",
        "sync_rates": "100,200",
        "async_rates": "1000,2000",
        "backlog": 10_000,
        "backlog_timeout": 20.0,
        "settle_timeout": 20.0,
        "drain_timeout": 60.0,
    },
    "quick": {
        "duration": 2.0,
        "warm_up": 1.0,
        "health_rates": "1000",
        "sync_rates": "100",
        "async_rates": "1000",
        "backlog": 3_000,
        "backlog_timeout": 2.5,
        "settle_timeout": 1.5,
        "drain_timeout": 4.0,
    },
}


def parse_options(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short run (about 30 s)")
    parser.add_argument("--duration", type=float, help="seconds per load phase (full 5, quick 2)")
    parser.add_argument(
        "--warm-up",
        type=float,
        help="seconds of async accepts, not counted, before the async phases (full 3, quick 1)",
    )
    parser.add_argument("--health-rates", help="offered rates of GET /health, e.g. 1000,2000")
    parser.add_argument("--sync-rates", help="offered rates of POST /v1/accounts, e.g. 100,200")
    parser.add_argument("--async-rates", help="offered rates of async accepts, e.g. 1000,2000")
    parser.add_argument("--backlog", type=int, help="async requests to accept, then drain")
    parser.add_argument("--backlog-timeout", type=float, help="longest backlog phase (s)")
    parser.add_argument(
        "--settle-timeout", type=float, help="longest wait for the queue after an async phase (s)"
    )
    parser.add_argument("--drain-timeout", type=float, help="longest wait for the drain (s)")
    parser.add_argument("--connections", type=int, default=64, help="connections at saturation")
    parser.add_argument(
        "--open-connections", type=int, default=64, help="connection pool of open-loop phases"
    )
    parser.add_argument("--processes", type=int, default=2, help="load generator processes")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a server setting (ASYNCGATE_NAME), e.g. --set worker_batch_size=100",
    )
    add_options(parser)
    parser.add_argument(
        "--keep", action="store_true", help="keep the server's log (and a SQLite database)"
    )
    parser.add_argument(
        "--profile", type=Path, metavar="DIR", help="py-spy profile of the server per phase"
    )
    parser.add_argument("--output", type=Path, default=RESULTS, help="where to save the JSON")
    options = parser.parse_args(argv)
    check_options(parser, options)
    for name, default in PROFILES["quick" if options.quick else "full"].items():
        if getattr(options, name) is None:
            setattr(options, name, default)
    for name in ("health_rates", "sync_rates", "async_rates"):
        setattr(options, name, [float(r) for r in getattr(options, name).split(",") if r.strip()])
    options.server_env = SERVER_ENV | dict(parse_setting(item) for item in options.set)
    return options


def parse_setting(item: str) -> tuple[str, str]:
    name, sep, value = item.partition("=")
    if not sep:
        raise SystemExit(f"--set expects NAME=VALUE, got {item!r}")
    return f"ASYNCGATE_{name.strip().upper()}", value


class Bench:
    """Runs load phases against one server and keeps their figures."""

    def __init__(self, options: argparse.Namespace, server: Server, load: LoadGenerators) -> None:
        self.options = options
        self.server = server
        self.load = load
        self.phases: list[dict[str, Any]] = []
        self.profiler = PhaseProfiler(options.profile) if options.profile else None

    def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        track: str | None = None,
        body: bytes = b"",
    ) -> bytes:
        headers = {}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if body:
            headers["Content-Type"] = "application/json"
        if track is not None:
            headers["Zuora-Track-Id"] = track
        return build_request(method, path, f"{self.server.host}:{self.server.port}", headers, body)

    def phase(
        self,
        name: str,
        endpoint: str,
        request: bytes,
        *,
        rate: float | None = None,
        max_requests: int | None = None,
        duration: float | None = None,
    ) -> dict[str, Any]:
        connections = self.options.connections if rate is None else self.options.open_connections
        recorder = self.profiler and self.profiler.start(self.server.process.pid, name)
        server_before, machine_before = self.server.cpu_seconds(), busy_cpu_seconds()
        started = time.monotonic()
        result = self.load.run(
            host=self.server.host,
            port=self.server.port,
            request=request,
            duration=duration or self.options.duration,
            connections=connections,
            rate=rate,
            max_requests=max_requests,
            grace=self.options.duration / 2,
        )
        if recorder:
            self.profiler.stop(recorder)
        figures = phase_figures(
            name=name,
            endpoint=endpoint,
            result=result,
            offered_rate=rate,
            connections=connections,
            wall_seconds=time.monotonic() - started,
            server_cpu_seconds=self.server.cpu_seconds() - server_before,
            machine_cpu_seconds=busy_cpu_seconds() - machine_before,
        )
        self.phases.append(figures)
        latency = figures["latency"]
        print(
            f"  {name:<44} {figures['ok']:>7,} ok {_num(figures['throughput_rps']):>9}/s  "
            f"p50 {_num(latency['p50_ms'])} ms  p99 {_num(latency['p99_ms'])} ms",
            flush=True,
        )
        return figures


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


def accept_to_succeeded(server: Server, track: str, rate: float) -> dict[str, Any]:
    """From each request's createTime to its completeTime, for the requests of one phase."""
    rows = server.requests_tracked(track)
    done = [(created, completed) for state, created, completed in rows if state == "succeeded"]
    first_created = min((created for _, created, _ in rows), default=None)
    last_completed = max((completed for _, completed in done), default=None)
    span = last_completed - first_created if done and first_created is not None else 0.0
    states: dict[str, int] = {}
    for state, _, _ in rows:
        states[state] = states.get(state, 0) + 1
    return {
        "offered_rps": rate,
        "accepted": len(rows),
        "succeeded": len(done),
        "states": states,
        "completions_rps": round(len(done) / span, 1) if span > 0 else None,
        **distribution_ms([completed - created for created, completed in done]),
    }


def measure_drain(server: Server, timeout: float) -> dict[str, Any]:
    """Completions per second of a freshly started server's worker working through the
    backlog already queued (no accepts meanwhile), until it is empty or the timeout."""
    started, server_before, machine_before = time.time(), server.cpu_seconds(), busy_cpu_seconds()
    backlog = server.unfinished()
    drained = server.wait_until_drained(timeout)
    wall = time.time() - started
    server_cpu = server.cpu_seconds() - server_before
    other_cpu = busy_cpu_seconds() - machine_before - server_cpu
    completions = server.completions_between(started, time.time())
    seconds = completions[-1] - started if completions else 0.0
    return {
        "backlog_at_start": backlog,
        "drained": len(completions),
        "seconds": round(seconds, 3),
        "completions_rps": round(len(completions) / seconds, 1) if seconds > 0 else None,
        "unfinished_at_end": 0 if drained else server.unfinished(),
        "sample_too_small": len(completions) < MIN_DRAIN_SAMPLE,
        "server_cpu_ms_per_completion": (
            round(1000 * server_cpu / len(completions), 2) if completions else None
        ),
        "server_cpu_pct": round(100 * server_cpu / wall, 1),
        "other_cpu_pct": round(100 * max(0.0, other_cpu) / wall, 1),
    }


def targets(phases: list[dict[str, Any]], queue: dict[str, Any]) -> list[dict[str, Any]]:
    def find(endpoint: str, rate: float | None) -> dict[str, Any] | None:
        return next(
            (p for p in phases if p["endpoint"] == endpoint and p["offered_rps"] == rate), None
        )

    accept = find(ASYNC, ACCEPT_TARGET_RATE)
    accept_p99 = accept["latency"]["p99_ms"] if accept else None
    accept_clean = (
        accept is not None
        and accept["ok"] == accept["answered"]
        and not (accept["errors"] or accept["lost"])
    )
    health_capacity = (find(HEALTH, None) or {}).get("throughput_rps")
    accept_capacity = (find(ASYNC, None) or {}).get("throughput_rps")
    ratio = accept_capacity / health_capacity if accept_capacity and health_capacity else None
    api_only = (find(ASYNC_API_ONLY, None) or {}).get("throughput_rps")
    api_only_note = (
        f"; API only {api_only / health_capacity:.0%}" if api_only and health_capacity else ""
    )
    drain = queue["drain"]
    return [
        {
            "target": "async accept p99 at 1,000/s offered",
            "figure": "-" if accept_p99 is None else f"{accept_p99:,.2f} ms",
            "threshold": f"< {ACCEPT_P99_TARGET_MS:.0f} ms, all 202",
            "passed": accept_p99 is not None and accept_p99 < ACCEPT_P99_TARGET_MS and accept_clean,
        },
        {
            "target": "async accept capacity / health capacity",
            "figure": "-"
            if ratio is None
            else (
                f"{ratio:.0%} ({accept_capacity:,.0f} / {health_capacity:,.0f} req/s"
                f"{api_only_note})"
            ),
            "threshold": f">= {CAPACITY_TARGET_RATIO:.0%}",
            "passed": ratio is not None and ratio >= CAPACITY_TARGET_RATIO,
        },
        {
            "target": "async account creations completed per second",
            "figure": "-"
            if drain["completions_rps"] is None
            else (f"{drain['completions_rps']:,.0f}/s"),
            "threshold": f">= {COMPLETIONS_TARGET_RPS:,.0f}/s",
            "passed": drain["completions_rps"] is not None
            and drain["completions_rps"] >= COMPLETIONS_TARGET_RPS
            and not drain["sample_too_small"],
        },
    ]


def server_settings(server: Server) -> dict[str, object]:
    """The settings the server runs with (what matters to the figures)."""
    given = {
        name.removeprefix("ASYNCGATE_").lower(): value
        for name, value in server.env().items()
        if name.startswith("ASYNCGATE_") and "SECRET" not in name
    }
    settings = Settings(_env_file=None, **given)
    others = server.workers - 1
    shown = {
        "database": server.database.describe(),
        "server": "asyncgate serve: 1 process, uvicorn (uvloop, httptools), access log off",
        "worker processes": f"{server.workers}: serve's own"
        + (f" and {others} asyncgate worker" if others else ""),
    }
    for name in ("serve_workers", "worker_concurrency", "worker_batch_size"):
        shown[name] = getattr(settings, name)
    shown["worker_poll_interval"] = f"{settings.worker_poll_interval.total_seconds():g} s"
    for variable in server.extra_env:
        name = variable.removeprefix("ASYNCGATE_").lower()
        shown[name] = getattr(settings, name, server.extra_env[variable])
    return shown


def run(options: argparse.Namespace, folder: Path, database: BenchDatabase) -> dict[str, Any]:
    """Three lives of one server on one database: as deployed (the API and its worker
    processes) for the load phases; API only, to pile up the backlog; and as deployed again, to
    time the workers draining it with nothing else to do."""
    server = Server(folder, database, workers=options.workers, extra_env=options.server_env)
    load = LoadGenerators(options.processes)
    bench = Bench(options, server, load)
    started = time.monotonic()
    try:
        server.start()
        info = {
            "machine": describe(),
            # Unknown for a server of the caller's: it may not even be on this machine.
            "fsync_4kib": fsync_ms(database.folder) if database.folder else None,
            "settings": server_settings(server),
        }
        print(settings_table(info["settings"]), "\n")
        print(f"machine: {info['machine']}")
        print(
            f"fsync of 4 KiB where the database lives: {info['fsync_4kib'] or 'unknown'}\n",
            flush=True,
        )
        accept_runs = load_phases(bench, options)

        print(f"\nrestarted without workers, to accept a backlog of {options.backlog:,}")
        server.restart(workers=0)
        backlog = bench.request(
            "POST",
            "/v1/async/accounts",
            token=server.token(),
            track="bench-backlog",
            body=ACCOUNT,
        )
        bench.phase(
            f"{ASYNC} saturation, API only",
            ASYNC_API_ONLY,
            backlog,
            max_requests=options.backlog,
            duration=options.backlog_timeout,
        )

        print("restarted as deployed, to drain it", flush=True)
        server.restart(workers=options.workers)
        recorder = bench.profiler and bench.profiler.start(server.process.pid, "drain")
        drain = measure_drain(server, options.drain_timeout)
        if recorder:
            bench.profiler.stop(recorder)
        print(
            f"  drained {drain['drained']:,} of {drain['backlog_at_start']:,} in "
            f"{drain['seconds']:.1f} s: {_num(drain['completions_rps'])}/s",
            flush=True,
        )
        queue = {
            "accept_to_succeeded": accept_runs,
            "drain": drain,
            "states_at_end": server.count_by_state(),
            "accounts_at_end": server.accounts(),
        }
    finally:
        load.close()
        server.stop()

    figures = {
        "run_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": " ".join(["benchmarks/run.py", *sys.argv[1:]]),
        **info,
        "phases": bench.phases,
        "async_queue": queue,
        "targets": targets(bench.phases, queue),
        "elapsed_s": round(time.monotonic() - started, 1),
    }
    print()
    print(phases_table(figures["phases"]), "\n")
    print(queue_table(queue), "\n")
    print(targets_table(figures["targets"]), "\n")
    others = max(
        queue["drain"]["other_cpu_pct"], *(phase["other_cpu_pct"] for phase in bench.phases)
    )
    if others > BUSY_MACHINE_PCT:
        figures["warning"] = (
            f"other processes used up to {others:.0f}% of a CPU during the phases: "
            "these figures understate what this machine does when it is quiet"
        )
        print(f"WARNING: {figures['warning']}\n")
    print(f"the run took {figures['elapsed_s']} s")
    return figures


def load_phases(bench: Bench, options: argparse.Namespace) -> list[dict[str, Any]]:
    """Every endpoint at fixed rates and at saturation, the server as deployed; returns the
    accept-to-succeeded figures of the async phases at fixed rates."""
    server = bench.server
    token = server.token()
    health = bench.request("GET", "/health")
    for rate in options.health_rates:
        bench.phase(f"{HEALTH} @ {rate:,.0f}/s", HEALTH, health, rate=rate)
    bench.phase(f"{HEALTH} saturation", HEALTH, health)

    sync = bench.request("POST", "/v1/accounts", token=token, body=ACCOUNT)
    for rate in options.sync_rates:
        bench.phase(f"{SYNC} @ {rate:,.0f}/s", SYNC, sync, rate=rate)
    bench.phase(f"{SYNC} saturation", SYNC, sync)

    warm_up(bench, token)
    accept_runs = []
    for rate in options.async_rates:
        # A track ID per phase finds the phase's requests in the queue afterwards.
        track = f"bench-open-{rate:.0f}"
        accept = bench.request("POST", "/v1/async/accounts", token=token, track=track, body=ACCOUNT)
        bench.phase(f"{ASYNC} @ {rate:,.0f}/s", ASYNC, accept, rate=rate)
        server.wait_until_drained(options.settle_timeout)
        accept_runs.append(accept_to_succeeded(server, track, rate))
    accept = bench.request(
        "POST", "/v1/async/accounts", token=token, track="bench-saturation", body=ACCOUNT
    )
    bench.phase(f"{ASYNC} saturation", ASYNC, accept)
    return accept_runs


def warm_up(bench: Bench, token: str) -> None:
    """Async accepts at the first async rate, executed and not counted: the phases after it
    measure a server whose accept path and worker have run before, as a serving one has."""
    options, server = bench.options, bench.server
    rate = options.async_rates[0] if options.async_rates else ACCEPT_TARGET_RATE
    request = bench.request(
        "POST", "/v1/async/accounts", token=token, track="bench-warm-up", body=ACCOUNT
    )
    print(f"  warming up: {ASYNC} @ {rate:,.0f}/s for {options.warm_up:.0f} s", flush=True)
    bench.load.run(
        host=server.host,
        port=server.port,
        request=request,
        duration=options.warm_up,
        connections=options.open_connections,
        rate=rate,
        grace=options.duration / 2,
    )
    server.wait_until_drained(options.settle_timeout)


def main() -> None:
    # The server gets only the settings named here: none leak from the caller's environment.
    for name in [name for name in os.environ if name.startswith("ASYNCGATE_")]:
        del os.environ[name]
    options = parse_options()
    folder = Path(tempfile.mkdtemp(prefix="asyncgate-bench-"))
    try:
        with open_database(options.database, folder) as database:
            figures = run(options, folder, database)
    finally:
        if options.keep:
            print(f"server log (and a SQLite database) kept in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"figures saved to {options.output}")


if __name__ == "__main__":
    main()
