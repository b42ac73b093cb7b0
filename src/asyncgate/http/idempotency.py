"""``Idempotency-Key`` on POST: a repeat with the same key answers as the first and does nothing.

The first successful answer is stored in the same transaction as the work it describes, so the
two exist together or not at all. A repeat is answered from the store before its handler runs;
a repeat that raced the first past that check fails on the unique (tenant, key) index when it
stores its own answer, and :class:`~asyncgate.http.routing.UnitOfWorkRoute` then rolls its work
back and answers with the stored one. A key reused for a different request (method, path,
query string or body) is refused. Keys belong to a tenant: tenants never see each other's.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from fastapi import Request, Response
from sqlalchemy import Integer, LargeBinary, String, UniqueConstraint, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from asyncgate.db.base import Base, IdMixin, TenantMixin, UTCDateTime, utcnow
from asyncgate.http.errors import BusinessRuleViolated, InvalidValue, Resource

HEADER = "idempotency-key"
METHODS = frozenset({"POST", "PATCH"})
MAX_KEY_LENGTH = 255
REPLAYED_HEADER = "Idempotent-Replayed"


class IdempotencyRecord(IdMixin, TenantMixin, Base):
    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("tenant_id", "key"),)

    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH))
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(2000))
    body_digest: Mapped[str] = mapped_column(String(64))  # SHA-256 of query string and body
    status_code: Mapped[int] = mapped_column(Integer)
    media_type: Mapped[str | None] = mapped_column(String(100))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class IdempotentReplay(Exception):
    """Raised before a handler runs when its answer is already stored; rendered as that answer."""

    def __init__(self, response: Response) -> None:
        self.response = response


def key_of(request: Request) -> str | None:
    if request.method not in METHODS:
        return None
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not 0 < len(key) <= MAX_KEY_LENGTH:
        raise InvalidValue(
            f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters", resource=Resource.REQUEST
        )
    return key


async def _fingerprint(request: Request) -> tuple[str, str, str]:
    digest = hashlib.sha256(request.scope["query_string"])
    digest.update(b"\n")
    digest.update(await request.body())
    return request.method, request.url.path, digest.hexdigest()


async def _find(session: AsyncSession, tenant_id: str, key: str) -> IdempotencyRecord | None:
    return await session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.tenant_id == tenant_id, IdempotencyRecord.key == key
        )
    )


async def _as_response(request: Request, record: IdempotencyRecord) -> Response:
    if (record.method, record.path, record.body_digest) != await _fingerprint(request):
        raise BusinessRuleViolated(
            "This Idempotency-Key was already used for a different request",
            resource=Resource.REQUEST,
            status=409,
        )
    return Response(
        record.body,
        status_code=record.status_code,
        media_type=record.media_type,
        headers={REPLAYED_HEADER: "true"},
    )


async def replay_if_seen(request: Request) -> None:
    """Route dependency; must come after authentication, whose principal scopes the key.

    It also marks the request as idempotent (``request.state.idempotency_key``) for
    :class:`~asyncgate.http.routing.UnitOfWorkRoute`, which stores the answer.
    """
    key = key_of(request)
    if key is None:
        return
    request.state.idempotency_key = key
    record = await _find(request.state.session, request.state.principal.tenant_id, key)
    if record is not None:
        raise IdempotentReplay(await _as_response(request, record))


def marked_key(request: Request) -> str | None:
    """The key :func:`replay_if_seen` accepted for this request, if any."""
    return getattr(request.state, "idempotency_key", None)


async def remember(session: AsyncSession, request: Request, key: str, response: Response) -> None:
    method, path, digest = await _fingerprint(request)
    session.add(
        IdempotencyRecord(
            tenant_id=request.state.principal.tenant_id,
            key=key,
            method=method,
            path=path,
            body_digest=digest,
            status_code=response.status_code,
            media_type=response.media_type,
            body=bytes(response.body),
        )
    )
    await session.flush()


async def recall(session: AsyncSession, request: Request, key: str) -> Response | None:
    record = await _find(session, request.state.principal.tenant_id, key)
    return None if record is None else await _as_response(request, record)
