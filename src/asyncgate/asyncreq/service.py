"""Reading and cancelling stored requests, always within the caller's tenant."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from asyncgate.asyncreq.models import AsyncRequest, State
from asyncgate.asyncreq.queue import RequestQueue
from asyncgate.asyncreq.queue.table import not_found
from asyncgate.db.base import utcnow


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


def _checked(request_id: str) -> str:
    """A request ID that can exist: anything but a UUID is no request at all."""
    try:
        uuid.UUID(request_id)
    except ValueError:
        raise not_found(request_id) from None
    return request_id


async def get_request(
    queue: RequestQueue, session: AsyncSession, tenant_id: str, request_id: str
) -> AsyncRequest:
    request = await queue.find(session, tenant_id, _checked(request_id))
    if request is None:
        raise not_found(request_id)
    return request


async def cancel_request(
    queue: RequestQueue, session: AsyncSession, tenant_id: str, request_id: str
) -> AsyncRequest:
    """Cancel a queued request; one already running or finished is a 409."""
    return await queue.cancel(session, tenant_id, _checked(request_id), utcnow())


async def list_requests(
    session: AsyncSession, tenant_id: str, query: RequestQuery
) -> list[AsyncRequest]:
    """The tenant's requests, newest first (ties by ID), without their bodies. Requests
    accepted moments ago may not be listed yet: see ``RequestQueue.not_yet_listed``."""
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
