"""Waking the workers of every process when requests are accepted.

The accepting process wakes its own workers directly; workers in other processes (``serve``'s
worker process, ``asyncgate worker``) would only see new requests at their next poll. So every
worker process also keeps one dedicated database connection that tells it of commits made
elsewhere; each queue picks its way (``RequestQueue.listen``):

- On PostgreSQL the queue announces new requests with ``NOTIFY`` inside the transaction that
  stores them (PostgreSQL delivers it only when, and only if, that transaction commits), and
  the connection LISTENs and sets the wake event. Polling remains the fallback: while the
  listening connection is down nothing is announced, so it reconnects with backoff and, once
  listening again, wakes its workers at once to pick up what was accepted meanwhile.
- On SQLite, which has no notifications, a connection per file (the database, and the files
  the queue keeps beside it) reads ``PRAGMA data_version`` every few milliseconds: the value
  changes whenever another connection, of any process, has committed. Any commit wakes the
  workers (they then claim and may find nothing): far cheaper than telling commits apart, and
  a read of the WAL index costs microseconds. ``announce`` does nothing.

The same wake-ups serve the callout sender of a worker process (``Wakes`` sets several events),
so that a resend accepted by an API process starts within ``SENDER_WAKE_INTERVAL``.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Awaitable
from contextlib import suppress
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from asyncgate.db.engine import Database

log = logging.getLogger("asyncgate.wakeup")

CHANNEL = "asyncgate_requests"
# How the listening connections show in pg_stat_activity.
APPLICATION_NAME = "asyncgate-wakeups"
# A peer that vanished without closing the socket is only noticed by talking to it.
HEALTH_CHECK_SECONDS = 10.0
FIRST_RETRY_SECONDS = 1.0
MAX_RETRY_SECONDS = 30.0
# Arguments SQLAlchemy's URL carries for its own asyncpg adapter, not for asyncpg.connect().
ADAPTER_ONLY_ARGUMENTS = (
    "async_creator_fn",
    "prepared_statement_cache_size",
    "prepared_statement_name_func",
)
# How often SQLite's data_version is read while commits come: a new request waits half of it on
# average. Once none has come for ``SQLITE_BUSY_SECONDS``, the wait doubles at every quiet read
# up to ``SQLITE_IDLE_POLL_SECONDS``: an idle worker process then costs 1-2 % of a CPU
# rather than 7 %, and the first request after a quiet spell waits 10 ms more on average.
SQLITE_POLL_SECONDS = 0.005
SQLITE_IDLE_POLL_SECONDS = 0.025
SQLITE_BUSY_SECONDS = 1.0
# How often, at most, commits of other processes wake a worker process's callout sender.
SENDER_WAKE_INTERVAL = timedelta(milliseconds=100)


class Settable(Protocol):
    def set(self) -> None: ...


class Wakes:
    """Several events set as one, for ``listen``."""

    def __init__(self, *events: asyncio.Event | Throttled) -> None:
        self.events = events

    def set(self) -> None:
        for event in self.events:
            event.set()


class Throttled:
    """An event set at most once per ``interval``: a ``set`` that comes sooner is put off
    until the interval has passed, never dropped. On SQLite every commit of any process wakes
    ``listen``'s events; a loop that only rarely has work from other processes (the callout
    sender: resends) would otherwise look for it hundreds of times a second."""

    def __init__(self, event: asyncio.Event, interval: timedelta) -> None:
        self.event = event
        self.interval = interval.total_seconds()
        self._last = -self.interval
        self._deferred: asyncio.TimerHandle | None = None

    def set(self) -> None:
        loop = asyncio.get_running_loop()
        wait = self._last + self.interval - loop.time()
        if wait <= 0:
            self._set()
        elif self._deferred is None:
            self._deferred = loop.call_later(wait, self._set)

    def _set(self) -> None:
        self._deferred = None
        self._last = asyncio.get_running_loop().time()
        self.event.set()


async def wait_for_wake(stop: asyncio.Event, wake: asyncio.Event, timeout: timedelta) -> None:
    """Return once ``wake`` or ``stop`` is set, or ``timeout`` has passed."""
    waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())]
    try:
        await asyncio.wait(
            waiters, timeout=timeout.total_seconds(), return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        for waiter in waiters:
            waiter.cancel()


async def announce(connection: AsyncConnection) -> None:
    """Tell listening workers that work was stored, when ``connection``'s transaction commits
    (PostgreSQL; SQLite's watchers see every commit)."""
    if connection.dialect.name == "postgresql":
        await connection.execute(text(f"NOTIFY {CHANNEL}"))


async def listen_for_notifications(database: Database, wake: Settable, stop: asyncio.Event) -> None:
    """On PostgreSQL, set ``wake`` at every announcement, until ``stop`` is set."""
    await _until(stop, _relay_forever(_connect_arguments(database), wake))


async def watch_commits(files: tuple[str, ...], wake: Settable, stop: asyncio.Event) -> None:
    """Set ``wake`` at every commit to SQLite ``files`` of any process, until ``stop`` is
    set."""
    await _until(stop, _watch_sqlite_commits(files, wake))


async def _until(stop: asyncio.Event, relaying: Awaitable[object]) -> None:
    relay = asyncio.ensure_future(relaying)
    try:
        await stop.wait()
    finally:
        relay.cancel()
        with suppress(asyncio.CancelledError):
            await relay


async def _watch_sqlite_commits(paths: tuple[str, ...], wake: Settable) -> None:
    """Set ``wake`` whenever ``PRAGMA data_version`` of one of ``paths`` changes (until
    cancelled). One loop reads them all: an idle worker process wakes up once per poll, not
    once per file."""
    connections = [connection for path in paths if (connection := _watching(path)) is not None]
    loop = asyncio.get_running_loop()
    try:
        versions: list[int | None] = [None] * len(connections)
        last_change, poll = loop.time(), SQLITE_POLL_SECONDS
        while True:
            changed = False
            for index, connection in enumerate(connections):
                try:
                    latest = _data_version(connection)
                except sqlite3.OperationalError as error:  # busy for a moment: look again later
                    log.debug("cannot read data_version (%s)", error)
                    continue
                changed |= versions[index] not in (None, latest)
                versions[index] = latest
            if changed:
                wake.set()
                last_change, poll = loop.time(), SQLITE_POLL_SECONDS
            elif loop.time() - last_change > SQLITE_BUSY_SECONDS:
                poll = min(poll * 2, SQLITE_IDLE_POLL_SECONDS)
            await asyncio.sleep(poll)
    finally:
        for connection in connections:
            connection.close()


def _watching(path: str) -> sqlite3.Connection | None:
    """A connection that reads ``path``'s data_version: opened read-write, never created, and
    never waiting in SQLite's busy handler, which would stall the event loop."""
    uri = f"{Path(path).resolve().as_uri()}?mode=rw"
    try:
        return sqlite3.connect(
            uri, uri=True, isolation_level=None, check_same_thread=False, timeout=0
        )
    except sqlite3.Error as error:
        log.warning("cannot watch %s for new async requests (%s); polling", path, error)
        return None


def _data_version(connection: sqlite3.Connection) -> int:
    return connection.execute("PRAGMA data_version").fetchone()[0]


def _connect_arguments(database: Database) -> dict[str, Any]:
    """asyncpg.connect() arguments for the database the engine uses, credentials included."""
    engine = database.engine
    _, arguments = engine.dialect.create_connect_args(engine.url)
    for name in ADAPTER_ONLY_ARGUMENTS:
        arguments.pop(name, None)
    return {**arguments, "server_settings": {"application_name": APPLICATION_NAME}}


async def _relay_forever(arguments: dict[str, Any], wake: Settable) -> None:
    """Listen, and whenever the connection fails, reconnect with backoff (until cancelled)."""
    delay = FIRST_RETRY_SECONDS
    while True:
        try:
            connection = await asyncpg.connect(**arguments)
        except Exception as error:  # noqa: BLE001 - any failure: poll, and try again later
            log.warning(
                "cannot listen for new async requests (%s); polling, next try in %.0f s",
                error,
                delay,
            )
        else:
            try:
                await connection.add_listener(CHANNEL, lambda *_: wake.set())
                delay = FIRST_RETRY_SECONDS
                log.info("listening for new async requests")
                # Nothing was announced to us while we were not listening: look now.
                wake.set()
                await _until_lost(connection)
            except Exception as error:  # noqa: BLE001 - reconnect below, whatever broke
                log.warning(
                    "lost the connection listening for new async requests (%s); polling, "
                    "next try in %.0f s",
                    error,
                    delay,
                )
            finally:
                await _close(connection)
        await asyncio.sleep(delay)
        delay = min(delay * 2, MAX_RETRY_SECONDS)


async def _until_lost(connection: asyncpg.Connection) -> None:
    """Return never; raise once the connection is closed or stops answering."""
    lost = asyncio.Event()
    connection.add_termination_listener(lambda _: lost.set())
    while True:
        try:
            await asyncio.wait_for(lost.wait(), HEALTH_CHECK_SECONDS)
        except TimeoutError:
            await connection.execute("SELECT 1", timeout=HEALTH_CHECK_SECONDS)
            continue
        raise ConnectionError("the database closed the connection")


async def _close(connection: asyncpg.Connection) -> None:
    try:
        await connection.close(timeout=HEALTH_CHECK_SECONDS)
    except Exception:  # noqa: BLE001 - a broken connection may refuse a polite close
        connection.terminate()
