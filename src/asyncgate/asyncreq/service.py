"""Reading and cancelling stored requests, always within the caller's tenant."""

from __future__ import annotations

import uuid

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from asyncgate.asyncreq.inbox import Inbox
from asyncgate.asyncreq.models import AsyncRequest, State
from asyncgate.db.base import utcnow
from asyncgate.http.errors import BusinessRuleViolated, NotFound, Resource


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
        request = await inbox.find(tenant_id, request_id) or await _in_queue(
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
    One still in the inbox is taken in first, in this transaction."""
    if inbox is not None:
        await inbox.take_in(await session.connection())
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
