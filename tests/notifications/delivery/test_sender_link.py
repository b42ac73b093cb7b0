"""Deliveries a worker process commits go to the sender of another process over a local socket:
sent without a claim while it is connected and has room, left for a claim while it is not,
never taken by a sender they were not leased to, and the worker connects again to a sender
that restarted."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from asyncgate.notifications.handoff import LoadedDelivery, taking_new_deliveries
from asyncgate.notifications.models import (
    Callout,
    CalloutSettings,
    DeliveryState,
    NotificationDefinition,
)
from asyncgate.notifications.sender import Sender
from asyncgate.notifications.sender_link import (
    LinkedSender,
    deliveries_message,
    encode_frame,
    handed_deliveries,
    serve_link,
)
from tests.notifications.delivery.support import define, deliveries_of, publish
from tests.support.receiver import Reply

LEASE = timedelta(minutes=1)
WAIT_SECONDS = 10


@pytest.fixture
def socket_path() -> str:
    # Short: a Unix socket's path has room for about 100 characters.
    return str(Path(tempfile.mkdtemp(prefix="asyncgate-link-")) / "sender.sock")


@asynccontextmanager
async def serving(path: str, sender: Sender) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(serve_link(path, sender, stop))
    try:
        await until(lambda: Path(path).exists())
        yield
    finally:
        stop.set()
        await task


@asynccontextmanager
async def linked_to(path: str, clock) -> AsyncIterator[LinkedSender]:
    """The worker process's side, connecting (and connecting again) to ``path``."""
    linked = LinkedSender(path, LEASE, clock)
    stop = asyncio.Event()
    task = asyncio.create_task(linked.run(stop))
    try:
        yield linked
    finally:
        stop.set()
        await task


async def until(condition: Callable[[], bool]) -> None:
    for _ in range(WAIT_SECONDS * 100):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the condition never held")


async def settled(database, tenant) -> list:
    for _ in range(WAIT_SECONDS * 100):
        deliveries = await deliveries_of(database, tenant)
        if deliveries and all(d.state != DeliveryState.DELIVERING for d in deliveries):
            return deliveries
        await asyncio.sleep(0.01)
    raise AssertionError(f"deliveries still held: {deliveries}")


class TestHandedOverAcrossProcesses:
    async def test_a_committed_delivery_goes_over_the_socket_and_is_sent_without_a_claim(
        self, client, tenant, database, receiver, sender, socket_path, clock
    ):
        path = receiver.new_path()
        await define(client, tenant, receiver.url(path))

        async with serving(socket_path, sender), linked_to(socket_path, clock) as linked:
            await until(lambda: linked.room() > 0)
            assert linked.owner == sender.owner
            with taking_new_deliveries(linked):
                payload = await publish(database, tenant)
            (arrival,) = await asyncio.to_thread(receiver.wait_for, path, 1)
            (delivery,) = await settled(database, tenant)

        assert arrival.headers["zuora-notification-id"] == delivery.id
        assert (delivery.state, delivery.attempts) == (DeliveryState.DELIVERED, 1)
        assert delivery.object_id == payload["request"]["id"]
        assert await sender.claim(10) == []  # nothing was left for a claim

    async def test_beyond_the_room_the_sender_told_deliveries_wait_for_a_claim(
        self, client, tenant, database, receiver, make_sender, socket_path, clock
    ):
        sender = make_sender(callout_concurrency=1)  # a hand of two
        path = receiver.new_path()
        receiver.script(path, *[Reply(200, delay=1.0)] * 3)  # held while the test looks
        await define(client, tenant, receiver.url(path))

        async with serving(socket_path, sender), linked_to(socket_path, clock) as linked:
            await until(lambda: linked.room() == 2)
            with taking_new_deliveries(linked):
                await publish(database, tenant)
                assert linked.room() == 1  # counted at once, before the sender tells
                await publish(database, tenant)
                await until(lambda: linked.room() == 0)  # one sending, one waiting
                await publish(database, tenant)
            states = sorted(d.state for d in await deliveries_of(database, tenant))
            await settled(database, tenant)

        assert states == [DeliveryState.DELIVERING] * 2 + [DeliveryState.PENDING]


