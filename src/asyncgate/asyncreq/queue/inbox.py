"""On SQLite, accepted requests wait in files of their own until a worker takes them in.

SQLite lets one connection write a file at a time. Were accepts committed to the main database,
every group of them would wait for whatever the worker process was writing at that moment (a
run of executions and their outcomes, milliseconds each), and the accept latency would carry
the worker's. So on SQLite the queue appends accepted requests to the *inbox*: SQLite files
beside the database, which nothing else writes but cancels and the occasional prune. Their
commits are as durable as the database's (WAL, ``synchronous=FULL``): the 202 still goes out
only once the request is on disk.

The inbox has :data:`LANES` files (``asyncgate-inbox.db``, ``asyncgate-inbox-2.db`` beside
``asyncgate.db``), so that as many group commits can be in flight at once: an accept that
arrives while one lane fsyncs commits to another at once, instead of waiting for that commit
and then for its own. Requests with an idempotency key always go to the first lane, whose
unique index tells a repeat from a new request.

Workers take requests in inside the main database's transaction that claims them
(:meth:`Inbox.claim`): they read each lane's rows numbered after the lane's row of
``async_request_inbox_progress`` (in the main database), insert those accepted first into the
queue, already ``running`` under the claim's lease, and advance those numbers, in one commit.
A claim takes in only what it claims, so a backlog waits here, and each request is written
to the queue once rather than inserted and then updated. A crash before the commit leaves the
rows to be taken in again; as the rows and the numbers commit together, every accepted request
enters the queue exactly once. Numbers are ``AUTOINCREMENT``: a number freed by a prune is
never handed out again (a reused one at or below the progress mark would never be taken in).

A request cancelled while it waits here is marked (:meth:`Inbox.cancel`, one row written
whatever the backlog), and taken in as ``cancelled``, never claimed. The mark is written while
the canceller holds the database's write lock, which every claim takes before it reads the
lanes: no claim can take the request in between the check and the mark.

Rows taken in are deleted later (:meth:`Inbox.prune`), except those with an idempotency key:
the inbox is where an accept finds the request first stored under its key, so they stay as
long as the queue keeps its requests (:meth:`Inbox.forget`).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Column, Index, Integer, MetaData, Table, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.schema import CreateIndex, CreateTable

from asyncgate.asyncreq.models import CLAIMED_COLUMNS, AsyncRequest, ClaimedRequest, State
from asyncgate.asyncreq.queue.base import Lease
from asyncgate.asyncreq.queue.table import IDENTITY_COLUMNS
from asyncgate.auth.models import Tenant
from asyncgate.db import sqlite_on_loop
from asyncgate.db.base import Base, UTCDateTime
from asyncgate.db.engine import SQLITE_PRAGMAS, Database


class InboxProgress(Base):
    """How far the queue has taken in each lane: a row per lane (``id``: the lane's index plus
    one), written in the same commit as the requests it took in. Unused on PostgreSQL."""

    __tablename__ = "async_request_inbox_progress"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    taken_in_through: Mapped[int] = mapped_column(Integer)


# The columns an accept sets; the others start as the queue's defaults when taken in.
ACCEPTED_COLUMNS = (
    "id",
    "tenant_id",
    "method",
    "path",
    "query_string",
    "headers",
    "body",
    "track_id",
    "idempotency_key",
    "role",
    "client_id",
    "run_after",
    "created_at",
)
# At most this many requests per lane are taken in per claim: a backlog moves in a few claims,
# and no claim holds the database's write lock for long.
TAKE_IN_BATCH = 500
# Pruning deletes at most this many rows per commit, each of which holds up the accepts for
# as long, pauses between commits so that waiting accepts go first, and runs at most once per
# interval.
PRUNE_BATCH = 200
PRUNE_PAUSE_SECONDS = 0.005
PRUNE_INTERVAL_SECONDS = 2.0
# 2: ``cancelled_at``.
SCHEMA_VERSION = 2
# Files, hence group commits in flight at once. Fixed: a lane dropped by a smaller number
# would keep the requests it holds from ever being taken in. Two take most of the wait away: a
# model fed with measured commit times gives an accept p99 of 13.3 ms with one, 7.3 with two,
# 6.9 with three; alternating runs at 1,000 accepts/s gave a median window p99 of 4.0 and
# 5.4 ms with two against 5.7 and 5.6 ms with one.
LANES = 2
# The lane that stores every request with an idempotency key.
KEYED_LANE = 0

_QUEUE = cast(Table, AsyncRequest.__table__)
_PROGRESS = cast(Table, InboxProgress.__table__)
_TENANTS = Tenant.__tablename__
_DIALECT = sqlite.dialect()
ACCEPTED = Table(
    "accepted_requests",
    MetaData(),
    Column("seq", Integer, primary_key=True),
    *(
        Column(name, _QUEUE.c[name].type, nullable=_QUEUE.c[name].nullable, unique=name == "id")
        for name in ACCEPTED_COLUMNS
    ),
    Column("cancelled_at", UTCDateTime, nullable=True),
    Index(
        "uq_accepted_requests_idempotency",
        "tenant_id",
        "idempotency_key",
        unique=True,
        sqlite_where=text("idempotency_key IS NOT NULL"),
    ),
    sqlite_autoincrement=True,
)

# Positions in a row read with its seq (first) and its cancellation mark (last).
_TENANT = 1 + ACCEPTED_COLUMNS.index("tenant_id")
_RUN_AFTER = 1 + ACCEPTED_COLUMNS.index("run_after")  # stored as text that sorts as time does
_CANCELLED_AT = 1 + len(ACCEPTED_COLUMNS)
# What a claimed request carries from the inbox: all but its attempt number.
_CLAIMED_ACCEPTED = tuple(name for name in CLAIMED_COLUMNS if name != "attempts")
_COLUMN_LIST = ", ".join(ACCEPTED_COLUMNS)
_PLACES = ", ".join("?" for _ in ACCEPTED_COLUMNS)
_READ_LIST = f"seq, {_COLUMN_LIST}, cancelled_at"
_APPEND = f"INSERT INTO {ACCEPTED.name} ({_COLUMN_LIST}) VALUES ({_PLACES}) ON CONFLICT DO NOTHING"
_APPEND_NUMBERED = f"INSERT INTO {ACCEPTED.name} (seq, {_COLUMN_LIST}) VALUES (?, {_PLACES})"
_AFTER = f"SELECT {_READ_LIST} FROM {ACCEPTED.name} WHERE seq > ? ORDER BY seq LIMIT ?"
_LAST_SEQ = f"SELECT max(seq) FROM {ACCEPTED.name}"
_WAITING = (
    f"SELECT count(*) FROM {ACCEPTED.name} WHERE seq > ? AND tenant_id = ? AND cancelled_at IS NULL"
)
_BACKLOG = (
    "SELECT coalesce(sum(run_after <= ?), 0), coalesce(sum(run_after > ?), 0), min(run_after) "
    f"FROM {ACCEPTED.name} WHERE seq > ? AND cancelled_at IS NULL"
)
_BY_ID = f"SELECT {_READ_LIST} FROM {ACCEPTED.name} WHERE id = ? AND tenant_id = ?"
_BY_KEY = (
    f"SELECT {', '.join(IDENTITY_COLUMNS)}, id FROM {ACCEPTED.name} "
    "WHERE tenant_id = ? AND idempotency_key = ?"
)
_CANCEL = f"UPDATE {ACCEPTED.name} SET cancelled_at = ? WHERE id = ? AND cancelled_at IS NULL"
_PRUNE = (
    f"DELETE FROM {ACCEPTED.name} WHERE seq IN (SELECT seq FROM {ACCEPTED.name} "
    "WHERE seq <= ? AND idempotency_key IS NULL ORDER BY seq LIMIT ?)"
)
_FORGET = f"DELETE FROM {ACCEPTED.name} WHERE id = ?"
_INTO_QUEUE = (
    f"INSERT INTO {_QUEUE.name} ({_COLUMN_LIST}, state, attempts) "
    f"VALUES ({_PLACES}, '{State.QUEUED.value}', 0) ON CONFLICT DO NOTHING"
)
_INTO_QUEUE_CANCELLED = (
    f"INSERT INTO {_QUEUE.name} ({_COLUMN_LIST}, state, attempts, completed_at) "
    f"VALUES ({_PLACES}, '{State.CANCELLED.value}', 0, ?) ON CONFLICT DO NOTHING"
)
_INTO_QUEUE_RUNNING = (
    f"INSERT INTO {_QUEUE.name} "
    f"({_COLUMN_LIST}, state, attempts, lease_owner, lease_expires_at, started_at) "
    f"VALUES ({_PLACES}, '{State.RUNNING.value}', 1, ?, ?, ?) ON CONFLICT DO NOTHING"
)
# A lane's row of the progress table is its index plus one.
_ADD_CANCELLED_AT = f"ALTER TABLE {ACCEPTED.name} ADD COLUMN cancelled_at DATETIME"  # version 2
_MARKS = f"SELECT id - 1, taken_in_through FROM {_PROGRESS.name}"
_ADVANCE = (
    f"INSERT INTO {_PROGRESS.name} (id, taken_in_through) VALUES (? + 1, ?) "
    "ON CONFLICT (id) DO UPDATE SET taken_in_through = excluded.taken_in_through"
)
_Row = tuple[Any, ...]


def inbox_files(sqlite_file: str) -> tuple[str, ...]:
    """The inbox's lanes beside a database file: ``asyncgate-inbox.db``,
    ``asyncgate-inbox-2.db`` ... for ``asyncgate.db``."""
    path = Path(sqlite_file)
    names = [f"{path.stem}-inbox{'' if lane == 0 else f'-{lane + 1}'}" for lane in range(LANES)]
    return tuple(str(path.with_name(name + path.suffix)) for name in names)


def _processors(
    dialect: Dialect,
) -> tuple[list[Callable[[Any], Any]], list[Callable[[Any], Any]]]:
    """Per accepted column, what SQLAlchemy does to a value on its way in and on its way out:
    the inbox holds exactly what the queue's columns would."""
    columns = [_QUEUE.c[name].type.dialect_impl(dialect) for name in ACCEPTED_COLUMNS]
    to_stored: list[Callable[[Any], Any]] = [
        column.bind_processor(dialect) or _unchanged for column in columns
    ]
    from_stored: list[Callable[[Any], Any]] = [
        column.result_processor(dialect, None) or _unchanged for column in columns
    ]
    return to_stored, from_stored


