"""Finished requests are deleted once the retention period has passed since they were accepted.

Every finished request (succeeded, failed or cancelled) keeps its row, synchronous answer
included, for ``ASYNCGATE_REQUEST_RETENTION`` after its accept; the worker's housekeeping then
deletes it, and its status resource answers 404 from then on. Its events go in the same commit,
and with them their callout deliveries and attempts (the callout history); a request with a
callout still to deliver (a resend, say) is kept until that delivery has finished. The period
counts from the accept rather than the completion so that the tenant-and-time index every
status listing already uses finds the old rows, instead of a further index written by every
completion; retries take minutes at most, so the two moments are close.

An idempotency key is honoured as long as its request is kept: once the request is deleted, the
key may be used for a new one. On SQLite the inbox is where keys are checked, so the keyed
rows of deleted requests are deleted there too, after the queue's deletion has committed (a
crash in between leaves a key that still answers with its deleted request's ID, never one that
lets a repeat through while the request is kept).

Deletions run in commits of :data:`PRUNE_BATCH` rows and stop after :data:`PASS_SECONDS`, so
that the housekeeping that renews leases is never held up for long; the rest waits for the next
pass.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

from sqlalchemy import ColumnElement, Delete, Select, bindparam, delete, select

from asyncgate.asyncreq.inbox import Inbox
from asyncgate.asyncreq.models import FINISHED_STATES, AsyncRequest
from asyncgate.auth.models import Tenant
from asyncgate.db.base import utcnow
from asyncgate.db.engine import Database
from asyncgate.notifications.models import CalloutDelivery, DeliveryState
from asyncgate.notifications.outbox import OutboxEvent

PRUNE_BATCH = 500
PASS_SECONDS = 5.0
# Between two commits, so that other writers go first.
PAUSE_SECONDS = 0.005


def _old_finished(tenant_id: ColumnElement[str]) -> Select:
    # Each request's deliveries are found in ix_callout_deliveries_object.
    delivering = select(CalloutDelivery.id).where(
        CalloutDelivery.tenant_id == AsyncRequest.tenant_id,
        CalloutDelivery.object_id == AsyncRequest.id,
        CalloutDelivery.state.in_((DeliveryState.PENDING, DeliveryState.DELIVERING)),
    )
    return select(AsyncRequest.id).where(
        AsyncRequest.tenant_id == tenant_id,
        AsyncRequest.created_at < bindparam("cutoff"),
        AsyncRequest.state.in_(FINISHED_STATES),
        ~delivering.exists(),
    )


# The tenants with something to delete, each looked up in ix_async_requests_tenant_created.
_TENANTS_WITH_OLD = select(Tenant.id).where(_old_finished(Tenant.id).exists())


def _prune_statement(postgres: bool) -> Delete:
    old = _old_finished(bindparam("tenant_id")).limit(bindparam("batch"))
    if postgres:  # workers pruning at once skip each other's rows
        old = old.with_for_update(skip_locked=True)
    return (
        delete(AsyncRequest)
        .where(AsyncRequest.id.in_(old))
        .returning(AsyncRequest.id, AsyncRequest.idempotency_key)
    )


# By whether the database is PostgreSQL.
_PRUNE = {postgres: _prune_statement(postgres) for postgres in (False, True)}
# An event's object is its request; its deliveries and their attempts go with it (cascade).
_PRUNE_EVENTS = delete(OutboxEvent).where(
    OutboxEvent.object_id.in_(bindparam("request_ids", expanding=True))
)


async def prune_finished(database: Database, inbox: Inbox | None, retention: timedelta) -> int:
    """Delete finished requests accepted longer than ``retention`` ago (none when it is 0);
    returns how many."""
    if not retention:
        return 0
    started, cutoff = time.monotonic(), utcnow() - retention
    postgres = database.engine.dialect.name == "postgresql"
    # Read first, without the write lock: most passes find nothing to delete.
    async with database.read_transaction() as session:
        tenant_ids = list((await session.scalars(_TENANTS_WITH_OLD, {"cutoff": cutoff})).all())
    pruned = 0
    for tenant_id in tenant_ids:
        while time.monotonic() - started < PASS_SECONDS:
            async with database.core_transaction() as connection:
                parameters = {"tenant_id": tenant_id, "cutoff": cutoff, "batch": PRUNE_BATCH}
                deleted = (await connection.execute(_PRUNE[postgres], parameters)).all()
                if deleted:
                    request_ids = [request_id for request_id, _ in deleted]
                    await connection.execute(_PRUNE_EVENTS, {"request_ids": request_ids})
            keyed = [request_id for request_id, key in deleted if key is not None]
            if keyed and inbox is not None:
                await inbox.forget(keyed)
            pruned += len(deleted)
            if len(deleted) < PRUNE_BATCH:
                break
            await asyncio.sleep(PAUSE_SECONDS)
    return pruned
