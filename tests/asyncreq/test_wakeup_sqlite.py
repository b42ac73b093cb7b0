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


class TestQuietSpells:
    """While no commit comes, the files are read less and less often, down to the idle pace;
    the next commit brings the fast pace back."""

    @pytest.fixture
    def reads(self, monkeypatch: pytest.MonkeyPatch) -> list[float]:
        """The moments data_version is read; a quiet spell starts after 0.1 s."""
        moments: list[float] = []
        read = wakeup._data_version

        def counted(connection: sqlite3.Connection) -> int:
            moments.append(asyncio.get_running_loop().time())
            return read(connection)

        monkeypatch.setattr(wakeup, "_data_version", counted)
        monkeypatch.setattr(wakeup, "SQLITE_BUSY_SECONDS", 0.1)
        return moments

    async def test_an_idle_watcher_reads_at_the_idle_pace_and_still_wakes(
        self, reads: list[float], listening: asyncio.Event, other_process: sqlite3.Connection
    ) -> None:
        await asyncio.sleep(0.5)
        quiet = [moment for moment in reads if moment >= reads[-1] - 0.2]
        assert len(quiet) <= 0.2 / wakeup.SQLITE_IDLE_POLL_SECONDS + 2

        other_process.execute("INSERT INTO requests DEFAULT VALUES")
        assert await woken_within(listening, WAKE_LIMIT_SECONDS)

    async def test_a_commit_brings_the_fast_pace_back(
        self, reads: list[float], listening: asyncio.Event, other_process: sqlite3.Connection
    ) -> None:
        await asyncio.sleep(0.4)
        other_process.execute("INSERT INTO requests DEFAULT VALUES")
        assert await woken_within(listening, WAKE_LIMIT_SECONDS)
        reads.clear()
        await asyncio.sleep(0.1)
        assert len(reads) >= 0.1 / wakeup.SQLITE_IDLE_POLL_SECONDS + 2
