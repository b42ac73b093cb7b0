"""A test database: settings for a URL, a Database with the schema created, and the SQLite
inbox of accepted requests moved into the queue or emptied."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from asyncgate.asyncreq.inbox import ACCEPTED, Inbox
from asyncgate.config import Settings
from asyncgate.db.engine import Database
from asyncgate.db.models import metadata


def settings_for(database_url: str, data_dir: Path) -> Settings:
    return Settings(database_url=database_url, data_dir=data_dir, _env_file=None)


@asynccontextmanager
async def database_with_schema(settings: Settings) -> AsyncIterator[Database]:
    """The schema comes from the models (fast); tests/db proves the migrations agree."""
    database = Database(settings)
    async with database.engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    try:
        yield database
    finally:
        await database.dispose()


async def take_in_everything(database: Database) -> None:
    """On SQLite, move every request waiting in the inbox into the queue, as claims do."""
    inbox = Inbox.of(database)
    if inbox is None:
        return
    try:
        async with database.core_transaction() as connection:
            while await inbox.take_in(connection):
                pass
    finally:
        inbox.close()


async def empty_inbox(database: Database) -> None:
    inbox = Inbox.of(database)
    if inbox is None:
        return
    try:
        await inbox.open()
        for file in inbox.files:
            with sqlite3.connect(file) as connection:
                connection.execute(f"DELETE FROM {ACCEPTED.name}")
    finally:
        inbox.close()
