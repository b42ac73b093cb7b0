"""A synchronous request that runs past ``ASYNCGATE_REQUEST_TIMEOUT`` (120 s by default) is
answered as Zuora's gateway answers one past its 120 s: a 504, and nothing it did is kept.

Source: Zuora's troubleshooting page "Error: 504 Gateway Timeout" (the Orders API's limit is
120 seconds; use the asynchronous operation instead). Zuora may still complete the request
behind its gateway; asyncgate rolls it back (see docs/zuora-differences.md). The trial routes
stand in for a slow operation: no SDK operation is slow on purpose.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from asyncgate.app import create_app, v1_router
from asyncgate.db.sequences import Sequence
from tests.asyncreq import support
from tests.asyncreq.support import calls, trial
from tests.http.assertions import assert_zuora_error

TIME_LIMIT = timedelta(seconds=0.3)


@pytest.fixture
async def impatient(settings, database) -> AsyncIterator[httpx.AsyncClient]:
    """The trial routes on an app whose requests may take 0.3 s."""
    app = create_app(settings.model_copy(update={"request_timeout": TIME_LIMIT}), database)
    app.include_router(v1_router(support.router))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://asyncgate.test") as client:
        yield client


async def sequence_value(database, tenant, key: str) -> int | None:
    async with database.read_transaction() as session:
        return await session.scalar(
            select(Sequence.value).where(
                Sequence.tenant_id == tenant.tenant_id, Sequence.name == key
            )
        )


async def test_a_request_past_its_time_limit_is_a_504_that_keeps_nothing(
    impatient, tenant, database
):
    body = trial(failures=1, error="slow")  # busy in the database for 2 s

    response = await impatient.post("/v1/engine-trials", json=body, headers=tenant.headers)

    assert_zuora_error(response, 504, category=61)
    assert calls[body["key"]] == 1
    assert await sequence_value(database, tenant, body["key"]) is None


async def test_a_request_within_its_time_limit_is_answered(impatient, tenant, database):
    body = trial()

    response = await impatient.post("/v1/engine-trials", json=body, headers=tenant.headers)

    assert response.status_code == 200
    assert await sequence_value(database, tenant, body["key"]) == 1
