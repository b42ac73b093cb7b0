"""Shared fixtures: one real database per test run (SQLite file or a throwaway PostgreSQL
server, chosen by ``ASYNCGATE_TEST_BACKEND``), the app on it, and an in-process HTTP client.

Tests isolate themselves by tenant: every test that needs data makes a fresh tenant, so no
test sees another's rows and nothing has to be cleaned up between tests.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import trustme
from sqlalchemy import event

from asyncgate.app import create_app
from asyncgate.config import Settings
from asyncgate.db.engine import Database
from tests.factories import TenantContext, make_tenant
from tests.support.database import database_with_schema, settings_for
from tests.support.postgres import ThrowawayPostgres

pytest_plugins = ["tests.support.live_service"]

BACKEND = os.environ.get("ASYNCGATE_TEST_BACKEND", "sqlite")
# The suite states each failure by its plain HTTP status (``ASYNCGATE_ERROR_STATUSES=http``),
# for the app in-process and the services it starts. ``tests/conformance`` checks the default,
# Zuora's 200 with ``"success": false``, and that both modes differ only in that status.
os.environ.setdefault("ASYNCGATE_ERROR_STATUSES", "http")


# A test that asks for none of these has no part that depends on the backend.
DATABASE_FIXTURES = frozenset({"database_url", "fresh_database_url"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests that start processes of their own (``e2e``) first: in a parallel run, no long one
    is left to run alone at the end. The PostgreSQL run leaves out the tests that use no
    database of the run's backend: they ran as they are in the SQLite run."""
    if BACKEND == "postgresql":
        kept: list[pytest.Item] = []
        left: list[pytest.Item] = []
        for item in items:
            (left if DATABASE_FIXTURES.isdisjoint(item.fixturenames) else kept).append(item)
        config.hook.pytest_deselected(items=left)
        items[:] = kept
    items.sort(key=lambda item: item.get_closest_marker("e2e") is None)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object | None:
    """With ``-n`` (xdist's default ``--dist load``): tests that share a server run in one test
    process (see ``tests/support/scheduling.py``)."""
    if config.getvalue("dist") != "load":
        return None
    from tests.support.scheduling import SharedProcessesScheduling

    return SharedProcessesScheduling(config, log)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[ThrowawayPostgres]:
    """The test run's private PostgreSQL server (PostgreSQL backend only)."""
    if BACKEND != "postgresql":
        pytest.skip("needs ASYNCGATE_TEST_BACKEND=postgresql")
    with ThrowawayPostgres() as server:
        yield server


@pytest.fixture(scope="session")
def fresh_database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """A factory of empty databases on the test backend: ``fresh_database_url("name")``."""

    def make(name: str) -> str:
        if BACKEND == "sqlite":
            return f"sqlite:///{tmp_path_factory.mktemp(name) / 'test.db'}"
        server = request.getfixturevalue("postgres_server")
        return server.create_database(f"{name}_{uuid.uuid4().hex[:8]}")

    return make


@pytest.fixture(scope="session")
def database_url(fresh_database_url) -> str:
    if BACKEND not in ("sqlite", "postgresql"):
        raise RuntimeError(f"ASYNCGATE_TEST_BACKEND must be sqlite or postgresql, not {BACKEND}")
    return fresh_database_url("asyncgate_test")


@pytest.fixture(scope="session")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return settings_for(database_url, tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="session")
async def database(settings: Settings) -> AsyncIterator[Database]:
    async with database_with_schema(settings) as database:
        yield database


@pytest.fixture(scope="session")
def app(settings: Settings, database: Database):
    return create_app(settings, database)


@pytest.fixture(scope="session")
async def client(app) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://asyncgate.test") as client:
        yield client
    # As the app's lifespan would on shutdown: no lease renewal outlives the database.
    await app.state.rate_limits.close()


@pytest.fixture
async def tenant(database: Database) -> TenantContext:
    """A fresh tenant with an administrator client and a valid bearer token."""
    return await make_tenant(database)


@pytest.fixture
async def other_tenant(database: Database) -> TenantContext:
    return await make_tenant(database)


@pytest.fixture(scope="session")
def tls_ca() -> trustme.CA:
    """The certificate authority of the test run's HTTPS callout receivers."""
    return trustme.CA()


@pytest.fixture(scope="session")
def tls_ca_bundle(tls_ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``tls_ca`` as a PEM file, for ``ASYNCGATE_CALLOUT_CA_BUNDLE``."""
    path = tmp_path_factory.mktemp("tls") / "ca.pem"
    tls_ca.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture
def statements(database: Database) -> Iterator[list[str]]:
    """The SQL statements executed while the test runs."""
    executed: list[str] = []

    def record(connection, cursor, statement, parameters, context, executemany) -> None:
        executed.append(statement)

    event.listen(database.engine.sync_engine, "before_cursor_execute", record)
    yield executed
    event.remove(database.engine.sync_engine, "before_cursor_execute", record)
