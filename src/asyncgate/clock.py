"""Time, passed in rather than read: what runs on timers (workers' leases and retries, the
callout sender, retention, rate limits) asks a :class:`Clock`, so that tests move time on
instead of sleeping through it."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current moment, timezone-aware UTC (what the database stores)."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back, for measuring intervals."""
        ...

    def epoch(self) -> float:
        """Seconds since the Unix epoch, for counting in calendar windows."""
        ...


class SystemClock:
    """The machine's clocks."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    def epoch(self) -> float:
        return time.time()


SYSTEM_CLOCK: Clock = SystemClock()
