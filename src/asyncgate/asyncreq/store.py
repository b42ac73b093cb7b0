"""Durable enqueueing with group commit.

Concurrent accepts share one transaction: whoever arrives while a commit is in flight joins
the next one. An idle server commits a lone request at once, so grouping adds no latency; a
busy one turns many fsyncs into one. A caller's ``enqueue`` returns only after its row is
committed, which is what allows the 202 to be sent.

On SQLite as many commits as the inbox has lanes are in flight at once, one per lane: an accept
that arrives while every lane commits joins the group of whichever lane frees first. Requests
with an idempotency key wait for the keyed lane.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from asyncgate.asyncreq import wakeup
from asyncgate.asyncreq.inbox import IDENTITY_COLUMNS, KEYED_LANE, LANES, Inbox
from asyncgate.asyncreq.models import AsyncRequest
from asyncgate.db.engine import Database
from asyncgate.http.errors import BusinessRuleViolated, Resource

MAX_GROUP = 500
_Pending = list[tuple[dict[str, Any], asyncio.Future[str]]]
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
        # Waiting for a commit: requests with an idempotency key, which only the keyed lane
        # takes, and the others, which any lane takes.
        self._keyed: _Pending = []
        self._unkeyed: _Pending = []
        self._idle_lanes = set(range(LANES if inbox is not None else 1))
        # Lanes whose flusher has been started but has not taken its first group yet: the
        # requests that arrive meanwhile join that group.
        self._starting: set[int] = set()
        self._flushers: set[asyncio.Task[None]] = set()

    async def enqueue(self, values: dict[str, Any]) -> str:
        """Store one request; returns its ID once committed, or the ID of the request already
        stored under the same tenant and idempotency key. A key already used for a different
        request is refused (409), as on synchronous routes."""
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        keyed = self.inbox is not None and values["idempotency_key"] is not None
        (self._keyed if keyed else self._unkeyed).append((values, future))
        if keyed:
            if KEYED_LANE not in self._starting and KEYED_LANE in self._idle_lanes:
                self._start(KEYED_LANE)
        elif not self._starting and self._idle_lanes:
            self._start(min(self._idle_lanes))
        return await future

    def _start(self, lane: int) -> None:
        self._idle_lanes.discard(lane)
        self._starting.add(lane)
        flusher = asyncio.create_task(self._flush_until_empty(lane))
        self._flushers.add(flusher)
        flusher.add_done_callback(self._flushers.discard)

    def _next_group(self, lane: int) -> _Pending:
        group, self._unkeyed = self._unkeyed[:MAX_GROUP], self._unkeyed[MAX_GROUP:]
        if lane == KEYED_LANE and len(group) < MAX_GROUP:
            room = MAX_GROUP - len(group)
            group, self._keyed = self._keyed[:room] + group, self._keyed[room:]
        return group

    async def _flush_until_empty(self, lane: int) -> None:
        try:
            self._starting.discard(lane)
            while group := self._next_group(lane):
                outcomes = await self._store([values for values, _ in group], lane)
                for (_, future), outcome in zip(group, outcomes, strict=True):
                    if future.done():  # its caller went away
                        continue
                    if isinstance(outcome, Exception):
                        future.set_exception(outcome)
                    else:
                        future.set_result(outcome)
        finally:
            self._idle_lanes.add(lane)

    async def _store(self, rows: list[dict[str, Any]], lane: int) -> list[str | Exception]:
        """Commit ``rows`` together or, when that fails, each on its own: a row the database
        refuses fails its own request, never the others of its group."""
        try:
            return await self._commit(rows, lane)
        except Exception as error:  # noqa: BLE001 - its waiter must learn of it
            if len(rows) == 1:
                return [error]
        return [(await self._store([row], lane))[0] for row in rows]

    async def _commit(self, rows: list[dict[str, Any]], lane: int) -> list[str | Exception]:
        if self.inbox is not None:
            inserted = await self.inbox.append(rows, lane)
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
