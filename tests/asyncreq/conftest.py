"""The engine's tests run against a database of their own.

Workers claim every due request in the database, whoever accepted it: sharing the test run's
database would let requests queued by other tests leak into these (and theirs into ours).
Each test starts from an empty queue and outbox.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from fastapi import FastAPI

from asyncgate.app import create_app, v1_router
from asyncgate.asyncreq.worker import Worker, WorkerConfig
from asyncgate.clock import SYSTEM_CLOCK, Clock
from asyncgate.config import Settings
from asyncgate.db.engine import Database
from tests.asyncreq import support
from tests.factories import TenantContext, make_tenant
from tests.support.database import database_with_schema, empty_queue, settings_for


@pytest.fixture(scope="package")
def settings(fresh_database_url, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return settings_for(fresh_database_url("asyncreq"), tmp_path_factory.mktemp("asyncreq-data"))


@pytest.fixture(scope="package")
async def database(settings: Settings) -> AsyncIterator[Database]:
    async with database_with_schema(settings) as database:
        yield database


@pytest.fixture(scope="package")
def app(settings: Settings, database: Database) -> FastAPI:
    """The application with the trial routes mounted as every ``/v1`` router is."""
    app = create_app(settings, database)
    app.include_router(v1_router(support.router))
    return app


@pytest.fixture(scope="package")
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://asyncgate.test") as client:
        yield client


@pytest.fixture(scope="package")
async def tenant(database: Database) -> TenantContext:
    """One tenant for the package (a new one costs a password hash): the queue is emptied
    before each test and effects are counted under keys of the test's own. Tests that count
    the tenant's accounts take ``fresh_tenant``."""
    return await make_tenant(database)


@pytest.fixture(scope="package")
async def other_tenant(database: Database) -> TenantContext:
    return await make_tenant(database)


@pytest.fixture
async def fresh_tenant(database: Database) -> TenantContext:
    return await make_tenant(database)


@pytest.fixture(autouse=True)
async def emptied_queue(database: Database) -> None:
    await empty_queue(database)


@pytest.fixture
def make_worker(app: FastAPI, database: Database) -> Callable[..., Worker]:
    """``make_worker(lease=..., request_timeout=..., clock=...)``: a worker on the test app
    with ``support.EXACT_RETRY`` unless told otherwise, on the system's clock unless given
    another."""

    def make(clock: Clock = SYSTEM_CLOCK, **config) -> Worker:
        config = {"retry": support.EXACT_RETRY, **config}
        return Worker(app, database, WorkerConfig(**config), clock=clock)

    return make


@pytest.fixture
def worker(make_worker) -> Worker:
    return make_worker()
