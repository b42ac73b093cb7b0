from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from asyncgate.config import Settings
from asyncgate.db.engine import Database
from asyncgate.db.models import metadata
from tests.http.probe import probe, probe_app  # noqa: F401  (fixtures)


@pytest.fixture
async def empty_database_url(
    settings: Settings, database: Database, tmp_path
) -> AsyncIterator[str]:
    """A URL of a new database with the schema and no rows, on the backend under test."""
    if settings.is_sqlite:
        url = f"sqlite:///{tmp_path / 'empty.db'}"
    else:
        name = f"empty_{uuid.uuid4().hex}"
        admin = database.engine.execution_options(isolation_level="AUTOCOMMIT")
        async with admin.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(settings.database_url).set(database=name).render_as_string(False)
    schema = Database(Settings.model_validate({**settings.model_dump(), "database_url": url}))
    async with schema.engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    await schema.dispose()
    yield url
    if not settings.is_sqlite:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
