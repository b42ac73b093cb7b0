"""Finished requests are deleted once the retention period has passed since their accept."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from sqlalchemy import func, select, update

from asyncgate.asyncreq import retention
from asyncgate.asyncreq.models import AsyncRequest, State
from asyncgate.asyncreq.retention import prune_finished
from asyncgate.db.base import utcnow
from asyncgate.notifications.models import CalloutAttempt, CalloutDelivery, DeliveryState
from tests.asyncreq.support import (
    ASYNC_TRIALS,
    accept,
    delivered_once,
    events_of,
    stored,
    stored_count,
    trial,
)
from tests.support.clock import ManualClock

RETENTION = timedelta(days=7)


async def accepted_days_ago(database, request_ids: list[str], days: float) -> None:
    """Backdate finished requests (the queue's table holds them on every database)."""
    async with database.transaction() as session:
        await session.execute(
            update(AsyncRequest)
            .where(AsyncRequest.id.in_(request_ids))
            .values(created_at=utcnow() - timedelta(days=days))
        )


async def rows_of(database, table, tenant) -> int:
    async with database.transaction() as session:
        return await session.scalar(
            select(func.count()).select_from(table).where(table.tenant_id == tenant.tenant_id)
        )


async def status_of(client, tenant, request_id: str) -> int:
    response = await client.get(f"/v1/async-requests/{request_id}", headers=tenant.headers)
    return response.status_code


async def test_finished_requests_past_the_period_go_and_the_others_stay(
    app, client, tenant, database, worker
):
    old = [await accept(client, tenant, ASYNC_TRIALS, trial()) for _ in range(2)]
    recent = await accept(client, tenant, ASYNC_TRIALS, trial())
    assert await worker.run_once() == 3
    waiting = await accept(client, tenant, ASYNC_TRIALS, trial())  # never executed
    await accepted_days_ago(database, [recent], days=-2)
    eight_days_on = ManualClock(utcnow() + timedelta(days=8))

    assert await prune_finished(app.state.queue, RETENTION, eight_days_on) == 2

    assert [await status_of(client, tenant, request_id) for request_id in old] == [404, 404]
    assert await status_of(client, tenant, recent) == 200
    assert (await stored(database, waiting)).state == State.QUEUED
    assert await stored_count(database) == 2


async def test_a_request_goes_with_its_events_and_callout_history_unless_a_callout_is_due(
    app, client, tenant, database, worker
):
    delivered, resent = [await accept(client, tenant, ASYNC_TRIALS, trial()) for _ in range(2)]
    assert await worker.run_once() == 2
    await delivered_once(database, delivered, DeliveryState.DELIVERED)
    await delivered_once(database, resent, DeliveryState.PENDING)  # an operator resent it
    await accepted_days_ago(database, [delivered, resent], days=8)

    assert await prune_finished(app.state.queue, RETENTION) == 1

    assert await events_of(database, delivered) == []
    assert await status_of(client, tenant, resent) == 200
    assert len(await events_of(database, resent)) == 1
    assert await rows_of(database, CalloutDelivery, tenant) == 1
    assert await rows_of(database, CalloutAttempt, tenant) == 1


async def test_a_period_of_zero_keeps_every_finished_request(app, client, tenant, database, worker):
    request_id = await accept(client, tenant, ASYNC_TRIALS, trial())
    await worker.run_once()
    await accepted_days_ago(database, [request_id], days=365)

    assert await prune_finished(app.state.queue, timedelta(0)) == 0
    assert await status_of(client, tenant, request_id) == 200


async def test_an_idempotency_key_is_free_again_once_its_request_is_deleted(
    app, client, tenant, database, worker
):
    key, body = {"Idempotency-Key": uuid.uuid4().hex}, trial()
    first = await accept(client, tenant, ASYNC_TRIALS, body, headers=key)
    await worker.run_once()
    assert await accept(client, tenant, ASYNC_TRIALS, body, headers=key) == first
    await accepted_days_ago(database, [first], days=8)

    assert await prune_finished(app.state.queue, RETENTION) == 1

    again = await accept(client, tenant, ASYNC_TRIALS, body, headers=key)
    assert again != first
    assert (await stored(database, again)).state == State.QUEUED


async def test_a_pass_goes_on_past_a_full_batch_and_through_every_tenant(
    app, client, tenant, other_tenant, database, worker, monkeypatch
):
    monkeypatch.setattr(retention, "PRUNE_BATCH", 2)
    monkeypatch.setattr(retention, "PAUSE_SECONDS", 0)
    mine = [await accept(client, tenant, ASYNC_TRIALS, trial()) for _ in range(3)]
    theirs = await accept(client, other_tenant, ASYNC_TRIALS, trial())
    assert await worker.run_once() == 4
    await accepted_days_ago(database, [*mine, theirs], days=8)

    assert await prune_finished(app.state.queue, RETENTION) == 4
    assert await stored_count(database) == 0


async def test_the_workers_housekeeping_prunes(app, client, tenant, database, make_worker):
    worker = make_worker(lease=timedelta(milliseconds=30), retention=RETENTION)
    request_id = await accept(client, tenant, ASYNC_TRIALS, trial())
    await worker.run_once()
    await accepted_days_ago(database, [request_id], days=8)

    stop = asyncio.Event()
    housekeeping = asyncio.create_task(worker._housekeeping_loop(stop))
    try:
        for _ in range(100):
            if await status_of(client, tenant, request_id) == 404:
                break
            await asyncio.sleep(0.02)
    finally:
        stop.set()
        await housekeeping
    assert await status_of(client, tenant, request_id) == 404


async def test_a_pass_with_nothing_old_enough_writes_nothing(
    app, client, tenant, database, worker, monkeypatch
):
    await accept(client, tenant, ASYNC_TRIALS, trial())
    await worker.run_once()
    writes = []
    core_transaction = database.core_transaction

    def counted(**options):
        writes.append(options)
        return core_transaction(**options)

    monkeypatch.setattr(database, "core_transaction", counted)

    assert await prune_finished(app.state.queue, RETENTION) == 0
    assert writes == []  # no write lock taken, for any tenant
