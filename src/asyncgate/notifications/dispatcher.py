"""The dispatcher: outbox events recorded without their deliveries get them.

The async engine makes each event's deliveries as it records it (``deliveries``); the
dispatcher serves events recorded by ``outbox.record_events`` instead (as earlier builds did
for all). Each becomes one ``pending`` delivery per definition of its tenant and event type
that is active, has ``calloutActive`` and an active callout (none at all is fine), and is
marked dispatched in the same transaction: an event is dispatched exactly when its deliveries
exist.
Claiming skips events another dispatcher holds (``FOR UPDATE SKIP LOCKED`` on PostgreSQL;
SQLite has one writer). A delivery is allowed the tenant's maximum attempts, or one when the
callout has no ``calloutRetry``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import Row, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from asyncgate.asyncreq.wakeup import wait_for_wake
from asyncgate.config import Settings
from asyncgate.db.base import utcnow
from asyncgate.db.engine import Database
from asyncgate.notifications.deliveries import make_deliveries
from asyncgate.notifications.outbox import OutboxEvent, woken_by_new_events

log = logging.getLogger("asyncgate.dispatcher")

BATCH_SIZE = 200
_ANY_UNDISPATCHED = select(OutboxEvent.id).where(OutboxEvent.dispatched_at.is_(None)).limit(1)


class Dispatcher:
    def __init__(
        self,
        database: Database,
        settings: Settings,
        *,
        poll_interval: timedelta,
        on_deliveries: Callable[[], None] = lambda: None,
    ) -> None:
        self.database = database
        self.settings = settings
        self.poll_interval = poll_interval
        # Called once deliveries were committed: the sender of this process starts at once.
        self.on_deliveries = on_deliveries
        self.wake = asyncio.Event()
        self._postgres = database.engine.dialect.name == "postgresql"

    async def dispatch_once(self, limit: int = BATCH_SIZE) -> int:
        """Dispatch up to ``limit`` events, oldest first; returns how many."""
        # A read first: it costs no write lock when, as usual, there is nothing to do.
        async with self.database.read_transaction() as session:
            if await session.scalar(_ANY_UNDISPATCHED) is None:
                return 0
        async with self.database.transaction() as session:
            events = await self._claim(session, limit)
            made = await make_deliveries(
                session, [event._mapping for event in events], self.settings
            )
        if made:
            self.on_deliveries()
        return len(events)

    async def run(self, stop: asyncio.Event) -> None:
        """Dispatch until ``stop``; woken by events this process commits, else polling."""
        with woken_by_new_events(self.wake):
            while not stop.is_set():
                self.wake.clear()
                try:
                    dispatched = await self.dispatch_once()
                except Exception:
                    log.exception("dispatching callouts failed; retrying after the poll interval")
                    dispatched = 0
                if dispatched < BATCH_SIZE:
                    await wait_for_wake(stop, self.wake, self.poll_interval)

    async def _claim(self, session: AsyncSession, limit: int) -> list[Row]:
        """Marks up to ``limit`` undispatched events dispatched; returns them."""
        undispatched = (
            select(OutboxEvent.id)
            .where(OutboxEvent.dispatched_at.is_(None))
            .order_by(OutboxEvent.created_at)
            .limit(limit)
        )
        if self._postgres:
            undispatched = undispatched.with_for_update(skip_locked=True)
        statement = (
            update(OutboxEvent)
            .where(OutboxEvent.id.in_(undispatched.scalar_subquery()))
            .values(dispatched_at=utcnow())
            .returning(
                OutboxEvent.id, OutboxEvent.tenant_id, OutboxEvent.event_type, OutboxEvent.object_id
            )
        )
        return list((await session.execute(statement)).all())
