"""Callout history: the tenant's callout attempts with the API's filters, one attempt with the
receiver's answer, and resending one or many, through the services of
``/v1/notification-history/callout`` and ``/notifications/callout-histories/resend``."""

from __future__ import annotations

import orjson
from fastapi import Request
from starlette.responses import Response

from asyncgate.console.dependencies import Changer, CurrentUser, pages_router
from asyncgate.console.filters import Filters, Paging
from asyncgate.console.rendering import page
from asyncgate.db.base import utcnow
from asyncgate.http.errors import InvalidValue, Resource
from asyncgate.http.routing import Session
from asyncgate.notifications import history
from asyncgate.notifications.history import HistoryQuery, event_category, event_type_of
from asyncgate.notifications.history_routes import DEFAULT_WINDOW
from asyncgate.notifications.outbox import EventType
from asyncgate.notifications.routes import MAX_RESENDS

router = pages_router("/callouts/history")

PAGE_SIZE = 25
CATEGORIES = tuple(event_category(event_type) for event_type in EventType)


@router.get("")
async def history_page(request: Request, session: Session, user: CurrentUser) -> Response:
    filters = Filters(request)
    end = filters.moment("end_time", "Until") or utcnow()
    start = filters.moment("start_time", "From") or end - DEFAULT_WINDOW
    if start > end:
        filters.errors["start_time"] = "From must not be after Until"
        start = end - DEFAULT_WINDOW
    category = filters.choice("event_category", CATEGORIES)
    paging = Paging.of(request, PAGE_SIZE)
    query = HistoryQuery(
        start=start,
        end=end,
        failed_only=filters.flag("failed_only", default=True),
        object_id=filters.text("object_id"),
        event_type=None if category is None else event_type_of(category),
        offset=paging.offset,
        limit=paging.limit,
    )
    entries = await history.list_history(session, user.tenant_id, query)
    context = {
        "entries": entries[:PAGE_SIZE],
        "filters": filters,
        "categories": CATEGORIES,
        "window": (start, end),
        "page": paging.links(len(entries)),
    }
    return page(request, "history/list.html", context)


@router.get("/{history_id}")
async def attempt_page(
    history_id: str, request: Request, session: Session, user: CurrentUser
) -> Response:
    entry = await history.get_entry(session, user.tenant_id, history_id)
    context = {
        "entry": entry,
        "category": event_category(entry.event_type),
        "payload": orjson.dumps(entry.payload, option=orjson.OPT_INDENT_2).decode(),
    }
    return page(request, "history/detail.html", context)


@router.post("/resend")
async def resend(request: Request, session: Session, user: Changer) -> Response:
    chosen = [str(value) for value in (await request.form()).getlist("history_id")]
    if not 0 < len(chosen) <= MAX_RESENDS:
        raise InvalidValue(
            f"Choose 1 to {MAX_RESENDS} callouts to resend", resource=Resource.CALLOUT_HISTORY
        )
    refused = await history.resend(session, user.tenant_id, chosen)
    context = {
        "resent": [history_id for history_id in chosen if history_id not in refused],
        "refused": refused,
    }
    return page(request, "history/resent.html", context)
