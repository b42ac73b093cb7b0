"""A tenant's queue over the last hour, for the console's dashboard: counted and ranked in
SQL over ranges of ``ix_async_requests_tenant_created``, never by loading requests.

Nothing records when an accept answered, so the latency shown is time to start: from
acceptance (``created_at``) to the latest start of the request by a worker (``started_at``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import (
    ColumnElement,
    Float,
    SQLColumnExpression,
    cast,
    extract,
    func,
    select,
    type_coerce,
)
from sqlalchemy.ext.asyncio import AsyncSession

from asyncgate.asyncreq.models import AsyncRequest, State

WINDOW = timedelta(hours=1)
# A request that finished in the window is counted if it was accepted at most this long
# before the window: this bounds the index range the outcomes are counted over.
OUTCOME_LOOKBACK = timedelta(days=1)
MINUTE_FORMAT = "%Y-%m-%dT%H:%M"


@dataclass(frozen=True, slots=True)
class Minute:
    start: datetime
    accepted: int = 0
    succeeded: int = 0
    failed: int = 0


@dataclass(frozen=True, slots=True)
class QueueFigures:
    depth: int
    minutes: list[Minute]
    started: int
    start_p99: timedelta | None


def _minute(column: SQLColumnExpression[datetime | None], dialect: str) -> ColumnElement[str]:
    """The column's minute, as ``MINUTE_FORMAT`` text (stored timestamps are UTC)."""
    if dialect == "postgresql":
        return func.to_char(func.date_trunc("minute", column), 'YYYY-MM-DD"T"HH24:MI')
    return func.strftime(MINUTE_FORMAT, column)


def _start_seconds(dialect: str) -> ColumnElement[float]:
    if dialect == "postgresql":
        return type_coerce(
            extract("epoch", AsyncRequest.started_at - AsyncRequest.created_at), Float
        )
    return cast(
        (func.julianday(AsyncRequest.started_at) - func.julianday(AsyncRequest.created_at))
        * 86400.0,
        Float,
    )


async def queue_figures(session: AsyncSession, tenant_id: str, now: datetime) -> QueueFigures:
    dialect = (await session.connection()).dialect.name
    since = (now - WINDOW).replace(second=0, microsecond=0) + timedelta(minutes=1)
    of_tenant = AsyncRequest.tenant_id == tenant_id
    recent = (of_tenant, AsyncRequest.created_at >= since)

    depth = await session.scalar(
        select(func.count())
        .select_from(AsyncRequest)
        .where(of_tenant, AsyncRequest.state.in_([State.QUEUED, State.RUNNING]))
    )
    counts: dict[str, dict[str, int]] = {}
    accepted_minute = _minute(AsyncRequest.created_at, dialect)
    for minute, count in await session.execute(
        select(accepted_minute, func.count()).where(*recent).group_by(accepted_minute)
    ):
        counts.setdefault(minute, {})["accepted"] = count
    completed_minute = _minute(AsyncRequest.completed_at, dialect)
    for minute, state, count in await session.execute(
        select(completed_minute, AsyncRequest.state, func.count())
        .where(
            of_tenant,
            AsyncRequest.created_at >= since - OUTCOME_LOOKBACK,
            AsyncRequest.completed_at >= since,
            AsyncRequest.state.in_([State.SUCCEEDED, State.FAILED]),
        )
        .group_by(completed_minute, AsyncRequest.state)
    ):
        counts.setdefault(minute, {})[state] = count
    minutes = []
    for offset in range(int(WINDOW / timedelta(minutes=1))):
        start = since + timedelta(minutes=offset)
        minutes.append(Minute(start, **counts.get(start.strftime(MINUTE_FORMAT), {})))

    started_recently = (*recent, AsyncRequest.started_at.is_not(None))
    started = await session.scalar(
        select(func.count()).select_from(AsyncRequest).where(*started_recently)
    )
    p99 = None
    if started:
        rank = -(-99 * started // 100)  # the nearest rank: the ceil(0.99 n)-th smallest
        seconds = _start_seconds(dialect)
        value = await session.scalar(
            select(seconds)
            .where(*started_recently)
            .order_by(seconds.desc())
            .offset(started - rank)
            .limit(1)
        )
        if value is not None:  # None only if the requests were deleted meanwhile
            p99 = timedelta(seconds=max(float(value), 0.0))
    return QueueFigures(depth or 0, minutes, started or 0, p99)
