"""Driving the console in-process, as a browser would: forms, their tokens, the cookies."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx

from asyncgate.asyncreq.models import AsyncRequest
from asyncgate.db.base import new_id, utcnow
from asyncgate.db.engine import Database
from asyncgate.notifications.models import CalloutAttempt, CalloutDelivery
from asyncgate.notifications.outbox import OutboxEvent
from tests.factories import UserContext

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(page: httpx.Response) -> str:
    found = CSRF_FIELD.search(page.text)
    assert found, f"no CSRF token on the page:\n{page.text}"
    return found.group(1)


async def sign_in(
    console: httpx.AsyncClient,
    user: UserContext,
    *,
    password: str | None = None,
    tenant: str | None = None,
    form: str = "/console/sign-in",
    **fields: str,
) -> httpx.Response:
    """Signs ``user`` in through the sign-in form at ``form``; returns the answer to it."""
    page = await console.get(form)
    return await console.post(
        "/console/sign-in",
        data={
            "csrf_token": csrf_token(page),
            "tenant": user.tenant_name if tenant is None else tenant,
            "email": user.email,
            "password": user.password if password is None else password,
            **fields,
        },
    )


async def submit(console: httpx.AsyncClient, form_page: str, action: str, **fields: str):
    """Posts ``fields`` to ``action`` with the CSRF token of the page at ``form_page``."""
    page = await console.get(form_page)
    assert page.status_code == 200, page.text
    return await console.post(action, data={"csrf_token": csrf_token(page), **fields})


async def make_async_request(database: Database, tenant_id: str, **overrides: Any) -> str:
    """An async request stored straight into the queue, as a worker would have left it."""
    now = utcnow()
    values: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "tenant_id": tenant_id,
        "method": "POST",
        "path": "/v1/accounts",
        "query_string": "",
        "headers": {"content-type": "application/json"},
        "body": b'{"name": "Acme"}',
        "track_id": None,
        "role": "Tenant administrator",
        "state": "queued",
        "attempts": 0,
        "run_after": now,
        "created_at": now,
        **overrides,
    }
    async with database.transaction() as session:
        session.add(AsyncRequest(**values))
    return values["id"]


async def make_callout_attempt(
    database: Database, tenant_id: str, object_id: str, *, succeeded: bool = True, **overrides
) -> str:
    """One finished delivery of an Async Request Succeeded event with one attempt, as the
    sender records them; returns the attempt's ID (the history ID)."""
    now = utcnow()
    event = OutboxEvent(
        id=new_id(),
        tenant_id=tenant_id,
        event_type="Async Request Succeeded",
        object_id=object_id,
        payload={"request": {"id": object_id}, "state": "succeeded"},
        created_at=now,
        dispatched_at=now,
    )
    delivery = CalloutDelivery(
        id=new_id(),
        tenant_id=tenant_id,
        event_id=event.id,
        event_type=event.event_type,
        object_id=object_id,
        state="delivered" if succeeded else "failed",
        attempts=1,
        max_attempts=1,
        next_attempt_at=now,
        created_at=now,
        completed_at=now,
    )
    attempt = CalloutAttempt(
        tenant_id=tenant_id,
        delivery_id=delivery.id,
        attempt=1,
        notification_name="Callout for Async Request Succeeded",
        request_method="POST",
        request_url="https://93.184.215.14/callouts/async",
        started_at=now,
        completed_at=overrides.pop("completed_at", now),
        duration_ms=12,
        succeeded=succeeded,
        response_code=200 if succeeded else 500,
        response_content='{"success": true}' if succeeded else "down",
        **overrides,
    )
    async with database.transaction() as session:
        session.add(event)
        await session.flush()
        session.add(delivery)
        await session.flush()
        session.add(attempt)
    return attempt.id
