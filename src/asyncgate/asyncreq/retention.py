"""Finished requests are deleted once the retention period has passed since they were accepted.

Every finished request (succeeded, failed or cancelled) keeps its row, synchronous answer
included, for ``ASYNCGATE_REQUEST_RETENTION`` after its accept; the worker's housekeeping then
has the queue delete it, and its status resource answers 404 from then on. Its events go in the
same commit, and with them their callout deliveries and attempts (the callout history); a
request with a callout still to deliver (a resend, say) is kept until that delivery has
finished. The period counts from the accept rather than the completion so that the
tenant-and-time index every status listing already uses finds the old rows, instead of a
further index written by every completion; retries take minutes at most, so the two moments
are close. An idempotency key is honoured as long as its request is kept: once the request is
deleted, the key may be used for a new one.

Deletions run in commits of :data:`PRUNE_BATCH` rows and stop after :data:`PASS_SECONDS`, so
that the housekeeping that renews leases is never held up for long; the rest waits for the next
pass.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import bindparam, delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from asyncgate.asyncreq.models import AsyncRequest
from asyncgate.asyncreq.queue import RequestQueue
from asyncgate.clock import SYSTEM_CLOCK, Clock
from asyncgate.notifications.models import CalloutDelivery, DeliveryState
from asyncgate.notifications.outbox import OutboxEvent

PRUNE_BATCH = 500
PASS_SECONDS = 5.0
# Between two commits, so that other writers go first.
PAUSE_SECONDS = 0.005

# A request with a callout still to deliver, found in ix_callout_deliveries_object.
_CALLOUT_DUE = (
    select(CalloutDelivery.id)
    .where(
        CalloutDelivery.tenant_id == AsyncRequest.tenant_id,
        CalloutDelivery.object_id == AsyncRequest.id,
        CalloutDelivery.state.in_((DeliveryState.PENDING, DeliveryState.DELIVERING)),
    )
    .exists()
)
# An event's object is its request; its deliveries and their attempts go with it (cascade).
_DELETE_EVENTS = delete(OutboxEvent).where(
    OutboxEvent.object_id.in_(bindparam("request_ids", expanding=True))
)


async def _delete_events(connection: AsyncConnection, request_ids: list[str]) -> None:
    await connection.execute(_DELETE_EVENTS, {"request_ids": request_ids})


async def prune_finished(
    queue: RequestQueue, retention: timedelta, clock: Clock = SYSTEM_CLOCK
) -> int:
    """Delete finished requests accepted longer than ``retention`` ago (none when it is 0);
    returns how many."""
    if not retention:
        return 0
    started, cutoff = clock.monotonic(), clock.now() - retention
    # Read first, without the write lock: most passes find nothing to delete.
    tenant_ids = await queue.tenants_with_finished_before(cutoff, _CALLOUT_DUE)
    pruned = 0
    for tenant_id in tenant_ids:
        while clock.monotonic() - started < PASS_SECONDS:
            deleted = await queue.delete_finished(
                tenant_id, cutoff, _CALLOUT_DUE, PRUNE_BATCH, _delete_events
            )
            pruned += deleted
            if deleted < PRUNE_BATCH:
                break
            await asyncio.sleep(PAUSE_SECONDS)
    return pruned
