"""Where the processes of one service share each tenant's limits: the database.

A process never asks the database about a single request. It takes a share of a quota window
(a *grant*: so many requests it may admit) or of a concurrency pool (a *lease*: so many
requests it may have in flight), spends it in memory, and comes back when it is spent. Grants
and leases are handed out under a per-tenant lock, never beyond the limit, so the processes
together admit no more than one process would; what a process holds and does not use is
unavailable to the others until it gives it back (leases) or the window ends (grants).

Leases expire unless their process renews them, so the slots of a process that died come back
after :data:`LEASE_SECONDS`. Grants need no expiry: a window's grants are forgotten when the
window ends.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import BigInteger, Float, Index, Integer, String, delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import Mapped, mapped_column

from asyncgate.db.base import Base
from asyncgate.db.engine import Database

# How long a lease outlives its last renewal; processes renew theirs every second or so.
LEASE_SECONDS = 10.0
_LOCK = text("SELECT pg_advisory_xact_lock(:lock_id)")


class QuotaGrant(Base):
    """How much of a tenant's current quota window the processes have taken between them."""

    __tablename__ = "quota_grants"

    tenant_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    seconds: Mapped[int] = mapped_column(Integer, primary_key=True)  # the window's length
    window_end: Mapped[int] = mapped_column(BigInteger)  # seconds since the epoch
    granted: Mapped[int] = mapped_column(Integer)


class ConcurrencyLease(Base):
    """The slots of a tenant's concurrency pool that one process holds."""

    __tablename__ = "concurrency_leases"
    __table_args__ = (Index("ix_concurrency_leases_pool", "tenant_id", "pool"),)

    holder: Mapped[str] = mapped_column(String(32), primary_key=True)  # the process's ID
    tenant_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    pool: Mapped[str] = mapped_column(String(32), primary_key=True)
    slots: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[float] = mapped_column(Float)  # seconds since the epoch


@dataclass(frozen=True, slots=True)
class QuotaClaim:
    """A request for ``want`` more of the window of ``seconds`` ending at ``window_end``."""

    seconds: int
    window_end: int
    limit: int
    want: int


@dataclass(frozen=True, slots=True)
class Granted:
    granted: int  # what this claim got (0 when the window is spent)
    taken: int  # what the processes have taken of the window in all, this claim included


class LimitStore:
    """Grants and leases of this process (``holder``) in ``database``."""

    def __init__(self, database: Database, holder: str) -> None:
        self.database = database
        self.holder = holder

    async def claim_quota(self, tenant_id: str, claims: Sequence[QuotaClaim]) -> list[Granted]:
        """Takes what is left of each window, up to its ``want``; one answer per claim."""
        grants = QuotaGrant.__table__
        async with self.database.core_transaction(synced=False) as connection:
            await self._lock(connection, f"quota\n{tenant_id}")
            rows = {
                row.seconds: row
                for row in await connection.execute(
                    select(grants.c.seconds, grants.c.window_end, grants.c.granted).where(
                        grants.c.tenant_id == tenant_id,
                        grants.c.seconds.in_([claim.seconds for claim in claims]),
                    )
                )
            }
            answers = []
            for claim in claims:
                row = rows.get(claim.seconds)
                taken = row.granted if row is not None and row.window_end == claim.window_end else 0
                granted = max(0, min(claim.want, claim.limit - taken))
                values = {"window_end": claim.window_end, "granted": taken + granted}
                if row is None:
                    await connection.execute(
                        grants.insert().values(tenant_id=tenant_id, seconds=claim.seconds, **values)
                    )
                elif granted or row.window_end != claim.window_end:
                    await connection.execute(
                        grants.update()
                        .where(grants.c.tenant_id == tenant_id, grants.c.seconds == claim.seconds)
                        .values(**values)
                    )
                answers.append(Granted(granted, taken + granted))
            return answers

    async def grow_lease(
        self, tenant_id: str, pool: str, held: int, want: int, limit: int, now: float
    ) -> tuple[int, int]:
        """Adds up to ``want`` slots to this process's lease of the pool, of which it holds
        ``held``; returns the slots added and those other processes hold."""
        leases = ConcurrencyLease.__table__
        async with self.database.core_transaction(synced=False) as connection:
            await self._lock(connection, f"pool\n{tenant_id}\n{pool}")
            others = int(
                await connection.scalar(
                    select(func.sum(leases.c.slots)).where(
                        leases.c.tenant_id == tenant_id,
                        leases.c.pool == pool,
                        leases.c.holder != self.holder,
                        leases.c.expires_at > now,
                    )
                )
                or 0
            )
            added = max(0, min(want, limit - others - held))
            if added:
                await self._set_lease(connection, tenant_id, pool, held + added, now)
            return added, others

    async def renew(
        self, leases: dict[tuple[str, str], int], now: float
    ) -> dict[tuple[str, str], int]:
        """Sets this process's leases to ``leases`` (slots per tenant and pool; a pool not
        named is given back) and renews them; returns the slots other processes hold in each.
        Never grows a lease: only :meth:`grow_lease` does, under the pool's lock."""
        table = ConcurrencyLease.__table__
        async with self.database.core_transaction(synced=False) as connection:
            await connection.execute(delete(table).where(table.c.holder == self.holder))
            if not leases:
                return {}
            await connection.execute(
                table.insert(),
                [
                    {
                        "holder": self.holder,
                        "tenant_id": tenant_id,
                        "pool": pool,
                        "slots": slots,
                        "expires_at": now + LEASE_SECONDS,
                    }
                    for (tenant_id, pool), slots in leases.items()
                ],
            )
            rows = await connection.execute(
                select(table.c.tenant_id, table.c.pool, func.sum(table.c.slots))
                .where(
                    table.c.tenant_id.in_({tenant_id for tenant_id, _ in leases}),
                    table.c.holder != self.holder,
                    table.c.expires_at > now,
                )
                .group_by(table.c.tenant_id, table.c.pool)
            )
            return {(tenant_id, pool): slots for tenant_id, pool, slots in rows}

    async def _set_lease(
        self, connection: AsyncConnection, tenant_id: str, pool: str, slots: int, now: float
    ) -> None:
        table = ConcurrencyLease.__table__
        mine = (table.c.holder == self.holder, table.c.tenant_id == tenant_id, table.c.pool == pool)
        await connection.execute(delete(table).where(*mine))
        await connection.execute(
            table.insert().values(
                holder=self.holder,
                tenant_id=tenant_id,
                pool=pool,
                slots=slots,
                expires_at=now + LEASE_SECONDS,
            )
        )

    async def _lock(self, connection: AsyncConnection, name: str) -> None:
        """Serializes the transactions that hand out one tenant's grants or one pool's slots.
        SQLite's writers are serialized already."""
        if self.database.concurrent_writers:
            digest = hashlib.sha256(name.encode()).digest()
            lock_id = int.from_bytes(digest[:8], "big", signed=True)
            await connection.execute(_LOCK, {"lock_id": lock_id})
