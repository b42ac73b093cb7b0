"""Driving the console in-process, as a browser would: forms, their tokens, the cookies."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx

from asyncgate.asyncreq.models import AsyncRequest
from asyncgate.db.base import utcnow
from asyncgate.db.engine import Database
from tests.factories import UserContext

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(page: httpx.Response) -> str:
    found = CSRF_FIELD.search(page.text)
    assert found, f"no CSRF token on the page:\n{page.text}"
    return found.group(1)


async def sign_in(console: httpx.AsyncClient, user: UserContext, password: str | None = None):
    """Signs ``user`` in through the sign-in form; returns the answer to the form."""
    form = await console.get("/console/sign-in")
    return await console.post(
        "/console/sign-in",
        data={
            "csrf_token": csrf_token(form),
            "tenant": user.tenant_name,
            "email": user.email,
            "password": user.password if password is None else password,
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
