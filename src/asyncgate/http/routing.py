"""One unit of work per request, owned by the route rather than by handlers.

Every API route uses :class:`UnitOfWorkRoute`: the handler runs inside one database transaction
that commits after the handler returns and before the response is sent, and rolls back when the
handler raises or runs past ``ASYNCGATE_REQUEST_TIMEOUT`` (a 504, as Zuora's gateway answers
after 120 s). Handlers and services never commit. GET and HEAD run in a read-only transaction,
which on SQLite does not take the write lock.

When the async worker replays a stored request in-process, the scope carries the worker's own
session (``SCOPE_SESSION``): the handler then runs inside the savepoint the worker opened for
this attempt, which the worker keeps only when the attempt succeeded, so the handler's effects
commit together with the request's recorded outcome, or not at all.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from asyncgate.http import idempotency
from asyncgate.http.errors import GatewayTimeout, Resource, ZuoraError, error_response
from asyncgate.http.validation import validation_error

READ_METHODS = frozenset({"GET", "HEAD"})
SCOPE_SESSION = "asyncgate.session"
SCOPE_PRINCIPAL = "asyncgate.principal"
SCOPE_RESOURCE_ID = "asyncgate.resource_id"


class UnitOfWorkRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run_in_transaction(request: Request) -> Response:
            outer_session = request.scope.get(SCOPE_SESSION)
            if outer_session is not None:
                # The worker's savepoint around this attempt keeps or drops its effects.
                request.state.session = outer_session
                return await handler(request)
            async with request.app.state.rate_limits.admission(request):
                return await _run_in_transaction(request, handler)

        return run_in_transaction


async def _run_in_transaction(
    request: Request, handler: Callable[[Request], Coroutine[Any, Any, Response]]
) -> Response:
    """Runs the route in a transaction of its own: see the module's docstring."""
    database = request.app.state.database
    transaction = (
        database.read_transaction if request.method in READ_METHODS else database.transaction
    )
    limit = request.app.state.settings.request_timeout.total_seconds()
    try:
        async with transaction() as session:
            request.state.session = session
            try:
                async with asyncio.timeout(limit):
                    response = await handler(request)
            except TimeoutError:
                raise GatewayTimeout(
                    f"The request did not complete within {limit:g} s; nothing was kept",
                    resource=Resource.REQUEST,
                ) from None
            key = idempotency.marked_key(request)
            if key is not None:
                await idempotency.remember(session, request, key, response)
    except (ZuoraError, RequestValidationError) as failure:
        key = idempotency.marked_key(request)
        error = (
            validation_error(failure.errors())
            if isinstance(failure, RequestValidationError)
            else failure
        )
        if key is None or not idempotency.kept_on_failure(error):
            raise
        return await _remember_failure(request, key, error)
    except IntegrityError:
        key = idempotency.marked_key(request)
        if key is None:
            raise
        # A concurrent request with the same key committed first: answer as it did.
        async with database.transaction() as session:
            stored = await idempotency.recall(session, request, key)
        if stored is None:
            raise
        return stored
    return response


async def _remember_failure(request: Request, key: str, error: ZuoraError) -> Response:
    """The failure's answer, kept for its key once the work was rolled back."""
    response = error_response(
        error,
        request.state.process_id,
        request.method,
        request.url.path,
        request.app.state.settings.error_statuses,
    )
    try:
        async with request.app.state.database.transaction() as session:
            await idempotency.remember(session, request, key, response)
    except IntegrityError:
        pass  # a repeat that raced this one kept its answer first; this answer still holds
    return response


def declare_resource(request: Request, resource_id: str) -> None:
    """Name the resource this request created or changed (``data.id`` of its async callout)."""
    request.scope[SCOPE_RESOURCE_ID] = resource_id


async def get_session(request: Request) -> AsyncSession:
    # async: a plain function dependency would cost a worker-thread hop on every request.
    try:
        return request.state.session
    except AttributeError:
        # FastAPI's include_router keeps each route's own class: the router must set it.
        raise RuntimeError(
            f"{request.method} {request.url.path} is not served by a UnitOfWorkRoute; "
            "create its APIRouter with route_class=UnitOfWorkRoute"
        ) from None


Session = Annotated[AsyncSession, Depends(get_session)]
