"""A test database: settings for a URL, and a Database with the schema created."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from asyncgate.config import Settings
from asyncgate.db.engine import Database
from asyncgate.db.models import metadata


def settings_for(database_url: str, data_dir: Path) -> Settings:
    return Settings(database_url=database_url, data_dir=data_dir, _env_file=None)


@asynccontextmanager
async def database_with_schema(settings: Settings) -> AsyncIterator[Database]:
    """The schema comes from the models (fast); tests/db proves the migrations agree."""
    database = Database(settings)
    async with database.engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    try:
        yield database
    finally:
        await database.dispose()
