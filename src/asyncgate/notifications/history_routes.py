"""``GET /v1/notification-history/callout``: the tenant's callout attempts, as zuora-sdk's
``get_callout_history`` asks for them. Anyone of the tenant may read.

Times are read as the SDK writes them (``2024-01-02T03:04:05.000000``, with ``+0000`` when
aware) and as Zuora documents them (``yyyy-MM-ddTHH:mm:ss``), ``Z`` or an offset allowed; a
time without an offset is UTC. The window defaults to the day before ``endTime``, which
defaults to now. ``nextPage``, an absolute URL as Zuora's, repeats the query for the next page
with the window fixed, so paging is not shifted by attempts recorded meanwhile.

As Zuora's reference has it, ``pageSize`` defaults to 20 and a larger one than 40 is read as 40.
A numeric ``eventCategory`` is the code of one of Zuora's standard events, which this service
does not raise: it matches no callouts.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request

from asyncgate.auth.dependencies import CurrentPrincipal
from asyncgate.db.base import utcnow
from asyncgate.http.errors import InvalidValue
from asyncgate.http.extensions import extensions_on
from asyncgate.http.routing import Session, UnitOfWorkRoute
from asyncgate.http.validation import MAX_INT32
from asyncgate.notifications import history
from asyncgate.notifications.history import HistoryQuery, event_category, event_type_of
from asyncgate.notifications.schemas import CalloutHistoryOut, CalloutHistoryPage

router = APIRouter(
    prefix="/notification-history", route_class=UnitOfWorkRoute, tags=["Notifications"]
)

DEFAULT_WINDOW = timedelta(days=1)
# The times a query may name: a day inside the calendar's ends, so that the default window
# before an end time stays inside it too.
EARLIEST = datetime(1, 1, 2, tzinfo=UTC)
LATEST = datetime(9999, 12, 30, tzinfo=UTC)
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 40
# An offset's "+" that a client did not percent-encode arrives as a space.
_UNENCODED_PLUS = re.compile(r" (\d{2}:?\d{2})$")


def parse_time(name: str, text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(_UNENCODED_PLUS.sub(r"+\1", text.strip()))
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except ValueError:
        raise InvalidValue(
            f"{name} {text!r} is not a date and time: use yyyy-MM-ddTHH:mm:ss, optionally with "
            "fractions of a second and an offset",
            resource=history.RESOURCE,
        ) from None
    except OverflowError:  # an offset took it past the calendar's first or last day
        moment = datetime.min.replace(tzinfo=UTC)
    if not EARLIEST <= moment <= LATEST:
        raise InvalidValue(
            f"{name} {text!r} is outside {EARLIEST:%Y-%m-%d} to {LATEST:%Y-%m-%d}",
            resource=history.RESOURCE,
        )
    return moment


def _written(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@router.get("/callout")
async def get_callout_history(
    request: Request,
    session: Session,
    principal: CurrentPrincipal,
    start_time: Annotated[str | None, Query(alias="startTime")] = None,
    end_time: Annotated[str | None, Query(alias="endTime")] = None,
    object_id: Annotated[str | None, Query(alias="objectId")] = None,
    failed_only: Annotated[bool, Query(alias="failedOnly")] = True,
    category: Annotated[str | None, Query(alias="eventCategory")] = None,
    include_response_content: Annotated[bool, Query(alias="includeResponseContent")] = False,
    page: Annotated[int, Query(ge=1, le=MAX_INT32)] = 1,
    page_size: Annotated[int, Query(alias="pageSize", ge=1)] = DEFAULT_PAGE_SIZE,
) -> CalloutHistoryPage:
    page_size = min(page_size, MAX_PAGE_SIZE)
    end = parse_time("endTime", end_time) or utcnow()
    start = parse_time("startTime", start_time) or end - DEFAULT_WINDOW
    if start > end:
        raise InvalidValue("startTime must not be after endTime", resource=history.RESOURCE)
    if category is not None and category.strip().isdigit():  # a standard event's code
        return CalloutHistoryPage(callout_histories=[], next_page=None)
    query = HistoryQuery(
        start=start,
        end=end,
        failed_only=failed_only,
        object_id=object_id,
        event_type=None if category is None else event_type_of(category),
        offset=(page - 1) * page_size,
        limit=page_size + 1,  # one more tells whether there is a next page
    )
    entries = await history.list_history(session, principal.tenant_id, query)
    next_page = None
    if len(entries) > page_size:
        url = request.url.include_query_params(
            page=page + 1, pageSize=page_size, startTime=_written(start), endTime=_written(end)
        )
        next_page = str(url)
    rows = [
        CalloutHistoryOut.of(
            entry.attempt,
            event_category(entry.event_type),
            entry.payload,
            include_response_content=include_response_content,
        )
        for entry in entries[:page_size]
    ]
    return CalloutHistoryPage(
        callout_histories=rows, next_page=next_page, extensions=extensions_on(request)
    )
