"""A test-only API under ``/v1/probe``, mounted exactly as the real routers are (bearer auth,
idempotency, one transaction per request), so the shared conventions can be exercised without
depending on any billing endpoint.

Its one effect is a per-tenant counter (``db/sequences``): how often an operation was performed
is simply the counter's value.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from asyncgate.app import create_app, v1_router
from asyncgate.auth.dependencies import CurrentPrincipal
from asyncgate.clock import SYSTEM_CLOCK, Clock
from asyncgate.config import Settings
from asyncgate.db.engine import Database
from asyncgate.db.sequences import Sequence, next_value
from asyncgate.http.routing import Session, UnitOfWorkRoute

TALLIES = "/v1/probe/tallies"
FAILURES = "/v1/probe/failures"
PADDING = "/v1/probe/padding"
RENDEZVOUS_TIMEOUT = 0.5

router = APIRouter(prefix="/probe", route_class=UnitOfWorkRoute)
_arrivals: collections.Counter[str] = collections.Counter()


class TallyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    counter: str = Field(max_length=32)
    note: str | None = None
    wait_for: int = Field(default=1, alias="waitFor")


async def _rendezvous(counter: str, expected: int) -> None:
    """Hold a request until ``expected`` requests for ``counter`` are inside their handlers,
    or ``RENDEZVOUS_TIMEOUT`` passes (SQLite's write lock lets only one in at a time)."""
    _arrivals[counter] += 1
    try:
        async with asyncio.timeout(RENDEZVOUS_TIMEOUT):
            while _arrivals[counter] < expected:
                await asyncio.sleep(0.005)
    except TimeoutError:
        pass


@router.post("/tallies")
async def tally(body: TallyRequest, session: Session, principal: CurrentPrincipal) -> dict:
    await _rendezvous(body.counter, body.wait_for)
    value = await next_value(session, principal.tenant_id, body.counter)
    return {"success": True, "counter": body.counter, "value": value}


@router.post("/failures")
async def fail_after_writing(
    body: TallyRequest, session: Session, principal: CurrentPrincipal
) -> dict:
    await next_value(session, principal.tenant_id, body.counter)
    raise RuntimeError("the probe fails on purpose")


@router.get("/padding")
async def padding(size: int, principal: CurrentPrincipal) -> dict:
    return {"success": True, "padding": "x" * size}


def build_probe_app(settings: Settings, database: Database, clock: Clock = SYSTEM_CLOCK) -> FastAPI:
    app = create_app(settings, database, clock=clock)
    app.include_router(v1_router(router))
    return app


async def tally_of(database: Database, tenant_id: str, counter: str) -> int:
    """How many times the probe performed ``counter`` for the tenant (0 when never)."""
    async with database.transaction() as session:
        value = await session.scalar(
            select(Sequence.value).where(Sequence.tenant_id == tenant_id, Sequence.name == counter)
        )
    return value or 0


@pytest.fixture(scope="session")
def probe_app(settings: Settings, database: Database) -> FastAPI:
    return build_probe_app(settings, database)


@pytest.fixture(scope="session")
async def probe(probe_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process client on the app with the probe API mounted."""
    transport = httpx.ASGITransport(app=probe_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://asyncgate.test") as client:
        yield client
