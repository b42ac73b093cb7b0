"""Every serving process learns of revocations made elsewhere within a second.

A process caches the tokens it verified lately (``TokenCache``), so a request seldom looks its
token up. A revocation, wherever it is made (the console of any process, ``asyncgate clients
revoke``), adds one to the revocations serial in its own transaction (``service.revoke_client``).
Each serving process reads that one row every :data:`LOOK_INTERVAL_SECONDS`, off the request
path; when the serial changed, it drops every token it cached, and the next request of each
client looks its token up again (a revoked client's are gone from the database by then).

The cache answers only while the last look began less than a second ago
(``TokenCache.trusted_for``): a look that is late or fails makes requests look their tokens
up instead, so a revoked token is never honoured past that second.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from asyncgate.auth import service
from asyncgate.auth.dependencies import TokenCache
from asyncgate.db.engine import Database

log = logging.getLogger("asyncgate.revocations")

# Twice within the cache's second of trust, so one slow look does not make requests look up.
LOOK_INTERVAL_SECONDS = 0.5


class RevocationWatch:
    """Tells ``cache`` of the revocations ``database`` counted: one look per :meth:`look`."""

    def __init__(self, database: Database, cache: TokenCache) -> None:
        self.database = database
        self.cache = cache

    async def look(self) -> None:
        looked_at = self.cache.clock.monotonic()
        # A read of its own, which on SQLite neither waits for nor holds up writers.
        async with self.database.read_transaction() as session:
            serial = await service.revocations_serial(session)
        self.cache.revocations_seen(serial, looked_at)

    async def run(self, interval: float = LOOK_INTERVAL_SECONDS) -> None:
        """Looks every ``interval`` seconds until cancelled."""
        self.cache.watch_begins()
        failing = False
        while True:
            try:
                await self.look()
            except Exception as error:  # the database may be away for a while: keep looking
                if not failing:
                    log.warning(
                        "cannot read the revocations (%s); tokens are looked up until it can",
                        error,
                    )
                failing = True
            else:
                if failing:
                    log.info("the revocations can be read again")
                failing = False
            await asyncio.sleep(interval)


@asynccontextmanager
async def watching_revocations(
    database: Database, cache: TokenCache, interval: float = LOOK_INTERVAL_SECONDS
) -> AsyncIterator[None]:
    """Keeps ``cache`` told of revocations while inside."""
    watch = asyncio.create_task(RevocationWatch(database, cache).run(interval))
    try:
        yield
    finally:
        watch.cancel()
        with suppress(asyncio.CancelledError):
            await watch
