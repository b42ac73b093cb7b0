from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from asyncgate.auth.roles import Role
from tests.console.support import sign_in
from tests.factories import UserContext, make_user


@pytest.fixture
async def console(app) -> AsyncIterator[httpx.AsyncClient]:
    """A browser of its own (its own cookies) on the in-process app, over HTTPS, since the
    console's cookies are Secure by default."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://asyncgate.test") as client:
        yield client


@pytest.fixture
async def admin(database, tenant) -> UserContext:
    return await make_user(database, tenant, role=Role.BILLING_ADMINISTRATOR)


@pytest.fixture
async def tenant_admin(database, tenant) -> UserContext:
    return await make_user(database, tenant, role=Role.TENANT_ADMINISTRATOR)


@pytest.fixture
async def as_tenant_admin(console, tenant_admin) -> httpx.AsyncClient:
    answer = await sign_in(console, tenant_admin)
    assert answer.status_code == 303, answer.text
    return console


@pytest.fixture
async def standard_user(database, tenant) -> UserContext:
    return await make_user(database, tenant, role=Role.STANDARD_USER)


@pytest.fixture
async def as_admin(console, admin) -> httpx.AsyncClient:
    """``console`` with an administrator signed in."""
    answer = await sign_in(console, admin)
    assert answer.status_code == 303, answer.text
    return console


@pytest.fixture
async def as_standard_user(console, standard_user) -> httpx.AsyncClient:
    answer = await sign_in(console, standard_user)
    assert answer.status_code == 303, answer.text
    return console
