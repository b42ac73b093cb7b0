"""Leased work: rows that workers claim under a lease, hold while they work, then give up.

The request worker (``async_requests``) and the callout sender (``callout_deliveries``) follow
one protocol, built here once for any table with ``state``, ``attempts``, ``lease_owner`` and
``lease_expires_at`` columns and a column saying when a waiting row is due:

- **claim**: one ``UPDATE`` moves up to ``:limit`` due rows (due longest first) from the
  waiting state to the held one, under ``:owner`` until ``:lease_expires_at``, and returns
  them. Where writers of several processes work at once (PostgreSQL), rows another claimer
  holds locked are skipped (``FOR UPDATE SKIP LOCKED``), so every row goes to one claimer.
- **extend**: a live holder pushes the expiry of what it holds forward (:class:`Leases`),
  skipping, where writers work at once, rows locked by the transaction that settles them.
- **fence**: every change to a held row matches ``(id, held state, owner, attempts)``, so a
  holder whose lease was lost (it stalled past the expiry, and the row was rescued and claimed
  again) changes nothing and learns so from the row count.
- **rescue**: rows whose lease expired are selected (skipping rows another rescuer holds) for
  the caller to decide what becomes of them.

Statements are built once per table and shape: building one costs more than running it.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Select,
    Table,
    Update,
    and_,
    bindparam,
    select,
    update,
)

from asyncgate.clock import Clock
from asyncgate.db.engine import Database


@dataclass(frozen=True, eq=False)
class LeasedTable:
    """A table of leased work: ``waiting`` rows become ``held`` ones when claimed."""

    table: Table
    waiting: str
    held: str
    due: str  # the column saying when a waiting row is due
    # What else a claim sets, by column: an attempt counted, a start time (``:now``).
    claim_sets: Mapping[str, Any] = field(default_factory=dict)

    @functools.cached_property
    def fence(self) -> ColumnElement[bool]:
        """Matches a row only while ``:fence_owner`` holds it on attempt ``:fence_attempts``."""
        columns = self.table.c
        return and_(
            columns.id == bindparam("fence_id"),
            columns.state == self.held,
            columns.lease_owner == bindparam("fence_owner"),
            columns.attempts == bindparam("fence_attempts"),
        )

    @functools.cache  # noqa: B019 - one per table and shape, built once, kept with the table
    def claim(
        self, *, skip_locked: bool, returning: tuple[str, ...], excluding: str | None = None
    ) -> Update:
        """Claim up to ``:limit`` rows due at ``:now`` for ``:owner`` until
        ``:lease_expires_at``, but those whose ``excluding`` column is among ``:excluded``;
        returns the ``returning`` columns of the rows claimed."""
        columns = self.table.c
        due = (
            select(columns.id)
            .where(columns.state == self.waiting, columns[self.due] <= bindparam("now"))
            .order_by(columns[self.due])
            .limit(bindparam("limit"))
        )
        if excluding is not None:
            due = due.where(columns[excluding].not_in(bindparam("excluded", expanding=True)))
        if skip_locked:
            due = due.with_for_update(skip_locked=True)
        return (
            update(self.table)
            .where(columns.id.in_(due.scalar_subquery()))
            .values(
                state=self.held,
                lease_owner=bindparam("owner"),
                lease_expires_at=bindparam("lease_expires_at"),
                **self.claim_sets,
            )
            .returning(*(columns[name] for name in returning))
        )

    @functools.cache  # noqa: B019 - as ``claim``
    def settle(self, columns: frozenset[str]) -> Update:
        """Give up a row :attr:`fence` matches, setting ``columns`` (each from
        ``:new_<column>``): one statement per shape of outcome, built once."""
        values: dict[str, BindParameter[Any]] = {
            column: bindparam(f"new_{column}") for column in sorted(columns)
        }
        return (
            update(self.table)
            .where(self.fence)
            .values(lease_owner=None, lease_expires_at=None, **values)
        )

    @functools.cache  # noqa: B019 - as ``claim``
    def extend(self, *, skip_locked: bool) -> Update:
        """Push the expiry of ``:ids`` that ``:owner`` still holds to ``:lease_expires_at``.

        With ``skip_locked``, rows another transaction holds locked are left as they are: that
        transaction is settling them (the holder's own batch, committing its outcomes). A
        renewal that waited for one of them, with the rows it had renewed so far locked, would
        deadlock with that transaction as soon as it went on to settle one of those."""
        columns = self.table.c
        held = and_(
            columns.id.in_(bindparam("ids", expanding=True)),
            columns.state == self.held,
            columns.lease_owner == bindparam("owner"),
        )
        if skip_locked:
            unlocked = select(columns.id).where(held).with_for_update(skip_locked=True)
            held = columns.id.in_(unlocked.scalar_subquery())
        return update(self.table).where(held).values(lease_expires_at=bindparam("lease_expires_at"))

    @functools.cache  # noqa: B019 - as ``claim``
    def expired(self, *, skip_locked: bool) -> Select[Any]:
        """Up to ``:limit`` held rows whose lease expired before ``:now``, whole."""
        columns = self.table.c
        statement = (
            select(self.table)
            .where(columns.state == self.held, columns.lease_expires_at < bindparam("now"))
            .limit(bindparam("limit"))
        )
        return statement.with_for_update(skip_locked=True) if skip_locked else statement


class Leases:
    """What one holder (``owner``) holds of a leased table, and the leases it renews."""

    def __init__(
        self,
        table: LeasedTable,
        database: Database,
        owner: str,
        length: timedelta,
        clock: Clock,
    ) -> None:
        self.table = table
        self.database = database
        self.owner = owner
        self.length = length
        self.clock = clock
        self.held: set[str] = set()
        # Skip rows others hold locked where others claim at the same moment.
        self.skip_locked = database.concurrent_writers

    def expiry(self, now: datetime) -> datetime:
        return now + self.length

    def claim_statement(self, returning: tuple[str, ...], excluding: str | None = None) -> Update:
        return self.table.claim(
            skip_locked=self.skip_locked, returning=returning, excluding=excluding
        )

    def expired_statement(self) -> Select[Any]:
        return self.table.expired(skip_locked=self.skip_locked)

    def took(self, ids: Iterable[str]) -> None:
        self.held.update(ids)

    def gave_up(self, ids: Iterable[str]) -> None:
        self.held.difference_update(ids)

    def settled(
        self, row_id: str, attempts: int, columns: Mapping[str, object]
    ) -> dict[str, object]:
        """The parameters of :meth:`LeasedTable.settle` for a row held on attempt
        ``attempts``, given up with ``columns``."""
        parameters = {f"new_{column}": value for column, value in columns.items()}
        return parameters | {
            "fence_id": row_id,
            "fence_owner": self.owner,
            "fence_attempts": attempts,
        }

    async def extend(self) -> None:
        """Renew the leases of everything held (call well within the lease's length)."""
        if not self.held:
            return
        parameters = {
            "ids": list(self.held),
            "owner": self.owner,
            "lease_expires_at": self.expiry(self.clock.now()),
        }
        async with self.database.core_transaction() as connection:
            await connection.execute(self.table.extend(skip_locked=self.skip_locked), parameters)
