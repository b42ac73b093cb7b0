"""How long accepts took, per tenant, as the process that answered them saw it: the console's
dashboard shows their p99 over the last hour.

Kept in memory, per process (like the rate limits): a process restarted starts afresh, and with
several API processes each knows its own accepts. Each minute keeps a uniform sample of at most
``SAMPLE_SIZE`` durations (reservoir sampling), so memory stays bounded however busy the tenant,
and recording one costs about a microsecond on the hottest path.
"""

from __future__ import annotations

import random
import time
from array import array
from collections import deque
from dataclasses import dataclass, field

WINDOW_MINUTES = 60
SAMPLE_SIZE = 1000


@dataclass
class _Minute:
    minute: int
    seen: int = 0
    sample: array = field(default_factory=lambda: array("d"))


class AcceptLatencies:
    def __init__(self, clock=time.time) -> None:
        self._clock = clock
        self._by_tenant: dict[str, deque[_Minute]] = {}

    def record(self, tenant_id: str, seconds: float) -> None:
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
