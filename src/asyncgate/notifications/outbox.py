"""The outbox: events written in the same commit as the outcome that caused them.

The async engine records one event per finished request; the notification dispatcher turns
each into callout deliveries. An event exists if and only if its outcome was committed.

A dispatcher in the same process is woken as soon as a transaction that recorded events
commits (:func:`woken_by_new_events`), rather than at its next poll.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Index, String, event, insert, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from asyncgate.db.base import Base, IdMixin, TenantMixin, UTCDateTime, utcnow


class EventType(StrEnum):
    ASYNC_REQUEST_SUCCEEDED = "Async Request Succeeded"
    ASYNC_REQUEST_FAILED = "Async Request Failed"


class OutboxEvent(IdMixin, TenantMixin, Base):
    __tablename__ = "outbox_events"
    __table_args__ = (
        Index(
            "ix_outbox_events_pending",
            "created_at",
            postgresql_where=text("dispatched_at IS NULL"),
            sqlite_where=text("dispatched_at IS NULL"),
        ),
    )

    event_type: Mapped[str] = mapped_column(String(100))
    object_id: Mapped[str] = mapped_column(String(64), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


def event_values(
    tenant_id: str, event_type: EventType, object_id: str, payload: dict
) -> dict[str, object]:
    """The columns of one event for :func:`record_events`."""
    return {
        "tenant_id": tenant_id,
        "event_type": event_type,
        "object_id": object_id,
        "payload": payload,
    }


# Core rather than ORM objects: a worker writes many events per commit, and the ORM's unit of
# work costs more than the inserts. The ID and ``created_at`` come from the column defaults,
# as they would through the ORM.
_INSERT = insert(OutboxEvent.__table__)


# The events this process's dispatchers wait on.
_WAKES: set[asyncio.Event] = set()
_WAKE_PENDING = "asyncgate.outbox_wake_pending"


@contextmanager
def woken_by_new_events(wake: asyncio.Event) -> Iterator[None]:
    """Within the block, ``wake`` is set whenever this process commits recorded events."""
    _WAKES.add(wake)
    try:
        yield
    finally:
        _WAKES.discard(wake)


def _wake_dispatchers(session) -> None:
    session.info.pop(_WAKE_PENDING, None)
    for wake in _WAKES:
        wake.set()


async def record_events(session: AsyncSession, events: list[dict[str, object]]) -> None:
    """Writes ``events`` (:func:`event_values`) in one statement."""
    if not events:
        return
    await session.execute(_INSERT, events)
    if _WAKES and not session.info.get(_WAKE_PENDING):
        session.info[_WAKE_PENDING] = True
        event.listen(session.sync_session, "after_commit", _wake_dispatchers, once=True)
