"""The queue on PostgreSQL: accepts go straight into ``async_requests``.

PostgreSQL's writers do not exclude each other, so accepts insert their rows in group commits
of their own (:class:`~asyncgate.db.group_commit.GroupCommit`) and announce them with ``NOTIFY``
in the same transaction; any number of processes claim with ``FOR UPDATE SKIP LOCKED``.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.dialects.postgresql import insert

from asyncgate.asyncreq import wakeup
from asyncgate.asyncreq.models import ClaimedRequest
from asyncgate.asyncreq.queue.base import Lease, Settable
from asyncgate.asyncreq.queue.table import (
    IDENTITY_COLUMNS,
    TABLE,
    TableQueue,
    in_stored_order,
    same_call,
)
from asyncgate.db.engine import Database
from asyncgate.db.group_commit import GroupCommit

# Built once: building a statement costs more than running it. A row that conflicts (an
# idempotency key its tenant already used) is skipped, never an error.
_INSERT_RETURNING_ID = insert(TABLE).on_conflict_do_nothing().returning(TABLE.c.id)
_FIRST_UNDER_KEY = select(*(TABLE.c[name] for name in IDENTITY_COLUMNS), TABLE.c.id).where(
    TABLE.c.tenant_id == bindparam("tenant_id"),
    TABLE.c.idempotency_key == bindparam("idempotency_key"),
)


class PostgresQueue(TableQueue):
    def __init__(self, database: Database) -> None:
        super().__init__(database)
        self._accepts: GroupCommit[dict[str, Any], str] = GroupCommit(self._store)

    async def open(self) -> None:
        """Nothing to prepare: the table is the migrations'."""

    def close(self) -> None:
        """Nothing to release: connections are the engine's."""

    async def tidy(self) -> None:
        """Nothing to drop: accepts went straight into the table."""

    async def accept(self, request: dict[str, Any]) -> str:
        return await self._accepts.submit(request)

    async def _store(self, rows: list[dict[str, Any]], lane: int) -> list[str | Exception]:
        async with self.database.core_transaction() as connection:
            inserted = set((await connection.execute(_INSERT_RETURNING_ID, rows)).scalars())
            if inserted:
                await wakeup.announce(connection)
        # Committed by now: whichever request took a key first, in this group or before, is
        # there to compare with.
        return [
            row["id"] if row["id"] in inserted else await self._first_under_key_of(row)
            for row in rows
        ]

    async def _first_under_key_of(self, row: dict[str, Any]) -> str | Exception:
        parameters = {"tenant_id": row["tenant_id"], "idempotency_key": row["idempotency_key"]}
        async with self.database.read_transaction() as session:
            first = (await session.execute(_FIRST_UNDER_KEY, parameters)).one_or_none()
        return same_call(None if first is None else tuple(first), row)

    async def listen(self, wake: Settable, stop: asyncio.Event) -> None:
        await wakeup.listen_for_notifications(self.database, wake, stop)

    async def claim(self, lease: Lease, limit: int, now: datetime) -> list[ClaimedRequest]:
        async with self.database.core_transaction() as connection:
            claimed = await self.claim_from_table(connection, lease, limit, now)
        return in_stored_order(claimed)
