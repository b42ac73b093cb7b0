"""``execute_many`` stores exactly what SQLAlchemy's executemany of the same statement stores,
on every backend: every type's bind processing, column defaults for what a row leaves out, and
the count of rows an ``UPDATE`` matched."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    insert,
    select,
    update,
)

from asyncgate.db.base import UTCDateTime, new_id, utcnow
from asyncgate.db.engine import Database
from asyncgate.db.executemany import execute_many
from tests.support.database import database_with_schema, settings_for

ITEMS = Table(
    "items",
    MetaData(),
    Column("id", String(32), primary_key=True, default=new_id),
    Column("name", String(40)),
    Column("count", Integer, default=7),
    Column("active", Boolean),
    Column("document", JSON),
    Column("due_at", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, default=utcnow),
    Column("updated_at", UTCDateTime, default=utcnow, onupdate=utcnow),
)
INSERT = insert(ITEMS)
RENAME = (
    update(ITEMS)
    .where(ITEMS.c.id == bindparam("item"), ITEMS.c.count == bindparam("expected"))
    .values(name=bindparam("new_name"))
)
# A value of the statement's own set, another compared.
DEACTIVATE = (
    update(ITEMS)
    .where(ITEMS.c.id == bindparam("item"), ITEMS.c.active.is_(True), ITEMS.c.count == 7)
    .values(active=False, due_at=None)
)
EAST = timezone(timedelta(hours=14))
COUNTS_NOTHING = -1  # asyncpg's count of an executemany


@pytest.fixture(scope="module")
async def database(fresh_database_url, tmp_path_factory) -> AsyncIterator[Database]:
    settings = settings_for(fresh_database_url("executemany"), tmp_path_factory.mktemp("items"))
    async with database_with_schema(settings, ITEMS.metadata) as database:
        yield database


async def stored(database: Database, ids: list[str]) -> list[dict[str, object]]:
    async with database.core_transaction() as connection:
        found = await connection.execute(select(ITEMS).where(ITEMS.c.id.in_(ids)))
        return sorted((dict(row._mapping) for row in found), key=lambda row: str(row["id"]))


def rows(prefix: str) -> list[dict[str, object]]:
    """Rows of every kind of value, the keys of each the same."""
    return [
        {
            "id": f"{prefix}-1",
            "name": "Zoë",
            "active": True,
            "document": {"nested": [1, 2.5, None], "big": 10**30},
            "due_at": datetime(2026, 12, 7, 23, 30, tzinfo=EAST),
        },
        {
            "id": f"{prefix}-2",
            "name": "",
            "active": False,
            "document": None,
            "due_at": None,
        },
    ]


def without_ids(found: list[dict[str, object]]) -> list[dict[str, object]]:
    return [{name: value for name, value in row.items() if name != "id"} for row in found]


async def test_inserted_rows_are_those_sqlalchemy_stores(database):
    before = utcnow()
    async with database.core_transaction() as connection:
        await connection.execute(INSERT, rows("sqlalchemy"))
        assert await execute_many(connection, INSERT, rows("ours")) in (2, COUNTS_NOTHING)
    ours = await stored(database, ["ours-1", "ours-2"])
    theirs = await stored(database, ["sqlalchemy-1", "sqlalchemy-2"])
    for row in ours + theirs:  # defaults made per row, at insert time
        for moment in ("created_at", "updated_at"):
            assert before <= row.pop(moment) <= utcnow()
    assert without_ids(ours) == without_ids(theirs)
    assert ours[0]["count"] == 7 and ours[0]["due_at"] == datetime(2026, 12, 7, 9, 30, tzinfo=UTC)


async def test_defaults_fill_what_rows_leave_out_and_calls_make_new_values(database):
    async with database.core_transaction() as connection:
        await execute_many(connection, INSERT, [{"name": "a"}, {"name": "b"}])
        found = await connection.execute(select(ITEMS.c.id).where(ITEMS.c.name.in_(["a", "b"])))
        ids = list(found.scalars())
    assert len(set(ids)) == 2 and all(len(item) == 32 for item in ids)


async def test_an_update_counts_the_rows_it_matched_and_stamps_them(database):
    async with database.core_transaction() as connection:
        await execute_many(connection, INSERT, rows("renamed"))
    first, second = await stored(database, ["renamed-1", "renamed-2"])
    async with database.core_transaction() as connection:
        matched = await execute_many(
            connection,
            RENAME,
            [
                {"item": "renamed-1", "expected": 7, "new_name": "one"},
                {"item": "renamed-2", "expected": 8, "new_name": "two"},  # fenced off
            ],
        )
    renamed, untouched = await stored(database, ["renamed-1", "renamed-2"])
    assert matched in (1, COUNTS_NOTHING)
    assert (renamed["name"], untouched["name"]) == ("one", "")
    assert renamed["updated_at"] > first["updated_at"]
    assert untouched["updated_at"] == second["updated_at"]


async def test_one_row_is_always_counted(database):
    async with database.core_transaction() as connection:
        await execute_many(connection, INSERT, rows("counted")[:1])
        one = {"item": "counted-1", "expected": 7, "new_name": "one"}
        assert await execute_many(connection, RENAME, [one]) == 1
        assert await execute_many(connection, RENAME, [one | {"expected": 8}]) == 0


async def test_values_of_the_statement_itself_are_bound(database):
    async with database.core_transaction() as connection:
        await execute_many(connection, INSERT, rows("deactivated"))
        items = [{"item": "deactivated-1"}, {"item": "deactivated-2"}]  # the second is inactive
        matched = await execute_many(connection, DEACTIVATE, items)
    first, second = await stored(database, ["deactivated-1", "deactivated-2"])
    assert matched in (1, COUNTS_NOTHING)
    assert (first["active"], first["due_at"], second["active"]) == (False, None, False)


async def test_a_session_runs_it_in_its_own_transaction(database):
    async with database.transaction() as session:
        await execute_many(session, INSERT, rows("session"))
        in_session = await session.execute(
            select(ITEMS.c.id).where(ITEMS.c.id.in_(["session-1", "session-2"]))
        )
        assert len(in_session.all()) == 2
        await session.rollback()
    assert await stored(database, ["session-1", "session-2"]) == []
