"""Per-tenant counters behind human-readable numbers (A00000001, O-00000001, INV00000001)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import cast

from sqlalchemy import ForeignKey, Integer, String, Table, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, Mapped, mapped_column
from sqlalchemy.sql.dml import ReturningInsert

from asyncgate.db.base import Base


class Sequence(Base):
    __tablename__ = "sequences"

    tenant_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(Integer)


_SEQUENCES = cast(Table, Sequence.__table__)


def _take_statement(insert: postgresql.Insert | sqlite.Insert) -> ReturningInsert[int]:
    """``value += :count`` in one upsert, built once: building it costs more than running it.
    Of the table, not the mapped class: the ORM would build its bulk insert anew each time."""
    statement = insert.values(
        tenant_id=bindparam("tenant_id"), name=bindparam("name"), value=bindparam("count")
    )
    return statement.on_conflict_do_update(
        index_elements=[_SEQUENCES.c.tenant_id, _SEQUENCES.c.name],
        set_={"value": _SEQUENCES.c.value + statement.excluded.value},
    ).returning(_SEQUENCES.c.value)


_TAKE = {
    "postgresql": _take_statement(postgresql.insert(_SEQUENCES)),
    "sqlite": _take_statement(sqlite.insert(_SEQUENCES)),
}


async def next_value(session: AsyncSession, tenant_id: str, name: str, count: int = 1) -> int:
    """Takes the next ``count`` numbers of a tenant's counter in one atomic upsert (the row lock
    serialises takers); returns the last of them."""
    statement = _TAKE[session.get_bind().dialect.name]
    parameters = {"tenant_id": tenant_id, "name": name, "count": count}
    return (await session.execute(statement, parameters)).scalar_one()


async def next_free_numbers(
    session: AsyncSession,
    tenant_id: str,
    name: str,
    count: int,
    formatted: Callable[[int], str],
    taken: Callable[[list[str]], Awaitable[set[str]]],
) -> list[str]:
    """The next ``count`` numbers of a tenant's counter, as ``formatted`` writes them, leaving
    out those ``taken`` reports in use (numbers callers chose themselves)."""
    free: list[str] = []
    while len(free) < count:
        wanted = count - len(free)
        last = await next_value(session, tenant_id, name, wanted)
        numbers = [formatted(value) for value in range(last - wanted + 1, last + 1)]
        in_use = await taken(numbers)
        free += [number for number in numbers if number not in in_use]
    return free


async def next_free_number(
    session: AsyncSession, tenant_id: str, name: str, pattern: str, column: InstrumentedAttribute
) -> str:
    """The next number of a tenant's counter, written by ``pattern`` (``"O-{:08d}"``), that no
    row of the tenant holds in ``column`` (a number a caller chose)."""
    model = column.class_

    async def taken(numbers: list[str]) -> set[str]:
        statement = select(column).where(model.tenant_id == tenant_id, column.in_(numbers))
        return set(await session.scalars(statement))

    [number] = await next_free_numbers(session, tenant_id, name, 1, pattern.format, taken)
    return number
