"""A test database: settings for a URL, a Database with the schema created, and the requests
its queue holds, read and cleared through the queue's interface."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import MetaData, delete, func, select

from asyncgate.asyncreq.models import FINISHED_STATES, AsyncRequest
from asyncgate.asyncreq.queue import RequestQueue, queue_for
from asyncgate.config import Settings
from asyncgate.db.base import utcnow
from asyncgate.db.engine import Database
from asyncgate.db.models import metadata
from asyncgate.notifications.outbox import OutboxEvent


def settings_for(database_url: str, data_dir: Path) -> Settings:
    return Settings(database_url=database_url, data_dir=data_dir, _env_file=None)


@asynccontextmanager
async def database_with_schema(
    settings: Settings, tables: MetaData = metadata
) -> AsyncIterator[Database]:
    """The schema comes from the models (fast); tests/db proves the migrations agree. Or
    ``tables``: a test's own."""
    database = Database(settings)
    async with database.engine.begin() as connection:
        await connection.run_sync(tables.create_all)
    try:
        yield database
    finally:
        await database.dispose()


@asynccontextmanager
async def queue_of(database: Database) -> AsyncIterator[RequestQueue]:
    """A queue of ``database`` of the test's own, as another process would have."""
    queue = queue_for(database)
    await queue.open()
    try:
        yield queue
    finally:
        queue.close()


async def find_request(database: Database, tenant_id: str, request_id: str) -> AsyncRequest | None:
    """A tenant's request as the status resource finds it."""
    async with queue_of(database) as queue, database.read_transaction() as session:
        return await queue.find(session, tenant_id, request_id)


async def count_requests(database: Database) -> int:
    """How many requests are stored, wherever they wait: the unfinished ones as the queue
    counts them, and the finished ones."""
    finished = select(func.count()).where(AsyncRequest.state.in_(FINISHED_STATES))
    async with queue_of(database) as queue, database.read_transaction() as session:
        backlog = await queue.backlog(session, utcnow())
        return (
            backlog.queued
            + backlog.retrying
            + backlog.running
            + (await session.scalar(finished) or 0)
        )


async def empty_queue(database: Database) -> None:
    """Delete every request and event, and whatever the queue keeps in files of its own."""
    async with queue_of(database) as queue:
        for file in queue.files:
            with sqlite3.connect(file) as connection:
                tables = connection.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' "
                    "AND name NOT LIKE 'sqlite_%'"
                ).fetchall()
                for (table,) in tables:
                    connection.execute(f"DELETE FROM {table}")
    async with database.transaction() as session:
        await session.execute(delete(OutboxEvent))
        await session.execute(delete(AsyncRequest))
