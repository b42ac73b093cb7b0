"""Callout history (the log of attempts) and resends.

History rows are attempts, never changed once written, read within one tenant. A resend
names history rows and makes each one's delivery due now for one more attempt, with the same
notification ID: a delivered or failed delivery is allowed exactly one more, one still waiting
for a retry is attempted now (its later retries stay), and one being sent right now is refused
(its attempt will be in the history soon). The sender delivers resends like any other
attempt, so they are durable: a resend answered 202 is sent even if a process stops.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Select, case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from asyncgate.asyncreq import wakeup
from asyncgate.db.base import utcnow
from asyncgate.http.errors import Category, InvalidValue, NotFound, Reason, Resource
from asyncgate.notifications.models import CalloutAttempt, CalloutDelivery, DeliveryState
from asyncgate.notifications.outbox import EventType, OutboxEvent
from asyncgate.notifications.schemas import EVENT_TYPE_NAMESPACE

RESOURCE = Resource.CALLOUT_HISTORY
FINISHED = (DeliveryState.DELIVERED, DeliveryState.FAILED)


def event_category(event_type: str) -> str:
    """Zuora's name of an event type's category: ``user.notification:Async Request Failed``."""
    return f"{EVENT_TYPE_NAMESPACE}:{event_type}"


def event_type_of(category: str) -> EventType:
    """The event type an ``eventCategory`` filter names, with or without its namespace."""
    namespace, _, name = category.rpartition(":")
    if namespace in ("", EVENT_TYPE_NAMESPACE):
        try:
            return EventType(name)
        except ValueError:
            pass
    known = ", ".join(event_category(event_type) for event_type in EventType)
    raise InvalidValue(
        f"eventCategory {category!r} names no event category; use one of: {known}",
        resource=RESOURCE,
    )


@dataclass(frozen=True, slots=True)
class HistoryQuery:
    start: datetime
    end: datetime
    failed_only: bool = True
    object_id: str | None = None
    event_type: EventType | None = None
    offset: int = 0
    limit: int = 10


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    attempt: CalloutAttempt
    event_type: str
    payload: dict[str, Any]


def _entries(tenant_id: str) -> Select:
    return (
        select(CalloutAttempt, CalloutDelivery.event_type, OutboxEvent.payload)
        .join(CalloutDelivery, CalloutDelivery.id == CalloutAttempt.delivery_id)
        .join(OutboxEvent, OutboxEvent.id == CalloutDelivery.event_id)
        .where(CalloutAttempt.tenant_id == tenant_id)
    )


async def get_entry(session: AsyncSession, tenant_id: str, history_id: str) -> HistoryEntry:
    row = (
        await session.execute(_entries(tenant_id).where(CalloutAttempt.id == history_id))
    ).first()
    if row is None:
        raise NotFound(f"Callout history {history_id} does not exist", resource=RESOURCE)
    return HistoryEntry(*row)


async def list_history(
    session: AsyncSession, tenant_id: str, query: HistoryQuery
) -> list[HistoryEntry]:
    """Attempts recorded within ``[start, end]``, oldest first (ties by ID)."""
    statement = (
        _entries(tenant_id)
        .where(
            CalloutAttempt.completed_at >= query.start,
            CalloutAttempt.completed_at <= query.end,
        )
        .order_by(CalloutAttempt.completed_at, CalloutAttempt.id)
        .offset(query.offset)
        .limit(query.limit)
    )
    if query.failed_only:
        statement = statement.where(CalloutAttempt.succeeded.is_(False))
    if query.object_id is not None:
        statement = statement.where(CalloutDelivery.object_id == query.object_id)
    if query.event_type is not None:
        statement = statement.where(CalloutDelivery.event_type == query.event_type)
    return [HistoryEntry(*row) for row in (await session.execute(statement)).all()]


async def resend(
    session: AsyncSession, tenant_id: str, history_ids: list[str]
) -> dict[str, Reason]:
    """Makes the deliveries of ``history_ids`` due now; returns why each ID that was not
    resent was refused (none when all were)."""
    found = dict(
        (
            await session.execute(
                select(CalloutAttempt.id, CalloutAttempt.delivery_id).where(
                    CalloutAttempt.tenant_id == tenant_id, CalloutAttempt.id.in_(set(history_ids))
                )
            )
        ).all()
    )
    refused = {
        history_id: Reason(
            Category.NOT_FOUND, f"Callout history {history_id} does not exist", RESOURCE
        )
        for history_id in history_ids
        if history_id not in found
    }
    now = utcnow()
    busy = set()
    for delivery_id in set(found.values()):
        if not await _make_due(session, delivery_id, now):
            busy.add(delivery_id)
    for history_id, delivery_id in found.items():
        if delivery_id in busy:
            refused[history_id] = Reason(
                Category.LOCKING_CONTENTION,
                f"The callout of history {history_id} is being sent right now; its attempt "
                "will be in the history shortly",
                RESOURCE,
            )
    if len(busy) < len(set(found.values())):
        # Senders of other processes hear of it at once (on SQLite any commit tells them).
        await wakeup.announce(await session.connection())
    return refused


async def _make_due(session: AsyncSession, delivery_id: str, now: datetime) -> bool:
    """The resend transition; False when the delivery is being sent (and is left alone)."""
    # A session types its results without rowcount, which an UPDATE's result has.
    finished = await session.execute(
        update(CalloutDelivery)
        .where(CalloutDelivery.id == delivery_id, CalloutDelivery.state.in_(FINISHED))
        .values(
            state=DeliveryState.PENDING,
            next_attempt_at=now,
            max_attempts=CalloutDelivery.attempts + 1,
            completed_at=None,
        )
        .execution_options(synchronize_session=False)
    )
    if cast(CursorResult, finished).rowcount == 1:
        return True
    waiting = await session.execute(
        update(CalloutDelivery)
        .where(CalloutDelivery.id == delivery_id, CalloutDelivery.state == DeliveryState.PENDING)
        .values(next_attempt_at=now)
        .execution_options(synchronize_session=False)
    )
    return cast(CursorResult, waiting).rowcount == 1


@dataclass(frozen=True, slots=True)
class AttemptCounts:
    attempts: int
    succeeded: int

    @property
    def success_rate(self) -> float | None:
        return self.succeeded / self.attempts if self.attempts else None


async def attempt_counts(session: AsyncSession, tenant_id: str, since: datetime) -> AttemptCounts:
    """The tenant's callout attempts completed since ``since``, and how many succeeded."""
    attempts, succeeded = (
        await session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(case((CalloutAttempt.succeeded, 1), else_=0)), 0),
            ).where(CalloutAttempt.tenant_id == tenant_id, CalloutAttempt.completed_at >= since)
        )
    ).one()
    return AttemptCounts(attempts, succeeded)
