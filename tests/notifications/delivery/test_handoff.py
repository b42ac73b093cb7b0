"""Deliveries this process commits go straight to its sender: held by it from the insert,
sent without a claim, never when their savepoint or transaction is rolled back, and only as
many as its hand has room for."""

from __future__ import annotations

import asyncio

from asyncgate.notifications.deliveries import record_and_dispatch
from asyncgate.notifications.handoff import taking_new_deliveries
from asyncgate.notifications.models import DeliveryState
from tests.notifications.delivery.support import (
    define,
    deliveries_of,
    finished_request_event,
    publish,
)
from tests.support.receiver import Reply


def collected_by(sender) -> list:
    """What is handed to ``sender`` from now on, kept here rather than sent."""
    taken: list = []
    sender.take = taken.extend
    return taken


async def recorded(database, tenant) -> list:
    """The tenant's deliveries once none is held any more (bounded wait)."""
    for _ in range(500):
        deliveries = await deliveries_of(database, tenant)
        if all(d.state != DeliveryState.DELIVERING for d in deliveries):
            return deliveries
        await asyncio.sleep(0.01)
    raise AssertionError(f"deliveries still held: {deliveries}")


class TestHandedOver:
    async def test_a_committed_delivery_is_held_by_the_sender_and_sent_without_a_claim(
        self, client, tenant, database, receiver, sender
    ):
        path = receiver.new_path()
        await define(client, tenant, receiver.url(path))

        with taking_new_deliveries(sender):
            payload = await publish(database, tenant)
            (arrival,) = await asyncio.to_thread(receiver.wait_for, path, 1)
            (delivery,) = await recorded(database, tenant)

        assert arrival.headers["zuora-notification-id"] == delivery.id
        assert (delivery.state, delivery.attempts) == (DeliveryState.DELIVERED, 1)
        assert delivery.object_id == payload["request"]["id"]
        assert await sender.claim(10) == []  # nothing was left for a claim

    async def test_it_is_inserted_held_under_the_senders_lease(
        self, client, tenant, database, receiver, make_sender
    ):
        sender = make_sender()
        sender.take = lambda deliveries: None  # hold them, send nothing: the row is looked at
        await define(client, tenant, receiver.url(receiver.new_path()))

        with taking_new_deliveries(sender):
            await publish(database, tenant)

        (delivery,) = await deliveries_of(database, tenant)
        assert delivery.state == DeliveryState.DELIVERING
        assert delivery.lease_owner == sender.owner
        assert delivery.lease_expires_at is not None

    async def test_beyond_the_senders_room_deliveries_wait_for_a_claim(
        self, client, tenant, database, receiver, make_sender
    ):
        sender = make_sender(callout_concurrency=1)  # a hand of two
        taken = collected_by(sender)
        path = receiver.new_path()
        for _ in range(3):
            await define(client, tenant, receiver.url(path))

        with taking_new_deliveries(sender):
            await publish(database, tenant)

        states = sorted(d.state for d in await deliveries_of(database, tenant))
        assert states == [DeliveryState.DELIVERING, DeliveryState.DELIVERING, DeliveryState.PENDING]
        assert len(taken) == 2


class TestAtTheOutermostCommit:
    async def test_deliveries_of_released_savepoints_wait_for_the_outermost_commit(
        self, client, tenant, database, receiver, make_sender
    ):
        # A worker's transaction executes runs of requests in savepoints of their own.
        sender = make_sender()
        taken = collected_by(sender)
        await define(client, tenant, receiver.url(receiver.new_path()))
        first, second = finished_request_event(tenant), finished_request_event(tenant)

        with taking_new_deliveries(sender):
            async with database.transaction() as session:
                for event in (first, second):
                    savepoint = await session.begin_nested()
                    await record_and_dispatch(session, [event], database.settings)
                    await savepoint.commit()
                assert taken == []  # not before the commit: it may still fail

        assert sorted(d.id for d in taken) == sorted(
            d.id for d in await deliveries_of(database, tenant)
        )
        assert len(taken) == 2


