"""Revoking an OAuth client ends its tokens on the next request in the process that revoked it
and within a second in every other: two ``asyncgate serve`` processes on one database, and
``asyncgate clients revoke`` as a third, driven over real sockets."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest

from asyncgate.config import Settings
from asyncgate.db.engine import Database
from tests.auth.test_bearer import assert_unauthenticated
from tests.console.support import sign_in, submit
from tests.factories import TenantContext, make_tenant, make_user
from tests.support.live_server import LiveServer, running_server

ASYNCGATE = Path(sys.executable).parent / "asyncgate"
AUTHENTICATED = "/notifications/notification-definitions"
# How long after a revocation other processes may still accept its client's tokens.
WITHIN_SECONDS = 1.0


@pytest.fixture(scope="module")
def two_servers(
    fresh_database_url: Callable[[str], str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LiveServer, LiveServer]]:
    """Two API processes of one service (one database, one data folder)."""
    url = fresh_database_url("asyncgate_revocation")
    settings = {
        "ASYNCGATE_DATA_DIR": str(tmp_path_factory.mktemp("revocation-data")),
        "ASYNCGATE_SERVE_WORKERS": "false",
        "ASYNCGATE_CONSOLE_SECURE_COOKIES": "false",  # the console over plain HTTP
    }
    with (
        running_server(tmp_path_factory.mktemp("revocation-1"), url, **settings) as first,
        running_server(tmp_path_factory.mktemp("revocation-2"), url, **settings) as second,
    ):
        yield first, second


@pytest.fixture
async def tenant(two_servers: tuple[LiveServer, LiveServer]) -> AsyncIterator[TenantContext]:
    """A tenant of the servers' own, with a client whose secret the test knows."""
    database = Database(Settings(database_url=two_servers[0].database_url, _env_file=None))
    try:
        yield await make_tenant(database)
    finally:
        await database.dispose()


def token_of(server: LiveServer, tenant: TenantContext) -> dict[str, str]:
    answer = httpx.post(
        f"{server.base_url}/oauth/token",
        data={
            "client_id": tenant.client_id,
            "client_secret": tenant.client_secret,
            "grant_type": "client_credentials",
        },
    )
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def used_on_both(servers: tuple[LiveServer, LiveServer], headers: dict[str, str]) -> None:
    """Each server verifies the token, and so caches it."""
    for server in servers:
        for _ in range(3):
            answer = httpx.get(f"{server.base_url}{AUTHENTICATED}", headers=headers)
            assert answer.status_code == 200, answer.text


async def seconds_until_refused(server: LiveServer, headers: dict[str, str], since: float) -> float:
    """Sends requests with ``headers`` until ``server`` refuses one with Zuora's 401; returns
    when, after ``since`` (``time.monotonic()``), that one was sent. Asserts that none sent
    :data:`WITHIN_SECONDS` or more after ``since`` succeeded: a request is judged by when it
    left, since a busy machine may answer it late."""
    async with httpx.AsyncClient(base_url=server.base_url, headers=headers) as http:
        while True:
            sent = time.monotonic() - since
            answer = await http.get(AUTHENTICATED)
            if answer.status_code != 200:
                assert_unauthenticated(answer)
                return sent
            assert sent < WITHIN_SECONDS, f"a request sent {sent:.3f} s after revoking succeeded"
            await asyncio.sleep(0.01)


def revoke_with_the_cli(server: LiveServer, client_id: str) -> None:
    revoked = subprocess.run(
        [str(ASYNCGATE), "clients", "revoke", client_id],
        env=server.environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert revoked.returncode == 0, revoked.stderr
    assert json.loads(revoked.stdout)["client_id"] == client_id


async def test_a_console_revocation_ends_the_token_at_once_there_and_within_a_second_elsewhere(
    two_servers, tenant
):
    revoking, other = two_servers
    database = Database(Settings(database_url=revoking.database_url, _env_file=None))
    try:
        administrator = await make_user(database, tenant)
    finally:
        await database.dispose()
    headers = token_of(revoking, tenant)
    used_on_both(two_servers, headers)
    async with httpx.AsyncClient(base_url=revoking.base_url) as console:
        assert (await sign_in(console, administrator)).status_code == 303
        answer = await submit(
            console, "/console/clients", f"/console/clients/{tenant.client_id}/revoke"
        )
        revoked_at = time.monotonic()
    assert answer.status_code == 303, answer.text

    assert_unauthenticated(httpx.get(f"{revoking.base_url}{AUTHENTICATED}", headers=headers))
    delay = await seconds_until_refused(other, headers, revoked_at)

    print(f"console revocation: the other process refused a request sent after {delay:.3f} s")


async def test_a_cli_revocation_ends_the_token_within_a_second_in_every_process(
    two_servers, tenant
):
    headers = token_of(two_servers[0], tenant)
    used_on_both(two_servers, headers)

    revoke_with_the_cli(two_servers[0], tenant.client_id)
    revoked_at = time.monotonic()
    delays = await asyncio.gather(
        *(seconds_until_refused(server, headers, revoked_at) for server in two_servers)
    )

    print(f"CLI revocation: refused requests sent after {delays[0]:.3f} s and {delays[1]:.3f} s")
    assert max(delays) < WITHIN_SECONDS
