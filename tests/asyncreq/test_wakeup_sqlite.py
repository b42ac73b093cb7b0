"""On SQLite, a worker hears of commits made by other processes within milliseconds.

Another process's commit is seen exactly as another connection's: these tests commit through
a plain ``sqlite3`` connection of their own on the listener's database file.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from asyncgate.asyncreq import wakeup

# Far above the polling interval, with room for a loaded machine.
WAKE_LIMIT_SECONDS = 2.0


@pytest.fixture
def database_file(tmp_path: Path) -> Path:
    return tmp_path / "wakeup.db"


@pytest.fixture
def other_process(database_file: Path) -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(database_file, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("CREATE TABLE requests (id INTEGER PRIMARY KEY)")
    yield connection
    connection.close()


@pytest.fixture
async def listening(
    database_file: Path, other_process: sqlite3.Connection
) -> AsyncIterator[asyncio.Event]:
    """The wake event of a running ``wakeup.watch_commits`` on the database file."""
    wake, stop = asyncio.Event(), asyncio.Event()
    listener = asyncio.create_task(wakeup.watch_commits((str(database_file),), wake, stop))
    await asyncio.sleep(0.05)  # it has read the current version
    yield wake
    stop.set()
    await asyncio.wait_for(listener, WAKE_LIMIT_SECONDS)


async def woken_within(wake: asyncio.Event, seconds: float) -> bool:
    """Whether ``wake`` is set within ``seconds``."""
    try:
        await asyncio.wait_for(wake.wait(), seconds)
    except TimeoutError:
        return False
    return True


class TestSqliteWakeUps:
    async def test_a_commit_elsewhere_wakes_the_listener(
        self, listening: asyncio.Event, other_process: sqlite3.Connection
    ) -> None:
        assert not listening.is_set()
        other_process.execute("INSERT INTO requests DEFAULT VALUES")

        assert await woken_within(listening, WAKE_LIMIT_SECONDS)

    async def test_every_later_commit_wakes_it_again(
        self, listening: asyncio.Event, other_process: sqlite3.Connection
    ) -> None:
        for _ in range(3):
            other_process.execute("INSERT INTO requests DEFAULT VALUES")
            assert await woken_within(listening, WAKE_LIMIT_SECONDS)
            listening.clear()

    async def test_reads_and_empty_transactions_do_not_wake_it(
        self, listening: asyncio.Event, other_process: sqlite3.Connection
    ) -> None:
        other_process.execute("SELECT count(*) FROM requests").fetchone()
        other_process.execute("BEGIN IMMEDIATE")
        other_process.execute("COMMIT")

        await asyncio.sleep(20 * wakeup.SQLITE_POLL_SECONDS)
        assert not listening.is_set()
