"""Which deliveries an event makes as the worker records it: one ``pending`` delivery per
active definition of its tenant and event type, allowed the tenant's attempts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from asyncgate.db.engine import Database
from asyncgate.notifications.models import DeliveryState
from asyncgate.notifications.outbox import OutboxEvent
from tests.notifications.api import CALLOUT_SETTINGS, DEFINITIONS, FAILED
from tests.notifications.delivery.support import define, deliveries_of, publish


async def dispatched_at_of(database: Database, object_id: str) -> datetime | None:
    async with database.read_transaction() as session:
        return await session.scalar(
            select(OutboxEvent.dispatched_at).where(OutboxEvent.object_id == object_id)
        )


class TestDeliveriesOfAnEvent:
    async def test_one_pending_delivery_per_active_definition_of_the_event_type(
        self, client, tenant, other_tenant, database, receiver
    ):
        url = receiver.url(receiver.new_path())
        first = await define(client, tenant, url)
        second = await define(client, tenant, url)
        await define(client, tenant, url, eventTypeName=FAILED)
        await define(client, other_tenant, url)

        payload = await publish(database, tenant)

        deliveries = await deliveries_of(database, tenant)
        assert sorted(d.definition_id for d in deliveries) == sorted([first["id"], second["id"]])
        assert {d.object_id for d in deliveries} == {payload["request"]["id"]}
        assert {(d.state, d.attempts, d.max_attempts) for d in deliveries} == {
            (DeliveryState.PENDING, 0, 3)
        }
        assert len({d.id for d in deliveries}) == 2  # each its own notification ID
        assert await dispatched_at_of(database, payload["request"]["id"]) is not None

    async def test_other_tenants_definitions_get_none(
        self, client, tenant, other_tenant, database, receiver
    ):
        await define(client, other_tenant, receiver.url(receiver.new_path()))

        await publish(database, tenant)

        assert await deliveries_of(database, other_tenant) == []

    async def test_inactive_definitions_and_callouts_get_none(
        self, client, tenant, database, receiver
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

        assert await deliveries_of(database, tenant) == []
        assert await dispatched_at_of(database, payload["request"]["id"]) is not None

    async def test_the_tenants_maximum_attempts_or_one_without_callout_retry(
        self, client, tenant, database, receiver
    ):
        response = await client.put(
            CALLOUT_SETTINGS, json={"maxAttempts": 5}, headers=tenant.headers
        )
        assert response.status_code == 200
        url = receiver.url(receiver.new_path())
        retried = await define(client, tenant, url)
        once = await define(client, tenant, url, calloutRetry=False)

        await publish(database, tenant)

        attempts = {d.definition_id: d.max_attempts for d in await deliveries_of(database, tenant)}
        assert attempts == {retried["id"]: 5, once["id"]: 1}

    async def test_a_filter_rule_is_not_evaluated_every_event_of_the_type_is_delivered(
        self, client, tenant, database, receiver
    ):
        filtered = await define(client, tenant, receiver.url(receiver.new_path()))
        response = await client.put(
            f"{DEFINITIONS}/{filtered['id']}",
            json={
                "filterRule": {"condition": "Request.Method == method", "parameters": {}},
                "filterRuleParams": {"method": "NEVER"},
            },
            headers=tenant.headers,
        )
        assert response.status_code == 200, response.text

        await publish(database, tenant)

        assert [d.definition_id for d in await deliveries_of(database, tenant)] == [filtered["id"]]