class TestASenderThatFailsToTake:
    async def test_the_commit_stands_and_the_delivery_waits_for_its_lease(
        self, client, tenant, database, receiver, make_sender
    ):
        sender = make_sender()

        def fails(deliveries):
            raise RuntimeError("the sender broke")

        sender.take = fails
        await define(client, tenant, receiver.url(receiver.new_path()))

        with taking_new_deliveries(sender):
            payload = await publish(database, tenant)  # no error reaches the worker

        (delivery,) = await deliveries_of(database, tenant)
        assert delivery.object_id == payload["request"]["id"]
        assert (delivery.state, delivery.lease_owner) == (DeliveryState.DELIVERING, sender.owner)


class TestNotHandedOver:
    async def test_deliveries_of_a_rolled_back_savepoint_are_not(
        self, client, tenant, database, receiver, make_sender
    ):
        sender = make_sender()
        taken = collected_by(sender)
        await define(client, tenant, receiver.url(receiver.new_path()))
        kept, undone = finished_request_event(tenant), finished_request_event(tenant)

        with taking_new_deliveries(sender):
            async with database.transaction() as session:
                await record_and_dispatch(session, [kept], database.settings)
                savepoint = await session.begin_nested()
                await record_and_dispatch(session, [undone], database.settings)
                await savepoint.rollback()

        (delivery,) = await deliveries_of(database, tenant)
        assert delivery.object_id == kept["object_id"]
        assert [d.id for d in taken] == [delivery.id]

    async def test_deliveries_of_a_transaction_that_rolls_back_are_not(
        self, client, tenant, database, receiver, make_sender
    ):
        sender = make_sender()
        taken = collected_by(sender)
        await define(client, tenant, receiver.url(receiver.new_path()))
        event = finished_request_event(tenant)

        with taking_new_deliveries(sender):
            try:
                async with database.transaction() as session:
                    await record_and_dispatch(session, [event], database.settings)
                    raise _Undo
            except _Undo:
                pass

        assert taken == []
        assert await deliveries_of(database, tenant) == []

    async def test_without_a_sender_in_the_process_deliveries_are_pending(
        self, client, tenant, database, receiver
    ):
        await define(client, tenant, receiver.url(receiver.new_path()))

        await publish(database, tenant)

        (delivery,) = await deliveries_of(database, tenant)
        assert (delivery.state, delivery.lease_owner) == (DeliveryState.PENDING, None)


class _Undo(Exception):
    pass


class TestOverfilledHand:
    async def test_more_handed_over_than_the_hand_holds_are_all_sent(
        self, client, tenant, database, receiver, make_sender
    ):
        # Each call of record_and_dispatch sees the same room until the commit: two calls in
        # one transaction hand over twice as many as the hand holds.
        sender = make_sender(callout_concurrency=1)  # a hand of two
        path = receiver.new_path()
        for _ in range(2):
            await define(client, tenant, receiver.url(path))
        events = [finished_request_event(tenant), finished_request_event(tenant)]
        stop = asyncio.Event()
        running = asyncio.create_task(sender.run(stop))
        try:
            await asyncio.sleep(0)  # the sender takes deliveries from now on
            async with database.transaction() as session:
                for event in events:
                    await record_and_dispatch(session, [event], database.settings)
            arrivals = await asyncio.to_thread(receiver.wait_for, path, 4)
            deliveries = await recorded(database, tenant)
        finally:
            stop.set()
            await running

        assert len({arrival.headers["zuora-notification-id"] for arrival in arrivals}) == 4
        assert {d.state for d in deliveries} == {DeliveryState.DELIVERED}


class TestStopping:
    async def test_deliveries_held_but_not_started_are_given_back_at_once(
        self, client, tenant, database, receiver, make_sender
    ):
        sender = make_sender(callout_concurrency=1, callout_concurrency_per_origin=1)
        path = receiver.new_path()
        receiver.script(path, Reply(200, delay=0.5))
        for _ in range(3):
            await define(client, tenant, receiver.url(path))
        stop = asyncio.Event()
        running = asyncio.create_task(sender.run(stop))
        await asyncio.sleep(0)
        await publish(database, tenant)  # three deliveries: one is sent, two wait in hand
        await asyncio.to_thread(receiver.wait_for, path, 1)

        stop.set()
        await running

        deliveries = await deliveries_of(database, tenant)
        assert sorted((d.state, d.lease_owner) for d in deliveries) == [
            (DeliveryState.DELIVERED, None),
            (DeliveryState.PENDING, None),
            (DeliveryState.PENDING, None),
        ]
        assert len(receiver.arrivals(path)) == 1
