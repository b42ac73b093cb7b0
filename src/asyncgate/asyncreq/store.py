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
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from asyncgate.asyncreq import wakeup
from asyncgate.asyncreq.models import AsyncRequest
from asyncgate.db.engine import Database
from asyncgate.http.errors import BusinessRuleViolated, Resource

MAX_GROUP = 500
_TABLE = AsyncRequest.__table__
# What makes a repeat the same request as the one first stored under its idempotency key.
_IDENTITY = (_TABLE.c.method, _TABLE.c.path, _TABLE.c.query_string, _TABLE.c.body)

# Statements are built once, in Core: building one costs more than executing it. A row that
# conflicts (an idempotency key already used by its tenant) is skipped, never an error. On
# PostgreSQL the insert names the rows it stored; on SQLite, where RETURNING would send every
# row through SQLAlchemy's slower multi-values path, its row count tells whether all were.
_INSERT = {
    "postgresql": pg_insert(_TABLE).on_conflict_do_nothing().returning(_TABLE.c.id),
    "sqlite": sqlite_insert(_TABLE).on_conflict_do_nothing(),
}
_STORED = select(_TABLE.c.id).where(_TABLE.c.id.in_(bindparam("ids", expanding=True)))
_EARLIER = select(*_IDENTITY, _TABLE.c.id).where(
    _TABLE.c.tenant_id == bindparam("tenant_id"),
    _TABLE.c.idempotency_key == bindparam("idempotency_key"),
)


class GroupCommitStore:
    def __init__(self, database: Database) -> None:
        self.database = database
        self._pending: list[tuple[dict[str, Any], asyncio.Future[str]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._insert = _INSERT[database.engine.dialect.name]

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
        async with self.database.core_transaction() as connection:
            inserted = await self._stored_ids(connection, rows)
            if inserted:
                await wakeup.announce(connection)
            return [
                row["id"] if row["id"] in inserted else await _earlier(connection, row)
                for row in rows
            ]

    async def _stored_ids(
        self, connection: AsyncConnection, rows: list[dict[str, Any]]
    ) -> set[str]:
        """Insert ``rows``; returns the IDs of those stored (the others conflicted)."""
        result = await connection.execute(self._insert, rows)
        if result.returns_rows:
            return set(result.scalars())
        if result.rowcount == len(rows):
            return {row["id"] for row in rows}
        ids = [row["id"] for row in rows]
        return set((await connection.execute(_STORED, {"ids": ids})).scalars())


async def _earlier(connection: AsyncConnection, row: dict[str, Any]) -> str | Exception:
    """The request stored before under ``row``'s idempotency key, if it is the same one."""
    key = {"tenant_id": row["tenant_id"], "idempotency_key": row["idempotency_key"]}
    earlier = (await connection.execute(_EARLIER, key)).one()
    if tuple(earlier[:-1]) != tuple(row[column.key] for column in _IDENTITY):
        return BusinessRuleViolated(
            "This Idempotency-Key was already used for a different request",
            resource=Resource.ASYNC_REQUEST,
            status=409,
        )
    return earlier.id
