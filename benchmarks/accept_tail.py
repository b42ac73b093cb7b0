"""The accept latency at one offered rate, window after window: ``benchmarks/accept_tail.py``.

Starts ``asyncgate serve`` as deployed (its worker process executes what is accepted), warms
it up with async account creations at the rate, then offers ``POST /v1/async/accounts`` open
loop in consecutive windows and prints, per window, the latency p50/p90/p99/max (from the
instant each request was due) and the bytes each process wrote to storage per accepted request.
``make bench`` measures one window; the spread of many shows how much of a figure is the
machine's moment (on a shared virtual machine, a window's p99 can double from one to the
next). Options: ``--rate``, ``--windows``, ``--window`` (seconds), ``--warm-up`` (requests),
``--set NAME=VALUE`` (a server setting, as for ``run.py``).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from database import open_database
from loadgen import LoadGenerators, build_request
from machine import bytes_written, children, own_cpu_seconds
from run import ACCOUNT, SERVER_ENV, parse_setting
from server import Server
from stats import percentile

CONNECTIONS = 64


def parse_options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=1000.0, help="accepts offered per second")
    parser.add_argument("--windows", type=int, default=6, help="windows to measure")
    parser.add_argument("--window", type=float, default=5.0, help="seconds per window")
    parser.add_argument("--warm-up", type=int, default=3000, help="accepts before the windows")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    return parser.parse_args()


def main() -> None:
    options = parse_options()
    environment = SERVER_ENV | dict(parse_setting(item) for item in options.set)
    # SQLite only: the bytes written per accept are those of asyncgate's two processes.
    with (
        tempfile.TemporaryDirectory(prefix="asyncgate-accept-tail-") as folder,
        open_database("sqlite", Path(folder)) as database,
    ):
        server = Server(Path(folder), database, extra_env=environment)
        load = LoadGenerators(2)
        try:
            server.start()
            request = build_request(
                "POST",
                "/v1/async/accounts",
                f"{server.host}:{server.port}",
                {"Authorization": f"Bearer {server.token()}", "Content-Type": "application/json"},
                ACCOUNT,
            )

            def offer(seconds: float) -> list[float]:
                result = load.run(
                    host=server.host,
                    port=server.port,
                    request=request,
                    duration=seconds,
                    connections=CONNECTIONS,
                    rate=options.rate,
                )
                return sorted(result.latencies)

            offer(options.warm_up / options.rate)
            server.wait_until_drained(60)
            processes = [server.process.pid, *children(server.process.pid)]
            print(f"{options.rate:,.0f} accepts/s offered, {options.window:g} s windows")
            print(
                "window      n  p50 ms  p90 ms  p99 ms  max ms  "
                "per accept (API, worker): CPU ms, KiB written"
            )
            p99s = []
            for window in range(options.windows):
                cpu_before = [own_cpu_seconds(pid) for pid in processes]
                before = [bytes_written(pid) for pid in processes]
                latencies = offer(options.window)
                written = [bytes_written(pid) - b for pid, b in zip(processes, before, strict=True)]
                cpu = [
                    own_cpu_seconds(pid) - b for pid, b in zip(processes, cpu_before, strict=True)
                ]
                n = len(latencies)
                p50, p90, p99 = (1000 * percentile(latencies, q) for q in (0.5, 0.9, 0.99))
                p99s.append(p99)
                cpu_ms = ", ".join(f"{1000 * c / n:.2f}" for c in cpu)
                kib = ", ".join(f"{w / n / 1024:.1f}" for w in written)
                print(
                    f"{window:>6} {n:>6} {p50:>7.1f} {p90:>7.1f} {p99:>7.1f} "
                    f"{1000 * latencies[-1]:>7.1f}  {cpu_ms}; {kib}",
                    flush=True,
                )
            print(
                f"p99 over the windows: median {statistics.median(p99s):.1f} ms, "
                f"best {min(p99s):.1f}, worst {max(p99s):.1f}"
            )
        finally:
            load.close()
            server.stop()


if __name__ == "__main__":
    main()
