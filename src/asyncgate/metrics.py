"""``GET /metrics``: the queue and the callouts for Prometheus, read at each scrape.

What an operator watches and alerts on is the queue, and the queue is the database's, shared by
every API and worker process. So its gauges are counted in the database when Prometheus
scrapes, the same whichever process answers, rather than kept in one process's memory (a
worker process serves no HTTP). Every count reads one of the queue's partial indexes, so a
scrape costs the same however many finished requests are kept. The answering process adds what
only it knows: how long its accepts took (``asyncreq.accept_latency``), and its own
``process_*`` and ``python_*`` figures.

Without ``ASYNCGATE_METRICS_TOKEN`` the endpoint does not exist (404); with it, a scrape must
carry the token as a bearer token (Prometheus' ``authorization`` setting).
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from asyncgate.asyncreq.queue import RequestQueue
from asyncgate.db.base import utcnow
from asyncgate.db.engine import Database
from asyncgate.http.errors import AuthenticationFailed, UnknownPath
from asyncgate.notifications.models import CalloutDelivery, DeliveryState

# The text format Prometheus reads (version 0.0.4).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

router = APIRouter(tags=["System"])

_DELIVERIES = {
    state: select(func.count()).where(CalloutDelivery.state == state)
    for state in (DeliveryState.PENDING, DeliveryState.DELIVERING)
}


class _Families(Collector):
    """Metric families counted beforehand: collecting must not touch the database, since
    ``prometheus_client`` collects synchronously."""

    def __init__(self, families: list[GaugeMetricFamily | HistogramMetricFamily]) -> None:
        self.families = families

    def collect(self) -> Iterator[GaugeMetricFamily | HistogramMetricFamily]:
        return iter(self.families)


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    _authorize(request)
    database: Database = request.app.state.database
    async with database.read_transaction() as session:
        queue = await _queue_families(session, request.app.state.queue)
    buckets, total_seconds = request.app.state.accept_latencies.histogram()
    accepts = HistogramMetricFamily(
        "asyncgate_async_accept_seconds",
        "Async accepts answered by this process, by how long they took (arrival to 202).",
        buckets=buckets,
        sum_value=total_seconds,
    )
    scraped = CollectorRegistry(auto_describe=False)
    scraped.register(_Families([*queue, accepts]))
    return Response(generate_latest(scraped) + generate_latest(REGISTRY), media_type=CONTENT_TYPE)


def _authorize(request: Request) -> None:
    token = request.app.state.settings.metrics_token
    if token is None:
        raise UnknownPath(f"No resource matches {request.method} {request.url.path}")
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    expected = token.get_secret_value().encode()
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected):
        raise AuthenticationFailed("A valid metrics token is required")


async def _queue_families(session: AsyncSession, queue: RequestQueue) -> list[GaugeMetricFamily]:
    now = utcnow()
    backlog = await queue.backlog(session, now)
    requests = GaugeMetricFamily(
        "asyncgate_async_requests",
        "Async requests not finished, by state: queued (due now), retrying (queued, due "
        "later) and running.",
        labels=["state"],
    )
    requests.add_metric(["queued"], backlog.queued)
    requests.add_metric(["retrying"], backlog.retrying)
    requests.add_metric(["running"], backlog.running)
    first_due = backlog.first_due
    oldest = GaugeMetricFamily(
        "asyncgate_async_requests_queued_seconds",
        "How long the queued request due first has waited for a worker (0 when none waits).",
        value=0.0 if first_due is None else max((now - first_due).total_seconds(), 0.0),
    )
    deliveries = GaugeMetricFamily(
        "asyncgate_callout_deliveries",
        "Callout deliveries not finished, by state: pending (due now or later) and delivering.",
        labels=["state"],
    )
    for state, count in _DELIVERIES.items():
        deliveries.add_metric([state.value], await session.scalar(count) or 0)
    return [requests, oldest, deliveries]
