"""How long accepts took, as the process that answered them saw it: per tenant for the console's
dashboard (their p99 over the last hour), and all of them together as a histogram for
``/metrics``.

Kept in memory, per process (like the rate limits): a process restarted starts afresh, and with
several API processes each knows its own accepts. Each minute keeps a uniform sample of at most
``SAMPLE_SIZE`` durations (reservoir sampling), so memory stays bounded however busy the tenant,
and recording one costs about a microsecond on the hottest path.
"""

from __future__ import annotations

import random
import time
from array import array
from bisect import bisect_left
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

WINDOW_MINUTES = 60
SAMPLE_SIZE = 1000
# Upper bounds (seconds, inclusive) of the histogram's buckets; a last one takes the rest.
HISTOGRAM_BOUNDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5)


@dataclass
class _Minute:
    minute: int
    seen: int = 0
    sample: array = field(default_factory=lambda: array("d"))


class AcceptLatencies:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._by_tenant: dict[str, deque[_Minute]] = {}
        self._bucket_counts = [0] * (len(HISTOGRAM_BOUNDS) + 1)
        self._total_seconds = 0.0

    def record(self, tenant_id: str, seconds: float) -> None:
        self._bucket_counts[bisect_left(HISTOGRAM_BOUNDS, seconds)] += 1
        self._total_seconds += seconds
        minute = int(self._clock() // 60)
        minutes = self._by_tenant.setdefault(tenant_id, deque())
        if not minutes or minutes[-1].minute != minute:
            minutes.append(_Minute(minute))
            while minutes[0].minute <= minute - WINDOW_MINUTES:
                minutes.popleft()
        current = minutes[-1]
        current.seen += 1
        if len(current.sample) < SAMPLE_SIZE:
            current.sample.append(seconds)
        else:
            slot = random.randrange(current.seen)
            if slot < SAMPLE_SIZE:
                current.sample[slot] = seconds

    def histogram(self) -> tuple[list[tuple[str, int]], float]:
        """Every accept of the process so far: the cumulative count at or below each bound
        (``"+Inf"`` last, the count of all), and the sum of their durations, in seconds."""
        cumulative, running = [], 0
        for bound, count in zip(
            (*HISTOGRAM_BOUNDS, float("inf")), self._bucket_counts, strict=True
        ):
            running += count
            cumulative.append(("+Inf" if bound == float("inf") else str(bound), running))
        return cumulative, self._total_seconds

    def p99(self, tenant_id: str) -> float | None:
        """The 99th percentile over the last hour (each minute weighed by its accepts), in
        seconds; None before the first accept."""
        since = int(self._clock() // 60) - WINDOW_MINUTES
        weighted: list[tuple[float, float]] = []
        for minute in self._by_tenant.get(tenant_id, ()):
            if minute.minute > since and minute.sample:
                weight = minute.seen / len(minute.sample)
                weighted += [(seconds, weight) for seconds in minute.sample]
        if not weighted:
            return None
        weighted.sort()
        wanted = 0.99 * sum(weight for _, weight in weighted)
        reached = 0.0
        for seconds, weight in weighted:
            reached += weight
            if reached >= wanted - 1e-9:
                return seconds
        return weighted[-1][0]
