"""What every queue does on the ``async_requests`` table, where claimed, retried and finished
requests live on any database: claiming due rows, finding, cancelling, counting and deleting.
The implementations add how accepts are stored and how workers hear of them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    CursorResult,
    Select,
    Table,
    bindparam,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.dml import ReturningDelete

from asyncgate.asyncreq.models import (
    CLAIMED_COLUMNS,
    FINISHED_STATES,
    AsyncRequest,
    ClaimedRequest,
    State,
)
from asyncgate.asyncreq.queue.base import Backlog, DeleteWithThem, Lease, RequestQueue
from asyncgate.auth.models import Tenant
from asyncgate.db.engine import Database
from asyncgate.db.leases import LeasedTable
from asyncgate.http.errors import BusinessRuleViolated, NotFound, Resource
from asyncgate.http.idempotency import KeyReused

TABLE = cast(Table, AsyncRequest.__table__)
# What makes a repeat the same request as the one first stored under its idempotency key.
IDENTITY_COLUMNS = ("method", "path", "query_string", "body")

_QUEUED = select(func.count(), func.min(AsyncRequest.run_after)).where(
    AsyncRequest.state == State.QUEUED, AsyncRequest.run_after <= bindparam("now")
)
_RETRYING = select(func.count()).where(
    AsyncRequest.state == State.QUEUED, AsyncRequest.run_after > bindparam("now")
)
_RUNNING = select(func.count()).where(AsyncRequest.state == State.RUNNING)


# Requests are leased work (``db.leases``): claimed from ``queued`` into ``running``, each claim
# counting an attempt; workers fence their outcomes on the lease.
LEASED_REQUESTS = LeasedTable(
    TABLE,
    waiting=State.QUEUED,
    held=State.RUNNING,
    due="run_after",
    claim_sets={"attempts": TABLE.c.attempts + 1, "started_at": bindparam("now")},
)


def _finished_before(
    tenant_id: ColumnElement[str] | InstrumentedAttribute[str], kept: ColumnElement[bool]
) -> Select[str]:
    return select(AsyncRequest.id).where(
        AsyncRequest.tenant_id == tenant_id,
        AsyncRequest.created_at < bindparam("cutoff"),
        AsyncRequest.state.in_(FINISHED_STATES),
        ~kept,
    )


def _delete_finished_statement(
    kept: ColumnElement[bool], *, skip_locked: bool
) -> ReturningDelete[str, str | None]:
    old = _finished_before(bindparam("tenant_id"), kept).limit(bindparam("limit"))
    if skip_locked:  # workers deleting at once skip each other's rows
        old = old.with_for_update(skip_locked=True)
    return (
        delete(AsyncRequest)
        .where(AsyncRequest.id.in_(old))
        .returning(AsyncRequest.id, AsyncRequest.idempotency_key)
    )


def not_found(request_id: str) -> NotFound:
    return NotFound(f"Async request {request_id} does not exist", resource=Resource.ASYNC_REQUEST)


def not_cancellable(request: AsyncRequest) -> BusinessRuleViolated:
    return BusinessRuleViolated(
        f"Async request {request.id} is {request.state} and can no longer be cancelled",
        resource=Resource.ASYNC_REQUEST,
        status=409,
    )


def key_used_for_another_request() -> KeyReused:
    return KeyReused(
        "This Idempotency-Key was already used for a different request",
        resource=Resource.ASYNC_REQUEST,
    )


def same_call(first: tuple[Any, ...] | None, request: dict[str, Any]) -> str | Exception:
    """The ID of the request first stored under ``request``'s idempotency key (``first``: its
    :data:`IDENTITY_COLUMNS` and ID) when it is the same call; else the conflict."""
    if first is None or tuple(first[:-1]) != tuple(request[name] for name in IDENTITY_COLUMNS):
        return key_used_for_another_request()
    return str(first[-1])


class TableQueue(RequestQueue):
    """The part of every queue that works on ``async_requests``."""

    def __init__(self, database: Database) -> None:
        self.database = database
        # Claims and deletions skip rows other transactions hold, where others run at once.
        self.skip_locked = database.concurrent_writers

    async def claim_from_table(
        self, connection: AsyncConnection, lease: Lease, limit: int, now: datetime
    ) -> list[ClaimedRequest]:
        """Claim up to ``limit`` due rows of the table, in ``connection``'s transaction."""
        rows = await connection.execute(
            LEASED_REQUESTS.claim(skip_locked=self.skip_locked, returning=CLAIMED_COLUMNS),
            {
                "now": now,
                "limit": limit,
                "owner": lease.owner,
                "lease_expires_at": lease.expires_at,
            },
        )
        return [ClaimedRequest(*row) for row in rows]

    async def find(
        self, session: AsyncSession, tenant_id: str, request_id: str
    ) -> AsyncRequest | None:
        return await self.find_in_table(session, tenant_id, request_id)

    @staticmethod
    async def find_in_table(
        session: AsyncSession, tenant_id: str, request_id: str
    ) -> AsyncRequest | None:
        return await session.scalar(
            select(AsyncRequest).where(
                AsyncRequest.id == request_id, AsyncRequest.tenant_id == tenant_id
            )
        )

    async def cancel(
        self, session: AsyncSession, tenant_id: str, request_id: str, now: datetime
    ) -> AsyncRequest:
        request = await self.find_in_table(session, tenant_id, request_id)
        if request is None:
            raise not_found(request_id)
        result = await session.execute(
            update(AsyncRequest)
            .where(AsyncRequest.id == request.id, AsyncRequest.state == State.QUEUED)
            .values(state=State.CANCELLED, completed_at=now)
            .execution_options(synchronize_session=False)
        )
        await session.refresh(request)
        if cast(CursorResult[Any], result).rowcount != 1:
            raise not_cancellable(request)
        return request

    async def backlog(self, session: AsyncSession, now: datetime) -> Backlog:
        due, first_due = (await session.execute(_QUEUED, {"now": now})).one()
        return Backlog(
            queued=due,
            retrying=await session.scalar(_RETRYING, {"now": now}) or 0,
            running=await session.scalar(_RUNNING) or 0,
            first_due=first_due,
        )

    async def tenants_with_finished_before(
        self, cutoff: datetime, kept: ColumnElement[bool]
    ) -> list[str]:
        # Each tenant looked up in ix_async_requests_tenant_created.
        with_old = select(Tenant.id).where(_finished_before(Tenant.id, kept).exists())
        async with self.database.read_transaction() as session:
            return list((await session.scalars(with_old, {"cutoff": cutoff})).all())

    async def delete_finished(
        self,
        tenant_id: str,
        cutoff: datetime,
        kept: ColumnElement[bool],
        limit: int,
        with_them: DeleteWithThem,
    ) -> int:
        statement = _delete_finished_statement(kept, skip_locked=self.skip_locked)
        parameters = {"tenant_id": tenant_id, "cutoff": cutoff, "limit": limit}
        async with self.database.core_transaction() as connection:
            deleted = [(row[0], row[1]) for row in await connection.execute(statement, parameters)]
            if deleted:
                await with_them(connection, [request_id for request_id, _ in deleted])
        await self.forget_keys([request_id for request_id, key in deleted if key is not None])
        return len(deleted)

    async def forget_keys(self, request_ids: list[str]) -> None:
        """After their deletion has committed: what else the queue keeps of requests that had
        an idempotency key (nothing, where the table is where keys are checked)."""


def in_stored_order(claimed: Iterable[ClaimedRequest]) -> list[ClaimedRequest]:
    """Claimed requests in the order they are to run: due first first."""
    return sorted(claimed, key=lambda request: request.run_after)
