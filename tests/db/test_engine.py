"""SQLite transactions: writers take the lock up front, readers never wait for it."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from asyncgate.config import Settings
from asyncgate.db import engine as engine_module
from asyncgate.db.engine import Database


async def test_a_reader_is_not_held_up_by_an_open_write_transaction(tmp_path):
    database = Database(Settings(database_url=f"sqlite:///{tmp_path / 'rw.db'}", _env_file=None))

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


async def test_an_unsynced_transaction_commits_at_normal_and_the_next_at_full_again(tmp_path):
    database = Database(
        Settings(
            database_url=f"sqlite:///{tmp_path / 'sync.db'}",
            db_pool_size=1,
            _env_file=None,
        )
    )

    async def level(**options) -> int:
        async with database.core_transaction(**options) as connection:
            await connection.exec_driver_sql("INSERT INTO t VALUES (1)")
            return (await connection.exec_driver_sql("PRAGMA synchronous")).scalar_one()

    try:
        async with database.transaction() as session:
            await session.execute(text("CREATE TABLE t (x INTEGER)"))
        # 2 is FULL (every commit fsynced), 1 NORMAL; the pool's connections are reused.
        assert [await level(), await level(synced=False), await level()] == [2, 1, 2]
        assert [await level(synced=False), await level(synced=False), await level()] == [1, 1, 2]
        async with database.read_transaction() as session:
            assert (await session.execute(text("SELECT count(*) FROM t"))).scalar_one() == 6
    finally:
        await database.dispose()


async def test_syncing_the_log_fsyncs_it_and_does_without_one(tmp_path, monkeypatch):
    database = Database(Settings(database_url=f"sqlite:///{tmp_path / 'log.db'}", _env_file=None))
    synced = []
    real_sync = engine_module._sync_data
    monkeypatch.setattr(engine_module, "_sync_data", lambda fd: synced.append(fd) or real_sync(fd))
    try:
        async with database.transaction() as session:
            await session.execute(text("CREATE TABLE t (x INTEGER)"))
        await database.sync_log()
        assert len(synced) == 1
    finally:
        await database.dispose()
    assert not (tmp_path / "log.db-wal").exists()  # closing the last connection removed it
    await database.sync_log()
    assert len(synced) == 1
