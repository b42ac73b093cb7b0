"""Deliveries made in this process's commits go straight to its sender, without a claim.

A worker records an outcome's event and makes its deliveries in one transaction
(``deliveries.record_and_dispatch``). When the process also runs a sender with room in its
hand (:class:`Taker`), those deliveries are inserted already held by it (``delivering``,
under its lease) and handed to it once the transaction commits, with everything their first
attempt needs: the sender sends them at once, with no claim transaction and no query. What
does not fit is inserted ``pending``, for a claim to take later, and the sender is woken to
claim it (not for deliveries of a receiver that has all its sends under way: their turn comes
when one of those ends).

Deliveries made inside a savepoint that is rolled back are never handed over (they do not
exist), nor are those of a transaction that does not commit. A process that dies with
deliveries in hand leaves them to their lease: they are due again once it expires, as any
claimed delivery is.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from asyncgate.asyncreq.wakeup import Settable
from asyncgate.notifications.models import Callout, CalloutSettings, NotificationDefinition


@dataclass(frozen=True, slots=True)
class LoadedDelivery:
    """A held delivery with what its next attempt needs, as read with it."""

    id: str
    tenant_id: str
    definition_id: str
    attempts: int  # recorded before the next one
    max_attempts: int
    payload: dict[str, Any]
    definition: NotificationDefinition | None  # None once deleted
    callout: Callout | None
    tenant_settings: CalloutSettings


class Taker(Protocol):
    """A sender that takes deliveries handed to it (``Sender``)."""

    owner: str

    @property
    def wake(self) -> Settable:
        """Set: look for pending deliveries to claim."""

    def room(self) -> int:
        """How many more deliveries it would take now."""

    def accepts(self, definition_id: str) -> bool:
        """Whether it takes deliveries of this definition now (not while its receiver has as
        many sends under way as it may)."""

    def lease_expiry(self) -> datetime:
        """Until when a delivery handed to it now is leased."""

    def take(self, deliveries: Sequence[LoadedDelivery]) -> None:
        """Hold ``deliveries`` (committed, leased to it) and send them."""


log = logging.getLogger("asyncgate.sender")

_TAKERS: list[Taker] = []
_PENDING = "asyncgate.deliveries_to_hand_over"
_LISTENING = "asyncgate.hand_over_listening"


@contextmanager
def taking_new_deliveries(taker: Taker) -> Iterator[None]:
    """Within the block, ``taker`` is handed the deliveries this process commits (while it
    has room), and woken whenever this process commits deliveries."""
    _TAKERS.append(taker)
    try:
        yield
    finally:
        _TAKERS.remove(taker)


def taker() -> Taker | None:
    """The sender deliveries made now would be handed to, if any."""
    return _TAKERS[0] if _TAKERS else None


def hand_over_after_commit(
    session: AsyncSession,
    taken_by: Taker | None,
    deliveries: Sequence[LoadedDelivery],
    *,
    waiting: bool,
) -> None:
    """Once the session's outermost transaction commits, ``deliveries`` (inserted held by
    ``taken_by``) go to it, unless the savepoint they were made in was rolled back; and the
    senders of this process wake when ``waiting`` (deliveries were made ``pending`` that they
    would claim now)."""
    sync_session = session.sync_session
    pending: list[tuple[SessionTransaction | None, Taker, Sequence[LoadedDelivery], bool]]
    if not sync_session.info.get(_LISTENING):
        sync_session.info[_LISTENING] = True
        event.listen(sync_session, "after_commit", _hand_over)
        event.listen(sync_session, "after_soft_rollback", _forget_rolled_back)
    pending = sync_session.info.setdefault(_PENDING, [])
    if taken_by is not None and (deliveries or waiting):
        made_in = sync_session.get_nested_transaction() or sync_session.get_transaction()
        pending.append((made_in, taken_by, deliveries, waiting))


def _hand_over(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint was released: what it made waits for the outermost commit
    pending = session.info.pop(_PENDING, None)
    if pending is None:
        return
    for _, taken_by, deliveries, waiting in pending:
        try:
            if deliveries:
                taken_by.take(deliveries)
        except Exception:  # the commit stands: the deliveries are sent once their lease expires
            log.exception("handing %d deliveries to the sender failed", len(deliveries))
        if waiting:
            taken_by.wake.set()


def _forget_rolled_back(session: Session, rolled_back: SessionTransaction) -> None:
    pending = session.info.get(_PENDING)
    if pending:
        pending[:] = [item for item in pending if not _within(item[0], rolled_back)]


def _within(transaction: SessionTransaction | None, outer: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is outer:
            return True
        transaction = transaction.parent
    return False
