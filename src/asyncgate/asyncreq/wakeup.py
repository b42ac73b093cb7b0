"""Waking the workers of every process when requests are accepted (PostgreSQL LISTEN/NOTIFY).

The accepting process wakes its own workers directly; workers in other processes would only
see new requests at their next poll. On PostgreSQL the group-commit store therefore announces
new requests with ``NOTIFY`` inside the transaction that stores them (PostgreSQL delivers it
only when, and only if, that transaction commits), and every worker process keeps one dedicated
connection LISTENing that sets its wake event. Polling remains the fallback: while the listening
connection is down nothing is announced, so it reconnects with backoff and, once listening
again, wakes its workers at once to pick up what was accepted meanwhile. On SQLite (one
claiming process) both halves do nothing.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

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


def _on_postgres(bind: Any) -> bool:
    return bind.dialect.name == "postgresql"


async def announce(session: AsyncSession) -> None:
    """Tell listening workers that requests were stored, when ``session``'s transaction commits."""
    if _on_postgres(session.bind):
        await session.execute(text(f"NOTIFY {CHANNEL}"))


async def listen(database: Database, wake: asyncio.Event, stop: asyncio.Event) -> None:
    """Set ``wake`` on every announcement until ``stop`` is set; on SQLite, return at once."""
    if not _on_postgres(database.engine):
        return
    relay = asyncio.create_task(_relay_forever(_connect_arguments(database), wake))
    try:
        await stop.wait()
    finally:
        relay.cancel()
        with suppress(asyncio.CancelledError):
            await relay


def _connect_arguments(database: Database) -> dict[str, Any]:
    """asyncpg.connect() arguments for the database the engine uses, credentials included."""
    engine = database.engine
    _, arguments = engine.dialect.create_connect_args(engine.url)
    for name in ADAPTER_ONLY_ARGUMENTS:
        arguments.pop(name, None)
    return arguments | {"server_settings": {"application_name": APPLICATION_NAME}}


async def _relay_forever(arguments: dict[str, Any], wake: asyncio.Event) -> None:
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
