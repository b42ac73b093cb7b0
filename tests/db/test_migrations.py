"""The migrations build exactly the schema the models describe, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from asyncgate.config import Settings
from asyncgate.db.engine import Database
from asyncgate.db.migrate import upgrade_to_head
from asyncgate.db.models import metadata


async def test_migrated_schema_matches_the_models(fresh_database_url):
    database = Database(Settings(database_url=fresh_database_url("migrations"), _env_file=None))
    try:
        await upgrade_to_head(database.engine)

        def differences(connection):
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return compare_metadata(context, metadata)

        async with database.engine.connect() as connection:
            diff = await connection.run_sync(differences)
        assert diff == []
    finally:
        await database.dispose()


async def test_migrating_twice_changes_nothing(fresh_database_url):
    database = Database(Settings(database_url=fresh_database_url("migrate_twice"), _env_file=None))
    try:
        await upgrade_to_head(database.engine)
        await upgrade_to_head(database.engine)
        async with database.engine.connect() as connection:
            versions = (
                await connection.execute(text("SELECT version_num FROM alembic_version"))
            ).all()
        assert len(versions) == 1
    finally:
        await database.dispose()


async def test_sqlite_runs_in_wal_mode_with_durable_commits(tmp_path):
    database = Database(Settings(database_url=f"sqlite:///{tmp_path / 'wal.db'}", _env_file=None))
    try:
        async with database.engine.connect() as connection:
            journal = (await connection.execute(text("PRAGMA journal_mode"))).scalar_one()
            synchronous = (await connection.execute(text("PRAGMA synchronous"))).scalar_one()
        assert journal == "wal"
        assert synchronous == 2  # FULL: a commit survives power loss
    finally:
        await database.dispose()


async def test_every_migration_can_be_undone_and_redone(fresh_database_url):
    from alembic import command

    from asyncgate.db.migrate import alembic_config

    database = Database(Settings(database_url=fresh_database_url("round_trip"), _env_file=None))
    config = alembic_config()

    def downgrade(connection):
        config.attributes["connection"] = connection
        command.downgrade(config, "base")

    try:
        await upgrade_to_head(database.engine)
        async with database.engine.begin() as connection:
            await connection.run_sync(downgrade)
        await upgrade_to_head(database.engine)
        async with database.engine.connect() as connection:
            tables = await connection.run_sync(lambda sync: set(sync.dialect.get_table_names(sync)))
        assert set(metadata.tables) <= tables
    finally:
        await database.dispose()
