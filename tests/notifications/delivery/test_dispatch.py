"""The dispatcher: every outbox event becomes one delivery per active definition."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select

from asyncgate.db.engine import Database
from asyncgate.notifications.dispatcher import Dispatcher
from asyncgate.notifications.models import DeliveryState
from asyncgate.notifications.outbox import OutboxEvent
from tests.notifications.api import CALLOUT_SETTINGS, DEFINITIONS
from tests.notifications.delivery.support import define, deliveries_of, publish

FAILED = "Async Request Failed"


async def dispatched_at_of(database: Database, object_id: str):
    async with database.read_transaction() as session:
        return await session.scalar(
            select(OutboxEvent.dispatched_at).where(OutboxEvent.object_id == object_id)
        )


class TestDispatch:
    async def test_one_pending_delivery_per_active_definition_of_the_event_type(
        self, client, tenant, other_tenant, database, dispatcher, receiver
    ):
        url = receiver.url(receiver.new_path())
        first = await define(client, tenant, url)
        second = await define(client, tenant, url)
        await define(client, tenant, url, eventTypeName=FAILED)
        await define(client, other_tenant, url)
        payload = await publish(database, tenant)

        assert await dispatcher.dispatch_once() == 1

        deliveries = await deliveries_of(database, tenant)
        assert sorted(d.definition_id for d in deliveries) == sorted([first["id"], second["id"]])
        assert {d.object_id for d in deliveries} == {payload["request"]["id"]}
        assert {(d.state, d.attempts, d.max_attempts) for d in deliveries} == {
            (DeliveryState.PENDING, 0, 3)
        }
        assert len({d.id for d in deliveries}) == 2  # each its own notification ID
        assert await deliveries_of(database, other_tenant) == []

    async def test_inactive_definitions_and_callouts_get_no_delivery(
        self, client, tenant, database, dispatcher, receiver
    ):
        url = receiver.url(receiver.new_path())
        await define(client, tenant, url, active=False)
        inactive = await define(client, tenant, url)
        await client.put(
            f"{DEFINITIONS}/{inactive['id']}", json={"active": False}, headers=tenant.headers
        )
        silent = await define(client, tenant, url)
        response = await client.put(
            f"{DEFINITIONS}/{silent['id']}", json={"calloutActive": False}, headers=tenant.headers
        )
        assert response.status_code == 200, response.text
        payload = await publish(database, tenant)

        await dispatcher.dispatch_once()

        assert await deliveries_of(database, tenant) == []
        assert await dispatched_at_of(database, payload["request"]["id"]) is not None

    async def test_an_event_nobody_listens_to_is_marked_dispatched_once(
        self, tenant, database, dispatcher
    ):
        payload = await publish(database, tenant)

        assert await dispatcher.dispatch_once() == 1
        marked = await dispatched_at_of(database, payload["request"]["id"])
        assert await dispatcher.dispatch_once() == 0
        assert marked is not None
        assert await dispatched_at_of(database, payload["request"]["id"]) == marked

    async def test_deliveries_get_the_tenants_attempts_or_one_without_callout_retry(
        self, client, tenant, database, dispatcher, receiver
    ):
        response = await client.put(
            CALLOUT_SETTINGS, json={"maxAttempts": 5}, headers=tenant.headers
        )
        assert response.status_code == 200
        url = receiver.url(receiver.new_path())
        retried = await define(client, tenant, url)
        once = await define(client, tenant, url, calloutRetry=False)
        await publish(database, tenant)

        await dispatcher.dispatch_once()

        attempts = {d.definition_id: d.max_attempts for d in await deliveries_of(database, tenant)}
        assert attempts == {retried["id"]: 5, once["id"]: 1}

    async def test_a_running_dispatcher_wakes_when_events_are_committed(
        self, client, tenant, database, settings, receiver
    ):
        await define(client, tenant, receiver.url(receiver.new_path()))
        made = asyncio.Event()
        # It polls once a minute: only the wake-up can make it quick.
        dispatcher = Dispatcher(
            database, settings, poll_interval=timedelta(minutes=1), on_deliveries=made.set
        )
        stop = asyncio.Event()
        running = asyncio.create_task(dispatcher.run(stop))
        try:
            await asyncio.sleep(0.05)  # it looked, found nothing, and waits
            await publish(database, tenant)
            await asyncio.wait_for(made.wait(), timeout=5)
        finally:
            stop.set()
            await running

        assert len(await deliveries_of(database, tenant)) == 1


class TestDispatchedAsRecorded:
    """The worker records each event with its deliveries, in one commit (no dispatcher)."""

    async def test_an_event_gets_the_deliveries_the_dispatcher_would_make(
        self, client, tenant, other_tenant, database, settings, dispatcher, receiver
    ):
        url = receiver.url(receiver.new_path())
        first = await define(client, tenant, url)
        once = await define(client, tenant, url, calloutRetry=False)
        await define(client, tenant, url, eventTypeName=FAILED)
        await define(client, tenant, url, active=False)
        await define(client, other_tenant, url)

        payload = await publish(database, tenant, dispatching_with=settings)

        deliveries = await deliveries_of(database, tenant)
        assert {(d.definition_id, d.max_attempts) for d in deliveries} == {
            (first["id"], 3),
            (once["id"], 1),
        }
        assert {(d.object_id, d.state, d.attempts) for d in deliveries} == {
            (payload["request"]["id"], DeliveryState.PENDING, 0)
        }
        assert await deliveries_of(database, other_tenant) == []
        assert await dispatched_at_of(database, payload["request"]["id"]) is not None
        assert await dispatcher.dispatch_once() == 0

    async def test_a_running_sender_wakes_when_they_are_committed(
        self, client, tenant, database, settings, make_sender, receiver
    ):
        path = receiver.new_path()
        await define(client, tenant, receiver.url(path))
        # It polls once a minute: only the wake-up can make it quick.
        sender = make_sender(callout_poll_interval=timedelta(minutes=1))
        stop = asyncio.Event()
        running = asyncio.create_task(sender.run(stop))
        try:
            await asyncio.sleep(0.05)  # it looked, found nothing, and waits
            payload = await publish(database, tenant, dispatching_with=settings)
            [arrival] = await asyncio.to_thread(receiver.wait_for, path, 1, 5.0)
        finally:
            stop.set()
            await running
        assert payload["request"]["id"] in arrival.body.decode()
