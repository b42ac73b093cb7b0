"""The queue on SQLite: accepts wait in the inbox (``inbox``), claims take them in.

SQLite has one writer per file, so accepts commit to files of their own, as many group commits
at once as the inbox has lanes, and never wait for a worker's transactions. Workers read where
due requests are (table, inbox) without the write lock, claim from the table first and fill
up from the inbox, and learn of commits of other processes by watching every file's
``data_version``. Only one process claims (SQLite has no ``SKIP LOCKED``).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from asyncgate.asyncreq import wakeup
from asyncgate.asyncreq.models import AsyncRequest, ClaimedRequest, State
from asyncgate.asyncreq.queue.base import Backlog, Lease, Settable
from asyncgate.asyncreq.queue.inbox import LANES, FileReader, Inbox
from asyncgate.asyncreq.queue.table import (
    TABLE,
    TableQueue,
    in_stored_order,
    not_cancellable,
    same_call,
)
from asyncgate.db.engine import Database
from asyncgate.db.group_commit import GroupCommit

log = logging.getLogger("asyncgate.queue")

_ANY_DUE = (
    f"SELECT 1 FROM {TABLE.name} WHERE state = '{State.QUEUED.value}' AND run_after <= ? LIMIT 1"
)


class SqliteQueue(TableQueue):
    def __init__(self, database: Database) -> None:
        assert database.sqlite_file is not None, "SQLite files only"
        super().__init__(database)
        self._file = database.sqlite_file
        self._reader = FileReader(database.sqlite_file)
        self.inbox = Inbox(database, self._reader)
        self.files = self.inbox.files
        self._accepts: GroupCommit[dict[str, Any], str] = GroupCommit(self._store, lanes=LANES)

    async def open(self) -> None:
        await self.inbox.open()

    def close(self) -> None:
        self.inbox.close()
        self._reader.close()

    # -- accepting and waking -------------------------------------------------------------------

    async def accept(self, request: dict[str, Any]) -> str:
        # The keyed lane's unique index is where a repeat is told from a new request.
        keyed = request["idempotency_key"] is not None
        return await self._accepts.submit(request, first_lane_only=keyed)

    async def _store(self, rows: list[dict[str, Any]], lane: int) -> list[str | Exception]:
        inserted = await self.inbox.append(rows, lane)
        return [
            row["id"]
            if row["id"] in inserted
            else same_call(
                await self.inbox.first_under_key(row["tenant_id"], row["idempotency_key"]), row
            )
            for row in rows
        ]

    async def listen(self, wake: Settable, stop: asyncio.Event) -> None:
        await wakeup.watch_commits((self._file, *self.files), wake, stop)

    # -- claiming ---------------------------------------------------------------------------

    async def claim(self, lease: Lease, limit: int, now: datetime) -> list[ClaimedRequest]:
        """Where due requests are is read first, without the write lock (and without
        SQLAlchemy): the worker wakes up at every commit of any process, and a claim that
        finds nothing would hold up the writers it woke up for."""
        in_table = bool(self._reader.read(_ANY_DUE, (self.inbox.stored_time(now),)))
        in_inbox = await self.inbox.pending()
        if not (in_table or in_inbox):
            return []
        # Unsynced: the execution's commit, synced, makes the claim durable with it; a claim
        # lost with the machine leaves its requests to be claimed again, none executed. The
        # inbox syncs the log before it prunes what a claim took in (``tidy``).
        async with self.database.core_transaction(synced=False) as connection:
            claimed = await self.claim_from_table(connection, lease, limit, now) if in_table else []
            if in_inbox:
                claimed += await self.inbox.claim(connection, lease, limit - len(claimed), now)
        return in_stored_order(claimed)

    async def tidy(self) -> None:
        try:
            await self.inbox.prune()
        except Exception:
            log.exception("pruning the inbox failed; it is tried again later")

    # -- reading and changing one request ----------------------------------------------------

    async def find(
        self, session: AsyncSession, tenant_id: str, request_id: str
    ) -> AsyncRequest | None:
        # One snapshot: the table and the inbox's progress marks are read in one transaction.
        found = await self.find_in_table(session, tenant_id, request_id)
        if found is None:
            found = await self.inbox.find(await session.connection(), tenant_id, request_id)
        return found

    async def cancel(
        self, session: AsyncSession, tenant_id: str, request_id: str, now: datetime
    ) -> AsyncRequest:
        """A request still in the inbox is marked there: one row written, whatever waits
        before it. ``session``'s write transaction holds the database's write lock, which
        every claim takes before it reads the inbox: none takes the request in meanwhile."""
        connection = await session.connection()
        waiting = await self.inbox.cancel(connection, tenant_id, request_id, now)
        if waiting is None:
            return await super().cancel(session, tenant_id, request_id, now)
        if waiting.state != State.QUEUED:
            raise not_cancellable(waiting)
        waiting.state, waiting.completed_at = State.CANCELLED, now
        return waiting

    # -- counting -----------------------------------------------------------------------------

    async def backlog(self, session: AsyncSession, now: datetime) -> Backlog:
        in_table = await super().backlog(session, now)
        due, later, first_waiting = await self.inbox.backlog(await session.connection(), now)
        moments = [moment for moment in (in_table.first_due, first_waiting) if moment is not None]
        return Backlog(
            queued=in_table.queued + due,
            retrying=in_table.retrying + later,
            running=in_table.running,
            first_due=min(moments, default=None),
        )

    async def not_yet_listed(self, session: AsyncSession, tenant_id: str) -> int:
        return await self.inbox.waiting(await session.connection(), tenant_id)

    # -- retention ----------------------------------------------------------------------------

    async def forget_keys(self, request_ids: list[str]) -> None:
        """The inbox keeps keyed rows for as long as the table keeps their requests (it is
        where a key is checked): they go once the table's deletion has committed. A crash in
        between leaves a key that still answers with its deleted request's ID, never one that
        lets a repeat through while the request is kept."""
        if request_ids:
            await self.inbox.forget(request_ids)
