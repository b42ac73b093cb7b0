"""JSON columns read back the values written, on every backend, whichever encoder wrote them:
integers beyond 64 bits stay exact and keys that are not strings become strings, as the
standard library's ``json`` has always stored them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import JSON, Column, Integer, MetaData, Table, insert, select

from asyncgate.db.engine import Database
from tests.support.database import database_with_schema, settings_for

DOCUMENTS = Table(
    "documents", MetaData(), Column("id", Integer, primary_key=True), Column("body", JSON)
)


@pytest.fixture(scope="module")
async def database(fresh_database_url, tmp_path_factory) -> AsyncIterator[Database]:
    settings = settings_for(fresh_database_url("json"), tmp_path_factory.mktemp("documents"))
    async with database_with_schema(settings, DOCUMENTS.metadata) as database:
        yield database


async def stored_and_read(database: Database, body: object) -> object:
    async with database.core_transaction() as connection:
        await connection.execute(DOCUMENTS.delete())
        await connection.execute(insert(DOCUMENTS), {"id": 1, "body": body})
    async with database.core_transaction() as connection:
        return (await connection.execute(select(DOCUMENTS.c.body))).scalar_one()


async def test_a_document_reads_back_as_written(database):
    body = {"name": "Zoë", "tags": ["a", 1, 2.5, True, None], "nested": {"empty": {}}}
    assert await stored_and_read(database, body) == body


async def test_integers_beyond_64_bits_stay_exact(database):
    assert await stored_and_read(database, {"amount": 10**30}) == {"amount": 10**30}


async def test_keys_that_are_not_strings_are_stored_as_strings(database):
    assert await stored_and_read(database, {1: "one"}) == {"1": "one"}
