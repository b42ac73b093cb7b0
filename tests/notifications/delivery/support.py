"""Helpers of the delivery tests: events recorded with their deliveries as the async engine
records them, definitions whose callouts go to the test receiver, a sender's steps run until
its deliveries settle, and reading what deliveries and attempts hold."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select

from asyncgate.asyncreq.models import AsyncRequest, State
from asyncgate.asyncreq.outcomes import finished_event
from asyncgate.db.base import utcnow
from asyncgate.db.engine import Database
from asyncgate.notifications.deliveries import record_and_dispatch
from asyncgate.notifications.models import CalloutAttempt, CalloutDelivery, DeliveryState
from asyncgate.notifications.sender import Sender
from tests.factories import TenantContext
from tests.notifications.api import callout_body, create_definition
from tests.support.clock import ManualClock

# A name no DNS knows: only an injected resolver leads anywhere with it.
RECEIVER_NAME = "receiver.callouts.test"
UNFINISHED = (DeliveryState.PENDING, DeliveryState.DELIVERING)
SETTLE_ROUNDS = 20


def finished_request_event(tenant: TenantContext, *, succeeded: bool = True, track_id: str = "t-1"):
    """The event the worker records for a finished async request of ``tenant``."""
    created = utcnow() - timedelta(seconds=2)
    request = AsyncRequest(
        id=str(uuid.uuid4()),
        tenant_id=tenant.tenant_id,
        method="POST",
        path="/v1/accounts",
        query_string="",
        track_id=track_id,
        created_at=created,
    )
    if succeeded:
        return finished_event(
            request, state=State.SUCCEEDED, completed_at=utcnow(), resource_id=uuid.uuid4().hex
        )
    return finished_event(
        request,
        state=State.FAILED,
        completed_at=utcnow(),
        reasons=[{"code": 50010022, "message": "Missing required field: name"}],
        process_id="0123456789ABCDEF",
    )


async def publish(
    database: Database,
    tenant: TenantContext,
    *,
    succeeded: bool = True,
    track_id: str = "t-1",
) -> dict[str, Any]:
    """Record the event of a finished async request and its deliveries, as the worker does
    (with the settings ``database`` was opened with); returns its payload."""
    event = finished_request_event(tenant, succeeded=succeeded, track_id=track_id)
    async with database.transaction() as session:
        await record_and_dispatch(session, [event], database.settings)
    return event["payload"]


async def define(
    client: httpx.AsyncClient, tenant: TenantContext, url: str, **callout: Any
) -> dict[str, Any]:
    """A definition of Async Request Succeeded whose callout goes to ``url`` (no auth unless
    ``callout`` says so)."""
    fields = {"calloutBaseurl": url, "requiredAuth": False, "calloutAuth": None} | callout
    event_type = fields.get("eventTypeName", "Async Request Succeeded")
    return await create_definition(
        client,
        tenant,
        name=f"definition {uuid.uuid4().hex[:8]}",
        eventTypeName=event_type,
        callout=callout_body(**fields),
    )


async def deliveries_of(database: Database, tenant: TenantContext) -> list[CalloutDelivery]:
    async with database.read_transaction() as session:
        return list(
            await session.scalars(
                select(CalloutDelivery)
                .where(CalloutDelivery.tenant_id == tenant.tenant_id)
                .order_by(CalloutDelivery.created_at)
            )
        )


async def attempts_of(database: Database, tenant: TenantContext) -> list[CalloutAttempt]:
    async with database.read_transaction() as session:
        return list(
            await session.scalars(
                select(CalloutAttempt)
                .where(CalloutAttempt.tenant_id == tenant.tenant_id)
                .order_by(CalloutAttempt.completed_at, CalloutAttempt.attempt)
            )
        )


async def deliver(
    sender: Sender, database: Database, tenant: TenantContext
) -> list[CalloutDelivery]:
    """Run the sender's steps until every delivery of ``tenant`` is delivered or failed,
    moving the sender's clock (a :class:`ManualClock`) on to each next attempt rather than
    waiting for it; returns the deliveries."""
    clock = sender.clock
    assert isinstance(clock, ManualClock)
    for _ in range(SETTLE_ROUNDS):
        await sender.run_once()
        deliveries = await deliveries_of(database, tenant)
        if all(delivery.state not in UNFINISHED for delivery in deliveries):
            return deliveries
        due = [d.next_attempt_at for d in deliveries if d.state == DeliveryState.PENDING]
        if due:
            clock.advance(max(min(due) - clock.now(), timedelta(0)))
    raise AssertionError(f"deliveries did not settle: {deliveries}")
