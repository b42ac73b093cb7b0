"""One unit of work per request, owned by the route rather than by handlers.

Every API route uses :class:`UnitOfWorkRoute`: the handler runs inside one database transaction
that commits after the handler returns and before the response is sent, and rolls back when the
handler raises. Handlers and services never commit.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.routing import APIRoute
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from asyncgate.http import idempotency


class UnitOfWorkRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run_in_transaction(request: Request) -> Response:
            database = request.app.state.database
            key = idempotency.key_of(request)
            try:
                async with database.transaction() as session:
                    request.state.session = session
                    response = await handler(request)
                    if key is not None and 200 <= response.status_code < 300:
                        await idempotency.remember(session, request, key, response)
            except IntegrityError:
                if key is None:
                    raise
                # A concurrent request with the same key committed first: answer as it did.
                async with database.transaction() as session:
                    stored = await idempotency.recall(session, request, key)
                if stored is None:
                    raise
                return stored
            return response

        return run_in_transaction


def get_session(request: Request) -> AsyncSession:
    return request.state.session


Session = Annotated[AsyncSession, Depends(get_session)]
