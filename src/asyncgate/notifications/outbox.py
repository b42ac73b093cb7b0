"""The outbox: events written in the same commit as the outcome that caused them.

The async engine records one event per finished request together with its callout deliveries
(``deliveries.record_and_dispatch``): an event exists if and only if its outcome was committed,
and is dispatched (its deliveries exist) from the start. Events earlier versions recorded
without their deliveries are dispatched as the database is brought up to date
(``leftover_events``).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import JSON, Index, String, Table, insert, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from asyncgate.db.base import Base, IdMixin, TenantMixin, UTCDateTime, new_id, utcnow
from asyncgate.db.executemany import execute_many


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

    # Read by ID, by request and pending first, never by tenant alone (see ``Contact``).
    tenant_id_indexed = False

    event_type: Mapped[str] = mapped_column(String(100))
    object_id: Mapped[str] = mapped_column(String(64), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


def event_values(
    tenant_id: str, event_type: EventType, object_id: str, payload: dict
) -> dict[str, object]:
    """The columns of one event for :func:`record_dispatched_events`."""
    return {
        "tenant_id": tenant_id,
        "event_type": event_type,
        "object_id": object_id,
        "payload": payload,
    }


# Core rather than ORM objects: a worker writes many events per commit, and the ORM's unit of
# work costs more than the inserts.
_INSERT = insert(cast(Table, OutboxEvent.__table__))


async def record_dispatched_events(
    session: AsyncSession, events: list[dict[str, object]]
) -> list[dict[str, object]]:
    """Writes ``events`` (:func:`event_values`) in one statement as already dispatched: the
    caller makes their deliveries in the same transaction (``deliveries.record_and_dispatch``).
    Returns them as written, IDs included."""
    now = utcnow()
    written = [
        event | {"id": new_id(), "created_at": now, "dispatched_at": now} for event in events
    ]
    await execute_many(session, _INSERT, written)
    return written