def _unchanged(value: Any) -> Any:
    return value


class FileReader:
    """Reads of one SQLite file on the driver itself, inline and outside any transaction (each
    sees the last commit): for checks made at every wake-up, which would spend ten times as
    long in SQLAlchemy's connection handling as in the read. In WAL mode a read neither waits
    for the writer nor holds it up."""

    def __init__(self, file: str) -> None:
        self.file = file
        self._connection: sqlite3.Connection | None = None  # opened by the first read

    def read(self, sql: str, parameters: Sequence[Any] = ()) -> list[_Row]:
        if self._connection is None:
            self._connection = sqlite3.connect(
                self.file, isolation_level=None, check_same_thread=False
            )
            self._connection.execute("PRAGMA query_only=ON")
        return self._connection.execute(sql, parameters).fetchall()

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


class _Lane:
    """One file of the inbox: a writer (opened on the loop, see ``sqlite_on_loop``) whose
    transactions take turns, and a reader."""

    def __init__(self, index: int, file: str, writer: sqlite_on_loop.Connection) -> None:
        self.index = index
        self.writer = writer
        self.reader = FileReader(file)
        self._writing = asyncio.Lock()

    @asynccontextmanager
    async def write(self) -> AsyncIterator[sqlite3.Cursor]:
        """A write transaction of this lane's, once no other one of this process is open."""
        async with self._writing, self.writer.write_transaction() as cursor:
            yield cursor

    def close(self) -> None:
        self.writer.stop()
        self.reader.close()


