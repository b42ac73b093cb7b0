"""The real server for end-to-end and conformance tests: ``asyncgate serve`` as a child
process (a plugin of the root ``conftest``, so that both folders share it).

One server per test run, on a free loopback port, on a fresh database of the test backend
(SQLite file or a database of the run's throwaway PostgreSQL server). It applies its migrations
and bootstraps tenant ``default`` with a known OAuth client, exactly as an operator's first
start would; tests then drive it over real sockets with the Zuora SDK and httpx.

Its callouts may go to loopback addresses and trust the test CA, so that they can reach the
run's HTTPS receiver, which listens on port 443 (callout URLs may name no port) of a loopback
address of its own per test process; a callout minute lasts 0.2 s.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest
import trustme

from asyncgate.config import Settings
from asyncgate.db.engine import Database
from tests.e2e.sdk import open_sdk, zuora_sdk
from tests.factories import TenantContext, make_tenant
from tests.support.live_server import LiveServer, running_server
from tests.support.receiver import Receiver, receiver_on_port_443

CALLOUT_INTERVAL_UNIT_SECONDS = 0.2


@pytest.fixture(scope="session")
def callout_receiver(tls_ca: trustme.CA) -> Iterator[Receiver]:
    """The run's HTTPS callout receiver, at ``https://<its address>/`` (port 443)."""
    with receiver_on_port_443(tls_ca, 1) as receiver:
        yield receiver


@pytest.fixture(scope="session")
def live_server(
    fresh_database_url: Callable[[str], str],
    tmp_path_factory: pytest.TempPathFactory,
    tls_ca_bundle: Path,
) -> Iterator[LiveServer]:
    with running_server(
        tmp_path_factory.mktemp("e2e-server"),
        fresh_database_url("asyncgate_e2e"),
        ASYNCGATE_CALLOUT_ALLOW_PRIVATE_ADDRESSES="true",
        ASYNCGATE_CALLOUT_CA_BUNDLE=str(tls_ca_bundle),
        ASYNCGATE_CALLOUT_INTERVAL_UNIT=str(CALLOUT_INTERVAL_UNIT_SECONDS),
    ) as server:
        yield server


@pytest.fixture(scope="session")
def access_token(live_server: LiveServer) -> str:
    with open_sdk(live_server.base_url) as api_client:
        token = zuora_sdk.OAuthApi(api_client).create_token(
            client_id=live_server.client_id,
            client_secret=live_server.client_secret,
            grant_type="client_credentials",
        )
    return token.access_token


@pytest.fixture(scope="session")
def sdk(live_server: LiveServer, access_token: str) -> Iterator[zuora_sdk.ApiClient]:
    """The Zuora SDK, authenticated as the bootstrap client of tenant ``default``."""
    with open_sdk(live_server.base_url, access_token) as api_client:
        yield api_client


@pytest.fixture
def accounts(sdk: zuora_sdk.ApiClient) -> zuora_sdk.AccountsApi:
    return zuora_sdk.AccountsApi(sdk)


@pytest.fixture(scope="session")
def http(live_server: LiveServer, access_token: str) -> Iterator[httpx.Client]:
    """A plain HTTP client with the same credentials, for raw bodies and headers."""
    headers = {"Authorization": f"Bearer {access_token}"}
    with httpx.Client(base_url=live_server.base_url, headers=headers, timeout=10) as client:
        yield client


@pytest.fixture(scope="session")
async def live_database(live_server: LiveServer) -> AsyncIterator[Database]:
    """The running server's own database, for setting up what no API call can (an expired
    token, say). Tests use it for set-up only; every check goes over HTTP."""
    database = Database(Settings(database_url=live_server.database_url, _env_file=None))
    yield database
    await database.dispose()


@pytest.fixture
async def live_tenant(live_database: Database) -> TenantContext:
    """A tenant of the running server's own, for one test: only its definitions see its
    requests."""
    return await make_tenant(live_database)


@pytest.fixture
def api(live_server: LiveServer, live_tenant: TenantContext) -> Iterator[httpx.Client]:
    """A plain HTTP client of the running server, as ``live_tenant``'s administrator."""
    headers = live_tenant.headers
    with httpx.Client(base_url=live_server.base_url, headers=headers, timeout=10) as client:
        yield client
