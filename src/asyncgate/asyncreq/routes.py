"""``/v1/async/<path>``: accept any POST/PUT/DELETE for later execution; and the status resource.

Accepting authenticates, counts the accept against the tenant's quota, validates the envelope
(JSON only), resolves the synchronous target in the route table, stores the request in the queue and
answers ``202`` only once it is committed. Nothing is stored for a request
that is refused.

Accepting is the hottest path of the service and takes no parameter a framework would parse, so
it is a plain Starlette route (``accept_route``) that calls authentication and the accept quota
itself: FastAPI's dependency solving and response handling would cost more than the rest of an
accept.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from asyncgate.asyncreq import jobs, service
from asyncgate.asyncreq.models import MAX_URL_PART, AsyncRequest, State
from asyncgate.asyncreq.outcomes import async_url
from asyncgate.asyncreq.resolver import ASYNC_METHODS, resolve, target_path
from asyncgate.asyncreq.schemas import AsyncRequestStatus, SynchronousAnswer
from asyncgate.auth.dependencies import CurrentPrincipal, authenticate
from asyncgate.db.base import new_uuid, utcnow
from asyncgate.http import idempotency
from asyncgate.http.errors import (
    InvalidValue,
    MalformedJson,
    NotFound,
    Resource,
    UnsupportedMediaType,
    ZuoraError,
)
from asyncgate.http.extensions import EXTENSION, extensions_on
from asyncgate.http.middleware import is_json_media_type
from asyncgate.http.routing import Session, UnitOfWorkRoute

# Headers that shape how the synchronous route answers; never credentials.
REPLAYED_HEADERS = (
    "content-type",
    "zuora-version",
    "zuora-track-id",
    "zuora-entity-ids",
    "zuora-org-ids",
)
# Every header an accept reads, by its ASGI (lowercase, bytes) name.
_READ_HEADERS = {name.encode(): name for name in (*REPLAYED_HEADERS, idempotency.HEADER)}
STATUS_POLL_SECONDS = "1"

jobs_router = APIRouter(route_class=UnitOfWorkRoute, tags=["Async requests"])
# The async-request status resource: an extension (see ``http.extensions``).
requests_router = APIRouter(route_class=UnitOfWorkRoute, tags=["Async requests"])


def _headers(request: Request) -> dict[str, str]:
    """The headers an accept reads, in one pass (the first of repeated ones, as
    ``request.headers`` would give)."""
    found: dict[str, str] = {}
    for raw_name, raw_value in request.scope["headers"]:
        name = _READ_HEADERS.get(raw_name)
        if name is not None and name not in found:
            found[name] = raw_value.decode("latin-1")
    return found


def _check_body(method: str, content_type: str | None, body: bytes) -> None:
    if content_type is not None and not is_json_media_type(content_type):
        raise UnsupportedMediaType(
            "Asynchronous requests accept only Content-Type: application/json",
            resource=Resource.ASYNC_REQUEST,
        )
    # A body that is there was checked as the synchronous route's is (``http.json_body``).
    if not body and method != "DELETE":
        raise MalformedJson("The request body must be JSON", resource=Resource.ASYNC_REQUEST)


def _check_url(path: str, query: str) -> None:
    if len(path) > MAX_URL_PART or len(query) > MAX_URL_PART:
        raise InvalidValue(
            f"The path and the query string of an asynchronous request may have at most "
            f"{MAX_URL_PART} characters each",
            resource=Resource.ASYNC_REQUEST,
        )


def _idempotency_key(key: str | None) -> str | None:
    if key is not None and not 0 < len(key) <= idempotency.MAX_KEY_LENGTH:
        raise InvalidValue(
            f"Idempotency-Key must be 1 to {idempotency.MAX_KEY_LENGTH} characters",
            resource=Resource.REQUEST,
        )
    return key


async def accept(request: Request) -> Response:
    """The checks run in the order callers have always seen: who is calling, its accept quota
    (which counts every authenticated accept, refused or not), then the target and the body."""
    started = time.perf_counter()
    principal = await authenticate(request)
    request.app.state.rate_limits.admit_accept(request.scope, principal.tenant_id)
    # From the scope: ``request.url`` would build a whole URL to take these two apart again.
    path = target_path(request.scope["path"])
    query = request.scope["query_string"].decode()
    route_path = resolve(request.app, request.app.state.route_table, request.method, path)
    _check_url(path, query)
    body = await request.body()
    headers = _headers(request)
    _check_body(request.method, headers.get("content-type"), body)
    key = _idempotency_key(headers.get(idempotency.HEADER))
    now = utcnow()
    request_id = await request.app.state.queue.accept(
        {
            "id": new_uuid(),
            "tenant_id": principal.tenant_id,
            "method": request.method,
            "path": path,
            "query_string": query,
            "headers": {name: headers[name] for name in REPLAYED_HEADERS if name in headers},
            "body": body,
            "track_id": headers.get("zuora-track-id"),
            "idempotency_key": key,
            "role": principal.role.value,
            "client_id": principal.client_id,
            "state": State.QUEUED.value,
            "attempts": 0,
            "run_after": now,
            "created_at": now,
        }
    )
    request.app.state.accept_latencies.record(principal.tenant_id, time.perf_counter() - started)
    if jobs.job_type_of(request.method, route_path) is None:
        answer, status = {"requestId": request_id}, 202
        location = f"/v1/async-requests/{request_id}"
    else:
        answer, status = {"jobId": request_id, "success": True}, jobs.ACCEPT_STATUS[request.method]
        location = f"/v1/async-jobs/{request_id}"
    return Response(
        orjson.dumps(answer),
        status_code=status,
        headers={"Location": location, "Retry-After": STATUS_POLL_SECONDS}
        if extensions_on(request)
        else None,
        media_type="application/json",
    )


accept_route = Route("/v1/async/{target:path}", accept, methods=ASYNC_METHODS)


def _status(request: AsyncRequest) -> AsyncRequestStatus:
    response = None
    if request.response_status is not None:
        body = request.response_body or b""
        try:
            parsed = orjson.loads(body) if body else None
        except orjson.JSONDecodeError:
            parsed = body.decode("utf-8", "replace")
        response = SynchronousAnswer(status=request.response_status, body=parsed)
    return AsyncRequestStatus(
        id=request.id,
        state=request.state,
        method=request.method,
        url=async_url(request),
        track_id=request.track_id,
        attempts=request.attempts,
        create_time=request.created_at,
        start_time=request.started_at,
        complete_time=request.completed_at,
        next_attempt_time=request.run_after if request.state == State.QUEUED else None,
        last_error=request.last_error,
        resource_id=request.resource_id,
        response=response,
    )


@requests_router.get(
    "/async-requests/{request_id}", response_model_by_alias=True, openapi_extra=EXTENSION
)
async def get_async_request(
    request_id: str, request: Request, session: Session, principal: CurrentPrincipal
) -> AsyncRequestStatus:
    queue = request.app.state.queue
    return _status(await service.get_request(queue, session, principal.tenant_id, request_id))


@requests_router.delete(
    "/async-requests/{request_id}", response_model_by_alias=True, openapi_extra=EXTENSION
)
async def cancel_async_request(
    request_id: str, request: Request, session: Session, principal: CurrentPrincipal
) -> AsyncRequestStatus:
    queue = request.app.state.queue
    return _status(await service.cancel_request(queue, session, principal.tenant_id, request_id))


@jobs_router.get("/async-jobs/{job_id}")
async def get_async_job(
    job_id: str, request: Request, session: Session, principal: CurrentPrincipal
) -> dict[str, Any]:
    """A job (see ``asyncreq.jobs``): an async request whose route Zuora runs as a job. Any
    other request, or another tenant's, is no job at all."""
    try:
        stored = await service.get_request(
            request.app.state.queue, session, principal.tenant_id, job_id
        )
    except NotFound:
        stored = None
    job_type = None if stored is None else _job_type(request, stored)
    if stored is None or job_type is None:
        raise NotFound(f"Job {job_id} does not exist", resource=Resource.ASYNC_JOB)
    return jobs.job_answer(stored, job_type)


def _job_type(request: Request, stored: AsyncRequest) -> jobs.JobType | None:
    try:
        route_path = resolve(request.app, request.app.state.route_table, stored.method, stored.path)
    except ZuoraError:  # its route is gone
        return None
    return jobs.job_type_of(stored.method, route_path)
