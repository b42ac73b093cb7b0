"""``Idempotency-Key`` on POST and PATCH: a repeat with the same key answers as the first and
does nothing, as Zuora's guide "Idempotent requests" describes.

The first answer is stored with the work it describes, in the same transaction, so the two
exist together or not at all; a failure's answer (a refusal that would be refused again; not a
contention, limit or server error, which a retry may overcome) is stored once its work is rolled
back. A repeat is answered from the store before its handler runs, for
``ASYNCGATE_IDEMPOTENCY_KEY_LIFETIME`` (24 hours); the workers then delete the record, and the
key may be used again. A key reused for a different request (method, path, query string or
body) is a 422. Keys belong to a tenant: tenants never see each other's.

A repeat while the first is still running: on PostgreSQL the first holds a transaction-level
advisory lock on its key, and the repeat gets a 409 at once. On SQLite one writer runs at a
time, so the repeat starts once the first has committed and replays its answer. A repeat that
raced the first past these checks fails on the unique (tenant, key) index when it stores its own
answer, and :class:`~asyncgate.http.routing.UnitOfWorkRoute` then rolls its work back and
answers with the stored one.
"""

from __future__ import annotations

import asyncio
import hashlib
from datetime import datetime, timedelta

from fastapi import Request, Response
from sqlalchemy import Integer, LargeBinary, String, UniqueConstraint, delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from asyncgate.db.base import Base, IdMixin, TenantMixin, UTCDateTime, utcnow
from asyncgate.db.engine import Database
from asyncgate.http.errors import (
    BusinessRuleViolated,
    Category,
    InvalidValue,
    LockingContention,
    Resource,
    ZuoraError,
)

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


class KeyReused(BusinessRuleViolated):
    """The key was used for a different request (Zuora: 422 Unprocessable Content)."""

    status = 422


class KeyInUse(LockingContention):
    """The first request with the key is still running (Zuora: 409 Conflict); a retry later
    gets its answer."""

    keeps_status = True


# Failures a retry may overcome: their answers are not kept for the key.
_PASSING_CATEGORIES = frozenset(
    {
        Category.LOCKING_CONTENTION,
        Category.INTERNAL_ERROR,
        Category.TEMPORARY_ERROR,
        Category.LIMIT_EXCEEDED,
    }
)
_TRY_LOCK = text("SELECT pg_try_advisory_xact_lock(:lock_id)")
PRUNE_BATCH = 500
# Between two commits of a prune, so that other writers go first.
PAUSE_SECONDS = 0.005


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
        raise KeyReused(
            "This Idempotency-Key was already used for a different request",
            resource=Resource.REQUEST,
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
    session, tenant_id = request.state.session, request.state.principal.tenant_id
    record = await _find(session, tenant_id, key)
    lifetime = request.app.state.settings.idempotency_key_lifetime
    if record is not None and record.created_at <= utcnow() - lifetime:
        await session.delete(record)  # expired: the key is free again
        await session.flush()
        record = None
    if record is not None:
        raise IdempotentReplay(await _as_response(request, record))
    if not await _hold(session, request.app.state.database, tenant_id, key):
        raise KeyInUse(
            "A request with this Idempotency-Key is still in progress; retry later",
            resource=Resource.REQUEST,
        )
    request.state.idempotency_key = key


async def _hold(session: AsyncSession, database: Database, tenant_id: str, key: str) -> bool:
    """Whether this transaction now holds the key (see the module's docstring)."""
    if not database.concurrent_writers:
        return True
    digest = hashlib.sha256(f"{tenant_id}\n{key}".encode()).digest()
    lock_id = int.from_bytes(digest[:8], "big", signed=True)
    return bool(await session.scalar(_TRY_LOCK, {"lock_id": lock_id}))


def kept_on_failure(error: ZuoraError) -> bool:
    """Whether a failure's answer is kept for its key: one a retry would get again."""
    return error.status < 500 and error.category not in _PASSING_CATEGORIES


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


async def prune_expired(database: Database, lifetime: timedelta) -> int:
    """Delete the records older than ``lifetime``, :data:`PRUNE_BATCH` per commit; returns how
    many."""
    oldest = (
        select(IdempotencyRecord.id)
        .where(IdempotencyRecord.created_at < utcnow() - lifetime)
        .limit(PRUNE_BATCH)
    )
    deleted = 0
    while True:
        async with database.core_transaction() as connection:
            ids = list((await connection.scalars(oldest)).all())
            if ids:
                await connection.execute(
                    delete(IdempotencyRecord).where(IdempotencyRecord.id.in_(ids))
                )
        deleted += len(ids)
        if len(ids) < PRUNE_BATCH:
            return deleted
        await asyncio.sleep(PAUSE_SECONDS)
