"""Rows made on first use, safely when several transactions race to make the same one."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

_INSERTS = {"postgresql": pg_insert, "sqlite": sqlite_insert}


async def insert_unless_present(
    session: AsyncSession, table: Table, values: dict[str, Any]
) -> None:
    """Inserts the row unless it would break a unique constraint, in which case nothing happens.

    On PostgreSQL a racing insert waits for the transaction that inserted first and, once that
    commits, does nothing; a statement after this one then sees the winner's row. SQLite has
    one writer at a time, so there is no race there.
    """
    insert = _INSERTS[session.bind.dialect.name]
    await session.execute(insert(table).values(values).on_conflict_do_nothing())
