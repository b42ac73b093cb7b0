"""Reading and cancelling stored requests, always within the caller's tenant."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from asyncgate.asyncreq.inbox import Inbox
from asyncgate.asyncreq.models import AsyncRequest, State
from asyncgate.db.base import utcnow
from asyncgate.http.errors import BusinessRuleViolated, NotFound, Resource


@dataclass(frozen=True, slots=True)
class RequestQuery:
    """Which requests to list: each filter given narrows the list."""

    state: State | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    path: str | None = None  # the start of the synchronous path (``/v1/accounts``)
    track_id: str | None = None
    offset: int = 0
    limit: int = 50


def _not_found(request_id: str) -> NotFound:
    return NotFound(f"Async request {request_id} does not exist", resource=Resource.ASYNC_REQUEST)


async def get_request(
    session: AsyncSession, inbox: Inbox | None, tenant_id: str, request_id: str
) -> AsyncRequest:
    """A tenant's request, from the queue or, not taken in yet, from the inbox."""
    try:
        uuid.UUID(request_id)
    except ValueError:
        raise _not_found(request_id) from None
    request = await _in_queue(session, tenant_id, request_id)
    if request is None and inbox is not None:
        # Looked for in the queue again when gone from the inbox: taken in meanwhile.
        connection = await session.connection()
        request = await inbox.find(connection, tenant_id, request_id) or await _in_queue(
            session, tenant_id, request_id
        )
    if request is None:
        raise _not_found(request_id)
    return request


async def _in_queue(session: AsyncSession, tenant_id: str, request_id: str) -> AsyncRequest | None:
    return await session.scalar(
        select(AsyncRequest).where(
            AsyncRequest.id == request_id, AsyncRequest.tenant_id == tenant_id
        )
    )


async def cancel_request(
    session: AsyncSession, inbox: Inbox | None, tenant_id: str, request_id: str
) -> AsyncRequest:
    """Cancel a request still waiting in the queue; one already running or finished is a 409.
    One still in the inbox is taken in first (with those accepted before it), in this
    transaction."""
    if inbox is not None:
        connection = await session.connection()
        while await _in_queue(session, tenant_id, request_id) is None:
            if not await inbox.take_in(connection):
                break
    request = await get_request(session, None, tenant_id, request_id)
    result = await session.execute(
        update(AsyncRequest)
        .where(AsyncRequest.id == request.id, AsyncRequest.state == State.QUEUED)
        .values(state=State.CANCELLED, completed_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        await session.refresh(request)
        raise BusinessRuleViolated(
            f"Async request {request_id} is {request.state} and can no longer be cancelled",
            resource=Resource.ASYNC_REQUEST,
            status=409,
        )
    await session.refresh(request)
    return request


async def list_requests(
    session: AsyncSession, tenant_id: str, query: RequestQuery
) -> list[AsyncRequest]:
    """The tenant's requests in the queue, newest first (ties by ID), without their bodies.
    On SQLite, requests accepted moments ago may still wait in the inbox: see
    :meth:`Inbox.waiting`."""
    statement = (
        select(AsyncRequest)
        .where(AsyncRequest.tenant_id == tenant_id)
        .options(
            defer(AsyncRequest.body, raiseload=True),
            defer(AsyncRequest.response_body, raiseload=True),
        )
        .order_by(AsyncRequest.created_at.desc(), AsyncRequest.id.desc())
        .offset(query.offset)
        .limit(query.limit)
    )
    if query.state is not None:
        statement = statement.where(AsyncRequest.state == query.state)
    if query.created_from is not None:
        statement = statement.where(AsyncRequest.created_at >= query.created_from)
    if query.created_to is not None:
        statement = statement.where(AsyncRequest.created_at <= query.created_to)
    if query.path:
        statement = statement.where(AsyncRequest.path.startswith(query.path, autoescape=True))
    if query.track_id:
        statement = statement.where(AsyncRequest.track_id == query.track_id)
    return list(await session.scalars(statement))
