"""``/health`` answers while the process lives; ``/ready`` only while the database answers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from asyncgate.app import create_app
from asyncgate.config import Settings
from asyncgate.db.engine import Database
from asyncgate.http.errors import Category
from tests.http.assertions import assert_request_id, assert_zuora_error


@pytest.fixture(
    params=[
        pytest.param("postgresql+asyncpg://postgres@127.0.0.1:1/nothing", id="unreachable server"),
        pytest.param("sqlite:///{tmp}", id="sqlite path that is a folder"),
    ]
)
async def broken_client(request, tmp_path) -> AsyncIterator[httpx.AsyncClient]:
    """A client on an app whose database cannot be reached."""
    settings = Settings(
        database_url=request.param.format(tmp=tmp_path), data_dir=tmp_path, _env_file=None
    )
    database = Database(settings)
    transport = httpx.ASGITransport(app=create_app(settings, database))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://asyncgate.test") as c:
            yield c
    finally:
        await database.dispose()


class TestHealth:
    async def test_health_is_ok(self, client):
        response = await client.get("/health")

        assert response.status_code == 200
        assert response.json() == {"status": "ok"}
        assert_request_id(response)

    async def test_health_is_ok_even_without_a_database(self, broken_client):
        assert (await broken_client.get("/health")).status_code == 200

    async def test_health_needs_no_token(self, client):
        assert (await client.get("/health", headers={"Authorization": "Bearer no"})).is_success


class TestReadiness:
    async def test_ready_when_the_database_answers(self, client):
        response = await client.get("/ready")

        assert response.status_code == 200
        assert response.json() == {"status": "ready"}

    async def test_not_ready_when_the_database_cannot_be_reached(self, broken_client):
        response = await broken_client.get("/ready")

        body = assert_zuora_error(response, 503, Category.TEMPORARY_ERROR)
        assert "database" in body["reasons"][0]["message"]
