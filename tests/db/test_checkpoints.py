"""The write-ahead log reaches the database file by the background checkpoints, not in the
commits of requests."""

from __future__ import annotations

import asyncio
import os

from sqlalchemy import text

from asyncgate.config import Settings
from asyncgate.db import checkpoints
from asyncgate.db.engine import Database


async def test_commits_leave_the_log_alone_and_checkpoints_carry_it_over(tmp_path, monkeypatch):
    monkeypatch.setattr(checkpoints, "INTERVAL_SECONDS", 0.02)
    database = Database(
        Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'wal.db'}", _env_file=None)
    )
    try:
        async with database.transaction() as session:
            await session.execute(text("CREATE TABLE t (x BLOB)"))
        for _ in range(300):  # far past SQLite's own checkpoint threshold of 1,000 pages
            async with database.transaction() as session:
                await session.execute(text("INSERT INTO t VALUES (randomblob(16000))"))
        assert os.path.getsize(database.sqlite_file) < 100_000  # all of it still in the log

        async with checkpoints.checkpointing(database.sqlite_file):
            await asyncio.sleep(0.3)
        assert os.path.getsize(database.sqlite_file) > 300 * 16_000
    finally:
        await database.dispose()
