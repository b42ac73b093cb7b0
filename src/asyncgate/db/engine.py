"""Engine and session factory per backend.

SQLite runs in WAL mode with ``synchronous=FULL`` (a commit survives power loss) and every
transaction begins with ``BEGIN IMMEDIATE``: a deferred transaction that later upgrades to a
write lock fails with SQLITE_BUSY and cannot be retried safely.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import orjson
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from asyncgate.config import Settings
from asyncgate.db import sqlite_on_loop
from asyncgate.db.writer_turns import WriterTurns


def _sqlite_file(url: str) -> str | None:
    """The database file of a SQLite URL, its folder created; None for in-memory databases."""
    database = make_url(url).database
    if not database or database == ":memory:":
        return None
    Path(database).parent.mkdir(parents=True, exist_ok=True)
    return database


READ_ONLY = "asyncgate_read_only"
# A write transaction whose commit need not reach the disk by itself (see ``core_transaction``).
UNSYNCED = "asyncgate_unsynced"
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
    # Serving processes checkpoint in the background instead (see ``checkpoints``).
    "PRAGMA wal_autocheckpoint=0",
)
# How long a writer lets other processes' waiting writers go first, at most.
GIVE_WAY_SECONDS = 0.05


def _json_text(value: object) -> str:
    """A JSON column's text, made by orjson (a worker writes several per request), or by the
    standard library for what orjson refuses: integers beyond 64 bits, keys that are not
    strings. Read back by the standard library, which keeps such integers exact."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value)


def create_engine(
    settings: Settings, connect: Callable[[], Awaitable[sqlite_on_loop.Connection]] | None
) -> AsyncEngine:
    """The engine of ``settings``' database; on SQLite, its connections come from ``connect``."""
    url = settings.engine_url
    if connect is not None:
        engine = create_async_engine(
            url,
            pool_size=5,
            max_overflow=0,
            async_creator=connect,
            json_serializer=_json_text,
        )

        @event.listens_for(engine.sync_engine, "begin")
        def _on_begin(connection: Connection) -> None:
            options = connection.get_execution_options()
            # Readers begin deferred: in WAL mode they neither wait for nor block the writer.
            if options.get(READ_ONLY, False):
                connection.exec_driver_sql("BEGIN")
                return
            # SQLite takes the level only outside a transaction; each connection remembers it.
            synchronous = "NORMAL" if options.get(UNSYNCED, False) else "FULL"
            if connection.info.get("synchronous") != synchronous:
                connection.exec_driver_sql(f"PRAGMA synchronous={synchronous}")
                connection.info["synchronous"] = synchronous
            connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_async_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size,
        pool_pre_ping=True,
        json_serializer=_json_text,
    )


class Database:
    """The engine and its session factory; one per process."""

    def __init__(
        self, settings: Settings, *, gives_way: bool = False, announces_waits: bool = True
    ) -> None:
        """``gives_way``: on SQLite, every write transaction of this process first lets other
        processes' waiting writers in (see :meth:`let_waiting_writers_in`). Worker processes
        give way, so that the API's accepts never queue behind a chain of worker writes.
        ``announces_waits=False``: this process's writers wait for the lock without being let
        in, so that others never cut their transactions short for them (a sender process,
        whose writes can wait)."""
        self.settings = settings
        self._gives_way = gives_way
        # None on PostgreSQL and for in-memory SQLite.
        self.sqlite_file = _sqlite_file(settings.database_url) if settings.is_sqlite else None
        # Whether writers of several processes work at once (PostgreSQL; SQLite has one
        # writer): claimers then skip rows another holds locked (see ``db.leases``).
        self.concurrent_writers = not settings.is_sqlite
        self._writer_turns = WriterTurns(self.sqlite_file) if self.sqlite_file else None
        connect_sqlite = (
            sqlite_on_loop.connector(
                settings.database_url,
                settings.sqlite_busy_timeout.total_seconds(),
                SQLITE_PRAGMAS,
                self._writer_turns if announces_waits else None,
            )
            if settings.is_sqlite
            else None
        )
        self.engine = create_engine(settings, connect_sqlite)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        # SQLite has one writer. Within a process, writers queue on this lock and start the
        # moment it frees, instead of sleeping in SQLite's busy handler (1-100 ms per retry).
        self._write_lock = asyncio.Lock() if settings.is_sqlite else None
        self.read_sessionmaker = async_sessionmaker(
            self.engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False
        )
        self._unsynced_engine = self.engine.execution_options(**{UNSYNCED: True})

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One unit of work: commits when the block ends normally, rolls back otherwise.

        Never open one while holding another in the same task: on SQLite the second would wait
        for the first forever.
        """
        async with self._writer_turn(), self.sessionmaker() as session, session.begin():
            yield session

    @asynccontextmanager
    async def core_transaction(self, *, synced: bool = True) -> AsyncIterator[AsyncConnection]:
        """:meth:`transaction` on a bare connection, for Core statements only: a session's
        unit of work would cost more than the statements of the hot paths (claims, and
        accepts on PostgreSQL).

        ``synced=False``, on SQLite: the commit is written to the log but not fsynced. It
        survives the process crashing, not the machine: it reaches the disk with the next
        synced commit of any connection (the log is one file, written in order), or with
        :meth:`sync_log`. For writes that a later synced commit completes (a claim, before the
        execution's outcome) and that nothing outside the database acts on before then."""
        engine = self.engine if synced else self._unsynced_engine
        async with self._writer_turn(), engine.begin() as connection:
            yield connection

    async def sync_log(self) -> None:
        """On SQLite, make every commit so far durable, those made unsynced included: call it
        before acting outside the database on something such a commit wrote."""
        if self.sqlite_file is not None:
            await asyncio.to_thread(_fdatasync, f"{self.sqlite_file}-wal")

    @asynccontextmanager
    async def _writer_turn(self) -> AsyncIterator[None]:
        """This process's turn to write: on SQLite, after its other writers (and, when it gives
        way, other processes' waiting writers)."""
        if self._write_lock is None:
            yield
            return
        async with self._write_lock:
            if self._gives_way:
                await self.let_waiting_writers_in()
            yield

    @asynccontextmanager
    async def read_transaction(self) -> AsyncIterator[AsyncSession]:
        """A transaction that only reads. On SQLite it does not take the write lock, so it
        never waits behind writers; it must not write (upgrading a deferred transaction to a
        writer can fail with "database is locked" and cannot be retried safely)."""
        async with self.read_sessionmaker() as session, session.begin():
            yield session

    async def let_waiting_writers_in(self) -> None:
        """On SQLite, waits (briefly) while another process waits for the write lock: call it
        between the transactions of a long run of writes, so that they take turns."""
        deadline = time.monotonic() + GIVE_WAY_SECONDS
        while self.others_waiting_to_write() and time.monotonic() < deadline:
            await asyncio.sleep(sqlite_on_loop.LOCK_RETRY_SECONDS)

    def others_waiting_to_write(self) -> bool:
        """Whether a writer (of any process) is waiting for SQLite's write lock; never on
        PostgreSQL, where writers do not exclude each other."""
        return self._writer_turns is not None and self._writer_turns.others_waiting()

    async def ping(self) -> None:
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self._writer_turns is not None:
            self._writer_turns.close()


# macOS has no fdatasync.
_sync_data = getattr(os, "fdatasync", os.fsync)


def _fdatasync(path: str) -> None:
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return  # no log: the last connection to close checkpointed it into the synced file
    try:
        _sync_data(descriptor)
    finally:
        os.close(descriptor)
