"""A throttled wake-up is set at most once per interval, and a wake that comes too soon is put
off, never lost."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from asyncgate.asyncreq.wakeup import Throttled

INTERVAL = timedelta(milliseconds=100)


async def test_the_first_wake_is_at_once_and_a_burst_after_it_wakes_once_more_later():
    event = asyncio.Event()
    throttled = Throttled(event, INTERVAL)
    throttled.set()
    assert event.is_set()

    event.clear()
    started = asyncio.get_running_loop().time()
    for _ in range(50):
        throttled.set()
    assert not event.is_set()
    await asyncio.wait_for(event.wait(), timeout=1)
    assert asyncio.get_running_loop().time() - started >= 0.09

    event.clear()
    await asyncio.sleep(2 * INTERVAL.total_seconds())
    assert not event.is_set()  # the burst woke it once, not once per set


async def test_a_wake_after_a_quiet_interval_is_at_once():
    event = asyncio.Event()
    throttled = Throttled(event, INTERVAL)
    throttled.set()
    event.clear()
    await asyncio.sleep(1.5 * INTERVAL.total_seconds())
    throttled.set()
    assert event.is_set()
