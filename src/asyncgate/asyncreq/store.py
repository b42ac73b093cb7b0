"""Durable enqueueing with group commit.

Concurrent accepts share one transaction: whoever arrives while a commit is in flight joins
the next one. An idle server commits a lone request at once, so grouping adds no latency; a
busy one turns many fsyncs into one. A caller's ``enqueue`` returns only after its row is
committed, which is what allows the 202 to be sent.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from asyncgate.asyncreq import wakeup
from asyncgate.asyncreq.models import AsyncRequest
from asyncgate.db.engine import Database
from asyncgate.http.errors import BusinessRuleViolated, Resource

MAX_GROUP = 500
# What makes a repeat the same request as the one first stored under its idempotency key.
_IDENTITY = (AsyncRequest.method, AsyncRequest.path, AsyncRequest.query_string, AsyncRequest.body)


class GroupCommitStore:
    def __init__(self, database: Database, committed: asyncio.Event) -> None:
        self.database = database
        self.committed = committed
        self._pending: list[tuple[dict[str, Any], asyncio.Future[str]]] = []
        self._flusher: asyncio.Task[None] | None = None
        dialect = database.engine.dialect.name
        self._insert = pg_insert if dialect == "postgresql" else sqlite_insert

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
                self.committed.set()
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
        async with self.database.transaction() as session:
            statement = (
                self._insert(AsyncRequest).on_conflict_do_nothing().returning(AsyncRequest.id)
            )
            inserted = set((await session.execute(statement, rows)).scalars())
            if inserted:
                await wakeup.announce(session)
            return [
                row["id"] if row["id"] in inserted else await _earlier(session, row) for row in rows
            ]


async def _earlier(session: AsyncSession, row: dict[str, Any]) -> str | Exception:
    """The request stored before under ``row``'s idempotency key, if it is the same one."""
    earlier = (
        await session.execute(
            select(*_IDENTITY, AsyncRequest.id).where(
                AsyncRequest.tenant_id == row["tenant_id"],
                AsyncRequest.idempotency_key == row["idempotency_key"],
            )
        )
    ).one()
    if tuple(earlier[:-1]) != tuple(row[column.key] for column in _IDENTITY):
        return BusinessRuleViolated(
            "This Idempotency-Key was already used for a different request",
            resource=Resource.ASYNC_REQUEST,
            status=409,
        )
    return earlier.id