class TestNotConnected:
    async def test_with_no_sender_listening_deliveries_wait_for_a_claim(
        self, client, tenant, database, receiver, sender, socket_path, clock
    ):
        await define(client, tenant, receiver.url(receiver.new_path()))

        async with linked_to(socket_path, clock) as linked:
            with taking_new_deliveries(linked):
                await publish(database, tenant)

        (delivery,) = await deliveries_of(database, tenant)
        assert (delivery.state, delivery.lease_owner) == (DeliveryState.PENDING, None)
        assert [claimed.id for claimed in await sender.claim(10)] == [delivery.id]

    async def test_a_sender_that_restarts_is_connected_to_again(
        self, make_sender, socket_path, clock
    ):
        first, second = make_sender(), make_sender()
        async with linked_to(socket_path, clock) as linked:
            async with serving(socket_path, first):
                await until(lambda: linked.owner == first.owner)
            await until(lambda: linked.room() == 0)
            Path(socket_path).unlink(missing_ok=True)

            async with serving(socket_path, second):
                await until(lambda: linked.owner == second.owner)
                assert linked.room() > 0


class TestLeasedToAnother:
    async def test_deliveries_leased_to_a_sender_that_is_gone_are_not_taken(
        self, sender, socket_path
    ):
        taken: list = []
        sender.take = taken.extend
        handed = deliveries_message("sender-that-is-gone", [a_delivery()])

        async with serving(socket_path, sender):
            _, writer = await asyncio.open_unix_connection(socket_path)
            writer.write(encode_frame(handed) + encode_frame({"wake": True}))
            await until(sender.wake.is_set)
            writer.close()

        assert taken == []  # their lease expires, then a claim takes them


class TestFrames:
    def test_a_delivery_crosses_with_its_definition_callout_and_settings(self):
        delivery = a_delivery()

        message = orjson.loads(orjson.dumps(deliveries_message("sender-1", [delivery])))
        (crossed,) = handed_deliveries(message)

        assert crossed.payload == delivery.payload
        assert (crossed.id, crossed.attempts, crossed.max_attempts) == ("d-1", 2, 5)
        assert crossed.definition is not None and crossed.definition.name == "paid"
        assert crossed.callout is not None
        assert (crossed.callout.url, crossed.callout.params) == (
            "https://hooks.example/paid",
            {"id": "<Request.Id>"},
        )
        expires = crossed.tenant_settings.previous_signing_secret_expires_at
        assert expires == datetime(2026, 12, 8, 3, 0, tzinfo=UTC)
        assert crossed.tenant_settings.signing_secret_sealed == "sealed-secret"


def a_delivery() -> LoadedDelivery:
    return LoadedDelivery(
        id="d-1",
        tenant_id="t-1",
        definition_id="def-1",
        attempts=2,
        max_attempts=5,
        payload={"request": {"id": "r-1"}, "state": "Succeeded"},
        definition=NotificationDefinition(
            id="def-1",
            tenant_id="t-1",
            name="paid",
            event_type_name="Async Request Succeeded",
            active=True,
            callout_active=True,
        ),
        callout=Callout(
            definition_id="def-1",
            name="paid",
            active=True,
            url="https://hooks.example/paid",
            http_method="POST",
            required_auth=False,
            retry=True,
            params={"id": "<Request.Id>"},
        ),
        tenant_settings=CalloutSettings(
            tenant_id="t-1",
            max_attempts=5,
            min_interval_minutes=1,
            parse_response_content=False,
            signing_secret_sealed="sealed-secret",
            previous_signing_secret_expires_at=datetime(2026, 12, 8, 3, 0, tzinfo=UTC),
        ),
    )
