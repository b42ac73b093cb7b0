"""Console sessions: one row per signed-in browser, found by the SHA-256 of its cookie."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from asyncgate.db.base import Base, IdMixin, TenantMixin, UTCDateTime


class ConsoleSession(IdMixin, TenantMixin, Base):
    __tablename__ = "console_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    # The synchronizer token every form of this session carries.
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The absolute end; the idle end is ``last_seen_at`` plus the idle timeout.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
