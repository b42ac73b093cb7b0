"""What a request queue does: the one seam between the async engine and its database.

Every caller (accepts, workers, the status resource, cancels, metrics, the console, retention)
speaks to a :class:`RequestQueue` and never asks which database is behind it. A new backend
implements every abstract method below; ``tests/asyncreq/queue`` holds the conformance suite
that each implementation passes.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from asyncgate.asyncreq.models import AsyncRequest, ClaimedRequest


class Settable(Protocol):
    def set(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Lease:
    """Who claims requests, and until when they are its own."""

    owner: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Backlog:
    """The unfinished requests of every tenant, by state."""

    queued: int  # due now
    retrying: int  # queued, due later
    running: int
    first_due: datetime | None  # when the queued request due first became due


# Deletes, in the transaction that deletes requests, what those requests caused (their events).
DeleteWithThem = Callable[[AsyncConnection, list[str]], Awaitable[None]]


class RequestQueue(ABC):
    """The async requests of one database, for one process."""

    # Files the queue writes beside the database's own: backed up, checkpointed and watched
    # for commits with it.
    files: tuple[str, ...] = ()

    @abstractmethod
    async def open(self) -> None:
        """Prepare what the queue needs before the first accept or claim (once)."""

    @abstractmethod
    def close(self) -> None:
        """Release what :meth:`open` and later calls took."""

    # -- accepting and waking -------------------------------------------------------------------

    @abstractmethod
    async def accept(self, request: dict[str, Any]) -> str:
        """Store an accepted request (the ``async_requests`` columns an accept sets) and return
        its ID once it is durable. A request with an idempotency key that its tenant already
        used for the same call returns the first request's ID and stores nothing; for a
        different call it raises ``BusinessRuleViolated`` (409)."""

    @abstractmethod
    async def listen(self, wake: Settable, stop: asyncio.Event) -> None:
        """Until ``stop`` is set, set ``wake`` whenever any process may have stored work."""

    # -- claiming ---------------------------------------------------------------------------

    @abstractmethod
    async def claim(self, lease: Lease, limit: int, now: datetime) -> list[ClaimedRequest]:
        """Up to ``limit`` requests due at ``now``, each claimed by exactly one caller, now
        ``running`` under ``lease`` with their attempt counted; those due longest first."""

    @abstractmethod
    async def tidy(self) -> None:
        """Drop what the queue kept only until its claims were durable (after each batch)."""

    # -- reading and changing one request ----------------------------------------------------

    @abstractmethod
    async def find(
        self, session: AsyncSession, tenant_id: str, request_id: str
    ) -> AsyncRequest | None:
        """A tenant's request in whatever state, or None (another tenant's included)."""

    @abstractmethod
    async def cancel(
        self, session: AsyncSession, tenant_id: str, request_id: str, now: datetime
    ) -> AsyncRequest:
        """Cancel a tenant's queued request, in ``session``'s transaction: it never runs.
        Raises ``NotFound`` for no such request and ``BusinessRuleViolated`` (409) for one
        that is running or finished."""

    # -- counting -----------------------------------------------------------------------------

    @abstractmethod
    async def backlog(self, session: AsyncSession, now: datetime) -> Backlog:
        """Every tenant's unfinished requests, counted in the database."""

    async def not_yet_listed(self, session: AsyncSession, tenant_id: str) -> int:
        """How many of a tenant's accepted requests listings do not show yet."""
        return 0

    # -- retention ----------------------------------------------------------------------------

    # ``kept`` is a condition on ``async_requests`` rows that keeps a request however old.

    @abstractmethod
    async def tenants_with_finished_before(
        self, cutoff: datetime, kept: ColumnElement[bool]
    ) -> list[str]:
        """The tenants that have requests finished, accepted before ``cutoff`` and not kept.
        Only reads."""

    @abstractmethod
    async def delete_finished(
        self,
        tenant_id: str,
        cutoff: datetime,
        kept: ColumnElement[bool],
        limit: int,
        with_them: DeleteWithThem,
    ) -> int:
        """Delete up to ``limit`` of a tenant's requests finished, accepted before ``cutoff``
        and not kept, and (``with_them``) what they caused, in one commit; returns how many. A
        deleted request is not found again, and its idempotency key is free."""
