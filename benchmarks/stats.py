"""Percentiles and the figures of one load phase."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from loadgen import Result


def percentile(ordered: Sequence[float], fraction: float) -> float | None:
    """Nearest-rank percentile of sorted ``ordered``; None when empty."""
    if not ordered:
        return None
    return ordered[max(1, math.ceil(fraction * len(ordered))) - 1]


def distribution_ms(values: Sequence[float]) -> dict[str, float | None]:
    ordered = sorted(values)

    def ms(value: float | None) -> float | None:
        return None if value is None else round(value * 1000, 2)

    return {
        "p50_ms": ms(percentile(ordered, 0.50)),
        "p99_ms": ms(percentile(ordered, 0.99)),
        "max_ms": ms(ordered[-1] if ordered else None),
    }


def phase_figures(
    *,
    name: str,
    endpoint: str,
    result: Result,
    offered_rate: float | None,
    connections: int,
    wall_seconds: float,
    server_cpu_seconds: float,
    machine_cpu_seconds: float,
) -> dict[str, Any]:
    """One row of the report. Throughput counts 2xx answers only; latency is measured from the
    due time (open loop) or the send time (closed loop)."""
    ok = sum(count for status, count in result.statuses.items() if 200 <= status < 300)
    span = result.last_answer - result.first_send if result.latencies else 0.0
    return {
        "name": name,
        "endpoint": endpoint,
        "mode": "closed" if offered_rate is None else "open",
        "offered_rps": offered_rate,
        "connections": connections,
        "answered": len(result.latencies),
        "ok": ok,
        "statuses": {str(status): count for status, count in sorted(result.statuses.items())},
        "errors": result.errors,
        "lost": result.lost,
        "throughput_rps": round(ok / span, 1) if span > 0 else None,
        "latency": distribution_ms(result.latencies),
        "service_time": distribution_ms(result.service_times),
        "server_cpu_ms_per_request": round(1000 * server_cpu_seconds / ok, 3) if ok else None,
        # CPU use in percent of one CPU (two busy CPUs make 200%).
        "server_cpu_pct": round(100 * server_cpu_seconds / wall_seconds, 1),
        "loadgen_cpu_pct": round(100 * result.cpu_seconds / wall_seconds, 1),
        "other_cpu_pct": round(
            100
            * max(0.0, machine_cpu_seconds - server_cpu_seconds - result.cpu_seconds)
            / wall_seconds,
            1,
        ),
    }
