"""Deliveries survive their sender: a delivery claimed by a sender that died is sent once its
lease expires, a sender that lost its lease records nothing, and a sender that is stopped
finishes what it is sending. A running sender starts on wake-ups, not polls."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import orjson

from asyncgate.clock import SYSTEM_CLOCK
from asyncgate.notifications.models import DeliveryState
from tests.notifications.delivery.support import attempts_of, define, deliveries_of, publish
from tests.support.receiver import Reply

LEASE = timedelta(seconds=30)
AFTER_THE_LEASE = LEASE + timedelta(seconds=1)


async def one_delivery(client, tenant, database, receiver) -> str:
    """A definition calling a new path of ``receiver``, and one delivery for it; returns the
    path."""
    path = receiver.new_path()
    await define(client, tenant, receiver.url(path))
    await publish(database, tenant)
    return path


class TestCrashSafety:
    async def test_a_delivery_claimed_by_a_sender_that_died_is_sent_after_its_lease(
        self, client, tenant, database, clock, make_sender, receiver
    ):
        path = await one_delivery(client, tenant, database, receiver)
        dead, alive = make_sender(lease=LEASE), make_sender(lease=LEASE)
        assert len(await dead.claim(10)) == 1  # and then it dies, before sending

        clock.advance(LEASE - timedelta(seconds=1))
        assert await alive.reap_expired_leases() == 0
        assert await alive.run_once() == 0  # still leased
        clock.advance(timedelta(seconds=2))
        assert await alive.reap_expired_leases() == 1
        assert await alive.run_once() == 1

        (delivery,) = await deliveries_of(database, tenant)
        assert (delivery.state, delivery.attempts) == (DeliveryState.DELIVERED, 1)
        assert len(receiver.wait_for(path, 1)) == 1

    async def test_one_sent_but_not_recorded_is_sent_again_with_the_same_notification_id(
        self, client, tenant, database, clock, make_sender, receiver
    ):
        path = await one_delivery(client, tenant, database, receiver)
        dead, alive = make_sender(lease=LEASE), make_sender(lease=LEASE)
        (claimed,) = await dead.claim(10)
        await dead.attempt(claimed)  # the receiver has it; the sender dies before recording

        clock.advance(AFTER_THE_LEASE)
        await alive.reap_expired_leases()
        await alive.run_once()

        first, second = receiver.wait_for(path, 2)
        assert first.headers["zuora-notification-id"] == second.headers["zuora-notification-id"]
        assert first.headers["zuora-request-id"] != second.headers["zuora-request-id"]
        assert [a.attempt for a in await attempts_of(database, tenant)] == [1]

    async def test_a_sender_that_lost_its_lease_records_nothing(
        self, client, tenant, database, clock, make_sender, receiver
    ):
        await one_delivery(client, tenant, database, receiver)
        stalled, alive = make_sender(lease=LEASE), make_sender(lease=LEASE)
        (late,) = await stalled.claim(10)
        clock.advance(AFTER_THE_LEASE)
        await alive.reap_expired_leases()
        (taken_over,) = await alive.claim(10)

        assert await stalled.record([await stalled.attempt(late)]) == 0
        assert await alive.record([await alive.attempt(taken_over)]) == 1

        assert [a.attempt for a in await attempts_of(database, tenant)] == [1]
        (delivery,) = await deliveries_of(database, tenant)
        assert (delivery.state, delivery.attempts) == (DeliveryState.DELIVERED, 1)

    async def test_a_live_sender_keeps_its_leases(
        self, client, tenant, database, clock, make_sender, receiver
    ):
        await one_delivery(client, tenant, database, receiver)
        slow, other = make_sender(lease=LEASE), make_sender(lease=LEASE)
        await slow.claim(10)

        for _ in range(3):
            clock.advance(LEASE * 0.75)
            await slow.extend_leases()
            assert await other.reap_expired_leases() == 0
        (delivery,) = await deliveries_of(database, tenant)
        assert (delivery.state, delivery.lease_owner) == (DeliveryState.DELIVERING, slow.owner)


class TestRunningSender:
    async def test_it_delivers_what_this_process_commits_without_polling(
        self, client, tenant, database, make_sender, receiver
    ):
        path = receiver.new_path()
        await define(client, tenant, receiver.url(path))
        # On real time: a running sender waits on the event loop's clock.
        sender = make_sender(clock=SYSTEM_CLOCK, callout_poll_interval=timedelta(minutes=1))
        stop = asyncio.Event()
        running = asyncio.create_task(sender.run(stop))
        try:
            await asyncio.sleep(0.05)  # it looked, found nothing, and waits a minute
            payload = await publish(database, tenant)
            published_at = time.monotonic()
            arrivals = await asyncio.to_thread(receiver.wait_for, path, 1, 5)
            # Well inside the minute of polling: the commit that made the delivery woke it.
            assert time.monotonic() - published_at < 5
            assert [orjson.loads(arrival.body) for arrival in arrivals] == [payload]
        finally:
            stop.set()
            await running

    async def test_a_stop_lets_the_callouts_being_sent_finish_and_be_recorded(
        self, client, tenant, database, make_sender, receiver
    ):
        path = receiver.new_path()
        receiver.script(path, Reply(delay=0.3))
        await define(client, tenant, receiver.url(path))
        await publish(database, tenant)
        sender = make_sender(clock=SYSTEM_CLOCK)
        stop = asyncio.Event()
        running = asyncio.create_task(sender.run(stop))
        await asyncio.to_thread(receiver.wait_for, path, 1)  # it is being answered

        stop.set()
        await running

        (delivery,) = await deliveries_of(database, tenant)
        assert (delivery.state, delivery.attempts) == (DeliveryState.DELIVERED, 1)
        assert [a.attempt for a in await attempts_of(database, tenant)] == [1]
