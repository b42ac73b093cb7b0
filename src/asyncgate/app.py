"""The application factory: routers, middleware, error handlers and shared state."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.middleware.gzip import GZipMiddleware
from starlette.responses import Response

from asyncgate import __version__
from asyncgate.asyncreq.accept_latency import AcceptLatencies
from asyncgate.asyncreq.queue import queue_for
from asyncgate.asyncreq.resolver import RouteTable
from asyncgate.asyncreq.routes import accept_route as async_accept_route
from asyncgate.asyncreq.routes import jobs_router as async_jobs_router
from asyncgate.asyncreq.routes import requests_router as async_requests_router
from asyncgate.auth.dependencies import TokenCache, authenticate
from asyncgate.auth.revocations import watching_revocations
from asyncgate.auth.routes import router as oauth_router
from asyncgate.billing.accounts.routes import router as accounts_router
from asyncgate.billing.catalog.routes import router as catalog_router
from asyncgate.billing.contacts.routes import router as contacts_router
from asyncgate.billing.invoices.routes import router as invoices_router
from asyncgate.billing.orders.routes import router as orders_router
from asyncgate.billing.subscriptions.routes import router as subscriptions_router
from asyncgate.clock import SYSTEM_CLOCK, Clock
from asyncgate.config import Settings, get_settings
from asyncgate.console.headers import ConsoleHeadersMiddleware, is_console
from asyncgate.console.mount import mount_console
from asyncgate.console.rendering import error_page
from asyncgate.crud.actions import router as actions_router
from asyncgate.crud.routes import router as crud_router
from asyncgate.db.checkpoints import checkpointing
from asyncgate.db.engine import Database
from asyncgate.http.errors import (
    InternalError,
    MalformedJson,
    Resource,
    UnknownPath,
    UnsupportedMethod,
    ZuoraError,
    error_response,
)
from asyncgate.http.idempotency import IdempotentReplay, replay_if_seen
from asyncgate.http.middleware import ZuoraConventionsMiddleware
from asyncgate.http.openapi import serve_described
from asyncgate.http.ratelimit import (
    RateLimitHeadersMiddleware,
    RateLimits,
    limit_token_requests,
)
from asyncgate.http.routing import UnitOfWorkRoute
from asyncgate.http.system import router as system_router
from asyncgate.http.validation import validation_error
from asyncgate.metrics import router as metrics_router
from asyncgate.notifications.history_routes import router as callout_history_router
from asyncgate.notifications.routes import router as notifications_router
from asyncgate.notifications.routes import settings_router as callout_settings_router
from asyncgate.runtime import tune_for_serving
from asyncgate.secretbox import SecretBox, load_secret_key

log = logging.getLogger("asyncgate")

GZIP_MINIMUM_BYTES = 1000


def _render(request: Request, error: ZuoraError) -> Response:
    """Zuora's envelope; under ``/console`` (an unknown page, a method no page takes), the
    console's error page, which a browser shows."""
    if is_console(request.url.path):
        return error_page(request, error)
    return error_response(
        error,
        request.state.process_id,
        request.method,
        request.url.path,
        request.app.state.settings.error_statuses,
    )


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ZuoraError)
    async def zuora_error(request: Request, error: ZuoraError) -> Response:
        return _render(request, error)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> Response:
        return _render(request, validation_error(error.errors()))

    @app.exception_handler(IdempotentReplay)
    async def replay(request: Request, replay: IdempotentReplay) -> Response:
        return replay.response

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> Response:
        route = f"{request.method} {request.url.path}"
        if error.status_code == 405:
            methods = request.app.state.route_table.methods_at(request.app, request.url.path)
            allowed = ", ".join(methods)
            return _render(
                request, UnsupportedMethod(f"{route} is not supported", headers={"Allow": allowed})
            )
        if error.status_code == 400:  # a body FastAPI could not read (a form field too long)
            return _render(request, MalformedJson(str(error.detail), resource=Resource.REQUEST))
        if error.status_code == 404:
            return _render(request, UnknownPath(f"No resource matches {route}"))
        return _render(request, ZuoraError(str(error.detail), status=error.status_code))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> Response:
        log.exception("unhandled error in %s %s", request.method, request.url.path)
        return _render(
            request,
            InternalError(
                f"An internal error occurred; quote processId {request.state.process_id}",
                resource=Resource.GENERAL,
            ),
        )


