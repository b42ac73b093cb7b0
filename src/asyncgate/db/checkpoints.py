"""Checkpointing SQLite's write-ahead log in the background, off every commit's path.

By default SQLite checkpoints inside the ``COMMIT`` that takes the log past 1,000 pages: that
commit copies the pages into the database file and fsyncs it, 20 ms or more during which the
requests waiting for it (a whole group of accepts) wait too. The service's connections turn
that off (``PRAGMA wal_autocheckpoint=0``, see ``engine``), and each serving process runs a
passive checkpoint every ``INTERVAL_SECONDS`` on a connection of its own, on a thread of its
own. A passive checkpoint takes no lock a writer needs, so commits carry on meanwhile; when
two processes checkpoint at once, one of them finds the other at it and does nothing.

The thread's disk I/O is in the idle class (Linux): a checkpoint writes megabytes and fsyncs
the database file, and on disks whose I/O scheduler honours classes, the accepts' small
fsyncs then go first. The API process checkpoints the worker's log as often as the worker
process does, so the worker's idle class alone (``runtime.yield_to_the_api``) would not keep
those writes out of the accepts' way.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, suppress

from asyncgate.runtime import into_idle_io_class

log = logging.getLogger("asyncgate.checkpoints")

INTERVAL_SECONDS = 1.0


@asynccontextmanager
async def checkpointing(*sqlite_files: str | None) -> AsyncIterator[None]:
    """Checkpoints the logs of ``sqlite_files`` while inside; None (PostgreSQL) is skipped."""
    stop = asyncio.Event()
    thread = ThreadPoolExecutor(1, "checkpoints", initializer=into_idle_io_class)
    tasks = [
        asyncio.create_task(_checkpoint_until(stop, file, thread)) for file in sqlite_files if file
    ]
    try:
        yield
    finally:
        stop.set()
        # Lets a checkpoint in progress finish before its connection closes.
        await asyncio.gather(*tasks)
        thread.shutdown()


async def _checkpoint_until(
    stop: asyncio.Event, sqlite_file: str, thread: ThreadPoolExecutor
) -> None:
    connection = sqlite3.connect(sqlite_file, isolation_level=None, check_same_thread=False)
    loop = asyncio.get_running_loop()
    try:
        while True:
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), INTERVAL_SECONDS)
                return
            try:
                await loop.run_in_executor(thread, _checkpoint, connection)
            except sqlite3.Error as error:
                log.warning(
                    "checkpoint of %s failed (%s); next try in %.0f s",
                    sqlite_file,
                    error,
                    INTERVAL_SECONDS,
                )
    finally:
        connection.close()


def _checkpoint(connection: sqlite3.Connection) -> None:
    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
