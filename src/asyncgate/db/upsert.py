"""Rows made on first use, safely when several transactions race to make the same one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

_INSERTS: dict[str, Callable[[Table], postgresql.Insert | sqlite.Insert]] = {
    "postgresql": postgresql.insert,
    "sqlite": sqlite.insert,
}


async def insert_unless_present(
    session: AsyncSession, table: Table, values: dict[str, Any]
) -> None:
    """Inserts the row unless it would break a unique constraint, in which case nothing happens.

    On PostgreSQL a racing insert waits for the transaction that inserted first and, once that
    commits, does nothing; a statement after this one then sees the winner's row. SQLite has
    one writer at a time, so there is no race there.
    """
    insert = _INSERTS[session.get_bind().dialect.name]
    await session.execute(insert(table).values(values).on_conflict_do_nothing())
