"""SQLite writers of different processes take turns: one that waits for the write lock says
so, and a long run of writes lets it in between its transactions."""

from __future__ import annotations

import asyncio
import sqlite3
import time

import pytest
from sqlalchemy import text

from asyncgate.config import Settings
from asyncgate.db import engine
from asyncgate.db.engine import Database
from asyncgate.db.writer_turns import WriterTurns


def test_a_waiting_writer_is_seen_by_another_until_it_stops_waiting(tmp_path):
    # Two openings of the file behave as two processes would.
    waiter, other = WriterTurns(str(tmp_path / "x.db")), WriterTurns(str(tmp_path / "x.db"))
    try:
        assert not other.others_waiting()
        with waiter.waiting() as keep_marked:
            assert not other.others_waiting()  # not marked until it waits
            keep_marked()
            assert other.others_waiting()
            assert waiter.others_waiting()  # its own process counts too
        assert not other.others_waiting()
    finally:
        waiter.close()
        other.close()


@pytest.fixture
async def database(tmp_path):
    database = Database(Settings(database_url=f"sqlite:///{tmp_path / 'turns.db'}", _env_file=None))
    async with database.transaction() as session:
        await session.execute(text("CREATE TABLE t (x INTEGER)"))
    yield database
    await database.dispose()


async def test_a_writer_blocked_by_another_process_marks_itself_waiting(database):
    other_process = sqlite3.connect(database.sqlite_file, isolation_level=None)
    other_process.execute("BEGIN IMMEDIATE")

    async def write() -> None:
        async with database.transaction() as session:
            await session.execute(text("INSERT INTO t VALUES (1)"))

    writing = asyncio.create_task(write())
    try:
        deadline = time.monotonic() + 2
        while not database.others_waiting_to_write():
            assert time.monotonic() < deadline, "the blocked writer never marked itself"
            await asyncio.sleep(0.001)
        assert not writing.done()
    finally:
        other_process.execute("COMMIT")
        other_process.close()
    await asyncio.wait_for(writing, timeout=2)
    assert not database.others_waiting_to_write()


async def test_letting_waiting_writers_in_waits_for_them(database, monkeypatch):
    monkeypatch.setattr(engine, "GIVE_WAY_SECONDS", 5.0)
    waiter = WriterTurns(database.sqlite_file)
    try:
        with waiter.waiting() as keep_marked:
            keep_marked()
            giving_way = asyncio.create_task(database.let_waiting_writers_in())
            await asyncio.sleep(0.05)
            assert not giving_way.done()
        await asyncio.wait_for(giving_way, timeout=1)
    finally:
        waiter.close()
    started = time.monotonic()
    await database.let_waiting_writers_in()
    assert time.monotonic() - started < 0.05  # nobody waits: no pause


async def test_a_database_that_gives_way_writes_after_other_processes_waiting_writers(
    tmp_path, monkeypatch
):
    """A worker process's every write transaction lets a waiting accept of the API in first."""
    monkeypatch.setattr(engine, "GIVE_WAY_SECONDS", 5.0)
    url = f"sqlite:///{tmp_path / 'polite.db'}"
    polite = Database(Settings(database_url=url, _env_file=None), gives_way=True)
    waiter = WriterTurns(polite.sqlite_file)
    try:
        with waiter.waiting() as keep_marked:
            keep_marked()
            writing = asyncio.create_task(_write_once(polite))
            await asyncio.sleep(0.05)
            assert not writing.done()
        await asyncio.wait_for(writing, timeout=1)
    finally:
        waiter.close()
        await polite.dispose()


async def _write_once(database: Database) -> None:
    async with database.transaction() as session:
        await session.execute(text("CREATE TABLE IF NOT EXISTS t (x INTEGER)"))
