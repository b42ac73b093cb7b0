"""The dashboard, the console's front page: the tenant's queue depth, requests and callouts
over the last hour, the accept latency and time-to-start tails; it reloads itself."""

from __future__ import annotations

from fastapi import Request
from starlette.responses import Response

from asyncgate.asyncreq import stats
from asyncgate.console.dependencies import CurrentUser, pages_router
from asyncgate.console.rendering import page
from asyncgate.db.base import utcnow
from asyncgate.http.routing import Session
from asyncgate.notifications import history

router = pages_router()

REFRESH_SECONDS = 10


@router.get("")
async def dashboard(request: Request, session: Session, user: CurrentUser) -> Response:
    now = utcnow()
    context = {
        "queue": await stats.queue_figures(session, user.tenant_id, now),
        "waiting": await request.app.state.queue.not_yet_listed(session, user.tenant_id),
        "callouts": await history.attempt_counts(session, user.tenant_id, now - stats.WINDOW),
        "accept_p99": request.app.state.accept_latencies.p99(user.tenant_id),
        "refresh_seconds": REFRESH_SECONDS,
    }
    return page(request, "dashboard.html", context)
