"""SQLite for asyncio without a thread hop per statement.

SQLAlchemy's aiosqlite dialect drives a connection object shaped like ``aiosqlite``'s. The
``aiosqlite`` package runs every call (cursor, execute, fetch, close) on a thread of its own,
so one statement costs three or four round trips between threads, plus the GIL hand-overs
between them: about 10 ms of CPU per executed account creation, most of it spent waiting to
switch. The connection here has the same shape but runs statements on the event loop's thread,
where they take microseconds, and moves off it only what can wait:

- ``COMMIT`` of a transaction that wrote runs on a thread of the loop's executor: it fsyncs
  (about 0.3 ms, more while the disk is busy), and the loop serves other requests meanwhile;
  one that only read ends inline, having nothing to wait for;
- a run of statements gives the loop a turn every ``_LOOP_TURN_S`` (a handler busy in the
  database stays cancellable, and other tasks are served meanwhile);
- ``BEGIN IMMEDIATE`` never sleeps in SQLite's busy handler, which would stall the loop while
  another process holds the write lock: the connection runs with ``busy_timeout=0`` and retries
  the ``BEGIN`` on the loop, sleeping asynchronously, until the configured busy timeout. While
  it retries, it tells the other processes so (see ``writer_turns``).

Within a process, writers queue on ``Database``'s asyncio lock before they ever send ``BEGIN
IMMEDIATE``, so the retries only happen while another process (``asyncgate worker``, a second
``serve``) writes.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any, Self

from sqlalchemy.engine import make_url

from asyncgate.db.writer_turns import WriterTurns

_LOOP_TURN_S = 0.002
# The finest sleep uvloop honours: its timers count whole milliseconds (shorter ones spin).
LOCK_RETRY_SECONDS = 0.001


def _is_busy(error: sqlite3.OperationalError) -> bool:
    return getattr(error, "sqlite_errorcode", None) == sqlite3.SQLITE_BUSY


class Cursor:
    """``aiosqlite.Cursor``'s interface over a ``sqlite3.Cursor``, run inline."""

    __slots__ = ("_connection", "_cursor")

    def __init__(self, connection: Connection, cursor: sqlite3.Cursor) -> None:
        self._connection = connection
        self._cursor = cursor

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._cursor.close()

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> Cursor:
        if sql.startswith("BEGIN IMMEDIATE"):
            await self._connection.wait_for_write_lock(self._cursor, sql)
        else:
            self._cursor.execute(sql, parameters)
            await self._connection.take_turns()
        return self

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> Cursor:
        self._cursor.executemany(sql, parameters)
        await self._connection.take_turns()
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(self._cursor.arraysize if size is None else size)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value


class Connection:
    """``aiosqlite.Connection``'s interface over a ``sqlite3.Connection`` (see the module)."""

    def __init__(
        self, connection: sqlite3.Connection, busy_timeout_s: float, turns: WriterTurns | None
    ) -> None:
        self._connection = connection
        self._busy_timeout_s = busy_timeout_s
        self._turns = turns
        self._turn_due = time.monotonic() + _LOOP_TURN_S
        # Rows changed before the current transaction: it wrote nothing if the count is the same.
        self._changes_before = connection.total_changes

    def cursor(self) -> Cursor:
        return Cursor(self, self._connection.cursor())

    async def take_turns(self) -> None:
        """Yields to the event loop when this connection has held it for a while."""
        now = time.monotonic()
        if now >= self._turn_due:
            await asyncio.sleep(0)
            self._turn_due = time.monotonic() + _LOOP_TURN_S

    async def wait_for_write_lock(self, cursor: sqlite3.Cursor, sql: str) -> None:
        if self._try_to_lock(cursor, sql, deadline=None):
            return
        deadline = time.monotonic() + self._busy_timeout_s
        if self._turns is None:
            while not self._try_to_lock(cursor, sql, deadline):
                await asyncio.sleep(LOCK_RETRY_SECONDS)
            return
        with self._turns.waiting() as keep_marked:
            while not self._try_to_lock(cursor, sql, deadline):
                keep_marked()
                await asyncio.sleep(LOCK_RETRY_SECONDS)

    @staticmethod
    def _try_to_lock(cursor: sqlite3.Cursor, sql: str, deadline: float | None) -> bool:
        """Runs ``sql`` (``BEGIN IMMEDIATE``); False when another process holds the lock and
        there is time for another try."""
        try:
            cursor.execute(sql)
        except sqlite3.OperationalError as error:
            if not _is_busy(error):
                raise
            if deadline is not None and time.monotonic() + LOCK_RETRY_SECONDS > deadline:
                raise
            return False
        return True

    async def commit(self) -> None:
        if not self._connection.in_transaction:
            return
        if self._connection.total_changes == self._changes_before:
            self._connection.commit()  # nothing written, so nothing to wait for
        else:
            await _finish_off_loop(self._connection.commit)
        self._changes_before = self._connection.total_changes

    @asynccontextmanager
    async def write_transaction(self) -> AsyncIterator[sqlite3.Cursor]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT`` on the driver itself, without SQLAlchemy: a cursor
        to run statements in stored form; rolled back when the block raises."""
        cursor = self._connection.cursor()
        await self.wait_for_write_lock(cursor, "BEGIN IMMEDIATE")
        try:
            yield cursor
        except BaseException:
            self._roll_back()
            raise
        finally:
            cursor.close()
        await self.commit()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._connection.create_function(*args, **kwargs)

    async def rollback(self) -> None:
        self._roll_back()

    def _roll_back(self) -> None:
        self._connection.rollback()
        self._changes_before = self._connection.total_changes

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        # Roll back first: a connection closed while a cursor of it is still referenced stays
        # open, write lock included, until that cursor is collected.
        if self._connection.in_transaction:
            self._connection.rollback()
        self._connection.close()

    @property
    def isolation_level(self) -> str | None:
        return self._connection.isolation_level


async def _finish_off_loop(work: Callable[[], None]) -> None:
    """Runs ``work`` on an executor thread and waits for it to end, even when cancelled: the
    connection must not be used again while the thread still holds it."""
    done = asyncio.get_running_loop().run_in_executor(None, work)
    cancelled = False
    while True:
        try:
            await asyncio.shield(done)
            break
        except asyncio.CancelledError:
            if done.done():
                raise
            cancelled = True
    if cancelled:
        raise asyncio.CancelledError


def connector(
    url: str, busy_timeout_s: float, pragmas: Sequence[str], turns: WriterTurns | None
) -> Callable[[], Coroutine[Any, Any, Connection]]:
    """The ``async_creator`` for ``create_async_engine``: opens the URL's file in autocommit
    mode (transactions are begun explicitly), runs ``pragmas`` and wraps the connection."""
    database = make_url(url).database or ":memory:"

    async def connect() -> Connection:
        connection = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
        for pragma in (*pragmas, "PRAGMA busy_timeout=0"):
            connection.execute(pragma)
        return Connection(connection, busy_timeout_s, turns)

    return connect
