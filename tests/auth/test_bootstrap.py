"""First start: an empty database gets tenant ``default``, an administrator and an OAuth client."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import func, select

from asyncgate.app import create_app
from asyncgate.auth import secrets
from asyncgate.auth.bootstrap import DEFAULT_TENANT, bootstrap_if_empty
from asyncgate.auth.models import OAuthClient, Tenant, User
from asyncgate.auth.roles import Role
from asyncgate.config import Settings
from asyncgate.db.engine import Database

CLIENT_ID = "6f1c2a8e-0b7d-4c1e-9a55-3f2d8b9e7c10"
CLIENT_SECRET = "a-bootstrap-secret-of-forty-two-characters"
ADMIN_PASSWORD = "an administrator password"


def bootstrap_settings(url: str, tmp_path, **overrides) -> Settings:
    return Settings(database_url=url, data_dir=tmp_path, _env_file=None, **overrides)


@pytest.fixture
async def empty(empty_database_url, tmp_path) -> AsyncIterator[Database]:
    database = Database(bootstrap_settings(empty_database_url, tmp_path))
    yield database
    await database.dispose()


async def counts(database: Database) -> tuple[int, int, int]:
    async with database.transaction() as session:
        return tuple(
            [
                await session.scalar(select(func.count()).select_from(t))
                for t in (Tenant, User, OAuthClient)
            ]
        )


class TestFirstStart:
    async def test_an_empty_database_gets_the_configured_tenant_admin_and_client(
        self, empty, empty_database_url, tmp_path
    ):
        settings = bootstrap_settings(
            empty_database_url,
            tmp_path,
            bootstrap_client_id=CLIENT_ID,
            bootstrap_client_secret=CLIENT_SECRET,
            bootstrap_admin_email="Root@Example.com",
            bootstrap_admin_password=ADMIN_PASSWORD,
        )

        created = await bootstrap_if_empty(empty, settings)

        assert created is not None
        assert created.client_id == CLIENT_ID
        assert created.generated_client_secret is None
        assert created.generated_admin_password is None
        async with empty.transaction() as session:
            tenant = await session.scalar(select(Tenant))
            admin = await session.scalar(select(User))
            client = await session.scalar(select(OAuthClient))
        assert (tenant.id, tenant.name) == (created.tenant_id, DEFAULT_TENANT)
        assert (admin.tenant_id, admin.email, admin.role) == (
            tenant.id,
            "root@example.com",
            Role.TENANT_ADMINISTRATOR,
        )
        assert await secrets.verify_password(admin.password_hash, ADMIN_PASSWORD)
        assert (client.tenant_id, client.client_id) == (tenant.id, CLIENT_ID)
        assert await counts(empty) == (1, 1, 1)

    async def test_the_configured_client_can_get_a_token(self, empty, empty_database_url, tmp_path):
        settings = bootstrap_settings(
            empty_database_url,
            tmp_path,
            bootstrap_client_id=CLIENT_ID,
            bootstrap_client_secret=CLIENT_SECRET,
        )
        await bootstrap_if_empty(empty, settings)

        transport = httpx.ASGITransport(app=create_app(settings, empty))
        async with httpx.AsyncClient(transport=transport, base_url="http://asyncgate.test") as c:
            response = await c.post(
                "/oauth/token",
                data={
                    "client_id": CLIENT_ID,
                    "client_secret": CLIENT_SECRET,
                    "grant_type": "client_credentials",
                },
            )

        assert response.status_code == 200, response.text

    async def test_unset_secrets_are_generated_within_the_sdks_limits(
        self, empty, empty_database_url, tmp_path
    ):
        created = await bootstrap_if_empty(empty, bootstrap_settings(empty_database_url, tmp_path))

        assert str(uuid.UUID(created.client_id)) == created.client_id
        assert 0 < len(created.generated_client_secret) <= 42
        async with empty.transaction() as session:
            client = await session.scalar(select(OAuthClient))
            admin = await session.scalar(select(User))
        assert await secrets.verify_password(client.secret_hash, created.generated_client_secret)
        assert await secrets.verify_password(admin.password_hash, created.generated_admin_password)

    async def test_a_second_start_changes_nothing(self, empty, empty_database_url, tmp_path):
        settings = bootstrap_settings(empty_database_url, tmp_path)
        await bootstrap_if_empty(empty, settings)
        before = await counts(empty)

        again = await bootstrap_if_empty(
            empty,
            bootstrap_settings(empty_database_url, tmp_path, bootstrap_client_id=CLIENT_ID),
        )

        assert again is None
        assert await counts(empty) == before == (1, 1, 1)

    async def test_processes_starting_together_bootstrap_once(
        self, empty, empty_database_url, tmp_path
    ):
        settings = bootstrap_settings(empty_database_url, tmp_path)
        other_process = Database(settings)
        try:
            results = await asyncio.gather(
                bootstrap_if_empty(empty, settings), bootstrap_if_empty(other_process, settings)
            )
        finally:
            await other_process.dispose()

        assert sorted(result is None for result in results) == [False, True]
        assert await counts(empty) == (1, 1, 1)

    async def test_an_invalid_configured_client_id_creates_nothing(
        self, empty, empty_database_url, tmp_path
    ):
        settings = bootstrap_settings(
            empty_database_url, tmp_path, bootstrap_client_id="not-a-uuid-but-36-characters-long!!!"
        )

        with pytest.raises(Exception, match="36-character UUID"):
            await bootstrap_if_empty(empty, settings)

        assert await counts(empty) == (0, 0, 0)
