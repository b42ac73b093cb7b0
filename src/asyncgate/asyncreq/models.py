"""The queue of asynchronous requests: one row per accepted request, with its state machine.

States: ``queued`` -> ``running`` -> ``succeeded`` | ``failed``; ``running`` -> ``queued`` (a
retry, or a lease that expired under a crashed worker); ``queued`` -> ``cancelled``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Index, Integer, LargeBinary, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from asyncgate.db.base import Base, TenantMixin, UTCDateTime


class State(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINISHED_STATES = frozenset({State.SUCCEEDED, State.FAILED, State.CANCELLED})
MAX_URL_PART = 2000  # the longest path, and the longest query string, a request may have


class AsyncRequest(TenantMixin, Base):
    __tablename__ = "async_requests"
    tenant_id_indexed = False  # ix_async_requests_tenant_created leads with it
    __table_args__ = (
        Index(
            "ix_async_requests_claim",
            "run_after",
            postgresql_where=text("state = 'queued'"),
            sqlite_where=text("state = 'queued'"),
        ),
        Index(
            "ix_async_requests_leases",
            "lease_expires_at",
            postgresql_where=text("state = 'running'"),
            sqlite_where=text("state = 'running'"),
        ),
        Index(
            "uq_async_requests_idempotency",
            "tenant_id",
            "idempotency_key",
            unique=True,
            postgresql_where=text("idempotency_key IS NOT NULL"),
            sqlite_where=text("idempotency_key IS NOT NULL"),
        ),
        Index("ix_async_requests_tenant_created", "tenant_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(MAX_URL_PART))
    query_string: Mapped[str] = mapped_column(String(MAX_URL_PART), default="")
    headers: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    body: Mapped[bytes] = mapped_column(LargeBinary, default=b"")
    track_id: Mapped[str | None] = mapped_column(String(64))
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(40))
    client_id: Mapped[str | None] = mapped_column(String(32))

    state: Mapped[str] = mapped_column(String(10), default=State.QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    run_after: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)

    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary)
    resource_id: Mapped[str | None] = mapped_column(String(64))
    process_id: Mapped[str | None] = mapped_column(String(16))


@dataclass(frozen=True, slots=True)
class ClaimedRequest:
    """What a worker holds of a request it claimed: the stored call and the attempt it is on.
    A plain value rather than an ``AsyncRequest``: building an ORM object per claimed request
    was much of a claim's CPU, and nothing needs one (outcomes are written by fenced
    updates)."""

    id: str
    tenant_id: str
    method: str
    path: str
    query_string: str
    headers: dict[str, str]
    body: bytes
    track_id: str | None
    role: str
    client_id: str | None
    attempts: int  # this one included
    run_after: datetime
    created_at: datetime


CLAIMED_COLUMNS = tuple(field.name for field in fields(ClaimedRequest))
# A request as the worker's outcome helpers read it: claimed, or loaded by the lease reaper.
StoredRequest = AsyncRequest | ClaimedRequest
