"""A tenant's rate and concurrency limits hold across the processes of one service: two
``asyncgate serve`` processes on one database, driven over real sockets.

Source: Zuora's developer guide "Rate and concurrent request limits": quotas and concurrent
request limits are the tenant's (not a server's), in the pools ``Default`` (40) and
``High-volume transactions`` (200), reported in ``Concurrency-Limit-Type``, ``-Limit`` and
``-Remaining`` on every ``/v1`` answer.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from asyncgate.config import Settings
from asyncgate.db.engine import Database
from tests.conformance.requests import an_account
from tests.conftest import BACKEND
from tests.e2e.sdk import open_sdk, quiet_sdk, zuora_sdk
from tests.factories import make_tenant
from tests.support.live_server import LiveServer, running_server

pytestmark = [quiet_sdk]

MINUTE_QUOTA = 400
CONCURRENT = 10


@pytest.fixture(scope="module")
def two_servers(
    fresh_database_url: Callable[[str], str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LiveServer, LiveServer]]:
    """Two API processes of one service (one database, one data folder), with a small minute
    quota and a small concurrency limit."""
    url = fresh_database_url("asyncgate_limits")
    settings = {
        "ASYNCGATE_DATA_DIR": str(tmp_path_factory.mktemp("limits-data")),
        "ASYNCGATE_SERVE_WORKERS": "false",
        "ASYNCGATE_TENANT_REQUESTS_PER_MINUTE": str(MINUTE_QUOTA),
        "ASYNCGATE_TENANT_CONCURRENT_REQUESTS": str(CONCURRENT),
    }
    with (
        running_server(tmp_path_factory.mktemp("limits-1"), url, **settings) as first,
        running_server(tmp_path_factory.mktemp("limits-2"), url, **settings) as second,
    ):
        yield first, second


@pytest.fixture(scope="module")
def headers(two_servers: tuple[LiveServer, LiveServer]) -> dict[str, str]:
    return two_servers[0].bearer_headers()


def test_the_sdk_reads_the_concurrency_limit_of_each_pool(two_servers, headers):
    first, _ = two_servers
    with open_sdk(first.base_url, headers["Authorization"].removeprefix("Bearer ")) as sdk:
        accounts = zuora_sdk.AccountsApi(sdk)
        created = accounts.create_account_with_http_info(an_account())
        read = accounts.get_account_with_http_info(created.data.account_id)

    assert created.concurrency_limit_type == "High-volume transactions"
    assert created.concurrency_limit_limit == 200
    assert read.concurrency_limit_type == "Default"
    assert read.concurrency_limit_limit == CONCURRENT
    assert read.concurrency_limit_remaining == CONCURRENT - 1


def test_the_quota_holds_for_the_tenant_across_both_processes(two_servers, headers):
    """Within 5 % of the quota, never over it, with requests spread over both processes."""
    if (left := 60 - time.time() % 60) < 15:
        time.sleep(left + 1)  # the whole test in one minute window
    clients = [httpx.Client(base_url=s.base_url, headers=headers, timeout=10) for s in two_servers]
    try:
        statuses = [
            clients[attempt % 2].get(f"/v1/accounts/{uuid.uuid4().hex}").status_code
            for attempt in range(MINUTE_QUOTA + MINUTE_QUOTA // 2)
        ]
    finally:
        for client in clients:
            client.close()

    admitted = sum(status != 429 for status in statuses)
    assert MINUTE_QUOTA * 0.95 <= admitted <= MINUTE_QUOTA, statuses


@pytest.mark.skipif(BACKEND != "postgresql", reason="holds requests on a PostgreSQL row lock")
async def test_the_concurrency_limit_holds_for_the_tenant_across_both_processes(two_servers):
    """Requests held in flight on both processes: the tenant's limit admits that many in all,
    the others are refused at once, and the held ones complete once let go. A tenant of its
    own, whose quota no other test spends."""
    first, _ = two_servers
    database = Database(Settings(database_url=first.database_url, _env_file=None))
    try:
        headers = (await make_tenant(database)).headers
    finally:
        await database.dispose()
    async with httpx.AsyncClient(base_url=first.base_url, headers=headers) as client:
        created = await client.post("/v1/accounts", json=an_account().to_dict())
    account_id = created.json()["accountId"]
    engine = create_async_engine(Settings(database_url=first.database_url).engine_url)
    try:
        async with engine.connect() as holder:
            lock = await holder.begin()
            # Every update of the account now waits for this transaction.
            await holder.execute(
                text("SELECT id FROM accounts WHERE id = :id FOR UPDATE"), {"id": account_id}
            )
            statuses = await _updates_while_held(two_servers, headers, account_id, lock.rollback)
    finally:
        await engine.dispose()

    assert sorted(statuses) == [200] * CONCURRENT + [429] * (len(statuses) - CONCURRENT)


async def _updates_while_held(
    servers: tuple[LiveServer, LiveServer],
    headers: dict[str, str],
    account_id: str,
    let_go: Callable[[], Awaitable[None]],
) -> list[int]:
    """Sends updates of the account to both processes while it is locked; lets go of it once
    every request past the limit was refused."""
    tries = CONCURRENT + CONCURRENT // 2 * 2
    clients = [
        httpx.AsyncClient(base_url=server.base_url, headers=headers, timeout=30)
        for server in servers
    ]
    try:
        updates = [
            asyncio.create_task(
                clients[attempt % 2].put(f"/v1/accounts/{account_id}", json={"notes": "held"})
            )
            for attempt in range(tries)
        ]
        async with asyncio.timeout(20):
            while sum(update.done() for update in updates) < tries - CONCURRENT:
                await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # none of the held ones completes while the lock is held
        assert sum(update.done() for update in updates) == tries - CONCURRENT
        await let_go()
        return [(await update).status_code for update in updates]
    finally:
        for client in clients:
            await client.aclose()