def authenticated_router(*routers: APIRouter, prefix: str = "") -> APIRouter:
    """``routers`` mounted as every API route is: authenticated, rate limited, one transaction
    each, idempotent on request."""
    api = APIRouter(
        prefix=prefix,
        route_class=UnitOfWorkRoute,
        dependencies=[Depends(authenticate), Depends(replay_if_seen)],
    )
    for router in routers:
        api.include_router(router)
    return api


def v1_router(*routers: APIRouter) -> APIRouter:
    """``routers`` mounted under ``/v1``, as every API route but ``/notifications`` is. Their
    async twins come with them."""
    return authenticated_router(*routers, prefix="/v1")


def api_router(settings: Settings) -> APIRouter:
    """Every ``/v1`` route; with ``ASYNCGATE_ZUORA_STRICT``, Zuora's alone."""
    extensions = [] if settings.zuora_strict else [async_requests_router]
    return v1_router(
        accounts_router,
        contacts_router,
        catalog_router,
        orders_router,
        subscriptions_router,
        invoices_router,
        crud_router,
        actions_router,
        async_jobs_router,
        callout_history_router,
        *extensions,
    )


def create_app(
    settings: Settings | None = None,
    database: Database | None = None,
    *,
    alongside: Callable[[], AbstractAsyncContextManager[object]] | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> FastAPI:
    """The application. It never executes async requests itself: workers replay them through
    it (see ``asyncreq.worker``). ``alongside`` (``serve``'s worker process) is entered at
    startup and left at shutdown, once the server has stopped accepting. Token expiry and the
    rate limits read ``clock``."""
    settings = settings or get_settings()
    database = database or Database(settings)
    queue = queue_for(database)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        tune_for_serving()
        # Built now, not by the first accepts: building it takes tens of milliseconds.
        app.state.route_table.entries(app)
        try:
            await queue.open()
            async with (
                checkpointing(database.sqlite_file, *queue.files),
                watching_revocations(database, app.state.token_cache),
                alongside() if alongside else nullcontext(),
            ):
                yield
        finally:
            await app.state.rate_limits.close()
            queue.close()
            await database.dispose()

    # No redirect to the path without its trailing slash: Starlette would build it from the
    # request's Host header, which the client chooses. Such a path is a 404, as any unknown one.
    app = FastAPI(title="asyncgate", version=__version__, lifespan=lifespan, redirect_slashes=False)
    app.state.settings = settings
    app.state.database = database
    app.state.token_cache = TokenCache(clock)
    app.state.queue = queue
    app.state.accept_latencies = AcceptLatencies()
    app.state.route_table = RouteTable()
    app.state.rate_limits = RateLimits(settings, database, clock)
    # Loaded at start, so a missing or unreadable key fails here rather than at first use.
    app.state.secret_box = SecretBox(load_secret_key(settings))

    _install_error_handlers(app)
    app.include_router(system_router)
    app.include_router(metrics_router)
    app.include_router(oauth_router, dependencies=[Depends(limit_token_requests)])
    # Accepts first: they are the hottest route, and matching walks the table in order.
    app.router.routes.insert(0, async_accept_route)
    app.include_router(api_router(settings))
    # Zuora's notification paths have no /v1 (and so no async twins).
    app.include_router(authenticated_router(notifications_router))
    if not settings.zuora_strict:
        app.include_router(authenticated_router(callout_settings_router))
    mount_console(app, settings)
    serve_described(app)

    # The last added is the outermost. The console's headers go around the conventions, so
    # that a console request they refuse carries them; its refusals and unexpected errors are
    # left to it, to answer with its error page.
    app.add_middleware(
        ZuoraConventionsMiddleware,
        max_body_bytes=settings.max_body_bytes,
        error_statuses=settings.error_statuses,
        errors_answered_outside=is_console,
    )
    app.add_middleware(ConsoleHeadersMiddleware)
    app.add_middleware(RateLimitHeadersMiddleware)
    app.add_middleware(GZipMiddleware, minimum_size=GZIP_MINIMUM_BYTES)
    return app
