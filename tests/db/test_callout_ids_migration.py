"""Migration 0012 gives the callouts stored before it IDs of their own, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command
from sqlalchemy.ext.asyncio import AsyncEngine

from asyncgate.config import Settings
from asyncgate.db.base import UTCDateTime
from asyncgate.db.engine import Database
from asyncgate.db.migrate import alembic_config

CREATED = datetime(2026, 11, 2, 3, 4, 5, tzinfo=UTC)
UPDATED = datetime(2026, 11, 20, 6, 7, 8, tzinfo=UTC)


def table(name: str, *columns: str, times: tuple[str, ...] = ()) -> sa.TableClause:
    return sa.table(
        name,
        *(sa.column(column) for column in columns),
        *(sa.column(column, UTCDateTime()) for column in times),
    )


TENANTS = table("tenants", "id", "name", times=("created_at", "updated_at"))
PROFILES = table(
    "communication_profiles",
    "id",
    "tenant_id",
    "name",
    "is_default",
    times=("created_at", "updated_at"),
)
DEFINITIONS = table(
    "notification_definitions",
    "id",
    "tenant_id",
    "profile_id",
    "name",
    "event_type_name",
    "active",
    "callout_active",
    "created_by",
    "updated_by",
    times=("created_at", "updated_at"),
)
CALLOUTS = sa.table(
    "callouts",
    *(
        sa.column(column)
        for column in (
            "definition_id",
            "name",
            "active",
            "url",
            "http_method",
            "required_auth",
            "preemptive",
            "retry",
        )
    ),
    sa.column("params", sa.JSON()),
)


async def migrate(engine: AsyncEngine, revision: str) -> None:
    config = alembic_config()

    def run(connection: sa.Connection) -> None:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async with engine.begin() as connection:
        await connection.run_sync(run)


async def test_callouts_stored_before_get_ids_and_their_definitions_creator_and_times(
    fresh_database_url,
):
    database = Database(Settings(database_url=fresh_database_url("callout_ids"), _env_file=None))
    definitions = [f"{n:032x}" for n in (1, 2)]
    try:
        await migrate(database.engine, "0011")
        times = {"created_at": CREATED, "updated_at": UPDATED}
        async with database.engine.begin() as connection:
            await connection.execute(sa.insert(TENANTS).values(id="a" * 32, name="t", **times))
            await connection.execute(
                sa.insert(PROFILES).values(
                    id="b" * 32,
                    tenant_id="a" * 32,
                    name="Default Profile",
                    is_default=True,
                    **times,
                )
            )
            for number, definition_id in enumerate(definitions):
                await connection.execute(
                    sa.insert(DEFINITIONS).values(
                        id=definition_id,
                        tenant_id="a" * 32,
                        profile_id="b" * 32,
                        name=f"definition {number}",
                        event_type_name="Async Request Succeeded",
                        active=True,
                        callout_active=True,
                        created_by="c" * 32,
                        updated_by="d" * 32,
                        **times,
                    )
                )
                await connection.execute(
                    sa.insert(CALLOUTS).values(
                        definition_id=definition_id,
                        name=f"callout {number}",
                        active=True,
                        url="https://93.184.215.14/callouts",
                        http_method="POST",
                        required_auth=False,
                        preemptive=False,
                        retry=True,
                        params={},
                    )
                )

        await migrate(database.engine, "head")

        migrated = table(
            "callouts",
            "id",
            "definition_id",
            "name",
            "created_by",
            times=("created_at", "updated_at"),
        )
        async with database.engine.connect() as connection:
            rows = (
                await connection.execute(sa.select(migrated).order_by(migrated.c.definition_id))
            ).all()
        assert [row.definition_id for row in rows] == definitions
        assert [row.name for row in rows] == ["callout 0", "callout 1"]
        ids = [row.id for row in rows]
        assert all(len(callout_id) == 32 and int(callout_id, 16) for callout_id in ids)
        assert len(set(ids)) == 2 and set(ids).isdisjoint(definitions)
        assert {(row.created_by, row.created_at, row.updated_at) for row in rows} == {
            ("c" * 32, CREATED, UPDATED)
        }
    finally:
        await database.dispose()


async def test_a_definition_still_has_at_most_one_callout(fresh_database_url):
    database = Database(Settings(database_url=fresh_database_url("one_callout"), _env_file=None))
    try:
        await migrate(database.engine, "head")
        inspected = await _unique_constraints(database.engine, "callouts")
        primary_key = await _primary_key(database.engine, "callouts")
    finally:
        await database.dispose()

    assert ["definition_id"] in inspected
    assert primary_key == ["id"]


async def _unique_constraints(engine: AsyncEngine, name: str) -> list[list[str]]:
    async with engine.connect() as connection:
        constraints = await connection.run_sync(
            lambda sync: sa.inspect(sync).get_unique_constraints(name)
        )
    return [constraint["column_names"] for constraint in constraints]


async def _primary_key(engine: AsyncEngine, name: str) -> list[str]:
    async with engine.connect() as connection:
        constraint = await connection.run_sync(
            lambda sync: sa.inspect(sync).get_pk_constraint(name)
        )
    return constraint["constrained_columns"]
