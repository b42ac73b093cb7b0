"""What a tenant has stored, counted cheaply enough to count after every request: its rows in
every table (all rows of the few tables without a tenant) in one statement, and, where asked,
the async requests the queue holds unfinished wherever they wait."""

from __future__ import annotations

from sqlalchemy import Select, func, select

from asyncgate.asyncreq.queue import RequestQueue
from asyncgate.db.base import utcnow
from asyncgate.db.engine import Database
from asyncgate.db.models import metadata

REQUEST_MACHINERY = frozenset({"quota_grants", "concurrency_leases"})
"""Tables every request may write, refused or not: rate-limit quota shares and concurrency
leases."""


def _counts(tenant_id: str) -> Select:
    counts = []
    for name, table in sorted(metadata.tables.items()):
        if name in REQUEST_MACHINERY:
            continue
        count = select(func.count()).select_from(table)
        if "tenant_id" in table.c:
            count = count.where(table.c.tenant_id == tenant_id)
        counts.append(count.scalar_subquery().label(name))
    return select(*counts)


async def stored_rows(
    database: Database, tenant_id: str, queue: RequestQueue | None = None
) -> dict[str, int]:
    """Rows per table, and with ``queue`` the requests it holds unfinished (SQLite keeps
    accepted ones in files of their own)."""
    async with database.read_transaction() as session:
        stored = dict((await session.execute(_counts(tenant_id))).one()._mapping)
        if queue is not None:
            backlog = await queue.backlog(session, utcnow())
            stored["unfinished requests"] = backlog.queued + backlog.retrying + backlog.running
    return stored
