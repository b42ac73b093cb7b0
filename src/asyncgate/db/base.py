"""Declarative base, the constraint naming convention and the column types every table shares."""

from __future__ import annotations

import functools
import os
import threading
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import DateTime, Dialect, ForeignKey, MetaData, String, Table, TypeDecorator
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

# Alembic's batch migrations on SQLite need every constraint to have a predictable name.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps stored as UTC and always read back timezone-aware.

    SQLite drops offsets silently, so values are normalised to naive UTC on the way in and
    tagged as UTC on the way out, on every backend alike.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return _naive_utc(value)

    def bind_processor(self, dialect: Dialect) -> Any:
        if dialect.name == "sqlite":
            return _sqlite_text
        return super().bind_processor(dialect)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def _naive_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetimes are not stored; use utcnow()")
    return value.astimezone(UTC).replace(tzinfo=None)


@functools.lru_cache(maxsize=1024)
def _sqlite_text(value: datetime | None) -> str | None:
    """The text SQLite's ``DATETIME`` stores (``2026-12-07 03:19:53.000123``), made in one call
    instead of SQLAlchemy's format of a dict, and remembered: a worker binds a dozen per
    request, half of them moments it bound already (its batch's ``now``, a lease's expiry)."""
    naive = _naive_utc(value)
    return None if naive is None else naive.isoformat(" ", "microseconds")


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    """Object IDs are 32 lowercase hex characters, as Zuora's are: the digits of a version 7
    UUID (RFC 9562), 48 bits of Unix time in milliseconds, then random bits.

    IDs made later sort after earlier ones, so a new row's key lands on the last page of each
    B-tree that indexes it, where the rows of the same commit share pages; random (version 4)
    keys scatter them over the whole index. For the worker's account creations that halves the
    pages each execution writes (18.4 to 7.5 KiB of SQLite WAL per execution, measured).
    """
    return f"{_uuid7_int():032x}"


def new_uuid() -> str:
    """A version 7 UUID in its canonical text form (request IDs)."""
    return uuid_text(new_id())


def uuid_text(digits: str) -> str:
    """The canonical (dashed) form of a UUID's 32 hex digits."""
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


def _uuid7_int() -> int:
    milliseconds = time.time_ns() // 1_000_000
    random_bits = int.from_bytes(_random_bytes.take(10))
    return (milliseconds & _48_BITS) << 80 | random_bits & _RANDOM_MASK | _VERSION_AND_VARIANT


_48_BITS = (1 << 48) - 1
# ``ver`` (4 bits, 7) at bits 76-79, ``var`` (2 bits, 0b10) at bits 62-63; the rest is random.
_VERSION_AND_VARIANT = 0x7 << 76 | 0b10 << 62
_RANDOM_MASK = ((1 << 80) - 1) & ~(0xF << 76) & ~(0b11 << 62)


class _RandomBytes:
    """``os.urandom`` read in blocks: one system call per 409 IDs instead of one per ID (a
    request makes two). A forked child starts a block of its own, or it would hand out its
    parent's IDs."""

    BLOCK = 4096

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.forget()

    def forget(self) -> None:
        self._block, self._used = b"", 0

    def take(self, count: int) -> bytes:
        with self._lock:
            if self._used + count > len(self._block):
                self._block, self._used = os.urandom(self.BLOCK), 0
            start, self._used = self._used, self._used + count
            return self._block[start : self._used]


_random_bytes = _RandomBytes()
os.register_at_fork(after_in_child=_random_bytes.forget)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)

    if TYPE_CHECKING:
        # Every model maps a table (none a join or a subquery), so Core statements take it.
        __table__: ClassVar[Table]


class IdMixin:
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class TenantMixin:
    """Every business row belongs to exactly one tenant; queries always filter on it."""

    # Off for tables with a composite index that leads with the tenant: an index of its own
    # would only cost every insert a B-tree more to write.
    tenant_id_indexed: ClassVar[bool] = True

    @declared_attr
    def tenant_id(cls) -> Mapped[str]:
        return mapped_column(
            String(32),
            ForeignKey("tenants.id", ondelete="CASCADE"),
            index=cls.tenant_id_indexed,
        )
