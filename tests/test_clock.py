"""The clocks: the machine's, and the one tests move by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from asyncgate.clock import SYSTEM_CLOCK
from tests.support.clock import ManualClock


def test_the_system_clock_tells_utc_time_that_moves_on() -> None:
    first, mark = SYSTEM_CLOCK.now(), SYSTEM_CLOCK.monotonic()
    assert first.tzinfo is UTC
    assert abs(SYSTEM_CLOCK.epoch() - first.timestamp()) < 5
    assert SYSTEM_CLOCK.now() >= first and SYSTEM_CLOCK.monotonic() >= mark


def test_a_manual_clock_stands_still_until_advanced() -> None:
    clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
    mark = clock.monotonic()
    assert clock.now() == clock.now() == datetime(2026, 1, 1, tzinfo=UTC)
    clock.advance(timedelta(minutes=1))
    clock.advance(0.5)
    assert clock.now() == datetime(2026, 1, 1, 0, 1, 0, 500000, tzinfo=UTC)
    assert clock.monotonic() == mark + 60.5
    assert clock.epoch() == clock.now().timestamp()
    with pytest.raises(ValueError):
        clock.advance(-1)
