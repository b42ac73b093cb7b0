"""What the figures ran on: the CPUs, the cost of a durable write, and how busy the machine was.

Figures from a machine that other processes keep busy are not comparable with a quiet one's;
the report therefore shows, per phase, how much CPU went to processes other than the server
and the load generator.
"""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path
from typing import Any

from stats import distribution_ms

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def describe() -> dict[str, Any]:
    model = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return {
        "cpus": len(os.sched_getaffinity(0)),
        "cpu_model": model,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "load_average_at_start": [round(value, 2) for value in os.getloadavg()],
    }


def fsync_ms(folder: Path, samples: int = 50) -> dict[str, float | None]:
    """What one durable 4 KiB write costs where the database lives (SQLite's commit floor)."""
    path = folder / "fsync.probe"
    timings = []
    with path.open("wb") as probe:
        for _ in range(samples):
            probe.write(b"x" * 4096)
            probe.flush()
            started = time.perf_counter()
            os.fsync(probe.fileno())
            timings.append(time.perf_counter() - started)
    path.unlink()
    return distribution_ms(timings)


def busy_cpu_seconds() -> float:
    """CPU time every process of the machine has used since boot (all CPUs together)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


def own_cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process (all its threads) so far, its children apart."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads) and of its children, those still
    running (``serve``'s worker process) and those that ended, so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    own_and_ended = sum(int(field) for field in fields[11:15]) / CLOCK_TICKS
    return own_and_ended + sum(_child_cpu_seconds(child) for child in children(pid))


def _child_cpu_seconds(pid: int) -> float:
    try:
        return process_cpu_seconds(pid)
    except FileNotFoundError:  # it ended meanwhile; its parent's figures count it from now on
        return 0.0


def bytes_written(pid: int) -> int:
    """Bytes a process has caused to be written to storage so far (``/proc/<pid>/io``)."""
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        name, _, value = line.partition(": ")
        if name == "write_bytes":
            return int(value)
    raise RuntimeError(f"/proc/{pid}/io has no write_bytes")


def children(pid: int) -> list[int]:
    """The running child processes of ``pid``."""
    children = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            children += [int(child) for child in (task / "children").read_text().split()]
        except FileNotFoundError:  # the thread ended meanwhile
            continue
    return children
