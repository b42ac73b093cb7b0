"""Per-tenant counters behind human-readable numbers (A00000001, O-00000001, INV00000001)."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from asyncgate.db.base import Base


class Sequence(Base):
    __tablename__ = "sequences"

    tenant_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(Integer)


async def next_value(session: AsyncSession, tenant_id: str, name: str) -> int:
    """The next number of a tenant's counter, in one atomic upsert (row lock serialises takers)."""
    insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    statement = insert(Sequence).values(tenant_id=tenant_id, name=name, value=1)
    statement = statement.on_conflict_do_update(
        index_elements=[Sequence.tenant_id, Sequence.name], set_={"value": Sequence.value + 1}
    ).returning(Sequence.value)
    return (await session.execute(statement)).scalar_one()
