"""``/v1/async/<path>``: accept any POST/PUT/DELETE for later execution; and the status resource.

Accepting authenticates, validates the envelope (JSON only), resolves the synchronous target in
the route table, stores the request through the group-commit store and answers ``202`` only once
it is committed. Nothing is stored for a request that is refused.
"""

from __future__ import annotations

import uuid

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from asyncgate.asyncreq import service
from asyncgate.asyncreq.models import MAX_URL_PART, State
from asyncgate.asyncreq.outcomes import async_url
from asyncgate.asyncreq.resolver import ASYNC_METHODS, resolve, target_path
from asyncgate.asyncreq.schemas import AsyncRequestStatus, SynchronousAnswer
from asyncgate.auth.dependencies import CurrentPrincipal
from asyncgate.db.base import utcnow
from asyncgate.http import idempotency
from asyncgate.http.errors import InvalidValue, MalformedJson, Resource, UnsupportedMediaType
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
STATUS_POLL_SECONDS = "1"

accept_router = APIRouter(tags=["Async requests"])
status_router = APIRouter(route_class=UnitOfWorkRoute, tags=["Async requests"])


def _check_body(request: Request, body: bytes) -> None:
    content_type = request.headers.get("content-type")
    if content_type is not None and not is_json_media_type(content_type):
        raise UnsupportedMediaType(
            "Asynchronous requests accept only Content-Type: application/json",
            resource=Resource.ASYNC_REQUEST,
        )
    if not body:
        if request.method != "DELETE":
            raise MalformedJson("The request body must be JSON", resource=Resource.ASYNC_REQUEST)
        return
    try:
        orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise MalformedJson(
            f"Malformed JSON in the request body: {error}", resource=Resource.ASYNC_REQUEST
        ) from None


def _check_url(path: str, query: str) -> None:
    if len(path) > MAX_URL_PART or len(query) > MAX_URL_PART:
        raise InvalidValue(
            f"The path and the query string of an asynchronous request may have at most "
            f"{MAX_URL_PART} characters each",
            resource=Resource.ASYNC_REQUEST,
        )


def _idempotency_key(request: Request) -> str | None:
    key = request.headers.get(idempotency.HEADER)
    if key is not None and not 0 < len(key) <= idempotency.MAX_KEY_LENGTH:
        raise InvalidValue(
            f"Idempotency-Key must be 1 to {idempotency.MAX_KEY_LENGTH} characters",
            resource=Resource.REQUEST,
        )
    return key


@accept_router.api_route("/v1/async/{target:path}", methods=list(ASYNC_METHODS), status_code=202)
async def accept(request: Request, target: str, principal: CurrentPrincipal) -> JSONResponse:
    path = target_path(request.url.path)
    resolve(request.app, request.app.state.route_table, request.method, path)
    _check_url(path, request.url.query)
    body = await request.body()
    _check_body(request, body)
    key = _idempotency_key(request)
    now = utcnow()
    headers = {name: request.headers[name] for name in REPLAYED_HEADERS if name in request.headers}
    request_id = await request.app.state.request_store.enqueue(
        {
            "id": str(uuid.uuid4()),
            "tenant_id": principal.tenant_id,
            "method": request.method,
            "path": path,
            "query_string": request.url.query,
            "headers": headers,
            "body": body,
            "track_id": request.headers.get("zuora-track-id"),
            "idempotency_key": key,
            "role": principal.role.value,
            "client_id": principal.client_id,
            "state": State.QUEUED.value,
            "attempts": 0,
            "run_after": now,
            "created_at": now,
        }
    )
    return JSONResponse(
        {"requestId": request_id},
        status_code=202,
        headers={
            "Location": f"/v1/async-requests/{request_id}",
            "Retry-After": STATUS_POLL_SECONDS,
        },
    )


def _status(request) -> AsyncRequestStatus:
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


@status_router.get("/async-requests/{request_id}", response_model_by_alias=True)
async def get_async_request(
    request_id: str, session: Session, principal: CurrentPrincipal
) -> AsyncRequestStatus:
    return _status(await service.get_request(session, principal.tenant_id, request_id))


@status_router.delete("/async-requests/{request_id}", response_model_by_alias=True)
async def cancel_async_request(
    request_id: str, session: Session, principal: CurrentPrincipal
) -> AsyncRequestStatus:
    return _status(await service.cancel_request(session, principal.tenant_id, request_id))
