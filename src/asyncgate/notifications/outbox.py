"""The outbox: events written in the same commit as the outcome that caused them.

The async engine records one event per finished request, with its callout deliveries
(``deliveries.record_and_dispatch``); events recorded without them (:func:`record_events`) get
them from the dispatcher. An event exists if and only if its outcome was committed.

The senders of the same process are woken as soon as a transaction that made deliveries
commits (:func:`woken_by_new_deliveries`), and its dispatchers as soon as one that recorded
events for them does (:func:`woken_by_new_events`), rather than at their next poll.
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

from asyncgate.db.base import Base, IdMixin, TenantMixin, UTCDateTime, new_id, utcnow


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
    """The columns of one event for :func:`record_events`."""
    return {
        "tenant_id": tenant_id,
        "event_type": event_type,
        "object_id": object_id,
        "payload": payload,
    }


# Core rather than ORM objects: a worker writes many events per commit, and the ORM's unit of
# work costs more than the inserts. The ID and ``created_at`` come from the column defaults,
# as they would through the ORM, unless the events are dispatched as they are written.
_INSERT = insert(OutboxEvent.__table__)

# What this process's dispatchers ("events": new events) and senders ("deliveries": new
# deliveries) wait on.
_WAKES: dict[str, set[asyncio.Event]] = {"events": set(), "deliveries": set()}
_WAKE_PENDING = "asyncgate.outbox_wakes_pending"


@contextmanager
def woken_by_new_events(wake: asyncio.Event) -> Iterator[None]:
    """Within the block, ``wake`` is set whenever this process commits events recorded without
    being dispatched."""
    with _registered(wake, "events"):
        yield


@contextmanager
def woken_by_new_deliveries(wake: asyncio.Event) -> Iterator[None]:
    """Within the block, ``wake`` is set whenever this process commits deliveries made as
    their events were recorded (:func:`wake_senders_after_commit`)."""
    with _registered(wake, "deliveries"):
        yield


@contextmanager
def _registered(wake: asyncio.Event, kind: str) -> Iterator[None]:
    _WAKES[kind].add(wake)
    try:
        yield
    finally:
        _WAKES[kind].discard(wake)


async def record_events(session: AsyncSession, events: list[dict[str, object]]) -> None:
    """Writes ``events`` (:func:`event_values`) in one statement, for the dispatcher."""
    if events:
        await session.execute(_INSERT, events)
        _wake_after_commit(session, "events")


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
    if written:
        await session.execute(_INSERT, written)
    return written


def wake_senders_after_commit(session: AsyncSession) -> None:
    """The senders of this process wake once the session's transaction commits: it made
    deliveries."""
    _wake_after_commit(session, "deliveries")


def _wake_after_commit(session: AsyncSession, kind: str) -> None:
    """Sets the ``kind`` wakes once the session's transaction commits (once, however often
    called)."""
    if not _WAKES[kind]:
        return
    pending: set[str] = session.info.setdefault(_WAKE_PENDING, set())
    if not pending:
        event.listen(session.sync_session, "after_commit", _wake, once=True)
    pending.add(kind)


def _wake(session) -> None:
    for kind in session.info.pop(_WAKE_PENDING, set()):
        for wake in _WAKES[kind]:
            wake.set()
