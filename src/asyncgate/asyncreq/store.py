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

from asyncgate.asyncreq.models import AsyncRequest
from asyncgate.db.engine import Database

MAX_GROUP = 500


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
        stored under the same tenant and idempotency key."""
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._pending.append((values, future))
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush_until_empty())
        return await future

    async def _flush_until_empty(self) -> None:
        try:
            while self._pending:
                group, self._pending = self._pending[:MAX_GROUP], self._pending[MAX_GROUP:]
                try:
                    ids = await self._commit(group)
                except Exception as error:  # noqa: BLE001 - every waiter must learn of it
                    for _, future in group:
                        if not future.done():
                            future.set_exception(error)
                    continue
                for (_, future), request_id in zip(group, ids, strict=True):
                    if not future.done():
                        future.set_result(request_id)
                self.committed.set()
        finally:
            self._flusher = None

    async def _commit(self, group: list[tuple[dict[str, Any], asyncio.Future[str]]]) -> list[str]:
        rows = [values for values, _ in group]
        async with self.database.transaction() as session:
            statement = (
                self._insert(AsyncRequest).on_conflict_do_nothing().returning(AsyncRequest.id)
            )
            inserted = set((await session.execute(statement, rows)).scalars())
            duplicates = [row for row in rows if row["id"] not in inserted]
            existing: dict[tuple[str, str], str] = {}
            for row in duplicates:
                existing_id = await session.scalar(
                    select(AsyncRequest.id).where(
                        AsyncRequest.tenant_id == row["tenant_id"],
                        AsyncRequest.idempotency_key == row["idempotency_key"],
                    )
                )
                existing[(row["tenant_id"], row["idempotency_key"])] = existing_id
        return [
            row["id"]
            if row["id"] in inserted
            else existing[(row["tenant_id"], row["idempotency_key"])]
            for row in rows
        ]
