"""The engine's test kit: a router of trial routes that fail on demand, a retry policy
without jitter, helpers that read what the queue and the outbox hold, and one that moves a
manual clock on to when a retry is due.

A trial (``POST /v1/engine-trials``) performs one effect, a per-tenant counter named by its
``key`` (``tally_of``), then fails its first ``failures`` calls in the way ``error`` names
(a "slow" failure keeps the database busy past any time limit a test sets).
Calls are counted in this module (``calls``), so a test can tell an execution that ran and was
rolled back from one that never ran.
"""

from __future__ import annotations

import asyncio
import collections
import uuid
from datetime import timedelta
from typing import Any, Literal

import httpx
import orjson
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import insert, select

from asyncgate.asyncreq.jobs import JobType, runs_as_job
from asyncgate.asyncreq.models import AsyncRequest, State
from asyncgate.asyncreq.retry import RetryPolicy
from asyncgate.auth.dependencies import CurrentPrincipal
from asyncgate.db.base import new_id, new_uuid, utcnow
from asyncgate.db.engine import Database
from asyncgate.db.sequences import next_value
from asyncgate.http.errors import (
    BusinessRuleViolated,
    LimitExceeded,
    LockingContention,
    Resource,
    TemporaryError,
)
from asyncgate.http.routing import Session, UnitOfWorkRoute, declare_resource
from asyncgate.notifications.models import CalloutAttempt, CalloutDelivery, DeliveryState
from asyncgate.notifications.outbox import OutboxEvent
from tests.factories import TenantContext
from tests.support.clock import ManualClock
from tests.support.database import count_requests, find_request

ASYNC_TRIALS = "/v1/async/engine-trials"
# Retries without jitter, so a test on a manual clock knows when each is due; and far off, so
# none falls due during a test on the system's clock.
EXACT_RETRY = RetryPolicy(
    max_attempts=3,
    base_delay=timedelta(seconds=10),
    max_delay=timedelta(minutes=1),
    jitter=0.0,
)

calls: collections.Counter[str] = collections.Counter()
# The tenant of every request ``accept`` sent, by request ID.
tenants_of: dict[str, str] = {}
router = APIRouter(route_class=UnitOfWorkRoute)

Failure = Literal["contention", "temporary", "limit", "rule", "answered-503", "slow"]
RAISED = {
    "contention": lambda message: LockingContention(message),
    "temporary": lambda message: TemporaryError(message),
    "limit": lambda message: LimitExceeded(message, headers={"Retry-After": "0"}),
    "rule": lambda message: BusinessRuleViolated(message, resource=Resource.GENERAL),
}
SLOW_SECONDS = 2.0  # how long a "slow" failure takes: far past any test's time limit


class Trial(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(max_length=32)
    failures: int = 0
    error: Failure = "temporary"


@router.post("/engine-trials")
async def run_trial(
    body: Trial, request: Request, session: Session, principal: CurrentPrincipal
) -> Any:
    calls[body.key] += 1
    await next_value(session, principal.tenant_id, body.key)
    if calls[body.key] <= body.failures:
        message = f"trial {body.key} fails on purpose"
        if body.error == "slow":  # busy in the database: a time limit cancels a statement
            deadline = asyncio.get_running_loop().time() + SLOW_SECONDS
            while asyncio.get_running_loop().time() < deadline:
                await next_value(session, principal.tenant_id, body.key)
        elif body.error == "answered-503":  # an error answered, not raised
            return JSONResponse(
                {"success": False, "reasons": [{"code": 50000061, "message": message}]},
                status_code=503,
            )
        else:
            raise RAISED[body.error](message)
    declare_resource(request, body.key)
    return {"success": True, "key": body.key}


# Trials Zuora would run as jobs (see ``asyncreq.jobs``).
ASYNC_JOB_TRIALS = "/v1/async/engine-job-trials"
router.post("/engine-job-trials")(run_trial)
runs_as_job("POST", "/v1/engine-job-trials", JobType.CREATE_ORDER)


@router.delete("/engine-job-trials/{key}")
async def remove_trial(key: str, request: Request) -> Any:
    declare_resource(request, key)
    return {"success": True}


runs_as_job("DELETE", "/v1/engine-job-trials/{key}", JobType.DELETE_ORDER)


def trial(**fields: Any) -> dict[str, Any]:
    """A trial body with a fresh key."""
    return {"key": uuid.uuid4().hex, **fields}


async def accept(
    client: httpx.AsyncClient,
    tenant: TenantContext,
    path: str,
    body: Any = None,
    *,
    method: str = "POST",
    headers: dict[str, str] | None = None,
) -> str:
    """Send an async request that must be accepted; returns its request ID."""
    response = await client.request(
        method, path, json=body, headers={**tenant.headers, **(headers or {})}
    )
    assert response.status_code == 202, response.text
    request_id = response.json()["requestId"]
    tenants_of[request_id] = tenant.tenant_id
    return request_id


def accepted_row(tenant: TenantContext, **values: Any) -> dict[str, Any]:
    """A request as an accept hands it to the queue."""
    now = utcnow()
    return {
        "id": new_uuid(),
        "tenant_id": tenant.tenant_id,
        "method": "POST",
        "path": "/v1/engine-trials",
        "query_string": "",
        "headers": {"content-type": "application/json"},
        "body": orjson.dumps(trial()),
        "track_id": None,
        "idempotency_key": None,
        "role": "tenant-administrator",
        "client_id": None,
        "state": State.QUEUED.value,
        "attempts": 0,
        "run_after": now,
        "created_at": now,
    } | values


async def stored(
    database: Database, request_id: str, tenant: TenantContext | None = None
) -> AsyncRequest:
    """A request of ``tenant`` (by default the one ``accept`` sent it for), as the queue has
    it."""
    tenant_id = tenants_of[request_id] if tenant is None else tenant.tenant_id
    found = await find_request(database, tenant_id, request_id)
    assert found is not None, f"request {request_id} is not stored"
    return found


async def stored_count(database: Database) -> int:
    """How many requests are stored, wherever they wait."""
    return await count_requests(database)


async def events_of(database: Database, request_id: str) -> list[OutboxEvent]:
    async with database.transaction() as session:
        rows = await session.scalars(select(OutboxEvent).where(OutboxEvent.object_id == request_id))
        return list(rows)


async def advance_until_due(clock: ManualClock, database: Database, request_id: str) -> None:
    """Move ``clock`` on to when a request waiting for a retry may be claimed again."""
    request = await stored(database, request_id)
    clock.advance(max(request.run_after - clock.now(), timedelta(0)))


async def delivered_once(database, request_id: str, state: DeliveryState) -> None:
    """Give the event of a finished request a callout delivery in ``state``, with one attempt
    in its history."""
    (event,) = await events_of(database, request_id)
    now, delivery_id = utcnow(), new_id()
    async with database.transaction() as session:
        await session.execute(
            insert(CalloutDelivery).values(
                id=delivery_id,
                tenant_id=event.tenant_id,
                event_id=event.id,
                event_type=event.event_type,
                object_id=request_id,
                state=state,
                attempts=1,
                max_attempts=3,
                next_attempt_at=now,
                created_at=now,
            )
        )
        await session.execute(
            insert(CalloutAttempt).values(
                id=new_id(),
                tenant_id=event.tenant_id,
                delivery_id=delivery_id,
                attempt=1,
                notification_name="Succeeded",
                request_method="POST",
                request_url="https://callouts.example.com/",
                started_at=now,
                completed_at=now,
                duration_ms=1,
                succeeded=state == DeliveryState.DELIVERED,
            )
        )
