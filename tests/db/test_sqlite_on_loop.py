"""The SQLite driver that runs statements on the event loop: what runs where, how it waits for
the write lock without stalling the loop, and that it never leaves the lock held."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text

from asyncgate.config import Settings
from asyncgate.db import sqlite_on_loop
from asyncgate.db.engine import Database
from asyncgate.db.sqlite_on_loop import Connection
from asyncgate.db.writer_turns import WriterTurns

BUSY_TIMEOUT_S = 0.5


def plain(path: Path) -> sqlite3.Connection:
    """A connection of "another process": the driver's own, in autocommit mode."""
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA busy_timeout=0")
    return connection


@pytest.fixture
def path(tmp_path: Path) -> Path:
    path = tmp_path / "loop.db"
    with plain(path) as connection:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("CREATE TABLE t (x INTEGER)")
    return path


@pytest.fixture
def driver(path: Path) -> Iterator[sqlite3.Connection]:
    """The sqlite3 connection under the one being tested, to watch it."""
    connection = plain(path)
    yield connection
    connection.close()


@pytest.fixture
async def connection(driver: sqlite3.Connection) -> AsyncIterator[Connection]:
    connection = Connection(driver, BUSY_TIMEOUT_S, None)
    yield connection
    connection.stop()


def count(path: Path) -> int:
    with plain(path) as reader:
        return reader.execute("SELECT count(*) FROM t").fetchone()[0]


async def insert_one(connection: Connection) -> None:
    async with connection.write_transaction() as cursor:
        cursor.execute("INSERT INTO t VALUES (1)")


@contextmanager
def commits_seen(driver: sqlite3.Connection) -> Iterator[list[int]]:
    """The threads the driver's COMMITs run on, in order."""
    threads: list[int] = []

    def trace(statement: str) -> None:
        if statement == "COMMIT":
            threads.append(threading.get_ident())

    driver.set_trace_callback(trace)
    try:
        yield threads
    finally:
        driver.set_trace_callback(None)


class Ticker:
    """Counts the turns the event loop gives other tasks."""

    def __init__(self) -> None:
        self.ticks = 0
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            self.ticks += 1
            await asyncio.sleep(0)

    def stop(self) -> None:
        self._task.cancel()


@contextmanager
def holding_the_write_lock(path: Path) -> Iterator[Callable[[], None]]:
    """Another process's write transaction, ended by calling the yielded function (or on exit)."""
    other = plain(path)
    other.execute("BEGIN IMMEDIATE")

    def release() -> None:
        if other.in_transaction:
            other.execute("COMMIT")

    try:
        yield release
    finally:
        release()
        other.close()


class TestWhereStatementsRun:
    async def test_statements_run_on_the_event_loops_thread(self, connection, driver):
        driver.create_function("thread", 0, threading.get_ident)
        async with connection.cursor() as cursor:
            await cursor.execute("SELECT thread()")
            assert await cursor.fetchone() == (threading.get_ident(),)

    async def test_the_commit_of_a_write_runs_off_the_loop_and_that_of_a_read_inline(
        self, connection, driver, path
    ):
        loop_thread = threading.get_ident()
        cursor = connection.cursor()
        with commits_seen(driver) as threads:
            await cursor.execute("BEGIN IMMEDIATE")
            await cursor.execute("INSERT INTO t VALUES (1)")
            await connection.commit()
            await cursor.execute("BEGIN")
            await cursor.execute("SELECT count(*) FROM t")
            await connection.commit()
        assert len(threads) == 2
        assert threads[0] != loop_thread
        assert threads[1] == loop_thread
        assert count(path) == 1

    async def test_a_long_run_of_statements_gives_other_tasks_turns(self, connection):
        ticker = Ticker()
        try:
            async with connection.cursor() as cursor:
                until = time.monotonic() + 0.05
                while time.monotonic() < until:
                    await cursor.execute("SELECT count(*) FROM t")
            assert ticker.ticks > 1
        finally:
            ticker.stop()

    async def test_a_cancelled_commit_still_finishes_before_the_connection_is_given_back(
        self, connection, driver, path
    ):
        finished: list[float] = []

        def slow_commit(statement: str) -> None:
            if statement == "COMMIT" and not finished:  # on an executor thread: the loop goes on
                time.sleep(0.5)
                finished.append(time.monotonic())

        cursor = connection.cursor()
        await cursor.execute("BEGIN IMMEDIATE")
        await cursor.execute("INSERT INTO t VALUES (1)")
        driver.set_trace_callback(slow_commit)
        committing = asyncio.create_task(connection.commit())
        await asyncio.sleep(0.05)
        committing.cancel()
        with pytest.raises(asyncio.CancelledError):
            await committing
        ended = time.monotonic()
        assert finished and finished[0] <= ended
        assert count(path) == 1
        async with connection.cursor() as again:  # usable again
            await again.execute("SELECT count(*) FROM t")
            assert await again.fetchone() == (1,)


