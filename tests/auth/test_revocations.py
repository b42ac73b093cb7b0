"""A revocation made elsewhere (another process's console, ``asyncgate clients revoke``) ends
the tokens this process cached: counted in the database, seen by this process's watch."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from asyncgate.auth import service
from asyncgate.auth.dependencies import TokenCache
from asyncgate.auth.principal import Principal
from asyncgate.auth.revocations import RevocationWatch, watching_revocations
from asyncgate.auth.roles import Role
from asyncgate.config import Settings
from asyncgate.db.base import utcnow
from asyncgate.db.engine import Database
from asyncgate.http.errors import NotFound
from tests.auth.test_bearer import assert_unauthenticated
from tests.factories import make_tenant
from tests.http.probe import build_probe_app
from tests.support.clock import ManualClock

PADDING = "/v1/probe/padding?size=1"


async def revoke_elsewhere(database: Database, client_id: str) -> None:
    """As ``asyncgate clients revoke`` does: in the database only, no cache of ours told."""
    async with database.transaction() as session:
        await service.revoke_client(session, client_id)


async def serial_of(database: Database) -> int:
    async with database.read_transaction() as session:
        return await service.revocations_serial(session)


@pytest.fixture
async def served(settings: Settings, database: Database):
    """An in-process app on a manual clock, whose revocation watch the test drives, and a
    client of it."""
    clock = ManualClock()
    app = build_probe_app(settings, database, clock)
    watch = RevocationWatch(database, app.state.token_cache)
    app.state.token_cache.watch_begins()
    await watch.look()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://asyncgate.test") as client:
        yield client, watch, clock
    await app.state.rate_limits.close()


class TestTheCount:
    async def test_every_revocation_counts_one_more(self, database):
        client = await make_tenant(database)
        before = await serial_of(database)

        await revoke_elsewhere(database, client.client_id)
        await revoke_elsewhere(database, client.client_id)  # again: its tokens end again

        assert await serial_of(database) == before + 2

    async def test_a_database_never_revoked_in_counts_from_nothing(self, empty_database_url):
        database = Database(Settings(database_url=empty_database_url, _env_file=None))
        try:
            assert await serial_of(database) == 0
            async with database.transaction() as session:
                tenant = await service.create_tenant(session, "first")
                client, _ = await service.create_client(session, tenant, name="api")
            await revoke_elsewhere(database, client.client_id)

            assert await serial_of(database) == 1
        finally:
            await database.dispose()

    async def test_a_refused_revocation_counts_nothing(self, database):
        before = await serial_of(database)
        async with database.transaction() as session:
            with pytest.raises(NotFound):
                await service.revoke_client(session, "0" * 8 + "-0000-4000-8000-" + "0" * 12)

        assert await serial_of(database) == before


class TestTheWatch:
    async def test_a_revocation_made_elsewhere_ends_cached_tokens_at_the_next_look(
        self, served, database
    ):
        client, watch, _ = served
        revoked = await make_tenant(database)
        kept = await make_tenant(database)
        assert (await client.get(PADDING, headers=revoked.headers)).status_code == 200
        assert (await client.get(PADDING, headers=kept.headers)).status_code == 200

        await revoke_elsewhere(database, revoked.client_id)
        # Cached, and no look since: this is what the watch is for.
        assert (await client.get(PADDING, headers=revoked.headers)).status_code == 200
        await watch.look()

        assert_unauthenticated(await client.get(PADDING, headers=revoked.headers))
        assert (await client.get(PADDING, headers=kept.headers)).status_code == 200

    async def test_tokens_are_looked_up_once_the_last_look_is_a_second_old(self, served, database):
        client, _, clock = served
        revoked = await make_tenant(database)
        assert (await client.get(PADDING, headers=revoked.headers)).status_code == 200

        await revoke_elsewhere(database, revoked.client_id)
        clock.advance(1.0)  # the watch fell behind (a slow database, a busy process)

        assert_unauthenticated(await client.get(PADDING, headers=revoked.headers))

    async def test_a_watch_whose_looks_fail_keeps_looking_and_says_so_once(self, database, caplog):
        caplog.set_level(logging.INFO, logger="asyncgate.revocations")
        cache = TokenCache()
        flaky = FlakyDatabase(database, failures=3)
        watching = asyncio.create_task(RevocationWatch(flaky, cache).run(interval=0.01))
        try:
            await wait_for(lambda: cache.generation > 0)  # a look got through
        finally:
            watching.cancel()
        cache.put("token", a_principal(), utcnow() + timedelta(hours=1), cache.generation)

        assert cache.get("token") == a_principal()
        warnings = [r for r in caplog.records if r.name == "asyncgate.revocations"]
        assert [r.levelname for r in warnings] == ["WARNING", "INFO"]

    async def test_watching_ends_cached_tokens_within_its_interval(self, database):
        cache = TokenCache()
        revoked = await make_tenant(database)
        async with watching_revocations(database, cache, interval=0.01):
            await wait_for(lambda: cache.generation > 0)  # the first look
            principal = a_principal(revoked.tenant_id)
            cache.put(revoked.token, principal, utcnow() + timedelta(hours=1), cache.generation)
            assert cache.get(revoked.token) == principal

            await revoke_elsewhere(database, revoked.client_id)

            await wait_for(lambda: cache.get(revoked.token) is None, within=0.5)


def a_principal(tenant_id: str = "t" * 32) -> Principal:
    return Principal(tenant_id=tenant_id, role=Role.TENANT_ADMINISTRATOR, client_id="c" * 32)


class FlakyDatabase:
    """``database``, whose first ``failures`` reads fail as an unreachable server's would."""

    def __init__(self, database: Database, failures: int) -> None:
        self.database = database
        self.failures = failures
        self.looks = 0

    @asynccontextmanager
    async def read_transaction(self) -> AsyncIterator[AsyncSession]:
        self.looks += 1
        if self.looks <= self.failures:
            raise ConnectionRefusedError("the database is away")
        async with self.database.read_transaction() as session:
            yield session


async def wait_for(condition, within: float = 2.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "not within the time given"
        await asyncio.sleep(0.005)
