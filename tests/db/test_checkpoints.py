"""The write-ahead log reaches the database file by the background checkpoints, not in the
commits of requests."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
import threading

import psutil
import pytest
from sqlalchemy import text

from asyncgate.config import Settings
from asyncgate.db import checkpoints
from asyncgate.db.engine import Database


async def test_commits_leave_the_log_alone_and_checkpoints_carry_it_over(tmp_path, monkeypatch):
    monkeypatch.setattr(checkpoints, "INTERVAL_SECONDS", 0.02)
    database = Database(Settings(database_url=f"sqlite:///{tmp_path / 'wal.db'}", _env_file=None))
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


@pytest.mark.skipif(sys.platform != "linux", reason="I/O classes are Linux's")
async def test_checkpoints_write_in_the_idle_io_class_and_the_rest_of_the_process_does_not(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(checkpoints, "INTERVAL_SECONDS", 0.01)
    sqlite_file = str(tmp_path / "idle.db")
    sqlite3.connect(sqlite_file).close()
    async with checkpoints.checkpointing(sqlite_file):
        await asyncio.sleep(0.1)
        (thread,) = [t for t in threading.enumerate() if t.name.startswith("checkpoints")]
        assert psutil.Process(thread.native_id).ionice().ioclass == psutil.IOPRIO_CLASS_IDLE
    assert psutil.Process().ionice().ioclass != psutil.IOPRIO_CLASS_IDLE