class TestWriteLock:
    async def test_a_writer_waits_for_another_process_without_stalling_the_loop(
        self, connection, path
    ):
        with holding_the_write_lock(path) as release:
            ticker = Ticker()
            try:
                asyncio.get_running_loop().call_later(0.1, release)
                started = time.monotonic()
                await insert_one(connection)
                waited = time.monotonic() - started
            finally:
                ticker.stop()
        assert 0.09 <= waited < BUSY_TIMEOUT_S
        # SQLite's own busy handler would have slept on the loop's thread the whole time.
        assert ticker.ticks > 10
        assert count(path) == 1

    async def test_a_writer_gives_up_after_the_busy_timeout(self, connection, path):
        with holding_the_write_lock(path):
            started = time.monotonic()
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                await asyncio.wait_for(insert_one(connection), timeout=5)
            waited = time.monotonic() - started
        assert BUSY_TIMEOUT_S - 0.05 <= waited < 2 * BUSY_TIMEOUT_S

    async def test_a_waiting_writer_tells_other_processes_until_it_has_the_lock(self, path):
        turns, other_process = WriterTurns(str(path)), WriterTurns(str(path))
        connection = Connection(plain(path), 10, turns)
        try:
            with holding_the_write_lock(path) as release:
                writing = asyncio.create_task(insert_one(connection))
                deadline = time.monotonic() + 2
                while not other_process.others_waiting():
                    assert time.monotonic() < deadline, "the waiting writer never said so"
                    await asyncio.sleep(0.001)
                release()
                await writing
            assert not other_process.others_waiting()
        finally:
            connection.stop()
            turns.close()
            other_process.close()


class TestEndings:
    async def test_a_write_transaction_that_raises_is_rolled_back(self, connection, path):
        with pytest.raises(RuntimeError):
            async with connection.write_transaction() as cursor:
                cursor.execute("INSERT INTO t VALUES (1)")
                raise RuntimeError("refused")
        assert count(path) == 0
        with holding_the_write_lock(path):
            pass  # the lock is free again

    async def test_a_rolled_back_write_leaves_nothing_and_the_next_read_commits_inline(
        self, connection, driver, path
    ):
        cursor = connection.cursor()
        await cursor.execute("BEGIN IMMEDIATE")
        await cursor.execute("INSERT INTO t VALUES (1)")
        await connection.rollback()
        assert count(path) == 0
        with commits_seen(driver) as threads:
            await cursor.execute("BEGIN")
            await cursor.execute("SELECT count(*) FROM t")
            await connection.commit()
        assert threads == [threading.get_ident()]

    async def test_closing_in_a_write_transaction_frees_the_lock_though_a_cursor_lives(self, path):
        connection = Connection(plain(path), BUSY_TIMEOUT_S, None)
        writing = connection.cursor()
        await writing.execute("BEGIN IMMEDIATE")
        await writing.execute("INSERT INTO t VALUES (1)")
        reading = connection.cursor()
        await reading.execute("SELECT x FROM t")  # a statement not run to its end
        await connection.close()
        with holding_the_write_lock(path):  # raises "database is locked" if still held
            pass
        assert count(path) == 0
        del writing, reading


class TestConnector:
    async def test_it_opens_the_urls_file_in_autocommit_with_the_pragmas_and_no_busy_wait(
        self, path
    ):
        connect = sqlite_on_loop.connector(
            f"sqlite:///{path}", BUSY_TIMEOUT_S, ("PRAGMA foreign_keys=ON",), None
        )
        connection = await connect()
        try:
            assert connection.isolation_level is None
            async with connection.cursor() as cursor:
                await cursor.execute("PRAGMA foreign_keys")
                assert await cursor.fetchone() == (1,)
                await cursor.execute("PRAGMA busy_timeout")
                assert await cursor.fetchone() == (0,)
                await cursor.execute("SELECT count(*) FROM t")  # the URL's file
                assert await cursor.fetchone() == (0,)
        finally:
            connection.stop()

    async def test_a_databases_sqlalchemy_statements_run_on_this_driver(self, tmp_path):
        database = Database(Settings(database_url=f"sqlite:///{tmp_path / 'a.db'}", _env_file=None))
        try:
            async with database.core_transaction() as connection:
                raw = await connection.get_raw_connection()
                assert isinstance(raw.driver_connection, Connection)
                assert (await connection.execute(text("SELECT 1"))).scalar_one() == 1
        finally:
            await database.dispose()
