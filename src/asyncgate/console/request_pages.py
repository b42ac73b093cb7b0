"""Async requests: the tenant's queue with filters, one request with its answer and the
callouts it caused, and cancelling a queued one, through the services of
``/v1/async-requests``."""

from __future__ import annotations

from datetime import timedelta

import orjson
from fastapi import Request
from starlette.responses import RedirectResponse, Response

from asyncgate.asyncreq import service
from asyncgate.asyncreq.models import FINISHED_STATES, State
from asyncgate.asyncreq.outcomes import async_url
from asyncgate.asyncreq.resolver import target_path
from asyncgate.console.dependencies import Changer, CurrentUser, pages_router
from asyncgate.console.filters import Filters, Paging
from asyncgate.console.rendering import page
from asyncgate.console.routing import PREFIX
from asyncgate.db.base import utcnow
from asyncgate.http.routing import Session
from asyncgate.notifications import history
from asyncgate.notifications.history import HistoryQuery

router = pages_router("/requests")

PAGE_SIZE = 25
STATES = tuple(state.value for state in State)
# A request's callouts are those of its events, which come after it; at most this many shown.
MAX_CALLOUTS = 100
# Unfinished requests' pages reload themselves this often (seconds).
REFRESH_SECONDS = 2


def readable(body: bytes | None) -> str | None:
    """A stored body as text: JSON pretty-printed, anything else as it came."""
    if not body:
        return None
    try:
        return orjson.dumps(orjson.loads(body), option=orjson.OPT_INDENT_2).decode()
    except orjson.JSONDecodeError:
        return body.decode("utf-8", "replace")


@router.get("")
async def requests_page(request: Request, session: Session, user: CurrentUser) -> Response:
    filters = Filters(request)
    path = filters.text("path")
    paging = Paging.of(request, PAGE_SIZE)
    state = filters.choice("state", STATES)
    query = service.RequestQuery(
        state=None if state is None else State(state),
        created_from=filters.moment("created_from", "From"),
        created_to=filters.moment("created_to", "To"),
        path=target_path(path) if path and path.startswith("/v1/async/") else path,
        track_id=filters.text("track_id"),
        offset=paging.offset,
        limit=paging.limit,
    )
    found = await service.list_requests(session, user.tenant_id, query)
    waiting = await request.app.state.queue.not_yet_listed(session, user.tenant_id)
    context = {
        "requests": found[:PAGE_SIZE],
        "filters": filters,
        "states": STATES,
        "page": paging.links(len(found)),
        "waiting": waiting,
        "async_url": async_url,
    }
    return page(request, "requests/list.html", context)


@router.get("/{request_id}")
async def request_page(
    request_id: str, request: Request, session: Session, user: CurrentUser
) -> Response:
    stored = await service.get_request(request.app.state.queue, session, user.tenant_id, request_id)
    now = utcnow()
    callouts = await history.list_history(
        session,
        user.tenant_id,
        HistoryQuery(
            start=stored.created_at,
            end=now + timedelta(minutes=1),
            failed_only=False,
            object_id=stored.id,
            limit=MAX_CALLOUTS,
        ),
    )
    finished = stored.state in FINISHED_STATES
    context = {
        "stored": stored,
        "url": async_url(stored),
        "body": readable(stored.body),
        "answer": readable(stored.response_body),
        "callouts": callouts,
        "cancellable": stored.state == State.QUEUED,
        "refresh": None if finished else REFRESH_SECONDS,
    }
    return page(request, "requests/detail.html", context)


@router.post("/{request_id}/cancel")
async def cancel_request(
    request_id: str, request: Request, session: Session, user: Changer
) -> Response:
    await service.cancel_request(request.app.state.queue, session, user.tenant_id, request_id)
    return RedirectResponse(f"{PREFIX}/requests/{request_id}?notice=cancelled", status_code=303)
