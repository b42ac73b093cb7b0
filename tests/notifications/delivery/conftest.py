"""Callout delivery runs against a database of its own and a real HTTPS receiver.

Senders take every due delivery in their database, whoever made it: sharing the test run's
database would let other tests' rows leak into these. Each test starts from an empty outbox.
The receiver listens on a loopback port with a certificate of the test CA, so the service runs
with the development relaxations a local receiver needs: private addresses, explicit ports and
the extra CA bundle. A test's senders share a clock the test moves: retries fall due and
leases expire without waiting.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import trustme
from fastapi import FastAPI
from sqlalchemy import delete

from asyncgate.app import create_app
from asyncgate.clock import Clock
from asyncgate.config import Settings
from asyncgate.db.engine import Database
from asyncgate.notifications.callout_client import CalloutClient
from asyncgate.notifications.models import CalloutAttempt, CalloutDelivery
from asyncgate.notifications.outbox import OutboxEvent
from asyncgate.notifications.sender import Sender, SenderConfig
from asyncgate.notifications.urls import Resolver
from tests.factories import TenantContext, make_tenant
from tests.notifications.delivery.support import RECEIVER_NAME
from tests.support.clock import ManualClock
from tests.support.database import database_with_schema, settings_for
from tests.support.receiver import Receiver


@pytest.fixture(scope="package")
def settings(fresh_database_url, tmp_path_factory, tls_ca_bundle) -> Settings:
    base = settings_for(fresh_database_url("callouts"), tmp_path_factory.mktemp("callouts-data"))
    return base.model_copy(
        update={
            "callout_allow_private_addresses": True,
            "callout_allow_ports": True,
            "callout_ca_bundle": tls_ca_bundle,
            "callout_connect_timeout": timedelta(seconds=2),
            "callout_timeout": timedelta(seconds=2),
        }
    )


@pytest.fixture(scope="package")
async def database(settings: Settings) -> AsyncIterator[Database]:
    async with database_with_schema(settings) as database:
        yield database


@pytest.fixture(scope="package")
def app(settings: Settings, database: Database) -> FastAPI:
    return create_app(settings, database)


@pytest.fixture(scope="package")
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://asyncgate.test") as client:
        yield client


@pytest.fixture
async def tenant(database: Database) -> TenantContext:
    return await make_tenant(database)


@pytest.fixture(autouse=True)
async def empty_outbox(database: Database) -> None:
    async with database.transaction() as session:
        for table in (CalloutAttempt, CalloutDelivery, OutboxEvent):
            await session.execute(delete(table))


@pytest.fixture(scope="package")
def receiver(tls_ca: trustme.CA) -> Iterator[Receiver]:
    certificate = tls_ca.issue_cert("127.0.0.1", RECEIVER_NAME)
    with Receiver("127.0.0.1", 0, certificate) as receiver:
        yield receiver


@pytest.fixture
def clock() -> ManualClock:
    """A minute ahead of the real time: what the service stamps with the real time (a new
    delivery, a resend) is due on it at once."""
    return ManualClock(datetime.now(UTC) + timedelta(minutes=1))


@pytest.fixture
async def make_sender(
    app: FastAPI, database: Database, settings: Settings, clock: ManualClock
) -> AsyncIterator[Callable[..., Sender]]:
    """``make_sender(resolve=..., lease=..., clock=..., **settings)``: a sender of the test
    database whose client (closed after the test) resolves through ``resolve`` when given, on
    the test's clock unless given another."""
    clients: list[CalloutClient] = []

    def make(
        resolve: Resolver | None = None,
        lease: timedelta | None = None,
        clock: Clock = clock,
        **changes,
    ) -> Sender:
        custom = settings.model_copy(update=changes)
        client = CalloutClient.from_settings(custom, max_connections=10, resolve=resolve)
        clients.append(client)
        config = SenderConfig.from_settings(custom)
        if lease is not None:
            config = dataclasses.replace(config, lease=lease)
        return Sender(database, custom, app.state.secret_box, client, config, clock)

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
def sender(make_sender) -> Sender:
    return make_sender()
