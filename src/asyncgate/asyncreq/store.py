"""Durable enqueueing with group commit.

Concurrent accepts share one transaction: whoever arrives while a commit is in flight joins
the next one. An idle server commits a lone request at once, so grouping adds no latency; a
busy one turns many fsyncs into one. A caller's ``enqueue`` returns only after its row is
committed, which is what allows the 202 to be sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection

from asyncgate.asyncreq import wakeup
from asyncgate.asyncreq.models import AsyncRequest
from asyncgate.db.engine import Database
from asyncgate.http.errors import BusinessRuleViolated, Resource

MAX_GROUP = 500
_TABLE = AsyncRequest.__table__
# What makes a repeat the same request as the one first stored under its idempotency key.
_IDENTITY = (_TABLE.c.method, _TABLE.c.path, _TABLE.c.query_string, _TABLE.c.body)

# Statements are built once: building one costs more than executing it. A row that conflicts
# (an idempotency key already used by its tenant) is skipped, never an error.
_INSERT_RETURNING_ID = pg_insert(_TABLE).on_conflict_do_nothing().returning(_TABLE.c.id)
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
        self._sqlite = database.engine.dialect.name == "sqlite"
        # Per set of columns: the driver-level insert and its conversion to stored form.
        self._sqlite_inserts: dict[tuple[str, ...], tuple[str, Callable[..., tuple]]] = {}

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
        inserted = await (
            self._insert_on_sqlite(rows) if self._sqlite else self._insert_on_postgres(rows)
        )
        ids = [row["id"] for row in rows]
        if inserted is not None and len(inserted) == len(rows):
            return ids
        # Committed by now: whichever request took a key first, in this group or before, is
        # there to compare with.
        async with self.database.read_transaction() as session:
            connection = await session.connection()
            if inserted is None:
                inserted = set((await connection.execute(_STORED, {"ids": ids})).scalars())
            return [
                row["id"] if row["id"] in inserted else await _earlier(connection, row)
                for row in rows
            ]

    async def _insert_on_postgres(self, rows: list[dict[str, Any]]) -> set[str]:
        """Insert ``rows`` and commit; returns the IDs of those stored (the others conflicted)."""
        async with self.database.core_transaction() as connection:
            inserted = set((await connection.execute(_INSERT_RETURNING_ID, rows)).scalars())
            if inserted:
                await wakeup.announce(connection)
        return inserted

    async def _insert_on_sqlite(self, rows: list[dict[str, Any]]) -> set[str] | None:
        """:meth:`_insert_on_postgres` on SQLite's driver (through SQLAlchemy, a commit of a
        few rows costs four times what the driver takes); None when some rows conflicted, as
        the driver tells how many rows it stored, not which."""
        columns = tuple(rows[0])
        statement = self._sqlite_inserts.get(columns)
        if statement is None:
            statement = _sqlite_insert(columns, self.database.engine.dialect)
            self._sqlite_inserts[columns] = statement
        sql, to_stored = statement
        async with self.database.sqlite_write_transaction() as cursor:
            cursor.executemany(sql, [to_stored(row) for row in rows])
            stored = cursor.rowcount
        return {row["id"] for row in rows} if stored == len(rows) else None


def _sqlite_insert(
    columns: tuple[str, ...], dialect: Dialect
) -> tuple[str, Callable[[dict[str, Any]], tuple[Any, ...]]]:
    """The insert of rows with ``columns`` (skipping conflicts), and the function that puts a
    row in the stored form SQLAlchemy itself would bind (JSON text, timestamps, ...)."""
    processors = [
        (name, _TABLE.c[name].type.bind_processor(dialect) or _unchanged) for name in columns
    ]
    sql = (
        f"INSERT INTO {_TABLE.name} ({', '.join(columns)}) "
        f"VALUES ({', '.join('?' for _ in columns)}) ON CONFLICT DO NOTHING"
    )

    def to_stored(row: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(process(row[name]) for name, process in processors)

    return sql, to_stored


def _unchanged(value: Any) -> Any:
    return value


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
