"""Timestamps are stored as UTC and read back timezone-aware on every backend; on SQLite, in the
text SQLite's ``DATETIME`` has always held, so that rows written before and after compare and
sort alike."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, insert, select, text

from asyncgate.db.base import UTCDateTime
from asyncgate.db.engine import Database
from tests.conftest import BACKEND
from tests.support.database import database_with_schema, settings_for

MOMENTS = Table(
    "moments", MetaData(), Column("id", Integer, primary_key=True), Column("at", UTCDateTime)
)


@pytest.fixture(scope="module")
async def database(fresh_database_url, tmp_path_factory) -> AsyncIterator[Database]:
    settings = settings_for(fresh_database_url("timestamps"), tmp_path_factory.mktemp("moments"))
    async with database_with_schema(settings, MOMENTS.metadata) as database:
        yield database


@pytest.fixture
async def empty(database: Database) -> Database:
    async with database.core_transaction() as connection:
        await connection.execute(MOMENTS.delete())
    return database


async def test_a_moment_with_an_offset_reads_back_as_the_same_instant_in_utc(empty):
    paris = datetime(2026, 12, 7, 4, 19, 53, 123, tzinfo=timezone(timedelta(hours=1)))
    async with empty.core_transaction() as connection:
        await connection.execute(insert(MOMENTS), [{"id": 1, "at": paris}, {"id": 2, "at": None}])
    async with empty.core_transaction() as connection:
        found = dict((await connection.execute(select(MOMENTS.c.id, MOMENTS.c.at))).all())
    assert found == {1: datetime(2026, 12, 7, 3, 19, 53, 123, tzinfo=UTC), 2: None}
    assert found[1].tzinfo is UTC


async def test_a_naive_moment_is_refused(empty):
    with pytest.raises(Exception, match="naive datetimes are not stored"):
        async with empty.core_transaction() as connection:
            await connection.execute(insert(MOMENTS), {"id": 1, "at": datetime(2026, 12, 7)})


@pytest.mark.skipif(BACKEND != "sqlite", reason="SQLite stores timestamps as text")
async def test_sqlite_stores_the_text_its_datetime_type_always_has(empty):
    moments = {
        1: datetime(2026, 12, 7, 3, 19, 53, 123, tzinfo=UTC),
        2: datetime(2026, 12, 7, 3, 19, 53, tzinfo=UTC),  # microseconds still written
        3: datetime(1, 1, 1, tzinfo=UTC),  # years padded to four digits
    }
    async with empty.core_transaction() as connection:
        await connection.execute(
            insert(MOMENTS), [{"id": i, "at": at} for i, at in moments.items()]
        )
        stored = dict((await connection.execute(text("SELECT id, at FROM moments"))).all())
    assert stored == {
        1: "2026-12-07 03:19:53.000123",
        2: "2026-12-07 03:19:53.000000",
        3: "0001-01-01 00:00:00.000000",
    }
