"""SQLite transactions: writers take the lock up front, readers never wait for it."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from asyncgate.config import Settings
from asyncgate.db.engine import Database


async def test_a_reader_is_not_held_up_by_an_open_write_transaction(tmp_path):
    database = Database(
        Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'rw.db'}", _env_file=None)
    )

    async def count() -> int:
        async with database.read_transaction() as session:
            return (await session.execute(text("SELECT count(*) FROM t"))).scalar_one()

    try:
        async with database.transaction() as session:
            await session.execute(text("CREATE TABLE t (x INTEGER)"))
        async with database.transaction() as writer:
            await writer.execute(text("INSERT INTO t VALUES (1)"))
            # The writer holds SQLite's write lock; the reader answers at once from the
            # last committed state instead of waiting for the busy timeout.
            assert await asyncio.wait_for(count(), timeout=2) == 0
        assert await count() == 1
    finally:
        await database.dispose()
