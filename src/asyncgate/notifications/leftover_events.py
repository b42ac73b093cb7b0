"""Events an earlier version left undispatched get their deliveries as the database is brought
up to date.

The async engine makes each event's deliveries in the commit that records it
(``deliveries.record_and_dispatch``). Earlier versions recorded events alone and left their
deliveries to a dispatcher loop; an event such a version recorded but had not dispatched when it
stopped (``dispatched_at`` null) is dispatched here, right after the schema upgrade (``asyncgate
migrate``, and the upgrade every command runs first). Events are taken oldest first in batches,
each marked dispatched in the transaction that makes its deliveries, skipping events another
process holds (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite has one writer): each event gets
its deliveries once. With none left, this costs one read of the partial index
``ix_outbox_events_pending``.
"""

from __future__ import annotations

from sqlalchemy import Row, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from asyncgate.config import Settings
from asyncgate.db.base import utcnow
from asyncgate.db.engine import Database
from asyncgate.notifications.deliveries import make_deliveries
from asyncgate.notifications.outbox import OutboxEvent

BATCH_SIZE = 200
_UNDISPATCHED = select(OutboxEvent.id).where(OutboxEvent.dispatched_at.is_(None))


async def dispatch_leftover_events(database: Database, settings: Settings) -> int:
    """Make the deliveries of every event recorded without them; returns how many events."""
    # A read first: it costs no write lock when, as after the first run, there is nothing to do.
    async with database.read_transaction() as session:
        if await session.scalar(_UNDISPATCHED.limit(1)) is None:
            return 0
    skip_locked = database.concurrent_writers
    dispatched = 0
    while True:
        async with database.transaction() as session:
            events = await _take(session, skip_locked)
            await make_deliveries(session, [event._asdict() for event in events], settings)
        dispatched += len(events)
        # A short batch: the rest, if any, is another process's to dispatch.
        if len(events) < BATCH_SIZE:
            return dispatched


async def _take(session: AsyncSession, skip_locked: bool) -> list[Row]:
    """Marks the oldest undispatched events (up to a batch) dispatched; returns them."""
    oldest = _UNDISPATCHED.order_by(OutboxEvent.created_at).limit(BATCH_SIZE)
    if skip_locked:
        oldest = oldest.with_for_update(skip_locked=True)
    statement = (
        update(OutboxEvent)
        .where(OutboxEvent.id.in_(oldest.scalar_subquery()))
        .values(dispatched_at=utcnow())
        .returning(
            OutboxEvent.id,
            OutboxEvent.tenant_id,
            OutboxEvent.event_type,
            OutboxEvent.object_id,
            OutboxEvent.payload,
        )
    )
    return list((await session.execute(statement)).all())
