"""A clock that moves only when a test moves it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class ManualClock:
    """Starts at ``start`` (the real time by default) and stands still until :meth:`advance`."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime.now(UTC)
        self._monotonic = 1000.0

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._monotonic

    def epoch(self) -> float:
        return self._now.timestamp()

    def advance(self, by: timedelta | float) -> None:
        step = by if isinstance(by, timedelta) else timedelta(seconds=by)
        if step < timedelta(0):
            raise ValueError("a clock does not go back")
        self._now += step
        self._monotonic += step.total_seconds()
