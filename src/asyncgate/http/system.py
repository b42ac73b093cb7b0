"""Liveness and readiness, for load balancers and orchestrators."""

from __future__ import annotations

from fastapi import APIRouter, Request

from asyncgate.http.errors import Resource, TemporaryError

router = APIRouter(tags=["System"])


@router.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready")
async def ready(request: Request) -> dict[str, str]:
    try:
        await request.app.state.database.ping()
    except Exception as exc:  # any failure to reach the database means "not ready"
        raise TemporaryError(
            f"The database is not reachable: {exc.__class__.__name__}", resource=Resource.GENERAL
        ) from exc
    return {"status": "ready"}