class Inbox:
    """The inbox of one SQLite database, for one process. Its connections open on first use;
    ``database_reader`` reads the database's own file."""

    def __init__(self, database: Database, database_reader: FileReader) -> None:
        assert database.sqlite_file is not None, "SQLite files only"
        self.database = database
        self.files = inbox_files(database.sqlite_file)
        self._database_reader = database_reader
        self._connectors = [
            sqlite_on_loop.connector(
                f"sqlite:///{file}",
                database.settings.sqlite_busy_timeout.total_seconds(),
                # A commit writes whole pages: small ones for a group of a few small rows.
                # Takes effect only when the file is created, which it must precede.
                ("PRAGMA page_size=1024", *SQLITE_PRAGMAS),
                None,
            )
            for file in self.files
        ]
        self._lanes: tuple[_Lane, ...] = ()
        self._opening = asyncio.Lock()
        self._to_stored, self._from_stored = _processors(database.engine.dialect)
        # A moment as SQLite's columns store it, in the inbox and in the queue alike, and back.
        self.stored_time = self._to_stored[ACCEPTED_COLUMNS.index("run_after")]
        self._read_time = self._from_stored[ACCEPTED_COLUMNS.index("run_after")]
        self._pruned_at = -PRUNE_INTERVAL_SECONDS
        self._taken_in_since_prune = False

    async def open(self) -> None:
        """Create the lanes when missing. A new lane (beside a database that had one before,
        say) numbers its requests after its progress mark, or they would never be taken in;
        and a new keyed lane starts with the idempotency keys the queue holds, so that a
        repeat of a request stored before it is recognised."""
        if self._lanes:
            return
        async with self._opening:
            if self._lanes:
                return
            lanes = []
            for index, (file, connect) in enumerate(zip(self.files, self._connectors, strict=True)):
                writer = await connect()
                async with writer.write_transaction() as cursor:
                    version = cursor.execute("PRAGMA user_version").fetchone()[0]
                    if version == 0:
                        self._create(cursor, index)
                    elif version < SCHEMA_VERSION:
                        cursor.execute(
                            f"ALTER TABLE {ACCEPTED.name} ADD COLUMN cancelled_at DATETIME"
                        )
                    cursor.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
                lanes.append(_Lane(index, file, writer))
            self._lanes = tuple(lanes)

    def _create(self, cursor: sqlite3.Cursor, lane: int) -> None:
        cursor.execute(str(CreateTable(ACCEPTED, if_not_exists=True).compile(dialect=_DIALECT)))
        for index in ACCEPTED.indexes:
            cursor.execute(str(CreateIndex(index, if_not_exists=True).compile(dialect=_DIALECT)))
        marks: dict[int, int] = dict(self._database_reader.read(_MARKS))
        through = marks.get(lane, 0)
        keyed = (
            self._database_reader.read(
                f"SELECT {_COLUMN_LIST} FROM {_QUEUE.name} WHERE idempotency_key IS NOT NULL"
            )
            if lane == KEYED_LANE
            else []
        )
        cursor.execute(
            "INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (ACCEPTED.name, through)
        )
        # Numbered at or below the mark: the queue holds them, so they are never taken in.
        first = through - len(keyed) + 1
        cursor.executemany(_APPEND_NUMBERED, [(first + n, *row) for n, row in enumerate(keyed)])

    # -- accepting --------------------------------------------------------------------------

    async def append(self, rows: list[dict[str, Any]], lane: int = KEYED_LANE) -> set[str]:
        """Commit ``rows`` (accepted requests, as the queue's columns) to ``lane``; returns the
        IDs of those stored: a row whose tenant already used its idempotency key is skipped.
        Rows with a key go to :data:`KEYED_LANE` only."""
        await self.open()
        assert lane == KEYED_LANE or all(row["idempotency_key"] is None for row in rows)
        stored_rows = [
            tuple(
                process(row[name])
                for name, process in zip(ACCEPTED_COLUMNS, self._to_stored, strict=True)
            )
            for row in rows
        ]
        into = self._lanes[lane]
        async with into.write() as cursor:
            cursor.executemany(_APPEND, stored_rows)
            stored = cursor.rowcount
        ids = [row["id"] for row in rows]
        if stored == len(rows):
            return set(ids)
        found = into.reader.read(
            f"SELECT id FROM {ACCEPTED.name} WHERE id IN ({', '.join('?' for _ in ids)})", ids
        )
        return {request_id for (request_id,) in found}

    async def first_under_key(self, tenant_id: str, key: str) -> _Row | None:
        """The identity (:data:`IDENTITY_COLUMNS`) and ID of the request stored first under a
        tenant's idempotency key."""
        await self.open()
        found = self._lanes[KEYED_LANE].reader.read(_BY_KEY, (tenant_id, key))
        return found[0] if found else None

    # -- taking in ----------------------------------------------------------------------------

    async def pending(self) -> bool:
        """Whether the inbox holds requests the queue has not taken in. Read outside any
        transaction: the marks may have moved on since, never back."""
        await self.open()
        marks: dict[int, int] = dict(self._database_reader.read(_MARKS))
        for lane in self._lanes:
            last = lane.reader.read(_LAST_SEQ)[0][0]
            if last is not None and last > marks.get(lane.index, 0):
                return True
        return False

    async def claim(
        self, connection: AsyncConnection, lease: Lease, room: int, now: datetime
    ) -> list[ClaimedRequest]:
        """Take in the ``room`` requests due first, and only those, within ``connection``'s
        write transaction: straight into the queue as ``running`` under ``lease`` (and
        returned), as ``cancelled`` when marked so, or as ``queued`` when due after ``now``
        (the queue's claims take them when due). A claim of what was just accepted thus
        writes each row once, instead of inserting it and then updating it, and a backlog
        waits here rather than in the queue."""
        limit = min(room, TAKE_IN_BATCH)
        if limit <= 0:
            return []
        await self.open()
        marks = await _taken_in_through(connection)
        new = _first_accepted(
            {
                lane.index: rows
                for lane in self._lanes
                if (rows := lane.reader.read(_AFTER, (marks.get(lane.index, 0), limit)))
            },
            limit,
        )
        if not new:
            return []
        rows = [row for lane_rows in new.values() for row in lane_rows]
        # A tenant deleted meanwhile took its requests with it, as it does in the queue.
        tenants = await _existing_tenants(connection, {row[_TENANT] for row in rows})
        stored_now = self.stored_time(now)
        claimed, later, cancelled = [], [], []
        for row in rows:
            if row[_TENANT] not in tenants:
                continue
            if row[_CANCELLED_AT] is not None:
                cancelled.append(row[1:])
            elif row[_RUN_AFTER] > stored_now:
                later.append(row[1:_CANCELLED_AT])
            else:
                claimed.append(row[1:_CANCELLED_AT])
        if claimed:
            leased = (lease.owner, self.stored_time(lease.expires_at), stored_now)
            await connection.exec_driver_sql(
                _INTO_QUEUE_RUNNING, [(*row, *leased) for row in claimed]
            )
        if later:
            await connection.exec_driver_sql(_INTO_QUEUE, later)
        if cancelled:
            await connection.exec_driver_sql(_INTO_QUEUE_CANCELLED, cancelled)
        advanced = [(lane, lane_rows[-1][0]) for lane, lane_rows in new.items()]
        await connection.exec_driver_sql(_ADVANCE, advanced)
        self._taken_in_since_prune = True
        return [self._claimed(row) for row in claimed]

    def _values(self, stored: Sequence[Any]) -> dict[str, Any]:
        """The accepted columns of a row in stored form, as the queue's columns read them."""
        return {
            name: process(value)
            for name, process, value in zip(
                ACCEPTED_COLUMNS, self._from_stored, stored, strict=True
            )
        }

    def _claimed(self, stored: Sequence[Any]) -> ClaimedRequest:
        values = self._values(stored)
        return ClaimedRequest(**{name: values[name] for name in _CLAIMED_ACCEPTED}, attempts=1)

    async def prune(self, *, force: bool = False) -> int:
        """Delete rows the queue has taken in (except keyed ones); returns how many. Unless
        ``force``d, only once per :data:`PRUNE_INTERVAL_SECONDS`, and only after a take-in."""
        started = time.monotonic()
        if not force and (
            not self._taken_in_since_prune or started - self._pruned_at < PRUNE_INTERVAL_SECONDS
        ):
            return 0
        self._pruned_at, self._taken_in_since_prune = started, False
        await self.open()
        # The committed marks: a row is deleted only once the queue's copy is on disk, which
        # the claim that took it in does not wait for (see ``SqliteQueue.claim``).
        marks: dict[int, int] = dict(self._database_reader.read(_MARKS))
        await self.database.sync_log()
        deleted = 0
        for lane in self._lanes:
            while True:
                async with lane.write() as cursor:
                    cursor.execute(_PRUNE, (marks.get(lane.index, 0), PRUNE_BATCH))
                    count = cursor.rowcount
                deleted += count
                if count < PRUNE_BATCH:
                    break
                await asyncio.sleep(PRUNE_PAUSE_SECONDS)
        return deleted

    async def forget(self, request_ids: list[str]) -> None:
        """Delete the rows of requests the queue no longer keeps: their idempotency keys may
        then be used again."""
        await self.open()
        async with self._lanes[KEYED_LANE].write() as cursor:
            cursor.executemany(_FORGET, [(request_id,) for request_id in request_ids])

    # -- reading and cancelling ---------------------------------------------------------------

    async def find(
        self, connection: AsyncConnection, tenant_id: str, request_id: str
    ) -> AsyncRequest | None:
        """A tenant's request still waiting to be taken in, as a queued (or cancelled) request.
        One the queue has taken in (by ``connection``'s marks) is not: the queue holds it, or
        held it and deleted it."""
        found = await self._waiting(connection, tenant_id, request_id)
        return None if found is None else found[1]

    async def cancel(
        self, connection: AsyncConnection, tenant_id: str, request_id: str, now: datetime
    ) -> AsyncRequest | None:
        """Mark a tenant's request still waiting here cancelled at ``now``, if it is queued;
        returns it as it stood before (one already cancelled stays as it was), or None when the
        queue holds it. ``connection`` must hold the database's write lock: no claim takes the
        request in meanwhile."""
        found = await self._waiting(connection, tenant_id, request_id)
        if found is None:
            return None
        lane, request = found
        if request.state == State.QUEUED:
            async with lane.write() as cursor:
                cursor.execute(_CANCEL, (self.stored_time(now), request_id))
        return request

    async def _waiting(
        self, connection: AsyncConnection, tenant_id: str, request_id: str
    ) -> tuple[_Lane, AsyncRequest] | None:
        await self.open()
        marks = await _taken_in_through(connection)
        for lane in self._lanes:
            found = lane.reader.read(_BY_ID, (request_id, tenant_id))
            if found and found[0][0] > marks.get(lane.index, 0):
                row = found[0]
                cancelled_at = row[_CANCELLED_AT]
                request = AsyncRequest(
                    **self._values(row[1:_CANCELLED_AT]),
                    state=State.QUEUED if cancelled_at is None else State.CANCELLED,
                    attempts=0,
                    completed_at=None if cancelled_at is None else self._read_time(cancelled_at),
                )
                return lane, request
        return None

    async def waiting(self, connection: AsyncConnection, tenant_id: str) -> int:
        """How many of a tenant's requests wait to be taken into the queue."""
        await self.open()
        marks = await _taken_in_through(connection)
        return sum(
            lane.reader.read(_WAITING, (marks.get(lane.index, 0), tenant_id))[0][0]
            for lane in self._lanes
        )

    async def backlog(
        self, connection: AsyncConnection, now: datetime
    ) -> tuple[int, int, datetime | None]:
        """How many requests of any tenant wait to be taken into the queue, due by ``now`` and
        due later, and since when the first of them has been due."""
        await self.open()
        marks = await _taken_in_through(connection)
        stored_now = self.stored_time(now)
        due, later, first_due = 0, 0, None
        for lane in self._lanes:
            parameters = (stored_now, stored_now, marks.get(lane.index, 0))
            lane_due, lane_later, lane_first = lane.reader.read(_BACKLOG, parameters)[0]
            due, later = due + lane_due, later + lane_later
            if lane_first is not None and lane_due:
                moment = self._read_time(lane_first)
                first_due = moment if first_due is None else min(first_due, moment)
        return due, later, first_due

    def close(self) -> None:
        for lane in self._lanes:
            lane.close()
        self._lanes = ()


async def _existing_tenants(connection: AsyncConnection, tenant_ids: set[str]) -> set[str]:
    places = ", ".join("?" for _ in tenant_ids)
    found = await connection.exec_driver_sql(
        f"SELECT id FROM {_TENANTS} WHERE id IN ({places})", tuple(tenant_ids)
    )
    return set(found.scalars())


def _first_accepted(by_lane: dict[int, list[_Row]], limit: int) -> dict[int, list[_Row]]:
    """The ``limit`` rows (read with their seq, in seq order per lane) due first across the
    lanes, as a prefix of each lane's rows: a lane's progress mark moves past none it skips."""
    taken = dict.fromkeys(by_lane, 0)
    merged = heapq.merge(
        *([(row[_RUN_AFTER], lane) for row in rows] for lane, rows in by_lane.items())
    )
    for _, lane in itertools.islice(merged, limit):
        taken[lane] += 1
    return {lane: by_lane[lane][:count] for lane, count in taken.items() if count}


async def _taken_in_through(connection: AsyncConnection) -> dict[int, int]:
    """Per lane index, the last number the queue has taken in (lanes never taken from: none)."""
    marks = await connection.exec_driver_sql(_MARKS)
    return dict(cast(list[tuple[int, int]], marks.all()))
