"""Durable enqueueing with group commit.

Concurrent accepts share one transaction: whoever arrives while a commit is in flight joins
the next one. An idle server commits a lone request at once, so grouping adds no latency; a
busy one turns many fsyncs into one. A caller's ``enqueue`` returns only after its row is
committed, which is what allows the 202 to be sent.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from asyncgate.asyncreq import wakeup
from asyncgate.asyncreq.inbox import IDENTITY_COLUMNS, Inbox
from asyncgate.asyncreq.models import AsyncRequest
from asyncgate.db.engine import Database
from asyncgate.http.errors import BusinessRuleViolated, Resource

MAX_GROUP = 500
_TABLE = AsyncRequest.__table__
_IDENTITY = tuple(_TABLE.c[name] for name in IDENTITY_COLUMNS)

# Statements are built once: building one costs more than executing it. A row that conflicts
# (an idempotency key already used by its tenant) is skipped, never an error.
_INSERT_RETURNING_ID = pg_insert(_TABLE).on_conflict_do_nothing().returning(_TABLE.c.id)
_FIRST_UNDER_KEY = select(*_IDENTITY, _TABLE.c.id).where(
    _TABLE.c.tenant_id == bindparam("tenant_id"),
    _TABLE.c.idempotency_key == bindparam("idempotency_key"),
)


class GroupCommitStore:
    """Stores accepted requests in the queue (PostgreSQL) or in the inbox (SQLite, see
    ``asyncreq.inbox``)."""

    def __init__(self, database: Database, inbox: Inbox | None) -> None:
        self.database = database
        self.inbox = inbox
        self._pending: list[tuple[dict[str, Any], asyncio.Future[str]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def enqueue(self, values: dict[str, Any]) -> str:
        """Store one request; returns its ID once committed, or the ID of the request already
        stored under the same tenant and idempotency key. A key already used for a different
        request is refused (409), as on synchronous routes."""
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._pending.append((values, future))
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush_until_empty())
        return await future

    async def _flush_until_empty(self) -> None:
        try:
            while self._pending:
                group, self._pending = self._pending[:MAX_GROUP], self._pending[MAX_GROUP:]
                outcomes = await self._store([values for values, _ in group])
                for (_, future), outcome in zip(group, outcomes, strict=True):
                    if future.done():  # its caller went away
                        continue
                    if isinstance(outcome, Exception):
                        future.set_exception(outcome)
                    else:
                        future.set_result(outcome)
        finally:
            self._flusher = None

    async def _store(self, rows: list[dict[str, Any]]) -> list[str | Exception]:
        """Commit ``rows`` together or, when that fails, each on its own: a row the database
        refuses fails its own request, never the others of its group."""
        try:
            return await self._commit(rows)
        except Exception as error:  # noqa: BLE001 - its waiter must learn of it
            if len(rows) == 1:
                return [error]
        return [(await self._store([row]))[0] for row in rows]

    async def _commit(self, rows: list[dict[str, Any]]) -> list[str | Exception]:
        if self.inbox is not None:
            inserted = await self.inbox.append(rows)
        else:
            inserted = await self._insert_on_postgres(rows)
        # Committed by now: whichever request took a key first, in this group or before, is
        # there to compare with.
        return [
            row["id"] if row["id"] in inserted else await self._first_under_key_of(row)
            for row in rows
        ]

    async def _insert_on_postgres(self, rows: list[dict[str, Any]]) -> set[str]:
        """Insert ``rows`` and commit; returns the IDs of those stored (the others conflicted)."""
        async with self.database.core_transaction() as connection:
            inserted = set((await connection.execute(_INSERT_RETURNING_ID, rows)).scalars())
            if inserted:
                await wakeup.announce(connection)
        return inserted

    async def _first_under_key_of(self, row: dict[str, Any]) -> str | Exception:
        """The request stored before under ``row``'s idempotency key, if it is the same one."""
        tenant_id, key = row["tenant_id"], row["idempotency_key"]
        if self.inbox is not None:
            first = await self.inbox.first_under_key(tenant_id, key)
        else:
            async with self.database.read_transaction() as session:
                parameters = {"tenant_id": tenant_id, "idempotency_key": key}
                first = (await session.execute(_FIRST_UNDER_KEY, parameters)).one_or_none()
        if first is None or tuple(first[:-1]) != tuple(row[name] for name in IDENTITY_COLUMNS):
            return BusinessRuleViolated(
                "This Idempotency-Key was already used for a different request",
                resource=Resource.ASYNC_REQUEST,
                status=409,
            )
        return first[-1]
