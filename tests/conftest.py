"""Shared fixtures: one real database per test run (SQLite file or a throwaway PostgreSQL
server, chosen by ``ASYNCGATE_TEST_BACKEND``), the app on it, and an in-process HTTP client.

Tests isolate themselves by tenant: every test that needs data makes a fresh tenant, so no
test sees another's rows and nothing has to be cleaned up between tests.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from asyncgate.app import create_app
from asyncgate.config import Settings
from asyncgate.db.engine import Database
from asyncgate.db.models import metadata
from tests.factories import TenantContext, make_tenant

BACKEND = os.environ.get("ASYNCGATE_TEST_BACKEND", "sqlite")


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if BACKEND == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        return
    if BACKEND != "postgresql":
        raise RuntimeError(f"ASYNCGATE_TEST_BACKEND must be sqlite or postgresql, not {BACKEND}")
    from tests.support.postgres import ThrowawayPostgres

    with ThrowawayPostgres() as server:
        yield server.create_database("asyncgate_test")


@pytest.fixture(scope="session")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=Path(tmp_path_factory.mktemp("data")),
        _env_file=None,
    )


@pytest.fixture(scope="session")
async def database(settings: Settings) -> AsyncIterator[Database]:
    database = Database(settings)
    async with database.engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    yield database
    await database.dispose()


@pytest.fixture(scope="session")
def app(settings: Settings, database: Database):
    return create_app(settings, database)


@pytest.fixture(scope="session")
async def client(app) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://asyncgate.test") as client:
        yield client


@pytest.fixture
async def tenant(database: Database) -> TenantContext:
    """A fresh tenant with an administrator client and a valid bearer token."""
    return await make_tenant(database)


@pytest.fixture
async def other_tenant(database: Database) -> TenantContext:
    return await make_tenant(database)
