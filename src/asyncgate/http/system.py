"""Liveness and readiness, for load balancers and orchestrators."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request

from asyncgate.http.errors import Resource, TemporaryError

router = APIRouter(tags=["System"])

# A probe must answer within the orchestrator's own timeout, even when the database hangs
# (an unroutable address, a SQLite write lock held for long).
READY_TIMEOUT_SECONDS = 5.0


@router.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready")
async def ready(request: Request) -> dict[str, str]:
    try:
        async with asyncio.timeout(READY_TIMEOUT_SECONDS):
            await request.app.state.database.ping()
    except Exception as exc:  # any failure to reach the database means "not ready"
        raise TemporaryError(
            f"The database is not reachable: {exc.__class__.__name__}", resource=Resource.GENERAL
        ) from exc
    return {"status": "ready"}
